//! Host functions as the runtime sees them, and the view of the caller they receive.

use crate::instance::Instance;
use crate::memory::LinearMemory;
use crate::store::StoreInner;
use crate::values::RawVal;
use std::any::Any;
use std::sync::Arc;
use wasmz_environ::{FuncType, TrapCode};

/// A trap requested by a host function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTrap {
    /// The trap code (usually [`TrapCode::HostError`]).
    pub code: TrapCode,
    /// The host's explanation.
    pub message: Option<String>,
    /// Set when the host ends the run on the guest's request (WASI `proc_exit`) with this status.
    pub exit_code: Option<i32>,
}

/// The callback behind a host function: `(caller, params, results)`.
pub type HostCallback =
    dyn Fn(&mut Caller<'_>, &[RawVal], &mut [RawVal]) -> Result<(), HostTrap> + Send + Sync;

/// A host function registered in a store.
#[derive(Clone)]
pub struct HostFunc {
    /// Its signature.
    pub ty: FuncType,
    /// What it runs.
    pub callback: Arc<HostCallback>,
}

/// What a host function can reach of the wasm code that called it.
pub struct Caller<'a> {
    pub(crate) instance: &'a Instance,
    pub(crate) store: *mut StoreInner,
}

impl Caller<'_> {
    /// The calling instance's memory: its export named "memory", else its memory 0.
    #[inline]
    pub fn memory(&self) -> Option<&LinearMemory> {
        self.instance.host_memory()
    }

    /// The store's embedder data, borrowed until the returned flag is cleared (see
    /// [`StoreInner::borrow_data`]).
    pub fn borrow_data(&mut self) -> Option<(&mut (dyn Any + 'static), &std::cell::Cell<bool>)> {
        // SAFETY: the store outlives the call; its data is only ever handed out under the borrow
        // flag, which `borrow_data` checks.
        unsafe { (*self.store).borrow_data() }
    }

    /// The calling instance's export `name`.
    pub fn export(&self, name: &str) -> Option<crate::instance::ExportValue> {
        self.instance.export(name)
    }

    /// The store's fuel left (see [`StoreInner::fuel`]).
    pub fn fuel(&self) -> u64 {
        // SAFETY: the store outlives the call; compiled code keeps no copy of the fuel counter in
        // registers across a host call, and is not running while the host function runs.
        unsafe { (*(*self.store).vm_store_context()).fuel }
    }

    /// Sets the store's fuel left; compiled code sees it at its next check.
    pub fn set_fuel(&mut self, fuel: u64) {
        // SAFETY: as in `fuel`.
        unsafe { (*(*self.store).vm_store_context()).fuel = fuel }
    }

    /// The epoch at which the store's code is interrupted.
    pub fn epoch_deadline(&self) -> u64 {
        // SAFETY: as in `fuel`.
        unsafe { (*(*self.store).vm_store_context()).epoch_deadline }
    }

    /// Sets the epoch at which the store's code is interrupted.
    pub fn set_epoch_deadline(&mut self, deadline: u64) {
        // SAFETY: as in `fuel`.
        unsafe { (*(*self.store).vm_store_context()).epoch_deadline = deadline }
    }

    /// What the embedding API stored with [`StoreInner::set_owner`].
    pub fn owner(&self) -> Option<&(dyn Any + 'static)> {
        // SAFETY: the store outlives the call; the owner is set before any code runs and never changes
        // while a host function runs.
        unsafe { (*self.store).owner() }
    }

    /// Runs a full garbage collection of the store. The wasm frames below the host call are roots;
    /// GC references among the host function's raw arguments are not (they stay valid only while the
    /// calling wasm frames hold them too, which they do for the arguments of this call).
    pub fn collect_garbage(&self) {
        // SAFETY: the store outlives the call, and compiled code does not touch the GC heap while it
        // waits for the host function.
        unsafe { (*self.store).collect_garbage() }
    }
}
