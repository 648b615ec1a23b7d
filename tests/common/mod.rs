//! Helpers and modules shared by the integration tests.

// Each test binary uses only some of these.
#![allow(dead_code)]

use anyhow::Result;
use std::path::PathBuf;
use wasmz::{ExecResult, Instance, RawVal, Trap};

/// The official test suite's directory: `WASMZ_TESTSUITE`, else `shared/wasm-testsuite` beside the
/// repository.
pub fn suite_dir() -> PathBuf {
    match std::env::var_os("WASMZ_TESTSUITE") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/wasm-testsuite"
        )),
    }
}

/// Calls `name` expecting a trap, and returns it.
pub fn trap_of(inst: &mut Instance, name: &str, args: &[RawVal]) -> Result<Trap> {
    match inst.call(name, args)? {
        ExecResult::Trap(t) => Ok(t),
        ExecResult::Ok(v) => anyhow::bail!("`{name}{args:?}` returned {v:?} instead of trapping"),
        ExecResult::Exit(code) => {
            anyhow::bail!("`{name}{args:?}` exited with {code} instead of trapping")
        }
    }
}

/// Integer division and remainder of every width and signedness, for division traps.
pub const INTEGER: &str = r#"(module
  (func (export "i32.div_s") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "i32.div_u") (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1)))
  (func (export "i32.rem_s") (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))
  (func (export "i32.rem_u") (param i32 i32) (result i32) (i32.rem_u (local.get 0) (local.get 1)))
  (func (export "i64.div_s") (param i64 i64) (result i64) (i64.div_s (local.get 0) (local.get 1)))
  (func (export "i64.div_u") (param i64 i64) (result i64) (i64.div_u (local.get 0) (local.get 1)))
  (func (export "i64.rem_s") (param i64 i64) (result i64) (i64.rem_s (local.get 0) (local.get 1)))
  (func (export "i64.rem_u") (param i64 i64) (result i64) (i64.rem_u (local.get 0) (local.get 1))))"#;

/// Unbounded and bounded recursion, for stack exhaustion.
pub const RECURSION: &str = r#"(module
  (func $forever (export "forever") (call $forever))
  (func $forever_args (export "forever_args") (param i64 f64 i32) (result i64)
    (call $forever_args (local.get 0) (local.get 1) (local.get 2)))
  (func $depth (export "depth") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $depth (i32.sub (local.get 0) (i32.const 1)))))))
  (func (export "ok") (result i32) (i32.const 99)))"#;

/// Loads an artifact the test made itself with this wasmz build (or damaged on purpose, to test the
/// checks that run before any code is published).
pub fn deserialize(
    engine: &wasmz::Engine,
    bytes: impl AsRef<[u8]>,
) -> Result<wasmz::Module, wasmz::Error> {
    // SAFETY: the tests load only artifacts they have just produced; a damaged one is refused by the
    // header and checksum verification before any of its code is mapped.
    unsafe { wasmz::Module::deserialize(engine, bytes) }
}

/// [`deserialize`] for an artifact file the test wrote.
pub fn deserialize_file(
    engine: &wasmz::Engine,
    path: impl AsRef<std::path::Path>,
) -> Result<wasmz::Module, wasmz::Error> {
    // SAFETY: as in `deserialize`.
    unsafe { wasmz::Module::deserialize_file(engine, path) }
}
