//! Instances: a module's VMContext and the runtime objects it refers to, and instantiation.

use crate::code_memory::CodeMemory;
use crate::exception::{Tag, VMTag};
use crate::lazy::{LazyItem, LazyModule};
use crate::memory::LinearMemory;
use crate::store::{GlobalId, InstanceId, MemoryId, StoreInner, TableId, TagId};
use crate::table::Table;
use crate::traphandlers::TrapInfo;
use crate::vmcontext::{VMContext, VMFuncRef, VMGlobal};
use crate::{HostFuncId, libcalls};
use std::alloc::Layout;
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use thiserror::Error;
use wasmz_environ::vmoffsets::VMCTX_MAGIC;
use wasmz_environ::{
    ConstExpr, ConstOp, DataMode, ElemItems, ElemMode, EntityIndex, ExternType, FuncType,
    ModuleInfo, TrapCode, TypeRegistry, VMOffsets,
};

/// A compiled module as the runtime needs it.
pub struct RuntimeModule {
    /// Module metadata.
    pub info: ModuleInfo,
    /// VMContext layout.
    pub offsets: VMOffsets,
    /// Published machine code: every function and trampoline, or nothing for a lazily compiled module.
    pub code: CodeMemory,
    /// Engine-wide canonical id of each type of the type section.
    pub type_ids: Vec<u32>,
    /// The engine's registry of canonical types (what `type_ids` name).
    pub types: Arc<TypeRegistry>,
    /// For a lazily compiled module, the code compiled on first use (then `code` holds nothing).
    pub lazy: Option<LazyModule>,
    /// The image of memory 0, when `info.memory_image` says the module has one: it holds those data
    /// segments' bytes.
    pub memory_image: Option<crate::memory_image::MemoryImage>,
}

/// Exports of modules with at most this many are looked up by a linear scan (cheaper than hashing).
const LINEAR_EXPORT_LOOKUP: usize = 16;

impl RuntimeModule {
    /// The entry trampoline of type `type_index`, or null when the module is lazily compiled and the
    /// trampoline has not been compiled yet.
    #[inline]
    pub fn entry_trampoline(&self, type_index: u32) -> *const u8 {
        match &self.lazy {
            None => self
                .code
                .at(self.code.image().entry_trampolines[type_index as usize]),
            Some(lazy) => lazy.get(&self.info, LazyItem::EntryTrampoline(type_index)),
        }
    }

    /// The entry trampoline of type `type_index`, compiled first if needed.
    ///
    /// # Errors
    /// Why a lazily compiled trampoline could not be compiled.
    pub fn ensure_entry_trampoline(&self, type_index: u32) -> Result<*const u8, String> {
        match &self.lazy {
            None => Ok(self.entry_trampoline(type_index)),
            Some(lazy) => lazy.ensure(&self.info, LazyItem::EntryTrampoline(type_index)),
        }
    }

    /// The host trampoline of type `type_index`, compiled first if needed.
    ///
    /// # Errors
    /// Why a lazily compiled trampoline could not be compiled.
    pub fn ensure_host_trampoline(&self, type_index: u32) -> Result<*const u8, String> {
        match &self.lazy {
            None => Ok(self
                .code
                .at(self.code.image().host_trampolines[type_index as usize])),
            Some(lazy) => lazy.ensure(&self.info, LazyItem::HostTrampoline(type_index)),
        }
    }

    /// The code of defined function `defined` (0 = the first defined function); when the module is
    /// lazily compiled and the function has not been compiled yet, its compile-on-call stub.
    pub fn defined_function(&self, defined: u32) -> *const u8 {
        match &self.lazy {
            None => self
                .code
                .at(self.code.image().functions[defined as usize].start),
            Some(lazy) => lazy.code_or_stub(&self.info, self.info.num_imported_funcs + defined),
        }
    }

    /// The entity exported as `name`.
    #[inline]
    pub fn export_index(&self, name: &str) -> Option<EntityIndex> {
        let exports = &self.info.exports;
        if exports.len() <= LINEAR_EXPORT_LOOKUP {
            // Export names are unique (validation checks it), so the first match is the only one.
            exports
                .iter()
                .find(|(n, _)| n.as_str() == name)
                .map(|(_, index)| *index)
        } else {
            self.info.export_map.get(name).copied()
        }
    }
}

/// A value supplied for an import.
#[derive(Debug, Clone)]
pub enum ImportValue {
    /// A function of another instance (or any function reference), with its type when known (used in
    /// error messages).
    Func(VMFuncRef, Option<FuncType>),
    /// A host function of the store.
    HostFunc(HostFuncId),
    /// A memory of the store.
    Memory(MemoryId),
    /// A table of the store.
    Table(TableId),
    /// A global of the store.
    Global(GlobalId),
    /// An exception tag of the store.
    Tag(TagId),
}

