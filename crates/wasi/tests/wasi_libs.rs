//! Real C libraries on WASI: SQLite (the amalgamation shipped in the `libsqlite3-sys` crate) and zlib
//! (the sources shipped in `libz-sys`), both dev-dependencies of this crate, so cargo downloads them.

mod common;

use common::{TempDir, build_c_with, build_sqlite, c_source, crate_source, run};
use std::path::PathBuf;
use wasmz_wasi::WasiCtxBuilder;

#[test]
fn sqlite_creates_fills_and_queries_a_database() {
    let wasm = build_sqlite();
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
