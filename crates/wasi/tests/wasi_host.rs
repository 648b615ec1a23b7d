//! WASI host functions called directly from small text-format modules: error numbers of the sandbox
//! checks that wasi-libc would never let through, of unsupported functions and bad pointers, plus
//! `poll_oneoff`, clocks and the fd table.

mod common;

use common::TempDir;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};
use wasmz::{Engine, ExecResult, Instance, Linker, Memory, Module, RawVal, Store};
use wasmz_wasi::{Errno, WasiCtxBuilder};

/// The system allocator, recording the largest allocation each thread makes (see [`largest_alloc`]).
struct Tracking;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is passed on to the system allocator unchanged; the bookkeeping only reads the
// layout and touches a thread-local `Cell` without destructor (so it never allocates).
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(layout.size())));
        // SAFETY: the caller's guarantees for `alloc` hold for `System.alloc`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(layout.size())));
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(new_size)));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Tracking = Tracking;

/// Runs `f` and returns its result with the size of the largest allocation the thread made meanwhile.
fn largest_alloc<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    let result = f();
    (result, LARGEST.with(Cell::get))
}

/// A module exporting, for each (name, params), a function `name` that calls the WASI import of the
/// same name with its own parameters and returns its error number.
struct Guest {
    instance: Instance,
    memory: Memory,
    _store: Store,
}

const SIGS: &[(&str, &str)] = &[
    ("path_open", "i32 i32 i32 i32 i32 i64 i64 i32 i32"),
    ("path_create_directory", "i32 i32 i32"),
    ("path_filestat_get", "i32 i32 i32 i32 i32"),
    ("path_symlink", "i32 i32 i32 i32 i32"),
    ("path_unlink_file", "i32 i32 i32"),
    ("path_remove_directory", "i32 i32 i32"),
    ("path_link", "i32 i32 i32 i32 i32 i32 i32"),
    ("path_rename", "i32 i32 i32 i32 i32 i32"),
    ("path_filestat_set_times", "i32 i32 i32 i32 i64 i64 i32"),
    ("sock_shutdown", "i32 i32"),
    ("sock_recv", "i32 i32 i32 i32 i32 i32"),
    ("fd_pread", "i32 i32 i32 i64 i32"),
    ("fd_tell", "i32 i32"),
    ("fd_advise", "i32 i64 i64 i32"),
    ("fd_allocate", "i32 i64 i64"),
    ("fd_sync", "i32"),
    ("fd_fdstat_set_flags", "i32 i32"),
    ("fd_fdstat_set_rights", "i32 i64 i64"),
    ("fd_filestat_get", "i32 i32"),
    ("fd_filestat_set_size", "i32 i64"),
    ("fd_filestat_set_times", "i32 i64 i64 i32"),
    ("proc_raise", "i32"),
    ("sock_accept", "i32 i32 i32"),
    ("sock_send", "i32 i32 i32 i32 i32"),
    ("path_readlink", "i32 i32 i32 i32 i32 i32"),
    ("fd_write", "i32 i32 i32 i32"),
    ("fd_pwrite", "i32 i32 i32 i64 i32"),
    ("fd_readdir", "i32 i32 i32 i64 i32"),
    ("fd_read", "i32 i32 i32 i32"),
    ("fd_seek", "i32 i64 i32 i32"),
    ("fd_close", "i32"),
    ("fd_renumber", "i32 i32"),
    ("fd_fdstat_get", "i32 i32"),
    ("fd_prestat_get", "i32 i32"),
    ("fd_prestat_dir_name", "i32 i32 i32"),
    ("args_sizes_get", "i32 i32"),
    ("clock_time_get", "i32 i64 i32"),
    ("clock_res_get", "i32 i32"),
    ("poll_oneoff", "i32 i32 i32 i32"),
    ("random_get", "i32 i32"),
    ("sched_yield", ""),
];

fn wat() -> String {
    let mut s = String::from("(module\n");
    for (name, params) in SIGS {
        s += &format!(
            "(import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {params}) (result i32)))\n"
        );
    }
    s += "(import \"wasi_snapshot_preview1\" \"proc_exit\" (func $proc_exit (param i32)))\n";
    s += "(memory (export \"memory\") 1)\n";
    for (name, params) in SIGS {
        let gets: String = (0..params.split_whitespace().count())
            .map(|i| format!("(local.get {i})"))
            .collect();
        s += &format!(
            "(func (export \"{name}\") (param {params}) (result i32) (call ${name} {gets}))\n"
        );
    }
    s += "(func (export \"exit\") (param i32) (call $proc_exit (local.get 0)) unreachable))";
    s
}

impl Guest {
    fn new(ctx: Option<wasmz_wasi::WasiCtx>) -> Guest {
        let engine = Engine::default();
        let module = Module::compile(&engine, wat()).unwrap();
        let mut linker = Linker::new();
        wasmz_wasi::add_to_linker(&mut linker).unwrap();
        let mut store = Store::new(&engine);
        if let Some(ctx) = ctx {
            store.set_data(ctx);
        }
        let instance = Instance::new(&mut store, &module, &linker).unwrap();
        let memory = instance.memory("memory").unwrap();
        Guest {
            instance,
            memory,
            _store: store,
        }
    }

    fn call(&mut self, name: &str, args: &[RawVal]) -> u16 {
        match self.instance.call(name, args).unwrap() {
            ExecResult::Ok(v) => v[0].read_as::<i32>() as u16,
            other => panic!("{name}: {other:?}"),
        }
    }

