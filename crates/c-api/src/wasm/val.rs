//! Values of `wasm.h` (`wasm_val_t`, `wasm_val_vec_t`) and their conversion to and from wasmz's
//! typed values.
//!
//! References travel as checked [`Val`]s only: a function as `Val::FuncRef`, a foreign object as
//! `Val::ExternRef(Some(id))` with the id recorded in the store (see [`StoreCtx`]) so that the same
//! object, with its host info, comes back out.

use super::func::FuncObj;
use super::reference::{Obj, wasm_ref_t};
use super::runtime::StoreCtx;
use super::types::{
    WASM_EXTERNREF, WASM_F32, WASM_F64, WASM_FUNCREF, WASM_I32, WASM_I64, kind_of, wasm_valkind_t,
};
use super::vec::{Element, wasm_vec};
use facade::{Val, ValType};
use std::ptr;
use std::rc::Rc;

/// The payload of a value.
#[repr(C)]
#[derive(Clone, Copy)]
pub union wasm_val_union {
    /// `i32`.
    pub i32: i32,
    /// `i64`.
    pub i64: i64,
    /// `f32`.
    pub f32: f32,
    /// `f64`.
    pub f64: f64,
    /// A reference (NULL: null).
    pub r#ref: *mut wasm_ref_t,
}

/// A value: a kind and its payload.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wasm_val_t {
    /// The kind.
    pub kind: wasm_valkind_t,
    /// The payload of that kind.
    pub of: wasm_val_union,
}

const _: () = assert!(std::mem::size_of::<wasm_val_t>() == 16);

impl wasm_val_t {
    /// The reference of a reference-kind value (NULL otherwise).
    pub(crate) fn reference(&self) -> *mut wasm_ref_t {
        if matches!(self.kind, WASM_EXTERNREF | WASM_FUNCREF) {
            // SAFETY: a reference-kind value holds a reference pointer (or NULL).
            unsafe { self.of.r#ref }
        } else {
            ptr::null_mut()
        }
    }

    /// A null (zero) value of `ty`'s kind.
    pub(crate) fn zero(ty: ValType) -> wasm_val_t {
        wasm_val_t {
            kind: kind_of(ty),
            of: wasm_val_union {
                i64: 0, // every field's zero, including the NULL reference
            },
        }
    }
}

impl Element for wasm_val_t {
    fn copy(&self) -> Self {
        let r = self.reference();
        if r.is_null() {
            return *self;
        }
        // SAFETY: an owned reference value holds a live reference.
        let copy = unsafe { (*r).clone() }.into_raw();
        wasm_val_t {
            kind: self.kind,
            of: wasm_val_union { r#ref: copy },
        }
    }
    fn zero() -> Self {
        wasm_val_t::zero(ValType::I32)
    }
    fn free(self) {
        // SAFETY: an owned value owns its reference.
        unsafe { crate::delete(self.reference()) }
    }
}

wasm_vec!(
    wasm_val_vec_t,
    wasm_val_t,
    wasm_val_vec_new_empty,
    wasm_val_vec_new_uninitialized,
    wasm_val_vec_new,
    wasm_val_vec_copy,
    wasm_val_vec_delete
);

/// Frees the value's reference, if any (NULL is ignored); the value becomes a null reference.
///
/// # Safety
/// NULL or an owned value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_val_delete(v: *mut wasm_val_t) {
    // SAFETY: forwarded from the caller.
    if let Some(v) = unsafe { v.as_mut() } {
        let r = v.reference();
        if !r.is_null() {
            v.of.r#ref = ptr::null_mut();
            // SAFETY: an owned value owns its reference.
            unsafe { crate::delete(r) }
        }
    }
}

/// Sets `*out` to a copy of `*v` (its reference copied).
///
/// # Safety
/// `out` must be NULL or writable; `v` NULL or a valid value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_val_copy(out: *mut wasm_val_t, v: *const wasm_val_t) {
    // SAFETY: forwarded from the caller.
    let (Some(out), Some(v)) = (unsafe { out.as_mut() }, unsafe { v.as_ref() }) else {
        return;
    };
    *out = crate::guard_value(wasm_val_t::zero(ValType::ExternRef), || v.copy());
}

