//! The wasmz compiler: lowers each wasm function to Cranelift IR, compiles it to machine code, and lays the
//! results and the per-type trampolines out in one position-independent [`CodeImage`].
//!
//! It knows the VMContext layout (from `wasmz-environ`) but nothing of how memory is mapped.

pub mod env;

pub mod isa;
mod link;
mod loop_alignment;
pub mod trampolines;
mod translate;

pub use cranelift_codegen::isa::OwnedTargetIsa;
pub use isa::{
    AARCH64_CPUS, IsaError, OptLevel, TargetCpu, X86_64_REQUIRED_FEATURES, build_isa,
    build_isa_for, enabled_cpu_features, missing_features,
};
pub use wasmz_environ::CodeImage;

use cranelift_codegen::{Context, control::ControlPlane, ir};
use env::ModuleEnv;
use std::collections::HashMap;
use thiserror::Error;
use translate::TranslatorContext;
use wasmz_environ::{FuncType, ModuleInfo, TrapCode, VMOffsets, WasmError};

/// Why a module could not be compiled.
#[derive(Debug, Error)]
pub enum CompileError {
    /// The module uses something the translator does not support.
    #[error(transparent)]
    Wasm(#[from] WasmError),
    /// Cranelift refused the function, or its code could not be laid out (a bug in wasmz).
    #[error("code generation failed for {what}: {message}")]
    Codegen {
        /// Which function or trampoline, in words (`function 3`, `entry trampoline of type 1`, ...).
        what: String,
        /// The index of the wasm function concerned (in the module's function index space), when the
        /// failure concerns one.
        func_index: Option<u32>,
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
    /// Generate code for an engine that compiles lazily: calls never jump to another function directly
    /// (a function's calls of itself do),
    /// and every code pointer loaded from a `VMFuncRef` is checked for null (not compiled yet) and then
    /// compiled through the `LazyCompile` builtin (see `ModuleEnv::lazy_calls`).
    pub lazy_calls: bool,
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
#[derive(Clone)]
pub(crate) struct CompiledFunction {
    pub code: Vec<u8>,
    /// (offset in `code`, called function index, addend, kind)
    pub calls: Vec<(u32, u32, i64, cranelift_codegen::binemit::Reloc)>,
    pub traps: Vec<(u32, TrapCode)>,
    /// (return address, handler, frame pointer minus stack pointer) of each call with a handler.
    pub handlers: Vec<(u32, u32, u32)>,
    /// (return address, GC reference slots as distances below the frame pointer) of each call with
    /// live GC references.
    pub stack_maps: Vec<(u32, Vec<u32>)>,
    /// Where each run of machine code comes from: (offset in `code`, wasm module offset or
    /// [`NO_WASM_OFFSET`]), sorted by offset (see [`CodeImage::address_map`]).
    pub addresses: Vec<(u32, u32)>,
    /// Where the function should start relative to a 64-byte line (see [`loop_alignment`]).
    pub start_phase: u32,
}

impl CompiledFunction {
    /// The same code for an identical body `delta` bytes further on in the module: only the wasm
    /// offsets of the address map change.
    fn moved_in_module(&self, delta: i64) -> CompiledFunction {
        let mut copy = self.clone();
        for (_, wasm) in &mut copy.addresses {
            if *wasm != NO_WASM_OFFSET {
                *wasm = u32::try_from(i64::from(*wasm) + delta).unwrap_or(NO_WASM_OFFSET);
            }
        }
        copy
    }
}

pub use wasmz_environ::image::NO_WASM_OFFSET;

/// The address map of a compiled function: one entry where the wasm offset changes, and
/// [`NO_WASM_OFFSET`] over code that comes from no operator (prologue, epilogue, trampolines).
fn address_map(
    srclocs: &[cranelift_codegen::MachSrcLoc<cranelift_codegen::Final>],
) -> Vec<(u32, u32)> {
    let mut map: Vec<(u32, u32)> = Vec::new();
    let push = |at: u32, wasm: u32, map: &mut Vec<(u32, u32)>| {
        if map.last().is_none_or(|&(_, last)| last != wasm) {
            map.push((at, wasm));
        }
    };
    let mut end = 0;
    for s in srclocs {
        if s.start != end {
            push(end, NO_WASM_OFFSET, &mut map);
        }
        let wasm = if s.loc.is_default() {
            NO_WASM_OFFSET
        } else {
            s.loc.bits()
        };
        push(s.start, wasm, &mut map);
        end = s.end;
    }
    push(end, NO_WASM_OFFSET, &mut map);
    map
}

/// Compiles `func`; errors name it with `what` and `func_index` (`None` for a trampoline).
fn compile_function(
    isa: &dyn cranelift_codegen::isa::TargetIsa,
    ctx: &mut Context,
    func: ir::Function,
    func_index: Option<u32>,
    what: impl Fn() -> String,
) -> Result<CompiledFunction, CompileError> {
    ctx.clear();
    ctx.func = func;
    ctx.compile(isa, &mut ControlPlane::default())
        .map_err(|e| CompileError::Codegen {
            what: what(),
            func_index,
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
                    func_index,
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
                func_index,
                message: "a call with an exception handler has no frame offset".into(),
            })?;
            handlers.push((site.ret_addr, handler, frame));
        }
    }
    // Cranelift gives each slot as an offset from the stack pointer at the call, and the frame's
    // size (frame pointer minus that stack pointer): the collector walks frame pointers, so the slots
    // are kept as distances below the frame pointer.
    let stack_maps = compiled
        .buffer
        .user_stack_maps()
        .iter()
        .map(|(ret, span, map)| {
            let slots = map.entries().map(|(_, offset)| span - offset).collect();
            (*ret, slots)
        })
        .collect();
    let addresses = address_map(compiled.buffer.get_srclocs_sorted());
    let code = compiled.code_buffer();
    let call_returns: Vec<u32> = compiled.buffer.call_sites().map(|c| c.ret_addr).collect();
    let start_phase = loop_alignment::start_phase(&loop_alignment::Layout {
        block_starts: &compiled.bb_starts,
        edges: &compiled.bb_edges,
        calls: &call_returns,
        code_len: u32::try_from(code.len()).unwrap_or(u32::MAX),
        alignment: compiled
            .buffer
            .alignment
            .max(isa.function_alignment().minimum),
    });
    Ok(CompiledFunction {
        code: code.to_vec(),
        calls,
        traps,
        handlers,
        stack_maps,
        addresses,
        start_phase,
    })
}

fn module_env<'a>(
    isa: &'a dyn cranelift_codegen::isa::TargetIsa,
    module: &'a ModuleInfo,
    options: CompileOptions,
) -> ModuleEnv<'a> {
    ModuleEnv {
        module,
        offsets: VMOffsets::new(module),
        isa,
        explicit_bounds_checks: options.explicit_bounds_checks,
        consume_fuel: options.consume_fuel,
        epoch_interruption: options.epoch_interruption,
        lazy_calls: options.lazy_calls,
    }
}

