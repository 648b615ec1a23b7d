//! Tests of the C API from C: the header against the library's symbols, the C examples, and a C
//! program that calls every function with good and bad input. The programs are built with gcc against
//! the `libwasmz` that cargo builds for these tests (the crate's cdylib and staticlib), run, and run
//! again under valgrind (no leak, no invalid access; suppressions in `tests/valgrind.supp`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The profile directory (`target/<profile>`) holding `libwasmz.so` and `libwasmz.a`: the parent of
/// the `deps` directory this test executable runs from.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let profile = deps.parent().unwrap();
    for dir in [profile, deps] {
        if dir.join("libwasmz.so").is_file() {
            return dir.to_path_buf();
        }
    }
    panic!(
        "libwasmz.so not found next to {}: cargo test does not build cdylibs, so build the C API first \
         (`cargo build --release --workspace`, as the README's test command does)",
        exe.display()
    );
}

/// Where the C programs are built.
fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c-api");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn check(what: &str, output: Output) -> Output {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Compiles the C program `source` against the shared library (or the static one) into `name`.
fn build_c(source: &Path, name: &str, link_static: bool) -> PathBuf {
    let lib = lib_dir();
    let exe = out_dir().join(name);
    let mut cmd = Command::new("gcc");
    cmd.args([
        "-std=c11",
        "-O1",
        "-g",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
    ])
    .arg("-I")
    .arg(root().join("include"))
    .arg(source)
    .arg("-o")
    .arg(&exe);
    if link_static {
        cmd.arg(lib.join("libwasmz.a"))
            .args(["-lpthread", "-ldl", "-lm"]);
    } else {
        cmd.arg("-L")
            .arg(&lib)
            .arg("-lwasmz")
            .arg(format!("-Wl,-rpath,{}", lib.display()));
    }
    check(&format!("gcc {}", source.display()), cmd.output().unwrap());
    exe
}

/// Runs `exe` with `args`, under valgrind when asked (any Memcheck error or leak fails the run with
/// exit status 99).
///
/// Valgrind runs with precise program counters at every instruction: by default it reports the PC of
/// a faulting division as the start of its translated block, and wasmz turns a fault into a trap only
/// at the exact trap site (any other fault in wasm code aborts the process).
fn run(exe: &Path, args: &[&str], envs: &[(&str, &str)], valgrind: bool) -> Output {
    let mut cmd = if valgrind {
        let mut c = Command::new("valgrind");
        c.args([
            "--quiet",
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect,possible",
            "--vex-iropt-register-updates=allregs-at-each-insn",
        ])
        .arg(format!(
            "--suppressions={}",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/valgrind.supp")
                .display()
        ))
        .arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.args(args).env_remove("GREETING");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {}: {e} (is valgrind installed? see .ci/run)",
            exe.display()
        )
    })
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Names of the functions the header declares (`WASMZ_API <type> name(`).
fn header_functions() -> BTreeSet<String> {
    let header = std::fs::read_to_string(root().join("include/wasmz.h")).unwrap();
    // The macro's own definition (`WASMZ_API extern ...`) declares no function.
    let decls = header
        .split("WASMZ_API ")
        .skip(1)
        .filter(|d| !d.starts_with("extern"));
    declared_names(decls, "wasmz_")
}

/// The function name of each declaration in `decls` (text ending with a prototype's `(`), all
/// starting with `prefix` and none twice.
fn declared_names<'a>(decls: impl Iterator<Item = &'a str>, prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for decl in decls {
        let head = &decl[..decl.find('(').expect("a prototype")];
        let name = head
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap();
        assert!(name.starts_with(prefix), "odd declaration: {head}");
        assert!(names.insert(name.to_string()), "{name} declared twice");
    }
    names
}

/// Names of the functions starting with `prefix` that a library defines, by `nm`.
fn exported_functions(lib: &Path, dynamic: bool, prefix: &str) -> BTreeSet<String> {
    let mut cmd = Command::new("nm");
    if dynamic {
        cmd.arg("-D");
    }
    let out = check("nm", cmd.arg("--defined-only").arg(lib).output().unwrap());
    stdout(&out)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let (_, kind, name) = (parts.next()?, parts.next()?, parts.next()?);
            (kind == "T" && name.starts_with(prefix)).then(|| name.to_string())
        })
        .collect()
}

