//! Linear-memory access: loads, stores, `memory.size/grow`, and the bulk-memory operators.
//!
//! Bounds checks: with guard pages (the default for 32-bit memories) every address `base + index + offset`
//! lies inside the memory's reservation (4 GiB addressable + 4 GiB guard), so the access itself faults
//! when out of bounds and the signal handler turns the fault into a trap. With explicit checks (chosen
//! in the Config, and always for 64-bit memories) the end of the access is compared with the current
//! length before the access.

use super::FuncTranslator;
use crate::env::{POINTER, readonly, trusted};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, TrapCode, Type, Value, types};
use wasmparser::{MemArg, MemArgTarget, Operator};
use wasmz_environ::{Builtin, WasmResult, vmoffsets};

impl FuncTranslator<'_, '_> {
    pub(super) fn memory_def(&mut self, memory: u32) -> Value {
        let offset = self.env.offsets.memory(memory);
        self.builder
            .ins()
            .load(POINTER, readonly(), self.vmctx, offset as i32)
    }

    /// The base address of `memory`: one `readonly` load from the vmctx (the base never changes).
    pub(super) fn memory_base(&mut self, memory: u32) -> Value {
        if let (0, Some(base)) = (memory, self.memory0_base) {
            return base;
        }
        let offset = self.env.offsets.memory_base(memory);
        self.builder
            .ins()
            .load(POINTER, readonly(), self.vmctx, offset as i32)
    }

    pub(super) fn is_memory64(&self, memory: u32) -> bool {
        self.env.module.memories[memory as usize].memory64
    }

    /// Widens an index operand of `memory` to 64 bits.
    pub(super) fn memory_index_to_i64(&mut self, memory: u32, index: Value) -> Value {
        if self.is_memory64(memory) {
            index
        } else {
            self.builder.ins().uextend(types::I64, index)
        }
    }

    /// The native address of an access of `size` bytes at `index` + `memarg.offset`, bounds-checked, as
    /// an address and an offset for the load or store instruction's immediate: `memarg.offset` itself
    /// when it fits (the instruction adds it, and the IR stays two instructions shorter), else 0.
    pub(super) fn memory_access(
        &mut self,
        memarg: &MemArg,
        index: Value,
        size: u32,
    ) -> (Value, i32) {
        let memory = &self.env.module.memories[memarg_memory(memarg) as usize];
        let explicit = self.env.explicit_bounds_checks || !memory.may_use_guard_pages();
        match i32::try_from(memarg.offset) {
            // An explicitly checked access keeps its offset in the guarded address (see
            // `guard_bounds`).
            Ok(offset) if !explicit => {
                let at_zero = MemArg {
                    offset: 0,
                    ..*memarg
                };
                // The bounds check still covers `offset + size` bytes past the index.
                let addr = self.checked_memory_address_with_end(
                    &at_zero,
                    index,
                    memarg.offset.saturating_add(u64::from(size)),
                    explicit,
                );
                (addr, offset)
            }
            _ => (
                self.checked_memory_address(memarg, index, size, explicit),
                0,
            ),
        }
    }

    /// The native address of an access of `size` bytes at `index` + `memarg.offset`; with `explicit`,
    /// the end of the access is compared with the memory's current length first (trapping when out of
    /// bounds), otherwise the guard region makes the access itself fault.
    ///
    /// The length is read with a plain load on every access. A shared memory may be grown by another
    /// thread meanwhile: its length only ever increases, and is published only after the new pages are
    /// accessible, so any value read (even a stale one) admits only accessible bytes.
    pub(super) fn checked_memory_address(
        &mut self,
        memarg: &MemArg,
        index: Value,
        size: u32,
        explicit: bool,
    ) -> Value {
        let end_offset = memarg.offset.saturating_add(u64::from(size));
        self.checked_memory_address_with_end(memarg, index, end_offset, explicit)
    }

