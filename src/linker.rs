//! `Linker`: named definitions that satisfy a module's imports, including host functions.

use crate::Error;
use crate::externals::{Extern, Func, Global, Memory, Table};
use crate::instance::Instance;
use crate::values::Val;
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use wasmz_environ::{FuncType, TrapCode, ValType};
use wasmz_runtime::{Caller, HostCallback, HostTrap, RawVal};

/// An error returned by a host function: it ends the wasm call with a trap carrying the message (or,
/// made with [`HostError::exit`], ends the run with an exit status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError {
    code: TrapCode,
    message: String,
    exit_code: Option<i32>,
}

impl HostError {
    /// A host error with trap code [`TrapCode::HostError`].
    pub fn new(message: impl Into<String>) -> HostError {
        HostError::trap(TrapCode::HostError, message)
    }

    /// A host error raising a specific trap code.
    pub fn trap(code: TrapCode, message: impl Into<String>) -> HostError {
        HostError {
            code,
            message: message.into(),
            exit_code: None,
        }
    }

    /// Ends the whole run with exit status `status` (as WASI `proc_exit` does): the call returns
    /// [`crate::ExecResult::Exit`] instead of a trap.
    pub fn exit(status: i32) -> HostError {
        HostError {
            code: TrapCode::HostError,
            message: format!("exit with status {status}"),
            exit_code: Some(status),
        }
    }

