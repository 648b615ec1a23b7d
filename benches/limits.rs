//! Overhead of execution limits: the fib and sieve kernels compiled plain, with fuel metering and with
//! epoch interruption, in one run.
//!
//! Run with `cargo bench --bench limits`. Each group's entries are directly comparable.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use wasmz::{Config, Engine, Instance, Linker, Module, RawVal, Store};

const KERNELS: &str = include_str!("wat/kernels.wat");
const FIB_N: i32 = 25;
const SIEVE_N: i32 = 200_000;

/// An instance of the kernels for `config`, with limits that never stop them.
fn instance(config: &Config) -> Instance {
    let engine = Engine::new(config).expect("engine");
    let module = Module::compile(&engine, KERNELS).expect("kernels compile");
    let mut store = Store::new(&engine);
    store.set_fuel(u64::MAX);
    store.set_epoch_deadline(u64::MAX);
    Instance::new(&mut store, &module, &Linker::new()).expect("kernels instantiate")
}

fn call(inst: &mut Instance, name: &str, arg: i32) -> RawVal {
    let result = inst
        .call(name, &[RawVal::from(arg)])
        .expect("export exists");
    result.values().expect("no trap")[0]
}

fn limits(c: &mut Criterion) {
    let mut variants = [
        ("plain", instance(&Config::new())),
        ("fuel", instance(Config::new().consume_fuel(true))),
        ("epoch", instance(Config::new().epoch_interruption(true))),
    ];
    for (kernel, n) in [("fib", FIB_N), ("sieve", SIEVE_N)] {
        let mut group = c.benchmark_group(format!("limits/{kernel}"));
        for (name, inst) in &mut variants {
            group.bench_function(*name, |b| {
                b.iter(|| call(inst, kernel, black_box(n)));
            });
        }
        group.finish();
    }
}

criterion_group!(benches, limits);
criterion_main!(benches);
