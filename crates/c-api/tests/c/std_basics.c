/*
 * The standard C API (wasm.h): what the wasm-c-api examples hello, callback, multi, reflect and
 * start do -- a binary module calling a host function, host functions with and without
 * environment (and its finalizer), multiple results both ways, reflection of imports and exports,
 * and a start function that traps.
 */
#include "std_util.h"

/* (module (type (func)) (import "" "hello" (func (type 0))) (func (export "run") (type 0) call 0)) */
static const char hello_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,                         /* header */
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00,                                     /* types */
    0x02, 0x0a, 0x01, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0x00, 0x00,     /* imports */
    0x03, 0x02, 0x01, 0x00,                                                 /* functions */
    0x07, 0x07, 0x01, 0x03, 'r', 'u', 'n', 0x00, 0x01,                      /* exports */
    0x0a, 0x06, 0x01, 0x04, 0x00, 0x10, 0x00, 0x0b,                         /* code */
};

static int hello_calls = 0;

static wasm_trap_t *hello_callback(const wasm_val_vec_t *args, wasm_val_vec_t *results) {
    CHECK(args->size == 0 && results->size == 0);
    hello_calls++;
    return NULL;
}

static void hello(wasm_store_t *store) {
    wasm_byte_vec_t binary;
    wasm_byte_vec_new_uninitialized(&binary, sizeof hello_wasm);
    memcpy(binary.data, hello_wasm, sizeof hello_wasm);
    CHECK(wasm_module_validate(store, &binary));
    wasm_module_t *module = wasm_module_new(store, &binary);
    wasm_byte_vec_delete(&binary);
    CHECK(module != NULL);

    wasm_functype_t *type = wasm_functype_new_0_0();
    wasm_func_t *func = wasm_func_new(store, type, hello_callback);
    wasm_functype_delete(type);
    CHECK(func != NULL);

    wasm_extern_t *externs[] = {wasm_func_as_extern(func)};
    wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
    wasm_trap_t *trap = (wasm_trap_t *)1;
    wasm_instance_t *instance = wasm_instance_new(store, module, &imports, &trap);
    CHECK(instance != NULL && trap == NULL);
    wasm_func_delete(func);

    wasm_extern_vec_t exports;
    wasm_instance_exports(instance, &exports);
    CHECK(exports.size == 1);
    const wasm_func_t *run = export_func(&exports, 0);
    CHECK(run != NULL);
    wasm_instance_delete(instance);
    wasm_module_delete(module);

    wasm_val_vec_t none = WASM_EMPTY_VEC;
    CHECK(wasm_func_call(run, &none, &none) == NULL);
    CHECK(wasm_func_call(run, NULL, NULL) == NULL); /* NULL vectors count as empty */
    CHECK(hello_calls == 2);
    wasm_extern_vec_delete(&exports);
    printf("hello: host function called %d times\n", hello_calls);
}

/* ---- callback: with and without environment ---- */

static wasm_trap_t *print_callback(const wasm_val_vec_t *args, wasm_val_vec_t *results) {
    CHECK(args->size == 1 && args->data[0].kind == WASM_I32);
    printf("callback: print %d\n", args->data[0].of.i32);
    wasm_val_copy(&results->data[0], &args->data[0]);
    return NULL;
}

static int env_finalized = 0;

static wasm_trap_t *closure_callback(void *env, const wasm_val_vec_t *args,
                                     wasm_val_vec_t *results) {
    CHECK(args->size == 0 && results->size == 1);
    int *counter = env;
    (*counter)++;
    results->data[0].kind = WASM_I32;
    results->data[0].of.i32 = 42 + *counter;
    return NULL;
}

static void finalize_env(void *env) {
    CHECK(*(int *)env == 1);
    env_finalized++;
}

