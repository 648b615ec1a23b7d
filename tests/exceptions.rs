//! Integration tests of exception handling: tags, `throw`, `throw_ref`, `try_table`, `exnref`, and
//! exceptions that reach the host.

mod common;
use common::trap_of;

use anyhow::Result;
use wasmz::*;

fn call(inst: &mut Instance, name: &str, args: &[RawVal]) -> Result<Vec<RawVal>> {
    Ok(inst.call(name, args)?.into_result()?)
}

fn call_i32(inst: &mut Instance, name: &str, args: &[i32]) -> Result<i32> {
    let args: Vec<RawVal> = args.iter().map(|&v| RawVal::from(v)).collect();
    Ok(call(inst, name, &args)?[0].read_as::<i32>())
}

fn instantiate(store: &mut Store, wat: &str, linker: &Linker) -> Result<Instance> {
    let module = Module::compile(store.engine(), wat)?;
    Ok(Instance::new(store, &module, linker)?)
}

/// Throws of one function caught in the same function, in a callee, and through several frames.
const BASICS: &str = r#"(module
  (tag $e (param i32))
  (tag $pair (param i64 f64))
  (tag $empty)
  (func $thrower (param i32)
    (if (local.get 0) (then (throw $e (local.get 0)))))
  (func $deep (param i32 i32)
    (if (i32.eqz (local.get 0))
      (then (call $thrower (local.get 1)))
      (else (call $deep (i32.sub (local.get 0) (i32.const 1)) (local.get 1)))))

  ;; Caught in the same function: returns the thrown value + 1.
  (func (export "local") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (throw $e (local.get 0)))
      (i32.const -1))
    (i32.const 1) (i32.add))

  ;; Caught around a call: the value, or 0 when nothing was thrown.
  (func (export "callee") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (call $thrower (local.get 0)))
      (i32.const 0)))

  ;; Thrown `depth` calls down.
  (func (export "deep") (param i32 i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (call $deep (local.get 0) (local.get 1)))
      (i32.const 0)))

  ;; Several values of different types.
  (func (export "pair") (result i64)
    (block $h (result i64 f64)
      (try_table (catch $pair $h)
        (throw $pair (i64.const 40) (f64.const 2.5)))
      (unreachable))
    (i64.trunc_f64_s) (i64.add))

  ;; catch_all takes any tag; the clauses are tried in order.
  (func (export "which") (param i32) (result i32)
    (block $all
      (block $h (result i32)
        (try_table (catch $e $h) (catch_all $all)
          (if (i32.eq (local.get 0) (i32.const 1)) (then (throw $e (i32.const 10))))
          (if (i32.eq (local.get 0) (i32.const 2)) (then (throw $empty)))
          (if (i32.eq (local.get 0) (i32.const 3)) (then (throw $pair (i64.const 1) (f64.const 1)))))
        (return (i32.const 0)))
      (return))
    (i32.const 99))

  ;; Nested try_tables in one function: the inner one does not match, the outer one does.
  (func (export "nested") (result i32)
    (block $outer (result i32)
      (try_table (catch $e $outer)
        (block $inner
          (try_table (catch $empty $inner)
            (call $thrower (i32.const 7))))
        (return (i32.const -1)))
      (unreachable))
    (i32.const 100) (i32.add))

  ;; After the try_table's end, a throw goes to the caller, not to the ended handler.
  (func (export "after_end") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (nop))
      (throw $e (i32.const 5)))
    (drop) (i32.const 0))
)"#;

#[test]
fn throw_and_catch() -> Result<()> {
    let mut store = Store::new(&Engine::default());
    let mut inst = instantiate(&mut store, BASICS, &Linker::new())?;
    assert_eq!(call_i32(&mut inst, "local", &[41])?, 42);
    assert_eq!(call_i32(&mut inst, "callee", &[7])?, 7);
    assert_eq!(call_i32(&mut inst, "callee", &[0])?, 0);
    assert_eq!(call_i32(&mut inst, "deep", &[50, 3])?, 3);
    assert_eq!(call(&mut inst, "pair", &[])?[0].read_as::<i64>(), 42);
    assert_eq!(call_i32(&mut inst, "which", &[0])?, 0);
    assert_eq!(call_i32(&mut inst, "which", &[1])?, 10);
    assert_eq!(call_i32(&mut inst, "which", &[2])?, 99);
    assert_eq!(call_i32(&mut inst, "which", &[3])?, 99);
    assert_eq!(call_i32(&mut inst, "nested", &[])?, 107);
    let trap = trap_of(&mut inst, "after_end", &[])?;
    assert_eq!(trap.code(), TrapCode::UnhandledException);
    // Every exception above was caught without an exnref (or escaped once): none is kept but the
    // uncaught one.
    assert_eq!(store.live_exceptions(), 1);
    Ok(())
}