/// Translates and compiles defined function `func_index` of `module` (whose bytes are `wasm`).
/// With `WASMZ_EMIT_CLIF=DIR` in the environment, writes each function's Cranelift IR as translated
/// (before Cranelift's optimizations) to `DIR/function[INDEX].clif`: a tool for comparing wasmz's
/// translation with other compilers'. Failures to write are ignored (a debugging aid only).
fn emit_clif(func: &cranelift_codegen::ir::Function, func_index: u32) {
    static DIR: std::sync::OnceLock<Option<std::ffi::OsString>> = std::sync::OnceLock::new();
    if let Some(dir) = DIR.get_or_init(|| std::env::var_os("WASMZ_EMIT_CLIF")) {
        let path = std::path::Path::new(dir).join(format!("function[{func_index}].clif"));
        let _ = std::fs::write(path, func.display().to_string());
    }
}

fn translate_and_compile(
    env: &ModuleEnv<'_>,
    ctx: &mut Context,
    tctx: &mut TranslatorContext,
    wasm: &[u8],
    func_index: u32,
) -> Result<CompiledFunction, CompileError> {
    let module = env.module;
    let defined = func_index
        .checked_sub(module.num_imported_funcs)
        .and_then(|d| module.bodies.get(d as usize))
        .ok_or_else(|| CompileError::Codegen {
            what: format!("function {func_index}"),
            func_index: Some(func_index),
            message: "not a defined function".into(),
        })?;
    let range = defined;
    let body = usize::try_from(range.start)
        .ok()
        .zip(usize::try_from(range.end).ok())
        .and_then(|(start, end)| wasm.get(start..end))
        .ok_or_else(|| CompileError::Codegen {
            what: format!("function {func_index}"),
            func_index: Some(func_index),
            message: "body outside the module's bytes".into(),
        })?;
    let reader = wasmparser::BinaryReader::new(body, range.start);
    let body = wasmparser::FunctionBody::new(reader);
    let func = translate::translate_function(env, tctx, func_index, &body)?;
    emit_clif(&func, func_index);
    compile_function(env.isa, ctx, func, Some(func_index), || {
        format!("function {func_index}")
    })
}