static void callback(wasm_engine_t *engine) {
    wasm_store_t *store = wasm_store_new(engine);
    wasm_module_t *module = compile_wat(store,
        "(module"
        "  (import \"\" \"print\" (func $print (param i32) (result i32)))"
        "  (import \"\" \"closure\" (func $closure (result i32)))"
        "  (func (export \"run\") (param i32 i32) (result i32)"
        "    (i32.add (call $print (i32.add (local.get 0) (local.get 1))) (call $closure))))");
    CHECK(module != NULL);

    wasm_functype_t *print_type = wasm_functype_new_1_1(wasm_valtype_new_i32(), wasm_valtype_new_i32());
    wasm_func_t *print = wasm_func_new(store, print_type, print_callback);
    CHECK(wasm_func_param_arity(print) == 1 && wasm_func_result_arity(print) == 1);
    wasm_functype_delete(print_type);

    static int counter = 0;
    wasm_functype_t *closure_type = wasm_functype_new_0_1(wasm_valtype_new_i32());
    wasm_func_t *closure =
        wasm_func_new_with_env(store, closure_type, closure_callback, &counter, finalize_env);
    wasm_functype_delete(closure_type);
    CHECK(closure != NULL);

    wasm_extern_t *externs[] = {wasm_func_as_extern(print), wasm_func_as_extern(closure)};
    wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
    wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
    CHECK(instance != NULL);
    wasm_func_delete(print);
    wasm_func_delete(closure);

    wasm_extern_vec_t exports;
    wasm_instance_exports(instance, &exports);
    wasm_func_t *run = export_func(&exports, 0);
    wasm_val_t args[2] = {WASM_I32_VAL(3), WASM_I32_VAL(4)};
    wasm_val_t results[1] = {WASM_INIT_VAL};
    wasm_val_vec_t args_vec = WASM_ARRAY_VEC(args);
    wasm_val_vec_t results_vec = WASM_ARRAY_VEC(results);
    CHECK(wasm_func_call(run, &args_vec, &results_vec) == NULL);
    CHECK(results[0].kind == WASM_I32 && results[0].of.i32 == 7 + 43);
    printf("callback: run(3, 4) = %d\n", results[0].of.i32);

    wasm_extern_vec_delete(&exports);
    wasm_instance_delete(instance);
    wasm_module_delete(module);
    CHECK(env_finalized == 0); /* the store still holds the function */
    wasm_store_delete(store);
    CHECK(env_finalized == 1);
    printf("callback: environment finalized %d time(s)\n", env_finalized);
}

/* ---- multi: several results ---- */

static wasm_trap_t *swap_callback(const wasm_val_vec_t *args, wasm_val_vec_t *results) {
    CHECK(args->size == 4 && results->size == 4);
    results->data[0] = args->data[3];
    results->data[1] = args->data[2];
    results->data[2] = args->data[1];
    results->data[3] = args->data[0];
    return NULL;
}

static void multi(wasm_store_t *store) {
    wasm_module_t *module = compile_wat(store,
        "(module"
        "  (import \"\" \"swap\" (func $swap (param i32 i64 f32 f64) (result f64 f32 i64 i32)))"
        "  (func (export \"run\") (param i32 i64 f32 f64) (result f64 f32 i64 i32)"
        "    (call $swap (local.get 0) (local.get 1) (local.get 2) (local.get 3))))");
    CHECK(module != NULL);
    wasm_valtype_t *ps[4] = {wasm_valtype_new_i32(), wasm_valtype_new_i64(),
                             wasm_valtype_new_f32(), wasm_valtype_new_f64()};
    wasm_valtype_t *rs[4] = {wasm_valtype_new_f64(), wasm_valtype_new_f32(),
                             wasm_valtype_new_i64(), wasm_valtype_new_i32()};
    wasm_valtype_vec_t params, res;
    wasm_valtype_vec_new(&params, 4, ps);
    wasm_valtype_vec_new(&res, 4, rs);
    wasm_functype_t *type = wasm_functype_new(&params, &res);
    CHECK(params.size == 0 && res.size == 0); /* moved into the type */
    wasm_func_t *swap = wasm_func_new(store, type, swap_callback);
    wasm_functype_delete(type);

    wasm_extern_t *externs[] = {wasm_func_as_extern(swap)};
    wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
    wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
    CHECK(instance != NULL);
    wasm_extern_vec_t exports;
    wasm_instance_exports(instance, &exports);
    wasm_val_t args[4] = {WASM_I32_VAL(1), WASM_I64_VAL(2), WASM_F32_VAL(3.5f), WASM_F64_VAL(4.25)};
    wasm_val_t results[4] = {WASM_INIT_VAL, WASM_INIT_VAL, WASM_INIT_VAL, WASM_INIT_VAL};
    wasm_val_vec_t args_vec = WASM_ARRAY_VEC(args);
    wasm_val_vec_t results_vec = WASM_ARRAY_VEC(results);
    CHECK(wasm_func_call(export_func(&exports, 0), &args_vec, &results_vec) == NULL);
    CHECK(results[0].kind == WASM_F64 && results[0].of.f64 == 4.25);
    CHECK(results[1].kind == WASM_F32 && results[1].of.f32 == 3.5f);
    CHECK(results[2].kind == WASM_I64 && results[2].of.i64 == 2);
    CHECK(results[3].kind == WASM_I32 && results[3].of.i32 == 1);
    printf("multi: %g %g %lld %d\n", results[0].of.f64, (double)results[1].of.f32,
           (long long)results[2].of.i64, results[3].of.i32);
    wasm_extern_vec_delete(&exports);
    wasm_instance_delete(instance);
    wasm_func_delete(swap);
    wasm_module_delete(module);
}

