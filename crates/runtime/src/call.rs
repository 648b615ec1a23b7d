//! Calling compiled functions from the host.

use crate::instance::{FuncCallee, FuncHandle};
use crate::store::StoreInner;
use crate::traphandlers::{TrapInfo, call_entry};
use crate::values::RawVal;

/// Calls `func` with its arguments in `values` (which must have room for all results too); the results
/// replace the arguments.
///
/// # Safety
/// `store` must be the valid store that owns `func`, not borrowed elsewhere during the call, and the
/// arguments in `values` must match `func`'s parameter types.
pub unsafe fn call_func(
    store: *mut StoreInner,
    func: &FuncHandle,
    values: &mut [RawVal],
) -> Result<(), TrapInfo> {
    assert!(
        values.len() >= func.ty().params.len().max(func.ty().results.len()),
        "value buffer too small"
    );
    // SAFETY: the caller's contract, and `values` is large enough (asserted above).
    unsafe { call_callee(store, &func.callee(), values.as_mut_ptr()) }
}

/// Calls `callee` with its arguments in `values`; the results replace them. Like [`call_func`] without
/// the size check.
///
/// # Safety
/// As [`call_func`], and `values` must hold at least max(params, results) slots of `callee`'s type.
#[inline]
pub unsafe fn call_callee(
    store: *mut StoreInner,
    func: &FuncCallee,
    values: *mut RawVal,
) -> Result<(), TrapInfo> {
    // SAFETY: `store` is valid (caller's contract); only the stack-limit field is touched.
    let ctx = unsafe { (*store).vm_store_context() };
    // SAFETY: `ctx` points into the live store.
    let outermost = unsafe { (*ctx).stack_limit == 0 };
    if outermost {
        // SAFETY: as above.
        let max = unsafe { (*store).limits().max_wasm_stack };
        // The address of a local is close enough to the stack pointer (the limit is far below it).
        let marker = 0u8;
        let sp = std::hint::black_box(std::ptr::addr_of!(marker)) as usize;
        // SAFETY: as above.
        unsafe { (*ctx).stack_limit = sp.saturating_sub(max) };
    }
    // SAFETY: `func` was made by an instance of this store: the funcref, trampoline and vmctx are live,
    // and `values` is large enough (caller's contract).
    let result = unsafe {
        let funcref = &*func.funcref;
        call_entry(
            func.entry,
            funcref.vmctx,
            func.caller_vmctx.cast(),
            funcref.wasm_call,
            values.cast(),
        )
    };
    if outermost {
        // SAFETY: as above.
        unsafe { (*ctx).stack_limit = 0 };
    }
    result
}
