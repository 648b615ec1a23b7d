//! End-to-end tests of the `wasmz` binary: run as a process, check its output and exit status.

#[path = "../../wasi/tests/common/mod.rs"]
mod common;

use common::{TempDir, build_c_file};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds a C file of the repository (path relative to its root) to a .wasm file and returns its path.
fn wasm_of(name: &str, source: &str, flags: &[&str]) -> PathBuf {
    let src = repo_root().join(source);
    build_c_file(name, &[&src], flags)
}

fn wasmz(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmz"))
        .args(args)
        .output()
        .expect("run wasmz")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn runs_hello_world_with_args_and_env() {
    let wasm = wasm_of("cli-hello", "examples/hello.c", &[]);
    let out = wasmz(&["run", wasm.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Hello, world!\n");
    let out = wasmz(&[
        "run",
        "--env",
        "GREETING=Bonjour",
        wasm.to_str().unwrap(),
        "Alice",
        "--not-an-option",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Bonjour, Alice!\nBonjour, --not-an-option!\n"
    );
}

#[test]
fn exits_with_the_guest_exit_status() {
    let wasm = wasm_of("cli-exit", "crates/wasi/tests/c/exit_code.c", &[]);
    for code in [0, 3, 42] {
        let out = wasmz(&["run", wasm.to_str().unwrap(), &code.to_string()]);
        assert_eq!(out.status.code(), Some(code));
        assert_eq!(text(&out.stdout), format!("exiting with {code}\n"));
    }
}

#[test]
fn a_trap_prints_the_code_and_backtrace_and_exits_134() {
    let wasm = wasm_of("cli-trap", "crates/wasi/tests/c/trap.c", &[]);
    let out = wasmz(&["run", wasm.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(134));
    assert_eq!(text(&out.stdout), "about to trap\n");
    let err = text(&out.stderr);
    assert!(err.contains("wasm trap: unreachable"), "{err}");
    let inner = err.find("<innermost_function>").expect(&err);
    let middle = err.find("<middle_function>").expect(&err);
    let main = err.find("<main>").expect(&err);
    assert!(inner < middle && middle < main, "{err}");
}

#[test]
fn preopened_directories_with_guest_names() {
    let dir = TempDir::new("cli-dir");
    std::fs::write(dir.path().join("input.txt"), "via the cli\n").unwrap();
    let wasm = wasm_of("cli-files", "crates/wasi/tests/c/files.c", &[]);
    let mapping = format!("{}::/sandbox", dir.path().display());
    let out = wasmz(&["run", "--dir", &mapping, wasm.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).ends_with("all ok\n"));
    assert!(text(&out.stdout).starts_with("input: via the cli\n"));
    // Without the directory, the program cannot open its input.
    let out = wasmz(&["run", wasm.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("FAIL"));
    // `--dir HOST` uses the host path as the guest name.
    let listing = wasm_of("cli-listdir", "crates/wasi/tests/c/listdir.c", &[]);
    let host = dir.path().to_str().unwrap();
    let out = wasmz(&["run", "--dir", host, listing.to_str().unwrap(), host]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\ninput.txt\n"));
}

#[test]
fn invoke_calls_an_export_with_typed_arguments() {
    let dir = TempDir::new("cli-invoke");
    let wat = dir.path().join("funcs.wat");
    std::fs::write(
        &wat,
        r#"(module
             (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
             (func (export "mul64") (param i64 i64) (result i64) (i64.mul (local.get 0) (local.get 1)))
             (func (export "halve") (param f32 f64) (result f32 f64)
               (f32.div (local.get 0) (f32.const 2)) (f64.div (local.get 1) (f64.const 2)))
             (func (export "boom") (unreachable)))"#,
    )
    .unwrap();
    let f = wat.to_str().unwrap();
    let out = wasmz(&["run", "--invoke", "add", f, "40", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "42\n");
    let out = wasmz(&["run", "--invoke", "add", f, "-5", "0x10"]);
    assert_eq!(text(&out.stdout), "11\n");
    let out = wasmz(&["run", "--invoke", "mul64", f, "4294967296", "-3"]);
    assert_eq!(text(&out.stdout), "-12884901888\n");
    let out = wasmz(&["run", "--invoke", "halve", f, "3", "1.5"]);
    assert_eq!(text(&out.stdout), "1.5\n0.75\n");
    let out = wasmz(&["run", "--invoke", "boom", f]);
    assert_eq!(out.status.code(), Some(134));
    assert!(text(&out.stderr).contains("unreachable"));
    // The same with lazy compilation.
    let out = wasmz(&["run", "--lazy", "--invoke", "mul64", f, "4294967296", "-3"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "-12884901888\n");
    let out = wasmz(&["run", "--lazy", "--invoke", "boom", f]);
    assert_eq!(out.status.code(), Some(134));
    assert!(text(&out.stderr).contains("unreachable"));
    // Mistakes: argument count, unparsable argument, unknown export.
    for args in [
        &["run", "--invoke", "add", f, "1"][..],
        &["run", "--invoke", "add", f, "1", "x"],
        &["run", "--invoke", "nope", f],
    ] {
        let out = wasmz(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(text(&out.stderr).starts_with("error:"), "{args:?}");
    }
}

#[test]
fn invoke_initializes_a_reactor_first() {
    let wasm = wasm_of(
        "cli-reactor",
        "examples/reactor.c",
        &["-mexec-model=reactor"],
    );
    let f = wasm.to_str().unwrap();
    let out = wasmz(&["run", "--invoke", "fib", f, "50"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "12586269025\n");
    let out = wasmz(&["run", "--invoke", "hypot", f, "3", "4"]);
    assert_eq!(text(&out.stdout), "5\n");
    let out = wasmz(&["run", "--invoke", "hello", f]);
    assert_eq!(text(&out.stdout), "hello from the reactor\n");
}

#[test]
fn unreadable_or_invalid_modules_exit_1() {
    let out = wasmz(&["run", "/nonexistent/module.wasm"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read"));
    let dir = TempDir::new("cli-bad");
    let bad = dir.path().join("bad.wat");
    std::fs::write(&bad, "(module (func (result i32)))").unwrap();
    let out = wasmz(&["run", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot compile"),
        "{}",
        text(&out.stderr)
    );
    // A wasm start function that exits, or traps, during instantiation.
    std::fs::write(
        &bad,
        r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (func $s (call $exit (i32.const 9))) (start $s))"#,
    )
    .unwrap();
    assert_eq!(
        wasmz(&["run", bad.to_str().unwrap()]).status.code(),
        Some(9)
    );
    std::fs::write(&bad, "(module (func $s unreachable) (start $s))").unwrap();
    assert_eq!(
        wasmz(&["run", bad.to_str().unwrap()]).status.code(),
        Some(134)
    );
    // An import WASI does not provide.
    std::fs::write(&bad, r#"(module (import "env" "f" (func)))"#).unwrap();
    let out = wasmz(&["run", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("env::f"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn recursion_under_a_small_stack_ulimit_is_a_stack_overflow_trap() {
    let dir = TempDir::new("cli-stack");
    let wat = dir.path().join("recurse.wat");
    std::fs::write(
        &wat,
        r#"(module
             (func $f (param i32) (result i32)
               (i32.add (i32.const 1) (call $f (i32.add (local.get 0) (i32.const 1)))))
             (func (export "_start") (drop (call $f (i32.const 0)))))"#,
    )
    .unwrap();
    // The main thread gets 256 KiB of stack: less than the default wasm stack limit of 512 KiB.
    for lazy in [false, true] {
        let mut args = vec!["run"];
        if lazy {
            args.push("--lazy");
        }
        args.push(wat.to_str().unwrap());
        let out = Command::new("sh")
            .arg("-c")
            .arg(r#"ulimit -s 256 && exec "$@""#)
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_wasmz"))
            .args(&args)
            .output()
            .expect("run wasmz under sh");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(134), "lazy {lazy}: {err}");
        assert!(err.contains("wasm trap: call stack exhausted"), "{err}");
        assert!(!err.contains("out of bounds"), "{err}");
    }
}
