//! Float lane arithmetic and comparisons (`f32x4.*`, `f64x2.*`).

use crate::translate::FuncTranslator;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::types::{F32X4, F64X2};
use cranelift_codegen::ir::{InstBuilder, Type};
use wasmparser::Operator;
use wasmz_environ::WasmResult;

impl FuncTranslator<'_, '_> {
    /// A lane-wise comparison; the vector `fcmp` yields all-ones/all-zeros integer lanes of the same width.
    fn vec_fcmp(&mut self, ty: Type, cc: FloatCC) {
        self.vec_binary(ty, |t, a, b| t.builder.ins().fcmp(cc, a, b));
    }

    /// `pmin` (`b < a ? b : a`) or `pmax` (`a < b ? b : a`): a select on the comparison, without the
    /// NaN and signed-zero rules of `min`/`max`. The shape `bitselect(bitcast(fcmp lt y x), x, y)` is the
    /// one Cranelift's x64 backend turns into a single `minps`/`maxps`.
    fn pseudo_min_max(&mut self, ty: Type, max: bool) {
        let (a, b) = self.pop2_vec(ty);
        let lt = if max {
            self.builder.ins().fcmp(FloatCC::LessThan, a, b)
        } else {
            self.builder.ins().fcmp(FloatCC::LessThan, b, a)
        };
        let mask = self.bitcast_vec(ty, lt);
        let r = self.builder.ins().bitselect(mask, b, a);
        self.push_vec(r);
    }

    pub(super) fn translate_simd_float(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        use FloatCC::*;
        use Operator as O;
        let ty = match float_shape(op) {
            Some(ty) => ty,
            None => return Ok(false),
        };
        match *op {
            O::F32x4Eq | O::F64x2Eq => self.vec_fcmp(ty, Equal),
            O::F32x4Ne | O::F64x2Ne => self.vec_fcmp(ty, NotEqual),
            O::F32x4Lt | O::F64x2Lt => self.vec_fcmp(ty, LessThan),
            O::F32x4Gt | O::F64x2Gt => self.vec_fcmp(ty, GreaterThan),
            O::F32x4Le | O::F64x2Le => self.vec_fcmp(ty, LessThanOrEqual),
            O::F32x4Ge | O::F64x2Ge => self.vec_fcmp(ty, GreaterThanOrEqual),
            O::F32x4Ceil | O::F64x2Ceil => self.vec_unary(ty, |t, a| t.builder.ins().ceil(a)),
            O::F32x4Floor | O::F64x2Floor => self.vec_unary(ty, |t, a| t.builder.ins().floor(a)),
            O::F32x4Trunc | O::F64x2Trunc => self.vec_unary(ty, |t, a| t.builder.ins().trunc(a)),
            O::F32x4Nearest | O::F64x2Nearest => {
                self.vec_unary(ty, |t, a| t.builder.ins().nearest(a))
            }
            O::F32x4Abs | O::F64x2Abs => self.vec_unary(ty, |t, a| t.builder.ins().fabs(a)),
            O::F32x4Neg | O::F64x2Neg => self.vec_unary(ty, |t, a| t.builder.ins().fneg(a)),
            O::F32x4Sqrt | O::F64x2Sqrt => self.vec_unary(ty, |t, a| t.builder.ins().sqrt(a)),
            O::F32x4Add | O::F64x2Add => self.vec_binary(ty, |t, a, b| t.builder.ins().fadd(a, b)),
            O::F32x4Sub | O::F64x2Sub => self.vec_binary(ty, |t, a, b| t.builder.ins().fsub(a, b)),
            O::F32x4Mul | O::F64x2Mul => self.vec_binary(ty, |t, a, b| t.builder.ins().fmul(a, b)),
            O::F32x4Div | O::F64x2Div => self.vec_binary(ty, |t, a, b| t.builder.ins().fdiv(a, b)),
            // Cranelift's `fmin`/`fmax` follow the wasm rules: NaN if either lane is NaN, and
            // -0 < +0.
            O::F32x4Min | O::F64x2Min => self.vec_binary(ty, |t, a, b| t.builder.ins().fmin(a, b)),
            O::F32x4Max | O::F64x2Max => self.vec_binary(ty, |t, a, b| t.builder.ins().fmax(a, b)),
            O::F32x4PMin | O::F64x2PMin => self.pseudo_min_max(ty, false),
            O::F32x4PMax | O::F64x2PMax => self.pseudo_min_max(ty, true),
            _ => unreachable!("float_shape accepted only the operators above"),
        }
        Ok(true)
    }
}

/// The vector type of the float operators handled by [`FuncTranslator::translate_simd_float`].
fn float_shape(op: &Operator<'_>) -> Option<Type> {
    use Operator as O;
    match op {
        O::F32x4Eq
        | O::F32x4Ne
        | O::F32x4Lt
        | O::F32x4Gt
        | O::F32x4Le
        | O::F32x4Ge
        | O::F32x4Ceil
        | O::F32x4Floor
        | O::F32x4Trunc
        | O::F32x4Nearest
        | O::F32x4Abs
        | O::F32x4Neg
        | O::F32x4Sqrt
        | O::F32x4Add
        | O::F32x4Sub
        | O::F32x4Mul
        | O::F32x4Div
        | O::F32x4Min
        | O::F32x4Max
        | O::F32x4PMin
        | O::F32x4PMax => Some(F32X4),
        O::F64x2Eq
        | O::F64x2Ne
        | O::F64x2Lt
        | O::F64x2Gt
        | O::F64x2Le
        | O::F64x2Ge
        | O::F64x2Ceil
        | O::F64x2Floor
        | O::F64x2Trunc
        | O::F64x2Nearest
        | O::F64x2Abs
        | O::F64x2Neg
        | O::F64x2Sqrt
        | O::F64x2Add
        | O::F64x2Sub
        | O::F64x2Mul
        | O::F64x2Div
        | O::F64x2Min
        | O::F64x2Max
        | O::F64x2PMin
        | O::F64x2PMax => Some(F64X2),
        _ => None,
    }
}
