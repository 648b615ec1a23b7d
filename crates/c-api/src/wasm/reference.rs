//! References of `wasm.h`: the one object type behind every reference type, host info, and
//! foreign objects.

use super::func::FuncObj;
use super::runtime::{StoreCtx, wasm_store_t};
use super::trap::TrapData;
use crate::guard_value;
use facade::{Global, Instance, Memory, Module, Table};
use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A host-info finalizer.
pub(crate) type Finalizer = Option<unsafe extern "C" fn(*mut c_void)>;

/// The identity of an object: its host info, shared by every handle to it. The finalizer runs
/// when the last handle goes, or when the host info is replaced (by another pointer or finalizer).
pub(crate) struct Ident {
    pub(crate) info: Cell<*mut c_void>,
    finalizer: Cell<Finalizer>,
}

impl Default for Ident {
    fn default() -> Ident {
        Ident {
            info: Cell::new(ptr::null_mut()),
            finalizer: Cell::new(None),
        }
    }
}

impl Ident {
    /// Sets the host info; runs the previous finalizer unless both the pointer and the finalizer
    /// stay the same.
    pub(crate) fn set(&self, info: *mut c_void, finalizer: Finalizer) {
        let old_info = self.info.replace(info);
        let old_finalizer = self.finalizer.replace(finalizer);
        let address = |f: Finalizer| f.map_or(0, |f| f as usize);
        if let Some(f) = old_finalizer
            && (old_info != info || address(old_finalizer) != address(finalizer))
        {
            // SAFETY: the embedder gave this finalizer for this pointer; it is no longer stored,
            // so it runs once.
            unsafe { f(old_info) }
        }
    }
}

impl Drop for Ident {
    fn drop(&mut self) {
        if let Some(f) = self.finalizer.take() {
            // SAFETY: the embedder gave this finalizer for this pointer; it runs once.
            unsafe { f(self.info.get()) }
        }
    }
}

/// What a reference denotes.
#[derive(Clone)]
pub(crate) enum Obj {
    /// A foreign object, by its id (its externref value).
    Foreign(u64),
    /// A function.
    Func(FuncObj),
    /// A global of a store.
    Global(Global, Rc<StoreCtx>),
    /// A table of a store.
    Table(Table, Rc<StoreCtx>),
    /// A memory of a store.
    Memory(Memory, Rc<StoreCtx>),
    /// An instance of a store.
    Instance(Instance, Rc<StoreCtx>),
    /// A compiled module, with the id of its engine.
    Module(Module, u64),
    /// A trap.
    Trap(Rc<TrapData>),
}

/// A reference: every runtime object of wasm.h is one (see the module documentation).
#[derive(Clone)]
pub struct wasm_ref_t {
    pub(crate) ident: Rc<Ident>,
    pub(crate) obj: Obj,
}

/// A foreign object (a reference of kind foreign).
pub type wasm_foreign_t = wasm_ref_t;
/// A function (a reference of kind function).
pub type wasm_func_t = wasm_ref_t;
/// A global.
pub type wasm_global_t = wasm_ref_t;
/// A table.
pub type wasm_table_t = wasm_ref_t;
/// A memory.
pub type wasm_memory_t = wasm_ref_t;
/// An extern: a function, global, table or memory.
pub type wasm_extern_t = wasm_ref_t;
/// An instance.
pub type wasm_instance_t = wasm_ref_t;
/// A module.
pub type wasm_module_t = wasm_ref_t;
/// A trap.
pub type wasm_trap_t = wasm_ref_t;

impl wasm_ref_t {
    /// A new object with empty host info.
    pub(crate) fn new(obj: Obj) -> wasm_ref_t {
        wasm_ref_t {
            ident: Rc::new(Ident::default()),
            obj,
        }
    }

    /// Moves the reference to the heap for C.
    pub(crate) fn into_raw(self) -> *mut wasm_ref_t {
        Box::into_raw(Box::new(self))
    }

