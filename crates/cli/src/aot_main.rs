//! `wasmz-aot`: precompiles WebAssembly modules into artifacts that load without recompiling.
//!
//! ```text
//! wasmz-aot compile IN.wasm -o OUT.cwasm [--target TRIPLE] [--target-cpu CPU] [--target-feature +F,-G]...
//!                   [--opt-level none|speed|speed_and_size]
//! wasmz-aot inspect FILE.cwasm
//! ```
//!
//! `compile` accepts `.wasm` binaries and `.wat` text; `--target` cross-compiles (for example
//! `aarch64-unknown-linux-gnu`). Without `--target-cpu` or `--target-feature` the code uses the host's
//! CPU features when compiling for the host and the architecture's baseline otherwise; `--target-cpu`
//! names a CPU (`native`, `haswell`, `x86-64-v3`, `neoverse-n1`, ...) and `--target-feature` switches
//! features on or off after it (`+lse`, `-avx2`; repeatable, or comma-separated). The artifact runs with
//! `wasmz run --allow-precompiled OUT.cwasm` (or `Module::deserialize_file`) on a host of that target
//! that has every CPU feature it was compiled with, with the same wasmz build.
//! `inspect` checks an artifact's integrity and prints its header and layout.
//!
//! Exit status: 0 on success, 1 on any error (printed to stderr).

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use wasmz::{ArtifactInfo, Config, Engine};

mod opt_level;
use opt_level::Opt;

/// Precompiles WebAssembly modules for wasmz.
#[derive(Parser, Debug)]
#[command(name = "wasmz-aot", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compiles a module (.wasm or .wat) into an artifact (.cwasm).
    Compile {
        /// The module to compile.
        input: PathBuf,
        /// Where to write the artifact.
        #[arg(short, long)]
        output: PathBuf,
        /// Target triple (default: this host).
        #[arg(long)]
        target: Option<String>,
        /// CPU to compile for: `native`, a Cranelift x86-64 preset (`haswell`, `x86-64-v3`, ...) or an
        /// aarch64 CPU (`generic`, `neoverse-n1`, `apple-m1`, ...).
        #[arg(long)]
        target_cpu: Option<String>,
        /// CPU features switched on (`+lse`) or off (`-avx2`) after the CPU's; repeatable, or
        /// comma-separated.
        #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
        target_feature: Vec<String>,
        /// Cranelift optimization level.
        #[arg(long, value_enum, default_value = "speed")]
        opt_level: Opt,
    },
    /// Checks an artifact and prints its header and layout.
    Inspect {
        /// The artifact.
        file: PathBuf,
        /// Also lists each defined function's code range, as offsets into the artifact file (for a
        /// disassembler, e.g. `objdump -D -b binary -m i386:x86-64 --start-address=S --stop-address=E`).
        #[arg(long)]
        functions: bool,
    },
}

/// What `compile` compiles for.
struct Target {
    triple: Option<String>,
    cpu: Option<String>,
    features: Vec<String>,
}

fn compile(input: PathBuf, output: PathBuf, target: Target, opt: Opt) -> Result<()> {
    let bytes =
        std::fs::read(&input).with_context(|| format!("cannot read {}", input.display()))?;
    let mut config = Config::new();
    config.opt_level(opt.into());
    if let Some(triple) = &target.triple {
        config.target(triple);
    }
    if let Some(cpu) = &target.cpu {
        config.target_cpu(cpu);
    }
    for feature in target.features.iter().filter(|f| !f.is_empty()) {
        config.target_feature(feature);
    }
    let engine = Engine::new(&config)?;
    let artifact = engine
        .precompile(&bytes)
        .with_context(|| format!("cannot compile {}", input.display()))?;
    write_replacing(&output, &artifact)
        .with_context(|| format!("cannot write {}", output.display()))?;
    Ok(())
}

/// Writes `bytes` to `path`. A regular file (or a new one) is replaced: the bytes go to a new file
/// beside it, which is then renamed over it, so that a program running the old artifact keeps its code
/// mapped from the old file (see `Module::deserialize_file`) and no reader ever sees half an artifact.
/// Through a symbolic link, the file it names is replaced. Anything else, such as `/dev/null` or a
/// pipe, is written to: renaming over it would replace the device or the pipe itself.
fn write_replacing(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let path = match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => return std::fs::write(path, bytes),
        Ok(_) => std::fs::canonicalize(path)?,
        Err(_) => path.to_path_buf(),
    };
    let name = path
        .file_name()
        .map_or_else(|| "artifact".into(), |n| n.to_string_lossy().into_owned());
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    // A new file: never one that was there (or a link someone put there) before.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)?;
    let result = file
        .write_all(bytes)
        .and_then(|()| std::fs::rename(&temp, &path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn inspect(file: PathBuf, functions: bool) -> Result<()> {
    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let info = ArtifactInfo::parse(&bytes)?;
    // Written with `writeln!`, not `println!`: a closed stdout is an error to report, not a panic.
    let mut out = std::io::stdout().lock();
    writeln!(out, "format version: {}", info.format_version)?;
    writeln!(
        out,
        "wasmz version:  {} (build {})",
        info.wasmz_version, info.wasmz_build
    )?;
    writeln!(out, "cranelift:      {}", info.cranelift_version)?;
    writeln!(out, "target:         {}", info.target)?;
    writeln!(out, "opt level:      {}", info.opt_level)?;
    writeln!(out, "bounds checks:  {}", info.bounds_checks)?;
    writeln!(out, "features:       {}", info.features)?;
    writeln!(out, "instrumentation: {}", info.instrumentation)?;
    writeln!(out, "isa flags:      {}", info.isa_flags)?;
    writeln!(
        out,
        "code:           {} bytes at offset {}",
        info.code_size, info.code_offset
    )?;
    if info.memory_image_size > 0 {
        writeln!(
            out,
            "memory image:   {} bytes at offset {}",
            info.memory_image_size, info.memory_image_offset
        )?;
    }
    writeln!(out, "functions:      {}", info.functions.len())?;
    if functions {
        writeln!(out, "defined function: start..end in the file (size)")?;
        for (index, range) in info.functions.iter().enumerate() {
            let start = info.code_offset + u64::from(range.start);
            let end = info.code_offset + u64::from(range.end);
            writeln!(out, "  {index:>6}: {start:#x}..{end:#x} ({})", range.len())?;
        }
    }
    out.flush()?;
    Ok(())
}

fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Command::Compile {
            input,
            output,
            target,
            target_cpu,
            target_feature,
            opt_level,
        } => compile(
            input,
            output,
            Target {
                triple: target,
                cpu: target_cpu,
                features: target_feature,
            },
            opt_level,
        ),
        Command::Inspect { file, functions } => inspect(file, functions),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Nothing more to do when stderr is closed too.
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(1)
        }
    }
}