#[test]
fn uncaught_exception_is_a_trap_and_the_instance_stays_usable() -> Result<()> {
    let mut store = Store::new(&Engine::default());
    let mut inst = instantiate(&mut store, BASICS, &Linker::new())?;
    let mut thrower = instantiate(
        &mut store,
        r#"(module (tag $e (param i32))
             (func $f (param i32) (throw $e (local.get 0)))
             (func (export "run") (param i32) (result i32) (call $f (local.get 0)) (i32.const 0)))"#,
        &Linker::new(),
    )?;
    let trap = trap_of(&mut thrower, "run", &[RawVal::from(3i32)])?;
    assert_eq!(trap.code(), TrapCode::UnhandledException);
    // The trap carries the exception: its tag and its value.
    let exception = trap.exception().expect("the uncaught exception");
    assert_eq!(exception.ty, FuncType::new([ValType::I32], []));
    assert_eq!(exception.values, [3]);
    assert!(trap_of(&mut inst, "after_end", &[])?.exception().is_some());
    assert!(trap.to_string().contains("unhandled exception"), "{trap}");
    // The throwing function first, then its caller.
    let frames: Vec<u32> = trap.backtrace().iter().map(|f| f.func_index).collect();
    assert_eq!(frames, [0, 1], "{trap}");
    assert_eq!(call_i32(&mut inst, "local", &[1])?, 2);
    Ok(())
}

#[test]
fn catch_ref_and_throw_ref_rethrow_the_same_exception() -> Result<()> {
    let mut store = Store::new(&Engine::default());
    let mut inst = instantiate(
        &mut store,
        r#"(module
          (tag $e (param i32))
          (global $saved (mut exnref) (ref.null exn))
          (func $inner (param i32)
            (block $h (result i32 exnref)
              (try_table (catch_ref $e $h)
                (throw $e (local.get 0)))
              (unreachable))
            ;; Keep the exnref, then rethrow it.
            (global.set $saved)
            (drop)
            (throw_ref (global.get $saved)))
          (func (export "rethrow") (param i32) (result i32)
            (block $h (result i32)
              (try_table (catch $e $h)
                (call $inner (local.get 0)))
              (i32.const -1)))
          ;; The exnref kept in the global is the same exception: throwing it again delivers its value.
          (func (export "again") (result i32)
            (block $h (result i32)
              (try_table (catch $e $h)
                (throw_ref (global.get $saved)))
              (i32.const -1)))
          (func (export "is_null") (result i32) (ref.is_null (global.get $saved)))
          (func (export "throw_null") (throw_ref (ref.null exn)))
          ;; catch_all_ref: an exnref of any tag, in a local.
          (func (export "all_ref") (param i32) (result i32)
            (local $x exnref)
            (block $h (result exnref)
              (try_table (catch_all_ref $h)
                (throw $e (local.get 0)))
              (unreachable))
            (local.set $x)
            (block $h2 (result i32)
              (try_table (catch $e $h2) (throw_ref (local.get $x)))
              (i32.const -1))))"#,
        &Linker::new(),
    )?;
    assert_eq!(call_i32(&mut inst, "is_null", &[])?, 1);
    assert_eq!(call_i32(&mut inst, "rethrow", &[17])?, 17);
    assert_eq!(call_i32(&mut inst, "is_null", &[])?, 0);
    assert_eq!(call_i32(&mut inst, "again", &[])?, 17);
    assert_eq!(call_i32(&mut inst, "again", &[])?, 17);
    assert_eq!(call_i32(&mut inst, "all_ref", &[23])?, 23);
    let trap = trap_of(&mut inst, "throw_null", &[])?;
    assert_eq!(trap.code(), TrapCode::NullReference);
    Ok(())
}

