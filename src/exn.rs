//! `Exn`: an exception reference (`exnref`) handed to the host.

use crate::externals::Tag;
use crate::store::StoreCell;
use crate::values::Val;
use std::rc::Rc;
use wasmz_runtime::RawVal;

/// A non-null exception reference returned by wasm code (a `catch_ref` or `catch_all_ref` made it).
/// It can be passed back to wasm (for `throw_ref`), and shows the exception's tag and values. The
/// exception lives as long as its store.
#[derive(Clone)]
pub struct Exn {
    store: Rc<StoreCell>,
    raw: u64,
}

impl std::fmt::Debug for Exn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Exn({:#x})", self.raw)
    }
}

impl PartialEq for Exn {
    /// The same exception.
    fn eq(&self, other: &Exn) -> bool {
        Rc::ptr_eq(&self.store, &other.store) && self.raw == other.raw
    }
}

impl Exn {
    /// The reference made by wasm code of `store` with the bits `raw` (null → `None`).
    pub(crate) fn from_raw(store: &Rc<StoreCell>, raw: u64) -> Option<Exn> {
        (raw != 0).then(|| Exn {
            store: store.clone(),
            raw,
        })
    }

    /// The reference's bits, as compiled code holds them.
    pub(crate) fn raw(&self) -> u64 {
        self.raw
    }

    /// The store the exception belongs to.
    pub(crate) fn store(&self) -> &Rc<StoreCell> {
        &self.store
    }

    fn read(&self) -> Option<(wasmz_runtime::TagId, Vec<u128>)> {
        // SAFETY: `raw` is an exnref that compiled code of this store produced (only `Val::from_raw`
        // makes an `Exn`, from wasm results and globals and tables of the store), and exceptions
        // referred to by an exnref live as long as the store, which `self.store` keeps alive.
        unsafe { self.store.get().exception(self.raw as usize as *const u8) }
    }

    /// The exception's tag.
    pub fn tag(&self) -> Tag {
        let (id, _) = self
            .read()
            .expect("an exnref's exception lives as long as its store");
        Tag {
            store: self.store.clone(),
            id,
        }
    }

    /// The values the exception carries, typed by its tag's parameters.
    pub fn values(&self) -> Vec<Val> {
        let (id, slots) = self
            .read()
            .expect("an exnref's exception lives as long as its store");
        let tag = self.store.get().tag(id);
        // The registry's copy of the tag type names canonical ids, as `Val::from_raw` expects.
        let ty = self
            .store
            .engine
            .inner
            .types
            .func_type(tag.type_id())
            .unwrap_or_else(|| tag.ty().clone());
        ty.params
            .iter()
            .zip(slots)
            .map(|(t, bits)| Val::from_raw(&self.store, RawVal::from_bits(bits), *t))
            .collect()
    }
}
