//! The process-wide signal handler for faults in compiled wasm code (Unix).
//!
//! SIGSEGV, SIGBUS, SIGILL and SIGFPE are handled on an alternate signal stack. A signal whose PC lies
//! outside published wasm code goes to the previous handler (or gets the default action, by re-raising
//! the fault with it restored). Inside wasm code, only a fault at a registered trap site becomes a trap,
//! and a memory fault only when its address lies in a linear memory's reservation (see [`classify`]);
//! anything else aborts the process with a diagnostic on stderr.

use super::{JMP_BUF, memory_ranges, record_trap, unwind};
use crate::code_memory::{is_wasm_pc, trap_code_at};
use std::cell::Cell;
use std::sync::OnceLock;
use wasmz_environ::TrapCode;

const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// The handlers that were installed before ours, in `SIGNALS` order.
static PREVIOUS: OnceLock<[libc::sigaction; 4]> = OnceLock::new();

/// Size of each thread's alternate signal stack where the kernel's signal frame is small.
const ALT_STACK_SIZE: usize = 64 * 1024;

/// Size of each thread's alternate signal stack: [`ALT_STACK_SIZE`], or more where the kernel says its
/// signal frame needs much of that (`AT_MINSIGSTKSZ`: on aarch64 the frame holds the SVE registers,
/// and the SME state, which can take tens of KiB), in whole pages.
fn alt_stack_size() -> usize {
    // SAFETY: `getauxval` only reads the auxiliary vector; it returns 0 for an absent entry.
    let frame = usize::try_from(unsafe { libc::getauxval(libc::AT_MINSIGSTKSZ) }).unwrap_or(0);
    ALT_STACK_SIZE
        .max(frame.saturating_add(ALT_STACK_SIZE / 2))
        .next_multiple_of(crate::code_memory::page_size())
}

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
    let stack_size = alt_stack_size();
    if current.ss_flags & libc::SS_DISABLE == 0 && current.ss_size >= stack_size {
        return; // The thread already has a large enough one (e.g. Rust's main thread handler).
    }
    // The guard must be a whole page of the host's size (16 or 64 KiB on some aarch64 kernels):
    // `mprotect` rounds its length up to pages, and a 4 KiB guard would take a whole page from the
    // stack above it.
    let page = crate::code_memory::page_size();
    let size = stack_size + page;
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
            ss_size: stack_size,
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
    if !is_wasm_pc(pc) {
        // Not ours: a fault of host code (Rust's stack overflow detection, for one) or a signal sent
        // to a thread outside wasm.
        chain(sig, info, context);
        return;
    }
    // SAFETY: `info` is the siginfo_t the kernel passed with SA_SIGINFO.
    let (si_code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
    let armed = !JMP_BUF.with(Cell::get).is_null();
    match classify(sig, si_code, pc, addr) {
        Ok(code) if armed => {
            record_trap(code, Some(pc), fp, sp);
            unwind();
        }
        Ok(_) => fatal(
            sig,
            si_code,
            pc,
            addr,
            "no wasm call is active on this thread",
        ),
        Err(reason) => fatal(sig, si_code, pc, addr, reason),
    }
}

/// Decides whether a signal at `pc` (inside wasm code) is a wasm trap, and which: only a fault the
/// kernel raised for the instruction at a registered trap site is, and a memory fault only when it
/// hit the reservation of a linear memory (an out-of-bounds access of a memory without explicit
/// bounds checks lands in its guard region). Anything else is a bug (of the compiler or the runtime),
/// or a signal sent by someone else, and must not be reported as a trap.
fn classify(
    sig: libc::c_int,
    si_code: libc::c_int,
    pc: usize,
    addr: usize,
) -> Result<TrapCode, &'static str> {
    // SI_USER, SI_QUEUE, SI_TKILL and the like are zero or negative; kernel-generated faults positive.
    if si_code <= 0 {
        return Err("the signal was sent by a process, it is not a fault");
    }
    let code = trap_code_at(pc).ok_or("the instruction is not a trap site")?;
    match sig {
        libc::SIGSEGV | libc::SIGBUS => {
            if code != TrapCode::MemoryOutOfBounds {
                Err("a memory fault at a trap site that is no memory access")
            } else if !memory_ranges::contains(addr) {
                Err("the fault address is outside every linear memory reservation")
            } else {
                Ok(code)
            }
        }
        // Division instructions (x86-64) trap by themselves.
        libc::SIGFPE => match code {
            TrapCode::IntegerDivisionByZero | TrapCode::IntegerOverflow => Ok(code),
            _ => Err("an arithmetic fault at a trap site that is no division"),
        },
        // Explicit trap instructions (ud2, udf) of any trap code.
        libc::SIGILL => Ok(code),
        _ => Err("unexpected signal"),
    }
}

/// Reports a signal in wasm code that is not a trap on stderr and aborts the process: carrying on
/// could hide memory corruption. Async-signal-safe (`write` and `abort` only).
fn fatal(sig: libc::c_int, si_code: libc::c_int, pc: usize, addr: usize, reason: &str) -> ! {
    let mut msg = Message::new();
    msg.push(b"wasmz: fatal: ");
    msg.push(match sig {
        libc::SIGSEGV => b"SIGSEGV".as_slice(),
        libc::SIGBUS => b"SIGBUS",
        libc::SIGILL => b"SIGILL",
        libc::SIGFPE => b"SIGFPE",
        _ => b"signal",
    });
    msg.push(b" in wasm code that is not a trap: pc ");
    msg.hex(pc);
    msg.push(b", fault address ");
    msg.hex(addr);
    msg.push(b", si_code ");
    msg.decimal(si_code);
    msg.push(b": ");
    msg.push(reason.as_bytes());
    msg.push(b"; aborting\n");
    // SAFETY: writing a buffer we own to stderr; `abort` never returns.
    unsafe {
        libc::write(2, msg.buf.as_ptr().cast(), msg.len);
        libc::abort()
    }
}