    /// Writes `s` at `at` and returns (pointer, length) arguments.
    fn string(&self, at: u32, s: &str) -> [RawVal; 2] {
        self.memory.write(at as u64, s.as_bytes()).unwrap();
        [RawVal::from(at as i32), RawVal::from(s.len() as i32)]
    }

    fn u32_at(&self, at: u64) -> u32 {
        let mut b = [0; 4];
        self.memory.read(at, &mut b).unwrap();
        u32::from_le_bytes(b)
    }

    fn u64_at(&self, at: u64) -> u64 {
        let mut b = [0; 8];
        self.memory.read(at, &mut b).unwrap();
        u64::from_le_bytes(b)
    }

    fn path_open(&mut self, path: &str, oflags: i32) -> u16 {
        self.path_open_flags(path, 1, oflags)
    }

    /// `path_open` below fd 3 with `lookupflags` (1: follow a final symbolic link).
    fn path_open_flags(&mut self, path: &str, lookup: i32, oflags: i32) -> u16 {
        self.path_open_at(3, path, lookup, oflags, -1)
    }

    /// `path_open` below `dir` with the base rights `rights`; the new fd is stored at 16.
    fn path_open_at(&mut self, dir: i32, path: &str, lookup: i32, oflags: i32, rights: i64) -> u16 {
        let [p, l] = self.string(1000, path);
        self.call(
            "path_open",
            &[
                RawVal::from(dir),
                RawVal::from(lookup),
                p,
                l,
                RawVal::from(oflags),
                RawVal::from(rights),
                RawVal::from(-1i64),
                RawVal::from(0i32),
                RawVal::from(16i32),
            ],
        )
    }

    /// Calls `name` with a first argument, then the (pointer, length) of `path` (written at 1000),
    /// then `rest`.
    fn call_path(&mut self, name: &str, first: &[RawVal], path: &str, rest: &[RawVal]) -> u16 {
        let [p, l] = self.string(1000, path);
        let args: Vec<RawVal> = first
            .iter()
            .copied()
            .chain([p, l])
            .chain(rest.iter().copied())
            .collect();
        self.call(name, &args)
    }

    /// Calls `name` with (fd 3, `old`, fd 3, `new`), for `path_rename` and `path_symlink`'s shape.
    fn two_paths(&mut self, name: &str, old: &str, new: &str) -> u16 {
        let [o, ol] = self.string(1000, old);
        let [n, nl] = self.string(1100, new);
        let three = RawVal::from(3i32);
        match name {
            "path_symlink" => self.call(name, &[o, ol, three, n, nl]),
            "path_link" => self.call(name, &[three, RawVal::from(0i32), o, ol, three, n, nl]),
            _ => self.call(name, &[three, o, ol, three, n, nl]),
        }
    }
}

const FAULT: u16 = Errno::Fault as u16;

fn i(v: i32) -> RawVal {
    RawVal::from(v)
}

const NOTCAPABLE: u16 = Errno::Notcapable as u16;

#[test]
fn the_host_refuses_paths_leaving_the_preopen() {
    let root = TempDir::new("wasi-host-escape");
    std::fs::create_dir(root.path().join("box")).unwrap();
    std::fs::create_dir(root.path().join("box/a")).unwrap();
    std::fs::write(root.path().join("outside.txt"), "x").unwrap();
    let ctx = WasiCtxBuilder::new()
        .preopen_dir(root.path().join("box"), "/box")
        .unwrap()
        .build();
    let mut g = Guest::new(Some(ctx));
    let outside = root.path().join("outside.txt");
    for path in [
        "/etc/passwd",
        outside.to_str().unwrap(),
        "..",
        "../outside.txt",
        "a/../../outside.txt",
        "a/./../a/../..",
        "./../box",
    ] {
        assert_eq!(g.path_open(path, 0), NOTCAPABLE, "path_open {path}");
    }
    // Creating outside (O_CREAT), directories, stat, unlink.
    assert_eq!(g.path_open("../new.txt", 1), NOTCAPABLE);
    let [p, l] = g.string(1000, "/tmp/x");
    assert_eq!(g.call("path_create_directory", &[i(3), p, l]), NOTCAPABLE);
    let [p, l] = g.string(1000, "../outside.txt");
    assert_eq!(
        g.call("path_filestat_get", &[i(3), i(1), p, l, i(2000)]),
        NOTCAPABLE
    );
    assert_eq!(g.call("path_unlink_file", &[i(3), p, l]), NOTCAPABLE);
    // Absolute link targets are refused; relative ones are created (and stay harmless).
    let [t, tl] = g.string(1000, "/etc/passwd");
    let [p, l] = g.string(1100, "link");
    assert_eq!(g.call("path_symlink", &[t, tl, i(3), p, l]), NOTCAPABLE);
    let [t, tl] = g.string(1000, "../outside.txt");
    assert_eq!(g.call("path_symlink", &[t, tl, i(3), p, l]), 0);
    assert_eq!(g.path_open("link", 0), NOTCAPABLE);
    // Without following, the last component is a link: `loop`, from O_NOFOLLOW.
    assert_eq!(g.path_open_flags("link", 0, 0), Errno::Loop as u16);
    assert!(root.path().join("outside.txt").exists());
    assert!(!root.path().join("new.txt").exists());
    // Inside is fine: `.`, `a/..`, an empty path is `noent` (directories opened with read rights only:
    // write rights on a directory are `isdir`).
    let read = wasmz_wasi::rights::FD_READ as i64;
    assert_eq!(g.path_open_at(3, ".", 1, 2, read), 0);
    // Write rights on a directory without `O_DIRECTORY`: `isdir`, as POSIX open(dir, O_RDWR).
    assert_eq!(g.path_open("a", 0), Errno::Isdir as u16);
    assert_eq!(g.path_open_at(3, "a/..", 1, 2, read), 0);
    assert_eq!(g.path_open("", 0), Errno::Noent as u16);
}

