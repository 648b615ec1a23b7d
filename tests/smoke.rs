//! A first end-to-end check: host function, recursion, traps.

use wasmz::*;

#[test]
fn add_via_host_function() -> anyhow::Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module
          (import "env" "add" (func $add (param i32 i32) (result i32)))
          (func (export "add") (param i32 i32) (result i32) (call $add (local.get 0) (local.get 1)))
          (func (export "fac") (param i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 1))
              (else (i64.mul (local.get 0) (call 2 (i64.sub (local.get 0) (i64.const 1)))))))
          (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
          (func (export "rec") (call 4))
          (memory (export "mem") 1)
          (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"#,
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
    let mut instance = Instance::new(&mut store, &module, &linker)?;
    let r = instance.call("add", &[RawVal::from(3i32), RawVal::from(4i32)])?;
    assert_eq!(r.values().unwrap()[0].read_as::<i32>(), 7);
    let r = instance.call("fac", &[RawVal::from(20i64)])?;
    assert_eq!(r.values().unwrap()[0].read_as::<i64>(), 2432902008176640000);
    let r = instance.call("div", &[RawVal::from(1i32), RawVal::from(0i32)])?;
    assert_eq!(r.trap().unwrap().code(), TrapCode::IntegerDivisionByZero);
    let r = instance.call("load", &[RawVal::from(65536i32)])?;
    assert_eq!(r.trap().unwrap().code(), TrapCode::MemoryOutOfBounds);
    let r = instance.call("rec", &[])?;
    assert_eq!(r.trap().unwrap().code(), TrapCode::StackOverflow);
    let r = instance.call("add", &[RawVal::from(3i32), RawVal::from(4i32)])?;
    assert_eq!(r.values().unwrap()[0].read_as::<i32>(), 7);
    let fac = instance.func("fac").expect("exported");
    let mut out = [RawVal::default()];
    fac.call(&[RawVal::from(5i64)], &mut out)?.expect("no trap");
    assert_eq!(out[0].read_as::<i64>(), 120);
    assert!(matches!(
        fac.call(&[], &mut out),
        Err(Error::ArgumentCount { .. })
    ));
    assert!(matches!(
        fac.call(&[RawVal::from(1i64)], &mut []),
        Err(Error::ArgumentCount { .. })
    ));
    let div = instance.func("div").expect("exported");
    let trap = div
        .call(&[RawVal::from(1i32), RawVal::from(0i32)], &mut out)?
        .expect_err("traps");
    assert_eq!(trap.code(), TrapCode::IntegerDivisionByZero);
    Ok(())
}
