//! Ahead-of-time artifacts: round trips against the JIT path, refusal of corrupt or mismatched
//! artifacts, the module cache, and cross-compilation to aarch64.

mod common;

use anyhow::{Context, Result, bail};
use common::trap_of;
use std::path::{Path, PathBuf};
use wasmz::{
    ArtifactError, ArtifactInfo, BoundsChecks, Config, Engine, EngineSetting, Error, ExecResult,
    Global, GlobalType, HostFunc, Instance, Linker, Module, OptLevel, RawVal, Store, TrapCode, Val,
    ValType,
};

/// A module with imports, memory, data, a table with `call_indirect`, globals and a trap path.
const RICH: &str = r#"
(module
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (import "env" "base" (global $base i32))
  (memory (export "mem") 1 4)
  (data (i32.const 16) "hello, aot")
  (table (export "table") 4 funcref)
  (elem (i32.const 0) $inc $dec $call_host)
  (global $counter (export "counter") (mut i64) (i64.const 40))
  (type $un (func (param i32) (result i32)))
  (func $inc (type $un) (i32.add (local.get 0) (i32.const 1)))
  (func $dec (type $un) (i32.sub (local.get 0) (i32.const 1)))
  (func $call_host (type $un) (call $twice (local.get 0)))
  (func (export "dispatch") (param i32 i32) (result i32)
    (call_indirect (type $un) (local.get 1) (local.get 0)))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "bump") (result i64)
    (global.set $counter (i64.add (global.get $counter) (i64.const 2)))
    (global.get $counter))
  (func (export "base_plus") (param i32) (result i32) (i32.add (global.get $base) (local.get 0)))
  (func $fib (export "fib") (param i64) (result i64)
    (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
      (then (local.get 0))
      (else (i64.add
        (call $fib (i64.sub (local.get 0) (i64.const 1)))
        (call $fib (i64.sub (local.get 0) (i64.const 2)))))))
  (func (export "fmix") (param f64 f32) (result f64)
    (f64.add (f64.sqrt (local.get 0)) (f64.promote_f32 (local.get 1)))))
"#;

/// A module whose traps happen a few named frames deep.
const TRAPS: &str = r#"
(module
  (memory 1)
  (table 2 funcref)
  (func $innermost (param i32) (result i32)
    (if (i32.eq (local.get 0) (i32.const 1)) (then unreachable))
    (if (i32.eq (local.get 0) (i32.const 2)) (then (drop (i32.load (i32.const 70000)))))
    (if (i32.eq (local.get 0) (i32.const 3))
      (then (drop (call_indirect (param i32) (result i32) (i32.const 0) (i32.const 1)))))
    (i32.div_s (i32.const 10) (local.get 0)))
  (func $middle (param i32) (result i32) (i32.add (call $innermost (local.get 0)) (i32.const 1)))
  (func $outer (export "run") (param i32) (result i32) (call $middle (local.get 0)))
  (func $forever (export "forever") (call $forever)))
"#;

fn linker(store: &mut Store) -> Result<Linker> {
    let mut linker = Linker::new();
    linker.define(
        "env",
        "twice",
        HostFunc::new([ValType::I32], [ValType::I32], |_, params, results| {
            results[0] = RawVal::from(params[0].read_as::<i32>() * 2);
            Ok(())
        }),
    )?;
    let base = Global::new(
        store,
        GlobalType {
            content: ValType::I32,
            mutable: false,
        },
        Val::I32(1000),
    )?;
    linker.define_global("env", "base", base)?;
    Ok(linker)
}

/// Runs a fixed script of calls on an instance of [`RICH`] and returns everything observable.
fn exercise_rich(engine: &Engine, module: &Module) -> Result<Vec<String>> {
    let mut store = Store::new(engine);
    let linker = linker(&mut store)?;
    let mut inst = Instance::new(&mut store, module, &linker)?;
    let mut seen = Vec::new();
    let calls: Vec<(&str, Vec<Val>)> = vec![
        ("dispatch", vec![Val::I32(0), Val::I32(41)]),
        ("dispatch", vec![Val::I32(1), Val::I32(41)]),
        ("dispatch", vec![Val::I32(2), Val::I32(21)]),
        ("dispatch", vec![Val::I32(3), Val::I32(1)]),
        ("dispatch", vec![Val::I32(9), Val::I32(1)]),
        ("load8", vec![Val::I32(16)]),
        ("load8", vec![Val::I32(25)]),
        ("store", vec![Val::I32(100), Val::I32(0x1234_5678)]),
        ("load8", vec![Val::I32(101)]),
        ("load8", vec![Val::I32(65536)]),
        ("grow", vec![Val::I32(2)]),
        ("load8", vec![Val::I32(3 * 65536 - 1)]),
        ("grow", vec![Val::I32(5)]),
        ("bump", vec![]),
        ("bump", vec![]),
        ("base_plus", vec![Val::I32(7)]),
        ("fib", vec![Val::I64(20)]),
        (
            "fmix",
            vec![Val::F64(16f64.to_bits()), Val::F32(0.5f32.to_bits())],
        ),
    ];
    for (name, args) in calls {
        let outcome = match inst.call_vals(name, &args)?.into_result() {
            Ok(values) => format!("{values:?}"),
            Err(trap) => format!("trap {:?}", trap.code()),
        };
        seen.push(format!("{name}{args:?} -> {outcome}"));
    }
    let mem = inst.memory("mem").context("memory export")?;
    let mut buf = [0u8; 10];
    mem.read(16, &mut buf)?;
    seen.push(format!("mem {buf:?} pages {}", mem.size_pages()));
    seen.push(format!(
        "counter {:?}",
        inst.global("counter").context("global")?.get()
    ));
    seen.push(format!(
        "table {}",
        inst.table("table").context("table")?.size()
    ));
    Ok(seen)
}

/// The three ways to get a module: JIT, serialize of a JIT module, and precompile.
fn three_ways(engine: &Engine, wat: &str) -> Result<[Module; 3]> {
    let jit = Module::compile(engine, wat)?;
    let serialized = jit.serialize()?;
    let precompiled = engine.precompile(wat)?;
    assert_eq!(
        serialized, precompiled,
        "compilation is deterministic, so both artifacts are equal"
    );
    let from_serialized = common::deserialize(engine, &serialized)?;
    let from_precompiled = common::deserialize(engine, &precompiled)?;
    Ok([jit, from_serialized, from_precompiled])
}

