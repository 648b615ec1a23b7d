//! Faults in wasm code that must not become ordinary traps, and native stack exhaustion that must.
//!
//! - A signal that is not a fault of a trap site (here a SIGSEGV sent by another thread while wasm
//!   code loops) aborts the process with a diagnostic instead of being reported as an out-of-bounds
//!   access. The process dies, so that test runs this test binary again in a child process
//!   ([`run_child`]): the child's half is a test that does nothing unless `WASMZ_SOUNDNESS_CHILD`
//!   names it.
//! - On a thread with less native stack than `Config::max_wasm_stack`, deep recursion, in wasm alone
//!   or through host functions that call back into wasm, ends with a `StackOverflow` trap, never a
//!   crash (the recursion through host functions runs in a child process too, so that a crash fails
//!   only its own test).

mod common;
use common::{RECURSION, trap_of};

use anyhow::Result;
use std::cell::RefCell;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;
use wasmz::*;

/// The environment variable naming the child test to run.
const CHILD_ENV: &str = "WASMZ_SOUNDNESS_CHILD";

/// Whether this process is the child running `name`.
fn is_child(name: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|v| v == name)
}

/// Runs the test `name` of this binary in a child process and returns its output.
fn run_child(name: &str) -> Output {
    Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .output()
        .expect("run the test binary again")
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Set by the guest (through a host function) just before it starts looping.
static LOOPING: AtomicBool = AtomicBool::new(false);

#[test]
fn child_signal_sent_while_wasm_loops() -> Result<()> {
    if !is_child("child_signal_sent_while_wasm_loops") {
        return Ok(());
    }
    let mut config = Config::new();
    // A safety net: the loop is interrupted after a while if the signal is lost.
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let module = Module::compile(
        &engine,
        r#"(module
          (import "h" "looping" (func $looping))
          (func (export "spin") (call $looping) (loop (br 0))))"#,
    )?;
    let mut linker = Linker::new();
    linker.define(
        "h",
        "looping",
        HostFunc::new([], [], |_, _, _| {
            LOOPING.store(true, Ordering::SeqCst);
            Ok(())
        }),
    )?;
    let mut store = Store::new(&engine);
    store.set_epoch_deadline(1);
    let mut inst = Instance::new(&mut store, &module, &linker)?;

    // SAFETY: `pthread_self` has no preconditions.
    let target = unsafe { libc::pthread_self() };
    let watchdog = engine.clone();
    std::thread::spawn(move || {
        while !LOOPING.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        // Let the guest get into its loop.
        std::thread::sleep(Duration::from_millis(100));
        // SAFETY: `target` is the test thread, which is alive: it is looping in wasm (the process
        // ends before it could return from the test).
        let rc = unsafe { libc::pthread_kill(target, libc::SIGSEGV) };
        assert_eq!(rc, 0);
        std::thread::sleep(Duration::from_secs(30));
        watchdog.increment_epoch();
    });
    let result = inst.call("spin", &[])?;
    // Reached only when the signal was taken for a trap (or lost).
    println!("the call returned: {result:?}");
    Ok(())
}

#[test]
fn a_signal_sent_to_a_thread_running_wasm_aborts_the_process_with_a_diagnostic() {
    let out = run_child("child_signal_sent_while_wasm_loops");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "{}",
        describe(&out)
    );
    assert!(
        stderr.contains("wasmz: fatal: SIGSEGV in wasm code that is not a trap"),
        "{}",
        describe(&out)
    );
    assert!(
        stderr.contains("sent by a process") && stderr.contains("pc 0x"),
        "{}",
        describe(&out)
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("the call returned"),
        "{}",
        describe(&out)
    );
}

/// Runs `f` on a fresh thread with `stack` bytes of native stack.
fn on_thread<T: Send + 'static>(stack: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(f)
        .expect("spawn a thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

#[test]
fn wasm_recursion_on_a_small_thread_is_a_stack_overflow_trap() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(&engine, RECURSION)?;
    on_thread(256 * 1024, move || -> Result<()> {
        let mut inst = Instance::new(&mut Store::new(&engine), &module, &Linker::new())?;
        for _ in 0..3 {
            let trap = trap_of(&mut inst, "forever", &[])?;
            assert_eq!(trap.code(), TrapCode::StackOverflow, "{trap}");
            let args = [RawVal::from(1i64), RawVal::from(2.0f64), RawVal::from(3i32)];
            let trap = trap_of(&mut inst, "forever_args", &args)?;
            assert_eq!(trap.code(), TrapCode::StackOverflow, "{trap}");
            // The instance stays usable, with a fair share of the small stack.
            let depth = inst.call("depth", &[RawVal::from(500i32)])?.into_result()?;
            assert_eq!(depth[0].read_as::<i32>(), 500);
        }
        Ok(())
    })
}

