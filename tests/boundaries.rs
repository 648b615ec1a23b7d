//! Integration tests of values crossing boundaries: many parameters and results between host and wasm
//! (more than the runtime's inline buffers), host functions placed in tables, `call_indirect` across
//! instances, and function and external references passed through the API.

use anyhow::Result;
use wasmz::*;

/// Calls `name` and returns its results, failing the test on a trap.
fn call(instance: &mut Instance, name: &str, args: &[RawVal]) -> Result<Vec<RawVal>> {
    Ok(instance.call(name, args)?.into_result()?)
}

#[test]
fn wasm_functions_take_and_return_many_values() -> Result<()> {
    let params = "i64 ".repeat(20);
    let results = "i32 f64 ".repeat(6);
    let pushes: String = (0..6)
        .map(|i| {
            format!(
                "(i32.wrap_i64 (local.get {i})) (f64.convert_i64_s (local.get {}))",
                i + 10
            )
        })
        .collect();
    let wat = format!(
        r#"(module
          (func (export "sum20") (param {params}) (result i64)
            {body})
          (func (export "spread") (param {params}) (result {results}) {pushes}))"#,
        body = (1..20).fold("(local.get 0)".to_string(), |acc, i| format!(
            "(i64.add {acc} (local.get {i}))"
        )),
    );
    let engine = Engine::default();
    let module = Module::compile(&engine, &wat)?;
    let mut inst = Instance::new(&mut Store::new(&engine), &module, &Linker::new())?;
    let args: Vec<RawVal> = (1..=20i64).map(|i| RawVal::from(i * 1000 + i)).collect();
    assert_eq!(
        call(&mut inst, "sum20", &args)?[0].read_as::<i64>(),
        210 * 1001
    );

    let r = call(&mut inst, "spread", &args)?;
    assert_eq!(r.len(), 12);
    for i in 0..6 {
        assert_eq!(
            r[2 * i].read_as::<i32>(),
            (i as i32 + 1) * 1001,
            "result {}",
            2 * i
        );
        assert_eq!(
            r[2 * i + 1].read_as::<f64>(),
            (i as f64 + 11.0) * 1001.0,
            "result {}",
            2 * i + 1
        );
    }
    let vals: Vec<Val> = (1..=20i64).map(|i| Val::I64(i * 1001)).collect();
    let typed = inst.call_vals("spread", &vals)?.into_result()?;
    assert_eq!(typed.len(), 12);
    assert!(matches!(typed[10], Val::I32(6006)), "{typed:?}");
    assert!(
        matches!(typed[11], Val::F64(bits) if f64::from_bits(bits) == 16016.0),
        "{typed:?}"
    );
    Ok(())
}

#[test]
fn host_functions_take_and_return_many_values() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        format!(
            r#"(module
              (import "h" "wide" (func $wide (param {}) (result {})))
              (func (export "run") (result i64)
                (local $acc i64)
                (call $wide {})
                {})
              (func (export "direct") (param {0}) (result {1}) {}))"#,
            "i32 ".repeat(18),
            "i64 ".repeat(10),
            (1..=18)
                .map(|i| format!("(i32.const {i})"))
                .collect::<Vec<_>>()
                .join(" "),
            "(local.set $acc) (i64.add (local.get $acc)) ".repeat(9),
            (0..18)
                .map(|i| format!("(local.get {i})"))
                .collect::<Vec<_>>()
                .join(" ")
                + " (call $wide)",
        ),
    )?;
    let mut linker = Linker::new();
    linker.define(
        "h",
        "wide",
        HostFunc::new(vec![ValType::I32; 18], vec![ValType::I64; 10], |_, p, r| {
            assert_eq!(p.len(), 18);
            assert_eq!(r.len(), 10);
            let sum: i64 = p.iter().map(|v| i64::from(v.read_as::<i32>())).sum();
            for (i, slot) in r.iter_mut().enumerate() {
                *slot = RawVal::from(sum * (i as i64 + 1));
            }
            Ok(())
        }),
    )?;
    let mut inst = Instance::new(&mut Store::new(&engine), &module, &linker)?;
    // sum(1..=18) = 171; results are 171 * (1..=10); "run" folds them: 171 * 55.
    assert_eq!(call(&mut inst, "run", &[])?[0].read_as::<i64>(), 171 * 55);
    let args: Vec<RawVal> = (0..18).map(|i| RawVal::from(i * 2)).collect();
    let r = call(&mut inst, "direct", &args)?;
    assert_eq!(
        r.iter().map(|v| v.read_as::<i64>()).collect::<Vec<_>>(),
        (1..=10).map(|i| 306 * i).collect::<Vec<_>>()
    );
    Ok(())
}

