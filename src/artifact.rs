//! Ahead-of-time artifacts (`.cwasm` files) and the module cache built on them.
//!
//! An artifact is a compiled module: its [`ModuleInfo`], its [`CodeImage`] metadata and its machine code,
//! behind a header that says what produced it. The code is position-independent (calls between functions
//! are PC-relative, everything else goes through the VMContext), so loading copies it into executable
//! memory with no relocation. Canonical type ids are engine-wide and are recomputed at load time.
//!
//! # Format, version 4
//!
//! Integers are little-endian.
//!
//! | offset       | size | content                                                                 |
//! |--------------|------|-------------------------------------------------------------------------|
//! | 0            | 8    | magic `\0wzaot\r\n`                                                     |
//! | 8            | 4    | format version (`4`)                                                    |
//! | 12           | 4    | header length `H`                                                       |
//! | 16           | 8    | metadata length `M`                                                     |
//! | 24           | 8    | code length `C`                                                         |
//! | 32           | 8    | memory image length `I` (0: none)                                       |
//! | 40           | `H`  | header: UTF-8 lines `key=value\n`, keys in the order of [`HEADER_KEYS`]  |
//! | 40+`H`       | `M`  | metadata: `postcard` encoding of `(ModuleInfo, CodeImage)` (no code)    |
//! |              |      | zero bytes up to a multiple of 64 KiB, when `I` > 0                     |
//! |              | `I`  | memory image: the initial bytes of memory 0 (see [`Layout`])            |
//! |              |      | zero bytes up to the code's alignment (see [`code_padding`])            |
//! |              | `C`  | machine code, relocations applied                                       |
//! | end - 16     | 16   | XXH3-128 of every byte before it                                        |
//!
//! Loading checks, in this order and before anything else is decoded: the length, the magic, the format
//! version, that the section lengths add up to the file's length, the checksum, then every header line
//! against the engine (target, wasmz version and build, Cranelift version, Cranelift flags, and the
//! [`Config`](crate::Config) settings that change code). Only then is the metadata decoded, checked for
//! consistency with the code, and the code published. Large code starts at a 64 KiB boundary of the
//! file, so that [`load_file`] can map it straight from the file, executable, instead of copying it;
//! a memory image (the data segments of a module with 1 MiB of data or more, see
//! `wasmz_environ::memory_image`) likewise, so that each instance maps it copy-on-write as the start of
//! its memory 0. The metadata's largest parts, the trap table and the address map, are byte strings
//! that a module loaded from a file keeps as views of the file's mapping instead of decoding them
//! (`wasmz_environ::shared_bytes`).
//!
//! The checksum detects corruption and accidental edits, not a malicious author: an artifact is native
//! code, so load only artifacts from a source you trust.

use crate::engine::{BoundsChecks, Config, Engine};
use crate::{ArtifactError, EngineSetting, Error, Module};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmz_compiler::OptLevel;
use wasmz_environ::memory_image::{IMAGE_ALIGNMENT, build_memory_image};
use wasmz_environ::{CodeImage, ModuleInfo};
use wasmz_runtime::CodeMemory;
use wasmz_runtime::memory_image::MemoryImage;

/// The first eight bytes of every artifact. The leading zero byte keeps it apart from the text format,
/// the `\r\n` catches transfers that rewrite line endings.
pub(crate) const MAGIC: [u8; 8] = *b"\0wzaot\r\n";

/// Version of the layout described in the module documentation.
pub(crate) const FORMAT_VERSION: u32 = 4;

/// The Cranelift release wasmz compiles with (checked against `Cargo.lock` by a test).
pub const CRANELIFT_VERSION: &str = "0.135.8";

/// Header keys, in the order they appear in an artifact.
pub(crate) const HEADER_KEYS: [&str; 10] = [
    "wasmz-version",
    "wasmz-build",
    "cranelift-version",
    "target",
    "flags",
    "isa-flags",
    "opt-level",
    "bounds-checks",
    "features",
    "instrumentation",
];

const PRELUDE: usize = 40;
const CHECKSUM: usize = 16;

/// Code of at least this many bytes starts at a multiple of [`CODE_FILE_ALIGNMENT`] in the file.
const MAPPED_CODE_MIN: u64 = 1 << 20;

/// The file alignment of large code: a multiple of the page size of every supported host (4, 16 and
/// 64 KiB pages), so the code can be mapped from the file.
pub(crate) const CODE_FILE_ALIGNMENT: u64 = 64 * 1024;

/// The zero bytes between the metadata, which ends at file offset `meta_end`, and `code_len` bytes of
/// code: none for small code (copying it is cheap), enough to start large code at a multiple of
/// [`CODE_FILE_ALIGNMENT`].
fn code_padding(meta_end: u64, code_len: u64) -> u64 {
    if code_len < MAPPED_CODE_MIN {
        0
    } else {
        meta_end
            .checked_next_multiple_of(CODE_FILE_ALIGNMENT)
            .map_or(0, |aligned| aligned - meta_end)
    }
}

/// Where an artifact's sections lie, from the lengths in its prelude (`None` when they overflow).
#[derive(Debug, Clone, Copy)]
struct Layout {
    header_end: u64,
    meta_end: u64,
    image_start: u64,
    image_end: u64,
    code_start: u64,
    /// Where the checksum starts.
    body: u64,
    /// The whole artifact's length.
    total: u64,
}

