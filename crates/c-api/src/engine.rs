//! Configs, engines and modules.

use crate::{Res, delete, guard, guard_value, obj, obj_mut, out_param, slice, text, wasmz_error_t};
use facade::{BoundsChecks, Config, Engine, Module};
use std::ffi::c_char;

/// Engine settings (`wasmz_config_new`, freed by `wasmz_config_delete`).
pub struct wasmz_config_t(pub(crate) Config);

/// Compilation settings shared by modules and stores (`wasmz_engine_new`, freed by
/// `wasmz_engine_delete`). Thread-safe.
pub struct wasmz_engine_t(pub(crate) Engine);

/// A compiled module (`wasmz_module_new`, freed by `wasmz_module_delete`). Thread-safe.
pub struct wasmz_module_t(pub(crate) Module);

/// The header's `WASMZ_NO_MEMORY_LIMIT`.
pub const NO_MEMORY_LIMIT: u64 = u64::MAX;

/// New default settings; free with `wasmz_config_delete`. NULL only if a panic was caught.
#[unsafe(no_mangle)]
pub extern "C" fn wasmz_config_new() -> *mut wasmz_config_t {
    guard_value(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(wasmz_config_t(Config::new())))
    })
}

/// Frees settings (NULL is ignored).
///
/// # Safety
/// `config` must be NULL or a live config, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_config_delete(config: *mut wasmz_config_t) {
    // SAFETY: forwarded from the caller.
    unsafe { delete(config) }
}

/// Limits every linear memory to `bytes` (rounded down to whole pages); `WASMZ_NO_MEMORY_LIMIT`
/// removes the limit.
///
/// # Safety
/// `config` must be NULL or a live config.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_config_memory_limit(
    config: *mut wasmz_config_t,
    bytes: u64,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let config = unsafe { obj_mut(config, "config") }?;
        config
            .0
            .memory_limit((bytes != NO_MEMORY_LIMIT).then_some(bytes));
        Ok(())
    })
}

/// Chooses explicit bounds checks (`true`) or guard pages (`false`) for linear memories (without this
/// call, the engine chooses: see [`BoundsChecks`]).
///
/// # Safety
/// `config` must be NULL or a live config.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_config_explicit_bounds_checks(
    config: *mut wasmz_config_t,
    enable: bool,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let config = unsafe { obj_mut(config, "config") }?;
        config.0.bounds_checks(if enable {
            BoundsChecks::Explicit
        } else {
            BoundsChecks::GuardPages
        });
        Ok(())
    })
}

/// Sets how many bytes of native stack wasm code may use per call (512 KiB by default).
///
/// # Safety
/// `config` must be NULL or a live config.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_config_max_wasm_stack(
    config: *mut wasmz_config_t,
    bytes: usize,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let config = unsafe { obj_mut(config, "config") }?;
        config.0.max_wasm_stack(bytes);
        Ok(())
    })
}

/// Lazy compilation (false by default): each function is compiled on its first call instead of by
/// `wasmz_module_new` (see `wasmz::Config::lazy_compilation`).
///
/// # Safety
/// `config` must be NULL or a live config.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_config_lazy_compilation(
    config: *mut wasmz_config_t,
    enable: bool,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let config = unsafe { obj_mut(config, "config") }?;
        config.0.lazy_compilation(enable);
        Ok(())
    })
}

/// A copy of `config`'s settings as a config of the standard C API (`wasm.h`), owned by the caller
/// (NULL for NULL).
///
/// # Safety
/// `config` must be NULL or a live config.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_config_to_wasm(
    config: *const wasmz_config_t,
) -> *mut crate::wasm::runtime::wasm_config_t {
    guard_value(std::ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        unsafe { config.as_ref() }.map_or(std::ptr::null_mut(), |c| {
            Box::into_raw(Box::new(crate::wasm::runtime::wasm_config_t(c.0.clone())))
        })
    })
}

/// Creates an engine with `config` (NULL: default settings; the config is copied and stays owned
/// by the caller) into `*out`; free it with `wasmz_engine_delete`.
///
/// # Safety
/// `config` must be NULL or a live config; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_engine_new(
    config: *const wasmz_config_t,
    out: *mut *mut wasmz_engine_t,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: forwarded from the caller.
        let engine = match unsafe { config.as_ref() } {
            Some(c) => Engine::new(&c.0)?,
            None => Engine::new(&Config::default())?,
        };
        *out = Box::into_raw(Box::new(wasmz_engine_t(engine)));
        Ok(())
    })
}

