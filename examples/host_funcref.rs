//! Host functions as function references: `Func::new` puts a Rust closure into a wasm table, and
//! `HostFunc::new_vals` passes references in and out safely.
//!
//! Run with `cargo run --example host_funcref`.

use wasmz::{Engine, Func, HostFunc, Instance, Linker, Module, Store, Val, ValType};

const WAT: &str = r#"(module
  (type $binop (func (param i32 i32) (result i32)))
  (import "host" "pick" (func $pick (param i32) (result funcref)))
  (table (export "ops") 2 funcref)
  (func (export "apply") (param $op i32) (param i32 i32) (result i32)
    (call_indirect (type $binop) (local.get 1) (local.get 2) (local.get $op)))
  (func (export "apply_picked") (param i32 i32 i32) (result i32)
    (table.set (i32.const 1) (call $pick (local.get 0)))
    (call_indirect (type $binop) (local.get 1) (local.get 2) (i32.const 1))))"#;

/// Runs the example (also called by `tests/examples.rs`).
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::default();
    let module = Module::compile(&engine, WAT)?;
    let mut store = Store::new(&engine);
    // `pick` returns a funcref out of the table: a typed result, checked before wasm sees it.
    let mut linker = Linker::new();
    linker.define(
        "host",
        "pick",
        HostFunc::new_vals([ValType::I32], [ValType::FuncRef], |cx, params, results| {
            let Some(wasmz::Extern::Table(ops)) = cx.get_export("ops") else {
                return Err(wasmz::HostError::new("no table `ops`"));
            };
            let Val::I32(index) = params[0] else {
                return Err(wasmz::HostError::new("an i32 index"));
            };
            results[0] = ops.get(index as u64).unwrap_or(Val::FuncRef(None));
            Ok(())
        }),
    )?;
    let mut instance = Instance::new(&mut store, &module, &linker)?;
    let add = Func::new(
        &mut store,
        HostFunc::wrap(|a: i32, b: i32| a.wrapping_add(b)),
    )?;
    let max = Func::new(&mut store, HostFunc::wrap(|a: i32, b: i32| a.max(b)))?;
    let ops = instance.table("ops").expect("exported");
    ops.set(0, Val::FuncRef(Some(add)))?;
    ops.set(1, Val::FuncRef(Some(max)))?;
    let apply = instance.typed_func::<(i32, i32, i32), i32>("apply")?;
    println!("apply(add, 2, 3) = {}", apply.call((0, 2, 3))?);
    println!("apply(max, 2, 3) = {}", apply.call((1, 2, 3))?);
    let picked = instance
        .call_vals("apply_picked", &[Val::I32(0), Val::I32(40), Val::I32(2)])?
        .into_result()?;
    println!("apply_picked(add, 40, 2) = {picked:?}");
    assert!(matches!(picked[..], [Val::I32(42)]));
    Ok(())
}
