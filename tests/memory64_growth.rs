//! 64-bit memories grow past 4 GiB: as far as their declared maximum, `Config::memory_limit` and the
//! store's memory budget allow, in compiled code (`memory.grow`) and through the API.
//!
//! Memory is committed lazily, so these multi-GiB memories cost only the few pages the tests touch.

use anyhow::Result;
use wasmz::{
    BoundsChecks, Config, Engine, Instance, Limits, Linker, Memory, MemoryType, Module, RawVal,
    SharedMemory, Store, TrapCode,
};

mod common;
use common::trap_of;

const PAGE: u64 = 65536;
const GIB: u64 = 1 << 30;
/// Pages of 6 GiB.
const PAGES_6_GIB: u64 = 6 * GIB / PAGE;

fn memory64_module(engine: &Engine, limits: &str) -> Result<Module> {
    let wat = format!(
        r#"(module
          (memory (export "mem") i64 {limits})
          (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
          (func (export "size") (result i64) (memory.size))
          (func (export "store64") (param i64 i64) (i64.store (local.get 0) (local.get 1)))
          (func (export "load64") (param i64) (result i64) (i64.load (local.get 0)))
          (func (export "load8") (param i64) (result i32) (i32.load8_u (local.get 0))))"#
    );
    Ok(Module::compile(engine, wat)?)
}

fn memory64_type(min: u64, max: Option<u64>) -> MemoryType {
    MemoryType {
        memory64: true,
        ..MemoryType::new(min, max)
    }
}

fn call_i64(inst: &mut Instance, name: &str, args: &[i64]) -> Result<i64> {
    let args: Vec<RawVal> = args.iter().map(|a| RawVal::from(*a)).collect();
    Ok(inst.call(name, &args)?.into_result()?[0].read_as::<i64>())
}

fn grow(inst: &mut Instance, delta: u64) -> Result<i64> {
    call_i64(inst, "grow", &[delta as i64])
}

fn size(inst: &mut Instance) -> Result<u64> {
    Ok(call_i64(inst, "size", &[])? as u64)
}

fn store64(inst: &mut Instance, at: u64, value: i64) -> Result<()> {
    inst.call("store64", &[RawVal::from(at as i64), RawVal::from(value)])?
        .into_result()?;
    Ok(())
}

fn load64(inst: &mut Instance, at: u64) -> Result<i64> {
    call_i64(inst, "load64", &[at as i64])
}

fn assert_out_of_bounds(inst: &mut Instance, name: &str, at: u64) -> Result<()> {
    let trap = trap_of(inst, name, &[RawVal::from(at as i64)])?;
    assert_eq!(
        trap.code(),
        TrapCode::MemoryOutOfBounds,
        "{name} at {at:#x}"
    );
    Ok(())
}

/// Stores and loads back near the end of a memory of `bytes` bytes and in its middle, and checks that
/// the bytes right past the end trap.
fn check_accesses_up_to(inst: &mut Instance, bytes: u64) -> Result<()> {
    store64(inst, bytes - 8, 0x0102_0304_0506_0708)?;
    assert_eq!(load64(inst, bytes - 8)?, 0x0102_0304_0506_0708);
    store64(inst, bytes / 2, -42)?;
    assert_eq!(load64(inst, bytes / 2)?, -42);
    let last = inst.call("load8", &[RawVal::from((bytes - 1) as i64)])?;
    assert_eq!(last.into_result()?[0].read_as::<i32>(), 0x01);
    assert_out_of_bounds(inst, "load8", bytes)?;
    assert_out_of_bounds(inst, "load64", bytes - 7)?;
    assert_out_of_bounds(inst, "load64", bytes)?;
    Ok(())
}

fn engine(bounds_checks: BoundsChecks, memory_limit: Option<u64>) -> Result<Engine> {
    let mut config = Config::new();
    config
        .bounds_checks(bounds_checks)
        .memory_limit(memory_limit);
    Ok(Engine::new(&config)?)
}

