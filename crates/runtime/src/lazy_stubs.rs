//! Compile-on-call stubs: until a lazily compiled function has code, its `VMFuncRef` points to a stub
//! of its own, so that calls need no check for missing code.
//!
//! A stub loads the function's index into a scratch register that no call passes arguments in (r10 on
//! x86-64, w16 on aarch64) and jumps to [`lazy_stub_entry`], which saves the argument registers,
//! compiles the function (or finds it compiled by another thread), stores its code pointer into the
//! calling instance's `VMFuncRef`, restores the arguments and jumps to the code: to the callee the
//! stub is invisible. If the function cannot be compiled, the entry jumps to code at the start of the
//! stubs' mapping instead, which pushes a frame (so that backtraces show the caller) and traps with
//! [`TrapCode::CompileError`] (the message says why).
//!
//! Compiled code reaches the other functions of its own module through their `VMFuncRef`s without a
//! null check. A `VMFuncRef` copied into an importing instance stays null until its first call (see
//! `instantiate`), because the stub would store the code into the exporting instance only: calls
//! of imports and of table elements keep their null check and the `LazyCompile` builtin.

use crate::code_memory::CodeMemory;
use crate::instance::Instance;
use crate::lazy::LazyItem;
use crate::traphandlers::set_trap_message;
use crate::vmcontext::{VMContext, VMFuncRef};
use wasmz_environ::{CodeImage, FuncType, ModuleInfo, TrapCode, ValType};

/// Where the trap instruction is: after a frame like a function's, so that backtraces show the caller.
#[cfg(target_arch = "x86_64")]
const TRAP_OFFSET: u32 = 4;
#[cfg(target_arch = "aarch64")]
const TRAP_OFFSET: u32 = 8;
/// Bytes of each stub (a power of two).
const STUB_SIZE: usize = 16;
/// Where the stubs start: after the trap instruction (offset 0) and the jump to [`lazy_stub_entry`].
const FIRST_STUB: usize = 32;
/// The bit of the index register that says the vmctx arrives in the second argument register (x86-64:
/// when a return-area pointer takes the first).
const VMCTX_SECOND: u32 = 1 << 31;

/// The stubs of one lazily compiled module's defined functions.
pub(crate) struct LazyStubs {
    code: CodeMemory,
    num_imported_funcs: u32,
    count: u32,
}

impl LazyStubs {
    /// Stubs for the defined functions of the module described by `info`.
    ///
    /// # Errors
    /// When the memory cannot be mapped or protected.
    pub(crate) fn new(info: &ModuleInfo) -> std::io::Result<LazyStubs> {
        let first = info.num_imported_funcs;
        let count = info.functions.len() as u32 - first;
        let mut code = vec![0u8; FIRST_STUB + STUB_SIZE * count as usize];
        let entry = lazy_stub_entry as *const () as u64;
        header(&mut code[..FIRST_STUB], entry);
        for (i, func) in (first..first + count).enumerate() {
            let ty = info.func_sig(func);
            let tag = if vmctx_in_second_argument(ty) {
                VMCTX_SECOND
            } else {
                0
            };
            let at = FIRST_STUB + i * STUB_SIZE;
            stub(&mut code[at..at + STUB_SIZE], at, func | tag);
        }
        let image = CodeImage {
            traps: [(TRAP_OFFSET, TrapCode::CompileError)]
                .into_iter()
                .collect(),
            num_imported_funcs: first,
            ..CodeImage::default()
        };
        // SAFETY: the code is the header and stubs written above, which only jump to
        // `lazy_stub_entry` (or trap), with the trap site registered.
        let code = unsafe { CodeMemory::publish_with_code(image, &code) }?;
        Ok(LazyStubs {
            code,
            num_imported_funcs: first,
            count,
        })
    }

    /// The stub of function `func` (an index in the module's function index space), if defined.
    pub(crate) fn stub(&self, func: u32) -> Option<*const u8> {
        let defined = func.checked_sub(self.num_imported_funcs)?;
        (defined < self.count).then(|| {
            self.code
                .at((FIRST_STUB + defined as usize * STUB_SIZE) as u32)
        })
    }

