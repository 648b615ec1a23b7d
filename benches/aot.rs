//! Loading a precompiled artifact versus compiling: a module of more than 1 MB of wasm.
//!
//! Run with `cargo bench --bench aot`. The ratio of the two `load_1mb` entries is the figure quoted in the
//! README.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

#[path = "common/large_module.rs"]
mod large_module;
use large_module::large_module;

fn aot(c: &mut Criterion) {
    let wasm = large_module();
    let engine = wasmz::Engine::default();
    let artifact = engine.precompile(&wasm).expect("compiles");
    let mut g = c.benchmark_group("load_1mb");
    g.sample_size(10);
    g.bench_function("compile", |b| {
        b.iter(|| wasmz::Module::compile(&engine, black_box(&wasm)).expect("compiles"))
    });
    g.bench_function("deserialize", |b| {
        b.iter(|| {
            // SAFETY: the artifact was made just above by this engine.
            unsafe { wasmz::Module::deserialize(&engine, black_box(&artifact)) }.expect("loads")
        })
    });
    g.finish();
}

criterion_group!(benches, aot);
criterion_main!(benches);
