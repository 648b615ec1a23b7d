//! Translation of one wasm function body to Cranelift IR.
//!
//! The operators are split by family, one file each; [`FuncTranslator::translate_operator`] hands every
//! operator to the families in turn. The operand stack holds Cranelift values; the control stack is in
//! [`control`]. Translation assumes the body was validated, so stack shapes always match.

mod atomics;
mod call;
mod control;
mod convert;
mod exceptions;
mod gc_objects;
mod gc_refs;
mod legacy_exceptions;
mod memory;
mod numeric;
mod simd;
mod table;
mod variable;

use crate::env::{
    FUEL_PER_CHECK, ModuleEnv, POINTER, clif_type, readonly, trusted, wasm_signature,
};
use control::ControlFrame;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{self, Block, BlockArg, Function, InstBuilder, UserFuncName, Value};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use wasmparser::{FunctionBody, Operator};
use wasmz_environ::vmoffsets::store_context;
use wasmz_environ::{TrapCode, VMOffsets, WasmError, WasmResult};

/// Reusable allocations for translating many functions.
#[derive(Default)]
pub struct TranslatorContext {
    builder: FunctionBuilderContext,
}

/// Translates the body of defined function `func_index` into a Cranelift function.
///
/// # Errors
/// When the body uses an operator wasmz does not support yet.
pub fn translate_function(
    env: &ModuleEnv<'_>,
    ctx: &mut TranslatorContext,
    func_index: u32,
    body: &FunctionBody<'_>,
) -> WasmResult<Function> {
    let ty = env.module.func_sig(func_index);
    let mut func =
        Function::with_name_signature(UserFuncName::user(0, func_index), wasm_signature(ty));
    let vmctx_gv = func.create_global_value(ir::GlobalValueData::VMContext);
    let readonly_flags = func
        .dfg
        .mem_flags
        .insert(crate::env::readonly())
        .expect("few flag sets");
    let trusted_flags = func
        .dfg
        .mem_flags
        .insert(crate::env::trusted())
        .expect("few flag sets");
    let store_ctx = func.create_global_value(ir::GlobalValueData::Load {
        base: vmctx_gv,
        offset: (VMOffsets::STORE_CONTEXT as i32).into(),
        global_type: crate::env::POINTER,
        flags: readonly_flags,
    });
    let stack_limit = func.create_global_value(ir::GlobalValueData::Load {
        base: store_ctx,
        offset: 0.into(),
        global_type: crate::env::POINTER,
        flags: trusted_flags,
    });
    func.stack_limit = Some(stack_limit);
    let heap_region = func.dfg.alias_regions.insert(ir::AliasRegionData {
        user_id: regions::LINEAR_MEMORY,
        description: "linear memory".into(),
    });
    debug_assert_eq!(heap_region, regions::heap());
    let mut builder = FunctionBuilder::new(&mut func, &mut ctx.builder);
    let entry = builder.create_block();
    builder.append_block_params_for_function_params(entry);
    builder.switch_to_block(entry);
    builder.seal_block(entry);
    let vmctx = builder.block_params(entry)[0];

    let exit = builder.create_block();
    for result in ty.results.iter() {
        builder.append_block_param(exit, clif_type(*result));
    }
    let mut t = FuncTranslator {
        env,
        builder,
        vmctx,
        locals: Vec::new(),
        stack: Vec::new(),
        control: Vec::new(),
        handlers: Vec::new(),
        reachable: true,
        memory0_base: None,
        signatures: std::collections::HashMap::new(),
        callees: std::collections::HashMap::new(),
    };
    t.declare_locals(entry, body)?;
    if !env.module.memories.is_empty() {
        // Every access to memory 0 uses this one value rather than a load of its own, which the
        // optimizer would otherwise have to merge.
        t.memory0_base = Some(t.memory_base(0));
    }
    t.control
        .push(ControlFrame::function(exit, ty.results.len()));
    t.limit_checks();
    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        let offset = reader.original_position();
        let op = reader.read()?;
        // The operator's byte offset in the module names the machine code it becomes (trap
        // backtraces report it).
        t.builder.set_srcloc(ir::SourceLoc::new(
            u32::try_from(offset).unwrap_or(u32::MAX),
        ));
        t.translate_operator(&op, offset)?;
    }
    t.builder.seal_all_blocks();
    t.builder.finalize(env.isa.frontend_config());
    Ok(func)
}

/// State while translating one function.
pub(crate) struct FuncTranslator<'a, 'f> {
    env: &'a ModuleEnv<'a>,
    builder: FunctionBuilder<'f>,
    vmctx: Value,
    locals: Vec<Variable>,
    stack: Vec<Value>,
    control: Vec<ControlFrame>,
    /// The handler-dispatch block of each enclosing `try_table` and legacy `try` body, innermost last.
    handlers: Vec<Block>,
    /// Whether the current position can be reached; operators in dead code are skipped.
    reachable: bool,
    /// The base address of memory 0, loaded once in the entry block (unused, it is removed).
    memory0_base: Option<Value>,
    /// The signatures imported for calls, each once.
    signatures: std::collections::HashMap<ir::Signature, ir::SigRef>,
    /// The function references imported for direct calls, by callee function index, each once.
    callees: std::collections::HashMap<u32, ir::FuncRef>,
}

