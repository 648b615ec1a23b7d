//! Laying compiled functions out in one image and resolving the calls between them.

use crate::{CompileError, CompiledFunction};
use cranelift_codegen::binemit::Reloc;
use wasmz_environ::TrapCode;
use wasmz_environ::image::{AddressMapBuilder, CodeImage, FUNCTION_ALIGNMENT};

/// What `link` gathers while it places functions, before it goes into the image.
#[derive(Default)]
struct Tables {
    traps: Vec<(u32, TrapCode)>,
    address_map: AddressMapBuilder,
}

fn place(image: &mut CodeImage, tables: &mut Tables, f: &CompiledFunction) -> u32 {
    // Each function starts at its phase past a line boundary (on the boundary for most of them).
    while image.code.len() % FUNCTION_ALIGNMENT != f.start_phase as usize % FUNCTION_ALIGNMENT {
        image.code.push(0);
    }
    let start = u32::try_from(image.code.len()).expect("code images stay below 4 GiB");
    image.code.extend_from_slice(&f.code);
    tables
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
    for &(at, wasm) in &f.addresses {
        tables.address_map.push(start + at, wasm);
    }
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
    let mut tables = Tables::default();
    let mut starts = Vec::with_capacity(functions.len());
    for f in &functions {
        let start = place(&mut image, &mut tables, f);
        starts.push(start);
        image.functions.push(start..start + f.code.len() as u32);
    }
    image.entry_trampolines = entry
        .iter()
        .map(|f| place(&mut image, &mut tables, f))
        .collect();
    image.host_trampolines = host
        .iter()
        .map(|f| place(&mut image, &mut tables, f))
        .collect();
    tables.traps.sort_by_key(|(offset, _)| *offset);
    image.traps = tables.traps.into_iter().collect();
    image.address_map = tables.address_map.finish();
    for (caller, (f, start)) in (num_imported_funcs..).zip(functions.iter().zip(&starts)) {
        for &(offset, callee, addend, kind) in &f.calls {
            let site = start + offset;
            let defined =
                callee
                    .checked_sub(num_imported_funcs)
                    .ok_or_else(|| CompileError::Codegen {
                        what: format!("the calls of function {caller}"),
                        func_index: Some(caller),
                        message: format!("direct call to imported function {callee}"),
                    })?;
            let target = i64::from(starts[defined as usize]);
            patch(&mut image.code, site, target, addend, kind).map_err(|message| {
                CompileError::Codegen {
                    what: format!("the calls of function {caller}"),
                    func_index: Some(caller),
                    message,
                }
            })?;
        }
    }
    Ok(image)
}

/// Patches the relocation of `kind` at `site` to reach `target + addend`; the error is the message of
/// a [`CompileError::Codegen`].
pub(crate) fn patch(
    code: &mut [u8],
    site: u32,
    target: i64,
    addend: i64,
    kind: Reloc,
) -> Result<(), String> {
    let at = site as usize;
    let delta = target + addend - i64::from(site);
    let out_of_range = |range: &str| {
        format!(
            "{kind:?} relocation at offset {site} cannot reach offset {} ({delta:+} bytes; {range})",
            target + addend
        )
    };
    match kind {
        Reloc::X86CallPCRel4 | Reloc::X86PCRel4 => {
            let value = i32::try_from(delta).map_err(|_| out_of_range("a 32-bit displacement"))?;
            code[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        Reloc::Arm64Call => {
            // `bl`/`b` encode a signed 26-bit count of 4-byte instructions: ±128 MiB.
            if delta % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&delta) {
                return Err(out_of_range("aarch64 calls reach ±128 MiB"));
            }
            let insn = u32::from_le_bytes(code[at..at + 4].try_into().expect("four bytes"));
            let imm = ((delta >> 2) as u32) & 0x03ff_ffff;
            code[at..at + 4].copy_from_slice(&((insn & 0xfc00_0000) | imm).to_le_bytes());
        }
        other => {
            return Err(format!("unsupported relocation {other:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_in_range_are_patched() {
        let mut code = vec![0u8; 16];
        code[4..8].copy_from_slice(&0x9400_0000u32.to_le_bytes()); // bl #0
        patch(&mut code, 4, 12, 0, Reloc::Arm64Call).expect("in range");
        assert_eq!(
            u32::from_le_bytes(code[4..8].try_into().unwrap()),
            0x9400_0002
        );
        patch(&mut code, 4, -4, 0, Reloc::Arm64Call).expect("backwards");
        assert_eq!(
            u32::from_le_bytes(code[4..8].try_into().unwrap()),
            0x97ff_fffe
        );
        patch(&mut code, 8, 0, -4, Reloc::X86CallPCRel4).expect("in range");
        assert_eq!(i32::from_le_bytes(code[8..12].try_into().unwrap()), -12);
    }

    #[test]
    fn calls_out_of_range_are_errors() {
        let mut code = vec![0u8; 16];
        for (target, kind) in [
            (1i64 << 27, Reloc::Arm64Call),
            (-(1i64 << 27) - 4, Reloc::Arm64Call),
            (6, Reloc::Arm64Call),
            (1i64 << 31, Reloc::X86CallPCRel4),
            (-(1i64 << 31) - 1, Reloc::X86PCRel4),
        ] {
            let e = patch(&mut code, 0, target, 0, kind).unwrap_err();
            assert!(
                e.to_string().contains("cannot reach"),
                "{kind:?} {target}: {e}"
            );
        }
        assert_eq!(code, vec![0u8; 16], "nothing is patched on error");
    }
}