impl Layout {
    fn new(header_len: u64, meta_len: u64, image_len: u64, code_len: u64) -> Option<Layout> {
        let header_end = (PRELUDE as u64).checked_add(header_len)?;
        let meta_end = header_end.checked_add(meta_len)?;
        let image_start = if image_len > 0 {
            meta_end.checked_next_multiple_of(IMAGE_ALIGNMENT)?
        } else {
            meta_end
        };
        let image_end = image_start.checked_add(image_len)?;
        let code_start = image_end.checked_add(code_padding(image_end, code_len))?;
        let body = code_start.checked_add(code_len)?;
        Some(Layout {
            header_end,
            meta_end,
            image_start,
            image_end,
            code_start,
            body,
            total: body.checked_add(CHECKSUM as u64)?,
        })
    }
}

/// Artifacts longer than this are checksummed in [`CHECKSUM_CHUNK`]-byte chunks on several threads.
const CHUNKED_CHECKSUM_MIN: usize = 8 << 20;

/// The chunk of a chunked checksum.
const CHECKSUM_CHUNK: usize = 4 << 20;

/// The checksum that ends an artifact: XXH3-128 of `bytes`, or for more than
/// [`CHUNKED_CHECKSUM_MIN`] bytes, XXH3-128 of the XXH3-128 digests (little-endian) of its
/// [`CHECKSUM_CHUNK`]-byte chunks, computed on up to four threads: a large module's artifact is
/// checked in a fraction of the time one thread takes.
fn checksum(bytes: &[u8]) -> [u8; CHECKSUM] {
    use xxhash_rust::xxh3::xxh3_128;
    if bytes.len() <= CHUNKED_CHECKSUM_MIN {
        return xxh3_128(bytes).to_le_bytes();
    }
    let digests = chunk_digests(bytes, |chunk| xxh3_128(chunk).to_le_bytes());
    xxh3_128(digests.as_flattened()).to_le_bytes()
}

/// The digests of `bytes`' [`CHECKSUM_CHUNK`]-byte chunks by `digest`, computed on up to four threads
/// (a group of chunks whose thread cannot start is digested by the caller).
fn chunk_digests<const N: usize>(
    bytes: &[u8],
    digest: impl Fn(&[u8]) -> [u8; N] + Sync,
) -> Vec<[u8; N]> {
    let chunks: Vec<&[u8]> = bytes.chunks(CHECKSUM_CHUNK).collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    let digest_all =
        |chunks: &[&[u8]]| -> Vec<[u8; N]> { chunks.iter().map(|c| digest(c)).collect() };
    let groups: Vec<&[&[u8]]> = chunks
        .chunks(chunks.len().div_ceil(threads).max(1))
        .collect();
    std::thread::scope(|scope| {
        let started: Vec<_> = groups
            .iter()
            .map(|&group| {
                let digest_all = &digest_all;
                std::thread::Builder::new().spawn_scoped(scope, move || digest_all(group))
            })
            .collect();
        started
            .into_iter()
            .zip(&groups)
            .flat_map(|(thread, &group)| {
                thread
                    .ok()
                    .and_then(|t| t.join().ok())
                    .unwrap_or_else(|| digest_all(group))
            })
            .collect()
    })
}

/// Cranelift's shared flags that do not change generated code (only whether the IR verifier runs, which
/// differs between debug and release builds of wasmz).
const CODE_NEUTRAL_FLAGS: [&str; 1] = ["enable_verifier"];

/// An [`ArtifactError::Corrupt`] saying `what`.
fn corrupt(what: impl Into<String>) -> ArtifactError {
    ArtifactError::Corrupt { what: what.into() }
}

