//! `MemoryBudget`: one account of the memory a store's objects use (linear memories, tables, compiled
//! code of the modules it instantiated), with an optional limit that growth and instantiation respect.
//!
//! Most objects live until their store is dropped; exception objects are released when caught (see
//! `exception.rs`), which [`MemoryBudget::release`] accounts for.

use std::cell::Cell;

/// The memory account of one store.
#[derive(Debug, Default)]
pub struct MemoryBudget {
    limit: Cell<Option<u64>>,
    used: Cell<u64>,
    peak: Cell<u64>,
}

impl MemoryBudget {
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
