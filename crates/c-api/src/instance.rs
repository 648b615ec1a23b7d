//! Instances and their memories.

use crate::engine::wasmz_module_t;
use crate::linker::{wasmz_linker_t, wasmz_store_t};
use crate::{
    Res, delete, from_raw, guard, guard_value, obj, obj_mut, out_param, slice, slice_mut, text,
    to_raw, wasmz_error_t, wasmz_val_t,
};
use facade::{ExecResult, Func, Instance, Linker, Memory, RawVal, Val, ValType};
use std::ffi::{c_char, c_int};

/// An instantiated module (`wasmz_instance_new`, freed by `wasmz_instance_delete`).
/// Single-threaded, like its store.
pub struct wasmz_instance_t(pub(crate) Instance);

/// A linear memory exported by an instance (`wasmz_instance_memory`, freed by
/// `wasmz_memory_delete`). Single-threaded, like its store.
pub struct wasmz_memory_t(pub(crate) Memory);

/// Instantiates `module` in `store`, resolving imports from `linker` (NULL: no definitions), and
/// runs its start function, into `*out`; free it with `wasmz_instance_delete`.
///
/// # Safety
/// Pointers must be NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_instance_new(
    store: *mut wasmz_store_t,
    module: *const wasmz_module_t,
    linker: *const wasmz_linker_t,
    out: *mut *mut wasmz_instance_t,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: forwarded from the caller.
        let store = unsafe { obj_mut(store, "store") }?;
        // SAFETY: forwarded from the caller.
        let module = unsafe { obj(module, "module") }?;
        let empty = Linker::new();
        // SAFETY: forwarded from the caller.
        let linker = unsafe { linker.as_ref() }.map_or(&empty, |l| &l.0);
        let instance = Instance::new(&mut store.0, &module.0, linker)?;
        *out = Box::into_raw(Box::new(wasmz_instance_t(instance)));
        Ok(())
    })
}

/// Frees an instance (NULL is ignored). Memories obtained from it stay valid.
///
/// # Safety
/// `instance` must be NULL or a live instance, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_instance_delete(instance: *mut wasmz_instance_t) {
    // SAFETY: forwarded from the caller.
    unsafe { delete(instance) }
}

/// The exported function `name`.
fn export_func(instance: &Instance, name: &str) -> Res<Func> {
    match instance.export(name) {
        Some(facade::Extern::Func(f)) => Ok(f),
        Some(_) => Err(wasmz_error_t::msg(format!(
            "export `{name}` is not a function"
        ))),
        None => Err(wasmz_error_t::msg(format!("unknown export `{name}`"))),
    }
}

/// Stores the number of parameters and results of the exported function `name` in `*nparams` and
/// `*nresults` (each may be NULL).
///
/// # Safety
/// `instance` must be NULL or live; `name` NULL or NUL-terminated; the counts NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_instance_func_arity(
    instance: *const wasmz_instance_t,
    name: *const c_char,
    nparams: *mut usize,
    nresults: *mut usize,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let instance = unsafe { obj(instance, "instance") }?;
        // SAFETY: forwarded from the caller.
        let name = unsafe { text(name, "name") }?;
        let func = export_func(&instance.0, name)?;
        let ty = func
            .ty()
            .ok_or_else(|| wasmz_error_t::msg(format!("the type of `{name}` is unknown")))?;
        // SAFETY: forwarded from the caller.
        if let Some(n) = unsafe { nparams.as_mut() } {
            *n = ty.params.len();
        }
        // SAFETY: forwarded from the caller.
        if let Some(n) = unsafe { nresults.as_mut() } {
            *n = ty.results.len();
        }
        Ok(())
    })
}

/// Calls the exported function `name` with `nargs` arguments (their kinds must match the
/// parameter types) and writes its results into `results`, which must have room for exactly the
/// function's result count `nresults`. A trap gives an error with a trap code; an exit of the guest
/// (WASI `proc_exit`) an error with an exit status.
///
/// # Safety
/// `instance` must be NULL or live; `name` NULL or NUL-terminated; `args` NULL or `nargs` values;
/// `results` NULL or `nresults` writable values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_instance_call(
    instance: *mut wasmz_instance_t,
    name: *const c_char,
    args: *const wasmz_val_t,
    nargs: usize,
    results: *mut wasmz_val_t,
    nresults: usize,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let instance = unsafe { obj_mut(instance, "instance") }?;
        // SAFETY: forwarded from the caller.
        let name = unsafe { text(name, "name") }?;
        let func = export_func(&instance.0, name)?;
        let ty = func
            .ty()
            .ok_or_else(|| wasmz_error_t::msg(format!("the type of `{name}` is unknown")))?
            .clone();
        if nargs != ty.params.len() {
            return Err(wasmz_error_t::msg(format!(
                "`{name}` takes {} arguments, {nargs} given",
                ty.params.len()
            )));
        }
        if nresults != ty.results.len() {
            return Err(wasmz_error_t::msg(format!(
                "`{name}` returns {} results, room for {nresults} given",
                ty.results.len()
            )));
        }
        if nresults > 0 && results.is_null() {
            return Err(wasmz_error_t::msg("results must not be NULL"));
        }
        // The arguments are copied before the results are written: the arrays may overlap.
        // SAFETY: forwarded from the caller.
        let args = unsafe { slice(args, nargs, "args") }?;
        let raw_args = args
            .iter()
            .zip(ty.params.iter())
            .enumerate()
            .map(|(i, (v, t))| to_raw(v, *t, &|| format!("argument {i} of `{name}`")))
            .collect::<Res<Vec<_>>>()?;
        let mut raw_results = vec![RawVal::default(); nresults];
        if let Err(trap) = func.call(&raw_args, &mut raw_results)? {
            return Err(wasmz_error_t::from_trap(&trap));
        }
        // SAFETY: forwarded from the caller.
        let results = unsafe { slice_mut(results, nresults, "results") }?;
        for ((slot, raw), t) in results.iter_mut().zip(raw_results).zip(ty.results.iter()) {
            *slot = from_raw(raw, *t)?;
        }
        Ok(())
    })
}

