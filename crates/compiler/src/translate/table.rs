//! Tables and references: `table.get/set/size/grow/fill/copy/init`, `elem.drop`, `ref.null`,
//! `ref.is_null`, `ref.func`.
//!
//! A table element is 8 bytes: a `*const VMFuncRef` for funcref tables (null = 0) or an externref handle.

use super::FuncTranslator;
use crate::env::{POINTER, readonly, trusted};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, Value, types};
use wasmparser::Operator;
use wasmz_environ::{Builtin, TrapCode, VMOffsets, WasmResult, vmoffsets};

impl FuncTranslator<'_, '_> {
    fn is_table64(&self, table: u32) -> bool {
        self.env.module.tables[table as usize].ty.table64
    }

    fn table_index_to_i64(&mut self, table: u32, index: Value) -> Value {
        if self.is_table64(table) {
            index
        } else {
            self.builder.ins().uextend(types::I64, index)
        }
    }

    /// The address of element `index` of `table`, trapping with `oob_trap` when out of bounds.
    pub(super) fn table_element_addr(
        &mut self,
        table: u32,
        index: Value,
        oob_trap: TrapCode,
    ) -> Value {
        let (addr, oob) = self.table_element(table, index);
        self.builder.ins().trapnz(oob, crate::trap_code(oob_trap));
        addr
    }

    /// The address of element `index` of `table` and whether `index` is out of bounds, when the address
    /// is that of the vmctx's null word instead (see `VMOffsets::NULL_WORD`). The choice is a
    /// conditional move (`select_spectre_guard`), never a branch: even a mispredicted bounds check
    /// reads no element past the table's end (Spectre variant 1).
    pub(super) fn table_element(&mut self, table: u32, index: Value) -> (Value, Value) {
        let def_offset = self.env.offsets.table(table);
        let def = self
            .builder
            .ins()
            .load(POINTER, readonly(), self.vmctx, def_offset as i32);
        let length =
            self.builder
                .ins()
                .load(types::I64, trusted(), def, vmoffsets::table::LENGTH as i32);
        let index = self.table_index_to_i64(table, index);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, length);
        let base = self
            .builder
            .ins()
            .load(POINTER, trusted(), def, vmoffsets::table::BASE as i32);
        let byte_offset = self
            .builder
            .ins()
            .imul_imm_s(index, i64::from(vmoffsets::table::ELEMENT_SIZE));
        let addr = self.builder.ins().iadd(base, byte_offset);
        let null_word = self
            .builder
            .ins()
            .iadd_imm_s(self.vmctx, i64::from(VMOffsets::NULL_WORD));
        let addr = self
            .builder
            .ins()
            .select_spectre_guard(oob, null_word, addr);
        (addr, oob)
    }

    pub(super) fn translate_table(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        use types::{I32, I64};
        match *op {
            Operator::RefNull { .. } => {
                let v = self.builder.ins().iconst(I64, 0);
                self.push(v);
            }
            Operator::RefIsNull => {
                let r = self.pop();
                let c = self.builder.ins().icmp_imm_s(IntCC::Equal, r, 0);
                let v = self.builder.ins().uextend(I32, c);
                self.push(v);
            }
            Operator::RefAsNonNull => {
                let r = *self.stack.last().expect("validated stack");
                let is_null = self.builder.ins().icmp_imm_s(IntCC::Equal, r, 0);
                self.builder
                    .ins()
                    .trapnz(is_null, crate::trap_code(TrapCode::NullReference));
            }
            Operator::RefFunc { function_index } => {
                let offset = self.env.offsets.funcref(function_index);
                let v = self.builder.ins().iadd_imm_s(self.vmctx, i64::from(offset));
                self.push(v);
            }
            Operator::TableGet { table } => {
                let index = self.pop();
                let addr = self.table_element_addr(table, index, TrapCode::TableOutOfBounds);
                let v = self.builder.ins().load(I64, trusted(), addr, 0);
                let ty = self.env.module.tables[table as usize].ty.element;
                self.track_ref(v, ty);
                self.push(v);
            }
            Operator::TableSet { table } => {
                let (index, value) = self.pop2();
                let addr = self.table_element_addr(table, index, TrapCode::TableOutOfBounds);
                self.builder.ins().store(trusted(), value, addr, 0);
            }
            Operator::TableSize { table } => {
                let def_offset = self.env.offsets.table(table);
                let def =
                    self.builder
                        .ins()
                        .load(POINTER, readonly(), self.vmctx, def_offset as i32);
                let length =
                    self.builder
                        .ins()
                        .load(I64, trusted(), def, vmoffsets::table::LENGTH as i32);
                let v = if self.is_table64(table) {
                    length
                } else {
                    self.builder.ins().ireduce(I32, length)
                };
                self.push(v);
            }
            Operator::TableGrow { table } => {
                let (init, delta) = self.pop2();
                let delta = self.table_index_to_i64(table, delta);
                let t = self.builder.ins().iconst(I32, i64::from(table));
                let old = self.env.call_builtin(
                    &mut self.builder,
                    self.vmctx,
                    Builtin::TableGrow,
                    &[t, init, delta],
                );
                let old = old.expect("table.grow returns the old size");
                let v = if self.is_table64(table) {
                    old
                } else {
                    self.builder.ins().ireduce(I32, old)
                };
                self.push(v);
            }
            Operator::TableFill { table } => {
                let (dst, value, len) = self.pop3();
                let dst = self.table_index_to_i64(table, dst);
                let len = self.table_index_to_i64(table, len);
                let t = self.builder.ins().iconst(I32, i64::from(table));
                self.env.call_checked_builtin(
                    &mut self.builder,
                    self.vmctx,
                    Builtin::TableFill,
                    &[t, dst, value, len],
                    TrapCode::TableOutOfBounds,
                );
            }
            Operator::TableCopy {
                dst_table,
                src_table,
            } => {
                let (dst, src, len) = self.pop3();
                let dst = self.table_index_to_i64(dst_table, dst);
                let src = self.table_index_to_i64(src_table, src);
                let len = if self.is_table64(dst_table) && self.is_table64(src_table) {
                    len
                } else {
                    self.builder.ins().uextend(I64, len)
                };
                let d = self.builder.ins().iconst(I32, i64::from(dst_table));
                let s = self.builder.ins().iconst(I32, i64::from(src_table));
                self.env.call_checked_builtin(
                    &mut self.builder,
                    self.vmctx,
                    Builtin::TableCopy,
                    &[d, s, dst, src, len],
                    TrapCode::TableOutOfBounds,
                );
            }
            Operator::TableInit { elem_index, table } => {
                let (dst, src, len) = self.pop3();
                let dst = self.table_index_to_i64(table, dst);
                let t = self.builder.ins().iconst(I32, i64::from(table));
                let e = self.builder.ins().iconst(I32, i64::from(elem_index));
                self.env.call_checked_builtin(
                    &mut self.builder,
                    self.vmctx,
                    Builtin::TableInit,
                    &[t, e, dst, src, len],
                    TrapCode::TableOutOfBounds,
                );
            }
            Operator::ElemDrop { elem_index } => {
                let e = self.builder.ins().iconst(I32, i64::from(elem_index));
                self.env
                    .call_builtin(&mut self.builder, self.vmctx, Builtin::ElemDrop, &[e]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
