//! The threads proposal: atomic operators on shared and unshared memories, their alignment and bounds
//! traps, `SharedMemory` used by stores on several OS threads, and `memory.atomic.wait/notify`.

mod common;

use anyhow::Result;
use common::trap_of;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use wasmz::{
    BoundsChecks, Config, Engine, Instance, Limits, Linker, MemoryType, Module, RawVal,
    SharedMemory, Store, TrapCode, WaitResult,
};

fn engine() -> Engine {
    engine_with(BoundsChecks::GuardPages)
}

fn engine_with(bounds: BoundsChecks) -> Engine {
    let mut config = Config::default();
    config
        .wasm_threads(true)
        .wasm_memory64(true)
        .bounds_checks(bounds);
    Engine::new(&config).expect("host engine")
}

fn shared_type(min: u64, max: u64) -> MemoryType {
    MemoryType {
        limits: Limits {
            min,
            max: Some(max),
        },
        shared: true,
        ..MemoryType::new(0, None)
    }
}

fn call_i64(inst: &mut Instance, name: &str, args: &[RawVal]) -> Result<i64> {
    let r = inst.call(name, args)?;
    match r.values() {
        Some([v]) => Ok(v.read_as::<i64>()),
        _ => anyhow::bail!("`{name}` did not return one value: {r:?}"),
    }
}

fn call_i32(inst: &mut Instance, name: &str, args: &[RawVal]) -> Result<i32> {
    let r = inst.call(name, args)?;
    match r.values() {
        Some([v]) => Ok(v.read_as::<i32>()),
        _ => anyhow::bail!("`{name}` did not return one value: {r:?}"),
    }
}

/// What a read-modify-write operator stores, from the old bits and the operand.
type RmwEffect = fn(u64, u64) -> u64;

/// The read-modify-write operators, with their effect on the accessed bits.
const RMW_OPS: [(&str, RmwEffect); 6] = [
    ("add", u64::wrapping_add),
    ("sub", u64::wrapping_sub),
    ("and", |a, b| a & b),
    ("or", |a, b| a | b),
    ("xor", |a, b| a ^ b),
    ("xchg", |_, b| b),
];

/// (value type, access bits, operator infix for rmw, load suffix, store suffix) of every width.
const WIDTHS: [(&str, u32, &str, &str, &str); 7] = [
    ("i32", 32, "rmw", "load", "store"),
    ("i32", 8, "rmw8", "load8_u", "store8"),
    ("i32", 16, "rmw16", "load16_u", "store16"),
    ("i64", 64, "rmw", "load", "store"),
    ("i64", 8, "rmw8", "load8_u", "store8"),
    ("i64", 16, "rmw16", "load16_u", "store16"),
    ("i64", 32, "rmw32", "load32_u", "store32"),
];

fn suffix(bits: u32, ty: &str) -> &'static str {
    let full = if ty == "i32" { 32 } else { 64 };
    if bits == full { "" } else { "_u" }
}

