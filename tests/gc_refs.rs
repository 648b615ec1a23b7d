//! GC references that need no heap: i31 values, host values seen as `anyref`, `ref.eq`, and the casts
//! (`ref.test`, `ref.cast`, `br_on_cast`, `br_on_cast_fail`) on i31, host, null and function values.

use anyhow::Result;
use wasmz::*;

fn instantiate(wat: &str) -> Result<Instance> {
    let engine = Engine::default();
    let module = Module::compile(&engine, wat)?;
    Ok(Instance::new(
        &mut Store::new(&engine),
        &module,
        &Linker::new(),
    )?)
}

fn i32_of(inst: &mut Instance, name: &str, args: &[Val]) -> Result<i32> {
    match inst.call_vals(name, args)?.into_result()?[..] {
        [Val::I32(v)] => Ok(v),
        ref other => anyhow::bail!("{name}: unexpected results {other:?}"),
    }
}

fn trap_of(inst: &mut Instance, name: &str, args: &[Val]) -> Result<Trap> {
    match inst.call_vals(name, args)?.into_result() {
        Ok(v) => anyhow::bail!("{name} returned {v:?} instead of trapping"),
        Err(trap) => Ok(trap),
    }
}

const I31: &str = r#"(module
  (func (export "get_s") (param i32) (result i32) (i31.get_s (ref.i31 (local.get 0))))
  (func (export "get_u") (param i32) (result i32) (i31.get_u (ref.i31 (local.get 0))))
  (func (export "make") (param i32) (result i31ref) (ref.i31 (local.get 0)))
  (func (export "read_s") (param i31ref) (result i32) (i31.get_s (local.get 0)))
  (func (export "null_s") (result i32) (i31.get_s (ref.null i31)))
  (global (export "g") i31ref (ref.i31 (i32.const -5)))
  (table $t 2 anyref (ref.i31 (i32.const 77)))
  (func (export "table0") (result i32) (i31.get_u (ref.cast i31ref (table.get $t (i32.const 0))))))"#;

#[test]
fn i31_values_round_trip_with_31_bit_sign_extension() -> Result<()> {
    let mut inst = instantiate(I31)?;
    for (input, signed, unsigned) in [
        (0, 0, 0),
        (1, 1, 1),
        (-1, -1, 0x7fff_ffff),
        (0x3fff_ffff, 0x3fff_ffff, 0x3fff_ffff),
        // Bit 30 is the sign of an i31; bit 31 of the i32 is dropped.
        (0x4000_0000, -0x4000_0000, 0x4000_0000),
        (0x7fff_ffff, -1, 0x7fff_ffff),
        (i32::MIN, 0, 0),
        (i32::MIN + 1, 1, 1),
    ] {
        assert_eq!(
            i32_of(&mut inst, "get_s", &[Val::I32(input)])?,
            signed,
            "{input:#x}"
        );
        assert_eq!(
            i32_of(&mut inst, "get_u", &[Val::I32(input)])?,
            unsigned,
            "{input:#x}"
        );
    }
    // Through the API: wasm-made i31 references are AnyRef values, and host-made ones are read by wasm.
    let made = inst.call_vals("make", &[Val::I32(-2)])?.into_result()?;
    let [Val::AnyRef(Some(ref r))] = made[..] else {
        panic!("{made:?}")
    };
    assert_eq!(r.i31_signed(), Some(-2));
    assert_eq!(r.i31_unsigned(), Some(0x7fff_fffe));
    assert_eq!(r.host_id(), None);
    assert!(!r.is_gc_object());
    assert_eq!(*r, AnyRef::i31(-2));
    assert_eq!(
        i32_of(
            &mut inst,
            "read_s",
            &[Val::AnyRef(Some(AnyRef::i31(0x4000_0000)))]
        )?,
        -0x4000_0000
    );
    // Constant expressions: globals and table initializers.
    match inst.global("g").expect("global").get() {
        Val::AnyRef(Some(r)) => assert_eq!(r.i31_signed(), Some(-5)),
        other => panic!("{other:?}"),
    }
    assert_eq!(i32_of(&mut inst, "table0", &[])?, 77);
    Ok(())
}

