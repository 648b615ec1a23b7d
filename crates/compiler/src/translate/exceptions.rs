//! Exception handling: `try_table`, `throw`, `throw_ref`, and the calls made inside a `try_table`.
//!
//! Scheme (zero cost on paths that do not throw):
//! - a `try_table` gets a *dispatch* block taking the exception's address; it compares the exception's
//!   tag with each catch clause's tag (tag identities are read from the vmctx) and branches to the
//!   clause's label with the values (read from the exception object) and/or the `exnref`. When no
//!   clause matches, it passes the exception to the enclosing `try_table`'s dispatch block in the same
//!   function, or rethrows it to the callers with the `Throw` builtin;
//! - a call inside a `try_table` is a `try_call` whose only exceptional edge is a catch-all edge to the
//!   dispatch block. Its return address, handler and frame offset go into the code image, where the
//!   runtime's unwinder finds them (`wasmz_runtime::exceptions`);
//! - `throw` allocates the exception with the `ExnNew` builtin and writes its values; `throw` and
//!   `throw_ref` then jump to the innermost dispatch block of the function, or, outside any
//!   `try_table`, call `Throw`, which resumes at a handler of a calling frame.

use super::control::{ControlFrame, FrameKind};
use super::{FuncTranslator, block_args};
use crate::env::{POINTER, clif_type, readonly, trusted};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    Block, BlockArg, ExceptionTableData, ExceptionTableItem, FuncRef, InstBuilder, SigRef, Value,
    types,
};
use wasmparser::{Catch, Operator, TryTable};
use wasmz_environ::vmoffsets::exception;
use wasmz_environ::{Builtin, TrapCode, WasmResult};

/// What a call calls.
pub(super) enum Callee {
    /// A function of this module, by relocation.
    Direct(FuncRef),
    /// A code pointer with a signature.
    Indirect(SigRef, Value),
}

