//! `MemoryBudget`: one account of the memory a store's objects use (linear memories, tables, compiled
//! code of the modules it instantiated), with an optional limit that growth and instantiation respect.
//!
//! Most objects live until their store is dropped; exception objects are released when caught (see
//! `exception.rs`), which [`MemoryBudget::release`] accounts for.

use std::cell::{Cell, RefCell};

/// The embedder's say over a store's growth: asked before a memory or table of the store is created
/// (current size 0) or grows. Sizes are bytes for memories and elements for tables.
pub trait GrowthLimiter {
    /// Whether a memory may go from `current` to `desired` bytes (its maximum is `maximum`).
    fn memory_growing(&mut self, current: u64, desired: u64, maximum: Option<u64>) -> bool;
    /// Whether a table may go from `current` to `desired` elements.
    fn table_growing(&mut self, current: u64, desired: u64, maximum: Option<u64>) -> bool;
}

/// The memory account of one store.
#[derive(Default)]
pub struct MemoryBudget {
    limit: Cell<Option<u64>>,
    used: Cell<u64>,
    peak: Cell<u64>,
    limiter: RefCell<Option<Box<dyn GrowthLimiter>>>,
}

impl std::fmt::Debug for MemoryBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBudget")
            .field("limit", &self.limit.get())
            .field("used", &self.used.get())
            .field("peak", &self.peak.get())
            .finish_non_exhaustive()
    }
}

impl MemoryBudget {
    /// Sets (or removes) the limiter consulted before each growth. The old limiter is dropped after
    /// the new one is in place, so its `Drop` may use the store.
    ///
    /// # Panics
    /// When called while the limiter runs (from the limiter itself).
    pub fn set_limiter(&self, limiter: Option<Box<dyn GrowthLimiter>>) {
        let Ok(mut slot) = self.limiter.try_borrow_mut() else {
            panic!("a store's resource limiter cannot be replaced while it runs");
        };
        let old = std::mem::replace(&mut *slot, limiter);
        drop(slot);
        drop(old);
    }

    /// Asks the limiter (if any) with `ask`. A limiter that panics, or one asked again while it
    /// runs (it grew a memory itself), refuses.
    fn ask(&self, ask: impl FnOnce(&mut dyn GrowthLimiter) -> bool) -> bool {
        let Ok(mut slot) = self.limiter.try_borrow_mut() else {
            return false;
        };
        match slot.as_deref_mut() {
            None => true,
            Some(limiter) => crate::panics::catch_panic(|| ask(limiter)).unwrap_or(false),
        }
    }

    /// Whether the limiter lets a memory go from `current` to `desired` bytes.
    pub fn allow_memory(&self, current: u64, desired: u64, maximum: Option<u64>) -> bool {
        self.ask(|l| l.memory_growing(current, desired, maximum))
    }

    /// Whether the limiter lets a table go from `current` to `desired` elements.
    pub fn allow_table(&self, current: u64, desired: u64, maximum: Option<u64>) -> bool {
        self.ask(|l| l.table_growing(current, desired, maximum))
    }

    /// The limit in bytes, if one is enforced.
    pub fn limit(&self) -> Option<u64> {
        self.limit.get()
    }

    /// Sets (or removes) the limit. Memory already in use stays, even above a lower limit; only new
    /// charges are refused.
    pub fn set_limit(&self, limit: Option<u64>) {
        self.limit.set(limit);
    }

    /// Bytes in use.
    pub fn used(&self) -> u64 {
        self.used.get()
    }

    /// The most bytes ever in use.
    pub fn peak(&self) -> u64 {
        self.peak.get()
    }

    /// Charges `bytes` if they fit under the limit; returns whether they did.
    pub fn try_charge(&self, bytes: u64) -> bool {
        let Some(new) = self.used.get().checked_add(bytes) else {
            return false;
        };
        if self.limit.get().is_some_and(|limit| new > limit) {
            return false;
        }
        self.used.set(new);
        self.peak.set(self.peak.get().max(new));
        true
    }

    /// Gives back `bytes` charged earlier.
    pub fn release(&self, bytes: u64) {
        self.used.set(self.used.get().saturating_sub(bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_up_to_the_limit_and_tracks_the_peak() {
        let b = MemoryBudget::default();
        assert!(b.try_charge(100));
        b.set_limit(Some(150));
        assert!(b.try_charge(50));
        assert!(!b.try_charge(1));
        assert_eq!((b.used(), b.peak(), b.limit()), (150, 150, Some(150)));
        b.set_limit(None);
        assert!(b.try_charge(u64::MAX - 150));
        assert!(!b.try_charge(1), "overflow is refused");
    }
}
