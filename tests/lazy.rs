//! Integration tests of lazy compilation ([`Config::lazy_compilation`]): every result must equal the
//! eagerly compiled module's, and functions must be compiled on their first call only.

mod common;
use common::trap_of;

use anyhow::Result;
use std::sync::{Arc, Barrier};
use wasmz::*;

fn lazy_engine() -> Result<Engine> {
    Ok(Engine::new(Config::new().lazy_compilation(true))?)
}

fn instantiate(engine: &Engine, wat: &str) -> Result<(Module, Instance)> {
    let module = Module::compile(engine, wat)?;
    let mut store = Store::new(engine);
    let inst = Instance::new(&mut store, &module, &Linker::new())?;
    Ok((module, inst))
}

fn call_i32(inst: &mut Instance, name: &str, args: &[i32]) -> Result<i32> {
    let args: Vec<RawVal> = args.iter().map(|a| RawVal::from(*a)).collect();
    let values = inst.call(name, &args)?.into_result()?;
    Ok(values[0].read_as::<i32>())
}

/// Calls, recursion, tables, `ref.func`, `call_ref` and tail calls.
const PROGRAMS: &str = r#"(module
  (type $ii (func (param i32) (result i32)))
  (table $t 4 funcref)
  (elem (table $t) (i32.const 0) func $double $square $fac)
  (elem declare func $square)
  (func $double (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (func $square (type $ii) (i32.mul (local.get 0) (local.get 0)))
  (func $fac (export "fac") (type $ii)
    (if (result i32) (i32.le_s (local.get 0) (i32.const 1))
      (then (i32.const 1))
      (else (i32.mul (local.get 0) (call $fac (i32.sub (local.get 0) (i32.const 1)))))))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_s (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "indirect") (param i32 i32) (result i32)
    (call_indirect $t (type $ii) (local.get 1) (local.get 0)))
  (func (export "by_ref") (param i32) (result i32)
    (call_ref $ii (local.get 0) (ref.func $square)))
  (func $sum (export "sum") (param $n i32) (param $acc i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (local.get $acc))
      (else (return_call $sum (i32.sub (local.get $n) (i32.const 1))
                              (i32.add (local.get $acc) (local.get $n))))))
  (func (export "tail_indirect") (param i32 i32) (result i32)
    (return_call_indirect $t (type $ii) (local.get 1) (local.get 0)))
  (func (export "tail_ref") (param i32) (result i32)
    (return_call_ref $ii (local.get 0) (ref.func $square)))
  (func (export "get") (param i32) (result funcref) (table.get $t (local.get 0)))
  (func (export "unused") (result i32) (i32.const 7)))"#;

#[test]
fn results_equal_eager() -> Result<()> {
    let eager = Engine::default();
    let lazy = lazy_engine()?;
    let (_, mut e) = instantiate(&eager, PROGRAMS)?;
    let (module, mut l) = instantiate(&lazy, PROGRAMS)?;
    assert!(module.is_lazy());
    assert_eq!(module.compiled_functions(), 0);
    let cases: &[(&str, &[i32])] = &[
        ("fac", &[10]),
        ("fib", &[20]),
        ("indirect", &[0, 21]),
        ("indirect", &[1, 12]),
        ("indirect", &[2, 6]),
        ("by_ref", &[9]),
        ("sum", &[100_000, 0]),
        ("tail_indirect", &[2, 5]),
        ("tail_ref", &[11]),
    ];
    for (name, args) in cases {
        assert_eq!(
            call_i32(&mut l, name, args)?,
            call_i32(&mut e, name, args)?,
            "{name}{args:?}"
        );
    }
    // Everything but `unused` and `get` has been compiled, and only once.
    assert_eq!(module.compiled_functions(), 9);
    assert!(module.code_size() > 0);
    for (name, args) in [("indirect", [3, 1]), ("indirect", [9, 1])] {
        let (le, ee) = (
            trap_of(&mut l, name, &args.map(RawVal::from))?,
            trap_of(&mut e, name, &args.map(RawVal::from))?,
        );
        assert_eq!(le.code(), ee.code(), "{name}{args:?}");
    }
    assert_eq!(module.compiled_functions(), 9);
    Ok(())
}

