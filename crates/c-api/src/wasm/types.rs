//! Type representations of `wasm.h`: value, function, global, table, memory, extern, import and
//! export types, with their vectors.
//!
//! Function, global, table and memory types are all extern types (`wasm_externtype_t`): the casts
//! between them return the same pointer, and a cast to the wrong kind gives NULL.

use super::vec::{wasm_name_t, wasm_vec};
use crate::{delete, guard_value};
use facade::{ExternType, FuncType, GlobalType, Limits, MemoryType, TableType, ValType};
use std::ptr;

/// A value kind (`WASM_I32`, ..., `WASM_EXTERNREF`, `WASM_FUNCREF`).
pub type wasm_valkind_t = u8;
/// `i32`.
pub const WASM_I32: wasm_valkind_t = 0;
/// `i64`.
pub const WASM_I64: wasm_valkind_t = 1;
/// `f32`.
pub const WASM_F32: wasm_valkind_t = 2;
/// `f64`.
pub const WASM_F64: wasm_valkind_t = 3;
/// `externref`.
pub const WASM_EXTERNREF: wasm_valkind_t = 128;
/// `funcref`.
pub const WASM_FUNCREF: wasm_valkind_t = 129;
/// The kind reported for types outside the standard (v128, typed and GC references).
pub const KIND_OTHER: wasm_valkind_t = 255;

/// `WASM_CONST` or `WASM_VAR`.
pub type wasm_mutability_t = u8;
/// An extern kind: `WASM_EXTERN_FUNC`, `_GLOBAL`, `_TABLE`, `_MEMORY`.
pub type wasm_externkind_t = u8;

/// The kind of a wasm type (`KIND_OTHER` for one outside the standard).
pub(crate) fn kind_of(ty: ValType) -> wasm_valkind_t {
    match ty {
        ValType::I32 => WASM_I32,
        ValType::I64 => WASM_I64,
        ValType::F32 => WASM_F32,
        ValType::F64 => WASM_F64,
        ValType::ExternRef => WASM_EXTERNREF,
        ValType::FuncRef => WASM_FUNCREF,
        _ => KIND_OTHER,
    }
}

/// The wasm type of a kind (`None` for an unknown kind).
pub(crate) fn type_of(kind: wasm_valkind_t) -> Option<ValType> {
    Some(match kind {
        WASM_I32 => ValType::I32,
        WASM_I64 => ValType::I64,
        WASM_F32 => ValType::F32,
        WASM_F64 => ValType::F64,
        WASM_EXTERNREF => ValType::ExternRef,
        WASM_FUNCREF => ValType::FuncRef,
        _ => return None,
    })
}

/// A value type.
#[derive(Clone)]
pub struct wasm_valtype_t {
    pub(crate) kind: wasm_valkind_t,
}

/// Limits of a table or memory (`max` = `u32::MAX`: none).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wasm_limits_t {
    /// Minimum.
    pub min: u32,
    /// Maximum, `u32::MAX` for none.
    pub max: u32,
}

impl wasm_limits_t {
    fn from_limits(l: Limits) -> wasm_limits_t {
        let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        wasm_limits_t {
            min: clamp(l.min),
            max: l.max.map_or(u32::MAX, clamp),
        }
    }

    fn to_limits(self) -> Limits {
        Limits {
            min: self.min.into(),
            max: (self.max != u32::MAX).then_some(self.max.into()),
        }
    }
}

wasm_vec!(
    wasm_valtype_vec_t,
    *mut wasm_valtype_t,
    wasm_valtype_vec_new_empty,
    wasm_valtype_vec_new_uninitialized,
    wasm_valtype_vec_new,
    wasm_valtype_vec_copy,
    wasm_valtype_vec_delete
);

impl wasm_valtype_vec_t {
    fn from_types(types: &[ValType]) -> wasm_valtype_vec_t {
        wasm_valtype_vec_t::from_vec(
            types
                .iter()
                .map(|t| Box::into_raw(Box::new(wasm_valtype_t { kind: kind_of(*t) })))
                .collect(),
        )
    }

