//! WASI tests with C programs (tests/c/*.c) compiled by clang-16 for wasm32-wasi.

mod common;

use common::{TempDir, build_c, build_c_reactor, run};
use std::fs;
use wasmz::{Engine, ExecResult, Instance, Linker, Module, RawVal, Store};
use wasmz_wasi::{OutputBuffer, WasiCtxBuilder};

#[test]
fn stdio_is_captured_and_stdin_is_read() {
    let wasm = build_c("stdio");
    let out = run(
        &wasm,
        WasiCtxBuilder::new()
            .arg("stdio")
            .stdin_bytes("first line\nsecond\n"),
    );
    assert_eq!(out.exit_code(), 0);
    assert_eq!(out.stdout, "hello from wasi\nFIRST LINE\nSECOND\ndone\n");
    assert_eq!(out.stderr, "to stderr\n");
}

#[test]
fn args_and_environment() {
    let wasm = build_c("args_env");
    let out = run(
        &wasm,
        WasiCtxBuilder::new()
            .args(["prog", "one", "two words", ""])
            .env("GREETING", "hi there")
            .env("OTHER", "x=y"),
    );
    assert_eq!(out.exit_code(), 0);
    assert_eq!(
        out.stdout,
        "argc=4\nargv[0]=prog\nargv[1]=one\nargv[2]=two words\nargv[3]=\n\
         GREETING=hi there\nMISSING=(unset)\nenvc=2\n"
    );
}

#[test]
fn exit_codes() {
    let wasm = build_c("exit_code");
    for code in [3, 0, 1, 42, 125] {
        let out = run(
            &wasm,
            WasiCtxBuilder::new().args(["exit_code".to_string(), code.to_string()]),
        );
        assert_eq!(out.stdout, format!("exiting with {code}\n"));
        // exit() always goes through proc_exit, even for 0.
        assert!(
            matches!(out.result, ExecResult::Exit(c) if c == code),
            "{:?}",
            out.result
        );
    }
    // Without an argument the program exits with 3.
    let out = run(&wasm, WasiCtxBuilder::new().arg("exit_code"));
    assert!(matches!(out.result, ExecResult::Exit(3)));
}

#[test]
fn clocks_and_random() {
    let wasm = build_c("clock_random");
    let out = run(&wasm, WasiCtxBuilder::new());
    assert_eq!(out.exit_code(), 0, "{}", out.stdout);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut lines = out.stdout.lines();
    let real: i64 = lines
        .next()
        .unwrap()
        .strip_prefix("realtime_s=")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (real - now).abs() < 60,
        "guest time {real}, host time {now}"
    );
    assert_eq!(
        lines.collect::<Vec<_>>(),
        [
            "res_ok=1",
            "slept_ok=1",
            "random_ok=1",
            "arc4random_differs=1",
        ]
    );
}

#[test]
fn files_in_a_preopened_directory() {
    let dir = TempDir::new("wasi-files");
    fs::write(dir.path().join("input.txt"), "from the host\n").unwrap();
    let wasm = build_c("files");
    let out = run(
        &wasm,
        WasiCtxBuilder::new()
            .arg("files")
            .preopen_dir(dir.path(), "/sandbox")
            .unwrap(),
    );
    assert_eq!(
        out.stdout,
        "input: from the host\ncontent: hello appended\n\
         listing: hard.txt link.txt renamed.txt sub/\nall ok\n",
        "stderr: {}",
        out.stderr
    );
    assert_eq!(out.exit_code(), 0);
    // What the guest left behind, seen from the host.
    assert_eq!(
        fs::read_to_string(dir.path().join("dir/renamed.txt")).unwrap(),
        "hello appended"
    );
    assert!(!dir.path().join("dir/data.txt").exists());
    assert!(!dir.path().join("dir/sub").exists());
    let big = fs::read(dir.path().join("big.bin")).unwrap();
    assert_eq!(big.len(), 16 * 65536);
    assert!(
        big.chunks(65536)
            .enumerate()
            .all(|(i, c)| c.iter().all(|&b| b as usize == i))
    );
    let mtime = fs::metadata(dir.path().join("dir/renamed.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        mtime
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        1234567890
    );
}

#[test]
fn directory_listing_with_many_entries() {
    let dir = TempDir::new("wasi-list");
    let mut expected: Vec<String> = (0..300)
        .map(|i| format!("file-with-a-rather-long-name-{i:04}.txt"))
        .collect();
    for name in &expected {
        fs::write(dir.path().join(name), name).unwrap();
    }
    fs::create_dir(dir.path().join("a-subdirectory")).unwrap();
    expected.extend(["a-subdirectory".into(), ".".into(), "..".into()]);
    expected.sort();
    let wasm = build_c("listdir");
    let out = run(
        &wasm,
        WasiCtxBuilder::new()
            .args(["listdir", "/data"])
            .preopen_dir(dir.path(), "/data")
            .unwrap(),
    );
    assert_eq!(out.exit_code(), 0, "{}", out.stderr);
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("count=303"));
    assert_eq!(lines.collect::<Vec<_>>(), expected);
}

