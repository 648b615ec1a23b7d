/*
 * The standard C API (wasm.h): what the wasm-c-api examples finalize and hostref do -- host info
 * with finalizers on instances and other references (each finalizer runs exactly once), foreign
 * objects passed through externref globals, tables, calls and host callbacks with their identity
 * and host info intact; and funcref values passed to and returned from wasm.
 * Usage: std_refs [iterations of the finalize loop]
 */
#include "std_util.h"

static int live = 0;
static int finalized = 0;

static void finalize(void *data) {
    (void)data;
    live--;
    finalized++;
}

static void run_in_store(wasm_store_t *store, int iterations) {
    wasm_module_t *module = compile_wat(store, "(module (func (export \"f\")) (global i32 (i32.const 0)))");
    CHECK(module != NULL);
    for (int i = 0; i < iterations; i++) {
        wasm_extern_vec_t imports = WASM_EMPTY_VEC;
        wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
        if (!instance) {
            failures++;
            break;
        }
        wasm_instance_set_host_info_with_finalizer(instance, (void *)(intptr_t)i, finalize);
        live++;
        CHECK(wasm_instance_get_host_info(instance) == (void *)(intptr_t)i);
        wasm_instance_delete(instance);
    }
    wasm_module_delete(module);
}

static void finalize_test(wasm_engine_t *engine, int iterations) {
    wasm_store_t *store1 = wasm_store_new(engine);
    wasm_store_t *store2 = wasm_store_new(engine);
    run_in_store(store1, iterations);
    run_in_store(store2, iterations);
    wasm_store_delete(store2);
    run_in_store(store1, iterations);
    wasm_store_delete(store1);
    CHECK(live == 0 && finalized == 3 * iterations);

    /* Replacing host info runs the previous finalizer; copies share host info; setting host info
     * on every kind of reference. */
    wasm_store_t *store = wasm_store_new(engine);
    int before = finalized;
    wasm_foreign_t *foreign = wasm_foreign_new(store);
    live++;
    wasm_foreign_set_host_info_with_finalizer(foreign, &live, finalize);
    wasm_foreign_t *copy = wasm_foreign_copy(foreign);
    CHECK(wasm_foreign_get_host_info(copy) == &live);
    live++;
    wasm_foreign_set_host_info_with_finalizer(copy, &finalized, finalize); /* replaces: one runs */
    CHECK(finalized == before + 1 && wasm_foreign_get_host_info(foreign) == &finalized);
    wasm_foreign_delete(foreign);
    CHECK(finalized == before + 1); /* the copy still holds it */
    wasm_foreign_delete(copy);
    CHECK(finalized == before + 2 && live == 0);

    wasm_module_t *module = compile_wat(store,
        "(module (func (export \"f\")) (global (export \"g\") i32 (i32.const 0))"
        " (table (export \"t\") 1 funcref) (memory (export \"m\") 1))");
    wasm_module_set_host_info_with_finalizer(module, &live, finalize);
    live++;
    CHECK(wasm_module_get_host_info(module) == &live);
    wasm_extern_vec_t imports = WASM_EMPTY_VEC;
    wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
    wasm_extern_vec_t exports;
    wasm_instance_exports(instance, &exports);
    CHECK(exports.size == 4);
    wasm_func_set_host_info_with_finalizer(wasm_extern_as_func(exports.data[0]), &live, finalize);
    wasm_global_set_host_info_with_finalizer(wasm_extern_as_global(exports.data[1]), &live, finalize);
    wasm_table_set_host_info_with_finalizer(wasm_extern_as_table(exports.data[2]), &live, finalize);
    wasm_memory_set_host_info_with_finalizer(wasm_extern_as_memory(exports.data[3]), &live, finalize);
    live += 4;
    wasm_func_set_host_info(wasm_extern_as_func(exports.data[0]), NULL); /* finalizes */
    wasm_global_set_host_info(wasm_extern_as_global(exports.data[1]), &live); /* finalizes too */
    CHECK(wasm_func_get_host_info(wasm_extern_as_func(exports.data[0])) == NULL);
    CHECK(wasm_global_get_host_info(wasm_extern_as_global(exports.data[1])) == &live);
    CHECK(wasm_table_get_host_info(wasm_extern_as_table(exports.data[2])) == &live);
    CHECK(wasm_memory_get_host_info(wasm_extern_as_memory(exports.data[3])) == &live);
    CHECK(live == 3); /* module, table, memory */
    wasm_extern_set_host_info(exports.data[2], &live);
    wasm_extern_set_host_info_with_finalizer(exports.data[3], &live, NULL);
    CHECK(wasm_extern_get_host_info(exports.data[3]) == &live);
    wasm_instance_set_host_info(instance, &live);
    wasm_ref_set_host_info_with_finalizer(wasm_instance_as_ref(instance), &live, finalize);
    live++;
    CHECK(wasm_ref_get_host_info(wasm_instance_as_ref_const(instance)) == &live);
    wasm_ref_set_host_info(wasm_module_as_ref(module), &live);
    wasm_extern_vec_delete(&exports);
    wasm_instance_delete(instance);
    wasm_module_delete(module);
    wasm_store_delete(store);
    CHECK(live == 0);
    printf("finalize: %d finalizers ran, %d live\n", finalized, live);
}