#[test]
fn i31_get_of_null_traps() -> Result<()> {
    let mut inst = instantiate(I31)?;
    assert_eq!(
        trap_of(&mut inst, "null_s", &[])?.code(),
        TrapCode::NullReference
    );
    assert_eq!(
        trap_of(&mut inst, "read_s", &[Val::AnyRef(None)])?.code(),
        TrapCode::NullReference
    );
    Ok(())
}

#[test]
fn host_values_pass_through_anyref_and_back() -> Result<()> {
    let mut inst = instantiate(
        r#"(module
          (func (export "internalize") (param externref) (result anyref) (any.convert_extern (local.get 0)))
          (func (export "externalize") (param anyref) (result externref) (extern.convert_any (local.get 0)))
          (func (export "round_trip") (param externref) (result externref)
            (extern.convert_any (any.convert_extern (local.get 0))))
          (func (export "is_eq") (param externref) (result i32)
            (ref.test eqref (any.convert_extern (local.get 0))))
          (global (export "ext_i31") externref (extern.convert_any (ref.i31 (i32.const 9)))))"#,
    )?;
    for id in [0u64, 1, 42, (1 << 62) - 1] {
        let r = inst
            .call_vals("internalize", &[Val::ExternRef(Some(id))])?
            .into_result()?;
        let [Val::AnyRef(Some(ref a))] = r[..] else {
            panic!("{r:?}")
        };
        assert_eq!(a.host_id(), Some(id));
        assert_eq!(a.i31_signed(), None);
        let r = inst
            .call_vals("externalize", &[Val::AnyRef(Some(a.clone()))])?
            .into_result()?;
        assert!(
            matches!(r[..], [Val::ExternRef(Some(x))] if x == id),
            "{r:?}"
        );
        let r = inst
            .call_vals("round_trip", &[Val::ExternRef(Some(id))])?
            .into_result()?;
        assert!(
            matches!(r[..], [Val::ExternRef(Some(x))] if x == id),
            "{r:?}"
        );
        assert_eq!(i32_of(&mut inst, "is_eq", &[Val::ExternRef(Some(id))])?, 0);
    }
    let r = inst
        .call_vals("internalize", &[Val::ExternRef(None)])?
        .into_result()?;
    assert!(matches!(r[..], [Val::AnyRef(None)]), "{r:?}");
    // An i31 value seen as externref is an internal value, not a host id.
    let r = inst
        .call_vals("externalize", &[Val::AnyRef(Some(AnyRef::i31(3)))])?
        .into_result()?;
    let [Val::ExternAny(ref a)] = r[..] else {
        panic!("{r:?}")
    };
    assert_eq!(a.i31_signed(), Some(3));
    match inst.global("ext_i31").expect("global").get() {
        Val::ExternAny(a) => assert_eq!(a.i31_signed(), Some(9)),
        other => panic!("{other:?}"),
    }
    Ok(())
}

#[test]
fn ref_eq_compares_identity_and_i31_values() -> Result<()> {
    let mut inst = instantiate(
        r#"(module
          (func (export "eq") (param eqref eqref) (result i32) (ref.eq (local.get 0) (local.get 1)))
          (func (export "eq_i31") (param i32 i32) (result i32)
            (ref.eq (ref.i31 (local.get 0)) (ref.i31 (local.get 1)))))"#,
    )?;
    let i31 = |v| Val::AnyRef(Some(AnyRef::i31(v)));
    assert_eq!(i32_of(&mut inst, "eq", &[i31(5), i31(5)])?, 1);
    assert_eq!(i32_of(&mut inst, "eq", &[i31(5), i31(6)])?, 0);
    assert_eq!(
        i32_of(&mut inst, "eq", &[Val::AnyRef(None), Val::AnyRef(None)])?,
        1
    );
    assert_eq!(i32_of(&mut inst, "eq", &[Val::AnyRef(None), i31(0)])?, 0);
    // i31 values are compared modulo 2^31.
    assert_eq!(
        i32_of(&mut inst, "eq_i31", &[Val::I32(1), Val::I32(i32::MIN + 1)])?,
        1
    );
    assert_eq!(i32_of(&mut inst, "eq_i31", &[Val::I32(1), Val::I32(2)])?, 0);
    // A host value is not an eqref.
    let host = Val::AnyRef(Some(AnyRef::host(1)));
    assert!(matches!(
        inst.call_vals("eq", &[host, i31(0)]),
        Err(Error::ArgumentType { .. })
    ));
    Ok(())
}