    /// The wasm types (`None` if an element is NULL or of an unknown kind).
    fn types(&self) -> Option<Vec<ValType>> {
        self.as_slice()
            .iter()
            // SAFETY: non-NULL elements of a vector are live value types.
            .map(|p| unsafe { p.as_ref() }.and_then(|v| type_of(v.kind)))
            .collect()
    }
}

/// An extern type; function, global, table and memory types are extern types of that kind.
#[derive(Clone)]
pub struct wasm_externtype_t(pub(crate) ExternTy);

/// The kinds of extern types, in wasm.h's terms.
#[derive(Clone)]
pub(crate) enum ExternTy {
    Func {
        params: wasm_valtype_vec_t,
        results: wasm_valtype_vec_t,
    },
    Global {
        content: Box<wasm_valtype_t>,
        mutability: wasm_mutability_t,
    },
    Table {
        element: Box<wasm_valtype_t>,
        limits: wasm_limits_t,
    },
    Memory {
        limits: wasm_limits_t,
    },
}

/// A function type (an extern type of kind `WASM_EXTERN_FUNC`).
pub type wasm_functype_t = wasm_externtype_t;
/// A global type.
pub type wasm_globaltype_t = wasm_externtype_t;
/// A table type.
pub type wasm_tabletype_t = wasm_externtype_t;
/// A memory type.
pub type wasm_memorytype_t = wasm_externtype_t;

impl wasm_externtype_t {
    /// The wasm.h form of a wasmz extern type (`None` for an exception tag).
    pub(crate) fn from_type(ty: &ExternType) -> Option<wasm_externtype_t> {
        Some(wasm_externtype_t(match ty {
            ExternType::Func(f) => ExternTy::Func {
                params: wasm_valtype_vec_t::from_types(&f.params),
                results: wasm_valtype_vec_t::from_types(&f.results),
            },
            ExternType::Global(g) => ExternTy::Global {
                content: Box::new(wasm_valtype_t {
                    kind: kind_of(g.content),
                }),
                mutability: g.mutable.into(),
            },
            ExternType::Table(t) => ExternTy::Table {
                element: Box::new(wasm_valtype_t {
                    kind: kind_of(t.element),
                }),
                limits: wasm_limits_t::from_limits(t.limits),
            },
            ExternType::Memory(m) => ExternTy::Memory {
                limits: wasm_limits_t::from_limits(m.limits),
            },
            ExternType::Tag(_) => return None,
        }))
    }

    /// The extern kind.
    pub(crate) fn kind(&self) -> wasm_externkind_t {
        match self.0 {
            ExternTy::Func { .. } => 0,
            ExternTy::Global { .. } => 1,
            ExternTy::Table { .. } => 2,
            ExternTy::Memory { .. } => 3,
        }
    }

    /// The function type, for a function type whose value types are all known.
    pub(crate) fn func_type(&self) -> Option<FuncType> {
        match &self.0 {
            ExternTy::Func { params, results } => {
                Some(FuncType::new(params.types()?, results.types()?))
            }
            _ => None,
        }
    }

    /// The global type, for a global type of a known value type.
    pub(crate) fn global_type(&self) -> Option<GlobalType> {
        match &self.0 {
            ExternTy::Global {
                content,
                mutability,
            } => Some(GlobalType {
                content: type_of(content.kind)?,
                mutable: *mutability != 0,
            }),
            _ => None,
        }
    }

    /// The table type, for a table type of a known element type.
    pub(crate) fn table_type(&self) -> Option<TableType> {
        match &self.0 {
            ExternTy::Table { element, limits } => Some(TableType {
                element: type_of(element.kind).filter(|t| t.is_ref())?,
                limits: limits.to_limits(),
                table64: false,
            }),
            _ => None,
        }
    }

