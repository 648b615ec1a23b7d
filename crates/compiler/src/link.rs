//! Laying compiled functions out in one image and resolving the calls between them.

use crate::{CompileError, CompiledFunction};
use cranelift_codegen::binemit::Reloc;
use wasmz_environ::image::{CodeImage, FUNCTION_ALIGNMENT};

fn place(image: &mut CodeImage, f: &CompiledFunction) -> u32 {
    while !image.code.len().is_multiple_of(FUNCTION_ALIGNMENT) {
        image.code.push(0);
    }
    let start = u32::try_from(image.code.len()).expect("code images stay below 4 GiB");
    image.code.extend_from_slice(&f.code);
    image
        .traps
        .extend(f.traps.iter().map(|(o, c)| (start + o, *c)));
    image.handlers.extend(
        f.handlers
            .iter()
            .map(|(ret, handler, frame)| (start + ret, start + handler, *frame)),
    );
    image.stack_maps.extend(
        f.stack_maps
            .iter()
            .map(|(ret, slots)| (start + ret, slots.clone())),
    );
    image
        .address_map
        .extend(f.addresses.iter().map(|(at, wasm)| (start + at, *wasm)));
    start
}

/// Lays out `functions` (defined functions in order), then the entry and host trampolines, and patches calls.
pub(crate) fn link(
    functions: Vec<CompiledFunction>,
    entry: Vec<CompiledFunction>,
    host: Vec<CompiledFunction>,
    num_imported_funcs: u32,
) -> Result<CodeImage, CompileError> {
    let mut image = CodeImage::default();
    let mut starts = Vec::with_capacity(functions.len());
    for f in &functions {
        let start = place(&mut image, f);
        starts.push(start);
        image.functions.push(start..start + f.code.len() as u32);
    }
    image.entry_trampolines = entry.iter().map(|f| place(&mut image, f)).collect();
    image.host_trampolines = host.iter().map(|f| place(&mut image, f)).collect();
    for (f, start) in functions.iter().zip(&starts) {
        for &(offset, callee, addend, kind) in &f.calls {
            let site = start + offset;
            let defined =
                callee
                    .checked_sub(num_imported_funcs)
                    .ok_or_else(|| CompileError::Codegen {
                        what: "linking".into(),
                        message: format!("direct call to imported function {callee}"),
                    })?;
            let target = i64::from(starts[defined as usize]);
            patch(&mut image.code, site, target, addend, kind)?;
        }
    }
    Ok(image)
}

fn patch(
    code: &mut [u8],
    site: u32,
    target: i64,
    addend: i64,
    kind: Reloc,
) -> Result<(), CompileError> {
    let at = site as usize;
    let delta = target + addend - i64::from(site);
    match kind {
        Reloc::X86CallPCRel4 | Reloc::X86PCRel4 => {
            let value = i32::try_from(delta).expect("code images stay below 2 GiB");
            code[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        Reloc::Arm64Call => {
            let insn = u32::from_le_bytes(code[at..at + 4].try_into().expect("four bytes"));
            let imm = ((delta >> 2) as u32) & 0x03ff_ffff;
            code[at..at + 4].copy_from_slice(&((insn & 0xfc00_0000) | imm).to_le_bytes());
        }
        other => {
            return Err(CompileError::Codegen {
                what: "linking".into(),
                message: format!("unsupported relocation {other:?}"),
            });
        }
    }
    Ok(())
}
