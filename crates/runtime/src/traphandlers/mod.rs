//! Trap handling: running compiled code so that every trap comes back to the caller as a [`TrapInfo`].
//!
//! A host → wasm call goes through [`call_entry`], which arms a jump buffer (in `helpers.c`) and calls the
//! entry trampoline. A trap is raised either by a fault in compiled code (caught by the signal handler in
//! [`signals`], which maps the faulting PC to a trap code through the published trap tables) or by the
//! raise-trap builtin. Both record the trap in thread-local state and jump back to the armed buffer. Only
//! compiled wasm frames, trampolines and builtins without destructors lie between, so no Rust frame with
//! something to drop is skipped: host functions return their errors, and the trap is raised after they
//! have returned.

pub(crate) mod memory_ranges;
mod signals;
mod throw;

pub(crate) use throw::throw;

use crate::code_memory::lookup_code;
use crate::exception::ThrownException;
use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use wasmz_environ::TrapCode;

/// Innermost frames kept in a trap's backtrace.
const BACKTRACE_HEAD: usize = 64;
/// Outermost frames kept in a trap's backtrace; frames between the head and the tail of a deeper
/// backtrace are counted, not kept.
const BACKTRACE_TAIL: usize = 64;
/// Most frames kept in a trap's backtrace.
pub const MAX_BACKTRACE: usize = BACKTRACE_HEAD + BACKTRACE_TAIL;

type EntryFn = unsafe extern "C" fn(*mut c_void, *mut c_void, *const u8, *mut c_void);

unsafe extern "C" {
    fn wasmz_call(
        slot: *mut *mut c_void,
        entry: EntryFn,
        callee_vmctx: *mut c_void,
        caller_vmctx: *mut c_void,
        code: *const u8,
        values: *mut c_void,
    ) -> libc::c_int;
    fn wasmz_unwind(buf: *mut c_void) -> !;
}

thread_local! {
    /// The innermost armed jump buffer of this thread (null outside wasm).
    static JMP_BUF: Cell<*mut c_void> = const { Cell::new(std::ptr::null_mut()) };
    /// Stack pointer at the outermost entry: frame pointers above it are not wasm frames.
    static ENTRY_SP: Cell<usize> = const { Cell::new(0) };
    static TRAP_CODE: Cell<u8> = const { Cell::new(0) };
    static TRAP_PCS: [Cell<usize>; MAX_BACKTRACE] = const { [const { Cell::new(0) }; MAX_BACKTRACE] };
    static TRAP_LEN: Cell<usize> = const { Cell::new(0) };
    static TRAP_MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
    static TRAP_EXIT: Cell<Option<i32>> = const { Cell::new(None) };
    static TRAP_EXCEPTION: RefCell<Option<Box<ThrownException>>> = const { RefCell::new(None) };
}

/// One frame of a wasm backtrace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    /// Index of the function in its module's function index space.
    pub func_index: u32,
    /// The function's name from the name section, if any.
    pub func_name: Option<String>,
    /// Byte offset in the wasm module of the operator executing in this frame (the trapping one, or
    /// the call), when known.
    pub module_offset: Option<u32>,
    /// Offset of the instruction inside the function's machine code.
    pub code_offset: u32,
}

/// A trap that ended a wasm call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrapInfo {
    /// Why it trapped.
    pub code: TrapCode,
    /// The host's message, for traps raised by host functions.
    pub message: Option<String>,
    /// The exit status, when a host function ended the run on the guest's request (WASI `proc_exit`).
    pub exit_code: Option<i32>,
    /// Wasm frames, innermost first.
    pub backtrace: Vec<FrameInfo>,
    /// Frames left out of the middle of a very deep backtrace (between its first and last
    /// [`MAX_BACKTRACE`]` / 2` frames).
    pub frames_elided: usize,
    /// The exception, for an [`TrapCode::UnhandledException`] trap.
    pub exception: Option<Box<ThrownException>>,
}