#[test]
fn proc_exit_ends_the_run_with_its_status() {
    let mut g = Guest::new(Some(WasiCtxBuilder::new().build()));
    for code in [0, 5, 255] {
        assert!(matches!(
            g.instance.call("exit", &[i(code)]).unwrap(),
            ExecResult::Exit(c) if c == code
        ));
    }
}

#[test]
fn unsupported_functions_return_their_errno() {
    let mut g = Guest::new(Some(WasiCtxBuilder::new().build()));
    assert_eq!(g.call("proc_raise", &[i(6)]), Errno::Nosys as u16);
    // Sockets: none can be open, so `badf` or `notsock` (57).
    assert_eq!(
        g.call("sock_accept", &[i(0), i(0), i(0)]),
        Errno::Notsock as u16
    );
    assert_eq!(
        g.call("sock_send", &[i(9), i(0), i(0), i(0), i(0)]),
        Errno::Badf as u16
    );
    assert_eq!(g.call("sched_yield", &[]), 0);
}

#[test]
fn bad_pointers_return_fault_and_bad_fds_badf() {
    let mut g = Guest::new(Some(WasiCtxBuilder::new().capture_stdout().build()));

    assert_eq!(g.call("args_sizes_get", &[i(65534), i(0)]), FAULT);
    // An iovec pointing past the end of memory.
    g.memory.write(0, &65530u32.to_le_bytes()).unwrap();
    g.memory.write(4, &100u32.to_le_bytes()).unwrap();
    assert_eq!(g.call("fd_write", &[i(1), i(0), i(1), i(16)]), FAULT);
    assert_eq!(g.call("fd_write", &[i(1), i(-8), i(1), i(16)]), FAULT);
    assert_eq!(g.call("random_get", &[i(65000), i(1000)]), FAULT);
    assert_eq!(
        g.call("fd_write", &[i(42), i(0), i(0), i(16)]),
        Errno::Badf as u16
    );
    assert_eq!(g.call("fd_close", &[i(42)]), Errno::Badf as u16);
    // Streams cannot seek.
    assert_eq!(
        g.call("fd_seek", &[i(1), RawVal::from(0i64), i(0), i(16)]),
        Errno::Spipe as u16
    );
}

