//! Functions of `wasm.h`: host functions (`wasm_func_new`, `wasm_func_new_with_env`) and calls
//! (`wasm_func_call`).
//!
//! Host functions are [`HostFunc::new_vals`] functions made into store functions with
//! [`Func::new`]: their arguments arrive as typed values and their results are checked before
//! compiled code sees them. Calls of functions with number types only go through [`Func::call`];
//! calls of functions with reference-typed parameters or results go through a small adapter
//! instance per signature (a `call_indirect` through a one-element table) called with typed values
//! by [`Instance::call_vals`], so reference arguments are checked too.

use super::reference::{Finalizer, Obj, as_obj, ref_type, wasm_func_t, wasm_ref_t};
use super::runtime::{StoreCtx, store_ctx, wasm_store_t};
use super::trap::{from_error, from_trap, new_trap};
use super::types::{KIND_OTHER, borrow, kind_of, wasm_externtype_t, wasm_functype_t};
use super::val::{from_val, to_val, wasm_val_t, wasm_val_vec_t};
use super::vec::view;
use facade::{
    ExternType, Func, FuncType, HostError, HostFunc, Instance, Module, RawVal, Table, Val, ValType,
};
use std::ffi::c_void;
use std::ptr;
use std::rc::{Rc, Weak};

/// A function of a store.
#[derive(Clone)]
pub(crate) struct FuncObj {
    pub(crate) func: Func,
    pub(crate) store: Rc<StoreCtx>,
}

impl FuncObj {
    pub(crate) fn new(func: Func, store: Rc<StoreCtx>) -> FuncObj {
        FuncObj { func, store }
    }
}

ref_type!(
    |r: &wasm_ref_t| matches!(r.obj, Obj::Func(_)),
    wasm_func_delete,
    wasm_func_copy,
    wasm_func_same,
    wasm_func_get_host_info,
    wasm_func_set_host_info,
    wasm_func_set_host_info_with_finalizer,
    wasm_func_as_ref,
    wasm_ref_as_func,
    wasm_func_as_ref_const,
    wasm_ref_as_func_const
);

/// A host callback without environment.
pub type wasm_func_callback_t = Option<
    unsafe extern "C" fn(
        args: *const wasm_val_vec_t,
        results: *mut wasm_val_vec_t,
    ) -> *mut wasm_ref_t,
>;

/// A host callback with environment.
pub type wasm_func_callback_with_env_t = Option<
    unsafe extern "C" fn(
        env: *mut c_void,
        args: *const wasm_val_vec_t,
        results: *mut wasm_val_vec_t,
    ) -> *mut wasm_ref_t,
>;

/// A callback's environment; its finalizer runs when dropped (with the function, or at once if
/// the function cannot be made).
struct Env {
    env: *mut c_void,
    finalizer: Finalizer,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(f) = self.finalizer {
            // SAFETY: the embedder gave this finalizer for this pointer; it runs once.
            unsafe { f(self.env) }
        }
    }
}

/// The C side of a host function.
enum Callback {
    Plain(unsafe extern "C" fn(*const wasm_val_vec_t, *mut wasm_val_vec_t) -> *mut wasm_ref_t),
    WithEnv(
        unsafe extern "C" fn(
            *mut c_void,
            *const wasm_val_vec_t,
            *mut wasm_val_vec_t,
        ) -> *mut wasm_ref_t,
        Env,
    ),
}

/// A host function's state: its callback, its store (weak: the store owns the function) and type.
struct HostCall {
    callback: Callback,
    store: Weak<StoreCtx>,
    ty: FuncType,
}

// SAFETY: a `HostCall` lives in the one store `Func::new` made its function in; stores are
// single-threaded (their objects are `Rc`-based and never leave the creating thread), so it is
// only ever called and dropped on that thread.
unsafe impl Send for HostCall {}
// SAFETY: as above: never shared between threads.
unsafe impl Sync for HostCall {}

