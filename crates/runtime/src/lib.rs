//! The wasmz runtime: executable code memory, VMContexts and instances, linear memories, tables and
//! globals, builtins called from compiled code, and trap handling.
//!
//! Nearly all of wasmz's `unsafe` lives here; each block says why it holds.

pub mod budget;
pub mod call;
mod code_arena;
pub mod code_memory;
pub mod exception;
pub mod gc;
pub mod host;
pub mod instance;
pub mod lazy;
mod lazy_stubs;
pub mod libcalls;
pub mod memory;
pub mod memory_image;
mod panics;
pub mod parking;
pub mod perfmap;
mod pipeline_sync;
pub mod stack;
pub mod store;
pub mod table;
mod thread_cpu;
pub mod traphandlers;
pub mod values;
pub mod vmcontext;

pub use budget::MemoryBudget;
pub use call::{call_callee, call_func};
pub use code_memory::CodeMemory;
pub use exception::{Tag, ThrownException, VMTag};
pub use gc::{GcRoot, GcStats};
pub use host::{Caller, HostCallback, HostFunc, HostTrap};
pub use instance::{
    ExportValue, FuncCallee, FuncHandle, ImportValue, Instance, InstantiationError, RuntimeModule,
    instantiate,
};
pub use lazy::{LazyCode, LazyCompiler, LazyItem, LazyModule};
pub use memory::{LinearMemory, MemoryError, PAGE_SIZE};
pub use store::{
    EpochCallback, Global, GlobalId, HostFuncId, InstanceId, MemoryId, StoreInner, StoreLimits,
    TableId, TagId,
};
pub use table::Table;
pub use traphandlers::{FrameInfo, TrapInfo};
pub use values::{FromRawVal, IntoRawVal, RawVal};
pub use vmcontext::{VMContext, VMFuncRef};
