//! GC objects: `struct.*` and `array.*` (allocation, field and element access, bulk operations).
//!
//! Objects are laid out as `wasmz_environ::gc_layout` describes (header, then struct fields or the
//! array length and elements). Allocation bumps the store's `gc_next` pointer inline and calls the
//! `GcAlloc` builtin (which may collect) when the current free run is used up; new objects are zero
//! apart from their header, so default values need no stores. The collector never moves objects, so
//! a reference stays valid across calls; the values holding references are declared for stack maps
//! so that the collector finds them.
//!
//! Null references trap with `NullReference`, element indices out of range with `ArrayOutOfBounds`;
//! segment ranges out of range trap like `memory.init` and `table.init`.

use super::FuncTranslator;
use crate::env::{POINTER, readonly, trusted};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I8X16, I32, I64};
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value};
use wasmparser::Operator;
use wasmz_environ::gc_layout::{ARRAY_ELEMENTS, ARRAY_LENGTH, OBJECT_ALIGN};
use wasmz_environ::vmoffsets::store_context;
use wasmz_environ::{Builtin, GcLayout, StorageKind, TrapCode, VMOffsets, ValType, WasmResult};

/// Flags of object field accesses: never trapping (the reference was checked), not necessarily
/// naturally aligned (a v128 field is only 8-aligned).
fn field_flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// The Cranelift type a field of `kind` is read as (packed fields widen to i32).
fn value_type(kind: StorageKind) -> ir::Type {
    match kind {
        StorageKind::I8 | StorageKind::I16 | StorageKind::I32 => I32,
        StorageKind::I64 | StorageKind::GcRef | StorageKind::OtherRef => I64,
        StorageKind::F32 => ir::types::F32,
        StorageKind::F64 => ir::types::F64,
        StorageKind::V128 => I8X16,
    }
}

