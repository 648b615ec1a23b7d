//! Lazily compiled code after `fork`: parent and child share the pages code was published in before
//! the fork, and each must go on compiling without overwriting the other's code. (A test binary of
//! its own: forking is sound only while no other test runs on another thread.)
#![cfg(target_os = "linux")]

use anyhow::Result;
use wasmz::*;

fn call(inst: &mut Instance, name: &str) -> Result<i32> {
    Ok(inst.call(name, &[])?.into_result()?[0].read_as::<i32>())
}

#[test]
fn parent_and_child_compile_after_fork_without_overwriting_each_other() -> Result<()> {
    let engine = Engine::new(Config::new().lazy_compilation(true))?;
    // Two functions of the same size: code the child published where the parent's is would run in
    // the parent's place.
    let module = Module::compile(
        &engine,
        r#"(module
          (func (export "one") (result i32) (i32.const 1))
          (func (export "two") (result i32) (i32.const 2))
          (func (export "three") (result i32) (i32.const 3)))"#,
    )?;
    let mut store = Store::new(&engine);
    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
    assert_eq!(call(&mut inst, "one")?, 1);

    let mut pipe = [0; 2];
    // SAFETY: `pipe` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
    let [read_end, write_end] = pipe;
    // SAFETY: this test binary runs no other thread that could hold a lock the child needs.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork failed");
    if child == 0 {
        // The child compiles "two" once the parent has compiled "three", then reports by its exit
        // status; it must never return into the test harness.
        let status = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut byte = 0u8;
            // SAFETY: reads one byte into `byte`.
            unsafe { libc::read(read_end, (&raw mut byte).cast(), 1) };
            match (call(&mut inst, "two"), call(&mut inst, "one")) {
                (Ok(2), Ok(1)) => 0,
                _ => 1,
            }
        }))
        .unwrap_or(2);
        // SAFETY: ends the child without running the parent's destructors or atexit handlers.
        unsafe { libc::_exit(status) };
    }
    assert_eq!(call(&mut inst, "three")?, 3);
    // SAFETY: writes one byte from a live buffer.
    let written = unsafe { libc::write(write_end, [1u8].as_ptr().cast(), 1) };
    assert_eq!(written, 1);
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: status {status:#x}"
    );
    assert_eq!(call(&mut inst, "three")?, 3);
    assert_eq!(call(&mut inst, "two")?, 2);
    assert_eq!(call(&mut inst, "one")?, 1);
    Ok(())
}