    /// The memory type.
    pub(crate) fn memory_type(&self) -> Option<MemoryType> {
        match &self.0 {
            ExternTy::Memory { limits } => Some(MemoryType {
                limits: limits.to_limits(),
                memory64: false,
                shared: false,
                page_size_log2: 16,
            }),
            _ => None,
        }
    }

    /// A new C-owned extern type.
    pub(crate) fn into_raw(self) -> *mut wasm_externtype_t {
        Box::into_raw(Box::new(self))
    }
}

/// Borrows a C object, NULL giving `None`.
///
/// # Safety
/// `p` must be NULL or point to a live object, unchanged during `'a`.
pub(crate) unsafe fn borrow<'a, T>(p: *const T) -> Option<&'a T> {
    // SAFETY: by the caller's guarantee.
    unsafe { p.as_ref() }
}

/// Takes ownership of a C-owned boxed object (NULL: `None`).
///
/// # Safety
/// `p` must be NULL or an owned object boxed by this library, not used afterwards.
pub(crate) unsafe fn take<T>(p: *mut T) -> Option<Box<T>> {
    // SAFETY: by the caller's guarantee.
    (!p.is_null()).then(|| unsafe { Box::from_raw(p) })
}

/// Defines the delete and copy functions of a type.
macro_rules! type_basics {
    ($t:ident, $delete:ident, $copy:ident) => {
        /// Frees the object (NULL is ignored).
        ///
        /// # Safety
        /// NULL or an owned object of this library, not used afterwards.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $delete(p: *mut $t) {
            // SAFETY: forwarded from the caller.
            unsafe { delete(p) }
        }

        /// A copy of the object (NULL for NULL).
        ///
        /// # Safety
        /// NULL or a live object.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $copy(p: *const $t) -> *mut $t {
            guard_value(ptr::null_mut(), || {
                // SAFETY: forwarded from the caller.
                unsafe { borrow(p) }.map_or(ptr::null_mut(), |t| Box::into_raw(Box::new(t.clone())))
            })
        }
    };
}

type_basics!(wasm_valtype_t, wasm_valtype_delete, wasm_valtype_copy);
type_basics!(wasm_functype_t, wasm_functype_delete, wasm_functype_copy);
type_basics!(
    wasm_globaltype_t,
    wasm_globaltype_delete,
    wasm_globaltype_copy
);
type_basics!(wasm_tabletype_t, wasm_tabletype_delete, wasm_tabletype_copy);
type_basics!(
    wasm_memorytype_t,
    wasm_memorytype_delete,
    wasm_memorytype_copy
);
type_basics!(
    wasm_externtype_t,
    wasm_externtype_delete,
    wasm_externtype_copy
);
type_basics!(
    wasm_importtype_t,
    wasm_importtype_delete,
    wasm_importtype_copy
);
type_basics!(
    wasm_exporttype_t,
    wasm_exporttype_delete,
    wasm_exporttype_copy
);

