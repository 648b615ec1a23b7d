//! The GC heap of a store: allocation of struct and array objects, and a non-moving mark-sweep
//! collector.
//!
//! Objects are laid out as `wasmz_environ::gc_layout` describes. Compiled code allocates inline by
//! bumping a pointer in the store context and calls the `GcAlloc` builtin when the current free run is
//! used up; that builtin (see [`alloc`]) takes the next free run, collects when enough has been
//! allocated since the last collection, or grows the heap up to its limit. Objects never move, so
//! compiled code never reloads a reference after a call.
//!
//! Roots: the globals, tables and element segments of the store, the references compiled frames hold
//! across calls (found by stack maps, [`stack`]), and the host's [`GcRoot`]s.

mod collect;
mod heap;
pub(crate) mod objects;
mod roots;
pub(crate) mod stack;

pub use heap::{DEFAULT_HEAP_LIMIT, GcHeap, GcStats, MAX_HEAP_LIMIT};
pub use roots::GcRoot;
pub(crate) use roots::RootTable;

use crate::store::StoreInner;

/// Allocates an object of canonical type `type_id` taking `size` bytes (a multiple of 8, at least 8):
/// its header is written and its fields are zero. Collects first when one is due and `may_collect`
/// (every reference the caller holds must then be reachable from a root), and once more before giving
/// up. `None` when the heap is exhausted.
pub(crate) fn alloc(
    store: &StoreInner,
    type_id: u32,
    size: usize,
    may_collect: bool,
) -> Option<usize> {
    let mut heap = store.gc.borrow_mut();
    // SAFETY: the store context is only written by compiled code of this store, which is not running
    // while the runtime allocates for it (it is waiting in a builtin, or not entered).
    let ctx = unsafe { &mut *store.vm_store_context() };
    let mut collected = false;
    if may_collect && heap.wants_collection(ctx) {
        collect::collect(store, &mut heap, ctx);
        collected = true;
    }
    if let Some(addr) = heap.alloc_slow(ctx, store.budget(), type_id, size) {
        return Some(addr);
    }
    if !may_collect || collected {
        return None;
    }
    collect::collect(store, &mut heap, ctx);
    heap.alloc_slow(ctx, store.budget(), type_id, size)
}

/// Runs a full collection of `store`'s heap now.
pub(crate) fn collect_now(store: &StoreInner) {
    let mut heap = store.gc.borrow_mut();
    // SAFETY: as in `alloc`.
    let ctx = unsafe { &mut *store.vm_store_context() };
    collect::collect(store, &mut heap, ctx);
}
