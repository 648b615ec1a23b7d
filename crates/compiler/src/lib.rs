//! The wasmz compiler: lowers each wasm function to Cranelift IR, compiles it to machine code, and lays the
//! results and the per-type trampolines out in one position-independent [`CodeImage`].
//!
//! It knows the VMContext layout (from `wasmz-environ`) but nothing of how memory is mapped.

pub mod env;

pub mod isa;
mod link;
pub mod trampolines;
mod translate;

pub use cranelift_codegen::isa::OwnedTargetIsa;
pub use isa::{IsaError, OptLevel, build_isa};
pub use wasmz_environ::CodeImage;

use cranelift_codegen::{Context, control::ControlPlane, ir};
use env::ModuleEnv;
use thiserror::Error;
use translate::TranslatorContext;
use wasmz_environ::{ModuleInfo, TrapCode, VMOffsets, WasmError};

/// Why a module could not be compiled.
#[derive(Debug, Error)]
pub enum CompileError {
    /// The module uses something the translator does not support.
    #[error(transparent)]
    Wasm(#[from] WasmError),
    /// Cranelift refused the function (a bug in wasmz).
    #[error("code generation failed for {what}: {message}")]
    Codegen {
        /// Which function.
        what: String,
        /// Cranelift's message.
        message: String,
    },
}

/// Options that change generated code.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompileOptions {
    /// Check every memory access against the memory's length instead of relying on guard pages.
    pub explicit_bounds_checks: bool,
    /// Charge fuel at every function entry and loop iteration (see `ModuleEnv::consume_fuel`).
    pub consume_fuel: bool,
    /// Check the engine's epoch against the store's deadline at every function entry and loop iteration.
    pub epoch_interruption: bool,
}

/// The Cranelift trap code wasmz uses for `code`.
pub fn trap_code(code: TrapCode) -> ir::TrapCode {
    ir::TrapCode::unwrap_user(code.to_u8())
}

/// The wasmz trap code for a trap code found in compiled code.
pub fn wasm_trap_code(code: ir::TrapCode) -> Option<TrapCode> {
    Some(match code {
        ir::TrapCode::STACK_OVERFLOW => TrapCode::StackOverflow,
        ir::TrapCode::INTEGER_OVERFLOW => TrapCode::IntegerOverflow,
        ir::TrapCode::HEAP_OUT_OF_BOUNDS => TrapCode::MemoryOutOfBounds,
        ir::TrapCode::INTEGER_DIVISION_BY_ZERO => TrapCode::IntegerDivisionByZero,
        ir::TrapCode::BAD_CONVERSION_TO_INTEGER => TrapCode::BadConversionToInteger,
        other => return TrapCode::from_u8(other.as_raw().get()),
    })
}

/// One compiled function before layout.
pub(crate) struct CompiledFunction {
    pub code: Vec<u8>,
    /// (offset in `code`, called function index, addend, kind)
    pub calls: Vec<(u32, u32, i64, cranelift_codegen::binemit::Reloc)>,
    pub traps: Vec<(u32, TrapCode)>,
    /// (return address, handler, frame pointer minus stack pointer) of each call with a handler.
    pub handlers: Vec<(u32, u32, u32)>,
}

