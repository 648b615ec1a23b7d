//! `StoreInner`: owner of everything instances create (memories, tables, globals, host functions,
//! instances). Objects are boxed so their addresses, which compiled code holds, never change; they live
//! until the store is dropped.

use crate::exception::{ExceptionHeap, Tag};
use crate::host::HostFunc;
use crate::instance::Instance;
use crate::memory::LinearMemory;
use crate::table::Table;
use crate::vmcontext::{VMGlobal, VMStoreContext};
use std::any::Any;
use std::cell::UnsafeCell;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use wasmz_environ::GlobalType;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident),*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub(crate) usize);
    )*};
}
ids!(
    /// A memory of a store.
    MemoryId,
    /// A table of a store.
    TableId,
    /// A global of a store.
    GlobalId,
    /// An instance of a store.
    InstanceId,
    /// A host function of a store.
    HostFuncId,
    /// An exception tag of a store.
    TagId
);

/// A global's storage and type.
#[derive(Debug)]
pub struct Global {
    /// Where the value lives: in `owned`, or (for a global an instance defines) in that instance's
    /// vmctx, which the store keeps allocated as long as the global (see [`StoreInner::add_global_at`]).
    storage: *mut VMGlobal,
    /// The storage of a global made by the host (only held, so that `storage` stays valid).
    _owned: Option<Box<UnsafeCell<VMGlobal>>>,
    ty: GlobalType,
}

impl Global {
    /// The global's type.
    pub fn ty(&self) -> GlobalType {
        self.ty
    }

    /// Pointer to the storage compiled code reads and writes.
    pub fn storage(&self) -> *mut VMGlobal {
        self.storage
    }

    /// The current value's bits.
    pub fn get(&self) -> u128 {
        // SAFETY: `storage` is valid while `self` is (see the field); globals are accessed by one thread
        // at a time and no reference to the storage is held.
        u128::from_le_bytes(unsafe { (*self.storage).bytes })
    }

    /// Sets the value's bits.
    pub fn set(&self, bits: u128) {
        // SAFETY: as in `get`.
        unsafe { (*self.storage).bytes = bits.to_le_bytes() };
    }
}

/// A memory a store uses: its own, or a shared memory that other stores (on other threads) may use too.
#[derive(Debug)]
pub(crate) enum StoreMemory {
    /// Created for this store and charged to its budget.
    Owned(Box<LinearMemory>),
    /// A shared memory; it lives until the last store or host handle using it is gone, and is charged
    /// to no store's budget.
    Shared(Arc<LinearMemory>),
}

impl std::ops::Deref for StoreMemory {
    type Target = LinearMemory;

    fn deref(&self) -> &LinearMemory {
        match self {
            StoreMemory::Owned(m) => m,
            StoreMemory::Shared(m) => m,
        }
    }
}

/// Settings of a store that affect execution.
#[derive(Debug, Clone, Copy)]
pub struct StoreLimits {
    /// Bytes of native stack wasm code may use below the entry point.
    pub max_wasm_stack: usize,
    /// Use explicit bounds checks rather than guard pages for new memories.
    pub explicit_bounds_checks: bool,
    /// Upper bound on any memory's size in pages.
    pub memory_limit_pages: Option<u64>,
}

/// The contents of a store.
#[expect(
    clippy::vec_box,
    reason = "boxing keeps each object's address stable while the vectors grow"
)]
pub struct StoreInner {
    pub(crate) ctx: Box<UnsafeCell<VMStoreContext>>,
    pub(crate) memories: Vec<StoreMemory>,
    pub(crate) tables: Vec<Box<Table>>,
    pub(crate) globals: Vec<Box<Global>>,
    pub(crate) host_funcs: Vec<Box<HostFunc>>,
    pub(crate) instances: Vec<Box<Instance>>,
    /// Instances whose instantiation failed once it had begun to fill their vmctx. They are kept: their
    /// defined globals live in their vmctx, and their functions may be reachable from an imported
    /// table an active element segment wrote to before the failure (so their element segments are GC
    /// roots, like those of `instances`).
    pub(crate) failed_instances: Vec<Box<Instance>>,
    pub(crate) tags: Vec<Box<Tag>>,
    /// Exception objects thrown by the store's code (freed when caught without an `exnref`).
    pub(crate) exceptions: std::cell::RefCell<ExceptionHeap>,
    pub(crate) limits: StoreLimits,
    budget: Box<crate::budget::MemoryBudget>,
    /// Modules whose code is already charged to the budget (by address; instances keep them alive).
    charged_modules: Vec<usize>,
    data: Option<Box<dyn Any>>,
    /// Set while a host function holds a mutable borrow of `data` (see [`crate::Caller::borrow_data`]).
    data_borrowed: std::cell::Cell<bool>,
    /// What the embedding API keeps here to find its own handle of the store from inside a host call.
    owner: Option<Box<dyn Any>>,
    /// Called when the epoch deadline is reached (see [`StoreInner::on_epoch_deadline`]).
    /// A cell: the callback runs with only a shared borrow of the store, and may replace itself.
    epoch_callback: std::cell::Cell<Option<Box<EpochCallback>>>,
    /// The GC heap.
    pub(crate) gc: std::cell::RefCell<crate::gc::GcHeap>,
    /// References the host holds (see [`crate::gc::GcRoot`]).
    pub(crate) gc_roots: std::rc::Rc<std::cell::RefCell<crate::gc::RootTable>>,
}

