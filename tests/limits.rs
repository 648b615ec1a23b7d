//! Integration tests of execution limits: fuel metering ([`Config::consume_fuel`]) and epoch
//! interruption ([`Config::epoch_interruption`]).

mod common;
use common::trap_of;

use anyhow::Result;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wasmz::*;

const PROGRAMS: &str = r#"(module
  (func (export "spin") (loop $l (br $l)))
  (func (export "count") (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $i))
  (func $recurse (export "recurse") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $recurse (i32.sub (local.get $n) (i32.const 1)))))))
  (func $forever (export "forever") (return_call $forever))
)"#;

fn setup(config: &Config) -> Result<(Store, Instance)> {
    let engine = Engine::new(config)?;
    let module = Module::compile(&engine, PROGRAMS)?;
    let mut store = Store::new(&engine);
    let inst = Instance::new(&mut store, &module, &Linker::new())?;
    Ok((store, inst))
}

fn call_i32(inst: &mut Instance, name: &str, arg: i32) -> Result<i32> {
    let values = inst.call(name, &[RawVal::from(arg)])?.into_result()?;
    Ok(values[0].read_as::<i32>())
}

#[test]
fn infinite_loop_runs_out_of_fuel() -> Result<()> {
    let (mut store, mut inst) = setup(Config::new().consume_fuel(true))?;
    store.set_fuel(10_000);
    let trap = trap_of(&mut inst, "spin", &[])?;
    assert_eq!(trap.code(), TrapCode::OutOfFuel, "{trap}");
    assert_eq!(store.fuel(), 0);
    Ok(())
}

#[test]
fn fuel_is_charged_per_entry_and_iteration() -> Result<()> {
    let (mut store, mut inst) = setup(Config::new().consume_fuel(true))?;
    store.set_fuel(1_000);
    assert_eq!(call_i32(&mut inst, "count", 10)?, 10);
    // One unit for the call, one per loop iteration (11: the last one exits).
    assert_eq!(store.fuel(), 1_000 - 1 - 11);
    let before = store.fuel();
    assert_eq!(call_i32(&mut inst, "recurse", 5)?, 5);
    // Six calls, no loop.
    assert_eq!(store.fuel(), before - 6);
    Ok(())
}

#[test]
fn fuel_runs_out_and_refuelling_continues() -> Result<()> {
    let (mut store, mut inst) = setup(Config::new().consume_fuel(true))?;
    // A new store has no fuel.
    assert_eq!(store.fuel(), 0);
    let trap = trap_of(&mut inst, "count", &[RawVal::from(5)])?;
    assert_eq!(trap.code(), TrapCode::OutOfFuel);
    // Not enough for 100 iterations.
    store.set_fuel(50);
    let trap = trap_of(&mut inst, "count", &[RawVal::from(100)])?;
    assert_eq!(trap.code(), TrapCode::OutOfFuel);
    assert_eq!(store.fuel(), 0);
    // Refuelled, the same store and instance finish the computation.
    store.set_fuel(1_000_000);
    assert_eq!(call_i32(&mut inst, "count", 100_000)?, 100_000);
    assert_eq!(store.fuel(), 1_000_000 - 1 - 100_001);
    Ok(())
}

#[test]
fn recursion_without_loops_runs_out_of_fuel() -> Result<()> {
    let (mut store, mut inst) = setup(Config::new().consume_fuel(true))?;
    store.set_fuel(1_000_000);
    let trap = trap_of(&mut inst, "forever", &[])?;
    assert_eq!(trap.code(), TrapCode::OutOfFuel, "{trap}");
    // Deep recursion: fuel stops it before the stack does.
    store.set_fuel(100);
    let trap = trap_of(&mut inst, "recurse", &[RawVal::from(1_000)])?;
    assert_eq!(trap.code(), TrapCode::OutOfFuel, "{trap}");
    Ok(())
}

#[test]
fn fuel_is_ignored_without_consume_fuel() -> Result<()> {
    let (mut store, mut inst) = setup(&Config::new())?;
    assert_eq!(call_i32(&mut inst, "count", 1_000)?, 1_000);
    store.set_fuel(7);
    assert_eq!(call_i32(&mut inst, "count", 1_000)?, 1_000);
    assert_eq!(store.fuel(), 7);
    Ok(())
}