/* ---- reflect ---- */

static void print_name(const wasm_name_t *name) { printf("%.*s", (int)name->size, name->data); }

static void print_valtypes(const wasm_valtype_vec_t *types) {
    for (size_t i = 0; i < types->size; i++) printf("%s%u", i ? " " : "", wasm_valtype_kind(types->data[i]));
}

static void print_externtype(const wasm_externtype_t *type) {
    switch (wasm_externtype_kind(type)) {
    case WASM_EXTERN_FUNC: {
        const wasm_functype_t *f = wasm_externtype_as_functype_const(type);
        printf("func (");
        print_valtypes(wasm_functype_params(f));
        printf(") -> (");
        print_valtypes(wasm_functype_results(f));
        printf(")");
        break;
    }
    case WASM_EXTERN_GLOBAL: {
        const wasm_globaltype_t *g = wasm_externtype_as_globaltype_const(type);
        printf("global %s %u", wasm_globaltype_mutability(g) == WASM_VAR ? "var" : "const",
               wasm_valtype_kind(wasm_globaltype_content(g)));
        break;
    }
    case WASM_EXTERN_TABLE: {
        const wasm_tabletype_t *t = wasm_externtype_as_tabletype_const(type);
        const wasm_limits_t *l = wasm_tabletype_limits(t);
        printf("table %u %u..%u", wasm_valtype_kind(wasm_tabletype_element(t)), l->min, l->max);
        break;
    }
    case WASM_EXTERN_MEMORY: {
        const wasm_limits_t *l = wasm_memorytype_limits(wasm_externtype_as_memorytype_const(type));
        printf("memory %u..%u", l->min, l->max);
        break;
    }
    default:
        printf("?");
    }
}

