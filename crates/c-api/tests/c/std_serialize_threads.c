/*
 * The standard C API (wasm.h): what the wasm-c-api examples serialize and threads do -- a module
 * serialized, loaded again (trusted bytes only) and run; a module shared between threads, each
 * with its own store, host function and global.
 */
#include "std_util.h"
#include <pthread.h>

#define N_THREADS 4
#define N_REPS 3

static const char *wat =
    "(module"
    "  (import \"\" \"hello\" (func $hello (param i32)))"
    "  (import \"\" \"id\" (global $id i32))"
    "  (func (export \"run\") (call $hello (global.get $id))))";

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int runs[N_THREADS];

static wasm_trap_t *hello_callback(const wasm_val_vec_t *args, wasm_val_vec_t *results) {
    (void)results;
    pthread_mutex_lock(&lock);
    runs[args->data[0].of.i32]++;
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* Instantiates the module in `store` with id `id` and runs it. */
static void run_module(wasm_store_t *store, const wasm_module_t *module, int id) {
    wasm_functype_t *ft = wasm_functype_new_1_0(wasm_valtype_new_i32());
    wasm_func_t *func = wasm_func_new(store, ft, hello_callback);
    wasm_functype_delete(ft);
    wasm_globaltype_t *gt = wasm_globaltype_new(wasm_valtype_new_i32(), WASM_CONST);
    wasm_val_t val = WASM_I32_VAL(id);
    wasm_global_t *global = wasm_global_new(store, gt, &val);
    wasm_globaltype_delete(gt);
    wasm_extern_t *externs[] = {wasm_func_as_extern(func), wasm_global_as_extern(global)};
    wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
    wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
    wasm_func_delete(func);
    wasm_global_delete(global);
    if (!instance) {
        failures++;
        return;
    }
    wasm_extern_vec_t exports;
    wasm_instance_exports(instance, &exports);
    wasm_instance_delete(instance);
    wasm_val_vec_t none = WASM_EMPTY_VEC;
    wasm_trap_t *trap = wasm_func_call(export_func(&exports, 0), &none, &none);
    if (trap) {
        failures++;
        wasm_trap_delete(trap);
    }
    wasm_extern_vec_delete(&exports);
}

static void serialize(wasm_engine_t *engine) {
    wasm_store_t *store = wasm_store_new(engine);
    wasm_module_t *module = compile_wat(store, wat);
    CHECK(module != NULL);
    wasm_byte_vec_t bytes;
    wasm_module_serialize(module, &bytes);
    CHECK(bytes.size > 0);
    wasm_module_delete(module);

    /* An artifact is not accepted as a module: it is native code. */
    CHECK(wasm_module_new(store, &bytes) == NULL);
    CHECK(!wasm_module_validate(store, &bytes));

    wasm_module_t *loaded = wasm_module_deserialize(store, &bytes);
    CHECK(loaded != NULL);
    wasm_byte_vec_t copy;
    wasm_byte_vec_copy(&copy, &bytes);
    copy.data[copy.size / 2] ^= 0x55; /* corrupted: refused, not loaded */
    wasm_module_t *corrupt = wasm_module_deserialize(store, &copy);
    wasm_module_delete(corrupt);
    wasm_byte_vec_delete(&copy);
    wasm_byte_vec_t junk;
    wasm_name_new_from_string(&junk, "not an artifact");
    CHECK(wasm_module_deserialize(store, &junk) == NULL);
    wasm_byte_vec_delete(&junk);
    wasm_byte_vec_delete(&bytes);

    wasm_importtype_vec_t imports;
    wasm_module_imports(loaded, &imports);
    CHECK(imports.size == 2);
    wasm_importtype_vec_delete(&imports);
    run_module(store, loaded, 0);
    CHECK(runs[0] == 1);
    printf("serialize: the loaded module ran\n");
    wasm_module_delete(loaded);
    wasm_store_delete(store);
}

typedef struct {
    wasm_engine_t *engine;
    wasm_shared_module_t *module;
    int id;
} thread_args;

static void *thread_main(void *p) {
    thread_args *args = p;
    wasm_store_t *store = wasm_store_new(args->engine);
    wasm_module_t *module = wasm_module_obtain(store, args->module);
    if (!module) {
        failures++;
    } else {
        for (int i = 0; i < N_REPS; i++) run_module(store, module, args->id);
        wasm_module_delete(module);
    }
    wasm_store_delete(store);
    return NULL;
}

static void threads(wasm_engine_t *engine) {
    wasm_store_t *store = wasm_store_new(engine);
    wasm_module_t *module = compile_wat(store, wat);
    wasm_shared_module_t *shared = wasm_module_share(module);
    CHECK(shared != NULL);
    wasm_module_delete(module);
    wasm_store_delete(store);

    for (int i = 0; i < N_THREADS; i++) runs[i] = 0;
    pthread_t ids[N_THREADS];
    thread_args args[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        args[i].engine = engine;
        args[i].module = shared;
        args[i].id = i;
        CHECK(pthread_create(&ids[i], NULL, thread_main, &args[i]) == 0);
    }
    for (int i = 0; i < N_THREADS; i++) pthread_join(ids[i], NULL);
    for (int i = 0; i < N_THREADS; i++) CHECK(runs[i] == N_REPS);
    printf("threads: %d threads ran the shared module %d times each\n", N_THREADS, N_REPS);

    /* A store of another engine cannot obtain it. */
    wasm_engine_t *other = wasm_engine_new();
    wasm_store_t *other_store = wasm_store_new(other);
    CHECK(wasm_module_obtain(other_store, shared) == NULL);
    wasm_store_delete(other_store);
    wasm_engine_delete(other);
    wasm_shared_module_delete(shared);
}

int main(void) {
    wasm_engine_t *engine = wasm_engine_new();
    serialize(engine);
    threads(engine);
    wasm_engine_delete(engine);
    return finish("std_serialize_threads");
}
