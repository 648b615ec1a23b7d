//! Locals and globals: `local.get/set/tee`, `global.get/set`.

use super::FuncTranslator;
use crate::env::{POINTER, clif_type, readonly, trusted};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value};
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
                let (addr, offset) = self.global_addr(global_index);
                let flags = self.global_flags(global_index);
                let v = self
                    .builder
                    .ins()
                    .load(clif_type(wasm_ty), flags, addr, offset);
                self.track_ref(v, wasm_ty);
                self.push(v);
            }
            Operator::GlobalSet { global_index } => {
                let v = self.pop();
                let (addr, offset) = self.global_addr(global_index);
                let flags = self.global_flags(global_index);
                self.builder.ins().store(flags, v, addr, offset);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Flags of an access to global `index`'s storage: never trapping, in the global's own alias region
    /// (a defined global), or in the region shared by every imported global.
    fn global_flags(&mut self, index: u32) -> MemFlagsData {
        let (user_id, description) = if self.env.offsets.is_defined_global(index) {
            (
                super::regions::DEFINED_GLOBAL + index,
                format!("global {index}"),
            )
        } else {
            (super::regions::IMPORTED_GLOBALS, "imported globals".into())
        };
        let region =
            self.builder
                .func
                .dfg
                .alias_regions
                .insert(cranelift_codegen::ir::AliasRegionData {
                    user_id,
                    description: description.into(),
                });
        trusted().with_alias_region(Some(region))
    }

    /// Where global `index`'s storage is, as a base and an offset: a defined global lives in the vmctx
    /// (one access at a constant offset); an imported one behind the pointer the vmctx holds.
    fn global_addr(&mut self, index: u32) -> (Value, i32) {
        let offsets = &self.env.offsets;
        if offsets.is_defined_global(index) {
            return (self.vmctx, offsets.defined_global(index) as i32);
        }
        let offset = offsets.global(index);
        let addr = self
            .builder
            .ins()
            .load(POINTER, readonly(), self.vmctx, offset as i32);
        (addr, 0)
    }
}
