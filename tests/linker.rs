//! Integration tests of linking: host functions (`HostFunc::new`, `HostFunc::with_context`) and the
//! `HostContext` they receive, host-created globals, memories and tables, and instances importing from
//! other instances (the spec test suite's `register`).

use anyhow::Result;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use wasmz::*;

/// Calls `name` and returns its results, failing the test on a trap.
fn call(instance: &mut Instance, name: &str, args: &[RawVal]) -> Result<Vec<RawVal>> {
    Ok(instance.call(name, args)?.into_result()?)
}

/// Calls `name` and returns its single i32 result.
fn call_i32(instance: &mut Instance, name: &str, args: &[RawVal]) -> Result<i32> {
    Ok(call(instance, name, args)?[0].read_as::<i32>())
}

#[test]
fn host_context_reaches_the_callers_memory_and_the_store_data() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module
          (import "host" "sum" (func $sum (param i32 i32) (result i32)))
          (import "host" "put" (func $put (param i32 i32)))
          (import "host" "fill" (func $fill (param i32)))
          (import "host" "size" (func $size (result i64)))
          (import "host" "count" (func $count (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "\01\02\03\04\05")
          (func (export "sum") (param i32 i32) (result i32) (call $sum (local.get 0) (local.get 1)))
          (func (export "put_then_load") (param i32 i32) (result i32)
            (call $put (local.get 0) (local.get 1)) (i32.load (local.get 0)))
          (func (export "fill_then_load") (param i32) (result i64)
            (call $fill (local.get 0)) (i64.load (local.get 0)))
          (func (export "size") (result i64) (call $size))
          (func (export "grow_then_size") (result i64) (drop (memory.grow (i32.const 2))) (call $size))
          (func (export "count") (result i32) (call $count)))"#,
    )?;
    let mut linker = Linker::new();
    linker
        .define(
            "host",
            "sum",
            HostFunc::new([ValType::I32, ValType::I32], [ValType::I32], |cx, p, r| {
                let mut buf = vec![0u8; p[1].read_as::<u32>() as usize];
                cx.read_memory(u64::from(p[0].read_as::<u32>()), &mut buf)?;
                r[0] = RawVal::from(buf.iter().map(|&b| i32::from(b)).sum::<i32>());
                Ok(())
            }),
        )?
        .define(
            "host",
            "put",
            HostFunc::new([ValType::I32, ValType::I32], [], |cx, p, _| {
                let at = u64::from(p[0].read_as::<u32>());
                cx.write_u32(at, p[1].read_as::<u32>())?;
                assert_eq!(cx.read_u32(at)?, p[1].read_as::<u32>());
                Ok(())
            }),
        )?
        .define(
            "host",
            "fill",
            HostFunc::new([ValType::I32], [], |cx, p, _| {
                cx.write_memory(u64::from(p[0].read_as::<u32>()), &[1, 2, 3, 4, 5, 6, 7, 8])
            }),
        )?
        .define(
            "host",
            "size",
            HostFunc::new([], [ValType::I64], |cx, _, r| {
                r[0] = RawVal::from(cx.memory_size());
                Ok(())
            }),
        )?
        .define(
            "host",
            "count",
            HostFunc::new([], [ValType::I32], |cx, _, r| {
                let mut calls = cx
                    .data::<u32>()
                    .ok_or_else(|| HostError::new("no u32 data in the store"))?;
                *calls += 1;
                r[0] = RawVal::from(*calls);
                Ok(())
            }),
        )?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &linker)?;

    assert_eq!(
        call_i32(&mut inst, "sum", &[RawVal::from(16i32), RawVal::from(5i32)])?,
        15
    );
    assert_eq!(
        call_i32(&mut inst, "sum", &[RawVal::from(17i32), RawVal::from(2i32)])?,
        5
    );
    let r = call_i32(
        &mut inst,
        "put_then_load",
        &[RawVal::from(100i32), RawVal::from(0x0a0b_0c0di32)],
    )?;
    assert_eq!(r, 0x0a0b_0c0d);
    let r = call(&mut inst, "fill_then_load", &[RawVal::from(200i32)])?[0].read_as::<u64>();
    assert_eq!(r, 0x0807_0605_0403_0201);
    let mut bytes = [0u8; 4];
    inst.memory("memory")
        .expect("memory")
        .read(100, &mut bytes)?;
    assert_eq!(u32::from_le_bytes(bytes), 0x0a0b_0c0d);
    assert_eq!(call(&mut inst, "size", &[])?[0].read_as::<u64>(), 65536);
    assert_eq!(
        call(&mut inst, "grow_then_size", &[])?[0].read_as::<u64>(),
        3 * 65536
    );

    // Host accesses past the end trap the guest with the host function's error.
    let r = inst.call("sum", &[RawVal::from(3 * 65536 - 2), RawVal::from(3i32)])?;
    assert_eq!(r.trap().map(Trap::code), Some(TrapCode::MemoryOutOfBounds));
    let r = inst.call(
        "put_then_load",
        &[RawVal::from(3 * 65536 - 3), RawVal::from(1i32)],
    )?;
    assert_eq!(r.trap().map(Trap::code), Some(TrapCode::MemoryOutOfBounds));

    // Store data set after instantiation is visible to host functions, and their changes to the host.
    let r = inst.call("count", &[])?;
    assert_eq!(
        r.trap().and_then(Trap::message),
        Some("no u32 data in the store")
    );
    store.set_data(10u32);
    assert_eq!(call_i32(&mut inst, "count", &[])?, 11);
    assert_eq!(call_i32(&mut inst, "count", &[])?, 12);
    assert_eq!(store.data::<u32>().map(|d| *d), Some(12));
    Ok(())
}

