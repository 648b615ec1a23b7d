//! Finding the GC references held by compiled wasm frames.
//!
//! Compiled code keeps every live GC reference in a stack slot across each call (Cranelift's user
//! stack maps), and the code image records, per call return address, which slots those are (as
//! distances below the calling frame's frame pointer). Whenever wasm code leaves for the runtime in a
//! way that may collect or run user code, which may collect (the `GcAlloc` builtin, a host call, the
//! `MemoryGrow` and `TableGrow` builtins, which ask the store's limiter, and the `EpochDeadline`
//! builtin, which calls the deadline callback), the builtin records the *exit frame*: the frame
//! pointer and return address of the wasm (or trampoline) frame that called it. A collection walks,
//! from each exit frame of this thread, the frame-pointer chain up through the wasm frames (frame
//! record `[saved fp, return address]`) until a return address outside compiled code (the entry
//! trampoline's caller), reading the slots each frame's stack map names.

use crate::code_memory::lookup_code;
use std::cell::Cell;

/// One exit frame, living on the stack of the builtin that recorded it; they form a list, innermost
/// first.
pub(crate) struct ExitFrame {
    fp: usize,
    pc: usize,
    outer: *const ExitFrame,
}

thread_local! {
    /// The innermost exit frame of this thread (null when no wasm code has called out).
    static INNERMOST: Cell<*const ExitFrame> = const { Cell::new(std::ptr::null()) };
}

impl ExitFrame {
    /// Records, while `f` runs, that the compiled frame with frame pointer `fp` called into the
    /// runtime and returns to `pc`.
    pub(crate) fn record<R>(fp: usize, pc: usize, f: impl FnOnce() -> R) -> R {
        let frame = ExitFrame {
            fp,
            pc,
            outer: INNERMOST.with(Cell::get),
        };
        INNERMOST.with(|i| i.set(&frame));
        // Restores the outer frame however `f` ends (a panic is caught by the host-call machinery).
        struct Pop(*const ExitFrame);
        impl Drop for Pop {
            fn drop(&mut self) {
                INNERMOST.with(|i| i.set(self.0));
            }
        }
        let _pop = Pop(frame.outer);
        f()
    }
}

/// Calls `visit` with the address of every stack slot that holds a GC reference in the wasm frames of
/// this thread's activations.
pub(crate) fn for_each_stack_root(visit: &mut dyn FnMut(*mut u64)) {
    let mut exit = INNERMOST.with(Cell::get);
    while !exit.is_null() {
        // SAFETY: every frame in the list lives on the stack of a builtin that is still running
        // (`record` unlinks it before returning), so it is valid to read.
        let frame = unsafe { &*exit };
        walk(frame.fp, frame.pc, visit);
        exit = frame.outer;
    }
}

fn walk(mut fp: usize, mut pc: usize, visit: &mut dyn FnMut(*mut u64)) {
    while let Some(code) = lookup_code(pc) {
        if fp == 0 || !fp.is_multiple_of(8) {
            return;
        }
        if let Some(slots) = code.image.lookup_stack_map(code.offset) {
            for &below in slots {
                visit((fp - below as usize) as *mut u64);
            }
        }
        // `fp` is the frame pointer of a compiled frame (the exit frame, or a caller found through
        // the chain), and compiled code keeps frame pointers: its frame record is `[saved fp, return
        // address]`.
        // SAFETY: by the above, both words are initialized memory of this thread's live stack.
        let (next, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if next <= fp {
            return;
        }
        fp = next;
        pc = ret;
    }
}
