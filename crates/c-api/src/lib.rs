//! # wasmz-c-api
//!
//! The C API of wasmz: this crate builds `libwasmz.so` and `libwasmz.a`, whose functions are declared
//! in `include/wasmz.h` (written by hand; the tests check it against the exported symbols).
//!
//! Conventions, stated in the header for each function:
//!
//! - Every function that can fail returns a `wasmz_error_t*`: NULL on success, otherwise an error
//!   object the caller frees with `wasmz_error_delete`. Constructors return their object through an
//!   out-parameter, set to NULL first.
//! - No function aborts the process: NULL pointers where they are not allowed, invalid UTF-8 and
//!   malformed modules give an error, and every entry point catches Rust panics
//!   ([`std::panic::catch_unwind`]) and turns them into an error.
//! - Every object returned through a `T**` out-parameter (or a `T*` return value) is owned by the
//!   caller and freed with the matching `wasmz_<type>_delete`. Objects keep alive what they need
//!   (an instance keeps its store, a module its engine), so they may be deleted in any order.

#![allow(non_camel_case_types)]

mod engine;
mod fuel;
mod instance;
mod linker;
mod wasi;
pub mod wasm;

pub use engine::*;
pub use fuel::*;
pub use instance::*;
pub use linker::*;
pub use wasi::*;

use facade::{RawVal, Trap, TrapCode, ValType};
use std::ffi::{CStr, CString, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;

/// An error: a message, and for traps the trap code, for exits of the guest the exit status.
/// Created by a failing call or by `wasmz_error_new` / `wasmz_trap_new` / `wasmz_error_new_exit`;
/// freed by `wasmz_error_delete`.
#[derive(Debug)]
pub struct wasmz_error_t {
    message: CString,
    trap_code: Option<TrapCode>,
    exit_status: Option<i32>,
}

impl wasmz_error_t {
    /// A plain error with `message` (interior NUL bytes are replaced).
    pub(crate) fn msg(message: impl Into<String>) -> wasmz_error_t {
        let message = message.into().replace('\0', "\\0");
        wasmz_error_t {
            message: CString::new(message).unwrap_or_default(),
            trap_code: None,
            exit_status: None,
        }
    }

    /// A trap error.
    pub(crate) fn trap(code: TrapCode, message: impl Into<String>) -> wasmz_error_t {
        wasmz_error_t {
            trap_code: Some(code),
            ..wasmz_error_t::msg(message)
        }
    }

    /// The error for a guest that exited with `status`.
    pub(crate) fn exit(status: i32) -> wasmz_error_t {
        wasmz_error_t {
            exit_status: Some(status),
            ..wasmz_error_t::msg(format!("exit with status {status}"))
        }
    }

    /// The error for a call that ended with `trap` (an exit, when the trap carries an exit status).
    pub(crate) fn from_trap(trap: &Trap) -> wasmz_error_t {
        match trap.exit_code() {
            Some(status) => wasmz_error_t::exit(status),
            None => wasmz_error_t::trap(trap.code(), trap.to_string()),
        }
    }

    /// The message as a Rust string.
    pub(crate) fn message(&self) -> String {
        self.message.to_string_lossy().into_owned()
    }

    /// Moves the error to the heap for C.
    fn into_raw(self) -> *mut wasmz_error_t {
        Box::into_raw(Box::new(self))
    }
}

impl From<facade::Error> for wasmz_error_t {
    fn from(e: facade::Error) -> wasmz_error_t {
        match &e {
            facade::Error::Trap(trap) => wasmz_error_t::from_trap(trap),
            _ => wasmz_error_t::msg(message_with_causes(&e)),
        }
    }
}

/// The message of `e` followed by those of its sources (an artifact file's I/O error, for one), as
/// C callers see only the message.
fn message_with_causes(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        message.push_str(": ");
        message.push_str(&c.to_string());
        cause = c.source();
    }
    message
}

