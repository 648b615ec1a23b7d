//! Instantiating a real module per request: SQLite built for WASI (1 MB of code, its data segments),
//! with `Instance::new` (imports looked up by name each time) and with a pre-instantiated
//! `InstancePre`, each in a fresh store with a fresh WASI context. Prints the memory one instance
//! holds (the store's budget accounting: memories, tables, globals and code).
//!
//! Run with `cargo bench -p wasmz-wasi --bench instantiate` (needs clang-16 for wasm32-wasi).

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use wasmz::{Engine, Instance, Linker, Module, Store};
use wasmz_wasi::WasiCtxBuilder;

fn fresh_store(engine: &Engine) -> Store {
    let mut store = Store::new(engine);
    store.set_data(WasiCtxBuilder::new().arg("sqlite").build());
    store
}

fn instantiate(c: &mut Criterion) {
    let wasm = common::build_sqlite();
    let engine = Engine::default();
    let module = Module::compile(&engine, &wasm).expect("compiles");
    let mut linker = Linker::new();
    wasmz_wasi::add_to_linker(&mut linker).expect("links");
    let pre = linker.instantiate_pre(&module).expect("resolves");

    let mut store = fresh_store(&engine);
    let before = store.memory_budget().used;
    pre.instantiate(&mut store).expect("instantiates");
    let budget = store.memory_budget();
    let data: usize = wasmparser::Parser::new(0)
        .parse_all(&wasm)
        .filter_map(|p| match p {
            Ok(wasmparser::Payload::DataSection(r)) => Some(
                r.into_iter()
                    .map(|d| d.map_or(0, |d| d.data.len()))
                    .sum::<usize>(),
            ),
            _ => None,
        })
        .sum();
    eprintln!(
        "sqlite: {} bytes of wasm, {data} bytes of data segments; one instance holds {} bytes \
         (code charged once per store: {} bytes before instantiation)",
        wasm.len(),
        budget.used - before,
        before
    );

    let mut g = c.benchmark_group("instantiate_sqlite");
    g.bench_function("instance_new", |b| {
        b.iter(|| {
            let mut store = fresh_store(&engine);
            Instance::new(&mut store, &module, &linker).expect("instantiates")
        })
    });
    g.bench_function("instance_pre", |b| {
        b.iter(|| {
            let mut store = fresh_store(&engine);
            pre.instantiate(&mut store).expect("instantiates")
        })
    });
    // What copying the data segments alone costs, for comparison.
    let bytes = vec![7u8; data];
    let mut target = vec![0u8; data];
    g.bench_function("copy_data_segments", |b| {
        b.iter(|| target.copy_from_slice(std::hint::black_box(&bytes)))
    });
    g.finish();
}

criterion_group!(benches, instantiate);
criterion_main!(benches);
