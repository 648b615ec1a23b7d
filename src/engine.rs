//! `Config` and `Engine`: compilation settings and the state shared by every module compiled with them.

use crate::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmz_compiler::OwnedTargetIsa;
use wasmz_environ::wasmparser::WasmFeatures;
use wasmz_environ::{FuncType, TypeRegistry};

/// How hard Cranelift optimizes generated code.
pub use wasmz_compiler::OptLevel;

/// How linear-memory accesses are kept in bounds.
///
/// Unless [`Config::bounds_checks`] names one, an engine for the host uses guard pages when the
/// process may reserve them, and explicit checks when its address-space limit (`RLIMIT_AS`, as set by
/// `ulimit -v`) is below 9 GiB: a memory with guard pages reserves 8 GiB, so none could be created
/// under such a limit. [`Engine::bounds_checks`] tells which an engine chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoundsChecks {
    /// Reserve address space with guard pages so 32-bit accesses need no check (the default where the
    /// address space allows).
    #[default]
    GuardPages,
    /// Compare every access with the memory's length; reserves only what a memory can grow to (its
    /// maximum and [`Config::memory_limit`], at most 64 GiB).
    Explicit,
}

/// Settings for an [`Engine`].
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) opt_level: OptLevel,
    pub(crate) bounds_checks: BoundsChecks,
    /// Whether [`Config::bounds_checks`] chose the mode (else [`Engine::new`] does).
    bounds_checks_chosen: bool,
    pub(crate) max_wasm_stack: usize,
    pub(crate) memory_limit: Option<u64>,
    pub(crate) memory_budget: Option<u64>,
    pub(crate) gc_heap_limit: usize,
    features: WasmFeatures,
    pub(crate) target: Option<String>,
    pub(crate) target_cpu: wasmz_compiler::TargetCpu,
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) allow_precompiled: bool,
    pub(crate) consume_fuel: bool,
    pub(crate) epoch_interruption: bool,
    pub(crate) lazy_compilation: bool,
    pub(crate) background_compilation: bool,
    pub(crate) perf_map: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            opt_level: OptLevel::Speed,
            bounds_checks: BoundsChecks::GuardPages,
            bounds_checks_chosen: false,
            max_wasm_stack: 512 * 1024,
            memory_limit: None,
            memory_budget: None,
            gc_heap_limit: wasmz_runtime::gc::DEFAULT_HEAP_LIMIT,
            features: (WasmFeatures::WASM2
                | WasmFeatures::EXTENDED_CONST
                | WasmFeatures::FUNCTION_REFERENCES
                | WasmFeatures::TAIL_CALL
                | WasmFeatures::EXCEPTIONS
                | WasmFeatures::LEGACY_EXCEPTIONS
                | WasmFeatures::MULTI_MEMORY
                | WasmFeatures::MEMORY64
                | WasmFeatures::RELAXED_SIMD
                | WasmFeatures::THREADS
                | WasmFeatures::GC
                | WasmFeatures::WIDE_ARITHMETIC
                | WasmFeatures::CUSTOM_PAGE_SIZES),
            target: None,
            target_cpu: wasmz_compiler::TargetCpu::default(),
            cache_dir: None,
            allow_precompiled: false,
            consume_fuel: false,
            epoch_interruption: false,
            lazy_compilation: false,
            background_compilation: false,
            perf_map: false,
        }
    }
}

impl Config {
    /// Default settings.
    pub fn new() -> Config {
        Config::default()
    }

