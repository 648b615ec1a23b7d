//! Compilation and instantiation: wasmz (Cranelift, eager and lazy) and wasmi (interpreter translation) on
//! the same module.
//!
//! Run with `cargo bench --bench compile`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

/// A module of `n` functions, each a small loop with arithmetic and memory traffic.
fn generated_module(n: usize) -> Vec<u8> {
    let mut text = String::from("(module (memory 1)\n");
    for i in 0..n {
        text.push_str(&format!(
            "(func (export \"f{i}\") (param $x i32) (result i32) (local $i i32)
               (loop $l
                 (i32.store (i32.and (local.get $i) (i32.const 1020)) (i32.add (local.get $x) (i32.const {i})))
                 (local.set $x (i32.xor (i32.mul (local.get $x) (i32.const 31)) (i32.load (i32.const 16))))
                 (local.set $i (i32.add (local.get $i) (i32.const 4)))
                 (br_if $l (i32.lt_u (local.get $i) (i32.const 64))))
               (local.get $x))\n"
        ));
    }
    text.push(')');
    wat::parse_str(&text).expect("generated module parses")
}

fn compile(c: &mut Criterion) {
    let small = wat::parse_str(include_str!("wat/kernels.wat")).expect("parses");
    let large = generated_module(500);
    let z = wasmz::Engine::default();
    let lazy = wasmz::Engine::new(wasmz::Config::new().lazy_compilation(true)).expect("engine");
    let i = wasmi::Engine::default();

    let mut g = c.benchmark_group("compile_small");
    g.bench_function("wasmz", |b| {
        b.iter(|| wasmz::Module::compile(&z, black_box(&small)).expect("compiles"))
    });
    g.bench_function("wasmz_lazy", |b| {
        b.iter(|| wasmz::Module::compile(&lazy, black_box(&small)).expect("compiles"))
    });
    g.bench_function("wasmi", |b| {
        b.iter(|| wasmi::Module::new(&i, black_box(&small)).expect("compiles"))
    });
    g.finish();

    let mut g = c.benchmark_group("compile_500_functions");
    g.sample_size(10);
    g.bench_function("wasmz", |b| {
        b.iter(|| wasmz::Module::compile(&z, black_box(&large)).expect("compiles"))
    });
    g.bench_function("wasmz_lazy", |b| {
        b.iter(|| wasmz::Module::compile(&lazy, black_box(&large)).expect("compiles"))
    });
    g.bench_function("wasmi", |b| {
        b.iter(|| wasmi::Module::new(&i, black_box(&large)).expect("compiles"))
    });
    g.finish();

    instantiate(c, "instantiate_small", &z, &i, &small);
    // A module with 4 MiB of data (an interpreter's tables, a font, a voice): wasmz maps its memory
    // image copy-on-write, an interpreter copies the data in.
    instantiate(c, "instantiate_4mb_data", &z, &i, &data_module(4 << 20));
}

/// Benchmark group `name`: instantiating module `wasm` with wasmz (engine `z`) and wasmi (`i`).
fn instantiate(c: &mut Criterion, name: &str, z: &wasmz::Engine, i: &wasmi::Engine, wasm: &[u8]) {
    let zm = wasmz::Module::compile(z, wasm).expect("compiles");
    let im = wasmi::Module::new(i, wasm).expect("compiles");
    let mut g = c.benchmark_group(name);
    g.bench_function("wasmz", |b| {
        b.iter(|| {
            let mut store = wasmz::Store::new(z);
            wasmz::Instance::new(&mut store, &zm, &wasmz::Linker::new()).expect("instantiates")
        })
    });
    g.bench_function("wasmi", |b| {
        b.iter(|| {
            let mut store = wasmi::Store::new(i, ());
            wasmi::Linker::<()>::new(i)
                .instantiate_and_start(&mut store, &im)
                .expect("instantiates");
        })
    });
    g.finish();
}

/// A module whose memory (128 pages) starts with `len` bytes of data, in one active segment.
fn data_module(len: usize) -> Vec<u8> {
    let leb = |mut v: usize, out: &mut Vec<u8>| loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        out.push(if v == 0 { byte } else { byte | 0x80 });
        if v == 0 {
            break;
        }
    };
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend([5, 4, 1, 0, 0x80, 1]);
    let mut section = vec![1, 0, 0x41, 0, 0x0b];
    leb(len, &mut section);
    section.extend((0..len).map(|i| (i * 31 % 251) as u8));
    wasm.push(11);
    leb(section.len(), &mut wasm);
    wasm.extend(section);
    wasm
}

criterion_group!(benches, compile);
criterion_main!(benches);
