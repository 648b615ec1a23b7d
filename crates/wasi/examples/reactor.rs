//! Embedding a WASI reactor: instantiate, run `_initialize`, then call exports.
//!
//! ```sh
//! clang-16 --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor examples/reactor.c -o reactor.wasm
//! cargo run --release -p wasmz-wasi --example reactor -- reactor.wasm 40
//! ```

use wasmz::{Engine, ExecResult, Instance, Linker, Module, RawVal, Store};
use wasmz_wasi::WasiCtxBuilder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: reactor FILE.wasm [N]")?;
    let n: i32 = args.next().map_or(Ok(40), |s| s.parse())?;

    let engine = Engine::default();
    let module = Module::compile(&engine, std::fs::read(&path)?)?;
    let mut linker = Linker::new();
    wasmz_wasi::add_to_linker(&mut linker)?;
    let mut store = Store::new(&engine);
    store.set_data(WasiCtxBuilder::new().inherit_stdio().build());
    let mut instance = Instance::new(&mut store, &module, &linker)?;
    if let Some(result) = instance.initialize_reactor()? {
        result.into_result()?;
    }
    instance.call("hello", &[])?.into_result()?;
    match instance.call("fib", &[RawVal::from(n)])? {
        ExecResult::Ok(v) => println!("fib({n}) = {}", v[0].read_as::<u64>()),
        ExecResult::Trap(t) => return Err(t.into()),
        ExecResult::Exit(code) => std::process::exit(code),
    }
    Ok(())
}