/* ---- hostref ---- */

static wasm_trap_t *identity_callback(const wasm_val_vec_t *args, wasm_val_vec_t *results) {
    CHECK(args->data[0].kind == WASM_EXTERNREF);
    wasm_val_copy(&results->data[0], &args->data[0]);
    return NULL;
}

static wasm_ref_t *call_ref(const wasm_func_t *func, int nargs, int32_t i, wasm_ref_t *ref) {
    wasm_val_t args[2] = {WASM_I32_VAL(i), WASM_REF_VAL(ref)};
    wasm_val_t results[1] = {WASM_INIT_VAL};
    wasm_val_vec_t args_vec = {(size_t)nargs, nargs == 1 ? args + 1 : args};
    if (nargs == -1) { /* only the i32 */
        args_vec.size = 1;
        args_vec.data = args;
    }
    wasm_val_vec_t results_vec = {wasm_func_result_arity(func), results};
    wasm_trap_t *trap = wasm_func_call(func, &args_vec, &results_vec);
    if (trap) {
        char buf[256];
        printf("unexpected trap: %s\n", trap_text(trap, buf, sizeof buf));
        failures++;
        return NULL;
    }
    return results_vec.size ? results[0].of.ref : NULL;
}

/* Checks that `actual` (owned, deleted here) denotes `expected` (NULL: null). */
static void expect_ref(wasm_ref_t *actual, const wasm_ref_t *expected, int line) {
    int ok = actual == expected || (actual && expected && wasm_ref_same(actual, expected));
    if (ok && actual) ok = wasm_ref_get_host_info(actual) == wasm_ref_get_host_info(expected);
    if (!ok) {
        printf("FAIL line %d: reference mismatch\n", line);
        failures++;
    }
    wasm_ref_delete(actual);
}

