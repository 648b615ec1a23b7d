//! `GcHeap`: the memory GC objects live in, and how it is handed out.
//!
//! The heap is one reserved range of address space (reserved on first use, never moved), of which a
//! prefix of `top` bytes is in use and charged to the store's memory budget. Inside that prefix every
//! byte belongs to an object or to a *free run*; both start with the two-word header of
//! `wasmz_environ::gc_layout` (a free run's type id is [`FREE_TYPE`]), so the sweep can walk the heap
//! from start to end. Free memory is zero except for the header of each run, so a new object only has
//! its header (and the fields it is created with) written.
//!
//! Compiled code allocates by bumping `VMStoreContext::gc_next` up to `gc_limit`, the end of the
//! current free run. When an object does not fit, [`GcHeap::alloc_slow`] moves to the next free run
//! that holds it, or grows `top`; the store decides when to collect instead (see [`GcHeap::wants_collection`]).

use crate::budget::MemoryBudget;
use crate::vmcontext::VMStoreContext;
use std::sync::Arc;
use wasmz_environ::GcLayout;
use wasmz_environ::gc_layout::{GC_WORD, OBJECT_ALIGN, TYPE_ID};

/// Type id in the header of a free run.
pub const FREE_TYPE: u32 = u32::MAX;

/// Default largest size of a store's GC heap.
pub const DEFAULT_HEAP_LIMIT: usize = 512 << 20;

/// Largest heap limit accepted (object and run sizes must fit the collector's word).
pub const MAX_HEAP_LIMIT: usize = 4 << 30;

/// The heap grows by at least this many bytes at a time.
const MIN_GROWTH: usize = 256 << 10;

/// A collection is due once this many bytes (or as many as survived the last collection, if more)
/// have been allocated since the last one.
const MIN_COLLECTION_INTERVAL: usize = 1 << 20;

/// Counters a store reports about its GC heap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcStats {
    /// Bytes of the heap in use (objects and free runs inside the used prefix; charged to the budget).
    pub heap_size: usize,
    /// The largest `heap_size` so far.
    pub peak_heap_size: usize,
    /// Collections run so far.
    pub collections: u64,
    /// Bytes of objects that survived the last collection.
    pub live_after_last_collection: usize,
}

/// The GC heap of one store.
pub struct GcHeap {
    /// The reservation, once something was allocated.
    region: Option<memmap2::MmapMut>,
    /// Most bytes the heap may use.
    limit: usize,
    /// Bytes of the reservation in use (a prefix).
    top: usize,
    /// Free runs after the current one (`gc_next..gc_limit`), in address order: (start, end).
    runs: Vec<(usize, usize)>,
    /// Next entry of `runs` to use.
    next_run: usize,
    /// Start of the current run's unreported part (allocation since then counts toward a collection).
    run_mark: usize,
    /// Bytes allocated since the last collection, up to `run_mark`.
    allocated: usize,
    /// Object layouts by canonical type id.
    layouts: Vec<Option<Arc<GcLayout>>>,
    pub(crate) stats: GcStats,
}

impl std::fmt::Debug for GcHeap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcHeap")
            .field("limit", &self.limit)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Default for GcHeap {
    fn default() -> GcHeap {
        GcHeap::new(DEFAULT_HEAP_LIMIT)
    }
}

impl GcHeap {
    /// An empty heap that may grow to `limit` bytes (at most [`MAX_HEAP_LIMIT`]).
    pub fn new(limit: usize) -> GcHeap {
        GcHeap {
            region: None,
            limit: limit.min(MAX_HEAP_LIMIT),
            top: 0,
            runs: Vec::new(),
            next_run: 0,
            run_mark: 0,
            allocated: 0,
            layouts: Vec::new(),
            stats: GcStats::default(),
        }
    }

    /// The most bytes the heap may use.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Changes the limit; only takes effect before the heap's first allocation (the reservation is
    /// sized by it).
    pub fn set_limit(&mut self, limit: usize) {
        if self.region.is_none() {
            self.limit = limit.min(MAX_HEAP_LIMIT);
        }
    }

    /// The heap's counters.
    pub fn stats(&self) -> GcStats {
        self.stats
    }

