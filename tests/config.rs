//! Integration tests of `Config` options: optimization levels, guard pages versus explicit bounds
//! checks, the wasm stack limit and the memory limit.

use anyhow::Result;
use wasmz::*;

/// Instantiates `wat` with no imports in a fresh store of `engine`.
fn instantiate(engine: &Engine, wat: &str) -> Result<Instance> {
    let module = Module::compile(engine, wat)?;
    let mut store = Store::new(engine);
    Ok(Instance::new(&mut store, &module, &Linker::new())?)
}

/// Calls `name` and returns its results, failing the test on a trap.
fn call(instance: &mut Instance, name: &str, args: &[RawVal]) -> Result<Vec<RawVal>> {
    Ok(instance.call(name, args)?.into_result()?)
}

const ARITH: &str = r#"(module
  (func (export "fac") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 1))
      (else (i64.mul (local.get 0) (call 0 (i64.sub (local.get 0) (i64.const 1)))))))
  (func (export "fma") (param f64 f64 f64) (result f64)
    (f64.add (f64.mul (local.get 0) (local.get 1)) (local.get 2)))
  (func (export "sqrt") (param f32) (result f32) (f32.sqrt (local.get 0))))"#;

#[test]
fn every_opt_level_computes_the_same_results() -> Result<()> {
    for level in [OptLevel::None, OptLevel::Speed, OptLevel::SpeedAndSize] {
        let engine = Engine::new(Config::new().opt_level(level))?;
        let mut inst = instantiate(&engine, ARITH)?;
        let r = call(&mut inst, "fac", &[RawVal::from(20i64)])?;
        assert_eq!(
            r[0].read_as::<i64>(),
            2_432_902_008_176_640_000,
            "{level:?}"
        );
        let r = call(
            &mut inst,
            "fma",
            &[
                RawVal::from(1.5f64),
                RawVal::from(4.0f64),
                RawVal::from(0.25f64),
            ],
        )?;
        assert_eq!(r[0].read_as::<f64>(), 6.25, "{level:?}");
        let r = call(&mut inst, "sqrt", &[RawVal::from(2.25f32)])?;
        assert_eq!(r[0].read_as::<f32>(), 1.5, "{level:?}");
    }
    Ok(())
}

const MEMORY_OPS: &str = r#"(module
  (memory (export "memory") 1 3)
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load8") (param i32) (result i32) (i32.load8_u offset=7 (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "load64") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size)))"#;

/// Runs a fixed script of memory operations and describes each outcome.
fn memory_script(engine: &Engine) -> Result<Vec<String>> {
    let mut inst = instantiate(engine, MEMORY_OPS)?;
    let steps: &[(&str, &[RawVal])] = &[
        ("store", &[RawVal::from(0i32), RawVal::from(0x1234_5678i32)]),
        ("load", &[RawVal::from(0i32)]),
        ("store", &[RawVal::from(65532i32), RawVal::from(-1i32)]),
        ("load", &[RawVal::from(65532i32)]),
        ("load", &[RawVal::from(65533i32)]),
        ("load64", &[RawVal::from(65528i32)]),
        ("load64", &[RawVal::from(65529i32)]),
        ("load8", &[RawVal::from(65528i32)]),
        ("load8", &[RawVal::from(65529i32)]),
        ("load", &[RawVal::from(-4i32)]),
        ("store", &[RawVal::from(65536i32), RawVal::from(1i32)]),
        ("grow", &[RawVal::from(1i32)]),
        ("size", &[]),
        ("load", &[RawVal::from(65533i32)]),
        ("load", &[RawVal::from(131069i32)]),
        ("grow", &[RawVal::from(2i32)]),
        ("grow", &[RawVal::from(1i32)]),
        ("store", &[RawVal::from(196604i32), RawVal::from(9i32)]),
        ("load", &[RawVal::from(196604i32)]),
        ("load", &[RawVal::from(196605i32)]),
    ];
    let mut out = Vec::new();
    for (name, args) in steps {
        let outcome = match inst.call(name, args)? {
            ExecResult::Ok(v) => format!(
                "{name} -> {:?}",
                v.iter().map(|r| r.low64()).collect::<Vec<_>>()
            ),
            ExecResult::Trap(t) => format!("{name} -> trap {:?}", t.code()),
            ExecResult::Exit(code) => format!("{name} -> exit {code}"),
        };
        out.push(outcome);
    }
    Ok(out)
}

