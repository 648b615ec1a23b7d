//! Handles to a store's functions, memories, tables and globals.

use crate::Error;
use crate::store::{Store, StoreCell};
use crate::values::Trap;
use crate::values::Val;
use std::rc::Rc;
use wasmz_environ::{ExternType, FuncType, GlobalType, MemoryType, TableType};
use wasmz_runtime::{
    FuncCallee, FuncHandle, GlobalId, LinearMemory, MemoryId, RawVal, TableId, TagId, VMFuncRef,
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

    /// The handle of an export of an instance of `store`.
    pub(crate) fn from_export(store: &Rc<StoreCell>, value: wasmz_runtime::ExportValue) -> Extern {
        use wasmz_runtime::ExportValue as E;
        let store = store.clone();
        match value {
            E::Func(h) => Extern::Func(Func::from_handle(&store, h)),
            E::Memory(id) => Extern::Memory(Memory { store, id }),
            E::Table(id) => Extern::Table(Table { store, id }),
            E::Global(id) => Extern::Global(Global { store, id }),
            E::Tag(id) => Extern::Tag(Tag { store, id }),
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

/// A function reference of a store: an exported function, or a function reference read from a
/// table, a global or a call's results. Callable from the host either way.
#[derive(Clone)]
pub struct Func {
    pub(crate) store: Rc<StoreCell>,
    raw: *const VMFuncRef,
    /// How to call it: known for exports, looked up on first use for references from wasm.
    handle: std::cell::OnceCell<FuncHandle>,
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
            handle: handle.into(),
        }
    }

    /// The function of a non-null funcref word that compiled code or a table of `store` holds.
    pub(crate) fn from_raw(store: &Rc<StoreCell>, raw: u64) -> Option<Func> {
        (raw != 0).then(|| Func {
            store: store.clone(),
            raw: raw as usize as *const VMFuncRef,
            handle: std::cell::OnceCell::new(),
        })
    }

    /// How to call the function: its type and entry, found through an instance of the store whose
    /// module declares the function's type.
    fn handle(&self) -> Option<&FuncHandle> {
        if let Some(handle) = self.handle.get() {
            return Some(handle);
        }
        // SAFETY: `raw` is a non-null funcref of this store (how every `Func` is made), which
        // `self.store` keeps alive.
        let handle = unsafe { self.store.get().funcref_handle(self.raw) }?;
        Some(self.handle.get_or_init(|| handle))
    }

    pub(crate) fn raw(&self) -> *const VMFuncRef {
        self.raw
    }

    /// A function of `store` that runs the host function `func`: to store into a table or a global,
    /// pass to wasm as a function reference, or call from the host like any other. Each call
    /// compiles a small adapter module (an import re-exported) and instantiates it in `store`, so
    /// make the function once and keep it.
    ///
    /// # Errors
    /// [`Error::RawReference`] for a [`crate::HostFunc::new`] function with reference-typed results
    /// (as [`crate::Linker::define`]); [`Error::Link`] for a signature naming a concrete (indexed)
    /// type, which a host signature cannot express; the errors of compiling and instantiating the
    /// adapter (an engine compiling for another target, a memory budget too small).
    pub fn new(store: &mut Store, func: crate::HostFunc) -> Result<Func, Error> {
        func.check_results("<host>", "Func::new")?;
        let ty = func.ty().clone();
        if ty
            .params
            .iter()
            .chain(ty.results.iter())
            .any(|t| matches!(t.ref_type(), Some(r) if matches!(r.heap, wasmz_environ::HeapType::Concrete(_))))
        {
            return Err(Error::Link(format!(
                "Func::new cannot make a host function of type {ty}: concrete reference types \
                 are known only inside a module"
            )));
        }
        let wat = format!(r#"(module (import "" "f" {ty}) (export "f" (func 0)))"#);
        let module = crate::Module::compile(store.engine(), wat)?;
        let mut linker = crate::Linker::new();
        linker.define("", "f", func)?;
        let instance = crate::Instance::new(store, &module, &linker)?;
        Ok(instance.func("f").expect("the adapter exports its import"))
    }

    /// The engine-wide canonical id of the function's type.
    pub(crate) fn type_id(&self) -> Option<u32> {
        // SAFETY: `raw` is a non-null `VMFuncRef` of this function's store, which `self.store` keeps
        // alive; a `VMFuncRef`'s type id never changes.
        Some(unsafe { (*self.raw).type_id })
    }

    /// The function's type (`None` only if no instance of the store declares it, which no function
    /// reference obtained from wasm or the API can be).
    pub fn ty(&self) -> Option<&FuncType> {
        self.handle().map(FuncHandle::ty)
    }

    /// Calls the function with untyped arguments, writing its results into `results`; allocates
    /// nothing for up to 8 parameters and results. Look the function up once with
    /// [`crate::Instance::func`] and call it many times.
    ///
    /// Reference-typed results come back as their raw words (a GC object's word is not a root: it
    /// says nothing once wasm code has dropped the object). Reference-typed parameters are refused:
    /// call such functions with typed values ([`crate::Instance::call_vals`]) or
    /// [`Func::call_unchecked`].
    ///
    /// # Errors
    /// [`Error::ArgumentCount`] when `args` or `results` do not match the signature,
    /// [`Error::RawReference`] when a parameter has a reference type, and [`Error::ExportKind`] for a
    /// function reference whose type is unknown (one read from a table or global). The inner
    /// `Result` is the call's outcome.
    pub fn call(&self, args: &[RawVal], results: &mut [RawVal]) -> Result<Result<(), Trap>, Error> {
        refuse_raw_references(self.callable()?.ty(), "<function>")?;
        // SAFETY: no parameter has a reference type, so no argument is taken as a reference.
        unsafe { self.call_unchecked(args, results) }
    }

    /// [`Func::call`] without refusing reference-typed parameters: their words go to compiled code
    /// unchecked.
    ///
    /// # Safety
    /// Every argument of a reference-typed parameter must be a word that compiled code of this
    /// function's store could hold at that type: null (0) only where the type is nullable; a
    /// function reference of this store whose function type is a subtype of the declared one; a GC
    /// object of this store's heap that is alive (held by wasm or rooted by an [`crate::AnyRef`])
    /// and of a fitting type; an exception of this store. Any other word lets compiled code read,
    /// write or jump to an arbitrary address.
    ///
    /// # Errors
    /// As [`Func::call`], without [`Error::RawReference`].
    pub unsafe fn call_unchecked(
        &self,
        args: &[RawVal],
        results: &mut [RawVal],
    ) -> Result<Result<(), Trap>, Error> {
        let handle = self.callable()?;
        call_raw(
            &self.store,
            handle.ty(),
            &handle.callee(),
            "<function>",
            args,
            results,
        )
    }

    /// Calls the function with its arguments in `values`, which has room for every parameter and
    /// result; the results replace the arguments. For [`crate::TypedFunc`], which checked the
    /// signature (number types only, at most eight of each) when it was made.
    #[inline]
    pub(crate) fn invoke_typed(&self, values: &mut [RawVal; 8]) -> Result<(), Trap> {
        let handle = self
            .handle()
            .expect("a typed function's handle was found when it was made");
        // SAFETY: the function is `self.store`'s (no borrow of it is held during the call); its
        // signature has only number types (checked by `TypedFunc::new`); `values` has eight slots,
        // at least max(params, results).
        unsafe {
            wasmz_runtime::call_callee(self.store.ptr(), &handle.callee(), values.as_mut_ptr())
        }
        .map_err(Trap::from_info)
    }

    fn callable(&self) -> Result<&FuncHandle, Error> {
        self.handle().ok_or_else(|| Error::ExportKind {
            name: "<function reference>".into(),
            expected: "callable function",
        })
    }
}

/// Refuses a signature whose parameters include a reference type: safe raw calls cannot check the
/// words given for them.
#[inline]
pub(crate) fn refuse_raw_references(ty: &FuncType, name: &str) -> Result<(), Error> {
    match ty.params.iter().position(|t| t.is_ref()) {
        None => Ok(()),
        Some(index) => Err(Error::RawReference {
            func: name.to_string(),
            what: format!("parameter {index}"),
            ty: ty.params[index],
        }),
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
    /// [`Error::Resource`] when the page size is neither 64 KiB nor 1 byte (`page_size_log2` 16 or 0),
    /// the initial size exceeds the maximum or the configured limit, the store's limiter or memory
    /// budget refuses the memory, or it cannot be reserved.
    pub fn new(store: &mut Store, ty: MemoryType) -> Result<Memory, Error> {
        if ty.shared {
            let shared = crate::SharedMemory::new(store.engine(), ty)?;
            let id = store.cell.get_mut().add_shared_memory(shared.memory);
            return Ok(Memory {
                store: store.cell.clone(),
                id,
            });
        }
        let id = store
            .cell
            .get_mut()
            .create_memory(ty)
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
    /// [`Error::Resource`] when the type is not one of a table (its elements are not references, or
    /// its initial size exceeds its maximum), the table is larger than 10 million elements, or the
    /// store's limiter or memory budget refuses it; [`Error::ValueType`] or [`Error::WrongStore`]
    /// when `init` does not match the element type or belongs to another store.
    pub fn new(store: &mut Store, ty: TableType, init: Val) -> Result<Table, Error> {
        // The type is checked first (nothing is allocated yet; `init` is only stored).
        let table = wasmz_runtime::Table::new(ty, init.to_raw().low64())
            .map_err(|e| Error::Resource(e.to_string()))?;
        check_type(&store.cell, ty.element, &init)?;
        check_store(&store.cell, &init)?;
        let id = store
            .cell
            .get_mut()
            .add_table(table)
            .map_err(|e| Error::Resource(e.to_string()))?;
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
    /// When the maximum (at most 10 million elements) would be exceeded, the store's limiter or memory
    /// budget refuses, the system cannot provide the memory, or `init` has the wrong type.
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
    pub fn is_tag_of(&self, exception: &crate::ThrownException) -> bool {
        self.store.get().tag(self.id).vm_tag() as usize == exception.tag_identity()
    }

    /// The tag's type: the parameters are the types of the values its exceptions carry.
    pub fn ty(&self) -> FuncType {
        self.store.get().tag(self.id).ty().clone()
    }
}
