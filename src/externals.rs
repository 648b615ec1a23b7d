//! Handles to a store's functions, memories, tables and globals.

use crate::Error;
use crate::store::{Store, StoreCell};
use crate::values::Trap;
use crate::values::Val;
use std::rc::Rc;
use wasmz_environ::{ExternType, FuncType, GlobalType, MemoryType, TableType};
use wasmz_runtime::{
    FuncCallee, FuncHandle, GlobalId, LinearMemory, MemoryId, RawVal, TableId, TagId,
    ThrownException, VMFuncRef,
};

/// Something an instance exports or a linker defines.
#[derive(Clone, Debug)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A memory.
    Memory(Memory),
    /// A table.
    Table(Table),
    /// A global.
    Global(Global),
    /// An exception tag.
    Tag(Tag),
}

impl Extern {
    /// The type of this item.
    pub fn ty(&self) -> ExternType {
        match self {
            Extern::Func(f) => ExternType::Func(f.ty().cloned().unwrap_or_default()),
            Extern::Memory(m) => ExternType::Memory(m.ty()),
            Extern::Table(t) => ExternType::Table(t.ty()),
            Extern::Global(g) => ExternType::Global(g.ty()),
            Extern::Tag(t) => ExternType::Tag(t.ty()),
        }
    }

    pub(crate) fn store(&self) -> &Rc<StoreCell> {
        match self {
            Extern::Func(f) => &f.store,
            Extern::Memory(m) => &m.store,
            Extern::Table(t) => &t.store,
            Extern::Global(g) => &g.store,
            Extern::Tag(t) => &t.store,
        }
    }
}

/// A function reference of a store.
#[derive(Clone)]
pub struct Func {
    pub(crate) store: Rc<StoreCell>,
    raw: *const VMFuncRef,
    pub(crate) handle: Option<FuncHandle>,
}

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Func({:p})", self.raw)
    }
}

impl Func {
    pub(crate) fn from_handle(store: &Rc<StoreCell>, handle: FuncHandle) -> Func {
        Func {
            store: store.clone(),
            raw: handle.funcref,
            handle: Some(handle),
        }
    }

    pub(crate) fn from_raw(store: &Rc<StoreCell>, raw: u64) -> Option<Func> {
        (raw != 0).then(|| Func {
            store: store.clone(),
            raw: raw as usize as *const VMFuncRef,
            handle: None,
        })
    }

    pub(crate) fn raw(&self) -> *const VMFuncRef {
        self.raw
    }

    /// The engine-wide canonical id of the function's type.
    pub(crate) fn type_id(&self) -> Option<u32> {
        // SAFETY: `raw` is a non-null `VMFuncRef` of this function's store, which `self.store` keeps
        // alive; a `VMFuncRef`'s type id never changes.
        Some(unsafe { (*self.raw).type_id })
    }

    /// The function's type, when known (always for exported functions).
    pub fn ty(&self) -> Option<&FuncType> {
        self.handle.as_ref().map(|h| h.ty())
    }

    /// Calls the function with untyped arguments, writing its results into `results`; allocates
    /// nothing for up to 8 parameters and results. Look the function up once with
    /// [`crate::Instance::func`] and call it many times.
    ///
    /// # Errors
    /// [`Error::ArgumentCount`] when `args` or `results` do not match the signature, and
    /// [`Error::ExportKind`] for a function reference whose type is unknown (one read from a table or
    /// global). The inner `Result` is the call's outcome.
    pub fn call(&self, args: &[RawVal], results: &mut [RawVal]) -> Result<Result<(), Trap>, Error> {
        let handle = self.handle.as_ref().ok_or_else(|| Error::ExportKind {
            name: "<function reference>".into(),
            expected: "callable function",
        })?;
        call_raw(
            &self.store,
            handle.ty(),
            &handle.callee(),
            "<function>",
            args,
            results,
        )
    }
}

/// Most values of a call kept on the stack; larger calls allocate.
const INLINE_VALUES: usize = 8;

