//! How much native stack the current thread has left for wasm.
//!
//! The wasm stack limit (`Config::max_wasm_stack`) is counted from the stack pointer of the outermost
//! host → wasm call, but the thread may have less stack than that below it (a small thread, a low
//! `ulimit -s`, a deep host call chain). Compiled code must hit its stack-limit check, which traps with
//! `StackOverflow`, before it reaches the end of the real stack, and host functions, builtins (lazy
//! compilation among them) and trap handling need room below the last wasm frame too. So the limit is
//! never set lower than the thread's *stack floor*: the lowest usable address of the thread's stack
//! plus [`STACK_MARGIN`]. The floor is computed once per thread and kept in a thread-local.

use std::cell::Cell;

/// Native stack kept free below the wasm stack limit, for host functions called by wasm, builtins
/// and trap handling.
pub const STACK_MARGIN: usize = 128 * 1024;

thread_local! {
    /// This thread's stack floor; `usize::MAX` until computed.
    static FLOOR: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The lowest address wasm code of this thread may use as its stack limit (0 when the thread's
/// stack bounds are unknown). One thread-local read after the first call on a thread.
#[inline]
pub fn stack_floor() -> usize {
    let floor = FLOOR.with(Cell::get);
    if floor != usize::MAX {
        return floor;
    }
    let floor = stack_low().map_or(0, |low| low.saturating_add(STACK_MARGIN));
    FLOOR.with(|f| f.set(floor));
    floor
}

/// The lowest usable address of the current thread's stack (above its guard page).
#[cfg(any(target_os = "linux", target_os = "android"))]
#[cold]
fn stack_low() -> Option<usize> {
    // SAFETY: `attr` is initialized by `pthread_getattr_np` before it is read, and destroyed once;
    // `pthread_attr_getstack` writes the two out-parameters. For the main thread glibc derives the
    // bounds from the stack's mapping and its resource limit; for other threads it reports the stack
    // without its guard region.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let rc = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        (rc == 0 && !addr.is_null()).then_some(addr as usize)
    }
}

/// The lowest usable address of the current thread's stack (above its guard page).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[cold]
fn stack_low() -> Option<usize> {
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
                let floor = stack_floor();
                let sp = crate::traphandlers::approximate_sp();
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
                assert_eq!(stack_floor(), floor);
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
