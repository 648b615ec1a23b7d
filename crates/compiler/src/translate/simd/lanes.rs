//! Constants and lane access: `v128.const`, splats, `extract_lane`/`replace_lane`, `i8x16.shuffle` and
//! `i8x16.swizzle`.

use super::V128;
use crate::translate::FuncTranslator;
use cranelift_codegen::ir::types::{F32X4, F64X2, I8, I16, I16X8, I32, I32X4, I64X2};
use cranelift_codegen::ir::{ConstantData, InstBuilder, Type};
use wasmparser::Operator;
use wasmz_environ::WasmResult;

impl FuncTranslator<'_, '_> {
    /// `*.splat`: the scalar operand (narrowed to `lane` when the lane is narrower than i32) in every lane.
    fn splat(&mut self, ty: Type) {
        let x = self.pop();
        let lane = ty.lane_type();
        let x = if lane.is_int() && lane.bits() < 32 {
            self.builder.ins().ireduce(lane, x)
        } else {
            x
        };
        let v = self.builder.ins().splat(ty, x);
        self.push_vec(v);
    }

    /// `*.extract_lane[_s|_u]`: lane `lane` of the operand seen as `ty`, extended to i32 for narrow lanes.
    fn extract_lane(&mut self, ty: Type, lane: u8, signed: bool) {
        let v = self.pop_vec(ty);
        let x = self.builder.ins().extractlane(v, lane);
        let x = match ty.lane_type() {
            I8 | I16 if signed => self.builder.ins().sextend(I32, x),
            I8 | I16 => self.builder.ins().uextend(I32, x),
            _ => x,
        };
        self.push(x);
    }

    /// `*.replace_lane`: the vector with lane `lane` replaced by the scalar operand.
    fn replace_lane(&mut self, ty: Type, lane: u8) {
        let x = self.pop();
        let v = self.pop_vec(ty);
        let lane_ty = ty.lane_type();
        let x = if lane_ty.is_int() && lane_ty.bits() < 32 {
            self.builder.ins().ireduce(lane_ty, x)
        } else {
            x
        };
        let r = self.builder.ins().insertlane(v, x, lane);
        self.push_vec(r);
    }

    pub(super) fn translate_simd_lanes(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        use Operator as O;
        match *op {
            O::V128Const { value } => {
                let v = self.vconst_bytes(V128, *value.bytes());
                self.push(v);
            }
            O::I8x16Splat => self.splat(V128),
            O::I16x8Splat => self.splat(I16X8),
            O::I32x4Splat => self.splat(I32X4),
            O::I64x2Splat => self.splat(I64X2),
            O::F32x4Splat => self.splat(F32X4),
            O::F64x2Splat => self.splat(F64X2),
            O::I8x16ExtractLaneS { lane } => self.extract_lane(V128, lane, true),
            O::I8x16ExtractLaneU { lane } => self.extract_lane(V128, lane, false),
            O::I16x8ExtractLaneS { lane } => self.extract_lane(I16X8, lane, true),
            O::I16x8ExtractLaneU { lane } => self.extract_lane(I16X8, lane, false),
            O::I32x4ExtractLane { lane } => self.extract_lane(I32X4, lane, false),
            O::I64x2ExtractLane { lane } => self.extract_lane(I64X2, lane, false),
            O::F32x4ExtractLane { lane } => self.extract_lane(F32X4, lane, false),
            O::F64x2ExtractLane { lane } => self.extract_lane(F64X2, lane, false),
            O::I8x16ReplaceLane { lane } => self.replace_lane(V128, lane),
            O::I16x8ReplaceLane { lane } => self.replace_lane(I16X8, lane),
            O::I32x4ReplaceLane { lane } => self.replace_lane(I32X4, lane),
            O::I64x2ReplaceLane { lane } => self.replace_lane(I64X2, lane),
            O::F32x4ReplaceLane { lane } => self.replace_lane(F32X4, lane),
            O::F64x2ReplaceLane { lane } => self.replace_lane(F64X2, lane),
            O::I8x16Shuffle { lanes } => {
                // Indices 0..15 pick from the first operand, 16..31 from the second: the same convention
                // as Cranelift's `shuffle`.
                let (a, b) = self.pop2_vec(V128);
                let mask = self
                    .builder
                    .func
                    .dfg
                    .immediates
                    .push(ConstantData::from(lanes.to_vec()));
                let v = self.builder.ins().shuffle(a, b, mask);
                self.push(v);
            }
            // Cranelift's `swizzle` gives 0 for indices ≥ 16, as wasm requires.
            O::I8x16Swizzle => self.vec_binary(V128, |t, a, s| t.builder.ins().swizzle(a, s)),
            _ => return Ok(false),
        }
        Ok(true)
    }
}
