//! The one public error type.

use crate::values::Trap;
use crate::{ArtifactError, CompileError};
use thiserror::Error;
use wasmz_environ::{ValType, WasmError};

/// Everything that can go wrong in wasmz, except a trap inside a call (which is an
/// [`ExecResult::Trap`](crate::ExecResult::Trap)).
///
/// Causes that are worth telling apart carry typed values: [`Error::Artifact`] an [`ArtifactError`],
/// [`Error::Compile`] a [`CompileError`], [`Error::Wat`] the text parser's error, [`Error::Wasm`] a
/// [`WasmError`] with the byte offset. An underlying I/O error is the
/// [`source`](std::error::Error::source).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The module is malformed, invalid, or uses an unsupported feature (with its byte offset).
    #[error(transparent)]
    Wasm(#[from] WasmError),
    /// The text given to [`Module::compile`](crate::Module::compile) is neither a binary module nor valid
    /// text format. The message includes the parser's, with line and column; the parser's error is
    /// carried for inspection (it is not the [`source`](std::error::Error::source), whose message would
    /// repeat this one).
    #[error("cannot parse the module text: {0}")]
    Wat(wat::Error),
    /// The module is valid but could not be compiled: the engine compiles for another target or CPU than
    /// the host, or code generation failed.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// The engine could not be created.
    #[error("cannot create the engine: {0}")]
    Engine(String),
    /// An import has no definition in the linker.
    #[error("unknown import: `{module}::{name}` has not been defined")]
    UnknownImport {
        /// Module name of the import.
        module: String,
        /// Field name of the import.
        name: String,
    },
    /// An import's definition has the wrong type, or belongs to another store.
    #[error("{0}")]
    Link(String),
    /// A name was defined twice in a linker.
    #[error("`{module}::{name}` is already defined")]
    DuplicateDefinition {
        /// Module name.
        module: String,
        /// Field name.
        name: String,
    },
    /// A resource (memory, table) could not be created.
    #[error("{0}")]
    Resource(String),
    /// Instantiation trapped (out-of-bounds segment, or a trap in the start function).
    #[error("{0}")]
    Trap(Trap),
    /// No export has that name.
    #[error("unknown export `{0}`")]
    UnknownExport(String),
    /// The export exists but is of another kind.
    #[error("export `{name}` is not a {expected}")]
    ExportKind {
        /// Export name.
        name: String,
        /// The kind asked for.
        expected: &'static str,
    },
    /// A call had the wrong number of arguments.
    #[error("`{func}` takes {expected} arguments, {got} given")]
    ArgumentCount {
        /// Function name.
        func: String,
        /// Parameters declared.
        expected: usize,
        /// Arguments given.
        got: usize,
    },
    /// A call argument had the wrong type.
    #[error("argument {index} of `{func}` must be {expected}, got {got}")]
    ArgumentType {
        /// Function name.
        func: String,
        /// Argument position.
        index: usize,
        /// Declared type.
        expected: ValType,
        /// Given type.
        got: ValType,
    },
    /// A reference-typed parameter or result was to travel as an untyped [`crate::RawVal`] through a
    /// safe entry point ([`crate::Instance::call`], [`crate::Func::call`], a host function made with
    /// [`crate::HostFunc::new`]). A raw word cannot be checked to be a reference of the right store and
    /// type, and compiled code trusts reference words, so these entry points refuse such signatures:
    /// use typed values ([`crate::Instance::call_vals`], [`crate::HostFunc::new_vals`]) or the
    /// `unsafe` unchecked forms.
    #[error(
        "{what} of `{func}` has reference type {ty}, which an untyped RawVal cannot carry safely: \
         use typed values (call_vals, HostFunc::new_vals) or the unsafe unchecked forms"
    )]
    RawReference {
        /// The function (export name, or `module::name` of a host function).
        func: String,
        /// Which value: `parameter N` or `result N`.
        what: String,
        /// Its type.
        ty: ValType,
    },
    /// A value had the wrong type (globals, tables).
    #[error("type mismatch: expected {expected}, got {got}")]
    ValueType {
        /// Expected type.
        expected: ValType,
        /// Given type.
        got: ValType,
    },
    /// An immutable global was written.
    #[error("cannot set an immutable global")]
    ImmutableGlobal,
    /// A host access to memory or a table was out of bounds, or a grow failed.
    #[error("{0}")]
    OutOfBounds(String),
    /// Values from another store were used.
    #[error("the value belongs to another store")]
    WrongStore,
    /// A precompiled module (an artifact) is corrupt, was made for another target, wasmz build or
    /// engine configuration, was given where artifacts are refused, or could not be read.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
}
