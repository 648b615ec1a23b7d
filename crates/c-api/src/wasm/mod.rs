//! The standard WebAssembly C API (`include/wasm.h`, from the WebAssembly/wasm-c-api project), in
//! the same library as `wasmz.h`.
//!
//! Every runtime object of `wasm.h` (module, instance, function, global, table, memory, extern,
//! foreign, trap, reference) is one Rust type, [`wasm_ref_t`]: an identity (host info, shared by
//! copies) and the object. The casts between `wasm_ref_t`, `wasm_extern_t` and the object types
//! return the same pointer, checking the kind where it can differ.
//!
//! Split by concept: [`vec`] (vectors), [`types`] (type representations), [`val`] (values),
//! [`reference`] (references, host info, foreign objects), [`runtime`] (config, engine, store),
//! [`module`], [`func`], [`externs`] (globals, tables, memories, externs), [`instance`], [`trap`].

pub mod externs;
pub mod func;
pub mod instance;
pub mod module;
pub mod reference;
pub mod runtime;
pub mod trap;
pub mod types;
pub mod val;
pub mod vec;