wasm_vec!(
    wasm_functype_vec_t,
    *mut wasm_functype_t,
    wasm_functype_vec_new_empty,
    wasm_functype_vec_new_uninitialized,
    wasm_functype_vec_new,
    wasm_functype_vec_copy,
    wasm_functype_vec_delete
);
wasm_vec!(
    wasm_globaltype_vec_t,
    *mut wasm_globaltype_t,
    wasm_globaltype_vec_new_empty,
    wasm_globaltype_vec_new_uninitialized,
    wasm_globaltype_vec_new,
    wasm_globaltype_vec_copy,
    wasm_globaltype_vec_delete
);
wasm_vec!(
    wasm_tabletype_vec_t,
    *mut wasm_tabletype_t,
    wasm_tabletype_vec_new_empty,
    wasm_tabletype_vec_new_uninitialized,
    wasm_tabletype_vec_new,
    wasm_tabletype_vec_copy,
    wasm_tabletype_vec_delete
);
wasm_vec!(
    wasm_memorytype_vec_t,
    *mut wasm_memorytype_t,
    wasm_memorytype_vec_new_empty,
    wasm_memorytype_vec_new_uninitialized,
    wasm_memorytype_vec_new,
    wasm_memorytype_vec_copy,
    wasm_memorytype_vec_delete
);
wasm_vec!(
    wasm_externtype_vec_t,
    *mut wasm_externtype_t,
    wasm_externtype_vec_new_empty,
    wasm_externtype_vec_new_uninitialized,
    wasm_externtype_vec_new,
    wasm_externtype_vec_copy,
    wasm_externtype_vec_delete
);
wasm_vec!(
    wasm_importtype_vec_t,
    *mut wasm_importtype_t,
    wasm_importtype_vec_new_empty,
    wasm_importtype_vec_new_uninitialized,
    wasm_importtype_vec_new,
    wasm_importtype_vec_copy,
    wasm_importtype_vec_delete
);
wasm_vec!(
    wasm_exporttype_vec_t,
    *mut wasm_exporttype_t,
    wasm_exporttype_vec_new_empty,
    wasm_exporttype_vec_new_uninitialized,
    wasm_exporttype_vec_new,
    wasm_exporttype_vec_copy,
    wasm_exporttype_vec_delete
);

// ---------------------------------------------------------------------------------------------------
// Value types

/// A new value type of `kind` (NULL for an unknown kind).
#[unsafe(no_mangle)]
pub extern "C" fn wasm_valtype_new(kind: wasm_valkind_t) -> *mut wasm_valtype_t {
    match type_of(kind) {
        Some(_) => Box::into_raw(Box::new(wasm_valtype_t { kind })),
        None => ptr::null_mut(),
    }
}

/// The kind of a value type (`KIND_OTHER`, 255, for NULL).
///
/// # Safety
/// NULL or a live value type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_valtype_kind(t: *const wasm_valtype_t) -> wasm_valkind_t {
    // SAFETY: forwarded from the caller.
    unsafe { borrow(t) }.map_or(KIND_OTHER, |t| t.kind)
}

// ---------------------------------------------------------------------------------------------------
// Function types

/// A function type, taking the two vectors' contents (NULL if a vector or an element is NULL).
///
/// # Safety
/// `params` and `results` must be NULL or owned vectors made by this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_functype_new(
    params: *mut wasm_valtype_vec_t,
    results: *mut wasm_valtype_vec_t,
) -> *mut wasm_functype_t {
    guard_value(ptr::null_mut(), || {
        // SAFETY: owned vectors by the caller's guarantee; their contents move here.
        let params = unsafe { params.as_mut() }.map(|v| wasm_valtype_vec_t::from_vec(v.take()));
        // SAFETY: as above.
        let results = unsafe { results.as_mut() }.map(|v| wasm_valtype_vec_t::from_vec(v.take()));
        let (Some(params), Some(results)) = (params, results) else {
            return ptr::null_mut();
        };
        if params
            .as_slice()
            .iter()
            .chain(results.as_slice())
            .any(|p| p.is_null())
        {
            return ptr::null_mut();
        }
        wasm_externtype_t(ExternTy::Func { params, results }).into_raw()
    })
}

/// The parameter types, borrowed from the function type (NULL for NULL or another kind).
///
/// # Safety
/// NULL or a live type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_functype_params(
    t: *const wasm_functype_t,
) -> *const wasm_valtype_vec_t {
    // SAFETY: forwarded from the caller.
    match unsafe { borrow(t) } {
        Some(wasm_externtype_t(ExternTy::Func { params, .. })) => params,
        _ => ptr::null(),
    }
}

/// The result types, borrowed from the function type (NULL for NULL or another kind).
///
/// # Safety
/// NULL or a live type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_functype_results(
    t: *const wasm_functype_t,
) -> *const wasm_valtype_vec_t {
    // SAFETY: forwarded from the caller.
    match unsafe { borrow(t) } {
        Some(wasm_externtype_t(ExternTy::Func { results, .. })) => results,
        _ => ptr::null(),
    }
}