#[test]
fn function_placed_in_a_table_by_the_host() -> Result<()> {
    let engine = lazy_engine()?;
    let mut store = Store::new(&engine);
    let provider = Module::compile(&engine, PROGRAMS)?;
    let p = Instance::new(&mut store, &provider, &Linker::new())?;
    let user = Module::compile(
        &engine,
        r#"(module
          (table (export "t") 1 funcref)
          (func (export "call0") (param i32) (result i32)
            (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0))))"#,
    )?;
    let mut u = Instance::new(&mut store, &user, &Linker::new())?;
    let fac = p.func("fac").ok_or_else(|| anyhow::anyhow!("no fac"))?;
    let table = u.table("t").ok_or_else(|| anyhow::anyhow!("no table"))?;
    table.set(0, Val::FuncRef(Some(fac)))?;
    assert_eq!(provider.compiled_functions(), 0);
    assert_eq!(call_i32(&mut u, "call0", &[5])?, 120);
    assert_eq!(provider.compiled_functions(), 1);
    Ok(())
}

#[test]
fn exported_function_imported_by_a_second_instance() -> Result<()> {
    let engine = lazy_engine()?;
    let provider = Module::compile(
        &engine,
        r#"(module
          (func $twice (export "twice") (param i32) (result i32) (i32.add (local.get 0) (local.get 0)))
          (func (export "twice_via_self") (param i32) (result i32) (call $twice (local.get 0))))"#,
    )?;
    let user = Module::compile(
        &engine,
        r#"(module
          (import "p" "twice" (func $twice (param i32) (result i32)))
          (func (export "quad") (param i32) (result i32) (call $twice (call $twice (local.get 0)))))"#,
    )?;
    let mut store = Store::new(&engine);
    let mut p = Instance::new(&mut store, &provider, &Linker::new())?;
    let mut linker = Linker::new();
    linker.define_instance("p", &p)?;
    let mut u = Instance::new(&mut store, &user, &linker)?;
    // The importer compiles `twice` through its own copy of the function reference.
    assert_eq!(call_i32(&mut u, "quad", &[5])?, 20);
    assert_eq!(provider.compiled_functions(), 1);
    assert_eq!(call_i32(&mut p, "twice_via_self", &[4])?, 8);
    assert_eq!(call_i32(&mut p, "twice", &[7])?, 14);
    assert_eq!(provider.compiled_functions(), 2);
    Ok(())
}

#[test]
fn host_functions_and_start_function() -> Result<()> {
    let engine = lazy_engine()?;
    let module = Module::compile(
        &engine,
        r#"(module
          (import "env" "add" (func $add (param i32 i32) (result i32)))
          (global $g (mut i32) (i32.const 0))
          (func $start (global.set $g (call $add (i32.const 40) (i32.const 2))))
          (start $start)
          (func (export "g") (result i32) (global.get $g)))"#,
    )?;
    let mut linker = Linker::new();
    linker.define(
        "env",
        "add",
        HostFunc::new([ValType::I32, ValType::I32], [ValType::I32], |_, p, r| {
            r[0] = RawVal::from(p[0].read_as::<i32>() + p[1].read_as::<i32>());
            Ok(())
        }),
    )?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &linker)?;
    assert_eq!(call_i32(&mut inst, "g", &[])?, 42);
    Ok(())
}

#[test]
fn traps_have_codes_and_backtrace_names() -> Result<()> {
    let wat = r#"(module
      (memory 1)
      (func $inner (param i32) (result i32) (i32.load (local.get 0)))
      (func $outer (export "outer") (param i32) (result i32) (call $inner (local.get 0)))
      (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0))))"#;
    let (_, mut l) = instantiate(&lazy_engine()?, wat)?;
    let (_, mut e) = instantiate(&Engine::default(), wat)?;
    let lt = trap_of(&mut l, "outer", &[RawVal::from(70_000i32)])?;
    let et = trap_of(&mut e, "outer", &[RawVal::from(70_000i32)])?;
    assert_eq!(lt.code(), TrapCode::MemoryOutOfBounds);
    assert_eq!(lt.code(), et.code());
    let names = |t: &Trap| -> Vec<(u32, Option<String>)> {
        t.backtrace()
            .iter()
            .map(|f| (f.func_index, f.func_name.clone()))
            .collect()
    };
    assert_eq!(
        names(&lt),
        vec![(0, Some("inner".into())), (1, Some("outer".into()))]
    );
    assert_eq!(names(&lt), names(&et));
    let lt = trap_of(&mut l, "div", &[RawVal::from(0i32)])?;
    assert_eq!(lt.code(), TrapCode::IntegerDivisionByZero);
    assert_eq!(lt.backtrace().len(), 1);
    assert_eq!(lt.backtrace()[0].func_index, 2);
    Ok(())
}