/// What [`compile_lazy`] compiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LazyTarget {
    /// A defined function, by its index in the module's function index space.
    Function(u32),
    /// The entry trampoline of a type of the type section.
    EntryTrampoline(u32),
    /// The host trampoline of a type of the type section.
    HostTrampoline(u32),
}

impl LazyTarget {
    /// The function index of a [`LazyTarget::Function`], `None` for a trampoline.
    pub fn func_index(self) -> Option<u32> {
        match self {
            LazyTarget::Function(f) => Some(f),
            LazyTarget::EntryTrampoline(_) | LazyTarget::HostTrampoline(_) => None,
        }
    }
}

/// Machine code of one function or trampoline compiled on its own: no relocations, trap sites sorted by
/// offset.
#[derive(Debug, Clone)]
pub struct LazyCompiled {
    /// The machine code.
    pub code: Vec<u8>,
    /// Trap sites.
    pub traps: Vec<(u32, TrapCode)>,
    /// Exception handlers of the calls inside `try_table`s, sorted by return address (as in
    /// [`CodeImage::handlers`]).
    pub handlers: Vec<(u32, u32, u32)>,
    /// Stack maps of the calls with live GC references, sorted by return address (as in
    /// [`CodeImage::stack_maps`]).
    pub stack_maps: Vec<(u32, Vec<u32>)>,
    /// The address map (as in [`CodeImage::address_map`]).
    pub addresses: Vec<(u32, u32)>,
    /// Where the code should start past a 64-byte line boundary, so that its innermost loop without
    /// calls does not straddle a fetch window (0 for most code; see
    /// [`wasmz_environ::image::FUNCTION_ALIGNMENT`]).
    pub start_phase: u32,
}

