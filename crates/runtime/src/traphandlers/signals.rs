//! The process-wide signal handler for faults in compiled wasm code (Unix).
//!
//! SIGSEGV, SIGBUS, SIGILL and SIGFPE are handled on an alternate signal stack. When the faulting PC lies
//! in published wasm code and the thread is inside a wasm call, the fault becomes a trap; otherwise the
//! previous handler runs (or the default action, by re-raising the fault with it restored).

use super::{JMP_BUF, record_trap, unwind};
use crate::code_memory::{is_wasm_pc, trap_code_at};
use std::cell::Cell;
use std::sync::OnceLock;
use wasmz_environ::TrapCode;

const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// The handlers that were installed before ours, in `SIGNALS` order.
static PREVIOUS: OnceLock<[libc::sigaction; 4]> = OnceLock::new();

/// Size of each thread's alternate signal stack.
const ALT_STACK_SIZE: usize = 64 * 1024;

struct AltStack {
    map: *mut libc::c_void,
    size: usize,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        if self.map.is_null() {
            return;
        }
        // SAFETY: disabling the alternate stack of this thread before unmapping the memory we mapped for it.
        unsafe {
            let disable = libc::stack_t {
                ss_sp: std::ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            libc::sigaltstack(&disable, std::ptr::null_mut());
            libc::munmap(self.map, self.size);
        }
    }
}

thread_local! {
    /// Set once this thread has an alternate stack and the process has our handlers.
    static ALT_STACK: Cell<bool> = const { Cell::new(false) };
    static ALT_STACK_OWNER: std::cell::RefCell<Option<AltStack>> = const { std::cell::RefCell::new(None) };
}

/// Installs the handlers (once per process) and an alternate signal stack (once per thread). After the
/// first call on a thread this is one thread-local load.
#[inline]
pub(super) fn ensure_installed() {
    if !ALT_STACK.with(Cell::get) {
        install_slow();
    }
}

#[cold]
#[inline(never)]
fn install_slow() {
    PREVIOUS.get_or_init(install_handlers);
    install_alt_stack();
    ALT_STACK.with(|c| c.set(true));
}

fn install_handlers() -> [libc::sigaction; 4] {
    // SAFETY: zeroed `sigaction` structs are valid "no handler" values that `sigaction` overwrites.
    let mut previous: [libc::sigaction; 4] = unsafe { std::mem::zeroed() };
    for (sig, prev) in SIGNALS.iter().zip(previous.iter_mut()) {
        // SAFETY: installing a handler with a valid `sigaction`; `handler` has the SA_SIGINFO signature.
        // SA_NODEFER keeps the signal unblocked after we jump out of the handler with siglongjmp.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(*sig, &action, prev);
        }
    }
    previous
}

fn install_alt_stack() {
    // SAFETY: querying the current alternate stack into a valid struct.
    let mut current: libc::stack_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::sigaltstack(std::ptr::null(), &mut current) };
    if current.ss_flags & libc::SS_DISABLE == 0 && current.ss_size >= ALT_STACK_SIZE {
        return; // The thread already has a large enough one (e.g. Rust's main thread handler).
    }
    let page = 4096;
    let size = ALT_STACK_SIZE + page;
    // SAFETY: a fresh anonymous mapping; the lowest page becomes a guard page.
    let map = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANON,
            -1,
            0,
        )
    };
    if map == libc::MAP_FAILED {
        return;
    }
    // SAFETY: `map` is our mapping of `size` bytes; the stack starts after the guard page.
    unsafe {
        libc::mprotect(map, page, libc::PROT_NONE);
        let stack = libc::stack_t {
            ss_sp: map.cast::<u8>().add(page).cast(),
            ss_flags: 0,
            ss_size: ALT_STACK_SIZE,
        };
        libc::sigaltstack(&stack, std::ptr::null_mut());
    }
    ALT_STACK_OWNER.with(|o| *o.borrow_mut() = Some(AltStack { map, size }));
}

/// Reads (pc, fp, sp) out of a signal context.
///
/// # Safety
/// `context` must be the `ucontext_t` the kernel passed to the handler.
unsafe fn registers(context: *mut libc::c_void) -> (usize, usize, usize) {
    let uc = context.cast::<libc::ucontext_t>();
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: the kernel passes a valid ucontext_t (caller's contract).
        let gregs = unsafe { &(*uc).uc_mcontext.gregs };
        (
            gregs[libc::REG_RIP as usize] as usize,
            gregs[libc::REG_RBP as usize] as usize,
            gregs[libc::REG_RSP as usize] as usize,
        )
    }
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: the kernel passes a valid ucontext_t (caller's contract).
        let mc = unsafe { &(*uc).uc_mcontext };
        (mc.pc as usize, mc.regs[29] as usize, mc.sp as usize)
    }
}

unsafe extern "C" fn handler(
    sig: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: `context` is the ucontext_t passed by the kernel.
    let (pc, fp, sp) = unsafe { registers(context) };
    let armed = !JMP_BUF.with(Cell::get).is_null();
    if armed && is_wasm_pc(pc) {
        let code = trap_code_at(pc).unwrap_or(match sig {
            libc::SIGFPE => TrapCode::IntegerDivisionByZero,
            libc::SIGILL => TrapCode::UnreachableCodeReached,
            _ => TrapCode::MemoryOutOfBounds,
        });
        record_trap(code, Some(pc), fp, sp);
        unwind();
    }
    chain(sig, info, context);
}

/// Hands a signal that is not a wasm trap to the handler that was there before.
fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let Some(previous) = PREVIOUS.get() else {
        return;
    };
    let Some(i) = SIGNALS.iter().position(|s| *s == sig) else {
        return;
    };
    let prev = &previous[i];
    if prev.sa_sigaction == libc::SIG_DFL || prev.sa_sigaction == libc::SIG_IGN {
        // Restore it and return: the faulting instruction runs again and gets the default action.
        // SAFETY: reinstalling the previously installed (valid) action.
        unsafe { libc::sigaction(sig, prev, std::ptr::null_mut()) };
    } else if prev.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was installed with SA_SIGINFO, so it has this signature.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(prev.sa_sigaction) };
        f(sig, info, context);
    } else {
        // SAFETY: without SA_SIGINFO the previous handler takes only the signal number.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(prev.sa_sigaction) };
        f(sig);
    }
}
