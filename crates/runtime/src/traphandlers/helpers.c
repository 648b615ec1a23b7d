// The only place wasmz uses setjmp/longjmp. `wasmz_call` runs one host->wasm entry trampoline with a jump
// buffer armed; `wasmz_unwind` jumps back to it from a signal handler or from the raise-trap builtin.
// Between the two there are only frames of compiled wasm code, trampolines and builtins that hold nothing
// to drop, so skipping them is sound. Rust never calls setjmp itself.

#include <setjmp.h>
#include <stddef.h>

typedef void (*wasmz_entry_fn)(void *callee_vmctx, void *caller_vmctx, void *code, void *values);

// Returns 0 when the trampoline returned normally, 1 when the call was unwound by `wasmz_unwind`.
// `*slot` holds the innermost armed jump buffer of this thread; the previous one is restored on exit so
// wasm -> host -> wasm nesting works.
int wasmz_call(void **slot, wasmz_entry_fn entry, void *callee_vmctx, void *caller_vmctx, void *code,
               void *values) {
    sigjmp_buf buf;
    void *volatile prev = *slot;
    if (sigsetjmp(buf, 0) == 0) {
        *slot = &buf;
        entry(callee_vmctx, caller_vmctx, code, values);
        *slot = prev;
        return 0;
    }
    *slot = prev;
    return 1;
}

void wasmz_unwind(void *buf) {
    siglongjmp(*(sigjmp_buf *)buf, 1);
}