#[test]
fn artifacts_run_like_the_jit() -> Result<()> {
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let engine = Engine::new(Config::new().bounds_checks(bounds))?;
        let [jit, a, b] = three_ways(&engine, RICH)?;
        let expected = exercise_rich(&engine, &jit)?;
        assert!(
            expected
                .iter()
                .any(|l| l.contains("trap MemoryOutOfBounds"))
        );
        assert!(
            expected
                .iter()
                .any(|l| l.contains("trap IndirectCallToNull"))
        );
        assert!(
            expected
                .iter()
                .any(|l| l.contains("fib[I64(20)] -> [I64(6765)]"))
        );
        assert_eq!(exercise_rich(&engine, &a)?, expected);
        assert_eq!(exercise_rich(&engine, &b)?, expected);
        // Imports and exports are described the same way.
        let describe = |m: &Module| {
            (
                m.imports()
                    .map(|(m, n, t)| format!("{m}.{n}: {t}"))
                    .collect::<Vec<_>>(),
                m.exports()
                    .map(|(n, t)| format!("{n}: {t}"))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(describe(&a), describe(&jit));
    }
    Ok(())
}

#[test]
fn traps_and_backtraces_survive_the_round_trip() -> Result<()> {
    let engine = Engine::default();
    let [jit, aot, _] = three_ways(&engine, TRAPS)?;
    for (arg, code) in [
        (0, TrapCode::IntegerDivisionByZero),
        (1, TrapCode::UnreachableCodeReached),
        (2, TrapCode::MemoryOutOfBounds),
        (3, TrapCode::IndirectCallToNull),
    ] {
        let mut traps = Vec::new();
        for module in [&jit, &aot] {
            let mut inst = Instance::new(&mut Store::new(&engine), module, &Linker::new())?;
            traps.push(trap_of(&mut inst, "run", &[RawVal::from(arg)])?);
        }
        let frames = |t: &wasmz::Trap| {
            t.backtrace()
                .iter()
                .map(|f| (f.func_index, f.func_name.clone(), f.code_offset))
                .collect::<Vec<_>>()
        };
        assert_eq!(traps[1].code(), code);
        assert_eq!(traps[0].code(), code);
        assert_eq!(frames(&traps[1]), frames(&traps[0]));
        let names: Vec<_> = traps[1]
            .backtrace()
            .iter()
            .filter_map(|f| f.func_name.clone())
            .collect();
        assert_eq!(names, ["innermost", "middle", "outer"]);
        assert_eq!(traps[1].to_string(), traps[0].to_string());
    }
    let mut inst = Instance::new(&mut Store::new(&engine), &aot, &Linker::new())?;
    let trap = trap_of(&mut inst, "forever", &[])?;
    assert_eq!(trap.code(), TrapCode::StackOverflow);
    assert!(
        trap.backtrace()
            .iter()
            .all(|f| f.func_name.as_deref() == Some("forever"))
    );
    // Instances of a deserialized module still work after the first ones are gone.
    let mut inst = Instance::new(&mut Store::new(&engine), &aot, &Linker::new())?;
    let ok = inst.call("run", &[RawVal::from(5i32)])?;
    assert_eq!(ok.values().context("no trap")?[0].read_as::<i32>(), 3);
    Ok(())
}

#[test]
fn call_indirect_type_ids_are_recomputed_per_engine() -> Result<()> {
    // Function types are canonicalized engine-wide: an artifact loaded into an engine that already knows
    // other types must agree with modules compiled there.
    let engine = Engine::default();
    let _other = Module::compile(
        &engine,
        "(module (type (func (param f64 f64))) (type (func (result i64))) (func (type 1) i64.const 0))",
    )?;
    let artifact = Engine::default().precompile(
        r#"(module
          (import "m" "f" (func $f (param i32) (result i32)))
          (table 1 funcref) (elem (i32.const 0) $f)
          (func (export "go") (param i32) (result i32)
            (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0))))"#,
    )?;
    let aot = common::deserialize(&engine, &artifact)?;
    let provider = Module::compile(
        &engine,
        "(module (func (export \"f\") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3))))",
    )?;
    let mut store = Store::new(&engine);
    let provider = Instance::new(&mut store, &provider, &Linker::new())?;
    let mut linker = Linker::new();
    linker.define_func("m", "f", provider.func("f").context("f")?)?;
    let mut inst = Instance::new(&mut store, &aot, &linker)?;
    let r = inst.call("go", &[RawVal::from(14i32)])?;
    assert_eq!(r.values().context("no trap")?[0].read_as::<i32>(), 42);
    Ok(())
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wasmz-aot-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