#[test]
fn a_wasm_stack_limit_larger_than_the_thread_stack_is_clamped() -> Result<()> {
    let mut config = Config::new();
    config.max_wasm_stack(64 << 20);
    let engine = Engine::new(&config)?;
    let module = Module::compile(&engine, RECURSION)?;
    on_thread(2 << 20, move || -> Result<()> {
        let mut inst = Instance::new(&mut Store::new(&engine), &module, &Linker::new())?;
        let trap = trap_of(&mut inst, "depth", &[RawVal::from(100_000_000i32)])?;
        assert_eq!(trap.code(), TrapCode::StackOverflow, "{trap}");
        let depth = inst
            .call("depth", &[RawVal::from(10_000i32)])?
            .into_result()?;
        assert_eq!(depth[0].read_as::<i32>(), 10_000);
        Ok(())
    })
}

thread_local! {
    /// The guest function the host function `reenter` calls back.
    static DOWN: RefCell<Option<Func>> = const { RefCell::new(None) };
}

/// Deepest nesting reached by `reenter`.
static DEEPEST: AtomicU32 = AtomicU32::new(0);

/// wasm `down(n)` → host `reenter(n + 1)` → wasm `down(n + 1)` → ... until the stack runs out, on a
/// thread of `stack` bytes; returns the trap and the deepest level reached.
fn recurse_through_the_host(stack: usize) -> Result<(TrapCode, u32)> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module
          (import "h" "reenter" (func $reenter (param i32) (result i32)))
          (func (export "down") (param i32) (result i32)
            (call $reenter (i32.add (local.get 0) (i32.const 1)))))"#,
    )?;
    let reenter = HostFunc::new([ValType::I32], [ValType::I32], |_, args, results| {
        let level = args[0].read_as::<i32>() as u32;
        DEEPEST.fetch_max(level, Ordering::Relaxed);
        let down = DOWN
            .with(|d| d.borrow().clone())
            .expect("set before the call");
        match down.call(args, results) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(trap)) => Err(HostError::trap(trap.code(), trap.to_string())),
            Err(e) => Err(HostError::new(e.to_string())),
        }
    });
    on_thread(stack, move || -> Result<(TrapCode, u32)> {
        let mut linker = Linker::new();
        linker.define("h", "reenter", reenter)?;
        let inst = Instance::new(&mut Store::new(&engine), &module, &linker)?;
        let down = inst.func("down").expect("exported");
        DOWN.with(|d| *d.borrow_mut() = Some(down.clone()));
        DEEPEST.store(0, Ordering::Relaxed);
        let mut results = [RawVal::default()];
        let outcome = down.call(&[RawVal::from(0i32)], &mut results)?;
        DOWN.with(|d| d.borrow_mut().take());
        let trap = outcome.expect_err("the recursion never ends");
        Ok((trap.code(), DEEPEST.load(Ordering::Relaxed)))
    })
}

#[test]
fn child_recursion_through_host_functions() -> Result<()> {
    if !is_child("child_recursion_through_host_functions") {
        return Ok(());
    }
    for stack in [256 << 10, 2 << 20, 16 << 20] {
        let (code, deepest) = recurse_through_the_host(stack)?;
        println!("stack {stack}: {code:?} at level {deepest}");
        assert_eq!(code, TrapCode::StackOverflow);
        assert!(
            deepest > 10,
            "only {deepest} levels on a stack of {stack} bytes"
        );
    }
    println!("recursion through host functions: done");
    Ok(())
}

#[test]
fn recursion_through_host_functions_is_a_stack_overflow_trap_not_a_crash() {
    let out = run_child("child_recursion_through_host_functions");
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("recursion through host functions: done"),
        "{}",
        describe(&out)
    );
}