    /// Sets Cranelift's optimization level.
    pub fn opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.opt_level = level;
        self
    }

    /// Chooses guard pages or explicit bounds checks for linear memories (by default the engine
    /// chooses: see [`BoundsChecks`]).
    pub fn bounds_checks(&mut self, mode: BoundsChecks) -> &mut Self {
        self.bounds_checks = mode;
        self.bounds_checks_chosen = true;
        self
    }

    /// Sets how many bytes of native stack wasm code may use per call from the host (default 512 KiB).
    /// Deeper recursion traps with [`crate::TrapCode::StackOverflow`]. The calling thread's stack must
    /// have that much room left.
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes;
        self
    }

    /// The memory budget of each store, in bytes: one limit over all of a store's linear memories,
    /// tables and the compiled code of the modules it instantiates, enforced from the store's
    /// creation ([`crate::Store::link_budget`], the seed API's step, is accepted and changes
    /// nothing then).
    pub fn memory_budget(&mut self, bytes: Option<u64>) -> &mut Self {
        self.memory_budget = bytes;
        self
    }

    /// The most bytes each store's GC heap (structs and arrays) may use, at most 4 GiB; 512 MiB by
    /// default. The heap grows on demand and collects garbage when allocation needs it; an allocation
    /// that does not fit even after a full collection traps with [`crate::TrapCode::OutOfMemory`]. The
    /// heap's size also counts toward the store's memory budget ([`Config::memory_budget`]).
    pub fn gc_heap_limit(&mut self, bytes: usize) -> &mut Self {
        self.gc_heap_limit = bytes;
        self
    }

    /// Limits every linear memory to `bytes` (rounded down to whole pages); `memory.grow` past it returns -1.
    /// No limit by default. Independently of it, memories never move and reserve the address space of
    /// the largest size they may reach up front: a 64-bit memory (or one checked explicitly) grows to at
    /// most 64 GiB, whatever its declared maximum.
    pub fn memory_limit(&mut self, bytes: Option<u64>) -> &mut Self {
        self.memory_limit = bytes;
        self
    }

    /// Compiles for the target `triple` (such as `aarch64-unknown-linux-gnu`) instead of the host (the
    /// default, with the host's CPU features; naming the host's own triple also picks them). An engine
    /// for another target can only
    /// [`Engine::precompile`] modules: [`crate::Module::compile`] and [`crate::Module::deserialize`] refuse
    /// code this host cannot run. [`Engine::new`] fails for a triple that is unknown or whose
    /// architecture wasmz cannot compile for (x86-64 and aarch64 are supported).
    pub fn target(&mut self, triple: &str) -> &mut Self {
        self.target = Some(triple.to_string());
        self
    }

    /// Compiles for the CPU `name` instead of the host's CPU (or, for another target, the baseline of its
    /// architecture): `native` (the host's features), one of Cranelift's x86-64 CPU presets (`haswell`,
    /// `skylake`, `x86-64-v3`, ...) or an aarch64 CPU of [`wasmz_compiler::AARCH64_CPUS`]
    /// (`neoverse-n1`, `apple-m1`, ...). [`Engine::new`] fails for an unknown name. Code compiled with
    /// features this host lacks does not run here: [`crate::Module::compile`] then fails, and an
    /// artifact loads only on a host with every feature it was compiled with.
    pub fn target_cpu(&mut self, name: &str) -> &mut Self {
        self.target_cpu.cpu = Some(name.to_string());
        self
    }

    /// Switches one CPU feature on (`+lse`, `lse`) or off (`-lse`) on top of [`Config::target_cpu`] (or
    /// of the target's baseline when no CPU is named). Names are Cranelift's ISA flags with or without
    /// their `has_` prefix (`avx2`, `bmi2`, `lse`, `fp16`, `dotprod`, ...); [`Engine::new`] fails for
    /// an unknown one. Features are applied in the order given.
    pub fn target_feature(&mut self, feature: &str) -> &mut Self {
        self.target_cpu.features.push(feature.to_string());
        self
    }

    /// Whether [`crate::Module::compile`] loads precompiled artifacts given to it (default `false`:
    /// it accepts only wasm binaries and text, and refuses artifacts with [`crate::Error::Artifact`]
    /// holding [`crate::ArtifactError::PrecompiledNotAllowed`]).
    ///
    /// # Safety
    /// With `allow` true, every artifact given to [`crate::Module::compile`] of an engine made from
    /// this config must come from a trusted source, as for [`crate::Module::deserialize`]: an artifact
    /// is native code that runs with the process's rights, and its checksum detects corruption, not a
    /// malicious author. Turning it off is always safe.
    pub unsafe fn allow_precompiled(&mut self, allow: bool) -> &mut Self {
        self.allow_precompiled = allow;
        self
    }

    /// Caches compiled modules in directory `dir` (created when needed); `None` (the default) disables the
    /// cache. [`crate::Module::compile`] then looks for an artifact named after a hash of the module's
    /// bytes and of everything that shapes compiled code (wasmz and Cranelift versions, target, CPU
    /// features, and the settings of this `Config` that change code); it loads it when present and valid,
    /// and otherwise compiles and writes it (to a temporary file renamed into place, so concurrent
    /// processes never see half a file). An entry ends with that hash, so that one renamed or copied
    /// under another module's name is not taken for its code. Failing to write the cache is not an
    /// error. On Unix an entry is
    /// only loaded when it and the directory belong to this process's user and are not writable by group
    /// or others; otherwise the module is compiled again and the entry replaced.
    ///
    /// # Safety
    /// Cached artifacts are native code that runs with the process's rights, loaded without any check
    /// that they are what wasmz compiled (their checksum finds corruption, not a malicious author). With
    /// `dir` set, only wasmz (of this process or of another one run by a trusted user) may write into
    /// it: no other party may place or replace files there. `None` is always safe.
    pub unsafe fn cache_dir(&mut self, dir: Option<PathBuf>) -> &mut Self {
        self.cache_dir = dir;
        self
    }

    /// Fuel metering (off by default). Compiled code then charges one unit of fuel at every function
    /// entry and at every loop header (so once per call and once per loop iteration, whatever the size
    /// of the body), and traps with [`crate::TrapCode::OutOfFuel`] when the store has none left. A new
    /// store has no fuel: give it some with [`crate::Store::set_fuel`] before calling into it (this
    /// includes instantiating a module with a start function). Off, no code is emitted for it. Changes
    /// generated code, so artifacts record it.
    pub fn consume_fuel(&mut self, enable: bool) -> &mut Self {
        self.consume_fuel = enable;
        self
    }

    /// Epoch interruption (off by default). Compiled code then compares the engine's epoch
    /// ([`Engine::increment_epoch`]) with the store's deadline ([`crate::Store::set_epoch_deadline`]) at
    /// every function entry and loop header, and traps with [`crate::TrapCode::Interrupted`] once the
    /// epoch has reached it. A new store's deadline is the epoch at its creation, so code traps at once
    /// until a deadline is set. Off, no code is emitted for it. Changes generated code, so artifacts
    /// record it.
    pub fn epoch_interruption(&mut self, enable: bool) -> &mut Self {
        self.epoch_interruption = enable;
        self
    }

    /// Lazy compilation (off by default). [`crate::Module::compile`] then validates the whole module but
    /// compiles nothing: each function is compiled on its first call (from wasm or from the host), once
    /// per module whichever thread calls it first, and so are the entry and host trampolines of each
    /// type. A large module starts running far sooner; code already compiled runs at full speed, with one
    /// load and compare more per call (every call goes through the callee's function reference and checks
    /// that it has code). A function that fails to compile then (an operator wasmz does not support)
    /// traps with [`crate::TrapCode::CompileError`] at its first call instead of failing
    /// [`crate::Module::compile`].
    ///
    /// Code compiled lazily belongs to the module, is shared by every store that instantiates it, and
    /// is not charged to any store's memory budget. [`crate::Module::serialize`],
    /// [`Engine::precompile`] and [`Config::cache_dir`] compile every function at once, with the same
    /// calling code; their artifacts record the setting and load only into engines with lazy
    /// compilation. Changes generated code.
    pub fn lazy_compilation(&mut self, enable: bool) -> &mut Self {
        self.lazy_compilation = enable;
        self
    }

    /// Lazy compilation with the rest of the module compiled in the background (off by default):
    /// [`crate::Module::compile`] validates the module and returns at once, as with
    /// [`Config::lazy_compilation`] (which this turns on), and threads (one per core but one) compile
    /// every function meanwhile, in the order the program will probably call them (a depth-first walk
    /// of the direct calls from the start function, `_start` and the exports, then the rest by index;
    /// see `wasmz_environ::call_order`). A function called before its turn is compiled by
    /// the calling thread (even while a background thread compiles it too: the first code finished is
    /// used), so the first result comes as soon as with lazy compilation, and later calls find their
    /// code ready instead of compiling it. The threads run at the lowest priority (Linux: nice 19), so
    /// that on a busy machine they take only CPU time nothing else wants. They stop when the module is
    /// dropped. Code is placed as with lazy compilation
    /// (appended to the module's executable code arena).
    pub fn background_compilation(&mut self, enable: bool) -> &mut Self {
        self.background_compilation = enable;
        if enable {
            self.lazy_compilation = true;
        }
        self
    }

    /// Writes a perf map (off by default): every function compiled or loaded from then on is named, as
    /// `wasm[INDEX] NAME`, in `/tmp/perf-<pid>.map`, which `perf report` reads to attribute samples in
    /// wasm code. Once an engine turns it on it stays on for the process. Engine creation fails when
    /// the file cannot be created.
    pub fn perf_map(&mut self, enable: bool) -> &mut Self {
        self.perf_map = enable;
        self
    }

    fn feature(&mut self, feature: WasmFeatures, enable: bool) -> &mut Self {
        self.features.set(feature, enable);
        self
    }

    /// Mutable imported and exported globals (on by default).
    pub fn wasm_mutable_global(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::MUTABLE_GLOBAL, enable)
    }

    /// Sign-extension operators (on by default).
    pub fn wasm_sign_extension(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::SIGN_EXTENSION, enable)
    }

    /// Non-trapping float-to-int conversions (on by default).
    pub fn wasm_saturating_float_to_int(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::SATURATING_FLOAT_TO_INT, enable)
    }

    /// Multiple results and block parameters (on by default).
    pub fn wasm_multi_value(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::MULTI_VALUE, enable)
    }

    /// Bulk memory and table operations (on by default).
    pub fn wasm_bulk_memory(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::BULK_MEMORY, enable)
    }

    /// funcref/externref values, several tables, `table.*` operators (on by default).
    pub fn wasm_reference_types(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::REFERENCE_TYPES, enable)
    }

    /// Extended constant expressions (on by default).
    pub fn wasm_extended_const(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::EXTENDED_CONST, enable)
    }

    /// Several memories per module (on by default).
    pub fn wasm_multi_memory(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::MULTI_MEMORY, enable)
    }

    /// 64-bit memories and tables (on by default; their accesses are bounds-checked explicitly, while
    /// 32-bit memories keep relying on guard pages).
    pub fn wasm_memory64(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::MEMORY64, enable)
    }

    /// Typed function references: `call_ref`, `ref.as_non_null`, `br_on_null`, `br_on_non_null`,
    /// non-nullable and concrete reference types (on by default).
    pub fn wasm_function_references(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::FUNCTION_REFERENCES, enable)
    }

    /// Tail calls: `return_call`, `return_call_indirect`, `return_call_ref` (on by default).
    pub fn wasm_tail_call(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::TAIL_CALL, enable)
    }

    /// Enables or disables the exception-handling proposal (tags, `throw`, `throw_ref`, `try_table`,
    /// `exnref`); on by default. It costs nothing in code that does not use it: only calls inside a
    /// `try_table` are compiled differently.
    pub fn wasm_exceptions(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::EXCEPTIONS, enable)
    }

    /// The legacy form of exception handling (`try` with `catch`/`catch_all`/`delegate`, `rethrow`),
    /// which toolchains emitted before `try_table` was standardized; on by default. WebAssembly 3.0
    /// does not have these instructions: turn this off to refuse modules that use them, as a strict
    /// 3.0 engine would. Both forms may be used together; they share tags and exception objects, and
    /// calls inside a legacy `try` cost what calls inside a `try_table` cost.
    pub fn legacy_exceptions(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::LEGACY_EXCEPTIONS, enable)
    }

    /// The GC proposal (on by default): recursion groups, declared subtyping (`sub`, `final`), struct
    /// and array types, the abstract heap types `any`, `eq`, `i31`, `struct`, `array` and `none`,
    /// `ref.i31` and `i31.get_s/u`, `ref.eq`, `ref.test`, `ref.cast`, `br_on_cast(_fail)`,
    /// `any.convert_extern` and `extern.convert_any`. Types are canonicalized engine-wide a recursion
    /// group at a time, so equal groups of different modules link. Structs and arrays live in a
    /// per-store GC heap with a mark-sweep collector (see [`Config::gc_heap_limit`]).
    pub fn wasm_gc(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::GC, enable)
    }

    /// Wide arithmetic (on by default): `i64.add128`, `i64.sub128`, `i64.mul_wide_s` and
    /// `i64.mul_wide_u`, 128-bit results as pairs of i64s, compiled to the CPU's carry and wide
    /// multiply instructions.
    pub fn wasm_wide_arithmetic(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::WIDE_ARITHMETIC, enable)
    }

    /// Custom page sizes (on by default): memories declared with 1-byte pages instead of 64 KiB ones,
    /// for small embedded targets. Accesses to such memories are always bounds-checked explicitly.
    pub fn wasm_custom_page_sizes(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::CUSTOM_PAGE_SIZES, enable)
    }

    /// 128-bit SIMD (on by default).
    pub fn wasm_simd(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::SIMD, enable)
    }

    /// Relaxed SIMD (on by default): each instruction has one fixed, documented result on every CPU
    /// (see `crates/compiler/src/translate/simd/relaxed.rs`).
    pub fn wasm_relaxed_simd(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::RELAXED_SIMD, enable)
    }

    /// The threads proposal (on by default): `shared` memories, atomic loads, stores and
    /// read-modify-write operators, `atomic.fence`, and `memory.atomic.wait32/wait64/notify`. Shared
    /// memories are [`crate::SharedMemory`]s, usable from stores on several threads at once.
    pub fn wasm_threads(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::THREADS, enable)
    }

    pub(crate) fn features(&self) -> WasmFeatures {
        self.features
    }
}

