//! Integration tests of errors that are not link errors: malformed and invalid modules, bad text,
//! unsupported features, bad calls, host-created objects of the wrong type, and the typed causes of
//! artifact and compile errors. Each returns a clear `Error`, never a panic. Link and instantiation
//! errors are in `link_errors.rs`.

mod common;

use anyhow::Result;
use std::error::Error as _;
use wasmz::*;

/// A minimal valid binary module: `(func (export "f") (result i32) i32.const 42)`.
const VALID: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type section
    0x03, 0x02, 0x01, 0x00, // function section
    0x07, 0x05, 0x01, 0x01, b'f', 0x00, 0x00, // export section
    0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x2a, 0x0b, // code section
];

/// Compiles `bytes`, expecting `Error::Wasm`, and returns it.
fn wasm_error(bytes: &[u8]) -> WasmError {
    match Module::compile(&Engine::default(), bytes) {
        Err(Error::Wasm(e)) => e,
        Err(other) => panic!("expected Error::Wasm, got {other:?}"),
        Ok(_) => panic!("the module compiled"),
    }
}

#[test]
fn malformed_binaries_are_rejected_with_an_offset() -> Result<()> {
    assert!(Module::compile(&Engine::default(), VALID).is_ok());

    // A wrong magic number is not taken as a binary, so it fails as text; non-UTF-8 bytes likewise.
    for bad in [
        &b"\0asn\x01\0\0\0"[..],
        &[0xde, 0xad, 0xbe, 0xef, 0xff, 0, 0, 0],
    ] {
        let err = Module::compile(&Engine::default(), bad).unwrap_err();
        assert!(matches!(err, Error::Wat(_) | Error::Wasm(_)), "{err:?}");
        assert!(!err.to_string().is_empty());
    }

    let e = wasm_error(b"\0asm\x02\0\0\0");
    assert!(matches!(e, WasmError::Invalid { .. }), "{e:?}");
    assert!(e.to_string().contains("version"), "{e}");

    // Truncated in the header, in a section header, and inside a function body.
    for cut in [4, 6, 9, 12, VALID.len() - 1, VALID.len() - 3] {
        let e = wasm_error(&VALID[..cut]);
        assert!(e.offset() <= cut as u64, "cut at {cut}: {e}");
        assert!(e.to_string().contains(&format!("{:#x}", e.offset())), "{e}");
    }

    // A section whose declared size runs past the end of the module.
    let mut oversized = VALID.to_vec();
    oversized[9] = 0x7f;
    let e = wasm_error(&oversized);
    assert!(
        e.offset() >= 8 && e.offset() <= oversized.len() as u64,
        "{e}"
    );

    // Every prefix and every single-byte corruption is either a valid module or a clean error.
    let engine = Engine::default();
    for cut in 0..VALID.len() {
        match Module::compile(&engine, &VALID[..cut]) {
            Ok(_) | Err(Error::Wasm(_) | Error::Wat(_)) => {}
            Err(other) => panic!("cut at {cut}: unexpected {other:?}"),
        }
    }
    for at in 8..VALID.len() {
        for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
            let mut bytes = VALID.to_vec();
            bytes[at] = value;
            if let Err(e) = Module::compile(&engine, &bytes) {
                assert!(matches!(e, Error::Wasm(_)), "byte {at} = {value:#x}: {e:?}");
            }
        }
    }
    Ok(())
}

#[test]
fn invalid_modules_report_the_validation_error_and_its_offset() -> Result<()> {
    let binary = wat::parse_str("(module (func (result i32) (i64.const 0)))")?;
    let err = Module::compile(&Engine::default(), &binary).unwrap_err();
    let Error::Wasm(WasmError::Invalid { message, offset }) = &err else {
        panic!("expected an invalid-module error, got {err:?}");
    };
    assert!(message.contains("type mismatch"), "{message}");
    // The body is `00 42 00 0b` at the end of the module: the offset points into it.
    let body = binary.len() as u64 - 4;
    assert!(
        (body..binary.len() as u64).contains(offset),
        "offset {offset} outside the body at {body}"
    );
    assert!(err.to_string().contains(&format!("{offset:#x}")), "{err}");

    for (wat, words) in [
        ("(module (func (local.get 0)))", "unknown local"),
        ("(module (func (call 5)))", "unknown function"),
        ("(module (func (result i32)))", "type mismatch"),
        (
            "(module (func (drop (i32.load (i32.const 0)))))",
            "unknown memory",
        ),
        (
            "(module (global i32 (i32.const 0)) (func (global.set 0 (i32.const 1))))",
            "immutable",
        ),
        (
            "(module (func) (export \"a\" (func 0)) (export \"a\" (func 0)))",
            "duplicate export",
        ),
    ] {
        let err = Module::compile(&Engine::default(), wat).unwrap_err();
        assert!(matches!(err, Error::Wasm(_)), "{wat}: {err:?}");
        assert!(err.to_string().contains(words), "{wat}: {err}");
    }
    Ok(())
}

