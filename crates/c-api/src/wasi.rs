//! WASI configuration.

use crate::linker::wasmz_store_t;
use crate::{delete, guard, guard_value, obj, obj_mut, slice, text, wasmz_error_t};
use std::ffi::c_char;
use wasmz_wasi::WasiCtxBuilder;

/// What a WASI program sees: arguments, environment, preopened directories and standard streams
/// (`wasmz_wasi_config_new`, freed by `wasmz_wasi_config_delete`). Plain data: directories are opened
/// by `wasmz_store_set_wasi`.
#[derive(Default, Clone)]
pub struct wasmz_wasi_config_t {
    args: Vec<String>,
    env: Vec<(String, String)>,
    preopens: Vec<(String, String)>,
    inherit_stdin: bool,
    inherit_stdout: bool,
    inherit_stderr: bool,
}

/// A new WASI configuration: no arguments, no environment, no directories, empty stdin, stdout and
/// stderr discarded. Free it with `wasmz_wasi_config_delete`. NULL only if a panic was caught.
#[unsafe(no_mangle)]
pub extern "C" fn wasmz_wasi_config_new() -> *mut wasmz_wasi_config_t {
    guard_value(std::ptr::null_mut(), || {
        Box::into_raw(Box::<wasmz_wasi_config_t>::default())
    })
}

/// Frees a WASI configuration (NULL is ignored).
///
/// # Safety
/// `config` must be NULL or live, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_wasi_config_delete(config: *mut wasmz_wasi_config_t) {
    // SAFETY: forwarded from the caller.
    unsafe { delete(config) }
}

/// Replaces the arguments with the `argc` strings of `argv` (by convention the first is the program
/// name). The strings are copied.
///
/// # Safety
/// `config` must be NULL or live; `argv` NULL or `argc` pointers, each NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_wasi_config_set_args(
    config: *mut wasmz_wasi_config_t,
    argc: usize,
    argv: *const *const c_char,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let config = unsafe { obj_mut(config, "config") }?;
        // SAFETY: forwarded from the caller.
        let argv = unsafe { slice(argv, argc, "argv") }?;
        let mut args = Vec::with_capacity(argc);
        for (i, arg) in argv.iter().enumerate() {
            // SAFETY: forwarded from the caller.
            args.push(unsafe { text(*arg, &format!("argv[{i}]")) }?.to_string());
        }
        config.args = args;
        Ok(())
    })
}

/// Sets environment variable `key` to `value` (replacing an earlier value).
///
/// # Safety
/// `config` must be NULL or live; strings NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_wasi_config_env(
    config: *mut wasmz_wasi_config_t,
    key: *const c_char,
    value: *const c_char,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let config = unsafe { obj_mut(config, "config") }?;
        // SAFETY: forwarded from the caller.
        let key = unsafe { text(key, "key") }?;
        // SAFETY: forwarded from the caller.
        let value = unsafe { text(value, "value") }?;
        if key.is_empty() || key.contains('=') {
            return Err(wasmz_error_t::msg(format!(
                "invalid environment variable name `{key}`"
            )));
        }
        config.env.retain(|(k, _)| k != key);
        config.env.push((key.to_string(), value.to_string()));
        Ok(())
    })
}

/// Gives the guest the host directory `host_path` under the name `guest_path` (e.g. "/data" or
/// "."). The directory is opened by `wasmz_store_set_wasi`.
///
/// # Safety
/// `config` must be NULL or live; strings NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_wasi_config_preopen_dir(
    config: *mut wasmz_wasi_config_t,
    host_path: *const c_char,
    guest_path: *const c_char,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let config = unsafe { obj_mut(config, "config") }?;
        // SAFETY: forwarded from the caller.
        let host = unsafe { text(host_path, "host_path") }?;
        // SAFETY: forwarded from the caller.
        let guest = unsafe { text(guest_path, "guest_path") }?;
        config.preopens.push((host.to_string(), guest.to_string()));
        Ok(())
    })
}

/// Connects the guest's stdin, stdout and stderr to the process's.
///
/// # Safety
/// `config` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_wasi_config_inherit_stdio(
    config: *mut wasmz_wasi_config_t,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let config = unsafe { obj_mut(config, "config") }?;
        config.inherit_stdin = true;
        config.inherit_stdout = true;
        config.inherit_stderr = true;
        Ok(())
    })
}

/// Gives `store` a WASI context built from `config` (which stays owned by the caller and may be
/// reused), replacing an earlier one; fails if a preopened directory cannot be opened. Host
/// functions defined by `wasmz_linker_define_wasi` use it.
///
/// # Safety
/// `store` and `config` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_store_set_wasi(
    store: *mut wasmz_store_t,
    config: *const wasmz_wasi_config_t,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let store = unsafe { obj_mut(store, "store") }?;
        // SAFETY: forwarded from the caller.
        let config = unsafe { obj(config, "config") }?;
        let mut builder = WasiCtxBuilder::new().args(&config.args);
        for (k, v) in &config.env {
            builder = builder.env(k, v);
        }
        for (host, guest) in &config.preopens {
            builder = builder
                .preopen_dir(host, guest)
                .map_err(|e| wasmz_error_t::msg(format!("cannot open directory `{host}`: {e}")))?;
        }
        if config.inherit_stdin {
            builder = builder.inherit_stdin();
        }
        if config.inherit_stdout {
            builder = builder.inherit_stdout();
        }
        if config.inherit_stderr {
            builder = builder.inherit_stderr();
        }
        store.0.set_data(builder.build());
        Ok(())
    })
}
