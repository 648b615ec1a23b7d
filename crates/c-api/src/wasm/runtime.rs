//! Configs, engines and stores of `wasm.h`.

use super::reference::Ident;
use crate::{delete, guard_value};
use facade::{Config, Engine, Instance, Store, Table};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Engine settings.
pub struct wasm_config_t(pub(crate) Config);

/// An engine: compiles modules; thread-safe. `id` tells engines apart (a module only runs in
/// stores of the engine that compiled it).
pub struct wasm_engine_t {
    pub(crate) engine: Engine,
    pub(crate) id: u64,
}

/// A store: the objects of instances. Single-threaded.
pub struct wasm_store_t(pub(crate) Rc<StoreCtx>);

/// A store's state, shared by every object made in it.
pub(crate) struct StoreCtx {
    /// The wasmz store.
    pub(crate) store: RefCell<Store>,
    /// The store's engine.
    pub(crate) engine: Engine,
    /// The engine's [`wasm_engine_t::id`].
    pub(crate) engine_id: u64,
    /// The foreign objects passed to wasm as externrefs, by their id: a reference coming back from
    /// wasm finds its object (and host info) here. Kept while the store lives, since wasm code may
    /// hold the references anywhere.
    foreigns: RefCell<HashMap<u64, Rc<Ident>>>,
    /// The adapter instances that call functions with reference-typed signatures, by signature
    /// (see `func.rs`).
    pub(crate) adapters: RefCell<HashMap<String, (Instance, Table)>>,
}

impl StoreCtx {
    /// Records that the foreign object `id` went into wasm.
    pub(crate) fn register_foreign(&self, id: u64, ident: &Rc<Ident>) {
        self.foreigns
            .borrow_mut()
            .entry(id)
            .or_insert_with(|| ident.clone());
    }

    /// The foreign object `id` that came out of wasm (a new one if unknown: an externref made
    /// outside this API).
    pub(crate) fn foreign(&self, id: u64) -> Rc<Ident> {
        self.foreigns
            .borrow_mut()
            .entry(id)
            .or_insert_with(|| Rc::new(Ident::default()))
            .clone()
    }
}

impl Drop for StoreCtx {
    fn drop(&mut self) {
        // Host-info finalizers of foreign objects may run here; drop the table outside its borrow.
        let foreigns = std::mem::take(self.foreigns.get_mut());
        drop(foreigns);
    }
}

/// Gives each engine an id.
static NEXT_ENGINE_ID: AtomicU64 = AtomicU64::new(1);

/// New default settings.
#[unsafe(no_mangle)]
pub extern "C" fn wasm_config_new() -> *mut wasm_config_t {
    guard_value(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(wasm_config_t(Config::new())))
    })
}

/// Frees settings (NULL is ignored).
///
/// # Safety
/// NULL or an owned config, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_config_delete(config: *mut wasm_config_t) {
    // SAFETY: forwarded from the caller.
    unsafe { delete(config) }
}

/// An engine with default settings (NULL if the host CPU is unsupported).
#[unsafe(no_mangle)]
pub extern "C" fn wasm_engine_new() -> *mut wasm_engine_t {
    // SAFETY: NULL is allowed.
    unsafe { wasm_engine_new_with_config(std::ptr::null_mut()) }
}

/// An engine with `config`, which it consumes (NULL: default settings).
///
/// # Safety
/// `config` must be NULL or an owned config, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_engine_new_with_config(
    config: *mut wasm_config_t,
) -> *mut wasm_engine_t {
    // SAFETY: forwarded from the caller: the config is owned and passes to this function.
    let config = unsafe { super::types::take(config) };
    guard_value(std::ptr::null_mut(), || {
        let config = config.map_or_else(Config::new, |c| c.0);
        match Engine::new(&config) {
            Ok(engine) => Box::into_raw(Box::new(wasm_engine_t {
                engine,
                id: NEXT_ENGINE_ID.fetch_add(1, Ordering::Relaxed),
            })),
            Err(_) => std::ptr::null_mut(),
        }
    })
}

/// Frees an engine (NULL is ignored); its stores and modules stay usable.
///
/// # Safety
/// NULL or an owned engine, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_engine_delete(engine: *mut wasm_engine_t) {
    // SAFETY: forwarded from the caller.
    unsafe { delete(engine) }
}

/// A store of `engine` (NULL for NULL).
///
/// # Safety
/// NULL or a live engine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_store_new(engine: *mut wasm_engine_t) -> *mut wasm_store_t {
    guard_value(std::ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let Some(engine) = (unsafe { engine.as_ref() }) else {
            return std::ptr::null_mut();
        };
        let ctx = StoreCtx {
            store: RefCell::new(Store::new(&engine.engine)),
            engine: engine.engine.clone(),
            engine_id: engine.id,
            foreigns: RefCell::default(),
            adapters: RefCell::default(),
        };
        Box::into_raw(Box::new(wasm_store_t(Rc::new(ctx))))
    })
}

/// Frees a store handle (NULL is ignored). The store lives on while objects made in it do.
///
/// # Safety
/// NULL or an owned store, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_store_delete(store: *mut wasm_store_t) {
    // SAFETY: forwarded from the caller.
    unsafe { delete(store) }
}

/// The store context of a C store (`None` for NULL).
///
/// # Safety
/// NULL or a live store.
pub(crate) unsafe fn store_ctx(store: *const wasm_store_t) -> Option<Rc<StoreCtx>> {
    // SAFETY: forwarded from the caller.
    unsafe { store.as_ref() }.map(|s| s.0.clone())
}