    /// The trap code it raises.
    pub fn code(&self) -> TrapCode {
        self.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The exit status, for errors made by [`HostError::exit`].
    pub fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostError {}

/// What a host function receives about its caller: the calling instance's memory and the store's data.
pub struct HostContext<'a, 'b> {
    caller: &'a mut Caller<'b>,
}

impl HostContext<'_, '_> {
    #[inline]
    fn memory(&self) -> Result<&wasmz_runtime::LinearMemory, HostError> {
        self.caller
            .memory()
            .ok_or_else(|| HostError::new("the calling instance has no memory"))
    }

    /// Runs a full garbage collection of the caller's store now (see [`crate::Store::collect_garbage`]);
    /// the references held by the wasm frames that led to this call survive.
    pub fn collect_garbage(&mut self) {
        self.caller.collect_garbage();
    }

    /// Size of the caller's memory in bytes (0 without a memory).
    #[inline]
    pub fn memory_size(&self) -> u64 {
        self.caller.memory().map_or(0, |m| m.byte_size())
    }

    /// Reads bytes from the caller's memory (its export "memory", else memory 0).
    ///
    /// # Errors
    /// When there is no memory or the range is out of bounds (the error traps the guest if returned).
    #[inline]
    pub fn read_memory(&self, offset: u64, buf: &mut [u8]) -> Result<(), HostError> {
        self.memory()?
            .read(offset, buf)
            .map_err(|e| HostError::trap(TrapCode::MemoryOutOfBounds, e.to_string()))
    }

    /// Writes bytes into the caller's memory.
    ///
    /// # Errors
    /// When there is no memory or the range is out of bounds.
    #[inline]
    pub fn write_memory(&mut self, offset: u64, data: &[u8]) -> Result<(), HostError> {
        self.memory()?
            .write(offset, data)
            .map_err(|e| HostError::trap(TrapCode::MemoryOutOfBounds, e.to_string()))
    }

    /// The address of the bytes `offset..offset + len` of the caller's memory, after checking they are
    /// inside it. The address stays valid while the memory lives: memories never move, and they only
    /// grow. Dereferencing it is up to the caller; [`HostContext::memory_slice`] and
    /// [`HostContext::memory_slice_mut`] are the usual way.
    ///
    /// # Errors
    /// When there is no memory or the range is out of bounds.
    pub fn memory_ptr(&self, offset: u64, len: usize) -> Result<*mut u8, HostError> {
        self.memory()?
            .range_ptr(offset, len as u64)
            .map_err(|e| HostError::trap(TrapCode::MemoryOutOfBounds, e.to_string()))
    }

    /// Whether the caller's memory is a shared memory (which other threads may access at any time, so
    /// borrowing it with [`HostContext::memory_slice`] needs their cooperation).
    pub fn memory_is_shared(&self) -> bool {
        self.caller.memory().is_some_and(|m| m.is_shared())
    }

    /// The bytes `offset..offset + len` of the caller's memory, borrowed in place instead of copied
    /// (as [`HostContext::read_memory`] does).
    ///
    /// # Safety
    /// While the slice lives, nothing may write to that part of the memory: no [`crate::Memory`] handle
    /// the host function holds, and no other thread (for a memory shared between threads).
    ///
    /// # Errors
    /// When there is no memory or the range is out of bounds.
    pub unsafe fn memory_slice(&self, offset: u64, len: usize) -> Result<&[u8], HostError> {
        let ptr = self.memory_ptr(offset, len)?;
        // SAFETY: the range is inside the memory, which outlives this context's borrow and never moves;
        // the caller guarantees nothing writes to it while the slice lives.
        Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
    }

    /// The bytes `offset..offset + len` of the caller's memory, borrowed mutably in place instead of
    /// written with [`HostContext::write_memory`].
    ///
    /// # Safety
    /// While the slice lives, nothing else may read or write that part of the memory: no
    /// [`crate::Memory`] handle the host function holds, and no other thread (for a shared memory).
    ///
    /// # Errors
    /// When there is no memory or the range is out of bounds.
    pub unsafe fn memory_slice_mut(
        &mut self,
        offset: u64,
        len: usize,
    ) -> Result<&mut [u8], HostError> {
        let ptr = self.memory_ptr(offset, len)?;
        // SAFETY: as in `memory_slice`, with exclusive access guaranteed by the caller and by `&mut self`.
        Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
    }

    /// Reads a little-endian `u32` from the caller's memory.
    ///
    /// # Errors
    /// As [`HostContext::read_memory`].
    #[inline]
    pub fn read_u32(&self, offset: u64) -> Result<u32, HostError> {
        let mut b = [0; 4];
        self.read_memory(offset, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Writes a little-endian `u32` into the caller's memory.
    ///
    /// # Errors
    /// As [`HostContext::write_memory`].
    #[inline]
    pub fn write_u32(&mut self, offset: u64, value: u32) -> Result<(), HostError> {
        self.write_memory(offset, &value.to_le_bytes())
    }

    /// The store's data, if it was set with [`crate::Store::set_data`] with type `T`, borrowed until
    /// the returned guard is dropped. `None` also while another host function up the stack holds it
    /// (one that called back into wasm with the guard alive): the data is never borrowed twice.
    pub fn data<T: Any>(&mut self) -> Option<DataMut<'_, T>> {
        DataMut::new(self.caller.borrow_data()?)
    }

    /// A trap to return from the host function: `return Err(cx.trap("bad input"))`.
    pub fn trap(&self, message: impl Into<String>) -> HostError {
        HostError::new(message)
    }

    /// The calling instance's export `name` (a function, memory, table, global or tag), to call
    /// back into the module or reach its other exports without keeping handles in the store's data.
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        let value = self.caller.export(name)?;
        Some(Extern::from_export(&self.store_cell()?, value))
    }

    /// The calling instance's exported function `name`.
    pub fn get_func(&self, name: &str) -> Option<Func> {
        match self.get_export(name)? {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The store's fuel left (see [`crate::Store::set_fuel`]).
    pub fn fuel(&self) -> u64 {
        self.caller.fuel()
    }

    /// Sets the store's fuel left; the calling code sees it at its next check.
    pub fn set_fuel(&mut self, fuel: u64) {
        self.caller.set_fuel(fuel);
    }

    /// Moves the store's epoch deadline to `ticks_from_now` increments of the engine's epoch from
    /// now (see [`crate::Store::set_epoch_deadline`]): a host function can extend it.
    pub fn set_epoch_deadline(&mut self, ticks_from_now: u64) {
        let Some(store) = self.store_cell() else {
            return;
        };
        let deadline = store.engine.current_epoch().saturating_add(ticks_from_now);
        self.caller.set_epoch_deadline(deadline);
    }

    /// Whether the engine's epoch has reached the store's epoch deadline, so that the calling code,
    /// compiled with [`crate::Config::epoch_interruption`], is interrupted at its next check (or asks
    /// the epoch-deadline callback). Always false for other engines. Host functions that wait check
    /// it so as not to outlast the deadline.
    pub fn epoch_deadline_reached(&self) -> bool {
        let Some(store) = self.store_cell() else {
            return false;
        };
        store.engine.config().epoch_interruption
            && store.engine.current_epoch() >= self.caller.epoch_deadline()
    }

    /// The handle of the caller's store.
    pub(crate) fn store_cell(&self) -> Option<std::rc::Rc<crate::store::StoreCell>> {
        self.caller
            .owner()?
            .downcast_ref::<std::rc::Weak<crate::store::StoreCell>>()?
            .upgrade()
    }
}

/// The store's data, borrowed ([`HostContext::data`], [`crate::Store::data`]) until dropped;
/// dereferences to `T`.
pub struct DataMut<'a, T> {
    value: &'a mut T,
    flag: &'a std::cell::Cell<bool>,
}

impl<'a, T: Any> DataMut<'a, T> {
    /// The guard of borrowed data, if it has type `T` (the borrow is given back otherwise).
    pub(crate) fn new(
        (data, flag): (&'a mut dyn Any, &'a std::cell::Cell<bool>),
    ) -> Option<DataMut<'a, T>> {
        match data.downcast_mut::<T>() {
            Some(value) => Some(DataMut { value, flag }),
            None => {
                flag.set(false);
                None
            }
        }
    }
}

impl<T> std::ops::Deref for DataMut<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value
    }
}

