//! Helpers shared by the integration tests.

use anyhow::Result;
use wasmz::{ExecResult, Instance, RawVal, Trap};

/// Calls `name` expecting a trap, and returns it.
pub fn trap_of(inst: &mut Instance, name: &str, args: &[RawVal]) -> Result<Trap> {
    match inst.call(name, args)? {
        ExecResult::Trap(t) => Ok(t),
        ExecResult::Ok(v) => anyhow::bail!("`{name}{args:?}` returned {v:?} instead of trapping"),
        ExecResult::Exit(code) => {
            anyhow::bail!("`{name}{args:?}` exited with {code} instead of trapping")
        }
    }
}