/// Compiles one function or trampoline of `module` (whose bytes are `wasm`) on its own, for lazy
/// compilation. `options.lazy_calls` must be set: the code then reaches every other callee through the
/// VMContext and its calls of itself are resolved here, so it needs no linking.
///
/// # Errors
/// When a function uses an unsupported operator, Cranelift fails, or `target` does not exist.
pub fn compile_lazy(
    isa: &dyn cranelift_codegen::isa::TargetIsa,
    module: &ModuleInfo,
    wasm: &[u8],
    options: CompileOptions,
    target: LazyTarget,
) -> Result<LazyCompiled, CompileError> {
    if !options.lazy_calls {
        return Err(CompileError::Codegen {
            what: format!("{target:?}"),
            func_index: target.func_index(),
            message: "lazily compiled code needs CompileOptions::lazy_calls".into(),
        });
    }
    let env = module_env(isa, module, options);
    let mut ctx = Context::new();
    let missing_type = |t: u32| CompileError::Codegen {
        what: format!("{target:?}"),
        func_index: None,
        message: format!("type {t} does not exist"),
    };
    let compiled = match target {
        LazyTarget::Function(f) => {
            translate_and_compile(&env, &mut ctx, &mut TranslatorContext::default(), wasm, f)?
        }
        LazyTarget::EntryTrampoline(t) => {
            let empty = FuncType::default();
            let ty = trampoline_type(module, t, &empty).ok_or_else(|| missing_type(t))?;
            compile_function(
                isa,
                &mut ctx,
                trampolines::entry_trampoline(&env, ty, t),
                None,
                || format!("entry trampoline of type {t}"),
            )?
        }
        LazyTarget::HostTrampoline(t) => {
            let empty = FuncType::default();
            let ty = trampoline_type(module, t, &empty).ok_or_else(|| missing_type(t))?;
            compile_function(
                isa,
                &mut ctx,
                trampolines::host_trampoline(&env, ty, t),
                None,
                || format!("host trampoline of type {t}"),
            )?
        }
    };
    let mut code = compiled.code;
    for &(offset, callee, addend, kind) in &compiled.calls {
        let error = |message: String| CompileError::Codegen {
            what: format!("{target:?}"),
            func_index: target.func_index(),
            message,
        };
        // Only calls of the function to itself are direct (see `ModuleEnv::lazy_calls`); they reach
        // offset 0 of the same code.
        if target.func_index() != Some(callee) {
            return Err(error(format!(
                "direct call to function {callee} at offset {offset} cannot be linked"
            )));
        }
        link::patch(&mut code, offset, 0, addend, kind).map_err(error)?;
    }
    let mut traps = compiled.traps;
    traps.sort_by_key(|(offset, _)| *offset);
    let mut handlers = compiled.handlers;
    handlers.sort_by_key(|(offset, _, _)| *offset);
    let mut stack_maps = compiled.stack_maps;
    stack_maps.sort_by_key(|(offset, _)| *offset);
    Ok(LazyCompiled {
        code,
        traps,
        handlers,
        stack_maps,
        addresses: compiled.addresses,
        start_phase: compiled.start_phase,
    })
}

/// One unit of work of [`compile_module`].
#[derive(Debug, Clone, Copy)]
enum Job {
    /// Defined function `i` (0 is the first defined function).
    Function(u32),
    /// The entry trampoline of type `t`.
    Entry(u32),
    /// The host trampoline of type `t`.
    Host(u32),
}

/// For each defined function, the first earlier defined function with the same type and the same body
/// bytes, if any. Such functions compile to the same machine code (calls, globals, tables and memories
/// are named by index in the bytes), so only the first is compiled; C and C++ programs have a few
/// percent of such bodies (template instances, identical small helpers).
fn identical_bodies(module: &ModuleInfo, wasm: &[u8]) -> Vec<Option<u32>> {
    let mut first: HashMap<(u32, &[u8]), u32> = HashMap::new();
    (0..module.bodies.len())
        .map(|i| {
            let range = &module.bodies[i];
            let bytes = usize::try_from(range.start)
                .ok()
                .zip(usize::try_from(range.end).ok())
                .and_then(|(start, end)| wasm.get(start..end))?;
            let ty = module.functions[module.num_imported_funcs as usize + i];
            match first.entry((ty, bytes)) {
                std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(i as u32);
                    None
                }
            }
        })
        .collect()
}

