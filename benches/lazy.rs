//! Lazy compilation versus eager: time from bytes to the result of the first call on a module of more
//! than 1 MB, and the steady-state cost of calls once everything needed is compiled.
//!
//! Run with `cargo bench --bench lazy`. The ratios of the `first_call_1mb` entries and of the `hot_calls`
//! entries are the figures quoted in the README.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use wasmz::{Config, Engine, Instance, Linker, Module, RawVal, Store};

#[path = "common/large_module.rs"]
mod large_module;
use large_module::large_module;

/// Compiles `wasm`, instantiates it and calls `f` once (31 nested calls: `b` has 31 bits set).
fn first_call(engine: &Engine, wasm: &[u8]) -> i32 {
    let module = Module::compile(engine, wasm).expect("compiles");
    let mut store = Store::new(engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new()).expect("instantiates");
    let values = inst
        .call("f", &[RawVal::from(12345i32), RawVal::from(0x7fff_ffffi32)])
        .expect("calls")
        .into_result()
        .expect("does not trap");
    values[0].read_as::<i32>()
}

fn engines() -> [(&'static str, Engine); 2] {
    let lazy = Engine::new(Config::new().lazy_compilation(true)).expect("engine");
    [("eager", Engine::default()), ("lazy", lazy)]
}

fn first_call_1mb(c: &mut Criterion) {
    let wasm = large_module();
    let mut g = c.benchmark_group("first_call_1mb");
    g.sample_size(10);
    for (name, engine) in engines() {
        g.bench_function(name, |b| b.iter(|| first_call(&engine, black_box(&wasm))));
    }
    g.finish();
}

/// A small function called in a loop from wasm (direct and indirect calls), recursive `fib`, and an
/// empty function called from the host.
const HOT: &str = r#"(module
  (type $ii (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) func $inc)
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func (export "direct") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (call $inc (local.get $acc)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc))
  (func (export "indirect") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (call_indirect (type $ii) (local.get $acc) (i32.const 0)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_s (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "empty")))"#;

fn hot_calls(c: &mut Criterion) {
    let mut g = c.benchmark_group("hot_calls");
    for (name, engine) in engines() {
        let module = Module::compile(&engine, HOT).expect("compiles");
        let mut store = Store::new(&engine);
        let inst = Instance::new(&mut store, &module, &Linker::new()).expect("instantiates");
        for (export, arg) in [("direct", 1000), ("indirect", 1000), ("fib", 20)] {
            let func = inst.func(export).expect("exported");
            let mut results = [RawVal::default()];
            // The first call compiles what the loop needs.
            func.call(&[RawVal::from(1i32)], &mut results)
                .expect("calls")
                .expect("does not trap");
            g.bench_function(format!("{export}_{arg}/{name}"), |b| {
                b.iter(|| {
                    func.call(&[RawVal::from(black_box(arg))], &mut results)
                        .expect("calls")
                        .expect("does not trap");
                    results[0].read_as::<i32>()
                })
            });
        }
        let func = inst.func("empty").expect("exported");
        func.call(&[], &mut [])
            .expect("calls")
            .expect("does not trap");
        g.bench_function(format!("host_call_empty/{name}"), |b| {
            b.iter(|| {
                func.call(&[], &mut [])
                    .expect("calls")
                    .expect("does not trap")
            })
        });
        drop(inst);
    }
    g.finish();
}

criterion_group!(benches, first_call_1mb, hot_calls);
criterion_main!(benches);