impl<T> std::ops::DerefMut for DataMut<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value
    }
}

impl<T> Drop for DataMut<'_, T> {
    fn drop(&mut self) {
        self.flag.set(false);
    }
}

/// The seed-style host function: an explicit context value, then the same arguments as [`HostFunc::new`].
pub type ContextHostFn =
    fn(usize, &mut HostContext<'_, '_>, &[RawVal], &mut [RawVal]) -> Result<(), HostError>;

/// The callback of a host function made with typed values.
type ValCallback =
    dyn Fn(&mut HostContext<'_, '_>, &[Val], &mut [Val]) -> Result<(), HostError> + Send + Sync;

/// A function implemented by the host.
#[derive(Clone)]
pub struct HostFunc {
    pub(crate) ty: FuncType,
    pub(crate) callback: Arc<HostCallback>,
    /// Whether the words it returns for reference-typed results may reach compiled code: true when
    /// they are checked (typed values) or vouched for (`new_unchecked`).
    trusted_results: bool,
}

impl std::fmt::Debug for HostFunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostFunc{}", self.ty)
    }
}

impl HostFunc {
    /// A host function of the given signature. `f` receives the caller's context, the arguments, and a
    /// slice to write the results into; an `Err` (or a panic) traps the calling wasm code.
    ///
    /// Host functions are `Send + Sync` (so their closures must be): a [`Linker`] and an
    /// [`crate::InstancePre`] holding them are shared by the threads that instantiate modules. State a
    /// closure needs per store belongs in the store's data ([`HostContext::data`]), which need not be
    /// `Send`.
    ///
    /// Reference-typed parameters arrive as their raw words. Reference-typed *results* cannot be
    /// written as raw words safely (compiled code trusts them): [`Linker::define`] refuses such a
    /// function with [`Error::RawReference`]. Use [`HostFunc::new_vals`] for them (or
    /// [`HostFunc::new_unchecked`]).
    pub fn new(
        params: impl Into<Vec<ValType>>,
        results: impl Into<Vec<ValType>>,
        f: impl Fn(&mut HostContext<'_, '_>, &[RawVal], &mut [RawVal]) -> Result<(), HostError>
        + Send
        + Sync
        + 'static,
    ) -> HostFunc {
        HostFunc::from_raw_callback(params, results, f, false)
    }

    /// [`HostFunc::new`] for a function that may return reference-typed results as raw words.
    ///
    /// # Safety
    /// Every word `f` writes for a reference-typed result must be one compiled code of the calling
    /// store could hold at that type: null (0) only where the type is nullable, a function reference of
    /// that store whose type is a subtype of the declared one, a GC object of that store that is alive
    /// and of a fitting type (one wasm passed in as an argument of this call, for instance), an
    /// exception of that store. Any other word lets compiled code read, write or jump to an arbitrary
    /// address.
    pub unsafe fn new_unchecked(
        params: impl Into<Vec<ValType>>,
        results: impl Into<Vec<ValType>>,
        f: impl Fn(&mut HostContext<'_, '_>, &[RawVal], &mut [RawVal]) -> Result<(), HostError>
        + Send
        + Sync
        + 'static,
    ) -> HostFunc {
        HostFunc::from_raw_callback(params, results, f, true)
    }

