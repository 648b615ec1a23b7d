//! GC references that need no heap: `ref.i31`, `i31.get_s/u`, `ref.eq`, `any.convert_extern`,
//! `extern.convert_any`, and the casts `ref.test`, `ref.cast`, `br_on_cast`, `br_on_cast_fail` for
//! every heap type.
//!
//! References of the `any` and `extern` hierarchies are one tagged word (see `wasmz_environ::refs`):
//! null is 0, i31 values have the low bit set, host references the low bits `10`, and GC objects are
//! 8-byte aligned addresses whose first 4 bytes hold their canonical type id. A cast to a concrete type
//! compares that id (or a function's `VMFuncRef` type id) with the expected canonical id read from the
//! VMContext; only when they differ and the expected type is not final does the [`Builtin::TypeMatches`]
//! builtin walk the registry's supertype chains.

use super::{FuncTranslator, block_args};
use crate::env::{readonly, trusted};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Block, BlockArg, InstBuilder, Value, types};
use wasmparser::Operator;
use wasmz_environ::{
    Builtin, CompositeKind, HeapType, RefType, TrapCode, ValType, WasmError, WasmResult, refs,
    vmoffsets::funcref,
};

/// What a cast or test must check about a non-null reference.
enum Check {
    /// Every non-null value of the hierarchy passes (a top type).
    Always,
    /// No non-null value passes (a bottom type).
    Never,
    /// Not a host reference (`eq`).
    NotHost,
    /// An i31 value.
    I31,
    /// A GC object matching the builtin's expected code: a canonical id (read from the VMContext slot
    /// of the module type index) or an abstract struct/array code.
    Object {
        /// The module type index, for concrete types.
        type_index: Option<u32>,
        /// The abstract code, for `struct` and `array`.
        code: u32,
        /// Whether the expected type is final (an id that differs cannot match).
        is_final: bool,
    },
    /// A function of the concrete type `type_index`.
    Func {
        /// The module type index.
        type_index: u32,
        /// Whether the expected type is final.
        is_final: bool,
    },
}

