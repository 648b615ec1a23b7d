//! A host function that calls back into the module that called it, reads a global of it, and refills
//! the store's fuel: everything through its `HostContext`, nothing kept in the store's data.
//!
//! Run with `cargo run --example host_callbacks`.

use wasmz::{
    Config, Engine, Extern, HostContext, HostError, HostFunc, Instance, Linker, Module, Store, Val,
};

const WAT: &str = r#"(module
  (import "host" "twice" (func $twice (param i32) (result i32)))
  (global (export "calls") (mut i32) (i32.const 0))
  (func (export "square") (param i32) (result i32)
    (global.set 0 (i32.add (global.get 0) (i32.const 1)))
    (i32.mul (local.get 0) (local.get 0)))
  (func (export "run") (param i32) (result i32) (call $twice (local.get 0))))"#;

/// Runs the example (also called by `tests/examples.rs`).
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let module = Module::compile(&engine, WAT)?;
    let mut linker = Linker::new();
    // square(square(x)) by calling the module's own export, then a look at its global.
    linker.define(
        "host",
        "twice",
        HostFunc::wrap(|cx: &mut HostContext, x: i32| -> Result<i32, HostError> {
            let square = cx
                .get_func("square")
                .and_then(|f| f.typed::<i32, i32>().ok())
                .ok_or_else(|| HostError::new("the module exports no `square`"))?;
            let once = square.call(x).map_err(|t| HostError::new(t.to_string()))?;
            let twice = square
                .call(once)
                .map_err(|t| HostError::new(t.to_string()))?;
            if let Some(Extern::Global(calls)) = cx.get_export("calls") {
                println!("square was called {:?} times", calls.get());
            }
            cx.set_fuel(cx.fuel() + 10);
            Ok(twice)
        }),
    )?;
    let mut store = Store::new(&engine);
    store.set_fuel(100);
    let instance = Instance::new(&mut store, &module, &linker)?;
    let run = instance.typed_func::<i32, i32>("run")?;
    println!("run(3) = {}", run.call(3)?);
    assert_eq!(run.call(3)?, 81);
    assert!(matches!(
        instance.global("calls").map(|g| g.get()),
        Some(Val::I32(4))
    ));
    Ok(())
}