    /// A host function that takes and returns typed values: arguments arrive as [`Val`]s (function
    /// references callable and GC objects rooted, like any value the API hands out), and every result
    /// is checked against its declared type and store before compiled code sees it (a mismatch traps
    /// the caller with [`TrapCode::HostError`]). `results` starts out holding the zero value of each
    /// result type (null for references). Slower than [`HostFunc::new`] (values are converted both
    /// ways), and the way to return references safely.
    pub fn new_vals(
        params: impl Into<Vec<ValType>>,
        results: impl Into<Vec<ValType>>,
        f: impl Fn(&mut HostContext<'_, '_>, &[Val], &mut [Val]) -> Result<(), HostError>
        + Send
        + Sync
        + 'static,
    ) -> HostFunc {
        let ty = FuncType::new(params.into(), results.into());
        let sig = ty.clone();
        let f: Arc<ValCallback> = Arc::new(f);
        let raw = move |cx: &mut HostContext<'_, '_>, params: &[RawVal], results: &mut [RawVal]| {
            let store = cx
                .store_cell()
                .ok_or_else(|| HostError::new("the calling store is gone"))?;
            let types = &store.engine.inner.types;
            let args: Vec<Val> = sig
                .params
                .iter()
                .zip(params)
                .map(|(t, raw)| Val::from_raw(&store, *raw, *t))
                .collect();
            let mut outs: Vec<Val> = sig.results.iter().map(|t| Val::zero(*t, types)).collect();
            f(cx, &args, &mut outs)?;
            for (index, ((ty, value), slot)) in
                sig.results.iter().zip(&outs).zip(results).enumerate()
            {
                if !value.matches_canonical(*ty, types) {
                    return Err(HostError::new(format!(
                        "host function result {index} must be {ty}, got {}",
                        value.ty()
                    )));
                }
                if crate::externals::check_store(&store, value).is_err() {
                    return Err(HostError::new(format!(
                        "host function result {index} belongs to another store"
                    )));
                }
                *slot = value.to_raw();
            }
            Ok(())
        };
        HostFunc::from_raw_callback(ty.params, ty.results, raw, true)
    }

    fn from_raw_callback(
        params: impl Into<Vec<ValType>>,
        results: impl Into<Vec<ValType>>,
        f: impl Fn(&mut HostContext<'_, '_>, &[RawVal], &mut [RawVal]) -> Result<(), HostError>
        + Send
        + Sync
        + 'static,
        trusted_results: bool,
    ) -> HostFunc {
        // `f` is moved into the callback itself, so that a call is one dynamic dispatch, not two.
        let callback = move |caller: &mut Caller<'_>, params: &[RawVal], results: &mut [RawVal]| {
            let mut cx = HostContext { caller };
            f(&mut cx, params, results).map_err(|e| HostTrap {
                code: e.code,
                message: Some(e.message),
                exit_code: e.exit_code,
            })
        };
        HostFunc {
            ty: FuncType::new(params.into(), results.into()),
            callback: Arc::new(callback),
            trusted_results,
        }
    }

    /// Refuses a function whose reference-typed results would reach compiled code unchecked.
    pub(crate) fn check_results(&self, module: &str, name: &str) -> Result<(), Error> {
        if self.trusted_results {
            return Ok(());
        }
        match self.ty.results.iter().position(|t| t.is_ref()) {
            None => Ok(()),
            Some(index) => Err(Error::RawReference {
                func: format!("{module}::{name}"),
                what: format!("result {index}"),
                ty: self.ty.results[index],
            }),
        }
    }

    /// The seed API's form: a host function with an explicit context pointer passed back on every call.
    /// The pointer must stay valid, and be safe to use from any thread the function is called on, for as
    /// long as the function can be called.
    pub fn with_context(
        context: usize,
        params: impl Into<Vec<ValType>>,
        results: impl Into<Vec<ValType>>,
        f: ContextHostFn,
    ) -> HostFunc {
        HostFunc::new(params, results, move |cx, p, r| f(context, cx, p, r))
    }

    /// The function's signature.
    pub fn ty(&self) -> &FuncType {
        &self.ty
    }
}

