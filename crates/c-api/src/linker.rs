//! Stores, linkers, host functions and their callers.

use crate::engine::wasmz_engine_t;
use crate::{
    Res, delete, from_raw, guard, guard_value, obj, obj_mut, out_param, slice, slice_mut, text,
    to_raw_unchecked, type_of, wasmz_error_t, wasmz_val_t, wasmz_valkind_t,
};
use facade::{
    Global, GlobalType, HostContext, HostError, HostFunc, Linker, RawVal, Store, Val, ValType,
};
use std::ffi::{c_char, c_void};

/// Runtime state of instances (`wasmz_store_new`, freed by `wasmz_store_delete`). Single-threaded.
pub struct wasmz_store_t(pub(crate) Store);

/// Definitions that satisfy imports (`wasmz_linker_new`, freed by `wasmz_linker_delete`).
pub struct wasmz_linker_t(pub(crate) Linker);

/// The calling instance, as seen by a host callback; valid only during the callback.
#[repr(C)]
pub struct wasmz_caller_t {
    _private: [u8; 0],
}

/// A host function's callback: reads `nparams` arguments, writes `nresults` results (their kinds
/// are preset), and returns NULL, or an error (which it hands over to wasmz) to trap the guest.
pub type wasmz_func_callback_t = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        caller: *mut wasmz_caller_t,
        params: *const wasmz_val_t,
        nparams: usize,
        results: *mut wasmz_val_t,
        nresults: usize,
    ) -> *mut wasmz_error_t,
>;

/// Frees a host function's user data.
pub type wasmz_finalizer_t = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// Creates a store for modules of `engine` into `*out`; free it with `wasmz_store_delete`.
///
/// # Safety
/// `engine` must be NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_store_new(
    engine: *const wasmz_engine_t,
    out: *mut *mut wasmz_store_t,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: forwarded from the caller.
        let engine = unsafe { obj(engine, "engine") }?;
        *out = Box::into_raw(Box::new(wasmz_store_t(Store::new(&engine.0))));
        Ok(())
    })
}

/// Frees a store (NULL is ignored). Its contents live on while instances or memories of it do.
///
/// # Safety
/// `store` must be NULL or a live store, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_store_delete(store: *mut wasmz_store_t) {
    // SAFETY: forwarded from the caller.
    unsafe { delete(store) }
}

/// A new empty linker; free it with `wasmz_linker_delete`. NULL only if a panic was caught.
#[unsafe(no_mangle)]
pub extern "C" fn wasmz_linker_new() -> *mut wasmz_linker_t {
    guard_value(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(wasmz_linker_t(Linker::new())))
    })
}

/// Frees a linker (NULL is ignored). Instances made with it stay valid.
///
/// # Safety
/// `linker` must be NULL or a live linker, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_linker_delete(linker: *mut wasmz_linker_t) {
    // SAFETY: forwarded from the caller.
    unsafe { delete(linker) }
}

/// Runs the finalizer on the user data when dropped: when the last copy of a host function goes, or
/// at once when the definition fails.
struct UserData {
    ptr: *mut c_void,
    finalizer: wasmz_finalizer_t,
}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(f) = self.finalizer {
            // SAFETY: the embedder gave this finalizer for this pointer; it runs once.
            unsafe { f(self.ptr) }
        }
    }
}

/// A C callback with its user data.
struct Callback {
    func: unsafe extern "C" fn(
        *mut c_void,
        *mut wasmz_caller_t,
        *const wasmz_val_t,
        usize,
        *mut wasmz_val_t,
        usize,
    ) -> *mut wasmz_error_t,
    data: UserData,
}

// SAFETY: the header makes the embedder responsible for the user data being usable from the threads
// its stores run on (a host function may be shared by stores of several threads).
unsafe impl Send for Callback {}
// SAFETY: as above.
unsafe impl Sync for Callback {}

/// The host error a callback's error object stands for.
fn host_error(e: wasmz_error_t) -> HostError {
    match (e.exit_status, e.trap_code) {
        (Some(status), _) => HostError::exit(status),
        (None, Some(code)) => HostError::trap(code, e.message()),
        (None, None) => HostError::new(e.message()),
    }
}