    /// Whether `code` is one of these stubs.
    pub(crate) fn contains(&self, code: *const u8) -> bool {
        let start = self.code.at(0) as usize;
        (start..start + self.code.code().len()).contains(&(code as usize))
    }

    /// The code the entry jumps to when a function cannot be compiled: it pushes a frame and traps.
    fn trap(&self) -> *const u8 {
        self.code.at(0)
    }
}

/// Whether the `tail` convention passes a return-area pointer in the first argument register before
/// the vmctx, for a function of type `ty`: on x86-64 when the results do not fit its 8 integer and 8
/// vector return registers. aarch64 passes that pointer in x8 and the vmctx always in x2.
fn vmctx_in_second_argument(ty: &FuncType) -> bool {
    if !cfg!(target_arch = "x86_64") {
        return false;
    }
    let vector = |t: &&ValType| matches!(t, ValType::F32 | ValType::F64 | ValType::V128);
    let vectors = ty.results.iter().filter(vector).count();
    vectors > 8 || ty.results.len() - vectors > 8
}

/// Writes the trapping code at offset 0 and, at 16, an absolute jump to `entry`.
#[cfg(target_arch = "x86_64")]
fn header(code: &mut [u8], entry: u64) {
    code.fill(0xcc); // int3
    code[..6].copy_from_slice(&[0x55, 0x48, 0x89, 0xe5, 0x0f, 0x0b]); // push rbp; mov rbp, rsp; ud2
    code[16..18].copy_from_slice(&[0x49, 0xbb]); // movabs r11, entry
    code[18..26].copy_from_slice(&entry.to_le_bytes());
    code[26..29].copy_from_slice(&[0x41, 0xff, 0xe3]); // jmp r11
}

/// Writes the stub at offset `at` of the code: `mov r10d, index; jmp 16`.
#[cfg(target_arch = "x86_64")]
fn stub(code: &mut [u8], at: usize, index: u32) {
    code.fill(0xcc);
    code[..2].copy_from_slice(&[0x41, 0xba]);
    code[2..6].copy_from_slice(&index.to_le_bytes());
    code[6] = 0xe9;
    let rel = 16 - (at as i64 + 11);
    code[7..11].copy_from_slice(&(rel as i32).to_le_bytes());
}

