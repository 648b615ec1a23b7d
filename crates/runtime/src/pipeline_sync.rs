//! Making freshly published code safe for *other* threads to run on aarch64.
//!
//! [`crate::code_memory::flush_instruction_cache`] cleans the written lines to the point of
//! unification and invalidates them in every core's instruction cache, and resynchronizes the
//! publishing core. The architecture asks one more thing of cross-modified code: a core that runs the
//! new instructions must itself go through a context synchronization event (an `isb`, or taking and
//! returning from an exception) after the invalidation, or it may still run instructions it fetched
//! earlier. Another thread reaches published code through an ordinary load of a code pointer (a
//! function compiled in the background, a `Module` compiled on one thread and run on another), with
//! no such event on its way. Linux's `membarrier` with `MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE`
//! makes every core running a thread of this process execute one before the call returns (kernel
//! 4.16 or later); this module calls it.
//!
//! Only aarch64 code calls it: on x86-64 instruction fetch is coherent with the stores that wrote
//! fresh code. The module is built everywhere so that its tests run on x86-64 machines too.
#![cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]

use std::sync::atomic::{AtomicBool, Ordering};

/// `MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE`.
const PRIVATE_EXPEDITED_SYNC_CORE: libc::c_int = 1 << 5;
/// `MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE`.
const REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: libc::c_int = 1 << 6;

/// Set once the kernel turned the command down as unknown: later calls skip the system call.
static UNSUPPORTED: AtomicBool = AtomicBool::new(false);

fn membarrier(cmd: libc::c_int) -> std::io::Result<libc::c_long> {
    // SAFETY: membarrier takes a command and two integer arguments and touches no memory of ours.
    let r = unsafe {
        libc::syscall(
            libc::SYS_membarrier,
            cmd,
            0 as libc::c_uint,
            0 as libc::c_int,
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Makes every core running a thread of this process execute a context synchronization event;
/// returns whether it happened (not on a kernel without the command). The process registers for the
/// command the first time (and again in a child after `fork`, which starts unregistered).
pub(crate) fn sync_all_threads() -> bool {
    if UNSUPPORTED.load(Ordering::Relaxed) {
        return false;
    }
    match membarrier(PRIVATE_EXPEDITED_SYNC_CORE) {
        Ok(_) => true,
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            membarrier(REGISTER_PRIVATE_EXPEDITED_SYNC_CORE).is_ok()
                && membarrier(PRIVATE_EXPEDITED_SYNC_CORE).is_ok()
        }
        Err(_) => {
            UNSUPPORTED.store(true, Ordering::Relaxed);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `MEMBARRIER_CMD_QUERY`: the bit mask of the commands the kernel supports.
    const QUERY: libc::c_int = 0;

    /// Whether the kernel offers the synchronization [`sync_all_threads`] asks for.
    fn supported() -> bool {
        membarrier(QUERY)
            .is_ok_and(|mask| mask & libc::c_long::from(PRIVATE_EXPEDITED_SYNC_CORE) != 0)
    }

    #[test]
    fn every_thread_is_synchronized_where_the_kernel_offers_it() {
        if !supported() {
            assert!(!sync_all_threads(), "the kernel lacks the command");
            return;
        }
        // Twice: the first call registers the process, the second finds it registered.
        assert!(sync_all_threads());
        assert!(sync_all_threads());
        // With another thread of the process running.
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let spinner = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        };
        assert!(sync_all_threads());
        stop.store(true, Ordering::Relaxed);
        spinner.join().unwrap();
    }

    #[test]
    fn a_forked_child_registers_again() {
        if !supported() {
            return;
        }
        assert!(sync_all_threads());
        // SAFETY: the child only makes system calls (membarrier, _exit) before exiting.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let ok = sync_all_threads();
            // SAFETY: ends the child without running the parent's destructors or test harness.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: waits for the child just forked.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status));
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "the child could not synchronize"
        );
    }
}