/// Runs the command entry point `_start`. When it returns, `*exit_status` (if not NULL) is 0; when
/// the guest exits (WASI `proc_exit`), it is the exit status, and the call still succeeds. A trap
/// gives an error; so does a module without `_start`.
///
/// # Safety
/// `instance` must be NULL or live; `exit_status` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_instance_run_start(
    instance: *mut wasmz_instance_t,
    exit_status: *mut c_int,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let instance = unsafe { obj_mut(instance, "instance") }?;
        let status = match instance.0.run_start_function()? {
            None => return Err(wasmz_error_t::msg("the module does not export `_start`")),
            Some(ExecResult::Ok(_)) => 0,
            Some(ExecResult::Exit(status)) => status,
            Some(ExecResult::Trap(trap)) => return Err(wasmz_error_t::from_trap(&trap)),
        };
        // SAFETY: forwarded from the caller.
        if let Some(out) = unsafe { exit_status.as_mut() } {
            *out = status;
        }
        Ok(())
    })
}

/// Runs the reactor initializer `_initialize` if the module exports it (succeeding otherwise). A
/// trap or an exit of the guest gives an error.
///
/// # Safety
/// `instance` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_instance_initialize(
    instance: *mut wasmz_instance_t,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let instance = unsafe { obj_mut(instance, "instance") }?;
        match instance.0.initialize_reactor()? {
            None | Some(ExecResult::Ok(_)) => Ok(()),
            Some(ExecResult::Exit(status)) => Err(wasmz_error_t::exit(status)),
            Some(ExecResult::Trap(trap)) => Err(wasmz_error_t::from_trap(&trap)),
        }
    })
}

/// Whether the module is a command (exports `_start`); false for NULL.
///
/// # Safety
/// `instance` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_instance_is_command(instance: *const wasmz_instance_t) -> bool {
    guard_value(false, || {
        // SAFETY: forwarded from the caller.
        unsafe { instance.as_ref() }.is_some_and(|i| i.0.is_command())
    })
}

/// Whether the module is a reactor (does not export `_start`); false for NULL.
///
/// # Safety
/// `instance` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_instance_is_reactor(instance: *const wasmz_instance_t) -> bool {
    guard_value(false, || {
        // SAFETY: forwarded from the caller.
        unsafe { instance.as_ref() }.is_some_and(|i| i.0.is_reactor())
    })
}

/// The exported memory `name`, into `*out`; free it with `wasmz_memory_delete`.
///
/// # Safety
/// `instance` must be NULL or live; `name` NULL or NUL-terminated; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_instance_memory(
    instance: *const wasmz_instance_t,
    name: *const c_char,
    out: *mut *mut wasmz_memory_t,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: forwarded from the caller.
        let instance = unsafe { obj(instance, "instance") }?;
        // SAFETY: forwarded from the caller.
        let name = unsafe { text(name, "name") }?;
        let memory = match instance.0.export(name) {
            Some(facade::Extern::Memory(m)) => m,
            Some(_) => {
                return Err(wasmz_error_t::msg(format!(
                    "export `{name}` is not a memory"
                )));
            }
            None => return Err(wasmz_error_t::msg(format!("unknown export `{name}`"))),
        };
        *out = Box::into_raw(Box::new(wasmz_memory_t(memory)));
        Ok(())
    })
}

/// Frees a memory handle (NULL is ignored).
///
/// # Safety
/// `memory` must be NULL or a live memory handle, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_memory_delete(memory: *mut wasmz_memory_t) {
    // SAFETY: forwarded from the caller.
    unsafe { delete(memory) }
}

/// Current size in 64 KiB pages; 0 for NULL.
///
/// # Safety
/// `memory` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_memory_size_pages(memory: *const wasmz_memory_t) -> u64 {
    guard_value(0, || {
        // SAFETY: forwarded from the caller.
        unsafe { memory.as_ref() }.map_or(0, |m| m.0.size_pages())
    })
}