static void hostref(wasm_store_t *store) {
    wasm_module_t *module = compile_wat(store,
        "(module"
        "  (import \"\" \"f\" (func $f (param externref) (result externref)))"
        "  (global $g (export \"global\") (mut externref) (ref.null extern))"
        "  (table $t (export \"table\") 10 externref)"
        "  (func (export \"global.set\") (param externref) (global.set $g (local.get 0)))"
        "  (func (export \"global.get\") (result externref) (global.get $g))"
        "  (func (export \"table.set\") (param i32 externref) (table.set $t (local.get 0) (local.get 1)))"
        "  (func (export \"table.get\") (param i32) (result externref) (table.get $t (local.get 0)))"
        "  (func (export \"func.call\") (param externref) (result externref) (call $f (local.get 0))))");
    CHECK(module != NULL);
    wasm_functype_t *ft = wasm_functype_new_1_1(wasm_valtype_new_externref(), wasm_valtype_new_externref());
    wasm_func_t *f = wasm_func_new(store, ft, identity_callback);
    wasm_functype_delete(ft);
    wasm_extern_t *externs[] = {wasm_func_as_extern(f)};
    wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
    wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
    CHECK(instance != NULL);
    wasm_func_delete(f);
    wasm_module_delete(module);
    wasm_extern_vec_t exports;
    wasm_instance_exports(instance, &exports);
    wasm_instance_delete(instance);
    wasm_global_t *global = wasm_extern_as_global(exports.data[0]);
    wasm_table_t *table = wasm_extern_as_table(exports.data[1]);
    wasm_func_t *global_set = export_func(&exports, 2), *global_get = export_func(&exports, 3);
    wasm_func_t *table_set = export_func(&exports, 4), *table_get = export_func(&exports, 5);
    wasm_func_t *func_call = export_func(&exports, 6);

    wasm_ref_t *host1 = wasm_foreign_as_ref(wasm_foreign_new(store));
    wasm_ref_t *host2 = wasm_foreign_as_ref(wasm_foreign_new(store));
    wasm_ref_set_host_info(host1, (void *)1);
    wasm_ref_set_host_info(host2, (void *)2);
    CHECK(!wasm_ref_same(host1, host2) && wasm_ref_as_foreign(host1) != NULL);
    CHECK(wasm_ref_as_foreign_const(host1) != NULL && wasm_foreign_as_ref_const(wasm_ref_as_foreign(host1)) == host1);
    CHECK(wasm_foreign_same(wasm_ref_as_foreign(host1), wasm_ref_as_foreign(host1)));
    expect_ref(wasm_ref_copy(host1), host1, __LINE__);
    wasm_val_t val = {.kind = WASM_EXTERNREF, .of = {.ref = wasm_ref_copy(host2)}};
    wasm_val_t val2;
    wasm_val_copy(&val2, &val);
    expect_ref(wasm_ref_copy(val2.of.ref), host2, __LINE__);
    wasm_val_delete(&val);
    wasm_val_delete(&val2);

    /* Globals. */
    expect_ref(call_ref(global_get, 0, 0, NULL), NULL, __LINE__);
    call_ref(global_set, 1, 0, host1);
    expect_ref(call_ref(global_get, 0, 0, NULL), host1, __LINE__);
    call_ref(global_set, 1, 0, host2);
    expect_ref(call_ref(global_get, 0, 0, NULL), host2, __LINE__);
    call_ref(global_set, 1, 0, NULL);
    expect_ref(call_ref(global_get, 0, 0, NULL), NULL, __LINE__);
    wasm_global_get(global, &val);
    CHECK(val.kind == WASM_EXTERNREF);
    expect_ref(val.of.ref, NULL, __LINE__);
    val.of.ref = host2;
    wasm_global_set(global, &val);
    expect_ref(call_ref(global_get, 0, 0, NULL), host2, __LINE__);
    wasm_global_get(global, &val);
    expect_ref(val.of.ref, host2, __LINE__);

    /* Tables. */
    expect_ref(call_ref(table_get, -1, 0, NULL), NULL, __LINE__);
    call_ref(table_set, 2, 0, host1);
    call_ref(table_set, 2, 1, host2);
    expect_ref(call_ref(table_get, -1, 0, NULL), host1, __LINE__);
    expect_ref(call_ref(table_get, -1, 1, NULL), host2, __LINE__);
    call_ref(table_set, 2, 0, NULL);
    expect_ref(call_ref(table_get, -1, 0, NULL), NULL, __LINE__);
    expect_ref(wasm_table_get(table, 2), NULL, __LINE__);
    CHECK(wasm_table_set(table, 2, host1));
    expect_ref(call_ref(table_get, -1, 2, NULL), host1, __LINE__);
    expect_ref(wasm_table_get(table, 2), host1, __LINE__);

    /* Through a host function. */
    expect_ref(call_ref(func_call, 1, 0, NULL), NULL, __LINE__);
    expect_ref(call_ref(func_call, 1, 0, host1), host1, __LINE__);
    expect_ref(call_ref(func_call, 1, 0, host2), host2, __LINE__);

    /* A function is not an externref. */
    wasm_val_t bad[1] = {{.kind = WASM_EXTERNREF, .of = {.ref = wasm_func_as_ref(func_call)}}};
    wasm_val_t out[1] = {WASM_INIT_VAL};
    wasm_val_vec_t bad_vec = WASM_ARRAY_VEC(bad), out_vec = WASM_ARRAY_VEC(out);
    wasm_trap_t *trap = wasm_func_call(func_call, &bad_vec, &out_vec);
    CHECK(trap != NULL);
    wasm_trap_delete(trap);

    wasm_ref_delete(host1);
    wasm_ref_delete(host2);
    wasm_extern_vec_delete(&exports);
    printf("hostref: ok\n");
}

/* ---- funcref values ---- */

