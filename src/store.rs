//! `Store`: the owner of all runtime state of its instances.

use crate::engine::Engine;
use std::any::Any;
use std::cell::UnsafeCell;
use std::rc::Rc;
use wasmz_runtime::{GcStats, StoreInner, StoreLimits};

/// The shared cell behind a store and its handles.
pub(crate) struct StoreCell {
    inner: UnsafeCell<StoreInner>,
    pub(crate) engine: Engine,
    /// Unique in the process: linkers name a store's items by it.
    pub(crate) id: u64,
}

/// The id of the next store.
static NEXT_STORE_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl StoreCell {
    /// Raw access for calls into wasm: no reference to the store is live while compiled code runs.
    pub(crate) fn ptr(&self) -> *mut StoreInner {
        self.inner.get()
    }

    /// Shared access for reading and for objects with interior mutability.
    pub(crate) fn get(&self) -> &StoreInner {
        // SAFETY: mutable access is only taken by `get_mut` for the duration of adding an object, never
        // across a call into wasm or user code, and stores are single-threaded (`Rc`).
        unsafe { &*self.inner.get() }
    }

    /// Exclusive access to add objects.
    #[expect(
        clippy::mut_from_ref,
        reason = "the store is single-threaded and the borrow is never held across calls"
    )]
    pub(crate) fn get_mut(&self) -> &mut StoreInner {
        // SAFETY: as in `get`: callers hold this only while adding an object and call no user code.
        unsafe { &mut *self.inner.get() }
    }
}

/// Runtime state: memories, tables, globals, host functions and instances, plus the embedder's data.
///
/// Not thread-safe: create one store per thread. Handles ([`crate::Instance`], [`crate::Memory`], ...)
/// keep the store's contents alive.
pub struct Store {
    pub(crate) cell: Rc<StoreCell>,
}

impl Store {
    /// An empty store for modules of `engine`.
    pub fn new(engine: &Engine) -> Store {
        let config = engine.config();
        let limits = StoreLimits {
            max_wasm_stack: config.max_wasm_stack,
            explicit_bounds_checks: config.bounds_checks == crate::BoundsChecks::Explicit,
            memory_limit_pages: config.memory_limit.map(|b| b / wasmz_runtime::PAGE_SIZE),
        };
        let mut inner = StoreInner::new(limits);
        inner.set_gc_heap_limit(config.gc_heap_limit);
        // The engine (kept alive by the cell) owns the counter.
        inner.set_epoch_counter(&engine.inner.epoch);
        inner.set_epoch_deadline(engine.current_epoch());
        let cell = Rc::new_cyclic(|weak: &std::rc::Weak<StoreCell>| {
            // Host functions made with typed values find the store's handle through this.
            inner.set_owner(Box::new(weak.clone()));
            StoreCell {
                inner: UnsafeCell::new(inner),
                engine: engine.clone(),
                id: NEXT_STORE_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            }
        });
        let store = Store { cell };
        // The configured budget holds from the start; `link_budget` (the seed API's step) is
        // then a no-op.
        if let Some(limit) = config.memory_budget {
            store.cell.get().budget().set_limit(Some(limit));
        }
        store
    }

    /// Sets the fuel left to `fuel`, for code compiled with [`crate::Config::consume_fuel`] (a new store
    /// has none). Each function entry and each loop iteration costs one unit; the call that would need
    /// more than is left traps with [`crate::TrapCode::OutOfFuel`], and the store can be refuelled and
    /// called again.
    pub fn set_fuel(&mut self, fuel: u64) {
        self.cell.get_mut().set_fuel(fuel);
    }

    /// The fuel left (see [`Store::set_fuel`]). Unchanged by code compiled without fuel metering.
    pub fn fuel(&self) -> u64 {
        self.cell.get().fuel()
    }

    /// Makes code compiled with [`crate::Config::epoch_interruption`] trap with
    /// [`crate::TrapCode::Interrupted`] once the engine's epoch has advanced `ticks_from_now` times
    /// ([`Engine::increment_epoch`]) from its current value. `0` interrupts at the next check.
    pub fn set_epoch_deadline(&mut self, ticks_from_now: u64) {
        let deadline = self
            .cell
            .engine
            .current_epoch()
            .saturating_add(ticks_from_now);
        self.cell.get_mut().set_epoch_deadline(deadline);
    }

    /// The engine this store belongs to.
    pub fn engine(&self) -> &Engine {
        &self.cell.engine
    }

    /// Sets the embedder's data, which host functions reach through [`crate::HostContext::data`].
    ///
    /// # Panics
    /// While the data is borrowed (a [`crate::DataMut`] from [`Store::data`] or
    /// [`crate::HostContext::data`] is alive, e.g. in a host function up the stack that reaches this
    /// store through a handle of its own): the borrower holds a reference into the old data.
    pub fn set_data<T: Any>(&mut self, data: T) {
        let old = self.cell.get_mut().set_data(Box::new(data));
        // The old data is dropped (running its `Drop`, which may use the store) after the store's
        // borrow has ended.
        match old {
            Ok(old) => drop(old),
            Err(_) => panic!("Store::set_data: the store's data is borrowed (a DataMut is alive)"),
        }
    }