/// What a linker holds for one name.
#[derive(Clone, Debug)]
pub(crate) enum Definition {
    /// A host function, instantiated anew in each store.
    Host(HostFunc),
    /// An item of one store (usable by instances of that store only).
    Item(StoreItem),
    /// A shared memory, usable by any store.
    Shared(crate::SharedMemory),
}

impl Definition {
    /// The definition of `ext`: a shared memory belongs to no store.
    fn of_extern(ext: &Extern) -> Definition {
        match ext {
            Extern::Memory(m) => match m.shared() {
                Some(shared) => Definition::Shared(shared),
                None => Definition::Item(StoreItem::of(ext)),
            },
            _ => Definition::Item(StoreItem::of(ext)),
        }
    }
}

/// An item of a store as a linker keeps it: the store's id and the item's, with no reference to the
/// store, so that linkers are `Send + Sync`. Stores never remove items, so an item found in the
/// store whose id it names is live.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StoreItem {
    store: u64,
    item: ItemId,
}

#[derive(Clone, Copy, Debug)]
enum ItemId {
    /// The address of the function's `VMFuncRef`, which its store owns.
    Func(usize),
    Memory(wasmz_runtime::MemoryId),
    Table(wasmz_runtime::TableId),
    Global(wasmz_runtime::GlobalId),
    Tag(wasmz_runtime::TagId),
}

impl StoreItem {
    fn of(ext: &Extern) -> StoreItem {
        let item = match ext {
            Extern::Func(f) => ItemId::Func(f.raw() as usize),
            Extern::Memory(m) => ItemId::Memory(m.id),
            Extern::Table(t) => ItemId::Table(t.id),
            Extern::Global(g) => ItemId::Global(g.id),
            Extern::Tag(t) => ItemId::Tag(t.id),
        };
        StoreItem {
            store: ext.store().id,
            item,
        }
    }

    /// The item as a handle of `store`; `None` if it belongs to another store.
    pub(crate) fn get(&self, store: &std::rc::Rc<crate::store::StoreCell>) -> Option<Extern> {
        if store.id != self.store {
            return None;
        }
        let cell = store.clone();
        Some(match self.item {
            ItemId::Func(raw) => Extern::Func(Func::from_raw(store, raw as u64)?),
            ItemId::Memory(id) => Extern::Memory(Memory { store: cell, id }),
            ItemId::Table(id) => Extern::Table(Table { store: cell, id }),
            ItemId::Global(id) => Extern::Global(Global { store: cell, id }),
            ItemId::Tag(id) => Extern::Tag(crate::Tag { store: cell, id }),
        })
    }
}

/// Definitions for imports, by (module, name). `Send + Sync`: build one and share it with the
/// threads that instantiate modules (items of a store, such as a [`Memory`] or a [`Func`], serve
/// instances of that store only; host functions and shared memories serve every store).
#[derive(Clone, Default, Debug)]
pub struct Linker {
    pub(crate) defs: HashMap<(String, String), Definition>,
}

impl Linker {
    /// An empty linker.
    pub fn new() -> Linker {
        Linker::default()
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition) -> Result<&mut Self, Error> {
        let key = (module.to_string(), name.to_string());
        if self.defs.contains_key(&key) {
            return Err(Error::DuplicateDefinition {
                module: key.0,
                name: key.1,
            });
        }
        self.defs.insert(key, def);
        Ok(self)
    }

    /// Defines a host function.
    ///
    /// # Errors
    /// When the name is already defined, and [`Error::RawReference`] for a function made with
    /// [`HostFunc::new`] that has reference-typed results.
    pub fn define(&mut self, module: &str, name: &str, func: HostFunc) -> Result<&mut Self, Error> {
        func.check_results(module, name)?;
        self.insert(module, name, Definition::Host(func))
    }

    /// Defines a global (create it with [`Global::new`]).
    ///
    /// # Errors
    /// When the name is already defined.
    pub fn define_global(
        &mut self,
        module: &str,
        name: &str,
        global: Global,
    ) -> Result<&mut Self, Error> {
        self.insert(module, name, Definition::of_extern(&Extern::Global(global)))
    }

