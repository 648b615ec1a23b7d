//! The official WASI test suite (WebAssembly/wasi-testsuite, preview1 programs of its C, Rust and
//! AssemblyScript suites) run through the `wasmz` binary.
//!
//! The suite is read from `$WASI_TESTSUITE`, else from `shared/wasi-testsuite` beside the repository
//! (`../shared/wasi-testsuite` from the workspace root). Each `NAME.wasm` runs as the suite's
//! specification (`SPECIFICATION.md` there) says, with the settings of `NAME.json` if there is one:
//! `args` after the module, `env` as `--env` (and nothing else: `wasmz run` passes no host variable),
//! `root` preopened as `/` (legacy `dirs` under their own names), each directory a fresh copy, since
//! tests create and delete files in it. A test passes when the exit code is the expected one
//! (`exit_code`, default 0) and stdout and stderr are the expected text where the specification gives
//! one (as the suite's own runner does, output that is not specified is not checked). The
//! operation-based form (`operations`: `run`, `wait`, `read`) is read too.

#[path = "../../wasi/tests/common/mod.rs"]
mod common;

use common::TempDir;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where the suite is when `WASI_TESTSUITE` is not set.
const DEFAULT_SUITE_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/wasi-testsuite"
);

/// Longest a single test may run.
const TIMEOUT: Duration = Duration::from_secs(120);

fn suite_dir() -> PathBuf {
    match std::env::var_os("WASI_TESTSUITE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(DEFAULT_SUITE_DIR),
    }
}

