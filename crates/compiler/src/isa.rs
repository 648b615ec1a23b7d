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

/// CPU features asked for explicitly, instead of the host's (see [`build_isa_for`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TargetCpu {
    /// A CPU name: `native` (the host's features; only for the host's own architecture), one of
    /// Cranelift's x86-64 presets (`haswell`, `skylake`, `x86-64-v3`, ...) or one of
    /// [`AARCH64_CPUS`].
    pub cpu: Option<String>,
    /// Features switched on (`+lse`, `lse`) or off (`-lse`) after the CPU's, by their common names or
    /// Cranelift's (`has_lse`); applied in order.
    pub features: Vec<String>,
}

impl TargetCpu {
    /// Whether nothing was asked for (the host's features for the host, the baseline otherwise).
    pub fn is_default(&self) -> bool {
        self.cpu.is_none() && self.features.is_empty()
    }
}

/// The aarch64 CPU names [`TargetCpu::cpu`] accepts, with the Cranelift features each implies (Cranelift
/// has no aarch64 presets). `generic` is every ARMv8.0 CPU: NEON only.
pub const AARCH64_CPUS: &[(&str, &[&str])] = &[
    ("generic", &[]),
    ("cortex-a53", &[]),
    ("cortex-a72", &[]),
    ("neoverse-n1", &["has_lse", "has_fp16", "has_dotprod"]),
    ("cortex-a76", &["has_lse", "has_fp16", "has_dotprod"]),
    (
        "neoverse-v1",
        &[
            "has_lse",
            "has_pauth",
            "has_fp16",
            "has_dotprod",
            "has_i8mm",
        ],
    ),
    (
        "neoverse-n2",
        &[
            "has_lse",
            "has_pauth",
            "has_fp16",
            "has_dotprod",
            "has_i8mm",
        ],
    ),
    (
        "apple-m1",
        &["has_lse", "has_pauth", "has_fp16", "has_dotprod"],
    ),
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
    build_isa_for(triple, opt, &TargetCpu::default())
}

/// Like [`build_isa`], with CPU features chosen by `cpu` instead of the host's: the target's baseline
/// (plus [`X86_64_REQUIRED_FEATURES`] on x86-64), then the features of `cpu.cpu`, then `cpu.features`
/// in order. With nothing chosen it is [`build_isa`].
///
/// # Errors
/// As [`build_isa`], and when a CPU or feature name is unknown for the target, or `native` is asked
/// for another architecture than the host's.
pub fn build_isa_for(
    triple: Option<&Triple>,
    opt: OptLevel,
    cpu: &TargetCpu,
) -> Result<OwnedTargetIsa, IsaError> {
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
    // Block offsets and edges of the machine code, from which the linker finds loop headers to align.
    set(&mut flags, "machine_code_cfg_info", "true")?;
    // Tail calls (`return_call`) need frame pointers on x64; frame pointers also let traps walk wasm frames.
    set(&mut flags, "preserve_frame_pointers", "true")?;
    // Functions with more results than return registers get an implicit return area.
    set(&mut flags, "enable_multi_ret_implicit_sret", "true")?;
    // Stack overflow is caught by the stack-limit check in each prologue, not by probes.
    set(&mut flags, "enable_probestack", "false")?;
    // The code image is relocated by wasmz itself with PC-relative calls only.
    set(&mut flags, "is_pic", "false")?;
    // Cranelift's IR verifier checks what the translator produces: on in debug builds, and in release
    // builds with `WASMZ_CRANELIFT_VERIFIER=1` in the environment (as CI runs the tests).
    let verify = cfg!(debug_assertions)
        || std::env::var_os("WASMZ_CRANELIFT_VERIFIER").is_some_and(|v| v == "1");
    set(
        &mut flags,
        "enable_verifier",
        if verify { "true" } else { "false" },
    )?;
    let shared = settings::Flags::new(flags);
    let host = Triple::host();
    let target = triple.unwrap_or(&host);
    let name = target.to_string();
    let native = cpu.cpu.as_deref() == Some("native");
    let mut isa_builder = if *target == host && (cpu.is_default() || native) {
        cranelift_native::builder().map_err(|e| err(&name, e.to_string()))?
    } else if native {
        return Err(err(
            &name,
            "`native` names the host's CPU, which cannot run code for this target".into(),
        ));
    } else {
        let mut builder = lookup(target.clone()).map_err(|e| err(&name, e.to_string()))?;
        if target.architecture == Architecture::X86_64 {
            for (flag, _) in X86_64_REQUIRED_FEATURES {
                builder
                    .enable(flag)
                    .map_err(|e| err(&name, format!("{flag}: {e}")))?;
            }
        }
        if let Some(cpu) = &cpu.cpu {
            apply_cpu(&mut builder, target, cpu).map_err(|reason| err(&name, reason))?;
        }
        builder
    };
    for feature in &cpu.features {
        apply_feature(&mut isa_builder, feature).map_err(|reason| err(&name, reason))?;
    }
    let isa = isa_builder
        .finish(shared)
        .map_err(|e| err(&name, e.to_string()))?;
    let missing = missing_features(&*isa);
    if !missing.is_empty() {
        let whose = if cpu.is_default() || native {
            "this CPU lacks"
        } else {
            "the chosen CPU features lack"
        };
        return Err(err(
            &name,
            format!(
                "{whose} {}, which wasmz requires on x86-64 (SSE3, SSSE3 and SSE4.1: scalar float \
                 rounding and SIMD are compiled to them)",
                missing.join(", ")
            ),
        ));
    }
    Ok(isa)
}

