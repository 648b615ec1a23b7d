//! Linear memories under a limit on the process's address space (`RLIMIT_AS`, `ulimit -v`).
//!
//! A memory with guard pages reserves 8 GiB of address space. Under a smaller limit, an engine whose
//! config does not choose a bounds-check mode checks bounds explicitly, so that its memories can be
//! created at all; one told to use guard pages fails to create them with an error that names the
//! limit. The limit applies to the whole process, so the test runs this test binary again in a child
//! process under a 2 GiB limit ([`run_child`]): the child's half is a test that does nothing unless
//! `WASMZ_ADDRESS_SPACE_CHILD` is set.

mod common;
use common::trap_of;

use anyhow::Result;
use std::os::unix::process::CommandExt;
use std::process::Command;
use wasmz::*;

/// The environment variable that makes the child's test run.
const CHILD_ENV: &str = "WASMZ_ADDRESS_SPACE_CHILD";

/// The address-space limit of the child: 2 GiB.
const LIMIT: u64 = 2 << 30;

const MODULE: &str = r#"(module
  (memory 1)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "last_word") (result i32)
    (i32.store (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4)) (i32.const 42))
    (i32.load (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4))))
  (func (export "past_the_end") (result i32)
    (i32.load (i32.mul (memory.size) (i32.const 65536)))))"#;

fn instantiate(engine: &Engine) -> Result<(Store, Instance), Error> {
    let module = Module::compile(engine, MODULE.as_bytes())?;
    let mut store = Store::new(engine);
    let instance = Instance::new(&mut store, &module, &Linker::new())?;
    Ok((store, instance))
}

fn call_i32(instance: &mut Instance, name: &str, args: &[i32]) -> Result<i32> {
    let args: Vec<RawVal> = args.iter().map(|&a| RawVal::from(a)).collect();
    let results = instance.call(name, &args)?.into_result()?;
    Ok(results[0].read_as::<i32>())
}

#[test]
fn memories_under_a_small_address_space_limit() {
    let out = {
        let mut command = Command::new(std::env::current_exe().expect("the test binary"));
        command
            .args(["--exact", "child_under_the_limit", "--nocapture"])
            .args(["--test-threads=1"])
            .env(CHILD_ENV, "1");
        // SAFETY: `setrlimit` is async-signal-safe, and the closure touches nothing else.
        unsafe {
            command.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: LIMIT,
                    rlim_max: LIMIT,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        };
        command.output().expect("run the test binary again")
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("child_under_the_limit ... ok"),
        "status {:?}\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn child_under_the_limit() -> Result<()> {
    if std::env::var_os(CHILD_ENV).is_none() {
        return Ok(());
    }
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes the limit into `limit`, a live struct.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) };
    if got != 0 || limit.rlim_cur != LIMIT {
        // The limit did not take: QEMU user mode, which runs the aarch64 tests on x86-64, accepts
        // `setrlimit(RLIMIT_AS)` and ignores it (it needs the address space itself).
        eprintln!("skipped: the address-space limit did not take effect");
        return Ok(());
    }
    // The engine chooses explicit checks, and its memories work: they grow, and an access past
    // the end traps.
    let engine = Engine::new(&Config::new())?;
    assert_eq!(engine.bounds_checks(), BoundsChecks::Explicit);
    let (_store, mut instance) = instantiate(&engine)?;
    assert_eq!(call_i32(&mut instance, "grow", &[4095])?, 1);
    assert_eq!(call_i32(&mut instance, "last_word", &[])?, 42);
    let trap = trap_of(&mut instance, "past_the_end", &[])?;
    assert_eq!(trap.code(), TrapCode::MemoryOutOfBounds);
    // Growing past what the process may reserve fails as wasm allows, without a crash.
    assert_eq!(call_i32(&mut instance, "grow", &[65000])?, -1);
    assert_eq!(call_i32(&mut instance, "last_word", &[])?, 42);

    // Told to use guard pages, the engine does, and creating a memory fails with the reason.
    let mut config = Config::new();
    config.bounds_checks(BoundsChecks::GuardPages);
    let engine = Engine::new(&config)?;
    assert_eq!(engine.bounds_checks(), BoundsChecks::GuardPages);
    let err = instantiate(&engine).err().expect("no room for guard pages");
    let message = err.to_string();
    assert!(
        message.contains("guard pages reserves 8192 MiB")
            && message.contains("`ulimit -v`, is 2048 MiB")
            && message.contains("explicit bounds checks"),
        "{message}"
    );

    // Code for another target runs in another process: the limit of this one does not choose.
    let other = if cfg!(target_arch = "x86_64") {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    };
    let engine = Engine::new(Config::new().target(other))?;
    assert_eq!(engine.bounds_checks(), BoundsChecks::GuardPages);
    Ok(())
}