// ---------------------------------------------------------------------------------------------------
// Global types

/// A global type, taking `content` (NULL if it is NULL or the mutability is neither 0 nor 1).
///
/// # Safety
/// `content` must be NULL or an owned value type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_globaltype_new(
    content: *mut wasm_valtype_t,
    mutability: wasm_mutability_t,
) -> *mut wasm_globaltype_t {
    // SAFETY: forwarded from the caller.
    let Some(content) = (unsafe { take(content) }) else {
        return ptr::null_mut();
    };
    if mutability > 1 {
        return ptr::null_mut();
    }
    wasm_externtype_t(ExternTy::Global {
        content,
        mutability,
    })
    .into_raw()
}

/// The value type, borrowed from the global type (NULL for NULL or another kind).
///
/// # Safety
/// NULL or a live type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_globaltype_content(
    t: *const wasm_globaltype_t,
) -> *const wasm_valtype_t {
    // SAFETY: forwarded from the caller.
    match unsafe { borrow(t) } {
        Some(wasm_externtype_t(ExternTy::Global { content, .. })) => &**content,
        _ => ptr::null(),
    }
}

/// The mutability (0 for NULL or another kind).
///
/// # Safety
/// NULL or a live type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_globaltype_mutability(
    t: *const wasm_globaltype_t,
) -> wasm_mutability_t {
    // SAFETY: forwarded from the caller.
    match unsafe { borrow(t) } {
        Some(wasm_externtype_t(ExternTy::Global { mutability, .. })) => *mutability,
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------------------
// Table and memory types

/// A table type, taking `element` (NULL if it or `limits` is NULL, or it is not a reference type).
///
/// # Safety
/// `element` must be NULL or an owned value type; `limits` NULL or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_tabletype_new(
    element: *mut wasm_valtype_t,
    limits: *const wasm_limits_t,
) -> *mut wasm_tabletype_t {
    // SAFETY: forwarded from the caller.
    let element = unsafe { take(element) };
    // SAFETY: forwarded from the caller.
    let limits = unsafe { borrow(limits) };
    match (element, limits) {
        (Some(element), Some(limits)) if matches!(element.kind, WASM_EXTERNREF | WASM_FUNCREF) => {
            wasm_externtype_t(ExternTy::Table {
                element,
                limits: *limits,
            })
            .into_raw()
        }
        _ => ptr::null_mut(),
    }
}

/// The element type, borrowed (NULL for NULL or another kind).
///
/// # Safety
/// NULL or a live type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_tabletype_element(
    t: *const wasm_tabletype_t,
) -> *const wasm_valtype_t {
    // SAFETY: forwarded from the caller.
    match unsafe { borrow(t) } {
        Some(wasm_externtype_t(ExternTy::Table { element, .. })) => &**element,
        _ => ptr::null(),
    }
}

/// The limits, borrowed (NULL for NULL or another kind).
///
/// # Safety
/// NULL or a live type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_tabletype_limits(t: *const wasm_tabletype_t) -> *const wasm_limits_t {
    // SAFETY: forwarded from the caller.
    match unsafe { borrow(t) } {
        Some(wasm_externtype_t(ExternTy::Table { limits, .. })) => limits,
        _ => ptr::null(),
    }
}

/// A memory type of `limits` in 64 KiB pages (NULL for NULL limits).
///
/// # Safety
/// `limits` must be NULL or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memorytype_new(
    limits: *const wasm_limits_t,
) -> *mut wasm_memorytype_t {
    // SAFETY: forwarded from the caller.
    match unsafe { borrow(limits) } {
        Some(limits) => wasm_externtype_t(ExternTy::Memory { limits: *limits }).into_raw(),
        None => ptr::null_mut(),
    }
}

