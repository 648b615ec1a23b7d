//! Conversions between value types: wrap, extend, truncate (trapping and saturating), convert, demote,
//! promote, reinterpret, and sign extension within a type.

use super::FuncTranslator;
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Type, types};
use wasmparser::Operator;
use wasmz_environ::WasmResult;

impl FuncTranslator<'_, '_> {
    fn convert(
        &mut self,
        f: impl FnOnce(&mut Self, cranelift_codegen::ir::Value) -> cranelift_codegen::ir::Value,
    ) {
        let a = self.pop();
        let v = f(self, a);
        self.push(v);
    }

    fn extend_from(&mut self, narrow: Type, wide: Type) {
        self.convert(|t, a| {
            let n = t.builder.ins().ireduce(narrow, a);
            t.builder.ins().sextend(wide, n)
        });
    }

    pub(super) fn translate_convert(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        use Operator as O;
        use types::{F32, F64, I8, I16, I32, I64};
        match *op {
            O::I32WrapI64 => self.convert(|t, a| t.builder.ins().ireduce(I32, a)),
            O::I64ExtendI32S => self.convert(|t, a| t.builder.ins().sextend(I64, a)),
            O::I64ExtendI32U => self.convert(|t, a| t.builder.ins().uextend(I64, a)),
            O::I32Extend8S => self.extend_from(I8, I32),
            O::I32Extend16S => self.extend_from(I16, I32),
            O::I64Extend8S => self.extend_from(I8, I64),
            O::I64Extend16S => self.extend_from(I16, I64),
            O::I64Extend32S => self.extend_from(I32, I64),
            O::I32TruncF32S | O::I32TruncF64S => {
                self.convert(|t, a| t.builder.ins().fcvt_to_sint(I32, a))
            }
            O::I32TruncF32U | O::I32TruncF64U => {
                self.convert(|t, a| t.builder.ins().fcvt_to_uint(I32, a))
            }
            O::I64TruncF32S | O::I64TruncF64S => {
                self.convert(|t, a| t.builder.ins().fcvt_to_sint(I64, a))
            }
            O::I64TruncF32U | O::I64TruncF64U => {
                self.convert(|t, a| t.builder.ins().fcvt_to_uint(I64, a))
            }
            O::I32TruncSatF32S | O::I32TruncSatF64S => {
                self.convert(|t, a| t.builder.ins().fcvt_to_sint_sat(I32, a))
            }
            O::I32TruncSatF32U | O::I32TruncSatF64U => {
                self.convert(|t, a| t.builder.ins().fcvt_to_uint_sat(I32, a))
            }
            O::I64TruncSatF32S | O::I64TruncSatF64S => {
                self.convert(|t, a| t.builder.ins().fcvt_to_sint_sat(I64, a))
            }
            O::I64TruncSatF32U | O::I64TruncSatF64U => {
                self.convert(|t, a| t.builder.ins().fcvt_to_uint_sat(I64, a))
            }
            O::F32ConvertI32S | O::F32ConvertI64S => {
                self.convert(|t, a| t.builder.ins().fcvt_from_sint(F32, a))
            }
            O::F32ConvertI32U | O::F32ConvertI64U => {
                self.convert(|t, a| t.builder.ins().fcvt_from_uint(F32, a))
            }
            O::F64ConvertI32S | O::F64ConvertI64S => {
                self.convert(|t, a| t.builder.ins().fcvt_from_sint(F64, a))
            }
            O::F64ConvertI32U | O::F64ConvertI64U => {
                self.convert(|t, a| t.builder.ins().fcvt_from_uint(F64, a))
            }
            O::F32DemoteF64 => self.convert(|t, a| t.builder.ins().fdemote(F32, a)),
            O::F64PromoteF32 => self.convert(|t, a| t.builder.ins().fpromote(F64, a)),
            O::I32ReinterpretF32 => {
                self.convert(|t, a| t.builder.ins().bitcast(I32, MemFlagsData::new(), a))
            }
            O::I64ReinterpretF64 => {
                self.convert(|t, a| t.builder.ins().bitcast(I64, MemFlagsData::new(), a))
            }
            O::F32ReinterpretI32 => {
                self.convert(|t, a| t.builder.ins().bitcast(F32, MemFlagsData::new(), a))
            }
            O::F64ReinterpretI64 => {
                self.convert(|t, a| t.builder.ins().bitcast(F64, MemFlagsData::new(), a))
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
