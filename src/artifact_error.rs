//! Why a precompiled module (an artifact) cannot be loaded: the cause carried by
//! [`Error::Artifact`](crate::Error::Artifact).

use std::path::PathBuf;
use thiserror::Error;

/// Why an artifact (a precompiled module, made by [`Module::serialize`](crate::Module::serialize) or
/// [`Engine::precompile`](crate::Engine::precompile)) was refused. Carried by
/// [`Error::Artifact`](crate::Error::Artifact), whose message is this error's.
///
/// The variants fall into three groups: the bytes are not an intact artifact ([`NotAnArtifact`],
/// [`Truncated`], [`FormatVersionMismatch`], [`ChecksumMismatch`], [`Corrupt`]); the artifact is intact
/// but was made for another host, wasmz or engine configuration ([`TargetMismatch`],
/// [`WasmzVersionMismatch`], [`WasmzBuildMismatch`], [`CraneliftVersionMismatch`],
/// [`MissingCpuFeatures`], [`SettingMismatch`], [`WasmFeaturesMismatch`]); or it was given where it is
/// not accepted, or could not be read ([`PrecompiledNotAllowed`], [`AlreadyPrecompiled`], [`Io`]).
///
/// [`NotAnArtifact`]: ArtifactError::NotAnArtifact
/// [`Truncated`]: ArtifactError::Truncated
/// [`FormatVersionMismatch`]: ArtifactError::FormatVersionMismatch
/// [`ChecksumMismatch`]: ArtifactError::ChecksumMismatch
/// [`Corrupt`]: ArtifactError::Corrupt
/// [`TargetMismatch`]: ArtifactError::TargetMismatch
/// [`WasmzVersionMismatch`]: ArtifactError::WasmzVersionMismatch
/// [`WasmzBuildMismatch`]: ArtifactError::WasmzBuildMismatch
/// [`CraneliftVersionMismatch`]: ArtifactError::CraneliftVersionMismatch
/// [`MissingCpuFeatures`]: ArtifactError::MissingCpuFeatures
/// [`SettingMismatch`]: ArtifactError::SettingMismatch
/// [`WasmFeaturesMismatch`]: ArtifactError::WasmFeaturesMismatch
/// [`PrecompiledNotAllowed`]: ArtifactError::PrecompiledNotAllowed
/// [`AlreadyPrecompiled`]: ArtifactError::AlreadyPrecompiled
/// [`Io`]: ArtifactError::Io
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The bytes do not start with the artifact magic number.
    #[error(
        "cannot load the precompiled module: not a wasmz artifact (the magic number is missing)"
    )]
    NotAnArtifact,
    /// [`Module::compile`](crate::Module::compile) was given an artifact, and the engine's config does
    /// not allow that ([`Config::allow_precompiled`](crate::Config::allow_precompiled)).
    #[error(
        "cannot load the precompiled module: the bytes are a precompiled module (native code), which \
         Module::compile loads only when the engine allows it (unsafe Config::allow_precompiled); use \
         the unsafe Module::deserialize for trusted artifacts"
    )]
    PrecompiledNotAllowed,
    /// [`Engine::precompile`](crate::Engine::precompile) was given an artifact instead of wasm.
    #[error(
        "cannot load the precompiled module: the input is already a precompiled module, not wasm"
    )]
    AlreadyPrecompiled,
    /// The artifact ends before the sections its header announces (a partial write or transfer).
    #[error(
        "cannot load the precompiled module: artifact is truncated ({})",
        truncation(*.len, *.expected)
    )]
    Truncated {
        /// Its length in bytes.
        len: u64,
        /// The length its header announces, when it is long enough to announce one.
        expected: Option<u64>,
    },
    /// The artifact was written in another version of the artifact format.
    #[error(
        "cannot load the precompiled module: artifact has format version {found}, this wasmz reads \
         version {expected}"
    )]
    FormatVersionMismatch {
        /// The artifact's format version.
        found: u32,
        /// The version this wasmz reads.
        expected: u32,
    },
    /// The artifact's checksum (XXH3-128) does not match its contents: it was damaged or edited.
    #[error(
        "cannot load the precompiled module: artifact is corrupt: its checksum does not match its \
         contents"
    )]
    ChecksumMismatch,
    /// The artifact's structure is damaged: section lengths that do not add up to its length, a
    /// malformed header, or metadata that cannot be decoded or disagrees with the code.
    #[error("cannot load the precompiled module: artifact is corrupt: {what}")]
    Corrupt {
        /// What is wrong, in words.
        what: String,
    },
    /// The artifact was compiled for another target than the host.
    #[error("cannot load the precompiled module: artifact targets {artifact}, this host is {host}")]
    TargetMismatch {
        /// The artifact's target triple.
        artifact: String,
        /// The host's target triple.
        host: String,
    },
    /// The artifact was made by another wasmz release.
    #[error(
        "cannot load the precompiled module: artifact was made by wasmz {artifact}, this is wasmz {this}"
    )]
    WasmzVersionMismatch {
        /// The release that made it.
        artifact: String,
        /// This release.
        this: String,
    },
    /// The artifact was made by another build of this wasmz release (other sources; artifacts load only
    /// into the build that made them).
    #[error(
        "cannot load the precompiled module: artifact was made by another build of wasmz {version} \
         (build {artifact}, this is build {this})"
    )]
    WasmzBuildMismatch {
        /// The wasmz release (the same for both builds).
        version: String,
        /// The build id of the wasmz that made it.
        artifact: String,
        /// This build's id.
        this: String,
    },
    /// The artifact was compiled by another Cranelift release.
    #[error(
        "cannot load the precompiled module: artifact was compiled by Cranelift {artifact}, this wasmz \
         uses Cranelift {this}"
    )]
    CraneliftVersionMismatch {
        /// The Cranelift release that compiled it.
        artifact: String,
        /// The Cranelift release of this wasmz.
        this: String,
    },
    /// The artifact's code uses CPU features the host lacks.
    #[error(
        "cannot load the precompiled module: artifact was compiled for CPU features this host lacks: \
         {} (the host has {})",
        .features.join(", "),
        host_features(.host)
    )]
    MissingCpuFeatures {
        /// The features the artifact needs and the host lacks (Cranelift's flag names, `has_avx2`).
        features: Vec<String>,
        /// The optional CPU features the host has.
        host: Vec<String>,
    },
    /// The artifact was compiled with another value of a code-changing engine setting than the engine
    /// loading it.
    #[error(
        "cannot load the precompiled module: artifact was compiled with other settings than this \
         engine's: {setting}: artifact has {artifact}, engine has {engine}"
    )]
    SettingMismatch {
        /// Which setting.
        setting: EngineSetting,
        /// The artifact's value (for flag lists, the first `name=value` item that differs).
        artifact: String,
        /// The engine's value.
        engine: String,
    },
    /// The artifact was compiled with other wasm features enabled than the engine's.
    #[error(
        "cannot load the precompiled module: artifact was compiled with other wasm features than the \
         engine's ({})",
        feature_difference(.only_in_artifact, .only_in_engine)
    )]
    WasmFeaturesMismatch {
        /// Features enabled for the artifact and not in the engine (lower-case names, `simd`).
        only_in_artifact: Vec<String>,
        /// Features enabled in the engine and not for the artifact.
        only_in_engine: Vec<String>,
    },
    /// The artifact file could not be opened, read or mapped; the I/O error is the
    /// [`source`](std::error::Error::source).
    #[error("cannot load the precompiled module: cannot read {}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
}