static void reflect(wasm_store_t *store) {
    wasm_module_t *module = compile_wat(store,
        "(module"
        "  (import \"env\" \"f\" (func (param i64) (result f32)))"
        "  (import \"env\" \"g\" (global (mut f64)))"
        "  (func (export \"func\") (param i32 externref) (result funcref) ref.null func)"
        "  (global (export \"global\") i64 (i64.const 0))"
        "  (table (export \"table\") 2 5 funcref)"
        "  (memory (export \"memory\") 1))");
    CHECK(module != NULL);
    wasm_importtype_vec_t imports;
    wasm_module_imports(module, &imports);
    CHECK(imports.size == 2);
    for (size_t i = 0; i < imports.size; i++) {
        printf("reflect: import ");
        print_name(wasm_importtype_module(imports.data[i]));
        printf(".");
        print_name(wasm_importtype_name(imports.data[i]));
        printf(": ");
        print_externtype(wasm_importtype_type(imports.data[i]));
        printf("\n");
    }
    wasm_importtype_vec_delete(&imports);

    wasm_exporttype_vec_t exports;
    wasm_module_exports(module, &exports);
    CHECK(exports.size == 4);
    for (size_t i = 0; i < exports.size; i++) {
        printf("reflect: export ");
        print_name(wasm_exporttype_name(exports.data[i]));
        printf(": ");
        print_externtype(wasm_exporttype_type(exports.data[i]));
        printf("\n");
    }

    /* Instantiate with host objects and compare the exports' types with the module's. */
    wasm_functype_t *ft = wasm_functype_new_1_1(wasm_valtype_new_i64(), wasm_valtype_new_f32());
    wasm_func_t *f = wasm_func_new(store, ft, hello_callback);
    wasm_functype_delete(ft);
    wasm_globaltype_t *gt = wasm_globaltype_new(wasm_valtype_new_f64(), WASM_VAR);
    wasm_val_t init = WASM_F64_VAL(1.5);
    wasm_global_t *g = wasm_global_new(store, gt, &init);
    wasm_globaltype_delete(gt);
    wasm_extern_t *externs[] = {wasm_func_as_extern(f), wasm_global_as_extern(g)};
    wasm_extern_vec_t import_vec = WASM_ARRAY_VEC(externs);
    wasm_instance_t *instance = wasm_instance_new(store, module, &import_vec, NULL);
    CHECK(instance != NULL);
    wasm_extern_vec_t objects;
    wasm_instance_exports(instance, &objects);
    CHECK(objects.size == exports.size);
    for (size_t i = 0; i < objects.size && i < exports.size; i++) {
        wasm_externtype_t *type = wasm_extern_type(objects.data[i]);
        CHECK(wasm_extern_kind(objects.data[i]) == wasm_externtype_kind(type));
        CHECK(wasm_externtype_kind(type) == wasm_externtype_kind(wasm_exporttype_type(exports.data[i])));
        wasm_externtype_delete(type);
    }
    wasm_functype_t *func_type = wasm_func_type(wasm_extern_as_func(objects.data[0]));
    CHECK(wasm_functype_params(func_type)->size == 2);
    CHECK(wasm_valtype_kind(wasm_functype_params(func_type)->data[1]) == WASM_EXTERNREF);
    CHECK(wasm_valtype_kind(wasm_functype_results(func_type)->data[0]) == WASM_FUNCREF);
    wasm_functype_delete(func_type);
    wasm_extern_vec_delete(&objects);
    wasm_exporttype_vec_delete(&exports);
    wasm_instance_delete(instance);
    wasm_func_delete(f);
    wasm_global_delete(g);
    wasm_module_delete(module);
}

/* ---- start: a start function that traps ---- */

static void start(wasm_store_t *store) {
    wasm_module_t *module = compile_wat(store,
        "(module (func $boom unreachable) (func $start call $boom) (start $start))");
    CHECK(module != NULL);
    wasm_extern_vec_t imports = WASM_EMPTY_VEC;
    wasm_trap_t *trap = NULL;
    wasm_instance_t *instance = wasm_instance_new(store, module, &imports, &trap);
    CHECK(instance == NULL && trap != NULL);
    wasm_frame_t *origin = wasm_trap_origin(trap);
    CHECK(origin != NULL && wasm_frame_func_index(origin) == 0);
    CHECK(wasm_frame_instance(origin) == NULL && wasm_frame_module_offset(origin) > 0);
    wasm_frame_vec_t trace;
    wasm_trap_trace(trap, &trace);
    CHECK(trace.size == 2);
    if (trace.size == 2) {
        CHECK(wasm_frame_func_index(trace.data[0]) == 0 && wasm_frame_func_index(trace.data[1]) == 1);
        printf("start: trace func[%u] func[%u]\n", wasm_frame_func_index(trace.data[0]),
               wasm_frame_func_index(trace.data[1]));
    }
    wasm_frame_delete(origin);
    wasm_frame_vec_delete(&trace);
    char buf[256];
    printf("start: %s\n", trap_text(trap, buf, sizeof buf));
    CHECK(strstr(buf, "unreachable") != NULL);
    wasm_module_delete(module);
}

int main(void) {
    wasm_engine_t *engine = wasm_engine_new();
    wasm_store_t *store = wasm_store_new(engine);
    hello(store);
    callback(engine);
    multi(store);
    reflect(store);
    start(store);
    wasm_store_delete(store);
    wasm_engine_delete(engine);
    return finish("std_basics");
}
