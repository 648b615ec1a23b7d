//! `InstancePre`: a module whose imports a linker has already resolved, instantiated cheaply and
//! repeatedly, from any thread.

use crate::Error;
use crate::instance::Instance;
use crate::linker::{Definition, Linker};
use crate::module::Module;
use crate::store::Store;
use std::sync::Arc;

/// A module with its imports resolved by a [`Linker`] (made by [`Linker::instantiate_pre`]).
/// Instantiating it looks no name up again. `Clone + Send + Sync`: build it once and instantiate it
/// in each worker thread's stores.
#[derive(Clone, Debug)]
pub struct InstancePre {
    module: Module,
    imports: Arc<[Definition]>,
}

impl InstancePre {
    /// Instantiates the module in `store` and runs its start function.
    ///
    /// # Errors
    /// As [`Instance::new`], but never [`Error::UnknownImport`]; [`Error::WrongStore`] when an import
    /// was resolved to an item of another store.
    pub fn instantiate(&self, store: &mut Store) -> Result<Instance, Error> {
        Instance::with_imports(store, &self.module, &self.imports)
    }

    /// The module.
    pub fn module(&self) -> &Module {
        &self.module
    }
}

impl Linker {
    /// Resolves the imports of `module` once, for many instantiations ([`InstancePre::instantiate`]).
    /// Types are checked at each instantiation (against the store's items).
    ///
    /// # Errors
    /// [`Error::UnknownImport`] for an import the linker does not define.
    pub fn instantiate_pre(&self, module: &Module) -> Result<InstancePre, Error> {
        Ok(InstancePre {
            module: module.clone(),
            imports: resolve(self, module)?.into(),
        })
    }
}

/// The definition of each import of `module`, in order.
pub(crate) fn resolve(linker: &Linker, module: &Module) -> Result<Vec<Definition>, Error> {
    module
        .runtime
        .info
        .imports
        .iter()
        .map(|import| {
            linker
                .get(&import.module, &import.name)
                .cloned()
                .ok_or_else(|| Error::UnknownImport {
                    module: import.module.clone(),
                    name: import.name.clone(),
                })
        })
        .collect()
}
