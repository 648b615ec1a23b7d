//! Calls: `call` (direct for defined functions, through the VMContext for imports and, with lazy
//! compilation, for every function), `call_indirect`, `call_ref`, and their tail-call forms
//! `return_call*`.

use super::exceptions::Callee;
use super::{FuncTranslator, block_args};
use crate::env::{POINTER, readonly, trusted, wasm_signature};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    ExtFuncData, ExternalName, InstBuilder, SigRef, UserExternalName, Value, types,
};
use wasmparser::Operator;
use wasmz_environ::{Builtin, FuncType, TrapCode, WasmResult, vmoffsets::funcref};

/// Whether a call returns to its caller or replaces the caller's frame.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CallKind {
    Normal,
    Tail,
}

impl FuncTranslator<'_, '_> {
    pub(super) fn translate_call(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        use CallKind::{Normal, Tail};
        // Results of calls that return here may be GC references: stack maps must cover them.
        let results = match *op {
            Operator::Call { function_index } => {
                Some(self.env.module.func_sig(function_index).results.clone())
            }
            Operator::CallIndirect { type_index, .. } | Operator::CallRef { type_index } => {
                Some(self.env.module.func_type(type_index).results.clone())
            }
            _ => None,
        };
        match *op {
            Operator::Call { function_index } => self.call(function_index, Normal),
            Operator::ReturnCall { function_index } => self.call(function_index, Tail),
            Operator::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(type_index, table_index, Normal),
            Operator::ReturnCallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(type_index, table_index, Tail),
            Operator::CallRef { type_index } => self.call_ref(type_index, Normal),
            Operator::ReturnCallRef { type_index } => self.call_ref(type_index, Tail),
            _ => return Ok(false),
        }
        if let Some(results) = results
            && self.reachable
        {
            self.track_top(&results);
        }
        Ok(true)
    }

    fn call_args(&self, callee_vmctx: Value, args: &[Value]) -> Vec<Value> {
        let mut all = Vec::with_capacity(args.len() + 2);
        all.push(callee_vmctx);
        all.push(self.vmctx);
        all.extend_from_slice(args);
        all
    }

    /// Emits an indirect call (or tail call) of `code` and pushes its results.
    fn emit_indirect(
        &mut self,
        kind: CallKind,
        sig: SigRef,
        code: Value,
        callee_vmctx: Value,
        args: &[Value],
    ) {
        let all = self.call_args(callee_vmctx, args);
        match kind {
            CallKind::Normal => {
                let results = self.emit_call(Callee::Indirect(sig, code), &all);
                self.stack.extend(results);
            }
            CallKind::Tail => {
                self.builder.ins().return_call_indirect(sig, code, &all);
                self.reachable = false;
            }
        }
    }

    /// With lazy compilation, makes sure `code` (loaded from the `VMFuncRef` at `funcref`) is not null:
    /// when it is, calls the `LazyCompile` builtin, which compiles the function and stores its code
    /// pointer into the `VMFuncRef`, then loads it from there (still null if it could not be compiled:
    /// then this traps with `CompileError`). The builtin returns nothing, as Cranelift's preserve-all
    /// convention allows no results. Without lazy compilation code pointers are never null and `code`
    /// is returned as is.
    fn ensure_compiled(&mut self, code: Value, funcref: impl FnOnce(&mut Self) -> Value) -> Value {
        if !self.env.lazy_calls {
            return code;
        }
        let compile = self.builder.create_block();
        let cont = self.builder.create_block();
        let code_param = self.builder.append_block_param(cont, POINTER);
        self.builder
            .ins()
            .brif(code, cont, &block_args(&[code]), compile, &[]);
        self.builder.set_cold_block(compile);
        self.builder.switch_to_block(compile);
        self.builder.seal_block(compile);
        let funcref = funcref(self);
        let results = self.env.call_builtin(
            &mut self.builder,
            self.vmctx,
            Builtin::LazyCompile,
            &[funcref],
        );
        debug_assert!(results.is_none(), "LazyCompile returns nothing");
        let compiled =
            self.builder
                .ins()
                .load(POINTER, trusted(), funcref, funcref::WASM_CALL as i32);
        self.builder
            .ins()
            .trapz(compiled, crate::trap_code(TrapCode::CompileError));
        self.builder.ins().jump(cont, &block_args(&[compiled]));
        self.builder.switch_to_block(cont);
        self.builder.seal_block(cont);
        code_param
    }

    /// The function's reference to the Cranelift signature of wasm type `ty`, imported once per
    /// function however many calls use it.
    fn signature_ref(&mut self, ty: &FuncType) -> SigRef {
        let sig = wasm_signature(ty);
        if let Some(&sig_ref) = self.signatures.get(&sig) {
            return sig_ref;
        }
        let sig_ref = self.builder.import_signature(sig.clone());
        self.signatures.insert(sig, sig_ref);
        sig_ref
    }