    /// Defines a memory.
    ///
    /// # Errors
    /// When the name is already defined.
    pub fn define_memory(
        &mut self,
        module: &str,
        name: &str,
        memory: Memory,
    ) -> Result<&mut Self, Error> {
        self.insert(module, name, Definition::of_extern(&Extern::Memory(memory)))
    }

    /// Defines a shared memory, which instances in any store importing it use (the same memory for
    /// all of them).
    ///
    /// # Errors
    /// When the name is already defined.
    pub fn define_shared_memory(
        &mut self,
        module: &str,
        name: &str,
        memory: crate::SharedMemory,
    ) -> Result<&mut Self, Error> {
        self.insert(module, name, Definition::Shared(memory))
    }

    /// Defines a table.
    ///
    /// # Errors
    /// When the name is already defined.
    pub fn define_table(
        &mut self,
        module: &str,
        name: &str,
        table: Table,
    ) -> Result<&mut Self, Error> {
        self.insert(module, name, Definition::of_extern(&Extern::Table(table)))
    }

    /// Defines an exception tag (create one with [`crate::Tag::new`], or take an instance's export).
    ///
    /// # Errors
    /// When the name is already defined.
    pub fn define_tag(
        &mut self,
        module: &str,
        name: &str,
        tag: crate::Tag,
    ) -> Result<&mut Self, Error> {
        self.insert(module, name, Definition::of_extern(&Extern::Tag(tag)))
    }

    /// Defines a function of an instance.
    ///
    /// # Errors
    /// When the name is already defined.
    pub fn define_func(
        &mut self,
        module: &str,
        name: &str,
        func: Func,
    ) -> Result<&mut Self, Error> {
        self.insert(module, name, Definition::of_extern(&Extern::Func(func)))
    }

    /// Defines any extern.
    ///
    /// # Errors
    /// When the name is already defined.
    pub fn define_extern(
        &mut self,
        module: &str,
        name: &str,
        ext: Extern,
    ) -> Result<&mut Self, Error> {
        self.insert(module, name, Definition::of_extern(&ext))
    }

    /// Defines every export of `instance` under the module name `module` (replacing earlier definitions
    /// of the same names).
    ///
    /// # Errors
    /// Never at present; kept fallible for future checks.
    pub fn define_instance(
        &mut self,
        module: &str,
        instance: &Instance,
    ) -> Result<&mut Self, Error> {
        for (name, ext) in instance.exports() {
            self.defs
                .insert((module.to_string(), name), Definition::of_extern(&ext));
        }
        Ok(self)
    }

    /// Defines every function import of `module` that this linker does not define yet as a host
    /// function that traps when called ([`TrapCode::HostError`], naming the import). A module built for
    /// a richer host (for instance a JavaScript embedding) can then run as far as it does without
    /// those functions. Imports of other kinds are left alone.
    ///
    /// # Errors
    /// Never at present; kept fallible like the other `define` methods.
    pub fn define_unknown_imports_as_traps(
        &mut self,
        module: &crate::Module,
    ) -> Result<&mut Self, Error> {
        let missing: Vec<(String, String, wasmz_environ::FuncType)> = module
            .imports()
            .filter(|(m, n, _)| self.get(m, n).is_none())
            .filter_map(|(m, n, ty)| match ty {
                crate::ExternType::Func(f) => Some((m.to_string(), n.to_string(), f)),
                _ => None,
            })
            .collect();
        // Host function signatures name concrete types by their engine-wide ids.
        let type_ids = &module.runtime.type_ids;
        let canonical = |types: &[ValType]| -> Vec<ValType> {
            types.iter().map(|t| t.canonicalize(type_ids)).collect()
        };
        for (m, n, ty) in missing {
            let what = format!("{m}::{n}");
            let func = HostFunc::new_vals(
                canonical(&ty.params),
                canonical(&ty.results),
                move |_, _, _| {
                    Err(HostError::new(format!(
                        "the unknown import `{what}` was called"
                    )))
                },
            );
            self.define(&m, &n, func)?;
        }
        Ok(self)
    }

    pub(crate) fn get(&self, module: &str, name: &str) -> Option<&Definition> {
        self.defs.get(&(module.to_string(), name.to_string()))
    }
}
