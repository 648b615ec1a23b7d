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

#[test]
fn the_output_may_be_a_pipe_or_a_symbolic_link() {
    let dir = TempDir::new("aot-cli-out");
    let wat = dir.0.join("fib.wat");
    std::fs::write(&wat, FIB).unwrap();
    let wat = wat.to_str().unwrap();
    let aot = env!("CARGO_BIN_EXE_wasmz-aot");
    let plain = dir.0.join("plain.cwasm");
    let out = run(aot, &["compile", wat, "-o", plain.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let artifact = std::fs::read(&plain).unwrap();

    // A pipe (like `-o /dev/null` or `-o /dev/stdout`) is written to, not replaced by a file.
    let fifo = dir.0.join("fifo");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    // Opened for reading and writing, so that opening it does not wait for a writer; read on another
    // thread, so that the compiler never waits for room in the pipe.
    let pipe = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let len = artifact.len();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = vec![0; len];
        let _ = tx.send((&pipe).read_exact(&mut buf).map(|()| buf));
    });
    let out = run(aot, &["compile", wat, "-o", fifo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let read = rx.recv_timeout(std::time::Duration::from_secs(60));
    assert_eq!(
        read.expect("the artifact through the pipe").unwrap(),
        artifact
    );
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "{kind:?}");

    // Through a symbolic link, the file it names is replaced and the link stays.
    let target = dir.0.join("target.cwasm");
    std::fs::write(&target, b"old").unwrap();
    let link = dir.0.join("link.cwasm");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = run(aot, &["compile", wat, "-o", link.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&target).unwrap(), artifact);
    // No temporary file is left behind.
    let mut names: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "fib.wat",
            "fifo",
            "link.cwasm",
            "plain.cwasm",
            "target.cwasm"
        ]
    );
}