#[test]
fn host_context_without_a_memory_reports_an_error() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module (import "h" "peek" (func $peek (result i64)))
             (func (export "peek") (result i64) (call $peek)))"#,
    )?;
    let mut linker = Linker::new();
    linker.define(
        "h",
        "peek",
        HostFunc::new([], [ValType::I64], |cx, _, r| {
            assert_eq!(cx.memory_size(), 0);
            r[0] = RawVal::from(i64::from(cx.read_u32(0)?));
            Ok(())
        }),
    )?;
    let mut inst = Instance::new(&mut Store::new(&engine), &module, &linker)?;
    let r = inst.call("peek", &[])?;
    let trap = r.trap().expect("reading memory without one fails");
    assert!(
        trap.message().is_some_and(|m| m.contains("no memory")),
        "{trap}"
    );
    Ok(())
}

static CALLS: AtomicU32 = AtomicU32::new(0);

#[test]
fn host_func_with_context_receives_its_context() -> Result<()> {
    fn scale(
        context: usize,
        _: &mut HostContext<'_, '_>,
        p: &[RawVal],
        r: &mut [RawVal],
    ) -> Result<(), HostError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        r[0] = RawVal::from(p[0].read_as::<i64>() * context as i64);
        Ok(())
    }
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module
          (import "m" "times10" (func $a (param i64) (result i64)))
          (import "m" "times3" (func $b (param i64) (result i64)))
          (func (export "both") (param i64) (result i64) (call $b (call $a (local.get 0)))))"#,
    )?;
    let times10 = HostFunc::with_context(10, [ValType::I64], [ValType::I64], scale);
    assert_eq!(times10.ty(), &FuncType::new([ValType::I64], [ValType::I64]));
    let mut linker = Linker::new();
    linker.define("m", "times10", times10)?;
    linker.define(
        "m",
        "times3",
        HostFunc::with_context(3, [ValType::I64], [ValType::I64], scale),
    )?;
    let mut inst = Instance::new(&mut Store::new(&engine), &module, &linker)?;
    let before = CALLS.load(Ordering::SeqCst);
    assert_eq!(
        call(&mut inst, "both", &[RawVal::from(-7i64)])?[0].read_as::<i64>(),
        -210
    );
    assert_eq!(CALLS.load(Ordering::SeqCst) - before, 2);
    Ok(())
}