impl FuncTranslator<'_, '_> {
    fn declare_locals(&mut self, entry: Block, body: &FunctionBody<'_>) -> WasmResult<()> {
        let params: Vec<Value> = self.builder.block_params(entry)[2..].to_vec();
        let ty = self.env.module.func_sig(self.current_func_index());
        for (value, vt) in params.iter().zip(ty.params.iter()) {
            let var = self.builder.declare_var(clif_type(*vt));
            if self.env.is_gc_ref(*vt) {
                self.builder.declare_var_needs_stack_map(var);
            }
            self.builder.def_var(var, *value);
            self.locals.push(var);
        }
        let mut reader = body.get_locals_reader()?;
        for _ in 0..reader.get_count() {
            let offset = reader.original_position();
            let (count, ty) = reader.read()?;
            let vt = wasmz_environ::ValType::from_wasmparser(ty)
                .ok_or_else(|| WasmError::unsupported(format!("local of type {ty}"), offset))?;
            let zero = self.zero(vt);
            for _ in 0..count {
                let var = self.builder.declare_var(clif_type(vt));
                if self.env.is_gc_ref(vt) {
                    self.builder.declare_var_needs_stack_map(var);
                }
                self.builder.def_var(var, zero);
                self.locals.push(var);
            }
        }
        Ok(())
    }

    /// Emits the fuel and epoch checks of a function entry or loop header: nothing when both are off.
    ///
    /// Fuel: when fewer than [`FUEL_PER_CHECK`] units are left, trap with `OutOfFuel`; otherwise subtract
    /// them. Epoch: trap with `Interrupted` when the engine's epoch (read atomically, since another thread
    /// advances it; an atomic load is also never merged with an earlier one) is at or past the store's
    /// deadline. Both traps are trap instructions of this function, so backtraces show where it stopped.
    fn limit_checks(&mut self) {
        let env = self.env;
        if !env.consume_fuel && !env.epoch_interruption {
            return;
        }
        let ctx = self.builder.ins().load(
            POINTER,
            readonly(),
            self.vmctx,
            VMOffsets::STORE_CONTEXT as i32,
        );
        if env.consume_fuel {
            let fuel = self
                .builder
                .ins()
                .load(I64, trusted(), ctx, store_context::FUEL as i32);
            let short =
                self.builder
                    .ins()
                    .icmp_imm_u(IntCC::UnsignedLessThan, fuel, FUEL_PER_CHECK);
            self.builder
                .ins()
                .trapnz(short, crate::trap_code(TrapCode::OutOfFuel));
            let left = self.builder.ins().iadd_imm_s(fuel, -FUEL_PER_CHECK);
            self.builder
                .ins()
                .store(trusted(), left, ctx, store_context::FUEL as i32);
        }
        if env.epoch_interruption {
            let counter =
                self.builder
                    .ins()
                    .load(POINTER, readonly(), ctx, store_context::EPOCH_PTR as i32);
            let epoch = self.builder.ins().atomic_load(I64, trusted(), counter);
            let deadline =
                self.builder
                    .ins()
                    .load(I64, trusted(), ctx, store_context::EPOCH_DEADLINE as i32);
            let reached =
                self.builder
                    .ins()
                    .icmp(IntCC::UnsignedGreaterThanOrEqual, epoch, deadline);
            // At the deadline, the store's callback may extend it; otherwise the code traps here.
            let cont = self.enter_cold_path(reached);
            env.call_builtin(
                &mut self.builder,
                self.vmctx,
                wasmz_environ::Builtin::EpochDeadline,
                &[],
            );
            // Compared with the epoch seen before the call: a deadline the callback moved past it
            // lets the code go on even if another thread advanced the epoch meanwhile; one it left
            // alone (the callback said stop) still holds.
            let deadline =
                self.builder
                    .ins()
                    .load(I64, trusted(), ctx, store_context::EPOCH_DEADLINE as i32);
            let still = self
                .builder
                .ins()
                .icmp(IntCC::UnsignedGreaterThanOrEqual, epoch, deadline);
            self.builder
                .ins()
                .trapnz(still, crate::trap_code(TrapCode::Interrupted));
            self.builder.ins().jump(cont, &[]);
            self.leave_cold_path(cont);
        }
    }

    fn current_func_index(&self) -> u32 {
        match self.builder.func.name {
            UserFuncName::User(ref name) => name.index,
            UserFuncName::Testcase(_) => unreachable!("wasm functions have user names"),
        }
    }

    /// A zero (or null) value of type `ty`.
    fn zero(&mut self, ty: wasmz_environ::ValType) -> Value {
        use wasmz_environ::ValType as V;
        match ty {
            V::I32 => self.builder.ins().iconst(ir::types::I32, 0),
            V::I64 | V::FuncRef | V::ExternRef | V::Ref(_) => {
                self.builder.ins().iconst(ir::types::I64, 0)
            }
            V::F32 => self.builder.ins().f32const(0.0),
            V::F64 => self.builder.ins().f64const(0.0),
            V::V128 => {
                let c = self.builder.func.dfg.constants.insert(vec![0u8; 16].into());
                self.builder.ins().vconst(ir::types::I8X16, c)
            }
        }
    }

