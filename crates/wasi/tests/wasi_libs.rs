//! Real C libraries on WASI: SQLite (the amalgamation shipped in the `libsqlite3-sys` crate) and zlib
//! (the sources shipped in `libz-sys`), both dev-dependencies of this crate, so cargo downloads them.

mod common;

use common::{TempDir, build_c_with, c_source, run};
use std::path::PathBuf;
use wasmz_wasi::WasiCtxBuilder;

/// The unpacked sources of a crate from cargo's registry (the highest version present).
fn crate_source(name: &str) -> PathBuf {
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

#[test]
fn sqlite_creates_fills_and_queries_a_database() {
    let dir = crate_source("libsqlite3-sys").join("sqlite3");
    let amalgamation = dir.join("sqlite3.c");
    let driver = c_source("sqlite_driver");
    let include = format!("-I{}", dir.display());
    let wasm = build_c_with(
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
    );
    // The same program runs compiled in process and from its ahead-of-time artifact.
    let artifact = wasmz::Engine::default().precompile(&wasm).unwrap();
    for (how, bytes) in [("jit", &wasm), ("artifact", &artifact)] {
        let data = TempDir::new("wasi-sqlite");
        let rows: i64 = 100_000;
        let out = run(
            bytes,
            WasiCtxBuilder::new()
                .args(["sqlite", &rows.to_string()])
                .preopen_dir(data.path(), "/data")
                .unwrap(),
        );
        assert_eq!(out.exit_code(), 0, "{}{}", out.stdout, out.stderr);
        let sum: i64 = (1..=rows).map(|i| (i * 7) % 1000).sum();
        let value_42 = (1..=rows).filter(|i| (i * 7) % 1000 == 42).count();
        let max_id_999 = (1..=rows).filter(|i| (i * 7) % 1000 == 999).max().unwrap();
        let name_len: usize = (1..=rows).map(|i| format!("row-{i}").len()).sum();
        let expected = format!(
            "count={rows}\nsum={sum}\nvalue_42={value_42}\nmax_id_999={max_id_999}\n\
             name_len={name_len}\nrow_77777={}\nafter_reopen={}\nintegrity=ok\n",
            (77777 * 7) % 1000,
            rows - rows / 2
        );
        assert_eq!(out.stdout, expected, "{how}");
        let db = std::fs::read(data.path().join("test.db")).unwrap();
        assert!(db.starts_with(b"SQLite format 3\0"));
        assert!(db.len() > 1_000_000);
    }
}

#[test]
fn zlib_compresses_and_decompresses_a_file() {
    let zlib = crate_source("libz-sys").join("src/zlib");
    let sources: Vec<PathBuf> = [
        "adler32.c",
        "compress.c",
        "crc32.c",
        "deflate.c",
        "gzclose.c",
        "gzlib.c",
        "gzread.c",
        "gzwrite.c",
        "infback.c",
        "inffast.c",
        "inflate.c",
        "inftrees.c",
        "trees.c",
        "uncompr.c",
        "zutil.c",
    ]
    .iter()
    .map(|f| zlib.join(f))
    .chain([c_source("zlib_roundtrip")])
    .collect();
    let refs: Vec<&std::path::Path> = sources.iter().map(PathBuf::as_path).collect();
    let include = format!("-I{}", zlib.display());
    let wasm = build_c_with("zlib", &refs, &[&include, "-DZ_HAVE_UNISTD_H"]);
    let data = TempDir::new("wasi-zlib");
    // 3 MB of compressible but not trivial data.
    let mut input = Vec::with_capacity(3 << 20);
    let mut x: u32 = 12345;
    while input.len() < 3 << 20 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let word = ["alpha ", "beta ", "gamma ", "delta\n", "epsilon "][(x >> 16) as usize % 5];
        input.extend_from_slice(word.as_bytes());
        if x.is_multiple_of(7) {
            input.extend_from_slice(&x.to_le_bytes());
        }
    }
    std::fs::write(data.path().join("input.bin"), &input).unwrap();
    let out = run(
        &wasm,
        WasiCtxBuilder::new()
            .arg("zlib")
            .preopen_dir(data.path(), "/data")
            .unwrap(),
    );
    assert_eq!(out.exit_code(), 0, "{}{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    let (in_line, out_line) = (lines[0], lines[1]);
    assert_eq!(
        in_line.strip_prefix("input="),
        out_line.strip_prefix("output=")
    );
    assert!(in_line.starts_with(&format!("input={} ", input.len())));
    assert_eq!(lines[2], "compressed_smaller=1");
    assert!(lines[3].starts_with("zlib=1."));
    assert_eq!(
        std::fs::read(data.path().join("output.bin")).unwrap(),
        input
    );
    let gz = std::fs::read(data.path().join("input.bin.gz")).unwrap();
    assert_eq!(&gz[..2], &[0x1f, 0x8b]);
}
