//! Limits as callbacks: a store's `ResourceLimiter` decides on memory and table creation and growth,
//! and an epoch-deadline callback may extend a deadline instead of interrupting.

use anyhow::Result;
use std::cell::RefCell;
use std::rc::Rc;
use wasmz::*;

const PAGE: u64 = 65536;

/// The requests a limiter saw: (kind, current, desired, maximum).
type Log = Rc<RefCell<Vec<(&'static str, u64, u64, Option<u64>)>>>;

/// Allows memories up to `max_bytes` and tables up to `max_elements`, logging every request.
struct Recorder {
    max_bytes: u64,
    max_elements: u64,
    log: Log,
}

impl ResourceLimiter for Recorder {
    fn memory_growing(&mut self, current: u64, desired: u64, maximum: Option<u64>) -> bool {
        self.log
            .borrow_mut()
            .push(("memory", current, desired, maximum));
        desired <= self.max_bytes
    }

    fn table_growing(&mut self, current: u64, desired: u64, maximum: Option<u64>) -> bool {
        self.log
            .borrow_mut()
            .push(("table", current, desired, maximum));
        desired <= self.max_elements
    }
}

const GROWER: &str = r#"(module
  (memory (export "memory") 1 100)
  (table (export "table") 2 funcref)
  (func (export "grow_memory") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "grow_table") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))"#;

#[test]
fn the_limiter_decides_creation_and_growth() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(&engine, GROWER)?;
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut store = Store::new(&engine);
    store.set_limiter(Recorder {
        max_bytes: 4 * PAGE,
        max_elements: 5,
        log: log.clone(),
    });
    let instance = Instance::new(&mut store, &module, &Linker::new())?;
    assert_eq!(
        log.borrow()[..],
        [("memory", 0, PAGE, Some(100 * PAGE)), ("table", 0, 2, None)]
    );
    let grow_memory = instance.typed_func::<i32, i32>("grow_memory")?;
    assert_eq!(grow_memory.call(2)?, 1);
    assert_eq!(grow_memory.call(2)?, -1, "5 pages are over the limiter's 4");
    assert_eq!(grow_memory.call(1)?, 3);
    // The API asks too.
    let memory = instance.memory("memory").expect("exported");
    assert!(memory.grow(1).is_err());
    let grow_table = instance.typed_func::<i32, i32>("grow_table")?;
    assert_eq!(grow_table.call(3)?, 2);
    assert_eq!(grow_table.call(1)?, -1);
    assert_eq!(
        log.borrow()[2..],
        [
            ("memory", PAGE, 3 * PAGE, Some(100 * PAGE)),
            ("memory", 3 * PAGE, 5 * PAGE, Some(100 * PAGE)),
            ("memory", 3 * PAGE, 4 * PAGE, Some(100 * PAGE)),
            ("memory", 4 * PAGE, 5 * PAGE, Some(100 * PAGE)),
            ("table", 2, 5, None),
            ("table", 5, 6, None),
        ]
    );
    Ok(())
}

#[test]
fn a_refused_memory_fails_instantiation() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(&engine, GROWER)?;
    let mut store = Store::new(&engine);
    store.set_limiter(Recorder {
        max_bytes: 0,
        max_elements: 100,
        log: Rc::default(),
    });
    let err = Instance::new(&mut store, &module, &Linker::new()).unwrap_err();
    assert!(
        matches!(&err, Error::Resource(m) if m.contains("limiter")),
        "{err}"
    );
    Ok(())
}

