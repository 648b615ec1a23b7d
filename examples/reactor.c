// A WASI reactor: no `main`; the host runs `_initialize` (constructors), then calls the exports.
//
// Build:
//   clang-16 --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor examples/reactor.c -o reactor.wasm
// Run (the command line runs `_initialize` before invoking the export):
//   cargo run --release -p wasmz-cli -- run --invoke fib reactor.wasm 40
//   cargo run --release -p wasmz-cli -- run --invoke hypot reactor.wasm 3 4
// From Rust (embedding API): see `crates/wasi/examples/reactor.rs`:
//   cargo run --release -p wasmz-wasi --example reactor -- reactor.wasm 40
#include <math.h>
#include <stdint.h>
#include <stdio.h>

static uint64_t memo[94];

__attribute__((constructor)) static void init(void) {
    memo[0] = 0;
    memo[1] = 1;
    for (int i = 2; i < 94; i++) memo[i] = memo[i - 1] + memo[i - 2];
}

// The n-th Fibonacci number (0 past the 93rd, which no longer fits).
__attribute__((export_name("fib"))) uint64_t fib(int n) { return n >= 0 && n < 94 ? memo[n] : 0; }

__attribute__((export_name("hypot"))) double hyp(double a, double b) { return sqrt(a * a + b * b); }

__attribute__((export_name("hello"))) void hello(void) {
    printf("hello from the reactor\n");
    fflush(stdout);
}