/// Calls `callee` (a function of `store` of type `ty`) after checking the argument and result counts.
#[inline]
pub(crate) fn call_raw(
    store: &Rc<StoreCell>,
    ty: &FuncType,
    callee: &FuncCallee,
    name: &str,
    args: &[RawVal],
    results: &mut [RawVal],
) -> Result<Result<(), Trap>, Error> {
    let (np, nr) = (ty.params.len(), ty.results.len());
    if args.len() != np {
        return Err(Error::ArgumentCount {
            func: name.to_string(),
            expected: np,
            got: args.len(),
        });
    }
    if results.len() != nr {
        return Err(Error::ArgumentCount {
            func: format!("{name} (results)"),
            expected: nr,
            got: results.len(),
        });
    }
    let n = np.max(nr);
    let mut inline = [RawVal::default(); INLINE_VALUES];
    let mut heap = Vec::new();
    let values: &mut [RawVal] = if n <= INLINE_VALUES {
        &mut inline[..n]
    } else {
        heap.resize(n, RawVal::default());
        &mut heap
    };
    copy_values(&mut values[..np], args);
    // SAFETY: `callee` comes from an instance of `store`; no reference into the store is held during the
    // call; `values` has max(params, results) slots and the argument count was checked above.
    let outcome = unsafe { wasmz_runtime::call_callee(store.ptr(), callee, values.as_mut_ptr()) }
        .map_err(Trap::from_info);
    if outcome.is_ok() {
        copy_values(results, &values[..nr]);
    }
    Ok(outcome)
}

/// `dst.copy_from_slice(src)` without a call to `memcpy` for the common counts of zero and one value.
#[inline(always)]
fn copy_values(dst: &mut [RawVal], src: &[RawVal]) {
    match (dst, src) {
        ([], []) => {}
        ([d], [s]) => *d = *s,
        (dst, src) => dst.copy_from_slice(src),
    }
}

/// Runs `handle` with its arguments in `values` (room for all results too).
pub(crate) fn invoke(
    store: &Rc<StoreCell>,
    handle: &FuncHandle,
    values: &mut [RawVal],
) -> Result<(), Trap> {
    // SAFETY: `handle` comes from an instance of `store`; no reference into the store is held during
    // the call; `values` has room for every argument and result, and the callers checked the arguments
    // against the signature (count for raw calls, types for typed calls).
    unsafe { wasmz_runtime::call_func(store.ptr(), handle, values) }.map_err(Trap::from_info)
}

/// A linear memory of a store.
#[derive(Clone)]
pub struct Memory {
    pub(crate) store: Rc<StoreCell>,
    pub(crate) id: MemoryId,
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Memory({:?})", self.id)
    }
}

impl Memory {
    /// Creates a memory in `store` (to define in a [`crate::Linker`]). A `shared` type makes a
    /// [`crate::SharedMemory`] that the store uses (see [`Memory::shared`]).
    ///
    /// # Errors
    /// When the memory cannot be reserved or exceeds the configured limit.
    pub fn new(store: &mut Store, ty: MemoryType) -> Result<Memory, Error> {
        if ty.shared {
            let shared = crate::SharedMemory::new(store.engine(), ty)?;
            let id = store.cell.get_mut().add_shared_memory(shared.memory);
            return Ok(Memory {
                store: store.cell.clone(),
                id,
            });
        }
        let limits = store.cell.get().limits();
        let memory =
            LinearMemory::new(ty, limits.explicit_bounds_checks, limits.memory_limit_pages)
                .map_err(|e| Error::Resource(e.to_string()))?;
        let id = store
            .cell
            .get_mut()
            .add_memory(memory)
            .map_err(|e| Error::Resource(e.to_string()))?;
        Ok(Memory {
            store: store.cell.clone(),
            id,
        })
    }

    fn memory(&self) -> &LinearMemory {
        self.store.get().memory(self.id)
    }

    /// The memory's type (with its declared initial size).
    pub fn ty(&self) -> MemoryType {
        self.memory().ty()
    }

    /// This memory as a [`crate::SharedMemory`] (usable by other stores and threads), when it is
    /// shared.
    pub fn shared(&self) -> Option<crate::SharedMemory> {
        self.store
            .get()
            .shared_memory(self.id)
            .map(crate::SharedMemory::from_runtime)
    }

    /// Current size in pages.
    pub fn size_pages(&self) -> u64 {
        self.memory().pages()
    }

