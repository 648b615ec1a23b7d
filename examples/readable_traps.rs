//! What a trap tells: its code, and a backtrace of wasm frames with module offsets and (demangled)
//! function names.
//!
//! Run with `cargo run --example readable_traps`.

use wasmz::{Engine, Instance, Linker, Module, Store};

const WAT: &str = r#"(module
  (func $_ZN7example6divide17h0123456789abcdefE (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1)))
  (func $average (param i32 i32) (result i32)
    (call $_ZN7example6divide17h0123456789abcdefE (local.get 0) (local.get 1)))
  (func (export "main") (param i32) (result i32) (call $average (i32.const 10) (local.get 0))))"#;

/// Runs the example (also called by `tests/examples.rs`).
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::default();
    let module = Module::compile(&engine, WAT)?;
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &Linker::new())?;
    let trap = instance
        .typed_func::<i32, i32>("main")?
        .call(0)
        .unwrap_err();
    println!("{trap}");
    for frame in trap.backtrace() {
        println!(
            "func[{}] {:?} at module offset {:?}",
            frame.func_index, frame.func_name, frame.module_offset
        );
    }
    assert_eq!(
        trap.backtrace()[0].func_name.as_deref(),
        Some("example::divide")
    );
    Ok(())
}
