//! Integration tests of the legacy exception-handling form (`Config::legacy_exceptions`): `try` with
//! `catch`/`catch_all`, `delegate`, `rethrow`, mixed with `try_table`.

mod common;
use common::trap_of;

use anyhow::Result;
use wasmz::*;

const LEGACY: &str = r#"(module
  (tag $e (param i32))
  (tag $f)
  (func $throw_e (param i32) (throw $e (local.get 0)))
  (func $throw_f (throw $f))

  ;; 0 throws nothing, 1 throws $e (caught: value + 100), 2 throws $f (caught by catch_all: -1).
  (func (export "catch") (param i32) (result i32)
    try (result i32)
      (if (i32.eq (local.get 0) (i32.const 1)) (then (call $throw_e (i32.const 7))))
      (if (i32.eq (local.get 0) (i32.const 2)) (then (call $throw_f)))
      (i32.const 0)
    catch $e
      (i32.add (i32.const 100))
    catch_all
      (i32.const -1)
    end)

  ;; The inner clause rethrows; the outer one catches the same exception.
  (func (export "rethrow") (result i32)
    try (result i32)
      try
        (call $throw_e (i32.const 5))
      catch $e
        drop
        rethrow 0
      end
      (i32.const 0)
    catch $e
    end)

  ;; The inner try delegates to the outer one, skipping the middle catch_all.
  (func (export "delegate") (result i32)
    try $outer (result i32)
      try (result i32)
        try
          (call $throw_e (i32.const 9))
        delegate $outer
        (i32.const 0)
      catch_all
        (i32.const -1)
      end
    catch $e
      (i32.mul (i32.const 2))
    end)

  ;; Delegating to the function's label passes the exception to the caller.
  (func $to_caller
    try
      (call $throw_f)
    delegate 0)
  (func (export "delegate_to_caller") (result i32)
    try (result i32)
      (call $to_caller)
      (i32.const 0)
    catch $f
      (i32.const 1)
    end)

  ;; A legacy clause rethrows into a try_table.
  (func (export "mixed") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        try
          (call $throw_e (i32.const 3))
        catch_all
          rethrow 0
        end)
      (i32.const 0)))

  ;; A rethrow nobody catches reaches the host.
  (func (export "uncaught")
    try
      (call $throw_f)
    catch $f
      rethrow 0
    end)

  ;; Throws and catches n times; returns the sum of the caught values.
  (func (export "loop") (param i32) (result i32) (local i32)
    (loop $next
      try
        (call $throw_e (local.get 0))
      catch $e
        (local.set 1 (i32.add (local.get 1)))
      end
      (br_if $next (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get 1))

  ;; The same with the exception rethrown once before it is caught for good.
  (func (export "rethrow_loop") (param i32) (result i32) (local i32)
    (loop $next
      try
        try
          (call $throw_e (local.get 0))
        catch_all
          rethrow 0
        end
      catch $e
        (local.set 1 (i32.add (local.get 1)))
      end
      (br_if $next (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get 1))
)"#;

fn setup() -> Result<(Store, Instance)> {
    let engine = Engine::default();
    let module = Module::compile(&engine, LEGACY)?;
    let mut store = Store::new(&engine);
    let inst = Instance::new(&mut store, &module, &Linker::new())?;
    Ok((store, inst))
}

fn call_i32(inst: &mut Instance, name: &str, args: &[i32]) -> Result<i32> {
    let args: Vec<RawVal> = args.iter().map(|&v| RawVal::from(v)).collect();
    Ok(inst.call(name, &args)?.into_result()?[0].read_as::<i32>())
}

#[test]
fn catch_and_catch_all_clauses() -> Result<()> {
    let (_store, mut inst) = setup()?;
    assert_eq!(call_i32(&mut inst, "catch", &[0])?, 0);
    assert_eq!(call_i32(&mut inst, "catch", &[1])?, 107);
    assert_eq!(call_i32(&mut inst, "catch", &[2])?, -1);
    Ok(())
}

#[test]
fn rethrow_delegate_and_try_table_interoperate() -> Result<()> {
    let (_store, mut inst) = setup()?;
    assert_eq!(call_i32(&mut inst, "rethrow", &[])?, 5);
    assert_eq!(call_i32(&mut inst, "delegate", &[])?, 18);
    assert_eq!(call_i32(&mut inst, "delegate_to_caller", &[])?, 1);
    assert_eq!(call_i32(&mut inst, "mixed", &[])?, 3);
    Ok(())
}

#[test]
fn an_uncaught_rethrow_is_a_trap() -> Result<()> {
    let (_store, mut inst) = setup()?;
    let trap = trap_of(&mut inst, "uncaught", &[])?;
    assert_eq!(trap.code(), TrapCode::UnhandledException);
    // The instance stays usable.
    assert_eq!(call_i32(&mut inst, "catch", &[1])?, 107);
    Ok(())
}

#[test]
fn caught_exceptions_are_freed() -> Result<()> {
    let (store, mut inst) = setup()?;
    let used = store.memory_budget().used;
    assert_eq!(call_i32(&mut inst, "loop", &[50_000])?, 1_250_025_000);
    assert_eq!(
        call_i32(&mut inst, "rethrow_loop", &[50_000])?,
        1_250_025_000
    );
    assert_eq!(store.live_exceptions(), 0);
    assert_eq!(store.memory_budget().used, used);
    Ok(())
}

#[test]
fn legacy_exceptions_can_be_turned_off() -> Result<()> {
    let mut config = Config::default();
    config.legacy_exceptions(false);
    let engine = Engine::new(&config)?;
    let err = Module::compile(&engine, LEGACY).expect_err("legacy form is off");
    assert!(matches!(err, Error::Wasm(_)), "{err}");
    assert!(err.to_string().contains("legacy"), "{err}");
    Ok(())
}