/// Whether `bytes` start like an artifact.
pub(crate) fn is_artifact(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// The triple of the machine this process runs on.
pub(crate) fn host_triple() -> String {
    target_lexicon::Triple::host().to_string()
}

/// The header an engine writes into its artifacts, and expects in the ones it loads.
pub(crate) fn fingerprint(config: &Config, isa: &wasmz_compiler::OwnedTargetIsa) -> String {
    let flags = isa
        .flags()
        .iter()
        .filter(|v| !CODE_NEUTRAL_FLAGS.contains(&v.name))
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let isa_flags = isa_flags_text(isa);
    let opt = match config.opt_level {
        OptLevel::None => "none",
        OptLevel::Speed => "speed",
        OptLevel::SpeedAndSize => "speed-and-size",
    };
    let bounds = match config.bounds_checks {
        BoundsChecks::GuardPages => "guard-pages",
        BoundsChecks::Explicit => "explicit",
    };
    let values = [
        env!("CARGO_PKG_VERSION").to_string(),
        env!("WASMZ_BUILD_ID").to_string(),
        CRANELIFT_VERSION.to_string(),
        isa.triple().to_string(),
        flags,
        isa_flags,
        opt.to_string(),
        bounds.to_string(),
        format!("{:#x}", config.features().bits()),
        instrumentation(config),
    ];
    let mut header = String::new();
    for (key, value) in HEADER_KEYS.iter().zip(values) {
        // Values never contain newlines: they are version numbers, triples and `name=value` lists.
        let _ = writeln!(header, "{key}={value}");
    }
    header
}

/// The `instrumentation` header value: which execution limits the code checks, and whether its calls
/// check for lazily compiled functions (`lazy-calls`).
fn instrumentation(config: &Config) -> String {
    let parts: Vec<&str> = [
        (config.consume_fuel, "fuel"),
        (config.epoch_interruption, "epoch"),
        (config.lazy_compilation, "lazy-calls"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| *name)
    .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join("+")
    }
}

/// Writes the artifact of a compiled module: `info` and `image` with the machine code `code` and, when
/// `info` has a memory image, its bytes `memory_image`.
///
/// # Panics
/// When `info` has a memory image and `memory_image` is `None`.
pub(crate) fn write(
    header: &str,
    info: &ModuleInfo,
    image: &CodeImage,
    code: &[u8],
    memory_image: Option<&[u8]>,
) -> Vec<u8> {
    let memory_image = match &info.memory_image {
        Some(_) => memory_image.expect("a module with a memory image has its bytes"),
        None => &[],
    };
    let meta = postcard::to_stdvec(&(info, image)).expect("module metadata always serializes");
    let header_len = u32::try_from(header.len()).expect("headers are short");
    let layout = Layout::new(
        header.len() as u64,
        meta.len() as u64,
        memory_image.len() as u64,
        code.len() as u64,
    )
    .expect("artifact lengths fit in 64 bits");
    let mut out = Vec::with_capacity(layout.total as usize);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(&(meta.len() as u64).to_le_bytes());
    out.extend_from_slice(&(code.len() as u64).to_le_bytes());
    out.extend_from_slice(&(memory_image.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&meta);
    out.resize(layout.image_start as usize, 0);
    out.extend_from_slice(memory_image);
    out.resize(layout.code_start as usize, 0);
    out.extend_from_slice(code);
    let digest = checksum(&out);
    out.extend_from_slice(&digest);
    out
}

/// Writes the artifact of a module just compiled (`info` as parsed): its data segments go into a memory
/// image when the module qualifies (see [`build_memory_image`]).
pub(crate) fn write_compiled(header: &str, mut info: ModuleInfo, image: &CodeImage) -> Vec<u8> {
    let memory_image = build_memory_image(&mut info);
    write(header, &info, image, &image.code, memory_image.as_deref())
}

/// The sections of an artifact whose structure and checksum have been verified.
struct Sections<'a> {
    header: &'a str,
    meta: &'a [u8],
    /// The memory image (empty: none), at `image_offset` in the artifact.
    image: &'a [u8],
    image_offset: u64,
    code: &'a [u8],
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"))
}

/// Checks the magic, the format version, the lengths and the checksum, and splits the sections.
fn split(bytes: &[u8]) -> Result<Sections<'_>, ArtifactError> {
    if bytes.len() < MAGIC.len() || !is_artifact(bytes) {
        return Err(ArtifactError::NotAnArtifact);
    }
    if bytes.len() < PRELUDE + CHECKSUM {
        return Err(ArtifactError::Truncated {
            len: bytes.len() as u64,
            expected: None,
        });
    }
    let version = read_u32(bytes, 8);
    if version != FORMAT_VERSION {
        return Err(ArtifactError::FormatVersionMismatch {
            found: version,
            expected: FORMAT_VERSION,
        });
    }
    let header_len = u64::from(read_u32(bytes, 12));
    let meta_len = read_u64(bytes, 16);
    let code_len = read_u64(bytes, 24);
    let image_len = read_u64(bytes, 32);
    let layout = Layout::new(header_len, meta_len, image_len, code_len);
    let len = bytes.len() as u64;
    let layout = match layout {
        Some(layout) if layout.total == len => layout,
        Some(layout) if layout.total > len => {
            return Err(ArtifactError::Truncated {
                len,
                expected: Some(layout.total),
            });
        }
        Some(layout) => {
            return Err(corrupt(format!(
                "{len} bytes where its header announces {}",
                layout.total
            )));
        }
        None => return Err(corrupt("impossible section lengths")),
    };
    let body = bytes.len() - CHECKSUM;
    if checksum(&bytes[..body]) != bytes[body..] {
        return Err(ArtifactError::ChecksumMismatch);
    }
    // Every offset of the layout is at most the file's length, which fits in usize.
    let at = |offset: u64| offset as usize;
    let header = std::str::from_utf8(&bytes[PRELUDE..at(layout.header_end)])
        .map_err(|_| corrupt("its header is not UTF-8"))?;
    Ok(Sections {
        header,
        meta: &bytes[at(layout.header_end)..at(layout.meta_end)],
        image: &bytes[at(layout.image_start)..at(layout.image_end)],
        image_offset: layout.image_start,
        code: &bytes[at(layout.code_start)..at(layout.body)],
    })
}

/// The header's values, in [`HEADER_KEYS`] order.
fn parse_header(header: &str) -> Result<Vec<&str>, ArtifactError> {
    let malformed = || corrupt("its header is malformed");
    let lines: Vec<&str> = header.lines().collect();
    if lines.len() != HEADER_KEYS.len() {
        return Err(malformed());
    }
    lines
        .iter()
        .zip(HEADER_KEYS)
        .map(|(line, key)| {
            line.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix('='))
                .ok_or_else(malformed)
        })
        .collect()
}

/// The first `name=value` item that differs between two comma-separated lists, as `(ours, theirs)`.
fn first_difference<'a>(artifact: &'a str, engine: &'a str) -> (&'a str, &'a str) {
    let mut a = artifact.split(',');
    let mut e = engine.split(',');
    loop {
        match (a.next(), e.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (x, y) => return (x.unwrap_or("(nothing)"), y.unwrap_or("(nothing)")),
        }
    }
}

