//! `v128` memory access: `v128.load/store`, the extending, splatting and zero-filling loads, and the
//! single-lane loads and stores. Addresses and bounds checks are those of the scalar accesses
//! ([`FuncTranslator::memory_address`]); the memory is little-endian, which the flags state explicitly.

use super::V128;
use crate::translate::FuncTranslator;
use cranelift_codegen::ir::types::{I16X8, I32X4, I64X2};
use cranelift_codegen::ir::{Endianness, InstBuilder, MemFlagsData, Type, Value};
use wasmparser::{MemArg, Operator};
use wasmz_environ::WasmResult;

/// How a 64-bit load is widened into a vector.
#[derive(Clone, Copy)]
enum ExtendKind {
    S8x8,
    U8x8,
    S16x4,
    U16x4,
    S32x2,
    U32x2,
}

impl FuncTranslator<'_, '_> {
    fn vec_heap_flags() -> MemFlagsData {
        Self::heap_flags().with_endianness(Endianness::Little)
    }

    /// Pops the index operand and returns the address and immediate offset of a `size`-byte access
    /// (see [`FuncTranslator::memory_access`]).
    fn pop_vec_address(&mut self, memarg: &MemArg, size: u32) -> (Value, i32) {
        let index = self.pop();
        self.memory_access(memarg, index, size)
    }

    /// `v128.loadNxM_{s,u}`: 8 bytes, each lane widened to twice its size.
    fn load_extend(&mut self, memarg: &MemArg, kind: ExtendKind) {
        let (addr, offset) = self.pop_vec_address(memarg, 8);
        let flags = Self::vec_heap_flags();
        let ins = self.builder.ins();
        let v = match kind {
            ExtendKind::S8x8 => ins.sload8x8(flags, addr, offset),
            ExtendKind::U8x8 => ins.uload8x8(flags, addr, offset),
            ExtendKind::S16x4 => ins.sload16x4(flags, addr, offset),
            ExtendKind::U16x4 => ins.uload16x4(flags, addr, offset),
            ExtendKind::S32x2 => ins.sload32x2(flags, addr, offset),
            ExtendKind::U32x2 => ins.uload32x2(flags, addr, offset),
        };
        self.push_vec(v);
    }

    /// `v128.loadN_splat`: one scalar of `ty`'s lane type, in every lane.
    fn load_splat(&mut self, memarg: &MemArg, ty: Type) {
        let lane = ty.lane_type();
        let (addr, offset) = self.pop_vec_address(memarg, lane.bytes());
        let x = self
            .builder
            .ins()
            .load(lane, Self::vec_heap_flags(), addr, offset);
        let v = self.builder.ins().splat(ty, x);
        self.push_vec(v);
    }

    /// `v128.loadN_zero`: one scalar of `ty`'s lane type in lane 0, the other lanes zero.
    fn load_zero(&mut self, memarg: &MemArg, ty: Type) {
        let lane = ty.lane_type();
        let (addr, offset) = self.pop_vec_address(memarg, lane.bytes());
        let x = self
            .builder
            .ins()
            .load(lane, Self::vec_heap_flags(), addr, offset);
        let v = self.builder.ins().scalar_to_vector(ty, x);
        self.push_vec(v);
    }

    /// `v128.loadN_lane`: the vector operand with lane `lane` (of `ty`) loaded from memory.
    fn load_lane(&mut self, memarg: &MemArg, ty: Type, lane: u8) {
        let v = self.pop_vec(ty);
        let lane_ty = ty.lane_type();
        let (addr, offset) = self.pop_vec_address(memarg, lane_ty.bytes());
        let x = self
            .builder
            .ins()
            .load(lane_ty, Self::vec_heap_flags(), addr, offset);
        let r = self.builder.ins().insertlane(v, x, lane);
        self.push_vec(r);
    }

    /// `v128.storeN_lane`: lane `lane` (of `ty`) of the vector operand stored to memory.
    fn store_lane(&mut self, memarg: &MemArg, ty: Type, lane: u8) {
        let v = self.pop_vec(ty);
        let (addr, offset) = self.pop_vec_address(memarg, ty.lane_type().bytes());
        let x = self.builder.ins().extractlane(v, lane);
        self.builder
            .ins()
            .store(Self::vec_heap_flags(), x, addr, offset);
    }

    pub(super) fn translate_simd_memory(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        use ExtendKind::*;
        use Operator as O;
        match op {
            O::V128Load { memarg } => {
                let (addr, offset) = self.pop_vec_address(memarg, 16);
                let v = self
                    .builder
                    .ins()
                    .load(V128, Self::vec_heap_flags(), addr, offset);
                self.push(v);
            }
            O::V128Store { memarg } => {
                let v = self.pop_vec(V128);
                let (addr, offset) = self.pop_vec_address(memarg, 16);
                self.builder
                    .ins()
                    .store(Self::vec_heap_flags(), v, addr, offset);
            }
            O::V128Load8x8S { memarg } => self.load_extend(memarg, S8x8),
            O::V128Load8x8U { memarg } => self.load_extend(memarg, U8x8),
            O::V128Load16x4S { memarg } => self.load_extend(memarg, S16x4),
            O::V128Load16x4U { memarg } => self.load_extend(memarg, U16x4),
            O::V128Load32x2S { memarg } => self.load_extend(memarg, S32x2),
            O::V128Load32x2U { memarg } => self.load_extend(memarg, U32x2),
            O::V128Load8Splat { memarg } => self.load_splat(memarg, V128),
            O::V128Load16Splat { memarg } => self.load_splat(memarg, I16X8),
            O::V128Load32Splat { memarg } => self.load_splat(memarg, I32X4),
            O::V128Load64Splat { memarg } => self.load_splat(memarg, I64X2),
            O::V128Load32Zero { memarg } => self.load_zero(memarg, I32X4),
            O::V128Load64Zero { memarg } => self.load_zero(memarg, I64X2),
            O::V128Load8Lane { memarg, lane } => self.load_lane(memarg, V128, *lane),
            O::V128Load16Lane { memarg, lane } => self.load_lane(memarg, I16X8, *lane),
            O::V128Load32Lane { memarg, lane } => self.load_lane(memarg, I32X4, *lane),
            O::V128Load64Lane { memarg, lane } => self.load_lane(memarg, I64X2, *lane),
            O::V128Store8Lane { memarg, lane } => self.store_lane(memarg, V128, *lane),
            O::V128Store16Lane { memarg, lane } => self.store_lane(memarg, I16X8, *lane),
            O::V128Store32Lane { memarg, lane } => self.store_lane(memarg, I32X4, *lane),
            O::V128Store64Lane { memarg, lane } => self.store_lane(memarg, I64X2, *lane),
            _ => return Ok(false),
        }
        Ok(true)
    }
}
