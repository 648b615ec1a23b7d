//! Choosing the Cranelift target ISA and its flags.

use cranelift_codegen::isa::{OwnedTargetIsa, TargetIsa, lookup};
use cranelift_codegen::settings::{self, Configurable};
use target_lexicon::{Architecture, Triple};
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

/// The x86-64 CPU features wasmz requires, as Cranelift names them, with the names people know them by.
///
/// Without SSE4.1 Cranelift lowers scalar float rounding (`f32.ceil`, `f64.nearest`, ...) and several vector
/// operations to calls of libm-style helpers, and without SSSE3 it does so for `i8x16.swizzle` and splats;
/// wasmz code images are self-contained and link no such helpers. Every x86-64 CPU made since 2008 (the
/// x86-64-v2 level) has all three.
pub const X86_64_REQUIRED_FEATURES: &[(&str, &str)] = &[
    ("has_sse3", "SSE3"),
    ("has_ssse3", "SSSE3"),
    ("has_sse41", "SSE4.1"),
];

/// Builds the ISA for `triple` (the host when `None`), with the CPU features of the host when compiling for it.
///
/// A cross-compiling x86-64 target gets exactly [`X86_64_REQUIRED_FEATURES`]; code compiled for it runs on
/// any x86-64 CPU that has them.
///
/// # Errors
/// When the target is unknown to Cranelift, a flag is refused, or the host is an x86-64 CPU without one of
/// [`X86_64_REQUIRED_FEATURES`].
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
        let mut builder =
            lookup(target.clone()).map_err(|e| err(&target.to_string(), e.to_string()))?;
        if target.architecture == Architecture::X86_64 {
            for (flag, _) in X86_64_REQUIRED_FEATURES {
                builder
                    .enable(flag)
                    .map_err(|e| err(&target.to_string(), format!("{flag}: {e}")))?;
            }
        }
        builder
    };
    let isa = isa_builder
        .finish(shared)
        .map_err(|e| err(&target.to_string(), e.to_string()))?;
    let missing = missing_features(&*isa);
    if !missing.is_empty() {
        return Err(err(
            &target.to_string(),
            format!(
                "this CPU lacks {}, which wasmz requires on x86-64 (SSE3, SSSE3 and SSE4.1: scalar float \
                 rounding and SIMD are compiled to them)",
                missing.join(", ")
            ),
        ));
    }
    Ok(isa)
}

/// The required CPU features (see [`X86_64_REQUIRED_FEATURES`]) that `isa` does not enable, by their common
/// names; empty for targets other than x86-64.
pub fn missing_features(isa: &dyn TargetIsa) -> Vec<&'static str> {
    if isa.triple().architecture != Architecture::X86_64 {
        return Vec::new();
    }
    let flags = isa.isa_flags();
    X86_64_REQUIRED_FEATURES
        .iter()
        .filter(|(flag, _)| {
            !flags
                .iter()
                .any(|value| value.name == *flag && value.as_bool() == Some(true))
        })
        .map(|(_, name)| *name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x86_64() -> Triple {
        "x86_64-unknown-linux-gnu".parse().expect("a known triple")
    }

    #[test]
    fn baseline_x86_64_lacks_the_required_features() {
        let isa = lookup(x86_64())
            .expect("x86-64 is built in")
            .finish(settings::Flags::new(settings::builder()))
            .expect("baseline flags are valid");
        assert_eq!(missing_features(&*isa), vec!["SSE3", "SSSE3", "SSE4.1"]);
    }

    #[test]
    fn cross_x86_64_target_gets_the_required_features() {
        let isa = build_isa(Some(&x86_64()), OptLevel::Speed).expect("x86-64 target");
        assert!(missing_features(&*isa).is_empty());
    }

    #[test]
    fn aarch64_needs_no_feature_check() {
        let triple: Triple = "aarch64-unknown-linux-gnu".parse().expect("a known triple");
        let isa = build_isa(Some(&triple), OptLevel::Speed).expect("aarch64 target");
        assert!(missing_features(&*isa).is_empty());
    }
}