/// A module exporting every atomic operator as `<instruction name>`, on a memory of 1 page (shared or
/// not), plus plain `get`/`set` of the i64 at an address.
fn atomics_module(shared: bool) -> String {
    let mut funcs = String::new();
    for (ty, bits, rmw, load, store) in WIDTHS {
        let u = suffix(bits, ty);
        funcs += &format!(
            "(func (export \"{ty}.atomic.{load}\") (param i32) (result {ty}) \
               ({ty}.atomic.{load} (local.get 0)))\n\
             (func (export \"{ty}.atomic.{store}\") (param i32 {ty}) \
               ({ty}.atomic.{store} (local.get 0) (local.get 1)))\n\
             (func (export \"{ty}.atomic.{rmw}.cmpxchg{u}\") (param i32 {ty} {ty}) (result {ty}) \
               ({ty}.atomic.{rmw}.cmpxchg{u} (local.get 0) (local.get 1) (local.get 2)))\n"
        );
        for (op, _) in RMW_OPS {
            funcs += &format!(
                "(func (export \"{ty}.atomic.{rmw}.{op}{u}\") (param i32 {ty}) (result {ty}) \
                   ({ty}.atomic.{rmw}.{op}{u} (local.get 0) (local.get 1)))\n"
            );
        }
    }
    let shared = if shared { "shared" } else { "" };
    format!(
        "(module (memory (export \"mem\") 1 1 {shared})
           (func (export \"get\") (param i32) (result i64) (i64.load (local.get 0)))
           (func (export \"set\") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
           (func (export \"fence\") (atomic.fence))
           (func (export \"load_off1\") (param i32) (result i32)
             (i32.atomic.load offset=1 (local.get 0)))
           (func (export \"load_off4\") (param i32) (result i32)
             (i32.atomic.load offset=4 (local.get 0)))
           {funcs})"
    )
}

fn mask(bits: u32) -> u64 {
    if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

fn arg(ty: &str, v: u64) -> RawVal {
    if ty == "i32" {
        RawVal::from(v as u32 as i32)
    } else {
        RawVal::from(v as i64)
    }
}

fn result_bits(ty: &str, v: i64) -> u64 {
    if ty == "i32" {
        u64::from(v as u32)
    } else {
        v as u64
    }
}

fn call_bits(inst: &mut Instance, ty: &str, name: &str, args: &[RawVal]) -> Result<u64> {
    let bits = if ty == "i32" {
        i64::from(call_i32(inst, name, args)?)
    } else {
        call_i64(inst, name, args)?
    };
    Ok(result_bits(ty, bits))
}

/// Every atomic operator's result and effect, at the start of memory and 8 bytes in.
fn check_every_operator(shared: bool) -> Result<()> {
    let engine = engine();
    let module = Module::compile(&engine, atomics_module(shared))?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
    let initial: u64 = 0x8899_aabb_ccdd_eeff;
    let operand: u64 = 0xf0e1_d2c3_b4a5_9687;
    for addr in [0i32, 8] {
        let reset = |inst: &mut Instance| {
            inst.call("set", &[RawVal::from(addr), RawVal::from(initial as i64)])
                .map(drop)
        };
        let memory = |inst: &mut Instance| call_i64(inst, "get", &[RawVal::from(addr)]);
        for (ty, bits, rmw, load, store) in WIDTHS {
            let m = mask(bits);
            let u = suffix(bits, ty);
            let what = format!("{ty} {bits}-bit at {addr} (shared: {shared})");
            // Loads zero-extend the accessed bytes (little-endian: the low ones).
            reset(&mut inst)?;
            let name = format!("{ty}.atomic.{load}");
            assert_eq!(
                call_bits(&mut inst, ty, &name, &[RawVal::from(addr)])?,
                initial & m,
                "{name}: {what}"
            );
            // Stores replace exactly the accessed bytes.
            let name = format!("{ty}.atomic.{store}");
            inst.call(&name, &[RawVal::from(addr), arg(ty, operand)])?;
            assert_eq!(
                memory(&mut inst)? as u64,
                (initial & !m) | (operand & m),
                "{name}: {what}"
            );
            // Read-modify-write operators return the old bits and store the new ones.
            for (op, f) in RMW_OPS {
                reset(&mut inst)?;
                let name = format!("{ty}.atomic.{rmw}.{op}{u}");
                let old = call_bits(
                    &mut inst,
                    ty,
                    &name,
                    &[RawVal::from(addr), arg(ty, operand)],
                )?;
                assert_eq!(old, initial & m, "{name} result: {what}");
                let new = f(initial & m, operand & m) & m;
                assert_eq!(
                    memory(&mut inst)? as u64,
                    (initial & !m) | new,
                    "{name} effect: {what}"
                );
            }
            // Compare-exchange: a mismatch leaves memory alone; a match (compared at the access
            // width, so high bits of a wider expected value are ignored) stores the replacement.
            let name = format!("{ty}.atomic.{rmw}.cmpxchg{u}");
            reset(&mut inst)?;
            let args = [RawVal::from(addr), arg(ty, !initial), arg(ty, operand)];
            assert_eq!(call_bits(&mut inst, ty, &name, &args)?, initial & m);
            assert_eq!(
                memory(&mut inst)? as u64,
                initial,
                "{name} mismatch: {what}"
            );
            let expected = if bits < 32 {
                (initial & m) | 0xdead_0000_0000_0000 & !m
            } else {
                initial
            };
            let args = [RawVal::from(addr), arg(ty, expected), arg(ty, operand)];
            assert_eq!(call_bits(&mut inst, ty, &name, &args)?, initial & m);
            assert_eq!(
                memory(&mut inst)? as u64,
                (initial & !m) | (operand & m),
                "{name} match: {what}"
            );
        }
    }
    assert!(inst.call("fence", &[])?.values().is_some());
    Ok(())
}

#[test]
fn every_atomic_operator_on_a_shared_memory() -> Result<()> {
    check_every_operator(true)
}

#[test]
fn every_atomic_operator_on_an_unshared_memory() -> Result<()> {
    check_every_operator(false)
}

#[test]
fn unaligned_atomic_accesses_trap() -> Result<()> {
    let engine = engine();
    for shared in [true, false] {
        let module = Module::compile(&engine, atomics_module(shared))?;
        let mut store = Store::new(&engine);
        let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
        let unaligned = [
            ("i32.atomic.load", vec![RawVal::from(2)]),
            ("i64.atomic.load", vec![RawVal::from(4)]),
            ("i32.atomic.load16_u", vec![RawVal::from(1)]),
            ("i64.atomic.load32_u", vec![RawVal::from(6)]),
            ("i32.atomic.store", vec![RawVal::from(1), RawVal::from(0)]),
            (
                "i64.atomic.rmw.add",
                vec![RawVal::from(12), RawVal::from(1i64)],
            ),
            (
                "i32.atomic.rmw16.cmpxchg_u",
                vec![RawVal::from(3), RawVal::from(0), RawVal::from(0)],
            ),
            // The offset counts: 0 + 1 is unaligned.
            ("load_off1", vec![RawVal::from(0)]),
        ];
        for (name, args) in unaligned {
            assert_eq!(
                trap_of(&mut inst, name, &args)?.code(),
                TrapCode::UnalignedAtomicAccess,
                "{name}{args:?} (shared: {shared})"
            );
        }
        // Byte accesses are always aligned; an aligned effective address made of an unaligned index
        // and offset is fine.
        assert_eq!(
            call_i32(&mut inst, "i32.atomic.load8_u", &[RawVal::from(3)])?,
            0
        );
        assert_eq!(call_i32(&mut inst, "load_off1", &[RawVal::from(3)])?, 0);
        assert_eq!(
            TrapCode::UnalignedAtomicAccess.to_string(),
            "unaligned atomic"
        );
    }
    Ok(())
}

#[test]
fn out_of_bounds_atomic_accesses_trap() -> Result<()> {
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let engine = engine_with(bounds);
        for shared in [true, false] {
            let module = Module::compile(&engine, atomics_module(shared))?;
            let mut store = Store::new(&engine);
            let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
            let what = format!("{bounds:?}, shared: {shared}");
            // The last aligned words are in bounds.
            assert_eq!(
                call_i32(&mut inst, "i32.atomic.load", &[RawVal::from(65532)])?,
                0
            );
            let r = inst.call(
                "i64.atomic.rmw.add",
                &[RawVal::from(65528), RawVal::from(5i64)],
            )?;
            assert_eq!(r.values().unwrap()[0].read_as::<i64>(), 0, "{what}");
            let oob = [
                ("i32.atomic.load", vec![RawVal::from(65536)]),
                ("i64.atomic.load", vec![RawVal::from(65536)]),
                ("i32.atomic.load8_u", vec![RawVal::from(65536)]),
                ("i32.atomic.store", vec![RawVal::from(-4), RawVal::from(1)]),
                (
                    "i64.atomic.rmw.xchg",
                    vec![RawVal::from(-8), RawVal::from(1i64)],
                ),
                (
                    "i32.atomic.rmw.cmpxchg",
                    vec![RawVal::from(1 << 20), RawVal::from(0), RawVal::from(1)],
                ),
                // index + offset past the end.
                ("load_off4", vec![RawVal::from(65532)]),
            ];
            for (name, args) in oob {
                assert_eq!(
                    trap_of(&mut inst, name, &args)?.code(),
                    TrapCode::MemoryOutOfBounds,
                    "{name}{args:?} ({what})"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn atomics_on_a_64_bit_shared_memory() -> Result<()> {
    let engine = engine();
    let module = Module::compile(
        &engine,
        r#"(module (memory i64 1 2 shared)
             (func (export "add") (param i64 i64) (result i64)
               (i64.atomic.rmw.add (local.get 0) (local.get 1)))
             (func (export "load") (param i64) (result i32) (i32.atomic.load offset=4 (local.get 0)))
             (func (export "wait") (param i64 i32) (result i32)
               (memory.atomic.wait32 (local.get 0) (local.get 1) (i64.const 0))))"#,
    )?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
    assert_eq!(
        call_i64(&mut inst, "add", &[RawVal::from(8i64), RawVal::from(7i64)])?,
        0
    );
    assert_eq!(
        call_i64(&mut inst, "add", &[RawVal::from(8i64), RawVal::from(1i64)])?,
        7
    );
    assert_eq!(call_i32(&mut inst, "load", &[RawVal::from(4i64)])?, 8);
    assert_eq!(
        call_i32(&mut inst, "wait", &[RawVal::from(8i64), RawVal::from(8)])?,
        2
    );
    for addr in [1i64 << 32, 65536, -8] {
        assert_eq!(
            trap_of(&mut inst, "add", &[RawVal::from(addr), RawVal::from(1i64)])?.code(),
            TrapCode::MemoryOutOfBounds,
            "{addr:#x}"
        );
    }
    assert_eq!(
        trap_of(&mut inst, "add", &[RawVal::from(4i64), RawVal::from(1i64)])?.code(),
        TrapCode::UnalignedAtomicAccess
    );
    Ok(())
}

const COUNTER: &str = r#"(module
  (import "env" "mem" (memory 1 1 shared))
  (func (export "inc") (param $n i32)
    (loop $l
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l)))
  (func (export "get") (result i32) (i32.atomic.load (i32.const 0))))"#;

#[test]
fn four_threads_increment_one_shared_counter() -> Result<()> {
    const THREADS: usize = 4;
    const INCREMENTS: i32 = 100_000;
    let engine = engine();
    let module = Module::compile(&engine, COUNTER)?;
    let memory = SharedMemory::new(&engine, shared_type(1, 1))?;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (module, memory, barrier) = (module.clone(), memory.clone(), barrier.clone());
            std::thread::spawn(move || -> Result<()> {
                let mut store = Store::new(module.engine());
                let mut linker = Linker::new();
                linker.define_shared_memory("env", "mem", memory)?;
                let mut inst = Instance::new(&mut store, &module, &linker)?;
                barrier.wait();
                let r = inst.call("inc", &[RawVal::from(INCREMENTS)])?;
                anyhow::ensure!(r.values().is_some(), "inc trapped: {r:?}");
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread panicked")?;
    }
    let total = THREADS as i32 * INCREMENTS;
    let mut word = [0u8; 4];
    memory.read(0, &mut word)?;
    assert_eq!(i32::from_le_bytes(word), total);
    let mut store = Store::new(&engine);
    let mut linker = Linker::new();
    linker.define_shared_memory("env", "mem", memory.clone())?;
    let mut inst = Instance::new(&mut store, &module, &linker)?;
    assert_eq!(call_i32(&mut inst, "get", &[])?, total);
    Ok(())
}

/// Two players take turns through the counter at address 0: player `me` moves when the counter's low
/// bit equals `me`, waiting (with a 10 s timeout) otherwise. `play` returns how many waits timed out.
const PING_PONG: &str = r#"(module
  (import "env" "mem" (memory 1 1 shared))
  (func (export "play") (param $me i32) (param $rounds i32) (result i32)
    (local $c i32) (local $timeouts i32)
    (loop $round
      (block $ready
        (loop $wait
          (local.set $c (i32.atomic.load (i32.const 0)))
          (br_if $ready (i32.eq (i32.and (local.get $c) (i32.const 1)) (local.get $me)))
          (if (i32.eq (memory.atomic.wait32 (i32.const 0) (local.get $c) (i64.const 10000000000))
                      (i32.const 2))
            (then (local.set $timeouts (i32.add (local.get $timeouts) (i32.const 1)))))
          (br $wait)))
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
      (local.tee $rounds (i32.sub (local.get $rounds) (i32.const 1)))
      (br_if $round))
    (local.get $timeouts)))"#;

#[test]
fn wait_and_notify_ping_pong_between_two_threads() -> Result<()> {
    const ROUNDS: i32 = 2_000;
    let engine = engine();
    let module = Module::compile(&engine, PING_PONG)?;
    let memory = SharedMemory::new(&engine, shared_type(1, 1))?;
    let handles: Vec<_> = (0..2)
        .map(|me: i32| {
            let (module, memory) = (module.clone(), memory.clone());
            std::thread::spawn(move || -> Result<i32> {
                let mut store = Store::new(module.engine());
                let mut linker = Linker::new();
                linker.define_shared_memory("env", "mem", memory)?;
                let mut inst = Instance::new(&mut store, &module, &linker)?;
                call_i32(&mut inst, "play", &[RawVal::from(me), RawVal::from(ROUNDS)])
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("thread panicked")?, 0, "no wait timed out");
    }
    let mut word = [0u8; 4];
    memory.read(0, &mut word)?;
    assert_eq!(i32::from_le_bytes(word), 2 * ROUNDS);
    Ok(())
}

const WAITS: &str = r#"(module
  (memory (export "mem") 1 1 shared)
  (func (export "wait32") (param i32 i32 i64) (result i32)
    (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "wait64") (param i32 i64 i64) (result i32)
    (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "notify") (param i32 i32) (result i32)
    (memory.atomic.notify (local.get 0) (local.get 1))))"#;

#[test]
fn waits_time_out_or_find_another_value() -> Result<()> {
    let engine = engine();
    let module = Module::compile(&engine, WAITS)?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
    let memory = inst.shared_memory("mem").expect("exported shared memory");
    memory.write(16, &7u64.to_le_bytes())?;
    let ms = 1_000_000i64;
    // Not equal: returns 1 at once, whatever the timeout.
    let start = Instant::now();
    let args = [RawVal::from(16), RawVal::from(8), RawVal::from(-1i64)];
    assert_eq!(call_i32(&mut inst, "wait32", &args)?, 1);
    let args = [
        RawVal::from(16),
        RawVal::from(7i64 << 32),
        RawVal::from(-1i64),
    ];
    assert_eq!(call_i32(&mut inst, "wait64", &args)?, 1);
    assert!(start.elapsed() < Duration::from_secs(5));
    // Equal: waits until the timeout (0 returns at once).
    for (name, expected, timeout) in [
        ("wait32", RawVal::from(7), 0),
        ("wait32", RawVal::from(7), 30 * ms),
        ("wait64", RawVal::from(7i64), 30 * ms),
    ] {
        let start = Instant::now();
        let args = [RawVal::from(16), expected, RawVal::from(timeout)];
        assert_eq!(call_i32(&mut inst, name, &args)?, 2, "{name} {timeout}");
        assert!(start.elapsed() >= Duration::from_nanos(timeout as u64));
    }
    // Bounds and alignment are checked first.
    let args = [RawVal::from(65536), RawVal::from(0), RawVal::from(0i64)];
    assert_eq!(
        trap_of(&mut inst, "wait32", &args)?.code(),
        TrapCode::MemoryOutOfBounds
    );
    let args = [RawVal::from(4), RawVal::from(0i64), RawVal::from(0i64)];
    assert_eq!(
        trap_of(&mut inst, "wait64", &args)?.code(),
        TrapCode::UnalignedAtomicAccess
    );
    // From the host too.
    assert_eq!(
        memory.atomic_wait64(16, 7, Some(Duration::from_millis(5)))?,
        WaitResult::TimedOut
    );
    assert_eq!(memory.atomic_wait32(16, 6, None)?, WaitResult::NotEqual);
    assert!(memory.atomic_wait32(18, 0, None).is_err());
    Ok(())
}

#[test]
fn wait_on_an_unshared_memory_traps() -> Result<()> {
    let engine = engine();
    let module = Module::compile(
        &engine,
        r#"(module (memory 1 1)
             (func (export "wait32") (param i32) (result i32)
               (memory.atomic.wait32 (local.get 0) (i32.const 0) (i64.const 0)))
             (func (export "wait64") (result i32)
               (memory.atomic.wait64 (i32.const 0) (i64.const 1) (i64.const -1)))
             (func (export "notify") (result i32)
               (memory.atomic.notify (i32.const 0) (i32.const 5))))"#,
    )?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
    for (name, args) in [("wait32", vec![RawVal::from(0)]), ("wait64", vec![])] {
        let trap = trap_of(&mut inst, name, &args)?;
        assert_eq!(trap.code(), TrapCode::UnsharedMemoryWait, "{name}");
    }
    // Out of bounds is reported before the memory kind.
    assert_eq!(
        trap_of(&mut inst, "wait32", &[RawVal::from(65536)])?.code(),
        TrapCode::MemoryOutOfBounds
    );
    // Nobody can wait there, so notify wakes nobody.
    assert_eq!(call_i32(&mut inst, "notify", &[])?, 0);
    Ok(())
}

#[test]
fn notify_returns_how_many_waiters_it_woke() -> Result<()> {
    const WAITERS: usize = 3;
    let engine = engine();
    let module = Module::compile(&engine, WAITS)?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
    let memory = inst.shared_memory("mem").expect("exported shared memory");
    assert_eq!(
        call_i32(&mut inst, "notify", &[RawVal::from(32), RawVal::from(10)])?,
        0,
        "no waiter yet"
    );
    let importer = r#"(module
      (import "env" "mem" (memory 1 1 shared))
      (func (export "wait") (result i32)
        (memory.atomic.wait32 (i32.const 32) (i32.const 0) (i64.const 20000000000))))"#;
    let importer = Module::compile(&engine, importer)?;
    let handles: Vec<_> = (0..WAITERS)
        .map(|_| {
            let (module, memory) = (importer.clone(), memory.clone());
            std::thread::spawn(move || -> Result<i32> {
                let mut store = Store::new(module.engine());
                let mut linker = Linker::new();
                linker.define_shared_memory("env", "mem", memory)?;
                let mut inst = Instance::new(&mut store, &module, &linker)?;
                call_i32(&mut inst, "wait", &[])
            })
        })
        .collect();
    // Wake two, then the rest; count 0 wakes nobody. Waiters may not all be queued yet, so keep
    // notifying until the counts add up.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut woken = 0;
    while woken < 2 {
        assert_eq!(
            call_i32(&mut inst, "notify", &[RawVal::from(32), RawVal::from(0)])?,
            0
        );
        let n = call_i32(
            &mut inst,
            "notify",
            &[RawVal::from(32), RawVal::from(2 - woken)],
        )?;
        assert!(n <= 2 - woken, "woke {n}, asked for {}", 2 - woken);
        woken += n;
        assert!(Instant::now() < deadline, "waiters never queued");
        std::thread::yield_now();
    }
    let mut rest = 0;
    while rest < 1 {
        // A count beyond the number of waiters (here as an unsigned u32::MAX) wakes all of them.
        rest += memory.atomic_notify(32, u32::MAX)?;
        assert!(Instant::now() < deadline, "third waiter never queued");
        std::thread::yield_now();
    }
    assert_eq!(rest, 1);
    for h in handles {
        assert_eq!(
            h.join().expect("thread panicked")?,
            0,
            "woken, not timed out"
        );
    }
    Ok(())
}

/// `grow` grows the memory one page at a time to its maximum; `touch` reads the last byte of the
/// memory as it sees the size, over and over, until the size reaches `max`, and returns how many
/// distinct sizes it saw.
const GROWTH: &str = r#"(module
  (import "env" "mem" (memory 1 64 shared))
  (func (export "grow") (result i32) (local $n i32)
    (block $done
      (loop $l
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (i32.atomic.store8 (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 1))
                           (memory.size))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $n))
  (func (export "touch") (param $max i32) (result i32) (local $size i32) (local $seen i32)
    (local $last i32)
    (loop $l
      (local.set $size (memory.size))
      (if (i32.ne (local.get $size) (local.get $last))
        (then (local.set $seen (i32.add (local.get $seen) (i32.const 1)))
              (local.set $last (local.get $size))))
      ;; Plain and atomic reads of the last byte of the memory as this thread sees it.
      (drop (i32.load8_u (i32.sub (i32.mul (local.get $size) (i32.const 65536)) (i32.const 1))))
      (drop (i32.atomic.load8_u (i32.sub (i32.mul (local.get $size) (i32.const 65536))
                                         (i32.const 1))))
      (br_if $l (i32.lt_u (local.get $size) (local.get $max))))
    (local.get $seen)))"#;

#[test]
fn a_shared_memory_grows_while_another_thread_reads_it() -> Result<()> {
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let engine = engine_with(bounds);
        let module = Module::compile(&engine, GROWTH)?;
        let memory = SharedMemory::new(&engine, shared_type(1, 64))?;
        let base = memory.data_ptr();
        let barrier = Arc::new(Barrier::new(2));
        let spawn = |name: &'static str, args: Vec<i32>| {
            let (module, memory, barrier) = (module.clone(), memory.clone(), barrier.clone());
            std::thread::spawn(move || -> Result<i32> {
                let mut store = Store::new(module.engine());
                let mut linker = Linker::new();
                linker.define_shared_memory("env", "mem", memory)?;
                let mut inst = Instance::new(&mut store, &module, &linker)?;
                let args: Vec<RawVal> = args.into_iter().map(RawVal::from).collect();
                barrier.wait();
                call_i32(&mut inst, name, &args)
            })
        };
        let reader = spawn("touch", vec![64]);
        let grower = spawn("grow", vec![]);
        assert_eq!(grower.join().expect("grower panicked")?, 63, "{bounds:?}");
        let seen = reader.join().expect("reader panicked")?;
        assert!((1..=64).contains(&seen), "{bounds:?}: saw {seen} sizes");
        assert_eq!(memory.size_pages(), 64);
        assert_eq!(memory.data_ptr(), base, "a shared memory never moves");
        assert!(memory.grow(1).is_err(), "the maximum is 64 pages");
        let mut last = [0u8];
        memory.read(64 * 65536 - 1, &mut last)?;
        assert_eq!(last[0], 64);
    }
    Ok(())
}

#[test]
fn shared_memories_cross_stores_and_threads() -> Result<()> {
    let engine = engine();
    // The host rejects types that cannot be shared.
    assert!(SharedMemory::new(&engine, MemoryType::new(1, Some(2))).is_err());
    let mut no_max = shared_type(1, 2);
    no_max.limits.max = None;
    assert!(SharedMemory::new(&engine, no_max).is_err());
    // A memory a module defines as shared comes out as a SharedMemory that another thread's store
    // imports; both see the same bytes, and growth on one side shows on the other.
    let exporter = Module::compile(
        &engine,
        r#"(module (memory (export "mem") 1 4 shared)
             (func (export "put") (param i32 i32) (i32.atomic.store (local.get 0) (local.get 1))))"#,
    )?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &exporter, &Linker::new())?;
    inst.call("put", &[RawVal::from(100), RawVal::from(1234)])?;
    let memory = inst.shared_memory("mem").expect("shared export");
    assert!(inst.memory("mem").is_some());
    let importer = Module::compile(&engine, COUNTER.replace("1 1 shared", "1 4 shared"))?;
    let other = std::thread::spawn({
        let memory = memory.clone();
        move || -> Result<i32> {
            let mut store = Store::new(importer.engine());
            let mut linker = Linker::new();
            linker.define_shared_memory("env", "mem", memory.clone())?;
            let mut inst = Instance::new(&mut store, &importer, &linker)?;
            inst.call("inc", &[RawVal::from(3)])?;
            memory.grow(1)?;
            let mut word = [0u8; 4];
            memory.read(100, &mut word)?;
            Ok(i32::from_le_bytes(word))
        }
    });
    assert_eq!(other.join().expect("thread panicked")?, 1234);
    assert_eq!(memory.size_pages(), 2);
    let mut word = [0u8; 4];
    memory.read(0, &mut word)?;
    assert_eq!(i32::from_le_bytes(word), 3);
    // An unshared import does not accept a shared memory, and the other way round.
    let unshared = Module::compile(&engine, r#"(module (import "env" "mem" (memory 1 4)))"#)?;
    let mut linker = Linker::new();
    linker.define_shared_memory("env", "mem", memory)?;
    assert!(Instance::new(&mut store, &unshared, &linker).is_err());
    Ok(())
}

#[test]
fn threads_can_be_turned_off() {
    // On by default...
    assert!(Module::compile(&Engine::default(), "(module (memory 1 1 shared))").is_ok());
    // ...and off on request.
    let mut config = Config::default();
    config.wasm_threads(false);
    let engine = Engine::new(&config).expect("host engine");
    assert!(Module::compile(&engine, "(module (memory 1 1 shared))").is_err());
    assert!(
        Module::compile(
            &engine,
            "(module (memory 1) (func (drop (i32.atomic.load (i32.const 0)))))"
        )
        .is_err()
    );
}

#[test]
fn atomics_compile_for_aarch64() -> Result<()> {
    // Sub-word read-modify-write and compare-exchange lower on aarch64 too (precompiled, not run).
    let mut config = Config::default();
    config
        .wasm_threads(true)
        .target("aarch64-unknown-linux-gnu");
    let engine = Engine::new(&config)?;
    for shared in [true, false] {
        let artifact = engine.precompile(atomics_module(shared))?;
        assert!(artifact.len() > 1000, "shared: {shared}");
    }
    let artifact = engine.precompile(WAITS)?;
    assert!(!artifact.is_empty());
    Ok(())
}

#[test]
fn a_shared_memory_without_guard_pages_cannot_serve_guard_page_code() -> Result<()> {
    let explicit = engine_with(BoundsChecks::Explicit);
    let memory = SharedMemory::new(&explicit, shared_type(1, 2))?;
    let importer = r#"(module (import "env" "mem" (memory 1 2 shared))
      (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"#;
    let mut linker = Linker::new();
    linker.define_shared_memory("env", "mem", memory)?;
    // Code of the explicit engine checks every access: fine.
    let module = Module::compile(&explicit, importer)?;
    let mut store = Store::new(&explicit);
    let mut inst = Instance::new(&mut store, &module, &linker)?;
    assert_eq!(
        trap_of(&mut inst, "load", &[RawVal::from(2 * 65536)])?.code(),
        TrapCode::MemoryOutOfBounds
    );
    // Code relying on guard pages would read past the reservation: refused at link time.
    let guarded = engine();
    let module = Module::compile(&guarded, importer)?;
    let mut store = Store::new(&guarded);
    let err = Instance::new(&mut store, &module, &linker).unwrap_err();
    assert!(err.to_string().contains("guard pages"), "{err}");
    Ok(())
}

#[test]
fn shared_memories_are_not_charged_to_a_store_budget() -> Result<()> {
    let mut config = Config::default();
    config.wasm_threads(true).memory_budget(Some(512 * 1024));
    let engine = Engine::new(&config)?;
    // 1 MiB shared memory, twice the budget: it belongs to no store, so it is not charged.
    let module = Module::compile(&engine, "(module (memory (export \"mem\") 16 16 shared))")?;
    let mut store = Store::new(&engine);
    store.link_budget();
    let inst = Instance::new(&mut store, &module, &Linker::new())?;
    assert!(store.memory_budget().used < 512 * 1024);
    assert_eq!(inst.shared_memory("mem").unwrap().data_size(), 16 * 65536);
    // An unshared memory of that size is charged and refused.
    let unshared = Module::compile(&engine, "(module (memory 16 16))")?;
    assert!(Instance::new(&mut store, &unshared, &Linker::new()).is_err());
    Ok(())
}
