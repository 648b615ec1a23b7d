/*
 * Helpers shared by the tests of the standard C API (wasm.h): a CHECK macro that counts failures,
 * compiling a module from text or bytes, and the final report.
 */
#ifndef STD_UTIL_H
#define STD_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasm.h>

static int failures = 0;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                 \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* Compiles wasm text (wasmz's wasm_module_new accepts it besides binary modules). */
static inline wasm_module_t *compile_wat(wasm_store_t *store, const char *wat) {
    wasm_byte_vec_t bytes;
    wasm_byte_vec_new(&bytes, strlen(wat), wat);
    wasm_module_t *module = wasm_module_new(store, &bytes);
    wasm_byte_vec_delete(&bytes);
    return module;
}

/* The message of a trap as a C string in `buf`; deletes the trap. */
static inline const char *trap_text(wasm_trap_t *trap, char *buf, size_t len) {
    wasm_message_t message;
    wasm_trap_message(trap, &message);
    snprintf(buf, len, "%s", message.size ? message.data : "");
    wasm_byte_vec_delete(&message);
    wasm_trap_delete(trap);
    return buf;
}

/* Export `i` as a function (NULL if absent or of another kind). */
static inline wasm_func_t *export_func(const wasm_extern_vec_t *exports, size_t i) {
    return i < exports->size ? wasm_extern_as_func(exports->data[i]) : NULL;
}

static inline int finish(const char *name) {
    if (failures) {
        printf("%s: %d failures\n", name, failures);
        return 1;
    }
    printf("%s: passed\n", name);
    return 0;
}

#endif
