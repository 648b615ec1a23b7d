//! Computes `WASMZ_BUILD_ID`: a hash of the sources that decide what compiled code looks like and how the
//! runtime calls it. Ahead-of-time artifacts record it, so an artifact (or a cached module) made by one
//! build of wasmz is never loaded by another build of the same version whose ABI may differ.

use std::path::{Path, PathBuf};

const SOURCE_DIRS: [&str; 4] = [
    "src",
    "crates/environ/src",
    "crates/compiler/src",
    "crates/runtime/src",
];

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// 64-bit FNV-1a.
fn fnv(hash: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *hash ^= u64::from(b);
        *hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut files = Vec::new();
    for dir in SOURCE_DIRS {
        println!("cargo:rerun-if-changed={dir}");
        collect(&root.join(dir), &mut files);
    }
    files.sort();
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for file in &files {
        let name = file.strip_prefix(&root).unwrap_or(file);
        fnv(&mut hash, name.to_string_lossy().as_bytes());
        fnv(&mut hash, &[0]);
        fnv(&mut hash, &std::fs::read(file).unwrap_or_default());
        fnv(&mut hash, &[0]);
    }
    println!("cargo:rustc-env=WASMZ_BUILD_ID={hash:016x}");
}
