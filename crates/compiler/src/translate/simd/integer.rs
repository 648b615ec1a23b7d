//! Bitwise operators on `v128`, and integer lane arithmetic, comparisons, shifts and reductions.

use super::V128;
use crate::translate::FuncTranslator;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I16X8, I32, I32X4, I64X2};
use cranelift_codegen::ir::{InstBuilder, Type};
use wasmparser::Operator;
use wasmz_environ::WasmResult;

impl FuncTranslator<'_, '_> {
    /// A lane-wise comparison; Cranelift's vector `icmp` already yields all-ones/all-zeros lanes.
    fn vec_icmp(&mut self, ty: Type, cc: IntCC) {
        self.vec_binary(ty, |t, a, b| t.builder.ins().icmp(cc, a, b));
    }

    /// A shift of every lane by the i32 operand. Cranelift masks the amount by the lane width, as wasm does.
    fn vec_shift(&mut self, ty: Type, kind: Shift) {
        let amount = self.pop();
        let v = self.pop_vec(ty);
        let ins = self.builder.ins();
        let r = match kind {
            Shift::Left => ins.ishl(v, amount),
            Shift::RightS => ins.sshr(v, amount),
            Shift::RightU => ins.ushr(v, amount),
        };
        self.push_vec(r);
    }

    /// `*.all_true`: 1 when no lane of the operand seen as `ty` is zero.
    fn all_true(&mut self, ty: Type) {
        let v = self.pop_vec(ty);
        let b = self.builder.ins().vall_true(v);
        let r = self.builder.ins().uextend(I32, b);
        self.push(r);
    }

    /// `*.bitmask`: the top bit of every lane, lane 0 in bit 0.
    fn bitmask(&mut self, ty: Type) {
        let v = self.pop_vec(ty);
        let r = self.builder.ins().vhigh_bits(I32, v);
        self.push(r);
    }