fn types(kinds: &[wasmz_valkind_t]) -> Res<Vec<ValType>> {
    kinds.iter().map(|k| type_of(*k)).collect()
}

impl Callback {
    /// Calls the C function with typed values.
    fn call(
        &self,
        cx: &mut HostContext<'_, '_>,
        param_types: &[ValType],
        result_types: &[ValType],
        params: &[RawVal],
        results: &mut [RawVal],
    ) -> Result<(), HostError> {
        let to_host = |e: wasmz_error_t| HostError::new(e.message());
        let args = params
            .iter()
            .zip(param_types)
            .map(|(raw, ty)| from_raw(*raw, *ty))
            .collect::<Res<Vec<_>>>()
            .map_err(to_host)?;
        let mut outs = result_types
            .iter()
            .map(|ty| from_raw(RawVal::default(), *ty))
            .collect::<Res<Vec<_>>>()
            .map_err(to_host)?;
        let caller = std::ptr::from_mut(cx).cast::<wasmz_caller_t>();
        // SAFETY: the arrays hold the counts passed with them; the caller pointer is valid during the
        // call; the embedder vouches for the callback and its user data.
        let error = unsafe {
            (self.func)(
                self.data.ptr,
                caller,
                args.as_ptr(),
                args.len(),
                outs.as_mut_ptr(),
                outs.len(),
            )
        };
        if !error.is_null() {
            // SAFETY: the callback hands over an error object made by this library.
            let error = unsafe { Box::from_raw(error) };
            return Err(host_error(*error));
        }
        for ((slot, v), ty) in results.iter_mut().zip(&outs).zip(result_types) {
            *slot = to_raw_unchecked(v, *ty);
        }
        Ok(())
    }
}

/// Defines host function `module`.`name` with the given parameter and result kinds, implemented by
/// `callback`. `finalizer` (optional) is called exactly once with `user_data`: when the linker and
/// every store that instantiated the function no longer need it, or before this function returns
/// if it fails.
///
/// # Safety
/// Pointers must be NULL or valid (strings NUL-terminated, arrays of the given lengths); `callback`
/// and `finalizer` must be safe to call with `user_data` from the thread of any store using the
/// function.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_linker_define_func(
    linker: *mut wasmz_linker_t,
    module: *const c_char,
    name: *const c_char,
    params: *const wasmz_valkind_t,
    nparams: usize,
    results: *const wasmz_valkind_t,
    nresults: usize,
    callback: wasmz_func_callback_t,
    user_data: *mut c_void,
    finalizer: wasmz_finalizer_t,
) -> *mut wasmz_error_t {
    // Owned from here on, so every failure below runs the finalizer.
    let data = UserData {
        ptr: user_data,
        finalizer,
    };
    guard(move || {
        // SAFETY: forwarded from the caller.
        let linker = unsafe { obj_mut(linker, "linker") }?;
        // SAFETY: forwarded from the caller.
        let module = unsafe { text(module, "module") }?;
        // SAFETY: forwarded from the caller.
        let name = unsafe { text(name, "name") }?;
        // SAFETY: forwarded from the caller.
        let param_types = types(unsafe { slice(params, nparams, "params") }?)?;
        // SAFETY: forwarded from the caller.
        let result_types = types(unsafe { slice(results, nresults, "results") }?)?;
        let func = callback.ok_or_else(|| wasmz_error_t::msg("callback must not be NULL"))?;
        let cb = Callback { func, data };
        let (p, r) = (param_types.clone(), result_types.clone());
        let host = HostFunc::new(param_types, result_types, move |cx, params, results| {
            cb.call(cx, &p, &r, params, results)
        });
        linker.0.define(module, name, host)?;
        Ok(())
    })
}

