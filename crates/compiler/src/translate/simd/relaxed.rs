//! Relaxed SIMD. Each operator may have several results by the proposal; wasmz always gives the same
//! one, whatever the host CPU, so a module behaves identically everywhere:
//!
//! | operator | choice |
//! |---|---|
//! | `i8x16.relaxed_swizzle` | `i8x16.swizzle` (indices ≥ 16 give 0) |
//! | `i32x4.relaxed_trunc_*` | the saturating `trunc_sat` forms (NaN → 0) |
//! | `f32x4/f64x2.relaxed_madd`, `relaxed_nmadd` | unfused: `a * b + c`, `-(a * b) + c`, each rounded |
//! | `*.relaxed_laneselect` | `v128.bitselect` (every bit of the mask selects) |
//! | `f32x4/f64x2.relaxed_min/max` | `min`/`max` (NaN propagation, -0 < +0) |
//! | `i16x8.relaxed_q15mulr_s` | `i16x8.q15mulr_sat_s` (saturates -1 × -1) |
//! | `i16x8.relaxed_dot_i8x16_i7x16_s` | both operands signed, pair sums wrapping in 16 bits |
//! | `i32x4.relaxed_dot_i8x16_i7x16_add_s` | the 16-bit dot above, pairs sign-extended and added, plus `c` |

use super::V128;
use crate::translate::FuncTranslator;
use cranelift_codegen::ir::InstBuilder;
use cranelift_codegen::ir::types::{F32X4, F64X2, I16X8, I32X4};
use wasmparser::Operator;
use wasmz_environ::WasmResult;

impl FuncTranslator<'_, '_> {
    /// `relaxed_madd` (`negate` false) or `relaxed_nmadd` (true) on lanes of `ty`, unfused.
    fn relaxed_madd(&mut self, ty: cranelift_codegen::ir::Type, negate: bool) {
        let c = self.pop_vec(ty);
        let (a, b) = self.pop2_vec(ty);
        let a = if negate {
            self.builder.ins().fneg(a)
        } else {
            a
        };
        let product = self.builder.ins().fmul(a, b);
        let r = self.builder.ins().fadd(product, c);
        self.push_vec(r);
    }

    pub(super) fn translate_simd_relaxed(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        use Operator as O;
        match *op {
            O::I8x16RelaxedSwizzle => {
                self.vec_binary(V128, |t, a, s| t.builder.ins().swizzle(a, s))
            }
            O::I32x4RelaxedTruncF32x4S => {
                self.vec_unary(F32X4, |t, v| t.builder.ins().fcvt_to_sint_sat(I32X4, v))
            }
            O::I32x4RelaxedTruncF32x4U => {
                self.vec_unary(F32X4, |t, v| t.builder.ins().fcvt_to_uint_sat(I32X4, v))
            }
            O::I32x4RelaxedTruncF64x2SZero => {
                self.vec_unary(F64X2, |t, v| t.trunc_sat_f64x2_zero(v, true))
            }
            O::I32x4RelaxedTruncF64x2UZero => {
                self.vec_unary(F64X2, |t, v| t.trunc_sat_f64x2_zero(v, false))
            }
            O::F32x4RelaxedMadd => self.relaxed_madd(F32X4, false),
            O::F32x4RelaxedNmadd => self.relaxed_madd(F32X4, true),
            O::F64x2RelaxedMadd => self.relaxed_madd(F64X2, false),
            O::F64x2RelaxedNmadd => self.relaxed_madd(F64X2, true),
            O::I8x16RelaxedLaneselect
            | O::I16x8RelaxedLaneselect
            | O::I32x4RelaxedLaneselect
            | O::I64x2RelaxedLaneselect => {
                let c = self.pop_vec(V128);
                let (a, b) = self.pop2_vec(V128);
                let r = self.builder.ins().bitselect(c, a, b);
                self.push_vec(r);
            }
            O::F32x4RelaxedMin => self.vec_binary(F32X4, |t, a, b| t.builder.ins().fmin(a, b)),
            O::F32x4RelaxedMax => self.vec_binary(F32X4, |t, a, b| t.builder.ins().fmax(a, b)),
            O::F64x2RelaxedMin => self.vec_binary(F64X2, |t, a, b| t.builder.ins().fmin(a, b)),
            O::F64x2RelaxedMax => self.vec_binary(F64X2, |t, a, b| t.builder.ins().fmax(a, b)),
            O::I16x8RelaxedQ15mulrS => {
                self.vec_binary(I16X8, |t, a, b| t.builder.ins().sqmul_round_sat(a, b))
            }
            O::I16x8RelaxedDotI8x16I7x16S => self.vec_binary(V128, |t, a, b| t.dot_pairs(a, b)),
            O::I32x4RelaxedDotI8x16I7x16AddS => {
                let c = self.pop_vec(I32X4);
                let (a, b) = self.pop2_vec(V128);
                let dot16 = self.dot_pairs(a, b);
                let dot32 = self.extadd_pairwise(dot16, true);
                let r = self.builder.ins().iadd(dot32, c);
                self.push_vec(r);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