/// The limits, borrowed (NULL for NULL or another kind).
///
/// # Safety
/// NULL or a live type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memorytype_limits(
    t: *const wasm_memorytype_t,
) -> *const wasm_limits_t {
    // SAFETY: forwarded from the caller.
    match unsafe { borrow(t) } {
        Some(wasm_externtype_t(ExternTy::Memory { limits })) => limits,
        _ => ptr::null(),
    }
}

// ---------------------------------------------------------------------------------------------------
// Extern types

/// The kind of an extern type (255 for NULL).
///
/// # Safety
/// NULL or a live type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_externtype_kind(t: *const wasm_externtype_t) -> wasm_externkind_t {
    // SAFETY: forwarded from the caller.
    unsafe { borrow(t) }.map_or(255, wasm_externtype_t::kind)
}

/// Defines a cast between an extern type and a kind: the same pointer, or NULL for another kind.
macro_rules! type_cast {
    ($name:ident, $ptr:ty, $kind:expr) => {
        /// The same type as another type name; NULL if it is NULL or of another kind.
        ///
        /// # Safety
        /// NULL or a live type.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(t: $ptr) -> $ptr {
            // SAFETY: forwarded from the caller.
            match unsafe { borrow(t) } {
                Some(ty) if $kind.is_none_or(|k: u8| ty.kind() == k) => t,
                _ => ptr::null_mut::<wasm_externtype_t>() as $ptr,
            }
        }
    };
}

type_cast!(
    wasm_functype_as_externtype,
    *mut wasm_externtype_t,
    None::<u8>
);
type_cast!(
    wasm_globaltype_as_externtype,
    *mut wasm_externtype_t,
    None::<u8>
);
type_cast!(
    wasm_tabletype_as_externtype,
    *mut wasm_externtype_t,
    None::<u8>
);
type_cast!(
    wasm_memorytype_as_externtype,
    *mut wasm_externtype_t,
    None::<u8>
);
type_cast!(wasm_externtype_as_functype, *mut wasm_externtype_t, Some(0));
type_cast!(
    wasm_externtype_as_globaltype,
    *mut wasm_externtype_t,
    Some(1)
);
type_cast!(
    wasm_externtype_as_tabletype,
    *mut wasm_externtype_t,
    Some(2)
);
type_cast!(
    wasm_externtype_as_memorytype,
    *mut wasm_externtype_t,
    Some(3)
);
type_cast!(
    wasm_functype_as_externtype_const,
    *const wasm_externtype_t,
    None::<u8>
);
type_cast!(
    wasm_globaltype_as_externtype_const,
    *const wasm_externtype_t,
    None::<u8>
);
type_cast!(
    wasm_tabletype_as_externtype_const,
    *const wasm_externtype_t,
    None::<u8>
);
type_cast!(
    wasm_memorytype_as_externtype_const,
    *const wasm_externtype_t,
    None::<u8>
);
type_cast!(
    wasm_externtype_as_functype_const,
    *const wasm_externtype_t,
    Some(0)
);
type_cast!(
    wasm_externtype_as_globaltype_const,
    *const wasm_externtype_t,
    Some(1)
);
type_cast!(
    wasm_externtype_as_tabletype_const,
    *const wasm_externtype_t,
    Some(2)
);
type_cast!(
    wasm_externtype_as_memorytype_const,
    *const wasm_externtype_t,
    Some(3)
);

// ---------------------------------------------------------------------------------------------------
// Import and export types

/// An import: module name, name, type.
#[derive(Clone)]
pub struct wasm_importtype_t {
    module: wasm_name_t,
    name: wasm_name_t,
    ty: Box<wasm_externtype_t>,
}

/// An export: name, type.
#[derive(Clone)]
pub struct wasm_exporttype_t {
    name: wasm_name_t,
    ty: Box<wasm_externtype_t>,
}