impl HostCall {
    /// Runs the callback with C values.
    fn call(&self, params: &[Val], results: &mut [Val]) -> Result<(), HostError> {
        let store = self
            .store
            .upgrade()
            .ok_or_else(|| HostError::new("the function's store is gone"))?;
        let args = params
            .iter()
            .map(|v| from_val(v, &store))
            .collect::<Result<Vec<_>, _>>()
            .map_err(HostError::new)?;
        let args = wasm_val_vec_t::from_vec(args);
        let mut outs = wasm_val_vec_t::from_vec(
            self.ty
                .results
                .iter()
                .map(|t| wasm_val_t::zero(*t))
                .collect(),
        );
        // SAFETY: the vectors are valid for the call; the embedder vouches for the callback (and
        // its environment), which the header tells not to unwind.
        let trap = unsafe {
            match &self.callback {
                Callback::Plain(f) => f(&args, &mut outs),
                Callback::WithEnv(f, env) => f(env.env, &args, &mut outs),
            }
        };
        drop(args);
        if !trap.is_null() {
            // SAFETY: the callback hands over an owned trap (or other reference) of this library.
            let trap = unsafe { Box::from_raw(trap) };
            let message = match &trap.obj {
                Obj::Trap(data) => data.message.clone(),
                _ => "the host callback returned an object that is not a trap".to_string(),
            };
            return Err(HostError::new(message));
        }
        if outs.size != results.len() {
            return Err(HostError::new(
                "the host callback changed its results vector",
            ));
        }
        for (i, ((slot, ty), v)) in results
            .iter_mut()
            .zip(&self.ty.results)
            .zip(outs.as_slice())
            .enumerate()
        {
            *slot = to_val(v, *ty, &store, &|| {
                format!("result {i} of the host function")
            })
            .map_err(HostError::new)?;
        }
        Ok(())
    }
}

/// Makes a host function of type `ty` in `store` (NULL on failure, the callback's environment
/// finalized then).
///
/// # Safety
/// `store` NULL or live; `ty` NULL or a live function type.
unsafe fn new_func(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    callback: Callback,
) -> *mut wasm_func_t {
    // SAFETY: forwarded from the caller.
    let ctx = unsafe { store_ctx(store) };
    // SAFETY: forwarded from the caller.
    let ty = unsafe { borrow(ty) }.and_then(wasm_externtype_t::func_type);
    let (Some(ctx), Some(ty)) = (ctx, ty) else {
        return ptr::null_mut();
    };
    let host = HostCall {
        callback,
        store: Rc::downgrade(&ctx),
        ty: ty.clone(),
    };
    let host = HostFunc::new_vals(ty.params.to_vec(), ty.results.to_vec(), move |_, p, r| {
        host.call(p, r)
    });
    let Ok(mut store) = ctx.store.try_borrow_mut() else {
        return ptr::null_mut();
    };
    let func = Func::new(&mut store, host);
    drop(store);
    match func {
        Ok(func) => wasm_ref_t::new(Obj::Func(FuncObj::new(func, ctx))).into_raw(),
        Err(_) => ptr::null_mut(),
    }
}

/// A host function of `store` with type `ty` that runs `callback` (NULL for a NULL argument).
///
/// # Safety
/// `store` NULL or live; `ty` NULL or a live function type; `callback` safe to call with the
/// documented arguments.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_new(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    callback: wasm_func_callback_t,
) -> *mut wasm_func_t {
    crate::guard_value(ptr::null_mut(), || {
        let Some(callback) = callback else {
            return ptr::null_mut();
        };
        // SAFETY: forwarded from the caller.
        unsafe { new_func(store, ty, Callback::Plain(callback)) }
    })
}

/// As `wasm_func_new`, the callback getting `env`; `finalizer` (may be NULL) runs once with `env`
/// when the function is gone, or before this returns NULL.
///
/// # Safety
/// As `wasm_func_new`; `finalizer` safe to call with `env` on the store's thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_new_with_env(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    callback: wasm_func_callback_with_env_t,
    env: *mut c_void,
    finalizer: Finalizer,
) -> *mut wasm_func_t {
    // Owned from here on: every failure below finalizes it.
    let env = Env { env, finalizer };
    crate::guard_value(ptr::null_mut(), move || {
        let Some(callback) = callback else {
            return ptr::null_mut();
        };
        // SAFETY: forwarded from the caller.
        unsafe { new_func(store, ty, Callback::WithEnv(callback, env)) }
    })
}

