//! Globals, tables, memories and externs of `wasm.h`.

use super::reference::{Obj, as_obj, ref_type, wasm_extern_t, wasm_ref_t};
use super::runtime::{StoreCtx, store_ctx, wasm_store_t};
use super::types::{
    borrow, wasm_externkind_t, wasm_externtype_t, wasm_globaltype_t, wasm_memorytype_t,
    wasm_tabletype_t,
};
use super::val::{from_val, ref_to_val, to_val, val_to_ref, wasm_val_t};
use super::vec::wasm_vec;
use crate::guard_value;
use facade::{ExternType, Global, Memory, Table, ValType};
use std::ptr;
use std::rc::Rc;

ref_type!(
    |r: &wasm_ref_t| matches!(r.obj, Obj::Global(..)),
    wasm_global_delete,
    wasm_global_copy,
    wasm_global_same,
    wasm_global_get_host_info,
    wasm_global_set_host_info,
    wasm_global_set_host_info_with_finalizer,
    wasm_global_as_ref,
    wasm_ref_as_global,
    wasm_global_as_ref_const,
    wasm_ref_as_global_const
);

ref_type!(
    |r: &wasm_ref_t| matches!(r.obj, Obj::Table(..)),
    wasm_table_delete,
    wasm_table_copy,
    wasm_table_same,
    wasm_table_get_host_info,
    wasm_table_set_host_info,
    wasm_table_set_host_info_with_finalizer,
    wasm_table_as_ref,
    wasm_ref_as_table,
    wasm_table_as_ref_const,
    wasm_ref_as_table_const
);

ref_type!(
    |r: &wasm_ref_t| matches!(r.obj, Obj::Memory(..)),
    wasm_memory_delete,
    wasm_memory_copy,
    wasm_memory_same,
    wasm_memory_get_host_info,
    wasm_memory_set_host_info,
    wasm_memory_set_host_info_with_finalizer,
    wasm_memory_as_ref,
    wasm_ref_as_memory,
    wasm_memory_as_ref_const,
    wasm_ref_as_memory_const
);

wasm_vec!(
    wasm_extern_vec_t,
    *mut wasm_extern_t,
    wasm_extern_vec_new_empty,
    wasm_extern_vec_new_uninitialized,
    wasm_extern_vec_new,
    wasm_extern_vec_copy,
    wasm_extern_vec_delete
);

// ---------------------------------------------------------------------------------------------------
// Globals

/// The global of a handle (`None` for NULL or another kind).
///
/// # Safety
/// NULL or a live handle.
unsafe fn global_of<'a>(g: *const wasm_ref_t) -> Option<(&'a Global, &'a Rc<StoreCtx>)> {
    // SAFETY: forwarded from the caller.
    match unsafe { as_obj(g) } {
        Some(wasm_ref_t {
            obj: Obj::Global(g, s),
            ..
        }) => Some((g, s)),
        _ => None,
    }
}

/// A global of `store` with type `ty` and initial value `*val` (NULL on a NULL argument or a value
/// of the wrong kind).
///
/// # Safety
/// Each argument NULL or live (`val` a valid value).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_new(
    store: *mut wasm_store_t,
    ty: *const wasm_globaltype_t,
    val: *const wasm_val_t,
) -> *mut wasm_ref_t {
    guard_value(ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let (ctx, ty, val) = unsafe { (store_ctx(store), borrow(ty), val.as_ref()) };
        let (Some(ctx), Some(ty), Some(val)) = (ctx, ty.and_then(|t| t.global_type()), val) else {
            return ptr::null_mut();
        };
        let Ok(init) = to_val(val, ty.content, &ctx, &|| "the initial value".into()) else {
            return ptr::null_mut();
        };
        let Ok(mut store) = ctx.store.try_borrow_mut() else {
            return ptr::null_mut();
        };
        let global = Global::new(&mut store, ty, init);
        drop(store);
        match global {
            Ok(g) => wasm_ref_t::new(Obj::Global(g, ctx)).into_raw(),
            Err(_) => ptr::null_mut(),
        }
    })
}

/// The global's type (NULL for NULL).
///
/// # Safety
/// NULL or a live global.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_type(g: *const wasm_ref_t) -> *mut wasm_globaltype_t {
    guard_value(ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        unsafe { global_of(g) }
            .and_then(|(g, _)| wasm_externtype_t::from_type(&ExternType::Global(g.ty())))
            .map_or(ptr::null_mut(), wasm_externtype_t::into_raw)
    })
}

