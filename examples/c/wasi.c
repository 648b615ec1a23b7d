/*
 * Runs a WASI command through the C API, with the process's standard streams and environment
 * variable GREETING passed on, and exits with the guest's exit status.
 *
 * Usage: wasi <module.wasm | module.cwasm> [args...]
 *
 * Build (after `cargo build --release -p wasmz-c-api`):
 *   gcc -Iinclude examples/c/wasi.c -Ltarget/release -lwasmz -Wl,-rpath,$PWD/target/release -o wasi
 *   clang-16 --target=wasm32-wasi --sysroot=/usr -O2 examples/c/hello.c -o hello.wasm
 *   ./wasi hello.wasm Alice Bob
 */
#include <stdio.h>
#include <stdlib.h>
#include <wasmz.h>

/* Reads a whole file; NULL on failure. */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc(size ? size : 1))) {
            if (fread(buf, 1, size, f) != (size_t)size) {
                free(buf);
                buf = NULL;
            } else {
                *len = (size_t)size;
            }
        }
    }
    fclose(f);
    return buf;
}

static int failed(const char *what, wasmz_error_t *error) {
    if (!error) return 0;
    fprintf(stderr, "%s: %s\n", what, wasmz_error_message(error));
    wasmz_error_delete(error);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s <module.wasm> [args...]\n", argv[0]);
        return 2;
    }
    size_t len = 0;
    uint8_t *bytes = read_file(argv[1], &len);
    if (!bytes) {
        perror(argv[1]);
        return 2;
    }

    int status = 125;
    wasmz_engine_t *engine = NULL;
    wasmz_module_t *module = NULL;
    wasmz_store_t *store = NULL;
    wasmz_instance_t *instance = NULL;
    wasmz_linker_t *linker = wasmz_linker_new();
    wasmz_wasi_config_t *wasi = wasmz_wasi_config_new();

    if (failed("engine", wasmz_engine_new(NULL, &engine))) goto out;
    if (failed("compile", wasmz_module_new(engine, bytes, len, &module))) goto out;
    if (failed("wasi", wasmz_linker_define_wasi(linker))) goto out;

    /* The guest's argv: the module path, then the remaining arguments. */
    if (failed("args", wasmz_wasi_config_set_args(wasi, (size_t)(argc - 1),
                                                  (const char *const *)argv + 1)))
        goto out;
    const char *greeting = getenv("GREETING");
    if (greeting && failed("env", wasmz_wasi_config_env(wasi, "GREETING", greeting))) goto out;
    if (failed("stdio", wasmz_wasi_config_inherit_stdio(wasi))) goto out;

    if (failed("store", wasmz_store_new(engine, &store))) goto out;
    if (failed("wasi", wasmz_store_set_wasi(store, wasi))) goto out;
    if (failed("instantiate", wasmz_instance_new(store, module, linker, &instance))) goto out;
    if (!wasmz_instance_is_command(instance)) {
        fprintf(stderr, "%s is not a command (no _start)\n", argv[1]);
        goto out;
    }
    int exit_status = 0;
    wasmz_error_t *error = wasmz_instance_run_start(instance, &exit_status);
    if (error) {
        wasmz_trap_code_t code = 0;
        wasmz_error_trap_code(error, &code);
        fprintf(stderr, "trap (code %u): %s\n", (unsigned)code, wasmz_error_message(error));
        wasmz_error_delete(error);
        status = 134;
        goto out;
    }
    fflush(stdout);
    status = exit_status;

out:
    wasmz_instance_delete(instance);
    wasmz_store_delete(store);
    wasmz_wasi_config_delete(wasi);
    wasmz_linker_delete(linker);
    wasmz_module_delete(module);
    wasmz_engine_delete(engine);
    free(bytes);
    return status;
}