pub(crate) struct EngineInner {
    pub(crate) config: Config,
    pub(crate) isa: OwnedTargetIsa,
    /// The artifact header this engine writes and expects (see `artifact.rs`).
    pub(crate) fingerprint: String,
    /// The engine-wide canonical types, shared with every module compiled by the engine.
    pub(crate) types: Arc<TypeRegistry>,
    /// The epoch counter code compiled with epoch interruption reads (through each store's context).
    pub(crate) epoch: AtomicU64,
}

/// Compilation settings, the code generator, and the engine-wide registry of function types. Cheap to
/// clone; `Send + Sync`.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

impl Engine {
    /// Creates an engine for the host CPU, or for the target chosen with [`Config::target`].
    ///
    /// # Errors
    /// When Cranelift does not support the host, or the configured target is unknown or unsupported.
    pub fn new(config: &Config) -> Result<Engine, Error> {
        let triple = match &config.target {
            Some(name) => Some(
                name.parse::<target_lexicon::Triple>()
                    .map_err(|e| Error::Engine(format!("unknown target `{name}`: {e}")))?,
            ),
            None => None,
        };
        let isa =
            wasmz_compiler::build_isa_for(triple.as_ref(), config.opt_level, &config.target_cpu)
                .map_err(|e| Error::Engine(e.to_string()))?;
        let mut config = config.clone();
        // Under an address-space limit that leaves no room for a guard region, guard pages would
        // make every memory fail to be created. (Code for another target runs in another process.)
        if !config.bounds_checks_chosen
            && isa.triple().to_string() == crate::artifact::host_triple()
            && !wasmz_runtime::memory::guard_pages_fit_address_space()
        {
            config.bounds_checks = BoundsChecks::Explicit;
        }
        let fingerprint = crate::artifact::fingerprint(&config, &isa);
        if config.perf_map {
            wasmz_runtime::perfmap::enable()
                .map_err(|e| Error::Engine(format!("cannot create the perf map: {e}")))?;
        }
        Ok(Engine {
            inner: Arc::new(EngineInner {
                config,
                isa,
                fingerprint,
                types: Arc::new(TypeRegistry::new()),
                epoch: AtomicU64::new(0),
            }),
        })
    }