    /// Whether both denote the same object.
    pub(crate) fn same(&self, other: &wasm_ref_t) -> bool {
        if Rc::ptr_eq(&self.ident, &other.ident) {
            return true;
        }
        match (&self.obj, &other.obj) {
            // Handles to one function made separately (an export and a table element, say): the
            // same function reference, which `Func`'s Debug form prints.
            (Obj::Func(a), Obj::Func(b)) => format!("{:?}", a.func) == format!("{:?}", b.func),
            (Obj::Foreign(a), Obj::Foreign(b)) => a == b,
            _ => false,
        }
    }

    /// Whether this is an extern (a function, global, table or memory).
    pub(crate) fn is_extern(&self) -> bool {
        matches!(
            self.obj,
            Obj::Func(_) | Obj::Global(..) | Obj::Table(..) | Obj::Memory(..)
        )
    }
}

/// Borrows a reference (NULL: `None`).
///
/// # Safety
/// `p` must be NULL or a live reference, unchanged during `'a`.
pub(crate) unsafe fn as_obj<'a>(p: *const wasm_ref_t) -> Option<&'a wasm_ref_t> {
    // SAFETY: by the caller's guarantee.
    unsafe { p.as_ref() }
}

/// Defines the functions every reference type has (delete, copy, same, host info).
macro_rules! ref_base {
    ($delete:ident, $copy:ident, $same:ident, $get:ident, $set:ident, $set_fin:ident) => {
        /// Frees this handle (NULL is ignored); the object lives on while other handles do.
        ///
        /// # Safety
        /// NULL or an owned handle, not used afterwards.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $delete(p: *mut $crate::wasm::reference::wasm_ref_t) {
            // SAFETY: forwarded from the caller.
            unsafe { $crate::delete(p) }
        }

        /// A new handle to the same object (NULL for NULL).
        ///
        /// # Safety
        /// NULL or a live handle.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $copy(
            p: *const $crate::wasm::reference::wasm_ref_t,
        ) -> *mut $crate::wasm::reference::wasm_ref_t {
            $crate::guard_value(std::ptr::null_mut(), || {
                // SAFETY: forwarded from the caller.
                unsafe { $crate::wasm::reference::as_obj(p) }
                    .map_or(std::ptr::null_mut(), |r| r.clone().into_raw())
            })
        }

        /// Whether both handles denote the same object (false if either is NULL).
        ///
        /// # Safety
        /// Each NULL or a live handle.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $same(
            a: *const $crate::wasm::reference::wasm_ref_t,
            b: *const $crate::wasm::reference::wasm_ref_t,
        ) -> bool {
            $crate::guard_value(false, || {
                // SAFETY: forwarded from the caller.
                match unsafe {
                    (
                        $crate::wasm::reference::as_obj(a),
                        $crate::wasm::reference::as_obj(b),
                    )
                } {
                    (Some(a), Some(b)) => a.same(b),
                    _ => false,
                }
            })
        }

        /// The object's host info (NULL if none, or for NULL).
        ///
        /// # Safety
        /// NULL or a live handle.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $get(
            p: *const $crate::wasm::reference::wasm_ref_t,
        ) -> *mut std::ffi::c_void {
            // SAFETY: forwarded from the caller.
            unsafe { $crate::wasm::reference::as_obj(p) }
                .map_or(std::ptr::null_mut(), |r| r.ident.info.get())
        }

        /// Sets the object's host info, without finalizer (a previous finalizer runs).
        ///
        /// # Safety
        /// NULL or a live handle.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $set(
            p: *mut $crate::wasm::reference::wasm_ref_t,
            info: *mut std::ffi::c_void,
        ) {
            // SAFETY: forwarded from the caller.
            if let Some(r) = unsafe { $crate::wasm::reference::as_obj(p) } {
                $crate::guard_value((), || r.ident.set(info, None));
            }
        }

        /// Sets the object's host info; `finalizer` (may be NULL) runs once with it when the last
        /// handle to the object is gone or the host info is replaced.
        ///
        /// # Safety
        /// NULL or a live handle; `finalizer` safe to call with `info` on the store's thread.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $set_fin(
            p: *mut $crate::wasm::reference::wasm_ref_t,
            info: *mut std::ffi::c_void,
            finalizer: $crate::wasm::reference::Finalizer,
        ) {
            // SAFETY: forwarded from the caller.
            match unsafe { $crate::wasm::reference::as_obj(p) } {
                Some(r) => $crate::guard_value((), || r.ident.set(info, finalizer)),
                None => {
                    if let Some(f) = finalizer {
                        // SAFETY: the host info has nowhere to go: finalize it now, once.
                        unsafe { f(info) }
                    }
                }
            }
        }
    };
}