/// The lower-case names of the wasm features in `bits`, or the bits in hexadecimal when none of them
/// has a name.
fn feature_names(bits: u64) -> Vec<String> {
    if bits == 0 {
        return Vec::new();
    }
    let features = wasmz_environ::wasmparser::WasmFeatures::from_bits_truncate(bits);
    let names: Vec<String> = features
        .iter_names()
        .map(|(name, _)| name.to_lowercase())
        .collect();
    if names.is_empty() {
        vec![format!("{bits:#x}")]
    } else {
        names
    }
}

fn parse_features(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

/// The CPU features (Cranelift's `has_*` ISA flags) of the host, as its own engine detects them; empty
/// when Cranelift cannot build a code generator for the host.
pub(crate) fn host_cpu_features() -> &'static [String] {
    static FEATURES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    FEATURES.get_or_init(|| {
        wasmz_compiler::build_isa(None, OptLevel::Speed)
            .map(|isa| {
                let flags = isa_flags_text(&isa);
                wasmz_compiler::enabled_cpu_features(&flags)
                    .into_iter()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    })
}

fn isa_flags_text(isa: &wasmz_compiler::OwnedTargetIsa) -> String {
    isa.isa_flags()
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Compares the target-specific flags of an artifact (`artifact`) with the engine's (`engine`): the CPU
/// features (`has_*` flags) the artifact was compiled with must all be among `host` (code compiled for
/// fewer features than the host has runs unchanged), and every other flag (return-address signing,
/// branch-target identification, ...) must equal the engine's.
fn check_isa_flags(artifact: &str, engine: &str, host: &[String]) -> Result<(), ArtifactError> {
    // The flags other than CPU features, as `name=value` items.
    fn settings(flags: &str) -> String {
        flags
            .split(',')
            .filter(|item| !item.starts_with("has_"))
            .collect::<Vec<_>>()
            .join(",")
    }
    let needed = wasmz_compiler::enabled_cpu_features(artifact);
    let missing: Vec<String> = needed
        .iter()
        .filter(|f| !host.iter().any(|h| h == *f))
        .map(|f| f.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(ArtifactError::MissingCpuFeatures {
            features: missing,
            host: host.to_vec(),
        });
    }
    let (a, e) = (settings(artifact), settings(engine));
    if a != e {
        return Err(mismatch(EngineSetting::CpuSettings, &a, &e));
    }
    Ok(())
}

/// An [`ArtifactError::SettingMismatch`] for `setting`, naming the first item that differs between the
/// comma-separated lists `artifact` and `engine` (the whole values for single values).
fn mismatch(setting: EngineSetting, artifact: &str, engine: &str) -> ArtifactError {
    let (artifact, engine) = first_difference(artifact, engine);
    ArtifactError::SettingMismatch {
        setting,
        artifact: artifact.to_string(),
        engine: engine.to_string(),
    }
}

/// Checks an artifact's header against the one `engine` writes.
fn check_header(artifact: &str, engine: &Engine) -> Result<(), ArtifactError> {
    let theirs = parse_header(artifact)?;
    let ours = parse_header(&engine.inner.fingerprint).expect("engines write well-formed headers");
    let value = |key: &str| {
        let i = HEADER_KEYS.iter().position(|k| *k == key).expect("a key");
        (theirs[i], ours[i])
    };
    let (target, engine_target) = value("target");
    let host = host_triple();
    if target != host {
        return Err(ArtifactError::TargetMismatch {
            artifact: target.to_string(),
            host,
        });
    }
    if target != engine_target {
        return Err(mismatch(EngineSetting::Target, target, engine_target));
    }
    let (version, our_version) = value("wasmz-version");
    if version != our_version {
        return Err(ArtifactError::WasmzVersionMismatch {
            artifact: version.to_string(),
            this: our_version.to_string(),
        });
    }
    let (build, our_build) = value("wasmz-build");
    if build != our_build {
        return Err(ArtifactError::WasmzBuildMismatch {
            version: version.to_string(),
            artifact: build.to_string(),
            this: our_build.to_string(),
        });
    }
    let (cranelift, our_cranelift) = value("cranelift-version");
    if cranelift != our_cranelift {
        return Err(ArtifactError::CraneliftVersionMismatch {
            artifact: cranelift.to_string(),
            this: our_cranelift.to_string(),
        });
    }
    let (a, e) = value("flags");
    if a != e {
        return Err(mismatch(EngineSetting::CraneliftFlags, a, e));
    }
    let (a, e) = value("isa-flags");
    check_isa_flags(a, e, host_cpu_features())?;
    for (key, setting) in [
        ("opt-level", EngineSetting::OptLevel),
        ("bounds-checks", EngineSetting::BoundsChecks),
        ("instrumentation", EngineSetting::Instrumentation),
    ] {
        let (a, e) = value(key);
        if a != e {
            return Err(ArtifactError::SettingMismatch {
                setting,
                artifact: a.to_string(),
                engine: e.to_string(),
            });
        }
    }
    let (a, e) = value("features");
    if a != e {
        let (Some(a), Some(e)) = (parse_features(a), parse_features(e)) else {
            return Err(corrupt("its header is malformed"));
        };
        return Err(ArtifactError::WasmFeaturesMismatch {
            only_in_artifact: feature_names(a & !e),
            only_in_engine: feature_names(e & !a),
        });
    }
    // Every key has been compared: the headers are equal but for CPU features the artifact may do
    // without.
    Ok(())
}

/// Checks that the decoded metadata agrees with itself and with the code, so a consistent checksum over
/// inconsistent contents still cannot make the runtime index out of bounds.
fn check_consistency(info: &ModuleInfo, image: &CodeImage, code_len: usize) -> Result<(), String> {
    let code_len = u32::try_from(code_len).map_err(|_| "code larger than 4 GiB".to_string())?;
    let types = info.types.len();
    if info
        .functions
        .iter()
        .chain(&info.tags)
        .any(|&t| info.try_func_type(t).is_none())
    {
        return Err(
            "a function or tag has an unknown type or one that is not a function type".into(),
        );
    }
    let mut next = 0u32;
    for group in &info.rec_groups {
        if group.start != next || group.end < group.start {
            return Err("the recursion groups do not cover the types in order".into());
        }
        next = group.end;
    }
    if next as usize != types {
        return Err("the recursion groups do not cover the types".into());
    }
    if info.num_imported_funcs as usize > info.functions.len()
        || info.num_imported_tables as usize > info.tables.len()
        || info.num_imported_memories as usize > info.memories.len()
        || info.num_imported_globals as usize > info.globals.len()
    {
        return Err("more imports than entities".into());
    }
    if info.global_inits.len() != info.globals.len() - info.num_imported_globals as usize {
        return Err("global initializers do not match the globals".into());
    }
    let defined = info.num_defined_funcs() as usize;
    if image.functions.len() != defined || image.num_imported_funcs != info.num_imported_funcs {
        return Err("the code image does not match the module's functions".into());
    }
    if image
        .functions
        .iter()
        .any(|r| r.start > r.end || r.end > code_len)
    {
        return Err("a function lies outside the code".into());
    }
    if image.entry_trampolines.len() != types
        || image.host_trampolines.len() != types
        || image
            .entry_trampolines
            .iter()
            .chain(&image.host_trampolines)
            .any(|&o| o >= code_len)
    {
        return Err("the trampolines do not match the types".into());
    }
    if !image.traps.is_valid_for(code_len) {
        return Err("the trap table is out of order or outside the code".into());
    }
    if image.stack_maps.iter().any(|(o, _)| *o > code_len)
        || !image.stack_maps.is_sorted_by_key(|(o, _)| *o)
    {
        return Err("the stack maps are out of order or outside the code".into());
    }
    Ok(())
}

/// Loads an artifact made for `engine`'s settings.
///
/// # Safety
/// `bytes` must be a trusted artifact (the contract of [`Module::deserialize`]): the checks here find
/// corruption and mismatched settings, not a malicious author.
pub(crate) unsafe fn load(engine: &Engine, bytes: &[u8]) -> Result<Module, Error> {
    // SAFETY: passed on to the caller.
    unsafe { load_from(engine, bytes, None) }
}

/// A mapped artifact file: the start of `map` is the artifact, `file` the file it maps.
struct MappedFile<'a> {
    file: &'a std::fs::File,
    map: Arc<memmap2::Mmap>,
}

/// As [`load`]; when `mapped` is given, `bytes` are the start of its mapping, the code and memory image
/// are mapped from its file where their offsets allow (see [`CodeMemory::publish_from_file`]), and the
/// metadata's large tables stay in the mapping instead of being copied.
///
/// # Safety
/// As [`load`], and a mapped file must not change while the module lives.
unsafe fn load_from(
    engine: &Engine,
    bytes: &[u8],
    mapped: Option<MappedFile<'_>>,
) -> Result<Module, Error> {
    let sections = split(bytes)?;
    check_header(sections.header, engine)?;
    let (info, image): (ModuleInfo, CodeImage) = match &mapped {
        Some(mapped) => {
            let owner: wasmz_environ::shared_bytes::Owner = mapped.map.clone();
            wasmz_environ::shared_bytes::deserialize_sharing(owner, || {
                decode_metadata(sections.meta)
            })?
        }
        None => decode_metadata(sections.meta)?,
    };
    let file = mapped.as_ref().map(|m| m.file);
    check_consistency(&info, &image, sections.code.len())
        .and_then(|()| check_memory_image(&info, sections.image.len()))
        .map_err(|e| corrupt(format!("its metadata is inconsistent: {e}")))?;
    let memory_image = if sections.image.is_empty() {
        None
    } else {
        Some(match file {
            Some(file)
                if sections
                    .image_offset
                    .is_multiple_of(wasmz_runtime::code_memory::page_size() as u64) =>
            {
                // SAFETY: the file is not changed while the module lives (the caller's contract).
                unsafe { MemoryImage::from_file(file, sections.image_offset, sections.image.len()) }
                    .map_err(|e| Error::Resource(format!("cannot map the memory image: {e}")))?
            }
            _ => MemoryImage::from_bytes(sections.image.into()),
        })
    };
    let code_offset = sections.code.as_ptr() as usize - bytes.as_ptr() as usize;
    let file = file.filter(|_| {
        sections.code.len() as u64 >= MAPPED_CODE_MIN
            && code_offset.is_multiple_of(wasmz_runtime::code_memory::page_size())
    });
    // SAFETY: the caller vouches that the artifact is what wasmz compiled for this engine's settings,
    // which `check_header` matched against the host, and `check_consistency` found its metadata
    // consistent with its code; a file holds the same bytes, unchanged while the module lives.
    let code = unsafe {
        match file {
            Some(file) => {
                CodeMemory::publish_from_file(image, file, code_offset as u64, sections.code.len())
            }
            None => CodeMemory::publish_with_code(image, sections.code),
        }
    }
    .map_err(|e| Error::Resource(format!("cannot map code memory: {e}")))?;
    Ok(Module::from_parts(engine, info, code, None, memory_image))
}

/// Checks that a memory image of `image_len` bytes is what the metadata describes: present exactly
/// when the layout is, on a memory 0 of the module's own that is not shared, inside its initial size
/// (rounded up to whole 64 KiB), holding active segments of memory 0 whose bytes are left out.
fn check_memory_image(info: &ModuleInfo, image_len: usize) -> Result<(), String> {
    let Some(layout) = &info.memory_image else {
        return if image_len == 0 {
            Ok(())
        } else {
            Err("a memory image without a layout".into())
        };
    };
    let memory = info
        .memories
        .first()
        .filter(|m| info.num_imported_memories == 0 && !m.shared)
        .ok_or("a memory image without a memory of its own")?;
    let room = memory
        .limits
        .min
        .checked_mul(memory.page_size())
        .and_then(|b| b.checked_next_multiple_of(IMAGE_ALIGNMENT));
    let end = layout.memory_offset.checked_add(layout.len);
    if layout.len != image_len as u64
        || end.is_none()
        || room.is_none()
        || end > room
        || !layout.memory_offset.is_multiple_of(IMAGE_ALIGNMENT)
    {
        return Err("the memory image does not fit its memory".into());
    }
    for &(index, at, len) in &layout.segments {
        let held = info.data.get(index as usize).is_some_and(|seg| {
            matches!(seg.mode, wasmz_environ::DataMode::Active { memory: 0, .. })
                && seg.bytes.is_empty()
        });
        let inside =
            at >= layout.memory_offset && at.checked_add(len).is_some_and(|e| Some(e) <= end);
        if !held || !inside {
            return Err(format!("data segment {index} is not in the memory image"));
        }
    }
    Ok(())
}

/// Decodes the metadata section.
fn decode_metadata(meta: &[u8]) -> Result<(ModuleInfo, CodeImage), ArtifactError> {
    postcard::from_bytes(meta).map_err(|e| corrupt(format!("its metadata cannot be decoded: {e}")))
}

/// Loads the artifact in file `path`, mapped rather than read; large code stays mapped from the file.
///
/// # Safety
/// The file must hold a trusted artifact, as for [`load`], and must not be modified in place while the
/// module lives.
pub(crate) unsafe fn load_file(engine: &Engine, path: &Path) -> Result<Module, Error> {
    let io = |source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    // A device or a pipe (`/dev/zero`, a FIFO) could be read forever.
    if !metadata.is_file() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ))
        .into());
    }
    let len = metadata.len();
    if len < (PRELUDE + CHECKSUM) as u64 {
        let bytes = std::fs::read(path).map_err(io)?;
        // SAFETY: passed on to the caller.
        return unsafe { load(engine, &bytes) };
    }
    // The mapping is read-only; it is verified (checksum) before use, and large code is mapped again,
    // executable, from the same file. wasmz writes artifacts by renaming complete files into place, so
    // it never changes a mapped file in place.
    // SAFETY: as above; another program changing or truncating the file meanwhile is excluded by the
    // documented contract of `deserialize_file`.
    let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) }.map_err(io)?;
    let map = Arc::new(map);
    let mapped = MappedFile {
        file: &file,
        map: map.clone(),
    };
    // SAFETY: passed on to the caller.
    unsafe { load_from(engine, &map, Some(mapped)) }
}

