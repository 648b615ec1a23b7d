//! Choosing the Cranelift target ISA and its flags.

use cranelift_codegen::isa::{OwnedTargetIsa, lookup};
use cranelift_codegen::settings::{self, Configurable};
use target_lexicon::Triple;
use thiserror::Error;

/// How hard Cranelift optimizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OptLevel {
    /// No optimization: fastest compile.
    None,
    /// Optimize for speed (default).
    #[default]
    Speed,
    /// Optimize for speed and code size.
    SpeedAndSize,
}

/// Why no ISA could be built.
#[derive(Debug, Error)]
#[error("cannot build a code generator for {target}: {reason}")]
pub struct IsaError {
    /// The target asked for.
    pub target: String,
    /// What went wrong.
    pub reason: String,
}

/// Builds the ISA for `triple` (the host when `None`), with the CPU features of the host when compiling for it.
///
/// # Errors
/// When the target is unknown to Cranelift or a flag is refused.
pub fn build_isa(triple: Option<&Triple>, opt: OptLevel) -> Result<OwnedTargetIsa, IsaError> {
    let err = |target: &str, reason: String| IsaError {
        target: target.to_string(),
        reason,
    };
    let mut flags = settings::builder();
    let opt_name = match opt {
        OptLevel::None => "none",
        OptLevel::Speed => "speed",
        OptLevel::SpeedAndSize => "speed_and_size",
    };
    let set = |flags: &mut settings::Builder, name: &str, value: &str| {
        flags
            .set(name, value)
            .map_err(|e| err("flags", format!("{name}={value}: {e}")))
    };
    set(&mut flags, "opt_level", opt_name)?;
    // Tail calls (`return_call`) need frame pointers on x64; frame pointers also let traps walk wasm frames.
    set(&mut flags, "preserve_frame_pointers", "true")?;
    // Functions with more results than return registers get an implicit return area.
    set(&mut flags, "enable_multi_ret_implicit_sret", "true")?;
    // Stack overflow is caught by the stack-limit check in each prologue, not by probes.
    set(&mut flags, "enable_probestack", "false")?;
    // The code image is relocated by wasmz itself with PC-relative calls only.
    set(&mut flags, "is_pic", "false")?;
    set(
        &mut flags,
        "enable_verifier",
        if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        },
    )?;
    let shared = settings::Flags::new(flags);
    let host = Triple::host();
    let target = triple.unwrap_or(&host);
    let isa_builder = if *target == host {
        cranelift_native::builder().map_err(|e| err(&target.to_string(), e.to_string()))?
    } else {
        lookup(target.clone()).map_err(|e| err(&target.to_string(), e.to_string()))?
    };
    isa_builder
        .finish(shared)
        .map_err(|e| err(&target.to_string(), e.to_string()))
}
