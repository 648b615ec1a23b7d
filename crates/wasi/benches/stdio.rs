//! Heavy stdio: a C program pushes 100 MB through `fd_write` (4 KiB `fwrite`s, 64 KiB stdio buffer),
//! against the same program producing the bytes without writing them. The difference is the cost of
//! the WASI path (host calls, copying out of linear memory, the captured-output buffer).
//!
//! Run with `cargo bench -p wasmz-wasi --bench stdio` (needs clang-16 for wasm32-wasi, see `.ci/run`).

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use wasmz::{Engine, ExecResult, Instance, Linker, Module, Store};
use wasmz_wasi::{OutputBuffer, WasiCtxBuilder};

fn run(module: &Module, linker: &Linker, mode: &str, out: &OutputBuffer) {
    out.clear();
    let mut store = Store::new(module.engine());
    store.set_data(
        WasiCtxBuilder::new()
            .arg("stdio")
            .arg(mode)
            .stdout_buffer(out.clone())
            .build(),
    );
    let mut instance = Instance::new(&mut store, module, linker).expect("instantiates");
    match instance.run_start_function().expect("has _start") {
        Some(ExecResult::Ok(_)) | Some(ExecResult::Exit(0)) => {}
        other => panic!("unexpected outcome {other:?}"),
    }
}

fn stdio(c: &mut Criterion) {
    let wasm = common::build_c("stdio_heavy");
    let engine = Engine::default();
    let module = Module::compile(&engine, &wasm).expect("compiles");
    let mut linker = Linker::new();
    wasmz_wasi::add_to_linker(&mut linker).expect("links");
    let out = OutputBuffer::new();
    run(&module, &linker, "write", &out);
    assert_eq!(out.contents().len(), 100 << 20);

    let mut g = c.benchmark_group("stdio_100mb");
    g.sample_size(10);
    g.bench_function("fd_write", |b| {
        b.iter(|| run(&module, &linker, "write", &out))
    });
    g.bench_function("no_write", |b| {
        b.iter(|| run(&module, &linker, "fill", &out))
    });
    g.finish();
}

criterion_group!(benches, stdio);
criterion_main!(benches);