    fn call(&mut self, function_index: u32, kind: CallKind) {
        let ty = self.env.module.func_sig(function_index);
        let args = self.popn(ty.params.len());
        let sig = self.signature_ref(ty);
        let imported = self.env.module.is_imported_func(function_index);
        // A lazily compiled function still calls itself directly: its own code is the one callee whose
        // place is known when it is compiled (`compile_lazy` resolves that call).
        let through_vmctx =
            imported || (self.env.lazy_calls && function_index != self.current_func_index());
        if through_vmctx {
            let entry = self.env.offsets.funcref(function_index);
            // Lazily compiled code pointers change (from null), so they are not `readonly`.
            let flags = if self.env.lazy_calls {
                trusted()
            } else {
                readonly()
            };
            let code = self.builder.ins().load(
                POINTER,
                flags,
                self.vmctx,
                (entry + funcref::WASM_CALL) as i32,
            );
            // The module's own functions point to compile-on-call stubs until compiled; an import's
            // copy of a lazily compiled function stays null until its first call.
            let code = if imported {
                self.ensure_compiled(code, |this| {
                    this.builder.ins().iadd_imm_s(this.vmctx, i64::from(entry))
                })
            } else {
                code
            };
            let callee_vmctx = if imported {
                self.builder.ins().load(
                    POINTER,
                    readonly(),
                    self.vmctx,
                    (entry + funcref::VMCTX) as i32,
                )
            } else {
                self.vmctx
            };
            self.emit_indirect(kind, sig, code, callee_vmctx, &args);
            return;
        }
        let func_ref = match self.callees.get(&function_index) {
            Some(&func_ref) => func_ref,
            None => {
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
                self.callees.insert(function_index, func_ref);
                func_ref
            }
        };
        let all = self.call_args(self.vmctx, &args);
        match kind {
            CallKind::Normal => {
                let results = self.emit_call(Callee::Direct(func_ref), &all);
                self.stack.extend(results);
            }
            CallKind::Tail => {
                self.builder.ins().return_call(func_ref, &all);
                self.reachable = false;
            }
        }
    }

    /// Loads the code pointer and vmctx of a non-null `*const VMFuncRef` and emits the call.
    fn call_funcref(&mut self, kind: CallKind, ty: &FuncType, func: Value, args: &[Value]) {
        let code = self
            .builder
            .ins()
            .load(POINTER, trusted(), func, funcref::WASM_CALL as i32);
        let code = self.ensure_compiled(code, |_| func);
        let callee_vmctx = self
            .builder
            .ins()
            .load(POINTER, trusted(), func, funcref::VMCTX as i32);
        let sig = self.signature_ref(ty);
        self.emit_indirect(kind, sig, code, callee_vmctx, args);
    }

    fn call_indirect(&mut self, type_index: u32, table_index: u32, kind: CallKind) {
        let index = self.pop();
        let ty = self.env.module.func_type(type_index).clone();
        let args = self.popn(ty.params.len());
        // An index out of bounds reads the vmctx's null word: one test of the element finds both a
        // null element and a bad index, and the cold path tells which.
        let (addr, oob) = self.table_element(table_index, index);
        let func = self.builder.ins().load(POINTER, trusted(), addr, 0);
        let is_null = self.builder.ins().icmp_imm_s(IntCC::Equal, func, 0);
        let not_null = self.enter_cold_path(is_null);
        self.builder
            .ins()
            .trapnz(oob, crate::trap_code(TrapCode::TableOutOfBounds));
        self.builder
            .ins()
            .trap(crate::trap_code(TrapCode::IndirectCallToNull));
        self.leave_cold_path(not_null);
        let expected = self.canonical_type_id(type_index);
        let actual = self
            .builder
            .ins()
            .load(types::I32, trusted(), func, funcref::TYPE_ID as i32);
        let mismatch = self.builder.ins().icmp(IntCC::NotEqual, expected, actual);
        if self.env.module.types[type_index as usize].is_final {
            // No other type can be a subtype of a final type: only the same canonical id matches.
            self.builder
                .ins()
                .trapnz(mismatch, crate::trap_code(TrapCode::BadSignature));
        } else {
            // A function of a declared subtype may be called too: ask the registry when ids differ.
            let cont = self.enter_cold_path(mismatch);
            let ok = self.ask_registry(actual, expected);
            self.builder
                .ins()
                .trapz(ok, crate::trap_code(TrapCode::BadSignature));
            self.builder.ins().jump(cont, &[]);
            self.leave_cold_path(cont);
        }
        self.call_funcref(kind, &ty, func, &args);
    }

    fn call_ref(&mut self, type_index: u32, kind: CallKind) {
        let func = self.pop();
        let ty = self.env.module.func_type(type_index).clone();
        let args = self.popn(ty.params.len());
        let is_null = self.builder.ins().icmp_imm_s(IntCC::Equal, func, 0);
        self.builder
            .ins()
            .trapnz(is_null, crate::trap_code(TrapCode::NullReference));
        self.call_funcref(kind, &ty, func, &args);
    }
}