#[test]
fn disabled_features_are_rejected() -> Result<()> {
    let mut config = Config::new();
    config
        .wasm_relaxed_simd(false)
        .wasm_memory64(false)
        .wasm_threads(false)
        .wasm_multi_memory(false);
    let engine = Engine::new(&config)?;
    for (wat, words) in [
        (
            "(module (func (result v128) (f32x4.relaxed_madd (v128.const i64x2 0 0) (v128.const i64x2 0 0) (v128.const i64x2 0 0))))",
            "relaxed SIMD",
        ),
        ("(module (memory i64 1))", "memory64"),
        ("(module (memory 1 1 shared))", "threads"),
        ("(module (memory 1) (memory 1))", "multiple memories"),
    ] {
        // The default configuration takes each of them.
        Module::compile(&Engine::default(), wat)?;
        let err = Module::compile(&engine, wat).unwrap_err();
        assert!(matches!(err, Error::Wasm(_)), "{wat}: {err:?}");
        assert!(err.to_string().contains(words), "{wat}: {err}");
    }
    Ok(())
}

#[test]
fn unparsable_text_is_a_wat_error() {
    for (text, words) in [
        ("(module (func (i32.bogus)))", "i32.bogus"),
        ("(module (func $f)", "1:"),
        ("(module (func (result i32) (i32.const)))", "1:"),
        ("(modul)", "modul"),
    ] {
        let err = Module::compile(&Engine::default(), text).unwrap_err();
        let Error::Wat(parse_error) = &err else {
            panic!("{text}: expected Error::Wat, got {err:?}")
        };
        let message = parse_error.to_string();
        assert!(message.contains(words), "{text}: {message}");
        assert!(err.to_string().ends_with(&message), "{err}");
        assert!(
            err.to_string().starts_with("cannot parse the module text"),
            "{err}"
        );
    }
}

const CALLEE: &str = r#"(module
  (memory (export "memory") 1)
  (global (export "g") i32 (i32.const 0))
  (func (export "add") (param i32 i64) (result i64) (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1)))
  (func (export "take_ref") (param funcref) (result i32) (ref.is_null (local.get 0)))
  (func (export "_start") (param i32)))"#;

#[test]
fn bad_calls_are_errors_not_traps() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(&engine, CALLEE)?;
    let mut inst = Instance::new(&mut Store::new(&engine), &module, &Linker::new())?;

    let err = inst.call("nope", &[]).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownExport(n) if n == "nope"),
        "{err:?}"
    );
    assert!(err.to_string().contains("nope"));
    assert!(matches!(
        inst.call_vals("nope", &[]),
        Err(Error::UnknownExport(_))
    ));

    for name in ["memory", "g"] {
        let err = inst.call(name, &[]).unwrap_err();
        assert!(
            matches!(&err, Error::ExportKind { name: n, expected: "function" } if n == name),
            "{err:?}"
        );
        assert!(err.to_string().contains("is not a function"), "{err}");
        assert!(matches!(
            inst.call_vals(name, &[]),
            Err(Error::ExportKind { .. })
        ));
    }

    let err = inst.call("add", &[RawVal::from(1i32)]).unwrap_err();
    assert!(
        matches!(&err, Error::ArgumentCount { func, expected: 2, got: 1 } if func == "add"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "`add` takes 2 arguments, 1 given");
    let three = [RawVal::from(1i32), RawVal::from(2i64), RawVal::from(3i32)];
    assert!(matches!(
        inst.call("add", &three),
        Err(Error::ArgumentCount {
            expected: 2,
            got: 3,
            ..
        })
    ));
    let err = inst.call_vals("add", &[]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ArgumentCount {
                expected: 2,
                got: 0,
                ..
            }
        ),
        "{err:?}"
    );

    let err = inst
        .call_vals("add", &[Val::I32(1), Val::I32(2)])
        .unwrap_err();
    assert!(
        matches!(&err, Error::ArgumentType { func, index: 1, expected: ValType::I64, got: ValType::I32 } if func == "add"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "argument 1 of `add` must be i64, got i32");
    let err = inst
        .call_vals("add", &[Val::from(1.0f32), Val::I64(2)])
        .unwrap_err();
    assert!(matches!(
        err,
        Error::ArgumentType {
            index: 0,
            expected: ValType::I32,
            got: ValType::F32,
            ..
        }
    ));
    let err = inst
        .call_vals("take_ref", &[Val::ExternRef(None)])
        .unwrap_err();
    assert!(matches!(
        err,
        Error::ArgumentType {
            expected: ValType::FuncRef,
            got: ValType::ExternRef,
            ..
        }
    ));
    let ok = inst
        .call_vals("take_ref", &[Val::FuncRef(None)])?
        .into_result()?;
    assert!(matches!(ok[..], [Val::I32(1)]));

    // `_start` with parameters cannot be run as a command entry point.
    assert!(matches!(
        inst.run_start_function(),
        Err(Error::ArgumentCount {
            expected: 1,
            got: 0,
            ..
        })
    ));
    // After all those errors the instance still works.
    let r = inst.call("add", &[RawVal::from(-1i32), RawVal::from(10i64)])?;
    assert_eq!(r.values().expect("no trap")[0].read_as::<i64>(), 9);
    Ok(())
}