    fn translate_operator(&mut self, op: &Operator<'_>, offset: u64) -> WasmResult<()> {
        if self.translate_legacy_exceptions(op) {
            return Ok(());
        }
        if !self.reachable {
            return self.translate_unreachable_operator(op);
        }
        let handled = self.translate_control(op)?
            || self.translate_variable(op)?
            || self.translate_numeric(op)?
            || self.translate_convert(op)?
            || self.translate_memory(op)?
            || self.translate_atomic(op)?
            || self.translate_table(op)?
            || self.translate_call(op)?
            || self.translate_exceptions(op)?
            || self.translate_gc_objects(op)?
            || self.translate_gc_refs(op, offset)?
            || self.translate_simd(op)?;
        if handled {
            Ok(())
        } else {
            Err(WasmError::unsupported(format!("operator {op:?}"), offset))
        }
    }

    /// Declares `v`, a value of wasm type `ty`, as one that stack maps must include while it is live
    /// across a call, when `ty` may hold GC references.
    fn track_ref(&mut self, v: Value, ty: wasmz_environ::ValType) {
        if self.env.is_gc_ref(ty) {
            self.builder.declare_value_needs_stack_map(v);
        }
    }

    /// [`Self::track_ref`] for the top `types.len()` values of the operand stack.
    fn track_top(&mut self, types: &[wasmz_environ::ValType]) {
        let values = self.peekn(types.len()).to_vec();
        for (v, t) in values.into_iter().zip(types) {
            self.track_ref(v, *t);
        }
    }

    fn pop(&mut self) -> Value {
        self.stack
            .pop()
            .expect("validated wasm never pops an empty stack")
    }

    fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    fn pop3(&mut self) -> (Value, Value, Value) {
        let c = self.pop();
        let (a, b) = self.pop2();
        (a, b, c)
    }

    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }

    /// The top `n` values of the stack, bottom first.
    fn peekn(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }

    fn popn(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }

    /// Branches on `cond` to a new cold block (laid out apart from the hot code) and goes on there.
    /// Returns the block where the code goes on when `cond` is false: once the cold path ends (in a
    /// trap, or a jump to that block), [`Self::leave_cold_path`] continues there.
    fn enter_cold_path(&mut self, cond: Value) -> Block {
        let cold = self.builder.create_block();
        let cont = self.builder.create_block();
        self.builder.ins().brif(cond, cold, &[], cont, &[]);
        self.builder.set_cold_block(cold);
        self.builder.seal_block(cold);
        self.builder.switch_to_block(cold);
        cont
    }

    /// Goes on in `cont`, the block [`Self::enter_cold_path`] returned, after the cold path.
    fn leave_cold_path(&mut self, cont: Block) {
        self.builder.seal_block(cont);
        self.builder.switch_to_block(cont);
    }

    /// Traps with `code` when `oob` (a bounds check's failure) holds, and returns `addr`, the address the
    /// check guards, or null where `oob` holds.
    ///
    /// The CPU may run the access at `addr` speculatively before the check's branch resolves; when it
    /// mispredicts, the access would read out of bounds, and what it read could leak through the cache
    /// (Spectre variant 1). `select_spectre_guard` is a conditional move, never a branch, so the
    /// speculated access reads at null instead (plus the access's small static offset: unmapped
    /// pages).
    fn guard_bounds(&mut self, oob: Value, code: ir::TrapCode, addr: Value) -> Value {
        self.builder.ins().trapnz(oob, code);
        let null = self.builder.ins().iconst(POINTER, 0);
        self.builder.ins().select_spectre_guard(oob, null, addr)
    }
}

/// Block arguments from plain values.
pub(crate) fn block_args(values: &[Value]) -> Vec<BlockArg> {
    values.iter().map(|v| BlockArg::Value(*v)).collect()
}

/// Alias regions: disjoint kinds of memory, so that Cranelift's alias analysis may forward a stored value
/// to a later load, or reuse a loaded one, across stores to other regions. A store without a region acts
/// as a barrier for every region.
pub(super) mod regions {
    use cranelift_codegen::ir::AliasRegion;

    /// `user_id` of the region of every linear memory's bytes (memories never overlap each other or
    /// anything else wasmz allocates).
    pub const LINEAR_MEMORY: u32 = 1;
    /// `user_id` of the region of every imported global's storage (two imports may be the same global).
    pub const IMPORTED_GLOBALS: u32 = 2;
    /// `user_id` of the region of defined global `i`: `DEFINED_GLOBAL + i` (each lives in its own slot
    /// of the vmctx).
    pub const DEFINED_GLOBAL: u32 = 0x100;
    /// The linear-memory region, the first one every translated function declares.
    pub fn heap() -> AliasRegion {
        AliasRegion::from_u32(0)
    }
}