/// The epoch-deadline callback of a store: current epoch in, more ticks (or `None`: interrupt) out.
pub type EpochCallback = dyn FnMut(u64) -> Option<u64>;

impl StoreInner {
    /// An empty store.
    pub fn new(limits: StoreLimits) -> StoreInner {
        StoreInner {
            ctx: Box::default(),
            memories: Vec::new(),
            tables: Vec::new(),
            globals: Vec::new(),
            host_funcs: Vec::new(),
            instances: Vec::new(),
            failed_instances: Vec::new(),
            tags: Vec::new(),
            exceptions: Default::default(),
            limits,
            budget: Box::default(),
            charged_modules: Vec::new(),
            data: None,
            data_borrowed: std::cell::Cell::new(false),
            owner: None,
            epoch_callback: std::cell::Cell::new(None),
            gc: Default::default(),
            gc_roots: Default::default(),
        }
    }

    /// The store's memory budget.
    pub fn budget(&self) -> &crate::budget::MemoryBudget {
        &self.budget
    }

    /// Charges the code of `module` to the budget the first time the store instantiates it; `false` when
    /// it does not fit.
    pub(crate) fn charge_module_code(&mut self, module: &crate::instance::RuntimeModule) -> bool {
        let key = module as *const _ as usize;
        if self.charged_modules.contains(&key) {
            return true;
        }
        if !self.budget.try_charge(module.code.code().len() as u64) {
            return false;
        }
        self.charged_modules.push(key);
        true
    }

    /// The store's limits.
    pub fn limits(&self) -> StoreLimits {
        self.limits
    }

    /// Creates an unshared memory of type `ty` with the store's limits and adds it, charging its size
    /// to the store's budget. The store's limiter is asked first, before any address space is
    /// reserved.
    ///
    /// # Errors
    /// When the limiter refuses the memory, it cannot be created, or it does not fit in the budget.
    pub fn create_memory(
        &mut self,
        ty: wasmz_environ::MemoryType,
    ) -> Result<MemoryId, crate::MemoryError> {
        LinearMemory::admit(ty, &self.budget)?;
        let limits = self.limits;
        let memory =
            LinearMemory::new(ty, limits.explicit_bounds_checks, limits.memory_limit_pages)?;
        memory.attach_budget(&self.budget)?;
        self.memories.push(StoreMemory::Owned(memory));
        Ok(MemoryId(self.memories.len() - 1))
    }

    /// Makes a shared memory usable by this store's instances; a memory added before gets the same id.
    /// Shared memories are not charged to the store's budget: they may outlive the store and are used
    /// by other stores too. Their size is bounded by their declared maximum (and the engine's memory
    /// limit when they were created).
    pub fn add_shared_memory(&mut self, memory: Arc<LinearMemory>) -> MemoryId {
        let existing = self
            .memories
            .iter()
            .position(|m| matches!(m, StoreMemory::Shared(held) if Arc::ptr_eq(held, &memory)));
        if let Some(i) = existing {
            return MemoryId(i);
        }
        self.memories.push(StoreMemory::Shared(memory));
        MemoryId(self.memories.len() - 1)
    }

    /// The shared memory `id`, when it is one.
    pub fn shared_memory(&self, id: MemoryId) -> Option<Arc<LinearMemory>> {
        match &self.memories[id.0] {
            StoreMemory::Shared(m) => Some(m.clone()),
            StoreMemory::Owned(_) => None,
        }
    }

    /// Adds a table and creates its initial elements, once the store's limiter and budget allow them
    /// (see [`Table::attach_budget`]).
    ///
    /// # Errors
    /// When the limiter, the budget or the system refuses the table.
    pub fn add_table(&mut self, table: Box<Table>) -> Result<TableId, crate::table::TableError> {
        table.attach_budget(&self.budget)?;
        self.tables.push(table);
        Ok(TableId(self.tables.len() - 1))
    }