/// The function object of a handle (`None` for NULL or another kind).
///
/// # Safety
/// NULL or a live handle.
pub(crate) unsafe fn func_of<'a>(f: *const wasm_func_t) -> Option<&'a FuncObj> {
    // SAFETY: forwarded from the caller.
    match unsafe { as_obj(f) } {
        Some(wasm_ref_t {
            obj: Obj::Func(f), ..
        }) => Some(f),
        _ => None,
    }
}

/// The function's type (NULL for NULL).
///
/// # Safety
/// NULL or a live function.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_type(f: *const wasm_func_t) -> *mut wasm_functype_t {
    crate::guard_value(ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        unsafe { func_of(f) }
            .and_then(|f| f.func.ty().cloned())
            .and_then(|ty| wasm_externtype_t::from_type(&ExternType::Func(ty)))
            .map_or(ptr::null_mut(), wasm_externtype_t::into_raw)
    })
}

/// The number of parameters (0 for NULL).
///
/// # Safety
/// NULL or a live function.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_param_arity(f: *const wasm_func_t) -> usize {
    // SAFETY: forwarded from the caller.
    unsafe { func_of(f) }
        .and_then(|f| f.func.ty())
        .map_or(0, |t| t.params.len())
}

/// The number of results (0 for NULL).
///
/// # Safety
/// NULL or a live function.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_result_arity(f: *const wasm_func_t) -> usize {
    // SAFETY: forwarded from the caller.
    unsafe { func_of(f) }
        .and_then(|f| f.func.ty())
        .map_or(0, |t| t.results.len())
}

/// The raw form of a number value.
fn number_to_raw(v: &Val) -> RawVal {
    match v {
        Val::I64(x) => RawVal::from(*x),
        Val::F32(b) => RawVal::from(*b),
        Val::F64(b) => RawVal::from(*b),
        Val::I32(x) => RawVal::from(*x),
        _ => RawVal::default(),
    }
}

/// The number value of type `ty` in a raw value.
fn raw_to_number(raw: RawVal, ty: ValType) -> Val {
    match ty {
        ValType::I64 => Val::I64(raw.read_as()),
        ValType::F32 => Val::F32(raw.read_as()),
        ValType::F64 => Val::F64(raw.read_as()),
        _ => Val::I32(raw.read_as()),
    }
}

/// Calls `f` with typed arguments: the outcome, or a trap for an error.
fn call(f: &FuncObj, ty: &FuncType, args: &[Val]) -> Result<Vec<Val>, wasm_ref_t> {
    if ty
        .params
        .iter()
        .chain(ty.results.iter())
        .all(|t| !t.is_ref())
    {
        let raw_args: Vec<RawVal> = args.iter().map(number_to_raw).collect();
        let mut raw_results = vec![RawVal::default(); ty.results.len()];
        return match f.func.call(&raw_args, &mut raw_results) {
            Ok(Ok(())) => Ok(raw_results
                .into_iter()
                .zip(ty.results.iter())
                .map(|(raw, t)| raw_to_number(raw, *t))
                .collect()),
            Ok(Err(trap)) => Err(from_trap(&trap)),
            Err(e) => Err(from_error(&e)),
        };
    }
    let (mut instance, table) = adapter(&f.store, ty).map_err(|e| from_error(&e))?;
    table
        .set(0, Val::FuncRef(Some(f.func.clone())))
        .map_err(|e| from_error(&e))?;
    match instance
        .call_vals("call", args)
        .map(|outcome| outcome.into_result())
    {
        Ok(Ok(results)) => Ok(results),
        Ok(Err(trap)) => {
            let mut trap = from_trap(&trap);
            if let Obj::Trap(data) = &mut trap.obj
                && let Some(data) = Rc::get_mut(data)
            {
                data.drop_outermost_frame(); // the adapter's
            }
            Err(trap)
        }
        Err(e) => Err(from_error(&e)),
    }
}