#[test]
fn exceptions_cross_return_call_and_call_indirect_frames() -> Result<()> {
    let mut store = Store::new(&Engine::default());
    let mut inst = instantiate(
        &mut store,
        r#"(module
          (type $v (func (param i32)))
          (tag $e (param i32))
          (table funcref (elem $thrower $via_tail))
          (func $thrower (type $v) (throw $e (i32.mul (local.get 0) (i32.const 2))))
          (func $via_tail (type $v) (return_call $thrower (i32.add (local.get 0) (i32.const 1))))
          (func $tail_indirect (param i32 i32)
            (return_call_indirect (type $v) (local.get 0) (local.get 1)))
          (func (export "run") (param i32 i32) (result i32)
            (block $h (result i32)
              (try_table (catch $e $h)
                (call_indirect (type $v) (local.get 0) (local.get 1)))
              (i32.const -1)))
          (func (export "run_tail") (param i32 i32) (result i32)
            (block $h (result i32)
              (try_table (catch $e $h)
                (call $tail_indirect (local.get 0) (local.get 1)))
              (i32.const -1)))
          ;; A return_call inside a try_table replaces the frame: its handler no longer applies.
          (func (export "tail_out") (param i32) (result i32)
            (block $h (result i32)
              (try_table (catch $e $h)
                (return_call $thrower_r (local.get 0)))
              (i32.const -1))
            (drop) (i32.const -2))
          (func $thrower_r (param i32) (result i32) (throw $e (local.get 0))))"#,
        &Linker::new(),
    )?;
    let args = |a: i32, b: i32| [RawVal::from(a), RawVal::from(b)];
    assert_eq!(call(&mut inst, "run", &args(5, 0))?[0].read_as::<i32>(), 10);
    assert_eq!(call(&mut inst, "run", &args(5, 1))?[0].read_as::<i32>(), 12);
    assert_eq!(
        call(&mut inst, "run_tail", &args(5, 1))?[0].read_as::<i32>(),
        12
    );
    assert_eq!(
        call(&mut inst, "run_tail", &args(4, 0))?[0].read_as::<i32>(),
        8
    );
    let trap = trap_of(&mut inst, "tail_out", &[RawVal::from(1i32)])?;
    assert_eq!(trap.code(), TrapCode::UnhandledException);
    Ok(())
}

const TAG_EXPORTER: &str = r#"(module
  (tag $e (export "e") (param i32))
  (func (export "throw") (param i32) (throw $e (local.get 0))))"#;

const TAG_IMPORTER: &str = r#"(module
  (import "a" "e" (tag $e (param i32)))
  (import "a" "throw" (func $throw (param i32)))
  ;; 1000 + value when the exception has the imported tag, 1 for any other exception.
  (func (export "catch") (param i32) (result i32)
    (block $other
      (block $h (result i32)
        (try_table (catch $e $h) (catch_all $other)
          (call $throw (local.get 0)))
        (return (i32.const 0)))
      (i32.const 1000) (i32.add) (return))
    (i32.const 1)))"#;

#[test]
fn tags_have_identity_per_instance_and_imports_share_it() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let a1 = instantiate(&mut store, TAG_EXPORTER, &Linker::new())?;
    let a2 = instantiate(&mut store, TAG_EXPORTER, &Linker::new())?;
    assert_eq!(a1.tag("e"), a1.tag("e"));
    assert_ne!(a1.tag("e"), a2.tag("e"), "two instantiations, two tags");

    // Tag and thrower from the same instance: caught by the tag clause.
    let mut linker = Linker::new();
    linker.define_instance("a", &a1)?;
    let mut same = instantiate(&mut store, TAG_IMPORTER, &linker)?;
    assert_eq!(call_i32(&mut same, "catch", &[5])?, 1005);

    // The tag of the first instance, the thrower of the second: a different tag, so catch_all.
    let mut linker = Linker::new();
    linker.define_tag("a", "e", a1.tag("e").expect("exported tag"))?;
    linker.define_func("a", "throw", a2.func("throw").expect("exported func"))?;
    let mut mixed = instantiate(&mut store, TAG_IMPORTER, &linker)?;
    assert_eq!(call_i32(&mut mixed, "catch", &[5])?, 1);

    // An imported tag is re-exported as the same tag.
    let mut linker = Linker::new();
    linker.define_instance("a", &a1)?;
    let reexport = instantiate(
        &mut store,
        r#"(module (import "a" "e" (tag $e (param i32))) (export "e2" (tag $e)))"#,
        &linker,
    )?;
    assert_eq!(reexport.tag("e2"), a1.tag("e"));
    assert_eq!(
        a1.tag("e").expect("tag").ty(),
        FuncType::new([ValType::I32], [])
    );
    Ok(())
}