/// Result of the internal functions behind the C entry points.
pub(crate) type Res<T> = Result<T, wasmz_error_t>;

/// The message of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    format!("internal error in wasmz (panic): {text}")
}

/// Runs the body of an entry point that returns an error object: NULL on success, the error (or the
/// caught panic as an error) otherwise.
pub(crate) fn guard(f: impl FnOnce() -> Res<()>) -> *mut wasmz_error_t {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => ptr::null_mut(),
        Ok(Err(e)) => e.into_raw(),
        Err(payload) => wasmz_error_t::msg(panic_message(&*payload)).into_raw(),
    }
}

/// Runs the body of an entry point that returns a plain value: `default` if it panics.
pub(crate) fn guard_value<T>(default: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(default)
}

/// Checks that `p` is not NULL and borrows it.
///
/// # Safety
/// `p` must be NULL or point to a live `T` that is not mutated during `'a`.
pub(crate) unsafe fn obj<'a, T>(p: *const T, what: &str) -> Res<&'a T> {
    // SAFETY: the caller guarantees that a non-NULL `p` is valid.
    unsafe { p.as_ref() }.ok_or_else(|| null_error(what))
}

/// Checks that `p` is not NULL and borrows it mutably.
///
/// # Safety
/// `p` must be NULL or point to a live `T` not otherwise borrowed during `'a`.
pub(crate) unsafe fn obj_mut<'a, T>(p: *mut T, what: &str) -> Res<&'a mut T> {
    // SAFETY: the caller guarantees that a non-NULL `p` is valid and unaliased.
    unsafe { p.as_mut() }.ok_or_else(|| null_error(what))
}

/// Checks an out-parameter, sets it to NULL, and returns it.
///
/// # Safety
/// `p` must be NULL or valid for writes.
pub(crate) unsafe fn out_param<'a, T>(p: *mut *mut T, what: &str) -> Res<&'a mut *mut T> {
    // SAFETY: the caller guarantees that a non-NULL `p` is writable.
    let out = unsafe { p.as_mut() }.ok_or_else(|| null_error(what))?;
    *out = ptr::null_mut();
    Ok(out)
}

/// A NUL-terminated UTF-8 string.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that lives during `'a`.
pub(crate) unsafe fn text<'a>(p: *const c_char, what: &str) -> Res<&'a str> {
    if p.is_null() {
        return Err(null_error(what));
    }
    // SAFETY: non-NULL, and NUL-terminated by the caller's guarantee.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .map_err(|_| wasmz_error_t::msg(format!("{what} is not valid UTF-8")))
}

/// An array of `len` elements; NULL is allowed when `len` is 0.
///
/// # Safety
/// A non-NULL `p` must point to `len` initialized elements that are not mutated during `'a`.
pub(crate) unsafe fn slice<'a, T>(p: *const T, len: usize, what: &str) -> Res<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(null_error(what));
    }
    // SAFETY: the caller guarantees `len` readable elements at `p`.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A mutable array of `len` elements; NULL is allowed when `len` is 0.
///
/// # Safety
/// A non-NULL `p` must point to `len` elements writable and unaliased during `'a`.
pub(crate) unsafe fn slice_mut<'a, T>(p: *mut T, len: usize, what: &str) -> Res<&'a mut [T]> {
    if len == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(null_error(what));
    }
    // SAFETY: the caller guarantees `len` writable elements at `p`.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

fn null_error(what: &str) -> wasmz_error_t {
    wasmz_error_t::msg(format!("{what} must not be NULL"))
}

/// Frees an object made by `Box::into_raw` (NULL is ignored).
///
/// # Safety
/// `p` must be NULL or come from `Box::into_raw` and not be used afterwards.
pub(crate) unsafe fn delete<T: ?Sized>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: by the caller's guarantee, `p` is an unused box; a panic in a destructor is
        // caught so it does not unwind into C.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(p) })));
    }
}

