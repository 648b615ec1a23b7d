//! Why a module could not be compiled: the cause carried by
//! [`Error::Compile`](crate::Error::Compile).

use thiserror::Error;

/// Why compiling a module failed although it is valid wasm (invalid or unsupported modules are
/// [`Error::Wasm`](crate::Error::Wasm)). Carried by [`Error::Compile`](crate::Error::Compile), whose
/// message is this error's.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CompileError {
    /// [`Module::compile`](crate::Module::compile) was asked to compile code for this host with an
    /// engine that compiles for another target ([`Config::target`](crate::Config::target)); such an
    /// engine makes artifacts with [`Engine::precompile`](crate::Engine::precompile).
    #[error(
        "compilation failed: the engine compiles for {engine_target}, which this host ({host}) cannot \
         run; use Engine::precompile"
    )]
    ForeignTarget {
        /// The engine's target triple.
        engine_target: String,
        /// The host's target triple.
        host: String,
    },
    /// [`Module::compile`](crate::Module::compile) was asked to compile code for this host with an
    /// engine whose target CPU ([`Config::target_cpu`](crate::Config::target_cpu),
    /// [`Config::target_feature`](crate::Config::target_feature)) has features the host lacks.
    #[error(
        "compilation failed: the engine compiles for CPU features this host lacks ({}); use \
         Engine::precompile",
        .features.join(", ")
    )]
    MissingCpuFeatures {
        /// The engine's CPU features the host lacks (Cranelift's flag names, `has_avx2`).
        features: Vec<String>,
    },
    /// Cranelift could not compile a function or trampoline, or the code could not be laid out. This
    /// is a bug in wasmz (or a limit such as a module whose code exceeds the reach of calls).
    #[error("compilation failed: code generation failed for {what}: {message}")]
    Codegen {
        /// The index of the wasm function concerned (in the module's function index space, imports
        /// first), when the failure concerns one; `None` for trampolines.
        func_index: Option<u32>,
        /// What was being compiled, in words (`function 3`, `entry trampoline of type 1`, ...).
        what: String,
        /// The code generator's message.
        message: String,
    },
}
