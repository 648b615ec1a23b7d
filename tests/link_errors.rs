//! Integration tests of link and instantiation errors: missing, mistyped and wrong-kind imports, values
//! from another store or engine, and out-of-bounds segments.

use anyhow::Result;
use wasmz::*;

/// Instantiates `wat` with `linker` in `store`, expecting an error.
fn link_error(store: &mut Store, wat: &str, linker: &Linker) -> Result<Error> {
    let module = Module::compile(store.engine(), wat)?;
    match Instance::new(store, &module, linker) {
        Err(e) => Ok(e),
        Ok(_) => anyhow::bail!("instantiation succeeded"),
    }
}

fn host_func(params: &[ValType], results: &[ValType]) -> HostFunc {
    HostFunc::new(params.to_vec(), results.to_vec(), |_, _, _| Ok(()))
}

#[test]
fn missing_imports_are_named() -> Result<()> {
    let mut store = Store::new(&Engine::default());
    let mut linker = Linker::new();
    linker.define("env", "present", host_func(&[], &[]))?;
    let wat =
        r#"(module (import "env" "present" (func)) (import "env" "absent" (func (param i32))))"#;
    let err = link_error(&mut store, wat, &linker)?;
    assert!(
        matches!(&err, Error::UnknownImport { module, name } if module == "env" && name == "absent"),
        "{err:?}"
    );
    assert!(err.to_string().contains("env::absent"), "{err}");

    // Same field name, other module.
    let err = link_error(
        &mut store,
        r#"(module (import "other" "present" (global i32)))"#,
        &linker,
    )?;
    assert!(
        matches!(&err, Error::UnknownImport { module, .. } if module == "other"),
        "{err:?}"
    );
    Ok(())
}

/// Asserts that `err` is a link error naming `env::x` and every one of `words`.
fn assert_link_error(err: &Error, words: &[&str]) {
    let Error::Link(message) = err else {
        panic!("expected Error::Link, got {err:?}")
    };
    assert!(message.contains("env::x"), "{message}");
    for w in words {
        assert!(message.contains(w), "`{w}` missing from: {message}");
    }
}

#[test]
fn mistyped_imports_name_the_expected_and_found_types() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let cases: Vec<(&str, Extern, &str, &str)> = vec![
        (
            "(global i32)",
            Extern::Global(Global::new(
                &mut store,
                GlobalType {
                    content: ValType::I32,
                    mutable: true,
                },
                Val::I32(0),
            )?),
            "(global i32)",
            "(global (mut i32))",
        ),
        (
            "(global (mut i64))",
            Extern::Global(Global::new(
                &mut store,
                GlobalType {
                    content: ValType::I32,
                    mutable: true,
                },
                Val::I32(0),
            )?),
            "(global (mut i64))",
            "(global (mut i32))",
        ),
        (
            "(memory 2)",
            Extern::Memory(Memory::new(&mut store, MemoryType::new(1, None))?),
            "(memory 2)",
            "(memory 1)",
        ),
        (
            "(memory 1 2)",
            Extern::Memory(Memory::new(&mut store, MemoryType::new(1, Some(3)))?),
            "(memory 1 2)",
            "(memory 1 3)",
        ),
        (
            "(table 1 funcref)",
            Extern::Table(Table::new(
                &mut store,
                TableType {
                    element: ValType::ExternRef,
                    limits: Limits { min: 1, max: None },
                    table64: false,
                },
                Val::ExternRef(None),
            )?),
            "funcref",
            "externref",
        ),
    ];
    for (import, ext, expected, found) in cases {
        let mut linker = Linker::new();
        linker.define_extern("env", "x", ext)?;
        let err = link_error(
            &mut store,
            &format!(r#"(module (import "env" "x" {import}))"#),
            &linker,
        )?;
        assert_link_error(&err, &[expected, found]);
    }

    // Host functions of another signature.
    let mut linker = Linker::new();
    linker.define("env", "x", host_func(&[ValType::I32], &[]))?;
    let err = link_error(
        &mut store,
        r#"(module (import "env" "x" (func (param i64))))"#,
        &linker,
    )?;
    let want = FuncType::new([ValType::I64], []).to_string();
    let have = FuncType::new([ValType::I32], []).to_string();
    assert_link_error(&err, &[&want, &have, "expected", "found"]);
    Ok(())
}

