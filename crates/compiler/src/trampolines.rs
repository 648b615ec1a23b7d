//! Trampolines between the host and compiled wasm, generated per function type and placed in the code image.
//!
//! - The *entry* trampoline (host → wasm) has the host's C convention:
//!   `extern "C" fn(callee_vmctx, caller_vmctx, code, values: *mut [u8; 16])`. It loads the arguments
//!   from `values`, calls `code` with the wasm convention and stores the results back into `values`.
//! - The *host* trampoline (wasm → host) has the wasm convention and is what an imported host function's
//!   `VMFuncRef` points at; its callee vmctx is the host function's context. It spills the arguments into
//!   a stack buffer, calls the `HostCall` builtin, raises the trap the host reported (after the host
//!   function has returned), and loads the results.

use crate::env::{ModuleEnv, POINTER, clif_type, wasm_signature};
use cranelift_codegen::ir::{
    AbiParam, Function, InstBuilder, MemFlagsData, Signature, StackSlotData, StackSlotKind,
    UserFuncName,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use wasmz_environ::{Builtin, FuncType};

/// Bytes per value in the arrays exchanged with the host.
pub const VALUE_SIZE: u32 = 16;

fn value_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Builds the host → wasm entry trampoline for `ty`.
pub fn entry_trampoline(env: &ModuleEnv<'_>, ty: &FuncType, name_index: u32) -> Function {
    let mut sig = Signature::new(env.isa.default_call_conv());
    sig.params.extend([AbiParam::new(POINTER); 4]);
    let mut func = Function::with_name_signature(UserFuncName::user(1, name_index), sig);
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut ctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let [callee_vmctx, caller_vmctx, code, values] =
        b.block_params(entry).try_into().expect("four parameters");
    let mut args = vec![callee_vmctx, caller_vmctx];
    for (i, t) in ty.params.iter().enumerate() {
        let offset = i as u32 * VALUE_SIZE;
        args.push(
            b.ins()
                .load(clif_type(*t), value_flags(), values, offset as i32),
        );
    }
    let sig_ref = b.import_signature(wasm_signature(ty));
    let call = b.ins().call_indirect(sig_ref, code, &args);
    let results = b.inst_results(call).to_vec();
    for (i, r) in results.into_iter().enumerate() {
        b.ins()
            .store(value_flags(), r, values, (i as u32 * VALUE_SIZE) as i32);
    }
    b.ins().return_(&[]);
    b.finalize(env.isa.frontend_config());
    func
}

/// Builds the wasm → host trampoline for `ty`.
pub fn host_trampoline(env: &ModuleEnv<'_>, ty: &FuncType, name_index: u32) -> Function {
    let mut func =
        Function::with_name_signature(UserFuncName::user(2, name_index), wasm_signature(ty));
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut ctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let params = b.block_params(entry).to_vec();
    let (host_ctx, caller_vmctx) = (params[0], params[1]);
    let slots = ty.params.len().max(ty.results.len()).max(1) as u32;
    let slot = b.create_sized_stack_slot(StackSlotData::new(
        StackSlotKind::ExplicitSlot,
        slots * VALUE_SIZE,
        4,
    ));
    let values = b.ins().stack_addr(POINTER, slot, 0);
    for (i, v) in params[2..].iter().enumerate() {
        b.ins()
            .store(value_flags(), *v, values, (i as u32 * VALUE_SIZE) as i32);
    }
    let status = env
        .call_builtin(&mut b, caller_vmctx, Builtin::HostCall, &[host_ctx, values])
        .expect("HostCall returns a status");
    env.raise_if_nonzero(&mut b, caller_vmctx, status);
    let mut results = Vec::with_capacity(ty.results.len());
    for (i, t) in ty.results.iter().enumerate() {
        results.push(b.ins().load(
            clif_type(*t),
            value_flags(),
            values,
            (i as u32 * VALUE_SIZE) as i32,
        ));
    }
    b.ins().return_(&results);
    b.finalize(env.isa.frontend_config());
    func
}
