//! GC type system across modules: recursion groups canonicalized engine-wide (equal groups link,
//! different ones are refused with a clear error) and declared subtyping in imports, `call_indirect`
//! and typed globals.

use anyhow::Result;
use wasmz::*;

/// Exports `f` of the first type of the recursion group `group`, returning 7.
fn exporter(group: &str) -> String {
    format!(
        r#"(module {group}
          (func (export "f") (type 0) (i32.const 7))
          (table (export "t") 1 funcref)
          (elem (i32.const 0) func 0))"#
    )
}

/// Imports `f` with the first type of `group` and calls it.
fn importer(group: &str) -> String {
    format!(
        r#"(module {group}
          (import "m" "f" (func $f (type 0)))
          (func (export "call") (result i32) (call $f)))"#
    )
}

/// Instantiates the exporter of `exported` and links the importer of `imported` against it.
fn link(engine: &Engine, exported: &str, imported: &str) -> Result<Result<Instance, Error>> {
    let mut store = Store::new(engine);
    let a = Instance::new(
        &mut store,
        &Module::compile(engine, exporter(exported))?,
        &Linker::new(),
    )?;
    let mut linker = Linker::new();
    linker.define_instance("m", &a)?;
    let b = Module::compile(engine, importer(imported))?;
    Ok(Instance::new(&mut store, &b, &linker))
}

const GROUP: &str = "(rec (type (func (result i32))) (type (struct (field i32 (ref null 0)))))";

#[test]
fn equal_recursion_groups_of_two_modules_link() -> Result<()> {
    let engine = Engine::default();
    let mut inst = link(&engine, GROUP, GROUP)??;
    let r = inst.call_vals("call", &[])?.into_result()?;
    assert!(matches!(r[..], [Val::I32(7)]), "{r:?}");
    // Type names do not matter, only structure.
    let named =
        "(rec (type $ft (func (result i32))) (type $st (struct (field i32 (ref null $ft)))))";
    link(&engine, GROUP, named)??;
    Ok(())
}

#[test]
fn different_recursion_groups_are_refused_with_a_clear_error() -> Result<()> {
    let engine = Engine::default();
    for (other, func_type) in [
        // Same function type, different second member.
        (
            "(rec (type (func (result i32))) (type (struct (field i64 (ref null 0)))))",
            0,
        ),
        // Same function type, but alone rather than in a group.
        ("(type (func (result i32)))", 0),
        // Same members in another order.
        (
            "(rec (type (struct (field i32 (ref null 1)))) (type (func (result i32))))",
            1,
        ),
    ] {
        let mut store = Store::new(&engine);
        let a = Instance::new(
            &mut store,
            &Module::compile(&engine, exporter(GROUP))?,
            &Linker::new(),
        )?;
        let mut linker = Linker::new();
        linker.define_instance("m", &a)?;
        let b = Module::compile(
            &engine,
            format!(r#"(module {other} (import "m" "f" (func (type {func_type}))))"#),
        )?;
        let err = Instance::new(&mut store, &b, &linker).expect_err(other);
        let text = err.to_string();
        assert!(matches!(err, Error::Link(_)), "{other}: {text}");
        assert!(
            text.contains("expected a function of type") && text.contains("neither"),
            "{other}: {text}"
        );
    }
    Ok(())
}

const SUBTYPES: &str = r#"
  (type $f (sub (func (result i32))))
  (type $g (sub $f (func (result i32))))
  (type $h (func (result i32)))"#;

#[test]
fn call_indirect_accepts_functions_of_declared_subtypes() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        format!(
            r#"(module {SUBTYPES}
              (func $ff (type $f) (i32.const 1))
              (func $gg (type $g) (i32.const 2))
              (func $hh (type $h) (i32.const 3))
              (table funcref (elem $ff $gg $hh))
              (func (export "via_f") (param i32) (result i32) (call_indirect (type $f) (local.get 0)))
              (func (export "via_g") (param i32) (result i32) (call_indirect (type $g) (local.get 0)))
              (func (export "via_h") (param i32) (result i32) (call_indirect (type $h) (local.get 0))))"#
        ),
    )?;
    let mut inst = Instance::new(&mut Store::new(&engine), &module, &Linker::new())?;
    let mut call = |name: &str, slot: i32| -> Result<Result<i32, TrapCode>> {
        Ok(
            match inst.call_vals(name, &[Val::I32(slot)])?.into_result() {
                Ok(v) => match v[..] {
                    [Val::I32(x)] => Ok(x),
                    _ => anyhow::bail!("{v:?}"),
                },
                Err(trap) => Err(trap.code()),
            },
        )
    };
    assert_eq!(call("via_f", 0)?, Ok(1));
    assert_eq!(call("via_f", 1)?, Ok(2), "$g is a subtype of $f");
    assert_eq!(
        call("via_f", 2)?,
        Err(TrapCode::BadSignature),
        "$h is unrelated"
    );
    assert_eq!(
        call("via_g", 0)?,
        Err(TrapCode::BadSignature),
        "$f is not a $g"
    );
    assert_eq!(call("via_g", 1)?, Ok(2));
    assert_eq!(call("via_h", 2)?, Ok(3));
    assert_eq!(call("via_h", 0)?, Err(TrapCode::BadSignature));
    Ok(())
}

