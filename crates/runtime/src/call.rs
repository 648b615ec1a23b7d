//! Calling compiled functions from the host.

use crate::instance::{FuncCallee, FuncHandle, Instance};
use crate::lazy::resolve_funcref;
use crate::stack::stack_floor;
use crate::store::StoreInner;
use crate::traphandlers::{TrapInfo, call_entry};
use crate::values::RawVal;
use wasmz_environ::TrapCode;

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
    // The address of a local is close enough to the stack pointer (the limit is far below it).
    let marker = 0u8;
    let sp = std::hint::black_box(std::ptr::addr_of!(marker)) as usize;
    // SAFETY: `ctx` points into the live store.
    let mut limit = unsafe { (*ctx).stack_limit };
    let outermost = limit == 0;
    if outermost {
        // SAFETY: as above.
        let max = unsafe { (*store).limits().max_wasm_stack };
        // Never below what the thread's stack can really hold (see `crate::stack`).
        limit = sp.saturating_sub(max).max(stack_floor(sp));
    }
    // A nested call (from a host function called by wasm) keeps the outermost call's limit, so the
    // host frames in between count against it.
    if sp <= limit {
        return Err(stack_overflow());
    }
    // SAFETY: `func` was made by an instance of this store, so its funcref is live.
    let mut code = unsafe { (*func.funcref).wasm_call };
    let mut entry = func.entry;
    if code.is_null() || entry.is_null() {
        // SAFETY: the funcref is live (as above); nothing else uses the store during the call (caller's
        // contract).
        (entry, code) = unsafe { resolve_lazy(func) }.map_err(|message| TrapInfo {
            code: TrapCode::CompileError,
            message: Some(message),
            exit_code: None,
            backtrace: Vec::new(),
            frames_elided: 0,
            exception: None,
        })?;
    }
    if outermost {
        // SAFETY: as above.
        unsafe { (*ctx).stack_limit = limit };
    }
    // SAFETY: `func` was made by an instance of this store: the funcref, trampoline and vmctx are live,
    // and `values` is large enough (caller's contract).
    let result = unsafe {
        call_entry(
            entry,
            (*func.funcref).vmctx,
            func.caller_vmctx.cast(),
            code,
            values.cast(),
        )
    };
    if outermost {
        // SAFETY: as above.
        unsafe { (*ctx).stack_limit = 0 };
    }
    result
}

/// Compiles what a call of `func` lacks in a lazily compiled module: the entry trampoline of its type,
/// the function itself. Returns (entry trampoline, code).
///
/// # Safety
/// As [`call_callee`].
#[cold]
unsafe fn resolve_lazy(func: &FuncCallee) -> Result<(*const u8, *const u8), String> {
    let mut entry = func.entry;
    if entry.is_null() {
        // SAFETY: the caller vmctx belongs to a live instance of the store (caller's contract).
        let caller = unsafe { Instance::from_vmctx(func.caller_vmctx) };
        entry = caller
            .module()
            .ensure_entry_trampoline(func.type_index)
            .map_err(|e| {
                format!(
                    "the entry trampoline of type {} failed to compile: {e}",
                    func.type_index
                )
            })?;
    }
    // SAFETY: the funcref is live and only this thread uses the store (caller's contract).
    let code = unsafe { resolve_funcref(func.funcref.cast_mut()) }?;
    Ok((entry, code))
}

/// The trap of a call refused because too little native stack is left to enter wasm.
#[cold]
fn stack_overflow() -> TrapInfo {
    TrapInfo {
        code: TrapCode::StackOverflow,
        message: None,
        exit_code: None,
        backtrace: Vec::new(),
        frames_elided: 0,
        exception: None,
    }
}
