//! One `Module` shared by 8 threads at once, each with its own `Store` and `Instance`.

use anyhow::Result;
use std::sync::{Arc, Barrier};
use wasmz::{Engine, Instance, Linker, Module, RawVal, Store};

const WAT: &str = r#"(module
  (memory (export "mem") 1)
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  ;; Stores `seed * i` at word i for i < 1000, then returns the sum of the words.
  (func (export "fill_sum") (param $seed i32) (result i32) (local $i i32) (local $sum i32)
    (loop $l
      (i32.store (i32.shl (local.get $i) (i32.const 2)) (i32.mul (local.get $seed) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
    (local.set $i (i32.const 0))
    (loop $s
      (local.set $sum (i32.add (local.get $sum) (i32.load (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $s (i32.lt_u (local.get $i) (i32.const 1000))))
    (local.get $sum))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1))))"#;

#[test]
fn eight_threads_run_one_module_concurrently() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(&engine, WAT)?;
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|t: i32| {
            let (module, barrier) = (module.clone(), barrier.clone());
            std::thread::spawn(move || -> Result<()> {
                let mut store = Store::new(module.engine());
                let mut instance = Instance::new(&mut store, &module, &Linker::new())?;
                barrier.wait();
                for round in 0..50 {
                    let seed = t * 100 + round;
                    let r = instance.call("fill_sum", &[RawVal::from(seed)])?;
                    let expected = (0..1000)
                        .map(|i| seed.wrapping_mul(i))
                        .fold(0i32, i32::wrapping_add);
                    assert_eq!(
                        r.values().unwrap()[0].read_as::<i32>(),
                        expected,
                        "thread {t} round {round}"
                    );
                    let r = instance.call("fib", &[RawVal::from(15 + t % 3)])?;
                    assert_eq!(
                        r.values().unwrap()[0].read_as::<i32>(),
                        [610, 987, 1597][(t % 3) as usize]
                    );
                    let trap = instance.call("div", &[RawVal::from(1), RawVal::from(0)])?;
                    assert_eq!(
                        trap.trap().unwrap().code(),
                        wasmz::TrapCode::IntegerDivisionByZero
                    );
                }
                // Each thread's memory holds its own last round.
                let mut word = [0u8; 4];
                instance.memory("mem").unwrap().read(4, &mut word)?;
                assert_eq!(i32::from_le_bytes(word), t * 100 + 49);
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread did not panic")?;
    }
    Ok(())
}
