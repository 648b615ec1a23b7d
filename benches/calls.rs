//! Call overhead: an empty exported call (raw, through a `Func`, typed), a one-argument call (raw
//! against typed), and a wasm → host → wasm round trip, for wasmz and wasmi.
//!
//! Run with `cargo bench --bench calls`. `host_round_trip_1000` makes 1000 host calls per iteration.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

const CALLS: &str = include_str!("wat/calls.wat");
const HOST_CALLS: i32 = 1000;

fn wasmz_instance() -> wasmz::Instance {
    let engine = wasmz::Engine::default();
    let module = wasmz::Module::compile(&engine, CALLS).expect("compiles");
    let mut linker = wasmz::Linker::new();
    linker
        .define(
            "env",
            "id",
            wasmz::HostFunc::new([wasmz::ValType::I32], [wasmz::ValType::I32], |_, p, r| {
                r[0] = p[0];
                Ok(())
            }),
        )
        .expect("defines");
    let mut store = wasmz::Store::new(&engine);
    wasmz::Instance::new(&mut store, &module, &linker).expect("instantiates")
}

fn wasmi_instance() -> (wasmi::Store<()>, wasmi::Instance) {
    let engine = wasmi::Engine::default();
    let module = wasmi::Module::new(&engine, CALLS).expect("compiles");
    let mut store = wasmi::Store::new(&engine, ());
    let mut linker = wasmi::Linker::<()>::new(&engine);
    linker.func_wrap("env", "id", |x: i32| x).expect("defines");
    let instance = linker
        .instantiate_and_start(&mut store, &module)
        .expect("instantiates");
    (store, instance)
}

fn calls(c: &mut Criterion) {
    let mut z = wasmz_instance();
    let (mut store, instance) = wasmi_instance();
    let nop = instance
        .get_typed_func::<(), ()>(&store, "nop")
        .expect("export");
    let host_loop = instance
        .get_typed_func::<i32, i32>(&store, "host_loop")
        .expect("export");
    let expected = (1..=HOST_CALLS).sum::<i32>();
    let r = z
        .call("host_loop", &[wasmz::RawVal::from(HOST_CALLS)])
        .expect("call");
    assert_eq!(r.values().expect("no trap")[0].read_as::<i32>(), expected);
    assert_eq!(
        host_loop.call(&mut store, HOST_CALLS).expect("no trap"),
        expected
    );

    let mut g = c.benchmark_group("empty_call");
    g.bench_function("wasmz", |b| {
        b.iter(|| z.call(black_box("nop"), &[]).expect("call"))
    });
    let z_nop = z.func("nop").expect("export");
    g.bench_function("wasmz_func", |b| {
        b.iter(|| z_nop.call(&[], &mut []).expect("call"))
    });
    let z_typed = z.typed_func::<(), ()>("nop").expect("export");
    g.bench_function("wasmz_typed", |b| {
        b.iter(|| z_typed.call(()).expect("call"))
    });
    g.bench_function("wasmi", |b| {
        b.iter(|| nop.call(&mut store, ()).expect("call"))
    });
    g.finish();

    // One parameter and one result: raw words through a `Func` against a typed handle.
    let z_host_loop = z.func("host_loop").expect("export");
    let z_typed_loop = z.typed_func::<i32, i32>("host_loop").expect("export");
    let mut g = c.benchmark_group("call_1_param_1_result");
    g.bench_function("wasmz_func", |b| {
        let mut results = [wasmz::RawVal::default()];
        b.iter(|| {
            z_host_loop
                .call(&[wasmz::RawVal::from(black_box(1))], &mut results)
                .expect("call")
        })
    });
    g.bench_function("wasmz_typed", |b| {
        b.iter(|| z_typed_loop.call(black_box(1)).expect("call"))
    });
    g.finish();

    let mut g = c.benchmark_group("host_round_trip_1000");
    g.bench_function("wasmz", |b| {
        b.iter(|| {
            z.call("host_loop", &[wasmz::RawVal::from(black_box(HOST_CALLS))])
                .expect("call")
        })
    });
    g.bench_function("wasmi", |b| {
        b.iter(|| {
            host_loop
                .call(&mut store, black_box(HOST_CALLS))
                .expect("call")
        })
    });
    g.finish();
}

criterion_group!(benches, calls);
criterion_main!(benches);