impl wasm_importtype_t {
    pub(crate) fn new(module: &str, name: &str, ty: wasm_externtype_t) -> wasm_importtype_t {
        wasm_importtype_t {
            module: wasm_name_t::from_bytes(module.as_bytes()),
            name: wasm_name_t::from_bytes(name.as_bytes()),
            ty: Box::new(ty),
        }
    }
}

impl wasm_exporttype_t {
    pub(crate) fn new(name: &str, ty: wasm_externtype_t) -> wasm_exporttype_t {
        wasm_exporttype_t {
            name: wasm_name_t::from_bytes(name.as_bytes()),
            ty: Box::new(ty),
        }
    }
}

/// Takes the contents of an owned name (leaving it empty).
///
/// # Safety
/// `name` must be NULL or an owned vector of this library.
unsafe fn take_name(name: *mut wasm_name_t) -> Option<wasm_name_t> {
    // SAFETY: forwarded from the caller.
    unsafe { name.as_mut() }.map(|n| wasm_name_t::from_vec(n.take()))
}

/// An import type, taking the names' contents and the type (NULL if any is NULL).
///
/// # Safety
/// Each argument must be NULL or owned (vectors and type made by this library).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_importtype_new(
    module: *mut wasm_name_t,
    name: *mut wasm_name_t,
    ty: *mut wasm_externtype_t,
) -> *mut wasm_importtype_t {
    // SAFETY: forwarded from the caller.
    let (module, name, ty) = unsafe { (take_name(module), take_name(name), take(ty)) };
    match (module, name, ty) {
        (Some(module), Some(name), Some(ty)) => {
            Box::into_raw(Box::new(wasm_importtype_t { module, name, ty }))
        }
        _ => ptr::null_mut(),
    }
}

/// The module name, borrowed (NULL for NULL).
///
/// # Safety
/// NULL or a live import type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_importtype_module(t: *const wasm_importtype_t) -> *const wasm_name_t {
    // SAFETY: forwarded from the caller.
    unsafe { borrow(t) }.map_or(ptr::null(), |t| &t.module)
}

/// The name, borrowed (NULL for NULL).
///
/// # Safety
/// NULL or a live import type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_importtype_name(t: *const wasm_importtype_t) -> *const wasm_name_t {
    // SAFETY: forwarded from the caller.
    unsafe { borrow(t) }.map_or(ptr::null(), |t| &t.name)
}

/// The type, borrowed (NULL for NULL).
///
/// # Safety
/// NULL or a live import type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_importtype_type(
    t: *const wasm_importtype_t,
) -> *const wasm_externtype_t {
    // SAFETY: forwarded from the caller.
    unsafe { borrow(t) }.map_or(ptr::null(), |t| &*t.ty)
}

/// An export type, taking the name's contents and the type (NULL if either is NULL).
///
/// # Safety
/// Each argument must be NULL or owned (vector and type made by this library).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_exporttype_new(
    name: *mut wasm_name_t,
    ty: *mut wasm_externtype_t,
) -> *mut wasm_exporttype_t {
    // SAFETY: forwarded from the caller.
    let (name, ty) = unsafe { (take_name(name), take(ty)) };
    match (name, ty) {
        (Some(name), Some(ty)) => Box::into_raw(Box::new(wasm_exporttype_t { name, ty })),
        _ => ptr::null_mut(),
    }
}

/// The name, borrowed (NULL for NULL).
///
/// # Safety
/// NULL or a live export type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_exporttype_name(t: *const wasm_exporttype_t) -> *const wasm_name_t {
    // SAFETY: forwarded from the caller.
    unsafe { borrow(t) }.map_or(ptr::null(), |t| &t.name)
}

/// The type, borrowed (NULL for NULL).
///
/// # Safety
/// NULL or a live export type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_exporttype_type(
    t: *const wasm_exporttype_t,
) -> *const wasm_externtype_t {
    // SAFETY: forwarded from the caller.
    unsafe { borrow(t) }.map_or(ptr::null(), |t| &*t.ty)
}