/// Where defined function `i`'s body starts in the module's bytes.
fn body_start(module: &ModuleInfo, i: usize) -> i64 {
    module.bodies[i].start as i64
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
    let env = module_env(isa, module, options);
    let num_defined = module.bodies.len();
    let num_types = module.types.len();
    let copy_of = identical_bodies(module, wasm);
    // One job per distinct defined function and per trampoline, biggest function bodies first so that no
    // core is left with one large function at the end; workers take the next job from a shared counter.
    let mut jobs: Vec<Job> = (0..num_defined)
        .filter(|&i| copy_of[i].is_none())
        .map(|i| Job::Function(i as u32))
        .chain((0..num_types as u32).flat_map(|t| [Job::Entry(t), Job::Host(t)]))
        .collect();
    jobs.sort_by_key(|job| match job {
        Job::Function(i) => {
            let range = &module.bodies[*i as usize];
            std::cmp::Reverse(range.end - range.start)
        }
        Job::Entry(_) | Job::Host(_) => std::cmp::Reverse(0),
    });
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len() / 8 + 1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let empty = FuncType::default();
    let trampoline_sig = |t: u32| trampoline_type(module, t, &empty).unwrap_or(&empty);
    let run = |ctx: &mut Context, tctx: &mut TranslatorContext, job: Job| match job {
        Job::Function(i) => {
            let func_index = module.num_imported_funcs + i;
            translate_and_compile(&env, ctx, tctx, wasm, func_index)
        }
        Job::Entry(t) => compile_function(
            isa,
            ctx,
            trampolines::entry_trampoline(&env, trampoline_sig(t), t),
            None,
            || format!("entry trampoline of type {t}"),
        ),
        Job::Host(t) => compile_function(
            isa,
            ctx,
            trampolines::host_trampoline(&env, trampoline_sig(t), t),
            None,
            || format!("host trampoline of type {t}"),
        ),
    };
    let worker = || {
        let mut ctx = Context::new();
        let mut tctx = TranslatorContext::default();
        let mut done = Vec::new();
        loop {
            let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&job) = jobs.get(n) else {
                return Ok(done);
            };
            done.push((job, run(&mut ctx, &mut tctx, job)?));
        }
    };
    let results: Vec<Result<Vec<(Job, CompiledFunction)>, CompileError>> =
        std::thread::scope(|s| {
            // A thread the system refuses to start (a limit on threads) leaves its share of the
            // jobs to the others, this one at least.
            let handles: Vec<_> = (1..threads)
                .filter_map(|_| std::thread::Builder::new().spawn_scoped(s, worker).ok())
                .collect();
            let mut results = vec![worker()];
            results.extend(handles.into_iter().map(|h| {
                h.join().unwrap_or_else(|panic| {
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    Err(CompileError::Codegen {
                        what: "a function".into(),
                        func_index: None,
                        message: format!("internal error: {message}"),
                    })
                })
            }));
            results
        });
    let mut functions: Vec<Option<CompiledFunction>> = (0..num_defined).map(|_| None).collect();
    let mut entry: Vec<Option<CompiledFunction>> = (0..num_types).map(|_| None).collect();
    let mut host: Vec<Option<CompiledFunction>> = (0..num_types).map(|_| None).collect();
    for part in results {
        for (job, compiled) in part? {
            let slot = match job {
                Job::Function(i) => &mut functions[i as usize],
                Job::Entry(t) => &mut entry[t as usize],
                Job::Host(t) => &mut host[t as usize],
            };
            *slot = Some(compiled);
        }
    }
    for (i, original) in copy_of.iter().enumerate() {
        if let Some(original) = *original {
            let copy = functions[original as usize].as_ref().map(|f| {
                f.moved_in_module(body_start(module, i) - body_start(module, original as usize))
            });
            functions[i] = copy;
        }
    }
    let all = |v: Vec<Option<CompiledFunction>>| -> Vec<CompiledFunction> {
        v.into_iter()
            .map(|c| c.expect("every job ran: the workers stop only when the list is exhausted"))
            .collect()
    };
    let (functions, entry, host) = (all(functions), all(entry), all(host));
    let mut image = link::link(functions, entry, host, module.num_imported_funcs)?;
    image.handlers.sort_by_key(|(offset, _, _)| *offset);
    image.stack_maps.sort_by_key(|(offset, _)| *offset);
    image.num_imported_funcs = module.num_imported_funcs;
    image.func_names = module
        .func_names
        .iter()
        .map(|(i, n)| (*i, n.clone()))
        .collect();
    image.func_names.sort();
    Ok(image)
}