#[test]
fn fuel_and_epoch_apply_to_lazily_compiled_code() -> Result<()> {
    let wat = r#"(module
      (func $spin (export "spin") (loop $l (br $l)))
      (func (export "count") (param $n i32) (result i32) (local $i i32)
        (block $done (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
        (local.get $i)))"#;
    let engine = Engine::new(Config::new().lazy_compilation(true).consume_fuel(true))?;
    let module = Module::compile(&engine, wat)?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
    store.set_fuel(1_000);
    assert_eq!(call_i32(&mut inst, "count", &[10])?, 10);
    assert_eq!(store.fuel(), 1_000 - 1 - 11);
    let trap = trap_of(&mut inst, "spin", &[])?;
    assert_eq!(trap.code(), TrapCode::OutOfFuel);

    let engine = Engine::new(
        Config::new()
            .lazy_compilation(true)
            .epoch_interruption(true),
    )?;
    let module = Module::compile(&engine, wat)?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
    store.set_epoch_deadline(1);
    let ticker = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            engine.increment_epoch();
        })
    };
    let trap = trap_of(&mut inst, "spin", &[])?;
    ticker.join().expect("ticker thread");
    assert_eq!(trap.code(), TrapCode::Interrupted);
    Ok(())
}

#[test]
fn first_calls_on_four_threads_at_once() -> Result<()> {
    let engine = lazy_engine()?;
    let module = Module::compile(&engine, PROGRAMS)?;
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let (engine, module, barrier) = (engine.clone(), module.clone(), barrier.clone());
            std::thread::spawn(move || -> Result<Vec<i32>> {
                let mut store = Store::new(&engine);
                let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
                barrier.wait();
                Ok(vec![
                    call_i32(&mut inst, "fib", &[15 + i])?,
                    call_i32(&mut inst, "indirect", &[2, 5])?,
                    call_i32(&mut inst, "by_ref", &[i])?,
                    call_i32(&mut inst, "sum", &[1000, i])?,
                ])
            })
        })
        .collect();
    let fib = [610, 987, 1597, 2584];
    for (i, t) in threads.into_iter().enumerate() {
        let got = t.join().expect("thread")?;
        let i32_i = i as i32;
        assert_eq!(got, vec![fib[i], 120, i32_i * i32_i, 500_500 + i32_i]);
    }
    // fib, indirect, fac, by_ref, square, sum: each compiled once for all four threads.
    assert_eq!(module.compiled_functions(), 6);
    Ok(())
}

#[test]
fn gc_allocation_compiles_lazily() -> Result<()> {
    // Struct allocation and access compile on first call like any other function, and calls between
    // lazily compiled functions reach it.
    let wat = r#"(module
      (type $s (struct (field i32)))
      (func (export "ok") (result i32) (i32.const 5))
      (func $alloc (export "alloc") (result i32) (struct.get $s 0 (struct.new $s (i32.const 3))))
      (func (export "calls_alloc") (result i32) (i32.add (i32.const 1) (call $alloc))))"#;
    let mut config = Config::new();
    config.wasm_gc(true).lazy_compilation(true);
    let engine = Engine::new(&config)?;
    let (module, mut inst) = instantiate(&engine, wat)?;
    assert_eq!(call_i32(&mut inst, "calls_alloc", &[])?, 4);
    assert_eq!(call_i32(&mut inst, "alloc", &[])?, 3);
    assert_eq!(module.compiled_functions(), 2);
    Ok(())
}

#[test]
fn invalid_modules_fail_at_compile_time() -> Result<()> {
    let wat = r#"(module (func (export "f") (result i32) (i64.const 1)))"#;
    let lazy = Module::compile(&lazy_engine()?, wat)
        .unwrap_err()
        .to_string();
    let eager = Module::compile(&Engine::default(), wat)
        .unwrap_err()
        .to_string();
    assert_eq!(lazy, eager);
    Ok(())
}

