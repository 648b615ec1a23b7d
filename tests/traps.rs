//! Integration tests of the trap codes wasm code can raise: each one asserted by code, with the
//! instance still usable afterwards. Host errors, backtraces and `Display` are in `trap_reporting.rs`.

mod common;
use common::{INTEGER, RECURSION, trap_of};

use anyhow::Result;
use wasmz::*;

/// Instantiates `wat` with no imports in a fresh store of `engine`.
fn instantiate(engine: &Engine, wat: &str) -> Result<Instance> {
    let module = Module::compile(engine, wat)?;
    Ok(Instance::new(
        &mut Store::new(engine),
        &module,
        &Linker::new(),
    )?)
}

/// Asserts that calling `name` with `args` traps with `code`.
fn assert_trap(inst: &mut Instance, name: &str, args: &[RawVal], code: TrapCode) -> Result<()> {
    let trap = trap_of(inst, name, args)?;
    assert_eq!(trap.code(), code, "`{name}{args:?}` trapped with {trap}");
    Ok(())
}

/// Calls `name` expecting results.
fn call(inst: &mut Instance, name: &str, args: &[RawVal]) -> Result<Vec<RawVal>> {
    Ok(inst.call(name, args)?.into_result()?)
}

fn i32s(v: &[i32]) -> Vec<RawVal> {
    v.iter().map(|&x| RawVal::from(x)).collect()
}

fn i64s(v: &[i64]) -> Vec<RawVal> {
    v.iter().map(|&x| RawVal::from(x)).collect()
}

#[test]
fn unreachable_traps() -> Result<()> {
    let mut inst = instantiate(
        &Engine::default(),
        r#"(module (func (export "u") (result i32) unreachable)
             (func (export "after_branch") (param i32) (result i32)
               (if (local.get 0) (then unreachable)) (i32.const 1)))"#,
    )?;
    assert_trap(&mut inst, "u", &[], TrapCode::UnreachableCodeReached)?;
    assert_trap(
        &mut inst,
        "after_branch",
        &i32s(&[1]),
        TrapCode::UnreachableCodeReached,
    )?;
    assert_eq!(
        call(&mut inst, "after_branch", &i32s(&[0]))?[0].read_as::<i32>(),
        1
    );
    Ok(())
}

