//! The threads proposal's memory operators: atomic loads, stores and read-modify-write operations,
//! `atomic.fence`, and `memory.atomic.wait32/wait64/notify`.
//!
//! Every atomic access first checks that its effective address (`index + offset`) is a multiple of the
//! access size (trapping with `UnalignedAtomicAccess`), then compares its end with the memory's
//! current length (trapping with `MemoryOutOfBounds`), whatever the bounds-check mode: the atomic
//! instruction itself never faults. The accesses map to Cranelift's sequentially consistent
//! `atomic_load`, `atomic_store`, `atomic_rmw` and `atomic_cas` at the access width (8, 16, 32 or 64
//! bits); narrower results are zero-extended to the operator's type. They work the same on shared and
//! unshared memories. Waiting and notifying are builtins (the process-wide wait queues of the runtime);
//! on an unshared memory, `wait` traps with `UnsharedMemoryWait` and `notify` wakes nobody.

use super::FuncTranslator;
use super::memory::memarg_memory;
use cranelift_codegen::ir::{AtomicRmwOp, InstBuilder, MemFlagsData, TrapCode, Type, Value, types};
use wasmparser::{MemArg, Operator};
use wasmz_environ::{Builtin, WasmResult};

/// What an atomic operator does with the location it accesses.
#[derive(Clone, Copy)]
enum Access {
    Load,
    Store,
    Rmw(AtomicRmwOp),
    Cmpxchg,
}

impl FuncTranslator<'_, '_> {
    /// Memory flags of atomic accesses. The access is already bounds-checked; the trap code only
    /// documents what a fault there would mean.
    fn atomic_flags() -> MemFlagsData {
        MemFlagsData::new().with_trap_code(Some(TrapCode::HEAP_OUT_OF_BOUNDS))
    }

    /// The native address of an atomic access of type `access` at `index` + `memarg.offset`, after the
    /// alignment and bounds checks.
    fn atomic_address(&mut self, memarg: &MemArg, index: Value, access: Type) -> Value {
        let memory = memarg_memory(memarg);
        let size = access.bytes();
        if size > 1 {
            let wide = self.memory_index_to_i64(memory, index);
            // Only the low bits matter, so a wrapping add gives the effective address's alignment even
            // when the sum overflows (the bounds check then traps).
            let effective = self.builder.ins().iadd_imm_s(wide, memarg.offset as i64);
            let misaligned = self
                .builder
                .ins()
                .band_imm_u(effective, i64::from(size - 1));
            self.builder.ins().trapnz(
                misaligned,
                crate::trap_code(wasmz_environ::TrapCode::UnalignedAtomicAccess),
            );
        }
        self.checked_memory_address(memarg, index, size, true)
    }

    /// Narrows `v` to the access type `access` when it is wider.
    fn narrow_to(&mut self, v: Value, access: Type) -> Value {
        if self.builder.func.dfg.value_type(v) == access {
            v
        } else {
            self.builder.ins().ireduce(access, v)
        }
    }

    /// Zero-extends `v` (of the access type) to the operator's type `ty`.
    fn zero_extend_to(&mut self, v: Value, ty: Type) -> Value {
        if self.builder.func.dfg.value_type(v) == ty {
            v
        } else {
            self.builder.ins().uextend(ty, v)
        }
    }

    /// One atomic access: `ty` is the operator's value type, `access` the width of the memory access.
    fn atomic(&mut self, memarg: &MemArg, ty: Type, access: Type, what: Access) {
        let flags = Self::atomic_flags();
        match what {
            Access::Load => {
                let index = self.pop();
                let addr = self.atomic_address(memarg, index, access);
                let v = self.builder.ins().atomic_load(access, flags, addr);
                let v = self.zero_extend_to(v, ty);
                self.push(v);
            }
            Access::Store => {
                let (index, value) = self.pop2();
                let addr = self.atomic_address(memarg, index, access);
                let value = self.narrow_to(value, access);
                self.builder.ins().atomic_store(flags, value, addr);
            }
            Access::Rmw(op) => {
                let (index, value) = self.pop2();
                let addr = self.atomic_address(memarg, index, access);
                let value = self.narrow_to(value, access);
                let old = self
                    .builder
                    .ins()
                    .atomic_rmw(access, flags, op, addr, value);
                let old = self.zero_extend_to(old, ty);
                self.push(old);
            }
            Access::Cmpxchg => {
                let (index, expected, replacement) = self.pop3();
                let addr = self.atomic_address(memarg, index, access);
                // The expected value is compared at the access width (wrapped), as the spec says.
                let expected = self.narrow_to(expected, access);
                let replacement = self.narrow_to(replacement, access);
                let old = self
                    .builder
                    .ins()
                    .atomic_cas(flags, addr, expected, replacement);
                let old = self.zero_extend_to(old, ty);
                self.push(old);
            }
        }
    }

    fn is_shared(&self, memory: u32) -> bool {
        self.env.module.memories[memory as usize].shared
    }

