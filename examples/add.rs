//! The seed API's complete example: an `add` host function and an exported `add` that calls it.
//!
//! Run with `cargo run --example add`.

use wasmz::{Engine, ExecResult, HostFunc, Instance, Linker, Module, RawVal, Store, ValType};

fn main() -> Result<(), wasmz::Error> {
    let engine = Engine::default();
    let module = Module::compile(&engine, include_str!("add.wat"))?;

    let mut linker = Linker::new();
    linker.define(
        "env",
        "add",
        HostFunc::new(
            [ValType::I32, ValType::I32],
            [ValType::I32],
            |_cx, params, results| {
                let a = params[0].read_as::<i32>();
                let b = params[1].read_as::<i32>();
                results[0] = RawVal::from(a + b);
                Ok(())
            },
        ),
    )?;

    let mut store = Store::new(&engine);
    let mut instance = Instance::new(&mut store, &module, &linker)?;
    match instance.call("add", &[RawVal::from(3i32), RawVal::from(4i32)])? {
        ExecResult::Ok(values) => println!("3 + 4 = {}", values[0].read_as::<i32>()),
        ExecResult::Trap(trap) => println!("Trap: {trap}"),
        ExecResult::Exit(status) => println!("exited with status {status}"),
    }
    Ok(())
}