/// The store's adapter instance for signature `ty` (made on first use) and its table.
fn adapter(store: &StoreCtx, ty: &FuncType) -> Result<(Instance, Table), facade::Error> {
    let key = ty.to_string();
    if let Some(found) = store.adapters.borrow().get(&key) {
        return Ok(found.clone());
    }
    let body: String = (0..ty.params.len())
        .map(|i| format!(" local.get {i}"))
        .collect();
    let wat = format!(
        r#"(module (type $t {ty}) (table $tab 1 funcref)
             (func (export "call") (type $t){body} i32.const 0 call_indirect (type $t))
             (export "table" (table $tab)))"#
    );
    let module = Module::compile(&store.engine, wat)?;
    let instance = {
        let mut s = store
            .store
            .try_borrow_mut()
            .map_err(|_| facade::Error::Resource("the store is busy".into()))?;
        Instance::new(&mut s, &module, &facade::Linker::new())?
    };
    let table = instance
        .table("table")
        .expect("the adapter exports its table");
    store
        .adapters
        .borrow_mut()
        .insert(key, (instance.clone(), table.clone()));
    Ok((instance, table))
}

/// Calls the function with `args` and writes its results into `results`; returns NULL or a trap
/// (a wasm trap, a callback's trap, or one describing bad arguments).
///
/// # Safety
/// `f` NULL or live; `args` NULL or a valid vector; `results` NULL or a valid vector whose elements
/// may be overwritten.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_call(
    f: *const wasm_func_t,
    args: *const wasm_val_vec_t,
    results: *mut wasm_val_vec_t,
) -> *mut wasm_ref_t {
    let outcome = crate::guard_value(Err(None), || {
        // SAFETY: forwarded from the caller.
        unsafe { call_c(f, args, results) }.map_err(Some)
    });
    match outcome {
        Ok(()) => ptr::null_mut(),
        Err(Some(trap)) => trap.into_raw(),
        Err(None) => new_trap("internal error in wasmz (panic)").into_raw(),
    }
}

/// The body of `wasm_func_call`.
///
/// # Safety
/// As `wasm_func_call`.
unsafe fn call_c(
    f: *const wasm_func_t,
    args: *const wasm_val_vec_t,
    results: *mut wasm_val_vec_t,
) -> Result<(), wasm_ref_t> {
    // SAFETY: forwarded from the caller.
    let f = unsafe { func_of(f) }.ok_or_else(|| new_trap("wasm_func_call: not a function"))?;
    let ty = f
        .func
        .ty()
        .cloned()
        .ok_or_else(|| new_trap("wasm_func_call: the function's type is unknown"))?;
    if let Some(t) = ty
        .params
        .iter()
        .chain(ty.results.iter())
        .find(|t| kind_of(**t) == KIND_OTHER)
    {
        return Err(new_trap(format!(
            "wasm_func_call: the function uses type {t}, which wasm.h cannot express"
        )));
    }
    // SAFETY: forwarded from the caller.
    let args = unsafe { args.as_ref() }.map_or(&[][..], |v| unsafe { view(v.size, v.data) });
    // SAFETY: forwarded from the caller.
    let results = unsafe { results.as_mut() };
    let nresults = results.as_ref().map_or(0, |r| r.size);
    if args.len() != ty.params.len() || nresults != ty.results.len() {
        return Err(new_trap(format!(
            "wasm_func_call: the function takes {} arguments and returns {} results, given {} \
             arguments and room for {nresults} results",
            ty.params.len(),
            ty.results.len(),
            args.len()
        )));
    }
    if results
        .as_ref()
        .is_some_and(|r| r.size > 0 && r.data.is_null())
    {
        return Err(new_trap("wasm_func_call: the results vector has no array"));
    }
    let vals = args
        .iter()
        .zip(ty.params.iter())
        .enumerate()
        .map(|(i, (v, t))| to_val(v, *t, &f.store, &|| format!("argument {i}")))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| new_trap(format!("wasm_func_call: {m}")))?;
    let outs = call(f, &ty, &vals)?;
    let converted = outs
        .iter()
        .map(|v| from_val(v, &f.store))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| new_trap(format!("wasm_func_call: {m}")))?;
    if let Some(results) = results
        && results.size > 0
    {
        // SAFETY: a valid vector of `size` elements by the caller's guarantee, overwritten (the
        // caller owns what was there).
        let slots = unsafe { std::slice::from_raw_parts_mut(results.data, results.size) };
        for (slot, v) in slots.iter_mut().zip(converted) {
            *slot = v;
        }
    }
    Ok(())
}
