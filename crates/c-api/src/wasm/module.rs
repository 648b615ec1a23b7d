//! Modules of `wasm.h`: compilation, validation, reflection, serialization and sharing between
//! threads.

use super::reference::{Obj, as_obj, ref_type, wasm_module_t, wasm_ref_t};
use super::runtime::{store_ctx, wasm_store_t};
use super::types::{
    wasm_exporttype_t, wasm_exporttype_vec_t, wasm_externtype_t, wasm_importtype_t,
    wasm_importtype_vec_t,
};
use super::vec::wasm_byte_vec_t;
use crate::{delete, guard_value};
use facade::Module;
use std::ptr;

ref_type!(
    |r: &wasm_ref_t| matches!(r.obj, Obj::Module(..)),
    wasm_module_delete,
    wasm_module_copy,
    wasm_module_same,
    wasm_module_get_host_info,
    wasm_module_set_host_info,
    wasm_module_set_host_info_with_finalizer,
    wasm_module_as_ref,
    wasm_ref_as_module,
    wasm_module_as_ref_const,
    wasm_ref_as_module_const
);

/// A module shared between threads: thread-safe, made by `wasm_module_share`.
pub struct wasm_shared_module_t {
    module: Module,
    engine_id: u64,
}

/// The wasmz module and engine id of a module handle (`None` for NULL or another kind).
///
/// # Safety
/// NULL or a live handle.
pub(crate) unsafe fn module_of<'a>(m: *const wasm_module_t) -> Option<(&'a Module, u64)> {
    // SAFETY: forwarded from the caller.
    match unsafe { as_obj(m) } {
        Some(wasm_ref_t {
            obj: Obj::Module(module, engine_id),
            ..
        }) => Some((module, *engine_id)),
        _ => None,
    }
}

/// Compiles `binary` with the store's engine.
///
/// # Safety
/// `store` NULL or live; `binary` NULL or a valid byte vector.
unsafe fn compile(store: *mut wasm_store_t, binary: *const wasm_byte_vec_t) -> Option<wasm_ref_t> {
    // SAFETY: forwarded from the caller.
    let ctx = unsafe { store_ctx(store) }?;
    // SAFETY: forwarded from the caller.
    let bytes = unsafe { binary.as_ref() }?.bytes();
    let module = Module::compile(&ctx.engine, bytes).ok()?;
    Some(wasm_ref_t::new(Obj::Module(module, ctx.engine_id)))
}

/// Validates and compiles a binary module (or wasm text) with the store's engine; NULL if it is
/// invalid or an argument is NULL. Artifacts are refused (see `wasm_module_deserialize`).
///
/// # Safety
/// `store` NULL or live; `binary` NULL or a valid byte vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_new(
    store: *mut wasm_store_t,
    binary: *const wasm_byte_vec_t,
) -> *mut wasm_module_t {
    guard_value(ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        unsafe { compile(store, binary) }.map_or(ptr::null_mut(), wasm_ref_t::into_raw)
    })
}

/// Whether `wasm_module_new` would accept `binary`.
///
/// # Safety
/// `store` NULL or live; `binary` NULL or a valid byte vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_validate(
    store: *mut wasm_store_t,
    binary: *const wasm_byte_vec_t,
) -> bool {
    // SAFETY: forwarded from the caller.
    guard_value(false, || unsafe { compile(store, binary) }.is_some())
}

/// Sets `*out` to the module's imports in order (exception tags left out; empty for NULL).
///
/// # Safety
/// `module` NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_imports(
    module: *const wasm_module_t,
    out: *mut wasm_importtype_vec_t,
) {
    if out.is_null() {
        return;
    }
    let items = guard_value(Vec::new(), || {
        // SAFETY: forwarded from the caller.
        let Some((module, _)) = (unsafe { module_of(module) }) else {
            return Vec::new();
        };
        module
            .imports()
            .filter_map(|(m, n, ty)| {
                let ty = wasm_externtype_t::from_type(&ty)?;
                Some(Box::into_raw(Box::new(wasm_importtype_t::new(m, n, ty))))
            })
            .collect()
    });
    // SAFETY: writable by the caller's guarantee; not read (may be uninitialized).
    unsafe { out.write(wasm_importtype_vec_t::from_vec(items)) }
}

