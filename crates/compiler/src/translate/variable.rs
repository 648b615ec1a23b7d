//! Locals and globals: `local.get/set/tee`, `global.get/set`.

use super::FuncTranslator;
use crate::env::{POINTER, clif_type, readonly, trusted};
use cranelift_codegen::ir::{InstBuilder, Value};
use wasmparser::Operator;
use wasmz_environ::WasmResult;

impl FuncTranslator<'_, '_> {
    pub(super) fn translate_variable(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        match *op {
            Operator::LocalGet { local_index } => {
                let v = self.builder.use_var(self.locals[local_index as usize]);
                self.push(v);
            }
            Operator::LocalSet { local_index } => {
                let v = self.pop();
                self.builder.def_var(self.locals[local_index as usize], v);
            }
            Operator::LocalTee { local_index } => {
                let v = *self.stack.last().expect("validated stack");
                self.builder.def_var(self.locals[local_index as usize], v);
            }
            Operator::GlobalGet { global_index } => {
                let wasm_ty = self.env.module.globals[global_index as usize].content;
                let addr = self.global_addr(global_index);
                let v = self
                    .builder
                    .ins()
                    .load(clif_type(wasm_ty), trusted(), addr, 0);
                self.track_ref(v, wasm_ty);
                self.push(v);
            }
            Operator::GlobalSet { global_index } => {
                let v = self.pop();
                let addr = self.global_addr(global_index);
                self.builder.ins().store(trusted(), v, addr, 0);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The address of global `index`'s storage.
    fn global_addr(&mut self, index: u32) -> Value {
        let offset = self.env.offsets.global(index);
        self.builder
            .ins()
            .load(POINTER, readonly(), self.vmctx, offset as i32)
    }
}
