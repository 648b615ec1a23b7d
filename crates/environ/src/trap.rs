//! Trap codes: why execution of wasm code stopped abnormally.

use core::fmt;
use serde::{Deserialize, Serialize};

/// The reason a wasm execution trapped.
///
/// The messages returned by [`TrapCode::message`] match the wording the WebAssembly spec test suite uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum TrapCode {
    /// An `unreachable` instruction was executed.
    UnreachableCodeReached = 1,
    /// A linear-memory access was out of bounds.
    MemoryOutOfBounds,
    /// A table access was out of bounds.
    TableOutOfBounds,
    /// `call_indirect` found a null table entry.
    IndirectCallToNull,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// Integer overflow (e.g. `i32.div_s` of `INT_MIN` by `-1`).
    IntegerOverflow,
    /// A float-to-integer conversion of NaN or an out-of-range value.
    BadConversionToInteger,
    /// The wasm call stack was exhausted.
    StackOverflow,
    /// `call_indirect` found a function of the wrong type.
    BadSignature,
    /// The store ran out of fuel.
    OutOfFuel,
    /// A grow operation was refused by a limit.
    GrowthOperationLimited,
    /// The host could not allocate memory.
    OutOfSystemMemory,
    /// A null reference was dereferenced.
    NullReference,
    /// A reference cast failed.
    CastFailure,
    /// An array access was out of bounds.
    ArrayOutOfBounds,
    /// The GC heap is exhausted.
    OutOfMemory,
    /// An exception was thrown and not caught.
    UnhandledException,
    /// An atomic access was not aligned to its size.
    UnalignedAtomicAccess,
    /// `memory.atomic.wait` was executed on an unshared memory.
    UnsharedMemoryWait,
    /// A host function raised a trap (its message is in the trap).
    HostError,
    /// Execution was interrupted by the embedder.
    Interrupted,
    /// A function compiled on its first call (lazy compilation) could not be compiled; the trap's
    /// message says why.
    CompileError,
}

impl TrapCode {
    /// Every trap code, in encoding order.
    pub const ALL: [TrapCode; 22] = [
        TrapCode::UnreachableCodeReached,
        TrapCode::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds,
        TrapCode::IndirectCallToNull,
        TrapCode::IntegerDivisionByZero,
        TrapCode::IntegerOverflow,
        TrapCode::BadConversionToInteger,
        TrapCode::StackOverflow,
        TrapCode::BadSignature,
        TrapCode::OutOfFuel,
        TrapCode::GrowthOperationLimited,
        TrapCode::OutOfSystemMemory,
        TrapCode::NullReference,
        TrapCode::CastFailure,
        TrapCode::ArrayOutOfBounds,
        TrapCode::OutOfMemory,
        TrapCode::UnhandledException,
        TrapCode::UnalignedAtomicAccess,
        TrapCode::UnsharedMemoryWait,
        TrapCode::HostError,
        TrapCode::Interrupted,
        TrapCode::CompileError,
    ];

    /// The code as one byte (never zero), as stored in trap tables.
    pub fn to_u8(self) -> u8 {
        self as u8
    }

    /// Decodes a byte written by [`TrapCode::to_u8`].
    pub fn from_u8(byte: u8) -> Option<TrapCode> {
        TrapCode::ALL
            .get(usize::from(byte).checked_sub(1)?)
            .copied()
    }

    /// The spec test suite's wording of this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::UnreachableCodeReached => "unreachable",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::IndirectCallToNull => "uninitialized element",
            TrapCode::IntegerDivisionByZero => "integer divide by zero",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::BadSignature => "indirect call type mismatch",
            TrapCode::OutOfFuel => "all fuel consumed",
            TrapCode::GrowthOperationLimited => "growth operation limited",
            TrapCode::OutOfSystemMemory => "out of system memory",
            TrapCode::NullReference => "null reference",
            TrapCode::CastFailure => "cast failure",
            TrapCode::ArrayOutOfBounds => "out of bounds array access",
            TrapCode::OutOfMemory => "out of memory",
            TrapCode::UnhandledException => "unhandled exception",
            TrapCode::UnalignedAtomicAccess => "unaligned atomic",
            TrapCode::UnsharedMemoryWait => "expected shared memory",
            TrapCode::HostError => "host function error",
            TrapCode::Interrupted => "interrupt",
            TrapCode::CompileError => "function failed to compile",
        }
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_encoding_round_trips() {
        for code in TrapCode::ALL {
            assert_eq!(TrapCode::from_u8(code.to_u8()), Some(code));
        }
        assert_eq!(TrapCode::from_u8(0), None);
        assert_eq!(TrapCode::from_u8(200), None);
    }
}
