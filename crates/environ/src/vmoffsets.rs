//! The layout of a `VMContext`, the per-instance block that compiled code receives as its first argument.
//!
//! This is the one definition of the layout: the compiler reads offsets from here and the runtime's
//! `#[repr(C)]` structs are checked against these constants by tests.
//!
//! ```text
//! offset  field
//! 0       magic: u32 (VMCTX_MAGIC), padding
//! 8       instance: *mut Instance (runtime data behind this vmctx)
//! 16      store_context: *const VMStoreContext (see [`store_context`]; shared by the store's instances)
//! 24      builtins: *const [usize; Builtin::COUNT]
//! 32      reserved
//! 40      null: u64, always 0 (the element a table access out of bounds reads: see `NULL_WORD`)
//! 48      memory_bases: [*mut u8; num_memories]   (copies of each memory's base, which never moves)
//! ..      memories: [*mut VMMemoryDefinition; num_memories]
//! ..      tables:   [*mut VMTableDefinition; num_tables]
//! ..      globals:  [*mut VMGlobal; num_globals]
//! ..      funcrefs: [VMFuncRef; num_funcs]
//! ..      type_ids: [u32; num_types]
//! ..      tags:     [*const VMTag; num_tags]   (8-aligned; a tag's address is its identity)
//! ..      defined globals: [VMGlobal; num_globals - num_imported_globals]   (16-aligned, 16 bytes each)
//! ```
//!
//! A defined global lives in its instance's vmctx, so compiled code reaches it with one load or store at
//! a constant offset; the `globals` pointer array holds the address of every global, imported or defined,
//! for the runtime and for imported ones.

use crate::module::ModuleInfo;

/// Value stored at offset 0 of every VMContext, to recognise one when debugging.
pub const VMCTX_MAGIC: u32 = u32::from_le_bytes(*b"wsmz");

/// Size of a pointer on the targets wasmz supports (64-bit only).
pub const POINTER_SIZE: u32 = 8;

/// Offsets inside `VMFuncRef { wasm_call, vmctx, type_id, func_index }`.
pub mod funcref {
    /// Offset of the code pointer (Tail calling convention entry); null while a lazily compiled function
    /// has not been compiled for this `VMFuncRef` yet.
    pub const WASM_CALL: u32 = 0;
    /// Offset of the callee's vmctx.
    pub const VMCTX: u32 = 8;
    /// Offset of the engine-wide canonical type id (u32).
    pub const TYPE_ID: u32 = 16;
    /// Offset of the function's index in its module's function index space (u32; `u32::MAX` for host
    /// functions). Lazy compilation reads it to know which function a null code pointer stands for.
    pub const FUNC_INDEX: u32 = 20;
    /// Size of a `VMFuncRef`.
    pub const SIZE: u32 = 24;
}

/// Offsets inside `VMMemoryDefinition { base, length }`.
pub mod memory {
    /// Offset of the base pointer.
    pub const BASE: u32 = 0;
    /// Offset of the current length in bytes (u64).
    pub const LENGTH: u32 = 8;
}

/// Offsets inside `VMTableDefinition { base, length }`.
pub mod table {
    /// Offset of the element array pointer (8 bytes per element).
    pub const BASE: u32 = 0;
    /// Offset of the current length in elements (u64).
    pub const LENGTH: u32 = 8;
    /// Size of one table element.
    pub const ELEMENT_SIZE: u32 = 8;
}

/// Offsets inside the store's `VMStoreContext`, which every vmctx points to at
/// [`VMOffsets::STORE_CONTEXT`].
///
/// ```text
/// offset  field
/// 0       stack_limit: usize        (lowest stack address wasm code may use; read by every prologue)
/// 8       fuel: u64                 (fuel left; decremented by code compiled with fuel metering)
/// 16      epoch_ptr: *const u64     (the engine's epoch counter, an `AtomicU64`)
/// 24      epoch_deadline: u64       (code compiled with epoch interruption traps once epoch >= this)
/// 32      gc_next: usize            (GC heap bump pointer: where the next object goes)
/// 40      gc_limit: usize           (end of the free run `gc_next` bumps through)
/// ```
pub mod store_context {
    /// Offset of the stack limit.
    pub const STACK_LIMIT: u32 = 0;
    /// Offset of the remaining fuel (u64).
    pub const FUEL: u32 = 8;
    /// Offset of the pointer to the engine's epoch counter.
    pub const EPOCH_PTR: u32 = 16;
    /// Offset of the epoch deadline (u64).
    pub const EPOCH_DEADLINE: u32 = 24;
    /// Offset of the GC heap's bump pointer.
    pub const GC_NEXT: u32 = 32;
    /// Offset of the end of the GC heap's current free run.
    pub const GC_LIMIT: u32 = 40;
    /// Size of a `VMStoreContext`.
    pub const SIZE: u32 = 48;
}