#[test]
fn serialize_compiles_everything() -> Result<()> {
    let engine = lazy_engine()?;
    let module = Module::compile(&engine, PROGRAMS)?;
    let artifact = module.serialize()?;
    assert_eq!(module.compiled_functions(), 0);
    let loaded = common::deserialize(&engine, &artifact)?;
    assert!(!loaded.is_lazy());
    assert_eq!(loaded.compiled_functions(), 11);
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &loaded, &Linker::new())?;
    assert_eq!(call_i32(&mut inst, "fac", &[6])?, 720);
    assert_eq!(call_i32(&mut inst, "indirect", &[1, 7])?, 49);
    // The artifact's calls check for lazily compiled callees, so an eager engine refuses it.
    let err = common::deserialize(&Engine::default(), &artifact)
        .unwrap_err()
        .to_string();
    assert!(err.contains("lazy-calls"), "{err}");
    Ok(())
}

#[test]
fn precompiled_module_calls_a_lazy_one() -> Result<()> {
    // A fully compiled module of a lazy engine (from an artifact) imports a function that a lazily
    // compiled module has not compiled yet, and calls it through a shared table too.
    let engine = lazy_engine()?;
    let provider = Module::compile(
        &engine,
        r#"(module
          (table (export "t") 2 funcref)
          (elem (i32.const 0) func $neg)
          (func $neg (export "neg") (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0))))"#,
    )?;
    let artifact = engine.precompile(
        r#"(module
          (import "p" "neg" (func $neg (param i32) (result i32)))
          (import "p" "t" (table 2 funcref))
          (func (export "direct") (param i32) (result i32) (call $neg (local.get 0)))
          (func (export "via_table") (param i32) (result i32)
            (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0))))"#,
    )?;
    let user = common::deserialize(&engine, &artifact)?;
    let mut store = Store::new(&engine);
    let p = Instance::new(&mut store, &provider, &Linker::new())?;
    let mut linker = Linker::new();
    linker.define_instance("p", &p)?;
    let mut u = Instance::new(&mut store, &user, &linker)?;
    assert_eq!(call_i32(&mut u, "via_table", &[3])?, -3);
    assert_eq!(call_i32(&mut u, "direct", &[4])?, -4);
    assert_eq!(provider.compiled_functions(), 1);
    Ok(())
}

#[test]
fn compiling_at_the_bottom_of_deep_recursion() -> Result<()> {
    // `deep(n)` recurses n times and then calls `fresh` for the first time, so the compiler runs below
    // n wasm frames, on a thread with the default stack size. Deeper runs overflow the wasm stack limit
    // first; none may crash the process.
    let mut body = String::new();
    for i in 0..200 {
        body.push_str(&format!(
            "(local.set 1 (i32.add (i32.mul (local.get 1) (i32.const {i})) (local.get 0)))\n"
        ));
    }
    let wat = format!(
        r#"(module
          (func $fresh (param i32) (result i32) (local i32) {body} (local.get 1))
          (func $deep (export "deep") (param i32) (result i32)
            (if (result i32) (i32.eqz (local.get 0))
              (then (call $fresh (i32.const 3)))
              (else (i32.add (i32.const 1) (call $deep (i32.sub (local.get 0) (i32.const 1))))))))"#
    );
    let engine = lazy_engine()?;
    let outcomes = std::thread::spawn(move || -> Result<Vec<bool>> {
        let mut ok = Vec::new();
        for n in [1_000, 4_000, 8_000, 12_000, 16_000, 32_000, 1_000_000] {
            let (_, mut inst) = instantiate(&engine, &wat)?;
            match inst.call("deep", &[RawVal::from(n)])? {
                ExecResult::Ok(_) => ok.push(true),
                ExecResult::Trap(t) => {
                    assert_eq!(t.code(), TrapCode::StackOverflow, "{t}");
                    ok.push(false);
                }
                ExecResult::Exit(code) => anyhow::bail!("exited with {code}"),
            }
        }
        Ok(ok)
    })
    .join()
    .expect("thread")?;
    assert!(outcomes[0], "{outcomes:?}");
    assert!(!outcomes[outcomes.len() - 1], "{outcomes:?}");
    Ok(())
}