#[test]
fn header_declares_exactly_the_exported_functions() {
    let declared = header_functions();
    let exported = exported_functions(&lib_dir().join("libwasmz.so"), true, "wasmz_");
    assert_eq!(
        declared, exported,
        "include/wasmz.h and libwasmz.so disagree"
    );
    // The static library defines them too (besides wasmz-runtime's internal C helper `wasmz_call`).
    let in_archive = exported_functions(&lib_dir().join("libwasmz.a"), false, "wasmz_");
    let missing: Vec<_> = declared.difference(&in_archive).collect();
    assert!(missing.is_empty(), "missing from libwasmz.a: {missing:?}");
    // The header is valid C99 and C++.
    for (compiler, std) in [("gcc", "-std=c99"), ("g++", "-std=c++11")] {
        let out = Command::new(compiler)
            .args([
                "-fsyntax-only",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
                std,
            ])
            .args(["-x", if compiler == "gcc" { "c" } else { "c++" }])
            .arg(root().join("include/wasmz.h"))
            .output()
            .unwrap();
        check(&format!("{compiler} {std} wasmz.h"), out);
    }
}

#[test]
fn add_example() {
    let exe = build_c(&root().join("examples/c/add.c"), "add", false);
    let out = check("add", run(&exe, &[], &[], false));
    assert_eq!(stdout(&out), "3 + 4 = 7\n");
    let out = check("add under valgrind", run(&exe, &[], &[], true));
    assert_eq!(stdout(&out), "3 + 4 = 7\n");
}

#[test]
fn add_example_linked_statically() {
    let exe = build_c(&root().join("examples/c/add.c"), "add-static", true);
    let out = check("add (static)", run(&exe, &[], &[], false));
    assert_eq!(stdout(&out), "3 + 4 = 7\n");
}

/// Builds examples/c/hello.c for wasm32-wasi with clang-16 (installed by .ci/run).
fn build_hello_wasm() -> PathBuf {
    let wasm = out_dir().join("hello.wasm");
    let out = Command::new("clang-16")
        .args(["--target=wasm32-wasi", "--sysroot=/usr", "-O2"])
        .arg(root().join("examples/c/hello.c"))
        .arg("-o")
        .arg(&wasm)
        .output()
        .expect("cannot run clang-16 (see .ci/run)");
    check("clang-16 hello.c", out);
    wasm
}

#[test]
fn wasi_example() {
    let wasm = build_hello_wasm();
    let wasm = wasm.to_str().unwrap();
    let exe = build_c(&root().join("examples/c/wasi.c"), "wasi", false);

    let out = check("wasi", run(&exe, &[wasm], &[], false));
    assert_eq!(stdout(&out), "Hello, world!\n");

    let out = check(
        "wasi under valgrind",
        run(&exe, &[wasm, "Alice", "Bob"], &[("GREETING", "Hi")], true),
    );
    assert_eq!(stdout(&out), "Hi, Alice!\nHi, Bob!\n");

    // More than two names: the guest exits with status 3, which the host passes on.
    let out = run(&exe, &[wasm, "a", "b", "c"], &[], false);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stdout(&out), "Hello, a!\nHello, b!\nHello, c!\n");
}