// ---------------------------------------------------------------------------------------------------
// Errors

/// Frees an error (NULL is ignored).
///
/// # Safety
/// `error` must be NULL or an error returned by this library and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_error_delete(error: *mut wasmz_error_t) {
    // SAFETY: forwarded from the caller.
    unsafe { delete(error) }
}

/// The error's message, a NUL-terminated UTF-8 string owned by the error (valid until
/// `wasmz_error_delete`), followed by those of its causes. For NULL, a static string.
///
/// # Safety
/// `error` must be NULL or a live error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_error_message(error: *const wasmz_error_t) -> *const c_char {
    // SAFETY: forwarded from the caller.
    match unsafe { error.as_ref() } {
        Some(e) => e.message.as_ptr(),
        None => c"(NULL error)".as_ptr(),
    }
}

/// Whether the error is a trap; if so and `code` is not NULL, stores its trap code there.
///
/// # Safety
/// `error` must be NULL or a live error; `code` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_error_trap_code(
    error: *const wasmz_error_t,
    code: *mut wasmz_trap_code_t,
) -> bool {
    // SAFETY: forwarded from the caller.
    let Some(e) = (unsafe { error.as_ref() }) else {
        return false;
    };
    let Some(c) = e.trap_code else { return false };
    // SAFETY: forwarded from the caller.
    if let Some(out) = unsafe { code.as_mut() } {
        *out = c.to_u8().into();
    }
    true
}

/// Whether the error reports an exit of the guest (WASI `proc_exit`); if so and `status` is not
/// NULL, stores the exit status there.
///
/// # Safety
/// `error` must be NULL or a live error; `status` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_error_exit_status(
    error: *const wasmz_error_t,
    status: *mut c_int,
) -> bool {
    // SAFETY: forwarded from the caller.
    let Some(e) = (unsafe { error.as_ref() }) else {
        return false;
    };
    let Some(s) = e.exit_status else { return false };
    // SAFETY: forwarded from the caller.
    if let Some(out) = unsafe { status.as_mut() } {
        *out = s;
    }
    true
}

/// A new error with `message` (NULL gives an empty message). Returned from a host callback, it traps
/// the guest with `WASMZ_TRAP_HOST_ERROR`.
///
/// # Safety
/// `message` must be NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_error_new(message: *const c_char) -> *mut wasmz_error_t {
    // SAFETY: forwarded from the caller.
    let message = unsafe { lossy_text(message) };
    wasmz_error_t::msg(message).into_raw()
}

/// A new trap error with trap code `code` (an unknown code becomes `WASMZ_TRAP_HOST_ERROR`) and
/// `message` (NULL gives an empty message).
///
/// # Safety
/// `message` must be NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_trap_new(
    code: wasmz_trap_code_t,
    message: *const c_char,
) -> *mut wasmz_error_t {
    // SAFETY: forwarded from the caller.
    let message = unsafe { lossy_text(message) };
    let code = u8::try_from(code)
        .ok()
        .and_then(TrapCode::from_u8)
        .unwrap_or(TrapCode::HostError);
    wasmz_error_t::trap(code, message).into_raw()
}

/// A new error that, returned from a host callback, ends the run with exit status `status` (as WASI
/// `proc_exit` does).
#[unsafe(no_mangle)]
pub extern "C" fn wasmz_error_new_exit(status: c_int) -> *mut wasmz_error_t {
    wasmz_error_t::exit(status).into_raw()
}

/// A string from C, invalid UTF-8 replaced; NULL is empty.
///
/// # Safety
/// `p` must be NULL or NUL-terminated.
unsafe fn lossy_text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's guarantee.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

// ---------------------------------------------------------------------------------------------------
// Trap codes and values

/// A trap code: one of the `WASMZ_TRAP_*` constants of the header (the values of
/// [`TrapCode::to_u8`]).
pub type wasmz_trap_code_t = u32;

