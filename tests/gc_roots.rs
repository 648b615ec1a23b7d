//! GC roots in the less travelled places: the element segments of an instance whose instantiation
//! failed after its functions became reachable, and the wasm frames suspended in a builtin that runs
//! user code (the resource limiter during `memory.grow` and `table.grow`, the epoch-deadline
//! callback), which may collect or allocate.

use anyhow::Result;
use std::cell::RefCell;
use std::rc::Rc;
use wasmz::*;

/// Engines compiling eagerly and lazily (whose code records its stack maps apart).
fn engines(epoch_interruption: bool) -> Vec<Engine> {
    [false, true]
        .into_iter()
        .map(|lazy| {
            let mut config = Config::new();
            config
                .lazy_compilation(lazy)
                .epoch_interruption(epoch_interruption);
            Engine::new(&config).expect("engine")
        })
        .collect()
}

/// Exports a table another module fills, a way to call its elements, and an allocator that reuses
/// the heap's free memory.
const HOST_OF_TABLE: &str = r#"(module
  (type $t (struct (field (mut i64))))
  (type $get (func (result i64)))
  (table (export "t") 4 funcref)
  (func (export "call0") (result i64) (call_indirect (type $get) (i32.const 0)))
  (func (export "spray") (param $n i32)
    (loop $l
      (drop (struct.new $t (i64.const 0x4141)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#;

/// Writes its functions into the imported table, then fails: the constant expression of a later
/// segment exhausts the GC heap. Its passive segment `$p`, evaluated before the failure, is still
/// used by `$read`.
const FAILS_AFTER_EXPOSING: &str = r#"(module
  (type $s (struct (field (mut i64))))
  (type $big (array i8))
  (type $arr (array (mut (ref null $s))))
  (import "a" "t" (table 4 funcref))
  (table $own 1 (ref null $s))
  (elem $p (ref null $s) (item (struct.new $s (i64.const 0x1111))))
  (elem (table 0) (i32.const 0) func $read $drop_late $init_late $array_late)
  (elem (ref null $big) (item (array.new_default $big (i32.const 0x7fffffff))))
  (elem $late (ref null $s) (item (struct.new $s (i64.const 0x2222))))
  (func $read (result i64)
    (table.init $own $p (i32.const 0) (i32.const 0) (i32.const 1))
    (struct.get $s 0 (table.get $own (i32.const 0))))
  (func $drop_late (result i64) (elem.drop $late) (i64.const 7))
  (func $init_late (result i64)
    (table.init $own $late (i32.const 0) (i32.const 0) (i32.const 0))
    (table.init $own $late (i32.const 0) (i32.const 0) (i32.const 1))
    (i64.const 8))
  (func $array_late (result i64)
    (i64.extend_i32_u (array.len (array.new_elem $arr $late (i32.const 0) (i32.const 1))))))"#;

/// Instantiates [`FAILS_AFTER_EXPOSING`] against [`HOST_OF_TABLE`]; returns the host instance and the
/// table the failed instance's functions are in.
fn failed_instance(store: &mut Store) -> Result<(Instance, Table)> {
    let engine = store.engine().clone();
    let a = Instance::new(
        store,
        &Module::compile(&engine, HOST_OF_TABLE)?,
        &Linker::new(),
    )?;
    let mut linker = Linker::new();
    linker.define_instance("a", &a)?;
    let b = Module::compile(&engine, FAILS_AFTER_EXPOSING)?;
    let err = Instance::new(store, &b, &linker).expect_err("the big array does not fit");
    assert!(
        err.to_string().contains("GC heap is exhausted"),
        "unexpected error: {err}"
    );
    let table = a.table("t").expect("exported table");
    Ok((a, table))
}

/// Calls the function at `index` of `table` (which returns an i64).
fn call_element(table: &Table, index: u64) -> Result<std::result::Result<i64, Trap>> {
    let Some(Val::FuncRef(Some(f))) = table.get(index) else {
        anyhow::bail!("no function at {index}");
    };
    let mut out = [RawVal::default()];
    Ok(f.call(&[], &mut out)?.map(|()| out[0].read_as::<i64>()))
}

#[test]
fn segments_of_a_failed_instance_whose_functions_escaped_stay_alive() -> Result<()> {
    for engine in engines(false) {
        segments_of_a_failed_instance_stay_alive(&engine)?;
    }
    Ok(())
}

fn segments_of_a_failed_instance_stay_alive(engine: &Engine) -> Result<()> {
    let mut store = Store::new(engine);
    let (a, table) = failed_instance(&mut store)?;
    store.collect_garbage();
    // Fresh objects of the size of `$p`'s struct take any memory the collection freed.
    a.typed_func::<i32, ()>("spray")?.call(1000)?;
    assert_eq!(
        call_element(&table, 0)?.map_err(|t| t.to_string()),
        Ok(0x1111)
    );
    assert_eq!(a.typed_func::<(), i64>("call0")?.call(())?, 0x1111);
    // Still there after another collection.
    store.collect_garbage();
    a.typed_func::<i32, ()>("spray")?.call(1000)?;
    assert_eq!(
        call_element(&table, 0)?.map_err(|t| t.to_string()),
        Ok(0x1111)
    );
    Ok(())
}

#[test]
fn segments_a_failed_instantiation_did_not_reach_behave_as_dropped() -> Result<()> {
    for engine in engines(false) {
        segments_not_reached_behave_as_dropped(&engine)?;
    }
    Ok(())
}

fn segments_not_reached_behave_as_dropped(engine: &Engine) -> Result<()> {
    let mut store = Store::new(engine);
    let (_a, table) = failed_instance(&mut store)?;
    // `elem.drop` of a segment never evaluated: nothing to drop.
    assert_eq!(call_element(&table, 1)?.map_err(|t| t.to_string()), Ok(7));
    // `table.init` and `array.new_elem` find it empty: zero elements copy, one traps.
    let trap = call_element(&table, 2)?.expect_err("table.init of 1 element of an empty segment");
    assert_eq!(trap.code(), TrapCode::TableOutOfBounds);
    let trap = call_element(&table, 3)?.expect_err("array.new_elem of an empty segment");
    assert_eq!(trap.code(), TrapCode::TableOutOfBounds);
    // The store keeps working.
    store.collect_garbage();
    assert_eq!(call_element(&table, 1)?.map_err(|t| t.to_string()), Ok(7));
    Ok(())
}

/// `outer` holds a struct in a local across a builtin that may run user code; `churn` allocates
/// enough garbage to collect (several times) and to reuse the memory of anything collected.
const REENTERED: &str = r#"(module
  (type $s (struct (field (mut i64))))
  (memory 1 100)
  (table $t 1 100 anyref)
  (func (export "outer_memory") (result i64)
    (local $x (ref null $s))
    (local.set $x (struct.new $s (i64.const 0x1234)))
    (drop (memory.grow (i32.const 1)))
    (struct.get $s 0 (local.get $x)))
  (func (export "outer_table") (result i64)
    (local $x (ref null $s))
    (local.set $x (struct.new $s (i64.const 0x1234)))
    ;; The new elements' struct is only an argument of the builtin.
    (drop (table.grow $t (struct.new $s (i64.const 0x5678)) (i32.const 2)))
    (i64.add
      (struct.get $s 0 (local.get $x))
      (struct.get $s 0 (ref.cast (ref $s) (table.get $t (i32.const 2))))))
  (func (export "churn")
    (local $i i32) (local.set $i (i32.const 300000))
    (loop $l
      (drop (struct.new $s (i64.const 0x4141)))
      (br_if $l (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))))"#;

/// Runs `churn` of the instance it is given whenever a memory or table grows.
struct Churn(Rc<RefCell<Option<Instance>>>);

impl Churn {
    fn churn(&self) {
        let instance = self.0.borrow().clone().expect("instance set");
        instance
            .typed_func::<(), ()>("churn")
            .unwrap()
            .call(())
            .unwrap();
    }
}

impl ResourceLimiter for Churn {
    fn memory_growing(&mut self, current: u64, _desired: u64, _maximum: Option<u64>) -> bool {
        if current > 0 {
            self.churn();
        }
        true
    }

    fn table_growing(&mut self, current: u64, _desired: u64, _maximum: Option<u64>) -> bool {
        if current > 0 {
            self.churn();
        }
        true
    }
}

#[test]
fn wasm_run_by_the_limiter_keeps_the_growing_frames_references() -> Result<()> {
    for engine in engines(false) {
        wasm_run_by_the_limiter(&engine)?;
    }
    Ok(())
}

fn wasm_run_by_the_limiter(engine: &Engine) -> Result<()> {
    let module = Module::compile(engine, REENTERED)?;
    let mut store = Store::new(engine);
    let slot = Rc::new(RefCell::new(None));
    store.set_limiter(Churn(slot.clone()));
    let instance = Instance::new(&mut store, &module, &Linker::new())?;
    *slot.borrow_mut() = Some(instance.clone());
    let before = store.gc_stats().collections;
    assert_eq!(
        instance.typed_func::<(), i64>("outer_memory")?.call(())?,
        0x1234
    );
    assert!(store.gc_stats().collections > before);
    let before = store.gc_stats().collections;
    assert_eq!(
        instance.typed_func::<(), i64>("outer_table")?.call(())?,
        0x1234 + 0x5678
    );
    assert!(store.gc_stats().collections > before);
    *slot.borrow_mut() = None;
    Ok(())
}

/// Collects garbage in the store it is given whenever a memory or table grows.
struct Collect(Rc<RefCell<Option<Store>>>);

impl ResourceLimiter for Collect {
    fn memory_growing(&mut self, current: u64, _desired: u64, _maximum: Option<u64>) -> bool {
        if current > 0 {
            self.0.borrow_mut().as_mut().unwrap().collect_garbage();
        }
        true
    }

    fn table_growing(&mut self, current: u64, _desired: u64, _maximum: Option<u64>) -> bool {
        self.memory_growing(current, 0, None)
    }
}

#[test]
fn a_limiter_collecting_keeps_the_growing_frames_references() -> Result<()> {
    for engine in engines(false) {
        a_limiter_collecting(&engine)?;
    }
    Ok(())
}

fn a_limiter_collecting(engine: &Engine) -> Result<()> {
    let module = Module::compile(engine, REENTERED)?;
    let mut store = Store::new(engine);
    let instance = Instance::new(&mut store, &module, &Linker::new())?;
    let spray = instance.typed_func::<(), ()>("churn")?;
    let handle = Rc::new(RefCell::new(None));
    store.set_limiter(Collect(handle.clone()));
    let before = store.gc_stats().collections;
    *handle.borrow_mut() = Some(store);
    let outer_memory = instance.typed_func::<(), i64>("outer_memory")?;
    let outer_table = instance.typed_func::<(), i64>("outer_table")?;
    for _ in 0..3 {
        assert_eq!(outer_memory.call(())?, 0x1234);
        spray.call(())?;
        assert_eq!(outer_table.call(())?, 0x1234 + 0x5678);
        spray.call(())?;
    }
    let store = handle.borrow_mut().take().expect("store");
    assert!(store.gc_stats().collections >= before + 6);
    Ok(())
}

/// `outer` holds a struct in a local while a host function advances the epoch: the check at the
/// loop header then calls the epoch-deadline callback.
const INTERRUPTED: &str = r#"(module
  (type $s (struct (field (mut i64))))
  (import "host" "tick" (func $tick))
  (func (export "outer") (result i64)
    (local $x (ref null $s)) (local $i i32)
    (local.set $x (struct.new $s (i64.const 0x1234)))
    (call $tick)
    (local.set $i (i32.const 10))
    (loop $l (br_if $l (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
    (struct.get $s 0 (local.get $x)))
  (func (export "churn")
    (local $i i32) (local.set $i (i32.const 300000))
    (loop $l
      (drop (struct.new $s (i64.const 0x4141)))
      (br_if $l (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))))"#;

#[test]
fn an_epoch_callback_collecting_keeps_the_interrupted_frames_references() -> Result<()> {
    for engine in engines(true) {
        an_epoch_callback_collecting(&engine)?;
    }
    Ok(())
}

fn an_epoch_callback_collecting(engine: &Engine) -> Result<()> {
    let module = Module::compile(engine, INTERRUPTED)?;
    let ticker = engine.clone();
    let mut linker = Linker::new();
    linker.define(
        "host",
        "tick",
        HostFunc::wrap(move || ticker.increment_epoch()),
    )?;
    let store = Rc::new(RefCell::new(Store::new(engine)));
    let instance = Instance::new(&mut store.borrow_mut(), &module, &linker)?;
    let churn = instance.typed_func::<(), ()>("churn")?;
    // The callback collects, then runs wasm that reuses what was freed (with a deadline that lets it
    // run); it holds the store only weakly, so that the two can be dropped.
    let weak = Rc::downgrade(&store);
    let asked = Rc::new(std::cell::Cell::new(0));
    let count = asked.clone();
    store.borrow_mut().epoch_deadline_callback(move |_| {
        count.set(count.get() + 1);
        let store = weak
            .upgrade()
            .expect("the store is alive while its code runs");
        store.borrow_mut().collect_garbage();
        store.borrow_mut().set_epoch_deadline(1 << 40);
        churn.call(()).unwrap();
        Some(1 << 40)
    });
    let outer = instance.typed_func::<(), i64>("outer")?;
    let before = store.borrow().gc_stats().collections;
    store.borrow_mut().set_epoch_deadline(1);
    assert_eq!(outer.call(())?, 0x1234);
    assert_eq!(asked.get(), 1);
    assert!(store.borrow().gc_stats().collections > before + 1);
    Ok(())
}

#[test]
fn a_limiter_collecting_while_a_table_is_created_keeps_its_initial_value() -> Result<()> {
    /// Runs `churn` of the instance it is given when a table is created.
    struct ChurnOnCreation(Rc<RefCell<Option<Instance>>>);
    impl ResourceLimiter for ChurnOnCreation {
        fn table_growing(&mut self, current: u64, _desired: u64, _maximum: Option<u64>) -> bool {
            if current == 0
                && let Some(instance) = self.0.borrow().clone()
            {
                instance
                    .typed_func::<(), ()>("churn")
                    .unwrap()
                    .call(())
                    .unwrap();
            }
            true
        }
    }
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let slot = Rc::new(RefCell::new(None));
    store.set_limiter(ChurnOnCreation(slot.clone()));
    let churner = Instance::new(
        &mut store,
        &Module::compile(&engine, REENTERED)?,
        &Linker::new(),
    )?;
    *slot.borrow_mut() = Some(churner);
    let module = Module::compile(
        &engine,
        r#"(module
          (type $s (struct (field i64)))
          (table $t 2 (ref null $s) (struct.new $s (i64.const 0x7777)))
          (func (export "read") (result i64) (struct.get $s 0 (table.get $t (i32.const 1)))))"#,
    )?;
    let before = store.gc_stats().collections;
    let instance = Instance::new(&mut store, &module, &Linker::new())?;
    assert!(store.gc_stats().collections > before);
    assert_eq!(instance.typed_func::<(), i64>("read")?.call(())?, 0x7777);
    *slot.borrow_mut() = None;
    Ok(())
}
