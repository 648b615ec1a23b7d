// Traps (unreachable) three calls deep, for backtrace tests.
#include <stdio.h>

__attribute__((noinline)) void innermost_function(int x) {
    if (x > 0) __builtin_trap();
}

__attribute__((noinline)) void middle_function(int x) { innermost_function(x + 1); printf("not reached\n"); }

int main(int argc, char **argv) {
    (void)argv;
    printf("about to trap\n");
    fflush(stdout);
    middle_function(argc);
    return 0;
}
