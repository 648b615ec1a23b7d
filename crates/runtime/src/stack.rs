//! How much native stack the current thread has left for wasm.
//!
//! The wasm stack limit (`Config::max_wasm_stack`) is counted from the stack pointer of the outermost
//! host → wasm call, but the thread may have less stack than that below it (a small thread, a low
//! `ulimit -s`, a deep host call chain). Compiled code must hit its stack-limit check, which traps with
//! `StackOverflow`, before it reaches the end of the real stack, and host functions, builtins (lazy
//! compilation among them) and trap handling need room below the last wasm frame too. So the limit is
//! never set lower than the thread's *stack floor*: the lowest usable address of the thread's stack
//! plus [`STACK_MARGIN`]. The thread's stack bounds are found once per thread and kept in a
//! thread-local; a call entered on another stack (a coroutine's) gets no floor.

use std::cell::Cell;

/// Native stack kept free below the wasm stack limit, for host functions called by wasm, builtins
/// and trap handling.
pub const STACK_MARGIN: usize = 128 * 1024;

thread_local! {
    /// This thread's stack: (lowest usable address, highest address), or (0, 0) when unknown; `None`
    /// until computed.
    static BOUNDS: Cell<Option<(usize, usize)>> = const { Cell::new(None) };
}

/// The lowest address wasm code entered at stack pointer `sp` may use as its stack limit: the
/// thread's stack floor, or 0 (no floor) when the thread's stack bounds are unknown or `sp` is not on
/// that stack (code running on a stack of its own, such as a coroutine's, whose bounds the thread
/// does not know). One thread-local read after the first call on a thread.
#[inline]
pub fn stack_floor(sp: usize) -> usize {
    let (low, high) = match BOUNDS.with(Cell::get) {
        Some(bounds) => bounds,
        None => {
            let bounds = stack_bounds().unwrap_or((0, 0));
            BOUNDS.with(|b| b.set(Some(bounds)));
            bounds
        }
    };
    if sp > low && sp <= high {
        low.saturating_add(STACK_MARGIN)
    } else {
        0
    }
}

/// The current thread's stack: (lowest usable address, above the guard page; highest address).
#[cfg(any(target_os = "linux", target_os = "android"))]
#[cold]
fn stack_bounds() -> Option<(usize, usize)> {
    // For the main thread glibc derives the bounds from the stack's mapping and its resource limit;
    // for other threads it reports the stack without its guard region.
    // SAFETY: `attr` is initialized by `pthread_getattr_np` before it is read, and destroyed once;
    // `pthread_attr_getstack` writes the two out-parameters.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let rc = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        (rc == 0 && !addr.is_null()).then(|| (addr as usize, (addr as usize).saturating_add(size)))
    }
}

/// The current thread's stack (unknown on this system).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[cold]
fn stack_bounds() -> Option<(usize, usize)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mapping of /proc/self/maps holding `addr`: (start, end).
    fn mapping_of(addr: usize) -> (usize, usize) {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .map(|line| {
                let range = line.split_whitespace().next().unwrap();
                let (lo, hi) = range.split_once('-').unwrap();
                (
                    usize::from_str_radix(lo, 16).unwrap(),
                    usize::from_str_radix(hi, 16).unwrap(),
                )
            })
            .find(|(lo, hi)| (*lo..*hi).contains(&addr))
            .unwrap_or_else(|| panic!("{addr:#x} is not mapped"))
    }

    #[test]
    fn the_floor_is_the_margin_above_the_bottom_of_the_thread_stack() {
        let size = 1 << 20;
        std::thread::Builder::new()
            .stack_size(size)
            .spawn(move || {
                let sp = crate::traphandlers::approximate_sp();
                let floor = stack_floor(sp);
                assert!(floor > STACK_MARGIN && floor < sp, "{floor:#x} {sp:#x}");
                // The thread has at least the stack it asked for (glibc may hand out a larger cached
                // one) ...
                assert!(
                    sp - floor > size - STACK_MARGIN - 64 * 1024,
                    "{floor:#x} {sp:#x}"
                );
                // ... and the floor's margin is the bottom of the stack's mapping: below it lies the
                // guard page (a mapping of its own).
                let bottom = floor - STACK_MARGIN;
                assert_eq!(mapping_of(bottom), mapping_of(sp));
                assert_ne!(mapping_of(bottom - 1), mapping_of(sp));
                assert_eq!(stack_floor(sp - 1000), floor);
                // Another stack (a coroutine's, say) has no floor.
                let elsewhere = vec![0u8; 4096];
                assert_eq!(stack_floor(elsewhere.as_ptr() as usize + 2048), 0);
                assert_eq!(stack_floor(floor - STACK_MARGIN), 0);
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
