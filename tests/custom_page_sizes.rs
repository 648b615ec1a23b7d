//! Memories with 1-byte pages (the custom-page-sizes proposal): sizes, growth and bounds are exact
//! to the byte, even where the system's pages are larger.

mod common;
use common::trap_of;

use anyhow::Result;
use wasmz::*;

const TINY: &str = r#"(module
  (memory (export "mem") 10 100 (pagesize 1))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

fn call_i32(inst: &mut Instance, name: &str, args: &[i32]) -> Result<i32> {
    let args: Vec<RawVal> = args.iter().map(|&v| RawVal::from(v)).collect();
    Ok(inst.call(name, &args)?.into_result()?[0].read_as::<i32>())
}

fn oob(inst: &mut Instance, name: &str, args: &[i32]) -> Result<()> {
    let args: Vec<RawVal> = args.iter().map(|&v| RawVal::from(v)).collect();
    assert_eq!(
        trap_of(inst, name, &args)?.code(),
        TrapCode::MemoryOutOfBounds
    );
    Ok(())
}

#[test]
fn bounds_and_growth_are_exact_to_the_byte() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(&engine, TINY)?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
    assert_eq!(call_i32(&mut inst, "size", &[])?, 10);
    inst.call("store8", &[RawVal::from(9), RawVal::from(7)])?;
    assert_eq!(call_i32(&mut inst, "load8", &[9])?, 7);
    // Byte 10 is inside the system page but outside the memory.
    oob(&mut inst, "load8", &[10])?;
    oob(&mut inst, "load32", &[7])?;
    assert_eq!(call_i32(&mut inst, "load32", &[6])?, 7 << 24);
    // One more page is one more byte.
    assert_eq!(call_i32(&mut inst, "grow", &[1])?, 10);
    assert_eq!(call_i32(&mut inst, "load8", &[10])?, 0);
    oob(&mut inst, "load8", &[11])?;
    // Growth stops at the declared maximum of 100 bytes.
    assert_eq!(call_i32(&mut inst, "grow", &[90])?, -1);
    assert_eq!(call_i32(&mut inst, "grow", &[89])?, 11);
    assert_eq!(call_i32(&mut inst, "load8", &[99])?, 0);
    oob(&mut inst, "load8", &[100])?;
    let memory = inst.memory("mem").expect("exported memory");
    assert_eq!(memory.size_pages(), 100);
    Ok(())
}

#[test]
fn growth_across_64_kib_boundaries_makes_the_new_bytes_usable() -> Result<()> {
    let engine = Engine::default();
    let wat = r#"(module
      (memory 65530 200000 (pagesize 1))
      (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
      (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &Module::compile(&engine, wat)?, &Linker::new())?;
    oob(&mut inst, "load8", &[65530])?;
    assert_eq!(call_i32(&mut inst, "grow", &[10])?, 65530);
    inst.call("store8", &[RawVal::from(65539), RawVal::from(5)])?;
    assert_eq!(call_i32(&mut inst, "load8", &[65539])?, 5);
    oob(&mut inst, "load8", &[65540])?;
    assert_eq!(call_i32(&mut inst, "grow", &[100_000])?, 65540);
    inst.call("store8", &[RawVal::from(165_539), RawVal::from(6)])?;
    assert_eq!(call_i32(&mut inst, "load8", &[165_539])?, 6);
    oob(&mut inst, "load8", &[165_540])?;
    Ok(())
}

#[test]
fn a_64_bit_memory_of_1_byte_pages_without_maximum() -> Result<()> {
    // It may have up to 2^64 pages, one more than a u64 counts.
    let engine = Engine::default();
    let wat = r#"(module
      (memory i64 3 (pagesize 1))
      (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
      (func (export "load8") (param i64) (result i32) (i32.load8_u (local.get 0))))"#;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &Module::compile(&engine, wat)?, &Linker::new())?;
    let grow = |inst: &mut Instance, delta: i64| -> Result<i64> {
        Ok(inst.call("grow", &[RawVal::from(delta)])?.into_result()?[0].read_as::<i64>())
    };
    assert_eq!(grow(&mut inst, 5)?, 3);
    assert_eq!(grow(&mut inst, i64::MAX)?, -1);
    let load = inst.call("load8", &[RawVal::from(7i64)])?.into_result()?;
    assert_eq!(load[0].read_as::<i32>(), 0);
    assert_eq!(
        trap_of(&mut inst, "load8", &[RawVal::from(8i64)])?.code(),
        TrapCode::MemoryOutOfBounds
    );
    Ok(())
}

#[test]
fn page_sizes_must_match_at_link_time() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let exporter = Instance::new(&mut store, &Module::compile(&engine, TINY)?, &Linker::new())?;
    let mut linker = Linker::new();
    linker.define_memory(
        "env",
        "mem",
        exporter.memory("mem").expect("exported memory"),
    )?;
    let same = "(module (import \"env\" \"mem\" (memory 1 (pagesize 1))))";
    Instance::new(&mut store, &Module::compile(&engine, same)?, &linker)?;
    let other = "(module (import \"env\" \"mem\" (memory 0)))";
    let err = Instance::new(&mut store, &Module::compile(&engine, other)?, &linker).unwrap_err();
    assert!(err.to_string().contains("pagesize 1"), "{err}");
    Ok(())
}

#[test]
fn custom_page_sizes_can_be_turned_off() -> Result<()> {
    let mut config = Config::new();
    config.wasm_custom_page_sizes(false);
    let err = Module::compile(&Engine::new(&config)?, TINY).unwrap_err();
    assert!(matches!(err, Error::Wasm(_)), "{err}");
    Ok(())
}

#[test]
fn memory_types_with_other_page_sizes_are_errors() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    for (log2, memory64) in [
        (64, false),
        (64, true),
        (200, true),
        (200, false),
        (255, true),
        (1, false),
        (12, false),
        (15, true),
        (17, false),
        (32, false),
        (63, true),
    ] {
        let ty = MemoryType {
            page_size_log2: log2,
            memory64,
            ..MemoryType::new(1, Some(2))
        };
        // Describing the type is fine, whatever the page size.
        assert!(ty.to_string().contains("pagesize"), "{ty}");
        let _ = (ty.page_size(), ty.max_pages_allowed());
        let err = Memory::new(&mut store, ty).unwrap_err();
        assert!(
            matches!(&err, Error::Resource(m) if m.contains("page size")),
            "2^{log2}: {err}"
        );
        let shared = MemoryType { shared: true, ..ty };
        let err = SharedMemory::new(&engine, shared).unwrap_err();
        assert!(
            matches!(&err, Error::Resource(m) if m.contains("page size")),
            "2^{log2}: {err}"
        );
    }
    for log2 in [0, 16] {
        let ty = MemoryType {
            page_size_log2: log2,
            ..MemoryType::new(1, Some(2))
        };
        assert_eq!(Memory::new(&mut store, ty)?.data_size(), 1 << log2);
    }
    Ok(())
}