/// tests/c/api.c: every function of the header, good and bad input (NULL pointers, malformed wasm,
/// a missing import, traps in host callbacks and in wasm, ...); its output is tests/c/api.expected.
#[test]
fn every_function_and_bad_input_from_c() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c");
    let exe = build_c(&dir.join("api.c"), "api", false);
    let expected = std::fs::read_to_string(dir.join("api.expected")).unwrap();
    let scratch = out_dir().join("api-scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let scratch = scratch.to_str().unwrap();
    for valgrind in [false, true] {
        let out = run(&exe, &[scratch], &[], valgrind);
        let text = stdout(&out);
        assert!(
            out.status.success(),
            "api (valgrind: {valgrind}) failed ({}):\n{text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(text, expected, "valgrind: {valgrind}");
    }
}

// ---------------------------------------------------------------------------------------------------
// The standard C API (include/wasm.h)

/// Names of the functions `include/wasm.h` declares, from the preprocessed header (its
/// declarations are mostly made by macros): `WASM_API_EXTERN` is defined as a marker.
fn wasm_h_functions() -> BTreeSet<String> {
    let out = check(
        "gcc -E wasm.h",
        Command::new("gcc")
            .args(["-E", "-P", "-DWASM_API_EXTERN=__wasm_api__"])
            .arg(root().join("include/wasm.h"))
            .output()
            .unwrap(),
    );
    let text = stdout(&out).replace('\n', " ");
    declared_names(text.split("__wasm_api__").skip(1), "wasm_")
}

/// The C programs that test wasm.h (each ends by printing `<name>: passed`).
const STD_PROGRAMS: [&str; 6] = [
    "std_basics",
    "std_objects",
    "std_trap",
    "std_serialize_threads",
    "std_refs",
    "std_bad_input",
];

#[test]
fn wasm_h_declares_exactly_the_exported_functions_and_the_tests_call_them_all() {
    let declared = wasm_h_functions();
    let exported = exported_functions(&lib_dir().join("libwasmz.so"), true, "wasm_");
    assert_eq!(
        declared, exported,
        "include/wasm.h and libwasmz.so disagree"
    );
    let in_archive = exported_functions(&lib_dir().join("libwasmz.a"), false, "wasm_");
    let missing: Vec<_> = declared.difference(&in_archive).collect();
    assert!(missing.is_empty(), "missing from libwasmz.a: {missing:?}");
    // Both headers, alone and together, are valid C99 and C++.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c");
    for (compiler, std, lang) in [("gcc", "-std=c99", "c"), ("g++", "-std=c++11", "c++")] {
        let out = Command::new(compiler)
            .args([
                "-fsyntax-only",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
                std,
            ])
            .arg("-I")
            .arg(root().join("include"))
            .args(["-x", lang])
            .arg(root().join("include/wasm.h"))
            .output()
            .unwrap();
        check(&format!("{compiler} {std} wasm.h"), out);
    }
    // Every declared function is called by one of the test programs.
    let sources: String = STD_PROGRAMS
        .iter()
        .map(|p| format!("{p}.c"))
        .chain(["std_util.h".to_string()])
        .map(|f| std::fs::read_to_string(dir.join(f)).unwrap())
        .collect();
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let called: BTreeSet<String> = sources
        .split(|c: char| !is_word(c))
        .filter(|w| w.starts_with("wasm_"))
        .map(str::to_string)
        .collect();
    let untested: Vec<_> = declared.difference(&called).collect();
    assert!(
        untested.is_empty(),
        "not called by the wasm.h tests: {untested:?}"
    );
}

/// Builds tests/c/<name>.c (linked with pthread) and runs it with `args`, then under valgrind with
/// `valgrind_args`.
fn std_program(name: &str, args: &[&str], valgrind_args: &[&str]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c");
    let exe = build_c(&dir.join(format!("{name}.c")), name, false);
    for (valgrind, args) in [(false, args), (true, valgrind_args)] {
        let out = run(&exe, args, &[], valgrind);
        let text = stdout(&out);
        assert!(
            out.status.success() && text.ends_with(&format!("{name}: passed\n")),
            "{name} (valgrind: {valgrind}) failed ({}):\n{text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// hello, callback, multi, reflect, start.
#[test]
fn wasm_h_basics() {
    std_program("std_basics", &[], &[]);
}

/// global, memory, table (and wasm.h with wasmz.h in one file).
#[test]
fn wasm_h_globals_memories_tables() {
    std_program("std_objects", &[], &[]);
}

/// trap.
#[test]
fn wasm_h_traps() {
    std_program("std_trap", &[], &[]);
}

/// serialize, threads.
#[test]
fn wasm_h_serialize_and_threads() {
    std_program("std_serialize_threads", &[], &[]);
}

/// finalize (fewer iterations under valgrind), hostref, funcref values.
#[test]
fn wasm_h_references_and_finalizers() {
    std_program("std_refs", &["100000"], &["300"]);
}

/// Every function with bad input.
#[test]
fn wasm_h_bad_input() {
    std_program("std_bad_input", &[], &[]);
}