#[test]
fn mistyped_instance_function_imports_name_both_types() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let provider = Module::compile(
        &engine,
        r#"(module (func (export "f") (param f32) (result f64) (f64.const 0)))"#,
    )?;
    let provider = Instance::new(&mut store, &provider, &Linker::new())?;
    let mut linker = Linker::new();
    linker.define_func("env", "x", provider.func("f").expect("func"))?;
    let err = link_error(
        &mut store,
        r#"(module (import "env" "x" (func (param i32))))"#,
        &linker,
    )?;
    let want = FuncType::new([ValType::I32], []).to_string();
    let have = FuncType::new([ValType::F32], [ValType::F64]).to_string();
    assert_link_error(&err, &[&want, &have]);
    Ok(())
}

#[test]
fn imports_of_the_wrong_kind_are_rejected() -> Result<()> {
    let mut store = Store::new(&Engine::default());
    let global = Global::new(
        &mut store,
        GlobalType {
            content: ValType::I32,
            mutable: false,
        },
        Val::I32(1),
    )?;
    let mut linker = Linker::new();
    linker.define("env", "x", host_func(&[], &[]))?;
    let err = link_error(
        &mut store,
        r#"(module (import "env" "x" (memory 1)))"#,
        &linker,
    )?;
    assert_link_error(&err, &["(memory 1)", "host function"]);

    let mut linker = Linker::new();
    linker.define_global("env", "x", global)?;
    let err = link_error(&mut store, r#"(module (import "env" "x" (func)))"#, &linker)?;
    assert_link_error(&err, &["(func", "(global i32)"]);
    let err = link_error(
        &mut store,
        r#"(module (import "env" "x" (table 1 funcref)))"#,
        &linker,
    )?;
    assert_link_error(&err, &["(table 1 funcref)", "(global i32)"]);
    Ok(())
}

const CALLEE: &str = r#"(module
  (memory (export "memory") 1)
  (global (export "g") i32 (i32.const 0))
  (func (export "add") (param i32 i64) (result i64) (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1)))
  (func (export "take_ref") (param funcref) (result i32) (ref.is_null (local.get 0)))
  (func (export "_start") (param i32)))"#;