    /// Adds a global with an initial value.
    pub fn add_global(&mut self, ty: GlobalType, bits: u128) -> GlobalId {
        let owned = Box::new(UnsafeCell::new(VMGlobal {
            bytes: bits.to_le_bytes(),
        }));
        self.globals.push(Box::new(Global {
            storage: owned.get(),
            _owned: Some(owned),
            ty,
        }));
        GlobalId(self.globals.len() - 1)
    }

    /// Adds a global whose value lives at `storage` (inside an instance's vmctx), with an initial value.
    ///
    /// # Safety
    /// `storage` must be valid for reads and writes, 16-aligned, and stay allocated as long as this store
    /// (the vmctx of an instance this store keeps, even one whose instantiation failed).
    pub(crate) unsafe fn add_global_at(
        &mut self,
        ty: GlobalType,
        storage: *mut VMGlobal,
        bits: u128,
    ) -> GlobalId {
        // SAFETY: valid for writes per the caller's contract.
        unsafe {
            storage.write(VMGlobal {
                bytes: bits.to_le_bytes(),
            })
        };
        self.globals.push(Box::new(Global {
            storage,
            _owned: None,
            ty,
        }));
        GlobalId(self.globals.len() - 1)
    }

    /// Adds a host function.
    pub fn add_host_func(&mut self, func: HostFunc) -> HostFuncId {
        self.host_funcs.push(Box::new(func));
        HostFuncId(self.host_funcs.len() - 1)
    }

    /// Adds an exception tag (a new identity).
    pub fn add_tag(&mut self, tag: Tag) -> TagId {
        self.tags.push(Box::new(tag));
        TagId(self.tags.len() - 1)
    }

    /// A tag.
    pub fn tag(&self, id: TagId) -> &Tag {
        &self.tags[id.0]
    }

    /// The tag and the values (16 bytes each, as in globals) of the exception at `exn`.
    ///
    /// # Safety
    /// `exn` must be null or an `exnref` that compiled code of this store produced (such exceptions
    /// are never freed before the store).
    pub unsafe fn exception(&self, exn: *const u8) -> Option<(TagId, Vec<u128>)> {
        // SAFETY: the caller's contract: an exnref's object is live.
        let (tag, values) = unsafe { self.exceptions.borrow().read(exn) }?;
        let index = self.tags.iter().position(|t| t.vm_tag() == tag)?;
        Some((TagId(index), values))
    }

    /// Number of exception objects alive in the store (thrown, and not freed by a `catch`).
    pub fn live_exceptions(&self) -> usize {
        self.exceptions.borrow().live()
    }

    /// A memory.
    pub fn memory(&self, id: MemoryId) -> &LinearMemory {
        &self.memories[id.0]
    }

    /// A table.
    pub fn table(&self, id: TableId) -> &Table {
        &self.tables[id.0]
    }

    /// A global.
    pub fn global(&self, id: GlobalId) -> &Global {
        &self.globals[id.0]
    }

    /// A host function.
    pub fn host_func(&self, id: HostFuncId) -> &HostFunc {
        &self.host_funcs[id.0]
    }

    /// An instance.
    pub fn instance(&self, id: InstanceId) -> &Instance {
        &self.instances[id.0]
    }

    /// Replaces the embedder's data and returns the old data, which the caller drops once it holds no
    /// reference into the store (dropping runs the embedder's code). While the data is borrowed
    /// ([`StoreInner::borrow_data`]) nothing changes and `Err` gives `data` back: the borrower holds a
    /// reference into the old data.
    pub fn set_data(&mut self, data: Box<dyn Any>) -> Result<Option<Box<dyn Any>>, Box<dyn Any>> {
        if self.data_borrowed.get() {
            return Err(data);
        }
        Ok(self.data.replace(data))
    }