/// Address of the memory's first byte (NULL for NULL). It never changes while the memory lives; the
/// first `wasmz_memory_data_size()` bytes are accessible.
///
/// # Safety
/// `memory` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_memory_data(memory: *const wasmz_memory_t) -> *mut u8 {
    guard_value(std::ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        unsafe { memory.as_ref() }.map_or(std::ptr::null_mut(), |m| m.0.data_ptr())
    })
}

/// Current size in bytes; 0 for NULL.
///
/// # Safety
/// `memory` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_memory_data_size(memory: *const wasmz_memory_t) -> u64 {
    guard_value(0, || {
        // SAFETY: forwarded from the caller.
        unsafe { memory.as_ref() }.map_or(0, |m| m.0.data_size())
    })
}

/// Copies `len` bytes at `offset` of the memory into `buf`.
///
/// # Safety
/// `memory` must be NULL or live; `buf` NULL or `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_memory_read(
    memory: *const wasmz_memory_t,
    offset: u64,
    buf: *mut u8,
    len: usize,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let memory = unsafe { obj(memory, "memory") }?;
        // SAFETY: forwarded from the caller.
        let buf = unsafe { slice_mut(buf, len, "buf") }?;
        memory.0.read(offset, buf)?;
        Ok(())
    })
}

/// Copies `len` bytes from `data` into the memory at `offset`.
///
/// # Safety
/// `memory` must be NULL or live; `data` NULL or `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_memory_write(
    memory: *const wasmz_memory_t,
    offset: u64,
    data: *const u8,
    len: usize,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let memory = unsafe { obj(memory, "memory") }?;
        // SAFETY: forwarded from the caller.
        let data = unsafe { slice(data, len, "data") }?;
        memory.0.write(offset, data)?;
        Ok(())
    })
}

/// Grows the memory by `delta` pages; `*old_pages` (if not NULL) receives the previous size.
/// Fails past the memory's maximum or the engine's memory limit.
///
/// # Safety
/// `memory` must be NULL or live; `old_pages` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_memory_grow(
    memory: *const wasmz_memory_t,
    delta: u64,
    old_pages: *mut u64,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let memory = unsafe { obj(memory, "memory") }?;
        let old = memory.0.grow(delta)?;
        // SAFETY: forwarded from the caller.
        if let Some(out) = unsafe { old_pages.as_mut() } {
            *out = old;
        }
        Ok(())
    })
}

/// The exported global `name`.
fn export_global(instance: &Instance, name: &str) -> Res<facade::Global> {
    match instance.export(name) {
        Some(facade::Extern::Global(g)) => Ok(g),
        Some(_) => Err(wasmz_error_t::msg(format!(
            "export `{name}` is not a global"
        ))),
        None => Err(wasmz_error_t::msg(format!("unknown export `{name}`"))),
    }
}

/// Reads the exported global `name` into `*value` (its kind is set).
///
/// # Safety
/// `instance` must be NULL or live; `name` NULL or NUL-terminated; `value` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_instance_global_get(
    instance: *const wasmz_instance_t,
    name: *const c_char,
    value: *mut wasmz_val_t,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let instance = unsafe { obj(instance, "instance") }?;
        // SAFETY: forwarded from the caller.
        let name = unsafe { text(name, "name") }?;
        // SAFETY: forwarded from the caller.
        let value = unsafe { obj_mut(value, "value") }?;
        let global = export_global(&instance.0, name)?;
        let v = match global.get() {
            Val::I32(x) => RawVal::from(x),
            Val::I64(x) => RawVal::from(x),
            Val::F32(bits) => RawVal::from(bits),
            Val::F64(bits) => RawVal::from(bits),
            Val::V128(bits) => RawVal::from(bits),
            other => {
                return Err(wasmz_error_t::msg(format!(
                    "values of type {} are not supported by the C API",
                    other.ty()
                )));
            }
        };
        *value = from_raw(v, global.ty().content)?;
        Ok(())
    })
}

/// Sets the exported mutable global `name` to `*value` (whose kind must match the global's type).
///
/// # Safety
/// `instance` must be NULL or live; `name` NULL or NUL-terminated; `value` NULL or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_instance_global_set(
    instance: *mut wasmz_instance_t,
    name: *const c_char,
    value: *const wasmz_val_t,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let instance = unsafe { obj(instance, "instance") }?;
        // SAFETY: forwarded from the caller.
        let name = unsafe { text(name, "name") }?;
        // SAFETY: forwarded from the caller.
        let value = unsafe { obj(value, "value") }?;
        let global = export_global(&instance.0, name)?;
        let ty = global.ty().content;
        let raw = to_raw(value, ty, &|| format!("the value for global `{name}`"))?;
        let val = match ty {
            ValType::I32 => Val::I32(raw.read_as()),
            ValType::I64 => Val::I64(raw.read_as()),
            ValType::F32 => Val::F32(raw.read_as()),
            ValType::F64 => Val::F64(raw.read_as()),
            _ => Val::V128(raw.read_as()),
        };
        global.set(val)?;
        Ok(())
    })
}
