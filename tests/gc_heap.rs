//! The GC heap: struct and array objects, the collector (stack maps, globals, host roots), heap
//! limits and budget accounting.

use anyhow::Result;
use wasmz::{Config, Engine, ExecResult, Instance, Linker, Module, RawVal, Store};

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