impl FuncTranslator<'_, '_> {
    pub(super) fn translate_exceptions(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        match op {
            Operator::TryTable { try_table } => self.try_table(try_table),
            Operator::Throw { tag_index } => self.throw(*tag_index),
            Operator::ThrowRef => {
                let exn = self.pop();
                self.builder
                    .ins()
                    .trapz(exn, crate::trap_code(TrapCode::NullReference));
                self.throw_exception(exn);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Emits a (non-tail) call and returns its results: a plain call outside any `try_table`, a
    /// `try_call` whose exceptions go to the innermost dispatch block inside one.
    pub(super) fn emit_call(&mut self, callee: Callee, args: &[Value]) -> Vec<Value> {
        let Some(&dispatch) = self.handlers.last() else {
            let call = match callee {
                Callee::Direct(f) => self.builder.ins().call(f, args),
                Callee::Indirect(sig, code) => self.builder.ins().call_indirect(sig, code, args),
            };
            return self.builder.inst_results(call).to_vec();
        };
        let sig = match callee {
            Callee::Direct(f) => self.builder.func.dfg.ext_funcs[f].signature,
            Callee::Indirect(sig, _) => sig,
        };
        let returns: Vec<_> = self.builder.func.dfg.signatures[sig]
            .returns
            .iter()
            .map(|r| r.value_type)
            .collect();
        let cont = self.builder.create_block();
        for ty in &returns {
            self.builder.append_block_param(cont, *ty);
        }
        let ret_args: Vec<BlockArg> = (0..returns.len() as u32)
            .map(BlockArg::TryCallRet)
            .collect();
        let normal = self.builder.func.dfg.block_call(cont, &ret_args);
        let caught = self
            .builder
            .func
            .dfg
            .block_call(dispatch, &[BlockArg::TryCallExn(0)]);
        let table = ExceptionTableData::new(sig, normal, [ExceptionTableItem::Default(caught)]);
        let table = self.builder.func.dfg.exception_tables.push(table);
        match callee {
            Callee::Direct(f) => self.builder.ins().try_call(f, args, table),
            Callee::Indirect(_, code) => self.builder.ins().try_call_indirect(code, args, table),
        };
        self.builder.switch_to_block(cont);
        // The call's normal return is the block's one predecessor.
        self.builder.seal_block(cont);
        self.builder.block_params(cont).to_vec()
    }

    fn try_table(&mut self, try_table: &TryTable) {
        let (params, results) = self.block_type(try_table.ty);
        let end = self.block_with_params(&results);
        // The body continues in a fresh block, so that the dispatch block can be filled now.
        let body = self.builder.create_block();
        self.builder.ins().jump(body, &[]);
        let dispatch = self.builder.create_block();
        let exn = self.builder.append_block_param(dispatch, POINTER);
        self.builder.set_cold_block(dispatch);
        self.builder.switch_to_block(dispatch);
        self.dispatch(exn, &try_table.catches);
        self.builder.switch_to_block(body);
        self.builder.seal_block(body);
        self.reachable = true;
        self.control.push(ControlFrame::new(
            FrameKind::TryTable,
            end,
            end,
            (params.len(), results.len()),
            self.stack.len() - params.len(),
        ));
        self.handlers.push(dispatch);
    }

    /// Fills the current (dispatch) block: matches the exception `exn` against `catches` (labels
    /// relative to the frame enclosing the `try_table`, which is the innermost frame now).
    fn dispatch(&mut self, exn: Value, catches: &[Catch]) {
        let tag = self
            .builder
            .ins()
            .load(POINTER, trusted(), exn, exception::TAG as i32);
        for catch in catches {
            let (tag_index, label, with_ref) = match *catch {
                Catch::One { tag, label } => (Some(tag), label, false),
                Catch::OneRef { tag, label } => (Some(tag), label, true),
                Catch::All { label } => (None, label, false),
                Catch::AllRef { label } => (None, label, true),
            };
            let next = match tag_index {
                Some(t) => {
                    let matched = self.tag_is(tag, t);
                    let clause = self.builder.create_block();
                    let next = self.builder.create_block();
                    self.builder.set_cold_block(clause);
                    self.builder.set_cold_block(next);
                    self.builder.ins().brif(matched, clause, &[], next, &[]);
                    self.builder.seal_block(clause);
                    self.builder.seal_block(next);
                    self.builder.switch_to_block(clause);
                    Some(next)
                }
                None => None,
            };
            let mut args = match tag_index {
                Some(t) => self.exception_values(exn, t),
                None => Vec::new(),
            };
            if with_ref {
                let one = self.builder.ins().iconst(types::I32, 1);
                self.builder
                    .ins()
                    .store(trusted(), one, exn, exception::EXPOSED as i32);
                args.push(exn);
            } else {
                self.env
                    .call_builtin(&mut self.builder, self.vmctx, Builtin::ExnFree, &[exn]);
            }
            let target = self.mark_branch(label);
            self.builder.ins().jump(target, &block_args(&args));
            match next {
                Some(next) => self.builder.switch_to_block(next),
                // A catch-all clause takes every exception: later clauses are never reached.
                None => return,
            }
        }
        self.throw_exception(exn);
    }

    /// Whether the tag identity `tag` (read from an exception) is tag `tag_index` of this instance.
    pub(super) fn tag_is(&mut self, tag: Value, tag_index: u32) -> Value {
        let expected = self.builder.ins().load(
            POINTER,
            readonly(),
            self.vmctx,
            self.env.offsets.tag(tag_index) as i32,
        );
        self.builder.ins().icmp(IntCC::Equal, tag, expected)
    }

    /// The values exception `exn` of tag `tag_index` carries.
    pub(super) fn exception_values(&mut self, exn: Value, tag_index: u32) -> Vec<Value> {
        let ty = self.env.module.tag_type(tag_index).clone();
        let mut values = Vec::with_capacity(ty.params.len());
        for (i, vt) in ty.params.iter().enumerate() {
            let offset = exception::VALUES + i as u32 * exception::VALUE_SIZE;
            let v = self
                .builder
                .ins()
                .load(clif_type(*vt), trusted(), exn, offset as i32);
            values.push(v);
        }
        values
    }

    fn throw(&mut self, tag_index: u32) {
        let ty = self.env.module.tag_type(tag_index).clone();
        let values = self.popn(ty.params.len());
        let index = self.builder.ins().iconst(types::I32, i64::from(tag_index));
        let exn = self
            .env
            .call_builtin(&mut self.builder, self.vmctx, Builtin::ExnNew, &[index])
            .expect("ExnNew returns the exception");
        // Allocation fails when the store's memory budget is exhausted.
        self.builder
            .ins()
            .trapz(exn, crate::trap_code(TrapCode::OutOfMemory));
        for (i, v) in values.iter().enumerate() {
            let offset = exception::VALUES + i as u32 * exception::VALUE_SIZE;
            self.builder.ins().store(trusted(), *v, exn, offset as i32);
        }
        self.throw_exception(exn);
    }

    /// Transfers the (non-null) exception `exn` to the innermost handler: the dispatch block of the
    /// innermost enclosing `try_table` of this function, else a calling frame's (through `Throw`).
    /// The current position becomes unreachable.
    pub(super) fn throw_exception(&mut self, exn: Value) {
        self.throw_exception_to(exn, self.handlers.last().copied());
    }

    /// Transfers the (non-null) exception `exn` to the dispatch block `handler` of this function, or,
    /// with `None`, to a calling frame's handler (through `Throw`). The current position becomes
    /// unreachable.
    pub(super) fn throw_exception_to(&mut self, exn: Value, handler: Option<Block>) {
        if let Some(dispatch) = handler {
            self.builder.ins().jump(dispatch, &[BlockArg::Value(exn)]);
        } else {
            let fp = self.builder.ins().get_frame_pointer(POINTER);
            self.env
                .call_builtin(&mut self.builder, self.vmctx, Builtin::Throw, &[exn, fp]);
            self.builder
                .ins()
                .trap(crate::trap_code(TrapCode::UnhandledException));
        }
        self.reachable = false;
    }
}