    /// The target triple this engine compiles for.
    pub fn target(&self) -> String {
        self.inner.isa.triple().to_string()
    }

    /// The CPU features this engine compiles for that the host does not have (empty unless
    /// [`Config::target_cpu`] or [`Config::target_feature`] asked for them): code compiled with them
    /// may not run here.
    pub fn cpu_features_missing_on_host(&self) -> Vec<String> {
        if !self.is_host_target() {
            return Vec::new();
        }
        let host = crate::artifact::host_cpu_features();
        let flags = self
            .inner
            .isa
            .isa_flags()
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(",");
        wasmz_compiler::enabled_cpu_features(&flags)
            .into_iter()
            .filter(|f| !host.iter().any(|h| h == f))
            .map(str::to_string)
            .collect()
    }

    /// Whether this engine compiles for the host, so its modules can run here.
    pub fn is_host_target(&self) -> bool {
        self.target() == crate::artifact::host_triple()
    }

    /// Validates and compiles `bytes` (a binary module or the text format) for this engine's target, without
    /// loading the code, and returns the artifact to save (conventionally as a `.cwasm` file) and later
    /// load with [`crate::Module::deserialize`] or [`crate::Module::deserialize_file`] by an engine with
    /// the same settings on a machine of that target. Works for any target, unlike
    /// [`crate::Module::compile`]. Does not use the cache.
    ///
    /// # Errors
    /// As for [`crate::Module::compile`]: [`Error::Wat`], [`Error::Wasm`] or [`Error::Compile`]
    /// ([`crate::CompileError::Codegen`]); [`Error::Artifact`] with
    /// [`crate::ArtifactError::AlreadyPrecompiled`] when `bytes` are an artifact.
    pub fn precompile(&self, bytes: impl AsRef<[u8]>) -> Result<Vec<u8>, Error> {
        let bytes = bytes.as_ref();
        if crate::artifact::is_artifact(bytes) {
            return Err(crate::ArtifactError::AlreadyPrecompiled.into());
        }
        let (info, image) = crate::module::compile_image(self, bytes)?;
        Ok(crate::artifact::write_compiled(
            &self.inner.fingerprint,
            info,
            &image,
        ))
    }