#[test]
fn tag_imports_are_type_checked() -> Result<()> {
    let mut store = Store::new(&Engine::default());
    let a = instantiate(&mut store, TAG_EXPORTER, &Linker::new())?;
    let mut linker = Linker::new();
    linker.define_instance("a", &a)?;
    let err = instantiate(
        &mut store,
        r#"(module (import "a" "e" (tag (param i64))))"#,
        &linker,
    )
    .expect_err("wrong tag type");
    assert!(
        err.to_string().contains("incompatible import type"),
        "{err}"
    );
    let err = instantiate(
        &mut store,
        r#"(module (import "a" "throw" (tag (param i32))))"#,
        &linker,
    )
    .expect_err("a function is not a tag");
    assert!(
        err.to_string().contains("incompatible import type"),
        "{err}"
    );
    assert!(Tag::new(&mut store, FuncType::new([], [ValType::I32])).is_err());
    Ok(())
}

#[test]
fn host_defined_tag() -> Result<()> {
    let mut store = Store::new(&Engine::default());
    let tag = Tag::new(&mut store, FuncType::new([ValType::I64], []))?;
    let mut linker = Linker::new();
    linker.define_tag("host", "t", tag.clone())?;
    let mut thrower = instantiate(
        &mut store,
        r#"(module (import "host" "t" (tag $t (param i64)))
             (func (export "throw") (param i64) (throw $t (local.get 0))))"#,
        &linker,
    )?;
    linker.define_func("host", "throw", thrower.func("throw").expect("export"))?;
    let mut catcher = instantiate(
        &mut store,
        r#"(module (import "host" "t" (tag $t (param i64)))
             (import "host" "throw" (func $throw (param i64)))
             (func (export "catch") (param i64) (result i64)
               (block $h (result i64)
                 (try_table (catch $t $h) (call $throw (local.get 0)))
                 (i64.const -1))))"#,
        &linker,
    )?;
    let r = call(&mut catcher, "catch", &[RawVal::from(1234i64)])?;
    assert_eq!(r[0].read_as::<i64>(), 1234);
    let trap = trap_of(&mut thrower, "throw", &[RawVal::from(1i64)])?;
    assert_eq!(trap.code(), TrapCode::UnhandledException);
    let exception = trap.exception().expect("the uncaught exception");
    assert!(tag.is_tag_of(exception));
    assert_eq!(RawVal::from_bits(exception.values[0]).read_as::<i64>(), 1);
    // Another host tag of the same type is another tag.
    let other = Tag::new(&mut store, FuncType::new([ValType::I64], []))?;
    assert_ne!(other, tag);
    assert!(!other.is_tag_of(exception));
    Ok(())
}

#[test]
fn deep_recursion_then_throw() -> Result<()> {
    let mut store = Store::new(&Engine::default());
    let mut inst = instantiate(&mut store, BASICS, &Linker::new())?;
    // Thousands of frames between the throw and the handler.
    assert_eq!(call_i32(&mut inst, "deep", &[5000, 9])?, 9);
    // Recursion that overflows the stack is still a stack-overflow trap, and afterwards exceptions
    // still work.
    let mut rec = instantiate(
        &mut store,
        r#"(module (tag $e)
             (func $f (param i32) (result i32)
               (block $h
                 (try_table (catch $e $h)
                   (return (call $f (i32.add (local.get 0) (i32.const 1))))))
               (i32.const 0))
             (func (export "forever") (result i32) (call $f (i32.const 0))))"#,
        &Linker::new(),
    )?;
    assert_eq!(
        trap_of(&mut rec, "forever", &[])?.code(),
        TrapCode::StackOverflow
    );
    assert_eq!(call_i32(&mut inst, "deep", &[100, 4])?, 4);
    Ok(())
}

