//! Pre-instantiation and shared linkers: a `Linker` is `Send + Sync`, `instantiate_pre` resolves a
//! module's imports once, and `InstancePre::instantiate` makes instances in any thread's stores.

use anyhow::Result;
use std::sync::Arc;
use wasmz::*;

const MODULE: &str = r#"(module
  (import "env" "scale" (func $scale (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello")
  (global $calls (mut i32) (i32.const 0))
  (func (export "run") (param i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.add (call $scale (local.get 0)) (i32.load8_u (i32.const 16))))
  (func (export "calls") (result i32) (global.get $calls)))"#;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn linkers_and_pre_instances_are_shared_by_threads() -> Result<()> {
    assert_send_sync::<Linker>();
    assert_send_sync::<InstancePre>();
    let engine = Engine::default();
    let module = Module::compile(&engine, MODULE)?;
    let mut linker = Linker::new();
    linker.define("env", "scale", HostFunc::wrap(|x: i32| x * 10))?;
    let linker = Arc::new(linker);
    let pre = linker.instantiate_pre(&module)?;
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let (pre, linker, module) = (pre.clone(), linker.clone(), module.clone());
            std::thread::spawn(move || -> Result<()> {
                for i in 0..20 {
                    let mut store = Store::new(pre.module().engine());
                    // Every instance is fresh: its own memory and globals.
                    let instance = pre.instantiate(&mut store)?;
                    let run = instance.typed_func::<i32, i32>("run")?;
                    assert_eq!(run.call(t + i)?, (t + i) * 10 + i32::from(b'h'));
                    assert_eq!(instance.typed_func::<(), i32>("calls")?.call(())?, 1);
                    // The shared linker works directly too.
                    let direct = Instance::new(&mut store, &module, &linker)?;
                    assert_eq!(direct.typed_func::<i32, i32>("run")?.call(1)?, 114);
                }
                Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("no panic")?;
    }
    Ok(())
}

#[test]
fn missing_imports_are_found_when_pre_instantiating() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(&engine, MODULE)?;
    let err = Linker::new().instantiate_pre(&module).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownImport { module, name } if module == "env" && name == "scale"),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn store_items_serve_their_own_store_only() -> Result<()> {
    let engine = Engine::default();
    let importer = Module::compile(
        &engine,
        r#"(module (import "env" "g" (global $g i32)) (func (export "g") (result i32) (global.get $g)))"#,
    )?;
    let mut store = Store::new(&engine);
    let global = Global::new(
        &mut store,
        GlobalType {
            content: ValType::I32,
            mutable: false,
        },
        Val::I32(7),
    )?;
    let mut linker = Linker::new();
    linker.define_global("env", "g", global)?;
    let pre = linker.instantiate_pre(&importer)?;
    let instance = pre.instantiate(&mut store)?;
    assert_eq!(instance.typed_func::<(), i32>("g")?.call(())?, 7);
    // Another store (even one created after the first is gone) refuses the item.
    let mut other = Store::new(&engine);
    assert!(matches!(
        pre.instantiate(&mut other),
        Err(Error::WrongStore)
    ));
    drop(store);
    let mut later = Store::new(&engine);
    assert!(matches!(
        Instance::new(&mut later, &importer, &linker),
        Err(Error::WrongStore)
    ));
    Ok(())
}

#[test]
fn shared_memories_serve_every_store() -> Result<()> {
    let engine = Engine::default();
    let exporter = Module::compile(
        &engine,
        r#"(module (memory (export "mem") 1 1 shared) (data (i32.const 0) "\2a"))"#,
    )?;
    let importer = Module::compile(
        &engine,
        r#"(module (import "env" "mem" (memory 1 1 shared))
             (func (export "first") (result i32) (i32.load8_u (i32.const 0))))"#,
    )?;
    let mut store = Store::new(&engine);
    let owner = Instance::new(&mut store, &exporter, &Linker::new())?;
    let mut linker = Linker::new();
    // Defined as a store's `Memory`: a shared memory still serves other stores.
    linker.define_memory("env", "mem", owner.memory("mem").expect("exported"))?;
    let pre = linker.instantiate_pre(&importer)?;
    let mut other = Store::new(&engine);
    let instance = pre.instantiate(&mut other)?;
    assert_eq!(instance.typed_func::<(), i32>("first")?.call(())?, 42);
    Ok(())
}
