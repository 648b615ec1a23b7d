/*
 * Exercises every function of wasmz.h, and bad input through each kind of entry point: NULL
 * pointers, malformed modules, missing imports, traps in host callbacks and in wasm. Prints one line
 * per check; the Rust test (tests/c_api.rs) compares the output. Usage: api <scratch directory>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasmz.h>

_Static_assert(sizeof(wasmz_val_t) == 24, "wasmz_val_t layout");

static int failures = 0;

/* Reports whether an error occurred (and frees it). */
static void expect_ok(const char *what, wasmz_error_t *error) {
    if (error) {
        printf("FAIL %s: %s\n", what, wasmz_error_message(error));
        failures++;
        wasmz_error_delete(error);
    }
}

/* Expects an error whose message contains `needle`; prints "error <what>: <trap code> <exit>". */
static void expect_error(const char *what, wasmz_error_t *error, const char *needle) {
    if (!error) {
        printf("FAIL %s: no error\n", what);
        failures++;
        return;
    }
    const char *message = wasmz_error_message(error);
    if (!strstr(message, needle)) {
        printf("FAIL %s: message `%s` lacks `%s`\n", what, message, needle);
        failures++;
    }
    wasmz_trap_code_t code = 0;
    int status = -1;
    bool trap = wasmz_error_trap_code(error, &code);
    bool exited = wasmz_error_exit_status(error, &status);
    printf("error %s: trap=%d code=%u exit=%d status=%d\n", what, trap, (unsigned)code, exited,
           status);
    wasmz_error_delete(error);
}

/* ---- host functions ---------------------------------------------------------------------------- */

typedef struct {
    char log[256];
    int finalized;
} host_state_t;

/* env.log(ptr, len): appends the guest's string to the state's log. */
static wasmz_error_t *host_log(void *user_data, wasmz_caller_t *caller, const wasmz_val_t *params,
                               size_t nparams, wasmz_val_t *results, size_t nresults) {
    (void)results;
    host_state_t *state = user_data;
    if (nparams != 2 || nresults != 0 || params[0].kind != WASMZ_I32) return wasmz_error_new("bad");
    char buf[64] = {0};
    uint32_t len = (uint32_t)params[1].of.i32;
    if (len >= sizeof buf) len = sizeof buf - 1;
    wasmz_error_t *error = wasmz_caller_memory_read(caller, (uint32_t)params[0].of.i32,
                                                    (uint8_t *)buf, len);
    if (error) return error; /* out of bounds: trap the guest with the caller's error */
    strncat(state->log, buf, sizeof state->log - strlen(state->log) - 1);
    return NULL;
}

/* env.poke(offset) -> i32: writes 0x2a2a2a2a at offset, returns the caller's memory size in pages. */
static wasmz_error_t *host_poke(void *user_data, wasmz_caller_t *caller, const wasmz_val_t *params,
                                size_t nparams, wasmz_val_t *results, size_t nresults) {
    (void)user_data;
    (void)nparams;
    (void)nresults;
    const uint8_t bytes[4] = {42, 42, 42, 42};
    wasmz_error_t *error = wasmz_caller_memory_write(caller, (uint32_t)params[0].of.i32, bytes, 4);
    if (error) return error;
    results[0].of.i32 = (int32_t)(wasmz_caller_memory_size(caller) / 65536);
    return NULL;
}

/* env.fail(code): traps with trap code `code` (0: a plain error; -1: exit with status 9). */
static wasmz_error_t *host_fail(void *user_data, wasmz_caller_t *caller, const wasmz_val_t *params,
                                size_t nparams, wasmz_val_t *results, size_t nresults) {
    (void)user_data;
    (void)caller;
    (void)nparams;
    (void)results;
    (void)nresults;
    int code = params[0].of.i32;
    if (code == 0) return wasmz_error_new("plain host failure");
    if (code == -1) return wasmz_error_new_exit(9);
    return wasmz_trap_new((wasmz_trap_code_t)code, "host trap");
}

