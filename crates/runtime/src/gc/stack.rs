//! Finding the GC references held by compiled wasm frames.
//!
//! Compiled code keeps every live GC reference in a stack slot across each call (Cranelift's user
//! stack maps), and the code image records, per call return address, which slots those are (as
//! distances below the calling frame's frame pointer). Whenever wasm code leaves for the runtime in a
//! way that may collect (the `GcAlloc` builtin, a host call), the builtin records the *exit frame*:
//! the frame pointer and return address of the wasm (or trampoline) frame that called it. A
//! collection walks, from each exit frame of this thread, the frame-pointer chain up through the wasm
//! frames (frame record `[saved fp, return address]`) until a return address outside compiled code
//! (the entry trampoline's caller), reading the slots each frame's stack map names.

use crate::code_memory::lookup_code;
use std::cell::RefCell;

thread_local! {
    /// Exit frames of this thread's wasm activations, innermost last: (frame pointer, return address).
    static EXITS: RefCell<Vec<(usize, usize)>> = const { RefCell::new(Vec::new()) };
}

/// An exit frame recorded for as long as the value lives.
pub(crate) struct ExitFrame(());

impl ExitFrame {
    /// Records that the wasm frame with frame pointer `fp` called into the runtime, returning to `pc`.
    pub(crate) fn enter(fp: usize, pc: usize) -> ExitFrame {
        EXITS.with(|e| e.borrow_mut().push((fp, pc)));
        ExitFrame(())
    }
}

impl Drop for ExitFrame {
    fn drop(&mut self) {
        EXITS.with(|e| e.borrow_mut().pop());
    }
}

/// Calls `visit` with the address of every stack slot that holds a GC reference in the wasm frames of
/// this thread's activations.
pub(crate) fn for_each_stack_root(visit: &mut dyn FnMut(*mut u64)) {
    let exits = EXITS.with(|e| e.borrow().clone());
    for (fp, pc) in exits {
        walk(fp, pc, visit);
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