/// Sets `*out` to the global's value (a null externref for NULL or an inexpressible value).
///
/// # Safety
/// `g` NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_get(g: *const wasm_ref_t, out: *mut wasm_val_t) {
    if out.is_null() {
        return;
    }
    let null = wasm_val_t::zero(ValType::ExternRef);
    let value = guard_value(null, || {
        // SAFETY: forwarded from the caller.
        unsafe { global_of(g) }
            .and_then(|(g, s)| from_val(&g.get(), s).ok())
            .unwrap_or(null)
    });
    // SAFETY: writable by the caller's guarantee; not read (may be uninitialized).
    unsafe { out.write(value) }
}

/// Sets a mutable global to `*val` (ignored for NULL, an immutable global or a mismatched kind).
///
/// # Safety
/// `g` NULL or live; `val` NULL or a valid value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_set(g: *mut wasm_ref_t, val: *const wasm_val_t) {
    guard_value((), || {
        // SAFETY: forwarded from the caller.
        let (Some((g, s)), Some(val)) = (unsafe { global_of(g) }, unsafe { val.as_ref() }) else {
            return;
        };
        if let Ok(v) = to_val(val, g.ty().content, s, &|| "the value".into()) {
            let _ = g.set(v);
        }
    })
}

// ---------------------------------------------------------------------------------------------------
// Tables

/// A table's current type: its minimum is its current size (as for any table instance).
fn current_table_type(t: &Table) -> ExternType {
    let mut ty = t.ty();
    ty.limits.min = t.size();
    ExternType::Table(ty)
}

/// A memory's current type: its minimum is its current size in pages.
fn current_memory_type(m: &Memory) -> ExternType {
    let mut ty = m.ty();
    ty.limits.min = m.size_pages();
    ExternType::Memory(ty)
}

/// The table of a handle (`None` for NULL or another kind).
///
/// # Safety
/// NULL or a live handle.
unsafe fn table_of<'a>(t: *const wasm_ref_t) -> Option<(&'a Table, &'a Rc<StoreCtx>)> {
    // SAFETY: forwarded from the caller.
    match unsafe { as_obj(t) } {
        Some(wasm_ref_t {
            obj: Obj::Table(t, s),
            ..
        }) => Some((t, s)),
        _ => None,
    }
}

/// A table of `store` with type `ty`, every element `init` (NULL: null). NULL on a NULL argument
/// or an `init` that does not fit the element type.
///
/// # Safety
/// `store` and `ty` NULL or live; `init` NULL or a live reference.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_new(
    store: *mut wasm_store_t,
    ty: *const wasm_tabletype_t,
    init: *mut wasm_ref_t,
) -> *mut wasm_ref_t {
    guard_value(ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let (ctx, ty) = unsafe { (store_ctx(store), borrow(ty)) };
        let (Some(ctx), Some(ty)) = (ctx, ty.and_then(|t| t.table_type())) else {
            return ptr::null_mut();
        };
        // SAFETY: forwarded from the caller.
        let Ok(init) = (unsafe { ref_to_val(init, ty.element, &ctx, &|| "init".into()) }) else {
            return ptr::null_mut();
        };
        let Ok(mut store) = ctx.store.try_borrow_mut() else {
            return ptr::null_mut();
        };
        let table = Table::new(&mut store, ty, init);
        drop(store);
        match table {
            Ok(t) => wasm_ref_t::new(Obj::Table(t, ctx)).into_raw(),
            Err(_) => ptr::null_mut(),
        }
    })
}

/// The table's type (NULL for NULL).
///
/// # Safety
/// NULL or a live table.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_type(t: *const wasm_ref_t) -> *mut wasm_tabletype_t {
    guard_value(ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        unsafe { table_of(t) }
            .and_then(|(t, _)| wasm_externtype_t::from_type(&current_table_type(t)))
            .map_or(ptr::null_mut(), wasm_externtype_t::into_raw)
    })
}

/// Element `index` (NULL for a null element, an index out of bounds, or a NULL table).
///
/// # Safety
/// NULL or a live table.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_get(t: *const wasm_ref_t, index: u32) -> *mut wasm_ref_t {
    guard_value(ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        unsafe { table_of(t) }
            .and_then(|(t, s)| val_to_ref(&t.get(index.into())?, s))
            .map_or(ptr::null_mut(), wasm_ref_t::into_raw)
    })
}