    /// `memory.atomic.notify`: the number of waiters woken.
    fn atomic_notify(&mut self, memarg: &MemArg) {
        let (index, count) = self.pop2();
        let addr = self.atomic_address(memarg, index, types::I32);
        let woken = if self.is_shared(memarg_memory(memarg)) {
            self.env
                .call_builtin(
                    &mut self.builder,
                    self.vmctx,
                    Builtin::MemoryAtomicNotify,
                    &[addr, count],
                )
                .expect("notify returns a count")
        } else {
            // Nobody can wait on an unshared memory.
            self.builder.ins().iconst(types::I32, 0)
        };
        self.push(woken);
    }

    /// `memory.atomic.wait32` (`access` I32) and `memory.atomic.wait64` (I64).
    fn atomic_wait(&mut self, memarg: &MemArg, access: Type) {
        let (index, expected, timeout) = self.pop3();
        let addr = self.atomic_address(memarg, index, access);
        let result = if self.is_shared(memarg_memory(memarg)) {
            let builtin = if access == types::I32 {
                Builtin::MemoryAtomicWait32
            } else {
                Builtin::MemoryAtomicWait64
            };
            self.env
                .call_builtin(
                    &mut self.builder,
                    self.vmctx,
                    builtin,
                    &[addr, expected, timeout],
                )
                .expect("wait returns a status")
        } else {
            // Waiting on an unshared memory traps (after the alignment and bounds checks). The trap is
            // conditional on a constant so that the block stays open for the operators that follow.
            let always = self.builder.ins().iconst(types::I32, 1);
            self.builder.ins().trapnz(
                always,
                crate::trap_code(wasmz_environ::TrapCode::UnsharedMemoryWait),
            );
            self.builder.ins().iconst(types::I32, 0)
        };
        self.push(result);
    }