const MEMORY: &str = r#"(module
  (memory 1)
  (data $d "abcdefgh")
  (data $once "z")
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load_off") (param i32) (result i32) (i32.load offset=0xfffffff0 (local.get 0)))
  (func (export "load_f64") (param i32) (result f64) (f64.load (local.get 0)))
  (func (export "load16") (param i32) (result i32) (i32.load16_s (local.get 0)))
  (func (export "store") (param i32) (i64.store (local.get 0) (i64.const -1)))
  (func (export "store8") (param i32) (i32.store8 (local.get 0) (i32.const 1)))
  (func (export "fill") (param i32 i32) (memory.fill (local.get 0) (i32.const 7) (local.get 1)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32) (memory.init $d (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop_and_init") (data.drop $once) (memory.init $once (i32.const 0) (i32.const 0) (i32.const 1))))"#;

#[test]
fn out_of_bounds_memory_accesses_trap_in_both_bounds_check_modes() -> Result<()> {
    for mode in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let engine = Engine::new(Config::new().bounds_checks(mode))?;
        let mut inst = instantiate(&engine, MEMORY)?;
        let oob = TrapCode::MemoryOutOfBounds;
        for (name, args) in [
            ("load", i32s(&[65536])),
            ("load", i32s(&[65533])),
            ("load", i32s(&[-1])),
            ("load_off", i32s(&[0x10])),
            ("load_off", i32s(&[-1])),
            ("load_f64", i32s(&[65529])),
            ("load16", i32s(&[65535])),
            ("store", i32s(&[65529])),
            ("store", i32s(&[i32::MIN])),
            ("store8", i32s(&[65536])),
            ("fill", i32s(&[65530, 7])),
            ("fill", i32s(&[65537, 0])),
            ("fill", i32s(&[0, -1])),
            ("copy", i32s(&[65535, 0, 2])),
            ("copy", i32s(&[0, 65535, 2])),
            ("copy", i32s(&[65537, 0, 0])),
            ("init", i32s(&[65535, 0, 2])),
            ("init", i32s(&[0, 7, 2])),
            ("init", i32s(&[0, 9, 0])),
            ("drop_and_init", vec![]),
        ] {
            let trap = trap_of(&mut inst, name, &args)?;
            assert_eq!(
                trap.code(),
                oob,
                "{mode:?}: `{name}{args:?}` trapped with {trap}"
            );
        }
        // The last in-bounds accesses succeed, zero-length operations at the end are allowed, and bulk
        // operations that trap write nothing.
        assert_eq!(
            call(&mut inst, "load", &i32s(&[65532]))?[0].read_as::<i32>(),
            0,
            "{mode:?}"
        );
        call(&mut inst, "store", &i32s(&[65528]))?;
        call(&mut inst, "store8", &i32s(&[65535]))?;
        call(&mut inst, "fill", &i32s(&[65536, 0]))?;
        call(&mut inst, "copy", &i32s(&[65536, 65536, 0]))?;
        call(&mut inst, "init", &i32s(&[65536, 8, 0]))?;
        call(&mut inst, "init", &i32s(&[100, 4, 4]))?;
        assert_eq!(
            call(&mut inst, "load", &i32s(&[100]))?[0].read_as::<u32>(),
            u32::from_le_bytes(*b"efgh")
        );
        assert_eq!(
            call(&mut inst, "load", &i32s(&[65528]))?[0].read_as::<i32>(),
            -1,
            "{mode:?}"
        );
        assert_eq!(
            call(&mut inst, "load16", &i32s(&[65530]))?[0].read_as::<i32>(),
            -1,
            "{mode:?}"
        );
    }
    Ok(())
}

const TABLE: &str = r#"(module
  (type $v (func (result i32)))
  (type $w (func (param i32) (result i32)))
  (table $t 3 funcref)
  (func $one (result i32) (i32.const 1))
  (func $two (param i32) (result i32) (local.get 0))
  (elem (i32.const 0) $one $two)
  (elem $e func $one $one)
  (func (export "get") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0))))
  (func (export "set") (param i32) (table.set $t (local.get 0) (ref.null func)))
  (func (export "fill") (param i32 i32) (table.fill $t (local.get 0) (ref.null func) (local.get 1)))
  (func (export "copy") (param i32 i32 i32) (table.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32) (table.init $e (local.get 0) (local.get 1) (local.get 2)))
  (func (export "call_v") (param i32) (result i32) (call_indirect (type $v) (local.get 0)))
  (func (export "call_w") (param i32 i32) (result i32) (call_indirect (type $w) (local.get 0) (local.get 1))))"#;