    /// The address of the memory's first byte, for embedders that access it in place (the C API).
    ///
    /// The address never changes while the memory lives (it grows in place), and
    /// [`Memory::data_size`] bytes from it are accessible. Using it is `unsafe`: the memory lives as long
    /// as some handle of its store, accesses must stay below `data_size()`, and they must not overlap
    /// with wasm code running on the store (stores are single-threaded, so this only concerns host
    /// functions that keep the pointer).
    pub fn data_ptr(&self) -> *mut u8 {
        self.memory().data_ptr()
    }

    /// Current size in bytes.
    pub fn data_size(&self) -> u64 {
        self.memory().byte_size()
    }

    /// Grows by `delta` pages and returns the old size.
    ///
    /// # Errors
    /// When the maximum, the configured limit ([`crate::Config::memory_limit`]), the store's memory
    /// budget or the memory's reservation (at most 64 GiB for a 64-bit memory) would be exceeded.
    pub fn grow(&self, delta: u64) -> Result<u64, Error> {
        self.memory()
            .grow(delta)
            .ok_or_else(|| Error::OutOfBounds(format!("cannot grow memory by {delta} pages")))
    }

    /// Copies `buf.len()` bytes starting at `offset` out of the memory.
    ///
    /// # Errors
    /// When the range is out of bounds.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        self.memory()
            .read(offset, buf)
            .map_err(|e| Error::OutOfBounds(e.to_string()))
    }

    /// Copies `data` into the memory at `offset`.
    ///
    /// # Errors
    /// When the range is out of bounds.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<(), Error> {
        self.memory()
            .write(offset, data)
            .map_err(|e| Error::OutOfBounds(e.to_string()))
    }
}

/// A table of a store.
#[derive(Clone)]
pub struct Table {
    pub(crate) store: Rc<StoreCell>,
    pub(crate) id: TableId,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Table({:?})", self.id)
    }
}

fn check_type(
    store: &Rc<StoreCell>,
    expected: wasmz_environ::ValType,
    v: &Val,
) -> Result<(), Error> {
    if v.matches_canonical(expected, &store.engine.inner.types) {
        Ok(())
    } else {
        Err(Error::ValueType {
            expected,
            got: v.ty(),
        })
    }
}

/// Refuses a reference of another store: a function, an exception or a GC object.
pub(crate) fn check_store(store: &Rc<StoreCell>, v: &Val) -> Result<(), Error> {
    match v {
        Val::FuncRef(Some(f)) if !Rc::ptr_eq(&f.store, store) => Err(Error::WrongStore),
        Val::ExnRef(Some(e)) if !Rc::ptr_eq(e.store(), store) => Err(Error::WrongStore),
        Val::AnyRef(Some(a)) | Val::ExternAny(a) if !a.belongs_to(store.get()) => {
            Err(Error::WrongStore)
        }
        _ => Ok(()),
    }
}

impl Table {
    /// Creates a table in `store` with every element set to `init`.
    ///
    /// # Errors
    /// When `init` does not match the element type or the table is too large.
    pub fn new(store: &mut Store, ty: TableType, init: Val) -> Result<Table, Error> {
        check_type(&store.cell, ty.element, &init)?;
        check_store(&store.cell, &init)?;
        let table = wasmz_runtime::Table::new(ty, init.to_raw().low64()).ok_or_else(|| {
            Error::Resource(format!("table of {} elements is too large", ty.limits.min))
        })?;
        let id = store.cell.get_mut().add_table(table).ok_or_else(|| {
            Error::Resource(format!(
                "the store's memory budget cannot hold a table of {} elements",
                ty.limits.min
            ))
        })?;
        Ok(Table {
            store: store.cell.clone(),
            id,
        })
    }

    fn table(&self) -> &wasmz_runtime::Table {
        self.store.get().table(self.id)
    }

    /// The table's type.
    pub fn ty(&self) -> TableType {
        self.table().ty()
    }

    /// Current number of elements.
    pub fn size(&self) -> u64 {
        self.table().size()
    }

    /// Element `index`, or `None` when out of bounds.
    pub fn get(&self, index: u64) -> Option<Val> {
        let raw = self.table().get(index)?;
        Some(Val::from_raw(
            &self.store,
            wasmz_runtime::RawVal::from_u64(raw),
            self.ty().element,
        ))
    }

    /// Sets element `index`.
    ///
    /// # Errors
    /// When out of bounds or the value has the wrong type.
    pub fn set(&self, index: u64, value: Val) -> Result<(), Error> {
        check_type(&self.store, self.ty().element, &value)?;
        check_store(&self.store, &value)?;
        self.table()
            .set(index, value.to_raw().low64())
            .ok_or_else(|| Error::OutOfBounds(format!("table index {index} is out of bounds")))
    }