const LOOP: &str = r#"(module
  (tag $e (param i32))
  (func $thrower (param i32) (throw $e (local.get 0)))
  ;; Throws and catches `n` times; returns the sum of the caught values.
  (func (export "catch_loop") (param i32) (result i32)
    (local $sum i32)
    (loop $next
      (block $h (result i32)
        (try_table (catch $e $h) (call $thrower (local.get 0)))
        (unreachable))
      (local.get $sum) (i32.add) (local.set $sum)
      (br_if $next (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get $sum))
  ;; The same with catch_ref: every exnref escapes (and is dropped), so nothing can be freed.
  (func (export "catch_ref_loop") (param i32)
    (loop $next
      (block $h (result i32 exnref)
        (try_table (catch_ref $e $h) (call $thrower (local.get 0)))
        (unreachable))
      (drop) (drop)
      (br_if $next (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))"#;

#[test]
fn thousands_of_throws_do_not_grow_memory() -> Result<()> {
    let mut store = Store::new(&Engine::default());
    let mut inst = instantiate(&mut store, LOOP, &Linker::new())?;
    let used = store.memory_budget().used;
    assert_eq!(call_i32(&mut inst, "catch_loop", &[100_000])?, 705_082_704);
    assert_eq!(store.live_exceptions(), 0);
    assert_eq!(store.memory_budget().used, used);
    Ok(())
}

#[test]
fn exceptions_kept_as_exnrefs_are_bounded_by_the_memory_budget() -> Result<()> {
    let mut store = Store::new(&Engine::default());
    let mut inst = instantiate(&mut store, LOOP, &Linker::new())?;
    call(&mut inst, "catch_ref_loop", &[RawVal::from(1000i32)])?;
    assert_eq!(store.live_exceptions(), 1000);
    let used = store.memory_budget().used;
    // 32 bytes each (a header and one value) over what the store held before.
    store.set_memory_budget(Some(used + 32 * 10));
    let trap = trap_of(&mut inst, "catch_ref_loop", &[RawVal::from(1000i32)])?;
    assert_eq!(trap.code(), TrapCode::OutOfMemory);
    assert_eq!(store.live_exceptions(), 1010);
    // Room for one more: exceptions caught without an exnref are freed at once, so a thousand of them
    // fit one after the other.
    store.set_memory_budget(Some(used + 32 * 11));
    assert_eq!(call_i32(&mut inst, "catch_loop", &[1000])?, 500_500);
    assert_eq!(store.live_exceptions(), 1010);
    Ok(())
}

#[test]
fn exceptions_do_not_cross_host_functions() -> Result<()> {
    let mut store = Store::new(&Engine::default());
    let mut linker = Linker::new();
    linker.define(
        "host",
        "reenter",
        HostFunc::new([ValType::I32], [ValType::I32], |cx, params, results| {
            let func = cx
                .data::<Option<Func>>()
                .and_then(|f| f.clone())
                .ok_or_else(|| HostError::new("no callback"))?;
            let mut out = [RawVal::default()];
            match func.call(params, &mut out) {
                Ok(Ok(())) => {
                    results[0] = out[0];
                    Ok(())
                }
                Ok(Err(trap)) if trap.code() == TrapCode::UnhandledException => {
                    // The host sees the exception as a trap of its own call, and may go on.
                    results[0] = RawVal::from(-7i32);
                    Ok(())
                }
                Ok(Err(trap)) => Err(HostError::new(trap.to_string())),
                Err(e) => Err(HostError::new(e.to_string())),
            }
        }),
    )?;
    let mut inst = instantiate(
        &mut store,
        r#"(module
          (import "host" "reenter" (func $reenter (param i32) (result i32)))
          (tag $e (param i32))
          (func (export "callback") (param i32) (result i32)
            (if (local.get 0) (then (throw $e (local.get 0))))
            (i32.const 77))
          ;; A handler around the host call: the exception thrown inside the callback does not reach it.
          (func (export "outer") (param i32) (result i32)
            (block $all
              (try_table (catch_all $all)
                (return (call $reenter (local.get 0)))))
            (i32.const -1)))"#,
        &linker,
    )?;
    // (The store's data then refers to the store: a cycle this test accepts.)
    store.set_data(inst.func("callback"));
    assert_eq!(call_i32(&mut inst, "outer", &[0])?, 77);
    assert_eq!(call_i32(&mut inst, "outer", &[5])?, -7);
    assert_eq!(call_i32(&mut inst, "outer", &[0])?, 77);
    Ok(())
}

#[test]
fn exceptions_can_be_disabled() -> Result<()> {
    let mut config = Config::default();
    config.wasm_exceptions(false);
    let engine = Engine::new(&config)?;
    let err = Module::compile(&engine, BASICS).expect_err("exceptions are disabled");
    assert!(matches!(err, Error::Wasm(_)), "{err}");
    // Modules without exceptions compile as before.
    Module::compile(&engine, r#"(module (func (export "f")))"#)?;
    Ok(())
}

#[test]
fn exception_handlers_survive_ahead_of_time_compilation() -> Result<()> {
    let engine = Engine::default();
    let bytes = Module::compile(&engine, BASICS)?.serialize()?;
    let module = common::deserialize(&engine, &bytes)?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
    assert_eq!(call_i32(&mut inst, "deep", &[20, 6])?, 6);
    assert_eq!(call_i32(&mut inst, "nested", &[])?, 107);
    Ok(())
}

/// Code that does not use exceptions compiles to the same machine code with the feature on or off.
#[test]
fn exceptions_cost_nothing_in_code_that_does_not_use_them() -> Result<()> {
    let wat = r#"(module
      (memory 1)
      (table 2 funcref)
      (func $fib (export "fib") (param i32) (result i32)
        (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
          (then (local.get 0))
          (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                         (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
      (func (export "indirect") (param i32) (result i32)
        (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0)))
      (func (export "sum") (param i32) (result i32) (local $s i32)
        (loop $l
          (local.set $s (i32.add (local.get $s) (i32.load (local.get 0))))
          (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 4)))))
        (local.get $s)))"#;
    let code = |exceptions: bool| -> Result<Vec<u8>> {
        let mut config = Config::default();
        config.wasm_exceptions(exceptions);
        let bytes = Module::compile(&Engine::new(&config)?, wat)?.serialize()?;
        let info = ArtifactInfo::parse(&bytes)?;
        let start = usize::try_from(info.code_offset)?;
        Ok(bytes[start..start + usize::try_from(info.code_size)?].to_vec())
    };
    let with = code(true)?;
    assert!(!with.is_empty());
    assert_eq!(with, code(false)?);
    Ok(())
}

#[test]
fn exnrefs_reach_the_host_and_come_back() -> Result<()> {
    let mut store = Store::new(&Engine::default());
    let mut inst = instantiate(
        &mut store,
        r#"(module
          (tag $e (export "e") (param i32 i64))
          (global $g (export "g") (mut exnref) (ref.null exn))
          (func (export "make") (param i32) (result exnref)
            (block $h (result exnref)
              (try_table (catch_all_ref $h)
                (throw $e (local.get 0) (i64.const -9)))
              (unreachable)))
          (func (export "rethrow") (param exnref) (result i32)
            (block $h (result i32 i64)
              (try_table (catch $e $h) (throw_ref (local.get 0)))
              (unreachable))
            (drop))
          (func (export "keep") (param exnref) (global.set $g (local.get 0))))"#,
        &Linker::new(),
    )?;
    let made = inst.call_vals("make", &[Val::I32(31)])?.into_result()?;
    let [Val::ExnRef(Some(exn))] = &made[..] else {
        panic!("expected an exnref, got {made:?}");
    };
    assert_eq!(Some(exn.tag()), inst.tag("e"));
    assert!(matches!(exn.values()[..], [Val::I32(31), Val::I64(-9)]));
    let r = inst
        .call_vals("rethrow", &[Val::ExnRef(Some(exn.clone()))])?
        .into_result()?;
    assert!(matches!(r[..], [Val::I32(31)]), "{r:?}");
    inst.call_vals("keep", &[Val::ExnRef(Some(exn.clone()))])?
        .into_result()?;
    match inst.global("g").expect("exported global").get() {
        Val::ExnRef(Some(g)) => assert_eq!(&g, exn),
        other => panic!("expected the exnref, got {other:?}"),
    }
    // A null exnref is thrown as a null-reference trap; an externref is not an exnref.
    let trap = inst
        .call_vals("rethrow", &[Val::ExnRef(None)])?
        .into_result()
        .expect_err("trap");
    assert_eq!(trap.code(), TrapCode::NullReference);
    assert!(matches!(
        inst.call_vals("rethrow", &[Val::ExternRef(None)]),
        Err(Error::ArgumentType { .. })
    ));
    // An exnref of another store is refused.
    let mut other_store = Store::new(store.engine());
    let mut other = instantiate(
        &mut other_store,
        r#"(module (func (export "keep") (param exnref)))"#,
        &Linker::new(),
    )?;
    assert!(matches!(
        other.call_vals("keep", &[Val::ExnRef(Some(exn.clone()))]),
        Err(Error::WrongStore)
    ));
    Ok(())
}

#[test]
fn an_exception_from_the_start_function_fails_instantiation() -> Result<()> {
    let mut store = Store::new(&Engine::default());
    let err = instantiate(
        &mut store,
        r#"(module (tag $e (param i32)) (func $start (throw $e (i32.const 1))) (start $start))"#,
        &Linker::new(),
    )
    .expect_err("the start function throws");
    match err.downcast_ref::<Error>() {
        Some(Error::Trap(trap)) => assert_eq!(trap.code(), TrapCode::UnhandledException),
        other => panic!("expected a trap, got {other:?}"),
    }
    Ok(())
}