    /// Advances the engine's epoch by one. Code of this engine's stores compiled with
    /// [`Config::epoch_interruption`] traps with [`crate::TrapCode::Interrupted`] at its next function
    /// entry or loop header once the epoch reaches the store's deadline. Cheap, and safe to call from
    /// any thread (for example a timer thread, while another thread runs wasm).
    pub fn increment_epoch(&self) {
        self.inner.epoch.fetch_add(1, Ordering::Relaxed);
    }

    /// The current epoch: how many times [`Engine::increment_epoch`] was called.
    pub fn current_epoch(&self) -> u64 {
        self.inner.epoch.load(Ordering::Relaxed)
    }

    /// How this engine keeps memory accesses in bounds: the mode [`Config::bounds_checks`] chose, or
    /// the one the engine chose for the process's address space (see [`BoundsChecks`]).
    pub fn bounds_checks(&self) -> BoundsChecks {
        self.inner.config.bounds_checks
    }

    /// The engine's settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The canonical id of `ty`: equal types get equal ids in every module of this engine.
    pub(crate) fn type_id(&self, ty: &FuncType) -> u32 {
        self.inner.types.register_func(ty)
    }

    pub(crate) fn same(&self, other: &Engine) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Default for Engine {
    /// An engine with [`Config::default`].
    ///
    /// # Panics
    /// When the host CPU is not supported by Cranelift (x86-64 and aarch64 are).
    fn default() -> Engine {
        Engine::new(&Config::default()).expect("the host CPU is supported")
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish()
    }
}
