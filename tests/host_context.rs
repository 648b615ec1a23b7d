//! What a host function reaches through its `HostContext`: the calling instance's exports (to call
//! back into the module), the store's fuel and epoch deadline.

use anyhow::Result;
use wasmz::*;

const MODULE: &str = r#"(module
  (import "host" "twice_via_wasm" (func $twice_via_wasm (param i32) (result i32)))
  (import "host" "bump_counter" (func $bump_counter))
  (global $counter (export "counter") (mut i32) (i32.const 0))
  (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "quadruple") (param i32) (result i32)
    (call $twice_via_wasm (call $twice_via_wasm (local.get 0))))
  (func (export "bump") (result i32) (call $bump_counter) (call $bump_counter) (global.get $counter)))"#;

#[test]
fn host_functions_call_back_into_the_calling_instance() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(&engine, MODULE)?;
    let mut linker = Linker::new();
    linker.define(
        "host",
        "twice_via_wasm",
        HostFunc::wrap(|cx: &mut HostContext, x: i32| -> Result<i32, HostError> {
            let double = cx
                .get_func("double")
                .ok_or_else(|| HostError::new("no export `double`"))?;
            let double = double
                .typed::<i32, i32>()
                .map_err(|e| HostError::new(e.to_string()))?;
            double
                .call(x)
                .map_err(|trap| HostError::new(trap.to_string()))
        }),
    )?;
    linker.define(
        "host",
        "bump_counter",
        HostFunc::wrap(|cx: &mut HostContext| -> Result<(), HostError> {
            let Some(Extern::Global(counter)) = cx.get_export("counter") else {
                return Err(HostError::new("no global `counter`"));
            };
            let Val::I32(n) = counter.get() else {
                return Err(HostError::new("counter is not an i32"));
            };
            counter
                .set(Val::I32(n + 1))
                .map_err(|e| HostError::new(e.to_string()))
        }),
    )?;
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &linker)?;
    assert_eq!(instance.typed_func::<i32, i32>("quadruple")?.call(5)?, 20);
    assert_eq!(instance.typed_func::<(), i32>("bump")?.call(())?, 2);
    Ok(())
}

const LOOP: &str = r#"(module
  (import "host" "extend" (func $extend (param i32)))
  (import "host" "tick" (func $tick))
  (import "host" "fuel" (func $fuel (result i64)))
  (func (export "run") (param $extend i32) (result i32) (local $i i32)
    (call $extend (local.get $extend))
    (loop $l
      (call $tick)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
    (local.get $i))
  (func (export "fuel") (result i64) (call $fuel)))"#;

fn limits_linker(engine: &Engine) -> Result<Linker> {
    let ticker = engine.clone();
    let mut linker = Linker::new();
    linker
        .define(
            "host",
            "extend",
            HostFunc::wrap(|cx: &mut HostContext, extend: i32| {
                if extend != 0 {
                    cx.set_epoch_deadline(10);
                }
            }),
        )?
        .define(
            "host",
            "tick",
            HostFunc::wrap(move || ticker.increment_epoch()),
        )?
        .define(
            "host",
            "fuel",
            HostFunc::wrap(|cx: &mut HostContext| {
                let left = cx.fuel();
                cx.set_fuel(left + 1000);
                left as i64
            }),
        )?;
    Ok(linker)
}

#[test]
fn host_functions_extend_the_epoch_deadline() -> Result<()> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let module = Module::compile(&engine, LOOP)?;
    let linker = limits_linker(&engine)?;
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &linker)?;
    let run = instance.typed_func::<i32, i32>("run")?;
    // One tick allowed: the loop's first tick reaches the deadline and the next check traps.
    store.set_epoch_deadline(1);
    assert_eq!(run.call(0).unwrap_err().code(), TrapCode::Interrupted);
    // Extended by the host at the start of the call: three ticks fit.
    store.set_epoch_deadline(1);
    assert_eq!(run.call(1)?, 3);
    Ok(())
}