    /// Records the layout of the objects of canonical type `type_id`.
    pub fn register_layout(&mut self, type_id: u32, layout: Arc<GcLayout>) {
        let i = type_id as usize;
        if self.layouts.len() <= i {
            self.layouts.resize(i + 1, None);
        }
        self.layouts[i].get_or_insert(layout);
    }

    /// The layout of canonical type `type_id`, if registered.
    pub fn layout(&self, type_id: u32) -> Option<&Arc<GcLayout>> {
        self.layouts.get(type_id as usize)?.as_ref()
    }

    /// Start address of the heap (0 before the first allocation).
    pub(crate) fn base(&self) -> usize {
        self.region.as_ref().map_or(0, |r| r.as_ptr() as usize)
    }

    /// Whether `addr` lies in the used part of the heap.
    pub(crate) fn contains(&self, addr: usize) -> bool {
        let base = self.base();
        base != 0 && addr >= base && addr < base + self.top
    }

    /// Whether enough has been allocated since the last collection that the next slow allocation
    /// should collect first.
    pub fn wants_collection(&self, ctx: &VMStoreContext) -> bool {
        let allocated = self.allocated + ctx.gc_next.saturating_sub(self.run_mark);
        allocated
            >= self
                .stats
                .live_after_last_collection
                .max(MIN_COLLECTION_INTERVAL)
    }

    /// Allocates `size` bytes (a multiple of 8) for an object of `type_id` without collecting: from the
    /// current run, a later free run, or by growing the heap within its limit and the budget. Returns the
    /// object's address (header written, fields zero), or `None` when none of these has room.
    pub fn alloc_slow(
        &mut self,
        ctx: &mut VMStoreContext,
        budget: &MemoryBudget,
        type_id: u32,
        size: usize,
    ) -> Option<usize> {
        debug_assert!(size.is_multiple_of(OBJECT_ALIGN as usize) && size >= 8);
        if let Some(addr) = self.bump(ctx, type_id, size) {
            return Some(addr);
        }
        while let Some(&(start, end)) = self.runs.get(self.next_run) {
            self.next_run += 1;
            if end - start >= size {
                self.retire_run(ctx);
                ctx.gc_next = start;
                ctx.gc_limit = end;
                self.run_mark = start;
                return self.bump(ctx, type_id, size);
            }
        }
        self.grow(ctx, budget, size)?;
        self.bump(ctx, type_id, size)
    }

    /// Takes `size` bytes from the current run, if they fit.
    fn bump(&mut self, ctx: &mut VMStoreContext, type_id: u32, size: usize) -> Option<usize> {
        let addr = ctx.gc_next;
        if addr == 0 || ctx.gc_limit - addr < size {
            return None;
        }
        ctx.gc_next = addr + size;
        // SAFETY: `addr..addr + size` lies in the current free run, inside the used part of the
        // reservation (readable and writable); object starts are 8-aligned, so both u32 stores are
        // aligned.
        unsafe { write_header(addr, type_id, size) };
        Some(addr)
    }

    /// Counts what was allocated in the current run and leaves the rest of it as a free run.
    fn retire_run(&mut self, ctx: &mut VMStoreContext) {
        self.allocated += ctx.gc_next.saturating_sub(self.run_mark);
        if ctx.gc_next != 0 && ctx.gc_next < ctx.gc_limit {
            // SAFETY: the rest of the current run is free heap memory of at least 8 bytes (sizes are
            // multiples of 8), owned by the heap.
            unsafe { write_header(ctx.gc_next, FREE_TYPE, ctx.gc_limit - ctx.gc_next) };
        }
        ctx.gc_next = 0;
        ctx.gc_limit = 0;
        self.run_mark = 0;
    }

    /// Makes the used part of the heap at least `size` bytes larger, charging the budget; the new
    /// memory becomes (or extends) the current run.
    fn grow(&mut self, ctx: &mut VMStoreContext, budget: &MemoryBudget, size: usize) -> Option<()> {
        if self.region.is_none() {
            let len = self.limit.next_multiple_of(4096).max(4096);
            let map = memmap2::MmapOptions::new()
                .len(len)
                .no_reserve_swap()
                .map_anon()
                .ok()?;
            self.region = Some(map);
        }
        let room = self.limit.saturating_sub(self.top);
        if room < size {
            return None;
        }
        let mut growth = size.max(MIN_GROWTH).max(self.top / 2).min(room);
        if !budget.try_charge(growth as u64) {
            growth = size;
            if !budget.try_charge(growth as u64) {
                return None;
            }
        }
        let start = self.base() + self.top;
        self.top += growth;
        self.stats.heap_size = self.top;
        self.stats.peak_heap_size = self.stats.peak_heap_size.max(self.top);
        if ctx.gc_limit == start && ctx.gc_next != 0 {
            ctx.gc_limit = start + growth;
        } else {
            self.retire_run(ctx);
            ctx.gc_next = start;
            ctx.gc_limit = start + growth;
            self.run_mark = start;
        }
        Some(())
    }

