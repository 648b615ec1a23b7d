//! Traps and frames of `wasm.h`.

use super::reference::{Obj, as_obj, ref_type, wasm_ref_t, wasm_trap_t};
use super::runtime::wasm_store_t;
use super::vec::{wasm_byte_vec_t, wasm_vec};
use crate::{delete, guard_value};
use facade::Trap;
use std::ptr;
use std::rc::Rc;

/// A frame of a trap's backtrace.
#[derive(Clone)]
pub struct wasm_frame_t {
    func_index: u32,
    func_offset: usize,
    module_offset: usize,
}

/// What a trap says: its message (without NUL) and its frames, innermost first.
pub(crate) struct TrapData {
    pub(crate) message: String,
    frames: Vec<wasm_frame_t>,
}

impl TrapData {
    /// Drops the outermost frame (an adapter's, which the caller does not know about).
    pub(crate) fn drop_outermost_frame(&mut self) {
        self.frames.pop();
    }
}

/// A trap with `message` and no frames.
pub(crate) fn new_trap(message: impl Into<String>) -> wasm_ref_t {
    wasm_ref_t::new(Obj::Trap(Rc::new(TrapData {
        message: message.into(),
        frames: Vec::new(),
    })))
}

/// The trap of a wasmz trap: the host's message for a trap raised by a host function (a callback's
/// own message), otherwise a description of the trap code; its backtrace as frames.
pub(crate) fn from_trap(trap: &Trap) -> wasm_ref_t {
    let message = match (trap.message(), trap.exit_code()) {
        (_, Some(status)) => format!("exit with status {status}"),
        (Some(m), None) => m.to_string(),
        (None, None) => format!("wasm trap: {}", trap.code()),
    };
    let frames = trap
        .backtrace()
        .iter()
        .map(|f| wasm_frame_t {
            func_index: f.func_index,
            func_offset: f.code_offset as usize,
            module_offset: f.module_offset.map_or(0, |o| o as usize),
        })
        .collect();
    wasm_ref_t::new(Obj::Trap(Rc::new(TrapData { message, frames })))
}

/// The trap for a wasmz error: a trap with its frames, or the error's message.
pub(crate) fn from_error(e: &facade::Error) -> wasm_ref_t {
    match e {
        facade::Error::Trap(t) => from_trap(t),
        other => new_trap(other.to_string()),
    }
}

ref_type!(
    |r: &wasm_ref_t| matches!(r.obj, Obj::Trap(_)),
    wasm_trap_delete,
    wasm_trap_copy,
    wasm_trap_same,
    wasm_trap_get_host_info,
    wasm_trap_set_host_info,
    wasm_trap_set_host_info_with_finalizer,
    wasm_trap_as_ref,
    wasm_ref_as_trap,
    wasm_trap_as_ref_const,
    wasm_ref_as_trap_const
);

/// The trap data of a handle (`None` for NULL or another kind).
///
/// # Safety
/// NULL or a live handle.
unsafe fn trap_data<'a>(t: *const wasm_trap_t) -> Option<&'a TrapData> {
    // SAFETY: forwarded from the caller.
    match unsafe { as_obj(t) } {
        Some(wasm_ref_t {
            obj: Obj::Trap(data),
            ..
        }) => Some(data),
        _ => None,
    }
}

/// A trap with `message` (read up to its first NUL; NULL: empty). `store` is not needed.
///
/// # Safety
/// `message` must be NULL or a valid byte vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_new(
    _store: *mut wasm_store_t,
    message: *const wasm_byte_vec_t,
) -> *mut wasm_trap_t {
    guard_value(ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let bytes = unsafe { message.as_ref() }.map_or(&[][..], |m| m.bytes());
        let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
        new_trap(String::from_utf8_lossy(&bytes[..end])).into_raw()
    })
}