/// Sets element `index` to `r` (NULL: null); false when out of bounds or `r` does not fit.
///
/// # Safety
/// `t` NULL or live; `r` NULL or a live reference.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_set(
    t: *mut wasm_ref_t,
    index: u32,
    r: *mut wasm_ref_t,
) -> bool {
    guard_value(false, || {
        // SAFETY: forwarded from the caller.
        let Some((t, s)) = (unsafe { table_of(t) }) else {
            return false;
        };
        // SAFETY: forwarded from the caller.
        match unsafe { ref_to_val(r, t.ty().element, s, &|| "the element".into()) } {
            Ok(v) => t.set(index.into(), v).is_ok(),
            Err(_) => false,
        }
    })
}

/// The number of elements (0 for NULL).
///
/// # Safety
/// NULL or a live table.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_size(t: *const wasm_ref_t) -> u32 {
    guard_value(0, || {
        // SAFETY: forwarded from the caller.
        unsafe { table_of(t) }.map_or(0, |(t, _)| u32::try_from(t.size()).unwrap_or(u32::MAX))
    })
}

/// Adds `delta` elements set to `init` (NULL: null); false past the maximum or on a bad `init`.
///
/// # Safety
/// `t` NULL or live; `init` NULL or a live reference.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_grow(
    t: *mut wasm_ref_t,
    delta: u32,
    init: *mut wasm_ref_t,
) -> bool {
    guard_value(false, || {
        // SAFETY: forwarded from the caller.
        let Some((t, s)) = (unsafe { table_of(t) }) else {
            return false;
        };
        // SAFETY: forwarded from the caller.
        match unsafe { ref_to_val(init, t.ty().element, s, &|| "init".into()) } {
            Ok(v) => t.grow(delta.into(), v).is_ok(),
            Err(_) => false,
        }
    })
}

// ---------------------------------------------------------------------------------------------------
// Memories

/// The memory of a handle (`None` for NULL or another kind).
///
/// # Safety
/// NULL or a live handle.
unsafe fn memory_of<'a>(m: *const wasm_ref_t) -> Option<&'a Memory> {
    // SAFETY: forwarded from the caller.
    match unsafe { as_obj(m) } {
        Some(wasm_ref_t {
            obj: Obj::Memory(m, _),
            ..
        }) => Some(m),
        _ => None,
    }
}

/// A memory of `store` with type `ty` (NULL on a NULL argument or a memory that cannot be made).
///
/// # Safety
/// Each argument NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_new(
    store: *mut wasm_store_t,
    ty: *const wasm_memorytype_t,
) -> *mut wasm_ref_t {
    guard_value(ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let (ctx, ty) = unsafe { (store_ctx(store), borrow(ty)) };
        let (Some(ctx), Some(ty)) = (ctx, ty.and_then(|t| t.memory_type())) else {
            return ptr::null_mut();
        };
        let Ok(mut store) = ctx.store.try_borrow_mut() else {
            return ptr::null_mut();
        };
        let memory = Memory::new(&mut store, ty);
        drop(store);
        match memory {
            Ok(m) => wasm_ref_t::new(Obj::Memory(m, ctx)).into_raw(),
            Err(_) => ptr::null_mut(),
        }
    })
}

/// The memory's type (NULL for NULL).
///
/// # Safety
/// NULL or a live memory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_type(m: *const wasm_ref_t) -> *mut wasm_memorytype_t {
    guard_value(ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        unsafe { memory_of(m) }
            .and_then(|m| wasm_externtype_t::from_type(&current_memory_type(m)))
            .map_or(ptr::null_mut(), wasm_externtype_t::into_raw)
    })
}

/// The memory's first byte (NULL for NULL); its address never changes.
///
/// # Safety
/// NULL or a live memory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_data(m: *mut wasm_ref_t) -> *mut std::ffi::c_char {
    guard_value(ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        unsafe { memory_of(m) }.map_or(ptr::null_mut(), |m| m.data_ptr().cast())
    })
}

/// The size in bytes (0 for NULL).
///
/// # Safety
/// NULL or a live memory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_data_size(m: *const wasm_ref_t) -> usize {
    guard_value(0, || {
        // SAFETY: forwarded from the caller.
        unsafe { memory_of(m) }.map_or(0, |m| usize::try_from(m.data_size()).unwrap_or(usize::MAX))
    })
}

/// The size in pages (0 for NULL).
///
/// # Safety
/// NULL or a live memory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_size(m: *const wasm_ref_t) -> u32 {
    guard_value(0, || {
        // SAFETY: forwarded from the caller.
        unsafe { memory_of(m) }.map_or(0, |m| u32::try_from(m.size_pages()).unwrap_or(u32::MAX))
    })
}

