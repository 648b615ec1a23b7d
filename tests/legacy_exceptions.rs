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

fn setup(wat: &str) -> Result<(Store, Instance)> {
    let engine = Engine::default();
    let module = Module::compile(&engine, wat)?;
    let mut store = Store::new(&engine);
    let inst = Instance::new(&mut store, &module, &Linker::new())?;
    Ok((store, inst))
}

/// Calls `name` with i32 arguments and reads its first result as a `T`.
fn call<T: FromRawVal>(inst: &mut Instance, name: &str, args: &[i32]) -> Result<T> {
    let args: Vec<RawVal> = args.iter().map(|&v| RawVal::from(v)).collect();
    Ok(inst.call(name, &args)?.into_result()?[0].read_as::<T>())
}

fn call_i32(inst: &mut Instance, name: &str, args: &[i32]) -> Result<i32> {
    call(inst, name, args)
}

#[test]
fn catch_and_catch_all_clauses() -> Result<()> {
    let (_store, mut inst) = setup(LEGACY)?;
    assert_eq!(call_i32(&mut inst, "catch", &[0])?, 0);
    assert_eq!(call_i32(&mut inst, "catch", &[1])?, 107);
    assert_eq!(call_i32(&mut inst, "catch", &[2])?, -1);
    Ok(())
}

#[test]
fn rethrow_delegate_and_try_table_interoperate() -> Result<()> {
    let (_store, mut inst) = setup(LEGACY)?;
    assert_eq!(call_i32(&mut inst, "rethrow", &[])?, 5);
    assert_eq!(call_i32(&mut inst, "delegate", &[])?, 18);
    assert_eq!(call_i32(&mut inst, "delegate_to_caller", &[])?, 1);
    assert_eq!(call_i32(&mut inst, "mixed", &[])?, 3);
    Ok(())
}

#[test]
fn an_uncaught_rethrow_is_a_trap() -> Result<()> {
    let (_store, mut inst) = setup(LEGACY)?;
    let trap = trap_of(&mut inst, "uncaught", &[])?;
    assert_eq!(trap.code(), TrapCode::UnhandledException);
    // The instance stays usable.
    assert_eq!(call_i32(&mut inst, "catch", &[1])?, 107);
    Ok(())
}

