//! The builtin functions (libcalls) that compiled code calls through the VMContext's builtins table.
//!
//! This list is the single source: the compiler derives call signatures from [`Builtin::signature`], and the
//! runtime fills the table by an exhaustive `match` over [`Builtin::ALL`], so neither side can forget one.
//! Every builtin takes the calling instance's vmctx as an implicit first argument and uses the host's C
//! calling convention. Builtins that can trap return a trap code (0 = no trap) instead of unwinding; the
//! compiled code then calls [`Builtin::RaiseTrap`].

/// The machine type of a builtin's parameter or result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// Pointer-sized integer.
    Ptr,
}

/// A builtin's signature, not counting the leading vmctx.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinSignature {
    /// Parameter types after the vmctx.
    pub params: &'static [BuiltinType],
    /// Result type, if any.
    pub result: Option<BuiltinType>,
}

macro_rules! builtins {
    ($($(#[$doc:meta])* $name:ident($($param:ident),*) $(-> $result:ident)?;)*) => {
        /// A builtin function reachable from compiled code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Builtin {
            $($(#[$doc])* $name,)*
        }

        impl Builtin {
            /// Every builtin, in table order.
            pub const ALL: &'static [Builtin] = &[$(Builtin::$name,)*];
            /// Number of builtins.
            pub const COUNT: usize = Builtin::ALL.len();

            /// The builtin's signature.
            pub fn signature(self) -> BuiltinSignature {
                use BuiltinType::*;
                match self {
                    $(Builtin::$name => BuiltinSignature {
                        params: &[$($param),*],
                        result: builtins!(@result $($result)?),
                    },)*
                }
            }

            /// Whether compiled code calls this builtin with a convention that clobbers no register
            /// (the builtin is an assembly shim saving everything around the Rust function).
            pub fn preserves_all_registers(self) -> bool {
                matches!(self, Builtin::EpochDeadline | Builtin::LazyCompile)
            }

            /// Offset of this builtin's pointer in the builtins table.
            pub fn table_offset(self) -> u32 {
                self as u32 * crate::vmoffsets::POINTER_SIZE
            }
        }
    };
    (@result) => { None };
    (@result $r:ident) => { Some($r) };
}

builtins! {
    /// `memory.grow(mem, delta_pages) -> old_pages or -1`.
    MemoryGrow(I32, I64) -> I64;
    /// `memory.fill(mem, dst, byte, len) -> trap code`.
    MemoryFill(I32, I64, I32, I64) -> I32;
    /// `memory.copy(dst_mem, src_mem, dst, src, len) -> trap code`.
    MemoryCopy(I32, I32, I64, I64, I64) -> I32;
    /// `memory.init(mem, data_segment, dst, src, len) -> trap code`.
    MemoryInit(I32, I32, I64, I32, I32) -> I32;
    /// `data.drop(data_segment)`.
    DataDrop(I32);
    /// `table.grow(table, init, delta) -> old_size or -1`.
    TableGrow(I32, Ptr, I64) -> I64;
    /// `table.fill(table, dst, value, len) -> trap code`.
    TableFill(I32, I64, Ptr, I64) -> I32;
    /// `table.copy(dst_table, src_table, dst, src, len) -> trap code`.
    TableCopy(I32, I32, I64, I64, I64) -> I32;
    /// `table.init(table, elem_segment, dst, src, len) -> trap code`.
    TableInit(I32, I32, I64, I32, I32) -> I32;
    /// `elem.drop(elem_segment)`.
    ElemDrop(I32);
    /// Calls a host function: `(host_func_ctx, values) -> trap code`; arguments and results live in `values`
    /// (16 bytes per value).
    HostCall(Ptr, Ptr) -> I32;
    /// Ends the current wasm execution with a trap code; the second argument is the calling frame's
    /// frame pointer, where the backtrace starts. Never returns.
    RaiseTrap(I32, Ptr);
    /// `memory.atomic.notify` on a shared memory: `(address, count) -> woken`; `address` is the native
    /// address of the aligned, bounds-checked 4-byte location, `count` is unsigned.
    MemoryAtomicNotify(Ptr, I32) -> I32;
    /// `memory.atomic.wait32` on a shared memory: `(address, expected, timeout_ns) -> 0 woken,
    /// 1 not equal, 2 timed out`; a negative timeout waits forever.
    MemoryAtomicWait32(Ptr, I32, I64) -> I32;
    /// `memory.atomic.wait64` on a shared memory, as [`Builtin::MemoryAtomicWait32`] with an 8-byte
    /// location.
    MemoryAtomicWait64(Ptr, I64, I64) -> I32;
    /// Compiles the function behind a `*const VMFuncRef` whose code pointer is still null (lazy
    /// compilation) and stores the code pointer into that `VMFuncRef`, where compiled code then loads
    /// it; leaves it null when the function cannot be compiled, after recording the error as the
    /// message of the trap that follows. Called with the preserve-all convention
    /// ([`Builtin::preserves_all_registers`]), which allows no result: it is the cold path of every
    /// call in lazily compiled code, and the call's arguments stay in their registers.
    LazyCompile(Ptr);
    /// Allocates an exception of the calling instance's tag `tag` in the store and returns its address
    /// (see `vmoffsets::exception`); compiled code then writes the values.
    ExnNew(I32) -> Ptr;
    /// Throws the exception `exn` (non-null) from the frame whose frame pointer is the second argument:
    /// resumes at the handler of the innermost enclosing `try_table` of a calling wasm frame, or ends the
    /// wasm execution with an unhandled-exception trap. Never returns.
    Throw(Ptr, Ptr);
    /// Releases a caught exception that no `exnref` refers to (its values have been read).
    ExnFree(Ptr);
    /// Allocates a GC object of canonical type `type_id` and `size` bytes (a multiple of 8) when the
    /// inline bump allocation does not fit: `(type_id, size) -> address`, header written and fields
    /// zero, or 0 when the heap is exhausted (the caller traps with `OutOfMemory`). May collect.
    GcAlloc(I32, I64) -> Ptr;
    /// Copies `len` elements of `elem_size` bytes from data segment `data` at byte `src` to the array
    /// elements at `dst`: `(dst, data, src, len, elem_size) -> trap code`; with a null `dst` only checks
    /// that the segment holds them.
    ArrayInitData(Ptr, I32, I32, I32, I32) -> I32;
    /// Copies `len` references from element segment `elem` at `src` to the array elements at `dst`:
    /// `(dst, elem, src, len) -> trap code`; with a null `dst` only checks the segment's range.
    ArrayInitElem(Ptr, I32, I32, I32) -> I32;
    /// Copies `bytes` bytes between array elements (the ranges may overlap): `(dst, src, bytes)`.
    GcCopy(Ptr, Ptr, I64);
    /// `(actual, expected) -> 1 or 0`: whether canonical type `actual` is a subtype of `expected`, a
    /// canonical type id or one of the abstract codes [`crate::refs::STRUCT_CODE`] and
    /// [`crate::refs::ARRAY_CODE`] (any struct type, any array type).
    TypeMatches(I32, I32) -> I32;
    /// The store's epoch deadline was reached (epoch interruption): asks the store's epoch-deadline
    /// callback, which may move the deadline; the code then compares again and traps with
    /// `Interrupted` if it is still reached. Called with the preserve-all convention
    /// ([`Builtin::preserves_all_registers`]), so that the cold call disturbs no register allocation
    /// in the loops it guards.
    EpochDeadline();
}
