//! Integer and float arithmetic, comparisons and constants.

use super::FuncTranslator;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{InstBuilder, Value, types};
use wasmparser::Operator;
use wasmz_environ::WasmResult;

impl FuncTranslator<'_, '_> {
    fn binary(&mut self, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let (a, b) = self.pop2();
        let v = f(self, a, b);
        self.push(v);
    }

    fn unary(&mut self, f: impl FnOnce(&mut Self, Value) -> Value) {
        let a = self.pop();
        let v = f(self, a);
        self.push(v);
    }

    fn icmp(&mut self, cc: IntCC) {
        self.binary(|t, a, b| {
            let c = t.builder.ins().icmp(cc, a, b);
            t.builder.ins().uextend(types::I32, c)
        });
    }

    fn fcmp(&mut self, cc: FloatCC) {
        self.binary(|t, a, b| {
            let c = t.builder.ins().fcmp(cc, a, b);
            t.builder.ins().uextend(types::I32, c)
        });
    }

    fn eqz(&mut self) {
        self.unary(|t, a| {
            let c = t.builder.ins().icmp_imm_s(IntCC::Equal, a, 0);
            t.builder.ins().uextend(types::I32, c)
        });
    }

    pub(super) fn translate_numeric(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        use Operator as O;
        match *op {
            O::I32Const { value } => {
                let v = self.builder.ins().iconst(types::I32, i64::from(value));
                self.push(v);
            }
            O::I64Const { value } => {
                let v = self.builder.ins().iconst(types::I64, value);
                self.push(v);
            }
            O::F32Const { value } => {
                let v = self.builder.ins().f32const(f32::from_bits(value.bits()));
                self.push(v);
            }
            O::F64Const { value } => {
                let v = self.builder.ins().f64const(f64::from_bits(value.bits()));
                self.push(v);
            }
            O::I32Eqz | O::I64Eqz => self.eqz(),
            O::I32Eq | O::I64Eq => self.icmp(IntCC::Equal),
            O::I32Ne | O::I64Ne => self.icmp(IntCC::NotEqual),
            O::I32LtS | O::I64LtS => self.icmp(IntCC::SignedLessThan),
            O::I32LtU | O::I64LtU => self.icmp(IntCC::UnsignedLessThan),
            O::I32GtS | O::I64GtS => self.icmp(IntCC::SignedGreaterThan),
            O::I32GtU | O::I64GtU => self.icmp(IntCC::UnsignedGreaterThan),
            O::I32LeS | O::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual),
            O::I32LeU | O::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual),
            O::I32GeS | O::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual),
            O::I32GeU | O::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual),
            O::F32Eq | O::F64Eq => self.fcmp(FloatCC::Equal),
            O::F32Ne | O::F64Ne => self.fcmp(FloatCC::NotEqual),
            O::F32Lt | O::F64Lt => self.fcmp(FloatCC::LessThan),
            O::F32Gt | O::F64Gt => self.fcmp(FloatCC::GreaterThan),
            O::F32Le | O::F64Le => self.fcmp(FloatCC::LessThanOrEqual),
            O::F32Ge | O::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual),
            O::I32Clz | O::I64Clz => self.unary(|t, a| t.builder.ins().clz(a)),
            O::I32Ctz | O::I64Ctz => self.unary(|t, a| t.builder.ins().ctz(a)),
            O::I32Popcnt | O::I64Popcnt => self.unary(|t, a| t.builder.ins().popcnt(a)),
            O::I32Add | O::I64Add => self.binary(|t, a, b| t.builder.ins().iadd(a, b)),
            O::I32Sub | O::I64Sub => self.binary(|t, a, b| t.builder.ins().isub(a, b)),
            O::I32Mul | O::I64Mul => self.binary(|t, a, b| t.builder.ins().imul(a, b)),
            O::I32DivS | O::I64DivS => self.binary(|t, a, b| t.builder.ins().sdiv(a, b)),
            O::I32DivU | O::I64DivU => self.binary(|t, a, b| t.builder.ins().udiv(a, b)),
            O::I32RemS | O::I64RemS => self.binary(|t, a, b| t.builder.ins().srem(a, b)),
            O::I32RemU | O::I64RemU => self.binary(|t, a, b| t.builder.ins().urem(a, b)),
            O::I32And | O::I64And => self.binary(|t, a, b| t.builder.ins().band(a, b)),
            O::I32Or | O::I64Or => self.binary(|t, a, b| t.builder.ins().bor(a, b)),
            O::I32Xor | O::I64Xor => self.binary(|t, a, b| t.builder.ins().bxor(a, b)),
            O::I32Shl | O::I64Shl => self.binary(|t, a, b| t.builder.ins().ishl(a, b)),
            O::I32ShrS | O::I64ShrS => self.binary(|t, a, b| t.builder.ins().sshr(a, b)),
            O::I32ShrU | O::I64ShrU => self.binary(|t, a, b| t.builder.ins().ushr(a, b)),
            O::I32Rotl | O::I64Rotl => self.binary(|t, a, b| t.builder.ins().rotl(a, b)),
            O::I32Rotr | O::I64Rotr => self.binary(|t, a, b| t.builder.ins().rotr(a, b)),
            O::F32Abs | O::F64Abs => self.unary(|t, a| t.builder.ins().fabs(a)),
            O::F32Neg | O::F64Neg => self.unary(|t, a| t.builder.ins().fneg(a)),
            O::F32Ceil | O::F64Ceil => self.unary(|t, a| t.builder.ins().ceil(a)),
            O::F32Floor | O::F64Floor => self.unary(|t, a| t.builder.ins().floor(a)),
            O::F32Trunc | O::F64Trunc => self.unary(|t, a| t.builder.ins().trunc(a)),
            O::F32Nearest | O::F64Nearest => self.unary(|t, a| t.builder.ins().nearest(a)),
            O::F32Sqrt | O::F64Sqrt => self.unary(|t, a| t.builder.ins().sqrt(a)),
            O::F32Add | O::F64Add => self.binary(|t, a, b| t.builder.ins().fadd(a, b)),
            O::F32Sub | O::F64Sub => self.binary(|t, a, b| t.builder.ins().fsub(a, b)),
            O::F32Mul | O::F64Mul => self.binary(|t, a, b| t.builder.ins().fmul(a, b)),
            O::F32Div | O::F64Div => self.binary(|t, a, b| t.builder.ins().fdiv(a, b)),
            O::F32Min | O::F64Min => self.binary(|t, a, b| t.builder.ins().fmin(a, b)),
            O::F32Max | O::F64Max => self.binary(|t, a, b| t.builder.ins().fmax(a, b)),
            O::F32Copysign | O::F64Copysign => {
                self.binary(|t, a, b| t.builder.ins().fcopysign(a, b))
            }
            O::I64Add128 => self.wide_128(|t, a, b| t.builder.ins().iadd(a, b)),
            O::I64Sub128 => self.wide_128(|t, a, b| t.builder.ins().isub(a, b)),
            O::I64MulWideS => self.mul_wide(true),
            O::I64MulWideU => self.mul_wide(false),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Wide arithmetic's `i64.add128` / `i64.sub128`: two 128-bit operands as (low, high) i64 pairs,
    /// computed as one i128 operation, the result pushed as its low and high halves.
    fn wide_128(&mut self, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let (b_lo, b_hi) = self.pop2();
        let (a_lo, a_hi) = self.pop2();
        let a = self.builder.ins().iconcat(a_lo, a_hi);
        let b = self.builder.ins().iconcat(b_lo, b_hi);
        let r = f(self, a, b);
        let (lo, hi) = self.builder.ins().isplit(r);
        self.push(lo);
        self.push(hi);
    }

    /// `i64.mul_wide_s` / `i64.mul_wide_u`: the full 128-bit product of two i64s as (low, high).
    fn mul_wide(&mut self, signed: bool) {
        let (a, b) = self.pop2();
        let lo = self.builder.ins().imul(a, b);
        let hi = if signed {
            self.builder.ins().smulhi(a, b)
        } else {
            self.builder.ins().umulhi(a, b)
        };
        self.push(lo);
        self.push(hi);
    }
}