    /// As [`FuncTranslator::checked_memory_address`], with the explicit check comparing
    /// `index + end_offset` (the end of the access) with the length.
    fn checked_memory_address_with_end(
        &mut self,
        memarg: &MemArg,
        index: Value,
        end_offset: u64,
        explicit: bool,
    ) -> Value {
        let memory = memarg_memory(memarg);
        let base = self.memory_base(memory);
        let memory64 = self.is_memory64(memory);
        let index = self.memory_index_to_i64(memory, index);
        let addr = self.builder.ins().iadd(base, index);
        let addr = if memarg.offset == 0 {
            addr
        } else {
            self.builder.ins().iadd_imm_s(addr, memarg.offset as i64)
        };
        if explicit {
            let def = self.memory_def(memory);
            let length = self.builder.ins().load(
                types::I64,
                trusted(),
                def,
                vmoffsets::memory::LENGTH as i32,
            );
            let end_offset = self.builder.ins().iconst(types::I64, end_offset as i64);
            let end = if memory64 {
                self.builder.ins().uadd_overflow_trap(
                    index,
                    end_offset,
                    TrapCode::HEAP_OUT_OF_BOUNDS,
                )
            } else {
                self.builder.ins().iadd(index, end_offset)
            };
            let oob = self
                .builder
                .ins()
                .icmp(IntCC::UnsignedGreaterThan, end, length);
            self.guard_bounds(oob, TrapCode::HEAP_OUT_OF_BOUNDS, addr)
        } else {
            addr
        }
    }

    /// Flags of a plain access to linear memory: it traps when out of bounds (guard pages), and it
    /// touches only the linear-memory alias region.
    pub(super) fn heap_flags() -> MemFlagsData {
        MemFlagsData::new()
            .with_trap_code(Some(TrapCode::HEAP_OUT_OF_BOUNDS))
            .with_alias_region(Some(super::regions::heap()))
    }

    fn load(&mut self, memarg: &MemArg, ty: Type, size: u32, kind: LoadKind) {
        let index = self.pop();
        let (addr, offset) = self.memory_access(memarg, index, size);
        let flags = Self::heap_flags();
        let ins = self.builder.ins();
        let v = match kind {
            LoadKind::Plain => ins.load(ty, flags, addr, offset),
            LoadKind::S8 => ins.sload8(ty, flags, addr, offset),
            LoadKind::U8 => ins.uload8(ty, flags, addr, offset),
            LoadKind::S16 => ins.sload16(ty, flags, addr, offset),
            LoadKind::U16 => ins.uload16(ty, flags, addr, offset),
            LoadKind::S32 => ins.sload32(flags, addr, offset),
            LoadKind::U32 => ins.uload32(flags, addr, offset),
        };
        self.push(v);
    }

    fn store(&mut self, memarg: &MemArg, size: u32) {
        let (index, value) = self.pop2();
        let (addr, offset) = self.memory_access(memarg, index, size);
        let flags = Self::heap_flags();
        let value_bits = self.builder.func.dfg.value_type(value).bytes();
        let ins = self.builder.ins();
        match size {
            1 => ins.istore8(flags, value, addr, offset),
            2 => ins.istore16(flags, value, addr, offset),
            4 if value_bits == 8 => ins.istore32(flags, value, addr, offset),
            _ => ins.store(flags, value, addr, offset),
        };
    }