#[test]
fn a_store_without_wasi_ctx_traps() {
    let mut g = Guest::new(None);
    match g.instance.call("sched_yield", &[]).unwrap() {
        ExecResult::Trap(t) => assert!(t.message().unwrap().contains("WasiCtx"), "{t}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn clocks_and_random_bytes() {
    let mut g = Guest::new(Some(WasiCtxBuilder::new().build()));
    for id in 0..4 {
        assert_eq!(g.call("clock_res_get", &[i(id), i(8)]), 0);
        assert!(g.u64_at(8) >= 1);
        assert_eq!(
            g.call("clock_time_get", &[i(id), RawVal::from(1i64), i(8)]),
            0
        );
        assert!(g.u64_at(8) > 0, "clock {id}");
    }
    assert_eq!(
        g.call("clock_time_get", &[i(9), RawVal::from(1i64), i(8)]),
        Errno::Inval as u16
    );
    assert_eq!(g.call("random_get", &[i(100), i(64)]), 0);
    let mut a = [0u8; 64];
    g.memory.read(100, &mut a).unwrap();
    assert_eq!(g.call("random_get", &[i(100), i(64)]), 0);
    let mut b = [0u8; 64];
    g.memory.read(100, &mut b).unwrap();
    assert_ne!(a, b);
}

/// Writes a subscription at `at`: clock (tag 0) with a relative timeout, or fd read (tag 1).
fn subscription(g: &Guest, at: u64, userdata: u64, tag: u8, fd_or_clock: u32, timeout: u64) {
    let mut s = [0u8; 48];
    s[0..8].copy_from_slice(&userdata.to_le_bytes());
    s[8] = tag;
    s[16..20].copy_from_slice(&fd_or_clock.to_le_bytes());
    s[24..32].copy_from_slice(&timeout.to_le_bytes());
    g.memory.write(at, &s).unwrap();
}

#[test]
fn poll_oneoff_sleeps_for_clocks_and_reports_fds_ready() {
    let mut g = Guest::new(Some(WasiCtxBuilder::new().stdin_bytes("abc").build()));
    // Two clocks: 30 ms and 5 s. Only the first fires.
    subscription(&g, 0, 11, 0, 1, 30_000_000);
    subscription(&g, 48, 22, 0, 1, 5_000_000_000);
    let start = Instant::now();
    assert_eq!(g.call("poll_oneoff", &[i(0), i(1000), i(2), i(2000)]), 0);
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(30) && elapsed < Duration::from_secs(4));
    assert_eq!(g.u32_at(2000), 1);
    assert_eq!(g.u64_at(1000), 11);
    // An fd subscription is ready at once, even with a long clock.
    subscription(&g, 0, 33, 1, 0, 0);
    let start = Instant::now();
    assert_eq!(g.call("poll_oneoff", &[i(0), i(1000), i(2), i(2000)]), 0);
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(g.u32_at(2000), 1);
    assert_eq!(g.u64_at(1000), 33);
    assert_eq!(
        g.call("poll_oneoff", &[i(0), i(1000), i(0), i(2000)]),
        Errno::Inval as u16
    );
}

#[test]
fn fd_table_stdio_preopens_and_renumber() {
    let dir = TempDir::new("wasi-host-fds");
    let mut g = Guest::new(Some(
        WasiCtxBuilder::new()
            .stdin_bytes("hello")
            .preopen_dir(dir.path(), "/first")
            .unwrap()
            .preopen_dir(dir.path(), "second")
            .unwrap()
            .build(),
    ));
    let mut stat = [0u8; 24];
    assert_eq!(g.call("fd_fdstat_get", &[i(0), i(100)]), 0);
    g.memory.read(100, &mut stat).unwrap();
    // Fixed bytes are not a terminal.
    assert_eq!(stat[0], wasmz_wasi::filetype::UNKNOWN);
    assert_eq!(g.call("fd_fdstat_get", &[i(3), i(100)]), 0);
    g.memory.read(100, &mut stat).unwrap();
    assert_eq!(stat[0], wasmz_wasi::filetype::DIRECTORY);
    // Preopens: fds 3 and 4, then badf.
    assert_eq!(
        g.call("fd_prestat_get", &[i(0), i(100)]),
        Errno::Badf as u16
    );
    assert_eq!(g.call("fd_prestat_get", &[i(3), i(100)]), 0);
    assert_eq!(g.u32_at(104), 6);
    assert_eq!(g.call("fd_prestat_dir_name", &[i(3), i(200), i(6)]), 0);
    let mut name = [0u8; 6];
    g.memory.read(200, &mut name).unwrap();
    assert_eq!(&name, b"/first");
    assert_eq!(
        g.call("fd_prestat_dir_name", &[i(4), i(200), i(3)]),
        Errno::Nametoolong as u16
    );
    assert_eq!(
        g.call("fd_prestat_get", &[i(5), i(100)]),
        Errno::Badf as u16
    );
    // Renumber 4 onto 3: fd 3 is now "second", fd 4 is gone.
    assert_eq!(g.call("fd_renumber", &[i(4), i(3)]), 0);
    assert_eq!(g.call("fd_prestat_get", &[i(3), i(100)]), 0);
    assert_eq!(g.u32_at(104), 6);
    assert_eq!(
        g.call("fd_prestat_get", &[i(4), i(100)]),
        Errno::Badf as u16
    );
    assert_eq!(g.call("fd_renumber", &[i(9), i(3)]), Errno::Badf as u16);
    // stdin bytes: read them through an iovec.
    g.memory.write(0, &300u32.to_le_bytes()).unwrap();
    g.memory.write(4, &10u32.to_le_bytes()).unwrap();
    assert_eq!(g.call("fd_read", &[i(0), i(0), i(1), i(8)]), 0);
    assert_eq!(g.u32_at(8), 5);
    let mut got = [0u8; 5];
    g.memory.read(300, &mut got).unwrap();
    assert_eq!(&got, b"hello");
    assert_eq!(g.call("fd_read", &[i(0), i(0), i(1), i(8)]), 0);
    assert_eq!(g.u32_at(8), 0);
    assert_eq!(g.call("fd_close", &[i(0)]), 0);
    assert_eq!(
        g.call("fd_read", &[i(0), i(0), i(1), i(8)]),
        Errno::Badf as u16
    );
}

/// Writes an I/O vector of (pointer, length) pairs at `at`.
fn iovecs(g: &Guest, at: u64, bufs: &[(u32, u32)]) {
    for (k, &(ptr, len)) in bufs.iter().enumerate() {
        let entry = at + 8 * k as u64;
        g.memory.write(entry, &ptr.to_le_bytes()).unwrap();
        g.memory.write(entry + 4, &len.to_le_bytes()).unwrap();
    }
}

#[test]
fn vectored_reads_and_writes_go_straight_to_guest_memory() {
    let out = wasmz_wasi::OutputBuffer::new();
    let mut g = Guest::new(Some(
        WasiCtxBuilder::new()
            .stdin_bytes("abcdefghij")
            .stdout_buffer(out.clone())
            .build(),
    ));
    // Three buffers, filled in order: 3 + 4 bytes, then the last 3 of the 10 into a 5-byte buffer.
    iovecs(&g, 0, &[(300, 3), (400, 4), (500, 5)]);
    assert_eq!(g.call("fd_read", &[i(0), i(0), i(3), i(64)]), 0);
    assert_eq!(g.u32_at(64), 10);
    let mut got = [0u8; 5];
    g.memory.read(300, &mut got[..3]).unwrap();
    assert_eq!(&got[..3], b"abc");
    g.memory.read(400, &mut got[..4]).unwrap();
    assert_eq!(&got[..4], b"defg");
    g.memory.read(500, &mut got).unwrap();
    assert_eq!(&got, b"hij\0\0");
    // Writes gather the buffers in order, empty ones included.
    g.memory.write(600, b"Hello, world").unwrap();
    iovecs(&g, 0, &[(607, 5), (700, 0), (605, 2), (600, 5)]);
    assert_eq!(g.call("fd_write", &[i(1), i(0), i(4), i(64)]), 0);
    assert_eq!(g.u32_at(64), 12);
    assert_eq!(out.contents(), b"world, Hello");
}

#[test]
fn overlapping_read_buffers_get_a_shorter_read() {
    let mut g = Guest::new(Some(
        WasiCtxBuilder::new().stdin_bytes("0123456789").build(),
    ));
    // Overlapping buffers cannot both be borrowed: only the first is filled, which WASI allows.
    iovecs(&g, 0, &[(300, 4), (302, 4)]);
    assert_eq!(g.call("fd_read", &[i(0), i(0), i(2), i(64)]), 0);
    assert_eq!(g.u32_at(64), 4);
    let mut got = [0u8; 6];
    g.memory.read(300, &mut got).unwrap();
    assert_eq!(&got, b"0123\0\0");
    // The rest is still there for the next read.
    iovecs(&g, 0, &[(300, 6)]);
    assert_eq!(g.call("fd_read", &[i(0), i(0), i(1), i(64)]), 0);
    assert_eq!(g.u32_at(64), 6);
}

#[test]
fn a_bad_buffer_anywhere_in_the_vector_faults_before_any_io() {
    let out = wasmz_wasi::OutputBuffer::new();
    let mut g = Guest::new(Some(
        WasiCtxBuilder::new()
            .stdin_bytes("data")
            .stdout_buffer(out.clone())
            .build(),
    ));
    let end = g.memory.data_size() as u32;
    iovecs(&g, 0, &[(300, 2), (end - 1, 2)]);
    assert_eq!(g.call("fd_write", &[i(1), i(0), i(2), i(64)]), FAULT);
    assert!(out.contents().is_empty(), "nothing was written");
    assert_eq!(g.call("fd_read", &[i(0), i(0), i(2), i(64)]), FAULT);
    // Nothing was consumed either.
    iovecs(&g, 0, &[(300, 8)]);
    assert_eq!(g.call("fd_read", &[i(0), i(0), i(1), i(64)]), 0);
    assert_eq!(g.u32_at(64), 4);
}

#[test]
fn vectored_io_works_on_a_shared_memory() {
    use wasmz::{Config, Limits, MemoryType, SharedMemory};
    let mut config = Config::new();
    config.wasm_threads(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::compile(
        &engine,
        r#"(module
          (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
          (import "env" "memory" (memory 1 1 shared))
          (func (export "fd_read") (param i32 i32 i32 i32) (result i32)
            (call $read (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
          (func (export "fd_write") (param i32 i32 i32 i32) (result i32)
            (call $write (local.get 0) (local.get 1) (local.get 2) (local.get 3))))"#,
    )
    .unwrap();
    let memory = SharedMemory::new(
        &engine,
        MemoryType {
            limits: Limits {
                min: 1,
                max: Some(1),
            },
            shared: true,
            ..MemoryType::new(0, None)
        },
    )
    .unwrap();
    let mut linker = Linker::new();
    wasmz_wasi::add_to_linker(&mut linker).unwrap();
    linker
        .define_shared_memory("env", "memory", memory.clone())
        .unwrap();
    let out = wasmz_wasi::OutputBuffer::new();
    let mut store = Store::new(&engine);
    store.set_data(
        WasiCtxBuilder::new()
            .stdin_bytes("abcdefg")
            .stdout_buffer(out.clone())
            .build(),
    );
    let mut instance = Instance::new(&mut store, &module, &linker).unwrap();
    let mut call = |name: &str, args: &[RawVal]| match instance.call(name, args).unwrap() {
        ExecResult::Ok(v) => v[0].read_as::<i32>(),
        other => panic!("{name}: {other:?}"),
    };
    let put = |at: u64, v: u32| memory.write(at, &v.to_le_bytes()).unwrap();
    let get = |at: u64| {
        let mut b = [0; 4];
        memory.read(at, &mut b).unwrap();
        u32::from_le_bytes(b)
    };
    // Two buffers, 3 and 8 bytes: the 7 bytes of input are spread over them.
    for (at, v) in [(0, 300), (4, 3), (8, 400), (12, 8)] {
        put(at, v);
    }
    assert_eq!(call("fd_read", &[i(0), i(0), i(2), i(64)]), 0);
    assert_eq!(get(64), 7);
    let mut got = [0u8; 4];
    memory.read(400, &mut got).unwrap();
    assert_eq!(&got, b"defg");
    for (at, v) in [(0, 300), (4, 3), (8, 400), (12, 4)] {
        put(at, v);
    }
    assert_eq!(call("fd_write", &[i(1), i(0), i(2), i(64)]), 0);
    assert_eq!(get(64), 7);
    assert_eq!(out.contents(), b"abcdefg");
}

#[test]
fn huge_guest_lengths_fault_before_any_host_allocation() {
    let dir = TempDir::new("wasi-host-huge");
    std::fs::write(dir.path().join("file"), "data").unwrap();
    let mut g = Guest::new(Some(
        WasiCtxBuilder::new()
            .stdin_bytes("input")
            .capture_stdout()
            .preopen_dir(dir.path(), "/d")
            .unwrap()
            .build(),
    ));
    // The memory is one page: no host buffer for a call needs more (the call machinery itself
    // allocates a little).
    let limit = g.memory.data_size() as usize;
    let huge = -1i32; // 0xffff_ffff
    let i64v = RawVal::from;
    // One iovec at 0: 0xffffffff bytes at 100.
    iovecs(&g, 0, &[(100, u32::MAX)]);
    let [p, _] = g.string(100, "file");
    let calls: Vec<(&str, Vec<RawVal>)> = vec![
        ("fd_write", vec![i(1), i(0), i(1), i(16)]),
        ("fd_write", vec![i(1), i(0), i(0x1fff_ffff), i(16)]),
        ("fd_write", vec![i(1), i(0), i(huge), i(16)]),
        ("fd_read", vec![i(0), i(0), i(1), i(16)]),
        ("fd_read", vec![i(0), i(0), i(0x1fff_ffff), i(16)]),
        ("fd_pwrite", vec![i(4), i(0), i(1), i64v(0i64), i(16)]),
        (
            "path_open",
            vec![
                i(3),
                i(0),
                p,
                i(huge),
                i(0),
                i64v(-1i64),
                i64v(-1i64),
                i(0),
                i(16),
            ],
        ),
        ("path_symlink", vec![p, i(huge), i(3), p, i(4)]),
        ("path_symlink", vec![p, i(4), i(3), p, i(huge)]),
        ("path_unlink_file", vec![i(3), p, i(huge)]),
        ("path_readlink", vec![i(3), p, i(4), i(200), i(huge), i(16)]),
        ("random_get", vec![i(0), i(huge)]),
        ("random_get", vec![i(100), i(limit as i32)]),
        ("poll_oneoff", vec![i(0), i(0), i(0x0555_5555), i(16)]),
        ("poll_oneoff", vec![i(0), i(0), i(huge), i(16)]),
        ("fd_readdir", vec![i(3), i(0), i(huge), i64v(0i64), i(16)]),
    ];
    // Open the file as fd 4 for fd_pwrite.
    assert_eq!(g.path_open("file", 0), 0);
    assert_eq!(g.u32_at(16), 4);
    iovecs(&g, 0, &[(100, u32::MAX)]);
    for (name, args) in calls {
        let (errno, largest) = largest_alloc(|| g.call(name, &args));
        assert_eq!(errno, FAULT, "{name}{args:?}");
        assert!(
            largest < limit,
            "{name}{args:?} allocated {largest} bytes on the host"
        );
    }
    // Within bounds, the same calls work, and a large random_get needs no buffer of its size.
    let (errno, largest) = largest_alloc(|| g.call("random_get", &[i(0), i(limit as i32)]));
    assert_eq!(errno, 0);
    assert!(largest <= limit, "random_get allocated {largest} bytes");
    let [p, l] = g.string(100, "file");
    assert_eq!(
        g.call("path_unlink_file", &[i(3), p, l]),
        0,
        "a path in bounds still works"
    );
}

const BADF: u16 = Errno::Badf as u16;

/// A guest with one preopened scratch directory (fd 3) holding `file` (4 bytes) and `dir/`.
fn scratch_guest(label: &str) -> (TempDir, Guest) {
    let dir = TempDir::new(label);
    std::fs::write(dir.path().join("file"), "data").unwrap();
    std::fs::create_dir(dir.path().join("dir")).unwrap();
    let g = Guest::new(Some(
        WasiCtxBuilder::new()
            .capture_stdout()
            .preopen_dir(dir.path(), "/")
            .unwrap()
            .build(),
    ));
    (dir, g)
}

#[test]
fn sockets_badf_for_closed_fds_notsock_for_others() {
    let (_dir, mut g) = scratch_guest("wasi-host-sock");
    // `sock_shutdown(fd, SHUT_RDWR)`: not open, a directory, a stream.
    assert_eq!(g.call("sock_shutdown", &[i(42), i(3)]), BADF);
    assert_eq!(
        g.call("sock_shutdown", &[i(3), i(3)]),
        Errno::Notsock as u16
    );
    assert_eq!(
        g.call("sock_shutdown", &[i(1), i(3)]),
        Errno::Notsock as u16
    );
    assert_eq!(g.path_open("file", 0), 0);
    let file = g.u32_at(16) as i32;
    assert_eq!(
        g.call("sock_recv", &[i(file), i(0), i(0), i(0), i(0), i(0)]),
        57
    );
    assert_eq!(g.call("sock_accept", &[i(42), i(0), i(0)]), BADF);
}

#[test]
fn path_open_directories_are_never_opened_for_writing() {
    let (dir, mut g) = scratch_guest("wasi-host-open-dir");
    let (read, write) = (
        wasmz_wasi::rights::FD_READ as i64,
        wasmz_wasi::rights::FD_WRITE as i64,
    );
    const DIRECTORY: i32 = 2;
    const TRUNC: i32 = 8;
    // O_DIRECTORY with a write right: `isdir` (the right used to be dropped silently).
    assert_eq!(
        g.path_open_at(3, ".", 0, DIRECTORY, read | write),
        Errno::Isdir as u16
    );
    assert_eq!(
        g.path_open_at(3, "dir", 0, DIRECTORY, write),
        Errno::Isdir as u16
    );
    assert_eq!(g.path_open_at(3, "dir/", 0, 0, write), Errno::Isdir as u16);
    // Without a write right it opens.
    assert_eq!(g.path_open_at(3, ".", 0, DIRECTORY, read), 0);
    assert_eq!(g.path_open_at(3, ".", 0, DIRECTORY, 0), 0);
    // O_DIRECTORY with O_TRUNC: `inval`, on a file or a directory, and the file is not truncated.
    assert_eq!(
        g.path_open_at(3, "file", 0, DIRECTORY | TRUNC, 0),
        Errno::Inval as u16
    );
    assert_eq!(
        g.path_open_at(3, "dir", 0, DIRECTORY | TRUNC, 0),
        Errno::Inval as u16
    );
    assert_eq!(std::fs::read(dir.path().join("file")).unwrap(), b"data");
    // O_DIRECTORY on a file: `notdir`.
    assert_eq!(
        g.path_open_at(3, "file", 0, DIRECTORY, read),
        Errno::Notdir as u16
    );
}

#[test]
fn trailing_slashes_fail_before_changing_anything() {
    let (dir, mut g) = scratch_guest("wasi-host-slashes");
    let root = dir.path().to_path_buf();
    let exists = |name: &str| std::fs::symlink_metadata(root.join(name)).is_ok();
    const NOENT: u16 = Errno::Noent as u16;
    const NOTDIR: u16 = Errno::Notdir as u16;
    const EXIST: u16 = Errno::Exist as u16;
    // path_symlink: a free name with a slash is `noent` (it used to create the link), a directory
    // `exist`, a file `notdir`.
    assert_eq!(g.two_paths("path_symlink", "file", "s1/"), NOENT);
    assert!(!exists("s1"));
    assert_eq!(g.two_paths("path_symlink", "file", "dir/"), EXIST);
    assert_eq!(g.two_paths("path_symlink", "file", "file/"), NOTDIR);
    assert_eq!(g.two_paths("path_symlink", "file", "s1"), 0);
    // path_link: the same for the new name; a slash on a file source is `notdir`.
    assert_eq!(g.two_paths("path_link", "file", "l1/"), NOENT);
    assert!(!exists("l1"));
    assert_eq!(g.two_paths("path_link", "file/", "l1"), NOTDIR);
    assert!(!exists("l1"));
    assert_eq!(g.two_paths("path_link", "dir/", "l1"), Errno::Perm as u16);
    assert_eq!(g.two_paths("path_link", "file", "l1"), 0);
    // path_rename: a file with a slash on either side is `notdir`, and stays where it is.
    assert_eq!(g.two_paths("path_rename", "file/", "moved"), NOTDIR);
    assert_eq!(g.two_paths("path_rename", "file", "moved/"), NOTDIR);
    assert!(exists("file") && !exists("moved"));
    assert_eq!(g.two_paths("path_rename", "dir/", "dir2/"), 0);
    assert!(exists("dir2") && !exists("dir"));
    // path_filestat_set_times: `notdir`.
    let t = RawVal::from(0i64);
    assert_eq!(
        g.call_path(
            "path_filestat_set_times",
            &[i(3), i(0)],
            "file/",
            &[t, t, i(5)]
        ),
        NOTDIR
    );
    // path_readlink: a slash follows the link to a file: `notdir` (not `inval`).
    assert_eq!(
        g.call_path("path_readlink", &[i(3)], "s1/", &[i(2000), i(100), i(16)]),
        NOTDIR
    );
    assert_eq!(
        g.call_path("path_readlink", &[i(3)], "s1", &[i(2000), i(100), i(16)]),
        0
    );
    // path_unlink_file: a directory with a slash is `isdir`, a file `notdir`.
    assert_eq!(
        g.call_path("path_unlink_file", &[i(3)], "dir2/", &[]),
        Errno::Isdir as u16
    );
    assert_eq!(
        g.call_path("path_unlink_file", &[i(3)], "file/", &[]),
        NOTDIR
    );
    assert!(exists("file") && exists("dir2"));
}

#[test]
fn rights_are_reported_but_cannot_be_changed() {
    let (_dir, mut g) = scratch_guest("wasi-host-rights");
    use wasmz_wasi::rights;
    assert_eq!(g.call("fd_fdstat_get", &[i(3), i(100)]), 0);
    let base = g.u64_at(108);
    assert_eq!(base & rights::PATH_FILESTAT_SET_SIZE, 0, "not advertised");
    assert_eq!(base & rights::FD_FILESTAT_SET_SIZE, 0);
    assert_ne!(base & rights::PATH_OPEN, 0);
    // Even the same rights: `notsup`; a closed fd: `badf`.
    let (b, inh) = (
        RawVal::from(base as i64),
        RawVal::from(g.u64_at(116) as i64),
    );
    assert_eq!(
        g.call("fd_fdstat_set_rights", &[i(3), b, inh]),
        Errno::Notsup as u16
    );
    assert_eq!(
        g.call(
            "fd_fdstat_set_rights",
            &[i(3), RawVal::from(0i64), RawVal::from(0i64)]
        ),
        Errno::Notsup as u16
    );
    assert_eq!(g.call("fd_fdstat_set_rights", &[i(42), b, inh]), BADF);
    // The streams' rights: read for stdin, write for stdout, never seek or tell.
    for (fd, right) in [
        (0, rights::FD_READ),
        (1, rights::FD_WRITE),
        (2, rights::FD_WRITE),
    ] {
        assert_eq!(g.call("fd_fdstat_get", &[i(fd), i(100)]), 0);
        let base = g.u64_at(108);
        assert_ne!(base & right, 0, "fd {fd}");
        assert_eq!(base & (rights::FD_SEEK | rights::FD_TELL), 0, "fd {fd}");
    }
}

#[test]
fn directory_and_stream_fds_refuse_what_they_do_not_support() {
    let (dir, mut g) = scratch_guest("wasi-host-kinds");
    let l = RawVal::from;
    iovecs(&g, 0, &[(300, 8)]);
    // A directory fd: no reading, positions, advice, allocation or size.
    let dir_calls: Vec<(&str, Vec<RawVal>)> = vec![
        ("fd_read", vec![i(3), i(0), i(1), i(64)]),
        ("fd_write", vec![i(3), i(0), i(1), i(64)]),
        ("fd_pread", vec![i(3), i(0), i(1), l(0i64), i(64)]),
        ("fd_pwrite", vec![i(3), i(0), i(1), l(0i64), i(64)]),
        ("fd_seek", vec![i(3), l(0i64), i(1), i(64)]),
        ("fd_tell", vec![i(3), i(64)]),
        ("fd_advise", vec![i(3), l(0i64), l(1i64), i(0)]),
        ("fd_allocate", vec![i(3), l(0i64), l(1i64)]),
        ("fd_filestat_set_size", vec![i(3), l(0i64)]),
    ];
    for (name, args) in &dir_calls {
        assert_eq!(g.call(name, args), BADF, "{name} on a directory");
    }
    // Stdout: not a directory to list or open below, no flags, sync or times.
    let t = l(0i64);
    let stream_calls: Vec<(&str, Vec<RawVal>)> = vec![
        ("fd_readdir", vec![i(1), i(300), i(100), l(0i64), i(64)]),
        ("fd_fdstat_set_flags", vec![i(1), i(0)]),
        ("fd_sync", vec![i(1)]),
        ("fd_filestat_set_times", vec![i(1), t, t, i(5)]),
        ("fd_allocate", vec![i(1), l(0i64), l(1i64)]),
    ];
    for (name, args) in &stream_calls {
        assert_eq!(g.call(name, args), BADF, "{name} on stdout");
    }
    assert_eq!(g.path_open_at(1, "file", 0, 0, -1), BADF);
    // A file opened below a file: `notdir`.
    assert_eq!(g.path_open("file", 0), 0);
    let file = g.u32_at(16) as i32;
    assert_eq!(g.path_open_at(file, "x", 0, 0, -1), Errno::Notdir as u16);
    // fd_allocate on a file: `notsup`, and the file keeps its size.
    assert_eq!(
        g.call("fd_allocate", &[i(file), l(0i64), l(100i64)]),
        Errno::Notsup as u16
    );
    assert_eq!(std::fs::metadata(dir.path().join("file")).unwrap().len(), 4);
}

#[test]
fn streams_that_are_not_host_streams_are_of_unknown_type() {
    let (_dir, mut g) = scratch_guest("wasi-host-stream-types");
    for fd in 0..3 {
        assert_eq!(g.call("fd_fdstat_get", &[i(fd), i(100)]), 0);
        let mut b = [0u8; 1];
        g.memory.read(100, &mut b).unwrap();
        assert_eq!(b[0], wasmz_wasi::filetype::UNKNOWN, "fdstat of {fd}");
        assert_eq!(g.call("fd_filestat_get", &[i(fd), i(200)]), 0);
        g.memory.read(216, &mut b).unwrap();
        assert_eq!(b[0], wasmz_wasi::filetype::UNKNOWN, "filestat of {fd}");
    }
}

#[test]
fn fd_numbers_are_reused_last_freed_first() {
    let (_dir, mut g) = scratch_guest("wasi-host-fd-reuse");
    let open = |g: &mut Guest| {
        assert_eq!(g.path_open("file", 0), 0);
        g.u32_at(16)
    };
    assert_eq!([open(&mut g), open(&mut g), open(&mut g)], [4, 5, 6]);
    assert_eq!(g.call("fd_close", &[i(4)]), 0);
    assert_eq!(g.call("fd_close", &[i(6)]), 0);
    assert_eq!([open(&mut g), open(&mut g), open(&mut g)], [6, 4, 7]);
    // Moving stdout away frees number 1, which the next open takes (as in Wasmtime).
    assert_eq!(g.call("fd_renumber", &[i(1), i(5)]), 0);
    assert_eq!(open(&mut g), 1);
    // `fd_renumber` frees its source.
    assert_eq!(g.call("fd_close", &[i(7)]), 0);
    assert_eq!(g.call("fd_renumber", &[i(4), i(6)]), 0);
    assert_eq!([open(&mut g), open(&mut g), open(&mut g)], [4, 7, 8]);
}

/// A guest sleeping in `poll_oneoff` is stopped by epoch interruption, as a guest looping is: the
/// call returns `intr` once the deadline is reached, and the code then traps at its next check.
#[test]
fn poll_oneoff_sleeps_end_at_the_epoch_deadline() {
    let mut config = wasmz::Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).unwrap();
    // One relative clock subscription of u64::MAX nanoseconds (about 584 years).
    let module = Module::compile(
        &engine,
        r#"(module
          (import "wasi_snapshot_preview1" "poll_oneoff"
            (func $poll (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "sleep") (result i32)
            (i32.store8 (i32.const 8) (i32.const 0))
            (i32.store (i32.const 16) (i32.const 1))
            (i64.store (i32.const 24) (i64.const -1))
            (call $poll (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 200))))"#,
    )
    .unwrap();
    let mut linker = Linker::new();
    wasmz_wasi::add_to_linker(&mut linker).unwrap();
    let mut store = Store::new(&engine);
    store.set_data(WasiCtxBuilder::new().build());
    let instance = Instance::new(&mut store, &module, &linker).unwrap();
    store.set_epoch_deadline(1);
    let ticker = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            engine.increment_epoch();
        })
    };
    let start = Instant::now();
    let errno = instance
        .typed_func::<(), i32>("sleep")
        .unwrap()
        .call(())
        .unwrap();
    ticker.join().unwrap();
    assert_eq!(errno, Errno::Intr as i32);
    assert!(start.elapsed() < Duration::from_secs(30));
}

/// An I/O vector of more buffers than one call transfers (1024) gives a short write; a bad buffer
/// anywhere in it is still `fault`.
#[test]
fn long_io_vectors_give_short_writes() {
    let (_dir, mut g) = scratch_guest("wasi-host-iovecs");
    // 2000 one-byte buffers, all at byte 60000 (an 'x').
    g.memory.write(60000, b"x").unwrap();
    for k in 0..2000u64 {
        g.memory
            .write(4096 + 8 * k, &60000u32.to_le_bytes())
            .unwrap();
        g.memory
            .write(4096 + 8 * k + 4, &1u32.to_le_bytes())
            .unwrap();
    }
    assert_eq!(g.call("fd_write", &[i(1), i(4096), i(2000), i(100)]), 0);
    assert_eq!(g.u32_at(100), 1024);
    // The last buffer points past the end of memory.
    g.memory
        .write(4096 + 8 * 1999, &u32::MAX.to_le_bytes())
        .unwrap();
    assert_eq!(
        g.call("fd_write", &[i(1), i(4096), i(2000), i(100)]),
        Errno::Fault as u16
    );
}