#[test]
fn table_traps_out_of_bounds_null_and_signature_mismatch() -> Result<()> {
    let mut inst = instantiate(&Engine::default(), TABLE)?;
    let oob = TrapCode::TableOutOfBounds;
    assert_trap(&mut inst, "get", &i32s(&[3]), oob)?;
    assert_trap(&mut inst, "get", &i32s(&[-1]), oob)?;
    assert_trap(&mut inst, "set", &i32s(&[3]), oob)?;
    assert_trap(&mut inst, "fill", &i32s(&[2, 2]), oob)?;
    assert_trap(&mut inst, "copy", &i32s(&[2, 0, 2]), oob)?;
    assert_trap(&mut inst, "copy", &i32s(&[0, 2, 2]), oob)?;
    assert_trap(&mut inst, "init", &i32s(&[2, 0, 2]), oob)?;
    assert_trap(&mut inst, "init", &i32s(&[0, 1, 2]), oob)?;
    assert_trap(&mut inst, "call_v", &i32s(&[3]), oob)?;
    assert_trap(&mut inst, "call_v", &i32s(&[i32::MAX]), oob)?;
    assert_trap(&mut inst, "call_v", &i32s(&[-1]), oob)?;

    assert_trap(
        &mut inst,
        "call_v",
        &i32s(&[2]),
        TrapCode::IndirectCallToNull,
    )?;
    assert_trap(&mut inst, "call_v", &i32s(&[1]), TrapCode::BadSignature)?;
    assert_trap(&mut inst, "call_w", &i32s(&[5, 0]), TrapCode::BadSignature)?;

    // In-bounds uses still work, and failed bulk operations changed nothing.
    assert_eq!(call(&mut inst, "get", &i32s(&[2]))?[0].read_as::<i32>(), 1);
    assert_eq!(
        call(&mut inst, "call_v", &i32s(&[0]))?[0].read_as::<i32>(),
        1
    );
    assert_eq!(
        call(&mut inst, "call_w", &i32s(&[9, 1]))?[0].read_as::<i32>(),
        9
    );
    call(&mut inst, "init", &i32s(&[1, 0, 2]))?;
    assert_eq!(
        call(&mut inst, "call_v", &i32s(&[2]))?[0].read_as::<i32>(),
        1
    );
    call(&mut inst, "set", &i32s(&[0]))?;
    assert_trap(
        &mut inst,
        "call_v",
        &i32s(&[0]),
        TrapCode::IndirectCallToNull,
    )?;
    Ok(())
}

#[test]
fn integer_division_traps() -> Result<()> {
    for level in [OptLevel::None, OptLevel::Speed] {
        let mut inst = instantiate(&Engine::new(Config::new().opt_level(level))?, INTEGER)?;
        for op in ["div_s", "div_u", "rem_s", "rem_u"] {
            assert_trap(
                &mut inst,
                &format!("i32.{op}"),
                &i32s(&[7, 0]),
                TrapCode::IntegerDivisionByZero,
            )?;
            assert_trap(
                &mut inst,
                &format!("i32.{op}"),
                &i32s(&[0, 0]),
                TrapCode::IntegerDivisionByZero,
            )?;
            assert_trap(
                &mut inst,
                &format!("i64.{op}"),
                &i64s(&[7, 0]),
                TrapCode::IntegerDivisionByZero,
            )?;
            assert_trap(
                &mut inst,
                &format!("i64.{op}"),
                &i64s(&[i64::MIN, 0]),
                TrapCode::IntegerDivisionByZero,
            )?;
        }
        assert_trap(
            &mut inst,
            "i32.div_s",
            &i32s(&[i32::MIN, -1]),
            TrapCode::IntegerOverflow,
        )?;
        assert_trap(
            &mut inst,
            "i64.div_s",
            &i64s(&[i64::MIN, -1]),
            TrapCode::IntegerOverflow,
        )?;
        // The remainder of INT_MIN / -1 is defined (0), and unsigned division of the same bits is fine.
        assert_eq!(
            call(&mut inst, "i32.rem_s", &i32s(&[i32::MIN, -1]))?[0].read_as::<i32>(),
            0
        );
        assert_eq!(
            call(&mut inst, "i64.rem_s", &i64s(&[i64::MIN, -1]))?[0].read_as::<i64>(),
            0
        );
        assert_eq!(
            call(&mut inst, "i32.div_u", &i32s(&[i32::MIN, -1]))?[0].read_as::<i32>(),
            0
        );
        assert_eq!(
            call(&mut inst, "i32.div_s", &i32s(&[-7, 2]))?[0].read_as::<i32>(),
            -3
        );
        assert_eq!(
            call(&mut inst, "i64.rem_s", &i64s(&[-7, 2]))?[0].read_as::<i64>(),
            -1
        );
    }
    Ok(())
}

