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

/// Runs `wasmz ARGS` after `ulimit LIMIT` (e.g. `-s 256`) in a shell.
fn wasmz_under_ulimit(limit: &str, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!(r#"ulimit {limit} && exec "$@""#))
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_wasmz"))
        .args(args)
        .output()
        .expect("run wasmz under sh")
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
    // Everything after the module is the program's, even wasmz's own option names.
    let out = wasmz(&["run", wasm.to_str().unwrap(), "--help", "--dir", "x"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Hello, --help!\nHello, --dir!\nHello, x!\n"
    );
    // `wasmz FILE ARGS` is `wasmz run FILE ARGS`.
    let out = wasmz(&[wasm.to_str().unwrap(), "Bob", "--help"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Hello, Bob!\nHello, --help!\n");
    // Options and `help` are still wasmz's own.
    let out = wasmz(&["--version"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("wasmz "));
    let out = wasmz(&["help"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Usage: wasmz"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn argv0_is_the_module_file_name_or_the_given_name() {
    let wasm = wasm_of("cli-argv0", "crates/wasi/tests/c/args_env.c", &[]);
    let name = wasm.file_name().unwrap().to_str().unwrap().to_string();
    let out = wasmz(&["run", wasm.to_str().unwrap(), "x"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("argv[0]={name}\nargv[1]=x\n")),
        "{}",
        text(&out.stdout)
    );
    let out = wasmz(&["run", "--argv0", "tool", wasm.to_str().unwrap()]);
    assert!(
        text(&out.stdout).starts_with("argc=1\nargv[0]=tool\n"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn exits_with_the_guest_exit_status() {
    let wasm = wasm_of("cli-exit", "crates/wasi/tests/c/exit_code.c", &[]);
    for code in [0, 3, 42, 255] {
        let out = wasmz(&["run", wasm.to_str().unwrap(), &code.to_string()]);
        assert_eq!(out.status.code(), Some(code));
        assert_eq!(text(&out.stdout), format!("exiting with {code}\n"));
    }
    // A status that does not fit 8 bits exits with 255: 256 must not read as success.
    for code in [-1, 256, 512, 1_000_000] {
        let out = wasmz(&["run", wasm.to_str().unwrap(), &code.to_string()]);
        assert_eq!(out.status.code(), Some(255), "exit({code})");
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
    let inner = err.find(" - innermost_function (").expect(&err);
    let middle = err.find(" - middle_function (").expect(&err);
    let main = err.find(" - main (").expect(&err);
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
    // The same in the other compilation modes.
    for mode in ["--eager", "--lazy", "--background"] {
        let out = wasmz(&["run", mode, "--invoke", "mul64", f, "4294967296", "-3"]);
        assert_eq!(out.status.code(), Some(0), "{mode}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "-12884901888\n");
        let out = wasmz(&["run", mode, "--invoke", "boom", f]);
        assert_eq!(out.status.code(), Some(134));
        assert!(text(&out.stderr).contains("unreachable"));
    }
    // One mode at a time.
    let out = wasmz(&["run", "--eager", "--lazy", "--invoke", "mul64", f, "1", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot be used with"),
        "{}",
        text(&out.stderr)
    );
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

/// A guest that calls WASI functions with guest lengths and counts far beyond its one-page memory
/// (up to 4 GiB), and exits with 100 + the number of the first call that does not return `fault`
/// (21), or 0.
const HUGE_LENGTHS_GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink"
    (func $path_symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  ;; One iovec at 0: 0xffffffff bytes at 100.
  (data (i32.const 0) "\64\00\00\00\ff\ff\ff\ff")
  (func $expect_fault (param $errno i32) (param $n i32)
    (if (i32.ne (local.get $errno) (i32.const 21))
      (then (call $exit (i32.add (i32.const 100) (local.get $n))))))
  (func (export "_start")
    (call $expect_fault (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)) (i32.const 1))
    (call $expect_fault (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0x1fffffff) (i32.const 16)) (i32.const 2))
    (call $expect_fault (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)) (i32.const 3))
    (call $expect_fault (call $fd_read (i32.const 0) (i32.const 0) (i32.const 0x1fffffff) (i32.const 16)) (i32.const 4))
    (call $expect_fault (call $path_open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const -1)
      (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 16)) (i32.const 5))
    (call $expect_fault (call $path_symlink (i32.const 100) (i32.const -1) (i32.const 3) (i32.const 100) (i32.const 1)) (i32.const 6))
    (call $expect_fault (call $random_get (i32.const 0) (i32.const -1)) (i32.const 7))
    ;; 0x5555555 subscriptions of 48 bytes: just under 4 GiB; 0xffffffff: more.
    (call $expect_fault (call $poll_oneoff (i32.const 0) (i32.const 0) (i32.const 0x5555555) (i32.const 16)) (i32.const 8))
    (call $expect_fault (call $poll_oneoff (i32.const 0) (i32.const 0) (i32.const -1) (i32.const 16)) (i32.const 9))
    (call $expect_fault (call $fd_readdir (i32.const 3) (i32.const 0) (i32.const -1) (i64.const 0) (i32.const 16)) (i32.const 10))
    (call $exit (i32.const 0))))"#;

/// The address space (KiB, `VmPeak`) of a `wasmz run` process whose guest, with one page of memory
/// like [`HUGE_LENGTHS_GUEST`], has started: it prints a line, then waits for stdin to close.
fn address_space_of_a_running_guest(dir: &Path) -> u64 {
    use std::io::{BufRead, BufReader};
    let guest = dir.join("wait.wat");
    std::fs::write(
        &guest,
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "\64\00\00\00\06\00\00\00")
          (data (i32.const 100) "ready\n")
          (func (export "_start")
            (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
            (drop (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))))"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmz"))
        .args([
            "run",
            "--dir",
            dir.to_str().unwrap(),
            guest.to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n");
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmPeak:"))
        .expect("VmPeak in /proc/PID/status");
    peak.trim().trim_end_matches("kB").trim().parse().unwrap()
}

/// Guest lengths of up to 4 GiB give `fault` without the host allocating anything of their size. The
/// run is limited (`ulimit -v`) to the address space a running guest needs (a 32-bit memory alone
/// reserves 8 GiB, for its guard region) plus 2 GiB of room: a host allocation of the guest's size
/// would not fit and would abort the process ("memory allocation of 4294967295 bytes failed"). The
/// limit is measured rather than fixed (about 9.5 GiB today) so that it follows the reservation's size.
#[test]
fn huge_guest_lengths_are_faults_not_host_allocations() {
    let dir = TempDir::new("cli-huge");
    let limit_kib = address_space_of_a_running_guest(dir.path()) + (2 << 20);
    let guest = dir.path().join("huge.wat");
    std::fs::write(&guest, HUGE_LENGTHS_GUEST).unwrap();
    let script = format!(
        "ulimit -v {limit_kib} && exec '{}' run --dir '{}' '{}'",
        env!("CARGO_BIN_EXE_wasmz"),
        dir.path().display(),
        guest.display()
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "under ulimit -v {limit_kib}: {}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stderr), "");
}

/// Runs wasmz with stdout (`closed_stdout`) or stderr connected to a pipe whose read end is already
/// closed, so every write to it fails with `EPIPE` (Rust programs ignore `SIGPIPE`). The other stream
/// is captured.
fn wasmz_with_closed(args: &[&str], closed_stdout: bool) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmz"));
    cmd.args(args).stdin(std::process::Stdio::null());
    if closed_stdout {
        cmd.stdout(writer).stderr(std::process::Stdio::piped());
    } else {
        cmd.stderr(writer).stdout(std::process::Stdio::piped());
    }
    cmd.output().expect("run wasmz")
}

#[test]
fn a_closed_stdout_is_an_error_for_the_guest_not_a_panic() {
    let dir = TempDir::new("cli-closed-stdout");
    // The guest exits with fd_write's error number: `pipe` (64).
    let guest = dir.path().join("write.wat");
    std::fs::write(
        &guest,
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "\64\00\00\00\06\00\00\00")
          (data (i32.const 100) "hello\n")
          (func (export "_start")
            (call $exit (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))"#,
    )
    .unwrap();
    let out = wasmz_with_closed(&["run", guest.to_str().unwrap()], true);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    // A C program: printf fails quietly and `main` returns 0.
    let hello = wasm_of("cli-hello", "examples/hello.c", &[]);
    let out = wasmz_with_closed(&["run", hello.to_str().unwrap()], true);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    // The same guest writing to a closed stderr.
    let to_stderr = std::fs::read_to_string(&guest)
        .unwrap()
        .replace("(call $w (i32.const 1)", "(call $w (i32.const 2)");
    std::fs::write(&guest, to_stderr).unwrap();
    let out = wasmz_with_closed(&["run", guest.to_str().unwrap()], false);
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn a_trap_report_to_a_closed_stderr_keeps_the_trap_status() {
    let wasm = wasm_of("cli-trap", "crates/wasi/tests/c/trap.c", &[]);
    let out = wasmz_with_closed(&["run", wasm.to_str().unwrap()], false);
    assert_eq!(out.status.code(), Some(134));
    assert_eq!(text(&out.stdout), "about to trap\n");
    // Both streams closed: the trap status still (not 101, a panic).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = Command::new(env!("CARGO_BIN_EXE_wasmz"))
        .args(["run", wasm.to_str().unwrap()])
        .stdout(writer.try_clone().unwrap())
        .stderr(writer)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(134));
    // An error of wasmz itself, to a closed stderr: 1.
    let out = wasmz_with_closed(&["run", "/nonexistent/module.wasm"], false);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn invoke_results_to_a_closed_stdout_exit_1() {
    let dir = TempDir::new("cli-closed-invoke");
    let module = dir.path().join("f.wat");
    std::fs::write(
        &module,
        r#"(module (func (export "f") (result i32 i64) i32.const 42 i64.const 7))"#,
    )
    .unwrap();
    let f = module.to_str().unwrap();
    let out = wasmz_with_closed(&["run", "--invoke", "f", f], true);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.starts_with("error: cannot write the results"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // With stdout open, the results are printed.
    let out = wasmz(&["run", "--invoke", "f", f]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "42\n7\n");
}

/// A module whose export `types(fd)` returns the file type `fd_fdstat_get` and `fd_filestat_get`
/// report for `fd`, and its base rights.
const STREAM_TYPES: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fdstat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_get" (func $filestat (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "types") (param $fd i32) (result i32 i32 i64 i64)
    (if (call $fdstat (local.get $fd) (i32.const 0)) (then unreachable))
    (if (call $filestat (local.get $fd) (i32.const 100)) (then unreachable))
    (i32.load8_u (i32.const 0))
    (i32.load8_u (i32.const 116))
    (i64.load (i32.const 8))
    ;; The filestat's device, inode and size.
    (i64.or (i64.or (i64.load (i32.const 100)) (i64.load (i32.const 108)))
      (i64.load (i32.const 132)))))"#;

/// The (fdstat type, filestat type, base rights) `types(fd)` printed; its device, inode and size
/// must be zero (a standard stream shows nothing of the host file behind it).
fn parse_types(out: &str) -> (u8, u8, u64) {
    let v: Vec<&str> = out.lines().collect();
    assert_eq!(v.len(), 4, "{out:?}");
    assert_eq!(v[3], "0", "device, inode and size of a standard stream");
    (
        v[0].parse().unwrap(),
        v[1].parse().unwrap(),
        v[2].parse::<i64>().unwrap() as u64,
    )
}

#[test]
fn standard_streams_report_the_host_stream_type() {
    use std::process::Stdio;
    const UNKNOWN: u8 = 0;
    const REGULAR_FILE: u8 = 4;
    const SOCKET_STREAM: u8 = 6;
    const FD_READ: u64 = 1 << 1;
    const FD_SEEK_TELL: u64 = 1 << 2 | 1 << 5;
    const FD_WRITE: u64 = 1 << 6;
    let dir = TempDir::new("cli-stream-types");
    let module = dir.path().join("types.wat");
    std::fs::write(&module, STREAM_TYPES).unwrap();
    let m = module.to_str().unwrap();
    let run = |fd: &str, stdin: Stdio, stdout: Stdio, stderr: Stdio| {
        let out = Command::new(env!("CARGO_BIN_EXE_wasmz"))
            .args(["run", "--invoke", "types", m, fd])
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        out
    };
    // Pipes: `unknown` (WASI has no pipe type), as Wasmtime reports; /dev/null is a character device
    // but no terminal: `unknown` too, so wasi-libc's isatty is false.
    let out = run("1", Stdio::null(), Stdio::piped(), Stdio::piped());
    let (fdstat, filestat, rights) = parse_types(&text(&out.stdout));
    assert_eq!((fdstat, filestat), (UNKNOWN, UNKNOWN));
    assert_ne!(rights & FD_WRITE, 0);
    assert_eq!(rights & (FD_READ | FD_SEEK_TELL), 0);
    let out = run("0", Stdio::null(), Stdio::piped(), Stdio::piped());
    let (fdstat, filestat, rights) = parse_types(&text(&out.stdout));
    assert_eq!((fdstat, filestat), (UNKNOWN, UNKNOWN));
    assert_ne!(rights & FD_READ, 0);
    assert_eq!(rights & (FD_WRITE | FD_SEEK_TELL), 0);
    // Files: `regular_file`, for stdin, stdout and stderr.
    let input = dir.path().join("input");
    std::fs::write(&input, "x").unwrap();
    let out = run(
        "0",
        std::fs::File::open(&input).unwrap().into(),
        Stdio::piped(),
        Stdio::piped(),
    );
    assert_eq!(parse_types(&text(&out.stdout)).0, REGULAR_FILE);
    let output = dir.path().join("output");
    run(
        "1",
        Stdio::null(),
        std::fs::File::create(&output).unwrap().into(),
        Stdio::piped(),
    );
    let (fdstat, filestat, _) = parse_types(&std::fs::read_to_string(&output).unwrap());
    assert_eq!((fdstat, filestat), (REGULAR_FILE, REGULAR_FILE));
    let out = run(
        "2",
        Stdio::null(),
        Stdio::piped(),
        std::fs::File::create(&output).unwrap().into(),
    );
    assert_eq!(parse_types(&text(&out.stdout)).0, REGULAR_FILE);
    // A socket: `socket_stream`.
    let (socket, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    let out = run(
        "0",
        std::os::fd::OwnedFd::from(socket).into(),
        Stdio::piped(),
        Stdio::piped(),
    );
    assert_eq!(parse_types(&text(&out.stdout)).0, SOCKET_STREAM);
}

#[test]
fn env_without_a_value_copies_the_host_variable() {
    let wasm = wasm_of("cli-hello", "examples/hello.c", &[]);
    let out = Command::new(env!("CARGO_BIN_EXE_wasmz"))
        .args(["run", "--env", "GREETING", wasm.to_str().unwrap(), "Bob"])
        .env("GREETING", "Salut")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Salut, Bob!\n");
    // A host variable that is not set: the guest has none either.
    let out = Command::new(env!("CARGO_BIN_EXE_wasmz"))
        .args(["run", "--env", "GREETING", wasm.to_str().unwrap(), "Bob"])
        .env_remove("GREETING")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Hello, Bob!\n");
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
    for mode in ["--eager", "--lazy", "--background"] {
        let out = wasmz_under_ulimit("-s 256", &["run", mode, wat.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(134), "{mode}: {err}");
        assert!(err.contains("wasm trap: call stack exhausted"), "{err}");
        assert!(!err.contains("out of bounds"), "{err}");
    }
}

#[test]
fn every_compilation_mode_runs_under_a_small_file_size_ulimit() {
    // Lazily compiled code goes to an in-memory file; growing a file past `ulimit -f` would kill the
    // process with SIGXFSZ.
    let dir = TempDir::new("cli-fsize");
    let wat = dir.path().join("calls.wat");
    std::fs::write(
        &wat,
        r#"(module
             (func $square (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
             (func (export "f") (param i32) (result i32)
               (i32.add (call $square (local.get 0)) (i32.const 1))))"#,
    )
    .unwrap();
    for mode in ["--eager", "--lazy", "--background"] {
        let args = ["run", mode, "--invoke", "f", wat.to_str().unwrap(), "6"];
        let out = wasmz_under_ulimit("-f 64", &args);
        assert_eq!(out.status.code(), Some(0), "{mode}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "37\n", "{mode}");
    }
}

#[test]
fn every_compilation_mode_runs_under_a_small_address_space_ulimit() {
    // A memory with guard pages reserves 8 GiB of address space: under `ulimit -v` of about 1 GiB,
    // wasmz checks bounds explicitly instead, and the memory still grows by 256 MiB.
    let dir = TempDir::new("cli-as");
    let wat = dir.path().join("grow.wat");
    std::fs::write(
        &wat,
        r#"(module
             (memory 1)
             (func (export "grow") (param i32) (result i32)
               (if (i32.eq (memory.grow (local.get 0)) (i32.const -1)) (then (return (i32.const -1))))
               (i32.store (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4))
                          (i32.const 42))
               (i32.load (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4))))
             (func (export "oob") (result i32)
               (i32.load (i32.mul (memory.size) (i32.const 65536)))))"#,
    )
    .unwrap();
    let wat = wat.to_str().unwrap();
    for mode in ["--eager", "--lazy", "--background"] {
        let out = wasmz_under_ulimit(
            "-v 1000000",
            &["run", mode, "--invoke", "grow", wat, "4096"],
        );
        assert_eq!(out.status.code(), Some(0), "{mode}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "42\n", "{mode}");
        // Past the end of the memory: a trap, with explicit bounds checks as with guard pages.
        let out = wasmz_under_ulimit("-v 1000000", &["run", mode, "--invoke", "oob", wat]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(134), "{mode}: {err}");
        assert!(err.contains("out of bounds memory access"), "{mode}: {err}");
    }
}

#[test]
fn every_compilation_mode_runs_when_no_thread_may_be_started() {
    // `ulimit -u` (`prlimit --nproc`) counts the processes and threads of a user, and root is exempt:
    // wasmz runs as the user nobody, with one thread allowed, its main one. Compiling must not need
    // another.
    let root = Command::new("id").arg("-u").output().expect("run id");
    if text(&root.stdout).trim() != "0" {
        eprintln!("skipped: only root can run wasmz as another user");
        return;
    }
    let dir = TempDir::new("cli-nproc");
    let wat = dir.path().join("calls.wat");
    // Enough functions for compilation to want several threads: `f` calls a chain of 64.
    let chain: String = (0..64)
        .map(|i| format!("(func $f{i} (param i32) (result i32) (call $f{} (i32.add (local.get 0) (i32.const 1))))\n", i + 1))
        .collect();
    std::fs::write(
        &wat,
        format!(
            "(module {chain} (func $f64 (param i32) (result i32) (local.get 0)) (func (export \"f\") (param i32) (result i32) (call $f0 (local.get 0))))"
        ),
    )
    .unwrap();
    let one_thread = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(["prlimit", "--nproc=1", env!("CARGO_BIN_EXE_wasmz")])
            .args(args)
            .output()
            .expect("run wasmz under setpriv")
    };
    let version = one_thread(&["--version"]);
    if !version.status.success() {
        // QEMU user mode (the aarch64 tests on x86-64) needs threads of its own to start at all.
        eprintln!(
            "skipped: wasmz cannot start with one thread: {}",
            text(&version.stderr)
        );
        return;
    }
    for mode in ["--eager", "--lazy", "--background"] {
        let out = one_thread(&["run", mode, "--invoke", "f", wat.to_str().unwrap(), "6"]);
        assert_eq!(out.status.code(), Some(0), "{mode}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "70\n", "{mode}");
    }
}

#[test]
fn the_module_may_come_through_a_pipe() {
    // `f` returns 5, as a binary module, as text and as an artifact.
    let binary: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
        0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type 0: [] -> [i32]
        0x03, 0x02, 0x01, 0x00, // function 0 of type 0
        0x07, 0x05, 0x01, 0x01, b'f', 0x00, 0x00, // export "f"
        0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x05, 0x0b, // i32.const 5
    ];
    let wat = r#"(module (func (export "f") (result i32) (i32.const 5)))"#;
    let dir = TempDir::new("cli-pipe");
    let wasm = dir.path().join("f.wasm");
    let cwasm = dir.path().join("f.cwasm");
    std::fs::write(&wasm, binary).unwrap();
    let aot = Command::new(env!("CARGO_BIN_EXE_wasmz-aot"))
        .args([
            "compile",
            wasm.to_str().unwrap(),
            "-o",
            cwasm.to_str().unwrap(),
        ])
        .output()
        .expect("run wasmz-aot");
    assert_eq!(aot.status.code(), Some(0), "{}", text(&aot.stderr));
    let artifact = std::fs::read(&cwasm).unwrap();
    for (what, bytes, extra) in [
        ("binary", binary, &[][..]),
        ("text", wat.as_bytes(), &[][..]),
        ("artifact", &artifact[..], &["--allow-precompiled"][..]),
    ] {
        use std::io::Write as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_wasmz"))
            .arg("run")
            .args(extra)
            .args(["--invoke", "f", "/dev/stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run wasmz");
        let mut stdin = child.stdin.take().unwrap();
        // Written on another thread: wasmz may read it only in part before failing.
        let bytes = bytes.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        assert_eq!(out.status.code(), Some(0), "{what}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "5\n", "{what}");
    }
}

#[test]
fn timeout_and_fuel_stop_a_program() {
    let dir = TempDir::new("cli-limits");
    let write = |name: &str, wat: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, wat).unwrap();
        path.to_str().unwrap().to_string()
    };
    let spin = write(
        "spin.wat",
        r#"(module (func (export "_start") (loop (br 0))))"#,
    );
    // A 30-second sleep in `poll_oneoff`, then a call. The sleep ends at the deadline with the error
    // `intr`, and the program stops at its next check (the call), as at a loop's.
    let sleep = write(
        "sleep.wat",
        r#"(module
             (import "wasi_snapshot_preview1" "poll_oneoff"
               (func $poll (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func $after (param i32))
             (func (export "_start")
               (i32.store (i32.const 16) (i32.const 1))
               (i64.store (i32.const 24) (i64.const 30000000000))
               (call $after
                 (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#,
    );
    let square = write(
        "square.wat",
        r#"(module (func (export "f") (param i32) (result i32) (i32.mul (local.get 0) (local.get 0))))"#,
    );
    for (args, message) in [
        (vec!["--timeout", "300ms", &spin], "wasm trap: interrupt"),
        (vec!["--timeout", "0.3", &sleep], "wasm trap: interrupt"),
        (
            vec!["--fuel", "10000", &spin],
            "wasm trap: all fuel consumed",
        ),
    ] {
        let started = std::time::Instant::now();
        let out = wasmz(&[&["run"][..], &args].concat());
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(134), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        // Stopped, not run to its end (the sleep would take 30 s).
        assert!(started.elapsed().as_secs() < 20, "{args:?}");
    }
    // A read of a pipe that stays silent is a host call that never checks the epoch: the process
    // ends a moment after the time is up.
    let read = write(
        "read.wat",
        r#"(module
             (import "wasi_snapshot_preview1" "fd_read"
               (func $read (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start")
               (i32.store (i32.const 0) (i32.const 16))
               (i32.store (i32.const 4) (i32.const 8))
               (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
    );
    let started = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmz"))
        .args(["run", "--timeout", "300ms", &read])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run wasmz");
    // Held open, never written. Should wasmz hang, it is killed after 30 s (and the test fails).
    let stdin = child.stdin.take();
    while child.try_wait().unwrap().is_none() && started.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(134), "{err}");
    assert!(
        err.contains("interrupt (the time limit ran out while"),
        "{err}"
    );
    assert!(started.elapsed().as_secs() < 20);
    // Within its limits a program runs as usual.
    let out = wasmz(&[
        "run",
        "--timeout",
        "1m",
        "--fuel",
        "100",
        "--invoke",
        "f",
        &square,
        "7",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "49\n");
    let out = wasmz(&["run", "--timeout", "soon", &spin]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a duration"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn max_memory_limits_each_memory() {
    let dir = TempDir::new("cli-max-memory");
    let wat = dir.path().join("grow.wat");
    std::fs::write(
        &wat,
        r#"(module (memory 1)
             (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    )
    .unwrap();
    let wat = wat.to_str().unwrap();
    let grow = |limit: &str, pages: &str| {
        let out = wasmz(&["run", "--max-memory", limit, "--invoke", "grow", wat, pages]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert_eq!(grow("128KiB", "1"), "1\n");
    assert_eq!(grow("128KiB", "2"), "-1\n");
    assert_eq!(grow("1M", "15"), "1\n");
    assert_eq!(grow("1M", "16"), "-1\n");
    // A memory that starts larger than the limit: the module does not start.
    let out = wasmz(&["run", "--max-memory", "32K", "--invoke", "grow", wat, "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("exceeds the memory limit"),
        "{}",
        text(&out.stderr)
    );
    let out = wasmz(&["run", "--max-memory", "lots", wat]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a size"),
        "{}",
        text(&out.stderr)
    );
}
