//! Host roots: GC references the embedder holds, which keep their objects alive.
//!
//! The rule: a reference to a GC object is safe to keep outside wasm only inside a [`GcRoot`]. A root
//! registers the reference in its store's root table when created and releases it when dropped; the
//! collector marks every registered reference. Raw words (`RawVal`s) that hold GC references are not
//! roots: they stay valid only until the next collection, which may happen at any allocation.

use std::cell::RefCell;
use std::rc::Rc;

/// The table of a store's host roots.
#[derive(Debug, Default)]
pub(crate) struct RootTable {
    slots: Vec<u64>,
    free: Vec<usize>,
}

impl RootTable {
    /// Calls `visit` with every registered reference.
    pub(crate) fn for_each(&self, visit: &mut dyn FnMut(u64)) {
        for &word in &self.slots {
            visit(word);
        }
    }
}

/// A reference (a tagged any/extern word) kept alive for the host: while it exists, the object it
/// refers to survives collections. Cloning registers the reference again; dropping releases it.
#[derive(Debug)]
pub struct GcRoot {
    table: Rc<RefCell<RootTable>>,
    index: usize,
    word: u64,
}

impl GcRoot {
    /// Registers `word` in `table`.
    pub(crate) fn new(table: &Rc<RefCell<RootTable>>, word: u64) -> GcRoot {
        let mut t = table.borrow_mut();
        let index = match t.free.pop() {
            Some(i) => {
                t.slots[i] = word;
                i
            }
            None => {
                t.slots.push(word);
                t.slots.len() - 1
            }
        };
        GcRoot {
            table: table.clone(),
            index,
            word,
        }
    }

    /// Whether the reference was rooted in `store` (its object lives in that store's heap).
    pub fn belongs_to(&self, store: &crate::store::StoreInner) -> bool {
        Rc::ptr_eq(&self.table, &store.gc_roots)
    }

    /// The reference's tagged word (an object's address for GC objects; the collector never moves
    /// objects, so it stays the same).
    pub fn word(&self) -> u64 {
        self.word
    }
}

impl Clone for GcRoot {
    fn clone(&self) -> GcRoot {
        GcRoot::new(&self.table, self.word)
    }
}

impl Drop for GcRoot {
    fn drop(&mut self) {
        if let Ok(mut t) = self.table.try_borrow_mut() {
            t.slots[self.index] = 0;
            t.free.push(self.index);
        }
    }
}
