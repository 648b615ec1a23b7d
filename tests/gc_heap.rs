//! The GC heap: struct and array objects, the collector (stack maps, globals, host roots), heap
//! limits and budget accounting.

mod common;

use anyhow::Result;
use wasmz::{Config, Engine, ExecResult, Instance, Linker, Module, RawVal, Store, TrapCode, Val};

fn engine() -> Engine {
    let mut config = Config::new();
    config.wasm_gc(true);
    Engine::new(&config).expect("engine")
}

fn instance(engine: &Engine, store: &mut Store, wat: &str) -> Result<Instance> {
    let module = Module::compile(engine, wat)?;
    Ok(Instance::new(store, &module, &Linker::new())?)
}

fn call_i32(inst: &mut Instance, name: &str, args: &[RawVal]) -> Result<i32> {
    match inst.call(name, args)? {
        ExecResult::Ok(v) => Ok(v[0].read_as::<i32>()),
        other => anyhow::bail!("`{name}` did not return: {other:?}"),
    }
}

const POINT: &str = r#"(module
  (type $point (struct (field $x (mut i32)) (field $y i64) (field $c i8)))
  (type $bytes (array (mut i8)))
  (func (export "point") (param i32) (result i32)
    (local $p (ref null $point))
    (local.set $p (struct.new $point (local.get 0) (i64.const 7) (i32.const -1)))
    (struct.set $point $x (local.get $p) (i32.add (struct.get $point $x (local.get $p)) (i32.const 1)))
    (i32.add
      (i32.add (struct.get $point $x (local.get $p)) (i32.wrap_i64 (struct.get $point $y (local.get $p))))
      (struct.get_s $point $c (local.get $p))))
  (func (export "bytes") (param i32) (result i32)
    (local $a (ref null $bytes))
    (local.set $a (array.new $bytes (i32.const 200) (local.get 0)))
    (array.set $bytes (local.get $a) (i32.const 0) (i32.const 5))
    (i32.add (array.len (local.get $a))
      (i32.add (array.get_u $bytes (local.get $a) (i32.const 0))
               (array.get_u $bytes (local.get $a) (i32.sub (local.get 0) (i32.const 1)))))))"#;

#[test]
fn structs_and_arrays_read_back_what_was_written() -> Result<()> {
    let engine = engine();
    let mut store = Store::new(&engine);
    let mut inst = instance(&engine, &mut store, POINT)?;
    assert_eq!(
        call_i32(&mut inst, "point", &[RawVal::from(10)])?,
        11 + 7 - 1
    );
    assert_eq!(
        call_i32(&mut inst, "bytes", &[RawVal::from(3)])?,
        3 + 5 + 200
    );
    Ok(())
}