#[test]
fn cache_dir_compiles_everything_once() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("wasmz-lazy-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = Config::new();
    config.lazy_compilation(true);
    // SAFETY: `dir` is a fresh directory of this test's own under the temporary directory.
    unsafe { config.cache_dir(Some(dir.clone())) };
    let engine = Engine::new(&config)?;
    for _ in 0..2 {
        let (module, mut inst) = instantiate(&engine, PROGRAMS)?;
        // With a cache the module is compiled (or loaded) as a whole.
        assert!(!module.is_lazy());
        assert_eq!(module.compiled_functions(), 11);
        assert_eq!(call_i32(&mut inst, "fib", &[10])?, 55);
        assert_eq!(call_i32(&mut inst, "tail_ref", &[3])?, 9);
    }
    assert_eq!(std::fs::read_dir(&dir)?.count(), 1);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn many_functions_compiled_concurrently_in_different_orders() -> Result<()> {
    // f0..f199, each calling the previous one through a table or directly; four threads start at
    // different ends so they race on compiling the same and different functions.
    let count = 200;
    let mut wat = String::from("(module (type $i (func (param i32) (result i32)))\n");
    wat.push_str(&format!("(table {count} funcref)\n"));
    wat.push_str("(func $f0 (export \"f0\") (type $i) (i32.add (local.get 0) (i32.const 1)))\n");
    for i in 1..count {
        let call = if i % 2 == 0 {
            format!("(call $f{} (local.get 0))", i - 1)
        } else {
            format!(
                "(call_indirect (type $i) (local.get 0) (i32.const {}))",
                i - 1
            )
        };
        wat.push_str(&format!(
            "(func $f{i} (export \"f{i}\") (type $i) (i32.add {call} (i32.const 1)))\n"
        ));
    }
    wat.push_str("(elem (i32.const 0) func");
    for i in 0..count {
        wat.push_str(&format!(" $f{i}"));
    }
    wat.push_str("))");
    let engine = lazy_engine()?;
    let module = Module::compile(&engine, &wat)?;
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (engine, module, barrier) = (engine.clone(), module.clone(), barrier.clone());
            std::thread::spawn(move || -> Result<()> {
                let mut store = Store::new(&engine);
                let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
                barrier.wait();
                let order: Vec<i32> = match t {
                    0 => (0..count).collect(),
                    1 => (0..count).rev().collect(),
                    2 => (0..count).step_by(7).chain((0..count).rev()).collect(),
                    _ => (0..count).map(|i| (i * 37) % count).collect(),
                };
                for i in order {
                    // f_i(x) = x + i + 1.
                    assert_eq!(call_i32(&mut inst, &format!("f{i}"), &[t])?, t + i + 1);
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread")?;
    }
    assert_eq!(module.compiled_functions(), count as usize);
    Ok(())
}

#[test]
fn nothing_is_compiled_before_it_is_used() -> Result<()> {
    // 300 functions of 60 distinct types: neither compiling nor instantiating the module compiles a
    // function or a trampoline.
    let mut wat = String::from("(module\n");
    for i in 0..300 {
        let params = "(param i32)".repeat(i % 20 + 1);
        let results = if i >= 20 { "(result i64)" } else { "" };
        let body = if i >= 20 { "(i64.const 1)" } else { "" };
        wat.push_str(&format!(
            "(func (export \"f{i}\") {params} (param f{w}) {results} {body})\n",
            w = if i % 40 < 20 { 32 } else { 64 }
        ));
    }
    wat.push(')');
    let engine = lazy_engine()?;
    let module = Module::compile(&engine, &wat)?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
    assert_eq!(module.code_size(), 0);
    let args = [RawVal::from(0i32); 21];
    let values = inst.call("f25", &args[..7])?.into_result()?;
    assert_eq!(values[0].read_as::<i64>(), 1);
    // One function and one entry trampoline.
    assert_eq!(module.compiled_functions(), 1);
    assert!(module.code_size() > 0);
    Ok(())
}

#[test]
fn exceptions_cross_lazily_compiled_frames() -> Result<()> {
    // Each function is compiled at its first call; the handler tables of lazily compiled code must
    // be found by the throw like those of an eager image.
    let wat = r#"(module
      (tag $e (param i32))
      (func $thrower (param i32) (throw $e (i32.add (local.get 0) (i32.const 1))))
      (func $middle (param i32) (call $thrower (local.get 0)))
      (func (export "catch") (param i32) (result i32)
        (block $h (result i32)
          (try_table (catch $e $h) (call $middle (local.get 0)))
          (i32.const -1)))
      (func (export "uncaught") (param i32) (call $middle (local.get 0))))"#;
    for (engine, lazy) in [(Engine::default(), false), (lazy_engine()?, true)] {
        let (module, mut inst) = instantiate(&engine, wat)?;
        assert_eq!(call_i32(&mut inst, "catch", &[41])?, 42);
        assert_eq!(call_i32(&mut inst, "catch", &[1])?, 2);
        let trap = trap_of(&mut inst, "uncaught", &[RawVal::from(7i32)])?;
        assert_eq!(trap.code(), TrapCode::UnhandledException);
        assert_eq!(module.is_lazy(), lazy);
    }
    Ok(())
}

#[test]
fn background_compilation_compiles_every_function_without_calls() -> Result<()> {
    let mut config = Config::new();
    config.background_compilation(true);
    let engine = Engine::new(&config)?;
    // A chain of 60 functions: each calls the next, the last returns its argument plus one.
    let mut wat = String::from("(module");
    for i in 0..60 {
        if i < 59 {
            wat += &format!(
                "(func $f{i} (export \"f{i}\") (param i32) (result i32) (call $f{} (i32.add (local.get 0) (i32.const 1))))",
                i + 1
            );
        } else {
            wat += "(func $f59 (export \"f59\") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))";
        }
    }
    wat += ")";
    let module = Module::compile(&engine, &wat)?;
    assert!(module.is_lazy());
    // Nothing is called, yet everything gets compiled.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while module.compiled_functions() < 60 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} of 60",
            module.compiled_functions()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &Linker::new())?;
    assert_eq!(instance.typed_func::<i32, i32>("f0")?.call(0)?, 60);
    // Calls made while the background threads work give the same results.
    let module = Module::compile(&engine, &wat)?;
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &Linker::new())?;
    assert_eq!(instance.typed_func::<i32, i32>("f30")?.call(5)?, 35);
    Ok(())
}