/// One test program and what its specification asks.
#[derive(Debug, Default)]
struct Spec {
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// Preopened as `/`.
    root: Option<String>,
    /// Legacy: preopened under their own names.
    dirs: Vec<String>,
    exit_code: i32,
    stdout: Option<String>,
    stderr: Option<String>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().expect("a string").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn env_of(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("a string").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads the specification of `wasm` (`NAME.json` beside it; defaults without one).
fn spec_of(wasm: &Path) -> Spec {
    let json = wasm.with_extension("json");
    let Ok(text) = std::fs::read_to_string(&json) else {
        return Spec::default();
    };
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("cannot parse {}: {e}", json.display()));
    let mut spec = Spec::default();
    let run = |spec: &mut Spec, op: &Value| {
        spec.args = strings(op.get("args"));
        spec.env = env_of(op.get("env"));
        spec.root = op.get("root").and_then(Value::as_str).map(String::from);
        spec.dirs = strings(op.get("dirs"));
    };
    match v.get("operations").and_then(Value::as_array) {
        Some(ops) => {
            for op in ops {
                match op.get("type").and_then(Value::as_str) {
                    Some("run") => run(&mut spec, op),
                    Some("wait") => {
                        spec.exit_code =
                            op.get("exit_code").and_then(Value::as_i64).unwrap_or(0) as i32
                    }
                    Some("read") => {
                        let payload = op
                            .get("payload")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        match op.get("id").and_then(Value::as_str).unwrap_or("stdout") {
                            "stderr" => spec.stderr = Some(payload),
                            _ => spec.stdout = Some(payload),
                        }
                    }
                    other => panic!("{}: unsupported operation {other:?}", json.display()),
                }
            }
        }
        None => {
            run(&mut spec, &v);
            spec.exit_code = v.get("exit_code").and_then(Value::as_i64).unwrap_or(0) as i32;
            spec.stdout = v.get("stdout").and_then(Value::as_str).map(String::from);
            spec.stderr = v.get("stderr").and_then(Value::as_str).map(String::from);
        }
    }
    spec
}

/// Copies the directory `from` to `to` (which must not exist), symbolic links as links.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let ty = entry.file_type().unwrap();
        if ty.is_dir() {
            copy_dir(&src, &dst);
        } else if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Runs one test; `Err` says why it failed.
fn run_test(wasm: &Path) -> Result<(), String> {
    let spec = spec_of(wasm);
    let dir = wasm.parent().unwrap();
    let name = wasm.file_stem().unwrap().to_string_lossy();
    let scratch = TempDir::new(&format!("wasi-testsuite-{name}"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmz"));
    cmd.arg("run");
    if let Some(root) = &spec.root {
        let copy = scratch.path().join("root");
        copy_dir(&dir.join(root), &copy);
        cmd.arg("--dir").arg(format!("{}::/", copy.display()));
    }
    for d in &spec.dirs {
        let copy = scratch.path().join(d);
        copy_dir(&dir.join(d), &copy);
        cmd.arg("--dir").arg(format!("{}::{d}", copy.display()));
    }
    for (k, v) in &spec.env {
        cmd.arg("--env").arg(format!("{k}={v}"));
    }
    cmd.arg(wasm).args(&spec.args);
    cmd.env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().map_err(|e| format!("cannot run wasmz: {e}"))?;
    let pid = child.id();
    let start = Instant::now();
    let waiter = std::thread::spawn(move || child.wait_with_output());
    while !waiter.is_finished() {
        if start.elapsed() > TIMEOUT {
            // The child is not reaped yet (its waiter has not returned), so the pid is still its own.
            kill(pid);
            let _ = waiter.join();
            return Err(format!("timed out after {TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = waiter.join().unwrap().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut problems = Vec::new();
    if out.status.code() != Some(spec.exit_code) {
        problems.push(format!(
            "exit status {:?}, expected {}",
            out.status.code(),
            spec.exit_code
        ));
    }
    if let Some(expected) = &spec.stdout
        && *expected != stdout
    {
        problems.push(format!("stdout {stdout:?}, expected {expected:?}"));
    }
    if let Some(expected) = &spec.stderr
        && *expected != stderr
    {
        problems.push(format!("stderr {stderr:?}, expected {expected:?}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        let tail: String = stderr
            .lines()
            .take(6)
            .map(|l| format!("\n    | {l}"))
            .collect();
        Err(format!("{}{tail}", problems.join("; ")))
    }
}

/// Ends a child that ran too long (`kill -KILL`, with the `kill` command).
fn kill(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
}

/// The suites: (name, directory of its wasm32-wasip1 programs), sorted by name.
fn suites(root: &Path) -> Vec<(String, PathBuf)> {
    let tests = root.join("tests");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&tests)
        .unwrap_or_else(|e| panic!("cannot read {} (set WASI_TESTSUITE?): {e}", tests.display()))
    {
        let entry = entry.unwrap();
        let programs = entry.path().join("testsuite/wasm32-wasip1");
        if programs.is_dir() {
            found.push((entry.file_name().to_string_lossy().into_owned(), programs));
        }
    }
    found.sort();
    found
}

#[test]
fn wasi_testsuite_preview1() {
    let root = suite_dir();
    let mut jobs = Vec::new();
    for (suite, dir) in suites(&root) {
        let mut programs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
            .collect();
        programs.sort();
        jobs.extend(programs.into_iter().map(|p| (suite.clone(), p)));
    }
    assert!(
        !jobs.is_empty(),
        "no test programs under {}",
        root.display()
    );
    let results = Mutex::new(Vec::new());
    let next = Mutex::new(jobs.iter());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let Some((suite, wasm)) = next.lock().unwrap().next() else {
                        break;
                    };
                    let outcome = run_test(wasm);
                    results
                        .lock()
                        .unwrap()
                        .push((suite.clone(), wasm.clone(), outcome));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    let mut suite_names: Vec<&String> = results.iter().map(|r| &r.0).collect();
    suite_names.dedup();
    for suite in suite_names {
        let of_suite: Vec<_> = results.iter().filter(|r| &r.0 == suite).collect();
        let passed = of_suite.iter().filter(|r| r.2.is_ok()).count();
        summary.push(format!("{suite}: {passed}/{}", of_suite.len()));
        for (_, wasm, outcome) in of_suite {
            if let Err(why) = outcome {
                failures.push(format!(
                    "{suite}/{}: {why}",
                    wasm.file_stem().unwrap().to_string_lossy()
                ));
            }
        }
    }
    let passed = results.iter().filter(|r| r.2.is_ok()).count();
    // Straight to stderr, past the test harness's capture of `println!`: the count shows in every
    // run, not only in failing ones.
    let _ = writeln!(
        std::io::stderr(),
        "wasi-testsuite: {passed}/{} passed ({})",
        results.len(),
        summary.join(", ")
    );
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
}
