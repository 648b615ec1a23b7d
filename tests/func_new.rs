//! Host functions as function references: `Func::new` makes a callable `Func` of a store from a
//! `HostFunc`, which tables, globals and wasm code take like any function.

use anyhow::Result;
use wasmz::*;

const MODULE: &str = r#"(module
  (type $binary (func (param i32 i32) (result i32)))
  (table $t (export "table") 2 funcref)
  (func (export "apply") (param i32 i32 i32) (result i32)
    (call_indirect $t (type $binary) (local.get 1) (local.get 2) (local.get 0)))
  (func (export "apply_ref") (param funcref i32 i32) (result i32)
    (table.set $t (i32.const 1) (local.get 0))
    (call_indirect $t (type $binary) (local.get 1) (local.get 2) (i32.const 1))))"#;

#[test]
fn host_functions_go_into_tables_and_are_called_by_wasm() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(&engine, MODULE)?;
    let mut store = Store::new(&engine);
    let mut instance = Instance::new(&mut store, &module, &Linker::new())?;
    let sub = Func::new(&mut store, HostFunc::wrap(|a: i32, b: i32| a - b))?;
    assert_eq!(
        sub.ty(),
        Some(&FuncType::new(vec![ValType::I32; 2], vec![ValType::I32]))
    );
    // Called from the host directly.
    assert_eq!(sub.typed::<(i32, i32), i32>()?.call((10, 3))?, 7);
    // Through a table.
    let table = instance.table("table").expect("exported");
    table.set(0, Val::FuncRef(Some(sub.clone())))?;
    let apply = instance.typed_func::<(i32, i32, i32), i32>("apply")?;
    assert_eq!(apply.call((0, 50, 8))?, 42);
    // As a funcref argument.
    let result = instance
        .call_vals(
            "apply_ref",
            &[Val::FuncRef(Some(sub.clone())), Val::I32(1), Val::I32(2)],
        )?
        .into_result()?;
    assert!(matches!(result[..], [Val::I32(-1)]));
    // A function of the wrong type traps at call_indirect.
    let neg = Func::new(&mut store, HostFunc::wrap(|a: i32| -a))?;
    table.set(0, Val::FuncRef(Some(neg)))?;
    assert_eq!(
        apply.call((0, 1, 2)).unwrap_err().code(),
        TrapCode::BadSignature
    );
    // Another store refuses it.
    let mut other = Store::new(&engine);
    let foreign = Instance::new(&mut other, &module, &Linker::new())?;
    let err = foreign
        .table("table")
        .expect("exported")
        .set(0, Val::FuncRef(Some(sub)))
        .unwrap_err();
    assert!(matches!(err, Error::WrongStore), "{err:?}");
    Ok(())
}

#[test]
fn raw_reference_results_are_refused_and_typed_ones_checked() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let raw = HostFunc::new([], [ValType::FuncRef], |_, _, r| {
        r[0] = RawVal::from_u64(0x1000);
        Ok(())
    });
    assert!(matches!(
        Func::new(&mut store, raw),
        Err(Error::RawReference { .. })
    ));
    let typed = HostFunc::new_vals([], [ValType::FuncRef], |_, _, r| {
        r[0] = Val::FuncRef(None);
        Ok(())
    });
    let func = Func::new(&mut store, typed)?;
    let mut results = [RawVal::from_u64(99)];
    func.call(&[], &mut results)??;
    assert_eq!(results[0].low64(), 0);
    Ok(())
}