/// Allocates `n` short-lived objects in a loop: a struct holding an array, dropped at once.
const CHURN: &str = r#"(module
  (type $arr (array (mut i64)))
  (type $node (struct (field $v i64) (field $a (ref null $arr))))
  (global $keep (mut (ref null $node)) (ref.null $node))
  (func (export "churn") (param $n i32) (result i64)
    (local $sum i64) (local $x (ref null $node))
    (loop $l
      (local.set $x (struct.new $node (i64.extend_i32_u (local.get $n))
        (array.new $arr (i64.const 3) (i32.const 30))))
      (local.set $sum (i64.add (local.get $sum)
        (array.get $arr (struct.get $node $a (local.get $x)) (i32.const 29))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
  (func (export "keep") (param $n i32)
    (loop $l
      (global.set $keep (struct.new $node (i64.extend_i32_u (local.get $n))
        (array.new_default $arr (i32.const 1000))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#;

fn limited_engine(limit: usize) -> Engine {
    let mut config = Config::new();
    config.gc_heap_limit(limit);
    Engine::new(&config).expect("engine")
}

#[test]
fn short_lived_garbage_far_beyond_the_limit_is_collected() -> Result<()> {
    let limit = 4 << 20;
    let engine = limited_engine(limit);
    let mut store = Store::new(&engine);
    let mut inst = instance(&engine, &mut store, CHURN)?;
    // 200,000 iterations of 24 + 256 bytes: about 56 MB through a 4 MiB heap.
    let n = 200_000;
    match inst.call("churn", &[RawVal::from(n)])? {
        ExecResult::Ok(v) => assert_eq!(v[0].read_as::<i64>(), 3 * i64::from(n)),
        other => anyhow::bail!("{other:?}"),
    }
    let stats = store.gc_stats();
    assert!(stats.collections >= 10, "{stats:?}");
    assert!(stats.peak_heap_size <= limit, "{stats:?}");
    assert!(stats.live_after_last_collection < 64 << 10, "{stats:?}");
    Ok(())
}

/// A linked list built by deep recursion while garbage forces collections: each frame keeps its node
/// in a local (`build`) or on the operand stack (`build_on_stack`) across the recursive call.
const LIST: &str = r#"(module
  (type $list (struct (field $v i32) (field $next (mut (ref null $list)))))
  (type $pad (array (mut i8)))
  (func $link (param $node (ref $list)) (param $rest (ref null $list)) (result (ref $list))
    (struct.set $list $next (local.get $node) (local.get $rest))
    (local.get $node))
  (func $build (export "build") (param $n i32) (result (ref null $list))
    (local $mine (ref null $list))
    (if (i32.eqz (local.get $n)) (then (return (ref.null $list))))
    (local.set $mine (struct.new $list (local.get $n) (ref.null $list)))
    (drop (array.new_default $pad (i32.const 3000)))
    (struct.set $list $next (local.get $mine) (call $build (i32.sub (local.get $n) (i32.const 1))))
    (drop (array.new_default $pad (i32.const 3000)))
    (local.get $mine))
  (func $build_on_stack (export "build_on_stack") (param $n i32) (result (ref null $list))
    (if (i32.eqz (local.get $n)) (then (return (ref.null $list))))
    (call $link
      (struct.new $list (local.get $n) (ref.null $list))
      (block (result (ref null $list))
        (drop (array.new_default $pad (i32.const 3000)))
        (call $build_on_stack (i32.sub (local.get $n) (i32.const 1))))))
  (func $sum (export "sum") (param $l (ref null $list)) (result i32)
    (local $s i32)
    (block $done
      (loop $next
        (br_if $done (ref.is_null (local.get $l)))
        (local.set $s (i32.add (local.get $s) (struct.get $list $v (local.get $l))))
        (local.set $l (struct.get $list $next (local.get $l)))
        (br $next)))
    (local.get $s))
  (func (export "garbage") (param $n i32)
    (loop $l
      (drop (array.new_default $pad (i32.const 1000)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "check") (param $n i32) (result i32)
    (local $a (ref null $list)) (local $b (ref null $list))
    (local.set $a (call $build (local.get $n)))
    (local.set $b (call $build_on_stack (local.get $n)))
    (call $garbage_calls (i32.const 2000))
    (i32.add (call $sum (local.get $a)) (call $sum (local.get $b))))
  (func $garbage_calls (param $n i32)
    (loop $l
      (drop (array.new_default $pad (i32.const 1000)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#;

#[test]
fn references_in_frames_survive_collections_during_deep_recursion() -> Result<()> {
    let engine = limited_engine(2 << 20);
    let mut store = Store::new(&engine);
    let mut inst = instance(&engine, &mut store, LIST)?;
    let n = 1500;
    let expected = n * (n + 1) / 2;
    assert_eq!(
        call_i32(&mut inst, "check", &[RawVal::from(n)])?,
        2 * expected
    );
    let stats = store.gc_stats();
    assert!(stats.collections >= 5, "{stats:?}");
    assert!(stats.peak_heap_size <= 2 << 20, "{stats:?}");
    Ok(())
}

#[test]
fn host_references_keep_objects_alive_until_dropped() -> Result<()> {
    let engine = limited_engine(2 << 20);
    let mut store = Store::new(&engine);
    let mut inst = instance(&engine, &mut store, LIST)?;
    let list = inst.call_vals("build", &[Val::I32(100)])?.into_result()?;
    let [Val::AnyRef(Some(ref head))] = list[..] else {
        anyhow::bail!("{list:?}")
    };
    assert!(head.is_struct() && !head.is_array());
    let before = store.gc_stats().collections;
    inst.call_vals("garbage", &[Val::I32(20_000)])?
        .into_result()?;
    store.collect_garbage();
    assert!(store.gc_stats().collections > before + 3);
    // The list is intact: its objects were neither freed nor reused.
    let sum = inst
        .call_vals("sum", &[Val::AnyRef(Some(head.clone()))])?
        .into_result()?;
    assert!(matches!(sum[..], [Val::I32(5050)]), "{sum:?}");
    let live = store.gc_stats().live_after_last_collection;
    assert!(live >= 100 * 24, "{live}");
    drop(list);
    store.collect_garbage();
    assert_eq!(store.gc_stats().live_after_last_collection, 0);
    Ok(())
}

#[test]
fn globals_keep_objects_alive() -> Result<()> {
    let engine = limited_engine(4 << 20);
    let mut store = Store::new(&engine);
    let mut inst = instance(&engine, &mut store, CHURN)?;
    inst.call("keep", &[RawVal::from(10_000)])?;
    assert!(store.gc_stats().collections > 3);
    store.collect_garbage();
    // The last node (v = 1, an array of 1000 i64) survives through the global.
    assert_eq!(store.gc_stats().live_after_last_collection, 24 + 16 + 8000);
    Ok(())
}

const HOARD: &str = r#"(module
  (type $arr (array (mut i64)))
  (type $cell (struct (field $a (ref $arr)) (field $next (ref null $cell))))
  (global $all (mut (ref null $cell)) (ref.null $cell))
  (func (export "hoard") (param $n i32)
    (loop $l
      (global.set $all (struct.new $cell (array.new_default $arr (i32.const 1000)) (global.get $all)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "drop_all") (global.set $all (ref.null $cell)))
  (func (export "huge") (result i32)
    (array.len (array.new_default $arr (i32.const 0x7fffffff)))))"#;

#[test]
fn live_data_beyond_the_limit_traps_with_out_of_memory() -> Result<()> {
    let limit = 2 << 20;
    let engine = limited_engine(limit);
    let mut store = Store::new(&engine);
    let mut inst = instance(&engine, &mut store, HOARD)?;
    let trap = common_trap(&mut inst, "hoard", &[RawVal::from(1_000_000)])?;
    assert_eq!(trap, TrapCode::OutOfMemory);
    assert!(store.gc_stats().peak_heap_size <= limit);
    // A single object larger than the heap traps the same way.
    assert_eq!(common_trap(&mut inst, "huge", &[])?, TrapCode::OutOfMemory);
    // Once the hoard is dropped, allocation works again.
    inst.call("drop_all", &[])?;
    inst.call("hoard", &[RawVal::from(100)])?;
    Ok(())
}

#[test]
fn the_heap_is_charged_to_the_memory_budget() -> Result<()> {
    let mut config = Config::new();
    config.gc_heap_limit(64 << 20).memory_budget(Some(3 << 20));
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine);
    store.link_budget();
    let mut inst = instance(&engine, &mut store, HOARD)?;
    let before = store.memory_budget().used;
    inst.call("hoard", &[RawVal::from(100)])?;
    let heap = store.gc_stats().heap_size as u64;
    assert!(heap > 0);
    assert_eq!(store.memory_budget().used, before + heap);
    // The budget, not the heap limit, stops the hoard.
    let trap = common_trap(&mut inst, "hoard", &[RawVal::from(1_000_000)])?;
    assert_eq!(trap, TrapCode::OutOfMemory);
    assert!(store.memory_budget().used <= 3 << 20);
    Ok(())
}

fn common_trap(inst: &mut Instance, name: &str, args: &[RawVal]) -> Result<TrapCode> {
    match inst.call(name, args)? {
        ExecResult::Trap(t) => Ok(t.code()),
        other => anyhow::bail!("`{name}` did not trap: {other:?}"),
    }
}

#[test]
fn stack_maps_survive_lazy_compilation_and_artifacts() -> Result<()> {
    let n = 800;
    let expected = n * (n + 1);
    // Lazily compiled functions keep their stack maps beside their code.
    let mut config = Config::new();
    config.gc_heap_limit(2 << 20).lazy_compilation(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine);
    let mut inst = instance(&engine, &mut store, LIST)?;
    assert_eq!(call_i32(&mut inst, "check", &[RawVal::from(n)])?, expected);
    assert!(store.gc_stats().collections >= 3);
    // Ahead-of-time artifacts carry them in the code image's metadata.
    let engine = limited_engine(2 << 20);
    let bytes = Module::compile(&engine, LIST)?.serialize()?;
    let module = common::deserialize(&engine, &bytes)?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
    assert_eq!(call_i32(&mut inst, "check", &[RawVal::from(n)])?, expected);
    assert!(store.gc_stats().collections >= 3);
    Ok(())
}

#[test]
fn objects_made_by_constant_expressions_are_roots_of_their_globals_and_tables() -> Result<()> {
    let engine = limited_engine(2 << 20);
    let mut store = Store::new(&engine);
    let mut inst = instance(
        &engine,
        &mut store,
        r#"(module
          (type $a (array i32))
          (type $s (struct (field i32) (field (ref null $a))))
          (type $pad (array (mut i8)))
          (type $r (array (ref null $a)))
          (global $g (ref $s) (struct.new $s (i32.const 7) (array.new_fixed $a 3 (i32.const 1) (i32.const 2) (i32.const 3))))
          (table $t 2 (ref null $a) (array.new $a (i32.const 5) (i32.const 4)))
          (elem $e (ref null $a) (item (array.new_default $a (i32.const 2))))
          (func (export "churn") (param $n i32)
            (loop $l
              (drop (array.new_default $pad (i32.const 1000)))
              (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
          (func (export "read") (result i32)
            (i32.add (struct.get $s 0 (global.get $g))
              (i32.add (array.get $a (struct.get $s 1 (global.get $g)) (i32.const 2))
                (i32.add (array.get $a (table.get $t (i32.const 1)) (i32.const 3))
                  (array.len (array.get $r (array.new_elem $r $e (i32.const 0) (i32.const 1))
                    (i32.const 0))))))))"#,
    )?;
    inst.call("churn", &[RawVal::from(10_000)])?;
    assert!(store.gc_stats().collections >= 3);
    assert_eq!(call_i32(&mut inst, "read", &[])?, 7 + 3 + 5 + 2);
    Ok(())
}

#[test]
fn exceptions_keep_the_objects_they_carry_alive() -> Result<()> {
    let engine = limited_engine(2 << 20);
    let mut store = Store::new(&engine);
    let mut inst = instance(
        &engine,
        &mut store,
        r#"(module
          (type $s (struct (field i32)))
          (type $pad (array (mut i8)))
          (tag $t (param (ref null $s)))
          (func $thrower (throw $t (struct.new $s (i32.const 42))))
          (func $garbage (param $n i32)
            (loop $l
              (drop (array.new_default $pad (i32.const 1000)))
              (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
          (func (export "run") (result i32)
            (local $e exnref)
            (local.set $e
              (block $h (result exnref)
                (try_table (catch_all_ref $h) (call $thrower))
                (unreachable)))
            (call $garbage (i32.const 10000))
            (struct.get $s 0
              (block $h2 (result (ref null $s))
                (try_table (catch $t $h2) (throw_ref (local.get $e)))
                (unreachable)))))"#,
    )?;
    assert_eq!(call_i32(&mut inst, "run", &[])?, 42);
    assert!(store.gc_stats().collections >= 3);
    Ok(())
}

#[test]
fn a_collection_during_a_host_call_keeps_the_wasm_frames_references() -> Result<()> {
    let engine = engine();
    let mut linker = Linker::new();
    linker.define(
        "env",
        "gc",
        wasmz::HostFunc::new([], [], |cx, _, _| {
            cx.collect_garbage();
            Ok(())
        }),
    )?;
    let module = Module::compile(
        &engine,
        r#"(module
          (import "env" "gc" (func $gc))
          (type $s (struct (field i64)))
          (func $deep (param $n i32) (result i64)
            (local $mine (ref null $s))
            (local.set $mine (struct.new $s (i64.extend_i32_u (local.get $n))))
            (if (i32.eqz (local.get $n)) (then (call $gc) (return (i64.const 0))))
            (i64.add (call $deep (i32.sub (local.get $n) (i32.const 1)))
              (struct.get $s 0 (local.get $mine))))
          (func (export "run") (result i64) (call $deep (i32.const 50))))"#,
    )?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &linker)?;
    match inst.call("run", &[])? {
        ExecResult::Ok(v) => assert_eq!(v[0].read_as::<i64>(), 50 * 51 / 2),
        other => anyhow::bail!("{other:?}"),
    }
    let stats = store.gc_stats();
    assert_eq!(stats.collections, 1);
    // The structs of the 50 frames waiting for the recursive call (16 bytes each) were alive during
    // the collection; the innermost frame's was not (nothing reads it after the host call).
    assert_eq!(stats.live_after_last_collection, 50 * 16);
    Ok(())
}

#[test]
fn stores_on_several_threads_collect_independently() -> Result<()> {
    let engine = limited_engine(2 << 20);
    let module = Module::compile(&engine, LIST)?;
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (engine, module) = (engine.clone(), module.clone());
            std::thread::spawn(move || -> Result<(i32, u64)> {
                let mut store = Store::new(&engine);
                let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
                let got = call_i32(&mut inst, "check", &[RawVal::from(300 + t)])?;
                Ok((got, store.gc_stats().collections))
            })
        })
        .collect();
    for (t, handle) in threads.into_iter().enumerate() {
        let (got, collections) = handle.join().expect("thread")?;
        let n = 300 + t as i32;
        assert_eq!(got, n * (n + 1));
        assert!(collections >= 1);
    }
    Ok(())
}

#[test]
fn objects_of_one_store_are_refused_by_another() -> Result<()> {
    let engine = engine();
    let wat = r#"(module
      (type $s (struct (field i32)))
      (global $g (export "g") (mut (ref null $s)) (ref.null $s))
      (func (export "make") (param i32) (result (ref $s)) (struct.new $s (local.get 0)))
      (func (export "get") (param (ref null $s)) (result i32) (struct.get $s 0 (local.get 0))))"#;
    let mut store_a = Store::new(&engine);
    let mut a = instance(&engine, &mut store_a, wat)?;
    let mut store_b = Store::new(&engine);
    let mut b = instance(&engine, &mut store_b, wat)?;
    let object = a
        .call_vals("make", &[Val::I32(9)])?
        .into_result()
        .expect("no trap")
        .remove(0);
    // Its own store takes it...
    let back = a
        .call_vals("get", std::slice::from_ref(&object))?
        .into_result()
        .expect("no trap");
    assert!(matches!(back[..], [Val::I32(9)]));
    // ...another store refuses it, in calls and in globals, instead of reading another heap.
    let err = b
        .call_vals("get", std::slice::from_ref(&object))
        .unwrap_err();
    assert!(matches!(err, wasmz::Error::WrongStore), "{err}");
    let global = b.global("g").expect("exported global");
    let err = global.set(object.clone()).unwrap_err();
    assert!(matches!(err, wasmz::Error::WrongStore), "{err}");
    a.global("g").expect("exported global").set(object)?;
    Ok(())
}

#[test]
fn casts_of_objects_follow_declared_subtyping() -> Result<()> {
    let engine = engine();
    let mut store = Store::new(&engine);
    let mut inst = instance(
        &engine,
        &mut store,
        r#"(module
          (type $t0 (sub (struct)))
          (type $t1 (sub $t0 (struct (field i32))))
          (type $t2 (sub final $t1 (struct (field i32 i32))))
          (type $a (array i8))
          (table $objects 4 anyref)
          (elem (table $objects) (i32.const 0) anyref
            (item (struct.new_default $t0)) (item (struct.new_default $t1))
            (item (struct.new_default $t2)) (item (array.new_default $a (i32.const 3))))
          (func $get (param i32) (result anyref) (table.get $objects (local.get 0)))
          (func (export "t0") (param i32) (result i32) (ref.test (ref $t0) (call $get (local.get 0))))
          (func (export "t1") (param i32) (result i32) (ref.test (ref $t1) (call $get (local.get 0))))
          (func (export "t2") (param i32) (result i32) (ref.test (ref $t2) (call $get (local.get 0))))
          (func (export "a") (param i32) (result i32) (ref.test (ref $a) (call $get (local.get 0))))
          (func (export "struct") (param i32) (result i32) (ref.test (ref struct) (call $get (local.get 0))))
          (func (export "array") (param i32) (result i32) (ref.test (ref array) (call $get (local.get 0))))
          (func (export "eq") (param i32) (result i32) (ref.test (ref eq) (call $get (local.get 0))))
          (func (export "i31") (param i32) (result i32) (ref.test (ref i31) (call $get (local.get 0)))))"#,
    )?;
    let names = ["t0", "t1", "t2", "a", "struct", "array", "eq", "i31"];
    for (object, expected) in [
        (0, [1, 0, 0, 0, 1, 0, 1, 0]),
        (1, [1, 1, 0, 0, 1, 0, 1, 0]),
        (2, [1, 1, 1, 0, 1, 0, 1, 0]),
        (3, [0, 0, 0, 1, 0, 1, 1, 0]),
    ] {
        for (name, want) in names.iter().zip(expected) {
            let got = call_i32(&mut inst, name, &[RawVal::from(object)])?;
            assert_eq!(got, want, "object {object}, {name}");
        }
    }
    Ok(())
}
