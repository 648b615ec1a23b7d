//! Errors raised while reading a module.

use thiserror::Error;

/// Why a module could not be read.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum WasmError {
    /// The bytes are not a valid module (malformed or failing validation).
    #[error("invalid wasm module at byte offset {offset:#x}: {message}")]
    Invalid {
        /// What is wrong, in the validator's words.
        message: String,
        /// Byte offset of the problem in the module.
        offset: u64,
    },
    /// The module uses a feature wasmz does not implement (or that is disabled in the Config).
    #[error("unsupported wasm feature at byte offset {offset:#x}: {message}")]
    Unsupported {
        /// What is not supported.
        message: String,
        /// Byte offset of the construct in the module.
        offset: u64,
    },
}

impl WasmError {
    /// An unsupported-feature error.
    pub fn unsupported(message: impl Into<String>, offset: u64) -> WasmError {
        WasmError::Unsupported {
            message: message.into(),
            offset,
        }
    }

    /// The byte offset the error refers to.
    pub fn offset(&self) -> u64 {
        match self {
            WasmError::Invalid { offset, .. } | WasmError::Unsupported { offset, .. } => *offset,
        }
    }
}

impl From<wasmparser::BinaryReaderError> for WasmError {
    fn from(e: wasmparser::BinaryReaderError) -> WasmError {
        WasmError::Invalid {
            message: e.message().to_string(),
            offset: e.offset(),
        }
    }
}

/// Result alias for module reading.
pub type WasmResult<T> = Result<T, WasmError>;