/// The limiter decides before the memory is made: a memory the engine could not create anyway (its
/// initial size is over the configured limit) is still put to the limiter, whose refusal is the error.
#[test]
fn the_limiter_is_asked_before_a_memory_is_made() -> Result<()> {
    let mut config = Config::new();
    config.memory_limit(Some(8 * PAGE));
    let engine = Engine::new(&config)?;
    let module = Module::compile(&engine, r#"(module (memory 16 32))"#)?;
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut store = Store::new(&engine);
    store.set_limiter(Recorder {
        max_bytes: 4 * PAGE,
        max_elements: 100,
        log: log.clone(),
    });
    let err = Instance::new(&mut store, &module, &Linker::new()).unwrap_err();
    assert_eq!(
        log.borrow()[..],
        [("memory", 0, 16 * PAGE, Some(32 * PAGE))]
    );
    assert!(
        matches!(&err, Error::Resource(m) if m.contains("limiter")),
        "{err}"
    );
    // The same through the API.
    let err = Memory::new(&mut store, MemoryType::new(16, Some(32))).unwrap_err();
    assert!(
        matches!(&err, Error::Resource(m) if m.contains("limiter")),
        "{err}"
    );
    assert_eq!(log.borrow().len(), 2);
    Ok(())
}

#[test]
fn a_refused_table_fails_instantiation() -> Result<()> {
    let engine = Engine::default();
    let log = Log::default();
    let mut store = Store::new(&engine);
    store.set_limiter(Recorder {
        max_bytes: u64::MAX,
        max_elements: 100,
        log: log.clone(),
    });
    let module = Module::compile(&engine, "(module (table 1000 2000 funcref))")?;
    let err = Instance::new(&mut store, &module, &Linker::new()).unwrap_err();
    assert!(
        matches!(&err, Error::Resource(m) if m.contains("limiter") && m.contains("1000 elements")),
        "{err}"
    );
    assert_eq!(log.borrow()[..], [("table", 0, 1000, Some(2000))]);
    // A table past the element limit is refused before the limiter is asked.
    let huge = Module::compile(&engine, "(module (table 0xffffffff 0xffffffff funcref))")?;
    let err = Instance::new(&mut store, &huge, &Linker::new()).unwrap_err();
    assert!(
        matches!(&err, Error::Resource(m) if m.contains("limit of 10000000 elements")),
        "{err}"
    );
    assert_eq!(log.borrow().len(), 1);
    Ok(())
}

struct Panics;

impl ResourceLimiter for Panics {
    fn memory_growing(&mut self, current: u64, _: u64, _: Option<u64>) -> bool {
        if current > 0 {
            panic!("limiter failure");
        }
        true
    }
}

#[test]
fn a_panicking_limiter_refuses() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(&engine, GROWER)?;
    let mut store = Store::new(&engine);
    store.set_limiter(Panics);
    let instance = Instance::new(&mut store, &module, &Linker::new())?;
    assert_eq!(instance.typed_func::<i32, i32>("grow_memory")?.call(1)?, -1);
    Ok(())
}

const SPIN: &str = r#"(module
  (import "host" "tick" (func $tick))
  (func (export "spin") (param $n i32) (result i32) (local $i i32)
    (loop $l
      (call $tick)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $i)))"#;

#[test]
fn the_epoch_callback_extends_or_interrupts() -> Result<()> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let module = Module::compile(&engine, SPIN)?;
    let ticker = engine.clone();
    let mut linker = Linker::new();
    linker.define(
        "host",
        "tick",
        HostFunc::wrap(move || ticker.increment_epoch()),
    )?;
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &linker)?;
    let spin = instance.typed_func::<i32, i32>("spin")?;
    // Without a callback the deadline interrupts.
    store.set_epoch_deadline(3);
    assert_eq!(spin.call(10).unwrap_err().code(), TrapCode::Interrupted);
    // Extended twice by 3 ticks, then interrupted.
    let asked = Rc::new(RefCell::new(0));
    let counter = asked.clone();
    store.epoch_deadline_callback(move |_epoch| {
        *counter.borrow_mut() += 1;
        (*counter.borrow() <= 2).then_some(3)
    });
    store.set_epoch_deadline(3);
    assert_eq!(spin.call(100).unwrap_err().code(), TrapCode::Interrupted);
    assert_eq!(*asked.borrow(), 3);
    // Always extended: the loop finishes.
    store.epoch_deadline_callback(|_| Some(1));
    store.set_epoch_deadline(1);
    assert_eq!(spin.call(50)?, 50);
    // A panicking callback interrupts.
    store.epoch_deadline_callback(|_| panic!("callback failure"));
    store.set_epoch_deadline(1);
    assert_eq!(spin.call(50).unwrap_err().code(), TrapCode::Interrupted);
    Ok(())
}