impl FuncTranslator<'_, '_> {
    pub(super) fn translate_gc_objects(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        match *op {
            Operator::StructNew { struct_type_index } => self.struct_new(struct_type_index, false),
            Operator::StructNewDefault { struct_type_index } => {
                self.struct_new(struct_type_index, true)
            }
            Operator::StructGet {
                struct_type_index,
                field_index,
            } => self.struct_get(struct_type_index, field_index, false),
            Operator::StructGetS {
                struct_type_index,
                field_index,
            } => self.struct_get(struct_type_index, field_index, true),
            Operator::StructGetU {
                struct_type_index,
                field_index,
            } => self.struct_get(struct_type_index, field_index, false),
            Operator::StructSet {
                struct_type_index,
                field_index,
            } => {
                let (obj, value) = self.pop2();
                self.null_check(obj);
                let (offset, kind) = self.struct_field(struct_type_index, field_index);
                self.store_field(kind, value, obj, offset);
            }
            Operator::ArrayNew { array_type_index } => {
                let (init, len) = self.pop2();
                let kind = self.array_elem(array_type_index);
                let obj = self.array_alloc(array_type_index, len);
                let start = self
                    .builder
                    .ins()
                    .iadd_imm_s(obj, i64::from(ARRAY_ELEMENTS));
                let count = self.builder.ins().uextend(I64, len);
                self.fill(start, count, kind, init);
                self.push(obj);
            }
            Operator::ArrayNewDefault { array_type_index } => {
                let len = self.pop();
                let obj = self.array_alloc(array_type_index, len);
                self.push(obj);
            }
            Operator::ArrayNewFixed {
                array_type_index,
                array_size,
            } => {
                let values = self.popn(array_size as usize);
                let kind = self.array_elem(array_type_index);
                let len = self.builder.ins().iconst(I32, i64::from(array_size));
                let obj = self.array_alloc(array_type_index, len);
                for (i, v) in values.into_iter().enumerate() {
                    let offset = ARRAY_ELEMENTS as usize + i * kind.size() as usize;
                    self.store_field(kind, v, obj, offset as i32);
                }
                self.push(obj);
            }
            Operator::ArrayNewData {
                array_type_index,
                array_data_index,
            } => {
                let (src, len) = self.pop2();
                let kind = self.array_elem(array_type_index);
                // The segment's range is checked before allocating, then copied.
                let null = self.builder.ins().iconst(POINTER, 0);
                self.init_from_data(null, array_data_index, src, len, kind);
                let obj = self.array_alloc(array_type_index, len);
                let start = self
                    .builder
                    .ins()
                    .iadd_imm_s(obj, i64::from(ARRAY_ELEMENTS));
                self.init_from_data(start, array_data_index, src, len, kind);
                self.push(obj);
            }
            Operator::ArrayNewElem {
                array_type_index,
                array_elem_index,
            } => {
                let (src, len) = self.pop2();
                let null = self.builder.ins().iconst(POINTER, 0);
                self.init_from_elem(null, array_elem_index, src, len);
                let obj = self.array_alloc(array_type_index, len);
                let start = self
                    .builder
                    .ins()
                    .iadd_imm_s(obj, i64::from(ARRAY_ELEMENTS));
                self.init_from_elem(start, array_elem_index, src, len);
                self.push(obj);
            }
            Operator::ArrayGet { array_type_index } | Operator::ArrayGetU { array_type_index } => {
                self.array_get(array_type_index, false)
            }
            Operator::ArrayGetS { array_type_index } => self.array_get(array_type_index, true),
            Operator::ArraySet { array_type_index } => {
                let (obj, index, value) = self.pop3();
                let kind = self.array_elem(array_type_index);
                let addr = self.element_addr(obj, index, kind);
                self.store_field(kind, value, addr, 0);
            }
            Operator::ArrayLen => {
                let obj = self.pop();
                self.null_check(obj);
                let len = self.array_len(obj);
                self.push(len);
            }
            Operator::ArrayFill { array_type_index } => {
                let (obj, index, value, len) = {
                    let len = self.pop();
                    let (obj, index, value) = self.pop3();
                    (obj, index, value, len)
                };
                let kind = self.array_elem(array_type_index);
                let start = self.range_addr(obj, index, len, kind);
                let count = self.builder.ins().uextend(I64, len);
                self.fill(start, count, kind, value);
            }
            Operator::ArrayCopy {
                array_type_index_dst,
                array_type_index_src: _,
            } => {
                let len = self.pop();
                let (src, src_index) = self.pop2();
                let (dst, dst_index) = self.pop2();
                let kind = self.array_elem(array_type_index_dst);
                let to = self.range_addr(dst, dst_index, len, kind);
                let from = self.range_addr(src, src_index, len, kind);
                let count = self.builder.ins().uextend(I64, len);
                let bytes = self.builder.ins().imul_imm_s(count, i64::from(kind.size()));
                self.env.call_builtin(
                    &mut self.builder,
                    self.vmctx,
                    Builtin::GcCopy,
                    &[to, from, bytes],
                );
            }
            Operator::ArrayInitData {
                array_type_index,
                array_data_index,
            } => {
                let (src, len) = self.pop2();
                let (obj, dst) = self.pop2();
                let kind = self.array_elem(array_type_index);
                let start = self.range_addr(obj, dst, len, kind);
                self.init_from_data(start, array_data_index, src, len, kind);
            }
            Operator::ArrayInitElem {
                array_type_index,
                array_elem_index,
            } => {
                let (src, len) = self.pop2();
                let (obj, dst) = self.pop2();
                let kind = self.array_elem(array_type_index);
                let start = self.range_addr(obj, dst, len, kind);
                self.init_from_elem(start, array_elem_index, src, len);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn struct_layout(&self, type_index: u32) -> (u32, Vec<(i32, StorageKind)>) {
        match self.env.module.gc_layout(type_index) {
            Some(GcLayout::Struct { size, fields }) => (
                size,
                fields.iter().map(|f| (f.offset as i32, f.kind)).collect(),
            ),
            _ => unreachable!("validation guarantees a struct type"),
        }
    }

    fn struct_field(&self, type_index: u32, field: u32) -> (i32, StorageKind) {
        self.struct_layout(type_index).1[field as usize]
    }

    fn array_elem(&self, type_index: u32) -> StorageKind {
        match self.env.module.gc_layout(type_index) {
            Some(GcLayout::Array { elem }) => elem,
            _ => unreachable!("validation guarantees an array type"),
        }
    }

    /// The wasm type of field `field` of struct type `type_index` (for stack maps).
    fn field_val_type(&self, kind: StorageKind, wasm: Option<ValType>) -> Option<ValType> {
        (kind == StorageKind::GcRef).then_some(wasm).flatten()
    }

    fn struct_new(&mut self, type_index: u32, default: bool) {
        let (size, fields) = self.struct_layout(type_index);
        let values = if default {
            Vec::new()
        } else {
            self.popn(fields.len())
        };
        let size = self.builder.ins().iconst(I64, i64::from(size));
        let obj = self.alloc(type_index, size);
        for ((offset, kind), v) in fields.into_iter().zip(values) {
            self.store_field(kind, v, obj, offset);
        }
        self.push(obj);
    }

    fn struct_get(&mut self, type_index: u32, field: u32, signed: bool) {
        let obj = self.pop();
        self.null_check(obj);
        let (offset, kind) = self.struct_field(type_index, field);
        let v = self.load_field(kind, obj, offset, signed);
        let wasm = self.env.module.types[type_index as usize]
            .as_struct()
            .map(|s| s.fields[field as usize].storage.unpacked());
        if let Some(ty) = self.field_val_type(kind, wasm) {
            self.track_ref(v, ty);
        }
        self.push(v);
    }

    fn array_get(&mut self, type_index: u32, signed: bool) {
        let (obj, index) = self.pop2();
        let kind = self.array_elem(type_index);
        let addr = self.element_addr(obj, index, kind);
        let v = self.load_field(kind, addr, 0, signed);
        let wasm = self.env.module.types[type_index as usize]
            .as_array()
            .map(|a| a.element.storage.unpacked());
        if let Some(ty) = self.field_val_type(kind, wasm) {
            self.track_ref(v, ty);
        }
        self.push(v);
    }

    /// Traps with `NullReference` when `obj` is null.
    fn null_check(&mut self, obj: Value) {
        self.builder
            .ins()
            .trapz(obj, crate::trap_code(TrapCode::NullReference));
    }

    fn array_len(&mut self, obj: Value) -> Value {
        self.builder
            .ins()
            .load(I32, field_flags(), obj, ARRAY_LENGTH as i32)
    }

    /// The address of element `index` of the array `obj`, after the null and bounds checks.
    fn element_addr(&mut self, obj: Value, index: Value, kind: StorageKind) -> Value {
        self.null_check(obj);
        let len = self.array_len(obj);
        let out = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        let addr = self.scaled_addr(obj, index, kind);
        self.guard_bounds(out, crate::trap_code(TrapCode::ArrayOutOfBounds), addr)
    }

    /// The address of element `index` of the array `obj`, after checking that the `len` elements from
    /// there are in range (and `obj` is not null).
    fn range_addr(&mut self, obj: Value, index: Value, len: Value, kind: StorageKind) -> Value {
        self.null_check(obj);
        let size = self.array_len(obj);
        let size = self.builder.ins().uextend(I64, size);
        let i = self.builder.ins().uextend(I64, index);
        let n = self.builder.ins().uextend(I64, len);
        let end = self.builder.ins().iadd(i, n);
        let out = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, end, size);
        let addr = self.scaled_addr(obj, index, kind);
        self.guard_bounds(out, crate::trap_code(TrapCode::ArrayOutOfBounds), addr)
    }

    fn scaled_addr(&mut self, obj: Value, index: Value, kind: StorageKind) -> Value {
        let i = self.builder.ins().uextend(I64, index);
        let scaled = self.builder.ins().imul_imm_s(i, i64::from(kind.size()));
        let addr = self.builder.ins().iadd(obj, scaled);
        self.builder
            .ins()
            .iadd_imm_s(addr, i64::from(ARRAY_ELEMENTS))
    }

    fn load_field(&mut self, kind: StorageKind, addr: Value, offset: i32, signed: bool) -> Value {
        let flags = field_flags();
        let ins = self.builder.ins();
        match kind {
            StorageKind::I8 if signed => ins.sload8(I32, flags, addr, offset),
            StorageKind::I8 => ins.uload8(I32, flags, addr, offset),
            StorageKind::I16 if signed => ins.sload16(I32, flags, addr, offset),
            StorageKind::I16 => ins.uload16(I32, flags, addr, offset),
            other => ins.load(value_type(other), flags, addr, offset),
        }
    }

    fn store_field(&mut self, kind: StorageKind, value: Value, addr: Value, offset: i32) {
        let flags = field_flags();
        let ins = self.builder.ins();
        match kind {
            StorageKind::I8 => ins.istore8(flags, value, addr, offset),
            StorageKind::I16 => ins.istore16(flags, value, addr, offset),
            _ => ins.store(flags, value, addr, offset),
        };
    }

    /// Stores `value` into the `count` (i64) consecutive elements of `kind` from `start`.
    fn fill(&mut self, start: Value, count: Value, kind: StorageKind, value: Value) {
        let header = self.builder.create_block();
        let body = self.builder.create_block();
        let done = self.builder.create_block();
        let i = self.builder.append_block_param(header, I64);
        let zero = self.builder.ins().iconst(I64, 0);
        self.builder.ins().jump(header, &super::block_args(&[zero]));
        self.builder.switch_to_block(header);
        let finished = self.builder.ins().icmp(IntCC::Equal, i, count);
        self.builder.ins().brif(finished, done, &[], body, &[]);
        self.builder.seal_block(body);
        self.builder.switch_to_block(body);
        let scaled = self.builder.ins().imul_imm_s(i, i64::from(kind.size()));
        let addr = self.builder.ins().iadd(start, scaled);
        self.store_field(kind, value, addr, 0);
        let next = self.builder.ins().iadd_imm_s(i, 1);
        self.builder.ins().jump(header, &super::block_args(&[next]));
        self.builder.seal_block(header);
        self.builder.switch_to_block(done);
        self.builder.seal_block(done);
    }

    /// Copies `len` elements of `kind` from data segment `data` at byte `src` to `dst` (checking the
    /// segment's range only when `dst` is null).
    fn init_from_data(&mut self, dst: Value, data: u32, src: Value, len: Value, kind: StorageKind) {
        let data = self.builder.ins().iconst(I32, i64::from(data));
        let size = self.builder.ins().iconst(I32, i64::from(kind.size()));
        self.env.call_checked_builtin(
            &mut self.builder,
            self.vmctx,
            Builtin::ArrayInitData,
            &[dst, data, src, len, size],
            TrapCode::MemoryOutOfBounds,
        );
    }

    /// Copies `len` references from element segment `elem` at `src` to `dst` (checking the segment's
    /// range only when `dst` is null).
    fn init_from_elem(&mut self, dst: Value, elem: u32, src: Value, len: Value) {
        let elem = self.builder.ins().iconst(I32, i64::from(elem));
        self.env.call_checked_builtin(
            &mut self.builder,
            self.vmctx,
            Builtin::ArrayInitElem,
            &[dst, elem, src, len],
            TrapCode::TableOutOfBounds,
        );
    }

    /// Allocates an array of type `type_index` with `len` (i32) elements, zeroed.
    fn array_alloc(&mut self, type_index: u32, len: Value) -> Value {
        let kind = self.array_elem(type_index);
        let n = self.builder.ins().uextend(I64, len);
        let bytes = self.builder.ins().imul_imm_s(n, i64::from(kind.size()));
        let align = i64::from(OBJECT_ALIGN);
        let padded = self
            .builder
            .ins()
            .iadd_imm_s(bytes, i64::from(ARRAY_ELEMENTS) + align - 1);
        let size = self.builder.ins().band_imm_s(padded, !(align - 1));
        let obj = self.alloc(type_index, size);
        self.builder
            .ins()
            .store(field_flags(), len, obj, ARRAY_LENGTH as i32);
        obj
    }

    /// Allocates an object of type `type_index` taking `size` (i64, a multiple of 8) bytes: bumps the
    /// store's allocation pointer, or calls `GcAlloc` when the current free run is too small. Traps
    /// with `OutOfMemory` when the heap is exhausted.
    fn alloc(&mut self, type_index: u32, size: Value) -> Value {
        let type_id = self.builder.ins().load(
            I32,
            readonly(),
            self.vmctx,
            self.env.offsets.type_id(type_index) as i32,
        );
        let ctx = self.builder.ins().load(
            POINTER,
            readonly(),
            self.vmctx,
            VMOffsets::STORE_CONTEXT as i32,
        );
        let next = self
            .builder
            .ins()
            .load(POINTER, trusted(), ctx, store_context::GC_NEXT as i32);
        let limit =
            self.builder
                .ins()
                .load(POINTER, trusted(), ctx, store_context::GC_LIMIT as i32);
        let end = self.builder.ins().iadd(next, size);
        // An overflowing sum (a huge array) is caught by `end < next`.
        let wrapped = self.builder.ins().icmp(IntCC::UnsignedLessThan, end, next);
        let over = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, end, limit);
        let slow_needed = self.builder.ins().bor(wrapped, over);
        let fast = self.builder.create_block();
        let slow = self.builder.create_block();
        let cont = self.builder.create_block();
        let obj = self.builder.append_block_param(cont, POINTER);
        self.builder.set_cold_block(slow);
        self.builder.ins().brif(slow_needed, slow, &[], fast, &[]);
        self.builder.seal_block(fast);
        self.builder.seal_block(slow);

        self.builder.switch_to_block(fast);
        self.builder
            .ins()
            .store(trusted(), end, ctx, store_context::GC_NEXT as i32);
        self.builder.ins().store(trusted(), type_id, next, 0);
        // The collector's word: the size in words shifted left by one (mark bit clear).
        let word = self.builder.ins().ushr_imm_u(size, 2);
        let word = self.builder.ins().ireduce(I32, word);
        self.builder.ins().store(trusted(), word, next, 4);
        self.builder.ins().jump(cont, &super::block_args(&[next]));

        self.builder.switch_to_block(slow);
        let addr = self
            .env
            .call_builtin(
                &mut self.builder,
                self.vmctx,
                Builtin::GcAlloc,
                &[type_id, size],
            )
            .expect("GcAlloc returns the object");
        self.builder
            .ins()
            .trapz(addr, crate::trap_code(TrapCode::OutOfMemory));
        self.builder.ins().jump(cont, &super::block_args(&[addr]));

        self.builder.switch_to_block(cont);
        self.builder.seal_block(cont);
        self.builder.declare_value_needs_stack_map(obj);
        obj
    }
}