/// The cache key of module `bytes` for an engine whose header is `fingerprint`: it names the cache
/// entry and ends it (see [`cache_entry`]).
///
/// The key is SHA-256 over a label, the fingerprint and the module; a module over
/// [`CHUNKED_CHECKSUM_MIN`] bytes enters it as the SHA-256 digests of its [`CHECKSUM_CHUNK`]-byte
/// chunks (computed on several threads) under another label, which keeps the key as hard to collide
/// as SHA-256 itself.
pub(crate) fn cache_key(fingerprint: &str, bytes: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let chunked = bytes.len() > CHUNKED_CHECKSUM_MIN;
    hasher.update(if chunked {
        b"wasmz module cache 2 (chunked)\n".as_slice()
    } else {
        b"wasmz module cache 1\n".as_slice()
    });
    hasher.update((fingerprint.len() as u64).to_le_bytes());
    hasher.update(fingerprint.as_bytes());
    if chunked {
        hasher.update((bytes.len() as u64).to_le_bytes());
        let digests = chunk_digests(bytes, |chunk| Sha256::digest(chunk).into());
        hasher.update(digests.as_flattened());
    } else {
        hasher.update(bytes);
    }
    hasher.finalize().into()
}

/// The cache file of the module whose key is `key` under `dir`.
pub(crate) fn cache_path(dir: &Path, key: &[u8; 32]) -> PathBuf {
    let mut name = String::with_capacity(70);
    for b in key {
        let _ = write!(name, "{b:02x}");
    }
    name.push_str(".cwasm");
    dir.join(name)
}