/// Grows by `delta` pages; false past the maximum or limit (or for NULL).
///
/// # Safety
/// NULL or a live memory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_grow(m: *mut wasm_ref_t, delta: u32) -> bool {
    guard_value(false, || {
        // SAFETY: forwarded from the caller.
        unsafe { memory_of(m) }.is_some_and(|m| m.grow(delta.into()).is_ok())
    })
}

// ---------------------------------------------------------------------------------------------------
// Externs

/// The kind of an extern (255 for NULL or a reference that is not an extern).
///
/// # Safety
/// NULL or a live extern.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_kind(e: *const wasm_extern_t) -> wasm_externkind_t {
    // SAFETY: forwarded from the caller.
    match unsafe { as_obj(e) }.map(|r| &r.obj) {
        Some(Obj::Func(_)) => 0,
        Some(Obj::Global(..)) => 1,
        Some(Obj::Table(..)) => 2,
        Some(Obj::Memory(..)) => 3,
        _ => 255,
    }
}

/// The extern's type (NULL for NULL).
///
/// # Safety
/// NULL or a live extern.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_type(e: *const wasm_extern_t) -> *mut wasm_externtype_t {
    guard_value(ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let ty = match unsafe { as_obj(e) }.map(|r| &r.obj) {
            Some(Obj::Func(f)) => f.func.ty().cloned().map(ExternType::Func),
            Some(Obj::Global(g, _)) => Some(ExternType::Global(g.ty())),
            Some(Obj::Table(t, _)) => Some(current_table_type(t)),
            Some(Obj::Memory(m, _)) => Some(current_memory_type(m)),
            _ => None,
        };
        ty.and_then(|t| wasm_externtype_t::from_type(&t))
            .map_or(ptr::null_mut(), wasm_externtype_t::into_raw)
    })
}

/// Defines a cast between an extern and a kind: the same handle, or NULL for another kind.
macro_rules! extern_cast {
    ($name:ident, $ptr:ty, $check:expr) => {
        /// The same handle under another type name; NULL if it is NULL or of another kind.
        ///
        /// # Safety
        /// NULL or a live handle.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(p: $ptr) -> $ptr {
            // SAFETY: forwarded from the caller.
            match unsafe { as_obj(p) } {
                Some(r) if $check(r) => p,
                _ => ptr::null_mut::<wasm_ref_t>() as $ptr,
            }
        }
    };
}

fn is_func(r: &wasm_ref_t) -> bool {
    matches!(r.obj, Obj::Func(_))
}
fn is_global(r: &wasm_ref_t) -> bool {
    matches!(r.obj, Obj::Global(..))
}
fn is_table(r: &wasm_ref_t) -> bool {
    matches!(r.obj, Obj::Table(..))
}
fn is_memory(r: &wasm_ref_t) -> bool {
    matches!(r.obj, Obj::Memory(..))
}

extern_cast!(wasm_func_as_extern, *mut wasm_ref_t, is_func);
extern_cast!(wasm_global_as_extern, *mut wasm_ref_t, is_global);
extern_cast!(wasm_table_as_extern, *mut wasm_ref_t, is_table);
extern_cast!(wasm_memory_as_extern, *mut wasm_ref_t, is_memory);
extern_cast!(wasm_extern_as_func, *mut wasm_ref_t, is_func);
extern_cast!(wasm_extern_as_global, *mut wasm_ref_t, is_global);
extern_cast!(wasm_extern_as_table, *mut wasm_ref_t, is_table);
extern_cast!(wasm_extern_as_memory, *mut wasm_ref_t, is_memory);
extern_cast!(wasm_func_as_extern_const, *const wasm_ref_t, is_func);
extern_cast!(wasm_global_as_extern_const, *const wasm_ref_t, is_global);
extern_cast!(wasm_table_as_extern_const, *const wasm_ref_t, is_table);
extern_cast!(wasm_memory_as_extern_const, *const wasm_ref_t, is_memory);
extern_cast!(wasm_extern_as_func_const, *const wasm_ref_t, is_func);
extern_cast!(wasm_extern_as_global_const, *const wasm_ref_t, is_global);
extern_cast!(wasm_extern_as_table_const, *const wasm_ref_t, is_table);
extern_cast!(wasm_extern_as_memory_const, *const wasm_ref_t, is_memory);