    pub(super) fn translate_atomic(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        use Access::{Cmpxchg, Load, Rmw, Store};
        use AtomicRmwOp::{Add, And, Or, Sub, Xchg, Xor};
        use Operator as O;
        use types::{I8, I16, I32, I64};
        match op {
            O::AtomicFence { .. } => {
                self.builder.ins().fence();
            }
            O::MemoryAtomicNotify { memarg } => self.atomic_notify(memarg),
            O::MemoryAtomicWait32 { memarg } => self.atomic_wait(memarg, I32),
            O::MemoryAtomicWait64 { memarg } => self.atomic_wait(memarg, I64),

            O::I32AtomicLoad { memarg } => self.atomic(memarg, I32, I32, Load),
            O::I64AtomicLoad { memarg } => self.atomic(memarg, I64, I64, Load),
            O::I32AtomicLoad8U { memarg } => self.atomic(memarg, I32, I8, Load),
            O::I32AtomicLoad16U { memarg } => self.atomic(memarg, I32, I16, Load),
            O::I64AtomicLoad8U { memarg } => self.atomic(memarg, I64, I8, Load),
            O::I64AtomicLoad16U { memarg } => self.atomic(memarg, I64, I16, Load),
            O::I64AtomicLoad32U { memarg } => self.atomic(memarg, I64, I32, Load),

            O::I32AtomicStore { memarg } => self.atomic(memarg, I32, I32, Store),
            O::I64AtomicStore { memarg } => self.atomic(memarg, I64, I64, Store),
            O::I32AtomicStore8 { memarg } => self.atomic(memarg, I32, I8, Store),
            O::I32AtomicStore16 { memarg } => self.atomic(memarg, I32, I16, Store),
            O::I64AtomicStore8 { memarg } => self.atomic(memarg, I64, I8, Store),
            O::I64AtomicStore16 { memarg } => self.atomic(memarg, I64, I16, Store),
            O::I64AtomicStore32 { memarg } => self.atomic(memarg, I64, I32, Store),

            O::I32AtomicRmwAdd { memarg } => self.atomic(memarg, I32, I32, Rmw(Add)),
            O::I64AtomicRmwAdd { memarg } => self.atomic(memarg, I64, I64, Rmw(Add)),
            O::I32AtomicRmw8AddU { memarg } => self.atomic(memarg, I32, I8, Rmw(Add)),
            O::I32AtomicRmw16AddU { memarg } => self.atomic(memarg, I32, I16, Rmw(Add)),
            O::I64AtomicRmw8AddU { memarg } => self.atomic(memarg, I64, I8, Rmw(Add)),
            O::I64AtomicRmw16AddU { memarg } => self.atomic(memarg, I64, I16, Rmw(Add)),
            O::I64AtomicRmw32AddU { memarg } => self.atomic(memarg, I64, I32, Rmw(Add)),

            O::I32AtomicRmwSub { memarg } => self.atomic(memarg, I32, I32, Rmw(Sub)),
            O::I64AtomicRmwSub { memarg } => self.atomic(memarg, I64, I64, Rmw(Sub)),
            O::I32AtomicRmw8SubU { memarg } => self.atomic(memarg, I32, I8, Rmw(Sub)),
            O::I32AtomicRmw16SubU { memarg } => self.atomic(memarg, I32, I16, Rmw(Sub)),
            O::I64AtomicRmw8SubU { memarg } => self.atomic(memarg, I64, I8, Rmw(Sub)),
            O::I64AtomicRmw16SubU { memarg } => self.atomic(memarg, I64, I16, Rmw(Sub)),
            O::I64AtomicRmw32SubU { memarg } => self.atomic(memarg, I64, I32, Rmw(Sub)),

            O::I32AtomicRmwAnd { memarg } => self.atomic(memarg, I32, I32, Rmw(And)),
            O::I64AtomicRmwAnd { memarg } => self.atomic(memarg, I64, I64, Rmw(And)),
            O::I32AtomicRmw8AndU { memarg } => self.atomic(memarg, I32, I8, Rmw(And)),
            O::I32AtomicRmw16AndU { memarg } => self.atomic(memarg, I32, I16, Rmw(And)),
            O::I64AtomicRmw8AndU { memarg } => self.atomic(memarg, I64, I8, Rmw(And)),
            O::I64AtomicRmw16AndU { memarg } => self.atomic(memarg, I64, I16, Rmw(And)),
            O::I64AtomicRmw32AndU { memarg } => self.atomic(memarg, I64, I32, Rmw(And)),

            O::I32AtomicRmwOr { memarg } => self.atomic(memarg, I32, I32, Rmw(Or)),
            O::I64AtomicRmwOr { memarg } => self.atomic(memarg, I64, I64, Rmw(Or)),
            O::I32AtomicRmw8OrU { memarg } => self.atomic(memarg, I32, I8, Rmw(Or)),
            O::I32AtomicRmw16OrU { memarg } => self.atomic(memarg, I32, I16, Rmw(Or)),
            O::I64AtomicRmw8OrU { memarg } => self.atomic(memarg, I64, I8, Rmw(Or)),
            O::I64AtomicRmw16OrU { memarg } => self.atomic(memarg, I64, I16, Rmw(Or)),
            O::I64AtomicRmw32OrU { memarg } => self.atomic(memarg, I64, I32, Rmw(Or)),

            O::I32AtomicRmwXor { memarg } => self.atomic(memarg, I32, I32, Rmw(Xor)),
            O::I64AtomicRmwXor { memarg } => self.atomic(memarg, I64, I64, Rmw(Xor)),
            O::I32AtomicRmw8XorU { memarg } => self.atomic(memarg, I32, I8, Rmw(Xor)),
            O::I32AtomicRmw16XorU { memarg } => self.atomic(memarg, I32, I16, Rmw(Xor)),
            O::I64AtomicRmw8XorU { memarg } => self.atomic(memarg, I64, I8, Rmw(Xor)),
            O::I64AtomicRmw16XorU { memarg } => self.atomic(memarg, I64, I16, Rmw(Xor)),
            O::I64AtomicRmw32XorU { memarg } => self.atomic(memarg, I64, I32, Rmw(Xor)),

            O::I32AtomicRmwXchg { memarg } => self.atomic(memarg, I32, I32, Rmw(Xchg)),
            O::I64AtomicRmwXchg { memarg } => self.atomic(memarg, I64, I64, Rmw(Xchg)),
            O::I32AtomicRmw8XchgU { memarg } => self.atomic(memarg, I32, I8, Rmw(Xchg)),
            O::I32AtomicRmw16XchgU { memarg } => self.atomic(memarg, I32, I16, Rmw(Xchg)),
            O::I64AtomicRmw8XchgU { memarg } => self.atomic(memarg, I64, I8, Rmw(Xchg)),
            O::I64AtomicRmw16XchgU { memarg } => self.atomic(memarg, I64, I16, Rmw(Xchg)),
            O::I64AtomicRmw32XchgU { memarg } => self.atomic(memarg, I64, I32, Rmw(Xchg)),

            O::I32AtomicRmwCmpxchg { memarg } => self.atomic(memarg, I32, I32, Cmpxchg),
            O::I64AtomicRmwCmpxchg { memarg } => self.atomic(memarg, I64, I64, Cmpxchg),
            O::I32AtomicRmw8CmpxchgU { memarg } => self.atomic(memarg, I32, I8, Cmpxchg),
            O::I32AtomicRmw16CmpxchgU { memarg } => self.atomic(memarg, I32, I16, Cmpxchg),
            O::I64AtomicRmw8CmpxchgU { memarg } => self.atomic(memarg, I64, I8, Cmpxchg),
            O::I64AtomicRmw16CmpxchgU { memarg } => self.atomic(memarg, I64, I16, Cmpxchg),
            O::I64AtomicRmw32CmpxchgU { memarg } => self.atomic(memarg, I64, I32, Cmpxchg),

            _ => return Ok(false),
        }
        Ok(true)
    }
}