#[test]
fn host_functions_can_be_called_through_tables() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module
          (import "h" "triple" (func $triple (param i32) (result i32)))
          (import "h" "pair" (func $pair (param f32) (result f32 f32)))
          (type $i (func (param i32) (result i32)))
          (type $p (func (param f32) (result f32 f32)))
          (table (export "t") 2 funcref)
          (elem (i32.const 0) $triple $pair)
          (func (export "via_table") (param i32 i32) (result i32)
            (call_indirect (type $i) (local.get 1) (local.get 0)))
          (func (export "pair_via_table") (param f32) (result f32 f32)
            (call_indirect (type $p) (local.get 0) (i32.const 1))))"#,
    )?;
    let mut linker = Linker::new();
    linker
        .define(
            "h",
            "triple",
            HostFunc::new([ValType::I32], [ValType::I32], |_, p, r| {
                r[0] = RawVal::from(p[0].read_as::<i32>() * 3);
                Ok(())
            }),
        )?
        .define(
            "h",
            "pair",
            HostFunc::new([ValType::F32], [ValType::F32, ValType::F32], |_, p, r| {
                let x = p[0].read_as::<f32>();
                r[0] = RawVal::from(-x);
                r[1] = RawVal::from(x * 2.0);
                Ok(())
            }),
        )?;
    let mut inst = Instance::new(&mut Store::new(&engine), &module, &linker)?;
    let r = call(
        &mut inst,
        "via_table",
        &[RawVal::from(0i32), RawVal::from(14i32)],
    )?;
    assert_eq!(r[0].read_as::<i32>(), 42);
    let r = call(&mut inst, "pair_via_table", &[RawVal::from(1.5f32)])?;
    assert_eq!((r[0].read_as::<f32>(), r[1].read_as::<f32>()), (-1.5, 3.0));
    let r = inst.call("via_table", &[RawVal::from(1i32), RawVal::from(14i32)])?;
    assert_eq!(r.trap().map(Trap::code), Some(TrapCode::BadSignature));
    assert!(matches!(
        inst.table("t").expect("table").get(0),
        Some(Val::FuncRef(Some(_)))
    ));
    Ok(())
}

#[test]
fn call_indirect_matches_equal_types_across_instances() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let provider = Module::compile(
        &engine,
        r#"(module
          (type $unused (func (param f64)))
          (table (export "t") 3 funcref)
          (func $neg (param i64) (result i64) (i64.sub (i64.const 0) (local.get 0)))
          (func $half (param f32) (result f32) (f32.mul (local.get 0) (f32.const 0.5)))
          (elem (i32.const 0) $neg $half))"#,
    )?;
    let provider = Instance::new(&mut store, &provider, &Linker::new())?;
    let mut linker = Linker::new();
    linker.define_instance("p", &provider)?;
    let user = Module::compile(
        &engine,
        r#"(module
          (import "p" "t" (table 3 funcref))
          (type $f (func (param f32) (result f32)))
          (type $l (func (param i64) (result i64)))
          (func (export "neg") (param i64) (result i64) (call_indirect (type $l) (local.get 0) (i32.const 0)))
          (func (export "half") (param f32) (result f32) (call_indirect (type $f) (local.get 0) (i32.const 1)))
          (func (export "wrong") (param i64) (result i64) (call_indirect (type $l) (local.get 0) (i32.const 1)))
          (func (export "null") (param i64) (result i64) (call_indirect (type $l) (local.get 0) (i32.const 2))))"#,
    )?;
    let mut user = Instance::new(&mut store, &user, &linker)?;
    assert_eq!(
        call(&mut user, "neg", &[RawVal::from(5i64)])?[0].read_as::<i64>(),
        -5
    );
    assert_eq!(
        call(&mut user, "half", &[RawVal::from(3.0f32)])?[0].read_as::<f32>(),
        1.5
    );
    let r = user.call("wrong", &[RawVal::from(5i64)])?;
    assert_eq!(r.trap().map(Trap::code), Some(TrapCode::BadSignature));
    let r = user.call("null", &[RawVal::from(5i64)])?;
    assert_eq!(r.trap().map(Trap::code), Some(TrapCode::IndirectCallToNull));
    Ok(())
}

