//! `Module`: a validated and compiled wasm module.

use crate::Error;
use crate::engine::Engine;
use std::sync::Arc;
use wasmz_environ::{ExternType, VMOffsets};
use wasmz_runtime::{CodeMemory, RuntimeModule};

/// A compiled module. Cheap to clone, `Send + Sync`: share it across threads and instantiate it in each
/// thread's [`crate::Store`].
#[derive(Clone)]
pub struct Module {
    pub(crate) engine: Engine,
    pub(crate) runtime: Arc<RuntimeModule>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("functions", &self.runtime.info.functions.len())
            .finish()
    }
}

impl Module {
    /// Validates and compiles `bytes`: a binary module, or the text format.
    ///
    /// # Errors
    /// [`Error::Wat`] for unparsable text, [`Error::Wasm`] (with the byte offset) for a malformed, invalid
    /// or unsupported module, [`Error::Compile`] if code generation fails.
    pub fn compile(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module, Error> {
        let bytes = bytes.as_ref();
        let wasm = if bytes.starts_with(b"\0asm") {
            std::borrow::Cow::Borrowed(bytes)
        } else {
            std::borrow::Cow::Owned(
                wat::parse_bytes(bytes)
                    .map_err(|e| Error::Wat(e.to_string()))?
                    .into_owned(),
            )
        };
        let info = wasmz_environ::parse_module(&wasm, engine.config().features())?;
        let options = wasmz_compiler::CompileOptions {
            explicit_bounds_checks: engine.config().bounds_checks == crate::BoundsChecks::Explicit,
        };
        let image = wasmz_compiler::compile_module(&*engine.inner.isa, &info, &wasm, options)
            .map_err(|e| match e {
                wasmz_compiler::CompileError::Wasm(w) => Error::Wasm(w),
                other => Error::Compile(other.to_string()),
            })?;
        let code = CodeMemory::publish(image)
            .map_err(|e| Error::Resource(format!("cannot map code memory: {e}")))?;
        let mut type_ids: Vec<u32> = Vec::with_capacity(info.types.len());
        for ty in &info.types {
            // Concrete reference types name module type indices; the engine-wide key names canonical ids
            // instead, so equal types of different modules get the same id.
            let canon = |t: &wasmz_environ::ValType| t.canonicalize(&type_ids);
            let key = wasmz_environ::FuncType::new(
                ty.params.iter().map(canon).collect::<Vec<_>>(),
                ty.results.iter().map(canon).collect::<Vec<_>>(),
            );
            type_ids.push(engine.type_id(&key));
        }
        let offsets = VMOffsets::new(&info);
        Ok(Module {
            engine: engine.clone(),
            runtime: Arc::new(RuntimeModule {
                info,
                offsets,
                code,
                type_ids,
            }),
        })
    }

    /// The module's imports: (module, name, type).
    pub fn imports(&self) -> impl Iterator<Item = (&str, &str, ExternType)> {
        let info = &self.runtime.info;
        info.imports.iter().map(|i| {
            (
                i.module.as_str(),
                i.name.as_str(),
                info.entity_type(i.index),
            )
        })
    }

    /// The module's exports: (name, type).
    pub fn exports(&self) -> impl Iterator<Item = (&str, ExternType)> {
        let info = &self.runtime.info;
        info.exports
            .iter()
            .map(|(name, index)| (name.as_str(), info.entity_type(*index)))
    }

    /// The engine the module was compiled with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}