/// A loop that keeps integer, float and vector values in registers across its header, where the
/// epoch check runs: the result must not depend on how often the deadline callback runs there.
const REGISTERS: &str = r#"(module
  (func (export "mix") (param $n i32) (result i64)
    (local $i i32) (local $a i64) (local $b i64) (local $c i64) (local $d i64)
    (local $x f64) (local $y f64) (local $v v128) (local $w v128)
    (local.set $a (i64.const 1)) (local.set $b (i64.const 3)) (local.set $c (i64.const 5))
    (local.set $d (i64.const 7)) (local.set $x (f64.const 1.5)) (local.set $y (f64.const 0.25))
    (local.set $v (i64x2.splat (i64.const 11))) (local.set $w (i32x4.splat (i32.const 13)))
    (loop $l
      (local.set $a (i64.add (i64.mul (local.get $a) (i64.const 6364136223846793005)) (local.get $b)))
      (local.set $b (i64.xor (local.get $b) (i64.rotl (local.get $a) (i64.const 13))))
      (local.set $c (i64.add (local.get $c) (local.get $d)))
      (local.set $d (i64.sub (local.get $d) (local.get $a)))
      (local.set $x (f64.add (f64.mul (local.get $x) (f64.const 1.0000001)) (local.get $y)))
      (local.set $y (f64.sub (local.get $y) (f64.const 0.000001)))
      (local.set $v (i64x2.add (local.get $v) (i64x2.splat (local.get $a))))
      (local.set $w (i32x4.mul (local.get $w) (i32x4.splat (i32.const 3))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i64.add
      (i64.add (i64.xor (local.get $a) (local.get $b)) (i64.add (local.get $c) (local.get $d)))
      (i64.add
        (i64.reinterpret_f64 (f64.add (local.get $x) (local.get $y)))
        (i64.add (i64x2.extract_lane 1 (local.get $v))
                 (i64.extend_i32_u (i32x4.extract_lane 2 (local.get $w))))))))"#;

#[test]
fn the_deadline_callback_preserves_every_register_of_the_loop() -> Result<()> {
    const N: i32 = 3_000_000;
    let plain = Engine::default();
    let module = Module::compile(&plain, REGISTERS)?;
    let mut store = Store::new(&plain);
    let instance = Instance::new(&mut store, &module, &Linker::new())?;
    let expected = instance.typed_func::<i32, i64>("mix")?.call(N)?;

    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let module = Module::compile(&engine, REGISTERS)?;
    let mut store = Store::new(&engine);
    let calls = Rc::new(RefCell::new(0u64));
    let counter = calls.clone();
    store.epoch_deadline_callback(move |_| {
        *counter.borrow_mut() += 1;
        Some(1)
    });
    store.set_epoch_deadline(1);
    let instance = Instance::new(&mut store, &module, &Linker::new())?;
    let mix = instance.typed_func::<i32, i64>("mix")?;
    // Another thread advances the epoch all the time, so the callback runs at many loop headers.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticker = {
        let (engine, stop) = (engine.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                engine.increment_epoch();
                std::thread::yield_now();
            }
        })
    };
    // The ticker may get little processor time on a busy machine: allow many runs, stopping at 100
    // callbacks (each run takes a few milliseconds).
    let mut runs = 0;
    while *calls.borrow() < 100 && runs < 1000 {
        assert_eq!(mix.call(N)?, expected);
        runs += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    ticker.join().expect("ticker");
    assert!(
        *calls.borrow() >= 100,
        "the callback ran {} times",
        calls.borrow()
    );
    Ok(())
}