/// A function that can be called from the host. Cheap to clone (no allocation).
#[derive(Clone)]
pub struct FuncHandle {
    /// The function reference.
    pub funcref: *const VMFuncRef,
    /// The entry trampoline for its signature (null while not compiled yet, see [`FuncCallee::entry`]).
    pub entry: *const u8,
    /// A vmctx of a real instance to pass as the caller.
    pub caller_vmctx: *mut VMContext,
    /// The module whose type section holds the signature.
    module: Arc<RuntimeModule>,
    /// Index of the signature in that module's type section.
    type_index: u32,
}

impl std::fmt::Debug for FuncHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FuncHandle({:p}: {})", self.funcref, self.ty())
    }
}

impl FuncHandle {
    /// The module whose type section holds the signature.
    pub fn module(&self) -> &Arc<RuntimeModule> {
        &self.module
    }

    /// The function's signature.
    pub fn ty(&self) -> &FuncType {
        self.module.info.func_type(self.type_index)
    }

    /// What calling it needs, without the reference to its module.
    #[inline]
    pub fn callee(&self) -> FuncCallee {
        FuncCallee {
            funcref: self.funcref,
            entry: self.entry,
            caller_vmctx: self.caller_vmctx,
            type_index: self.type_index,
        }
    }
}

/// The raw pointers a host → wasm call needs (see [`crate::call::call_callee`]); valid while the store
/// that made them is alive. Unlike [`FuncHandle`] it owns nothing, so making one costs no reference-count
/// traffic.
#[derive(Debug, Clone, Copy)]
pub struct FuncCallee {
    /// The function reference.
    pub funcref: *const VMFuncRef,
    /// The entry trampoline for its signature; null while the caller's module is lazily compiled and
    /// has not compiled it yet (it is then compiled by the call).
    pub entry: *const u8,
    /// A vmctx of a real instance to pass as the caller.
    pub caller_vmctx: *mut VMContext,
    /// Index of the signature in the type section of `caller_vmctx`'s module.
    pub type_index: u32,
}

/// An export of an instance.
#[derive(Debug, Clone)]
pub enum ExportValue {
    /// A function.
    Func(FuncHandle),
    /// A memory.
    Memory(MemoryId),
    /// A table.
    Table(TableId),
    /// A global.
    Global(GlobalId),
    /// An exception tag.
    Tag(TagId),
}

/// Why instantiation failed.
#[derive(Debug, Error)]
pub enum InstantiationError {
    /// An import does not fit.
    #[error("{0}")]
    Link(String),
    /// A resource could not be created.
    #[error("{0}")]
    Resource(String),
    /// A trap during initialization (segment out of bounds, start function).
    #[error("trap during instantiation: {}", .0.code)]
    Trap(TrapInfo),
}

/// One instance.
pub struct Instance {
    module: Arc<RuntimeModule>,
    vmctx: *mut u8,
    layout: Layout,
    memories: Vec<MemoryId>,
    tables: Vec<TableId>,
    globals: Vec<GlobalId>,
    tags: Vec<TagId>,
    tag_ptrs: Vec<*const VMTag>,
    memory_ptrs: Vec<*const LinearMemory>,
    table_ptrs: Vec<*const Table>,
    pub(crate) store: *mut StoreInner,
    /// Per data segment, whether it was dropped (one entry per segment from the start).
    pub(crate) dropped_data: Vec<Cell<bool>>,
    /// The values of each element segment, one entry per segment from the start: a passive segment's
    /// once instantiation has evaluated it, emptied by `elem.drop`; empty for active and declared
    /// segments, and for any segment instantiation did not reach because it failed first (the
    /// instance's functions may be reachable nonetheless, from a table an earlier active segment
    /// wrote to). The collector scans them as roots, for failed instances too.
    pub(crate) elem_values: Vec<RefCell<Vec<u64>>>,
    /// Set once the reactor initializer (`_initialize`) has been run.
    reactor_initialized: Cell<bool>,
    /// The memory host functions see (see [`Instance::host_memory`]), found once at instantiation
    /// rather than by name on every host call.
    host_memory: Option<u32>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: `vmctx` was allocated with `layout` in `allocate` and is freed only here.
        unsafe { std::alloc::dealloc(self.vmctx, self.layout) };
    }
}

impl Instance {
    /// The instance's module.
    pub fn module(&self) -> &Arc<RuntimeModule> {
        &self.module
    }

    /// Records that the reactor initializer runs now; `false` if it already ran (or is running).
    pub fn begin_reactor_initialization(&self) -> bool {
        !self.reactor_initialized.replace(true)
    }