#[test]
fn memory_grow_in_compiled_code_reaches_6_gib() -> Result<()> {
    for mode in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let engine = engine(mode, None)?;
        let module = memory64_module(&engine, "1")?;
        let mut store = Store::new(&engine);
        let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
        assert_eq!(grow(&mut inst, PAGES_6_GIB - 1)?, 1, "{mode:?}");
        assert_eq!(size(&mut inst)?, PAGES_6_GIB);
        check_accesses_up_to(&mut inst, 6 * GIB)?;
        // The host sees what the code wrote.
        let memory = inst.memory("mem").unwrap();
        assert_eq!(memory.data_size(), 6 * GIB);
        let mut last = [0u8; 8];
        memory.read(6 * GIB - 8, &mut last)?;
        assert_eq!(i64::from_le_bytes(last), 0x0102_0304_0506_0708);
        // The growth is charged to the store.
        assert!(store.memory_budget().used >= 6 * GIB);
    }
    Ok(())
}

#[test]
fn memory_grow_through_the_api_reaches_6_gib() -> Result<()> {
    let engine = Engine::default();
    let module = memory64_module(&engine, "1")?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
    let memory = inst.memory("mem").unwrap();
    assert_eq!(memory.grow(PAGES_6_GIB - 1)?, 1);
    assert_eq!(memory.size_pages(), PAGES_6_GIB);
    // Compiled code sees the new size at once.
    assert_eq!(size(&mut inst)?, PAGES_6_GIB);
    check_accesses_up_to(&mut inst, 6 * GIB)?;
    memory.write(6 * GIB - 4, &[9, 8, 7, 6])?;
    assert_eq!(load64(&mut inst, 6 * GIB - 8)? as u64 >> 32, 0x0607_0809);
    assert!(memory.write(6 * GIB - 3, &[0; 4]).is_err());

    // A memory the host creates grows the same way.
    let host = Memory::new(&mut store, memory64_type(0, None))?;
    assert_eq!(host.grow(PAGES_6_GIB)?, 0);
    host.write(6 * GIB - 1, &[0xaa])?;
    let mut byte = [0u8];
    host.read(6 * GIB - 1, &mut byte)?;
    assert_eq!(byte, [0xaa]);
    assert!(host.read(6 * GIB, &mut byte).is_err());
    Ok(())
}

#[test]
fn a_declared_maximum_of_8_gib_is_reached_and_not_passed() -> Result<()> {
    let engine = Engine::default();
    let module = memory64_module(&engine, "1 0x2_0000")?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
    assert_eq!(grow(&mut inst, 0xffff)?, 1);
    assert_eq!(grow(&mut inst, 1)?, 0x1_0000, "4 GiB is no limit");
    assert_eq!(grow(&mut inst, 0x1_0000)?, -1, "one page past the maximum");
    assert_eq!(grow(&mut inst, 0xffff)?, 0x1_0001);
    assert_eq!(size(&mut inst)?, 0x2_0000);
    assert_eq!(grow(&mut inst, 1)?, -1);
    assert_eq!(grow(&mut inst, 0)?, 0x2_0000);
    check_accesses_up_to(&mut inst, 8 * GIB)?;
    let memory = inst.memory("mem").unwrap();
    assert!(memory.grow(1).is_err());
    assert_eq!(memory.size_pages(), 0x2_0000);
    Ok(())
}

#[test]
fn memory_limit_bounds_64_bit_memories() -> Result<()> {
    for mode in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let engine = engine(mode, Some(5 * GIB))?;
        let module = memory64_module(&engine, "1")?;
        let mut store = Store::new(&engine);
        let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
        assert_eq!(
            grow(&mut inst, 5 * GIB / PAGE)?,
            -1,
            "one page past the limit"
        );
        assert_eq!(grow(&mut inst, 5 * GIB / PAGE - 1)?, 1);
        assert_eq!(grow(&mut inst, 1)?, -1);
        assert_eq!(size(&mut inst)?, 5 * GIB / PAGE);
        check_accesses_up_to(&mut inst, 5 * GIB)?;
        assert!(inst.memory("mem").unwrap().grow(1).is_err());
        // A declared maximum above the limit is clamped to it.
        let module = memory64_module(&engine, "0 0x2_0000")?;
        let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
        assert_eq!(grow(&mut inst, 5 * GIB / PAGE + 1)?, -1);
        assert_eq!(grow(&mut inst, 5 * GIB / PAGE)?, 0);
    }
    Ok(())
}