const CASTS: &str = r#"(module
  (type $f (sub (func (result i32))))
  (type $g (sub $f (func (result i32))))
  (type $h (func (result i32)))
  (func $ff (type $f) (i32.const 1))
  (func $gg (type $g) (i32.const 2))
  (func $hh (type $h) (i32.const 3))
  (table $funcs funcref (elem $ff $gg $hh))
  (elem declare func $ff $gg $hh)

  (func (export "test_any") (param anyref) (result i32) (ref.test (ref any) (local.get 0)))
  (func (export "test_eq") (param anyref) (result i32) (ref.test (ref eq) (local.get 0)))
  (func (export "test_i31") (param anyref) (result i32) (ref.test (ref i31) (local.get 0)))
  (func (export "test_null_i31") (param anyref) (result i32) (ref.test (ref null i31) (local.get 0)))
  (func (export "test_struct") (param anyref) (result i32) (ref.test (ref null struct) (local.get 0)))
  (func (export "test_array") (param anyref) (result i32) (ref.test (ref array) (local.get 0)))
  (func (export "test_none") (param anyref) (result i32) (ref.test nullref (local.get 0)))
  (func (export "test_extern") (param externref) (result i32) (ref.test (ref extern) (local.get 0)))

  (func (export "cast_i31") (param anyref) (result i32) (i31.get_s (ref.cast (ref i31) (local.get 0))))
  (func (export "cast_null_i31") (param anyref) (result i32)
    (ref.is_null (ref.cast i31ref (local.get 0))))

  (func (export "test_func") (param i32) (result i32)
    (ref.test (ref $f) (table.get $funcs (local.get 0))))
  (func (export "test_g") (param i32) (result i32)
    (ref.test (ref $g) (table.get $funcs (local.get 0))))
  (func (export "cast_f") (param i32) (result i32)
    (call_ref $f (ref.cast (ref $f) (table.get $funcs (local.get 0)))))

  (func (export "br_on_i31") (param anyref) (result i32)
    (block $l (result (ref i31))
      (br_on_cast $l anyref (ref i31) (local.get 0))
      (drop)
      (return (i32.const -1)))
    (i31.get_u))
  (func (export "br_on_not_i31") (param anyref) (result i32)
    (block $l (result anyref)
      (br_on_cast_fail $l anyref (ref i31) (local.get 0))
      (i31.get_u)
      (return))
    (drop)
    (i32.const -1)))"#;

#[test]
fn casts_of_abstract_types() -> Result<()> {
    let mut inst = instantiate(CASTS)?;
    let null = Val::AnyRef(None);
    let i31 = Val::AnyRef(Some(AnyRef::i31(-7)));
    let host = Val::AnyRef(Some(AnyRef::host(4)));
    let cases: [(&str, [i32; 3]); 7] = [
        // results for null, i31, host
        ("test_any", [0, 1, 1]),
        ("test_eq", [0, 1, 0]),
        ("test_i31", [0, 1, 0]),
        ("test_null_i31", [1, 1, 0]),
        ("test_struct", [1, 0, 0]),
        ("test_array", [0, 0, 0]),
        ("test_none", [1, 0, 0]),
    ];
    for (name, expected) in cases {
        for (v, want) in [&null, &i31, &host].into_iter().zip(expected) {
            assert_eq!(
                i32_of(&mut inst, name, std::slice::from_ref(v))?,
                want,
                "{name}({v:?})"
            );
        }
    }
    assert_eq!(
        i32_of(&mut inst, "test_extern", &[Val::ExternRef(Some(0))])?,
        1
    );
    assert_eq!(
        i32_of(&mut inst, "test_extern", &[Val::ExternRef(None)])?,
        0
    );
    Ok(())
}

