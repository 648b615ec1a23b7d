//! Cross-compilation of SIMD code to aarch64: every module of the spec suite's `simd` and `relaxed-simd`
//! groups that compiles for this host also compiles for aarch64, and its code is aarch64 code that uses the
//! vector registers; the modules of the post-2.0 proposals compile for aarch64 as well.
//!
//! The suite is read from `$WASMZ_TESTSUITE`, or `../shared/wasm-testsuite` beside the repository, as the
//! spec runner does.

mod common;
use common::suite_dir;

use capstone::prelude::*;
use std::path::{Path, PathBuf};
use wasmz::{ArtifactInfo, Config, Engine, Module};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective};

/// The files of `group` in the suite's `groups.txt`.
fn group_files(group: &str) -> Vec<PathBuf> {
    let root = suite_dir();
    let groups = std::fs::read_to_string(root.join("groups.txt"))
        .unwrap_or_else(|e| panic!("reading {}/groups.txt: {e}", root.display()));
    let line = groups
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{group}:")))
        .unwrap_or_else(|| panic!("no group `{group}` in groups.txt"));
    line.split_whitespace()
        .map(|name| root.join(format!("{name}.wast")))
        .collect()
}

/// The binaries of the text modules a script defines (quoted and binary modules are left out: the
/// text ones cover every SIMD operator).
fn script_modules(path: &PathBuf) -> Vec<Vec<u8>> {
    let source =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let buf = ParseBuffer::new(&source).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let wast: Wast<'_> = parser::parse(&buf).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut modules = Vec::new();
    for directive in wast.directives {
        if let WastDirective::Module(mut module @ QuoteWat::Wat(_)) = directive
            && let Ok(binary) = module.encode()
        {
            modules.push(binary);
        }
    }
    modules
}

/// The aarch64 artifact of `binary` (from the script at `path`) and its header, if the host engine
/// compiles it (modules of proposals the host refuses are skipped); aarch64 compilation must succeed.
fn aarch64_artifact(
    host: &Engine,
    aarch64: &Engine,
    path: &Path,
    binary: &[u8],
) -> Option<(Vec<u8>, ArtifactInfo)> {
    Module::compile(host, binary).ok()?;
    let artifact = aarch64
        .precompile(binary)
        .unwrap_or_else(|e| panic!("{}: aarch64 compilation failed: {e}", path.display()));
    let info = ArtifactInfo::parse(&artifact).expect("artifact header");
    assert_eq!(info.target, "aarch64-unknown-linux-gnu");
    Some((artifact, info))
}

fn simd_config() -> Config {
    let mut config = Config::new();
    config.wasm_simd(true).wasm_relaxed_simd(true);
    config
}

#[test]
fn simd_modules_cross_compile_to_aarch64() {
    let host = Engine::new(&simd_config()).expect("host engine");
    let aarch64 =
        Engine::new(simd_config().target("aarch64-unknown-linux-gnu")).expect("aarch64 engine");
    let cs = Capstone::new()
        .arm64()
        .mode(arch::arm64::ArchMode::Arm)
        .build()
        .expect("capstone for arm64");
    let mut compiled = 0;
    let mut vector_instructions = 0;
    for group in ["simd", "relaxed-simd"] {
        for path in group_files(group) {
            for binary in script_modules(&path) {
                let Some((artifact, info)) = aarch64_artifact(&host, &aarch64, &path, &binary)
                else {
                    continue;
                };
                let start = info.code_offset as usize;
                let code = &artifact[start..start + info.code_size as usize];
                for range in &info.functions {
                    let body = &code[range.start as usize..range.end as usize];
                    let insns = cs
                        .disasm_all(body, u64::from(range.start))
                        .expect("disassembly");
                    // Cranelift places constants (vector literals) after a function's code, which
                    // the disassembler stops at; the code before them must be a proper aarch64
                    // function that sets up its frame.
                    assert!(
                        insns.iter().any(|i| i.mnemonic() == Some("stp")
                            && i.op_str().unwrap_or("").starts_with("x29, x30")),
                        "{}: the function at {range:?} does not start as aarch64 code",
                        path.display()
                    );
                    vector_instructions += insns
                        .iter()
                        .filter(|i| {
                            let ops = i.op_str().unwrap_or("");
                            ops.contains(".16b")
                                || ops.contains(".8h")
                                || ops.contains(".4s")
                                || ops.contains(".2d")
                        })
                        .count();
                }
                compiled += 1;
            }
        }
    }
    eprintln!("{compiled} modules, {vector_instructions} NEON instructions");
    // The two groups define a few hundred modules; all of them must have been seen.
    assert!(compiled > 200, "only {compiled} modules compiled");
    assert!(
        vector_instructions > 1000,
        "only {vector_instructions} NEON instructions in {compiled} modules"
    );
}

#[test]
fn post_2_0_proposals_cross_compile_to_aarch64() {
    // GC (allocation, stack maps, casts), exceptions, tail calls, threads and wide arithmetic: every
    // text module the host compiles also compiles for aarch64.
    let mut config = Config::new();
    let host = Engine::new(&config).expect("host engine");
    let aarch64 = Engine::new(config.target("aarch64-unknown-linux-gnu")).expect("aarch64 engine");
    let mut compiled = 0;
    for group in [
        "gc",
        "exception-handling",
        "tail-call",
        "function-references",
        "threads",
        "wide-arithmetic",
    ] {
        // The legacy exception scripts use a folded syntax the text parser does not read.
        for path in group_files(group)
            .into_iter()
            .filter(|p| !p.to_string_lossy().contains("legacy/"))
        {
            for binary in script_modules(&path) {
                if aarch64_artifact(&host, &aarch64, &path, &binary).is_some() {
                    compiled += 1;
                }
            }
        }
    }
    assert!(compiled > 250, "only {compiled} modules compiled");
}
