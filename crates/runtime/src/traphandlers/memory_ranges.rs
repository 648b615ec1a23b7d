//! The process-wide registry of address ranges whose faults may be wasm traps: the reservations
//! (accessible prefix and guard region) of every live linear memory.
//!
//! The signal handler reads it, so reading is lock-free and allocation-free: the registry is a list
//! of fixed-size chunks of slots, each slot a pair of atomics (start, end). Chunks are added when
//! every slot is taken and are never freed (their number is bounded by the most memories alive at
//! once, 64 per chunk). Registering claims a free slot with a compare-and-swap; unregistering marks
//! the slot busy, clears it and frees it, so a reader never pairs the start of one range with the end
//! of another (it re-reads the start after reading the end).

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// Slots per chunk.
const SLOTS: usize = 64;

/// A slot's start while it is free.
const FREE: usize = 0;
/// A slot's start while it is being filled or cleared.
const BUSY: usize = 1;

struct Slot {
    start: AtomicUsize,
    end: AtomicUsize,
}

struct Chunk {
    slots: [Slot; SLOTS],
    next: AtomicPtr<Chunk>,
}

impl Chunk {
    const fn new() -> Chunk {
        Chunk {
            slots: [const {
                Slot {
                    start: AtomicUsize::new(FREE),
                    end: AtomicUsize::new(0),
                }
            }; SLOTS],
            next: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    fn next(&self) -> Option<&'static Chunk> {
        // SAFETY: `next` is null or a chunk leaked by `register` (so it lives forever), published
        // with release ordering after it was fully initialized.
        unsafe { self.next.load(Ordering::Acquire).as_ref() }
    }
}

/// The first chunk; the others hang off it.
static HEAD: Chunk = Chunk::new();

fn chunks() -> impl Iterator<Item = &'static Chunk> {
    std::iter::successors(Some(&HEAD), |c| c.next())
}

/// A registered range; unregistered when dropped.
#[derive(Debug)]
pub struct RegisteredRange {
    slot: &'static Slot,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:#x}..{:#x}",
            self.start.load(Ordering::Relaxed),
            self.end.load(Ordering::Relaxed)
        )
    }
}

/// Registers `[start, start + len)` (`start > 1`, `len > 0`) as a range where a memory-access trap
/// may fault.
pub fn register(start: usize, len: usize) -> RegisteredRange {
    debug_assert!(start > BUSY && len > 0);
    let end = start.saturating_add(len);
    loop {
        let mut last = &HEAD;
        for chunk in chunks() {
            for slot in &chunk.slots {
                if slot
                    .start
                    .compare_exchange(FREE, BUSY, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    slot.end.store(end, Ordering::Release);
                    slot.start.store(start, Ordering::Release);
                    return RegisteredRange { slot };
                }
            }
            last = chunk;
        }
        // Every slot is taken: append a chunk (or use the one another thread appended meanwhile).
        let fresh = Box::into_raw(Box::new(Chunk::new()));
        if last
            .next
            .compare_exchange(
                std::ptr::null_mut(),
                fresh,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            // SAFETY: `fresh` was never published, so this is its only owner.
            drop(unsafe { Box::from_raw(fresh) });
        }
    }
}

impl Drop for RegisteredRange {
    fn drop(&mut self) {
        self.slot.start.store(BUSY, Ordering::Release);
        self.slot.end.store(0, Ordering::Release);
        self.slot.start.store(FREE, Ordering::Release);
    }
}

/// Whether `addr` lies in a registered range. Async-signal-safe: it only reads atomics of memory
/// that is never freed.
pub fn contains(addr: usize) -> bool {
    chunks().any(|chunk| {
        chunk.slots.iter().any(|slot| {
            let start = slot.start.load(Ordering::Acquire);
            if start <= BUSY || addr < start {
                return false;
            }
            let end = slot.end.load(Ordering::Acquire);
            addr < end && slot.start.load(Ordering::Acquire) == start
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_found_until_dropped_and_slots_are_reused() {
        // Addresses no real mapping uses (the registry only compares numbers).
        let base = 0x1000_0000_0000_usize;
        let ranges: Vec<_> = (0..3 * SLOTS)
            .map(|i| register(base + i * 0x1000, 0x800))
            .collect();
        for i in 0..3 * SLOTS {
            let start = base + i * 0x1000;
            assert!(contains(start));
            assert!(contains(start + 0x7ff));
            assert!(!contains(start + 0x800));
        }
        assert!(!contains(base - 1));
        drop(ranges);
        assert!(!contains(base));
        let again = register(base, 0x10);
        assert!(contains(base + 0xf));
        drop(again);
        assert!(!contains(base));
    }
}