/// A fixed-size message built without allocating (for the signal handler).
struct Message {
    buf: [u8; 256],
    len: usize,
}

impl Message {
    fn new() -> Message {
        Message {
            buf: [0; 256],
            len: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    fn hex(&mut self, value: usize) {
        let mut digits = [0u8; 18];
        digits[0] = b'0';
        digits[1] = b'x';
        for (i, d) in digits[2..].iter_mut().enumerate() {
            let nibble = (value >> (60 - 4 * i)) & 0xf;
            *d = b"0123456789abcdef"[nibble];
        }
        self.push(&digits);
    }

    fn decimal(&mut self, value: libc::c_int) {
        let mut digits = [0u8; 12];
        let mut i = digits.len();
        let mut v = value.unsigned_abs();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        if value < 0 {
            i -= 1;
            digits[i] = b'-';
        }
        self.push(&digits[i..]);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code_memory::CodeMemory;
    use wasmz_environ::CodeImage;

    /// Fault codes the kernel uses (`si_code`), and the codes of signals sent by processes.
    const SEGV_MAPERR: libc::c_int = 1;
    const SI_TKILL: libc::c_int = -6;

    #[test]
    fn only_faults_at_trap_sites_of_the_right_kind_and_address_become_traps() {
        let image = CodeImage {
            code: vec![0; 64],
            traps: [
                (8, TrapCode::MemoryOutOfBounds),
                (16, TrapCode::IntegerDivisionByZero),
                (24, TrapCode::StackOverflow),
            ]
            .into_iter()
            .collect(),
            ..CodeImage::default()
        };
        // SAFETY: the code is never run: the test only asks the registry about its addresses.
        let code = unsafe { CodeMemory::publish(image) }.unwrap();
        let pc = |offset| code.at(offset) as usize;
        // A linear memory's reservation (nothing is mapped: the registry compares addresses).
        let memory = 0x1100_0000_0000usize;
        let _range = memory_ranges::register(memory, 1 << 20);
        let inside = memory + 4096;
        let outside = memory + (1 << 20);

        assert_eq!(
            classify(libc::SIGSEGV, SEGV_MAPERR, pc(8), inside),
            Ok(TrapCode::MemoryOutOfBounds)
        );
        assert_eq!(
            classify(libc::SIGBUS, SEGV_MAPERR, pc(8), inside),
            Ok(TrapCode::MemoryOutOfBounds)
        );
        assert_eq!(
            classify(libc::SIGFPE, SEGV_MAPERR, pc(16), 0),
            Ok(TrapCode::IntegerDivisionByZero)
        );
        assert_eq!(
            classify(libc::SIGILL, SEGV_MAPERR, pc(24), pc(24)),
            Ok(TrapCode::StackOverflow)
        );
        assert_eq!(
            classify(libc::SIGILL, SEGV_MAPERR, pc(8), pc(8)),
            Ok(TrapCode::MemoryOutOfBounds),
            "an explicit bounds check's trap instruction"
        );

        // A wild access from a memory-access site.
        assert!(classify(libc::SIGSEGV, SEGV_MAPERR, pc(8), outside).is_err());
        assert!(classify(libc::SIGSEGV, SEGV_MAPERR, pc(8), 16).is_err());
        // A fault away from any trap site.
        assert!(classify(libc::SIGSEGV, SEGV_MAPERR, pc(9), inside).is_err());
        assert!(classify(libc::SIGILL, SEGV_MAPERR, pc(0), pc(0)).is_err());
        assert!(classify(libc::SIGFPE, SEGV_MAPERR, pc(20), 0).is_err());
        // A memory fault at a trap site of another kind, and a division fault at a memory site.
        assert!(classify(libc::SIGSEGV, SEGV_MAPERR, pc(24), inside).is_err());
        assert!(classify(libc::SIGFPE, SEGV_MAPERR, pc(8), 0).is_err());
        // Signals sent by a process, even at a trap site and with a plausible address.
        for si_code in [SI_TKILL, 0, -1] {
            for (sig, offset) in [(libc::SIGSEGV, 8), (libc::SIGFPE, 16), (libc::SIGILL, 24)] {
                assert!(classify(sig, si_code, pc(offset), inside).is_err());
            }
        }
    }

    #[test]
    fn messages_format_numbers_without_allocating() {
        let mut m = Message::new();
        m.push(b"pc ");
        m.hex(0xdead_beef);
        m.push(b" code ");
        m.decimal(-6);
        m.push(b" ");
        m.decimal(0);
        m.push(b" ");
        m.decimal(128);
        assert_eq!(
            std::str::from_utf8(&m.buf[..m.len]).unwrap(),
            "pc 0x00000000deadbeef code -6 0 128"
        );
        let mut long = Message::new();
        for _ in 0..100 {
            long.push(b"0123456789");
        }
        assert_eq!(long.len, long.buf.len());
    }
}
