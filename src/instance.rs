//! `Instance`: an instantiated module, callable from the host.

use crate::Error;
use crate::externals::{Extern, Func, Global, Memory, Table, Tag};
use crate::linker::{Definition, Linker};
use crate::module::Module;
use crate::store::{Store, StoreCell};
use crate::values::{ExecResult, Trap, Val};
use std::rc::Rc;
use wasmz_environ::{EntityIndex, ValType};
use wasmz_runtime::{ExportValue, FuncHandle, ImportValue, InstanceId, InstantiationError, RawVal};

/// An instance of a module in a store. A handle: it keeps the store alive, and clones refer to the same
/// instance.
#[derive(Clone)]
pub struct Instance {
    store: Rc<StoreCell>,
    id: InstanceId,
    module: Module,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Instance({:?})", self.id)
    }
}

impl Instance {
    /// Instantiates `module` in `store`, resolving its imports from `linker`, and runs its start function.
    ///
    /// # Errors
    /// [`Error::UnknownImport`] or [`Error::Link`] when an import is missing or has the wrong type,
    /// [`Error::Resource`] when a memory or table cannot be created, [`Error::Trap`] when initialization
    /// traps (segment out of bounds, trap in the start function).
    pub fn new(store: &mut Store, module: &Module, linker: &Linker) -> Result<Instance, Error> {
        let imports = crate::instance_pre::resolve(linker, module)?;
        Instance::with_imports(store, module, &imports)
    }

    /// Instantiates `module` in `store` with `imports` (one definition per import, in order).
    pub(crate) fn with_imports(
        store: &mut Store,
        module: &Module,
        imports: &[Definition],
    ) -> Result<Instance, Error> {
        if !store.engine().same(module.engine()) {
            return Err(Error::Link(
                "the module was compiled by another engine than the store's".into(),
            ));
        }
        let cell = store.cell.clone();
        let mut values = Vec::with_capacity(imports.len());
        for (import, def) in module.runtime.info.imports.iter().zip(imports) {
            let wrong_kind = |what: &str| {
                Error::Link(format!(
                    "incompatible import type for `{}::{}`: expected {}, found {what}",
                    import.module,
                    import.name,
                    module.runtime.info.entity_type(import.index)
                ))
            };
            let ext = match def {
                Definition::Item(item) => Some(item.get(&cell).ok_or(Error::WrongStore)?),
                _ => None,
            };
            let value = match (def, ext, import.index) {
                (Definition::Host(h), _, EntityIndex::Func(_)) => {
                    let func = wasmz_runtime::HostFunc {
                        ty: h.ty().clone(),
                        callback: h.callback.clone(),
                    };
                    ImportValue::HostFunc(cell.get_mut().add_host_func(func))
                }
                (Definition::Shared(m), _, EntityIndex::Memory(_)) => {
                    ImportValue::Memory(cell.get_mut().add_shared_memory(m.memory.clone()))
                }
                (Definition::Shared(m), _, _) => return Err(wrong_kind(&m.ty().to_string())),
                (Definition::Host(_), _, _) => return Err(wrong_kind("a host function")),
                (_, Some(Extern::Func(f)), EntityIndex::Func(_)) => {
                    // SAFETY: `f` belongs to this store (its item was found in it), which keeps its
                    // funcref alive.
                    ImportValue::Func(unsafe { *f.raw() }, f.ty().cloned())
                }
                (_, Some(Extern::Memory(m)), EntityIndex::Memory(_)) => ImportValue::Memory(m.id),
                (_, Some(Extern::Table(t)), EntityIndex::Table(_)) => ImportValue::Table(t.id),
                (_, Some(Extern::Global(g)), EntityIndex::Global(_)) => ImportValue::Global(g.id),
                (_, Some(Extern::Tag(t)), EntityIndex::Tag(_)) => ImportValue::Tag(t.id),
                (_, Some(ext), _) => return Err(wrong_kind(&ext.ty().to_string())),
                (Definition::Item(_), None, _) => unreachable!("items were looked up above"),
            };
            values.push(value);
        }
        // SAFETY: no reference into the store is live here; host functions run by the start function reach
        // the store only through the runtime's raw pointer.
        let id = unsafe { wasmz_runtime::instantiate(cell.ptr(), &module.runtime, &values) }
            .map_err(|e| match e {
                InstantiationError::Link(m) => Error::Link(m),
                InstantiationError::Resource(m) => Error::Resource(m),
                InstantiationError::Trap(t) => Error::Trap(Trap::from_info(t)),
            })?;
        Ok(Instance {
            store: cell,
            id,
            module: module.clone(),
        })
    }