#[test]
fn one_host_function_serves_several_imports_and_stores() -> Result<()> {
    let engine = Engine::default();
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    let tick = HostFunc::new([], [], move |_, _, _| {
        seen.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    let module = Module::compile(
        &engine,
        r#"(module (import "a" "t" (func $t)) (import "b" "t" (func $u))
             (func (export "run") (call $t) (call $u) (call $t)))"#,
    )?;
    let mut linker = Linker::new();
    linker
        .define("a", "t", tick.clone())?
        .define("b", "t", tick)?;
    for _ in 0..2 {
        let mut inst = Instance::new(&mut Store::new(&engine), &module, &linker)?;
        call(&mut inst, "run", &[])?;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 6);
    Ok(())
}

#[test]
fn host_created_global_memory_and_table_are_shared_with_the_module() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let counter = Global::new(
        &mut store,
        GlobalType {
            content: ValType::I32,
            mutable: true,
        },
        Val::I32(5),
    )?;
    let base = Global::new(
        &mut store,
        GlobalType {
            content: ValType::I64,
            mutable: false,
        },
        Val::I64(1000),
    )?;
    let memory = Memory::new(&mut store, MemoryType::new(1, Some(2)))?;
    let table_ty = TableType {
        element: ValType::FuncRef,
        limits: Limits { min: 3, max: None },
        table64: false,
    };
    let table = Table::new(&mut store, table_ty, Val::FuncRef(None))?;
    memory.write(0, b"hello")?;

    let module = Module::compile(
        &engine,
        r#"(module
          (import "env" "counter" (global $c (mut i32)))
          (import "env" "base" (global $b i64))
          (import "env" "memory" (memory 1))
          (import "env" "table" (table 2 funcref))
          (type $t (func (result i64)))
          (func $seven (result i64) (i64.const 7))
          (elem (i32.const 2) $seven)
          (func (export "bump") (result i32)
            (global.set $c (i32.add (global.get $c) (i32.const 1))) (global.get $c))
          (func (export "base") (result i64) (global.get $b))
          (func (export "byte") (param i32) (result i32) (i32.load8_u (local.get 0)))
          (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
          (func (export "call_at") (param i32) (result i64) (call_indirect (type $t) (local.get 0))))"#,
    )?;
    let mut linker = Linker::new();
    linker
        .define_global("env", "counter", counter.clone())?
        .define_global("env", "base", base)?
        .define_memory("env", "memory", memory.clone())?
        .define_table("env", "table", table.clone())?;
    let mut inst = Instance::new(&mut store, &module, &linker)?;

    assert_eq!(call_i32(&mut inst, "bump", &[])?, 6);
    assert!(matches!(counter.get(), Val::I32(6)));
    counter.set(Val::I32(-1))?;
    assert_eq!(call_i32(&mut inst, "bump", &[])?, 0);
    assert_eq!(call(&mut inst, "base", &[])?[0].read_as::<i64>(), 1000);

    assert_eq!(
        call_i32(&mut inst, "byte", &[RawVal::from(1i32)])?,
        i32::from(b'e')
    );
    call(
        &mut inst,
        "poke",
        &[RawVal::from(0i32), RawVal::from(i32::from(b'j'))],
    )?;
    let mut word = [0u8; 5];
    memory.read(0, &mut word)?;
    assert_eq!(&word, b"jello");
    memory.grow(1)?;
    assert_eq!(
        call_i32(&mut inst, "byte", &[RawVal::from(65536i32 + 5)])?,
        0,
        "growth is visible to wasm"
    );

    assert!(
        matches!(table.get(2), Some(Val::FuncRef(Some(_)))),
        "the element segment wrote the host's table"
    );
    assert_eq!(
        call(&mut inst, "call_at", &[RawVal::from(2i32)])?[0].read_as::<i64>(),
        7
    );
    let r = inst.call("call_at", &[RawVal::from(0i32)])?;
    assert_eq!(r.trap().map(Trap::code), Some(TrapCode::IndirectCallToNull));
    Ok(())
}

