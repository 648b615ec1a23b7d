//! The store's memory budget: one limit over linear memories, tables and compiled code.

use anyhow::Result;
use wasmz::{
    Config, Engine, Error, Instance, Limits, Linker, Memory, MemoryType, Module, RawVal, Store,
    Table, TableType, Val, ValType,
};

const PAGE: u64 = 65536;

fn grow_module(engine: &Engine) -> Result<Module> {
    Ok(Module::compile(
        engine,
        r#"(module
          (memory (export "mem") 1)
          (table (export "tab") 1 funcref)
          (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
          (func (export "grow_table") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))"#,
    )?)
}

fn call_i32(instance: &mut Instance, name: &str, arg: i32) -> Result<i32> {
    let r = instance.call(name, &[RawVal::from(arg)])?;
    Ok(r.values().expect("no trap")[0].read_as::<i32>())
}

#[test]
fn growth_past_the_budget_returns_minus_one() -> Result<()> {
    let mut config = Config::new();
    config.memory_budget(Some(8 * PAGE));
    let engine = Engine::new(&config)?;
    let module = grow_module(&engine)?;
    let mut store = Store::new(&engine);
    store.link_budget();
    let mut instance = Instance::new(&mut store, &module, &Linker::new())?;
    let start = store.memory_budget();
    assert_eq!(start.limit, Some(8 * PAGE));
    // One page of memory, one table element and the module's code are charged.
    assert!(start.used > PAGE + 8, "{start:?}");
    let room = (8 * PAGE - start.used) / PAGE;
    assert_eq!(call_i32(&mut instance, "grow", room as i32)?, 1);
    assert_eq!(
        call_i32(&mut instance, "grow", 1)?,
        -1,
        "the next page does not fit"
    );
    let after = store.memory_budget();
    assert_eq!(after.used, start.used + room * PAGE);
    assert_eq!(after.peak, after.used);
    let left = 8 * PAGE - after.used;
    assert_eq!(
        call_i32(&mut instance, "grow_table", (left / 8 + 1) as i32)?,
        -1
    );
    assert_eq!(call_i32(&mut instance, "grow_table", (left / 8) as i32)?, 1);
    assert_eq!(store.memory_budget().used, 8 * PAGE - left % 8);
    // The host's grow is refused too.
    assert!(instance.memory("mem").unwrap().grow(1).is_err());
    Ok(())
}

#[test]
fn instantiation_past_the_budget_fails() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(&engine, "(module (memory 4))")?;
    let mut store = Store::new(&engine);
    store.set_memory_budget(Some(3 * PAGE));
    let err = Instance::new(&mut store, &module, &Linker::new()).unwrap_err();
    assert!(matches!(err, Error::Resource(_)), "{err:?}");
    assert!(err.to_string().contains("budget"), "{err}");
    // Host-created objects are charged as well.
    assert!(Memory::new(&mut store, MemoryType::new(4, None)).is_err());
    let ty = TableType {
        element: ValType::FuncRef,
        limits: Limits {
            min: 1 << 20,
            max: None,
        },
        table64: false,
    };
    assert!(Table::new(&mut store, ty, Val::FuncRef(None)).is_err());
    assert!(Memory::new(&mut store, MemoryType::new(1, None)).is_ok());
    Ok(())
}

#[test]
fn without_a_budget_use_is_tracked_but_not_limited() -> Result<()> {
    let engine = Engine::new(&Config::new())?;
    let module = grow_module(&engine)?;
    let mut store = Store::new(&engine);
    let mut instance = Instance::new(&mut store, &module, &Linker::new())?;
    assert_eq!(call_i32(&mut instance, "grow", 3)?, 1);
    let b = store.memory_budget();
    assert_eq!(b.limit, None);
    assert!(b.used >= 4 * PAGE, "{b:?}");
    // Code of a module is charged once per store, however many instances.
    let before = store.memory_budget().used;
    let code_free = Module::compile(&engine, "(module)")?;
    Instance::new(&mut store, &code_free, &Linker::new())?;
    let once = store.memory_budget().used;
    Instance::new(&mut store, &code_free, &Linker::new())?;
    assert_eq!(store.memory_budget().used, once);
    assert!(once >= before);
    Ok(())
}
