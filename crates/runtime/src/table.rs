//! Tables: growable arrays of 8-byte references (`*const VMFuncRef` or externref handles; 0 is null).

use crate::vmcontext::VMTableDefinition;
use std::cell::UnsafeCell;
use wasmz_environ::TableType;

/// Bytes of memory one element takes (charged to the store's budget).
const ELEMENT_BYTES: u64 = 8;

/// Largest number of elements a table without a declared maximum may grow to.
pub const DEFAULT_MAX_ELEMENTS: u64 = 10_000_000;

/// One table.
#[derive(Debug)]
pub struct Table {
    def: UnsafeCell<VMTableDefinition>,
    elements: UnsafeCell<Vec<u64>>,
    ty: TableType,
    max: u64,
    /// The store's budget, once the table belongs to a store (charged on growth).
    budget: std::cell::Cell<*const crate::budget::MemoryBudget>,
}

impl Table {
    /// Creates a table of type `ty` with every element set to `init`; `None` if the initial size exceeds
    /// the limit.
    pub fn new(ty: TableType, init: u64) -> Option<Box<Table>> {
        let max = ty
            .limits
            .max
            .unwrap_or(DEFAULT_MAX_ELEMENTS)
            .min(DEFAULT_MAX_ELEMENTS.max(ty.limits.min));
        if ty.limits.min > max {
            return None;
        }
        let mut elements = vec![init; usize::try_from(ty.limits.min).ok()?];
        let def = VMTableDefinition {
            base: elements.as_mut_ptr(),
            length: ty.limits.min,
        };
        Some(Box::new(Table {
            def: UnsafeCell::new(def),
            elements: UnsafeCell::new(elements),
            ty,
            max,
            budget: std::cell::Cell::new(std::ptr::null()),
        }))
    }

    /// Charges the table's current size to `budget` and charges later growth to it too; `false` (and
    /// unattached) when it does not fit.
    pub fn attach_budget(&self, budget: &crate::budget::MemoryBudget) -> bool {
        if !budget.allow_table(0, self.size(), self.ty.limits.max) {
            return false;
        }
        if !budget.try_charge(self.size().saturating_mul(ELEMENT_BYTES)) {
            return false;
        }
        self.budget.set(budget);
        true
    }

    /// The table's type.
    pub fn ty(&self) -> TableType {
        self.ty
    }

    /// The definition compiled code reads.
    pub fn definition(&self) -> *mut VMTableDefinition {
        self.def.get()
    }

    #[expect(
        clippy::mut_from_ref,
        reason = "tables are single-threaded and no borrow outlives a method"
    )]
    fn elements(&self) -> &mut Vec<u64> {
        // SAFETY: tables are used by one thread at a time (the store's), and no reference into the
        // element vector outlives a single method of this type.
        unsafe { &mut *self.elements.get() }
    }

    /// Current size.
    pub fn size(&self) -> u64 {
        self.elements().len() as u64
    }

    /// Calls `visit` with every element (the collector's view of a table's references).
    pub(crate) fn for_each_element(&self, visit: &mut dyn FnMut(u64)) {
        for i in 0..self.size() {
            if let Some(v) = self.get(i) {
                visit(v);
            }
        }
    }

    /// Element `index`.
    pub fn get(&self, index: u64) -> Option<u64> {
        self.elements().get(usize::try_from(index).ok()?).copied()
    }

    /// Sets element `index`; `None` when out of bounds.
    pub fn set(&self, index: u64, value: u64) -> Option<()> {
        *self.elements().get_mut(usize::try_from(index).ok()?)? = value;
        Some(())
    }

    /// Grows by `delta` elements set to `init`; returns the old size, or `None` past the maximum.
    pub fn grow(&self, delta: u64, init: u64) -> Option<u64> {
        let old = self.size();
        let new = old.checked_add(delta)?;
        if new > self.max {
            return None;
        }
        let budget = self.budget.get();
        // SAFETY: a budget pointer is set only by `attach_budget`, to the budget of the store that owns
        // this table, which outlives it.
        if let Some(budget) = unsafe { budget.as_ref() }
            && (!budget.allow_table(old, new, self.ty.limits.max)
                || !budget.try_charge(delta.saturating_mul(ELEMENT_BYTES)))
        {
            return None;
        }
        let elements = self.elements();
        elements.resize(usize::try_from(new).ok()?, init);
        // SAFETY: updating our own definition after the vector may have moved.
        unsafe {
            (*self.def.get()).base = elements.as_mut_ptr();
            (*self.def.get()).length = new;
        }
        Some(old)
    }

    /// `table.fill`; `None` when out of bounds.
    pub fn fill(&self, dst: u64, value: u64, len: u64) -> Option<()> {
        let end = dst.checked_add(len)?;
        if end > self.size() {
            return None;
        }
        self.elements()[dst as usize..end as usize].fill(value);
        Some(())
    }

    /// `table.copy` from `src` (possibly the same table); `None` when out of bounds.
    pub fn copy_from(&self, src: &Table, dst: u64, src_offset: u64, len: u64) -> Option<()> {
        if dst.checked_add(len)? > self.size() || src_offset.checked_add(len)? > src.size() {
            return None;
        }
        let (d, s, n) = (dst as usize, src_offset as usize, len as usize);
        if std::ptr::eq(self, src) {
            self.elements().copy_within(s..s + n, d);
        } else {
            let values: Vec<u64> = src.elements()[s..s + n].to_vec();
            self.elements()[d..d + n].copy_from_slice(&values);
        }
        Some(())
    }

    /// Writes `values` at `dst`; `None` when out of bounds.
    pub fn init(&self, dst: u64, values: &[u64]) -> Option<()> {
        if dst.checked_add(values.len() as u64)? > self.size() {
            return None;
        }
        self.elements()[dst as usize..dst as usize + values.len()].copy_from_slice(values);
        Some(())
    }
}