#[test]
fn files_and_compile_accept_artifacts() -> Result<()> {
    let engine = Engine::default();
    let artifact = engine.precompile(RICH)?;
    assert!(Module::is_precompiled(&artifact));
    assert!(!Module::is_precompiled(b"\0asm\x01\0\0\0"));
    let dir = temp_dir("files");
    let path = dir.join("rich.cwasm");
    std::fs::write(&path, &artifact)?;
    let expected = exercise_rich(&engine, &Module::compile(&engine, RICH)?)?;
    let from_file = common::deserialize_file(&engine, &path)?;
    assert_eq!(exercise_rich(&engine, &from_file)?, expected);
    // `Module::compile` refuses it unless the engine opted in (see
    // `module_compile_refuses_artifacts_unless_the_engine_opted_in`).
    assert!(matches!(
        Module::compile(&engine, &artifact),
        Err(Error::Artifact(ArtifactError::PrecompiledNotAllowed))
    ));
    // Precompiling an artifact is a clear error.
    let err = engine.precompile(&artifact).unwrap_err();
    assert!(
        matches!(err, Error::Artifact(ArtifactError::AlreadyPrecompiled)),
        "{err:?}"
    );
    assert!(err.to_string().contains("already"), "{err}");
    // A loaded module serializes back to the same bytes.
    assert_eq!(from_file.serialize()?, artifact);
    // Missing and empty files are errors, not panics; a missing file's I/O error is the source.
    let missing = dir.join("missing.cwasm");
    let err = common::deserialize_file(&engine, &missing).unwrap_err();
    let Error::Artifact(ArtifactError::Io { path, source }) = &err else {
        panic!("expected an I/O artifact error, got {err:?}")
    };
    assert_eq!(path, &missing);
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    let chained = std::error::Error::source(&err).expect("the I/O error is the source");
    assert_eq!(
        chained.downcast_ref::<std::io::Error>().map(|e| e.kind()),
        Some(std::io::ErrorKind::NotFound)
    );
    assert!(err.to_string().contains("missing.cwasm"), "{err}");
    std::fs::write(dir.join("empty.cwasm"), b"")?;
    assert!(matches!(
        common::deserialize_file(&engine, dir.join("empty.cwasm")),
        Err(Error::Artifact(ArtifactError::NotAnArtifact))
    ));
    // A device that never ends, and a directory, are refused before anything is read.
    for not_a_file in [Path::new("/dev/zero"), dir.as_path()] {
        let err = common::deserialize_file(&engine, not_a_file).unwrap_err();
        let Error::Artifact(ArtifactError::Io { source, .. }) = &err else {
            panic!("expected an I/O artifact error, got {err:?}")
        };
        assert_eq!(source.to_string(), "not a regular file");
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn artifact_info_describes_the_header() -> Result<()> {
    let engine = Engine::new(Config::new().opt_level(OptLevel::None))?;
    let artifact = engine.precompile(TRAPS)?;
    let info = ArtifactInfo::parse(&artifact)?;
    assert_eq!(info.format_version, 4);
    assert_eq!(info.wasmz_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(info.cranelift_version, wasmz::CRANELIFT_VERSION);
    assert_eq!(info.target, engine.target());
    assert_eq!(info.opt_level, "none");
    assert_eq!(info.bounds_checks, "guard-pages");
    assert!(info.flags.contains("opt_level=none"), "{}", info.flags);
    assert_eq!(info.functions.len(), 4);
    // The code is followed by the 16-byte checksum.
    assert_eq!(
        info.code_offset + info.code_size + 16,
        artifact.len() as u64
    );
    Ok(())
}

fn expect_artifact_error(result: Result<Module, Error>, what: &str) -> ArtifactError {
    match result {
        Err(Error::Artifact(err)) => err,
        Err(other) => panic!("{what}: expected an artifact error, got {other}"),
        Ok(_) => panic!("{what}: a bad artifact was loaded"),
    }
}

#[test]
fn truncated_artifacts_are_refused() -> Result<()> {
    let engine = Engine::default();
    let artifact = engine.precompile(RICH)?;
    let info = ArtifactInfo::parse(&artifact)?;
    let len = artifact.len();
    let code = info.code_offset as usize;
    let mut cuts = vec![
        0,
        1,
        7,
        8,
        12,
        16,
        24,
        31,
        32,
        33,
        40,
        55,
        56,
        64,
        200,
        code - 1,
        code,
    ];
    cuts.extend([code + 1, code + 100, len - 33, len - 32, len - 31, len - 1]);
    // Shorter than the magic: not an artifact. Shorter than the prelude and checksum: truncated, with
    // no announced length. Longer: truncated, short of the length the prelude announces.
    let check = |err: &ArtifactError, cut: usize| match *err {
        ArtifactError::NotAnArtifact => assert!(cut < 8, "cut at {cut}: {err}"),
        ArtifactError::Truncated {
            len: got,
            expected: None,
        } => assert!(got == cut as u64 && (8..56).contains(&cut), "{err}"),
        ArtifactError::Truncated {
            len: got,
            expected: Some(announced),
        } => assert!(
            got == cut as u64 && cut >= 56 && announced == len as u64,
            "{err}"
        ),
        ref other => panic!("cut at {cut}: expected a truncated artifact, got {other:?}"),
    };
    for cut in cuts {
        let err = expect_artifact_error(
            common::deserialize(&engine, &artifact[..cut]),
            &format!("cut at {cut}"),
        );
        check(&err, cut);
        assert!(
            err.to_string().contains("truncated") || err.to_string().contains("magic"),
            "cut at {cut}: {err}"
        );
        // The same through a file (read or mapped), and through `Module::compile`, which refuses every
        // artifact before looking further.
        let dir = temp_dir(&format!("cut{cut}"));
        std::fs::write(dir.join("a.cwasm"), &artifact[..cut])?;
        let err = expect_artifact_error(
            common::deserialize_file(&engine, dir.join("a.cwasm")),
            "file",
        );
        check(&err, cut);
        std::fs::remove_dir_all(&dir)?;
        if Module::is_precompiled(&artifact[..cut]) {
            let err = expect_artifact_error(Module::compile(&engine, &artifact[..cut]), "compile");
            assert!(
                matches!(err, ArtifactError::PrecompiledNotAllowed),
                "{err:?}"
            );
        }
    }
    Ok(())
}

#[test]
fn every_flipped_byte_is_refused() -> Result<()> {
    let engine = Engine::default();
    let artifact =
        engine.precompile("(module (func (export \"f\") (result i32) (i32.const 7)))")?;
    let info = ArtifactInfo::parse(&artifact)?;
    let header_end = 40 + u32::from_le_bytes(artifact[12..16].try_into()?) as usize;
    let mut kinds = [0usize; 3];
    for at in 0..artifact.len() {
        let mut bad = artifact.clone();
        bad[at] ^= 0x20;
        let err = expect_artifact_error(
            common::deserialize(&engine, &bad),
            &format!("byte {at} flipped"),
        );
        // The magic, the version, the section lengths, and the checksum over everything else.
        let expected = match at {
            0..8 => matches!(err, ArtifactError::NotAnArtifact),
            8..12 => matches!(
                err,
                ArtifactError::FormatVersionMismatch { found, expected: 4 } if found != 4
            ),
            12..40 => matches!(
                err,
                ArtifactError::Truncated { .. } | ArtifactError::Corrupt { .. }
            ),
            _ => matches!(err, ArtifactError::ChecksumMismatch),
        };
        assert!(expected, "byte {at}: {err:?}");
        let message = err.to_string();
        assert!(
            ["corrupt", "truncated", "magic", "format version"]
                .iter()
                .any(|w| message.contains(w)),
            "byte {at}: {message}"
        );
        let kind = if at < header_end {
            0
        } else if (at as u64) < info.code_offset {
            1
        } else {
            2
        };
        kinds[kind] += 1;
    }
    assert!(
        kinds.iter().all(|&n| n > 0),
        "header, metadata and code were all hit: {kinds:?}"
    );
    // The original still loads and runs.
    let module = common::deserialize(&engine, &artifact)?;
    let mut inst = Instance::new(&mut Store::new(&engine), &module, &Linker::new())?;
    assert_eq!(
        inst.call("f", &[])?.values().context("ok")?[0].read_as::<i32>(),
        7
    );
    Ok(())
}

/// Replaces the value of header line `key` and fixes the lengths and the checksum, so that only the
/// header check can refuse the result.
fn patch_header(artifact: &[u8], key: &str, value: &str) -> Vec<u8> {
    let header_len = u32::from_le_bytes(artifact[12..16].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&artifact[40..40 + header_len]).unwrap();
    let mut found = false;
    let new_header: String = header
        .lines()
        .map(|line| match line.split_once('=') {
            Some((k, _)) if k == key => {
                found = true;
                format!("{k}={value}\n")
            }
            _ => format!("{line}\n"),
        })
        .collect();
    assert!(found, "no header line {key}");
    let mut out = artifact[..40].to_vec();
    out[12..16].copy_from_slice(&(new_header.len() as u32).to_le_bytes());
    out.extend_from_slice(new_header.as_bytes());
    out.extend_from_slice(&artifact[40 + header_len..artifact.len() - 16]);
    let digest = xxhash_rust::xxh3::xxh3_128(&out).to_le_bytes();
    out.extend_from_slice(&digest);
    out
}

#[test]
fn header_mismatches_are_refused_by_the_header_check() -> Result<()> {
    let engine = Engine::default();
    let artifact = engine.precompile(RICH)?;
    // Sanity: a patch that changes nothing keeps the artifact loadable, so the checksum fix works.
    let info = ArtifactInfo::parse(&artifact)?;
    let same = patch_header(&artifact, "wasmz-version", &info.wasmz_version);
    assert_eq!(same, artifact);
    let host = engine.target();
    let version = env!("CARGO_PKG_VERSION");
    type Check<'a> = Box<dyn Fn(&ArtifactError) -> bool + 'a>;
    let cases: [(&str, &str, Check, String); 9] = [
        (
            "target",
            "riscv64gc-unknown-linux-gnu",
            Box::new(|e| {
                matches!(e, ArtifactError::TargetMismatch { artifact, host: h }
                    if artifact == "riscv64gc-unknown-linux-gnu" && *h == host)
            }),
            format!("artifact targets riscv64gc-unknown-linux-gnu, this host is {host}"),
        ),
        (
            "wasmz-version",
            "9.9.9",
            Box::new(|e| {
                matches!(e, ArtifactError::WasmzVersionMismatch { artifact, this }
                    if artifact == "9.9.9" && this == version)
            }),
            format!("made by wasmz 9.9.9, this is wasmz {version}"),
        ),
        (
            "wasmz-build",
            "0123456789abcdef",
            Box::new(|e| {
                matches!(e, ArtifactError::WasmzBuildMismatch { version: v, artifact, this }
                    if v == version && artifact == "0123456789abcdef" && *this == info.wasmz_build)
            }),
            "another build of wasmz".into(),
        ),
        (
            "cranelift-version",
            "0.1.0",
            Box::new(|e| {
                matches!(e, ArtifactError::CraneliftVersionMismatch { artifact, this }
                    if artifact == "0.1.0" && this == wasmz::CRANELIFT_VERSION)
            }),
            "compiled by Cranelift 0.1.0".into(),
        ),
        (
            "flags",
            "opt_level=none",
            Box::new(|e| {
                matches!(e, ArtifactError::SettingMismatch {
                    setting: EngineSetting::CraneliftFlags, artifact, engine
                } if artifact == "opt_level=none" && engine != artifact)
            }),
            "Cranelift flags: artifact has opt_level=none".into(),
        ),
        (
            "isa-flags",
            "has_wasmz_test_feature=1",
            Box::new(|e| {
                matches!(e, ArtifactError::MissingCpuFeatures { features, .. }
                    if features == &["has_wasmz_test_feature"])
            }),
            "CPU features this host lacks: has_wasmz_test_feature".into(),
        ),
        (
            "opt-level",
            "none",
            Box::new(|e| {
                matches!(e, ArtifactError::SettingMismatch {
                    setting: EngineSetting::OptLevel, artifact, engine
                } if artifact == "none" && engine == "speed")
            }),
            "optimization level: artifact has none, engine has speed".into(),
        ),
        (
            "bounds-checks",
            "explicit",
            Box::new(|e| {
                matches!(e, ArtifactError::SettingMismatch {
                    setting: EngineSetting::BoundsChecks, artifact, engine
                } if artifact == "explicit" && engine == "guard-pages")
            }),
            "bounds-check mode: artifact has explicit".into(),
        ),
        (
            "features",
            "0x0",
            Box::new(|e| {
                matches!(e, ArtifactError::WasmFeaturesMismatch { only_in_artifact, only_in_engine }
                    if only_in_artifact.is_empty() && only_in_engine.iter().any(|f| f == "simd"))
            }),
            "enabled only in the engine".into(),
        ),
    ];
    for (key, value, check, wanted) in cases {
        let patched = patch_header(&artifact, key, value);
        // The structure and checksum are intact: only the header check refuses it.
        assert!(ArtifactInfo::parse(&patched).is_ok(), "{key}");
        let err = expect_artifact_error(common::deserialize(&engine, &patched), key);
        assert!(check(&err), "{key}: {err:?}");
        let message = Error::from(err).to_string();
        assert!(
            message.starts_with("cannot load the precompiled module: ")
                && message.contains(&wanted),
            "{key}: {message}"
        );
    }
    // A header without one of its lines is malformed.
    let header_len = u32::from_le_bytes(artifact[12..16].try_into()?) as usize;
    let header = std::str::from_utf8(&artifact[40..40 + header_len])?;
    let short: String = header.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let mut out = artifact[..40].to_vec();
    out[12..16].copy_from_slice(&(short.len() as u32).to_le_bytes());
    out.extend_from_slice(short.as_bytes());
    out.extend_from_slice(&artifact[40 + header_len..artifact.len() - 16]);
    let digest = xxhash_rust::xxh3::xxh3_128(&out).to_le_bytes();
    out.extend_from_slice(&digest);
    let err = expect_artifact_error(common::deserialize(&engine, &out), "short header");
    assert!(
        matches!(&err, ArtifactError::Corrupt { what } if what.contains("malformed")),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn artifacts_needing_fewer_cpu_features_than_the_host_load() -> Result<()> {
    let engine = Engine::default();
    let artifact = engine.precompile(RICH)?;
    let info = ArtifactInfo::parse(&artifact)?;
    // The same code, with a header claiming it needs none of the optional features: it is refused only
    // for features it needs and the host lacks, so it loads.
    let fewer: Vec<String> = info
        .isa_flags
        .split(',')
        .map(|item| match item.split_once('=') {
            Some((name, _)) if name.starts_with("has_") => format!("{name}=0"),
            _ => item.to_string(),
        })
        .collect();
    let patched = patch_header(&artifact, "isa-flags", &fewer.join(","));
    assert_ne!(patched, artifact);
    common::deserialize(&engine, &patched)?;
    // A setting that is not a CPU feature must match exactly.
    if info.isa_flags.contains("sign_return_address=0") {
        let signed = info
            .isa_flags
            .replace("sign_return_address=0", "sign_return_address=1");
        let patched = patch_header(&artifact, "isa-flags", &signed);
        let err = expect_artifact_error(common::deserialize(&engine, &patched), "signing");
        assert!(
            matches!(&err, ArtifactError::SettingMismatch {
                setting: EngineSetting::CpuSettings, artifact, engine
            } if artifact == "sign_return_address=1" && engine == "sign_return_address=0"),
            "{err:?}"
        );
        assert!(err.to_string().contains("CPU settings"), "{err}");
    }
    Ok(())
}

#[test]
fn artifacts_of_other_configurations_are_refused() -> Result<()> {
    let wat = "(module (memory 1) (func (export \"f\") (param i32) (result i32) (i32.load (local.get 0))))";
    let mut configs = vec![Config::new()];
    configs.push(Config::new().opt_level(OptLevel::None).clone());
    configs.push(Config::new().opt_level(OptLevel::SpeedAndSize).clone());
    configs.push(Config::new().bounds_checks(BoundsChecks::Explicit).clone());
    configs.push(Config::new().legacy_exceptions(false).clone());
    configs.push(Config::new().wasm_tail_call(false).clone());
    configs.push(Config::new().consume_fuel(true).clone());
    configs.push(Config::new().epoch_interruption(true).clone());
    let engines = configs
        .iter()
        .map(Engine::new)
        .collect::<Result<Vec<_>, _>>()?;
    let artifacts = engines
        .iter()
        .map(|e| e.precompile(wat))
        .collect::<Result<Vec<_>, _>>()?;
    // What each config changes (nothing for the default, index 0).
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Change {
        None,
        Opt,
        Bounds,
        Features,
        Instrumentation,
    }
    use Change as C;
    let changes = [
        C::None,
        C::Opt,
        C::Opt,
        C::Bounds,
        C::Features,
        C::Features,
        C::Instrumentation,
        C::Instrumentation,
    ];
    for (i, engine) in engines.iter().enumerate() {
        for (j, artifact) in artifacts.iter().enumerate() {
            let result = common::deserialize(engine, artifact);
            if i == j {
                result?;
                continue;
            }
            let err = expect_artifact_error(result, &format!("config {j} into {i}"));
            let setting = |e: &ArtifactError| match e {
                ArtifactError::SettingMismatch { setting, .. } => Some(*setting),
                _ => None,
            };
            // When only one kind of setting differs, the error names it.
            let differing: Vec<Change> = [changes[i], changes[j]]
                .into_iter()
                .filter(|c| *c != C::None)
                .collect();
            let expected = match differing[..] {
                [C::Features] | [C::Features, C::Features] => {
                    matches!(err, ArtifactError::WasmFeaturesMismatch { .. })
                }
                [C::Instrumentation] | [C::Instrumentation, C::Instrumentation] => {
                    setting(&err) == Some(EngineSetting::Instrumentation)
                }
                // The optimization level is also one of Cranelift's flags, checked first.
                [C::Opt] | [C::Opt, C::Opt] => matches!(
                    setting(&err),
                    Some(EngineSetting::CraneliftFlags | EngineSetting::OptLevel)
                ),
                [C::Bounds] => matches!(
                    setting(&err),
                    Some(EngineSetting::CraneliftFlags | EngineSetting::BoundsChecks)
                ),
                _ => {
                    setting(&err).is_some()
                        || matches!(err, ArtifactError::WasmFeaturesMismatch { .. })
                }
            };
            assert!(expected, "config {j} into {i}: {err:?}");
        }
    }
    // Settings that do not change code do not matter.
    let lenient = Engine::new(
        Config::new()
            .max_wasm_stack(1 << 20)
            .memory_limit(Some(1 << 20)),
    )?;
    common::deserialize(&lenient, &artifacts[0])?;
    Ok(())
}

#[cfg(target_arch = "x86_64")]
#[test]
fn aarch64_artifacts_are_aarch64_code_and_refused_here() -> Result<()> {
    use capstone::prelude::*;
    let engine = Engine::new(Config::new().target("aarch64-unknown-linux-gnu"))?;
    assert_eq!(engine.target(), "aarch64-unknown-linux-gnu");
    assert!(!engine.is_host_target());
    let artifact = engine.precompile(RICH)?;
    let info = ArtifactInfo::parse(&artifact)?;
    assert_eq!(info.target, "aarch64-unknown-linux-gnu");
    assert_eq!(info.functions.len(), 11);
    let code_start = info.code_offset as usize;
    let code = &artifact[code_start..code_start + info.code_size as usize];
    let cs = Capstone::new()
        .arm64()
        .mode(arch::arm64::ArchMode::Arm)
        .build()
        .map_err(|e| anyhow::anyhow!("capstone: {e}"))?;
    for range in &info.functions {
        let body = &code[range.start as usize..range.end as usize];
        assert_eq!(body.len() % 4, 0, "aarch64 instructions are four bytes");
        let insns = cs
            .disasm_all(body, u64::from(range.start))
            .map_err(|e| anyhow::anyhow!("disassembly: {e}"))?;
        // Every word of the function decodes.
        assert_eq!(insns.len() * 4, body.len(), "function at {range:?}");
        let text: Vec<String> = insns
            .iter()
            .map(|i| {
                format!(
                    "{} {}",
                    i.mnemonic().unwrap_or(""),
                    i.op_str().unwrap_or("")
                )
            })
            .collect();
        assert!(
            text.iter().any(|t| t.starts_with("ret")),
            "function at {range:?} has no ret: {text:?}"
        );
        assert!(
            text.iter().any(|t| t.starts_with("stp x29, x30")),
            "function at {range:?} saves no frame: {text:?}"
        );
    }
    // The same code is not x86-64: the host's engine would have produced different bytes.
    let host_artifact = Engine::default().precompile(RICH)?;
    assert_ne!(ArtifactInfo::parse(&host_artifact)?.target, info.target);
    // Loading it here is refused, by the host's engine and by the aarch64 engine.
    let host = Engine::default();
    for e in [&host, &engine] {
        let err = expect_artifact_error(common::deserialize(e, &artifact), "aarch64");
        assert!(
            matches!(&err, ArtifactError::TargetMismatch { artifact, host }
                if artifact == "aarch64-unknown-linux-gnu" && host == "x86_64-unknown-linux-gnu"),
            "{err:?}"
        );
        assert_eq!(
            Error::from(err).to_string(),
            "cannot load the precompiled module: artifact targets aarch64-unknown-linux-gnu, this \
             host is x86_64-unknown-linux-gnu"
        );
    }
    // An engine for another target cannot compile for this host.
    let err = Module::compile(&engine, RICH).unwrap_err();
    assert!(
        matches!(&err, Error::Compile(wasmz::CompileError::ForeignTarget { engine_target, host })
            if engine_target == "aarch64-unknown-linux-gnu" && host == "x86_64-unknown-linux-gnu"),
        "{err:?}"
    );
    assert!(err.to_string().contains("use Engine::precompile"), "{err}");
    // Nor load host code.
    let err = expect_artifact_error(common::deserialize(&engine, &host_artifact), "host");
    assert!(
        matches!(&err, ArtifactError::SettingMismatch {
            setting: EngineSetting::Target, artifact, engine
        } if artifact == "x86_64-unknown-linux-gnu" && engine == "aarch64-unknown-linux-gnu"),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn unknown_targets_are_engine_errors() {
    for target in ["nonsense-target", "riscv64gc-unknown-linux-gnu"] {
        match Engine::new(Config::new().target(target)) {
            Err(Error::Engine(message)) => assert!(message.contains(target), "{message}"),
            other => panic!("{target}: expected an engine error, got {other:?}"),
        }
    }
    // Naming the host is the same as the default.
    let host = Engine::default().target();
    let named = Engine::new(Config::new().target(&host)).unwrap();
    let artifact = Engine::default().precompile(TRAPS).unwrap();
    common::deserialize(&named, &artifact).unwrap();
}

fn cache_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

fn exports_of(module: &Module) -> Vec<String> {
    module.exports().map(|(n, _)| n.to_string()).collect()
}

/// A config caching compiled modules in `dir`.
fn cached(dir: &Path) -> Config {
    let mut config = Config::new();
    // SAFETY: `dir` is a fresh directory of this test's own under the temporary directory.
    unsafe { config.cache_dir(Some(dir.to_path_buf())) };
    config
}

#[test]
fn the_cache_is_used_and_repaired() -> Result<()> {
    let dir = temp_dir("cache").join("nested");
    let engine = Engine::new(&cached(&dir))?;
    // Miss: compiled, and written.
    let first = Module::compile(&engine, RICH)?;
    let files = cache_files(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let path = files[0].clone();
    assert_eq!(path.extension().and_then(|e| e.to_str()), Some("cwasm"));
    let written = std::fs::read(&path)?;
    // The entry is the artifact followed by the module's 32-byte cache key.
    let (artifact, key) = written.split_at(written.len() - 32);
    assert_eq!(artifact, first.serialize()?);
    let expected = exercise_rich(&engine, &first)?;

    // Hit: the file is loaded. To prove it, put another module's artifact under the same name,
    // followed by this module's key.
    let other = Engine::default().precompile("(module (func (export \"planted\")))")?;
    std::fs::write(&path, [&other[..], key].concat())?;
    let planted = Module::compile(&engine, RICH)?;
    assert_eq!(exports_of(&planted), ["planted"]);
    // Another module's entry moved under this name (its own key at its end) is not taken for this
    // module's code: compiled again and replaced.
    std::fs::write(&path, [&other[..], &[0u8; 32][..]].concat())?;
    let not_planted = Module::compile(&engine, RICH)?;
    assert_eq!(exercise_rich(&engine, &not_planted)?, expected);
    assert_eq!(std::fs::read(&path)?, written);
    std::fs::write(&path, &written)?;
    let hit = Module::compile(&engine, RICH)?;
    assert_eq!(exercise_rich(&engine, &hit)?, expected);
    assert_eq!(
        std::fs::read(&path)?,
        written,
        "a hit does not rewrite the file"
    );

    // Deleted: compiled again and rewritten.
    std::fs::remove_file(&path)?;
    let again = Module::compile(&engine, RICH)?;
    assert_eq!(exercise_rich(&engine, &again)?, expected);
    assert_eq!(std::fs::read(&path)?, written);

    // Corrupt: ignored and replaced.
    let mut corrupt = written.clone();
    let code = ArtifactInfo::parse(artifact)?.code_offset as usize;
    corrupt[code + 3] ^= 0xff;
    std::fs::write(&path, &corrupt)?;
    let repaired = Module::compile(&engine, RICH)?;
    assert_eq!(exercise_rich(&engine, &repaired)?, expected);
    assert_eq!(std::fs::read(&path)?, written);
    // Truncated and empty files too.
    for bad in [&written[..written.len() / 2], &[][..]] {
        std::fs::write(&path, bad)?;
        Module::compile(&engine, RICH)?;
        assert_eq!(std::fs::read(&path)?, written);
    }

    // Another module, and other settings, get other entries; no temporary files are left behind.
    Module::compile(&engine, TRAPS)?;
    let other_engine = Engine::new(cached(&dir).opt_level(OptLevel::None))?;
    Module::compile(&other_engine, RICH)?;
    let files = cache_files(&dir);
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| f.extension().is_some_and(|e| e == "cwasm"))
    );

    // Errors are not cached: an invalid module fails every time and leaves no file.
    assert!(matches!(
        Module::compile(&engine, "(module (func (result i32)))"),
        Err(Error::Wasm(_))
    ));
    assert_eq!(cache_files(&dir).len(), 3);
    std::fs::remove_dir_all(dir.parent().context("parent")?)?;
    Ok(())
}

#[cfg(unix)]
#[test]
fn cache_entries_others_may_write_are_not_loaded() -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("private");
    let engine = Engine::new(&cached(&dir))?;
    let real = "(module (func (export \"f\") (result i32) (i32.const 1)))";
    let planted = "(module (func (export \"f\") (result i32) (i32.const 7)))";
    let f = |module: &Module| -> Result<i32> {
        let mut store = Store::new(&engine);
        let instance = Instance::new(&mut store, module, &Linker::new())?;
        Ok(instance.typed_func::<(), i32>("f")?.call(())?)
    };
    Module::compile(&engine, real)?;
    let [entry] = cache_files(&dir).try_into().expect("one cache entry");
    // Another module's artifact in the entry's place, followed by the entry's key (its last 32
    // bytes), as someone who may write the file could put it.
    let written = std::fs::read(&entry)?;
    let key = &written[written.len() - 32..];
    std::fs::write(&entry, [&engine.precompile(planted)?[..], key].concat())?;
    // Only this user may write it: the cache is trusted, and what is there is what runs.
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o644))?;
    assert_eq!(f(&Module::compile(&engine, real)?)?, 7, "private entry");
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666))?;
    assert_eq!(
        f(&Module::compile(&engine, real)?)?,
        1,
        "group- or world-writable entry"
    );
    // The entry was compiled again and replaced.
    assert_eq!(std::fs::read(&entry)?, written);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn an_unwritable_cache_does_not_fail_compilation() -> Result<()> {
    let dir = temp_dir("unwritable");
    let blocker = dir.join("file");
    std::fs::write(&blocker, b"not a directory")?;
    let engine = Engine::new(&cached(&blocker))?;
    let module = Module::compile(&engine, RICH)?;
    let plain = Engine::default();
    assert_eq!(
        exercise_rich(&engine, &module)?,
        exercise_rich(&plain, &Module::compile(&plain, RICH)?)?
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn concurrent_compilations_share_one_complete_cache_entry() -> Result<()> {
    let dir = temp_dir("concurrent");
    let engine = Engine::new(&cached(&dir))?;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| -> Result<Vec<String>> {
                    let mut results = Vec::new();
                    for _ in 0..3 {
                        let module = Module::compile(&engine, RICH)?;
                        results.push(exercise_rich(&engine, &module)?.join("\n"));
                    }
                    Ok(results)
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.join().expect("no panic")?);
        }
        assert!(all.windows(2).all(|w| w[0] == w[1]));
        Ok::<(), anyhow::Error>(())
    })?;
    let files = cache_files(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    // A complete artifact, followed by the 32-byte cache key.
    let entry = std::fs::read(&files[0])?;
    ArtifactInfo::parse(&entry[..entry.len() - 32])?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A module with many functions of some size.
fn large_module(functions: usize) -> String {
    let mut wat = String::from("(module (memory (export \"mem\") 1)\n");
    for i in 0..functions {
        wat.push_str(&format!(
            "(func (export \"f{i}\") (param i32 i32) (result i32) (local i32)
               (local.set 2 (i32.const {i}))
               (block (loop
                 (br_if 1 (i32.eqz (local.get 0)))
                 (local.set 2 (i32.add (i32.mul (local.get 2) (local.get 1)) (i32.load (local.get 0))))
                 (i32.store (i32.and (local.get 2) (i32.const 0xfffc)) (local.get 2))
                 (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                 (br 0)))
               (i32.xor (local.get 2) (i32.const {i})))\n"
        ));
    }
    wat.push(')');
    wat
}

#[test]
fn loading_is_much_faster_than_compiling() -> Result<()> {
    let engine = Engine::default();
    let wasm = wat::parse_str(large_module(2000))?;
    let start = std::time::Instant::now();
    let module = Module::compile(&engine, &wasm)?;
    let compile = start.elapsed();
    let artifact = module.serialize()?;
    // Best of a few loads.
    let mut load = std::time::Duration::MAX;
    for _ in 0..5 {
        let start = std::time::Instant::now();
        let loaded = common::deserialize(&engine, &artifact)?;
        load = load.min(start.elapsed());
        drop(loaded);
    }
    let ratio = compile.as_secs_f64() / load.as_secs_f64();
    eprintln!(
        "{} bytes of artifact: compile {compile:?}, load {load:?}, {ratio:.0}x",
        artifact.len()
    );
    // Loose bound so a busy machine does not fail the test; typical ratios are far higher.
    assert!(ratio > 20.0, "compile {compile:?}, load {load:?}");
    let loaded = common::deserialize(&engine, &artifact)?;
    let mut inst = Instance::new(&mut Store::new(&engine), &loaded, &Linker::new())?;
    let mut jit = Instance::new(&mut Store::new(&engine), &module, &Linker::new())?;
    for f in ["f0", "f999", "f1999"] {
        let args = [RawVal::from(100i32), RawVal::from(3i32)];
        let (a, b) = (inst.call(f, &args)?, jit.call(f, &args)?);
        let value = |r: &ExecResult| r.values().map(|v| v[0].read_as::<i32>());
        assert_eq!(value(&a), value(&b));
    }
    Ok(())
}

/// Spec-suite scripts whose modules are run both ways and compared, invocation by invocation.
const SPEC_FILES: [&str; 10] = [
    "i32.wast",
    "i64.wast",
    "f32.wast",
    "conversions.wast",
    "br_table.wast",
    "call_indirect.wast",
    "memory_trap.wast",
    "traps.wast",
    "fac.wast",
    "left-to-right.wast",
];

fn spec_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/wasm-testsuite");
    dir.is_dir().then_some(dir)
}

fn wast_args(args: &[wast::WastArg<'_>]) -> Option<Vec<Val>> {
    use wast::core::WastArgCore;
    args.iter()
        .map(|a| match a {
            wast::WastArg::Core(WastArgCore::I32(v)) => Some(Val::I32(*v)),
            wast::WastArg::Core(WastArgCore::I64(v)) => Some(Val::I64(*v)),
            wast::WastArg::Core(WastArgCore::F32(v)) => Some(Val::F32(v.bits)),
            wast::WastArg::Core(WastArgCore::F64(v)) => Some(Val::F64(v.bits)),
            _ => None,
        })
        .collect()
}

fn describe(result: Result<Result<Vec<Val>, wasmz::Trap>, Error>) -> String {
    match result {
        Ok(Ok(values)) => values
            .iter()
            .map(|v| match v {
                // Function references are compared by nullness: their addresses differ by instance.
                Val::FuncRef(f) => format!("funcref({})", f.is_some()),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        Ok(Err(trap)) => format!("trap {}", trap.code()),
        Err(e) => format!("error {e}"),
    }
}

#[test]
fn spec_scripts_behave_the_same_from_artifacts() -> Result<()> {
    let Some(dir) = spec_dir() else {
        eprintln!("skipped: ../shared/wasm-testsuite is not there");
        return Ok(());
    };
    let engine = Engine::default();
    let mut compared = 0;
    let mut modules = 0;
    for file in SPEC_FILES {
        let text = std::fs::read_to_string(dir.join(file))?;
        let buf = wast::parser::ParseBuffer::new(&text)?;
        let script: wast::Wast<'_> = wast::parser::parse(&buf)?;
        let mut current: Option<(Instance, Instance)> = None;
        for directive in script.directives {
            match directive {
                wast::WastDirective::Module(mut quote) => {
                    current = None;
                    let Ok(bytes) = quote.encode() else { continue };
                    let Ok(jit) = Module::compile(&engine, &bytes) else {
                        continue;
                    };
                    let aot = common::deserialize(&engine, engine.precompile(&bytes)?)?;
                    assert_eq!(aot.serialize()?, jit.serialize()?, "{file}");
                    if jit.imports().next().is_some() {
                        continue;
                    }
                    let a = Instance::new(&mut Store::new(&engine), &jit, &Linker::new());
                    let b = Instance::new(&mut Store::new(&engine), &aot, &Linker::new());
                    match (a, b) {
                        (Ok(a), Ok(b)) => current = Some((a, b)),
                        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                        (a, b) => bail!(
                            "{file}: instantiation differs: {:?} vs {:?}",
                            a.err(),
                            b.err()
                        ),
                    }
                    modules += 1;
                }
                wast::WastDirective::AssertReturn {
                    exec: wast::WastExecute::Invoke(invoke),
                    ..
                }
                | wast::WastDirective::AssertTrap {
                    exec: wast::WastExecute::Invoke(invoke),
                    ..
                }
                | wast::WastDirective::Invoke(invoke)
                | wast::WastDirective::AssertExhaustion { call: invoke, .. } => {
                    let (Some((jit, aot)), None) = (current.as_mut(), invoke.module) else {
                        continue;
                    };
                    let Some(args) = wast_args(&invoke.args) else {
                        continue;
                    };
                    let a = describe(
                        jit.call_vals(invoke.name, &args)
                            .map(ExecResult::into_result),
                    );
                    let b = describe(
                        aot.call_vals(invoke.name, &args)
                            .map(ExecResult::into_result),
                    );
                    assert_eq!(a, b, "{file}: {}({args:?})", invoke.name);
                    compared += 1;
                }
                _ => {}
            }
        }
    }
    eprintln!("{modules} modules, {compared} invocations compared");
    assert!(
        modules >= 10 && compared >= 1000,
        "{modules} modules, {compared} invocations"
    );
    Ok(())
}

#[test]
fn module_compile_refuses_artifacts_unless_the_engine_opted_in() -> Result<()> {
    let engine = Engine::default();
    let artifact =
        engine.precompile("(module (func (export \"f\") (result i32) (i32.const 7)))")?;
    // By default `compile` takes wasm and text only: an artifact is native code.
    let err = Module::compile(&engine, &artifact).unwrap_err();
    assert!(
        matches!(err, Error::Artifact(ArtifactError::PrecompiledNotAllowed)),
        "{err:?}"
    );
    assert!(err.to_string().contains("allow_precompiled"), "{err}");
    assert!(Module::compile(&engine, "(module)").is_ok());
    // Explicit (unsafe) deserialization loads it.
    assert!(common::deserialize(&engine, &artifact).is_ok());
    // An engine whose embedder opted in loads it through `compile`.
    let mut config = Config::new();
    // SAFETY: the only artifact given to this engine is the one made just above.
    unsafe { config.allow_precompiled(true) };
    let trusting = Engine::new(&config)?;
    let module = Module::compile(&trusting, &artifact)?;
    let mut store = Store::new(&trusting);
    let mut instance = Instance::new(&mut store, &module, &Linker::new())?;
    let values = instance.call("f", &[])?.into_result()?;
    assert_eq!(values[0].read_as::<i32>(), 7);
    Ok(())
}

/// A module with more than 1 MiB of machine code (the size from which an artifact's code is mapped
/// from its file): `n` functions of stores, and `trap`, whose `unreachable` is at a known offset.
fn module_of_stores(n: usize) -> String {
    let mut wat = String::from("(module (memory (export \"mem\") 1)\n");
    for f in 0..n {
        wat.push_str(&format!("(func (export \"f{f}\") (param i32)"));
        for k in 0..400 {
            wat.push_str(&format!(
                " (i32.store offset={} (local.get 0) (i32.add (local.get 0) (i32.const {})))",
                (k * 4) % 60000,
                f * 1000 + k
            ));
        }
        wat.push_str(")\n");
    }
    wat.push_str("(func (export \"trap\") (nop) (unreachable)))");
    wat
}

#[test]
fn large_artifacts_run_with_their_code_mapped_from_the_file() -> Result<()> {
    let engine = Engine::default();
    let wasm = wat::parse_str(module_of_stores(300))?;
    let artifact = engine.precompile(&wasm)?;
    let info = ArtifactInfo::parse(&artifact)?;
    assert!(
        info.code_size >= 1 << 20,
        "{} bytes of code",
        info.code_size
    );
    // Large code starts at a 64 KiB boundary of the file, small code right after the metadata.
    assert_eq!(info.code_offset % (64 * 1024), 0, "{}", info.code_offset);
    let small = ArtifactInfo::parse(&engine.precompile(RICH)?)?;
    assert!(small.code_offset < 64 * 1024, "{}", small.code_offset);

    let dir = temp_dir("large");
    let path = dir.join("large.cwasm");
    std::fs::write(&path, &artifact)?;
    let module = common::deserialize_file(&engine, &path)?;
    // The code is an executable mapping of the file itself, not a copy.
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let canonical = path.canonicalize()?;
    assert!(
        maps.lines()
            .any(|l| l.ends_with(canonical.to_str().unwrap())
                && l.split_whitespace().nth(1).is_some_and(|p| p.contains('x'))),
        "no executable mapping of {}:\n{maps}",
        canonical.display()
    );
    let mut inst = Instance::new(&mut Store::new(&engine), &module, &Linker::new())?;
    let mem = inst.memory("mem").context("memory export")?;
    for f in [0, 150, 299] {
        inst.call(&format!("f{f}"), &[RawVal::from(64i32)])?
            .values()
            .context("no trap")?;
        // The function's first store: offset 0 from address 64.
        let mut word = [0u8; 4];
        mem.read(64, &mut word)?;
        assert_eq!(i32::from_le_bytes(word), f * 1000 + 64, "f{f}");
    }
    // Traps name the operator through the compact address map.
    let trap = trap_of(&mut inst, "trap", &[])?;
    assert_eq!(trap.code(), TrapCode::UnreachableCodeReached);
    let offset = trap.backtrace()[0].module_offset.context("an offset")?;
    assert_eq!(wasm[offset as usize], 0x00, "unreachable's opcode");
    assert_eq!(wasm[offset as usize - 1], 0x01, "after the nop");
    // The same artifact loaded from bytes (copied code) behaves the same.
    let copied = common::deserialize(&engine, &artifact)?;
    let mut inst = Instance::new(&mut Store::new(&engine), &copied, &Linker::new())?;
    let trap = trap_of(&mut inst, "trap", &[])?;
    assert_eq!(trap.backtrace()[0].module_offset, Some(offset));
    drop(inst);
    drop(module);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