/* env.mix(i64, f32, f64, v128) -> (f64, i64): sum of the numbers, and the v128's first byte. */
static wasmz_error_t *host_mix(void *user_data, wasmz_caller_t *caller, const wasmz_val_t *params,
                               size_t nparams, wasmz_val_t *results, size_t nresults) {
    (void)user_data;
    (void)caller;
    if (nparams != 4 || nresults != 2 || params[3].kind != WASMZ_V128 ||
        results[0].kind != WASMZ_F64 || results[1].kind != WASMZ_I64)
        return wasmz_error_new("bad signature");
    results[0].of.f64 = (double)params[0].of.i64 + params[1].of.f32 + params[2].of.f64;
    results[1].of.i64 = params[3].of.v128[0];
    return NULL;
}

static void finalize(void *user_data) { ((host_state_t *)user_data)->finalized++; }

static const char WAT[] =
    "(module\n"
    "  (import \"env\" \"log\" (func $log (param i32 i32)))\n"
    "  (import \"env\" \"poke\" (func $poke (param i32) (result i32)))\n"
    "  (import \"env\" \"fail\" (func $fail (param i32)))\n"
    "  (import \"env\" \"mix\" (func $mix (param i64 f32 f64 v128) (result f64 i64)))\n"
    "  (import \"env\" \"base\" (global $base i32))\n"
    "  (import \"env\" \"counter\" (global $counter (mut i64)))\n"
    "  (memory (export \"memory\") 1 4)\n"
    "  (global $inited (export \"inited_g\") (mut i32) (i32.const 0))\n"
    "  (global (export \"answer\") i32 (i32.const 42))\n"
    "  (data (i32.const 16) \"hello from wasm\")\n"
    "  (func (export \"_initialize\") (global.set $inited (i32.const 1)))\n"
    "  (func (export \"inited\") (result i32) (global.get $inited))\n"
    "  (func (export \"greet\") (call $log (i32.const 16) (i32.const 15)))\n"
    "  (func (export \"log_oob\") (call $log (i32.const 65530) (i32.const 20)))\n"
    "  (func (export \"poke\") (param i32) (result i32 i32)\n"
    "    (call $poke (local.get 0)) (i32.load (local.get 0)))\n"
    "  (func (export \"fail\") (param i32) (call $fail (local.get 0)))\n"
    "  (func (export \"mix\") (param i64 f32 f64) (result f64 i64)\n"
    "    (call $mix (local.get 0) (local.get 1) (local.get 2) (v128.const i8x16 7 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)))\n"
    "  (func (export \"base_plus\") (param i32) (result i32) (i32.add (global.get $base) (local.get 0)))\n"
    "  (func (export \"bump\") (result i64)\n"
    "    (global.set $counter (i64.add (global.get $counter) (i64.const 1))) (global.get $counter))\n"
    "  (func (export \"div\") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))\n"
    "  (func (export \"id_f32\") (param f32) (result f32) (local.get 0))\n"
    "  (func (export \"grow\") (param i32) (result i32) (memory.grow (local.get 0))))\n";

