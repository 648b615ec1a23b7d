//! The cost of exceptions: 1000 throws caught one call up, one throw through 100 frames, and the
//! same calls inside a `try_table` that never throws (against plain calls).
//!
//! Run with `cargo bench --bench exceptions`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

const MODULE: &str = r#"(module
  (tag $e (param i32))
  (func $thrower (param i32) (throw $e (local.get 0)))
  (func $id (param i32) (result i32) (local.get 0))
  (func $deep (param i32)
    (if (i32.eqz (local.get 0)) (then (throw $e (i32.const 1))))
    (call $deep (i32.sub (local.get 0) (i32.const 1))))
  ;; n throws, each caught by the caller.
  (func (export "throw_loop") (param i32) (result i32) (local $sum i32)
    (loop $next
      (block $h (result i32)
        (try_table (catch $e $h) (call $thrower (local.get 0)))
        (unreachable))
      (local.get $sum) (i32.add) (local.set $sum)
      (br_if $next (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get $sum))
  ;; One throw `depth` frames down.
  (func (export "deep") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (call $deep (local.get 0)))
      (i32.const 0)))
  ;; n calls inside a try_table that never throws, and n plain calls.
  (func (export "try_calls") (param i32) (result i32) (local $sum i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (loop $next
          (local.set $sum (i32.add (local.get $sum) (call $id (local.get 0))))
          (br_if $next (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
      (local.get $sum)))
  (func (export "plain_calls") (param i32) (result i32) (local $sum i32)
    (loop $next
      (local.set $sum (i32.add (local.get $sum) (call $id (local.get 0))))
      (br_if $next (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get $sum)))"#;

fn exceptions(c: &mut Criterion) {
    let engine = wasmz::Engine::default();
    let module = wasmz::Module::compile(&engine, MODULE).expect("compiles");
    let mut store = wasmz::Store::new(&engine);
    let mut inst =
        wasmz::Instance::new(&mut store, &module, &wasmz::Linker::new()).expect("instantiates");
    let mut run = |name: &str, n: i32| {
        let r = inst.call(name, &[wasmz::RawVal::from(n)]).expect("call");
        r.values().expect("no trap")[0].read_as::<i32>()
    };
    assert_eq!(run("throw_loop", 1000), 500_500);
    assert_eq!(run("deep", 100), 1);
    assert_eq!(run("try_calls", 1000), run("plain_calls", 1000));

    let mut g = c.benchmark_group("exceptions");
    g.bench_function("throw_catch_1000", |b| {
        b.iter(|| run("throw_loop", black_box(1000)))
    });
    g.bench_function("throw_through_100_frames", |b| {
        b.iter(|| run("deep", black_box(100)))
    });
    g.bench_function("try_calls_1000", |b| {
        b.iter(|| run("try_calls", black_box(1000)))
    });
    g.bench_function("plain_calls_1000", |b| {
        b.iter(|| run("plain_calls", black_box(1000)))
    });
    g.finish();
}

criterion_group!(benches, exceptions);
criterion_main!(benches);
