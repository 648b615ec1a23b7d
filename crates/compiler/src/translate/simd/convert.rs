//! Shape-changing operators: extend, narrow, float/integer conversions, promote/demote, and the
//! widening multiply-and-add family (`extmul`, `extadd_pairwise`, `dot`, `q15mulr_sat_s`).

use super::V128;
use crate::translate::FuncTranslator;
use cranelift_codegen::ir::types::{F32X4, F64X2, I16X8, I32X4, I64X2};
use cranelift_codegen::ir::{InstBuilder, Type, Value};
use wasmparser::Operator;
use wasmz_environ::WasmResult;

/// Which half of the input lanes a widening operator reads.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Half {
    Low,
    High,
}

impl FuncTranslator<'_, '_> {
    /// Widens the `half` lanes of `v` (of a type with half-width lanes) with sign or zero extension.
    pub(super) fn widen(&mut self, v: Value, half: Half, signed: bool) -> Value {
        let ins = self.builder.ins();
        match (half, signed) {
            (Half::Low, true) => ins.swiden_low(v),
            (Half::High, true) => ins.swiden_high(v),
            (Half::Low, false) => ins.uwiden_low(v),
            (Half::High, false) => ins.uwiden_high(v),
        }
    }

    /// `extend_{low,high}`: the `half` lanes of the operand seen as `from`, widened.
    fn vec_extend(&mut self, from: Type, half: Half, signed: bool) {
        let v = self.pop_vec(from);
        let r = self.widen(v, half, signed);
        self.push_vec(r);
    }

    /// `extmul_{low,high}`: the `half` lanes of both operands (seen as `from`) widened, then multiplied.
    fn vec_extmul(&mut self, from: Type, half: Half, signed: bool) {
        let (a, b) = self.pop2_vec(from);
        let a = self.widen(a, half, signed);
        let b = self.widen(b, half, signed);
        let r = self.builder.ins().imul(a, b);
        self.push_vec(r);
    }

    /// The sum of each adjacent pair of lanes of `v`, widened: `iadd_pairwise` over the widened low
    /// and high halves.
    pub(super) fn extadd_pairwise(&mut self, v: Value, signed: bool) -> Value {
        let lo = self.widen(v, Half::Low, signed);
        let hi = self.widen(v, Half::High, signed);
        self.builder.ins().iadd_pairwise(lo, hi)
    }

    /// The signed dot product of adjacent lane pairs of `a` and `b`, into lanes of twice the width:
    /// the widened products of each half, added pairwise. Wraps on overflow (only -2^(2n-1) twice).
    pub(super) fn dot_pairs(&mut self, a: Value, b: Value) -> Value {
        let a_lo = self.widen(a, Half::Low, true);
        let b_lo = self.widen(b, Half::Low, true);
        let lo = self.builder.ins().imul(a_lo, b_lo);
        let a_hi = self.widen(a, Half::High, true);
        let b_hi = self.widen(b, Half::High, true);
        let hi = self.builder.ins().imul(a_hi, b_hi);
        self.builder.ins().iadd_pairwise(lo, hi)
    }

    /// `i32x4.trunc_sat_f64x2_{s,u}_zero` (and the relaxed forms): both f64 lanes truncated with
    /// saturation into the low two i32 lanes, the high lanes zero. Written as a saturating
    /// conversion to i64 lanes narrowed against a zero vector, the shape Cranelift lowers directly.
    pub(super) fn trunc_sat_f64x2_zero(&mut self, v: Value, signed: bool) -> Value {
        let zero = self.vconst_bytes(I64X2, [0; 16]);
        if signed {
            let wide = self.builder.ins().fcvt_to_sint_sat(I64X2, v);
            self.builder.ins().snarrow(wide, zero)
        } else {
            let wide = self.builder.ins().fcvt_to_uint_sat(I64X2, v);
            self.builder.ins().uunarrow(wide, zero)
        }
    }

