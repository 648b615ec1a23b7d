//! # wasmz
//!
//! A WebAssembly runtime that compiles wasm to native code with Cranelift.
//!
//! ```
//! use wasmz::{Engine, HostFunc, Instance, Linker, Module, RawVal, Store, ValType};
//!
//! let engine = Engine::default();
//! let module = Module::compile(&engine, r#"
//!     (module
//!       (import "env" "add" (func $add (param i32 i32) (result i32)))
//!       (func (export "add") (param i32 i32) (result i32)
//!         (call $add (local.get 0) (local.get 1))))
//! "#)?;
//! let mut linker = Linker::new();
//! linker.define("env", "add", HostFunc::new([ValType::I32, ValType::I32], [ValType::I32], |_, params, results| {
//!     results[0] = RawVal::from(params[0].read_as::<i32>() + params[1].read_as::<i32>());
//!     Ok(())
//! }))?;
//! let mut store = Store::new(&engine);
//! let mut instance = Instance::new(&mut store, &module, &linker)?;
//! let result = instance.call("add", &[RawVal::from(3i32), RawVal::from(4i32)])?;
//! assert_eq!(result.values().unwrap()[0].read_as::<i32>(), 7);
//! # Ok::<(), wasmz::Error>(())
//! ```
//!
//! Ownership: a [`Store`] owns everything its instances create (memories, tables, globals, host
//! functions, instance state). [`Instance`], [`Memory`], [`Table`], [`Global`] and [`Func`] are handles
//! that keep their store alive, which is why [`Instance::call`] needs no store argument. Stores and
//! their handles stay on one thread; [`Engine`] and [`Module`] are `Send + Sync` and cheap to clone.

mod artifact;
mod artifact_error;
mod compile_error;
mod engine;
mod error;
mod exn;
mod externals;
mod instance;
mod instance_pre;
mod linker;
mod module;
mod shared_memory;
mod store;
mod typed;
mod values;

pub use artifact::{ArtifactInfo, CRANELIFT_VERSION};
pub use artifact_error::{ArtifactError, EngineSetting};
pub use compile_error::CompileError;
pub use engine::{BoundsChecks, Config, Engine, OptLevel};
pub use error::Error;
pub use exn::Exn;
pub use externals::{Extern, Func, Global, Memory, Table, Tag};
pub use instance::Instance;
pub use instance_pre::InstancePre;
pub use linker::{ContextHostFn, DataMut, HostContext, HostError, HostFunc, Linker};
pub use module::Module;
pub use shared_memory::{SharedMemory, WaitResult};
pub use store::{MemoryBudget, ResourceLimiter, Store};
pub use typed::{
    HostResults, IntoHostFunc, TypedFunc, WasmTy, WasmTyList, WithContext, WithoutContext,
};
pub use values::{AnyRef, ExecResult, FrameInfo, ThrownException, Trap, Val};
pub use wasmz_environ::{
    ExternType, FuncType, GlobalType, HeapType, Limits, MemoryType, RefType, TableType, TrapCode,
    ValType, WasmError,
};
pub use wasmz_runtime::{FromRawVal, GcStats, IntoRawVal, RawVal};
