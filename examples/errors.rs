//! Telling errors apart: every `wasmz::Error` variant carries its cause as typed values, so a program
//! can match on what went wrong instead of parsing messages. Shown here: a malformed module (with the
//! byte offset), a missing import, a damaged artifact, and traps during instantiation and in a call.
//!
//! Run with `cargo run --example errors`.

use wasmz::{
    ArtifactError, ArtifactInfo, Engine, Error, Instance, Linker, Module, Store, TrapCode,
    WasmError,
};

/// Runs the example (also called by `tests/examples.rs`).
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::default();

    // A binary module cut off inside its type section (which announces 5 bytes and has 2): malformed,
    // at the offset of the section's contents.
    let malformed = b"\0asm\x01\0\0\0\x01\x05\x01\x60";
    match Module::compile(&engine, malformed) {
        Err(Error::Wasm(WasmError::Invalid { message, offset })) => {
            println!("malformed module at byte {offset}: {message}");
            assert_eq!(offset, 10);
        }
        other => return Err(format!("expected a malformed module, got {other:?}").into()),
    }

    // An import the linker does not define.
    let module = Module::compile(
        &engine,
        r#"(module (import "env" "log" (func (param i32))))"#,
    )?;
    let mut store = Store::new(&engine);
    match Instance::new(&mut store, &module, &Linker::new()) {
        Err(Error::UnknownImport { module, name }) => {
            println!("missing import: {module}::{name}");
            assert_eq!((module.as_str(), name.as_str()), ("env", "log"));
        }
        other => return Err(format!("expected an unknown import, got {other:?}").into()),
    }

    // A precompiled module (artifact) damaged on its way: its checksum no longer matches. Loading it
    // with `Module::deserialize` fails the same way; `ArtifactInfo::parse` checks it without loading.
    let mut artifact = engine.precompile("(module (func (export \"f\")))")?;
    let last = artifact.len() - 40;
    artifact[last] ^= 0xff;
    match ArtifactInfo::parse(&artifact) {
        Err(Error::Artifact(ArtifactError::ChecksumMismatch)) => {
            println!("damaged artifact: recompile it from the wasm");
        }
        Err(Error::Artifact(other)) => {
            return Err(format!("another artifact error: {other}").into());
        }
        other => return Err(format!("expected an artifact error, got {other:?}").into()),
    }
    // `Module::compile` never runs an artifact unless the engine allows precompiled modules.
    let err = Module::compile(&engine, &artifact).unwrap_err();
    assert!(matches!(
        err,
        Error::Artifact(ArtifactError::PrecompiledNotAllowed)
    ));

    // A start function that traps makes instantiation fail with `Error::Trap`.
    let module = Module::compile(&engine, "(module (func $start unreachable) (start $start))")?;
    match Instance::new(&mut Store::new(&engine), &module, &Linker::new()) {
        Err(Error::Trap(trap)) => {
            println!("instantiation trapped: {}", trap.code());
            assert_eq!(trap.code(), TrapCode::UnreachableCodeReached);
        }
        other => return Err(format!("expected a trap, got {other:?}").into()),
    }

    // A trap inside a call is not an `Error`: a typed call returns it as its `Err`.
    let module = Module::compile(
        &engine,
        r#"(module (func (export "div") (param i32) (result i32)
                     (i32.div_u (i32.const 1) (local.get 0))))"#,
    )?;
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &Linker::new())?;
    let div = instance.typed_func::<i32, i32>("div")?;
    let trap = div.call(0).unwrap_err();
    println!("call trapped: {}", trap.code());
    assert_eq!(trap.code(), TrapCode::IntegerDivisionByZero);
    Ok(())
}
