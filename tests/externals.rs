//! Integration tests of exported memories, tables and globals accessed from the host, and of looking
//! up an instance's exports by name and kind.

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

const MEMORY_OPS: &str = r#"(module
  (memory (export "memory") 1 3)
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load8") (param i32) (result i32) (i32.load8_u offset=7 (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "load64") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size)))"#;

/// Runs a fixed script of memory operations and describes each outcome.

#[test]
fn exported_memory_is_readable_writable_and_growable_from_the_host() -> Result<()> {
    let mut inst = instantiate(&Engine::default(), MEMORY_OPS)?;
    let mem = inst.memory("memory").expect("exported memory");
    assert_eq!(mem.ty(), MemoryType::new(1, Some(3)));
    assert_eq!((mem.size_pages(), mem.data_size()), (1, 65536));
    mem.write(100, &0xdead_beefu32.to_le_bytes())?;
    assert_eq!(
        call(&mut inst, "load", &[RawVal::from(100i32)])?[0].read_as::<u32>(),
        0xdead_beef
    );
    call(
        &mut inst,
        "store",
        &[RawVal::from(65532i32), RawVal::from(0x0102_0304i32)],
    )?;
    let mut buf = [0u8; 4];
    mem.read(65532, &mut buf)?;
    assert_eq!(buf, [4, 3, 2, 1]);
    assert!(matches!(
        mem.read(65533, &mut buf),
        Err(Error::OutOfBounds(_))
    ));
    assert!(matches!(mem.write(65536, &[1]), Err(Error::OutOfBounds(_))));
    mem.write(65536, &[])?;

    assert_eq!(mem.grow(1)?, 1);
    assert_eq!((mem.size_pages(), mem.data_size()), (2, 131072));
    assert_eq!(
        call(&mut inst, "size", &[])?[0].read_as::<i32>(),
        2,
        "wasm sees the host's growth"
    );
    mem.write(131068, &[7, 0, 0, 0])?;
    assert_eq!(
        call(&mut inst, "load", &[RawVal::from(131068i32)])?[0].read_as::<i32>(),
        7
    );
    assert_eq!(
        call(&mut inst, "grow", &[RawVal::from(1i32)])?[0].read_as::<i32>(),
        2
    );
    assert_eq!(mem.size_pages(), 3, "the host sees wasm's growth");
    assert!(
        matches!(mem.grow(1), Err(Error::OutOfBounds(_))),
        "the maximum is 3 pages"
    );
    assert_eq!(mem.grow(0)?, 3);
    Ok(())
}

#[test]
fn exported_table_is_accessible_from_the_host() -> Result<()> {
    let mut inst = instantiate(
        &Engine::default(),
        r#"(module
          (type $t (func (result i32)))
          (table (export "tab") 2 4 funcref)
          (func $f (export "f") (result i32) (i32.const 11))
          (func $g (export "g") (result i32) (i32.const 22))
          (elem (i32.const 0) $f)
          (func (export "call_at") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
          (func (export "size") (result i32) (table.size)))"#,
    )?;
    let table = inst.table("tab").expect("exported table");
    assert_eq!(table.ty().element, ValType::FuncRef);
    assert_eq!(table.ty().limits.max, Some(4));
    assert_eq!(table.size(), 2);
    assert!(matches!(table.get(0), Some(Val::FuncRef(Some(_)))));
    assert!(matches!(table.get(1), Some(Val::FuncRef(None))));
    assert!(table.get(2).is_none());

    let g = inst.func("g").expect("exported function");
    assert_eq!(g.ty(), Some(&FuncType::new([], [ValType::I32])));
    table.set(1, Val::FuncRef(Some(g)))?;
    assert_eq!(
        call(&mut inst, "call_at", &[RawVal::from(1i32)])?[0].read_as::<i32>(),
        22
    );
    // An element read from the table can be stored elsewhere and still works.
    let f = table.get(0).expect("in bounds");
    table.set(1, f)?;
    assert_eq!(
        call(&mut inst, "call_at", &[RawVal::from(1i32)])?[0].read_as::<i32>(),
        11
    );

    assert!(matches!(
        table.set(2, Val::FuncRef(None)),
        Err(Error::OutOfBounds(_))
    ));
    assert!(matches!(
        table.set(0, Val::I32(1)),
        Err(Error::ValueType { .. })
    ));
    assert_eq!(table.grow(2, Val::FuncRef(None))?, 2);
    assert_eq!(table.size(), 4);
    assert_eq!(call(&mut inst, "size", &[])?[0].read_as::<i32>(), 4);
    assert!(matches!(table.get(3), Some(Val::FuncRef(None))));
    assert!(matches!(
        table.grow(1, Val::FuncRef(None)),
        Err(Error::OutOfBounds(_))
    ));
    table.set(0, Val::FuncRef(None))?;
    let r = inst.call("call_at", &[RawVal::from(0i32)])?;
    assert_eq!(r.trap().map(Trap::code), Some(TrapCode::IndirectCallToNull));
    Ok(())
}

