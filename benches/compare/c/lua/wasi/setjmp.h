// Stands in for the <setjmp.h> that wasi-libc lacks: ldo.c includes it, and config.h makes Lua use
// none of it.