/// Enables the features of CPU `cpu` of `target`'s architecture.
fn apply_cpu(
    builder: &mut cranelift_codegen::isa::Builder,
    target: &Triple,
    cpu: &str,
) -> Result<(), String> {
    match target.architecture {
        Architecture::Aarch64(_) => {
            let Some((_, features)) = AARCH64_CPUS.iter().find(|(name, _)| *name == cpu) else {
                let known: Vec<&str> = AARCH64_CPUS.iter().map(|(name, _)| *name).collect();
                return Err(format!(
                    "unknown aarch64 CPU `{cpu}` (known: native, {})",
                    known.join(", ")
                ));
            };
            for feature in *features {
                builder
                    .enable(feature)
                    .map_err(|e| format!("{feature}: {e}"))?;
            }
            Ok(())
        }
        // Cranelift's x86-64 presets are named after CPUs (`haswell`, `skylake`, `x86-64-v3`, ...).
        _ => builder
            .enable(cpu)
            .map_err(|e| format!("unknown CPU `{cpu}`: {e}")),
    }
}

/// Applies one `+name`, `name` or `-name` feature; `name` is Cranelift's setting name or the same without
/// its `has_` prefix.
fn apply_feature(
    builder: &mut cranelift_codegen::isa::Builder,
    feature: &str,
) -> Result<(), String> {
    let (on, name) = match feature.strip_prefix('-') {
        Some(name) => (false, name),
        None => (true, feature.strip_prefix('+').unwrap_or(feature)),
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("empty CPU feature in `{feature}`"));
    }
    let value = if on { "true" } else { "false" };
    let mut last = None;
    let prefixed = format!("has_{name}");
    for candidate in [name, prefixed.as_str()] {
        match builder.set(candidate, value) {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(format!(
        "unknown CPU feature `{name}`{}",
        last.map(|e| format!(" ({e})")).unwrap_or_default()
    ))
}

/// The CPU features (Cranelift's boolean `has_*` ISA flags) set in `isa_flags`, a `name=value` list
/// separated by commas as an artifact header holds it.
pub fn enabled_cpu_features(isa_flags: &str) -> Vec<&str> {
    isa_flags
        .split(',')
        .filter_map(|item| item.split_once('='))
        .filter(|(name, value)| name.starts_with("has_") && matches!(*value, "1" | "true"))
        .map(|(name, _)| name)
        .collect()
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

    fn flags_of(isa: &OwnedTargetIsa) -> String {
        isa.isa_flags()
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn cpus_and_features_choose_aarch64_flags() {
        let triple: Triple = "aarch64-unknown-linux-gnu".parse().expect("a known triple");
        let generic = TargetCpu {
            cpu: Some("generic".into()),
            features: vec![],
        };
        let baseline = build_isa_for(Some(&triple), OptLevel::Speed, &generic).expect("generic");
        assert!(enabled_cpu_features(&flags_of(&baseline)).is_empty());
        let cpu = TargetCpu {
            cpu: Some("neoverse-n1".into()),
            features: vec!["-fp16".into(), "+i8mm".into(), "has_pauth".into()],
        };
        let isa = build_isa_for(Some(&triple), OptLevel::Speed, &cpu).expect("known names");
        assert_eq!(
            enabled_cpu_features(&flags_of(&isa)),
            ["has_lse", "has_pauth", "has_dotprod", "has_i8mm"]
        );
        for bad in [
            TargetCpu {
                cpu: Some("pentium".into()),
                features: vec![],
            },
            TargetCpu {
                cpu: None,
                features: vec!["+avx2".into()],
            },
            TargetCpu {
                cpu: None,
                features: vec!["+".into()],
            },
        ] {
            assert!(
                build_isa_for(Some(&triple), OptLevel::Speed, &bad).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn x86_64_cpu_presets_keep_the_required_features() {
        let cpu = TargetCpu {
            cpu: Some("haswell".into()),
            features: vec!["-bmi2".into()],
        };
        let isa = build_isa_for(Some(&x86_64()), OptLevel::Speed, &cpu).expect("a preset");
        let flags = flags_of(&isa);
        let features = enabled_cpu_features(&flags);
        assert!(features.contains(&"has_avx2"), "{features:?}");
        assert!(!features.contains(&"has_bmi2"), "{features:?}");
        // Switching a required feature off is refused.
        let cpu = TargetCpu {
            cpu: None,
            features: vec!["-sse41".into()],
        };
        let Err(e) = build_isa_for(Some(&x86_64()), OptLevel::Speed, &cpu) else {
            panic!("SSE4.1 switched off");
        };
        assert!(e.reason.contains("SSE4.1"), "{e}");
    }

    #[test]
    fn native_names_the_host_only() {
        let native = TargetCpu {
            cpu: Some("native".into()),
            features: vec![],
        };
        assert!(build_isa_for(None, OptLevel::Speed, &native).is_ok());
        let other: Triple = if cfg!(target_arch = "aarch64") {
            x86_64()
        } else {
            "aarch64-unknown-linux-gnu".parse().expect("a known triple")
        };
        assert!(build_isa_for(Some(&other), OptLevel::Speed, &native).is_err());
    }
}
