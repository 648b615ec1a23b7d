//! SIMD: the same C matrix multiply built for wasm without and with `-msimd128`, run by wasmz.
//!
//! Run with `cargo bench --bench simd` (needs `clang-16` with the wasm32 target, see `.ci/run`).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;

fn build(name: &str, flags: &[&str]) -> Vec<u8> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/c/matmul.c");
    let out = std::env::temp_dir().join(format!("wasmz-bench-{name}-{}.wasm", std::process::id()));
    let status = Command::new("clang-16")
        .args(["--target=wasm32", "-O2", "-nostdlib", "-Wl,--no-entry"])
        .args(flags)
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("clang-16 runs (install it: see .ci/run)");
    assert!(status.success(), "clang-16 failed for {name}");
    let wasm = std::fs::read(&out).expect("clang wrote the module");
    let _ = std::fs::remove_file(&out);
    wasm
}

fn instance(wasm: &[u8]) -> wasmz::Func {
    let engine = wasmz::Engine::default();
    let module = wasmz::Module::compile(&engine, wasm).expect("compiles");
    let mut store = wasmz::Store::new(&engine);
    let instance =
        wasmz::Instance::new(&mut store, &module, &wasmz::Linker::new()).expect("instantiates");
    instance.func("matmul").expect("exported")
}

fn run(f: &wasmz::Func, rounds: i32) -> f32 {
    let mut out = [wasmz::RawVal::default()];
    f.call(&[wasmz::RawVal::from(rounds)], &mut out)
        .expect("call")
        .expect("no trap");
    out[0].read_as::<f32>()
}

fn simd(c: &mut Criterion) {
    let scalar = build("scalar", &["-fno-vectorize", "-fno-slp-vectorize"]);
    let vector = build("simd", &["-msimd128"]);
    assert!(
        uses_simd(&vector) && !uses_simd(&scalar),
        "the -msimd128 build must use v128 and the scalar one must not"
    );
    let (s, v) = (instance(&scalar), instance(&vector));
    assert_eq!(run(&s, 1), run(&v, 1));
    let mut g = c.benchmark_group("matmul64_c");
    g.bench_function("scalar", |b| b.iter(|| run(&s, black_box(4))));
    g.bench_function("simd128", |b| b.iter(|| run(&v, black_box(4))));
    g.finish();
}

/// Whether any function body of the module uses a v128 operator.
fn uses_simd(wasm: &[u8]) -> bool {
    wasmparser::Parser::new(0).parse_all(wasm).any(|payload| {
        let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload else {
            return false;
        };
        let mut reader = body.get_operators_reader().expect("valid body");
        std::iter::from_fn(|| (!reader.eof()).then(|| reader.read().expect("valid operator"))).any(
            |op| {
                let name = format!("{op:?}");
                name.contains("V128") || name.contains("x4")
            },
        )
    })
}

criterion_group!(benches, simd);
criterion_main!(benches);
