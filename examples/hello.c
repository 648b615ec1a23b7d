// Hello world for WASI, run by the `wasmz` command line.
//
// Build (clang-16 with the wasm32 runtime and wasi-libc: see .ci/run for the apt packages):
//   clang-16 --target=wasm32-wasi --sysroot=/usr -O2 examples/hello.c -o hello.wasm
// Run:
//   cargo run --release -p wasmz-cli -- run hello.wasm Alice Bob
//   cargo run --release -p wasmz-cli -- run --dir .::/cwd --env GREETING=Hi hello.wasm
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    const char *greeting = getenv("GREETING");
    if (!greeting) greeting = "Hello";
    if (argc < 2) {
        printf("%s, world!\n", greeting);
    } else {
        for (int i = 1; i < argc; i++) printf("%s, %s!\n", greeting, argv[i]);
    }
    return 0;
}
