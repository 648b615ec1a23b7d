//! Fixed-width SIMD (`v128`) and relaxed SIMD.
//!
//! **Value representation.** Every `v128` on the operand stack, in locals, in block parameters and across
//! calls is an `i8x16` Cranelift value (the type [`crate::env::clif_type`] gives `V128`). An operator
//! reinterprets its operands as the lane type it works on ([`FuncTranslator::pop_vec`]) and reinterprets
//! its result back to `i8x16` ([`FuncTranslator::push_vec`]). The reinterpretations are `bitcast`s with
//! the little-endian flag (wasm lanes are numbered from the least significant byte, and Cranelift
//! requires an explicit byte order when the lane shape changes); a bitcast of a bitcast is folded here,
//! so a chain of operators on the same lane type leaves no conversions behind.
//!
//! The operators are split by concept: [`lanes`] (constants, splat, lane access, shuffles), [`integer`]
//! (bitwise operators, integer arithmetic and comparisons), [`float`] (float arithmetic and comparisons),
//! [`convert`] (widening, narrowing and numeric conversions, the multiply-and-add family), [`memory`]
//! (`v128` loads and stores) and [`relaxed`] (relaxed SIMD, with one fixed choice per operator).
//!
//! **CPU features.** On x86-64, Cranelift lowers some vector operations (`swizzle`, splats, lane
//! rounding, `f64x2` truncation) to libcalls when SSSE3 or SSE4.1 is missing, and wasmz images cannot
//! link libcalls. [`crate::build_isa`] therefore refuses an x86-64 host without SSE3, SSSE3 and SSE4.1
//! and gives cross-compiling x86-64 targets exactly those features; the check below only guards an ISA
//! built some other way, whose SIMD operators are then refused (an unsupported-operator error at their
//! offset).

mod convert;
mod float;
mod integer;
mod lanes;
mod memory;
mod relaxed;

use super::FuncTranslator;
use cranelift_codegen::ir::{
    Endianness, InstBuilder, InstructionData, MemFlagsData, Opcode, Type, Value, ValueDef, types,
};
use target_lexicon::Architecture;
use wasmparser::Operator;
use wasmz_environ::WasmResult;

/// The type of `v128` values on the operand stack.
pub(super) const V128: Type = types::I8X16;

/// Flags of a lane-reinterpreting `bitcast`: wasm numbers lanes from the least significant byte.
fn little() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

impl FuncTranslator<'_, '_> {
    /// Dispatches the SIMD and relaxed-SIMD operators; `Ok(false)` for any other operator.
    pub(super) fn translate_simd(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        if !self.simd_lowerable() {
            return Ok(false);
        }
        Ok(self.translate_simd_lanes(op)?
            || self.translate_simd_integer(op)?
            || self.translate_simd_float(op)?
            || self.translate_simd_convert(op)?
            || self.translate_simd_memory(op)?
            || self.translate_simd_relaxed(op)?)
    }

    /// Whether the target ISA can lower every SIMD operator without libcalls (see the module docs).
    fn simd_lowerable(&self) -> bool {
        let isa = self.env.isa;
        match isa.triple().architecture {
            Architecture::X86_64 => isa.has_x86_pshufb_lowering() && isa.has_round(),
            _ => true,
        }
    }

    /// Reinterprets vector `v` as `ty` (same 128 bits, lanes in little-endian order).
    ///
    /// A value that is itself a bitcast is looked through, so `bitcast(bitcast(x))` becomes `x` or a
    /// single bitcast.
    fn bitcast_vec(&mut self, ty: Type, v: Value) -> Value {
        let mut v = v;
        if let ValueDef::Result(inst, 0) = self.builder.func.dfg.value_def(v)
            && let InstructionData::LoadNoOffset {
                opcode: Opcode::Bitcast,
                arg,
                ..
            } = self.builder.func.dfg.insts[inst]
            && self.builder.func.dfg.value_type(arg).is_vector()
        {
            v = arg;
        }
        if self.builder.func.dfg.value_type(v) == ty {
            v
        } else {
            self.builder.ins().bitcast(ty, little(), v)
        }
    }

    /// Pops a `v128` and reinterprets it as `ty`.
    fn pop_vec(&mut self, ty: Type) -> Value {
        let v = self.pop();
        self.bitcast_vec(ty, v)
    }

    /// Pops two `v128`s (the deeper one first) as `ty`.
    fn pop2_vec(&mut self, ty: Type) -> (Value, Value) {
        let b = self.pop_vec(ty);
        let a = self.pop_vec(ty);
        (a, b)
    }

    /// Pushes vector `v` (of any lane type) as a `v128`.
    fn push_vec(&mut self, v: Value) {
        let v = self.bitcast_vec(V128, v);
        self.push(v);
    }

    /// A vector constant of type `ty` from its 16 little-endian bytes.
    fn vconst_bytes(&mut self, ty: Type, bytes: [u8; 16]) -> Value {
        let c = self
            .builder
            .func
            .dfg
            .constants
            .insert(bytes.to_vec().into());
        self.builder.ins().vconst(ty, c)
    }

    /// `f` applied to one `v128` operand seen as `ty`.
    fn vec_unary(&mut self, ty: Type, f: impl FnOnce(&mut Self, Value) -> Value) {
        let a = self.pop_vec(ty);
        let v = f(self, a);
        self.push_vec(v);
    }

    /// `f` applied to two `v128` operands seen as `ty`.
    fn vec_binary(&mut self, ty: Type, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let (a, b) = self.pop2_vec(ty);
        let v = f(self, a, b);
        self.push_vec(v);
    }
}
