//! The process-wide wait queues behind `memory.atomic.wait32/wait64` and `memory.atomic.notify`.
//!
//! A waiter is keyed by the native address of the location it waits on. Shared memories never move and
//! never overlap while they live (and a memory cannot be freed while an instance waiting on it is
//! alive), so the address names one (memory, offset) pair exactly. The queues are spread over a fixed
//! number of shards by address; each shard is a mutex around a map from address to the waiters in
//! arrival order, and every waiter has its own condition variable (used with its shard's mutex).
//!
//! `wait` compares the location with the expected value while holding the shard's lock, and `notify`
//! takes the same lock before waking anyone, so a notification cannot slip in between the comparison
//! and the enqueueing: a waiter that found the expected value either sees every later `notify` or
//! times out. Waiters are woken in FIFO order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What `wait` returned, with the wasm encoding as its discriminant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum WaitResult {
    /// Woken by a `notify`.
    Ok = 0,
    /// The location did not hold the expected value.
    NotEqual = 1,
    /// The timeout expired first.
    TimedOut = 2,
}

/// One thread blocked in `wait`.
#[derive(Default)]
struct Waiter {
    /// Signalled when `woken` is set.
    cond: Condvar,
    /// Set (under the shard's lock) by the `notify` that removed this waiter from its queue.
    woken: std::sync::atomic::AtomicBool,
}

type Queues = HashMap<usize, Vec<Arc<Waiter>>>;

/// Number of independently locked shards.
const SHARDS: usize = 64;

static SHARD_LOCKS: [Mutex<Option<Queues>>; SHARDS] = [const { Mutex::new(None) }; SHARDS];

fn shard(address: usize) -> MutexGuard<'static, Option<Queues>> {
    // Locations are at least 4-byte aligned; mix the bits above that so neighbours spread out.
    let h = (address >> 2).wrapping_mul(0x9e37_79b9_7f4a_7c15_usize) >> 58;
    SHARD_LOCKS[h % SHARDS]
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// The value a wait compares the location with.
#[derive(Debug, Clone, Copy)]
pub enum Expected {
    /// A 4-byte location.
    U32(u32),
    /// An 8-byte location.
    U64(u64),
}

/// Blocks the calling thread until a `notify` of `address` wakes it, unless the location does not hold
/// `expected` (returns at once) or `timeout` passes first (`None` waits forever).
///
/// # Safety
/// `address` must point to a naturally aligned, accessible location of the width of `expected` inside
/// a shared linear memory, which stays mapped for the duration of the call.
pub unsafe fn wait(
    address: *const u8,
    expected: Expected,
    timeout: Option<Duration>,
) -> WaitResult {
    let key = address as usize;
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut guard = shard(key);
    let equal = match expected {
        Expected::U32(v) => {
            // SAFETY: the caller guarantees an aligned, accessible 4-byte location; wasm code may
            // access it concurrently, which is why the access is atomic.
            let cell = unsafe { AtomicU32::from_ptr(address.cast_mut().cast()) };
            cell.load(Ordering::SeqCst) == v
        }
        Expected::U64(v) => {
            // SAFETY: as above, for an 8-byte location.
            let cell = unsafe { AtomicU64::from_ptr(address.cast_mut().cast()) };
            cell.load(Ordering::SeqCst) == v
        }
    };
    if !equal {
        return WaitResult::NotEqual;
    }
    if timeout == Some(Duration::ZERO) {
        return WaitResult::TimedOut;
    }
    let me = Arc::new(Waiter::default());
    guard
        .get_or_insert_with(HashMap::new)
        .entry(key)
        .or_default()
        .push(me.clone());
    loop {
        if me.woken.load(Ordering::Relaxed) {
            return WaitResult::Ok;
        }
        match deadline {
            // No timeout, or one beyond what `Instant` can represent: wait until woken.
            None => guard = me.cond.wait(guard).unwrap_or_else(|e| e.into_inner()),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    // Still queued (not woken, checked above under the lock): leave the queue.
                    remove(&mut guard, key, &me);
                    return WaitResult::TimedOut;
                }
                guard = me
                    .cond
                    .wait_timeout(guard, deadline - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        }
    }
}

/// Removes `waiter` from the queue of `key`.
fn remove(queues: &mut Option<Queues>, key: usize, waiter: &Arc<Waiter>) {
    let Some(map) = queues.as_mut() else { return };
    if let Some(list) = map.get_mut(&key) {
        list.retain(|w| !Arc::ptr_eq(w, waiter));
        if list.is_empty() {
            map.remove(&key);
        }
    }
}

/// Wakes up to `count` threads waiting on `address`, oldest first; returns how many were woken.
pub fn notify(address: *const u8, count: u32) -> u32 {
    let key = address as usize;
    if count == 0 {
        return 0;
    }
    let mut guard = shard(key);
    let Some(map) = guard.as_mut() else { return 0 };
    let Some(list) = map.get_mut(&key) else {
        return 0;
    };
    let n = list.len().min(count as usize);
    for waiter in list.drain(..n) {
        waiter.woken.store(true, Ordering::Relaxed);
        waiter.cond.notify_one();
    }
    if list.is_empty() {
        map.remove(&key);
    }
    // `n <= count`, a u32.
    n as u32
}

/// The timeout of a wasm `wait` (nanoseconds; negative means forever).
pub fn timeout_from_nanos(ns: i64) -> Option<Duration> {
    u64::try_from(ns).ok().map(Duration::from_nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn not_equal_and_timeout() {
        let cell = AtomicU32::new(5);
        let p = cell.as_ptr().cast::<u8>();
        // SAFETY: `cell` is an aligned 4-byte location that outlives the calls.
        unsafe {
            assert_eq!(wait(p, Expected::U32(4), None), WaitResult::NotEqual);
            assert_eq!(
                wait(p, Expected::U32(5), Some(Duration::ZERO)),
                WaitResult::TimedOut
            );
            assert_eq!(
                wait(p, Expected::U32(5), Some(Duration::from_millis(10))),
                WaitResult::TimedOut
            );
        }
        assert_eq!(notify(p, 1), 0, "a timed-out waiter left its queue");
    }

    #[test]
    fn notify_wakes_at_most_count_waiters() {
        let cell: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
        let addr = cell.as_ptr() as usize;
        let threads: Vec<_> = (0..3)
            .map(|_| {
                std::thread::spawn(move || {
                    // SAFETY: the leaked cell lives forever.
                    unsafe { wait(addr as *const u8, Expected::U64(0), None) }
                })
            })
            .collect();
        let mut woken = 0;
        while woken < 2 {
            woken += notify(addr as *const u8, 2 - woken);
            std::thread::yield_now();
        }
        // Wait until the third one is queued too, then wake it.
        let mut last = 0;
        while last == 0 {
            last = notify(addr as *const u8, 5);
            std::thread::yield_now();
        }
        assert_eq!(last, 1);
        for t in threads {
            assert_eq!(t.join().unwrap(), WaitResult::Ok);
        }
    }
}