/// Records `code` and a backtrace starting at (`pc`, `fp`) in this thread's trap state.
///
/// Async-signal-safe: it only touches thread-locals with constant initializers and reads stack memory
/// inside this thread's wasm stack range.
pub(crate) fn record_trap(code: TrapCode, pc: Option<usize>, fp: usize, sp: usize) {
    TRAP_CODE.with(|c| c.set(code.to_u8()));
    let top = ENTRY_SP.with(Cell::get);
    TRAP_PCS.with(|pcs| {
        // The first frames in order, then the last ones in a ring.
        let keep = |n: usize, pc: usize| {
            let slot = if n < BACKTRACE_HEAD {
                n
            } else {
                BACKTRACE_HEAD + (n - BACKTRACE_HEAD) % BACKTRACE_TAIL
            };
            pcs[slot].set(pc);
        };
        let mut n = 0;
        if let Some(pc) = pc {
            keep(0, pc);
            n = 1;
        }
        let mut fp = fp;
        // Frame pointers strictly increase toward `top`, so the walk ends.
        while fp != 0 && fp >= sp && fp < top && fp.is_multiple_of(8) {
            // SAFETY: `fp` lies between the trapping stack pointer and the entry stack pointer of this
            // thread, so it points into this thread's live stack; compiled code keeps frame pointers,
            // so a frame record is `[saved fp, return address]`.
            let (next, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
            if !crate::code_memory::is_wasm_pc(ret) {
                break;
            }
            keep(n, ret);
            n += 1;
            if next <= fp {
                break;
            }
            fp = next;
        }
        TRAP_LEN.with(|l| l.set(n));
    });
}

/// Unwinds to the innermost armed entry. Must only be called with wasm frames (and frames without
/// destructors) between the caller and that entry.
pub(crate) fn unwind() -> ! {
    let buf = JMP_BUF.with(Cell::get);
    assert!(!buf.is_null(), "a trap was raised outside any wasm call");
    // SAFETY: `buf` is the jump buffer armed by the innermost live `wasmz_call` on this thread (it is reset
    // when that call returns), and the frames above it hold nothing to drop (see the module docs).
    unsafe { wasmz_unwind(buf) }
}

/// Sets the message and exit status of the trap about to be raised (host function errors).
pub fn set_trap_message(message: Option<String>, exit_code: Option<i32>) {
    TRAP_MESSAGE.with(|m| *m.borrow_mut() = message);
    TRAP_EXIT.with(|e| e.set(exit_code));
}

/// Sets the exception of the unhandled-exception trap about to be raised.
pub(crate) fn set_trap_exception(exception: Option<Box<ThrownException>>) {
    TRAP_EXCEPTION.with(|e| *e.borrow_mut() = exception);
}

/// Whether this thread is inside a wasm call.
pub fn in_wasm_call() -> bool {
    !JMP_BUF.with(Cell::get).is_null()
}

fn take_trap() -> TrapInfo {
    let code =
        TrapCode::from_u8(TRAP_CODE.with(Cell::get)).unwrap_or(TrapCode::UnreachableCodeReached);
    let message = TRAP_MESSAGE.with(|m| m.borrow_mut().take());
    let exit_code = TRAP_EXIT.with(|e| e.take());
    let exception = TRAP_EXCEPTION.with(|e| e.borrow_mut().take());
    let len = TRAP_LEN.with(Cell::get);
    let kept = len.min(MAX_BACKTRACE);
    let frames_elided = len - kept;
    let mut backtrace = Vec::with_capacity(kept);
    TRAP_PCS.with(|pcs| {
        // The head in order, then the ring of the last frames from its oldest entry.
        let ring_start = if frames_elided > 0 {
            (len - BACKTRACE_HEAD) % BACKTRACE_TAIL
        } else {
            0
        };
        let order = (0..kept.min(BACKTRACE_HEAD)).chain(
            (0..kept.saturating_sub(BACKTRACE_HEAD))
                .map(|i| BACKTRACE_HEAD + (ring_start + i) % BACKTRACE_TAIL),
        );
        for (i, slot) in order.enumerate() {
            // Return addresses point after the call; step back into the calling instruction.
            let pc = if i == 0 {
                pcs[slot].get()
            } else {
                pcs[slot].get() - 1
            };
            if let Some(l) = lookup_code(pc)
                && let Some(defined) = l.image.function_at(l.offset)
            {
                let func_index = l.image.num_imported_funcs + defined;
                backtrace.push(FrameInfo {
                    func_index,
                    func_name: l.image.func_name(func_index).map(str::to_string),
                    module_offset: l.image.wasm_offset(l.offset),
                    code_offset: l.offset - l.image.functions[defined as usize].start,
                });
            }
        }
    });
    TrapInfo {
        code,
        message,
        exit_code,
        backtrace,
        frames_elided,
        exception,
    }
}

/// Calls the entry trampoline `entry` with `(callee_vmctx, caller_vmctx, code, values)`, turning any trap
/// into `Err`.
///
/// # Safety
/// `entry` must be an entry trampoline of a published image, `code` a function of the signature the
/// trampoline was made for, the vmctx pointers live instances, and `values` must hold enough 16-byte
/// slots for the arguments and results.
#[inline]
pub unsafe fn call_entry(
    entry: *const u8,
    callee_vmctx: *mut c_void,
    caller_vmctx: *mut c_void,
    code: *const u8,
    values: *mut c_void,
) -> Result<(), TrapInfo> {
    signals::ensure_installed();
    let outermost = ENTRY_SP.with(Cell::get) == 0;
    if outermost {
        let marker = 0u8;
        ENTRY_SP.with(|s| s.set(std::ptr::addr_of!(marker) as usize));
    }
    // SAFETY: `entry` is an entry trampoline with the C signature `EntryFn` (caller's contract).
    let entry: EntryFn = unsafe { std::mem::transmute::<*const u8, EntryFn>(entry) };
    // SAFETY: the jump slot is this thread's; the arguments are valid per the caller's contract.
    let unwound = JMP_BUF.with(|slot| unsafe {
        wasmz_call(
            slot.as_ptr(),
            entry,
            callee_vmctx,
            caller_vmctx,
            code,
            values,
        )
    });
    if outermost {
        ENTRY_SP.with(|s| s.set(0));
    }
    if unwound == 0 {
        Ok(())
    } else {
        Err(take_trap())
    }
}

/// The current stack pointer, approximately (the address of a local).
#[inline(never)]
pub fn approximate_sp() -> usize {
    let marker = 0u8;
    std::hint::black_box(std::ptr::addr_of!(marker) as usize)
}
