//! The builtins compiled code calls (see `wasmz_environ::builtins` for the list and signatures).
//!
//! Each takes the calling instance's vmctx first. Builtins that can fail return a trap code (0 = ok)
//! instead of unwinding, except `raise_trap`, which is the one place that unwinds, and is only ever
//! called directly by compiled code.

use crate::host::{Caller, HostFunc};
use crate::instance::Instance;
use crate::traphandlers::{record_trap, set_trap_message, unwind};
use crate::values::RawVal;
use crate::vmcontext::{VMContext, VMFuncRef};
use std::cell::RefCell;
use std::sync::OnceLock;
use wasmz_environ::{Builtin, TrapCode};

/// The builtins table every vmctx points at.
pub(crate) fn builtins_table() -> *const usize {
    static TABLE: OnceLock<Vec<usize>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            Builtin::ALL
                .iter()
                .map(|b| match b {
                    Builtin::MemoryGrow => memory_grow as *const () as usize,
                    Builtin::MemoryFill => memory_fill as *const () as usize,
                    Builtin::MemoryCopy => memory_copy as *const () as usize,
                    Builtin::MemoryInit => memory_init as *const () as usize,
                    Builtin::DataDrop => data_drop as *const () as usize,
                    Builtin::TableGrow => table_grow as *const () as usize,
                    Builtin::TableFill => table_fill as *const () as usize,
                    Builtin::TableCopy => table_copy as *const () as usize,
                    Builtin::TableInit => table_init as *const () as usize,
                    Builtin::ElemDrop => elem_drop as *const () as usize,
                    Builtin::HostCall => host_call as *const () as usize,
                    Builtin::RaiseTrap => raise_trap as *const () as usize,
                    Builtin::MemoryAtomicNotify => memory_atomic_notify as *const () as usize,
                    Builtin::MemoryAtomicWait32 => memory_atomic_wait32 as *const () as usize,
                    Builtin::MemoryAtomicWait64 => memory_atomic_wait64 as *const () as usize,
                    Builtin::LazyCompile => lazy_compile as *const () as usize,
                    Builtin::ExnNew => exn_new as *const () as usize,
                    Builtin::Throw => throw as *const () as usize,
                    Builtin::ExnFree => exn_free as *const () as usize,
                    Builtin::GcAlloc => gc_alloc as *const () as usize,
                    Builtin::ArrayInitData => array_init_data as *const () as usize,
                    Builtin::ArrayInitElem => array_init_elem as *const () as usize,
                    Builtin::GcCopy => gc_copy as *const () as usize,
                    Builtin::TypeMatches => type_matches as *const () as usize,
                    Builtin::EpochDeadline => epoch_deadline as *const () as usize,
                })
                .collect()
        })
        .as_ptr()
}