/// Sets `*out` to the module's exports in order (exception tags left out; empty for NULL).
///
/// # Safety
/// `module` NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_exports(
    module: *const wasm_module_t,
    out: *mut wasm_exporttype_vec_t,
) {
    if out.is_null() {
        return;
    }
    let items = guard_value(Vec::new(), || {
        // SAFETY: forwarded from the caller.
        let Some((module, _)) = (unsafe { module_of(module) }) else {
            return Vec::new();
        };
        module
            .exports()
            .filter_map(|(n, ty)| {
                let ty = wasm_externtype_t::from_type(&ty)?;
                Some(Box::into_raw(Box::new(wasm_exporttype_t::new(n, ty))))
            })
            .collect()
    });
    // SAFETY: writable by the caller's guarantee; not read (may be uninitialized).
    unsafe { out.write(wasm_exporttype_vec_t::from_vec(items)) }
}

/// Sets `*out` to the module as a wasmz artifact (empty on failure or for NULL).
///
/// # Safety
/// `module` NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_serialize(
    module: *const wasm_module_t,
    out: *mut wasm_byte_vec_t,
) {
    if out.is_null() {
        return;
    }
    let bytes = guard_value(Vec::new(), || {
        // SAFETY: forwarded from the caller.
        unsafe { module_of(module) }
            .and_then(|(m, _)| m.serialize().ok())
            .unwrap_or_default()
    });
    // SAFETY: writable by the caller's guarantee; not read (may be uninitialized).
    unsafe { out.write(wasm_byte_vec_t::from_bytes(&bytes)) }
}

/// Loads an artifact made by `wasm_module_serialize` (NULL if it is not one for this engine).
///
/// # Safety
/// `store` NULL or live; `bytes` NULL or a valid byte vector. The artifact is native code: it must
/// come from a trusted source (made by `wasm_module_serialize` and not altered since).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_deserialize(
    store: *mut wasm_store_t,
    bytes: *const wasm_byte_vec_t,
) -> *mut wasm_module_t {
    guard_value(ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let Some(ctx) = (unsafe { store_ctx(store) }) else {
            return ptr::null_mut();
        };
        // SAFETY: forwarded from the caller.
        let Some(bytes) = (unsafe { bytes.as_ref() }) else {
            return ptr::null_mut();
        };
        // SAFETY: the caller vouches for the artifact (this function's documented contract: trusted
        // input only).
        match unsafe { Module::deserialize(&ctx.engine, bytes.bytes()) } {
            Ok(module) => wasm_ref_t::new(Obj::Module(module, ctx.engine_id)).into_raw(),
            Err(_) => ptr::null_mut(),
        }
    })
}

/// A thread-safe form of the module (NULL for NULL).
///
/// # Safety
/// NULL or a live module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_share(
    module: *const wasm_module_t,
) -> *mut wasm_shared_module_t {
    guard_value(ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        match unsafe { module_of(module) } {
            Some((module, engine_id)) => Box::into_raw(Box::new(wasm_shared_module_t {
                module: module.clone(),
                engine_id,
            })),
            None => ptr::null_mut(),
        }
    })
}

/// The shared module as a module usable in `store` (NULL for NULL or a store of another engine).
///
/// # Safety
/// `store` NULL or live; `shared` NULL or a live shared module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_obtain(
    store: *mut wasm_store_t,
    shared: *const wasm_shared_module_t,
) -> *mut wasm_module_t {
    guard_value(ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let (Some(ctx), Some(shared)) = (unsafe { store_ctx(store) }, unsafe { shared.as_ref() })
        else {
            return ptr::null_mut();
        };
        if ctx.engine_id != shared.engine_id {
            return ptr::null_mut();
        }
        wasm_ref_t::new(Obj::Module(shared.module.clone(), shared.engine_id)).into_raw()
    })
}

/// Frees a shared module (NULL is ignored). Safe from any thread.
///
/// # Safety
/// NULL or an owned shared module, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_shared_module_delete(shared: *mut wasm_shared_module_t) {
    // SAFETY: forwarded from the caller.
    unsafe { delete(shared) }
}