static wasm_trap_t *pick_callback(const wasm_val_vec_t *args, wasm_val_vec_t *results) {
    /* Returns its second argument (a funcref) unless it is null, else the first. */
    CHECK(args->data[0].kind == WASM_FUNCREF && args->data[1].kind == WASM_FUNCREF);
    wasm_val_copy(&results->data[0], args->data[1].of.ref ? &args->data[1] : &args->data[0]);
    return NULL;
}

static void funcrefs(wasm_store_t *store) {
    wasm_module_t *module = compile_wat(store,
        "(module"
        "  (type $v_i (func (result i32)))"
        "  (import \"\" \"pick\" (func $pick (param funcref funcref) (result funcref)))"
        "  (table 1 funcref)"
        "  (func $seven (export \"seven\") (result i32) i32.const 7)"
        "  (func (export \"get\") (result funcref) ref.func $seven)"
        "  (func (export \"call\") (param funcref) (result i32)"
        "    (table.set (i32.const 0) (local.get 0)) (call_indirect (type $v_i) (i32.const 0)))"
        "  (func (export \"pick\") (param funcref funcref) (result funcref)"
        "    (call $pick (local.get 0) (local.get 1))))");
    CHECK(module != NULL);
    wasm_functype_t *ft = wasm_functype_new_2_1(wasm_valtype_new_funcref(), wasm_valtype_new_funcref(),
                                                wasm_valtype_new_funcref());
    wasm_func_t *pick = wasm_func_new(store, ft, pick_callback);
    wasm_functype_delete(ft);
    wasm_extern_t *externs[] = {wasm_func_as_extern(pick)};
    wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
    wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
    CHECK(instance != NULL);
    wasm_extern_vec_t exports;
    wasm_instance_exports(instance, &exports);
    wasm_func_t *seven = export_func(&exports, 0);

    wasm_val_t results[1] = {WASM_INIT_VAL};
    wasm_val_vec_t none = WASM_EMPTY_VEC, results_vec = WASM_ARRAY_VEC(results);
    CHECK(wasm_func_call(export_func(&exports, 1), &none, &results_vec) == NULL);
    CHECK(results[0].kind == WASM_FUNCREF && results[0].of.ref != NULL);
    wasm_ref_t *got = results[0].of.ref;
    CHECK(wasm_func_same(wasm_ref_as_func(got), seven));

    wasm_val_t args[2] = {{.kind = WASM_FUNCREF, .of = {.ref = got}}, {.kind = WASM_FUNCREF, .of = {.ref = NULL}}};
    wasm_val_vec_t one_arg = {1, args};
    CHECK(wasm_func_call(export_func(&exports, 2), &one_arg, &results_vec) == NULL);
    CHECK(results[0].kind == WASM_I32 && results[0].of.i32 == 7);

    wasm_val_vec_t two_args = WASM_ARRAY_VEC(args);
    CHECK(wasm_func_call(export_func(&exports, 3), &two_args, &results_vec) == NULL);
    CHECK(results[0].kind == WASM_FUNCREF && wasm_func_same(wasm_ref_as_func(results[0].of.ref), seven));
    wasm_val_delete(&results[0]);
    /* A host function as a funcref value, through wasm and back. */
    args[1].of.ref = wasm_func_as_ref(pick);
    CHECK(wasm_func_call(export_func(&exports, 3), &two_args, &results_vec) == NULL);
    CHECK(results[0].of.ref && wasm_func_same(wasm_ref_as_func(results[0].of.ref), pick));
    wasm_val_delete(&results[0]);
    /* A foreign object is not a funcref. */
    wasm_foreign_t *foreign = wasm_foreign_new(store);
    args[0].of.ref = wasm_foreign_as_ref(foreign);
    wasm_trap_t *trap = wasm_func_call(export_func(&exports, 2), &one_arg, &results_vec);
    CHECK(trap != NULL);
    wasm_trap_delete(trap);
    wasm_foreign_delete(foreign);

    wasm_ref_delete(got);
    wasm_func_delete(pick);
    wasm_extern_vec_delete(&exports);
    wasm_instance_delete(instance);
    wasm_module_delete(module);
    printf("funcrefs: ok\n");
}

int main(int argc, char **argv) {
    int iterations = argc > 1 ? atoi(argv[1]) : 10000;
    wasm_engine_t *engine = wasm_engine_new();
    finalize_test(engine, iterations);
    wasm_store_t *store = wasm_store_new(engine);
    hostref(store);
    funcrefs(store);
    wasm_store_delete(store);
    wasm_engine_delete(engine);
    return finish("std_refs");
}
