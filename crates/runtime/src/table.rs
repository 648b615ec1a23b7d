//! Tables: growable arrays of 8-byte references (`*const VMFuncRef` or externref handles; 0 is null).

use crate::budget::MemoryBudget;
use crate::vmcontext::VMTableDefinition;
use std::cell::UnsafeCell;
use thiserror::Error;
use wasmz_environ::{TableType, ValType};

/// Bytes of memory one element takes (charged to the store's budget).
const ELEMENT_BYTES: u64 = 8;

/// Most elements a table may have (80 MB of elements), whatever its declared maximum: a larger initial
/// size is refused when the table is created, and growth stops there.
pub const MAX_ELEMENTS: u64 = 10_000_000;

/// Why a table could not be created.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TableError {
    /// The element type is not a reference type.
    #[error("a table's elements must be references, not {0}")]
    ElementType(ValType),
    /// The initial size exceeds the declared maximum.
    #[error("a table's initial size of {min} elements exceeds its maximum of {max}")]
    Limits {
        /// Declared initial size.
        min: u64,
        /// Declared maximum.
        max: u64,
    },
    /// The initial size exceeds [`MAX_ELEMENTS`].
    #[error("a table of {elements} elements exceeds the limit of {MAX_ELEMENTS} elements")]
    TooLarge {
        /// Elements asked for.
        elements: u64,
    },
    /// The store's resource limiter refused the table.
    #[error("the store's resource limiter refused a table of {elements} elements")]
    Refused {
        /// Elements asked for.
        elements: u64,
    },
    /// The store's memory budget cannot hold the table.
    #[error(
        "the store's memory budget of {limit} bytes cannot hold a table of {elements} elements \
         ({used} bytes in use)"
    )]
    Budget {
        /// Elements asked for.
        elements: u64,
        /// The budget's limit in bytes.
        limit: u64,
        /// Bytes of the budget in use.
        used: u64,
    },
    /// The system refused the memory of the elements.
    #[error("cannot allocate a table of {elements} elements")]
    Allocation {
        /// Elements asked for.
        elements: u64,
    },
}

/// One table.
///
/// A table is created empty ([`Table::new`] checks its type) and gets its initial elements when it
/// joins a store ([`Table::attach_budget`]), once the store's limiter and budget allow them.
#[derive(Debug)]
pub struct Table {
    def: UnsafeCell<VMTableDefinition>,
    elements: UnsafeCell<Vec<u64>>,
    ty: TableType,
    max: u64,
    /// The value of the initial elements.
    init: u64,
    /// The store's budget, once the table belongs to a store (charged on growth).
    budget: std::cell::Cell<*const MemoryBudget>,
}

/// A vector of `len` copies of `value`, or `None` when the system refuses the memory.
fn try_filled(len: u64, value: u64) -> Option<Vec<u64>> {
    let len = usize::try_from(len).ok()?;
    let mut v = Vec::new();
    v.try_reserve_exact(len).ok()?;
    v.resize(len, value);
    Some(v)
}

impl Table {
    /// A table of type `ty` whose initial elements will be `init`, still without elements (see
    /// [`Table::attach_budget`]). The caller keeps `init` alive until then: a GC reference in it is
    /// no root, and the limiter asked when the table joins a store may run code that collects.
    ///
    /// # Errors
    /// When the element type is not a reference type, the initial size exceeds the declared maximum,
    /// or it exceeds [`MAX_ELEMENTS`].
    pub fn new(ty: TableType, init: u64) -> Result<Box<Table>, TableError> {
        if !ty.element.is_ref() {
            return Err(TableError::ElementType(ty.element));
        }
        let min = ty.limits.min;
        if let Some(max) = ty.limits.max
            && min > max
        {
            return Err(TableError::Limits { min, max });
        }
        if min > MAX_ELEMENTS {
            return Err(TableError::TooLarge { elements: min });
        }
        let max = ty.limits.max.unwrap_or(MAX_ELEMENTS).min(MAX_ELEMENTS);
        Ok(Box::new(Table {
            def: UnsafeCell::new(VMTableDefinition {
                base: std::ptr::NonNull::<u64>::dangling().as_ptr(),
                length: 0,
            }),
            elements: UnsafeCell::new(Vec::new()),
            ty,
            max,
            init,
            budget: std::cell::Cell::new(std::ptr::null()),
        }))
    }