    /// Prepares the heap for marking: the current run becomes an ordinary free run.
    pub(crate) fn begin_collection(&mut self, ctx: &mut VMStoreContext) {
        self.retire_run(ctx);
    }

    /// Sweeps after marking: frees every unmarked object (zeroing it), clears the marks, and rebuilds
    /// the list of free runs. `live` is the number of bytes the marking reached.
    ///
    /// Dead objects next to each other are zeroed with one `memset`; of a free run only its header
    /// is not zero already.
    pub(crate) fn finish_collection(&mut self, live: usize) {
        let base = self.base();
        let end = base + self.top;
        let mut runs = Vec::new();
        let mut run_start: Option<usize> = None;
        // The start of the memory to zero before `p`, if some is.
        let mut dirty: Option<usize> = None;
        let zero = |from: usize, to: usize| {
            // SAFETY: `from..to` holds dead objects and free-run headers of the used heap, memory no
            // live reference points into.
            unsafe { std::ptr::write_bytes(from as *mut u8, 0, to - from) };
        };
        let mut p = base;
        while p < end {
            // SAFETY: `p` is the start of an object or free run inside the used heap (the walk moves
            // from header to header by the sizes they record).
            let (type_id, word) = unsafe { read_header(p) };
            let size = (word >> 1) as usize * OBJECT_ALIGN as usize;
            if size == 0 {
                debug_assert!(false, "a heap header with size 0 at {p:#x}");
                break;
            }
            if type_id != FREE_TYPE && word & 1 == 1 {
                // SAFETY: as above; the collector's word of a live object.
                unsafe { ((p + GC_WORD as usize) as *mut u32).write(word & !1) };
                if let Some(start) = run_start.take() {
                    runs.push((start, p));
                }
                if let Some(from) = dirty.take() {
                    zero(from, p);
                }
            } else {
                run_start.get_or_insert(p);
                if type_id == FREE_TYPE {
                    // Zero what came before and the header; the rest of a free run is zero.
                    zero(dirty.take().unwrap_or(p), p + 8);
                } else {
                    dirty.get_or_insert(p);
                }
            }
            p += size;
        }
        if let Some(from) = dirty {
            zero(from, end);
        }
        if let Some(start) = run_start {
            runs.push((start, end));
        }
        for &(start, end) in &runs {
            // SAFETY: each run is free, zeroed heap memory of at least 8 bytes.
            unsafe { write_header(start, FREE_TYPE, end - start) };
        }
        self.runs = runs;
        self.next_run = 0;
        self.allocated = 0;
        self.stats.collections += 1;
        self.stats.live_after_last_collection = live;
    }
}

/// Writes an object or free-run header.
///
/// # Safety
/// `addr` must be 8-aligned and point to at least 8 writable bytes of the heap.
pub(crate) unsafe fn write_header(addr: usize, type_id: u32, size: usize) {
    // Sizes stay below `MAX_HEAP_LIMIT` (4 GiB), so the size in words shifted left by one fits.
    let word = u32::try_from((size / OBJECT_ALIGN as usize) << 1).unwrap_or(u32::MAX - 1);
    // SAFETY: the caller's contract.
    unsafe {
        ((addr + TYPE_ID as usize) as *mut u32).write(type_id);
        ((addr + GC_WORD as usize) as *mut u32).write(word);
    }
}

