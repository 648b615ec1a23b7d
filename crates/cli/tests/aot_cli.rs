//! End-to-end tests of `wasmz-aot`: compile, inspect, run the artifact with `wasmz run`, cross-compile,
//! and the run cache.

#[path = "../../wasi/tests/common/mod.rs"]
mod common;

use common::TempDir;
use std::process::{Command, Output};

const FIB: &str = r#"(module
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2))))))))"#;

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .output()
        .expect("run the binary")
}

/// `wasmz run --allow-precompiled --invoke fib CWASM 20`.
fn run_trusted_fib(cwasm: &std::path::Path) -> Output {
    let cwasm = cwasm.to_str().unwrap();
    let args = ["run", "--allow-precompiled", "--invoke", "fib", cwasm, "20"];
    run(env!("CARGO_BIN_EXE_wasmz"), &args)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn compiles_inspects_and_runs_an_artifact() {
    let dir = TempDir::new("aot-cli");
    let wat = dir.0.join("fib.wat");
    let cwasm = dir.0.join("fib.cwasm");
    std::fs::write(&wat, FIB).unwrap();
    let aot = env!("CARGO_BIN_EXE_wasmz-aot");
    let out = run(
        aot,
        &[
            "compile",
            wat.to_str().unwrap(),
            "-o",
            cwasm.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let out = run(aot, &["inspect", cwasm.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains("target:         x86_64") || report.contains("target:         aarch64"),
        "{report}"
    );
    assert!(report.contains("functions:      1"), "{report}");

    // Native code runs only when the user says it is trusted.
    let out = run(
        env!("CARGO_BIN_EXE_wasmz"),
        &["run", "--invoke", "fib", cwasm.to_str().unwrap(), "20"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--allow-precompiled"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());

    let out = run_trusted_fib(&cwasm);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "6765\n");

    // A corrupted artifact is refused, not run.
    let mut bytes = std::fs::read(&cwasm).unwrap();
    let last = bytes.len() - 40;
    bytes[last] ^= 0xff;
    std::fs::write(&cwasm, &bytes).unwrap();
    let out = run_trusted_fib(&cwasm);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("precompiled"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_artifact_without_optimization_runs_at_its_opt_level() {
    let dir = TempDir::new("aot-cli-opt");
    let wat = dir.0.join("fib.wat");
    let cwasm = dir.0.join("fib.cwasm");
    std::fs::write(&wat, FIB).unwrap();
    let (wat, cwasm) = (wat.to_str().unwrap(), cwasm.to_str().unwrap());
    let aot = env!("CARGO_BIN_EXE_wasmz-aot");
    let out = run(aot, &["compile", "--opt-level", "none", wat, "-o", cwasm]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let wasmz = env!("CARGO_BIN_EXE_wasmz");
    let args = ["run", "--allow-precompiled", "--invoke", "fib", cwasm, "20"];
    // The artifact is refused at another level, with the reason ...
    let out = run(wasmz, &args);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("opt_level=none"),
        "{}",
        text(&out.stderr)
    );
    // ... and runs at its own.
    let out = run(
        wasmz,
        &[&args[..1], &["--opt-level", "none"], &args[1..]].concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "6765\n");
    // A module compiled for the run at that level gives the same result.
    let out = run(
        wasmz,
        &["run", "--opt-level", "none", "--invoke", "fib", wat, "20"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "6765\n");
}

#[test]
fn cross_compiles_for_aarch64_and_refuses_to_run_it_here() {
    if cfg!(target_arch = "aarch64") {
        return;
    }
    let dir = TempDir::new("aot-cross");
    let wat = dir.0.join("fib.wat");
    let cwasm = dir.0.join("fib-arm.cwasm");
    std::fs::write(&wat, FIB).unwrap();
    let aot = env!("CARGO_BIN_EXE_wasmz-aot");
    let out = run(
        aot,
        &[
            "compile",
            wat.to_str().unwrap(),
            "-o",
            cwasm.to_str().unwrap(),
            "--target",
            "aarch64-unknown-linux-gnu",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(aot, &["inspect", cwasm.to_str().unwrap()]);
    assert!(
        text(&out.stdout).contains("target:         aarch64-unknown-linux-gnu"),
        "{}",
        text(&out.stdout)
    );
    let out = run_trusted_fib(&cwasm);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("aarch64-unknown-linux-gnu"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn run_cache_stores_the_compiled_module() {
    let dir = TempDir::new("run-cache");
    let wat = dir.0.join("fib.wat");
    let cache = dir.0.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(&wat, FIB).unwrap();
    let wasmz = env!("CARGO_BIN_EXE_wasmz");
    for _ in 0..2 {
        let out = run(
            wasmz,
            &[
                "run",
                "--cache",
                cache.to_str().unwrap(),
                "--invoke",
                "fib",
                wat.to_str().unwrap(),
                "10",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "55\n");
    }
    let entries: Vec<_> = std::fs::read_dir(&cache).unwrap().flatten().collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].path().extension().is_some_and(|e| e == "cwasm"));
}

#[test]
fn bad_input_is_an_error() {
    let aot = env!("CARGO_BIN_EXE_wasmz-aot");
    let out = run(aot, &["compile", "/nonexistent.wasm", "-o", "/tmp/x.cwasm"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/nonexistent.wasm"));
    let dir = TempDir::new("aot-bad");
    let bad = dir.0.join("bad.wasm");
    std::fs::write(&bad, b"\0asm\x01\0\0\0\x05").unwrap();
    let out = run(
        aot,
        &[
            "compile",
            bad.to_str().unwrap(),
            "-o",
            dir.0.join("o.cwasm").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let out = run(aot, &["inspect", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}
