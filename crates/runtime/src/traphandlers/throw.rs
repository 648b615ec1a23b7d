//! Throwing a wasm exception: finding the handler on the stack and resuming there.
//!
//! Compiled code makes every call inside a `try_table` a Cranelift `try_call` with one catch-all
//! handler, and the code image records, for each such call, its return address, its handler and the
//! distance from the frame pointer down to the stack pointer in that frame. To throw, the runtime walks
//! the frame-pointer chain up from the throwing frame; the first return address with a handler names
//! the frame that catches, and execution resumes at the handler with that frame's stack and frame
//! pointers and the exception's address in the first exception-payload register of the `tail` calling
//! convention (rax on x86-64, x0 on aarch64).
//!
//! Restoring only SP and FP is enough: Cranelift treats every register as clobbered on the exceptional
//! edge of a `try_call` to a `tail` function (`get_regs_clobbered_by_call(Tail, is_exception = true)`
//! returns all registers on both architectures), so the handler reloads whatever it needs from its
//! frame. The walk stops at the first return address outside wasm code (the host entry, a
//! `wasmz_call` frame): an exception never crosses host frames; it ends the innermost host → wasm call
//! with an `UnhandledException` trap instead.

use super::{ENTRY_SP, approximate_sp, record_trap, set_trap_exception, set_trap_message, unwind};
use crate::code_memory::lookup_code;
use crate::exception::ThrownException;
use std::cell::Cell;
use wasmz_environ::TrapCode;

/// Where to resume: (handler address, stack pointer, frame pointer).
type Resume = (usize, usize, usize);

/// Finds the handler for an exception thrown by the wasm frame whose frame pointer is `fp`, in the
/// frames that called it (the throwing frame has no handler around the throw: compiled code jumps to a
/// handler of its own function directly).
fn find_handler(fp: usize) -> Option<Resume> {
    let top = ENTRY_SP.with(Cell::get);
    let sp = approximate_sp();
    let mut fp = fp;
    loop {
        if fp == 0 || fp < sp || fp >= top || !fp.is_multiple_of(8) {
            return None;
        }
        // `fp` lies between the current stack pointer and the entry stack pointer of this thread, so
        // it points into this thread's live stack; it is the frame pointer of a compiled wasm frame
        // (the thrower's, or a caller whose return address is wasm code), and compiled code keeps
        // frame pointers, so a frame record is `[saved fp, return address]`.
        // SAFETY: by the above, both words are readable, initialized stack memory of this thread.
        let (next, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        let code = lookup_code(ret)?;
        if let Some((handler, frame)) = code.image.lookup_handler(code.offset) {
            let base = ret - code.offset as usize;
            return Some((
                base + handler as usize,
                next.checked_sub(frame as usize)?,
                next,
            ));
        }
        if next <= fp {
            return None;
        }
        fp = next;
    }
}

/// Throws the exception at `exn` from the wasm frame whose frame pointer is `fp`, at `pc` (the address
/// after its call of the `Throw` builtin): resumes at the innermost handler, or ends the innermost
/// host → wasm call with an unhandled-exception trap, which carries the exception as `describe`
/// reports it.
///
/// # Safety
/// Must be called directly by compiled wasm code (through the `Throw` builtin) with its own frame
/// pointer: every frame between here and the handler (or the host entry) is a wasm frame or this
/// function's, and none holds anything to drop.
pub(crate) unsafe fn throw(
    exn: usize,
    fp: usize,
    pc: usize,
    describe: &dyn Fn() -> Option<ThrownException>,
) -> ! {
    if let Some((pc, sp, fp)) = find_handler(fp) {
        // SAFETY: (pc, sp, fp) come from the code image's handler table for a live frame of this
        // thread's stack (the caller's contract), which is what the handler expects on entry.
        unsafe { resume(pc, sp, fp, exn) }
    }
    set_trap_exception(describe().map(Box::new));
    record_trap(TrapCode::UnhandledException, Some(pc), fp, approximate_sp());
    set_trap_message(
        Some("thrown by wasm code and not caught before reaching the host".into()),
        None,
    );
    unwind()
}

/// Jumps to `pc` with the stack pointer `sp`, the frame pointer `fp` and `payload` in the first
/// exception-payload register.
///
/// # Safety
/// `pc` must be an exception handler of compiled code whose frame is live at (`sp`, `fp`).
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
unsafe extern "C" fn resume(pc: usize, sp: usize, fp: usize, payload: usize) -> ! {
    core::arch::naked_asm!("mov rsp, rsi", "mov rbp, rdx", "mov rax, rcx", "jmp rdi",)
}

/// Jumps to `pc` with the stack pointer `sp`, the frame pointer `fp` and `payload` in the first
/// exception-payload register.
///
/// # Safety
/// `pc` must be an exception handler of compiled code whose frame is live at (`sp`, `fp`).
#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
unsafe extern "C" fn resume(pc: usize, sp: usize, fp: usize, payload: usize) -> ! {
    core::arch::naked_asm!(
        "mov x16, x0",
        "mov sp, x1",
        "mov x29, x2",
        "mov x0, x3",
        "br x16",
    )
}
