//! The module environment of wasmz: validation and module metadata, value types, trap codes, the VMContext
//! layout and the list of builtins. It knows nothing of code generation or of how memory is mapped.

pub mod address_map;
pub mod builtins;
pub mod call_order;
pub mod error;
pub mod gc_layout;
pub mod image;
pub mod memory_image;
pub mod module;
pub mod parse;
pub mod refs;
pub mod registry;
pub mod serde_util;
pub mod shared_bytes;
pub mod subtypes;
pub mod trap;
pub mod trap_table;
pub mod types;
pub mod vmoffsets;

pub use builtins::{Builtin, BuiltinSignature, BuiltinType};
pub use error::{WasmError, WasmResult};
pub use gc_layout::{FieldLayout, GcLayout, StorageKind};
pub use image::CodeImage;
pub use module::*;
pub use parse::parse_module;
pub use registry::TypeRegistry;
pub use subtypes::*;
pub use trap::TrapCode;
pub use types::*;
pub use vmoffsets::VMOffsets;
pub use wasmparser;
