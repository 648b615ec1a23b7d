//! CPU kernels through the embedding API: wasmz, the wasmi interpreter, and native Rust, in one run.
//!
//! Run with `cargo bench --bench kernels`. Each group's entries are directly comparable.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

const KERNELS: &str = include_str!("wat/kernels.wat");
const FIB_N: i32 = 25;
const SIEVE_N: i32 = 200_000;
const MATMUL_N: i32 = 48;

fn native_fib(n: i32) -> i32 {
    if n < 2 {
        n
    } else {
        native_fib(n - 1) + native_fib(n - 2)
    }
}

fn native_sieve(n: usize) -> i32 {
    let mut flags = vec![1u8; n];
    let mut count = 0;
    for i in 2..n {
        if flags[i] != 0 {
            count += 1;
            let mut j = i * i;
            while j < n {
                flags[j] = 0;
                j += i;
            }
        }
    }
    count
}

fn native_matmul(n: usize) -> f64 {
    let a: Vec<f64> = (0..n * n).map(|x| ((x / n) + (x % n)) as f64).collect();
    let b: Vec<f64> = (0..n * n)
        .map(|x| (x / n) as f64 - (x % n) as f64)
        .collect();
    let mut c = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            let mut sum = 0.0;
            for k in 0..n {
                sum += a[i * n + k] * b[k * n + j];
            }
            c[i * n + j] = sum;
        }
    }
    (0..n).map(|i| c[i * n + i]).sum()
}

struct Wasmz(wasmz::Instance);

impl Wasmz {
    fn new() -> Wasmz {
        let engine = wasmz::Engine::default();
        let module = wasmz::Module::compile(&engine, KERNELS).expect("kernels compile");
        let mut store = wasmz::Store::new(&engine);
        Wasmz(
            wasmz::Instance::new(&mut store, &module, &wasmz::Linker::new())
                .expect("kernels instantiate"),
        )
    }

    fn call(&mut self, name: &str, arg: i32) -> wasmz::RawVal {
        let result = self
            .0
            .call(name, &[wasmz::RawVal::from(arg)])
            .expect("export exists");
        result.values().expect("no trap")[0]
    }
}

struct Wasmi {
    store: wasmi::Store<()>,
    instance: wasmi::Instance,
}

impl Wasmi {
    fn new() -> Wasmi {
        let engine = wasmi::Engine::default();
        let module = wasmi::Module::new(&engine, KERNELS).expect("kernels compile");
        let mut store = wasmi::Store::new(&engine, ());
        let instance = wasmi::Linker::<()>::new(&engine)
            .instantiate_and_start(&mut store, &module)
            .expect("kernels instantiate");
        Wasmi { store, instance }
    }

    fn call<R: wasmi::WasmResults>(&mut self, name: &str, arg: i32) -> R {
        let func = self
            .instance
            .get_typed_func::<i32, R>(&self.store, name)
            .expect("export exists");
        func.call(&mut self.store, arg).expect("no trap")
    }
}

fn kernels(c: &mut Criterion) {
    let mut z = Wasmz::new();
    let mut i = Wasmi::new();
    assert_eq!(z.call("fib", FIB_N).read_as::<i32>(), native_fib(FIB_N));
    assert_eq!(i.call::<i32>("fib", FIB_N), native_fib(FIB_N));
    assert_eq!(
        z.call("sieve", SIEVE_N).read_as::<i32>(),
        native_sieve(SIEVE_N as usize)
    );
    assert_eq!(
        z.call("matmul", MATMUL_N).read_as::<f64>(),
        native_matmul(MATMUL_N as usize)
    );
    assert_eq!(
        i.call::<f64>("matmul", MATMUL_N),
        native_matmul(MATMUL_N as usize)
    );

    let mut g = c.benchmark_group("fib25");
    g.bench_function("wasmz", |b| b.iter(|| z.call("fib", black_box(FIB_N))));
    g.bench_function("wasmi", |b| {
        b.iter(|| i.call::<i32>("fib", black_box(FIB_N)))
    });
    g.bench_function("native", |b| b.iter(|| native_fib(black_box(FIB_N))));
    g.finish();

    let mut g = c.benchmark_group("sieve200k");
    g.bench_function("wasmz", |b| b.iter(|| z.call("sieve", black_box(SIEVE_N))));
    g.bench_function("wasmi", |b| {
        b.iter(|| i.call::<i32>("sieve", black_box(SIEVE_N)))
    });
    g.bench_function("native", |b| {
        b.iter(|| native_sieve(black_box(SIEVE_N as usize)))
    });
    g.finish();

    let mut g = c.benchmark_group("matmul48");
    g.bench_function("wasmz", |b| {
        b.iter(|| z.call("matmul", black_box(MATMUL_N)))
    });
    g.bench_function("wasmi", |b| {
        b.iter(|| i.call::<f64>("matmul", black_box(MATMUL_N)))
    });
    g.bench_function("native", |b| {
        b.iter(|| native_matmul(black_box(MATMUL_N as usize)))
    });
    g.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
