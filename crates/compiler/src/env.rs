//! The seam between wasm operators and the runtime: signatures, and how the VMContext is reached.

use cranelift_codegen::ir::{
    self, AbiParam, ArgumentPurpose, InstBuilder, MemFlagsData, Signature, Type, types,
};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use cranelift_frontend::FunctionBuilder;
use wasmz_environ::{Builtin, BuiltinType, FuncType, ModuleInfo, VMOffsets, ValType};

/// The Cranelift type of a wasm value.
pub fn clif_type(ty: ValType) -> Type {
    match ty {
        ValType::I32 => types::I32,
        ValType::I64 | ValType::FuncRef | ValType::ExternRef | ValType::Ref(_) => types::I64,
        ValType::F32 => types::F32,
        ValType::F64 => types::F64,
        ValType::V128 => types::I8X16,
    }
}

/// The pointer type of the targets wasmz supports.
pub const POINTER: Type = types::I64;

/// The signature every wasm function is compiled with: `(callee_vmctx, caller_vmctx, params...) -> results`
/// in the `tail` calling convention.
pub fn wasm_signature(ty: &FuncType) -> Signature {
    let mut sig = Signature::new(CallConv::Tail);
    sig.params
        .push(AbiParam::special(POINTER, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(POINTER));
    sig.params
        .extend(ty.params.iter().map(|t| AbiParam::new(clif_type(*t))));
    sig.returns
        .extend(ty.results.iter().map(|t| AbiParam::new(clif_type(*t))));
    sig
}

/// The signature of a builtin in the host's C calling convention.
pub fn builtin_signature(isa: &dyn TargetIsa, builtin: Builtin) -> Signature {
    let to_clif = |t: BuiltinType| match t {
        BuiltinType::I32 => types::I32,
        BuiltinType::I64 | BuiltinType::Ptr => types::I64,
    };
    let b = builtin.signature();
    let call_conv = if builtin.preserves_all_registers() {
        cranelift_codegen::isa::CallConv::PreserveAll
    } else {
        isa.default_call_conv()
    };
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(POINTER));
    sig.params
        .extend(b.params.iter().map(|t| AbiParam::new(to_clif(*t))));
    sig.returns
        .extend(b.result.map(|t| AbiParam::new(to_clif(t))));
    sig
}

/// Flags for loads of VM-internal fields that never change during an instance's life.
pub fn readonly() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

/// Flags for loads and stores of VM-internal fields that may change.
pub fn trusted() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Module-wide facts the translator needs about the runtime layout.
pub struct ModuleEnv<'a> {
    /// The module being compiled.
    pub module: &'a ModuleInfo,
    /// Its VMContext layout.
    pub offsets: VMOffsets,
    /// The target.
    pub isa: &'a dyn TargetIsa,
    /// Whether linear memories rely on explicit bounds checks instead of guard pages.
    pub explicit_bounds_checks: bool,
    /// Whether compiled code charges fuel: [`FUEL_PER_CHECK`] units at every function entry and at every
    /// loop header (once per iteration), trapping with `OutOfFuel` when the store has less left.
    pub consume_fuel: bool,
    /// Whether compiled code traps with `Interrupted` at function entries and loop headers once the
    /// engine's epoch has reached the store's deadline.
    pub epoch_interruption: bool,
    /// Whether code pointers loaded from a `VMFuncRef` may be null (lazy compilation): every call then
    /// goes through the callee's `VMFuncRef` (no direct calls between defined functions; a function's
    /// calls of itself stay direct) and calls the `LazyCompile` builtin when it finds a null code
    /// pointer.
    pub lazy_calls: bool,
}

impl ModuleEnv<'_> {
    /// Whether values of `ty` may be references to GC objects, which compiled code must keep in stack
    /// maps across calls: the any and extern hierarchies (not functions, not exceptions).
    pub fn is_gc_ref(&self, ty: ValType) -> bool {
        self.module.is_gc_ref(ty)
    }
}

/// Fuel charged by each function entry and each loop iteration.
pub const FUEL_PER_CHECK: i64 = 1;

impl ModuleEnv<'_> {
    /// Calls `builtin` with `args` (the vmctx is prepended) and returns its results.
    pub fn call_builtin(
        &self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        builtin: Builtin,
        args: &[ir::Value],
    ) -> Option<ir::Value> {
        let sig = builder.import_signature(builtin_signature(self.isa, builtin));
        let table = builder
            .ins()
            .load(POINTER, readonly(), vmctx, VMOffsets::BUILTINS as i32);
        let callee = builder
            .ins()
            .load(POINTER, readonly(), table, builtin.table_offset() as i32);
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(vmctx);
        all.extend_from_slice(args);
        let call = builder.ins().call_indirect(sig, callee, &all);
        builder.inst_results(call).first().copied()
    }

    /// Calls a builtin that returns a nonzero status on failure, and traps with `code` when it does.
    ///
    /// The trap is an ordinary trap instruction in the calling function, so it is reported with the
    /// function's own position in the backtrace.
    pub fn call_checked_builtin(
        &self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        builtin: Builtin,
        args: &[ir::Value],
        code: wasmz_environ::TrapCode,
    ) {
        let status = self
            .call_builtin(builder, vmctx, builtin, args)
            .expect("checked builtins return a status");
        builder.ins().trapnz(status, crate::trap_code(code));
    }

    /// Emits `if status != 0 { raise_trap(status, frame_pointer) }`: raises a trap code chosen at run time
    /// (by a host function).
    pub fn raise_if_nonzero(
        &self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        status: ir::Value,
    ) {
        let raise = builder.create_block();
        let cont = builder.create_block();
        builder.ins().brif(status, raise, &[], cont, &[]);
        builder.set_cold_block(raise);
        builder.switch_to_block(raise);
        builder.seal_block(raise);
        let fp = builder.ins().get_frame_pointer(POINTER);
        self.call_builtin(builder, vmctx, Builtin::RaiseTrap, &[status, fp]);
        builder
            .ins()
            .trap(crate::trap_code(wasmz_environ::TrapCode::HostError));
        builder.switch_to_block(cont);
        builder.seal_block(cont);
    }
}