    /// The bytes of data segment `data`: empty once it was dropped (by `data.drop`, or at
    /// instantiation for an active segment), and for an index the module does not have.
    pub(crate) fn data_segment(&self, data: u32) -> &[u8] {
        match self.dropped_data.get(data as usize) {
            Some(dropped) if !dropped.get() => {
                let module = &self.module;
                // A segment moved into the memory image (possible to reach here only when the
                // instantiation failed before applying it).
                let in_image = module
                    .info
                    .memory_image
                    .as_ref()
                    .zip(module.memory_image.as_ref())
                    .and_then(|(layout, image)| layout.segment(image.bytes(), data));
                in_image.unwrap_or_else(|| {
                    module
                        .info
                        .data
                        .get(data as usize)
                        .map_or(&[], |seg| &seg.bytes)
                })
            }
            _ => &[],
        }
    }

    /// Drops data segment `data` (`data.drop`); nothing for an index the module does not have.
    pub(crate) fn drop_data(&self, data: u32) {
        if let Some(dropped) = self.dropped_data.get(data as usize) {
            dropped.set(true);
        }
    }

    /// The values of element segment `elem` (see the field `elem_values`); `None` for an index the
    /// module does not have, which callers treat as an empty segment.
    pub(crate) fn elem_segment(&self, elem: u32) -> Option<&RefCell<Vec<u64>>> {
        self.elem_values.get(elem as usize)
    }

    /// The VMContext pointer passed to compiled code.
    pub fn vmctx(&self) -> *mut VMContext {
        self.vmctx.cast()
    }

    /// The instance behind a vmctx.
    ///
    /// # Safety
    /// `vmctx` must be the vmctx of a live instance.
    pub(crate) unsafe fn from_vmctx<'a>(vmctx: *mut VMContext) -> &'a Instance {
        // SAFETY: every vmctx stores its instance's address at `INSTANCE` (written in `instantiate`).
        unsafe {
            &**vmctx
                .cast::<u8>()
                .add(VMOffsets::INSTANCE as usize)
                .cast::<*const Instance>()
        }
    }

    fn write<T>(&self, offset: u32, value: T) {
        debug_assert!(offset as usize + size_of::<T>() <= self.layout.size());
        // SAFETY: `offset` comes from this module's VMOffsets, so the write stays inside the allocation,
        // and every field is naturally aligned (the allocation is 16-aligned).
        unsafe { self.vmctx.add(offset as usize).cast::<T>().write(value) };
    }

    fn funcref_ptr(&self, func: u32) -> *const VMFuncRef {
        self.vmctx
            .wrapping_add(self.module.offsets.funcref(func) as usize)
            .cast()
    }

    /// The memory that host functions called by this instance read and write: its export named
    /// "memory", else its memory 0; `None` when it has neither.
    #[inline]
    pub(crate) fn host_memory(&self) -> Option<&LinearMemory> {
        self.memory(self.host_memory?)
    }

    /// The memory `index` of this instance; `None` for an index it does not have.
    #[inline]
    pub(crate) fn memory(&self, index: u32) -> Option<&LinearMemory> {
        let ptr = *self.memory_ptrs.get(index as usize)?;
        // SAFETY: the pointers are to memories of the instance's store, which are boxed (or shared
        // and held by the store) and live as long as the store, which outlives its instances.
        Some(unsafe { &*ptr })
    }

    /// The table `index` of this instance; `None` for an index it does not have.
    pub(crate) fn table(&self, index: u32) -> Option<&Table> {
        let ptr = *self.table_ptrs.get(index as usize)?;
        // SAFETY: the pointers are to tables of the instance's store, which are boxed and live as
        // long as the store, which outlives its instances.
        Some(unsafe { &*ptr })
    }

    /// The identity of tag `index` of this instance.
    pub(crate) fn tag_ptr(&self, index: u32) -> *const VMTag {
        self.tag_ptrs[index as usize]
    }

    /// The tag ids of this instance, in index order.
    pub fn tag_ids(&self) -> &[TagId] {
        &self.tags
    }

    /// The memory ids of this instance, in index order.
    pub fn memory_ids(&self) -> &[MemoryId] {
        &self.memories
    }

    /// The call target of function `index` (with [`Instance::module`]'s `info.functions[index]` as its
    /// type index).
    #[inline]
    pub fn func_callee(&self, index: u32) -> FuncCallee {
        let type_index = self.module.info.functions[index as usize];
        FuncCallee {
            funcref: self.funcref_ptr(index),
            entry: self.module.entry_trampoline(type_index),
            caller_vmctx: self.vmctx(),
            type_index,
        }
    }

    /// A function handle for function `index`. In a lazily compiled module this compiles the entry
    /// trampoline of the function's type, so that calls through the handle find it (if that fails, the
    /// handle's calls fail with the reason).
    pub fn func_handle(&self, index: u32) -> FuncHandle {
        let type_index = self.module.info.functions[index as usize];
        self.handle_of(self.funcref_ptr(index), type_index)
    }

