//! The `#[repr(C)]` structures compiled code reads through the VMContext. Their layout must match
//! `wasmz_environ::vmoffsets`; the tests below check every offset.

use std::ffi::c_void;
use std::sync::atomic::AtomicU64;

/// Opaque marker for a VMContext allocation (see `wasmz_environ::vmoffsets` for its layout).
#[repr(C)]
pub struct VMContext {
    _private: [u8; 0],
}

/// A function reference: what `ref.func`, tables and imports hold.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFuncRef {
    /// Entry point with the wasm calling convention; null while a lazily compiled function has not been
    /// compiled for this reference yet.
    pub wasm_call: *const u8,
    /// The callee's vmctx (a host function's context for host functions).
    pub vmctx: *mut c_void,
    /// Engine-wide canonical id of the function's type.
    pub type_id: u32,
    /// Index of the function in its module's function index space ([`VMFuncRef::HOST`] for host
    /// functions); lazy compilation uses it to find the function behind a null `wasm_call`.
    pub func_index: u32,
}

impl VMFuncRef {
    /// The `func_index` of host functions.
    pub const HOST: u32 = u32::MAX;
}

/// The part of a linear memory compiled code reads.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemoryDefinition {
    /// Start of the memory; never moves.
    pub base: *mut u8,
    /// Current length in bytes.
    pub length: u64,
}

/// The part of a table compiled code reads.
#[repr(C)]
#[derive(Debug)]
pub struct VMTableDefinition {
    /// The elements (8 bytes each).
    pub base: *mut u64,
    /// Current length in elements.
    pub length: u64,
}

/// Per-store state shared by all of the store's instances, reached from every vmctx (layout:
/// `wasmz_environ::vmoffsets::store_context`).
#[repr(C)]
#[derive(Debug)]
pub struct VMStoreContext {
    /// The lowest stack address wasm code may use (checked in every function prologue); 0 outside wasm.
    pub stack_limit: usize,
    /// Fuel left. Code compiled with fuel metering subtracts from it and traps with `OutOfFuel` when
    /// it would have to go below zero.
    pub fuel: u64,
    /// The engine's epoch counter; code compiled with epoch interruption reads it atomically. Points to
    /// a private zero until the embedder sets it.
    pub epoch_ptr: *const AtomicU64,
    /// Code compiled with epoch interruption traps with `Interrupted` once the epoch reaches this value.
    pub epoch_deadline: u64,
    /// Where compiled code allocates the next GC object (bumping it by the object's size).
    pub gc_next: usize,
    /// End of the free run `gc_next` bumps through; an allocation that would pass it calls the
    /// `GcAlloc` builtin instead.
    pub gc_limit: usize,
}

/// The epoch a store context sees until it is given its engine's counter.
static NO_EPOCH: AtomicU64 = AtomicU64::new(0);

impl Default for VMStoreContext {
    fn default() -> VMStoreContext {
        VMStoreContext {
            stack_limit: 0,
            fuel: 0,
            epoch_ptr: &NO_EPOCH,
            epoch_deadline: 0,
            gc_next: 0,
            gc_limit: 0,
        }
    }
}

/// Storage of one global (16 bytes, wide enough for a v128).
#[repr(C, align(16))]
#[derive(Debug, Clone, Copy, Default)]
pub struct VMGlobal {
    /// The value's bytes, little-endian, zero-extended.
    pub bytes: [u8; 16],
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};
    use wasmz_environ::vmoffsets::{GLOBAL_SIZE, funcref, memory, store_context, table};

    #[test]
    fn layouts_match_vmoffsets() {
        assert_eq!(
            offset_of!(VMFuncRef, wasm_call),
            funcref::WASM_CALL as usize
        );
        assert_eq!(offset_of!(VMFuncRef, vmctx), funcref::VMCTX as usize);
        assert_eq!(offset_of!(VMFuncRef, type_id), funcref::TYPE_ID as usize);
        assert_eq!(
            offset_of!(VMFuncRef, func_index),
            funcref::FUNC_INDEX as usize
        );
        assert_eq!(size_of::<VMFuncRef>(), funcref::SIZE as usize);
        assert_eq!(offset_of!(VMMemoryDefinition, base), memory::BASE as usize);
        assert_eq!(
            offset_of!(VMMemoryDefinition, length),
            memory::LENGTH as usize
        );
        assert_eq!(offset_of!(VMTableDefinition, base), table::BASE as usize);
        assert_eq!(
            offset_of!(VMTableDefinition, length),
            table::LENGTH as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, stack_limit),
            store_context::STACK_LIMIT as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, fuel),
            store_context::FUEL as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, epoch_ptr),
            store_context::EPOCH_PTR as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, epoch_deadline),
            store_context::EPOCH_DEADLINE as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, gc_next),
            store_context::GC_NEXT as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, gc_limit),
            store_context::GC_LIMIT as usize
        );
        assert_eq!(size_of::<VMStoreContext>(), store_context::SIZE as usize);
        assert_eq!(size_of::<VMGlobal>(), GLOBAL_SIZE as usize);
    }
}