/// A cache entry: the artifact followed by the module's cache key, so that an entry found under
/// another module's name (renamed or copied there) is not taken for that module's code.
pub(crate) fn cache_entry(mut artifact: Vec<u8>, key: &[u8; 32]) -> Vec<u8> {
    artifact.extend_from_slice(key);
    artifact
}

/// Loads the cache entry in file `path` (see [`cache_entry`]) if it ends with `key`.
///
/// # Safety
/// As for [`load_file`].
pub(crate) unsafe fn load_cache_entry(
    engine: &Engine,
    path: &Path,
    key: &[u8; 32],
) -> Result<Module, Error> {
    let io = |source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    // SAFETY: as in `load_file`.
    let map = Arc::new(unsafe { memmap2::Mmap::map(&file) }.map_err(io)?);
    let Some(artifact) = map.strip_suffix(key.as_slice()) else {
        return Err(corrupt("the cache entry belongs to another module").into());
    };
    let mapped = MappedFile {
        file: &file,
        map: map.clone(),
    };
    // SAFETY: passed on to the caller; the artifact is the start of the file.
    unsafe { load_from(engine, artifact, Some(mapped)) }
}

/// Whether the cache entry at `path` and its directory belong to this process's user and no one else may
/// write them (on Unix; elsewhere only the embedder's choice of directory protects the cache). An entry
/// that fails this is not loaded: another user could have planted native code there.
pub(crate) fn cache_entry_is_private(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: `geteuid` has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        let private = |p: &Path| {
            std::fs::symlink_metadata(p).is_ok_and(|m| m.uid() == me && m.mode() & 0o022 == 0)
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        private(path) && private(dir)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        true
    }
}