    /// A handle for `funcref`, whose type is `type_index` of this instance's module.
    fn handle_of(&self, funcref: *const VMFuncRef, type_index: u32) -> FuncHandle {
        FuncHandle {
            funcref,
            entry: self
                .module
                .ensure_entry_trampoline(type_index)
                .unwrap_or(std::ptr::null()),
            caller_vmctx: self.vmctx(),
            module: self.module.clone(),
            type_index,
        }
    }

    /// A handle to call `funcref`, a function reference of this instance's store, through this
    /// instance's module when that module declares the reference's function type (its canonical id);
    /// `None` otherwise.
    ///
    /// # Safety
    /// `funcref` must be a live, non-null `VMFuncRef` of this instance's store.
    pub unsafe fn funcref_handle(&self, funcref: *const VMFuncRef) -> Option<FuncHandle> {
        // SAFETY: the caller's contract; a funcref's type id never changes.
        let type_id = unsafe { (*funcref).type_id };
        let type_index = self.module.type_ids.iter().position(|&id| id == type_id)? as u32;
        if self.module.types.kind(type_id) != Some(wasmz_environ::CompositeKind::Func) {
            return None;
        }
        Some(self.handle_of(funcref, type_index))
    }

    /// The export called `name`.
    pub fn export(&self, name: &str) -> Option<ExportValue> {
        Some(match self.module.export_index(name)? {
            EntityIndex::Func(f) => ExportValue::Func(self.func_handle(f)),
            EntityIndex::Memory(m) => ExportValue::Memory(self.memories[m as usize]),
            EntityIndex::Table(t) => ExportValue::Table(self.tables[t as usize]),
            EntityIndex::Global(g) => ExportValue::Global(self.globals[g as usize]),
            EntityIndex::Tag(t) => ExportValue::Tag(self.tags[t as usize]),
        })
    }