/// Defines a builtin `$name(vmctx, args...) -> r` (two or three arguments after the vmctx) as a naked
/// function that calls `$inner(vmctx, args..., fp, pc)` with the caller's frame pointer and return
/// address (a tail jump: at entry both still describe the calling compiled frame). `$inner` records
/// them as the exit frame (see [`crate::gc::stack::ExitFrame`]) around whatever may collect or run
/// user code, so that a collection finds the references of the suspended wasm frames.
macro_rules! with_exit_frame {
    ($(#[$doc:meta])* $name:ident($a:ident: $ta:ty, $b:ident: $tb:ty) -> $r:ty = $inner:ident) => {
        with_exit_frame!(@shim $(#[$doc])* $name($a: $ta, $b: $tb) -> $r = $inner;
            x86_64("rcx", "r8"), aarch64("x3", "x4"));
    };
    ($(#[$doc:meta])* $name:ident($a:ident: $ta:ty, $b:ident: $tb:ty, $c:ident: $tc:ty) -> $r:ty
        = $inner:ident) => {
        with_exit_frame!(@shim $(#[$doc])* $name($a: $ta, $b: $tb, $c: $tc) -> $r = $inner;
            x86_64("r8", "r9"), aarch64("x4", "x5"));
    };
    // `$fp*`/`$pc*`: the argument registers after the builtin's own arguments.
    (@shim $(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) -> $r:ty = $inner:ident;
        x86_64($fp86:literal, $pc86:literal), aarch64($fpa:literal, $pca:literal)) => {
        $(#[$doc])*
        #[cfg(target_arch = "x86_64")]
        #[unsafe(naked)]
        extern "C" fn $name(_vmctx: *mut VMContext, $($arg: $ty),*) -> $r {
            // The frame pointer (rbp) becomes the argument after the builtin's own, the return address
            // at [rsp] the next one.
            core::arch::naked_asm!(
                concat!("mov ", $fp86, ", rbp"),
                concat!("mov ", $pc86, ", [rsp]"),
                "jmp {}",
                sym $inner,
            )
        }

        $(#[$doc])*
        #[cfg(target_arch = "aarch64")]
        #[unsafe(naked)]
        extern "C" fn $name(_vmctx: *mut VMContext, $($arg: $ty),*) -> $r {
            // The frame pointer (x29) becomes the argument after the builtin's own, the link register
            // the next one.
            core::arch::naked_asm!(
                concat!("mov ", $fpa, ", x29"),
                concat!("mov ", $pca, ", x30"),
                "b {}",
                sym $inner,
            )
        }
    };
}

/// The instance calling a builtin.
fn instance<'a>(vmctx: *mut VMContext) -> &'a Instance {
    // SAFETY: builtins are only called by compiled code, which passes its own live vmctx.
    unsafe { Instance::from_vmctx(vmctx) }
}

fn status(ok: bool, code: TrapCode) -> u32 {
    if ok { 0 } else { u32::from(code.to_u8()) }
}

/// Asks the store's epoch-deadline callback (which may move the deadline; the compiled code compares
/// again afterwards). The callback is user code, which may collect or call wasm: the calling frame
/// (frame pointer `fp`, return address `pc`) is recorded as the exit frame meanwhile.
extern "C" fn epoch_deadline_from(vmctx: *mut VMContext, fp: usize, pc: usize) {
    let store = instance(vmctx).store;
    crate::gc::stack::ExitFrame::record(fp, pc, || {
        // SAFETY: the store outlives its instances' calls, and compiled code holds no reference into
        // it while it waits for a builtin.
        unsafe { (*store).on_epoch_deadline() };
    });
}

/// Defines `$name` as `$inner` behind a shim that saves and restores every register the C convention
/// lets `$inner` clobber (general and full vector registers), as the preserve-all convention compiled
/// code calls it with requires. Such a builtin has no result (Cranelift's preserve-all convention
/// allows none): it answers through memory.
///
/// With `with exit frame` (for a builtin whose only argument is the vmctx), `$inner` also gets the
/// calling compiled frame's frame pointer and return address as its second and third arguments, to
/// record them as the exit frame (see [`with_exit_frame`]).
macro_rules! preserve_all {
    ($(#[$doc:meta])* $name:ident($vmctx:ident: $ty:ty) = $inner:ident, with exit frame $(,)?) => {
        // The shim's frame record (at its frame pointer) holds the caller's frame pointer and the
        // return address into the caller.
        preserve_all!(@shim $(#[$doc])* $name($vmctx: $ty) = $inner;
            x86_64("mov rsi, [rbp]", "mov rdx, [rbp + 8]"), aarch64("ldp x1, x2, [x29]"));
    };
    ($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) = $inner:ident $(,)?) => {
        preserve_all!(@shim $(#[$doc])* $name($($arg: $ty),*) = $inner; x86_64(), aarch64());
    };
    // `$x86`/`$a64`: instructions run just before the call of `$inner`, after every register was saved.
    (@shim $(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) = $inner:ident;
        x86_64($($x86:literal),*), aarch64($($a64:literal),*)) => {
        $(#[$doc])*
        #[cfg(target_arch = "x86_64")]
        #[unsafe(naked)]
        extern "C" fn $name($($arg: $ty),*) {
            core::arch::naked_asm!(
                "push rbp",
                "mov rbp, rsp",
                "push rax", "push rcx", "push rdx", "push rsi", "push rdi",
                "push r8", "push r9", "push r10", "push r11",
                // 9 pushes after rbp leave rsp 8 bytes off 16-byte alignment: 256 bytes of vectors + 8.
                "sub rsp, 264",
                "movdqu [rsp + 0], xmm0", "movdqu [rsp + 16], xmm1", "movdqu [rsp + 32], xmm2",
                "movdqu [rsp + 48], xmm3", "movdqu [rsp + 64], xmm4", "movdqu [rsp + 80], xmm5",
                "movdqu [rsp + 96], xmm6", "movdqu [rsp + 112], xmm7", "movdqu [rsp + 128], xmm8",
                "movdqu [rsp + 144], xmm9", "movdqu [rsp + 160], xmm10", "movdqu [rsp + 176], xmm11",
                "movdqu [rsp + 192], xmm12", "movdqu [rsp + 208], xmm13", "movdqu [rsp + 224], xmm14",
                "movdqu [rsp + 240], xmm15",
                $($x86,)*
                "call {inner}",
                "movdqu xmm0, [rsp + 0]", "movdqu xmm1, [rsp + 16]", "movdqu xmm2, [rsp + 32]",
                "movdqu xmm3, [rsp + 48]", "movdqu xmm4, [rsp + 64]", "movdqu xmm5, [rsp + 80]",
                "movdqu xmm6, [rsp + 96]", "movdqu xmm7, [rsp + 112]", "movdqu xmm8, [rsp + 128]",
                "movdqu xmm9, [rsp + 144]", "movdqu xmm10, [rsp + 160]", "movdqu xmm11, [rsp + 176]",
                "movdqu xmm12, [rsp + 192]", "movdqu xmm13, [rsp + 208]", "movdqu xmm14, [rsp + 224]",
                "movdqu xmm15, [rsp + 240]",
                "add rsp, 264",
                "pop r11", "pop r10", "pop r9", "pop r8",
                "pop rdi", "pop rsi", "pop rdx", "pop rcx", "pop rax",
                "pop rbp",
                "ret",
                inner = sym $inner,
            )
        }

        $(#[$doc])*
        ///
        /// On aarch64 x0–x18 and the full q0–q31 are saved around the Rust function.
        #[cfg(target_arch = "aarch64")]
        #[unsafe(naked)]
        extern "C" fn $name($($arg: $ty),*) {
            core::arch::naked_asm!(
                "stp x29, x30, [sp, #-16]!",
                "mov x29, sp",
                "sub sp, sp, #672",
                "stp x0, x1, [sp, #0]", "stp x2, x3, [sp, #16]", "stp x4, x5, [sp, #32]",
                "stp x6, x7, [sp, #48]", "stp x8, x9, [sp, #64]", "stp x10, x11, [sp, #80]",
                "stp x12, x13, [sp, #96]", "stp x14, x15, [sp, #112]", "stp x16, x17, [sp, #128]",
                "str x18, [sp, #144]",
                "stp q0, q1, [sp, #160]", "stp q2, q3, [sp, #192]", "stp q4, q5, [sp, #224]",
                "stp q6, q7, [sp, #256]", "stp q8, q9, [sp, #288]", "stp q10, q11, [sp, #320]",
                "stp q12, q13, [sp, #352]", "stp q14, q15, [sp, #384]", "stp q16, q17, [sp, #416]",
                "stp q18, q19, [sp, #448]", "stp q20, q21, [sp, #480]", "stp q22, q23, [sp, #512]",
                "stp q24, q25, [sp, #544]", "stp q26, q27, [sp, #576]", "stp q28, q29, [sp, #608]",
                "stp q30, q31, [sp, #640]",
                $($a64,)*
                "bl {inner}",
                "ldp q0, q1, [sp, #160]", "ldp q2, q3, [sp, #192]", "ldp q4, q5, [sp, #224]",
                "ldp q6, q7, [sp, #256]", "ldp q8, q9, [sp, #288]", "ldp q10, q11, [sp, #320]",
                "ldp q12, q13, [sp, #352]", "ldp q14, q15, [sp, #384]", "ldp q16, q17, [sp, #416]",
                "ldp q18, q19, [sp, #448]", "ldp q20, q21, [sp, #480]", "ldp q22, q23, [sp, #512]",
                "ldp q24, q25, [sp, #544]", "ldp q26, q27, [sp, #576]", "ldp q28, q29, [sp, #608]",
                "ldp q30, q31, [sp, #640]",
                "ldp x0, x1, [sp, #0]", "ldp x2, x3, [sp, #16]", "ldp x4, x5, [sp, #32]",
                "ldp x6, x7, [sp, #48]", "ldp x8, x9, [sp, #64]", "ldp x10, x11, [sp, #80]",
                "ldp x12, x13, [sp, #96]", "ldp x14, x15, [sp, #112]", "ldp x16, x17, [sp, #128]",
                "ldr x18, [sp, #144]",
                "add sp, sp, #672",
                "ldp x29, x30, [sp], #16",
                "ret",
                inner = sym $inner,
            )
        }
    };
}

preserve_all! {
    /// [`epoch_deadline_from`] with the preserve-all convention.
    epoch_deadline(_vmctx: *mut VMContext) = epoch_deadline_from, with exit frame,
}

with_exit_frame!(
    /// The `MemoryGrow` builtin: the store's limiter, user code, decides on the growth.
    memory_grow(memory: u32, delta: u64) -> u64 = memory_grow_from
);

extern "C" fn memory_grow_from(
    vmctx: *mut VMContext,
    memory: u32,
    delta: u64,
    fp: usize,
    pc: usize,
) -> u64 {
    let Some(memory) = instance(vmctx).memory(memory) else {
        return u64::MAX;
    };
    crate::gc::stack::ExitFrame::record(fp, pc, || memory.grow(delta).unwrap_or(u64::MAX))
}

extern "C" fn memory_fill(
    vmctx: *mut VMContext,
    memory: u32,
    dst: u64,
    value: u32,
    len: u64,
) -> u32 {
    let Some(memory) = instance(vmctx).memory(memory) else {
        return status(false, TrapCode::MemoryOutOfBounds);
    };
    status(
        memory.fill(dst, value as u8, len).is_ok(),
        TrapCode::MemoryOutOfBounds,
    )
}

extern "C" fn memory_copy(
    vmctx: *mut VMContext,
    dst_mem: u32,
    src_mem: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    let inst = instance(vmctx);
    let (Some(d), Some(s)) = (inst.memory(dst_mem), inst.memory(src_mem)) else {
        return status(false, TrapCode::MemoryOutOfBounds);
    };
    status(
        d.copy_from(s, dst, src, len).is_ok(),
        TrapCode::MemoryOutOfBounds,
    )
}

extern "C" fn memory_init(
    vmctx: *mut VMContext,
    memory: u32,
    data: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> u32 {
    let inst = instance(vmctx);
    let bytes = inst.data_segment(data);
    let Some(chunk) = (src as usize)
        .checked_add(len as usize)
        .and_then(|end| bytes.get(src as usize..end))
    else {
        return status(false, TrapCode::MemoryOutOfBounds);
    };
    let Some(memory) = inst.memory(memory) else {
        return status(false, TrapCode::MemoryOutOfBounds);
    };
    status(
        memory.write(dst, chunk).is_ok(),
        TrapCode::MemoryOutOfBounds,
    )
}

extern "C" fn data_drop(vmctx: *mut VMContext, data: u32) {
    instance(vmctx).drop_data(data);
}

with_exit_frame!(
    /// The `TableGrow` builtin: the store's limiter, user code, decides on the growth.
    table_grow(table: u32, init: u64, delta: u64) -> u64 = table_grow_from
);

extern "C" fn table_grow_from(
    vmctx: *mut VMContext,
    table: u32,
    init: u64,
    delta: u64,
    fp: usize,
    pc: usize,
) -> u64 {
    let inst = instance(vmctx);
    let Some(table) = inst.table(table) else {
        return u64::MAX;
    };
    // The new elements' value is only an argument here, in no stack map: it is rooted while the
    // limiter may collect. (The root ignores words that are no GC objects: null, i31, functions.)
    // SAFETY: as in `exn_new`; the reference to the store ends with this statement.
    let _init = unsafe { &*inst.store }.root(init);
    crate::gc::stack::ExitFrame::record(fp, pc, || table.grow(delta, init).unwrap_or(u64::MAX))
}

extern "C" fn table_fill(vmctx: *mut VMContext, table: u32, dst: u64, value: u64, len: u64) -> u32 {
    let Some(table) = instance(vmctx).table(table) else {
        return status(false, TrapCode::TableOutOfBounds);
    };
    status(
        table.fill(dst, value, len).is_some(),
        TrapCode::TableOutOfBounds,
    )
}

extern "C" fn table_copy(
    vmctx: *mut VMContext,
    dst_t: u32,
    src_t: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    let inst = instance(vmctx);
    let (Some(d), Some(s)) = (inst.table(dst_t), inst.table(src_t)) else {
        return status(false, TrapCode::TableOutOfBounds);
    };
    status(
        d.copy_from(s, dst, src, len).is_some(),
        TrapCode::TableOutOfBounds,
    )
}

extern "C" fn table_init(
    vmctx: *mut VMContext,
    table: u32,
    elem: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> u32 {
    let inst = instance(vmctx);
    let values = inst.elem_segment(elem).map(RefCell::borrow);
    let Some(chunk) = (src as usize).checked_add(len as usize).and_then(|end| {
        values
            .as_deref()
            .map_or(&[][..], Vec::as_slice)
            .get(src as usize..end)
    }) else {
        return status(false, TrapCode::TableOutOfBounds);
    };
    let Some(table) = inst.table(table) else {
        return status(false, TrapCode::TableOutOfBounds);
    };
    status(table.init(dst, chunk).is_some(), TrapCode::TableOutOfBounds)
}

extern "C" fn elem_drop(vmctx: *mut VMContext, elem: u32) {
    if let Some(values) = instance(vmctx).elem_segment(elem) {
        values.borrow_mut().clear();
    }
}

/// Most results a host function writes into a buffer on the stack; more go to the heap.
const INLINE_RESULTS: usize = 4;

with_exit_frame!(
    /// The `HostCall` builtin: records the calling trampoline's frame as an exit frame, so that a
    /// collection during the host call finds the wasm frames below it.
    host_call(func: *const HostFunc, values: *mut RawVal) -> u32 = host_call_from
);

extern "C" fn host_call_from(
    vmctx: *mut VMContext,
    func: *const HostFunc,
    values: *mut RawVal,
    fp: usize,
    pc: usize,
) -> u32 {
    crate::gc::stack::ExitFrame::record(fp, pc, || host_call_inner(vmctx, func, values))
}

fn host_call_inner(vmctx: *mut VMContext, func: *const HostFunc, values: *mut RawVal) -> u32 {
    // SAFETY: `func` is the host-function context stored in the funcref by instantiation; host functions
    // live as long as their store.
    let func = unsafe { &*func };
    let (np, nr) = (func.ty.params.len(), func.ty.results.len());
    // SAFETY: the host trampoline passes a buffer of max(params, results) 16-byte slots, whose first
    // `np` hold the arguments.
    let slots = unsafe { std::slice::from_raw_parts_mut(values, np.max(nr)) };
    // The results go to the same slots as the arguments, so the function writes them into a buffer of
    // their own, copied over the arguments once it returns; the arguments are read in place.
    let mut inline = [RawVal::default(); INLINE_RESULTS];
    let mut heap = Vec::new();
    let results: &mut [RawVal] = if nr <= INLINE_RESULTS {
        &mut inline[..nr]
    } else {
        heap.resize(nr, RawVal::default());
        &mut heap
    };
    let params: &[RawVal] = &slots[..np];
    let inst = instance(vmctx);
    let mut caller = Caller {
        instance: inst,
        store: inst.store,
    };
    match crate::panics::catch_panic(|| (func.callback)(&mut caller, params, results)) {
        Ok(Ok(())) => {
            for (slot, result) in slots.iter_mut().zip(results.iter()) {
                *slot = reread_in_halves(result);
            }
            0
        }
        Ok(Err(trap)) => {
            set_trap_message(trap.message, trap.exit_code);
            u32::from(trap.code.to_u8())
        }
        Err(what) => {
            let what = if what.is_empty() {
                "unknown panic"
            } else {
                &what
            };
            set_trap_message(Some(format!("host function panicked: {what}")), None);
            u32::from(TrapCode::HostError.to_u8())
        }
    }
}

/// `value`, read as two 8-byte halves. A host function has just written it, typically as two 8-byte
/// stores (`RawVal::from` of a number): a single 16-byte load of it could not be forwarded from those
/// stores and would wait for them to reach the cache, on every host call; volatile reads keep the
/// compiler from merging the halves back into one load.
#[inline(always)]
fn reread_in_halves(value: &RawVal) -> RawVal {
    let words = (value as *const RawVal).cast::<u64>();
    // SAFETY: `RawVal` is 16 bytes, 16-byte aligned and plain data, so both 8-byte words are in
    // bounds, aligned and initialized; `value` is a live reference.
    let (low, high) = unsafe { (words.read_volatile(), words.add(1).read_volatile()) };
    RawVal::from_bits(u128::from(low) | (u128::from(high) << 64))
}

extern "C" fn raise_trap(_vmctx: *mut VMContext, code: u32, fp: usize) {
    let code = u8::try_from(code)
        .ok()
        .and_then(TrapCode::from_u8)
        .unwrap_or(TrapCode::HostError);
    record_trap(code, None, fp, crate::traphandlers::approximate_sp());
    unwind();
}

extern "C" fn memory_atomic_notify(_vmctx: *mut VMContext, address: *const u8, count: u32) -> u32 {
    crate::parking::notify(address, count)
}

extern "C" fn memory_atomic_wait32(
    _vmctx: *mut VMContext,
    address: *const u8,
    expected: u32,
    timeout_ns: i64,
) -> u32 {
    let timeout = crate::parking::timeout_from_nanos(timeout_ns);
    // SAFETY: compiled code passes the address of an aligned 4-byte location it has bounds-checked
    // in a shared memory of the calling instance, which stays alive while the instance runs.
    unsafe {
        crate::parking::wait(address, crate::parking::Expected::U32(expected), timeout) as u32
    }
}

extern "C" fn memory_atomic_wait64(
    _vmctx: *mut VMContext,
    address: *const u8,
    expected: u64,
    timeout_ns: i64,
) -> u32 {
    let timeout = crate::parking::timeout_from_nanos(timeout_ns);
    // SAFETY: as in `memory_atomic_wait32`, for an aligned 8-byte location.
    unsafe {
        crate::parking::wait(address, crate::parking::Expected::U64(expected), timeout) as u32
    }
}

preserve_all! {
    /// [`lazy_compile_inner`] with the preserve-all convention: compiled code calls it on the cold path
    /// of every call in lazily compiled code, whose arguments then need not leave their registers.
    lazy_compile(_vmctx: *mut VMContext, _funcref: *mut VMFuncRef) = lazy_compile_inner,
}

extern "C" fn lazy_compile_inner(_vmctx: *mut VMContext, funcref: *mut VMFuncRef) {
    // SAFETY: compiled code passes a `VMFuncRef` of its own store (a vmctx slot or a table element's
    // target), and the store is used by this thread only.
    if let Err(message) = unsafe { crate::lazy::resolve_funcref(funcref) } {
        // The code pointer stays null, on which the calling code traps with `CompileError`; the trap
        // carries this message.
        set_trap_message(Some(message), None);
    }
}

extern "C" fn exn_new(vmctx: *mut VMContext, tag: u32) -> *mut u8 {
    let inst = instance(vmctx);
    let num_values = inst.module().info.tag_type(tag).params.len();
    // SAFETY: the store outlives every call into its instances; only its exception heap (a RefCell
    // that no other code borrows while compiled code runs) and budget are touched.
    let store = unsafe { &*inst.store };
    store
        .exceptions
        .borrow_mut()
        .alloc(store.budget(), inst.tag_ptr(tag), num_values)
}

extern "C" fn exn_free(vmctx: *mut VMContext, exn: *const u8) {
    // SAFETY: as in `exn_new`.
    let store = unsafe { &*instance(vmctx).store };
    // SAFETY: compiled code passes the exception it has just caught, which is live: only this call
    // frees it.
    unsafe {
        store
            .exceptions
            .borrow_mut()
            .free_unexposed(store.budget(), exn)
    };
}

with_exit_frame!(
    /// The `GcAlloc` builtin: records the calling wasm frame as an exit frame, so that a collection
    /// finds the references it and its callers hold.
    gc_alloc(type_id: u32, size: u64) -> usize = gc_alloc_from
);

extern "C" fn gc_alloc_from(
    vmctx: *mut VMContext,
    type_id: u32,
    size: u64,
    fp: usize,
    pc: usize,
) -> usize {
    // SAFETY: as in `exn_new`; the GC heap is a RefCell no other code borrows while compiled code runs.
    let store = unsafe { &*instance(vmctx).store };
    let Ok(size) = usize::try_from(size) else {
        return 0;
    };
    crate::gc::stack::ExitFrame::record(fp, pc, || {
        crate::gc::alloc(store, type_id, size, true).unwrap_or(0)
    })
}

extern "C" fn array_init_data(
    vmctx: *mut VMContext,
    dst: *mut u8,
    data: u32,
    src: u32,
    len: u32,
    elem_size: u32,
) -> u32 {
    let inst = instance(vmctx);
    let bytes = inst.data_segment(data);
    let n = u64::from(len) * u64::from(elem_size);
    let Some(chunk) = usize::try_from(u64::from(src) + n)
        .ok()
        .and_then(|end| bytes.get(src as usize..end))
    else {
        return status(false, TrapCode::MemoryOutOfBounds);
    };
    if !dst.is_null() {
        // SAFETY: compiled code passes the address of `len` elements of `elem_size` bytes inside an
        // array it has bounds-checked; the segment's bytes are elsewhere (module metadata).
        unsafe { std::ptr::copy_nonoverlapping(chunk.as_ptr(), dst, chunk.len()) };
    }
    0
}

extern "C" fn array_init_elem(
    vmctx: *mut VMContext,
    dst: *mut u64,
    elem: u32,
    src: u32,
    len: u32,
) -> u32 {
    let values = instance(vmctx).elem_segment(elem).map(RefCell::borrow);
    let Some(chunk) = (src as usize).checked_add(len as usize).and_then(|end| {
        values
            .as_deref()
            .map_or(&[][..], Vec::as_slice)
            .get(src as usize..end)
    }) else {
        return status(false, TrapCode::TableOutOfBounds);
    };
    if !dst.is_null() {
        // SAFETY: compiled code passes the address of `len` 8-byte elements inside an array it has
        // bounds-checked (8-aligned, as every object and reference field is).
        unsafe { std::ptr::copy_nonoverlapping(chunk.as_ptr(), dst, chunk.len()) };
    }
    0
}

extern "C" fn gc_copy(_vmctx: *mut VMContext, dst: *mut u8, src: *const u8, bytes: u64) {
    // SAFETY: compiled code passes two bounds-checked element ranges of `bytes` bytes inside live
    // arrays; `copy` allows them to overlap.
    unsafe { std::ptr::copy(src, dst, bytes as usize) };
}

/// The `Throw` builtin: passes its own return address (in the throwing function) on to
/// [`throw_from`], which reports it as the first frame of an unhandled exception's backtrace.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
extern "C" fn throw(_vmctx: *mut VMContext, _exn: usize, _fp: usize) {
    // At entry the return address is at [rsp]; it becomes the fourth argument (rcx).
    core::arch::naked_asm!("mov rcx, [rsp]", "jmp {}", sym throw_from)
}

/// The `Throw` builtin: passes its own return address (in the throwing function) on to
/// [`throw_from`], which reports it as the first frame of an unhandled exception's backtrace.
#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
extern "C" fn throw(_vmctx: *mut VMContext, _exn: usize, _fp: usize) {
    // At entry the return address is in the link register; it becomes the fourth argument (x3).
    core::arch::naked_asm!("mov x3, x30", "b {}", sym throw_from)
}

extern "C" fn throw_from(vmctx: *mut VMContext, exn: usize, fp: usize, pc: usize) {
    let describe = || {
        // SAFETY: as in `exn_new`.
        let store = unsafe { &*instance(vmctx).store };
        // SAFETY: compiled code throws only live exceptions (new ones, or exnrefs, which are never
        // freed early).
        let (tag, values) = unsafe { store.exception(exn as *const u8) }?;
        let tag = store.tag(tag);
        Some(crate::exception::ThrownException {
            tag: tag.vm_tag() as usize,
            ty: tag.ty().clone(),
            values,
        })
    };
    // SAFETY: compiled code calls the `Throw` builtin directly, passing its own frame pointer; `pc` is
    // that call's return address.
    unsafe { crate::traphandlers::throw(exn, fp, pc, &describe) }
}

extern "C" fn type_matches(vmctx: *mut VMContext, actual: u32, expected: u32) -> u32 {
    u32::from(
        instance(vmctx)
            .module()
            .types
            .type_matches(actual, expected),
    )
}
