// Forced (-include) into every Lua source file of the lua workload, natively and for wasm32-wasi.
// wasi-libc has no setjmp/longjmp, which Lua uses to raise errors; the benchmark script raises none
// (and uses no coroutines, which also unwind with them), so an error aborts the program and a protected
// call is a plain call. String hashes and sort pivots use fixed seeds so that every run does the same
// work on every platform.
#include <stdlib.h>

#define LUAI_THROW(L, c) abort()
#define LUAI_TRY(L, c, a) { a }
#define luai_jmpbuf int
#define luai_makeseed(L) 0u
#define l_randomizePivot() 0u