    /// Makes the table one of the store whose budget is `budget`: asks the store's limiter, charges
    /// the initial size to the budget, creates the initial elements, and charges later growth to the
    /// budget too. Nothing is allocated before the limiter and the budget allow it.
    ///
    /// # Errors
    /// When the limiter refuses, the budget cannot hold the table, or the system refuses the memory
    /// (the table then stays without elements or budget, and nothing stays charged).
    pub fn attach_budget(&self, budget: &MemoryBudget) -> Result<(), TableError> {
        debug_assert!(self.budget.get().is_null(), "a table joins one store");
        let elements = self.ty.limits.min;
        if !budget.allow_table(0, elements, self.ty.limits.max) {
            return Err(TableError::Refused { elements });
        }
        let bytes = elements * ELEMENT_BYTES;
        if !budget.try_charge(bytes) {
            return Err(TableError::Budget {
                elements,
                limit: budget.limit().unwrap_or(u64::MAX),
                used: budget.used(),
            });
        }
        let Some(mut initial) = try_filled(elements, self.init) else {
            budget.release(bytes);
            return Err(TableError::Allocation { elements });
        };
        // SAFETY: updating our own definition to the new elements; the vector's buffer does not move
        // when the vector itself is moved into the cell.
        unsafe {
            *self.def.get() = VMTableDefinition {
                base: initial.as_mut_ptr(),
                length: elements,
            };
        }
        *self.elements() = initial;
        self.budget.set(budget);
        Ok(())
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

    /// Grows by `delta` elements set to `init`; returns the old size, or `None` past the maximum, when
    /// the store's limiter or budget refuses, or when the system refuses the memory (nothing is
    /// allocated before the limiter and the budget allow the growth).
    pub fn grow(&self, delta: u64, init: u64) -> Option<u64> {
        let old = self.size();
        let new = old.checked_add(delta)?;
        if new > self.max {
            return None;
        }
        // `new <= max <= MAX_ELEMENTS`: the byte count cannot overflow.
        let bytes = delta * ELEMENT_BYTES;
        let budget = self.budget.get();
        // SAFETY: a budget pointer is set only by `attach_budget`, to the budget of the store that owns
        // this table, which outlives it.
        let budget = unsafe { budget.as_ref() };
        if let Some(budget) = budget
            && (!budget.allow_table(old, new, self.ty.limits.max) || !budget.try_charge(bytes))
        {
            return None;
        }
        let elements = self.elements();
        if elements.try_reserve(delta as usize).is_err() {
            if let Some(budget) = budget {
                budget.release(bytes);
            }
            return None;
        }
        elements.resize(new as usize, init);
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

#[cfg(test)]
mod tests {
    use super::*;
    use wasmz_environ::Limits;

    fn ty(element: ValType, min: u64, max: Option<u64>) -> TableType {
        TableType {
            element,
            limits: Limits { min, max },
            table64: false,
        }
    }

    #[test]
    fn new_checks_the_type_and_the_element_limit() {
        let err = |t| Table::new(t, 0).unwrap_err();
        assert_eq!(
            err(ty(ValType::I32, 0, None)),
            TableError::ElementType(ValType::I32)
        );
        assert_eq!(
            err(ty(ValType::FuncRef, 3, Some(2))),
            TableError::Limits { min: 3, max: 2 }
        );
        let huge = u64::from(u32::MAX);
        assert_eq!(
            err(ty(ValType::FuncRef, huge, Some(huge))),
            TableError::TooLarge { elements: huge }
        );
        // Nothing is allocated before the table joins a store.
        let table = Table::new(ty(ValType::FuncRef, MAX_ELEMENTS, None), 1).unwrap();
        assert_eq!(table.size(), 0);
    }

    #[test]
    fn the_budget_is_charged_before_elements_are_allocated() {
        let budget = MemoryBudget::default();
        budget.set_limit(Some(100));
        let table = Table::new(ty(ValType::FuncRef, 13, Some(1000)), 7).unwrap();
        assert!(matches!(
            table.attach_budget(&budget),
            Err(TableError::Budget { elements: 13, .. })
        ));
        assert_eq!((table.size(), budget.used()), (0, 0));
        let table = Table::new(ty(ValType::FuncRef, 12, Some(1000)), 7).unwrap();
        table.attach_budget(&budget).unwrap();
        assert_eq!(
            (table.size(), table.get(11), budget.used()),
            (12, Some(7), 96)
        );
        assert_eq!(table.grow(1, 0), None, "past the budget");
        assert_eq!(table.grow(MAX_ELEMENTS, 0), None, "past the element limit");
        assert_eq!(budget.used(), 96);
        budget.set_limit(None);
        assert_eq!(table.grow(988, 5), Some(12));
        assert_eq!(table.grow(1, 5), None, "past the declared maximum");
        // SAFETY: reading the definition of a live table.
        let length = unsafe { (*table.definition()).length };
        assert_eq!(length, 1000);
        assert_eq!(budget.used(), 8000);
    }
}