const PROVIDER: &str = r#"(module
  (memory (export "mem") 1)
  (global (export "g") (mut i32) (i32.const 100))
  (table (export "tab") 2 funcref)
  (func $double (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (elem (i32.const 0) $double)
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))"#;

const CONSUMER: &str = r#"(module
  (import "provider" "double" (func $double (param i32) (result i32)))
  (import "provider" "mem" (memory 1))
  (import "provider" "g" (global $g (mut i32)))
  (import "provider" "tab" (table 2 funcref))
  (type $t (func (param i32) (result i32)))
  (func (export "run") (param i32) (result i32)
    (i32.store (i32.const 8) (call $double (local.get 0)))
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (call_indirect (type $t) (local.get 0) (i32.const 0))))"#;

#[test]
fn define_instance_links_one_instance_to_another() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let mut provider = Instance::new(
        &mut store,
        &Module::compile(&engine, PROVIDER)?,
        &Linker::new(),
    )?;
    let mut linker = Linker::new();
    linker.define_instance("provider", &provider)?;
    let mut consumer = Instance::new(&mut store, &Module::compile(&engine, CONSUMER)?, &linker)?;

    assert_eq!(call_i32(&mut consumer, "run", &[RawVal::from(21i32)])?, 42);
    assert_eq!(
        call_i32(&mut provider, "peek", &[RawVal::from(8i32)])?,
        42,
        "the memory is shared"
    );
    assert!(
        matches!(provider.global("g").expect("global").get(), Val::I32(101)),
        "the global is shared"
    );

    // Re-registering replaces the definitions instead of failing.
    let other = Instance::new(
        &mut store,
        &Module::compile(&engine, PROVIDER)?,
        &Linker::new(),
    )?;
    linker.define_instance("provider", &other)?;
    let mut consumer2 = Instance::new(&mut store, &Module::compile(&engine, CONSUMER)?, &linker)?;
    call(&mut consumer2, "run", &[RawVal::from(1i32)])?;
    assert!(matches!(
        other.global("g").expect("global").get(),
        Val::I32(101)
    ));
    assert!(matches!(
        provider.global("g").expect("global").get(),
        Val::I32(101)
    ));
    Ok(())
}

#[test]
fn define_func_and_define_extern_take_exports_of_instances() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let provider = Instance::new(
        &mut store,
        &Module::compile(&engine, PROVIDER)?,
        &Linker::new(),
    )?;
    let mut linker = Linker::new();
    linker
        .define_func("provider", "double", provider.func("double").expect("func"))?
        .define_extern("provider", "mem", provider.export("mem").expect("memory"))?
        .define_extern("provider", "g", provider.export("g").expect("global"))?
        .define_extern(
            "provider",
            "tab",
            Extern::Table(provider.table("tab").expect("table")),
        )?;
    let mut consumer = Instance::new(&mut store, &Module::compile(&engine, CONSUMER)?, &linker)?;
    assert_eq!(call_i32(&mut consumer, "run", &[RawVal::from(-4i32)])?, -8);
    let mut word = [0u8; 4];
    provider.memory("mem").expect("memory").read(8, &mut word)?;
    assert_eq!(i32::from_le_bytes(word), -8);

    // A re-exported function called through a chain of three instances.
    let mut linker2 = Linker::new();
    linker2.define_func("x", "f", consumer.func("run").expect("func"))?;
    let relay = Module::compile(
        &engine,
        r#"(module (import "x" "f" (func $f (param i32) (result i32)))
             (func (export "relay") (param i32) (result i32) (i32.add (call $f (local.get 0)) (i32.const 1))))"#,
    )?;
    let mut relay = Instance::new(&mut store, &relay, &linker2)?;
    assert_eq!(call_i32(&mut relay, "relay", &[RawVal::from(5i32)])?, 11);
    Ok(())
}