#[test]
fn guard_pages_and_explicit_bounds_checks_agree() -> Result<()> {
    let guard = memory_script(&Engine::new(
        Config::new().bounds_checks(BoundsChecks::GuardPages),
    )?)?;
    let explicit = memory_script(&Engine::new(
        Config::new().bounds_checks(BoundsChecks::Explicit),
    )?)?;
    assert_eq!(guard, explicit);
    let expected = [
        "store -> []",
        "load -> [305419896]",
        "store -> []",
        "load -> [4294967295]",
        "load -> trap MemoryOutOfBounds",
        "load64 -> [18446744069414584320]",
        "load64 -> trap MemoryOutOfBounds",
        "load8 -> [255]",
        "load8 -> trap MemoryOutOfBounds",
        "load -> trap MemoryOutOfBounds",
        "store -> trap MemoryOutOfBounds",
        "grow -> [1]",
        "size -> [2]",
        "load -> [16777215]",
        "load -> trap MemoryOutOfBounds",
        "grow -> [4294967295]",
        "grow -> [2]",
        "store -> []",
        "load -> [9]",
        "load -> trap MemoryOutOfBounds",
    ];
    assert_eq!(guard, expected);
    Ok(())
}

#[test]
fn max_wasm_stack_limits_recursion_depth() -> Result<()> {
    let wat = r#"(module
      (func $down (export "down") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1))))))))"#;
    let mut roomy = instantiate(&Engine::default(), wat)?;
    let r = call(&mut roomy, "down", &[RawVal::from(2000i32)])?;
    assert_eq!(r[0].read_as::<i32>(), 2000);

    let mut cramped = instantiate(&Engine::new(Config::new().max_wasm_stack(16 * 1024))?, wat)?;
    let r = cramped.call("down", &[RawVal::from(2000i32)])?;
    assert_eq!(r.trap().map(Trap::code), Some(TrapCode::StackOverflow));
    let r = call(&mut cramped, "down", &[RawVal::from(10i32)])?;
    assert_eq!(r[0].read_as::<i32>(), 10);
    Ok(())
}

#[test]
fn memory_limit_makes_memory_grow_fail() -> Result<()> {
    for mode in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let engine = Engine::new(
            Config::new()
                .bounds_checks(mode)
                .memory_limit(Some(2 * 65536 + 100)),
        )?;
        let mut inst = instantiate(&engine, MEMORY_OPS)?;
        assert_eq!(
            call(&mut inst, "grow", &[RawVal::from(1i32)])?[0].read_as::<i32>(),
            1,
            "{mode:?}"
        );
        assert_eq!(
            call(&mut inst, "grow", &[RawVal::from(1i32)])?[0].read_as::<i32>(),
            -1,
            "{mode:?}"
        );
        assert_eq!(
            call(&mut inst, "size", &[])?[0].read_as::<i32>(),
            2,
            "{mode:?}"
        );
        let mem = inst.memory("memory").expect("exported memory");
        assert!(
            matches!(mem.grow(1), Err(Error::OutOfBounds(_))),
            "{mode:?}"
        );
        assert_eq!(mem.size_pages(), 2);
        // Without the limit, the module's own maximum (3 pages) is reachable.
        let mut free = instantiate(&Engine::new(Config::new().bounds_checks(mode))?, MEMORY_OPS)?;
        assert_eq!(
            call(&mut free, "grow", &[RawVal::from(2i32)])?[0].read_as::<i32>(),
            1,
            "{mode:?}"
        );
    }
    // A module whose initial memory exceeds the limit cannot be instantiated.
    let engine = Engine::new(Config::new().memory_limit(Some(65536)))?;
    let module = Module::compile(&engine, "(module (memory 2))")?;
    let err = Instance::new(&mut Store::new(&engine), &module, &Linker::new()).unwrap_err();
    assert!(matches!(err, Error::Resource(_)), "{err:?}");
    Ok(())
}