/// Defines global `module`.`name`, created in `store` with the value `*value` (its kind gives the
/// type) and mutability `mutable`. Only instances of that store can import it.
///
/// # Safety
/// Pointers must be NULL or valid; strings NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_linker_define_global(
    linker: *mut wasmz_linker_t,
    store: *mut wasmz_store_t,
    module: *const c_char,
    name: *const c_char,
    value: *const wasmz_val_t,
    mutable: bool,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let linker = unsafe { obj_mut(linker, "linker") }?;
        // SAFETY: forwarded from the caller.
        let store = unsafe { obj_mut(store, "store") }?;
        // SAFETY: forwarded from the caller.
        let module = unsafe { text(module, "module") }?;
        // SAFETY: forwarded from the caller.
        let name = unsafe { text(name, "name") }?;
        // SAFETY: forwarded from the caller.
        let value = unsafe { obj(value, "value") }?;
        let content = type_of(value.kind)?;
        let raw = to_raw_unchecked(value, content);
        let init = match content {
            ValType::I32 => Val::I32(raw.read_as()),
            ValType::I64 => Val::I64(raw.read_as()),
            ValType::F32 => Val::F32(raw.read_as()),
            ValType::F64 => Val::F64(raw.read_as()),
            _ => Val::V128(raw.read_as()),
        };
        let global = Global::new(&mut store.0, GlobalType { content, mutable }, init)?;
        linker.0.define_global(module, name, global)?;
        Ok(())
    })
}

/// Defines every WASI preview1 function (`wasi_snapshot_preview1`). A store running them needs a
/// WASI context: see `wasmz_store_set_wasi`.
///
/// # Safety
/// `linker` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_linker_define_wasi(
    linker: *mut wasmz_linker_t,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let linker = unsafe { obj_mut(linker, "linker") }?;
        wasmz_wasi::add_to_linker(&mut linker.0)?;
        Ok(())
    })
}

/// The host context behind a caller pointer.
///
/// # Safety
/// `caller` must be NULL or the pointer given to a running callback.
unsafe fn context<'a>(caller: *mut wasmz_caller_t) -> Res<&'a mut HostContext<'a, 'a>> {
    // SAFETY: a non-NULL caller is the `HostContext` passed by `Callback::call`, alive during the
    // callback.
    unsafe { obj_mut(caller.cast::<HostContext<'a, 'a>>(), "caller") }
}

/// Size in bytes of the caller's memory (its export "memory", else memory 0); 0 without a memory or
/// for NULL.
///
/// # Safety
/// `caller` must be NULL or the caller of a running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_caller_memory_size(caller: *mut wasmz_caller_t) -> u64 {
    guard_value(0, || {
        // SAFETY: forwarded from the caller.
        unsafe { context(caller) }.map_or(0, |cx| cx.memory_size())
    })
}

/// Copies `len` bytes at `offset` of the caller's memory into `buf`. An out-of-bounds range gives a
/// trap error (`WASMZ_TRAP_MEMORY_OUT_OF_BOUNDS`) the callback may return as is.
///
/// # Safety
/// `caller` must be NULL or the caller of a running callback; `buf` NULL or `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_caller_memory_read(
    caller: *mut wasmz_caller_t,
    offset: u64,
    buf: *mut u8,
    len: usize,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let cx = unsafe { context(caller) }?;
        // SAFETY: forwarded from the caller.
        let buf = unsafe { slice_mut(buf, len, "buf") }?;
        cx.read_memory(offset, buf).map_err(from_host_error)
    })
}

/// Copies `len` bytes from `data` into the caller's memory at `offset`. An out-of-bounds range gives a
/// trap error (`WASMZ_TRAP_MEMORY_OUT_OF_BOUNDS`).
///
/// # Safety
/// `caller` must be NULL or the caller of a running callback; `data` NULL or `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_caller_memory_write(
    caller: *mut wasmz_caller_t,
    offset: u64,
    data: *const u8,
    len: usize,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let cx = unsafe { context(caller) }?;
        // SAFETY: forwarded from the caller.
        let data = unsafe { slice(data, len, "data") }?;
        cx.write_memory(offset, data).map_err(from_host_error)
    })
}

fn from_host_error(e: HostError) -> wasmz_error_t {
    match e.exit_code() {
        Some(status) => wasmz_error_t::exit(status),
        None => wasmz_error_t::trap(e.code(), e.message()),
    }
}
