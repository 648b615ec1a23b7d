//! The processor time of other threads of this process: how a thread waiting for another's work tells
//! a thread that runs from one that gets no processor (a background thread at nice 19 on a busy
//! machine).

use std::time::Duration;

/// A thread's processor-time clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ThreadClock(libc::clockid_t);

impl ThreadClock {
    /// The calling thread's clock; `None` where the system gives threads none.
    pub(crate) fn current() -> Option<ThreadClock> {
        #[cfg(target_os = "linux")]
        {
            let mut clock: libc::clockid_t = 0;
            // SAFETY: `pthread_self()` names the calling thread, which is alive; `clock` is a valid
            // place for the result.
            if unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) } == 0 {
                return Some(ThreadClock(clock));
            }
        }
        None
    }

    /// The processor time the thread has used; `None` once it has ended (its clock is gone).
    pub(crate) fn used(self) -> Option<Duration> {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid place for the result; a clock that no longer exists is reported
        // as an error.
        if unsafe { libc::clock_gettime(self.0, &mut now) } != 0 {
            return None;
        }
        Some(Duration::new(
            u64::try_from(now.tv_sec).ok()?,
            u32::try_from(now.tv_nsec).ok()?,
        ))
    }

    /// The clock as 32 bits, never 0 (thread clocks are negative numbers).
    pub(crate) fn to_bits(self) -> u32 {
        self.0 as u32
    }

    /// The clock [`ThreadClock::to_bits`] gave; `None` for 0.
    pub(crate) fn from_bits(bits: u32) -> Option<ThreadClock> {
        (bits != 0).then_some(ThreadClock(bits as libc::clockid_t))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn another_threads_clock_shows_whether_it_runs() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let busy = std::thread::spawn(move || {
            tx.send(ThreadClock::current().expect("a clock").to_bits())
                .unwrap();
            // Spins until told to stop.
            while stop_rx.try_recv().is_err() {
                std::hint::spin_loop();
            }
        });
        let clock = ThreadClock::from_bits(rx.recv().unwrap()).expect("non-zero bits");
        let before = clock.used().expect("the thread runs");
        std::thread::sleep(Duration::from_millis(200));
        let after = clock.used().expect("the thread runs");
        assert!(after > before, "{before:?} then {after:?}");
        stop_tx.send(()).unwrap();
        busy.join().unwrap();
        assert_eq!(ThreadClock::from_bits(0), None);
    }
}
