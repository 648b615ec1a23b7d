//! Typed calls: `TypedFunc` (signature checked once, Rust values in and out) and `HostFunc::wrap`
//! (the host function's signature taken from the closure).

use anyhow::Result;
use wasmz::*;

const MODULE: &str = r#"(module
  (import "host" "add" (func $add (param i32 i32) (result i32)))
  (import "host" "split" (func $split (param i64) (result i32 f64)))
  (import "host" "fail" (func $fail (param i32) (result i32)))
  (import "host" "memory_size" (func $memory_size (result i64)))
  (import "host" "nothing" (func $nothing))
  (memory (export "memory") 2)
  (func (export "sum3") (param i32 i64 f64) (result f64)
    (f64.add (f64.add (f64.convert_i32_s (local.get 0)) (f64.convert_i64_s (local.get 1)))
             (local.get 2)))
  (func (export "swap") (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
  (func (export "nop"))
  (func (export "via_host") (param i32 i32) (result i32) (call $add (local.get 0) (local.get 1)))
  (func (export "split") (param i64) (result i32 f64) (call $split (local.get 0)))
  (func (export "fail") (param i32) (result i32) (call $fail (local.get 0)))
  (func (export "memory_size") (result i64) (call $nothing) (call $memory_size))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1))))"#;

fn instance() -> Result<Instance> {
    let engine = Engine::default();
    let module = Module::compile(&engine, MODULE)?;
    let mut linker = Linker::new();
    linker
        .define(
            "host",
            "add",
            HostFunc::wrap(|a: i32, b: i32| a.wrapping_add(b)),
        )?
        .define(
            "host",
            "split",
            HostFunc::wrap(|v: i64| ((v >> 32) as i32, (v & 0xffff_ffff) as f64)),
        )?
        .define(
            "host",
            "fail",
            HostFunc::wrap(|x: i32| -> Result<i32, HostError> {
                if x < 0 {
                    return Err(HostError::new("negative input"));
                }
                Ok(x * 10)
            }),
        )?
        .define(
            "host",
            "memory_size",
            HostFunc::wrap(|cx: &mut HostContext| cx.memory_size() as i64),
        )?
        .define("host", "nothing", HostFunc::wrap(|| {}))?;
    let mut store = Store::new(&engine);
    Ok(Instance::new(&mut store, &module, &linker)?)
}

#[test]
fn typed_calls_pass_and_return_rust_values() -> Result<()> {
    let instance = instance()?;
    let sum3 = instance.typed_func::<(i32, i64, f64), f64>("sum3")?;
    assert_eq!(sum3.call((1, 2, 0.5))?, 3.5);
    let swap = instance.typed_func::<(i32, i64), (i64, i32)>("swap")?;
    assert_eq!(swap.call((7, -8))?, (-8, 7));
    let nop = instance.typed_func::<(), ()>("nop")?;
    nop.call(())?;
    // Unsigned types are the same wasm types.
    let via_host = instance.typed_func::<(u32, u32), u32>("via_host")?;
    assert_eq!(via_host.call((u32::MAX, 2))?, 1);
    Ok(())
}

#[test]
fn typed_calls_report_traps() -> Result<()> {
    let instance = instance()?;
    let div = instance.typed_func::<(i32, i32), i32>("div")?;
    assert_eq!(div.call((7, 2))?, 3);
    assert_eq!(
        div.call((1, 0)).unwrap_err().code(),
        TrapCode::IntegerDivisionByZero
    );
    // The handle stays usable after a trap.
    assert_eq!(div.call((-9, 3))?, -3);
    Ok(())
}

#[test]
fn a_wrong_signature_is_refused_once_up_front() -> Result<()> {
    let instance = instance()?;
    for err in [
        instance.typed_func::<(i32, i32), i64>("div").unwrap_err(),
        instance.typed_func::<i32, i32>("div").unwrap_err(),
        instance
            .typed_func::<(i32, i32, i32), i32>("div")
            .unwrap_err(),
        instance.typed_func::<(f32, f32), i32>("div").unwrap_err(),
    ] {
        assert!(
            matches!(&err, Error::Link(m) if m.contains("(param i32 i32)")),
            "{err}"
        );
    }
    assert!(matches!(
        instance.typed_func::<(), ()>("missing"),
        Err(Error::UnknownExport(_))
    ));
    assert!(matches!(
        instance.typed_func::<(), ()>("memory"),
        Err(Error::ExportKind { .. })
    ));
    // Through a `Func` too.
    let func = instance.func("swap").expect("exported");
    assert!(func.typed::<(i32, i64), (i32, i64)>().is_err());
    assert_eq!(
        func.typed::<(i32, i64), (i64, i32)>()?.call((1, 2))?,
        (2, 1)
    );
    Ok(())
}

#[test]
fn wrapped_host_functions_take_their_signature_from_the_closure() -> Result<()> {
    let instance = instance()?;
    let via_host = instance.typed_func::<(i32, i32), i32>("via_host")?;
    assert_eq!(via_host.call((40, 2))?, 42);
    let split = instance.typed_func::<i64, (i32, f64)>("split")?;
    assert_eq!(split.call(0x0000_0005_0000_0010)?, (5, 16.0));
    let fail = instance.typed_func::<i32, i32>("fail")?;
    assert_eq!(fail.call(4)?, 40);
    let trap = fail.call(-1).unwrap_err();
    assert_eq!(trap.code(), TrapCode::HostError);
    assert_eq!(trap.message(), Some("negative input"));
    let memory_size = instance.typed_func::<(), i64>("memory_size")?;
    assert_eq!(memory_size.call(())?, 2 * 65536);
    Ok(())
}

#[test]
fn a_wrapped_function_of_the_wrong_type_fails_to_link() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module (import "host" "add" (func (param i32 i32) (result i32))))"#,
    )?;
    let add = HostFunc::wrap(|a: i64, b: i64| a + b);
    assert_eq!(
        add.ty(),
        &FuncType::new(vec![ValType::I64, ValType::I64], vec![ValType::I64])
    );
    let mut linker = Linker::new();
    linker.define("host", "add", add)?;
    let err = Instance::new(&mut Store::new(&engine), &module, &linker).unwrap_err();
    assert!(err.to_string().contains("host::add"), "{err}");
    Ok(())
}