    /// Grows by `delta` elements set to `init`; returns the old size.
    ///
    /// # Errors
    /// When the maximum would be exceeded or `init` has the wrong type.
    pub fn grow(&self, delta: u64, init: Val) -> Result<u64, Error> {
        check_type(&self.store, self.ty().element, &init)?;
        check_store(&self.store, &init)?;
        self.table()
            .grow(delta, init.to_raw().low64())
            .ok_or_else(|| Error::OutOfBounds(format!("cannot grow table by {delta} elements")))
    }
}

/// A global of a store.
#[derive(Clone)]
pub struct Global {
    pub(crate) store: Rc<StoreCell>,
    pub(crate) id: GlobalId,
}

impl std::fmt::Debug for Global {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Global({:?})", self.id)
    }
}

impl Global {
    /// Creates a global in `store`.
    ///
    /// # Errors
    /// When `init` does not have the global's type.
    pub fn new(store: &mut Store, ty: GlobalType, init: Val) -> Result<Global, Error> {
        check_type(&store.cell, ty.content, &init)?;
        check_store(&store.cell, &init)?;
        let id = store.cell.get_mut().add_global(ty, init.to_raw().to_bits());
        Ok(Global {
            store: store.cell.clone(),
            id,
        })
    }

    fn global(&self) -> &wasmz_runtime::Global {
        self.store.get().global(self.id)
    }

    /// The global's type.
    pub fn ty(&self) -> GlobalType {
        self.global().ty()
    }

    /// The current value.
    pub fn get(&self) -> Val {
        let raw = wasmz_runtime::RawVal::from_bits(self.global().get());
        Val::from_raw(&self.store, raw, self.ty().content)
    }

    /// Sets the value.
    ///
    /// # Errors
    /// When the global is immutable or the value has the wrong type.
    pub fn set(&self, value: Val) -> Result<(), Error> {
        let ty = self.ty();
        if !ty.mutable {
            return Err(Error::ImmutableGlobal);
        }
        check_type(&self.store, ty.content, &value)?;
        check_store(&self.store, &value)?;
        self.global().set(value.to_raw().to_bits());
        Ok(())
    }
}

/// An exception tag of a store: what `throw` names and `catch` clauses match. Its identity is its own:
/// every instantiation of a module that defines a tag makes a new one, an imported tag is the same tag
/// as the export it was linked to, and two `Tag` handles are equal when they are the same tag.
#[derive(Clone)]
pub struct Tag {
    pub(crate) store: Rc<StoreCell>,
    pub(crate) id: TagId,
}

impl std::fmt::Debug for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tag({:?}: {})", self.id, ExternType::Tag(self.ty()))
    }
}

impl PartialEq for Tag {
    fn eq(&self, other: &Tag) -> bool {
        Rc::ptr_eq(&self.store, &other.store) && self.id == other.id
    }
}

impl Eq for Tag {}

impl Tag {
    /// Creates a tag in `store` whose exceptions carry values of `ty`'s parameter types, to define in
    /// a [`crate::Linker`] for modules that import a tag.
    ///
    /// # Errors
    /// [`Error::Link`] when `ty` has results (a tag's type has none).
    pub fn new(store: &mut Store, ty: FuncType) -> Result<Tag, Error> {
        if !ty.results.is_empty() {
            return Err(Error::Link(format!(
                "a tag's type has no results, found {ty}"
            )));
        }
        let type_id = store.cell.engine.type_id(&ty);
        let id = store
            .cell
            .get_mut()
            .add_tag(wasmz_runtime::Tag::new(ty, type_id));
        Ok(Tag {
            store: store.cell.clone(),
            id,
        })
    }

    /// Whether `exception` (reported by an unhandled-exception trap, [`crate::Trap::exception`]) has
    /// this tag.
    pub fn is_tag_of(&self, exception: &ThrownException) -> bool {
        self.store.get().tag(self.id).vm_tag() as usize == exception.tag
    }

    /// The tag's type: the parameters are the types of the values its exceptions carry.
    pub fn ty(&self) -> FuncType {
        self.store.get().tag(self.id).ty().clone()
    }
}
