//! The `wasmz` command line.
//!
//! ```text
//! wasmz run [--dir HOST[::GUEST]]... [--env K[=V]]... [--cache DIR] [--eager | --lazy | --background]
//!           [--opt-level none|speed|speed_and_size] [--timeout DURATION] [--fuel UNITS]
//!           [--max-memory SIZE] [--allow-precompiled] [--invoke NAME] FILE [ARGS...]
//! ```
//!
//! `wasmz FILE [ARGS...]` is short for `wasmz run FILE [ARGS...]`.
//!
//! Runs FILE (`.wasm` binary, `.wat` text, or, with `--allow-precompiled`, a `.cwasm` artifact made by
//! `wasmz-aot compile`: native code, so only one from a trusted source) with WASI preview1;
//! `--cache DIR` keeps compiled modules in DIR for later runs. Functions are compiled at their first
//! call and meanwhile on background threads (`--background`, the default without `--cache`), all
//! before running (`--eager`, the default with `--cache`), or only at their first call (`--lazy`);
//! `.cwasm` files hold their code already:
//!
//! - Without `--invoke`: a command module's `_start` runs with the arguments `FILE ARGS...`; a reactor's
//!   `_initialize` runs. The process exits with the guest's exit status (`proc_exit(n)` → `n`, or 255
//!   when `n` is outside 0..=255; a return from `_start` → 0).
//! - With `--invoke NAME`: the reactor initializer `_initialize` runs if exported, then the export
//!   `NAME` is called with `ARGS` parsed by its parameter types (integers in decimal or `0x` hex,
//!   floats in Rust syntax incl. `inf`/`nan`); each result is printed on its own line.
//!
//! `--dir HOST::GUEST` preopens the host directory HOST under the guest name GUEST (`--dir HOST` uses
//! HOST as the guest name too). `--env K=V` sets an environment variable; `--env K` copies the host's
//! variable K (if set). Stdio is inherited.
//!
//! Exit status: the guest's exit status; **134** (128 + SIGABRT) when the guest traps, after printing
//! the trap code and the wasm backtrace (with function names) to stderr; **1** when the module cannot
//! be read, compiled, linked, or the arguments are wrong, and when `--invoke`'s results cannot be
//! written to stdout.
//!
//! A closed stdout or stderr never stops wasmz: the guest's writes to it fail with the WASI error
//! `pipe` (64), and wasmz's own reports to a closed stream are dropped (the exit status stays the
//! one above).

mod opt_level;
mod run;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The wasmz WebAssembly runtime.
#[derive(Parser, Debug)]
#[command(name = "wasmz", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs a WebAssembly module (.wasm or .wat) with WASI.
    Run(run::RunArgs),
}

/// The command line, with `run` put in when the first argument is neither a subcommand nor an option:
/// `wasmz app.wasm ARGS` is `wasmz run app.wasm ARGS`, as with Wasmtime.
fn arguments() -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(first) = args.get(1) {
        let first = first.to_string_lossy();
        if !first.starts_with('-') && first != "run" && first != "help" {
            args.insert(1, "run".into());
        }
    }
    args
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(arguments());
    match cli.command {
        Command::Run(args) => match run::run(args) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                run::report(format_args!("error: {e:#}"));
                ExitCode::from(1)
            }
        },
    }
}
