//! Calls: `call` (direct for defined functions, through the VMContext for imports) and `call_indirect`.

use super::FuncTranslator;
use crate::env::{POINTER, readonly, trusted, wasm_signature};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    ExtFuncData, ExternalName, Inst, InstBuilder, UserExternalName, Value, types,
};
use wasmparser::Operator;
use wasmz_environ::{TrapCode, WasmResult, vmoffsets::funcref};

impl FuncTranslator<'_, '_> {
    pub(super) fn translate_call(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        match *op {
            Operator::Call { function_index } => self.call(function_index),
            Operator::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(type_index, table_index),
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn push_call_results(&mut self, call: Inst) {
        let results = self.builder.inst_results(call).to_vec();
        self.stack.extend(results);
    }

    fn call(&mut self, function_index: u32) {
        let ty = self.env.module.func_type(function_index);
        let args = self.popn(ty.params.len());
        if self.env.module.is_imported_func(function_index) {
            let entry = self.env.offsets.funcref(function_index);
            let code = self.builder.ins().load(
                POINTER,
                readonly(),
                self.vmctx,
                (entry + funcref::WASM_CALL) as i32,
            );
            let callee_vmctx = self.builder.ins().load(
                POINTER,
                readonly(),
                self.vmctx,
                (entry + funcref::VMCTX) as i32,
            );
            let sig = self.builder.import_signature(wasm_signature(ty));
            let all = self.call_args(callee_vmctx, &args);
            let call = self.builder.ins().call_indirect(sig, code, &all);
            self.push_call_results(call);
            return;
        }
        let sig = self.builder.import_signature(wasm_signature(ty));
        let name = self
            .builder
            .func
            .declare_imported_user_function(UserExternalName::new(0, function_index));
        let func_ref = self.builder.import_function(ExtFuncData {
            name: ExternalName::user(name),
            signature: sig,
            colocated: true,
            patchable: false,
        });
        let all = self.call_args(self.vmctx, &args);
        let call = self.builder.ins().call(func_ref, &all);
        self.push_call_results(call);
    }

    fn call_args(&self, callee_vmctx: Value, args: &[Value]) -> Vec<Value> {
        let mut all = Vec::with_capacity(args.len() + 2);
        all.push(callee_vmctx);
        all.push(self.vmctx);
        all.extend_from_slice(args);
        all
    }

    fn call_indirect(&mut self, type_index: u32, table_index: u32) {
        let index = self.pop();
        let ty = self.env.module.types[type_index as usize].clone();
        let args = self.popn(ty.params.len());
        let addr = self.table_element_addr(table_index, index, TrapCode::TableOutOfBounds);
        let func = self.builder.ins().load(POINTER, trusted(), addr, 0);
        let is_null = self.builder.ins().icmp_imm_s(IntCC::Equal, func, 0);
        self.builder
            .ins()
            .trapnz(is_null, crate::trap_code(TrapCode::IndirectCallToNull));
        let expected = self.builder.ins().load(
            types::I32,
            readonly(),
            self.vmctx,
            self.env.offsets.type_id(type_index) as i32,
        );
        let actual = self
            .builder
            .ins()
            .load(types::I32, trusted(), func, funcref::TYPE_ID as i32);
        let mismatch = self.builder.ins().icmp(IntCC::NotEqual, expected, actual);
        self.builder
            .ins()
            .trapnz(mismatch, crate::trap_code(TrapCode::BadSignature));
        let code = self
            .builder
            .ins()
            .load(POINTER, trusted(), func, funcref::WASM_CALL as i32);
        let callee_vmctx = self
            .builder
            .ins()
            .load(POINTER, trusted(), func, funcref::VMCTX as i32);
        let sig = self.builder.import_signature(wasm_signature(&ty));
        let all = self.call_args(callee_vmctx, &args);
        let call = self.builder.ins().call_indirect(sig, code, &all);
        self.push_call_results(call);
    }
}
