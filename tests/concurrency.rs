//! Integration tests of traps on several threads: each thread has its own store, the module is shared,
//! and a trap on one thread must not disturb the others or the process.

use anyhow::Result;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wasmz::*;

const TRAPPING: &str = r#"(module
  (memory 1)
  (func $div (export "div") (param i32) (result i32) (i32.div_u (i32.const 100) (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "unreachable") unreachable)
  (func $rec (export "rec") (param i32) (result i32) (call $rec (i32.add (local.get 0) (i32.const 1)))))"#;

/// Runs every trap of [`TRAPPING`] and a normal call `rounds` times in a fresh store, checking each
/// outcome.
fn trap_rounds(module: &Module, rounds: usize) -> Result<()> {
    let mut inst = Instance::new(&mut Store::new(module.engine()), module, &Linker::new())?;
    let arg = |x: i32| [RawVal::from(x)];
    for i in 0..rounds {
        let cases: [(&str, &[RawVal], TrapCode); 4] = [
            ("div", &arg(0), TrapCode::IntegerDivisionByZero),
            ("load", &arg(65536), TrapCode::MemoryOutOfBounds),
            ("unreachable", &[], TrapCode::UnreachableCodeReached),
            ("rec", &arg(0), TrapCode::StackOverflow),
        ];
        for (name, args, code) in cases {
            let r = inst.call(name, args)?;
            assert_eq!(r.trap().map(Trap::code), Some(code), "round {i}: {name}");
        }
        let r = inst.call("div", &arg(7))?.into_result()?;
        assert_eq!(r[0].read_as::<i32>(), 14);
    }
    Ok(())
}

#[test]
fn traps_on_four_threads_sharing_a_module() -> Result<()> {
    let module = Module::compile(&Engine::default(), TRAPPING)?;
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| trap_rounds(&module, 200)))
            .collect();
        threads
            .into_iter()
            .try_for_each(|t| t.join().expect("no panic"))
    })
}

/// A trap on one thread while another thread publishes and drops code must still be recognized as a
/// wasm trap (the signal handler consults the process-wide code registry that publishing locks).
#[test]
fn traps_while_another_thread_compiles_modules() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(&engine, TRAPPING)?;
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let compiler = scope.spawn(|| -> Result<usize> {
            let mut compiled = 0;
            while !stop.load(Ordering::Relaxed) {
                drop(Module::compile(&engine, r#"(module (func (export "f")))"#)?);
                compiled += 1;
            }
            Ok(compiled)
        });
        let start = Instant::now();
        let mut outcome = Ok(());
        while outcome.is_ok() && start.elapsed() < Duration::from_millis(1500) {
            outcome = trap_rounds(&module, 10);
        }
        stop.store(true, Ordering::Relaxed);
        let compiled = compiler.join().expect("no panic")?;
        assert!(compiled > 0);
        outcome
    })
}