    /// Enforces the engine's memory budget ([`crate::Config::memory_budget`]) on this store: from now
    /// on `memory.grow` and `table.grow` return -1, and instantiation fails, when the store's memories,
    /// tables and code would exceed it. A new store already enforces the configured budget, so this
    /// only restores it after [`Store::set_memory_budget`] changed it (the seed API calls it after
    /// creating a store). Without a configured budget this does nothing.
    pub fn link_budget(&mut self) {
        if let Some(limit) = self.engine().config().memory_budget {
            self.cell.get().budget().set_limit(Some(limit));
        }
    }

    /// Sets (or removes) this store's memory budget directly, enforced at once.
    pub fn set_memory_budget(&mut self, limit: Option<u64>) {
        self.cell.get().budget().set_limit(limit);
    }

    /// The store's memory budget: limit, bytes in use and the peak.
    pub fn memory_budget(&self) -> MemoryBudget {
        let b = self.cell.get().budget();
        MemoryBudget {
            limit: b.limit(),
            used: b.used(),
            peak: b.peak(),
        }
    }

    /// Number of exception objects alive in the store. An exception caught by `catch` or `catch_all` is
    /// freed once its handler is done with it; one handed out as an `exnref` (`catch_ref`,
    /// `catch_all_ref`), one a legacy `rethrow` throws to a handler inside the rethrowing clause, or
    /// one not caught by wasm lives until the store is dropped (exceptions are not garbage collected). Each is charged to the
    /// memory budget while it lives (16 bytes per value plus 16), so a budget bounds them: `throw`
    /// traps with [`crate::TrapCode::OutOfMemory`] when the next one does not fit.
    pub fn live_exceptions(&self) -> usize {
        self.cell.get().live_exceptions()
    }

    /// Counters of the store's GC heap: its size, peak size, collections, and the bytes that survived
    /// the last collection.
    pub fn gc_stats(&self) -> GcStats {
        self.cell.get().gc_stats()
    }

    /// Runs a full garbage collection now. Objects reachable from the store's globals and tables,
    /// from wasm code on the stack, and from [`crate::AnyRef`]s the host holds survive.
    pub fn collect_garbage(&mut self) {
        self.cell.get().collect_garbage();
    }

    /// The embedder's data, if it has type `T`, borrowed until the guard is dropped (host functions
    /// called meanwhile find no data: one value is never borrowed mutably twice).
    pub fn data<T: Any>(&mut self) -> Option<crate::DataMut<'_, T>> {
        crate::DataMut::new(self.cell.get_mut().borrow_data()?)
    }
}

/// The embedder's say over a store's growth (set with [`Store::set_limiter`]): asked before each
/// linear memory or table of the store is created (with `current` 0) or grows, from wasm
/// (`memory.grow`, `table.grow`) or the API. Refusing makes `memory.grow`/`table.grow` return -1,
/// the API's `grow` fail, and instantiation fail with [`crate::Error::Resource`]. Shared memories
/// belong to no store and are not asked about. A limiter that panics refuses.
pub trait ResourceLimiter: 'static {
    /// Whether a memory may go from `current` to `desired` bytes (`maximum` is its declared maximum).
    fn memory_growing(&mut self, current: u64, desired: u64, maximum: Option<u64>) -> bool {
        let _ = (current, desired, maximum);
        true
    }

    /// Whether a table may go from `current` to `desired` elements.
    fn table_growing(&mut self, current: u64, desired: u64, maximum: Option<u64>) -> bool {
        let _ = (current, desired, maximum);
        true
    }
}

/// Adapts a [`ResourceLimiter`] to the runtime's interface.
struct Limiter<L>(L);

impl<L: ResourceLimiter> wasmz_runtime::budget::GrowthLimiter for Limiter<L> {
    fn memory_growing(&mut self, current: u64, desired: u64, maximum: Option<u64>) -> bool {
        self.0.memory_growing(current, desired, maximum)
    }

    fn table_growing(&mut self, current: u64, desired: u64, maximum: Option<u64>) -> bool {
        self.0.table_growing(current, desired, maximum)
    }
}

impl Store {
    /// Sets the store's resource limiter, asked before its memories and tables are created or grow
    /// (beside the fixed [`crate::Config::memory_budget`], which still applies).
    pub fn set_limiter(&mut self, limiter: impl ResourceLimiter) {
        self.cell
            .get()
            .budget()
            .set_limiter(Some(Box::new(Limiter(limiter))));
    }

    /// Sets the callback asked when code compiled with [`crate::Config::epoch_interruption`] reaches
    /// the store's epoch deadline. It gets the engine's current epoch and returns `Some(ticks)` to let
    /// the code run `ticks` more increments of the epoch, or `None` to interrupt it (a trap with
    /// [`crate::TrapCode::Interrupted`], as without a callback). A callback that panics interrupts.
    pub fn epoch_deadline_callback(&mut self, callback: impl FnMut(u64) -> Option<u64> + 'static) {
        let old = self
            .cell
            .get_mut()
            .set_epoch_callback(Some(Box::new(callback)));
        // Dropped after the store's borrow has ended: its `Drop` may use the store.
        drop(old);
    }
}

/// A snapshot of a store's memory budget (see [`Store::memory_budget`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    /// The enforced limit in bytes, if any.
    pub limit: Option<u64>,
    /// Bytes in use by the store's memories, tables and compiled code.
    pub used: u64,
    /// The most bytes ever in use.
    pub peak: u64,
}