#[test]
fn host_created_objects_check_their_types() {
    let mut store = Store::new(&Engine::default());
    let err = Global::new(
        &mut store,
        GlobalType {
            content: ValType::F64,
            mutable: false,
        },
        Val::I64(0),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ValueType {
                expected: ValType::F64,
                got: ValType::I64
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "type mismatch: expected f64, got i64");
    let ty = TableType {
        element: ValType::FuncRef,
        limits: Limits { min: 1, max: None },
        table64: false,
    };
    assert!(matches!(
        Table::new(&mut store, ty, Val::ExternRef(None)),
        Err(Error::ValueType { .. })
    ));
    let ty = TableType {
        element: ValType::FuncRef,
        limits: Limits {
            min: 3,
            max: Some(2),
        },
        table64: false,
    };
    assert!(matches!(
        Table::new(&mut store, ty, Val::FuncRef(None)),
        Err(Error::Resource(_))
    ));
    assert!(matches!(
        Memory::new(&mut store, MemoryType::new(3, Some(2))),
        Err(Error::Resource(_))
    ));
    assert!(matches!(
        Memory::new(&mut store, MemoryType::new(70_000, None)),
        Err(Error::Resource(_))
    ));
}

#[test]
fn error_types_cross_threads() {
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<Error>();
    assert_error::<ArtifactError>();
    assert_error::<CompileError>();
}

/// An artifact of a small module, made by the default engine.
fn small_artifact() -> Result<Vec<u8>> {
    Ok(
        Engine::default()
            .precompile("(module (func (export \"f\") (result i32) (i32.const 7)))")?,
    )
}

/// The artifact error of loading `bytes` into the default engine.
fn artifact_error(bytes: &[u8]) -> Error {
    match common::deserialize(&Engine::default(), bytes) {
        Err(err @ Error::Artifact(_)) => err,
        Err(other) => panic!("expected Error::Artifact, got {other:?}"),
        Ok(_) => panic!("a bad artifact was loaded"),
    }
}

#[test]
fn a_truncated_artifact_says_how_short_it_is() -> Result<()> {
    let artifact = small_artifact()?;
    let cut = artifact.len() - 10;
    let err = artifact_error(&artifact[..cut]);
    let Error::Artifact(ArtifactError::Truncated { len, expected }) = &err else {
        panic!("expected a truncated artifact, got {err:?}")
    };
    assert_eq!((*len, *expected), (cut as u64, Some(artifact.len() as u64)));
    assert_eq!(
        err.to_string(),
        format!(
            "cannot load the precompiled module: artifact is truncated ({cut} of {} bytes)",
            artifact.len()
        )
    );
    // No underlying error: nothing to chain to.
    assert!(err.source().is_none());
    // Too short to announce a length.
    let err = artifact_error(&artifact[..20]);
    assert!(
        matches!(
            err,
            Error::Artifact(ArtifactError::Truncated {
                len: 20,
                expected: None
            })
        ),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn a_format_version_mismatch_names_both_versions() -> Result<()> {
    let mut artifact = small_artifact()?;
    let ours = ArtifactInfo::parse(&artifact)?.format_version;
    // The version is checked before the checksum, so the bytes need no other fix.
    artifact[8..12].copy_from_slice(&(ours + 1).to_le_bytes());
    let err = artifact_error(&artifact);
    let Error::Artifact(ArtifactError::FormatVersionMismatch { found, expected }) = err else {
        panic!("expected a version mismatch, got {err:?}")
    };
    assert_eq!((found, expected), (ours + 1, ours));
    // `ArtifactInfo::parse` checks the same.
    assert!(matches!(
        ArtifactInfo::parse(&artifact),
        Err(Error::Artifact(ArtifactError::FormatVersionMismatch { .. }))
    ));
    Ok(())
}

#[test]
fn a_damaged_artifact_fails_its_checksum() -> Result<()> {
    let mut artifact = small_artifact()?;
    let info = ArtifactInfo::parse(&artifact)?;
    artifact[info.code_offset as usize] ^= 0x01;
    let err = artifact_error(&artifact);
    assert!(
        matches!(err, Error::Artifact(ArtifactError::ChecksumMismatch)),
        "{err:?}"
    );
    assert!(err.to_string().contains("checksum"), "{err}");
    assert!(err.source().is_none());
    // Bytes that are no artifact at all.
    assert!(matches!(
        artifact_error(b"\0asm\x01\0\0\0"),
        Error::Artifact(ArtifactError::NotAnArtifact)
    ));
    Ok(())
}

#[test]
fn compile_refuses_artifacts_unless_precompiled_modules_are_allowed() -> Result<()> {
    let artifact = small_artifact()?;
    let err = Module::compile(&Engine::default(), &artifact).unwrap_err();
    assert!(
        matches!(err, Error::Artifact(ArtifactError::PrecompiledNotAllowed)),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("Config::allow_precompiled"),
        "{err}"
    );
    // Precompiling an artifact again is refused too.
    assert!(matches!(
        Engine::default().precompile(&artifact),
        Err(Error::Artifact(ArtifactError::AlreadyPrecompiled))
    ));
    Ok(())
}

#[test]
fn artifacts_for_other_engine_settings_name_the_setting() -> Result<()> {
    let artifact = Engine::new(Config::new().opt_level(OptLevel::None))?
        .precompile("(module (func (export \"f\")))")?;
    let err = artifact_error(&artifact);
    let Error::Artifact(ArtifactError::SettingMismatch {
        setting,
        artifact,
        engine,
    }) = &err
    else {
        panic!("expected a setting mismatch, got {err:?}")
    };
    // The optimization level is one of Cranelift's flags, which are compared first.
    assert_eq!(*setting, EngineSetting::CraneliftFlags);
    assert_eq!(
        (artifact.as_str(), engine.as_str()),
        ("opt_level=none", "opt_level=speed")
    );
    Ok(())
}

#[test]
fn unreadable_artifact_files_chain_the_io_error() {
    let engine = Engine::default();
    let dir = std::env::temp_dir().join(format!("wasmz-errors-{}", std::process::id()));
    let missing = dir.join("missing.cwasm");
    let err = common::deserialize_file(&engine, &missing).unwrap_err();
    let Error::Artifact(ArtifactError::Io { path, source }) = &err else {
        panic!("expected an I/O artifact error, got {err:?}")
    };
    assert_eq!(path, &missing);
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    // The message names the file; the reason is the source, one level down.
    assert_eq!(
        err.to_string(),
        format!(
            "cannot load the precompiled module: cannot read {}",
            missing.display()
        )
    );
    let cause = err.source().expect("an I/O error has a source");
    let io = cause
        .downcast_ref::<std::io::Error>()
        .expect("the source is the I/O error");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert!(cause.source().is_none());
    // A directory opens but cannot be read or mapped as an artifact.
    let err = common::deserialize_file(&engine, std::env::temp_dir()).unwrap_err();
    assert!(
        matches!(err, Error::Artifact(ArtifactError::Io { .. })),
        "{err:?}"
    );
    assert!(err.source().is_some_and(|s| s.is::<std::io::Error>()));
}

#[test]
fn compiling_for_a_foreign_target_is_a_typed_compile_error() -> Result<()> {
    let foreign = if cfg!(target_arch = "x86_64") {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    };
    let engine = Engine::new(Config::new().target(foreign))?;
    let err = Module::compile(&engine, "(module (func (export \"f\")))").unwrap_err();
    let Error::Compile(CompileError::ForeignTarget {
        engine_target,
        host,
    }) = &err
    else {
        panic!("expected a foreign-target compile error, got {err:?}")
    };
    assert_eq!(engine_target, foreign);
    assert_eq!(*host, Engine::default().target());
    assert_eq!(
        err.to_string(),
        format!(
            "compilation failed: the engine compiles for {foreign}, which this host ({host}) cannot \
             run; use Engine::precompile"
        )
    );
    assert!(err.source().is_none());
    // Such an engine still precompiles.
    assert!(Module::is_precompiled(
        &engine.precompile("(module (func (export \"f\")))")?
    ));
    Ok(())
}