    fn runtime(&self) -> &wasmz_runtime::Instance {
        self.store.get().instance(self.id)
    }

    /// The export called `name`.
    pub fn export(&self, name: &str) -> Option<Extern> {
        let value = self.runtime().export(name)?;
        Some(Extern::from_export(&self.store, value))
    }

    /// All exports, in the module's order.
    pub fn exports(&self) -> Vec<(String, Extern)> {
        self.module
            .runtime
            .info
            .exports
            .iter()
            .filter_map(|(name, _)| Some((name.clone(), self.export(name)?)))
            .collect()
    }

    /// The exported global `name`.
    pub fn global(&self, name: &str) -> Option<Global> {
        match self.export(name)? {
            Extern::Global(g) => Some(g),
            _ => None,
        }
    }

    /// The exported tag `name`.
    pub fn tag(&self, name: &str) -> Option<Tag> {
        match self.export(name)? {
            Extern::Tag(t) => Some(t),
            _ => None,
        }
    }

    /// The exported memory `name`.
    pub fn memory(&self, name: &str) -> Option<Memory> {
        match self.export(name)? {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }

    /// The exported shared memory `name`, as a handle other threads and stores can use.
    pub fn shared_memory(&self, name: &str) -> Option<crate::SharedMemory> {
        self.memory(name)?.shared()
    }

    /// The exported table `name`.
    pub fn table(&self, name: &str) -> Option<Table> {
        match self.export(name)? {
            Extern::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The exported function `name`.
    pub fn func(&self, name: &str) -> Option<Func> {
        match self.export(name)? {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The exported function `name` as a [`crate::TypedFunc`] with parameters `P` and results `R`
    /// (each `()`, a number type, or a tuple of number types): the signature is checked here, once,
    /// and each call then passes Rust values directly.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use wasmz::*;
    /// let engine = Engine::default();
    /// let module = Module::compile(&engine, r#"(module (func (export "add") (param i32 i32) (result i32)
    ///     (i32.add (local.get 0) (local.get 1))))"#)?;
    /// let mut store = Store::new(&engine);
    /// let instance = Instance::new(&mut store, &module, &Linker::new())?;
    /// let add = instance.typed_func::<(i32, i32), i32>("add")?;
    /// assert_eq!(add.call((3, 4))?, 7);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownExport`], [`Error::ExportKind`], or [`Error::Link`] when the signature differs.
    pub fn typed_func<P: crate::WasmTyList, R: crate::WasmTyList>(
        &self,
        name: &str,
    ) -> Result<crate::TypedFunc<P, R>, Error> {
        self.func_handle(name)?;
        self.func(name).expect("an exported function").typed()
    }

    fn func_handle(&self, name: &str) -> Result<FuncHandle, Error> {
        match self.runtime().export(name) {
            Some(ExportValue::Func(h)) => Ok(h),
            Some(_) => Err(Error::ExportKind {
                name: name.to_string(),
                expected: "function",
            }),
            None => Err(Error::UnknownExport(name.to_string())),
        }
    }

    fn invoke(&self, handle: &FuncHandle, values: &mut [RawVal]) -> Result<(), Trap> {
        crate::externals::invoke(&self.store, handle, values)
    }

    /// Calls the exported function `name` with untyped arguments.
    ///
    /// Reference-typed results come back as their raw words (a GC object's word is not a root).
    /// Reference-typed parameters are refused ([`Error::RawReference`]): a raw word cannot be checked
    /// to be a reference of this store and of the right type. Call such functions with
    /// [`Instance::call_vals`], or with [`Instance::call_unchecked`] when the words are known good.
    ///
    /// # Errors
    /// [`Error::UnknownExport`], [`Error::ExportKind`], [`Error::ArgumentCount`] or
    /// [`Error::RawReference`]. A trap is not an error: it is returned as [`ExecResult::Trap`].
    pub fn call(&mut self, name: &str, args: &[RawVal]) -> Result<ExecResult, Error> {
        self.call_raw(name, args, true)
    }

    /// [`Instance::call`] without refusing reference-typed parameters: their words go to compiled
    /// code unchecked.
    ///
    /// # Safety
    /// As [`Func::call_unchecked`]: every reference argument must be a word compiled code of this
    /// store could hold at the parameter's type (null only where nullable, a live object or function
    /// reference of this store of a fitting type).
    ///
    /// # Errors
    /// As [`Instance::call`], without [`Error::RawReference`].
    pub unsafe fn call_unchecked(
        &mut self,
        name: &str,
        args: &[RawVal],
    ) -> Result<ExecResult, Error> {
        self.call_raw(name, args, false)
    }

    #[inline]
    fn call_raw(
        &mut self,
        name: &str,
        args: &[RawVal],
        check_references: bool,
    ) -> Result<ExecResult, Error> {
        // The fast path of the API: no function handle (and no reference counting) is made, only the
        // raw call target; the signature is borrowed from this handle's own module.
        let runtime = &self.module.runtime;
        let index = match runtime.export_index(name) {
            Some(EntityIndex::Func(f)) => f,
            Some(_) => {
                return Err(Error::ExportKind {
                    name: name.to_string(),
                    expected: "function",
                });
            }
            None => return Err(Error::UnknownExport(name.to_string())),
        };
        let ty = runtime.info.func_sig(index);
        if check_references {
            crate::externals::refuse_raw_references(ty, name)?;
        }
        let callee = self.runtime().func_callee(index);
        let mut results = vec![RawVal::default(); ty.results.len()];
        let outcome =
            crate::externals::call_raw(&self.store, ty, &callee, name, args, &mut results)?;
        Ok(ExecResult::from_outcome(outcome.map(|()| results)))
    }

    /// Calls the exported function `name` with typed arguments, checking their types; the outcome
    /// has the same shape as [`Instance::call`]'s, with typed results.
    ///
    /// # Errors
    /// As [`Instance::call`] (without [`Error::RawReference`]), plus [`Error::ArgumentType`] and
    /// [`Error::WrongStore`]. A trap is not an error: it is returned as [`ExecResult::Trap`].
    pub fn call_vals(&mut self, name: &str, args: &[Val]) -> Result<ExecResult<Vec<Val>>, Error> {
        let handle = self.func_handle(name)?;
        let ty = handle.ty();
        if args.len() != ty.params.len() {
            return Err(Error::ArgumentCount {
                func: name.to_string(),
                expected: ty.params.len(),
                got: args.len(),
            });
        }
        let module = handle.module().clone();
        let canon = |t: &ValType| t.canonicalize(&module.type_ids);
        for (index, (arg, expected)) in args.iter().zip(ty.params.iter()).enumerate() {
            if !arg.matches_canonical(canon(expected), &module.types) {
                return Err(Error::ArgumentType {
                    func: name.to_string(),
                    index,
                    expected: *expected,
                    got: arg.ty(),
                });
            }
            crate::externals::check_store(&self.store, arg)?;
        }
        let mut values = vec![RawVal::default(); ty.params.len().max(ty.results.len())];
        for (slot, arg) in values.iter_mut().zip(args) {
            *slot = arg.to_raw();
        }
        let outcome = self.invoke(&handle, &mut values).map(|()| {
            ty.results
                .iter()
                .zip(&values)
                .map(|(t, raw)| Val::from_raw(&self.store, *raw, canon(t)))
                .collect()
        });
        Ok(ExecResult::from_outcome(outcome))
    }

    fn call_optional(&mut self, name: &str) -> Result<Option<ExecResult>, Error> {
        if self.func(name).is_none() {
            return Ok(None);
        }
        self.call(name, &[]).map(Some)
    }

    /// Runs the command entry point `_start`, if exported.
    ///
    /// # Errors
    /// When `_start` takes arguments.
    pub fn run_start_function(&mut self) -> Result<Option<ExecResult>, Error> {
        self.call_optional("_start")
    }

    /// Runs the reactor initializer `_initialize`, if exported, once per instance (the WASI
    /// convention): a later call runs nothing and returns `None`, as for a module without one.
    ///
    /// # Errors
    /// When `_initialize` takes arguments.
    pub fn initialize_reactor(&mut self) -> Result<Option<ExecResult>, Error> {
        if self.func("_initialize").is_none() || !self.runtime().begin_reactor_initialization() {
            return Ok(None);
        }
        self.call("_initialize", &[]).map(Some)
    }

    /// Whether the module is a command (exports `_start`).
    pub fn is_command(&self) -> bool {
        self.func("_start").is_some()
    }

    /// Whether the module is a reactor (does not export `_start`).
    pub fn is_reactor(&self) -> bool {
        !self.is_command()
    }

    /// The instance's module.
    pub fn module(&self) -> &Module {
        &self.module
    }
}