    /// The embedder's data, borrowed until the returned flag is cleared (the embedding API's guard
    /// does it when dropped). `None` when there is no data or it is borrowed already: two mutable
    /// borrows of one value must never coexist (a host function up the stack, or the embedder
    /// around a call, may hold one).
    pub fn borrow_data(&mut self) -> Option<(&mut (dyn Any + 'static), &std::cell::Cell<bool>)> {
        if self.data_borrowed.get() {
            return None;
        }
        let data = self.data.as_deref_mut()?;
        self.data_borrowed.set(true);
        Some((data, &self.data_borrowed))
    }

    /// A handle to call the function reference `funcref` from the host: through the first instance
    /// whose module declares its function type (every function reference of a store has the type of a
    /// function some instance of the store defines or imports). `None` if there is none.
    ///
    /// # Safety
    /// `funcref` must be a live, non-null `VMFuncRef` of this store.
    pub unsafe fn funcref_handle(
        &self,
        funcref: *const crate::vmcontext::VMFuncRef,
    ) -> Option<crate::instance::FuncHandle> {
        self.instances
            .iter()
            // SAFETY: the caller's contract.
            .find_map(|instance| unsafe { instance.funcref_handle(funcref) })
    }

    /// Sets (or removes) the callback asked when code reaches the epoch deadline: given the
    /// engine's current epoch, it returns how many more ticks the code may run, or `None` to
    /// interrupt it.
    /// Returns the old callback, which the caller drops once it holds no reference into the store
    /// (dropping runs the embedder's code).
    pub fn set_epoch_callback(
        &self,
        callback: Option<Box<EpochCallback>>,
    ) -> Option<Box<EpochCallback>> {
        self.epoch_callback.replace(callback)
    }

    /// The epoch deadline was reached: whether the code goes on (the callback then moved the
    /// deadline). Without a callback, or when it panics or asks to stop, the code is interrupted.
    pub fn on_epoch_deadline(&self) -> bool {
        let Some(mut callback) = self.epoch_callback.take() else {
            return false;
        };
        let ctx = self.ctx.get();
        // SAFETY: `epoch_ptr` points at the engine's counter, which outlives the store (see
        // `set_epoch_counter`); the context is this store's.
        let epoch = unsafe { (*(*ctx).epoch_ptr).load(std::sync::atomic::Ordering::Relaxed) };
        let more = crate::panics::catch_panic(|| callback(epoch)).unwrap_or(None);
        // The callback stays unless it set another meanwhile.
        let replacement = self.epoch_callback.take();
        self.epoch_callback
            .set(Some(replacement.unwrap_or(callback)));
        match more {
            Some(ticks) => {
                // SAFETY: as above.
                unsafe { (*ctx).epoch_deadline = epoch.saturating_add(ticks) };
                true
            }
            None => false,
        }
    }

    /// Sets what the embedding API needs to find its handle of this store (a weak reference to it).
    pub fn set_owner(&mut self, owner: Box<dyn Any>) {
        self.owner = Some(owner);
    }

    /// What [`StoreInner::set_owner`] stored.
    pub fn owner(&self) -> Option<&(dyn Any + 'static)> {
        self.owner.as_deref()
    }

    /// Fuel left for code compiled with fuel metering.
    pub fn fuel(&self) -> u64 {
        // SAFETY: the context is only written by compiled code running on this thread, which is not
        // running while the embedder holds `&self`.
        unsafe { (*self.ctx.get()).fuel }
    }

    /// Sets the fuel left.
    pub fn set_fuel(&mut self, fuel: u64) {
        self.ctx.get_mut().fuel = fuel;
    }

    /// Points compiled code at the engine's epoch counter, which must outlive the store.
    pub fn set_epoch_counter(&mut self, epoch: &AtomicU64) {
        self.ctx.get_mut().epoch_ptr = epoch;
    }

    /// The epoch at which code compiled with epoch interruption traps.
    pub fn epoch_deadline(&self) -> u64 {
        // SAFETY: as in `fuel`.
        unsafe { (*self.ctx.get()).epoch_deadline }
    }

    /// Sets the epoch at which code compiled with epoch interruption traps.
    pub fn set_epoch_deadline(&mut self, deadline: u64) {
        self.ctx.get_mut().epoch_deadline = deadline;
    }

    /// Counters of the store's GC heap.
    pub fn gc_stats(&self) -> crate::gc::GcStats {
        self.gc.borrow().stats()
    }

    /// Sets the most bytes the GC heap may use; takes effect only before the first GC allocation.
    pub fn set_gc_heap_limit(&mut self, limit: usize) {
        self.gc.get_mut().set_limit(limit);
    }

    /// Runs a full garbage collection. Only references held in [`crate::gc::GcRoot`]s, globals,
    /// tables and wasm frames survive: raw words the host holds elsewhere may dangle afterwards.
    pub fn collect_garbage(&self) {
        crate::gc::collect_now(self);
    }

    /// Keeps the reference `word` (a tagged any/extern word) alive while the returned root exists.
    pub fn root(&self, word: u64) -> crate::gc::GcRoot {
        crate::gc::GcRoot::new(&self.gc_roots, word)
    }

    /// Records the layout of GC objects of canonical type `type_id` (done at instantiation for every
    /// struct and array type of the module).
    pub fn register_gc_layout(&self, type_id: u32, layout: Arc<wasmz_environ::GcLayout>) {
        self.gc.borrow_mut().register_layout(type_id, layout);
    }

    /// The store context compiled code reads.
    pub(crate) fn vm_store_context(&self) -> *mut VMStoreContext {
        self.ctx.get()
    }
}
