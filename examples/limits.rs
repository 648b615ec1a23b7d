//! Limits as callbacks: a resource limiter that caps memory growth, and an epoch-deadline callback
//! that lets a long loop run a few more ticks before interrupting it.
//!
//! Run with `cargo run --example limits`.

use wasmz::{Config, Engine, HostFunc, Instance, Linker, Module, ResourceLimiter, Store, TrapCode};

/// Lets memories grow to 1 MiB.
struct OneMebibyte;

impl ResourceLimiter for OneMebibyte {
    fn memory_growing(&mut self, _current: u64, desired: u64, _maximum: Option<u64>) -> bool {
        desired <= 1 << 20
    }
}

const WAT: &str = r#"(module
  (import "env" "tick" (func $tick))
  (memory 1)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "spin") (loop $l (call $tick) (br $l))))"#;

/// Runs the example (also called by `tests/examples.rs`).
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let module = Module::compile(&engine, WAT)?;
    let ticker = engine.clone();
    let mut linker = Linker::new();
    linker.define(
        "env",
        "tick",
        HostFunc::wrap(move || ticker.increment_epoch()),
    )?;

    let mut store = Store::new(&engine);
    store.set_limiter(OneMebibyte);
    let mut extensions = 0;
    store.epoch_deadline_callback(move |epoch| {
        extensions += 1;
        println!("deadline reached at epoch {epoch}, extension {extensions}");
        (extensions <= 3).then_some(10)
    });
    store.set_epoch_deadline(10);
    let instance = Instance::new(&mut store, &module, &linker)?;

    let grow = instance.typed_func::<i32, i32>("grow")?;
    println!("grow(8) = {} (to 9 pages)", grow.call(8)?);
    println!("grow(8) = {} (17 pages would pass 1 MiB)", grow.call(8)?);
    let trap = instance.typed_func::<(), ()>("spin")?.call(()).unwrap_err();
    println!("spin: {}", trap.code());
    assert_eq!(trap.code(), TrapCode::Interrupted);
    Ok(())
}