/// Defines a reference type's functions: the base ones and the casts to and from `wasm_ref_t`.
macro_rules! ref_type {
    ($check:expr, $delete:ident, $copy:ident, $same:ident, $get:ident, $set:ident, $set_fin:ident,
     $as_ref:ident, $from_ref:ident, $as_ref_const:ident, $from_ref_const:ident) => {
        $crate::wasm::reference::ref_base!($delete, $copy, $same, $get, $set, $set_fin);

        /// The same handle as a `wasm_ref_t`.
        #[unsafe(no_mangle)]
        pub extern "C" fn $as_ref(
            p: *mut $crate::wasm::reference::wasm_ref_t,
        ) -> *mut $crate::wasm::reference::wasm_ref_t {
            p
        }

        /// The same handle as this type; NULL if it is NULL or denotes another kind of object.
        ///
        /// # Safety
        /// NULL or a live handle.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $from_ref(
            p: *mut $crate::wasm::reference::wasm_ref_t,
        ) -> *mut $crate::wasm::reference::wasm_ref_t {
            // SAFETY: forwarded from the caller.
            match unsafe { $crate::wasm::reference::as_obj(p) } {
                Some(r) if $check(r) => p,
                _ => std::ptr::null_mut(),
            }
        }

        /// The same handle as a `wasm_ref_t` (const).
        #[unsafe(no_mangle)]
        pub extern "C" fn $as_ref_const(
            p: *const $crate::wasm::reference::wasm_ref_t,
        ) -> *const $crate::wasm::reference::wasm_ref_t {
            p
        }

        /// The same handle as this type (const); NULL if it is NULL or of another kind.
        ///
        /// # Safety
        /// NULL or a live handle.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $from_ref_const(
            p: *const $crate::wasm::reference::wasm_ref_t,
        ) -> *const $crate::wasm::reference::wasm_ref_t {
            // SAFETY: forwarded from the caller.
            match unsafe { $crate::wasm::reference::as_obj(p) } {
                Some(r) if $check(r) => p,
                _ => std::ptr::null(),
            }
        }
    };
}

pub(crate) use ref_base;
pub(crate) use ref_type;

ref_base!(
    wasm_ref_delete,
    wasm_ref_copy,
    wasm_ref_same,
    wasm_ref_get_host_info,
    wasm_ref_set_host_info,
    wasm_ref_set_host_info_with_finalizer
);

ref_type!(
    |r: &wasm_ref_t| matches!(r.obj, Obj::Foreign(_)),
    wasm_foreign_delete,
    wasm_foreign_copy,
    wasm_foreign_same,
    wasm_foreign_get_host_info,
    wasm_foreign_set_host_info,
    wasm_foreign_set_host_info_with_finalizer,
    wasm_foreign_as_ref,
    wasm_ref_as_foreign,
    wasm_foreign_as_ref_const,
    wasm_ref_as_foreign_const
);

ref_type!(
    |r: &wasm_ref_t| r.is_extern(),
    wasm_extern_delete,
    wasm_extern_copy,
    wasm_extern_same,
    wasm_extern_get_host_info,
    wasm_extern_set_host_info,
    wasm_extern_set_host_info_with_finalizer,
    wasm_extern_as_ref,
    wasm_ref_as_extern,
    wasm_extern_as_ref_const,
    wasm_ref_as_extern_const
);

/// Gives each foreign object an id: its externref value in wasm.
static NEXT_FOREIGN_ID: AtomicU64 = AtomicU64::new(1);

/// A new foreign object (`store` is not needed and may be NULL).
#[unsafe(no_mangle)]
pub extern "C" fn wasm_foreign_new(_store: *mut wasm_store_t) -> *mut wasm_foreign_t {
    guard_value(ptr::null_mut(), || {
        let id = NEXT_FOREIGN_ID.fetch_add(1, Ordering::Relaxed);
        wasm_ref_t::new(Obj::Foreign(id)).into_raw()
    })
}