    /// Evaluates a constant expression to its value's bits. Objects it allocates are not collected
    /// while it runs (nothing roots the values on its stack).
    fn eval(&self, store: &StoreInner, expr: &ConstExpr) -> Result<u128, InstantiationError> {
        let mut stack: Vec<u128> = Vec::with_capacity(2);
        let info = &self.module.info;
        let exhausted = || {
            InstantiationError::Resource(
                "the GC heap is exhausted while evaluating a constant expression".into(),
            )
        };
        for op in &expr.ops {
            let v = match *op {
                ConstOp::I32(v) => u128::from(v as u32),
                ConstOp::I64(v) => u128::from(v as u64),
                ConstOp::F32(b) => u128::from(b),
                ConstOp::F64(b) => u128::from(b),
                ConstOp::V128(b) => b,
                ConstOp::RefNull(_) => 0,
                ConstOp::RefFunc(f) => self.funcref_ptr(f) as usize as u128,
                ConstOp::GlobalGet(g) => store.global(self.globals[g as usize]).get(),
                ConstOp::RefI31 => {
                    let v = stack.pop().unwrap_or(0) as u32;
                    u128::from(wasmz_environ::refs::i31_word(v))
                }
                // The any and extern hierarchies share one encoding: converting changes nothing.
                ConstOp::AnyConvertExtern | ConstOp::ExternConvertAny => continue,
                ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                    let (b, a) = (
                        stack.pop().unwrap_or(0) as u32,
                        stack.pop().unwrap_or(0) as u32,
                    );
                    u128::from(match op {
                        ConstOp::I32Add => a.wrapping_add(b),
                        ConstOp::I32Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
                ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                    let (b, a) = (
                        stack.pop().unwrap_or(0) as u64,
                        stack.pop().unwrap_or(0) as u64,
                    );
                    u128::from(match op {
                        ConstOp::I64Add => a.wrapping_add(b),
                        ConstOp::I64Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
                ConstOp::StructNew(t) | ConstOp::StructNewDefault(t) => {
                    let layout = info.gc_layout(t).ok_or_else(exhausted)?;
                    let n = match &layout {
                        wasmz_environ::GcLayout::Struct { fields, .. } => fields.len(),
                        wasmz_environ::GcLayout::Array { .. } => 0,
                    };
                    let fields = if matches!(op, ConstOp::StructNew(_)) {
                        stack.split_off(stack.len().saturating_sub(n))
                    } else {
                        Vec::new()
                    };
                    let id = self.module.type_ids[t as usize];
                    u128::from(
                        crate::gc::objects::new_struct(store, id, &layout, &fields)
                            .ok_or_else(exhausted)?,
                    )
                }
                ConstOp::ArrayNew(t)
                | ConstOp::ArrayNewDefault(t)
                | ConstOp::ArrayNewFixed(t, _) => {
                    let Some(wasmz_environ::GcLayout::Array { elem }) = info.gc_layout(t) else {
                        return Err(exhausted());
                    };
                    let id = self.module.type_ids[t as usize];
                    let array = match *op {
                        ConstOp::ArrayNew(_) => {
                            let len = stack.pop().unwrap_or(0) as u32;
                            let init = stack.pop().unwrap_or(0);
                            crate::gc::objects::new_array(store, id, elem, len, |_| init)
                        }
                        ConstOp::ArrayNewDefault(_) => {
                            let len = stack.pop().unwrap_or(0) as u32;
                            crate::gc::objects::new_array(store, id, elem, len, |_| 0)
                        }
                        _ => {
                            let n = match *op {
                                ConstOp::ArrayNewFixed(_, n) => n,
                                _ => 0,
                            };
                            let values = stack.split_off(stack.len().saturating_sub(n as usize));
                            crate::gc::objects::new_array(store, id, elem, n, |i| values[i])
                        }
                    };
                    u128::from(array.ok_or_else(exhausted)?)
                }
            };
            stack.push(v);
        }
        Ok(stack.pop().unwrap_or(0))
    }

    fn elem_items(
        &self,
        store: &StoreInner,
        items: &ElemItems,
    ) -> Result<Vec<u64>, InstantiationError> {
        Ok(match items {
            ElemItems::Funcs(fs) => fs
                .iter()
                .map(|f| self.funcref_ptr(*f) as usize as u64)
                .collect(),
            ElemItems::Exprs(es) => es
                .iter()
                .map(|e| self.eval(store, e).map(|v| v as u64))
                .collect::<Result<_, _>>()?,
        })
    }
}

fn link_error(info: &ModuleInfo, import: usize, reason: String) -> InstantiationError {
    let i = &info.imports[import];
    InstantiationError::Link(format!(
        "incompatible import type for `{}::{}`: {reason}",
        i.module, i.name
    ))
}

/// The type of an import value, for error messages.
fn describe_import(store: &StoreInner, value: &ImportValue) -> String {
    match value {
        ImportValue::Func(_, Some(ty)) => ty.to_string(),
        ImportValue::Func(_, None) => "a function".into(),
        ImportValue::HostFunc(h) => store.host_func(*h).ty.to_string(),
        ImportValue::Memory(m) => store.memory(*m).ty().to_string(),
        ImportValue::Table(t) => store.table(*t).ty().to_string(),
        ImportValue::Global(g) => store.global(*g).ty().to_string(),
        ImportValue::Tag(t) => ExternType::Tag(store.tag(*t).ty().clone()).to_string(),
    }
}

/// Checks `value` against import `index` of `module`.
fn check_import(
    store: &StoreInner,
    module: &RuntimeModule,
    index: usize,
    value: &ImportValue,
) -> Result<(), InstantiationError> {
    let info = &module.info;
    let expected = info.entity_type(info.imports[index].index);
    let mismatch =
        |found: String| link_error(info, index, format!("expected {expected}, found {found}"));
    match (&expected, value, info.imports[index].index) {
        (ExternType::Func(_), ImportValue::Func(f, ty), EntityIndex::Func(i)) => {
            let wanted = module.type_ids[info.functions[i as usize] as usize];
            if !module.types.is_subtype(f.type_id, wanted) {
                let found = ty
                    .as_ref()
                    .map_or_else(|| "a function of another type".into(), ToString::to_string);
                let (want_text, found_text) = (
                    module.types.describe(wanted),
                    module.types.describe(f.type_id),
                );
                if found != expected.to_string() || want_text == found_text {
                    return Err(mismatch(found));
                }
                // Same signature, different types: say what tells them apart.
                return Err(link_error(
                    info,
                    index,
                    format!(
                        "expected a function of {want_text}, found one of {found_text}, \
                         which is neither that type nor a declared subtype of it"
                    ),
                ));
            }
        }
        (ExternType::Func(_), ImportValue::HostFunc(h), EntityIndex::Func(i)) => {
            let found = &store.host_func(*h).ty;
            // A host function takes the type the import declares (its funcref carries that type's
            // id), so only the signature must agree, whatever the type's recursion group or finality.
            let wanted = module.type_ids[info.functions[i as usize] as usize];
            if module.types.func_type(wanted).as_ref() != Some(found) {
                return Err(mismatch(found.to_string()));
            }
        }
        (ExternType::Memory(ty), ImportValue::Memory(m), _) => {
            let mem = store.memory(*m);
            let mut actual = mem.ty();
            actual.limits.min = mem.pages();
            if !actual.limits.matches(&ty.limits)
                || actual.memory64 != ty.memory64
                || actual.shared != ty.shared
                || actual.page_size_log2 != ty.page_size_log2
            {
                return Err(mismatch(actual.to_string()));
            }
            if ty.may_use_guard_pages()
                && !store.limits().explicit_bounds_checks
                && !mem.has_guard_region()
            {
                return Err(link_error(
                    info,
                    index,
                    "the memory was created for explicit bounds checks, and this engine's code relies \
                     on guard pages"
                        .into(),
                ));
            }
        }
        (ExternType::Table(ty), ImportValue::Table(t), _) => {
            let table = store.table(*t);
            let mut actual = table.ty();
            actual.limits.min = table.size();
            if !actual.limits.matches(&ty.limits)
                || actual.element != ty.element.canonicalize(&module.type_ids)
                || actual.table64 != ty.table64
            {
                return Err(mismatch(actual.to_string()));
            }
        }
        (ExternType::Global(ty), ImportValue::Global(g), _) => {
            let actual = store.global(*g).ty();
            let wanted = ty.content.canonicalize(&module.type_ids);
            let fits = actual.mutable == ty.mutable
                && if ty.mutable {
                    actual.content == wanted
                } else {
                    module.types.val_subtype(actual.content, wanted)
                };
            if !fits {
                return Err(mismatch(actual.to_string()));
            }
        }
        (ExternType::Tag(_), ImportValue::Tag(t), EntityIndex::Tag(i)) => {
            let tag = store.tag(*t);
            if tag.type_id() != module.type_ids[info.tags[i as usize] as usize] {
                return Err(mismatch(ExternType::Tag(tag.ty().clone()).to_string()));
            }
        }
        (_, other, _) => return Err(mismatch(describe_import(store, other))),
    }
    Ok(())
}

/// Creates an instance of `module` in `store`, with `imports` in the module's import order, and runs its
/// initialization (segments, start function).
///
/// # Safety
/// `store` must be valid for the whole call and not otherwise borrowed; host functions called by the start
/// function may access it.
pub unsafe fn instantiate(
    store: *mut StoreInner,
    module: &Arc<RuntimeModule>,
    imports: &[ImportValue],
) -> Result<InstanceId, InstantiationError> {
    // SAFETY: valid and unaliased per the caller's contract; this borrow ends before wasm code runs.
    let s = unsafe { &mut *store };
    let info = &module.info;
    if imports.len() != info.imports.len() {
        return Err(InstantiationError::Link(format!(
            "expected {} imports, got {}",
            info.imports.len(),
            imports.len()
        )));
    }
    for (i, value) in imports.iter().enumerate() {
        check_import(s, module, i, value)?;
    }
    if !s.charge_module_code(module) {
        return Err(InstantiationError::Resource(format!(
            "the store's memory budget of {} bytes cannot hold the module's {} bytes of code",
            s.budget().limit().unwrap_or(u64::MAX),
            module.code.code().len()
        )));
    }
    let offsets = module.offsets;
    let layout = Layout::from_size_align(offsets.size().max(16) as usize, 16)
        .map_err(|e| InstantiationError::Resource(e.to_string()))?;
    // SAFETY: `layout` has a non-zero size.
    let vmctx = unsafe { std::alloc::alloc_zeroed(layout) };
    if vmctx.is_null() {
        return Err(InstantiationError::Resource(
            "cannot allocate a VMContext".into(),
        ));
    }
    let mut instance = Box::new(Instance {
        module: module.clone(),
        vmctx,
        layout,
        memories: Vec::new(),
        tables: Vec::new(),
        globals: Vec::new(),
        tags: Vec::new(),
        tag_ptrs: Vec::new(),
        memory_ptrs: Vec::new(),
        table_ptrs: Vec::new(),
        store,
        dropped_data: info.data.iter().map(|_| Cell::new(false)).collect(),
        elem_values: info.elems.iter().map(|_| RefCell::default()).collect(),
        reactor_initialized: Cell::new(false),
        host_memory: match info.export_map.get("memory") {
            Some(EntityIndex::Memory(m)) => Some(*m),
            _ if !info.memories.is_empty() => Some(0),
            _ => None,
        },
    });
    let trap = match initialize(s, &mut instance, module, imports) {
        Ok(trap) => trap,
        Err(e) => {
            // The store keeps the instance: defined globals already live in its vmctx, and an active
            // element segment may have put its functions into an imported table, from which they can
            // still be called (the segments not reached stay empty; the collector scans the rest).
            s.failed_instances.push(instance);
            return Err(e);
        }
    };
    let start = info.start;
    s.instances.push(instance);
    let id = InstanceId(s.instances.len() - 1);
    if let Some(code) = trap {
        return Err(InstantiationError::Trap(TrapInfo {
            code,
            message: None,
            exit_code: None,
            backtrace: Vec::new(),
            frames_elided: 0,
            exception: None,
        }));
    }
    if let Some(start) = start {
        let handle = s.instance(id).func_handle(start);
        // SAFETY: the store is valid (caller's contract) and `handle` belongs to it; no borrow of the
        // store is live across the call.
        unsafe { crate::call::call_func(store, &handle, &mut []) }
            .map_err(InstantiationError::Trap)?;
    }
    Ok(id)
}

/// Fills a new instance's vmctx and creates what it defines (functions, memories, globals, tables,
/// tags), then applies its active element and data segments. Returns the trap a segment caused, if any.
fn initialize(
    s: &mut StoreInner,
    instance: &mut Instance,
    module: &Arc<RuntimeModule>,
    imports: &[ImportValue],
) -> Result<Option<TrapCode>, InstantiationError> {
    let info = &module.info;
    let offsets = module.offsets;
    instance.write(VMOffsets::MAGIC, VMCTX_MAGIC);
    instance.write(VMOffsets::INSTANCE, &*instance as *const Instance);
    instance.write(VMOffsets::STORE_CONTEXT, s.vm_store_context());
    instance.write(VMOffsets::BUILTINS, libcalls::builtins_table());
    for (i, id) in module.type_ids.iter().enumerate() {
        instance.write(offsets.type_id(i as u32), *id);
        if let Some(layout) = info.gc_layout(i as u32) {
            s.register_gc_layout(*id, Arc::new(layout));
        }
    }
    // Imports.
    for (value, import) in imports.iter().zip(&info.imports) {
        match (value, import.index) {
            (ImportValue::Func(f, _), EntityIndex::Func(i)) => {
                let mut f = *f;
                if f.func_index != VMFuncRef::HOST && !f.wasm_call.is_null() {
                    // SAFETY: a wasm function's `VMFuncRef` holds its defining instance's live vmctx.
                    let exporter = unsafe { Instance::from_vmctx(f.vmctx.cast()) }.module();
                    if exporter
                        .lazy
                        .as_ref()
                        .is_some_and(|l| l.is_stub(f.wasm_call))
                    {
                        // A stub would store the code into the exporting instance only: the copy
                        // stays null until its first call compiles (or finds) the code and stores it
                        // here (see `lazy_stubs`).
                        f.wasm_call = std::ptr::null();
                    }
                }
                instance.write(offsets.funcref(i), f)
            }
            (&ImportValue::HostFunc(h), EntityIndex::Func(i)) => {
                let type_index = info.functions[i as usize];
                let trampoline = module.ensure_host_trampoline(type_index).map_err(|e| {
                    InstantiationError::Resource(format!(
                        "cannot compile the host trampoline of type {type_index}: {e}"
                    ))
                })?;
                let funcref = VMFuncRef {
                    wasm_call: trampoline,
                    vmctx: (s.host_func(h) as *const crate::HostFunc).cast_mut().cast(),
                    type_id: module.type_ids[type_index as usize],
                    func_index: VMFuncRef::HOST,
                };
                instance.write(offsets.funcref(i), funcref);
            }
            (&ImportValue::Memory(m), _) => {
                instance
                    .memory_ptrs
                    .push(s.memory(m) as *const LinearMemory);
                instance.memories.push(m);
            }
            (&ImportValue::Table(t), _) => {
                instance.table_ptrs.push(s.table(t) as *const Table);
                instance.tables.push(t);
            }
            (&ImportValue::Global(g), _) => instance.globals.push(g),
            (&ImportValue::Tag(t), _) => {
                instance.tag_ptrs.push(s.tag(t).vm_tag());
                instance.tags.push(t);
            }
            _ => unreachable!("checked by check_import"),
        }
    }
    // Defined functions.
    // (Lazily compiled functions not compiled yet point to their compile-on-call stubs.)
    for d in 0..info.functions.len() as u32 - info.num_imported_funcs {
        let f = info.num_imported_funcs + d;
        let type_index = info.functions[f as usize] as usize;
        let funcref = VMFuncRef {
            wasm_call: module.defined_function(d),
            vmctx: instance.vmctx.cast(),
            type_id: module.type_ids[type_index],
            func_index: f,
        };
        instance.write(offsets.funcref(f), funcref);
    }
    // Defined memories.
    let limits = s.limits();
    for ty in &info.memories[info.num_imported_memories as usize..] {
        let id = if ty.shared {
            let memory = LinearMemory::new(
                *ty,
                limits.explicit_bounds_checks,
                limits.memory_limit_pages,
            )
            .map_err(|e| InstantiationError::Resource(e.to_string()))?;
            // `Arc::from` moves the memory: its address is taken once it has its final place.
            s.add_shared_memory(Arc::from(memory))
        } else {
            s.create_memory(*ty)
                .map_err(|e| InstantiationError::Resource(e.to_string()))?
        };
        instance
            .memory_ptrs
            .push(s.memory(id) as *const LinearMemory);
        instance.memories.push(id);
    }
    // Defined globals, in order (an initializer may read earlier globals).
    for (ty, init) in info.globals[info.num_imported_globals as usize..]
        .iter()
        .zip(&info.global_inits)
    {
        let value = instance.eval(s, init)?;
        let ty = wasmz_environ::GlobalType {
            content: ty.content.canonicalize(&module.type_ids),
            ..*ty
        };
        let storage = instance
            .vmctx
            .wrapping_add(offsets.defined_global(instance.globals.len() as u32) as usize)
            .cast::<VMGlobal>();
        // SAFETY: the storage lies inside this vmctx (its layout has room for every defined global, 16
        // bytes each, 16-aligned like the allocation), which the store keeps allocated as long as itself:
        // in `instances`, or in `failed_instances` when instantiation fails.
        let global = unsafe { s.add_global_at(ty, storage, value) };
        instance.globals.push(global);
    }
    // Defined tables.
    for def in &info.tables[info.num_imported_tables as usize..] {
        let init = match &def.init {
            Some(e) => instance.eval(s, e)? as u64,
            None => 0,
        };
        // Creating the table asks the store's limiter, user code that may collect: the initial value
        // (perhaps an object just made) stays rooted until the table, itself a root, holds it.
        let _init_root = s.root(init);
        let ty = wasmz_environ::TableType {
            element: def.ty.element.canonicalize(&module.type_ids),
            ..def.ty
        };
        let table =
            Table::new(ty, init).map_err(|e| InstantiationError::Resource(e.to_string()))?;
        let id = s
            .add_table(table)
            .map_err(|e| InstantiationError::Resource(e.to_string()))?;
        instance.table_ptrs.push(s.table(id) as *const Table);
        instance.tables.push(id);
    }
    // Defined tags: a new identity for each.
    for &type_index in &info.tags[info.num_imported_tags as usize..] {
        let ty = info.func_type(type_index).clone();
        let id = s.add_tag(Tag::new(ty, module.type_ids[type_index as usize]));
        instance.tag_ptrs.push(s.tag(id).vm_tag());
        instance.tags.push(id);
    }
    for (i, tag) in instance.tag_ptrs.iter().enumerate() {
        instance.write(offsets.tag(i as u32), *tag);
    }
    for (i, m) in instance.memories.iter().enumerate() {
        instance.write(offsets.memory(i as u32), s.memory(*m).definition());
        instance.write(offsets.memory_base(i as u32), s.memory(*m).data_ptr());
    }
    for (i, t) in instance.tables.iter().enumerate() {
        instance.write(offsets.table(i as u32), s.table(*t).definition());
    }
    for (i, g) in instance.globals.iter().enumerate() {
        instance.write::<*mut VMGlobal>(offsets.global(i as u32), s.global(*g).storage());
    }
    // Element segments: passive ones are kept, active ones are copied now, then they and declared
    // ones are dropped (their entries stay empty). An active segment may make the instance's
    // functions reachable from an imported table before a later segment fails to evaluate: the
    // segments not reached then stay empty, as if dropped.
    let mut trap = None;
    for (i, seg) in info.elems.iter().enumerate() {
        let values = instance.elem_items(s, &seg.items)?;
        match &seg.mode {
            ElemMode::Passive => *instance.elem_values[i].get_mut() = values,
            ElemMode::Declared => {}
            ElemMode::Active { table, offset } => {
                if trap.is_none() {
                    let at = instance.eval(s, offset)? as u64;
                    let at = if info.tables[*table as usize].ty.table64 {
                        at
                    } else {
                        at & 0xffff_ffff
                    };
                    if s.table(instance.tables[*table as usize])
                        .init(at, &values)
                        .is_none()
                    {
                        trap = Some(TrapCode::TableOutOfBounds);
                    }
                }
            }
        }
    }
    // Data segments: first those held by the module's memory image, if it has one (a module has one
    // only when all its active segments are for memory 0, inside its initial size and apart, so none
    // can trap and their order does not matter), then every segment in order as usual (those the
    // image holds are left empty, and write nothing).
    if trap.is_none() {
        if let (Some(layout), Some(image)) = (&info.memory_image, &module.memory_image) {
            let memory = s.memory(instance.memories[0]);
            image.apply(memory, layout).map_err(|e| {
                InstantiationError::Resource(format!("cannot initialize memory 0: {e}"))
            })?;
        }
        for (i, seg) in info.data.iter().enumerate() {
            if let DataMode::Active { memory, offset } = &seg.mode {
                let at = instance.eval(s, offset)? as u64;
                let at = if info.memories[*memory as usize].memory64 {
                    at
                } else {
                    at & 0xffff_ffff
                };
                if s.memory(instance.memories[*memory as usize])
                    .write(at, &seg.bytes)
                    .is_err()
                {
                    trap = Some(TrapCode::MemoryOutOfBounds);
                    break;
                }
                instance.dropped_data[i].set(true);
            }
        }
    }
    Ok(trap)
}
