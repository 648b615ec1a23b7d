//! Fuel and memory budgets: wasmz.h extensions, for wasmz.h stores and for stores of the standard
//! C API (wasm.h).

use crate::engine::{NO_MEMORY_LIMIT, wasmz_config_t};
use crate::linker::wasmz_store_t;
use crate::wasm::runtime::wasm_store_t;
use crate::{guard, guard_value, obj, obj_mut, wasmz_error_t};

/// Turns fuel metering on or off (off by default): compiled code then charges one unit per function
/// entry and loop iteration, and traps with `WASMZ_TRAP_OUT_OF_FUEL` when the store has none left.
///
/// # Safety
/// `config` must be NULL or a live config.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_config_consume_fuel(
    config: *mut wasmz_config_t,
    enable: bool,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let config = unsafe { obj_mut(config, "config") }?;
        config.0.consume_fuel(enable);
        Ok(())
    })
}

/// Sets each store's memory budget: one limit in bytes over its memories, tables and code
/// (`WASMZ_NO_MEMORY_LIMIT`: none, the default).
///
/// # Safety
/// `config` must be NULL or a live config.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_config_memory_budget(
    config: *mut wasmz_config_t,
    bytes: u64,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let config = unsafe { obj_mut(config, "config") }?;
        config
            .0
            .memory_budget((bytes != NO_MEMORY_LIMIT).then_some(bytes));
        Ok(())
    })
}

/// Sets the fuel left in a store (a new store has none).
///
/// # Safety
/// `store` must be NULL or a live store.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_store_set_fuel(
    store: *mut wasmz_store_t,
    fuel: u64,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let store = unsafe { obj_mut(store, "store") }?;
        store.0.set_fuel(fuel);
        Ok(())
    })
}

/// The fuel left in a store (0 for NULL).
///
/// # Safety
/// `store` must be NULL or a live store.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_store_fuel(store: *const wasmz_store_t) -> u64 {
    guard_value(0, || {
        // SAFETY: forwarded from the caller.
        unsafe { store.as_ref() }.map_or(0, |s| s.0.fuel())
    })
}

/// Sets the fuel left in a store of the standard C API (wasm.h). Fails while the store is busy
/// instantiating.
///
/// # Safety
/// `store` must be NULL or a live wasm.h store.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_wasm_store_set_fuel(
    store: *mut wasm_store_t,
    fuel: u64,
) -> *mut wasmz_error_t {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let store = unsafe { obj(store, "store") }?;
        let mut s = store
            .0
            .store
            .try_borrow_mut()
            .map_err(|_| wasmz_error_t::msg("the store is busy"))?;
        s.set_fuel(fuel);
        Ok(())
    })
}

/// The fuel left in a store of the standard C API (0 for NULL or a busy store).
///
/// # Safety
/// `store` must be NULL or a live wasm.h store.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmz_wasm_store_fuel(store: *const wasm_store_t) -> u64 {
    guard_value(0, || {
        // SAFETY: forwarded from the caller.
        unsafe { store.as_ref() }
            .and_then(|s| s.0.store.try_borrow().ok().map(|s| s.fuel()))
            .unwrap_or(0)
    })
}
