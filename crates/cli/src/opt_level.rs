//! The `--opt-level` option of `wasmz run` and `wasmz-aot compile`.

use clap::ValueEnum;
use wasmz::OptLevel;

/// Cranelift's optimization level, as the command line spells it.
#[derive(Clone, Copy, Debug, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Opt {
    /// No optimization: compiles fastest.
    None,
    /// Optimizes for speed (the default).
    Speed,
    /// Optimizes for speed and code size.
    SpeedAndSize,
}

impl From<Opt> for OptLevel {
    fn from(opt: Opt) -> OptLevel {
        match opt {
            Opt::None => OptLevel::None,
            Opt::Speed => OptLevel::Speed,
            Opt::SpeedAndSize => OptLevel::SpeedAndSize,
        }
    }
}