#[test]
fn float_to_integer_truncation_traps() -> Result<()> {
    let mut inst = instantiate(
        &Engine::default(),
        r#"(module
          (func (export "i32.trunc_f32_s") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
          (func (export "i32.trunc_f64_u") (param f64) (result i32) (i32.trunc_f64_u (local.get 0)))
          (func (export "i64.trunc_f64_s") (param f64) (result i64) (i64.trunc_f64_s (local.get 0)))
          (func (export "i64.trunc_f32_u") (param f32) (result i64) (i64.trunc_f32_u (local.get 0)))
          (func (export "sat") (param f32) (result i32) (i32.trunc_sat_f32_s (local.get 0))))"#,
    )?;
    let f32s = |x: f32| [RawVal::from(x)];
    let f64s = |x: f64| [RawVal::from(x)];
    let overflow = TrapCode::IntegerOverflow;
    assert_trap(
        &mut inst,
        "i32.trunc_f32_s",
        &f32s(2_147_483_648.0),
        overflow,
    )?;
    assert_trap(
        &mut inst,
        "i32.trunc_f32_s",
        &f32s(-2_147_483_904.0),
        overflow,
    )?;
    assert_trap(&mut inst, "i32.trunc_f32_s", &f32s(f32::INFINITY), overflow)?;
    assert_trap(
        &mut inst,
        "i32.trunc_f64_u",
        &f64s(4_294_967_296.0),
        overflow,
    )?;
    assert_trap(&mut inst, "i32.trunc_f64_u", &f64s(-1.0), overflow)?;
    assert_trap(&mut inst, "i64.trunc_f64_s", &f64s(9.3e18), overflow)?;
    assert_trap(&mut inst, "i64.trunc_f32_u", &f32s(-1.0), overflow)?;

    let bad = TrapCode::BadConversionToInteger;
    assert_trap(&mut inst, "i32.trunc_f32_s", &f32s(f32::NAN), bad)?;
    assert_trap(
        &mut inst,
        "i32.trunc_f32_s",
        &f32s(f32::from_bits(0xffc0_0001)),
        bad,
    )?;
    assert_trap(&mut inst, "i32.trunc_f64_u", &f64s(f64::NAN), bad)?;
    assert_trap(&mut inst, "i64.trunc_f64_s", &f64s(-f64::NAN), bad)?;
    assert_trap(&mut inst, "i64.trunc_f32_u", &f32s(f32::NAN), bad)?;

    // Values just inside the range convert; the saturating form never traps.
    assert_eq!(
        call(&mut inst, "i32.trunc_f32_s", &f32s(-2_147_483_648.0))?[0].read_as::<i32>(),
        i32::MIN
    );
    assert_eq!(
        call(&mut inst, "i32.trunc_f64_u", &f64s(-0.9))?[0].read_as::<i32>(),
        0
    );
    assert_eq!(
        call(&mut inst, "i32.trunc_f64_u", &f64s(4_294_967_295.9))?[0].read_as::<u32>(),
        u32::MAX
    );
    assert_eq!(
        call(&mut inst, "sat", &f32s(f32::NAN))?[0].read_as::<i32>(),
        0
    );
    assert_eq!(
        call(&mut inst, "sat", &f32s(1e10))?[0].read_as::<i32>(),
        i32::MAX
    );
    Ok(())
}

#[test]
fn stack_overflow_traps_and_the_instance_stays_usable() -> Result<()> {
    let mut inst = instantiate(&Engine::default(), RECURSION)?;
    let a = [RawVal::from(1i64), RawVal::from(2.0f64), RawVal::from(3i32)];
    for _ in 0..3 {
        assert_trap(&mut inst, "forever", &[], TrapCode::StackOverflow)?;
        assert_eq!(call(&mut inst, "ok", &[])?[0].read_as::<i32>(), 99);
        assert_trap(&mut inst, "forever_args", &a, TrapCode::StackOverflow)?;
        assert_eq!(
            call(&mut inst, "depth", &i32s(&[1000]))?[0].read_as::<i32>(),
            1000
        );
    }
    assert_trap(
        &mut inst,
        "depth",
        &i32s(&[100_000_000]),
        TrapCode::StackOverflow,
    )?;
    assert_eq!(
        call(&mut inst, "depth", &i32s(&[5000]))?[0].read_as::<i32>(),
        5000
    );
    Ok(())
}