#[test]
fn exported_globals_are_readable_and_writable_from_the_host() -> Result<()> {
    let mut inst = instantiate(
        &Engine::default(),
        r#"(module
          (global $m (export "m") (mut i64) (i64.const -3))
          (global (export "pi") f64 (f64.const 3.5))
          (global $f (export "f") (mut f32) (f32.const 0))
          (func (export "get_m") (result i64) (global.get $m))
          (func (export "get_f_bits") (result i32) (i32.reinterpret_f32 (global.get $f)))
          (func (export "bump") (global.set $m (i64.add (global.get $m) (i64.const 1)))))"#,
    )?;
    let m = inst.global("m").expect("exported global");
    assert_eq!(
        m.ty(),
        GlobalType {
            content: ValType::I64,
            mutable: true
        }
    );
    assert!(matches!(m.get(), Val::I64(-3)));
    m.set(Val::I64(100))?;
    assert_eq!(call(&mut inst, "get_m", &[])?[0].read_as::<i64>(), 100);
    call(&mut inst, "bump", &[])?;
    assert!(matches!(m.get(), Val::I64(101)));
    assert!(matches!(
        m.set(Val::I32(1)),
        Err(Error::ValueType {
            expected: ValType::I64,
            got: ValType::I32
        })
    ));

    let pi = inst.global("pi").expect("exported global");
    assert!(matches!(pi.get(), Val::F64(bits) if bits == 3.5f64.to_bits()));
    assert!(matches!(
        pi.set(Val::from(1.0f64)),
        Err(Error::ImmutableGlobal)
    ));
    assert!(matches!(pi.get(), Val::F64(bits) if bits == 3.5f64.to_bits()));

    let f = inst.global("f").expect("exported global");
    f.set(Val::F32(0x7fa0_0001))?;
    assert_eq!(
        call(&mut inst, "get_f_bits", &[])?[0].read_as::<u32>(),
        0x7fa0_0001,
        "NaN payload kept"
    );
    Ok(())
}

#[test]
fn instance_lists_and_finds_exports_by_kind() -> Result<()> {
    let inst = instantiate(&Engine::default(), MEMORY_OPS)?;
    let names: Vec<String> = inst.exports().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["memory", "load", "load8", "store", "load64", "grow", "size"]
    );
    assert!(matches!(inst.export("memory"), Some(Extern::Memory(_))));
    assert!(matches!(inst.export("load"), Some(Extern::Func(_))));
    assert!(inst.export("missing").is_none());
    assert!(inst.func("memory").is_none() && inst.memory("load").is_none());
    assert!(inst.global("load").is_none() && inst.table("memory").is_none());
    let load = inst.export("load").expect("export");
    assert_eq!(
        load.ty(),
        ExternType::Func(FuncType::new([ValType::I32], [ValType::I32]))
    );
    assert!(inst.module().exports().any(|(n, _)| n == "grow"));
    Ok(())
}

#[test]
fn one_global_imported_twice_is_one_storage() -> Result<()> {
    // Compiled code may reuse a loaded global's value across stores to other globals; two imports of
    // the same global must still see each other's writes, and linear-memory stores never change a
    // global.
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let global = Global::new(
        &mut store,
        GlobalType {
            content: ValType::I32,
            mutable: true,
        },
        Val::I32(7),
    )?;
    let mut linker = Linker::new();
    linker.define_global("env", "g", global.clone())?;
    let module = Module::compile(
        &engine,
        r#"(module
          (import "env" "g" (global $a (mut i32)))
          (import "env" "g" (global $b (mut i32)))
          (global $own (mut i32) (i32.const 1))
          (memory 1)
          (func (export "twice") (result i32)
            (local $before i32)
            (local.set $before (global.get $b))
            (global.set $a (i32.const 5))
            (i32.store (i32.const 0) (i32.const 9))
            (global.set $own (i32.const 2))
            ;; 7 * 1000 + 5 * 100 + 2 * 10 + 9
            (i32.add
              (i32.add (i32.mul (local.get $before) (i32.const 1000))
                       (i32.mul (global.get $b) (i32.const 100)))
              (i32.add (i32.mul (global.get $own) (i32.const 10))
                       (i32.load (i32.const 0))))))"#,
    )?;
    let mut instance = Instance::new(&mut store, &module, &linker)?;
    assert_eq!(call(&mut instance, "twice", &[])?[0].read_as::<i32>(), 7529);
    assert!(matches!(global.get(), Val::I32(5)));
    Ok(())
}

#[test]
fn host_tables_need_reference_elements_and_consistent_limits() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let ty = |element, min, max| TableType {
        element,
        limits: Limits { min, max },
        table64: false,
    };
    for (element, init) in [
        (ValType::I32, Val::I32(7)),
        (ValType::I64, Val::I64(7)),
        (ValType::F64, Val::F64(0)),
        (ValType::V128, Val::V128(0)),
        (ValType::I32, Val::FuncRef(None)),
    ] {
        let err = Table::new(&mut store, ty(element, 1, None), init).unwrap_err();
        assert!(
            matches!(&err, Error::Resource(m) if m.contains("must be references")),
            "{element}: {err}"
        );
    }
    let err = Table::new(
        &mut store,
        ty(ValType::FuncRef, 5, Some(3)),
        Val::FuncRef(None),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Resource(m) if m.contains("exceeds its maximum")),
        "{err}"
    );
    // A wrong initial value for a valid type is still a type error.
    let err = Table::new(&mut store, ty(ValType::FuncRef, 1, None), Val::I32(0)).unwrap_err();
    assert!(matches!(err, Error::ValueType { .. }), "{err:?}");
    let table = Table::new(
        &mut store,
        ty(ValType::ExternRef, 3, Some(3)),
        Val::ExternRef(None),
    )?;
    assert_eq!(table.size(), 3);
    Ok(())
}