#[test]
fn the_store_budget_bounds_64_bit_memories() -> Result<()> {
    let engine = Engine::default();
    let module = memory64_module(&engine, "1")?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
    let used = store.memory_budget().used;
    store.set_memory_budget(Some(used + 5 * GIB));
    assert_eq!(grow(&mut inst, 5 * GIB / PAGE + 1)?, -1);
    assert_eq!(grow(&mut inst, 5 * GIB / PAGE)?, 1);
    assert_eq!(grow(&mut inst, 1)?, -1);
    assert_eq!(store.memory_budget().used, used + 5 * GIB);
    check_accesses_up_to(&mut inst, 5 * GIB + PAGE)?;
    Ok(())
}

#[test]
fn a_shared_64_bit_memory_grows_to_its_maximum_past_4_gib() -> Result<()> {
    let ty = MemoryType {
        limits: Limits {
            min: 1,
            max: Some(0x2_0000),
        },
        memory64: true,
        shared: true,
        page_size_log2: 16,
    };
    for mode in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let engine = engine(mode, None)?;
        let memory = SharedMemory::new(&engine, ty)?;
        let base = memory.data_ptr();
        assert_eq!(memory.grow(0x1_0000)?, 1);
        assert!(memory.grow(0x1_0000).is_err());
        assert_eq!(memory.grow(0xffff)?, 0x1_0001);
        assert_eq!(memory.size_pages(), 0x2_0000);
        assert_eq!(memory.data_ptr(), base, "a shared memory never moves");
        let module = Module::compile(
            &engine,
            r#"(module
              (import "env" "mem" (memory i64 1 0x2_0000 shared))
              (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
              (func (export "size") (result i64) (memory.size))
              (func (export "store64") (param i64 i64) (i64.store (local.get 0) (local.get 1)))
              (func (export "load64") (param i64) (result i64) (i64.load (local.get 0)))
              (func (export "atomic_load64") (param i64) (result i64) (i64.atomic.load (local.get 0)))
              (func (export "load8") (param i64) (result i32) (i32.load8_u (local.get 0))))"#,
        )?;
        let mut store = Store::new(&engine);
        let mut linker = Linker::new();
        linker.define_shared_memory("env", "mem", memory.clone())?;
        let mut inst = Instance::new(&mut store, &module, &linker)?;
        assert_eq!(size(&mut inst)?, 0x2_0000);
        assert_eq!(grow(&mut inst, 1)?, -1);
        check_accesses_up_to(&mut inst, 8 * GIB)?;
        // Atomic accesses are bounds-checked against the same length.
        assert_eq!(
            call_i64(&mut inst, "atomic_load64", &[(8 * GIB - 8) as i64])?,
            0x0102_0304_0506_0708
        );
        assert_out_of_bounds(&mut inst, "atomic_load64", 8 * GIB)?;
    }
    Ok(())
}

/// Set in the child process of [`under_a_limited_address_space`].
const LIMITED_CHILD: &str = "WASMZ_TEST_LIMITED_ADDRESS_SPACE";

#[test]
fn under_a_limited_address_space() -> Result<()> {
    if std::env::var_os(LIMITED_CHILD).is_none() {
        // The limit applies to the whole process: run this test alone in a child whose address space
        // is limited to 32 GiB (`ulimit -v` counts KiB).
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(r#"ulimit -v 33554432 && exec "$0" "$@""#)
            .arg(std::env::current_exe()?)
            .args(["--exact", "under_a_limited_address_space", "--nocapture"])
            .env(LIMITED_CHILD, "1")
            .output()?;
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
        return Ok(());
    }
    let engine = Engine::default();
    // A shared memory must reserve its maximum (capped at 64 GiB) and never moves: it is refused.
    let shared = |max| MemoryType {
        shared: true,
        ..memory64_type(1, Some(max))
    };
    let err = SharedMemory::new(&engine, shared(0x60_0000)).unwrap_err();
    assert!(err.to_string().contains("shared memory reserves"), "{err}");
    // One whose maximum fits is created.
    let memory = SharedMemory::new(&engine, shared(0x2_0000))?;
    assert_eq!(memory.grow(0x1_ffff)?, 1);
    drop(memory);
    // An unshared memory takes the largest reservation the system grants: less than 32 GiB.
    let module = memory64_module(&engine, "1")?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
    assert_eq!(grow(&mut inst, 32 * GIB / PAGE)?, -1);
    assert_eq!(grow(&mut inst, PAGES_6_GIB - 1)?, 1);
    check_accesses_up_to(&mut inst, 6 * GIB)?;
    Ok(())
}