#[test]
fn failed_casts_trap_with_cast_failure() -> Result<()> {
    let mut inst = instantiate(CASTS)?;
    assert_eq!(
        i32_of(&mut inst, "cast_i31", &[Val::AnyRef(Some(AnyRef::i31(-7)))])?,
        -7
    );
    for v in [Val::AnyRef(None), Val::AnyRef(Some(AnyRef::host(1)))] {
        let trap = trap_of(&mut inst, "cast_i31", &[v])?;
        assert_eq!(trap.code(), TrapCode::CastFailure, "{trap}");
    }
    // A nullable target lets null through, but not a value of another type.
    assert_eq!(i32_of(&mut inst, "cast_null_i31", &[Val::AnyRef(None)])?, 1);
    let trap = trap_of(
        &mut inst,
        "cast_null_i31",
        &[Val::AnyRef(Some(AnyRef::host(1)))],
    )?;
    assert_eq!(trap.code(), TrapCode::CastFailure);
    Ok(())
}

#[test]
fn casts_of_functions_follow_declared_subtyping() -> Result<()> {
    let mut inst = instantiate(CASTS)?;
    // Slot 0 is a $f, slot 1 a $g (a subtype of $f), slot 2 a $h (same signature, unrelated).
    assert_eq!(i32_of(&mut inst, "test_func", &[Val::I32(0)])?, 1);
    assert_eq!(i32_of(&mut inst, "test_func", &[Val::I32(1)])?, 1);
    assert_eq!(i32_of(&mut inst, "test_func", &[Val::I32(2)])?, 0);
    assert_eq!(i32_of(&mut inst, "test_g", &[Val::I32(0)])?, 0);
    assert_eq!(i32_of(&mut inst, "test_g", &[Val::I32(1)])?, 1);
    assert_eq!(i32_of(&mut inst, "cast_f", &[Val::I32(1)])?, 2);
    let trap = trap_of(&mut inst, "cast_f", &[Val::I32(2)])?;
    assert_eq!(trap.code(), TrapCode::CastFailure);
    Ok(())
}

#[test]
fn br_on_cast_branches_on_success_and_br_on_cast_fail_on_failure() -> Result<()> {
    let mut inst = instantiate(CASTS)?;
    let i31 = Val::AnyRef(Some(AnyRef::i31(12)));
    let host = Val::AnyRef(Some(AnyRef::host(12)));
    assert_eq!(
        i32_of(&mut inst, "br_on_i31", std::slice::from_ref(&i31))?,
        12
    );
    assert_eq!(
        i32_of(&mut inst, "br_on_i31", std::slice::from_ref(&host))?,
        -1
    );
    assert_eq!(i32_of(&mut inst, "br_on_i31", &[Val::AnyRef(None)])?, -1);
    assert_eq!(i32_of(&mut inst, "br_on_not_i31", &[i31])?, 12);
    assert_eq!(i32_of(&mut inst, "br_on_not_i31", &[host])?, -1);
    assert_eq!(
        i32_of(&mut inst, "br_on_not_i31", &[Val::AnyRef(None)])?,
        -1
    );
    Ok(())
}

#[test]
fn element_segments_hold_i31_and_converted_references() -> Result<()> {
    let mut inst = instantiate(
        r#"(module
          (global $e externref (extern.convert_any (ref.i31 (i32.const 11))))
          (table $t 4 anyref)
          (elem (table $t) (i32.const 0) anyref
            (ref.i31 (i32.const -3)) (any.convert_extern (global.get $e)) (ref.null none))
          (elem $p anyref (ref.i31 (i32.const 21)))
          (func (export "get_s") (param i32) (result i32)
            (i31.get_s (ref.cast (ref i31) (table.get $t (local.get 0)))))
          (func (export "is_null") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0))))
          (func (export "init_passive") (table.init $t $p (i32.const 3) (i32.const 0) (i32.const 1))))"#,
    )?;
    assert_eq!(i32_of(&mut inst, "get_s", &[Val::I32(0)])?, -3);
    assert_eq!(i32_of(&mut inst, "get_s", &[Val::I32(1)])?, 11);
    assert_eq!(i32_of(&mut inst, "is_null", &[Val::I32(2)])?, 1);
    assert_eq!(i32_of(&mut inst, "is_null", &[Val::I32(3)])?, 1);
    inst.call_vals("init_passive", &[])?.into_result()?;
    assert_eq!(i32_of(&mut inst, "get_s", &[Val::I32(3)])?, 21);
    Ok(())
}