#[test]
fn references_pass_through_calls_globals_and_tables() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module
          (type $v (func (result i32)))
          (table $funcs (export "funcs") 2 funcref)
          (table $externs (export "externs") 2 externref)
          (global $g (export "g") (mut externref) (ref.null extern))
          (func $seven (export "seven") (result i32) (i32.const 7))
          (elem declare func $seven)
          (func (export "get_seven") (result funcref) (ref.func $seven))
          (func (export "id") (param externref) (result externref) (local.get 0))
          (func (export "is_null") (param externref) (result i32) (ref.is_null (local.get 0)))
          (func (export "stash") (param externref) (table.set $externs (i32.const 1) (local.get 0)))
          (func (export "call_slot") (param i32) (result i32) (call_indirect $funcs (type $v) (local.get 0))))"#,
    )?;
    let mut inst = Instance::new(&mut Store::new(&engine), &module, &Linker::new())?;

    let r = inst
        .call_vals("id", &[Val::ExternRef(Some(42))])?
        .into_result()?;
    assert!(matches!(r[..], [Val::ExternRef(Some(42))]), "{r:?}");
    let r = inst
        .call_vals("id", &[Val::ExternRef(Some(0))])?
        .into_result()?;
    assert!(
        matches!(r[..], [Val::ExternRef(Some(0))]),
        "host value 0 is not null: {r:?}"
    );
    let r = inst
        .call_vals("is_null", &[Val::ExternRef(None)])?
        .into_result()?;
    assert!(matches!(r[..], [Val::I32(1)]));
    let r = inst
        .call_vals("is_null", &[Val::ExternRef(Some(0))])?
        .into_result()?;
    assert!(matches!(r[..], [Val::I32(0)]));

    inst.call_vals("stash", &[Val::ExternRef(Some(9))])?
        .into_result()?;
    let externs = inst.table("externs").expect("table");
    assert!(matches!(externs.get(1), Some(Val::ExternRef(Some(9)))));
    assert!(matches!(externs.get(0), Some(Val::ExternRef(None))));
    externs.set(0, Val::ExternRef(Some(5)))?;
    assert!(matches!(externs.get(0), Some(Val::ExternRef(Some(5)))));

    let g = inst.global("g").expect("global");
    g.set(Val::ExternRef(Some(77)))?;
    assert!(matches!(g.get(), Val::ExternRef(Some(77))));

    // A funcref returned by wasm can be stored in a table by the host and called from there.
    let r = inst.call_vals("get_seven", &[])?.into_result()?;
    let Some(Val::FuncRef(Some(seven))) = r.into_iter().next() else {
        panic!("expected a non-null funcref")
    };
    let funcs = inst.table("funcs").expect("table");
    funcs.set(1, Val::FuncRef(Some(seven)))?;
    assert_eq!(
        call(&mut inst, "call_slot", &[RawVal::from(1i32)])?[0].read_as::<i32>(),
        7
    );
    let r = inst.call("call_slot", &[RawVal::from(0i32)])?;
    assert_eq!(r.trap().map(Trap::code), Some(TrapCode::IndirectCallToNull));
    Ok(())
}

#[test]
fn handles_keep_the_store_alive() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module (memory (export "m") 1) (global $c (mut i32) (i32.const 0))
             (func (export "inc") (result i32)
               (global.set $c (i32.add (global.get $c) (i32.const 1))) (global.get $c)))"#,
    )?;
    let (mut inst, memory) = {
        let mut store = Store::new(&engine);
        let inst = Instance::new(&mut store, &module, &Linker::new())?;
        let memory = inst.memory("m").expect("memory");
        (inst, memory)
    };
    assert_eq!(call(&mut inst, "inc", &[])?[0].read_as::<i32>(), 1);
    let mut clone = inst.clone();
    assert_eq!(
        call(&mut clone, "inc", &[])?[0].read_as::<i32>(),
        2,
        "clones share the instance"
    );
    drop(inst);
    drop(clone);
    memory.write(0, b"still here")?;
    let mut buf = [0u8; 10];
    memory.read(0, &mut buf)?;
    assert_eq!(&buf, b"still here");
    Ok(())
}