#[test]
fn arguments_and_live_values_survive_the_first_call() -> Result<()> {
    // The first call of `$callee` compiles it on the call's cold path, with every argument and the
    // values needed afterwards already in registers (integer, float and vector): the result must equal
    // the eagerly compiled one.
    let wat = r#"(module
      (func $callee (param i32 i64 f32 f64 v128 i32 i64 f64 f64 f64 f64 f64 f64 f64 f64) (result f64)
        (f64.add
          (f64.add
            (f64.add (f64.convert_i32_s (local.get 0)) (f64.convert_i64_s (local.get 1)))
            (f64.add (f64.promote_f32 (local.get 2)) (f64.mul (local.get 3) (f64.const 3))))
          (f64.add
            (f64.add (f64x2.extract_lane 1 (local.get 4))
                     (f64.convert_i32_s (i32.mul (local.get 5) (i32.const 5))))
            (f64.add
              (f64.add (f64.convert_i64_s (i64.mul (local.get 6) (i64.const 7)))
                       (f64.mul (local.get 7) (f64.const 11)))
              (f64.add
                (f64.add (f64.mul (local.get 8) (f64.const 13)) (f64.mul (local.get 9) (f64.const 17)))
                (f64.add
                  (f64.add (f64.mul (local.get 10) (f64.const 19)) (f64.mul (local.get 11) (f64.const 23)))
                  (f64.add (f64.mul (local.get 12) (f64.const 29))
                           (f64.add (f64.mul (local.get 13) (f64.const 31))
                                    (f64.mul (local.get 14) (f64.const 37))))))))))
      (func (export "mix") (param $a i32) (param $b f64) (result f64)
        (local $x i64) (local $y f32) (local $v v128) (local $r f64)
        (local.set $x (i64.extend_i32_s (i32.mul (local.get $a) (i32.const 1000))))
        (local.set $y (f32.demote_f64 (f64.mul (local.get $b) (f64.const 0.5))))
        (local.set $v (f64x2.splat (f64.add (local.get $b) (f64.const 0.25))))
        (local.set $r
          (call $callee (local.get $a) (local.get $x) (local.get $y) (local.get $b) (local.get $v)
                        (i32.add (local.get $a) (i32.const 1)) (i64.add (local.get $x) (i64.const 2))
                        (f64.add (local.get $b) (f64.const 1)) (f64.add (local.get $b) (f64.const 2))
                        (f64.add (local.get $b) (f64.const 3)) (f64.add (local.get $b) (f64.const 4))
                        (f64.add (local.get $b) (f64.const 5)) (f64.add (local.get $b) (f64.const 6))
                        (f64.add (local.get $b) (f64.const 7)) (f64.add (local.get $b) (f64.const 8))))
        ;; The values computed before the call are used again after it.
        (f64.add (local.get $r)
          (f64.add (f64.convert_i64_s (local.get $x))
            (f64.add (f64.promote_f32 (local.get $y)) (f64x2.extract_lane 0 (local.get $v)))))))"#;
    let run = |engine: &Engine| -> Result<u64> {
        let (_, mut inst) = instantiate(engine, wat)?;
        match inst.call("mix", &[RawVal::from(7i32), RawVal::from(1.5f64)])? {
            ExecResult::Ok(v) => Ok(v[0].read_as::<f64>().to_bits()),
            other => anyhow::bail!("{other:?}"),
        }
    };
    let eager = run(&Engine::default())?;
    assert_eq!(run(&lazy_engine()?)?, eager);
    assert_eq!(f64::from_bits(eager), 57304.0 + 7000.0 + 0.75 + 1.75);
    Ok(())
}