    pub(super) fn translate_memory(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        use LoadKind::*;
        use Operator as O;
        use types::{F32, F64, I32, I64};
        match op {
            O::I32Load { memarg } => self.load(memarg, I32, 4, Plain),
            O::I64Load { memarg } => self.load(memarg, I64, 8, Plain),
            O::F32Load { memarg } => self.load(memarg, F32, 4, Plain),
            O::F64Load { memarg } => self.load(memarg, F64, 8, Plain),
            O::I32Load8S { memarg } => self.load(memarg, I32, 1, S8),
            O::I32Load8U { memarg } => self.load(memarg, I32, 1, U8),
            O::I32Load16S { memarg } => self.load(memarg, I32, 2, S16),
            O::I32Load16U { memarg } => self.load(memarg, I32, 2, U16),
            O::I64Load8S { memarg } => self.load(memarg, I64, 1, S8),
            O::I64Load8U { memarg } => self.load(memarg, I64, 1, U8),
            O::I64Load16S { memarg } => self.load(memarg, I64, 2, S16),
            O::I64Load16U { memarg } => self.load(memarg, I64, 2, U16),
            O::I64Load32S { memarg } => self.load(memarg, I64, 4, S32),
            O::I64Load32U { memarg } => self.load(memarg, I64, 4, U32),
            O::I32Store { memarg } | O::F32Store { memarg } => self.store(memarg, 4),
            O::I64Store { memarg } | O::F64Store { memarg } => self.store(memarg, 8),
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => self.store(memarg, 1),
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => self.store(memarg, 2),
            O::I64Store32 { memarg } => self.store(memarg, 4),
            O::MemorySize { mem } => {
                let def = self.memory_def(*mem);
                let length = if self.env.module.memories[*mem as usize].shared {
                    // Another thread may grow a shared memory: read its length atomically, so that
                    // the read is never merged with an earlier one.
                    let at = self
                        .builder
                        .ins()
                        .iadd_imm_s(def, i64::from(vmoffsets::memory::LENGTH));
                    self.builder.ins().atomic_load(I64, trusted(), at)
                } else {
                    self.builder
                        .ins()
                        .load(I64, trusted(), def, vmoffsets::memory::LENGTH as i32)
                };
                let log2 = self.env.module.memories[*mem as usize].page_size_log2;
                let pages = self.builder.ins().ushr_imm_s(length, i64::from(log2));
                let v = if self.is_memory64(*mem) {
                    pages
                } else {
                    self.builder.ins().ireduce(I32, pages)
                };
                self.push(v);
            }
            O::MemoryGrow { mem } => {
                let delta = self.pop();
                let delta = self.memory_index_to_i64(*mem, delta);
                let mem_index = self.builder.ins().iconst(I32, i64::from(*mem));
                let old = self.env.call_builtin(
                    &mut self.builder,
                    self.vmctx,
                    Builtin::MemoryGrow,
                    &[mem_index, delta],
                );
                let old = old.expect("memory.grow returns the old size");
                let v = if self.is_memory64(*mem) {
                    old
                } else {
                    self.builder.ins().ireduce(I32, old)
                };
                self.push(v);
            }
            O::MemoryFill { mem } => {
                let (dst, value, len) = self.pop3();
                let dst = self.memory_index_to_i64(*mem, dst);
                let len = self.memory_index_to_i64(*mem, len);
                let mem_index = self.builder.ins().iconst(I32, i64::from(*mem));
                self.env.call_checked_builtin(
                    &mut self.builder,
                    self.vmctx,
                    Builtin::MemoryFill,
                    &[mem_index, dst, value, len],
                    wasmz_environ::TrapCode::MemoryOutOfBounds,
                );
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                let (dst, src, len) = self.pop3();
                let dst = self.memory_index_to_i64(*dst_mem, dst);
                let src = self.memory_index_to_i64(*src_mem, src);
                // The length has the narrower of the two index types.
                let len = if self.is_memory64(*dst_mem) && self.is_memory64(*src_mem) {
                    len
                } else {
                    self.builder.ins().uextend(I64, len)
                };
                let d = self.builder.ins().iconst(I32, i64::from(*dst_mem));
                let s = self.builder.ins().iconst(I32, i64::from(*src_mem));
                self.env.call_checked_builtin(
                    &mut self.builder,
                    self.vmctx,
                    Builtin::MemoryCopy,
                    &[d, s, dst, src, len],
                    wasmz_environ::TrapCode::MemoryOutOfBounds,
                );
            }
            O::MemoryInit { data_index, mem } => {
                let (dst, src, len) = self.pop3();
                let dst = self.memory_index_to_i64(*mem, dst);
                let m = self.builder.ins().iconst(I32, i64::from(*mem));
                let d = self.builder.ins().iconst(I32, i64::from(*data_index));
                self.env.call_checked_builtin(
                    &mut self.builder,
                    self.vmctx,
                    Builtin::MemoryInit,
                    &[m, d, dst, src, len],
                    wasmz_environ::TrapCode::MemoryOutOfBounds,
                );
            }
            O::DataDrop { data_index } => {
                let d = self.builder.ins().iconst(I32, i64::from(*data_index));
                self.env
                    .call_builtin(&mut self.builder, self.vmctx, Builtin::DataDrop, &[d]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// The memory a memory operator accesses.
pub(super) fn memarg_memory(memarg: &MemArg) -> u32 {
    match memarg.target {
        MemArgTarget::Memory(m) => m,
        MemArgTarget::Array(_) => unreachable!("GC array accesses are rejected at validation"),
    }
}

#[derive(Clone, Copy)]
enum LoadKind {
    Plain,
    S8,
    U8,
    S16,
    U16,
    S32,
    U32,
}