/// The header's trap-code names, with the code each one stands for.
pub const TRAP_CODE_NAMES: [(&str, TrapCode); 22] = [
    ("UNREACHABLE", TrapCode::UnreachableCodeReached),
    ("MEMORY_OUT_OF_BOUNDS", TrapCode::MemoryOutOfBounds),
    ("TABLE_OUT_OF_BOUNDS", TrapCode::TableOutOfBounds),
    ("INDIRECT_CALL_TO_NULL", TrapCode::IndirectCallToNull),
    ("INTEGER_DIVISION_BY_ZERO", TrapCode::IntegerDivisionByZero),
    ("INTEGER_OVERFLOW", TrapCode::IntegerOverflow),
    (
        "BAD_CONVERSION_TO_INTEGER",
        TrapCode::BadConversionToInteger,
    ),
    ("STACK_OVERFLOW", TrapCode::StackOverflow),
    ("BAD_SIGNATURE", TrapCode::BadSignature),
    ("OUT_OF_FUEL", TrapCode::OutOfFuel),
    ("GROWTH_OPERATION_LIMITED", TrapCode::GrowthOperationLimited),
    ("OUT_OF_SYSTEM_MEMORY", TrapCode::OutOfSystemMemory),
    ("NULL_REFERENCE", TrapCode::NullReference),
    ("CAST_FAILURE", TrapCode::CastFailure),
    ("ARRAY_OUT_OF_BOUNDS", TrapCode::ArrayOutOfBounds),
    ("OUT_OF_MEMORY", TrapCode::OutOfMemory),
    ("UNHANDLED_EXCEPTION", TrapCode::UnhandledException),
    ("UNALIGNED_ATOMIC_ACCESS", TrapCode::UnalignedAtomicAccess),
    ("UNSHARED_MEMORY_WAIT", TrapCode::UnsharedMemoryWait),
    ("HOST_ERROR", TrapCode::HostError),
    ("INTERRUPTED", TrapCode::Interrupted),
    ("COMPILE_ERROR", TrapCode::CompileError),
];

/// The kind of a [`wasmz_val_t`]: one of the `WASMZ_I32`, ... constants of the header.
pub type wasmz_valkind_t = u8;

/// `i32`.
pub const WASMZ_I32: wasmz_valkind_t = 0;
/// `i64`.
pub const WASMZ_I64: wasmz_valkind_t = 1;
/// `f32`.
pub const WASMZ_F32: wasmz_valkind_t = 2;
/// `f64`.
pub const WASMZ_F64: wasmz_valkind_t = 3;
/// `v128`.
pub const WASMZ_V128: wasmz_valkind_t = 4;

/// The payload of a [`wasmz_val_t`].
#[repr(C)]
#[derive(Clone, Copy)]
pub union wasmz_val_union {
    /// `i32`.
    pub i32: i32,
    /// `i64`.
    pub i64: i64,
    /// `f32`.
    pub f32: f32,
    /// `f64`.
    pub f64: f64,
    /// `v128`, little-endian.
    pub v128: [u8; 16],
}

/// A typed wasm value (numbers and vectors; references are not supported by the C API).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wasmz_val_t {
    /// A `WASMZ_*` kind.
    pub kind: wasmz_valkind_t,
    /// The value, in the field named by `kind`.
    pub of: wasmz_val_union,
}

const _: () = assert!(std::mem::size_of::<wasmz_val_t>() == 24);
const _: () = assert!(std::mem::align_of::<wasmz_val_t>() == 8);

/// The C kind of a wasm type.
pub(crate) fn kind_of(ty: ValType) -> Res<wasmz_valkind_t> {
    Ok(match ty {
        ValType::I32 => WASMZ_I32,
        ValType::I64 => WASMZ_I64,
        ValType::F32 => WASMZ_F32,
        ValType::F64 => WASMZ_F64,
        ValType::V128 => WASMZ_V128,
        other => {
            return Err(wasmz_error_t::msg(format!(
                "values of type {other} are not supported by the C API"
            )));
        }
    })
}

