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

/// The error of instantiating `wat` in a fresh store with `budget`, and the store's peak use.
fn instantiation_error(engine: &Engine, wat: &str, budget: Option<u64>) -> Result<(Error, u64)> {
    let module = Module::compile(engine, wat)?;
    let mut store = Store::new(engine);
    store.set_memory_budget(budget);
    let err = Instance::new(&mut store, &module, &Linker::new()).unwrap_err();
    Ok((err, store.memory_budget().peak))
}

#[test]
fn tables_past_the_element_limit_fail_to_instantiate() -> Result<()> {
    let engine = Engine::default();
    for wat in [
        "(module (table 0xffffffff 0xffffffff funcref))",
        "(module (table 0xffffffff externref))",
        "(module (table i64 0x10000000000 0x10000000000 funcref))",
        "(module (table i64 0xffffffffffffffff funcref))",
        "(module (func $f) (table 0x20000000 0x20000000 funcref (ref.func $f)))",
        "(module (table 10000001 funcref))",
    ] {
        for budget in [Some(1 << 20), None] {
            let (err, peak) = instantiation_error(&engine, wat, budget)?;
            assert!(
                matches!(&err, Error::Resource(m) if m.contains("limit of 10000000 elements")),
                "{wat}: {err}"
            );
            assert!(peak < 1 << 20, "{wat}: {peak} bytes charged");
        }
    }
    Ok(())
}

#[test]
fn a_table_past_the_budget_is_refused_before_it_is_charged() -> Result<()> {
    let engine = Engine::default();
    let wat = "(module (func $f) (table 1000000 1000000 funcref (ref.func $f)))";
    let (err, peak) = instantiation_error(&engine, wat, Some(1 << 20))?;
    assert!(
        matches!(&err, Error::Resource(m) if m.contains("budget") && m.contains("1000000 elements")),
        "{err}"
    );
    assert!(peak < 1 << 20, "{peak}");
    // Without the budget it fits.
    let module = Module::compile(&engine, wat)?;
    let mut store = Store::new(&engine);
    Instance::new(&mut store, &module, &Linker::new())?;
    assert!(store.memory_budget().used >= 8_000_000);
    Ok(())
}

#[test]
fn host_tables_past_the_element_limit_or_the_budget_are_errors() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    store.set_memory_budget(Some(1 << 20));
    let table = |min, max, table64| TableType {
        element: ValType::FuncRef,
        limits: Limits { min, max },
        table64,
    };
    for ty in [
        table(u64::from(u32::MAX), Some(u64::from(u32::MAX)), false),
        table(1 << 40, Some(1 << 40), true),
        table(u64::MAX, None, true),
        table(1_000_000, None, false),
    ] {
        let err = Table::new(&mut store, ty, Val::FuncRef(None)).unwrap_err();
        assert!(matches!(err, Error::Resource(_)), "{ty}: {err:?}");
    }
    assert!(store.memory_budget().peak < 1 << 20);
    Ok(())
}

#[test]
fn table_growth_past_the_element_limit_or_the_budget_returns_minus_one() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module
          (table (export "t32") 0 0xffffffff funcref)
          (table (export "t64") i64 0 funcref)
          (func (export "grow32") (param i32) (result i32) (table.grow 0 (ref.null func) (local.get 0)))
          (func (export "grow64") (param i64) (result i64) (table.grow 1 (ref.null func) (local.get 0))))"#,
    )?;
    let mut store = Store::new(&engine);
    store.set_memory_budget(Some(4 << 20));
    let instance = Instance::new(&mut store, &module, &Linker::new())?;
    let grow32 = instance.typed_func::<i32, i32>("grow32")?;
    let grow64 = instance.typed_func::<i64, i64>("grow64")?;
    let before = store.memory_budget();
    assert_eq!(grow32.call(-1)?, -1);
    assert_eq!(grow32.call(10_000_001)?, -1);
    assert_eq!(grow64.call(1 << 40)?, -1);
    assert_eq!(grow64.call(-1)?, -1);
    // Under the element limit, the budget (4 MiB: half a million elements) refuses.
    assert_eq!(grow32.call(1_000_000)?, -1);
    assert_eq!(grow64.call(1_000_000)?, -1);
    assert_eq!(store.memory_budget(), before, "nothing was charged");
    assert_eq!(grow32.call(1000)?, 0);
    assert_eq!(grow64.call(1000)?, 0);
    assert_eq!(store.memory_budget().used, before.used + 16_000);
    // The host's grow is refused the same way.
    let t32 = instance.table("t32").expect("exported");
    assert!(t32.grow(u64::from(u32::MAX), Val::FuncRef(None)).is_err());
    assert!(t32.grow(u64::MAX, Val::FuncRef(None)).is_err());
    assert!(t32.grow(1_000_000, Val::FuncRef(None)).is_err());
    assert_eq!(t32.grow(10, Val::FuncRef(None))?, 1000);
    assert_eq!(t32.size(), 1010);
    Ok(())
}