/// The signature the trampolines of type `t` are compiled for: the type's own for a function type,
/// `empty` for a struct or array type (whose trampolines are never called but keep the per-type tables
/// dense); `None` for an index out of range.
fn trampoline_type<'a>(
    module: &'a ModuleInfo,
    t: u32,
    empty: &'a FuncType,
) -> Option<&'a FuncType> {
    let ty = module.types.get(t as usize)?;
    Some(ty.as_func().unwrap_or(empty))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLS: &str = r#"(module
      (import "env" "h" (func $h (param i32) (result i32)))
      (type $ii (func (param i32) (result i32)))
      (table 1 funcref)
      (func $leaf (param i32) (result i32) (local.get 0))
      (func (param i32) (result i32)
        (call $leaf (local.get 0))
        (call $h)
        (call_indirect (type $ii) (i32.const 0))))"#;

    /// The bytes and metadata of `wat`, the host ISA, and compile options with `lazy_calls`.
    fn setup(
        wat: &str,
        lazy_calls: bool,
    ) -> (
        Vec<u8>,
        ModuleInfo,
        cranelift_codegen::isa::OwnedTargetIsa,
        CompileOptions,
    ) {
        let wasm = wat::parse_str(wat).expect("valid text");
        let info = wasmz_environ::parse_module(&wasm, wasmparser::WasmFeatures::default())
            .expect("valid module");
        let isa = build_isa(None, OptLevel::Speed).expect("host ISA");
        let options = CompileOptions {
            lazy_calls,
            ..CompileOptions::default()
        };
        (wasm, info, isa, options)
    }

    /// The CLIF of function `func_index` of `wat`.
    fn clif(wat: &str, func_index: u32, lazy_calls: bool) -> String {
        let (wasm, info, isa, options) = setup(wat, lazy_calls);
        let env = module_env(&*isa, &info, options);
        let range = &info.bodies[(func_index - info.num_imported_funcs) as usize];
        let (start, end) = (range.start as usize, range.end as usize);
        let reader = wasmparser::BinaryReader::new(&wasm[start..end], range.start);
        let body = wasmparser::FunctionBody::new(reader);
        translate::translate_function(&env, &mut TranslatorContext::default(), func_index, &body)
            .expect("translates")
            .display()
            .to_string()
    }

    #[test]
    fn eager_calls_are_direct_and_unchecked() {
        let text = clif(CALLS, 2, false);
        // The call of $leaf is a direct call; only the import and the table call are indirect.
        assert_eq!(text.matches("call fn").count(), 1, "{text}");
        assert_eq!(text.matches("call_indirect").count(), 2, "{text}");
        // The one branch is the table call's test of its element (null, or the index out of bounds),
        // to a cold block that traps.
        assert_eq!(text.matches("brif").count(), 1, "{text}");
        assert_eq!(text.matches("cold").count(), 1, "{text}");
    }

    #[test]
    fn lazy_calls_go_through_funcrefs_and_check_imports_and_tables_for_null() {
        let text = clif(CALLS, 2, true);
        assert_eq!(text.matches("call fn").count(), 0, "{text}");
        // Three wasm calls, and cold paths that call the LazyCompile builtin for the import and the
        // table element; $leaf's funcref points to its compile-on-call stub until it has code. The
        // third branch is the table call's test of its element (null, or the index out of bounds).
        assert_eq!(text.matches("call_indirect").count(), 5, "{text}");
        assert_eq!(text.matches("brif").count(), 3, "{text}");
        assert_eq!(text.matches("cold").count(), 3, "{text}");
    }

    #[test]
    fn explicit_bounds_checks_guard_the_address_under_speculation() {
        let wat = r#"(module
          (type $ii (func (param i32) (result i32)))
          (type $bytes (array (mut i8)))
          (table 1 funcref)
          (memory i64 1)
          (func (param i32 i64 (ref $bytes)) (result i32)
            (drop (table.get (local.get 0)))
            (drop (i32.load offset=8 (local.get 1)))
            (drop (array.get_u $bytes (local.get 2) (local.get 0)))
            (call_indirect (type $ii) (local.get 0) (local.get 0))))"#;
        let text = clif(wat, 0, false);
        // The table element, the memory access (64-bit memories are always checked explicitly), the
        // array element and the table call's element.
        assert_eq!(text.matches("select_spectre_guard").count(), 4, "{text}");
        // Only the table call leaves out its bounds branch: three traps of bounds checks inline, the
        // table call's in the cold path of its null test, and its signature check.
        assert_eq!(text.matches("trapnz").count(), 5, "{text}");
        let cold: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.ends_with(" cold:"))
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .collect();
        assert!(
            cold.len() == 2 && cold[0].contains("trapnz") && cold[1].contains(" trap "),
            "{text}"
        );
    }

    #[test]
    fn translation_shares_bases_signatures_and_callees() {
        let wat = r#"(module
          (memory 1)
          (func $f (param i32) (result i32) (local.get 0))
          (func (param i32) (result i32)
            (i32.store offset=16 (local.get 0) (i32.load offset=8 (local.get 0)))
            (i64.store8 offset=3 (local.get 0) (i64.load16_u offset=24 (local.get 0)))
            (drop (i32.load offset=4294967295 (local.get 0)))
            (drop (call $f (local.get 0)))
            (drop (call $f (local.get 0)))
            (call $f (i32.load (local.get 0)))))"#;
        let text = clif(wat, 1, false);
        // One load of the memory's base for all five accesses.
        assert_eq!(text.matches("readonly can_move v0+").count(), 1, "{text}");
        // Offsets that fit go into the access's immediate; the one that does not is added before.
        for access in ["+16", "+8", "+3", "+24"] {
            assert!(text.contains(access), "{access}: {text}");
        }
        assert_eq!(text.matches("iconst.i64 0xffff_ffff").count(), 1, "{text}");
        // Three calls of one callee: one signature, one function reference.
        assert_eq!(text.matches(" = (i64 vmctx").count(), 1, "{text}");
        assert_eq!(text.matches("colocated").count(), 1, "{text}");
        assert_eq!(text.matches("call fn0").count(), 3, "{text}");
    }

    #[test]
    fn loops_carry_only_the_locals_they_change() {
        // The inner loop reads $n and $x (set outside it) and changes only $j: its header needs one
        // parameter, not one for every local the loop nest uses.
        let wat = r#"(module
          (func (param $n i32) (param $x i32) (result i32)
            (local $i i32) (local $j i32) (local $s i32)
            (loop $outer
              (local.set $x (i32.add (local.get $x) (local.get $i)))
              (local.set $j (i32.const 0))
              (loop $inner
                (local.set $s (i32.add (local.get $s) (i32.mul (local.get $x) (local.get $n))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br_if $inner (i32.lt_u (local.get $j) (local.get $n))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $outer (i32.lt_u (local.get $i) (local.get $n))))
            (local.get $s)))"#;
        let text = clif(wat, 0, false);
        // Headers: the outer loop carries $x, $i, $s (changed in it); the inner loop $j and $s.
        let params: Vec<usize> = text
            .lines()
            .filter(|l| l.trim_start().starts_with("block") && l.contains('('))
            .map(|l| l.matches(": i32").count())
            .collect();
        assert!(
            params.contains(&3) && params.contains(&2),
            "{params:?}\n{text}"
        );
        assert!(params.iter().all(|&n| n <= 3), "{params:?}\n{text}");
    }

    #[test]
    fn lazy_code_calls_itself_directly() {
        let wat = r#"(module
          (func $fib (param i32) (result i32)
            (if (result i32) (i32.lt_s (local.get 0) (i32.const 2))
              (then (local.get 0))
              (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                             (call $g (i32.sub (local.get 0) (i32.const 2)))))))
          (func $g (param i32) (result i32)
            (return_call $g (local.get 0))))"#;
        let text = clif(wat, 0, true);
        // The call of itself is direct; the call of $g goes through its funcref (a stub until $g has
        // code), unchecked.
        assert_eq!(text.matches("call fn").count(), 1, "{text}");
        assert_eq!(text.matches("call_indirect").count(), 1, "{text}");
        assert_eq!(text.matches("cold").count(), 0, "{text}");
        assert!(clif(wat, 1, true).contains("return_call fn"));
        // compile_lazy resolves the self calls (tests/lazy.rs runs lazily compiled recursion).
        let (wasm, info, isa, lazy) = setup(wat, true);
        for f in [0, 1] {
            compile_lazy(&*isa, &info, &wasm, lazy, LazyTarget::Function(f)).expect("compiles");
        }
    }

    #[test]
    fn gc_references_live_across_calls_are_in_stack_maps() {
        let wat = r#"(module
          (type $s (struct (field i32)))
          (func $f)
          (func (param $a anyref) (param $n i32) (result i32)
            (local $s (ref null $s))
            (local.set $s (struct.new $s (local.get $n)))
            (call $f)
            (drop (ref.is_null (local.get $a)))
            (struct.get $s 0 (local.get $s)))
          (func (param $n i32) (result i32)
            (call $f)
            (local.get $n)))"#;
        let text = clif(wat, 1, false);
        // The call keeps `$a` and the new struct in stack slots, and allocation has an inline fast path
        // with a cold call of the GcAlloc builtin.
        let call = text
            .lines()
            .find(|l| l.contains("call fn") && l.contains("stack_map="))
            .unwrap_or_else(|| panic!("{text}"));
        assert_eq!(call.matches("i64 @").count(), 2, "{call}");
        assert!(text.contains("cold"), "{text}");
        // Without references, no stack maps.
        assert!(!clif(wat, 2, false).contains("stack_map"));
    }

    #[test]
    fn references_live_across_builtins_that_may_run_user_code_are_in_stack_maps() {
        // `memory.grow` and `table.grow` ask the store's limiter, and the epoch check its callback
        // (at the entry and the loop header), all user code that may collect.
        let wat = r#"(module
          (type $s (struct (field i32)))
          (memory 1)
          (table 1 anyref)
          (func (param $a (ref null $s)) (param $n i32) (result i32)
            (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (drop (memory.grow (local.get $n)))
            (drop (table.grow (ref.null any) (local.get $n)))
            (struct.get $s 0 (local.get $a))))"#;
        let (wasm, info, isa, _) = setup(wat, false);
        let options = CompileOptions {
            epoch_interruption: true,
            ..CompileOptions::default()
        };
        let env = module_env(&*isa, &info, options);
        let range = &info.bodies[0];
        let reader = wasmparser::BinaryReader::new(
            &wasm[range.start as usize..range.end as usize],
            range.start,
        );
        let body = wasmparser::FunctionBody::new(reader);
        let text = translate::translate_function(&env, &mut TranslatorContext::default(), 0, &body)
            .expect("translates")
            .display()
            .to_string();
        let calls: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("call_indirect"))
            .collect();
        assert_eq!(calls.len(), 4, "{text}");
        for call in calls {
            assert_eq!(call.matches("i64 @").count(), 1, "{call}\n{text}");
        }
    }

    #[test]
    fn lazy_items_compile_without_relocations() {
        let (wasm, info, isa, lazy) = setup(CALLS, true);
        for target in [
            LazyTarget::Function(1),
            LazyTarget::Function(2),
            LazyTarget::EntryTrampoline(0),
            LazyTarget::HostTrampoline(0),
        ] {
            let compiled = compile_lazy(&*isa, &info, &wasm, lazy, target).expect("compiles");
            assert!(!compiled.code.is_empty(), "{target:?}");
        }
        // Imported functions, missing types and eager options are refused with an error.
        for (target, options) in [
            (LazyTarget::Function(0), lazy),
            (LazyTarget::Function(9), lazy),
            (LazyTarget::EntryTrampoline(9), lazy),
            (LazyTarget::Function(1), CompileOptions::default()),
        ] {
            assert!(
                compile_lazy(&*isa, &info, &wasm, options, target).is_err(),
                "{target:?}"
            );
        }
    }
}
