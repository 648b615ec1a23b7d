//! Helpers shared by the WASI integration tests: building the C programs of `tests/c` with clang-16
//! for wasm32-wasi, temporary directories, and running a module with a `WasiCtx`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use wasmz::{Engine, ExecResult, Instance, Linker, Module, Store};
use wasmz_wasi::{OutputBuffer, WasiCtxBuilder};

/// The C compiler the tests use (installed by `.ci/run`).
pub const CLANG: &str = "clang-16";

/// Compiles `sources` with `flags` into a .wasm file under the target's temporary directory, unless
/// an up-to-date build exists, and returns the file's path.
pub fn build_c_file(name: &str, sources: &[&Path], flags: &[&str]) -> PathBuf {
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasi-c");
    std::fs::create_dir_all(&out_dir).unwrap();
    // The flags are part of the name, so changing them rebuilds.
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&(sources, flags), &mut hasher);
    let key = std::hash::Hasher::finish(&hasher);
    let out = out_dir.join(format!("{name}-{key:016x}.wasm"));
    let newest_source = sources
        .iter()
        .map(|s| std::fs::metadata(s).and_then(|m| m.modified()).unwrap())
        .max()
        .unwrap();
    let up_to_date = std::fs::metadata(&out)
        .and_then(|m| m.modified())
        .is_ok_and(|built| built >= newest_source);
    if !up_to_date {
        // Build under a unique name, then rename: tests running in parallel may build the same program.
        static N: AtomicU32 = AtomicU32::new(0);
        let tmp = out_dir.join(format!(
            "{name}.{}.{}.tmp",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let output = Command::new(CLANG)
            .args(["--target=wasm32-wasi", "--sysroot=/usr", "-O2"])
            .args(flags)
            .args(sources)
            .arg("-o")
            .arg(&tmp)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {CLANG} (install it: see .ci/run): {e}");
            });
        assert!(
            output.status.success(),
            "{CLANG} failed for {name}:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::rename(&tmp, &out).unwrap();
    }
    out
}

/// As [`build_c_file`], returning the module's bytes.
pub fn build_c_with(name: &str, sources: &[&Path], flags: &[&str]) -> Vec<u8> {
    std::fs::read(build_c_file(name, sources, flags)).unwrap()
}

/// Builds `tests/c/<name>.c` as a command.
pub fn build_c(name: &str) -> Vec<u8> {
    let src = c_source(name);
    build_c_with(name, &[&src], &[])
}

/// Builds `tests/c/<name>.c` as a reactor.
pub fn build_c_reactor(name: &str) -> Vec<u8> {
    let src = c_source(name);
    build_c_with(
        &format!("{name}-reactor"),
        &[&src],
        &["-mexec-model=reactor"],
    )
}

/// The path of `tests/c/<name>.c`.
pub fn c_source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/c")
        .join(format!("{name}.c"))
}

/// A fresh directory under the target's temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new empty directory whose name starts with `label`.
    pub fn new(label: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "{label}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a run produced.
pub struct Outcome {
    /// `_start`'s result.
    pub result: ExecResult,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
}

impl Outcome {
    /// The exit status: 0 for a normal return, the `proc_exit` status, or a panic for a trap.
    pub fn exit_code(&self) -> i32 {
        match &self.result {
            ExecResult::Ok(_) => 0,
            ExecResult::Exit(code) => *code,
            ExecResult::Trap(t) => panic!(
                "trapped: {t}\nstdout: {}\nstderr: {}",
                self.stdout, self.stderr
            ),
        }
    }
}

/// Runs the command module `wasm` with the context from `builder` (stdout and stderr captured).
pub fn run(wasm: &[u8], builder: WasiCtxBuilder) -> Outcome {
    let engine = Engine::default();
    let module = if Module::is_precompiled(wasm) {
        // SAFETY: the tests run only artifacts they have just made with this wasmz build.
        unsafe { Module::deserialize(&engine, wasm) }
    } else {
        Module::compile(&engine, wasm)
    }
    .expect("compile");
    let mut linker = Linker::new();
    wasmz_wasi::add_to_linker(&mut linker).unwrap();
    let (out, err) = (OutputBuffer::new(), OutputBuffer::new());
    let ctx = builder
        .stdout_buffer(out.clone())
        .stderr_buffer(err.clone())
        .build();
    let mut store = Store::new(&engine);
    store.set_data(ctx);
    let mut instance = Instance::new(&mut store, &module, &linker).expect("instantiate");
    assert!(instance.is_command());
    let result = instance
        .run_start_function()
        .expect("call _start")
        .expect("_start exported");
    Outcome {
        result,
        stdout: out.to_string_lossy(),
        stderr: err.to_string_lossy(),
    }
}

/// The unpacked sources of a crate from cargo's registry (the highest version present).
pub fn crate_source(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    let mut found: Vec<PathBuf> = std::fs::read_dir(home.join("registry/src"))
        .expect("cargo registry sources")
        .flatten()
        .flat_map(|index| {
            std::fs::read_dir(index.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(name)?.strip_prefix('-'))
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    let version = |p: &PathBuf| -> Vec<u64> {
        let n = p.file_name().unwrap().to_str().unwrap();
        n[name.len() + 1..]
            .split(['.', '-', '+'])
            .map(|s| s.parse().unwrap_or(0))
            .collect()
    };
    found.sort_by_key(version);
    found
        .pop()
        .unwrap_or_else(|| panic!("no {name} sources in the cargo registry (run `cargo fetch`)"))
}

/// The SQLite command-line driver of `tests/c/sqlite_driver.c` over the amalgamation shipped in the
/// `libsqlite3-sys` crate, built for wasm32-wasi.
pub fn build_sqlite() -> Vec<u8> {
    let dir = crate_source("libsqlite3-sys").join("sqlite3");
    let amalgamation = dir.join("sqlite3.c");
    let driver = c_source("sqlite_driver");
    let include = format!("-I{}", dir.display());
    build_c_with(
        "sqlite",
        &[&amalgamation, &driver],
        &[
            &include,
            "-DSQLITE_THREADSAFE=0",
            "-DSQLITE_OMIT_LOAD_EXTENSION",
            "-DSQLITE_OMIT_WAL",
            "-DSQLITE_OMIT_SHARED_CACHE",
            "-DSQLITE_OMIT_RANDOMNESS",
            "-DSQLITE_NOHAVE_SYSTEM",
            "-D_WASI_EMULATED_MMAN",
            "-D_WASI_EMULATED_GETPID",
            "-D_WASI_EMULATED_SIGNAL",
            "-D_WASI_EMULATED_PROCESS_CLOCKS",
            "-lwasi-emulated-mman",
            "-lwasi-emulated-getpid",
            "-lwasi-emulated-signal",
            "-lwasi-emulated-process-clocks",
        ],
    )
}
