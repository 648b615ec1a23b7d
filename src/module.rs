//! `Module`: a validated and compiled wasm module.

use crate::artifact;
use crate::engine::Engine;
use crate::{ArtifactError, CompileError, Error};
use std::path::Path;
use std::sync::Arc;
use wasmz_environ::{CodeImage, ExternType, ModuleInfo, VMOffsets};
use wasmz_runtime::{CodeMemory, LazyCode, LazyCompiler, LazyItem, LazyModule, RuntimeModule};

/// A compiled module. Cheap to clone, `Send + Sync`: share it across threads and instantiate it in each
/// thread's [`crate::Store`].
#[derive(Clone)]
pub struct Module {
    pub(crate) engine: Engine,
    pub(crate) runtime: Arc<RuntimeModule>,
    /// The wasm binary of a lazily compiled module (kept to compile functions later, and to compile all
    /// of them for [`Module::serialize`]).
    wasm: Option<Arc<[u8]>>,
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
    /// artifact magic number are refused ([`Error::Artifact`]) unless the engine's config opted in with
    /// the `unsafe` [`crate::Config::allow_precompiled`]; they are then loaded as
    /// [`Module::deserialize`] does. With [`crate::Config::cache_dir`]
    /// set, a valid cached artifact of the same bytes and settings is loaded instead of compiling, and a
    /// fresh compilation is written to the cache. With [`crate::Config::lazy_compilation`] (and no cache
    /// directory) the module is validated and its functions are compiled on their first calls.
    ///
    /// # Errors
    /// [`Error::Wat`] for unparsable text, [`Error::Wasm`] (with the byte offset) for a malformed, invalid
    /// or unsupported module, [`Error::Compile`] if code generation fails ([`CompileError::Codegen`]) or
    /// the engine compiles for another target or CPU than the host ([`CompileError::ForeignTarget`],
    /// [`CompileError::MissingCpuFeatures`]; use [`Engine::precompile`] there), [`Error::Artifact`] for
    /// an artifact that the engine does not allow ([`ArtifactError::PrecompiledNotAllowed`]) or that
    /// cannot be loaded.
    pub fn compile(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module, Error> {
        let bytes = bytes.as_ref();
        if artifact::is_artifact(bytes) {
            if !engine.config().allow_precompiled {
                return Err(ArtifactError::PrecompiledNotAllowed.into());
            }
            // SAFETY: the embedder declared every artifact given to this engine's `compile` trusted
            // when it turned `allow_precompiled` on (the contract of that unsafe setter).
            return unsafe { Module::deserialize(engine, bytes) };
        }
        if !engine.is_host_target() {
            return Err(CompileError::ForeignTarget {
                engine_target: engine.target(),
                host: artifact::host_triple(),
            }
            .into());
        }
        let lacking = engine.cpu_features_missing_on_host();
        if !lacking.is_empty() {
            return Err(CompileError::MissingCpuFeatures { features: lacking }.into());
        }
        let Some(dir) = &engine.config().cache_dir else {
            if engine.config().lazy_compilation {
                return Module::compile_lazily(engine, bytes);
            }
            let (info, image) = compile_image(engine, bytes)?;
            return Module::publish(engine, info, image);
        };
        let key = artifact::cache_key(&engine.inner.fingerprint, bytes);
        let path = artifact::cache_path(dir, &key);
        if path.is_file() && artifact::cache_entry_is_private(&path) {
            // An invalid entry (corrupt, written by another build, or another module's) is replaced
            // below.
            // SAFETY: the cache directory holds only what wasmz wrote, the contract of the unsafe
            // `Config::cache_dir`; the entry and its directory belong to this user alone.
            if let Ok(module) = unsafe { artifact::load_cache_entry(engine, &path, &key) } {
                return Ok(module);
            }
        }
        let (info, image) = compile_image(engine, bytes)?;
        let module = Module::publish(engine, info, image)?;
        // The cache is an optimization: a module that compiled is returned even if it cannot be saved.
        if let Ok(artifact) = module.serialize() {
            let _ = artifact::write_atomically(&path, &artifact::cache_entry(artifact, &key));
        }
        Ok(module)
    }

    /// Serializes the compiled module into an artifact that [`Module::deserialize`] loads without
    /// compiling, in this process or another one with an engine of the same settings, wasmz build and
    /// CPU features. The format is described in the `artifact` module of the source.
    ///
    /// A lazily compiled module (see [`crate::Config::lazy_compilation`]) is compiled again as a whole
    /// first, every function at once, so the artifact holds all of its code.
    ///
    /// # Errors
    /// [`Error::Compile`] (or [`Error::Wasm`] for an unsupported operator) when a lazily compiled module
    /// cannot be compiled as a whole.
    pub fn serialize(&self) -> Result<Vec<u8>, Error> {
        if let Some(wasm) = &self.wasm {
            let (info, image) = compile_image(&self.engine, wasm)?;
            return Ok(artifact::write_compiled(
                &self.engine.inner.fingerprint,
                info,
                &image,
            ));
        }
        let code = &self.runtime.code;
        Ok(artifact::write(
            &self.engine.inner.fingerprint,
            &self.runtime.info,
            code.image(),
            code.code(),
            self.runtime.memory_image.as_ref().map(|m| m.bytes()),
        ))
    }

    /// Loads an artifact made by [`Module::serialize`] or [`Engine::precompile`]. Nothing is compiled or
    /// validated again: the header and a checksum (XXH3-128) over the whole artifact are verified, then
    /// the code is copied into executable memory.
    ///
    /// # Safety
    /// An artifact is native code that runs with the process's rights, and nothing in it can be
    /// verified to be what wasmz would have compiled: the checksum detects corruption, not a malicious
    /// author (anyone can recompute it). `bytes` must come from a trusted source: made by
    /// [`Module::serialize`] or [`Engine::precompile`] (or `wasmz-aot compile`) of this wasmz build,
    /// and not altered since.
    ///
    /// # Errors
    /// [`Error::Artifact`] when the bytes are not an intact artifact, or were made for another target,
    /// another wasmz or Cranelift version or build, other CPU features, or other code-changing settings
    /// (optimization level, bounds-check mode, wasm features) than `engine`'s; the [`ArtifactError`]
    /// says which.
    /// [`Error::Resource`] when code memory cannot be mapped.
    pub unsafe fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module, Error> {
        // SAFETY: the caller's contract is ours.
        unsafe { artifact::load(engine, bytes.as_ref()) }
    }

    /// Loads the artifact in file `path` like [`Module::deserialize`], mapping the file instead of
    /// reading it. The machine code of a large module (1 MiB or more), its memory image (1 MiB of data
    /// or more, mapped copy-on-write into each instance's memory) and its trap table and address map
    /// stay mapped from the file rather than copied, so that the module is ready in a few milliseconds
    /// and those pages are shared with other processes that load the same file. The file must therefore not be modified in
    /// place or truncated while the module lives (replacing it by renaming another file over it is
    /// fine: the mapping keeps the old file; `wasmz-aot compile` and the module cache write files so).
    ///
    /// # Errors
    /// As [`Module::deserialize`], and [`Error::Artifact`] with [`ArtifactError::Io`] (whose
    /// [`source`](std::error::Error::source) is the I/O error) when the file cannot be opened, read
    /// or mapped.
    ///
    /// # Safety
    /// As [`Module::deserialize`]: the file must hold a trusted artifact; and no one may write to it
    /// or truncate it while the module (or anything made from it) lives, since the mapped code would
    /// change under the running program.
    pub unsafe fn deserialize_file(
        engine: &Engine,
        path: impl AsRef<Path>,
    ) -> Result<Module, Error> {
        // SAFETY: the caller's contract is ours.
        unsafe { artifact::load_file(engine, path.as_ref()) }
    }

    /// Whether `bytes` start with the magic number of a wasmz artifact (say nothing of their validity).
    pub fn is_precompiled(bytes: &[u8]) -> bool {
        artifact::is_artifact(bytes)
    }

    /// Loads compiled code and builds the module.
    fn publish(engine: &Engine, mut info: ModuleInfo, image: CodeImage) -> Result<Module, Error> {
        // SAFETY: every caller passes an image that `compile_image` has just made for `engine`'s host.
        let code = unsafe { CodeMemory::publish(image) }
            .map_err(|e| Error::Resource(format!("cannot map code memory: {e}")))?;
        let memory_image = memory_image(&mut info);
        Ok(Module::from_parts(engine, info, code, None, memory_image))
    }

    /// Validates `bytes` and builds a module whose functions and trampolines are compiled on first use.
    fn compile_lazily(engine: &Engine, bytes: &[u8]) -> Result<Module, Error> {
        let wasm: Arc<[u8]> = wasm_binary(bytes)?.into();
        let mut info = wasmz_environ::parse_module(&wasm, engine.config().features())?;
        let memory_image = memory_image(&mut info);
        let image = CodeImage {
            num_imported_funcs: info.num_imported_funcs,
            ..CodeImage::default()
        };
        // SAFETY: the image holds no code at all; functions are published as they are compiled.
        let code = unsafe { CodeMemory::publish(image) }
            .map_err(|e| Error::Resource(format!("cannot map code memory: {e}")))?;
        let compiler = LazyFunctionCompiler {
            engine: engine.clone(),
            wasm: wasm.clone(),
        };
        let lazy = LazyModule::new(&info, Box::new(compiler))
            .map_err(|e| Error::Resource(format!("cannot map code memory: {e}")))?;
        let mut module = Module::from_parts(engine, info, code, Some(lazy), memory_image);
        if engine.config().background_compilation {
            compile_in_background(&module.runtime, &wasm);
        }
        module.wasm = Some(wasm);
        Ok(module)
    }

    /// Whether the module compiles its functions on first use ([`crate::Config::lazy_compilation`]).
    /// True also for [`crate::Config::background_compilation`].
    pub fn is_lazy(&self) -> bool {
        self.runtime.lazy.is_some()
    }

    /// How many of the module's defined functions have been compiled: all of them for a module compiled
    /// eagerly, those called (or that failed to compile) so far for a lazily compiled one.
    pub fn compiled_functions(&self) -> usize {
        match &self.runtime.lazy {
            Some(lazy) => lazy.compiled_functions(),
            None => self.runtime.code.image().functions.len(),
        }
    }

    /// Bytes of machine code the module holds: the whole image for a module compiled eagerly, the code
    /// compiled so far (functions and trampolines) for a lazily compiled one.
    pub fn code_size(&self) -> usize {
        match &self.runtime.lazy {
            Some(lazy) => lazy.code_bytes(),
            None => self.runtime.code.code().len(),
        }
    }

    /// Builds a module from its metadata and published code, assigning the engine's canonical type ids.
    pub(crate) fn from_parts(
        engine: &Engine,
        info: ModuleInfo,
        code: CodeMemory,
        lazy: Option<LazyModule>,
        memory_image: Option<wasmz_runtime::memory_image::MemoryImage>,
    ) -> Module {
        let type_ids = engine
            .inner
            .types
            .register_module(&info.types, &info.rec_groups);
        let offsets = VMOffsets::new(&info);
        Module {
            engine: engine.clone(),
            runtime: Arc::new(RuntimeModule {
                info,
                offsets,
                code,
                type_ids,
                types: engine.inner.types.clone(),
                lazy,
                memory_image,
            }),
            wasm: None,
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

/// The wasm binary of `bytes` (binary or text).
fn wasm_binary(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, Error> {
    Ok(if bytes.starts_with(b"\0asm") {
        std::borrow::Cow::Borrowed(bytes)
    } else {
        std::borrow::Cow::Owned(wat::parse_bytes(bytes).map_err(Error::Wat)?.into_owned())
    })
}

/// The code-changing settings of `engine`.
fn compile_options(engine: &Engine) -> wasmz_compiler::CompileOptions {
    let config = engine.config();
    wasmz_compiler::CompileOptions {
        explicit_bounds_checks: config.bounds_checks == crate::BoundsChecks::Explicit,
        consume_fuel: config.consume_fuel,
        epoch_interruption: config.epoch_interruption,
        lazy_calls: config.lazy_compilation,
    }
}

fn compile_error(e: wasmz_compiler::CompileError) -> Error {
    match e {
        wasmz_compiler::CompileError::Wasm(w) => Error::Wasm(w),
        wasmz_compiler::CompileError::Codegen {
            what,
            func_index,
            message,
        } => CompileError::Codegen {
            func_index,
            what,
            message,
        }
        .into(),
    }
}

/// Validates and compiles `bytes` (binary or text) for `engine`'s target, without loading the code.
pub(crate) fn compile_image(
    engine: &Engine,
    bytes: &[u8],
) -> Result<(ModuleInfo, CodeImage), Error> {
    let wasm = wasm_binary(bytes)?;
    let info = wasmz_environ::parse_module(&wasm, engine.config().features())?;
    let image =
        wasmz_compiler::compile_module(&*engine.inner.isa, &info, &wasm, compile_options(engine))
            .map_err(compile_error)?;
    Ok((info, image))
}

/// Compiles the functions and trampolines of one lazily compiled module when the runtime asks for them.
struct LazyFunctionCompiler {
    engine: Engine,
    wasm: Arc<[u8]>,
}

// SAFETY: `compile` returns exactly what `wasmz_compiler::compile_lazy` produced for `item` of the module
// described by `info`, for the engine's target, which `Module::compile` checked is this host.
unsafe impl LazyCompiler for LazyFunctionCompiler {
    fn compile(&self, info: &ModuleInfo, item: LazyItem) -> Result<LazyCode, String> {
        let target = match item {
            LazyItem::Function(f) => wasmz_compiler::LazyTarget::Function(f),
            LazyItem::EntryTrampoline(t) => wasmz_compiler::LazyTarget::EntryTrampoline(t),
            LazyItem::HostTrampoline(t) => wasmz_compiler::LazyTarget::HostTrampoline(t),
        };
        let compiled = wasmz_compiler::compile_lazy(
            &*self.engine.inner.isa,
            info,
            &self.wasm,
            compile_options(&self.engine),
            target,
        )
        .map_err(|e| e.to_string())?;
        Ok(LazyCode {
            code: compiled.code,
            traps: compiled.traps,
            handlers: compiled.handlers,
            stack_maps: compiled.stack_maps,
            address_map: compiled.addresses,
            start_phase: compiled.start_phase,
        })
    }
}

/// Gives the calling thread the lowest scheduling priority (nice 19), so that compiling ahead uses only
/// CPU time nothing else wants: on a busy machine the program's own thread, which compiles what it
/// calls itself, keeps its share. Linux only (where a nice value belongs to a thread); elsewhere
/// nothing changes.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `gettid` and `setpriority` take and return plain integers; a failure leaves the
        // priority as it was, which is harmless.
        unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
        }
    }
}

/// Moves the data segments of `info`'s memory 0 into a memory image when the module qualifies (see
/// `wasmz_environ::memory_image`), held in an anonymous memory file that each instance maps
/// copy-on-write, or in memory where the system has no such file.
fn memory_image(info: &mut ModuleInfo) -> Option<wasmz_runtime::memory_image::MemoryImage> {
    use wasmz_runtime::memory_image::MemoryImage;
    let bytes = wasmz_environ::memory_image::build_memory_image(info)?;
    Some(
        MemoryImage::in_memory_file(&bytes)
            .unwrap_or_else(|_| MemoryImage::from_bytes(bytes.into_boxed_slice())),
    )
}

/// Starts the threads that compile every function of the lazily compiled `module` (whose bytes are
/// `wasm`) in the order the program will probably call them ([`crate::Config::background_compilation`]):
/// the first thread to start works that order out from the direct calls, then all of them take the next
/// function of it. They hold the module weakly and stop once it is dropped; a function a caller
/// compiled already is skipped.
fn compile_in_background(module: &Arc<RuntimeModule>, wasm: &Arc<[u8]>) {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get().saturating_sub(1))
        .max(1);
    let order: Arc<std::sync::OnceLock<Vec<u32>>> = Arc::default();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for _ in 0..threads {
        let module = Arc::downgrade(module);
        let (wasm, order, next) = (wasm.clone(), order.clone(), next.clone());
        let spawned = std::thread::Builder::new()
            .name("wasmz-compile".into())
            .spawn(move || {
                lower_this_threads_priority();
                let order = match module.upgrade() {
                    Some(module) => order.get_or_init(|| {
                        wasmz_environ::call_order::background_compile_order(
                            &module.info,
                            &wasm,
                            wasmz_environ::call_order::BIGGEST_FIRST_WINDOW,
                        )
                    }),
                    None => return,
                };
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&func) = order.get(n) else {
                        return;
                    };
                    let Some(module) = module.upgrade() else {
                        return;
                    };
                    if let Some(lazy) = &module.lazy {
                        lazy.compile_ahead(&module.info, func);
                    }
                }
            });
        // Without threads the module still works: every function is compiled on its first call.
        drop(spawned);
    }
}