#[test]
fn epoch_deadline_in_the_past_interrupts_at_once() -> Result<()> {
    let (mut store, mut inst) = setup(Config::new().epoch_interruption(true))?;
    // A new store's deadline is the current epoch.
    let trap = trap_of(&mut inst, "recurse", &[RawVal::from(3)])?;
    assert_eq!(trap.code(), TrapCode::Interrupted, "{trap}");
    store.set_epoch_deadline(1);
    assert_eq!(call_i32(&mut inst, "count", 1_000)?, 1_000);
    assert_eq!(call_i32(&mut inst, "recurse", 100)?, 100);
    store.engine().increment_epoch();
    let trap = trap_of(&mut inst, "count", &[RawVal::from(1)])?;
    assert_eq!(trap.code(), TrapCode::Interrupted, "{trap}");
    Ok(())
}

/// Runs export `name` of a fresh instance on another thread with a deadline one tick ahead, and
/// increments the epoch from this thread every few milliseconds until the call returns (at most ten
/// seconds). Returns the trap code and how many increments it took.
fn interrupt_from_another_thread(name: &'static str) -> Result<(TrapCode, u32)> {
    let engine = Engine::new(Config::new().epoch_interruption(true))?;
    let module = Module::compile(&engine, PROGRAMS)?;
    let done = Arc::new(AtomicBool::new(false));
    let worker = {
        let (engine, done) = (engine.clone(), done.clone());
        std::thread::spawn(move || -> Result<TrapCode> {
            let mut store = Store::new(&engine);
            let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
            store.set_epoch_deadline(1);
            let result = trap_of(&mut inst, name, &[]);
            done.store(true, Ordering::SeqCst);
            Ok(result?.code())
        })
    };
    let start = Instant::now();
    let mut ticks = 0;
    while !done.load(Ordering::SeqCst) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "`{name}` was not interrupted after {ticks} epoch increments"
        );
        std::thread::sleep(Duration::from_millis(20));
        engine.increment_epoch();
        ticks += 1;
    }
    let code = worker.join().expect("the worker does not panic")?;
    Ok((code, ticks))
}

#[test]
fn infinite_loop_is_interrupted_from_another_thread() -> Result<()> {
    let (code, _) = interrupt_from_another_thread("spin")?;
    assert_eq!(code, TrapCode::Interrupted);
    Ok(())
}

#[test]
fn infinite_recursion_is_interrupted_from_another_thread() -> Result<()> {
    let (code, _) = interrupt_from_another_thread("forever")?;
    assert_eq!(code, TrapCode::Interrupted);
    Ok(())
}

#[test]
fn fuel_and_epoch_together() -> Result<()> {
    let (mut store, mut inst) = setup(Config::new().consume_fuel(true).epoch_interruption(true))?;
    store.set_epoch_deadline(5);
    store.set_fuel(100);
    assert_eq!(trap_of(&mut inst, "spin", &[])?.code(), TrapCode::OutOfFuel);
    store.set_fuel(u64::MAX);
    store.set_epoch_deadline(0);
    assert_eq!(
        trap_of(&mut inst, "spin", &[])?.code(),
        TrapCode::Interrupted
    );
    Ok(())
}

#[test]
fn instrumentation_is_recorded_in_artifacts() -> Result<()> {
    let plain = Engine::new(&Config::new())?;
    let fuel = Engine::new(Config::new().consume_fuel(true))?;
    let epoch = Engine::new(Config::new().epoch_interruption(true))?;
    let artifact = fuel.precompile(PROGRAMS)?;
    assert_eq!(ArtifactInfo::parse(&artifact)?.instrumentation, "fuel");
    assert!(common::deserialize(&plain, &artifact).is_err());
    assert!(common::deserialize(&epoch, &artifact).is_err());
    assert!(common::deserialize(&fuel, &artifact).is_ok());
    let artifact = plain.precompile(PROGRAMS)?;
    assert_eq!(ArtifactInfo::parse(&artifact)?.instrumentation, "none");
    Ok(())
}