    pub(super) fn translate_simd_convert(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        use Half::{High, Low};
        use Operator as O;
        match *op {
            O::I16x8ExtendLowI8x16S => self.vec_extend(V128, Low, true),
            O::I16x8ExtendHighI8x16S => self.vec_extend(V128, High, true),
            O::I16x8ExtendLowI8x16U => self.vec_extend(V128, Low, false),
            O::I16x8ExtendHighI8x16U => self.vec_extend(V128, High, false),
            O::I32x4ExtendLowI16x8S => self.vec_extend(I16X8, Low, true),
            O::I32x4ExtendHighI16x8S => self.vec_extend(I16X8, High, true),
            O::I32x4ExtendLowI16x8U => self.vec_extend(I16X8, Low, false),
            O::I32x4ExtendHighI16x8U => self.vec_extend(I16X8, High, false),
            O::I64x2ExtendLowI32x4S => self.vec_extend(I32X4, Low, true),
            O::I64x2ExtendHighI32x4S => self.vec_extend(I32X4, High, true),
            O::I64x2ExtendLowI32x4U => self.vec_extend(I32X4, Low, false),
            O::I64x2ExtendHighI32x4U => self.vec_extend(I32X4, High, false),

            // Narrowing: the first operand fills the low lanes; inputs are signed in both forms.
            O::I8x16NarrowI16x8S => self.vec_binary(I16X8, |t, a, b| t.builder.ins().snarrow(a, b)),
            O::I8x16NarrowI16x8U => self.vec_binary(I16X8, |t, a, b| t.builder.ins().unarrow(a, b)),
            O::I16x8NarrowI32x4S => self.vec_binary(I32X4, |t, a, b| t.builder.ins().snarrow(a, b)),
            O::I16x8NarrowI32x4U => self.vec_binary(I32X4, |t, a, b| t.builder.ins().unarrow(a, b)),

            O::I16x8ExtMulLowI8x16S => self.vec_extmul(V128, Low, true),
            O::I16x8ExtMulHighI8x16S => self.vec_extmul(V128, High, true),
            O::I16x8ExtMulLowI8x16U => self.vec_extmul(V128, Low, false),
            O::I16x8ExtMulHighI8x16U => self.vec_extmul(V128, High, false),
            O::I32x4ExtMulLowI16x8S => self.vec_extmul(I16X8, Low, true),
            O::I32x4ExtMulHighI16x8S => self.vec_extmul(I16X8, High, true),
            O::I32x4ExtMulLowI16x8U => self.vec_extmul(I16X8, Low, false),
            O::I32x4ExtMulHighI16x8U => self.vec_extmul(I16X8, High, false),
            O::I64x2ExtMulLowI32x4S => self.vec_extmul(I32X4, Low, true),
            O::I64x2ExtMulHighI32x4S => self.vec_extmul(I32X4, High, true),
            O::I64x2ExtMulLowI32x4U => self.vec_extmul(I32X4, Low, false),
            O::I64x2ExtMulHighI32x4U => self.vec_extmul(I32X4, High, false),

            O::I16x8ExtAddPairwiseI8x16S => self.vec_unary(V128, |t, v| t.extadd_pairwise(v, true)),
            O::I16x8ExtAddPairwiseI8x16U => {
                self.vec_unary(V128, |t, v| t.extadd_pairwise(v, false))
            }
            O::I32x4ExtAddPairwiseI16x8S => {
                self.vec_unary(I16X8, |t, v| t.extadd_pairwise(v, true))
            }
            O::I32x4ExtAddPairwiseI16x8U => {
                self.vec_unary(I16X8, |t, v| t.extadd_pairwise(v, false))
            }
            O::I32x4DotI16x8S => self.vec_binary(I16X8, |t, a, b| t.dot_pairs(a, b)),
            // `sqmul_round_sat` is exactly wasm's saturate((a * b + 2^14) >> 15).
            O::I16x8Q15MulrSatS => {
                self.vec_binary(I16X8, |t, a, b| t.builder.ins().sqmul_round_sat(a, b))
            }

            // Float → int conversions saturate, and NaN gives 0, as in wasm.
            O::I32x4TruncSatF32x4S => {
                self.vec_unary(F32X4, |t, v| t.builder.ins().fcvt_to_sint_sat(I32X4, v))
            }
            O::I32x4TruncSatF32x4U => {
                self.vec_unary(F32X4, |t, v| t.builder.ins().fcvt_to_uint_sat(I32X4, v))
            }
            O::I32x4TruncSatF64x2SZero => {
                self.vec_unary(F64X2, |t, v| t.trunc_sat_f64x2_zero(v, true))
            }
            O::I32x4TruncSatF64x2UZero => {
                self.vec_unary(F64X2, |t, v| t.trunc_sat_f64x2_zero(v, false))
            }
            O::F32x4ConvertI32x4S => {
                self.vec_unary(I32X4, |t, v| t.builder.ins().fcvt_from_sint(F32X4, v))
            }
            O::F32x4ConvertI32x4U => {
                self.vec_unary(I32X4, |t, v| t.builder.ins().fcvt_from_uint(F32X4, v))
            }
            O::F64x2ConvertLowI32x4S => self.vec_unary(I32X4, |t, v| {
                let wide = t.builder.ins().swiden_low(v);
                t.builder.ins().fcvt_from_sint(F64X2, wide)
            }),
            O::F64x2ConvertLowI32x4U => self.vec_unary(I32X4, |t, v| {
                let wide = t.builder.ins().uwiden_low(v);
                t.builder.ins().fcvt_from_uint(F64X2, wide)
            }),
            // `fvdemote` zeroes the two high lanes, as `demote_f64x2_zero` requires.
            O::F32x4DemoteF64x2Zero => self.vec_unary(F64X2, |t, v| t.builder.ins().fvdemote(v)),
            O::F64x2PromoteLowF32x4 => {
                self.vec_unary(F32X4, |t, v| t.builder.ins().fvpromote_low(v))
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