/// A code-changing engine setting an artifact must share with the engine that loads it (see
/// [`ArtifactError::SettingMismatch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EngineSetting {
    /// The target ([`Config::target`](crate::Config::target)), when the artifact runs on this host but
    /// the engine compiles for another target.
    Target,
    /// Cranelift's shared flags.
    CraneliftFlags,
    /// Cranelift's target-specific flags other than CPU features (return-address signing,
    /// branch-target identification, ...).
    CpuSettings,
    /// The optimization level ([`Config::opt_level`](crate::Config::opt_level)).
    OptLevel,
    /// The bounds-check mode ([`Config::bounds_checks`](crate::Config::bounds_checks)).
    BoundsChecks,
    /// The execution limits and calls the code checks: fuel, epochs, lazily compiled callees.
    Instrumentation,
}

impl std::fmt::Display for EngineSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EngineSetting::Target => "target",
            EngineSetting::CraneliftFlags => "Cranelift flags",
            EngineSetting::CpuSettings => "CPU settings",
            EngineSetting::OptLevel => "optimization level",
            EngineSetting::BoundsChecks => "bounds-check mode",
            EngineSetting::Instrumentation => "fuel/epoch/lazy-call instrumentation",
        })
    }
}

fn truncation(len: u64, expected: Option<u64>) -> String {
    match expected {
        Some(n) => format!("{len} of {n} bytes"),
        None => format!("{len} bytes"),
    }
}

fn host_features(host: &[String]) -> String {
    if host.is_empty() {
        "none of the optional ones".to_string()
    } else {
        host.join(", ")
    }
}

fn feature_difference(only_in_artifact: &[String], only_in_engine: &[String]) -> String {
    let mut parts = Vec::new();
    if !only_in_artifact.is_empty() {
        parts.push(format!(
            "enabled only in the artifact: {}",
            only_in_artifact.join(", ")
        ));
    }
    if !only_in_engine.is_empty() {
        parts.push(format!(
            "enabled only in the engine: {}",
            only_in_engine.join(", ")
        ));
    }
    parts.join("; ")
}