    pub(super) fn translate_simd_integer(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        use IntCC::*;
        use Operator as O;
        match *op {
            O::V128Not => self.vec_unary(V128, |t, a| t.builder.ins().bnot(a)),
            O::V128And => self.vec_binary(V128, |t, a, b| t.builder.ins().band(a, b)),
            O::V128AndNot => self.vec_binary(V128, |t, a, b| t.builder.ins().band_not(a, b)),
            O::V128Or => self.vec_binary(V128, |t, a, b| t.builder.ins().bor(a, b)),
            O::V128Xor => self.vec_binary(V128, |t, a, b| t.builder.ins().bxor(a, b)),
            O::V128Bitselect => {
                // wasm: (v1 & c) | (v2 & !c); Cranelift: bitselect(c, x, y) takes x where c is set.
                let c = self.pop_vec(V128);
                let (v1, v2) = self.pop2_vec(V128);
                let r = self.builder.ins().bitselect(c, v1, v2);
                self.push_vec(r);
            }
            O::V128AnyTrue => {
                let v = self.pop_vec(V128);
                let b = self.builder.ins().vany_true(v);
                let r = self.builder.ins().uextend(I32, b);
                self.push(r);
            }

            O::I8x16AllTrue => self.all_true(V128),
            O::I16x8AllTrue => self.all_true(I16X8),
            O::I32x4AllTrue => self.all_true(I32X4),
            O::I64x2AllTrue => self.all_true(I64X2),
            O::I8x16Bitmask => self.bitmask(V128),
            O::I16x8Bitmask => self.bitmask(I16X8),
            O::I32x4Bitmask => self.bitmask(I32X4),
            O::I64x2Bitmask => self.bitmask(I64X2),

            O::I8x16Eq => self.vec_icmp(V128, Equal),
            O::I8x16Ne => self.vec_icmp(V128, NotEqual),
            O::I8x16LtS => self.vec_icmp(V128, SignedLessThan),
            O::I8x16LtU => self.vec_icmp(V128, UnsignedLessThan),
            O::I8x16GtS => self.vec_icmp(V128, SignedGreaterThan),
            O::I8x16GtU => self.vec_icmp(V128, UnsignedGreaterThan),
            O::I8x16LeS => self.vec_icmp(V128, SignedLessThanOrEqual),
            O::I8x16LeU => self.vec_icmp(V128, UnsignedLessThanOrEqual),
            O::I8x16GeS => self.vec_icmp(V128, SignedGreaterThanOrEqual),
            O::I8x16GeU => self.vec_icmp(V128, UnsignedGreaterThanOrEqual),
            O::I16x8Eq => self.vec_icmp(I16X8, Equal),
            O::I16x8Ne => self.vec_icmp(I16X8, NotEqual),
            O::I16x8LtS => self.vec_icmp(I16X8, SignedLessThan),
            O::I16x8LtU => self.vec_icmp(I16X8, UnsignedLessThan),
            O::I16x8GtS => self.vec_icmp(I16X8, SignedGreaterThan),
            O::I16x8GtU => self.vec_icmp(I16X8, UnsignedGreaterThan),
            O::I16x8LeS => self.vec_icmp(I16X8, SignedLessThanOrEqual),
            O::I16x8LeU => self.vec_icmp(I16X8, UnsignedLessThanOrEqual),
            O::I16x8GeS => self.vec_icmp(I16X8, SignedGreaterThanOrEqual),
            O::I16x8GeU => self.vec_icmp(I16X8, UnsignedGreaterThanOrEqual),
            O::I32x4Eq => self.vec_icmp(I32X4, Equal),
            O::I32x4Ne => self.vec_icmp(I32X4, NotEqual),
            O::I32x4LtS => self.vec_icmp(I32X4, SignedLessThan),
            O::I32x4LtU => self.vec_icmp(I32X4, UnsignedLessThan),
            O::I32x4GtS => self.vec_icmp(I32X4, SignedGreaterThan),
            O::I32x4GtU => self.vec_icmp(I32X4, UnsignedGreaterThan),
            O::I32x4LeS => self.vec_icmp(I32X4, SignedLessThanOrEqual),
            O::I32x4LeU => self.vec_icmp(I32X4, UnsignedLessThanOrEqual),
            O::I32x4GeS => self.vec_icmp(I32X4, SignedGreaterThanOrEqual),
            O::I32x4GeU => self.vec_icmp(I32X4, UnsignedGreaterThanOrEqual),
            O::I64x2Eq => self.vec_icmp(I64X2, Equal),
            O::I64x2Ne => self.vec_icmp(I64X2, NotEqual),
            O::I64x2LtS => self.vec_icmp(I64X2, SignedLessThan),
            O::I64x2GtS => self.vec_icmp(I64X2, SignedGreaterThan),
            O::I64x2LeS => self.vec_icmp(I64X2, SignedLessThanOrEqual),
            O::I64x2GeS => self.vec_icmp(I64X2, SignedGreaterThanOrEqual),

            O::I8x16Abs => self.vec_unary(V128, |t, a| t.builder.ins().iabs(a)),
            O::I16x8Abs => self.vec_unary(I16X8, |t, a| t.builder.ins().iabs(a)),
            O::I32x4Abs => self.vec_unary(I32X4, |t, a| t.builder.ins().iabs(a)),
            O::I64x2Abs => self.vec_unary(I64X2, |t, a| t.builder.ins().iabs(a)),
            O::I8x16Neg => self.vec_unary(V128, |t, a| t.builder.ins().ineg(a)),
            O::I16x8Neg => self.vec_unary(I16X8, |t, a| t.builder.ins().ineg(a)),
            O::I32x4Neg => self.vec_unary(I32X4, |t, a| t.builder.ins().ineg(a)),
            O::I64x2Neg => self.vec_unary(I64X2, |t, a| t.builder.ins().ineg(a)),
            O::I8x16Popcnt => self.vec_unary(V128, |t, a| t.builder.ins().popcnt(a)),

            O::I8x16Shl => self.vec_shift(V128, Shift::Left),
            O::I8x16ShrS => self.vec_shift(V128, Shift::RightS),
            O::I8x16ShrU => self.vec_shift(V128, Shift::RightU),
            O::I16x8Shl => self.vec_shift(I16X8, Shift::Left),
            O::I16x8ShrS => self.vec_shift(I16X8, Shift::RightS),
            O::I16x8ShrU => self.vec_shift(I16X8, Shift::RightU),
            O::I32x4Shl => self.vec_shift(I32X4, Shift::Left),
            O::I32x4ShrS => self.vec_shift(I32X4, Shift::RightS),
            O::I32x4ShrU => self.vec_shift(I32X4, Shift::RightU),
            O::I64x2Shl => self.vec_shift(I64X2, Shift::Left),
            O::I64x2ShrS => self.vec_shift(I64X2, Shift::RightS),
            O::I64x2ShrU => self.vec_shift(I64X2, Shift::RightU),

            O::I8x16Add => self.vec_binary(V128, |t, a, b| t.builder.ins().iadd(a, b)),
            O::I16x8Add => self.vec_binary(I16X8, |t, a, b| t.builder.ins().iadd(a, b)),
            O::I32x4Add => self.vec_binary(I32X4, |t, a, b| t.builder.ins().iadd(a, b)),
            O::I64x2Add => self.vec_binary(I64X2, |t, a, b| t.builder.ins().iadd(a, b)),
            O::I8x16Sub => self.vec_binary(V128, |t, a, b| t.builder.ins().isub(a, b)),
            O::I16x8Sub => self.vec_binary(I16X8, |t, a, b| t.builder.ins().isub(a, b)),
            O::I32x4Sub => self.vec_binary(I32X4, |t, a, b| t.builder.ins().isub(a, b)),
            O::I64x2Sub => self.vec_binary(I64X2, |t, a, b| t.builder.ins().isub(a, b)),
            O::I16x8Mul => self.vec_binary(I16X8, |t, a, b| t.builder.ins().imul(a, b)),
            O::I32x4Mul => self.vec_binary(I32X4, |t, a, b| t.builder.ins().imul(a, b)),
            O::I64x2Mul => self.vec_binary(I64X2, |t, a, b| t.builder.ins().imul(a, b)),

            O::I8x16AddSatS => self.vec_binary(V128, |t, a, b| t.builder.ins().sadd_sat(a, b)),
            O::I8x16AddSatU => self.vec_binary(V128, |t, a, b| t.builder.ins().uadd_sat(a, b)),
            O::I8x16SubSatS => self.vec_binary(V128, |t, a, b| t.builder.ins().ssub_sat(a, b)),
            O::I8x16SubSatU => self.vec_binary(V128, |t, a, b| t.builder.ins().usub_sat(a, b)),
            O::I16x8AddSatS => self.vec_binary(I16X8, |t, a, b| t.builder.ins().sadd_sat(a, b)),
            O::I16x8AddSatU => self.vec_binary(I16X8, |t, a, b| t.builder.ins().uadd_sat(a, b)),
            O::I16x8SubSatS => self.vec_binary(I16X8, |t, a, b| t.builder.ins().ssub_sat(a, b)),
            O::I16x8SubSatU => self.vec_binary(I16X8, |t, a, b| t.builder.ins().usub_sat(a, b)),

            O::I8x16MinS => self.vec_binary(V128, |t, a, b| t.builder.ins().smin(a, b)),
            O::I8x16MinU => self.vec_binary(V128, |t, a, b| t.builder.ins().umin(a, b)),
            O::I8x16MaxS => self.vec_binary(V128, |t, a, b| t.builder.ins().smax(a, b)),
            O::I8x16MaxU => self.vec_binary(V128, |t, a, b| t.builder.ins().umax(a, b)),
            O::I16x8MinS => self.vec_binary(I16X8, |t, a, b| t.builder.ins().smin(a, b)),
            O::I16x8MinU => self.vec_binary(I16X8, |t, a, b| t.builder.ins().umin(a, b)),
            O::I16x8MaxS => self.vec_binary(I16X8, |t, a, b| t.builder.ins().smax(a, b)),
            O::I16x8MaxU => self.vec_binary(I16X8, |t, a, b| t.builder.ins().umax(a, b)),
            O::I32x4MinS => self.vec_binary(I32X4, |t, a, b| t.builder.ins().smin(a, b)),
            O::I32x4MinU => self.vec_binary(I32X4, |t, a, b| t.builder.ins().umin(a, b)),
            O::I32x4MaxS => self.vec_binary(I32X4, |t, a, b| t.builder.ins().smax(a, b)),
            O::I32x4MaxU => self.vec_binary(I32X4, |t, a, b| t.builder.ins().umax(a, b)),

            // `avg_round` is the unsigned (a + b + 1) / 2 without overflow, wasm's `avgr_u`.
            O::I8x16AvgrU => self.vec_binary(V128, |t, a, b| t.builder.ins().avg_round(a, b)),
            O::I16x8AvgrU => self.vec_binary(I16X8, |t, a, b| t.builder.ins().avg_round(a, b)),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// The direction of a lane shift.
#[derive(Clone, Copy)]
enum Shift {
    Left,
    RightS,
    RightU,
}
