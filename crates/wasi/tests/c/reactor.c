// A reactor: `_initialize` runs the constructor, then the exports are called by the host.
// Build: clang-16 --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor reactor.c -o reactor.wasm
#include <stdio.h>
#include <stdlib.h>

static int base;
static int calls;

__attribute__((constructor)) static void init(void) {
    const char *b = getenv("BASE");
    base = b ? atoi(b) : 100;
}

__attribute__((export_name("add"))) int add(int a, int b) { calls++; return base + a + b; }

__attribute__((export_name("calls"))) int get_calls(void) { return calls; }

__attribute__((export_name("greet"))) void greet(void) {
    printf("hello from the reactor, base=%d\n", base);
    fflush(stdout);
}