#[test]
fn imports_match_by_declared_subtyping_across_modules() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let a = Instance::new(
        &mut store,
        &Module::compile(
            &engine,
            format!(
                r#"(module {SUBTYPES}
                  (func $gg (export "g") (type $g) (i32.const 2))
                  (func (export "f") (type $f) (i32.const 1))
                  (elem declare func $gg)
                  (global (export "gref") (ref null $g) (ref.func $gg))
                  (table (export "tab") 2 funcref)
                  (elem (i32.const 0) func $gg))"#
            ),
        )?,
        &Linker::new(),
    )?;
    let mut linker = Linker::new();
    linker.define_instance("a", &a)?;
    // A function of type $g where a $f is expected, and a global of (ref null $g) where
    // (ref null $f) is expected, both link; call_indirect through the imported table sees $g as a $f.
    let b = Module::compile(
        &engine,
        format!(
            r#"(module {SUBTYPES}
              (import "a" "g" (func $imp (type $f)))
              (import "a" "gref" (global $gr (ref null $f)))
              (import "a" "tab" (table 2 funcref))
              (func (export "direct") (result i32) (call $imp))
              (func (export "through_global") (result i32) (call_ref $f (ref.as_non_null (global.get $gr))))
              (func (export "indirect") (result i32) (call_indirect (type $f) (i32.const 0))))"#
        ),
    )?;
    let mut inst = Instance::new(&mut store, &b, &linker)?;
    for name in ["direct", "through_global", "indirect"] {
        let r = inst.call_vals(name, &[])?.into_result()?;
        assert!(matches!(r[..], [Val::I32(2)]), "{name}: {r:?}");
    }
    // The other way round is refused: a $f is not a $g.
    let c = Module::compile(
        &engine,
        format!(r#"(module {SUBTYPES} (import "a" "f" (func (type $g))))"#),
    )?;
    let err = Instance::new(&mut store, &c, &linker).expect_err("$f is not a $g");
    assert!(err.to_string().contains("expected"), "{err}");
    Ok(())
}

#[test]
fn final_types_are_distinct_from_open_ones() -> Result<()> {
    // `(type (func))` is final: a non-final type of the same structure is another type.
    let engine = Engine::default();
    let err = link(
        &engine,
        "(type (sub (func (result i32))))",
        "(type (func (result i32)))",
    )?
    .expect_err("finality is part of the type");
    assert!(err.to_string().contains("expected"), "{err}");
    link(
        &engine,
        "(type (sub final (func (result i32))))",
        "(type (func (result i32)))",
    )??;
    Ok(())
}

#[test]
fn host_functions_take_the_type_the_import_declares() -> Result<()> {
    let engine = Engine::default();
    let mut linker = Linker::new();
    linker.define(
        "host",
        "seven",
        HostFunc::new([], [ValType::I32], |_, _, results| {
            results[0] = RawVal::from(7i32);
            Ok(())
        }),
    )?;
    // The signature matches; the type is non-final and in a recursion group, and call_indirect through
    // it and through its supertype accepts the host function.
    let module = Module::compile(
        &engine,
        r#"(module
          (type $top (sub (func (result i32))))
          (rec (type $f (sub $top (func (result i32)))) (type (struct)))
          (import "host" "seven" (func $seven (type $f)))
          (table funcref (elem $seven))
          (func (export "via_f") (result i32) (call_indirect (type $f) (i32.const 0)))
          (func (export "via_top") (result i32) (call_indirect (type $top) (i32.const 0))))"#,
    )?;
    let mut inst = Instance::new(&mut Store::new(&engine), &module, &linker)?;
    for name in ["via_f", "via_top"] {
        let r = inst.call_vals(name, &[])?.into_result()?;
        assert!(matches!(r[..], [Val::I32(7)]), "{name}: {r:?}");
    }
    // Another signature is refused.
    let other = Module::compile(
        &engine,
        r#"(module (import "host" "seven" (func (result i64))))"#,
    )?;
    let err = Instance::new(&mut Store::new(&engine), &other, &linker).expect_err("signature");
    assert!(
        err.to_string().contains("expected (func (result i64))"),
        "{err}"
    );
    Ok(())
}

#[test]
fn gc_is_on_by_default_and_can_be_turned_off() -> Result<()> {
    let wat = "(module (rec (type (struct (field (mut i8)))) (type (array (ref null 0)))))";
    Module::compile(&Engine::default(), wat)?;
    let mut config = Config::new();
    config.wasm_gc(false);
    let err = Module::compile(&Engine::new(&config)?, wat).expect_err("GC types need the proposal");
    assert!(matches!(err, Error::Wasm(_)), "{err}");
    Ok(())
}