#[test]
fn first_calls_with_many_arguments_and_results() -> Result<()> {
    // Results that do not fit the return registers travel through a return area whose pointer comes
    // before the vmctx; arguments beyond the argument registers travel on the stack. The first call of
    // each callee goes through its compile-on-call stub, which must find the vmctx and leave both
    // untouched.
    let wat = r#"(module
      (func $ints (param i64 i64 i64 i64 i64 i64 i64 i64 i64)
                  (result i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
        (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
        (local.get 5) (local.get 6) (local.get 7) (local.get 8)
        (i64.add (local.get 0) (local.get 8)))
      (func $floats (param f64 i32) (result f64 f64 f64 f64 f64 f64 f64 f64 f64 i32)
        (local.get 0) (f64.const 1) (f64.const 2) (f64.const 3) (f64.const 4)
        (f64.const 5) (f64.const 6) (f64.const 7) (f64.const 8) (local.get 1))
      (func (export "run") (param $a i64) (result i64)
        (local $r0 i64) (local $r1 i64) (local $r2 i64) (local $r3 i64) (local $r4 i64)
        (local $r5 i64) (local $r6 i64) (local $r7 i64) (local $r8 i64) (local $r9 i64)
        (local $f0 f64) (local $f1 f64) (local $f8 f64) (local $n i32)
        (call $ints (local.get $a) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5)
                    (i64.const 6) (i64.const 7) (i64.const 8) (i64.const 9))
        (local.set $r9) (local.set $r8) (local.set $r7) (local.set $r6) (local.set $r5)
        (local.set $r4) (local.set $r3) (local.set $r2) (local.set $r1) (local.set $r0)
        (call $floats (f64.const 0.5) (i32.const 11))
        (local.set $n) (local.set $f8) (drop) (drop) (drop) (drop) (drop) (drop)
        (local.set $f1) (local.set $f0)
        ;; A weighted sum, so that results in the wrong places change it.
        (i64.add
          (i64.add
            (i64.add (i64.mul (local.get $r0) (i64.const 3)) (i64.mul (local.get $r1) (i64.const 5)))
            (i64.add (i64.mul (local.get $r2) (i64.const 7)) (i64.mul (local.get $r8) (i64.const 11))))
          (i64.add
            (i64.add (i64.mul (local.get $r9) (i64.const 13)) (i64.extend_i32_s (local.get $n)))
            (i64.trunc_f64_s
              (f64.add (f64.mul (local.get $f0) (f64.const 100))
                (f64.add (f64.mul (local.get $f1) (f64.const 17)) (local.get $f8))))))))"#;
    let run = |engine: &Engine| -> Result<i64> {
        let (_, mut inst) = instantiate(engine, wat)?;
        let mut results = Vec::new();
        for a in [1i64, 100] {
            match inst.call("run", &[RawVal::from(a)])? {
                ExecResult::Ok(v) => results.push(v[0].read_as::<i64>()),
                other => anyhow::bail!("{other:?}"),
            }
        }
        Ok(results[0] * 1_000_000 + results[1])
    };
    let eager = run(&Engine::default())?;
    assert_eq!(eager, 349_001_933);
    assert_eq!(run(&lazy_engine()?)?, eager);
    Ok(())
}