static wasmz_error_t *define(wasmz_linker_t *linker, const char *name, const wasmz_valkind_t *p,
                             size_t np, const wasmz_valkind_t *r, size_t nr,
                             wasmz_func_callback_t cb, host_state_t *state) {
    return wasmz_linker_define_func(linker, "env", name, p, np, r, nr, cb, state, finalize);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    char cwasm_path[1024];
    snprintf(cwasm_path, sizeof cwasm_path, "%s/api.cwasm", argv[1]);

    host_state_t state;
    memset(&state, 0, sizeof state);

    /* ---- config and engine ---- */
    wasmz_config_t *config = wasmz_config_new();
    expect_ok("memory_limit", wasmz_config_memory_limit(config, 3 * 65536));
    expect_ok("bounds_checks", wasmz_config_explicit_bounds_checks(config, false));
    expect_ok("max_wasm_stack", wasmz_config_max_wasm_stack(config, 1 << 20));
    wasmz_engine_t *engine = NULL;
    expect_ok("engine", wasmz_engine_new(config, &engine));
    wasmz_config_delete(config);
    expect_error("config NULL", wasmz_config_memory_limit(NULL, 1), "config must not be NULL");
    expect_error("config NULL 2", wasmz_config_explicit_bounds_checks(NULL, true), "NULL");
    expect_error("config NULL 3", wasmz_config_max_wasm_stack(NULL, 1), "NULL");
    expect_error("config NULL 4", wasmz_config_lazy_compilation(NULL, true), "NULL");
    expect_error("engine out NULL", wasmz_engine_new(NULL, NULL), "out must not be NULL");

    /* ---- modules ---- */
    wasmz_module_t *module = NULL;
    expect_ok("compile", wasmz_module_new(engine, (const uint8_t *)WAT, strlen(WAT), &module));
    wasmz_module_t *bad = (wasmz_module_t *)1;
    const uint8_t garbage[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 0xff, 0xff};
    expect_error("malformed wasm", wasmz_module_new(engine, garbage, sizeof garbage, &bad), "");
    printf("out cleared: %d\n", bad == NULL);
    expect_error("bad wat", wasmz_module_new(engine, (const uint8_t *)"(module (func", 13, &bad),
                 "");
    expect_error("empty bytes", wasmz_module_new(engine, NULL, 0, &bad), "");
    expect_error("NULL bytes", wasmz_module_new(engine, NULL, 5, &bad), "bytes must not be NULL");
    expect_error("NULL engine", wasmz_module_new(NULL, garbage, 1, &bad), "engine must not be NULL");
    /* The message names the file and ends with the operating system's reason. */
    expect_error("missing cwasm", wasmz_module_deserialize_file(engine, "/nonexistent/x.cwasm", &bad),
                 "/nonexistent/x.cwasm: No such file or directory");
    expect_error("NULL path", wasmz_module_deserialize_file(engine, NULL, &bad), "path");

    /* Serialize, write a .cwasm file, load it back from the file; refused as bytes to compile. */
    uint8_t *artifact = NULL;
    size_t artifact_len = 0;
    expect_ok("serialize", wasmz_module_serialize(module, &artifact, &artifact_len));
    FILE *f = fopen(cwasm_path, "wb");
    if (!f || fwrite(artifact, 1, artifact_len, f) != artifact_len) printf("FAIL write cwasm\n");
    if (f) fclose(f);
    wasmz_module_t *loaded = NULL, *from_bytes = NULL;
    expect_ok("deserialize_file", wasmz_module_deserialize_file(engine, cwasm_path, &loaded));
    /* Bytes given to wasmz_module_new are never run as native code. */
    expect_error("cwasm bytes", wasmz_module_new(engine, artifact, artifact_len, &from_bytes),
                 "precompiled");
    wasmz_bytes_delete(artifact, artifact_len);
    wasmz_bytes_delete(NULL, 0);
    wasmz_module_delete(from_bytes);
    expect_error("serialize NULL", wasmz_module_serialize(NULL, &artifact, &artifact_len), "module");

    /* ---- store and linker ---- */
    wasmz_store_t *store = NULL;
    expect_ok("store", wasmz_store_new(engine, &store));
    wasmz_store_t *no_store = NULL;
    expect_error("store NULL engine", wasmz_store_new(NULL, &no_store), "engine");
    wasmz_linker_t *linker = wasmz_linker_new();
    const wasmz_valkind_t ii[2] = {WASMZ_I32, WASMZ_I32};
    const wasmz_valkind_t mix_p[4] = {WASMZ_I64, WASMZ_F32, WASMZ_F64, WASMZ_V128};
    const wasmz_valkind_t mix_r[2] = {WASMZ_F64, WASMZ_I64};
    expect_ok("define log", define(linker, "log", ii, 2, NULL, 0, host_log, &state));
    expect_ok("define poke", define(linker, "poke", ii, 1, ii, 1, host_poke, &state));
    expect_ok("define fail", define(linker, "fail", ii, 1, NULL, 0, host_fail, &state));
    expect_ok("define mix", define(linker, "mix", mix_p, 4, mix_r, 2, host_mix, &state));
    /* Failed definitions run the finalizer at once. */
    expect_error("duplicate", define(linker, "log", ii, 2, NULL, 0, host_log, &state),
                 "already defined");
    expect_error("NULL callback", define(linker, "x", ii, 2, NULL, 0, NULL, &state),
                 "callback must not be NULL");
    const wasmz_valkind_t badkind[1] = {99};
    expect_error("bad kind", define(linker, "y", badkind, 1, NULL, 0, host_log, &state),
                 "unknown value kind");
    expect_error("NULL linker", define(NULL, "z", ii, 2, NULL, 0, host_log, &state), "linker");
    expect_error("bad utf8", define(linker, "\xff\xfe", ii, 2, NULL, 0, host_log, &state),
                 "UTF-8");
    printf("finalized after failed defines: %d\n", state.finalized);

    wasmz_val_t base = {.kind = WASMZ_I32, .of.i32 = 1000};
    wasmz_val_t counter = {.kind = WASMZ_I64, .of.i64 = 41};
    expect_ok("global base", wasmz_linker_define_global(linker, store, "env", "base", &base, false));
    expect_ok("global counter",
              wasmz_linker_define_global(linker, store, "env", "counter", &counter, true));
    expect_error("global NULL value",
                 wasmz_linker_define_global(linker, store, "env", "g", NULL, false), "value");
    expect_error("wasi NULL", wasmz_linker_define_wasi(NULL), "linker");

    /* ---- instances ---- */
    wasmz_instance_t *instance = NULL, *no_instance = NULL;
    expect_error("missing import", wasmz_instance_new(store, module, NULL, &no_instance),
                 "unknown import");
    expect_error("instance NULL store", wasmz_instance_new(NULL, module, linker, &no_instance),
                 "store");
    expect_ok("instantiate", wasmz_instance_new(store, loaded, linker, &instance));
    printf("command=%d reactor=%d\n", wasmz_instance_is_command(instance),
           wasmz_instance_is_reactor(instance));
    printf("NULL: command=%d reactor=%d\n", wasmz_instance_is_command(NULL),
           wasmz_instance_is_reactor(NULL));
    expect_ok("initialize", wasmz_instance_initialize(instance));
    expect_error("run_start reactor", wasmz_instance_run_start(instance, NULL), "_start");
    wasmz_val_t r[2];
    expect_ok("inited", wasmz_instance_call(instance, "inited", NULL, 0, r, 1));
    printf("inited=%d kind=%d\n", r[0].of.i32, r[0].kind);

    size_t np = 0, nr = 0;
    expect_ok("arity", wasmz_instance_func_arity(instance, "poke", &np, &nr));
    printf("poke arity: %zu -> %zu\n", np, nr);
    expect_error("arity unknown", wasmz_instance_func_arity(instance, "nope", &np, &nr),
                 "unknown export");

    expect_ok("greet", wasmz_instance_call(instance, "greet", NULL, 0, NULL, 0));
    printf("log: %s\n", state.log);

    wasmz_val_t a[3] = {{.kind = WASMZ_I32, .of.i32 = 100}};
    expect_ok("poke", wasmz_instance_call(instance, "poke", a, 1, r, 2));
    printf("poke: pages=%d loaded=%#x\n", r[0].of.i32, (unsigned)r[1].of.i32);

    a[0] = (wasmz_val_t){.kind = WASMZ_I64, .of.i64 = 40};
    a[1] = (wasmz_val_t){.kind = WASMZ_F32, .of.f32 = 1.5f};
    a[2] = (wasmz_val_t){.kind = WASMZ_F64, .of.f64 = 0.25};
    expect_ok("mix", wasmz_instance_call(instance, "mix", a, 3, r, 2));
    printf("mix: %g %lld\n", r[0].of.f64, (long long)r[1].of.i64);

    a[0] = (wasmz_val_t){.kind = WASMZ_I32, .of.i32 = 7};
    expect_ok("base_plus", wasmz_instance_call(instance, "base_plus", a, 1, a, 1));
    printf("base_plus (same array): %d\n", a[0].of.i32);
    expect_ok("bump", wasmz_instance_call(instance, "bump", NULL, 0, r, 1));
    expect_ok("bump", wasmz_instance_call(instance, "bump", NULL, 0, r, 1));
    printf("counter: %lld\n", (long long)r[0].of.i64);
    a[0] = (wasmz_val_t){.kind = WASMZ_F32, .of.f32 = -2.5f};
    expect_ok("id_f32", wasmz_instance_call(instance, "id_f32", a, 1, r, 1));
    printf("id_f32: %g\n", r[0].of.f32);

    /* Bad calls. */
    a[0] = (wasmz_val_t){.kind = WASMZ_I32, .of.i32 = 1};
    expect_error("unknown export", wasmz_instance_call(instance, "nope", NULL, 0, NULL, 0),
                 "unknown export `nope`");
    expect_error("not a function", wasmz_instance_call(instance, "memory", NULL, 0, NULL, 0),
                 "not a function");
    expect_error("arg count", wasmz_instance_call(instance, "div", a, 1, r, 1), "arguments");
    expect_error("result count", wasmz_instance_call(instance, "greet", NULL, 0, r, 1), "results");
    expect_error("arg kind", wasmz_instance_call(instance, "id_f32", a, 1, r, 1), "must be f32");
    expect_error("NULL args", wasmz_instance_call(instance, "id_f32", NULL, 1, r, 1), "args");
    expect_error("NULL results", wasmz_instance_call(instance, "div", a, 2, NULL, 1), "results");
    expect_error("NULL name", wasmz_instance_call(instance, NULL, NULL, 0, NULL, 0), "name");
    expect_error("NULL instance", wasmz_instance_call(NULL, "div", a, 2, r, 1), "instance");

    /* Traps from host callbacks: a plain error, a chosen code, an exit, an out-of-bounds read. */
    a[0] = (wasmz_val_t){.kind = WASMZ_I32, .of.i32 = 0};
    expect_error("host error", wasmz_instance_call(instance, "fail", a, 1, NULL, 0),
                 "plain host failure");
    a[0].of.i32 = WASMZ_TRAP_UNREACHABLE;
    expect_error("host trap code", wasmz_instance_call(instance, "fail", a, 1, NULL, 0),
                 "host trap");
    a[0].of.i32 = -1;
    expect_error("host exit", wasmz_instance_call(instance, "fail", a, 1, NULL, 0), "exit");
    expect_error("caller oob", wasmz_instance_call(instance, "log_oob", NULL, 0, NULL, 0), "");
    a[0] = (wasmz_val_t){.kind = WASMZ_I32, .of.i32 = 1};
    a[1] = (wasmz_val_t){.kind = WASMZ_I32, .of.i32 = 0};
    expect_error("wasm trap", wasmz_instance_call(instance, "div", a, 2, r, 1), "divide by zero");
    /* The caller functions outside a callback: NULL is refused. */
    printf("NULL caller size: %llu\n", (unsigned long long)wasmz_caller_memory_size(NULL));
    expect_error("NULL caller read", wasmz_caller_memory_read(NULL, 0, (uint8_t *)r, 1), "caller");
    expect_error("NULL caller write", wasmz_caller_memory_write(NULL, 0, (uint8_t *)r, 1),
                 "caller");
    /* The instance still works after traps. */
    a[0] = (wasmz_val_t){.kind = WASMZ_I32, .of.i32 = 84};
    a[1] = (wasmz_val_t){.kind = WASMZ_I32, .of.i32 = 2};
    expect_ok("div", wasmz_instance_call(instance, "div", a, 2, r, 1));
    printf("div: %d\n", r[0].of.i32);

    /* ---- exported globals ---- */
    wasmz_val_t g;
    expect_ok("global get", wasmz_instance_global_get(instance, "inited_g", &g));
    printf("global inited_g: %d kind=%d\n", g.of.i32, g.kind);
    g.of.i32 = 5;
    expect_ok("global set", wasmz_instance_global_set(instance, "inited_g", &g));
    expect_ok("inited 2", wasmz_instance_call(instance, "inited", NULL, 0, r, 1));
    printf("inited after set: %d\n", r[0].of.i32);
    expect_error("global immutable", wasmz_instance_global_set(instance, "answer", &g), "immutable");
    g.kind = WASMZ_F64;
    expect_error("global kind", wasmz_instance_global_set(instance, "inited_g", &g), "must be i32");
    expect_error("global unknown", wasmz_instance_global_get(instance, "nope", &g), "unknown export");
    expect_error("global not", wasmz_instance_global_get(instance, "greet", &g), "not a global");
    expect_error("global get NULL value", wasmz_instance_global_get(instance, "answer", NULL), "value");

    /* ---- memory ---- */
    wasmz_memory_t *memory = NULL;
    expect_ok("memory", wasmz_instance_memory(instance, "memory", &memory));
    wasmz_memory_t *not_memory = NULL;
    expect_error("memory not", wasmz_instance_memory(instance, "greet", &not_memory),
                 "not a memory");
    expect_error("memory unknown", wasmz_instance_memory(instance, "mem", &not_memory),
                 "unknown export");
    printf("pages=%llu bytes=%llu\n", (unsigned long long)wasmz_memory_size_pages(memory),
           (unsigned long long)wasmz_memory_data_size(memory));
    char text[16] = {0};
    expect_ok("memory read", wasmz_memory_read(memory, 16, (uint8_t *)text, 15));
    printf("memory text: %s\n", text);
    uint8_t *data = wasmz_memory_data(memory);
    printf("memory data: %.15s %s\n", (const char *)data + 16, wasmz_memory_data(NULL) ? "?" : "NULL");
    expect_ok("memory write", wasmz_memory_write(memory, 16, (const uint8_t *)"HELLO", 5));
    state.log[0] = 0;
    expect_ok("greet 2", wasmz_instance_call(instance, "greet", NULL, 0, NULL, 0));
    printf("log: %s\n", state.log);
    expect_error("memory read oob", wasmz_memory_read(memory, 65535, (uint8_t *)text, 2), "");
    expect_error("memory write NULL", wasmz_memory_write(memory, 0, NULL, 2), "data");
    uint64_t old = 0;
    expect_ok("grow", wasmz_memory_grow(memory, 1, &old));
    printf("grow: old=%llu now=%llu\n", (unsigned long long)old,
           (unsigned long long)wasmz_memory_size_pages(memory));
    expect_error("grow past limit", wasmz_memory_grow(memory, 2, &old), "grow");
    a[0] = (wasmz_val_t){.kind = WASMZ_I32, .of.i32 = 2};
    expect_ok("wasm grow", wasmz_instance_call(instance, "grow", a, 1, r, 1));
    printf("wasm grow past limit: %d\n", r[0].of.i32);
    printf("NULL memory: %llu %llu\n", (unsigned long long)wasmz_memory_size_pages(NULL),
           (unsigned long long)wasmz_memory_data_size(NULL));

    /* ---- WASI configuration errors ---- */
    wasmz_wasi_config_t *wasi = wasmz_wasi_config_new();
    const char *args[2] = {"prog", "x"};
    expect_ok("wasi args", wasmz_wasi_config_set_args(wasi, 2, args));
    expect_error("wasi NULL argv", wasmz_wasi_config_set_args(wasi, 2, NULL), "argv");
    const char *nullarg[2] = {"prog", NULL};
    expect_error("wasi NULL arg", wasmz_wasi_config_set_args(wasi, 2, nullarg), "argv[1]");
    expect_ok("wasi env", wasmz_wasi_config_env(wasi, "K", "V"));
    expect_error("wasi bad env", wasmz_wasi_config_env(wasi, "A=B", "V"), "invalid");
    expect_ok("wasi stdio", wasmz_wasi_config_inherit_stdio(wasi));
    expect_ok("wasi set", wasmz_store_set_wasi(store, wasi));
    expect_ok("wasi preopen", wasmz_wasi_config_preopen_dir(wasi, "/nonexistent-dir", "/d"));
    expect_error("wasi bad preopen", wasmz_store_set_wasi(store, wasi), "cannot open directory");
    expect_error("wasi NULL store", wasmz_store_set_wasi(NULL, wasi), "store");
    wasmz_wasi_config_delete(wasi);

    /* ---- error objects ---- */
    printf("NULL error: %s %d %d\n", wasmz_error_message(NULL), wasmz_error_trap_code(NULL, NULL),
           wasmz_error_exit_status(NULL, NULL));
    expect_error("made error", wasmz_error_new("custom"), "custom");
    expect_error("made trap", wasmz_trap_new(WASMZ_TRAP_STACK_OVERFLOW, NULL), "");
    expect_error("made trap bad code", wasmz_trap_new(1000, "x"), "x");
    expect_error("made exit", wasmz_error_new_exit(3), "exit with status 3");

    /* ---- deletion in any order; NULL is ignored ---- */
    wasmz_linker_delete(linker);
    wasmz_store_delete(store);
    wasmz_engine_delete(engine);
    wasmz_module_delete(module);
    printf("finalized while the instance lives: %d\n", state.finalized);
    a[0] = (wasmz_val_t){.kind = WASMZ_I32, .of.i32 = 5};
    expect_ok("call after deletes", wasmz_instance_call(instance, "base_plus", a, 1, r, 1));
    printf("base_plus after deletes: %d\n", r[0].of.i32);
    wasmz_instance_delete(instance);
    printf("memory after instance delete: %llu pages\n",
           (unsigned long long)wasmz_memory_size_pages(memory));
    wasmz_memory_delete(memory);
    wasmz_module_delete(loaded);
    printf("finalized at the end: %d\n", state.finalized);
    wasmz_config_delete(NULL);
    wasmz_engine_delete(NULL);
    wasmz_module_delete(NULL);
    wasmz_store_delete(NULL);
    wasmz_linker_delete(NULL);
    wasmz_instance_delete(NULL);
    wasmz_memory_delete(NULL);
    wasmz_wasi_config_delete(NULL);
    wasmz_error_delete(NULL);
    /* ---- lazy compilation ---- */
    wasmz_config_t *lazy_config = wasmz_config_new();
    expect_ok("lazy config", wasmz_config_lazy_compilation(lazy_config, true));
    wasmz_engine_t *lazy_engine = NULL;
    expect_ok("lazy engine", wasmz_engine_new(lazy_config, &lazy_engine));
    wasmz_config_delete(lazy_config);
    static const char LAZY_WAT[] =
        "(module (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))"
        " (func (export \"sq_plus_one\") (param i32) (result i32)"
        "   (i32.add (call $sq (local.get 0)) (i32.const 1)))"
        " (func (export \"div0\") (result i32) (i32.div_u (i32.const 1) (i32.const 0))))";
    wasmz_module_t *lazy_module = NULL;
    expect_ok("lazy compile", wasmz_module_new(lazy_engine, (const uint8_t *)LAZY_WAT,
                                               strlen(LAZY_WAT), &lazy_module));
    wasmz_store_t *lazy_store = NULL;
    expect_ok("lazy store", wasmz_store_new(lazy_engine, &lazy_store));
    wasmz_instance_t *lazy_instance = NULL;
    expect_ok("lazy instantiate",
              wasmz_instance_new(lazy_store, lazy_module, NULL, &lazy_instance));
    a[0] = (wasmz_val_t){.kind = WASMZ_I32, .of.i32 = 7};
    expect_ok("lazy call", wasmz_instance_call(lazy_instance, "sq_plus_one", a, 1, r, 1));
    printf("lazy sq_plus_one(7) = %d\n", r[0].of.i32);
    expect_error("lazy trap", wasmz_instance_call(lazy_instance, "div0", NULL, 0, r, 1), "divide");
    wasmz_instance_delete(lazy_instance);
    wasmz_store_delete(lazy_store);
    wasmz_module_delete(lazy_module);
    wasmz_engine_delete(lazy_engine);

    printf("failures: %d\n", failures);
    return failures != 0;
}