impl FuncTranslator<'_, '_> {
    pub(super) fn translate_gc_refs(&mut self, op: &Operator<'_>, offset: u64) -> WasmResult<bool> {
        use types::{I32, I64};
        match *op {
            Operator::RefI31 => {
                let v = self.pop();
                let shifted = self.builder.ins().ishl_imm_u(v, 1);
                let tagged = self.builder.ins().bor_imm_u(shifted, 1);
                let word = self.builder.ins().uextend(I64, tagged);
                self.push(word);
            }
            Operator::I31GetS | Operator::I31GetU => {
                let r = self.pop();
                let is_null = self.builder.ins().icmp_imm_s(IntCC::Equal, r, 0);
                self.builder
                    .ins()
                    .trapnz(is_null, crate::trap_code(TrapCode::NullReference));
                let low = self.builder.ins().ireduce(I32, r);
                let v = if matches!(op, Operator::I31GetS) {
                    self.builder.ins().sshr_imm_u(low, 1)
                } else {
                    self.builder.ins().ushr_imm_u(low, 1)
                };
                self.push(v);
            }
            Operator::RefEq => {
                let (a, b) = self.pop2();
                let eq = self.builder.ins().icmp(IntCC::Equal, a, b);
                let v = self.builder.ins().uextend(I32, eq);
                self.push(v);
            }
            Operator::AnyConvertExtern | Operator::ExternConvertAny => {}
            Operator::RefTestNonNull { hty } | Operator::RefTestNullable { hty } => {
                let target =
                    self.cast_target(matches!(op, Operator::RefTestNullable { .. }), hty, offset)?;
                let r = self.pop();
                let ok = self.ref_test(r, target);
                self.push(ok);
            }
            Operator::RefCastNonNull { hty } | Operator::RefCastNullable { hty } => {
                let target =
                    self.cast_target(matches!(op, Operator::RefCastNullable { .. }), hty, offset)?;
                let r = *self.stack.last().expect("validated stack");
                let ok = self.ref_test(r, target);
                self.builder
                    .ins()
                    .trapz(ok, crate::trap_code(TrapCode::CastFailure));
            }
            Operator::BrOnCast {
                relative_depth,
                to_ref_type,
                ..
            }
            | Operator::BrOnCastFail {
                relative_depth,
                to_ref_type,
                ..
            } => {
                let target = ref_type(to_ref_type, offset)?;
                let r = *self.stack.last().expect("validated stack");
                let ok = self.ref_test(r, target);
                let next = self.builder.create_block();
                let (label, args) = self.branch_target(relative_depth);
                let args = block_args(&args);
                if matches!(op, Operator::BrOnCast { .. }) {
                    self.builder.ins().brif(ok, label, &args, next, &[]);
                } else {
                    self.builder.ins().brif(ok, next, &[], label, &args);
                }
                self.builder.seal_block(next);
                self.builder.switch_to_block(next);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn cast_target(
        &self,
        nullable: bool,
        hty: wasmparser::HeapType,
        offset: u64,
    ) -> WasmResult<RefType> {
        let rt = wasmparser::RefType::new(nullable, hty)
            .ok_or_else(|| WasmError::unsupported(format!("heap type {hty:?}"), offset))?;
        ref_type(rt, offset)
    }

    /// What a cast to a heap type checks of a non-null value.
    fn check_for(&self, heap: HeapType) -> Check {
        match heap {
            HeapType::Any | HeapType::Func | HeapType::Extern | HeapType::Exn => Check::Always,
            HeapType::None | HeapType::NoFunc | HeapType::NoExtern | HeapType::NoExn => {
                Check::Never
            }
            HeapType::Eq => Check::NotHost,
            HeapType::I31 => Check::I31,
            HeapType::Struct => Check::Object {
                type_index: None,
                code: refs::STRUCT_CODE,
                is_final: false,
            },
            HeapType::Array => Check::Object {
                type_index: None,
                code: refs::ARRAY_CODE,
                is_final: false,
            },
            HeapType::Concrete(i) => {
                let ty = &self.env.module.types[i as usize];
                match ty.composite.kind() {
                    CompositeKind::Func => Check::Func {
                        type_index: i,
                        is_final: ty.is_final,
                    },
                    CompositeKind::Struct | CompositeKind::Array => Check::Object {
                        type_index: Some(i),
                        code: 0,
                        is_final: ty.is_final,
                    },
                }
            }
        }
    }

    /// An i32 that is 1 when reference `r` is a value of type `target`, 0 otherwise (validation
    /// guarantees `r` belongs to `target`'s hierarchy).
    pub(super) fn ref_test(&mut self, r: Value, target: RefType) -> Value {
        use types::I32;
        let null_result = i64::from(target.nullable);
        let check = self.check_for(target.heap);
        let is_null = self.builder.ins().icmp_imm_s(IntCC::Equal, r, 0);
        let simple = |this: &mut Self, non_null: Value| {
            let null_value = this.builder.ins().iconst(I32, null_result);
            this.builder.ins().select(is_null, null_value, non_null)
        };
        match check {
            Check::Always => {
                let non_null = self.builder.ins().iconst(I32, 1);
                simple(self, non_null)
            }
            Check::Never => {
                let non_null = self.builder.ins().iconst(I32, 0);
                simple(self, non_null)
            }
            Check::NotHost => {
                let tag = self.builder.ins().band_imm_u(r, refs::TAG_MASK as i64);
                let not_host =
                    self.builder
                        .ins()
                        .icmp_imm_s(IntCC::NotEqual, tag, refs::HOST_TAG as i64);
                let non_null = self.builder.ins().uextend(I32, not_host);
                simple(self, non_null)
            }
            Check::I31 => {
                let bit = self.builder.ins().band_imm_u(r, 1);
                let non_null = self.builder.ins().ireduce(I32, bit);
                simple(self, non_null)
            }
            Check::Object {
                type_index,
                code,
                is_final,
            } => {
                let done = self.null_goes_to_done(is_null, null_result);
                let object = self.builder.create_block();
                let tag = self.builder.ins().band_imm_u(r, refs::TAG_MASK as i64);
                let zero = self.builder.ins().iconst(I32, 0);
                self.builder
                    .ins()
                    .brif(tag, done, &[BlockArg::Value(zero)], object, &[]);
                self.builder.seal_block(object);
                self.builder.switch_to_block(object);
                let actual = self.builder.ins().load(I32, trusted(), r, 0);
                let expected = match type_index {
                    Some(i) => self.canonical_type_id(i),
                    None => self.builder.ins().iconst(I32, i64::from(code)),
                };
                self.type_match(actual, expected, type_index.is_some(), is_final, done);
                self.builder.seal_block(done);
                self.builder.switch_to_block(done);
                self.builder.block_params(done)[0]
            }
            Check::Func {
                type_index,
                is_final,
            } => {
                let done = self.null_goes_to_done(is_null, null_result);
                let actual = self
                    .builder
                    .ins()
                    .load(I32, trusted(), r, funcref::TYPE_ID as i32);
                let expected = self.canonical_type_id(type_index);
                self.type_match(actual, expected, true, is_final, done);
                self.builder.seal_block(done);
                self.builder.switch_to_block(done);
                self.builder.block_params(done)[0]
            }
        }
    }

    /// Creates the block `done` that takes a test's i32 result and jumps to it with `null_result`
    /// when `is_null`; translation continues in a new block for the non-null case.
    fn null_goes_to_done(&mut self, is_null: Value, null_result: i64) -> Block {
        let done = self.builder.create_block();
        self.builder.append_block_param(done, types::I32);
        let not_null = self.builder.create_block();
        let null_value = self.builder.ins().iconst(types::I32, null_result);
        self.builder
            .ins()
            .brif(is_null, done, &[BlockArg::Value(null_value)], not_null, &[]);
        self.builder.seal_block(not_null);
        self.builder.switch_to_block(not_null);
        done
    }

    /// The engine-wide id of module type `type_index`, from the VMContext.
    pub(super) fn canonical_type_id(&mut self, type_index: u32) -> Value {
        self.builder.ins().load(
            types::I32,
            readonly(),
            self.vmctx,
            self.env.offsets.type_id(type_index) as i32,
        )
    }

    /// Jumps to `done` with 1 when canonical type `actual` matches `expected`, else 0. Equal ids match
    /// at once when `expected` is a concrete id (`concrete`); a final expected type matches nothing
    /// else; otherwise the registry decides.
    fn type_match(
        &mut self,
        actual: Value,
        expected: Value,
        concrete: bool,
        is_final: bool,
        done: cranelift_codegen::ir::Block,
    ) {
        use types::I32;
        let one = self.builder.ins().iconst(I32, 1);
        let zero = self.builder.ins().iconst(I32, 0);
        let slow = self.builder.create_block();
        if concrete {
            let same = self.builder.ins().icmp(IntCC::Equal, actual, expected);
            self.builder
                .ins()
                .brif(same, done, &[BlockArg::Value(one)], slow, &[]);
        } else {
            self.builder.ins().jump(slow, &[]);
        }
        self.builder.seal_block(slow);
        self.builder.switch_to_block(slow);
        self.builder.set_cold_block(slow);
        if concrete && is_final {
            self.builder.ins().jump(done, &[BlockArg::Value(zero)]);
            return;
        }
        let result = self.ask_registry(actual, expected);
        self.builder.ins().jump(done, &[BlockArg::Value(result)]);
    }

    /// An i32 that is 1 when canonical type `actual` is `expected` or a declared subtype of it
    /// (the `TypeMatches` builtin, for when the ids differ and `expected` is not final).
    pub(super) fn ask_registry(&mut self, actual: Value, expected: Value) -> Value {
        self.env
            .call_builtin(
                &mut self.builder,
                self.vmctx,
                Builtin::TypeMatches,
                &[actual, expected],
            )
            .expect("TypeMatches returns a value")
    }
}

fn ref_type(rt: wasmparser::RefType, offset: u64) -> WasmResult<RefType> {
    ValType::from_ref_type(rt)
        .and_then(ValType::ref_type)
        .ok_or_else(|| WasmError::unsupported(format!("reference type {rt}"), offset))
}