#[test]
fn duplicate_definitions_are_rejected() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let nop = || HostFunc::new([], [], |_, _, _| Ok(()));
    let mut linker = Linker::new();
    linker.define("env", "f", nop())?;
    let err = linker.define("env", "f", nop()).unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateDefinition { module, name } if module == "env" && name == "f"),
        "{err:?}"
    );
    assert!(err.to_string().contains("env::f"), "{err}");

    let g = Global::new(
        &mut store,
        GlobalType {
            content: ValType::I32,
            mutable: false,
        },
        Val::I32(0),
    )?;
    let err = linker.define_global("env", "f", g.clone()).unwrap_err();
    assert!(matches!(err, Error::DuplicateDefinition { .. }), "{err:?}");
    let mem = Memory::new(&mut store, MemoryType::new(0, None))?;
    assert!(matches!(
        linker.define_memory("env", "f", mem),
        Err(Error::DuplicateDefinition { .. })
    ));
    assert!(matches!(
        linker.define_extern("env", "f", Extern::Global(g.clone())),
        Err(Error::DuplicateDefinition { .. })
    ));

    // The same field name in another module, or another field in the same module, is fine.
    linker.define_global("other", "f", g.clone())?;
    linker.define_global("env", "g", g)?;
    assert!(matches!(
        linker.define("other", "f", nop()),
        Err(Error::DuplicateDefinition { .. })
    ));
    Ok(())
}

#[test]
fn unknown_function_imports_can_be_linked_as_traps() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module
          (import "env" "known" (func $known (result i32)))
          (import "js" "unknown" (func $unknown (param i32) (result externref)))
          (import "js" "memory" (memory 1))
          (func (export "uses_known") (result i32) (call $known))
          (func (export "uses_unknown") (drop (call $unknown (i32.const 1)))))"#,
    )?;
    let mut linker = Linker::new();
    linker.define("env", "known", HostFunc::wrap(|| 7i32))?;
    let mut store = Store::new(&engine);
    assert!(matches!(
        Instance::new(&mut store, &module, &linker),
        Err(Error::UnknownImport { .. })
    ));
    linker.define_unknown_imports_as_traps(&module)?;
    // Memories are not stubbed: the instance still needs a real one.
    assert!(matches!(
        Instance::new(&mut store, &module, &linker),
        Err(Error::UnknownImport { ref module, ref name }) if module == "js" && name == "memory"
    ));
    let memory = Memory::new(&mut store, MemoryType::new(1, None))?;
    linker.define_memory("js", "memory", memory)?;
    let mut instance = Instance::new(&mut store, &module, &linker)?;
    assert_eq!(call_i32(&mut instance, "uses_known", &[])?, 7);
    match instance.call("uses_unknown", &[])? {
        ExecResult::Trap(trap) => assert!(trap.to_string().contains("js::unknown"), "{trap}"),
        other => panic!("expected a trap, got {other:?}"),
    }
    // Imports whose signatures name the module's own types, in an engine that has registered other
    // types first (so the module's type indices differ from their engine-wide ids).
    Module::compile(
        &engine,
        "(module (type (struct (field i64))) (type (array i8)))",
    )?;
    let module = Module::compile(
        &engine,
        r#"(module
          (type $s (struct (field i32)))
          (import "x" "f" (func $f (param (ref null $s)) (result (ref null $s))))
          (func (export "g") (drop (call $f (ref.null $s)))))"#,
    )?;
    let mut linker = Linker::new();
    linker.define_unknown_imports_as_traps(&module)?;
    let mut instance = Instance::new(&mut store, &module, &linker)?;
    match instance.call("g", &[])? {
        ExecResult::Trap(trap) => assert!(trap.to_string().contains("x::f"), "{trap}"),
        other => panic!("expected a trap, got {other:?}"),
    }
    Ok(())
}
