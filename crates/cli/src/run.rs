//! `wasmz run`.

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use std::io::{Read as _, Write};
use std::path::PathBuf;
use wasmz::{Config, Engine, ExecResult, Instance, Linker, Module, RawVal, Store, Trap, ValType};
use wasmz_wasi::WasiCtxBuilder;

/// Exit status when the guest traps (128 + SIGABRT, as for a native program that aborts).
pub const TRAP_EXIT_STATUS: u8 = 134;

/// How long `--timeout` lets a program that is in a host call when the time is up reach its next
/// epoch check, before the process ends without it.
const TIMEOUT_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Arguments of `wasmz run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Preopens a host directory: `HOST` or `HOST::GUEST` (the name the guest sees).
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Sets an environment variable of the guest: `NAME=VALUE`, or `NAME` for the host's value of
    /// NAME (nothing when the host has none).
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    envs: Vec<String>,
    /// Calls this export instead of `_start`, with ARGS as its arguments; prints its results.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Caches compiled modules in this directory (reused by later runs of the same module).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Compiles every function before running. Without `--cache`, the default is to compile in the
    /// background (see `--background`).
    #[arg(long, conflicts_with_all = ["lazy", "background"])]
    eager: bool,
    /// Compiles each function on its first call, and nothing else.
    #[arg(long, conflicts_with = "background")]
    lazy: bool,
    /// Compiles each function on its first call and, meanwhile, every other function on background
    /// threads: the first results come as soon as with `--lazy`, and later calls find their code
    /// compiled. The default without `--cache`; with `--cache` the default is `--eager`, which caches
    /// the whole module at once.
    #[arg(long)]
    background: bool,
    /// Runs a `.cwasm` artifact (precompiled native code). Artifacts run with this process's rights
    /// and their checksum does not authenticate their author: pass this only for artifacts you
    /// trust (made by `wasmz-aot compile` of this wasmz build).
    #[arg(long)]
    allow_precompiled: bool,
    /// Links every function import that neither WASI nor anything else defines to a function that traps
    /// when called, so that a module built for a richer host runs as far as it can.
    #[arg(long)]
    unknown_imports_trap: bool,
    /// Cranelift optimization level of the code compiled for this run; a `.cwasm` artifact must have
    /// been compiled at the same level (`wasmz-aot compile --opt-level`).
    #[arg(long, value_enum, default_value = "speed")]
    opt_level: crate::opt_level::Opt,
    /// Stops the program (a trap, `interrupt`) once it has run this long: `500ms`, `10s`, `2m`, or
    /// seconds without a unit. Wasm code checks the time at function entries and loop headers, and
    /// WASI calls that wait (sleeping, `poll_oneoff`) end at it too; a program still in another host
    /// call (a read that blocks) a second later is ended with the process.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<std::time::Duration>,
    /// Lets the program run this many units of fuel (one per function entry and loop iteration),
    /// then stops it (a trap, `all fuel consumed`).
    #[arg(long, value_name = "UNITS")]
    fuel: Option<u64>,
    /// Limits each linear memory of the program to SIZE bytes (`64KiB`, `512M`, `2GiB`, ...: K, M and G
    /// are powers of 1024): `memory.grow` past it fails, as when the system has no more memory, and
    /// a module whose memory starts larger does not start.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<u64>,
    /// Writes `/tmp/perf-<pid>.map` naming the compiled wasm functions, for `perf report`.
    #[arg(long)]
    perf_map: bool,
    /// The program's name, its `argv[0]` (default: the module's file name, without its directory).
    #[arg(long, value_name = "NAME")]
    argv0: Option<String>,
    /// The module (a .wasm binary, .wat text, or a .cwasm artifact from `wasmz-aot compile` with
    /// `--allow-precompiled`), then the arguments of the program (or of the invoked function). Everything
    /// after the module belongs to the program, options included: `wasmz run app.wasm --help` passes
    /// `--help` to the app.
    #[arg(
        value_name = "FILE [ARGS]",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<String>,
}

/// When `wasmz run` compiles a module's functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// All before running.
    Eager,
    /// Each at its first call.
    Lazy,
    /// Each at its first call, and all meanwhile on background threads.
    Background,
}

impl RunArgs {
    /// The compilation mode the flags ask for. Background compilation gives the first result as soon
    /// as lazy compilation and finishes sooner than eager compilation (README, "Lazy compilation");
    /// a cache wants the whole module compiled at once.
    fn mode(&self) -> Mode {
        if self.eager {
            Mode::Eager
        } else if self.lazy {
            Mode::Lazy
        } else if self.background || self.cache.is_none() {
            Mode::Background
        } else {
            Mode::Eager
        }
    }

    /// The module's path.
    fn file(&self) -> PathBuf {
        PathBuf::from(&self.command[0])
    }

    /// The program's arguments.
    fn program_args(&self) -> &[String] {
        &self.command[1..]
    }
}

/// The module file, opened once (it may be a pipe, such as `/dev/stdin`, which can be read only once),
/// with its first bytes read: enough to tell an artifact from a module without reading the whole file.
struct ModuleFile {
    file: std::fs::File,
    start: Vec<u8>,
}

impl ModuleFile {
    fn open(path: &std::path::Path) -> Result<ModuleFile> {
        let mut file =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut start = Vec::with_capacity(8);
        (&mut file)
            .take(8)
            .read_to_end(&mut start)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Ok(ModuleFile { file, start })
    }

    /// Whether the file is a regular file (which can be mapped), not a pipe or a device.
    fn is_regular(&self) -> bool {
        self.file.metadata().is_ok_and(|m| m.is_file())
    }

    /// All the file's bytes.
    fn read_all(mut self, path: &std::path::Path) -> Result<Vec<u8>> {
        let mut bytes = self.start;
        self.file
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Ok(bytes)
    }
}

/// `text` split into its number and its unit (the rest from the first letter on; empty for none).
fn number_and_unit(text: &str) -> (&str, &str) {
    text.split_at(
        text.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len()),
    )
}

/// A duration of `--timeout`: a number with `ms`, `s`, `m` or `h`, or of seconds without a unit.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let (number, unit) = number_and_unit(text);
    let seconds_per_unit = match unit {
        "ms" => Some(0.001),
        "" | "s" => Some(1.0),
        "m" => Some(60.0),
        "h" => Some(3600.0),
        _ => None,
    };
    seconds_per_unit
        .zip(number.parse::<f64>().ok())
        .and_then(|(unit, n)| std::time::Duration::try_from_secs_f64(n * unit).ok())
        .ok_or_else(|| format!("`{text}` is not a duration (such as 500ms, 10s or 2m)"))
}

/// A size of `--max-memory`: a number of bytes, or of KiB, MiB or GiB (`K`, `KiB`, `M`, `MiB`, `G`,
/// `GiB`; a trailing `B` alone means bytes).
fn parse_size(text: &str) -> Result<u64, String> {
    let (number, unit) = number_and_unit(text);
    let shift = match unit {
        "" | "B" => Some(0),
        "K" | "KiB" | "KB" => Some(10),
        "M" | "MiB" | "MB" => Some(20),
        "G" | "GiB" | "GB" => Some(30),
        _ => None,
    };
    shift
        .zip(number.parse::<u64>().ok())
        .and_then(|(shift, n)| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("`{text}` is not a size (such as 65536, 64KiB, 512M or 2GiB)"))
}

/// Runs the module; returns the process exit status.
pub fn run(args: RunArgs) -> Result<u8> {
    let file = args.file();
    let module_file = ModuleFile::open(&file)?;
    let precompiled = Module::is_precompiled(&module_file.start);
    if precompiled && !args.allow_precompiled {
        bail!(
            "{} is a precompiled module (native code); run it with --allow-precompiled if you trust \
             its source",
            file.display()
        );
    }
    let mut config = Config::new();
    config.opt_level(args.opt_level.into());
    // SAFETY: the user named the cache directory with --cache and so vouches that only wasmz writes
    // into it; entries that other users could have written are not loaded.
    unsafe { config.cache_dir(args.cache.clone()) };
    // A `.cwasm` artifact holds all its code already.
    let mode = if precompiled {
        Mode::Eager
    } else {
        args.mode()
    };
    config.lazy_compilation(mode == Mode::Lazy);
    config.background_compilation(mode == Mode::Background);
    config.perf_map(args.perf_map);
    config.epoch_interruption(args.timeout.is_some());
    config.consume_fuel(args.fuel.is_some());
    config.memory_limit(args.max_memory);
    let engine = Engine::new(&config)?;
    let module = if precompiled {
        // An artifact file is mapped, not read: a large module's code stays mapped from the file.
        let loaded = if module_file.is_regular() {
            // SAFETY: the user vouched for the artifact with --allow-precompiled, and for the file
            // not changing while it runs (`wasmz-aot compile` replaces files by renaming new ones
            // into place).
            unsafe { Module::deserialize_file(&engine, &file) }
        } else {
            // A pipe or a device cannot be mapped: its bytes are read.
            let bytes = module_file.read_all(&file)?;
            // SAFETY: the user vouched for the artifact with --allow-precompiled.
            unsafe { Module::deserialize(&engine, &bytes) }
        };
        loaded.with_context(|| format!("cannot load {}", file.display()))?
    } else {
        let bytes = module_file.read_all(&file)?;
        Module::compile(&engine, &bytes)
            .with_context(|| format!("cannot compile {}", file.display()))?
    };

    let program = match &args.argv0 {
        Some(name) => name.clone(),
        None => file.file_name().map_or_else(
            || file.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        ),
    };
    let mut builder = WasiCtxBuilder::new().inherit_stdio();
    builder = if args.invoke.is_some() {
        builder.arg(&program)
    } else {
        builder.arg(&program).args(args.program_args())
    };
    for env in &args.envs {
        match env.split_once('=') {
            Some((k, v)) => builder = builder.env(k, v),
            // `--env NAME`: the host's value, if it has one (as Wasmtime does).
            None => {
                if let Some(v) = std::env::var_os(env) {
                    let v = v
                        .into_string()
                        .map_err(|_| anyhow!("the value of {env} is not UTF-8"))?;
                    builder = builder.env(env, v);
                }
            }
        }
    }
    for dir in &args.dirs {
        let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
        builder = builder
            .preopen_dir(host, guest)
            .with_context(|| format!("cannot open directory {host}"))?;
    }

    let mut linker = Linker::new();
    wasmz_wasi::add_to_linker(&mut linker)?;
    if args.unknown_imports_trap {
        linker.define_unknown_imports_as_traps(&module)?;
    }
    let mut store = Store::new(&engine);
    store.set_data(builder.build());
    if let Some(fuel) = args.fuel {
        store.set_fuel(fuel);
    }
    if let Some(timeout) = args.timeout {
        // One tick of the epoch, when the time is up, ends the run (from the start function on) at
        // the guest's next check. A guest blocked in a host call that does not wait for the epoch
        // (reading a pipe that stays silent, say) makes no check: a moment later, the process ends.
        store.set_epoch_deadline(1);
        let engine = engine.clone();
        std::thread::Builder::new()
            .name("wasmz-timeout".into())
            .spawn(move || {
                std::thread::sleep(timeout);
                engine.increment_epoch();
                std::thread::sleep(TIMEOUT_GRACE);
                report(format_args!(
                    "error: wasm trap: interrupt (the time limit ran out while the program was \
                     in a host call)"
                ));
                std::process::exit(i32::from(TRAP_EXIT_STATUS));
            })
            .context("cannot start the timeout's thread")?;
    }
    let mut instance = match Instance::new(&mut store, &module, &linker) {
        Ok(i) => i,
        // A wasm start function may exit (proc_exit) or trap during instantiation.
        Err(wasmz::Error::Trap(trap)) => {
            return Ok(match trap.exit_code() {
                Some(code) => exit_status(code),
                None => report_trap(&trap),
            });
        }
        Err(e) => return Err(e).context("cannot instantiate the module"),
    };

    match &args.invoke {
        None => {
            let outcome = if instance.is_command() {
                instance.run_start_function()?
            } else {
                instance.initialize_reactor()?
            };
            Ok(match outcome {
                None | Some(ExecResult::Ok(_)) => 0,
                Some(result) => finish(result)?,
            })
        }
        Some(name) => {
            if instance.is_reactor()
                && let Some(result) = instance.initialize_reactor()?
                && !result.is_ok()
            {
                return finish(result);
            }
            let func = instance
                .func(name)
                .ok_or_else(|| anyhow!("the module exports no function `{name}`"))?;
            let ty = func
                .ty()
                .cloned()
                .ok_or_else(|| anyhow!("cannot find the type of `{name}`"))?;
            if ty.params.len() != args.program_args().len() {
                bail!(
                    "`{name}` takes {} arguments ({}), {} given",
                    ty.params.len(),
                    ty.params
                        .iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    args.program_args().len()
                );
            }
            let values = ty
                .params
                .iter()
                .zip(args.program_args())
                .map(|(t, s)| parse_arg(*t, s))
                .collect::<Result<Vec<_>>>()?;
            match instance.call(name, &values)? {
                ExecResult::Ok(results) => {
                    let mut out = std::io::stdout().lock();
                    let written = ty
                        .results
                        .iter()
                        .zip(&results)
                        .try_for_each(|(t, v)| writeln!(out, "{}", format_result(*t, *v)))
                        .and_then(|()| out.flush());
                    written.context("cannot write the results")?;
                    Ok(0)
                }
                other => finish(other),
            }
        }
    }
}

/// The exit status of a call that did not return normally.
fn finish(result: ExecResult) -> Result<u8> {
    Ok(match result {
        ExecResult::Ok(_) => 0,
        ExecResult::Exit(code) => exit_status(code),
        ExecResult::Trap(trap) => report_trap(&trap),
    })
}

/// The process exit status for the guest's `proc_exit(code)`: `code` when it fits the 8 bits a
/// process status has, else 255. Cutting it to 8 bits, as the kernel would, would turn 256 (or any
/// multiple of it) into success.
fn exit_status(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(u8::MAX)
}

fn report_trap(trap: &Trap) -> u8 {
    report(format_args!("error: {trap}"));
    TRAP_EXIT_STATUS
}

/// Writes one line to stderr. A failure (stderr closed or full) is ignored: a report that cannot be
/// written must not change the outcome, and there is nowhere left to report it.
pub fn report(message: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

fn parse_int(s: &str) -> Result<i128> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let value = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(&hex.replace('_', ""), 16),
        None => digits.replace('_', "").parse::<i128>(),
    }
    .map_err(|e| anyhow!("`{s}` is not an integer: {e}"))?;
    Ok(if neg { -value } else { value })
}

/// Parses one argument as a value of type `ty` (integers wrap to their width, so `0xffffffff` and
/// `-1` are the same i32).
fn parse_arg(ty: ValType, s: &str) -> Result<RawVal> {
    Ok(match ty {
        ValType::I32 => {
            let v = parse_int(s)?;
            if v < i32::MIN as i128 || v > u32::MAX as i128 {
                bail!("`{s}` does not fit in an i32");
            }
            RawVal::from(v as i32)
        }
        ValType::I64 => {
            let v = parse_int(s)?;
            if v < i64::MIN as i128 || v > u64::MAX as i128 {
                bail!("`{s}` does not fit in an i64");
            }
            RawVal::from(v as i64)
        }
        ValType::F32 => RawVal::from(
            s.parse::<f32>()
                .map_err(|e| anyhow!("`{s}` is not a number: {e}"))?,
        ),
        ValType::F64 => RawVal::from(
            s.parse::<f64>()
                .map_err(|e| anyhow!("`{s}` is not a number: {e}"))?,
        ),
        other => bail!("cannot pass a value of type {other} from the command line"),
    })
}

fn format_result(ty: ValType, v: RawVal) -> String {
    match ty {
        ValType::I32 => v.read_as::<i32>().to_string(),
        ValType::I64 => v.read_as::<i64>().to_string(),
        ValType::F32 => v.read_as::<f32>().to_string(),
        ValType::F64 => v.read_as::<f64>().to_string(),
        ValType::V128 => format!("{:#034x}", v.read_as::<u128>()),
        other => format!("<{other}>"),
    }
}