/// Writes the trapping code at offset 0 and, at 16, an absolute jump to `entry`.
#[cfg(target_arch = "aarch64")]
fn header(code: &mut [u8], entry: u64) {
    let words: [u32; 4] = [
        0xa9bf_7bfd, // stp x29, x30, [sp, #-16]!
        0x9100_03fd, // mov x29, sp
        0x0000_c11f, // udf #0xc11f
        0xd503_201f, // nop
    ];
    for (i, w) in words.iter().enumerate() {
        code[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    code[16..20].copy_from_slice(&0x5800_0051u32.to_le_bytes()); // ldr x17, #8
    code[20..24].copy_from_slice(&0xd61f_0220u32.to_le_bytes()); // br x17
    code[24..32].copy_from_slice(&entry.to_le_bytes());
}

/// Writes the stub at offset `at` of the code: `movz w16, #lo; movk w16, #hi, lsl 16; b 16`.
#[cfg(target_arch = "aarch64")]
fn stub(code: &mut [u8], at: usize, index: u32) {
    let lo = index & 0xffff;
    let hi = index >> 16;
    let branch = ((16 - (at as i64 + 8)) / 4) as u32 & 0x03ff_ffff;
    let words: [u32; 4] = [
        0x5280_0000 | (lo << 5) | 16,
        0x72a0_0000 | (hi << 5) | 16,
        0x1400_0000 | branch,
        0xd503_201f, // nop
    ];
    for (i, w) in words.iter().enumerate() {
        code[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
}

/// Entered from a stub at a call boundary of the `tail` convention: saves the registers that may hold
/// arguments (or a return-area pointer), asks [`lazy_stub_inner`] for the code and jumps to it with
/// the arguments restored and the caller's return address still on top of the stack.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
extern "C" fn lazy_stub_entry() {
    core::arch::naked_asm!(
        "push rbp",
        "mov rbp, rsp",
        "push rdi", "push rsi", "push rdx", "push rcx", "push r8", "push r9",
        // Entered 8 bytes off 16-byte alignment: with rbp, 7 pushes and 128 bytes realign the stack.
        "sub rsp, 128",
        "movdqu [rsp + 0], xmm0", "movdqu [rsp + 16], xmm1", "movdqu [rsp + 32], xmm2",
        "movdqu [rsp + 48], xmm3", "movdqu [rsp + 64], xmm4", "movdqu [rsp + 80], xmm5",
        "movdqu [rsp + 96], xmm6", "movdqu [rsp + 112], xmm7",
        "mov rdx, r10",
        "call {inner}",
        "mov r11, rax",
        "movdqu xmm0, [rsp + 0]", "movdqu xmm1, [rsp + 16]", "movdqu xmm2, [rsp + 32]",
        "movdqu xmm3, [rsp + 48]", "movdqu xmm4, [rsp + 64]", "movdqu xmm5, [rsp + 80]",
        "movdqu xmm6, [rsp + 96]", "movdqu xmm7, [rsp + 112]",
        "add rsp, 128",
        "pop r9", "pop r8", "pop rcx", "pop rdx", "pop rsi", "pop rdi",
        "pop rbp",
        "jmp r11",
        inner = sym lazy_stub_inner,
    )
}

/// As on x86-64: the `tail` convention passes arguments in x2–x7 and v0–v7, a return-area pointer in
/// x8, and x0 and x1 are reserved; the vmctx is in x2.
#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
extern "C" fn lazy_stub_entry() {
    core::arch::naked_asm!(
        "stp x29, x30, [sp, #-16]!",
        "mov x29, sp",
        "sub sp, sp, #208",
        "stp x0, x1, [sp, #0]", "stp x2, x3, [sp, #16]", "stp x4, x5, [sp, #32]",
        "stp x6, x7, [sp, #48]", "str x8, [sp, #64]",
        "stp q0, q1, [sp, #80]", "stp q2, q3, [sp, #112]", "stp q4, q5, [sp, #144]",
        "stp q6, q7, [sp, #176]",
        "mov x0, x2",
        "mov x1, x2",
        "mov w2, w16",
        "bl {inner}",
        "mov x17, x0",
        "ldp q0, q1, [sp, #80]", "ldp q2, q3, [sp, #112]", "ldp q4, q5, [sp, #144]",
        "ldp q6, q7, [sp, #176]",
        "ldp x0, x1, [sp, #0]", "ldp x2, x3, [sp, #16]", "ldp x4, x5, [sp, #32]",
        "ldp x6, x7, [sp, #48]", "ldr x8, [sp, #64]",
        "add sp, sp, #208",
        "ldp x29, x30, [sp], #16",
        "br x17",
        inner = sym lazy_stub_inner,
    )
}

/// Compiles the function a stub stands for and returns its code, after storing it into the calling
/// instance's `VMFuncRef`; or, when it cannot be compiled, records why and returns the trap
/// instruction. `first` and `second` are the first two argument registers of the call.
extern "C" fn lazy_stub_inner(first: usize, second: usize, tagged: u32) -> *const u8 {
    let vmctx = if tagged & VMCTX_SECOND != 0 {
        second
    } else {
        first
    } as *mut VMContext;
    let func = tagged & !VMCTX_SECOND;
    // SAFETY: stubs are only reached through the `VMFuncRef`s of their module's instances, whose
    // callers pass that instance's live vmctx as the callee vmctx, which the stub's tag locates.
    let instance = unsafe { Instance::from_vmctx(vmctx) };
    let module = instance.module();
    let Some(lazy) = module.lazy.as_ref() else {
        unreachable!("stubs belong to lazily compiled modules");
    };
    match lazy.ensure(&module.info, LazyItem::Function(func)) {
        Ok(code) => {
            let slot = module.offsets.funcref(func) as usize;
            // SAFETY: the vmctx holds a `VMFuncRef` for every function at `funcref(func)`; the
            // instance belongs to this thread's store, which runs this call.
            unsafe {
                (*vmctx.cast::<u8>().add(slot).cast::<VMFuncRef>()).wasm_call = code;
            }
            code
        }
        Err(message) => {
            set_trap_message(
                Some(format!("function {func} failed to compile: {message}")),
                None,
            );
            lazy.stubs().trap()
        }
    }
}
