//! Typed host functions and typed calls: signatures come from Rust types, checked once.
//!
//! Run with `cargo run --example typed`.

use wasmz::{Engine, HostContext, HostError, HostFunc, Instance, Linker, Module, Store};

const WAT: &str = r#"(module
  (import "env" "scale" (func $scale (param f64 i32) (result f64)))
  (import "env" "checked_div" (func $checked_div (param i64 i64) (result i64)))
  (import "env" "pages" (func $pages (result i32)))
  (memory 3)
  (func (export "area") (param f64 f64) (result f64)
    (call $scale (f64.mul (local.get 0) (local.get 1)) (i32.const 2)))
  (func (export "ratio") (param i64 i64) (result i64) (call $checked_div (local.get 0) (local.get 1)))
  (func (export "pages") (result i32) (call $pages)))"#;

/// Runs the example (also called by `tests/examples.rs`).
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::default();
    let module = Module::compile(&engine, WAT)?;

    let mut linker = Linker::new();
    // Without the caller's context: parameters and result from the closure's signature.
    linker.define(
        "env",
        "scale",
        HostFunc::wrap(|x: f64, by: i32| x * f64::from(by)),
    )?;
    // A `Result` traps the caller with the host's error.
    linker.define(
        "env",
        "checked_div",
        HostFunc::wrap(|a: i64, b: i64| -> Result<i64, HostError> {
            a.checked_div(b)
                .ok_or_else(|| HostError::new("division by zero"))
        }),
    )?;
    // With the caller's context first.
    linker.define(
        "env",
        "pages",
        HostFunc::wrap(|cx: &mut HostContext| (cx.memory_size() / 65536) as i32),
    )?;

    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &linker)?;
    let area = instance.typed_func::<(f64, f64), f64>("area")?;
    let ratio = instance.typed_func::<(i64, i64), i64>("ratio")?;
    let pages = instance.typed_func::<(), i32>("pages")?;

    println!("area(3, 4) = {}", area.call((3.0, 4.0))?);
    println!("ratio(22, 7) = {}", ratio.call((22, 7))?);
    println!("pages() = {}", pages.call(())?);
    match ratio.call((1, 0)) {
        Ok(v) => println!("ratio(1, 0) = {v}"),
        Err(trap) => println!("ratio(1, 0) trapped: {}", trap.message().unwrap_or("")),
    }
    assert_eq!(area.call((3.0, 4.0))?, 24.0);
    assert_eq!(pages.call(())?, 3);
    assert!(ratio.call((1, 0)).is_err());
    Ok(())
}
