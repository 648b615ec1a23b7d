//! One linker and one pre-instantiated module shared by worker threads, each making instances in its
//! own stores (the shape of a server instantiating a module per request).
//!
//! Run with `cargo run --example pre_instantiate`.

use std::sync::Arc;
use wasmz::{Engine, HostFunc, Linker, Module, Store};

const WAT: &str = r#"(module
  (import "env" "log" (func $log (param i32)))
  (func (export "handle") (param i32) (result i32)
    (call $log (local.get 0))
    (i32.mul (local.get 0) (i32.const 3))))"#;

/// Runs the example (also called by `tests/examples.rs`).
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::default();
    let module = Module::compile(&engine, WAT)?;
    let mut linker = Linker::new();
    linker.define(
        "env",
        "log",
        HostFunc::wrap(|request: i32| {
            let _ = request;
        }),
    )?;
    // Imports resolved once; `InstancePre` is Send + Sync.
    let pre = Arc::new(linker.instantiate_pre(&module)?);
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            let pre = pre.clone();
            std::thread::spawn(move || -> Result<i32, wasmz::Error> {
                let mut total = 0;
                for request in 0..100 {
                    // A fresh store and instance per request.
                    let mut store = Store::new(pre.module().engine());
                    let instance = pre.instantiate(&mut store)?;
                    let handle = instance.typed_func::<i32, i32>("handle")?;
                    total += handle
                        .call(worker * 100 + request)
                        .map_err(wasmz::Error::Trap)?;
                }
                Ok(total)
            })
        })
        .collect();
    let mut sum = 0;
    for worker in workers {
        sum += worker.join().expect("worker panicked")?;
    }
    println!("400 requests handled, sum of results {sum}");
    assert_eq!(sum, 3 * (0..400).sum::<i32>());
    Ok(())
}