/// The wasm type of a C kind.
pub(crate) fn type_of(kind: wasmz_valkind_t) -> Res<ValType> {
    Ok(match kind {
        WASMZ_I32 => ValType::I32,
        WASMZ_I64 => ValType::I64,
        WASMZ_F32 => ValType::F32,
        WASMZ_F64 => ValType::F64,
        WASMZ_V128 => ValType::V128,
        other => return Err(wasmz_error_t::msg(format!("unknown value kind {other}"))),
    })
}

/// A C value as a raw value, read according to `ty` (the kind is not consulted).
pub(crate) fn to_raw_unchecked(v: &wasmz_val_t, ty: ValType) -> RawVal {
    // SAFETY: every field of the union is plain data of at most 16 bytes, and C initializes at
    // least the field for the declared type; reading it reinterprets those bytes.
    unsafe {
        match ty {
            ValType::I64 => RawVal::from(v.of.i64),
            ValType::F32 => RawVal::from(v.of.f32),
            ValType::F64 => RawVal::from(v.of.f64),
            ValType::V128 => RawVal::from(u128::from_le_bytes(v.of.v128)),
            _ => RawVal::from(v.of.i32),
        }
    }
}

/// A C value as a raw value of type `ty`, checking its kind; `what` names it in errors.
pub(crate) fn to_raw(v: &wasmz_val_t, ty: ValType, what: &dyn Fn() -> String) -> Res<RawVal> {
    let expected = kind_of(ty)?;
    if v.kind != expected {
        return Err(wasmz_error_t::msg(format!(
            "{} must be {ty}, got {}",
            what(),
            kind_name(v.kind)
        )));
    }
    Ok(to_raw_unchecked(v, ty))
}

/// A raw value of type `ty` as a C value.
pub(crate) fn from_raw(raw: RawVal, ty: ValType) -> Res<wasmz_val_t> {
    let kind = kind_of(ty)?;
    let of = match kind {
        WASMZ_I32 => wasmz_val_union { i32: raw.read_as() },
        WASMZ_I64 => wasmz_val_union { i64: raw.read_as() },
        WASMZ_F32 => wasmz_val_union { f32: raw.read_as() },
        WASMZ_F64 => wasmz_val_union { f64: raw.read_as() },
        _ => wasmz_val_union {
            v128: raw.read_as::<u128>().to_le_bytes(),
        },
    };
    Ok(wasmz_val_t { kind, of })
}

fn kind_name(kind: wasmz_valkind_t) -> String {
    match type_of(kind) {
        Ok(t) => t.to_string(),
        Err(_) => format!("unknown kind {kind}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header's `WASMZ_TRAP_*` constants have the values of [`TrapCode::to_u8`].
    #[test]
    fn header_trap_codes_match() {
        let header = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../include/wasmz.h"
        ))
        .unwrap();
        assert_eq!(TRAP_CODE_NAMES.len(), TrapCode::ALL.len());
        for (name, code) in TRAP_CODE_NAMES {
            let needle = format!("WASMZ_TRAP_{name} = {},", code.to_u8());
            assert!(header.contains(&needle), "header lacks `{needle}`");
        }
    }

    #[test]
    fn values_round_trip() {
        for (ty, raw) in [
            (ValType::I32, RawVal::from(-7i32)),
            (ValType::I64, RawVal::from(1i64 << 40)),
            (ValType::F32, RawVal::from(1.5f32)),
            (ValType::F64, RawVal::from(-2.25f64)),
            (
                ValType::V128,
                RawVal::from(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10u128),
            ),
        ] {
            let v = from_raw(raw, ty).unwrap();
            assert_eq!(to_raw(&v, ty, &|| "v".into()).unwrap(), raw);
        }
    }
}