#[test]
fn values_from_another_store_are_rejected() -> Result<()> {
    let engine = Engine::default();
    let mut home = Store::new(&engine);
    let mut away = Store::new(&engine);
    let global = Global::new(
        &mut away,
        GlobalType {
            content: ValType::I32,
            mutable: false,
        },
        Val::I32(1),
    )?;
    let memory = Memory::new(&mut away, MemoryType::new(1, None))?;
    let funcref_table = TableType {
        element: ValType::FuncRef,
        limits: Limits { min: 1, max: None },
        table64: false,
    };
    let table = Table::new(&mut away, funcref_table, Val::FuncRef(None))?;

    for (import, ext) in [
        ("(global i32)", Extern::Global(global)),
        ("(memory 1)", Extern::Memory(memory)),
        ("(table 1 funcref)", Extern::Table(table.clone())),
    ] {
        let mut linker = Linker::new();
        linker.define_extern("env", "x", ext)?;
        let err = link_error(
            &mut home,
            &format!(r#"(module (import "env" "x" {import}))"#),
            &linker,
        )?;
        assert!(matches!(err, Error::WrongStore), "{import}: {err:?}");
        assert_eq!(err.to_string(), "the value belongs to another store");
    }

    let module = Module::compile(&engine, CALLEE)?;
    let mut inst = Instance::new(&mut home, &module, &Linker::new())?;
    let foreign = Instance::new(&mut away, &module, &Linker::new())?
        .func("add")
        .expect("func");
    let mut linker = Linker::new();
    linker.define_func("env", "x", foreign.clone())?;
    let err = link_error(
        &mut home,
        r#"(module (import "env" "x" (func (param i32 i64) (result i64))))"#,
        &linker,
    )?;
    assert!(matches!(err, Error::WrongStore), "{err:?}");

    let err = inst
        .call_vals("take_ref", &[Val::FuncRef(Some(foreign.clone()))])
        .unwrap_err();
    assert!(matches!(err, Error::WrongStore), "{err:?}");
    let own = inst.func("add").expect("func");
    assert!(matches!(
        table.set(0, Val::FuncRef(Some(own.clone()))),
        Err(Error::WrongStore)
    ));
    assert!(matches!(
        table.grow(1, Val::FuncRef(Some(own.clone()))),
        Err(Error::WrongStore)
    ));
    assert!(matches!(
        Table::new(&mut home, funcref_table, Val::FuncRef(Some(foreign))),
        Err(Error::WrongStore)
    ));
    table.set(0, Val::FuncRef(None))?;
    assert_eq!(table.size(), 1, "the rejected grow changed nothing");
    Ok(())
}

#[test]
fn modules_of_another_engine_are_rejected() -> Result<()> {
    let module = Module::compile(&Engine::default(), "(module)")?;
    let err =
        Instance::new(&mut Store::new(&Engine::default()), &module, &Linker::new()).unwrap_err();
    assert!(
        matches!(&err, Error::Link(m) if m.contains("engine")),
        "{err:?}"
    );
    // A clone of the engine is the same engine.
    let engine = module.engine().clone();
    Instance::new(&mut Store::new(&engine), &module, &Linker::new())?;
    Ok(())
}

#[test]
fn out_of_bounds_segments_fail_instantiation_with_a_trap() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let trap_of = |err: Error| match err {
        Error::Trap(t) => t,
        other => panic!("expected Error::Trap, got {other:?}"),
    };
    let err = link_error(
        &mut store,
        r#"(module (memory 1) (data (i32.const 65535) "ab"))"#,
        &Linker::new(),
    )?;
    assert_eq!(trap_of(err).code(), TrapCode::MemoryOutOfBounds);
    let err = link_error(
        &mut store,
        r#"(module (memory 0) (data (i32.const 0) "a"))"#,
        &Linker::new(),
    )?;
    assert_eq!(trap_of(err).code(), TrapCode::MemoryOutOfBounds);
    let err = link_error(
        &mut store,
        r#"(module (memory 1) (data (i32.const -1) ""))"#,
        &Linker::new(),
    )?;
    assert_eq!(trap_of(err).code(), TrapCode::MemoryOutOfBounds);
    let err = link_error(
        &mut store,
        r#"(module (table 1 funcref) (func $f) (elem (i32.const 1) $f))"#,
        &Linker::new(),
    )?;
    assert_eq!(trap_of(err).code(), TrapCode::TableOutOfBounds);
    // Empty segments exactly at the end are fine.
    let ok = Module::compile(
        &engine,
        r#"(module (memory 1) (data (i32.const 65536) ""))"#,
    )?;
    Instance::new(&mut store, &ok, &Linker::new())?;

    // Segments before the failing one stay written in an imported memory; the start function never runs.
    let memory = Memory::new(&mut store, MemoryType::new(1, None))?;
    let mut linker = Linker::new();
    linker.define_memory("env", "mem", memory.clone())?;
    let wat = r#"(module (import "env" "mem" (memory 1))
        (func $s (i32.store8 (i32.const 0) (i32.const 9))) (start $s)
        (data (i32.const 1) "ok") (data (i32.const 65535) "no"))"#;
    let err = link_error(&mut store, wat, &linker)?;
    assert_eq!(trap_of(err).code(), TrapCode::MemoryOutOfBounds);
    let mut bytes = [0u8; 3];
    memory.read(0, &mut bytes)?;
    assert_eq!(&bytes, b"\0ok");
    let mut last = [0u8; 1];
    memory.read(65535, &mut last)?;
    assert_eq!(last, [0]);
    Ok(())
}

#[test]
fn a_64_bit_memory_larger_than_the_address_space_fails_instantiation() -> Result<()> {
    // 2^48 pages of 64 KiB: 2^64 bytes, valid wasm, but no machine has them.
    let module = Module::compile(
        &Engine::default(),
        "(module (memory i64 281474976710656) (func (export \"size\") (result i64) (memory.size)))",
    )?;
    let mut store = Store::new(module.engine());
    let err = Instance::new(&mut store, &module, &Linker::new()).unwrap_err();
    assert!(err.to_string().contains("address space"), "{err}");
    Ok(())
}