/// Frees an engine (NULL is ignored). Modules and stores made from it stay valid.
///
/// # Safety
/// `engine` must be NULL or a live engine, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_engine_delete(engine: *mut wasmz_engine_t) {
    // SAFETY: forwarded from the caller.
    unsafe { delete(engine) }
}

fn new_module(out: &mut *mut wasmz_module_t, module: Res<Module>) -> Res<()> {
    *out = Box::into_raw(Box::new(wasmz_module_t(module?)));
    Ok(())
}

/// Validates and compiles `len` bytes at `bytes` (a binary module, the text format, or a `.cwasm`
/// artifact made by `wasmz_module_serialize` or `wasmz compile`) into `*out`; free it with
/// `wasmz_module_delete`.
///
/// # Safety
/// `engine` must be NULL or live; `bytes` NULL or `len` readable bytes; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_module_new(
    engine: *const wasmz_engine_t,
    bytes: *const u8,
    len: usize,
    out: *mut *mut wasmz_module_t,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: forwarded from the caller.
        let engine = unsafe { obj(engine, "engine") }?;
        // SAFETY: forwarded from the caller.
        let bytes = unsafe { slice(bytes, len, "bytes") }?;
        new_module(out, Module::compile(&engine.0, bytes).map_err(Into::into))
    })
}

/// Loads the precompiled module (`.cwasm` artifact) in file `path` into `*out`; free it with
/// `wasmz_module_delete`. Artifacts are native code: only load files from a trusted source.
///
/// # Safety
/// `engine` must be NULL or live; `path` NULL or a NUL-terminated string; `out` NULL or writable;
/// the file must hold a trusted artifact (made by this wasmz build, not altered since).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_module_deserialize_file(
    engine: *const wasmz_engine_t,
    path: *const c_char,
    out: *mut *mut wasmz_module_t,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: forwarded from the caller.
        let engine = unsafe { obj(engine, "engine") }?;
        // SAFETY: forwarded from the caller.
        let path = unsafe { text(path, "path") }?;
        // SAFETY: the caller vouches for the artifact (this function's documented contract: only
        // files from a trusted source).
        let module = unsafe { Module::deserialize_file(&engine.0, path) };
        new_module(out, module.map_err(Into::into))
    })
}

/// Serializes a compiled module into a `.cwasm` artifact: `*out_bytes` receives a buffer of
/// `*out_len` bytes that the caller frees with `wasmz_bytes_delete(*out_bytes, *out_len)`.
///
/// # Safety
/// `module` must be NULL or live; `out_bytes` and `out_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_module_serialize(
    module: *const wasmz_module_t,
    out_bytes: *mut *mut u8,
    out_len: *mut usize,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let out_bytes = unsafe { out_param(out_bytes, "out_bytes") }?;
        // SAFETY: forwarded from the caller.
        let out_len = unsafe { obj_mut(out_len, "out_len") }?;
        *out_len = 0;
        // SAFETY: forwarded from the caller.
        let module = unsafe { obj(module, "module") }?;
        let bytes = module.0.serialize()?.into_boxed_slice();
        *out_len = bytes.len();
        *out_bytes = Box::into_raw(bytes).cast::<u8>();
        Ok(())
    })
}

/// Frees a buffer returned by `wasmz_module_serialize` (NULL is ignored).
///
/// # Safety
/// `bytes` must be NULL or a buffer from `wasmz_module_serialize` of exactly `len` bytes, not used
/// afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_bytes_delete(bytes: *mut u8, len: usize) {
    if bytes.is_null() {
        return;
    }
    let slice = std::ptr::slice_from_raw_parts_mut(bytes, len);
    // SAFETY: by the caller's guarantee, the buffer is the boxed slice made by
    // `wasmz_module_serialize`, with its length.
    unsafe { delete(slice) }
}

/// Frees a module (NULL is ignored). Instances made from it stay valid.
///
/// # Safety
/// `module` must be NULL or a live module, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_module_delete(module: *mut wasmz_module_t) {
    // SAFETY: forwarded from the caller.
    unsafe { delete(module) }
}
