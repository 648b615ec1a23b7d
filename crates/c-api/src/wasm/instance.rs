//! Instances of `wasm.h`: instantiation with an imports vector, and exports.

use super::externs::wasm_extern_vec_t;
use super::func::FuncObj;
use super::module::module_of;
use super::reference::{Obj, as_obj, ref_type, wasm_instance_t, wasm_ref_t};
use super::runtime::{StoreCtx, store_ctx, wasm_store_t};
use super::trap::{from_error, new_trap};
use super::vec::view;
use crate::guard_value;
use facade::{Extern, ExternType, Instance, Linker};
use std::ptr;
use std::rc::Rc;

ref_type!(
    |r: &wasm_ref_t| matches!(r.obj, Obj::Instance(..)),
    wasm_instance_delete,
    wasm_instance_copy,
    wasm_instance_same,
    wasm_instance_get_host_info,
    wasm_instance_set_host_info,
    wasm_instance_set_host_info_with_finalizer,
    wasm_instance_as_ref,
    wasm_ref_as_instance,
    wasm_instance_as_ref_const,
    wasm_ref_as_instance_const
);

/// The wasmz extern of an extern handle, with its store.
fn extern_of(r: &wasm_ref_t) -> Option<(Extern, &Rc<StoreCtx>)> {
    Some(match &r.obj {
        Obj::Func(f) => (Extern::Func(f.func.clone()), &f.store),
        Obj::Global(g, s) => (Extern::Global(g.clone()), s),
        Obj::Table(t, s) => (Extern::Table(t.clone()), s),
        Obj::Memory(m, s) => (Extern::Memory(m.clone()), s),
        _ => return None,
    })
}

/// The handle of a wasmz extern of `store` (`None` for an exception tag).
fn extern_handle(e: Extern, store: &Rc<StoreCtx>) -> Option<wasm_ref_t> {
    let obj = match e {
        Extern::Func(f) => Obj::Func(FuncObj::new(f, store.clone())),
        Extern::Global(g) => Obj::Global(g, store.clone()),
        Extern::Table(t) => Obj::Table(t, store.clone()),
        Extern::Memory(m) => Obj::Memory(m, store.clone()),
        Extern::Tag(_) => return None,
    };
    Some(wasm_ref_t::new(obj))
}

/// The body of `wasm_instance_new`: the instance, or a trap explaining the failure.
///
/// # Safety
/// As `wasm_instance_new`.
unsafe fn instantiate(
    store: *mut wasm_store_t,
    module: *const wasm_ref_t,
    imports: *const wasm_extern_vec_t,
) -> Result<wasm_ref_t, wasm_ref_t> {
    // SAFETY: forwarded from the caller.
    let ctx =
        unsafe { store_ctx(store) }.ok_or_else(|| new_trap("wasm_instance_new: NULL store"))?;
    // SAFETY: forwarded from the caller.
    let (module, engine_id) =
        unsafe { module_of(module) }.ok_or_else(|| new_trap("wasm_instance_new: not a module"))?;
    if engine_id != ctx.engine_id {
        return Err(new_trap(
            "wasm_instance_new: the module was compiled by another engine than the store's",
        ));
    }
    // SAFETY: forwarded from the caller.
    let given = unsafe { imports.as_ref() }.map_or(&[][..], |v| unsafe { view(v.size, v.data) });
    let wanted: Vec<_> = module.imports().collect();
    if given.len() != wanted.len() {
        return Err(new_trap(format!(
            "wasm_instance_new: the module has {} imports, {} given",
            wanted.len(),
            given.len()
        )));
    }
    let mut linker = Linker::new();
    for (i, ((m, n, ty), r)) in wanted.iter().zip(given).enumerate() {
        if matches!(ty, ExternType::Tag(_)) {
            return Err(new_trap(format!(
                "wasm_instance_new: import {i} (`{m}::{n}`) is an exception tag, which wasm.h cannot provide"
            )));
        }
        // SAFETY: the elements of the caller's vector are NULL or live externs.
        let (ext, owner) = unsafe { as_obj(*r) }.and_then(extern_of).ok_or_else(|| {
            new_trap(format!(
                "wasm_instance_new: import {i} (`{m}::{n}`) is not an extern"
            ))
        })?;
        if !Rc::ptr_eq(owner, &ctx) {
            return Err(new_trap(format!(
                "wasm_instance_new: import {i} (`{m}::{n}`) belongs to another store"
            )));
        }
        // A second import of the same name is satisfied by the first definition.
        let _ = linker.define_extern(m, n, ext);
    }
    let mut s = ctx
        .store
        .try_borrow_mut()
        .map_err(|_| new_trap("wasm_instance_new: the store is busy instantiating"))?;
    let instance = Instance::new(&mut s, module, &linker);
    drop(s);
    match instance {
        Ok(instance) => Ok(wasm_ref_t::new(Obj::Instance(instance, ctx))),
        Err(e) => Err(from_error(&e)),
    }
}

/// Instantiates `module` in `store` with `imports` (one per import, in order) and runs its start
/// function. On failure returns NULL and stores a trap in `*trap` (if `trap` is not NULL); on
/// success `*trap` is NULL.
///
/// # Safety
/// `store` and `module` NULL or live; `imports` NULL or a valid vector of NULL or live externs;
/// `trap` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_instance_new(
    store: *mut wasm_store_t,
    module: *const wasm_ref_t,
    imports: *const wasm_extern_vec_t,
    trap: *mut *mut wasm_ref_t,
) -> *mut wasm_instance_t {
    // SAFETY: forwarded from the caller.
    let trap = unsafe { trap.as_mut() };
    let outcome = guard_value(Err(new_trap("internal error in wasmz (panic)")), || {
        // SAFETY: forwarded from the caller.
        unsafe { instantiate(store, module, imports) }
    });
    match outcome {
        Ok(instance) => {
            if let Some(t) = trap {
                *t = ptr::null_mut();
            }
            instance.into_raw()
        }
        Err(e) => {
            if let Some(t) = trap {
                *t = e.into_raw();
            }
            ptr::null_mut()
        }
    }
}

/// Sets `*out` to the instance's exports in the module's order (exception tags left out; empty
/// for NULL).
///
/// # Safety
/// `instance` NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_instance_exports(
    instance: *const wasm_instance_t,
    out: *mut wasm_extern_vec_t,
) {
    if out.is_null() {
        return;
    }
    let items = guard_value(Vec::new(), || {
        let Some(wasm_ref_t {
            obj: Obj::Instance(instance, ctx),
            ..
        }) = (
            // SAFETY: forwarded from the caller.
            unsafe { as_obj(instance) }
        )
        else {
            return Vec::new();
        };
        instance
            .module()
            .exports()
            .filter_map(|(name, _)| extern_handle(instance.export(name)?, ctx))
            .map(wasm_ref_t::into_raw)
            .collect()
    });
    // SAFETY: writable by the caller's guarantee; not read (may be uninitialized).
    unsafe { out.write(wasm_extern_vec_t::from_vec(items)) }
}