/// The typed value of a C value of type `ty`, checking its kind; `what` names it in errors.
pub(crate) fn to_val(
    v: &wasm_val_t,
    ty: ValType,
    store: &StoreCtx,
    what: &dyn Fn() -> String,
) -> Result<Val, String> {
    let expected = kind_of(ty);
    if v.kind != expected {
        return Err(format!(
            "{} must be of kind {expected} ({ty}), got kind {}",
            what(),
            v.kind
        ));
    }
    // SAFETY: the kind is checked: the field of that kind is initialized.
    Ok(unsafe {
        match v.kind {
            WASM_I32 => Val::I32(v.of.i32),
            WASM_I64 => Val::I64(v.of.i64),
            WASM_F32 => Val::F32(v.of.f32.to_bits()),
            WASM_F64 => Val::F64(v.of.f64.to_bits()),
            _ => return ref_to_val(v.of.r#ref.cast_const(), ty, store, what),
        }
    })
}

/// The typed value of a reference (NULL: null) for a slot of type `ty` (funcref or externref).
///
/// # Safety
/// `r` must be NULL or a live reference.
pub(crate) unsafe fn ref_to_val(
    r: *const wasm_ref_t,
    ty: ValType,
    store: &StoreCtx,
    what: &dyn Fn() -> String,
) -> Result<Val, String> {
    // SAFETY: forwarded from the caller.
    let r = unsafe { r.as_ref() };
    match (ty, r.map(|r| &r.obj)) {
        (ValType::FuncRef, None) => Ok(Val::FuncRef(None)),
        (ValType::ExternRef, None) => Ok(Val::ExternRef(None)),
        (ValType::FuncRef, Some(Obj::Func(f))) => Ok(Val::FuncRef(Some(f.func.clone()))),
        (ValType::ExternRef, Some(Obj::Foreign(id))) => {
            store.register_foreign(*id, &r.expect("matched Some").ident);
            Ok(Val::ExternRef(Some(*id)))
        }
        (ValType::FuncRef, Some(_)) => Err(format!("{} must be a function", what())),
        (ValType::ExternRef, Some(_)) => {
            Err(format!("{} must be a foreign object (externref)", what()))
        }
        _ => Err(format!(
            "{} has type {ty}, which wasm.h cannot express",
            what()
        )),
    }
}

/// The C value of a typed value (references new, owned by the receiver).
pub(crate) fn from_val(v: &Val, store: &Rc<StoreCtx>) -> Result<wasm_val_t, String> {
    let (kind, of) = match v {
        Val::I32(x) => (WASM_I32, wasm_val_union { i32: *x }),
        Val::I64(x) => (WASM_I64, wasm_val_union { i64: *x }),
        Val::F32(b) => (
            WASM_F32,
            wasm_val_union {
                f32: f32::from_bits(*b),
            },
        ),
        Val::F64(b) => (
            WASM_F64,
            wasm_val_union {
                f64: f64::from_bits(*b),
            },
        ),
        Val::FuncRef(_) | Val::ExternRef(_) => {
            let kind = kind_of(v.ty());
            let r = val_to_ref(v, store).map_or(ptr::null_mut(), wasm_ref_t::into_raw);
            (kind, wasm_val_union { r#ref: r })
        }
        other => {
            return Err(format!(
                "values of type {} cannot be expressed in wasm.h",
                other.ty()
            ));
        }
    };
    Ok(wasm_val_t { kind, of })
}

/// The reference of a funcref or externref value (`None` for null or another value).
pub(crate) fn val_to_ref(v: &Val, store: &Rc<StoreCtx>) -> Option<wasm_ref_t> {
    match v {
        Val::FuncRef(Some(f)) => Some(wasm_ref_t::new(Obj::Func(FuncObj::new(
            f.clone(),
            store.clone(),
        )))),
        Val::ExternRef(Some(id)) => Some(wasm_ref_t {
            ident: store.foreign(*id),
            obj: Obj::Foreign(*id),
        }),
        _ => None,
    }
}