/// Sets `*out` to the trap's message with a final NUL (empty for NULL or another kind).
///
/// # Safety
/// `trap` must be NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_message(trap: *const wasm_trap_t, out: *mut wasm_byte_vec_t) {
    if out.is_null() {
        return;
    }
    let message = guard_value(wasm_byte_vec_t::empty(), || {
        // SAFETY: forwarded from the caller.
        match unsafe { trap_data(trap) } {
            Some(data) => {
                let mut bytes = data.message.clone().into_bytes();
                bytes.push(0);
                wasm_byte_vec_t::from_bytes(&bytes)
            }
            None => wasm_byte_vec_t::empty(),
        }
    });
    // SAFETY: writable by the caller's guarantee; not read (may be uninitialized).
    unsafe { out.write(message) }
}

/// The innermost frame (NULL if the trap has none).
///
/// # Safety
/// NULL or a live trap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_origin(trap: *const wasm_trap_t) -> *mut wasm_frame_t {
    // SAFETY: forwarded from the caller.
    match unsafe { trap_data(trap) }.and_then(|d| d.frames.first()) {
        Some(frame) => Box::into_raw(Box::new(frame.clone())),
        None => ptr::null_mut(),
    }
}

/// Sets `*out` to the frames, innermost first.
///
/// # Safety
/// `trap` must be NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_trace(trap: *const wasm_trap_t, out: *mut wasm_frame_vec_t) {
    if out.is_null() {
        return;
    }
    // SAFETY: forwarded from the caller.
    let frames = unsafe { trap_data(trap) }.map_or_else(Vec::new, |d| {
        d.frames
            .iter()
            .map(|f| Box::into_raw(Box::new(f.clone())))
            .collect()
    });
    // SAFETY: writable by the caller's guarantee; not read (may be uninitialized).
    unsafe { out.write(wasm_frame_vec_t::from_vec(frames)) }
}

wasm_vec!(
    wasm_frame_vec_t,
    *mut wasm_frame_t,
    wasm_frame_vec_new_empty,
    wasm_frame_vec_new_uninitialized,
    wasm_frame_vec_new,
    wasm_frame_vec_copy,
    wasm_frame_vec_delete
);

/// Frees a frame (NULL is ignored).
///
/// # Safety
/// NULL or an owned frame, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_delete(frame: *mut wasm_frame_t) {
    // SAFETY: forwarded from the caller.
    unsafe { delete(frame) }
}

/// A copy of a frame (NULL for NULL).
///
/// # Safety
/// NULL or a live frame.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_copy(frame: *const wasm_frame_t) -> *mut wasm_frame_t {
    // SAFETY: forwarded from the caller.
    unsafe { frame.as_ref() }.map_or(ptr::null_mut(), |f| Box::into_raw(Box::new(f.clone())))
}

/// Always NULL: frames do not record their instance.
#[unsafe(no_mangle)]
pub extern "C" fn wasm_frame_instance(_frame: *const wasm_frame_t) -> *mut wasm_ref_t {
    ptr::null_mut()
}

/// The function's index in its module (0 for NULL).
///
/// # Safety
/// NULL or a live frame.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_func_index(frame: *const wasm_frame_t) -> u32 {
    // SAFETY: forwarded from the caller.
    unsafe { frame.as_ref() }.map_or(0, |f| f.func_index)
}

/// The offset of the trapping instruction in the function's machine code (0 for NULL).
///
/// # Safety
/// NULL or a live frame.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_func_offset(frame: *const wasm_frame_t) -> usize {
    // SAFETY: forwarded from the caller.
    unsafe { frame.as_ref() }.map_or(0, |f| f.func_offset)
}

/// The byte offset in the wasm module of the frame's operator (the trapping one, or the call); 0
/// for NULL or where no operator is known.
///
/// # Safety
/// NULL or a live frame.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_module_offset(frame: *const wasm_frame_t) -> usize {
    // SAFETY: forwarded from the caller.
    unsafe { frame.as_ref() }.map_or(0, |f| f.module_offset)
}
