//! The GC heap: allocating short-lived structs (inline bump allocation plus the collections they
//! cause), and building then walking a linked list that stays live, against the same work in native
//! Rust with `Box` (the system allocator).
//!
//! Run with `cargo bench --bench gc`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

const MODULE: &str = r#"(module
  (type $pair (struct (field i32) (field i64)))
  (type $node (struct (field $value i32) (field $next (ref null $node))))
  ;; n structs, each dropped right away; returns the sum of their first fields.
  (func (export "churn") (param $n i32) (result i32) (local $sum i32)
    (loop $next
      (local.set $sum (i32.add (local.get $sum)
        (struct.get $pair 0 (struct.new $pair (local.get $n) (i64.extend_i32_u (local.get $n))))))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
  ;; A list of n nodes, then the sum of its values.
  (func (export "list") (param $n i32) (result i32) (local $head (ref null $node)) (local $sum i32)
    (loop $build
      (local.set $head (struct.new $node (local.get $n) (local.get $head)))
      (br_if $build (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (block $done
      (loop $walk
        (br_if $done (ref.is_null (local.get $head)))
        (local.set $sum (i32.add (local.get $sum) (struct.get $node $value (local.get $head))))
        (local.set $head (struct.get $node $next (local.get $head)))
        (br $walk)))
    (local.get $sum)))"#;

/// A node of the native linked list.
struct Node {
    value: i32,
    next: Option<Box<Node>>,
}

fn native_churn(mut n: i32) -> i32 {
    let mut sum = 0i32;
    while n != 0 {
        let pair = black_box(Box::new((n, i64::from(n))));
        sum = sum.wrapping_add(pair.0);
        n -= 1;
    }
    sum
}

fn native_list(mut n: i32) -> i32 {
    let mut head: Option<Box<Node>> = None;
    while n != 0 {
        head = Some(black_box(Box::new(Node {
            value: n,
            next: head,
        })));
        n -= 1;
    }
    let mut sum = 0i32;
    let mut cur = head.as_deref();
    while let Some(node) = cur {
        sum = sum.wrapping_add(node.value);
        cur = node.next.as_deref();
    }
    // Unlink iteratively: the default recursive drop would overflow the stack on long lists.
    while let Some(mut node) = head {
        head = node.next.take();
    }
    sum
}

fn gc(c: &mut Criterion) {
    let engine = wasmz::Engine::default();
    let module = wasmz::Module::compile(&engine, MODULE).expect("compiles");
    let mut store = wasmz::Store::new(&engine);
    let mut inst =
        wasmz::Instance::new(&mut store, &module, &wasmz::Linker::new()).expect("instantiates");
    let mut run = |name: &str, n: i32| {
        let r = inst.call(name, &[wasmz::RawVal::from(n)]).expect("call");
        r.values().expect("no trap")[0].read_as::<i32>()
    };
    assert_eq!(run("churn", 100_000), native_churn(100_000));
    assert_eq!(run("list", 10_000), native_list(10_000));

    let mut g = c.benchmark_group("gc");
    g.bench_function("churn_100k/wasmz", |b| {
        b.iter(|| run("churn", black_box(100_000)))
    });
    g.bench_function("churn_100k/native_box", |b| {
        b.iter(|| native_churn(black_box(100_000)))
    });
    g.bench_function("list_10k/wasmz", |b| {
        b.iter(|| run("list", black_box(10_000)))
    });
    g.bench_function("list_10k/native_box", |b| {
        b.iter(|| native_list(black_box(10_000)))
    });
    g.finish();
}

criterion_group!(benches, gc);
criterion_main!(benches);
