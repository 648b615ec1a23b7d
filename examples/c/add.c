/*
 * The seed's complete example through the C API: a host function `env.add`, and a module whose
 * exported `add` calls it. Prints "3 + 4 = 7".
 *
 * Build (after `cargo build --release -p wasmz-c-api`):
 *   gcc -Iinclude examples/c/add.c -Ltarget/release -lwasmz -Wl,-rpath,$PWD/target/release -o add
 */
#include <stdio.h>
#include <string.h>
#include <wasmz.h>

static const char ADD_WAT[] =
    "(module\n"
    "  (import \"env\" \"add\" (func $host_add (param i32 i32) (result i32)))\n"
    "  (func (export \"add\") (param i32 i32) (result i32)\n"
    "    (call $host_add (local.get 0) (local.get 1))))\n";

/* env.add: results[0] = params[0] + params[1]. */
static wasmz_error_t *host_add(void *user_data, wasmz_caller_t *caller, const wasmz_val_t *params,
                               size_t nparams, wasmz_val_t *results, size_t nresults) {
    (void)user_data;
    (void)caller;
    (void)nparams;
    (void)nresults;
    results[0].of.i32 = params[0].of.i32 + params[1].of.i32;
    return NULL;
}

/* Prints and frees `error`; returns 1 if there was one. */
static int failed(const char *what, wasmz_error_t *error) {
    if (!error) return 0;
    fprintf(stderr, "%s: %s\n", what, wasmz_error_message(error));
    wasmz_error_delete(error);
    return 1;
}

int main(void) {
    int status = 1;
    wasmz_engine_t *engine = NULL;
    wasmz_module_t *module = NULL;
    wasmz_linker_t *linker = NULL;
    wasmz_store_t *store = NULL;
    wasmz_instance_t *instance = NULL;

    if (failed("engine", wasmz_engine_new(NULL, &engine))) goto out;
    if (failed("compile", wasmz_module_new(engine, (const uint8_t *)ADD_WAT, strlen(ADD_WAT),
                                           &module)))
        goto out;

    linker = wasmz_linker_new();
    const wasmz_valkind_t params[2] = {WASMZ_I32, WASMZ_I32};
    const wasmz_valkind_t results[1] = {WASMZ_I32};
    if (failed("define", wasmz_linker_define_func(linker, "env", "add", params, 2, results, 1,
                                                  host_add, NULL, NULL)))
        goto out;

    if (failed("store", wasmz_store_new(engine, &store))) goto out;
    if (failed("instantiate", wasmz_instance_new(store, module, linker, &instance))) goto out;

    wasmz_val_t args[2] = {{.kind = WASMZ_I32, .of.i32 = 3}, {.kind = WASMZ_I32, .of.i32 = 4}};
    wasmz_val_t sum;
    wasmz_error_t *error = wasmz_instance_call(instance, "add", args, 2, &sum, 1);
    if (error) {
        wasmz_trap_code_t code;
        if (wasmz_error_trap_code(error, &code))
            printf("Trap %u: %s\n", (unsigned)code, wasmz_error_message(error));
        else
            printf("Error: %s\n", wasmz_error_message(error));
        wasmz_error_delete(error);
        goto out;
    }
    printf("3 + 4 = %d\n", sum.of.i32);
    status = 0;

out:
    /* Any order works: objects keep alive what they depend on. */
    wasmz_instance_delete(instance);
    wasmz_store_delete(store);
    wasmz_linker_delete(linker);
    wasmz_module_delete(module);
    wasmz_engine_delete(engine);
    return status;
}