#[test]
fn host_functions_read_and_refill_fuel() -> Result<()> {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let module = Module::compile(&engine, LOOP)?;
    let linker = limits_linker(&engine)?;
    let mut store = Store::new(&engine);
    store.set_fuel(100);
    let instance = Instance::new(&mut store, &module, &linker)?;
    let fuel = instance.typed_func::<(), i64>("fuel")?;
    // The call's own entry cost one unit before the host read it.
    assert_eq!(fuel.call(())?, 99);
    assert_eq!(store.fuel(), 1099);
    Ok(())
}

#[test]
fn the_reactor_initializer_runs_once() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module (global $n (export "n") (mut i32) (i32.const 0))
             (func (export "_initialize") (global.set $n (i32.add (global.get $n) (i32.const 1)))))"#,
    )?;
    let mut store = Store::new(&engine);
    let mut instance = Instance::new(&mut store, &module, &Linker::new())?;
    assert!(instance.initialize_reactor()?.is_some_and(|r| r.is_ok()));
    assert!(instance.initialize_reactor()?.is_none());
    assert!(matches!(
        instance.global("n").map(|g| g.get()),
        Some(Val::I32(1))
    ));
    Ok(())
}

#[test]
fn the_configured_memory_budget_holds_without_link_budget() -> Result<()> {
    let mut config = Config::new();
    config.memory_budget(Some(4 * 65536));
    let engine = Engine::new(&config)?;
    let module = Module::compile(
        &engine,
        r#"(module (memory 1) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    )?;
    let mut store = Store::new(&engine);
    assert_eq!(store.memory_budget().limit, Some(4 * 65536));
    let instance = Instance::new(&mut store, &module, &Linker::new())?;
    let grow = instance.typed_func::<i32, i32>("grow")?;
    assert_eq!(grow.call(100)?, -1);
    assert_eq!(grow.call(1)?, 1);
    // The seed API's step is accepted and changes nothing.
    store.link_budget();
    assert_eq!(store.memory_budget().limit, Some(4 * 65536));
    Ok(())
}

/// Host functions read and write the memory the calling instance exports as "memory", whichever index
/// it has, else its memory 0; without either, memory access is an error that traps the guest.
#[test]
fn host_functions_see_the_memory_exported_as_memory() -> Result<()> {
    let engine = Engine::default();
    let mut linker = Linker::new();
    linker.define(
        "host",
        "poke",
        HostFunc::wrap(|cx: &mut HostContext, at: i32| -> Result<(), HostError> {
            let mut byte = [0u8];
            cx.read_memory(at as u64, &mut byte)?;
            cx.write_memory(at as u64, &[byte[0] + 1])
        }),
    )?;
    let cases = [
        // Memory 1 is the one exported as "memory": memory 0 stays untouched.
        (
            r#"(memory 1) (memory (export "memory") 1)
               (data (memory 1) (i32.const 7) "\05")
               (func (export "run") (result i32)
                 (call $poke (i32.const 7))
                 (i32.add (i32.mul (i32.load8_u 1 (i32.const 7)) (i32.const 100))
                          (i32.load8_u 0 (i32.const 7))))"#,
            600,
        ),
        // No export named "memory" (the memory's export has another name): memory 0.
        (
            r#"(memory (export "mem") 1) (data (i32.const 7) "\09")
               (func (export "run") (result i32) (call $poke (i32.const 7)) (i32.load8_u (i32.const 7)))"#,
            10,
        ),
    ];
    for (body, expected) in cases {
        let wat = format!(r#"(module (import "host" "poke" (func $poke (param i32))) {body})"#);
        let module = Module::compile(&engine, &wat)?;
        let mut store = Store::new(&engine);
        let instance = Instance::new(&mut store, &module, &linker)?;
        assert_eq!(instance.typed_func::<(), i32>("run")?.call(())?, expected);
    }
    let module = Module::compile(
        &engine,
        r#"(module (import "host" "poke" (func $poke (param i32)))
             (func (export "run") (call $poke (i32.const 7))))"#,
    )?;
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &linker)?;
    let err = instance.typed_func::<(), ()>("run")?.call(()).unwrap_err();
    assert!(err.to_string().contains("no memory"), "{err}");
    Ok(())
}
