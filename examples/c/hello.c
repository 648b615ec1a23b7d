/*
 * A WASI command (the guest run by examples/c/wasi.c): greets each argument, or the world. It
 * exits with status 3 when given more than two names, to show how exit statuses reach the host.
 *
 * Build:
 *   clang-16 --target=wasm32-wasi --sysroot=/usr -O2 examples/c/hello.c -o hello.wasm
 */
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
    return argc > 3 ? 3 : 0;
}
