//! What a long-running embedder does over and over (create a store, instantiate, call, trap, have a
//! host function fail or panic, drop it all) leaves no memory behind: the test counts the bytes the
//! process has allocated and not freed, with a global allocator of its own, before and after
//! thousands of rounds.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use wasmz::*;

/// The system allocator, counting the bytes allocated and not yet freed.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded from the caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const WAT: &str = r#"(module
  (import "env" "host" (func $host (param i32) (result i32)))
  (memory 2)
  (table 4 funcref)
  (global $g (mut i32) (i32.const 0))
  (data (i32.const 100) "hello")
  (elem (i32.const 0) $f $oob)
  (func $f (export "f") (param i32) (result i32)
    (global.set $g (i32.add (global.get $g) (local.get 0)))
    (i32.add (call $host (local.get 0)) (i32.load (i32.const 100))))
  (func $oob (export "oob") (param i32) (result i32) (i32.load (i32.const 0x7fffffff)))
  (func (export "indirect") (param i32) (result i32)
    (call_indirect (param i32) (result i32) (local.get 0) (local.get 0))))"#;

/// Rounds measured.
const ROUNDS: i32 = 5_000;

/// One round: a store and an instance, a call that returns, one that traps out of bounds, one whose
/// host function panics, one whose host function returns an error, a `call_indirect` that returns
/// and one of an empty table slot.
fn round(engine: &Engine, module: &Module, linker: &Linker, i: i32) {
    let mut store = Store::new(engine);
    let mut instance = Instance::new(&mut store, module, linker).expect("instantiate");
    let outcome = |instance: &mut Instance, name: &str, arg: i32| {
        instance
            .call(name, &[RawVal::from(arg)])
            .expect("a call")
            .is_ok()
    };
    assert!(outcome(&mut instance, "f", i % 5));
    assert!(!outcome(&mut instance, "oob", 0));
    assert!(!outcome(&mut instance, "f", 7));
    assert!(!outcome(&mut instance, "f", 8));
    assert!(outcome(&mut instance, "indirect", 0));
    assert!(!outcome(&mut instance, "indirect", 3));
}

#[test]
fn repeated_instances_calls_traps_and_host_panics_leave_no_memory_behind() -> Result<(), Error> {
    // A panicking host function is still a bug of the embedder's: keep its report quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let mut linker = Linker::new();
    linker.define(
        "env",
        "host",
        HostFunc::wrap(|x: i32| -> Result<i32, HostError> {
            match x {
                7 => panic!("host function panicked on {x}"),
                8 => Err(HostError::new(format!("host function failed on {x}"))),
                _ => Ok(x * 2),
            }
        }),
    )?;
    let mut grown = Vec::new();
    for lazy in [false, true] {
        let engine = Engine::new(Config::new().lazy_compilation(lazy))?;
        let module = Module::compile(&engine, WAT)?;
        // Warm-up: caches, pools and thread-locals reach their size.
        for i in 0..200 {
            round(&engine, &module, &linker, i);
        }
        let before = LIVE.load(Ordering::Relaxed);
        for i in 0..ROUNDS {
            round(&engine, &module, &linker, i);
        }
        grown.push((lazy, LIVE.load(Ordering::Relaxed) - before));
    }
    let _ = std::panic::take_hook();
    for (lazy, grown) in grown {
        // A leak of one small allocation per round would be tens of KiB.
        assert!(
            grown < 8 * 1024,
            "lazy={lazy}: {grown} bytes more allocated after {ROUNDS} rounds"
        );
    }
    Ok(())
}