/// Writes `artifact` to `path` atomically: a temporary file in the same directory, renamed into place, so
/// readers see the old file, no file, or the whole new one. Errors are returned but callers may ignore
/// them: the cache is an optimization.
pub(crate) fn write_atomically(path: &Path, artifact: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let unique = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let file_name = path
        .file_name()
        .map_or_else(|| "module".into(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(
        ".{file_name}.{}.{unique}.{nanos}.tmp",
        std::process::id()
    ));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(artifact)?;
        drop(file);
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// What an artifact's header says, for tools that list or check artifacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactInfo {
    /// Version of the artifact layout.
    pub format_version: u32,
    /// The wasmz release that made it.
    pub wasmz_version: String,
    /// Hash of the wasmz sources that made it (artifacts load only into the same build).
    pub wasmz_build: String,
    /// The Cranelift release that compiled it.
    pub cranelift_version: String,
    /// Target triple of the code.
    pub target: String,
    /// Cranelift's shared flags, as `name=value` items separated by commas.
    pub flags: String,
    /// Cranelift's target-specific flags (CPU features), as `name=value` items separated by commas.
    pub isa_flags: String,
    /// Optimization level: `none`, `speed` or `speed-and-size`.
    pub opt_level: String,
    /// Bounds-check mode: `guard-pages` or `explicit`.
    pub bounds_checks: String,
    /// The enabled wasm features, as the hexadecimal bits of wasmparser's `WasmFeatures`.
    pub features: String,
    /// The execution limits the code checks: `none`, `fuel`, `epoch` or `fuel+epoch`.
    pub instrumentation: String,
    /// Where the machine code starts in the artifact, in bytes.
    pub code_offset: u64,
    /// Size of the machine code in bytes.
    pub code_size: u64,
    /// Where the memory image (the initial contents of memory 0 that instances map, for a module with
    /// 1 MiB of data or more) starts in the artifact, in bytes; 0 when there is none.
    pub memory_image_offset: u64,
    /// Size of the memory image in bytes (0: none).
    pub memory_image_size: u64,
    /// The code range of each function the module defines, relative to the start of the code (entry and
    /// host trampolines follow the last function).
    pub functions: Vec<std::ops::Range<u32>>,
}

impl ArtifactInfo {
    /// Reads the header and the function layout of an artifact after checking its structure and
    /// checksum. Does not check that this engine or host can load it.
    ///
    /// # Errors
    /// [`Error::Artifact`] when `bytes` are not an intact artifact: [`ArtifactError::NotAnArtifact`],
    /// [`ArtifactError::Truncated`], [`ArtifactError::FormatVersionMismatch`],
    /// [`ArtifactError::ChecksumMismatch`] or [`ArtifactError::Corrupt`].
    pub fn parse(bytes: &[u8]) -> Result<ArtifactInfo, Error> {
        let sections = split(bytes)?;
        let v = parse_header(sections.header)?;
        let (_, image) = decode_metadata(sections.meta)?;
        Ok(ArtifactInfo {
            format_version: FORMAT_VERSION,
            wasmz_version: v[0].into(),
            wasmz_build: v[1].into(),
            cranelift_version: v[2].into(),
            target: v[3].into(),
            flags: v[4].into(),
            isa_flags: v[5].into(),
            opt_level: v[6].into(),
            bounds_checks: v[7].into(),
            features: v[8].into(),
            instrumentation: v[9].into(),
            code_offset: (bytes.len() - CHECKSUM - sections.code.len()) as u64,
            code_size: sections.code.len() as u64,
            memory_image_offset: if sections.image.is_empty() {
                0
            } else {
                sections.image_offset
            },
            memory_image_size: sections.image.len() as u64,
            functions: image.functions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cranelift_version_matches_the_lock_file() {
        let lock = include_str!("../Cargo.lock");
        let mut lines = lock.lines();
        let mut found = None;
        while let Some(line) = lines.next() {
            if line == "name = \"cranelift-codegen\"" {
                found = lines
                    .next()
                    .and_then(|v| v.strip_prefix("version = \""))
                    .and_then(|v| v.strip_suffix('"'))
                    .map(str::to_string);
            }
        }
        assert_eq!(found.as_deref(), Some(CRANELIFT_VERSION));
    }

    #[test]
    fn header_lists_every_key_in_order() {
        let engine = Engine::default();
        let header = &engine.inner.fingerprint;
        let values = parse_header(header).unwrap();
        assert_eq!(values[0], env!("CARGO_PKG_VERSION"));
        assert_eq!(values[3], host_triple());
        assert!(!values[4].contains("enable_verifier"));
        assert!(values[4].contains("preserve_frame_pointers=1"));
        assert_eq!(values[6], "speed");
    }

    #[test]
    fn large_artifacts_are_checksummed_by_chunks() {
        use xxhash_rust::xxh3::xxh3_128;
        let mut bytes: Vec<u8> = (0..CHUNKED_CHECKSUM_MIN as u32 * 2 + 12345)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let digests: Vec<u8> = bytes
            .chunks(CHECKSUM_CHUNK)
            .flat_map(|c| xxh3_128(c).to_le_bytes())
            .collect();
        let sum = checksum(&bytes);
        assert_eq!(sum, xxh3_128(&digests).to_le_bytes());
        // Any byte counts, in any chunk.
        for at in [0, CHECKSUM_CHUNK - 1, CHECKSUM_CHUNK, bytes.len() - 1] {
            bytes[at] ^= 1;
            assert_ne!(checksum(&bytes), sum, "{at}");
            bytes[at] ^= 1;
        }
        // Up to the threshold it is the plain digest.
        let small = &bytes[..CHUNKED_CHECKSUM_MIN];
        assert_eq!(checksum(small), xxh3_128(small).to_le_bytes());
    }

    #[test]
    fn cache_keys_of_large_modules_cover_every_byte() {
        let mut bytes = vec![7u8; CHUNKED_CHECKSUM_MIN + CHECKSUM_CHUNK + 3];
        let key = cache_key("a", &bytes);
        assert_eq!(cache_key("a", &bytes), key);
        assert_ne!(cache_key("b", &bytes), key);
        for at in [0, CHECKSUM_CHUNK, bytes.len() - 1] {
            bytes[at] ^= 1;
            assert_ne!(cache_key("a", &bytes), key, "{at}");
            bytes[at] ^= 1;
        }
        // A module that is the digests of another's chunks does not share its key.
        let digests: Vec<u8> = bytes
            .chunks(CHECKSUM_CHUNK)
            .flat_map(|c| <[u8; 32]>::from(Sha256::digest(c)))
            .collect();
        assert_ne!(cache_key("a", &digests), key);
        bytes.pop();
        assert_ne!(cache_key("a", &bytes), key);
    }

    #[test]
    fn structural_errors_are_reported_before_the_checksum() {
        let engine = Engine::default();
        let info = ModuleInfo::default();
        let image = CodeImage::default();
        let artifact = write(&engine.inner.fingerprint, &info, &image, &[0xc3], None);
        assert!(split(&artifact).is_ok());
        for cut in [0, 7, 8, 31, 40, artifact.len() - 1] {
            let err = split(&artifact[..cut]).err().unwrap().to_string();
            assert!(
                err.contains("truncated") || err.contains("magic"),
                "{cut}: {err}"
            );
        }
        let mut longer = artifact.clone();
        longer.push(0);
        assert!(
            split(&longer)
                .err()
                .unwrap()
                .to_string()
                .contains("announces")
        );
        let mut lengths = artifact.clone();
        lengths[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(
            split(&lengths)
                .err()
                .unwrap()
                .to_string()
                .contains("impossible")
        );
        let mut version = artifact.clone();
        version[8] = (FORMAT_VERSION + 1) as u8;
        let wanted = format!("format version {}", FORMAT_VERSION + 1);
        assert!(split(&version).err().unwrap().to_string().contains(&wanted));
    }

    #[test]
    fn inconsistent_metadata_is_refused() {
        let engine = Engine::default();
        let module = Module::compile(&engine, "(module (func (export \"f\")))").unwrap();
        let info = module.runtime.info.clone();
        let mut image = module.runtime.code.image().clone();
        let code = module.runtime.code.code().to_vec();
        assert!(check_consistency(&info, &image, code.len()).is_ok());
        image.functions[0].end = code.len() as u32 + 1;
        let artifact = write(&engine.inner.fingerprint, &info, &image, &code, None);
        // SAFETY: wasmz compiled this code; the load is refused before any of it is published.
        let err = unsafe { load(&engine, &artifact) }.unwrap_err().to_string();
        assert!(err.contains("inconsistent"), "{err}");
    }

    #[test]
    fn feature_differences_are_named() {
        let engine = Engine::default();
        let mut config = Config::new();
        config.legacy_exceptions(false);
        let other = Engine::new(&config).unwrap();
        let artifact = write(
            &other.inner.fingerprint,
            &ModuleInfo::default(),
            &CodeImage::default(),
            &[],
            None,
        );
        // SAFETY: the artifact holds no code, and its header is refused.
        let err = unsafe { load(&engine, &artifact) }.unwrap_err().to_string();
        assert!(
            err.contains("only in the engine: legacy_exceptions"),
            "{err}"
        );
    }
}