/// Offsets inside an exception object, which `throw` allocates in the store and compiled code reads
/// when it catches one (an `exnref` is the object's address).
///
/// ```text
/// offset  field
/// 0       tag: *const VMTag   (the identity of the exception's tag)
/// 8       slot: u32           (the object's place in the store)
/// 12      exposed: u32        (nonzero once an `exnref` to it exists or a clause that rethrew it may
///                              use it again: it is then never freed early)
/// 16      values: [16 bytes; n]   (the tag's parameters, little-endian, like globals)
/// ```
pub mod exception {
    /// Offset of the tag's identity.
    pub const TAG: u32 = 0;
    /// Offset of the store slot index (u32).
    pub const SLOT: u32 = 8;
    /// Offset of the exposed flag (u32).
    pub const EXPOSED: u32 = 12;
    /// Offset of the first value.
    pub const VALUES: u32 = 16;
    /// Size of one value's storage.
    pub const VALUE_SIZE: u32 = 16;
}

/// Size of the storage of one global (wide enough for a v128).
pub const GLOBAL_SIZE: u32 = 16;

/// The computed layout of one module's VMContext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VMOffsets {
    /// Number of memories (imported and defined).
    pub num_memories: u32,
    /// Number of tables (imported and defined).
    pub num_tables: u32,
    /// Number of globals (imported and defined).
    pub num_globals: u32,
    /// Number of imported globals (the first ones of the index space).
    pub num_imported_globals: u32,
    /// Number of functions (imported and defined).
    pub num_funcs: u32,
    /// Number of types in the type section.
    pub num_types: u32,
    /// Number of tags (imported and defined).
    pub num_tags: u32,
}

impl VMOffsets {
    /// Offset of the magic number.
    pub const MAGIC: u32 = 0;
    /// Offset of the runtime instance pointer.
    pub const INSTANCE: u32 = 8;
    /// Offset of the pointer to the store's `VMStoreContext`, whose first field is the stack limit (the
    /// lowest stack pointer wasm code may use).
    pub const STORE_CONTEXT: u32 = 16;
    /// Offset of the builtins table pointer.
    pub const BUILTINS: u32 = 24;
    /// Offset of a word that is always 0 (the vmctx is zeroed, and nothing writes it): a table
    /// access reads it in place of an element out of bounds, whether under speculation past the
    /// bounds check (no element past the table's end is read, even speculatively) or, for
    /// `call_indirect`, instead of checking the bounds first (the null element sends it to the path
    /// that traps, which then tells an index out of bounds from a null element).
    pub const NULL_WORD: u32 = 40;
    /// Offset of the first memory base.
    const HEADER_SIZE: u32 = 48;

    /// The layout for `module`.
    pub fn new(module: &ModuleInfo) -> VMOffsets {
        let count =
            |n: usize| u32::try_from(n).expect("module entity counts fit in u32 (validated)");
        VMOffsets {
            num_memories: count(module.memories.len()),
            num_tables: count(module.tables.len()),
            num_globals: count(module.globals.len()),
            num_imported_globals: module.num_imported_globals,
            num_funcs: count(module.functions.len()),
            num_types: count(module.types.len()),
            num_tags: count(module.tags.len()),
        }
    }

    /// Offset of memory `index`'s base address, a copy of its definition's `base` kept in the vmctx
    /// itself so that compiled code reaches the base with one load (a memory never moves, so the copy
    /// never goes stale).
    pub fn memory_base(&self, index: u32) -> u32 {
        Self::HEADER_SIZE + index * POINTER_SIZE
    }

    /// Offset of the pointer to memory `index`'s definition.
    pub fn memory(&self, index: u32) -> u32 {
        self.memory_base(self.num_memories) + index * POINTER_SIZE
    }

    /// Offset of the pointer to table `index`'s definition.
    pub fn table(&self, index: u32) -> u32 {
        self.memory(self.num_memories) + index * POINTER_SIZE
    }

    /// Offset of the pointer to global `index`'s storage.
    pub fn global(&self, index: u32) -> u32 {
        self.table(self.num_tables) + index * POINTER_SIZE
    }

    /// Offset of function `index`'s `VMFuncRef`.
    pub fn funcref(&self, index: u32) -> u32 {
        self.global(self.num_globals) + index * funcref::SIZE
    }

    /// Offset of type `index`'s canonical id (u32).
    pub fn type_id(&self, index: u32) -> u32 {
        self.funcref(self.num_funcs) + index * 4
    }

    /// Offset of the pointer to tag `index`'s identity (`*const VMTag`).
    pub fn tag(&self, index: u32) -> u32 {
        self.type_id(self.num_types).next_multiple_of(POINTER_SIZE) + index * POINTER_SIZE
    }

    /// Offset of the storage of global `index`, which must be a defined (not imported) global.
    pub fn defined_global(&self, index: u32) -> u32 {
        debug_assert!(index >= self.num_imported_globals && index <= self.num_globals);
        self.tag(self.num_tags).next_multiple_of(GLOBAL_SIZE)
            + (index - self.num_imported_globals) * GLOBAL_SIZE
    }

    /// Whether global `index` is defined by the module (and so stored in the vmctx).
    pub fn is_defined_global(&self, index: u32) -> bool {
        index >= self.num_imported_globals
    }

    /// Total size of the VMContext in bytes.
    pub fn size(&self) -> u32 {
        self.defined_global(self.num_globals)
    }
}