#[test]
fn caught_exceptions_are_freed() -> Result<()> {
    let (store, mut inst) = setup(LEGACY)?;
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

/// Clauses that rethrow their exception into a handler inside the clause, then use or rethrow it
/// again. Results are `0xA` (caught as `$a`) or `0xB` (caught as `$b`) in bits 32.., the value below.
const REUSE: &str = r#"(module
  (tag $a (param i64))
  (tag $b (param i64))

  ;; An inner legacy catch_all catches the clause's exception; a try_table keeps a new exception
  ;; ($b) as an exnref; the clause then rethrows its own exception ($a) to an outer try_table.
  (func (export "mixed") (result i64)
    block $onb (result i64)
      block $ona (result i64)
        try_table (catch $a $ona) (catch $b $onb)
          try
            (throw $a (i64.const 0x1111))
          catch $a
            drop
            try rethrow 1 catch_all end
            block $k (result exnref)
              try_table (catch_all_ref $k) (throw $b (i64.const 0x2222)) end
              unreachable
            end
            drop
            rethrow 0
          end
        end
        unreachable
      end
      (return (i64.or (i64.const 0xA00000000)))
    end
    (i64.or (i64.const 0xB00000000)))

  ;; The same in the legacy form only: the new exception ($b) is kept by a clause left by a branch.
  (func (export "legacy") (result i64)
    try (result i64)
      try
        (throw $a (i64.const 0x1111))
      catch $a
        drop
        try rethrow 1 catch_all end
        block $k
          try
            (throw $b (i64.const 0x2222))
          catch $b
            drop
            br $k
          end
        end
        rethrow 0
      end
      unreachable
    catch $a
      (i64.or (i64.const 0xA00000000))
    catch $b
      (i64.or (i64.const 0xB00000000))
    end)

  ;; The clause's exception is caught inside the clause by a try_table catch_all, then rethrown.
  (func (export "try_table_inside") (result i64)
    try (result i64)
      try
        (throw $a (i64.const 0x3333))
      catch $a
        drop
        block $x
          try_table (catch_all $x)
            rethrow 2
          end
        end
        block $k
          try
            (throw $b (i64.const 0x4444))
          catch $b
            drop
            br $k
          end
        end
        rethrow 0
      end
      unreachable
    catch $a
      (i64.or (i64.const 0xA00000000))
    catch $b
      (i64.or (i64.const 0xB00000000))
    end)

  ;; The clause's exception is rethrown n times into an inner `catch $a` (through a `delegate` every
  ;; other time), which adds its value to a sum; then once more, to the outer clause.
  (func (export "repeat") (param i32) (result i64) (local i64)
    try (result i64)
      try
        (throw $a (i64.const 5))
      catch $a
        drop
        (loop $next
          try
            (if (i32.and (local.get 0) (i32.const 1))
              (then
                try
                  rethrow 4
                delegate 0)
              (else
                rethrow 3))
          catch $a
            (local.set 1 (i64.add (local.get 1)))
          end
          (br_if $next (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
        rethrow 0
      end
      unreachable
    catch $a
      (i64.add (local.get 1))
    catch $b
      (i64.or (i64.const 0xB00000000))
    end)
)"#;

#[test]
fn a_rethrow_caught_inside_its_clause_leaves_the_exception_to_the_clause() -> Result<()> {
    let (_store, mut inst) = setup(REUSE)?;
    assert_eq!(call::<i64>(&mut inst, "mixed", &[])?, 0xA_0000_1111);
    assert_eq!(call::<i64>(&mut inst, "legacy", &[])?, 0xA_0000_1111);
    assert_eq!(
        call::<i64>(&mut inst, "try_table_inside", &[])?,
        0xA_0000_3333
    );
    Ok(())
}

#[test]
fn a_clause_may_rethrow_its_exception_into_inner_handlers_many_times() -> Result<()> {
    let (_store, mut inst) = setup(REUSE)?;
    // Caught n times inside the clause (5 each), then once by the outer clause (5 more).
    assert_eq!(call::<i64>(&mut inst, "repeat", &[9])?, 50);
    assert_eq!(call::<i64>(&mut inst, "repeat", &[2])?, 15);
    Ok(())
}

#[test]
fn exceptions_rethrown_inside_their_clause_stay_charged() -> Result<()> {
    let (store, mut inst) = setup(REUSE)?;
    let used = store.memory_budget().used;
    assert_eq!(call::<i64>(&mut inst, "legacy", &[])?, 0xA_0000_1111);
    // `$a` (rethrown inside its clause) and `$b` (its clause left by a branch) stay, 32 bytes each.
    assert_eq!(store.live_exceptions(), 2);
    assert_eq!(store.memory_budget().used, used + 64);
    Ok(())
}

thread_local! {
    static HOST_BUFFER: std::cell::Cell<Option<&'static [u64; 4]>> =
        const { std::cell::Cell::new(None) };
}

#[test]
fn a_caught_rethrown_exception_is_not_reused_by_the_host() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module
          (tag $a (export "a") (param i64))
          (import "h" "alloc" (func $alloc))
          (func (export "run") (result exnref)
            block $h (result exnref)
              try_table (catch_all_ref $h)
                try
                  (throw $a (i64.const 77))
                catch $a
                  drop
                  try rethrow 1 catch_all end
                  call $alloc
                  rethrow 0
                end
              end
              unreachable
            end))"#,
    )?;
    let mut linker = Linker::new();
    linker.define(
        "h",
        "alloc",
        HostFunc::wrap(|| {
            // As large as an exception of one value.
            let buffer: &'static [u64; 4] = Box::leak(Box::new([0; 4]));
            HOST_BUFFER.with(|b| b.set(Some(buffer)));
        }),
    )?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &linker)?;
    let results = inst.call_vals("run", &[])?.into_result()?;
    let [Val::ExnRef(Some(exn))] = &results[..] else {
        panic!("expected an exnref, got {results:?}");
    };
    assert_eq!(Some(exn.tag()), inst.tag("a"));
    assert!(matches!(exn.values()[..], [Val::I64(77)]));
    let buffer = HOST_BUFFER
        .with(|b| b.get())
        .expect("the host function ran");
    assert_eq!(buffer, &[0; 4]);
    Ok(())
}