fn compile_function(
    isa: &dyn cranelift_codegen::isa::TargetIsa,
    ctx: &mut Context,
    func: ir::Function,
    what: impl Fn() -> String,
) -> Result<CompiledFunction, CompileError> {
    ctx.clear();
    ctx.func = func;
    ctx.compile(isa, &mut ControlPlane::default())
        .map_err(|e| CompileError::Codegen {
            what: what(),
            message: format!("{:?}", e.inner),
        })?;
    let compiled = ctx.compiled_code().expect("compiled just above");
    let mut calls = Vec::new();
    for reloc in compiled.buffer.relocs() {
        match &reloc.target {
            cranelift_codegen::FinalizedRelocTarget::ExternalName(ir::ExternalName::User(name)) => {
                let callee = ctx.func.params.user_named_funcs()[*name].index;
                calls.push((reloc.offset, callee, reloc.addend, reloc.kind));
            }
            other => {
                return Err(CompileError::Codegen {
                    what: what(),
                    message: format!("unexpected relocation {other:?}"),
                });
            }
        }
    }
    let traps = compiled
        .buffer
        .traps()
        .iter()
        .filter_map(|t| Some((t.offset, wasm_trap_code(t.code)?)))
        .collect();
    let mut handlers = Vec::new();
    for site in compiled.buffer.call_sites() {
        // Calls inside a `try_table` carry one catch-all handler; wasm-level tag matching is done by
        // the generated code at the handler.
        let handler = site.exception_handlers.iter().find_map(|h| match h {
            cranelift_codegen::FinalizedMachExceptionHandler::Default(offset) => Some(*offset),
            _ => None,
        });
        if let Some(handler) = handler {
            let frame = site.frame_offset.ok_or_else(|| CompileError::Codegen {
                what: what(),
                message: "a call with an exception handler has no frame offset".into(),
            })?;
            handlers.push((site.ret_addr, handler, frame));
        }
    }
    Ok(CompiledFunction {
        code: compiled.code_buffer().to_vec(),
        calls,
        traps,
        handlers,
    })
}

/// Compiles every defined function of `module` (whose bytes are `wasm`) and the trampolines of its types.
///
/// # Errors
/// When a function uses an unsupported operator, or Cranelift fails.
pub fn compile_module(
    isa: &dyn cranelift_codegen::isa::TargetIsa,
    module: &ModuleInfo,
    wasm: &[u8],
    options: CompileOptions,
) -> Result<CodeImage, CompileError> {
    let env = ModuleEnv {
        module,
        offsets: VMOffsets::new(module),
        isa,
        explicit_bounds_checks: options.explicit_bounds_checks,
        consume_fuel: options.consume_fuel,
        epoch_interruption: options.epoch_interruption,
    };
    let num_defined = module.bodies.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(num_defined / 4 + 1)
        .max(1);
    let chunk = num_defined.div_ceil(threads).max(1);
    let indices: Vec<usize> = (0..num_defined).collect();
    let results: Vec<Result<Vec<CompiledFunction>, CompileError>> = std::thread::scope(|s| {
        let handles: Vec<_> = indices
            .chunks(chunk)
            .map(|part| {
                let env = &env;
                s.spawn(move || {
                    let mut ctx = Context::new();
                    let mut tctx = TranslatorContext::default();
                    part.iter()
                        .map(|&i| {
                            let func_index = module.num_imported_funcs + i as u32;
                            let range = &module.bodies[i];
                            let start =
                                usize::try_from(range.start).expect("offsets fit in memory");
                            let end = usize::try_from(range.end).expect("offsets fit in memory");
                            let reader =
                                wasmparser::BinaryReader::new(&wasm[start..end], range.start);
                            let body = wasmparser::FunctionBody::new(reader);
                            let func =
                                translate::translate_function(env, &mut tctx, func_index, &body)?;
                            compile_function(isa, &mut ctx, func, || {
                                format!("function {func_index}")
                            })
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|panic| {
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    Err(CompileError::Codegen {
                        what: "a function".into(),
                        message: format!("internal error: {message}"),
                    })
                })
            })
            .collect()
    });
    let mut functions = Vec::with_capacity(num_defined);
    for part in results {
        functions.extend(part?);
    }
    let mut ctx = Context::new();
    let mut entry = Vec::new();
    let mut host = Vec::new();
    for (i, ty) in module.types.iter().enumerate() {
        let i = i as u32;
        entry.push(compile_function(
            isa,
            &mut ctx,
            trampolines::entry_trampoline(&env, ty, i),
            || format!("entry trampoline of type {i}"),
        )?);
        host.push(compile_function(
            isa,
            &mut ctx,
            trampolines::host_trampoline(&env, ty, i),
            || format!("host trampoline of type {i}"),
        )?);
    }
    let mut image = link::link(functions, entry, host, module.num_imported_funcs)?;
    image.traps.sort_by_key(|(offset, _)| *offset);
    image.handlers.sort_by_key(|(offset, _, _)| *offset);
    image.num_imported_funcs = module.num_imported_funcs;
    image.func_names = module
        .func_names
        .iter()
        .map(|(i, n)| (*i, n.clone()))
        .collect();
    image.func_names.sort();
    Ok(image)
}
