//! `Module`: a validated and compiled wasm module.

use crate::Error;
use crate::artifact;
use crate::engine::Engine;
use std::path::Path;
use std::sync::Arc;
use wasmz_environ::{CodeImage, ExternType, ModuleInfo, VMOffsets};
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
    /// Validates and compiles `bytes`: a binary module, or the text format. Bytes that start with the
    /// artifact magic number are loaded as [`Module::deserialize`] does, unless
    /// [`crate::Config::allow_precompiled`] is off. With [`crate::Config::cache_dir`]
    /// set, a valid cached artifact of the same bytes and settings is loaded instead of compiling, and a
    /// fresh compilation is written to the cache.
    ///
    /// # Errors
    /// [`Error::Wat`] for unparsable text, [`Error::Wasm`] (with the byte offset) for a malformed, invalid
    /// or unsupported module, [`Error::Compile`] if code generation fails or the engine compiles for
    /// another target than the host (use [`Engine::precompile`] there), [`Error::Artifact`] for an
    /// artifact that cannot be loaded.
    pub fn compile(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module, Error> {
        let bytes = bytes.as_ref();
        if artifact::is_artifact(bytes) {
            if !engine.config().allow_precompiled {
                return Err(Error::Artifact(
                    "precompiled modules are not accepted by this engine (Config::allow_precompiled)".into(),
                ));
            }
            return Module::deserialize(engine, bytes);
        }
        if !engine.is_host_target() {
            return Err(Error::Compile(format!(
                "the engine compiles for {}, which this host ({}) cannot run; use Engine::precompile",
                engine.target(),
                artifact::host_triple()
            )));
        }
        let Some(dir) = &engine.config().cache_dir else {
            let (info, image) = compile_image(engine, bytes)?;
            return Module::publish(engine, info, image);
        };
        let path = artifact::cache_path(dir, &engine.inner.fingerprint, bytes);
        if path.is_file() {
            // An invalid entry (corrupt, or written by another build) is replaced below.
            if let Ok(module) = artifact::load_file(engine, &path) {
                return Ok(module);
            }
        }
        let (info, image) = compile_image(engine, bytes)?;
        let bytes = artifact::write(&engine.inner.fingerprint, &info, &image, &image.code);
        // The cache is an optimization: a module that compiled is returned even if it cannot be saved.
        let _ = artifact::write_atomically(&path, &bytes);
        Module::publish(engine, info, image)
    }

    /// Serializes the compiled module into an artifact that [`Module::deserialize`] loads without
    /// compiling, in this process or another one with an engine of the same settings, wasmz build and
    /// CPU features. The format is described in the `artifact` module of the source.
    ///
    /// # Errors
    /// None today; the `Result` leaves room for modules that cannot be serialized.
    pub fn serialize(&self) -> Result<Vec<u8>, Error> {
        let code = &self.runtime.code;
        Ok(artifact::write(
            &self.engine.inner.fingerprint,
            &self.runtime.info,
            code.image(),
            code.code(),
        ))
    }

    /// Loads an artifact made by [`Module::serialize`] or [`Engine::precompile`]. Nothing is compiled or
    /// validated again: the header and a SHA-256 checksum over the whole artifact are verified, then the
    /// code is copied into executable memory.
    ///
    /// The checksum detects corruption, not malice: an artifact is native code that runs with the
    /// process's rights, so only load artifacts from a source you trust.
    ///
    /// # Errors
    /// [`Error::Artifact`] when the bytes are not an intact artifact, or were made for another target,
    /// another wasmz or Cranelift version or build, other CPU features, or other code-changing settings
    /// (optimization level, bounds-check mode, wasm features) than `engine`'s.
    /// [`Error::Resource`] when code memory cannot be mapped.
    pub fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module, Error> {
        artifact::load(engine, bytes.as_ref())
    }

    /// Loads the artifact in file `path` like [`Module::deserialize`], mapping the file instead of
    /// reading it. The file must not be modified in place while it loads (replacing it by renaming
    /// another file over it is fine).
    ///
    /// # Errors
    /// As [`Module::deserialize`], and [`Error::Artifact`] when the file cannot be opened or mapped.
    pub fn deserialize_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module, Error> {
        artifact::load_file(engine, path.as_ref())
    }

    /// Whether `bytes` start with the magic number of a wasmz artifact (say nothing of their validity).
    pub fn is_precompiled(bytes: &[u8]) -> bool {
        artifact::is_artifact(bytes)
    }

    /// Loads compiled code and builds the module.
    fn publish(engine: &Engine, info: ModuleInfo, image: CodeImage) -> Result<Module, Error> {
        let code = CodeMemory::publish(image)
            .map_err(|e| Error::Resource(format!("cannot map code memory: {e}")))?;
        Ok(Module::from_parts(engine, info, code))
    }

    /// Builds a module from its metadata and published code, assigning the engine's canonical type ids.
    pub(crate) fn from_parts(engine: &Engine, info: ModuleInfo, code: CodeMemory) -> Module {
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
        Module {
            engine: engine.clone(),
            runtime: Arc::new(RuntimeModule {
                info,
                offsets,
                code,
                type_ids,
            }),
        }
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

/// Validates and compiles `bytes` (binary or text) for `engine`'s target, without loading the code.
pub(crate) fn compile_image(
    engine: &Engine,
    bytes: &[u8],
) -> Result<(ModuleInfo, CodeImage), Error> {
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
        consume_fuel: engine.config().consume_fuel,
        epoch_interruption: engine.config().epoch_interruption,
    };
    let image =
        wasmz_compiler::compile_module(&*engine.inner.isa, &info, &wasm, options).map_err(|e| {
            match e {
                wasmz_compiler::CompileError::Wasm(w) => Error::Wasm(w),
                other => Error::Compile(other.to_string()),
            }
        })?;
    Ok((info, image))
}