/// Reads an object's (type id, collector word).
///
/// # Safety
/// `addr` must be the 8-aligned start of an object or free run of a heap.
pub(crate) unsafe fn read_header(addr: usize) -> (u32, u32) {
    // SAFETY: the caller's contract.
    unsafe {
        (
            ((addr + TYPE_ID as usize) as *const u32).read(),
            ((addr + GC_WORD as usize) as *const u32).read(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjacent_dead_objects_and_free_runs_are_zeroed() {
        let budget = MemoryBudget::default();
        let mut ctx = VMStoreContext::default();
        let mut heap = GcHeap::new(1 << 20);
        let objects: Vec<usize> = (0..4)
            .map(|_| heap.alloc_slow(&mut ctx, &budget, 7, 32).expect("room"))
            .collect();
        for &o in &objects {
            // SAFETY: each object has 32 bytes; its fields start at offset 8.
            unsafe { std::ptr::write_bytes((o + 8) as *mut u8, 0xab, 24) };
        }
        // The first and last live; the two between die, next to each other.
        marked(objects[0]);
        marked(objects[3]);
        heap.begin_collection(&mut ctx);
        heap.finish_collection(64);
        let nonzero = |from: usize, to: usize| {
            (from..to)
                // SAFETY: heap memory of the used part, read byte by byte.
                .filter(|&a| unsafe { (a as *const u8).read() } != 0)
                .count()
        };
        // The dead pair became one free run: zero after its 8-byte header.
        assert_eq!(nonzero(objects[1] + 8, objects[3]), 0);
        // SAFETY: the run's header.
        assert_eq!(unsafe { read_header(objects[1]) }.0, FREE_TYPE);
        // Nothing survives a second collection: the whole used heap is one zeroed run.
        heap.begin_collection(&mut ctx);
        heap.finish_collection(0);
        let end = heap.base() + heap.stats().heap_size;
        assert_eq!(nonzero(objects[0] + 8, end), 0);
        let again = heap.alloc_slow(&mut ctx, &budget, 9, 64).expect("room");
        assert_eq!(again, objects[0]);
    }

    fn marked(addr: usize) {
        // SAFETY: `addr` is an object the test allocated.
        unsafe {
            let (_, word) = read_header(addr);
            ((addr + GC_WORD as usize) as *mut u32).write(word | 1);
        }
    }

    #[test]
    fn sweep_frees_unmarked_objects_and_reuses_their_memory() {
        let budget = MemoryBudget::default();
        let mut ctx = VMStoreContext::default();
        let mut heap = GcHeap::new(1 << 20);
        let a = heap.alloc_slow(&mut ctx, &budget, 7, 24).expect("room");
        let b = heap.alloc_slow(&mut ctx, &budget, 7, 24).expect("room");
        let c = heap.alloc_slow(&mut ctx, &budget, 7, 24).expect("room");
        assert_eq!((b - a, c - b), (24, 24));
        assert_eq!(budget.used(), heap.stats().heap_size as u64);
        // SAFETY: `b` is an object of 24 bytes.
        unsafe { ((b + 8) as *mut u64).write(0xdead) };
        marked(a);
        marked(c);
        heap.begin_collection(&mut ctx);
        heap.finish_collection(48);
        assert_eq!(heap.stats().collections, 1);
        assert_eq!(heap.stats().live_after_last_collection, 48);
        // The freed object is the first free run: the next allocation of its size goes there, zeroed.
        let d = heap.alloc_slow(&mut ctx, &budget, 9, 16).expect("room");
        assert_eq!(d, b);
        // SAFETY: `d` is an object of 16 bytes.
        assert_eq!(unsafe { ((d + 8) as *const u64).read() }, 0);
        // SAFETY: live objects keep their headers, marks cleared.
        assert_eq!(unsafe { read_header(a) }, (7, 6));
    }

    #[test]
    fn growth_stops_at_the_limit_and_the_budget() {
        let budget = MemoryBudget::default();
        let mut ctx = VMStoreContext::default();
        let mut heap = GcHeap::new(MIN_GROWTH);
        assert!(heap.alloc_slow(&mut ctx, &budget, 1, MIN_GROWTH).is_some());
        assert!(heap.alloc_slow(&mut ctx, &budget, 1, 8).is_none());
        let budget = MemoryBudget::default();
        budget.set_limit(Some(64));
        let mut ctx = VMStoreContext::default();
        let mut heap = GcHeap::new(1 << 20);
        assert!(heap.alloc_slow(&mut ctx, &budget, 1, 64).is_some());
        assert!(heap.alloc_slow(&mut ctx, &budget, 1, 8).is_none());
        assert_eq!(budget.used(), 64);
    }
}
