//! The mark phase of the non-moving mark-sweep collector: from the roots (globals, tables, the element
//! segments of every instance, failed ones included, host roots, exceptions, compiled frames), mark
//! every reachable object, tracing references inside objects by their types' layouts. The sweep is
//! [`GcHeap::finish_collection`].
//!
//! Roots are words of reference-typed locations; only non-zero words with low bits `00` that lie in
//! this store's heap are objects (i31 values and host references are tagged; function and exception
//! references point elsewhere).

use super::heap::{FREE_TYPE, GcHeap, read_header};
use crate::store::StoreInner;
use crate::vmcontext::VMStoreContext;
use wasmz_environ::GcLayout;
use wasmz_environ::gc_layout::{
    ARRAY_ELEMENTS, ARRAY_LENGTH, GC_WORD, OBJECT_ALIGN, StorageKind, is_gc_pointer,
};

/// Marking state: the objects marked but not yet traced.
struct Marker<'h> {
    heap: &'h GcHeap,
    pending: Vec<usize>,
    live: usize,
}

impl Marker<'_> {
    fn mark(&mut self, word: u64) {
        let Ok(addr) = usize::try_from(word) else {
            return;
        };
        if !is_gc_pointer(word) || !self.heap.contains(addr) {
            return;
        }
        // SAFETY: a reference-typed location holding an address in this heap holds the start of an
        // object (references are only ever made from allocated objects, which never move).
        let (type_id, gc_word) = unsafe { read_header(addr) };
        if type_id == FREE_TYPE || gc_word & 1 == 1 {
            return;
        }
        // SAFETY: as above; the object's collector word.
        unsafe { ((addr + GC_WORD as usize) as *mut u32).write(gc_word | 1) };
        self.live += (gc_word >> 1) as usize * OBJECT_ALIGN as usize;
        self.pending.push(addr);
    }

    fn trace(&mut self) {
        while let Some(addr) = self.pending.pop() {
            // SAFETY: `addr` is a marked object of this heap.
            let (type_id, _) = unsafe { read_header(addr) };
            let Some(layout) = self.heap.layout(type_id).cloned() else {
                continue;
            };
            match &*layout {
                GcLayout::Struct { fields, .. } => {
                    for f in fields.iter().filter(|f| f.kind == StorageKind::GcRef) {
                        // SAFETY: the field lies inside the object (its layout) and is 8-aligned.
                        let word = unsafe { ((addr + f.offset as usize) as *const u64).read() };
                        self.mark(word);
                    }
                }
                GcLayout::Array { elem } if *elem == StorageKind::GcRef => {
                    // SAFETY: arrays store their length at `ARRAY_LENGTH`.
                    let len = unsafe { ((addr + ARRAY_LENGTH as usize) as *const u32).read() };
                    for i in 0..len as usize {
                        let at = addr + ARRAY_ELEMENTS as usize + i * 8;
                        // SAFETY: element `i < len` lies inside the array, 8-aligned.
                        let word = unsafe { (at as *const u64).read() };
                        self.mark(word);
                    }
                }
                GcLayout::Array { .. } => {}
            }
        }
    }
}

/// Runs a full collection of `store`'s heap. Must not run while a reference is held anywhere that is
/// not a root (see the module docs of `gc`).
pub(crate) fn collect(store: &StoreInner, heap: &mut GcHeap, ctx: &mut VMStoreContext) {
    heap.begin_collection(ctx);
    let mut m = Marker {
        heap,
        pending: Vec::new(),
        live: 0,
    };
    for g in &store.globals {
        if g.ty().content.is_ref() {
            m.mark(g.get() as u64);
        }
    }
    for t in &store.tables {
        t.for_each_element(&mut |w| m.mark(w));
    }
    // Instances whose instantiation failed count too: an active element segment may have made their
    // functions reachable (from an imported table) before the failure, and those may use the
    // instance's segments.
    for inst in store.instances.iter().chain(&store.failed_instances) {
        for seg in &inst.elem_values {
            for &w in seg.borrow().iter() {
                m.mark(w);
            }
        }
    }
    store.gc_roots.borrow().for_each(&mut |w| m.mark(w));
    // Exceptions alive (thrown and not yet caught, or held as exnrefs) hold the values of their
    // tag's parameters; reference-typed ones may be GC objects (other references never point into
    // the heap).
    store
        .exceptions
        .borrow()
        .for_each_object(&mut |tag, values| {
            let Some(tag) = store.tags.iter().find(|t| t.vm_tag() == tag) else {
                return;
            };
            for (ty, bits) in tag.ty().params.iter().zip(values) {
                if ty.is_ref() {
                    m.mark(*bits as u64);
                }
            }
        });
    super::stack::for_each_stack_root(&mut |slot| {
        // SAFETY: the slot is a stack-map slot of a live compiled frame of this thread.
        let word = unsafe { slot.read() };
        m.mark(word);
    });
    m.trace();
    let live = m.live;
    heap.finish_collection(live);
}