#[test]
fn reactor_exports_are_callable_after_initialize() {
    let wasm = build_c_reactor("reactor");
    let engine = Engine::default();
    let module = Module::compile(&engine, &wasm).unwrap();
    let mut linker = Linker::new();
    wasmz_wasi::add_to_linker(&mut linker).unwrap();
    for (env, base) in [(None, 100), (Some("7"), 7)] {
        let out = OutputBuffer::new();
        let mut builder = WasiCtxBuilder::new().stdout_buffer(out.clone());
        if let Some(v) = env {
            builder = builder.env("BASE", v);
        }
        let mut store = Store::new(&engine);
        store.set_data(builder.build());
        let mut instance = Instance::new(&mut store, &module, &linker).unwrap();
        assert!(instance.is_reactor() && !instance.is_command());
        assert!(instance.run_start_function().unwrap().is_none());
        assert!(instance.initialize_reactor().unwrap().unwrap().is_ok());
        for i in 0..3 {
            let r = instance
                .call("add", &[RawVal::from(2i32), RawVal::from(i)])
                .unwrap();
            assert_eq!(r.values().unwrap()[0].read_as::<i32>(), base + 2 + i);
        }
        let calls = instance.call("calls", &[]).unwrap();
        assert_eq!(calls.values().unwrap()[0].read_as::<i32>(), 3);
        assert!(instance.call("greet", &[]).unwrap().is_ok());
        assert_eq!(
            out.to_string_lossy(),
            format!("hello from the reactor, base={base}\n")
        );
    }
}

/// Builds the layout of the escape tests: `root/secret.txt` outside, `root/sandbox` preopened, with
/// links pointing out of it (absolute, relative, through a directory link, through a chain) and in.
fn escape_layout() -> TempDir {
    use std::os::unix::fs::symlink;
    let root = TempDir::new("wasi-escape");
    let r = root.path();
    fs::write(r.join("secret.txt"), "secret").unwrap();
    let sb = r.join("sandbox");
    fs::create_dir_all(sb.join("sub")).unwrap();
    fs::write(sb.join("sub/inside.txt"), "inside").unwrap();
    symlink(r.join("secret.txt"), sb.join("abs_link")).unwrap();
    symlink("../secret.txt", sb.join("rel_link")).unwrap();
    symlink("..", sb.join("dir_link")).unwrap();
    symlink("sub/up_link", sb.join("chain_link")).unwrap();
    symlink("../../secret.txt", sb.join("sub/up_link")).unwrap();
    symlink("sub/inside.txt", sb.join("inside_link")).unwrap();
    root
}

#[test]
fn sandbox_escapes_fail_with_notcapable() {
    let root = escape_layout();
    let wasm = build_c("sandbox");
    let out = run(
        &wasm,
        WasiCtxBuilder::new()
            .arg("sandbox")
            .preopen_dir(root.path().join("sandbox"), "/sandbox")
            .unwrap(),
    );
    assert_eq!(out.exit_code(), 0);
    let results: Vec<(&str, i32)> = out
        .stdout
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k, v.parse().unwrap())
        })
        .collect();
    const NOTCAPABLE: i32 = 76;
    let expected = [
        ("dotdot_open", NOTCAPABLE),
        ("deep_dotdot_open", NOTCAPABLE),
        ("dotdot_create", NOTCAPABLE),
        ("dotdot_stat", NOTCAPABLE),
        ("dotdot_mkdir", NOTCAPABLE),
        ("dotdot_unlink", NOTCAPABLE),
        ("dotdot_rename", NOTCAPABLE),
        ("dotdot_opendir", NOTCAPABLE),
        ("symlink_abs_open", NOTCAPABLE),
        ("symlink_rel_open", NOTCAPABLE),
        ("symlink_dir_open", NOTCAPABLE),
        ("symlink_stat", NOTCAPABLE),
        ("symlink_create_through", NOTCAPABLE),
        ("symlink_chain_open", NOTCAPABLE),
        ("make_abs_symlink", NOTCAPABLE),
        // No preopen matches: wasi-libc itself refuses (ENOTCAPABLE), before any host call.
        ("absolute_outside", NOTCAPABLE),
        ("lstat_link", 0),
        ("readlink_link", 0),
        ("inside_dotdot", 0),
        ("inside_link", 0),
    ];
    assert_eq!(results, expected);
    // Nothing outside the sandbox was touched.
    let r = root.path();
    assert_eq!(fs::read_to_string(r.join("secret.txt")).unwrap(), "secret");
    for name in ["created.txt", "newdir", "moved.txt"] {
        assert!(
            !r.join(name).exists(),
            "{name} was created outside the sandbox"
        );
    }
    assert!(r.join("sandbox/sub/inside.txt").exists());
    assert!(!r.join("sandbox/new_abs_link").exists());
}
