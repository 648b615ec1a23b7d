//! The code image: every compiled function and trampoline laid out in one position-independent buffer,
//! with the metadata the runtime needs (where each function starts, trap sites).

use crate::TrapCode;
pub use crate::address_map::{AddressMap, AddressMapBuilder, NO_WASM_OFFSET};
pub use crate::trap_table::TrapTable;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// The line that functions in the image are placed by: a cache line. Each function starts on a line
/// boundary, or at an offset past one that keeps its innermost loop inside one fetch window (the
/// compiler's loop alignment). Where a function's code falls relative to the instruction fetch and
/// decoded-instruction-cache windows (32 and 64 bytes on x86-64) changes its speed; with 16-byte
/// alignment, recursive fib(36) ran 9% slower than with 64 on the development machine (identical
/// instructions, whole-process times in the same run).
pub const FUNCTION_ALIGNMENT: usize = 64;

/// A module's machine code and its metadata. Offsets are relative to the start of `code`.
///
/// Serialization writes only the metadata: `code` is skipped (ahead-of-time artifacts store the code
/// bytes raw, next to the serialized metadata) and comes back empty.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CodeImage {
    /// The machine code, relocations already applied.
    #[serde(skip)]
    pub code: Vec<u8>,
    /// Range of each defined function (index = defined function index).
    pub functions: Vec<Range<u32>>,
    /// Offset of the entry trampoline of each type in the type section.
    pub entry_trampolines: Vec<u32>,
    /// Offset of the host trampoline of each type in the type section.
    pub host_trampolines: Vec<u32>,
    /// Trap sites, sorted by offset.
    pub traps: TrapTable,
    /// Exception handlers of the calls inside `try_table`s, sorted by return address: (offset of the
    /// call's return address, offset of the handler, the frame pointer minus the stack pointer the
    /// handler expects).
    pub handlers: Vec<(u32, u32, u32)>,
    /// Stack maps of the calls that may collect garbage, sorted by return address: (offset of the
    /// call's return address, the slots of the calling frame that hold GC references there, each as
    /// its distance below the frame pointer).
    pub stack_maps: Vec<(u32, Vec<u32>)>,
    /// Index of the image's first function in the module's function index space: the number of imported
    /// functions for a whole module's image (defined function `i` is function `num_imported_funcs + i`),
    /// the function's own index for the image of one lazily compiled function.
    pub num_imported_funcs: u32,
    /// Function names from the name section, sorted by function index.
    pub func_names: Vec<(u32, String)>,
    /// Where the machine code comes from: (code offset, byte offset in the wasm module of the
    /// operator it was compiled from, or [`NO_WASM_OFFSET`]), sorted by code offset; each entry holds
    /// up to the next one.
    pub address_map: AddressMap,
}

impl CodeImage {
    /// The byte offset in the wasm module of the operator the machine code at `offset` was compiled
    /// from, if any.
    pub fn wasm_offset(&self, offset: u32) -> Option<u32> {
        self.address_map.wasm_offset(offset)
    }

    /// The trap code recorded for the instruction at `offset`, if any.
    pub fn lookup_trap(&self, offset: u32) -> Option<TrapCode> {
        self.traps.lookup(offset)
    }

    /// The handler of the call whose return address is at `offset`: (handler offset, frame pointer
    /// minus the stack pointer at the handler).
    pub fn lookup_handler(&self, offset: u32) -> Option<(u32, u32)> {
        let i = self
            .handlers
            .binary_search_by_key(&offset, |(o, _, _)| *o)
            .ok()?;
        let (_, handler, frame) = self.handlers[i];
        Some((handler, frame))
    }

    /// The stack map of the call whose return address is at `offset`: the slots holding GC
    /// references, as distances below the calling frame's frame pointer.
    pub fn lookup_stack_map(&self, offset: u32) -> Option<&[u32]> {
        let i = self
            .stack_maps
            .binary_search_by_key(&offset, |(o, _)| *o)
            .ok()?;
        Some(&self.stack_maps[i].1)
    }

    /// The name of function `func_index`, if the module named it.
    pub fn func_name(&self, func_index: u32) -> Option<&str> {
        let i = self
            .func_names
            .binary_search_by_key(&func_index, |(f, _)| *f)
            .ok()?;
        Some(&self.func_names[i].1)
    }

    /// The defined function whose code contains `offset`, if any.
    pub fn function_at(&self, offset: u32) -> Option<u32> {
        let i = self.functions.partition_point(|r| r.end <= offset);
        let r = self.functions.get(i)?;
        r.contains(&offset).then_some(u32::try_from(i).ok()?)
    }
}
