/*
 * The standard C API (wasm.h): what the wasm-c-api examples global, memory and table do --
 * imported and exported globals read and written from both sides, a memory's data, size and
 * growth, funcref tables with call_indirect, and host-made globals, memories and tables.
 */
#include "std_util.h"
#include <wasmz.h> /* both headers in one file; for explicit bounds checks (see main) */

static wasm_val_t call1(const wasm_func_t *func, wasm_val_t arg, size_t nargs) {
    wasm_val_t args[1] = {arg};
    wasm_val_t results[1] = {WASM_INIT_VAL};
    wasm_val_vec_t args_vec = {nargs, args};
    wasm_val_vec_t results_vec = WASM_ARRAY_VEC(results);
    wasm_trap_t *trap = wasm_func_call(func, &args_vec, &results_vec);
    if (trap) {
        char buf[256];
        printf("unexpected trap: %s\n", trap_text(trap, buf, sizeof buf));
        failures++;
    }
    return results[0];
}

static void globals(wasm_store_t *store) {
    wasm_module_t *module = compile_wat(store,
        "(module"
        "  (import \"\" \"const\" (global $ci f32))"
        "  (import \"\" \"var\" (global $vi (mut i64)))"
        "  (global $ve (export \"var\") (mut i32) (i32.const 7))"
        "  (func (export \"get_ci\") (result f32) global.get $ci)"
        "  (func (export \"get_vi\") (result i64) global.get $vi)"
        "  (func (export \"set_vi\") (param i64) (global.set $vi (local.get 0)))"
        "  (func (export \"get_ve\") (result i32) global.get $ve))");
    CHECK(module != NULL);
    wasm_globaltype_t *ct = wasm_globaltype_new(wasm_valtype_new_f32(), WASM_CONST);
    wasm_globaltype_t *vt = wasm_globaltype_new(wasm_valtype_new_i64(), WASM_VAR);
    wasm_val_t c = WASM_F32_VAL(1.5f), v = WASM_I64_VAL(10);
    wasm_global_t *cg = wasm_global_new(store, ct, &c);
    wasm_global_t *vg = wasm_global_new(store, vt, &v);
    CHECK(cg && vg);
    wasm_val_t wrong = WASM_I32_VAL(1);
    CHECK(wasm_global_new(store, ct, &wrong) == NULL); /* kind mismatch */
    wasm_globaltype_delete(ct);
    wasm_globaltype_delete(vt);

    wasm_extern_t *externs[] = {wasm_global_as_extern(cg), wasm_global_as_extern(vg)};
    wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
    wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
    CHECK(instance != NULL);
    wasm_extern_vec_t exports;
    wasm_instance_exports(instance, &exports);
    wasm_global_t *ve = wasm_extern_as_global(exports.data[0]);
    CHECK(ve != NULL && wasm_extern_as_func(exports.data[0]) == NULL);
    wasm_val_t none = WASM_INIT_VAL;

    CHECK(call1(export_func(&exports, 1), none, 0).of.f32 == 1.5f);
    CHECK(call1(export_func(&exports, 2), none, 0).of.i64 == 10);
    wasm_val_t x = WASM_I64_VAL(-5);
    wasm_global_set(vg, &x); /* host writes, wasm reads */
    CHECK(call1(export_func(&exports, 2), none, 0).of.i64 == -5);
    wasm_val_t set_args[1] = {WASM_I64_VAL(99)};
    wasm_val_vec_t set_vec = WASM_ARRAY_VEC(set_args);
    wasm_val_vec_t no_results = WASM_EMPTY_VEC;
    CHECK(wasm_func_call(export_func(&exports, 3), &set_vec, &no_results) == NULL); /* wasm writes */
    wasm_val_t got;
    wasm_global_get(vg, &got);
    CHECK(got.kind == WASM_I64 && got.of.i64 == 99);
    wasm_global_set(cg, &x); /* immutable: ignored */
    wasm_global_get(cg, &got);
    CHECK(got.kind == WASM_F32 && got.of.f32 == 1.5f);
    wasm_global_get(ve, &got);
    CHECK(got.kind == WASM_I32 && got.of.i32 == 7);
    wasm_val_t y = WASM_I32_VAL(8);
    wasm_global_set(ve, &y);
    wasm_global_set(ve, &x); /* wrong kind: ignored */
    CHECK(call1(export_func(&exports, 4), none, 0).of.i32 == 8);

    wasm_globaltype_t *type = wasm_global_type(ve);
    CHECK(wasm_globaltype_mutability(type) == WASM_VAR);
    CHECK(wasm_valtype_kind(wasm_globaltype_content(type)) == WASM_I32);
    wasm_globaltype_delete(type);
    printf("globals: ok\n");
    wasm_extern_vec_delete(&exports);
    wasm_instance_delete(instance);
    wasm_global_delete(cg);
    wasm_global_delete(vg);
    wasm_module_delete(module);
}

static void memories(wasm_store_t *store) {
    wasm_module_t *module = compile_wat(store,
        "(module"
        "  (memory (export \"memory\") 2 3)"
        "  (func (export \"size\") (result i32) memory.size)"
        "  (func (export \"load\") (param i32) (result i32) (i32.load8_s (local.get 0)))"
        "  (func (export \"store\") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))"
        "  (data (i32.const 0x1000) \"\\01\\02\\03\\04\"))");
    CHECK(module != NULL);
    wasm_extern_vec_t imports = WASM_EMPTY_VEC;
    wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
    wasm_extern_vec_t exports;
    wasm_instance_exports(instance, &exports);
    wasm_memory_t *memory = wasm_extern_as_memory(exports.data[0]);
    CHECK(memory != NULL);
    CHECK(wasm_memory_size(memory) == 2);
    CHECK(wasm_memory_data_size(memory) == 2 * MEMORY_PAGE_SIZE);
    byte_t *data = wasm_memory_data(memory);
    CHECK(data[0] == 0 && data[0x1000] == 1 && data[0x1003] == 4);
    data[0x1003] = 5;
    wasm_val_t none = WASM_INIT_VAL;
    CHECK(call1(export_func(&exports, 2), (wasm_val_t)WASM_I32_VAL(0x1003), 1).of.i32 == 5);
    wasm_val_t args[2] = {WASM_I32_VAL(0x1002), WASM_I32_VAL(6)};
    wasm_val_vec_t args_vec = WASM_ARRAY_VEC(args);
    wasm_val_vec_t no_results = WASM_EMPTY_VEC;
    CHECK(wasm_func_call(export_func(&exports, 3), &args_vec, &no_results) == NULL);
    CHECK(data[0x1002] == 6);
    /* Out of bounds traps. */
    args[0].of.i32 = 0x20000;
    wasm_trap_t *trap = wasm_func_call(export_func(&exports, 3), &args_vec, &no_results);
    CHECK(trap != NULL);
    wasm_trap_delete(trap);

    CHECK(wasm_memory_grow(memory, 1));
    CHECK(wasm_memory_size(memory) == 3);
    CHECK(call1(export_func(&exports, 1), none, 0).of.i32 == 3);
    CHECK(wasm_memory_data(memory) == data); /* grows in place */
    CHECK(!wasm_memory_grow(memory, 1)); /* past the maximum */
    CHECK(wasm_memory_grow(memory, 0));

    wasm_memorytype_t *type = wasm_memory_type(memory);
    CHECK(wasm_memorytype_limits(type)->min == 3 && wasm_memorytype_limits(type)->max == 3);
    wasm_memorytype_delete(type);

    /* A memory made by the host, without maximum. */
    wasm_limits_t limits = {1, wasm_limits_max_default};
    wasm_memorytype_t *mt = wasm_memorytype_new(&limits);
    wasm_memory_t *host = wasm_memory_new(store, mt);
    wasm_memorytype_delete(mt);
    CHECK(host != NULL && wasm_memory_size(host) == 1);
    CHECK(wasm_memory_grow(host, 2) && wasm_memory_size(host) == 3);
    wasm_memory_data(host)[3 * MEMORY_PAGE_SIZE - 1] = 1;
    wasm_memory_t *copy = wasm_memory_copy(host);
    CHECK(wasm_memory_same(copy, host) && !wasm_memory_same(copy, memory));
    wasm_memory_delete(copy);
    wasm_memory_delete(host);
    printf("memories: ok\n");
    wasm_extern_vec_delete(&exports);
    wasm_instance_delete(instance);
    wasm_module_delete(module);
}

static wasm_trap_t *neg_callback(const wasm_val_vec_t *args, wasm_val_vec_t *results) {
    results->data[0].kind = WASM_I32;
    results->data[0].of.i32 = -args->data[0].of.i32;
    return NULL;
}

static void tables(wasm_store_t *store) {
    wasm_module_t *module = compile_wat(store,
        "(module"
        "  (type $i_i (func (param i32) (result i32)))"
        "  (table (export \"table\") 2 10 funcref)"
        "  (func $double (export \"double\") (type $i_i) (i32.mul (local.get 0) (i32.const 2)))"
        "  (func (export \"call\") (param i32 i32) (result i32)"
        "    (call_indirect (type $i_i) (local.get 0) (local.get 1)))"
        "  (elem (i32.const 1) $double))");
    CHECK(module != NULL);
    wasm_extern_vec_t imports = WASM_EMPTY_VEC;
    wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
    wasm_extern_vec_t exports;
    wasm_instance_exports(instance, &exports);
    wasm_table_t *table = wasm_extern_as_table(exports.data[0]);
    wasm_func_t *dbl = export_func(&exports, 1);
    wasm_func_t *call = export_func(&exports, 2);
    CHECK(table && dbl && call);
    CHECK(wasm_table_size(table) == 2);
    CHECK(wasm_table_get(table, 0) == NULL); /* null element */
    CHECK(wasm_table_get(table, 99) == NULL); /* out of bounds */
    wasm_ref_t *elem = wasm_table_get(table, 1);
    CHECK(elem != NULL && wasm_ref_as_func(elem) != NULL);
    CHECK(wasm_func_same(wasm_ref_as_func(elem), dbl));
    wasm_ref_delete(elem);

    wasm_val_t args[2] = {WASM_I32_VAL(21), WASM_I32_VAL(1)};
    wasm_val_t results[1] = {WASM_INIT_VAL};
    wasm_val_vec_t args_vec = WASM_ARRAY_VEC(args);
    wasm_val_vec_t results_vec = WASM_ARRAY_VEC(results);
    CHECK(wasm_func_call(call, &args_vec, &results_vec) == NULL && results[0].of.i32 == 42);
    args[1].of.i32 = 0; /* null element: traps */
    wasm_trap_t *trap = wasm_func_call(call, &args_vec, &results_vec);
    CHECK(trap != NULL);
    wasm_trap_delete(trap);

    /* A host function in the table. */
    wasm_functype_t *type = wasm_functype_new_1_1(wasm_valtype_new_i32(), wasm_valtype_new_i32());
    wasm_func_t *neg = wasm_func_new(store, type, neg_callback);
    wasm_functype_delete(type);
    CHECK(wasm_table_set(table, 0, wasm_func_as_ref(neg)));
    CHECK(!wasm_table_set(table, 5, wasm_func_as_ref(neg))); /* out of bounds */
    CHECK(wasm_func_call(call, &args_vec, &results_vec) == NULL && results[0].of.i32 == -21);
    CHECK(wasm_table_set(table, 0, NULL));

    /* Growing. */
    CHECK(wasm_table_grow(table, 3, wasm_func_as_ref(neg)));
    CHECK(wasm_table_size(table) == 5);
    args[1].of.i32 = 4;
    CHECK(wasm_func_call(call, &args_vec, &results_vec) == NULL && results[0].of.i32 == -21);
    CHECK(!wasm_table_grow(table, 6, NULL)); /* past the maximum */
    CHECK(wasm_table_grow(table, 0, NULL));

    wasm_tabletype_t *tt = wasm_table_type(table);
    CHECK(wasm_valtype_kind(wasm_tabletype_element(tt)) == WASM_FUNCREF);
    CHECK(wasm_tabletype_limits(tt)->min == 5 && wasm_tabletype_limits(tt)->max == 10);
    wasm_tabletype_delete(tt);

    /* Tables made by the host: funcref initialized with a function, externref with a foreign. */
    wasm_limits_t limits = {2, wasm_limits_max_default};
    wasm_tabletype_t *ft = wasm_tabletype_new(wasm_valtype_new_funcref(), &limits);
    wasm_table_t *host = wasm_table_new(store, ft, wasm_func_as_ref(dbl));
    CHECK(host != NULL && wasm_table_size(host) == 2);
    wasm_ref_t *r = wasm_table_get(host, 1);
    CHECK(r && wasm_func_same(wasm_ref_as_func(r), dbl));
    /* A function taken from a table is callable. */
    wasm_val_t a[1] = {WASM_I32_VAL(5)};
    wasm_val_vec_t a_vec = WASM_ARRAY_VEC(a);
    wasm_val_vec_t r_vec = {1, results};
    CHECK(wasm_func_call(wasm_ref_as_func(r), &a_vec, &r_vec) == NULL && results[0].of.i32 == 10);
    wasm_ref_delete(r);
    wasm_foreign_t *foreign = wasm_foreign_new(store);
    CHECK(!wasm_table_set(host, 0, wasm_foreign_as_ref(foreign))); /* not a function */
    wasm_tabletype_delete(ft);
    wasm_table_delete(host);

    wasm_tabletype_t *et = wasm_tabletype_new(wasm_valtype_new_externref(), &limits);
    wasm_table_t *externs = wasm_table_new(store, et, wasm_foreign_as_ref(foreign));
    CHECK(externs != NULL);
    r = wasm_table_get(externs, 0);
    CHECK(r && wasm_ref_same(r, wasm_foreign_as_ref(foreign)));
    wasm_ref_delete(r);
    CHECK(!wasm_table_set(externs, 1, wasm_func_as_ref(dbl))); /* a function is not a foreign */
    CHECK(wasm_table_new(store, et, wasm_func_as_ref(dbl)) == NULL);
    wasm_tabletype_delete(et);
    wasm_table_delete(externs);
    wasm_foreign_delete(foreign);

    printf("tables: ok\n");
    wasm_func_delete(neg);
    wasm_extern_vec_delete(&exports);
    wasm_instance_delete(instance);
    wasm_module_delete(module);
}

/* wasmz.h extensions: fuel and memory budgets, for wasm.h stores and wasmz.h stores. */
static void fuel_and_budget(void) {
    wasmz_config_t *settings = wasmz_config_new();
    CHECK(wasmz_config_consume_fuel(settings, true) == NULL);
    CHECK(wasmz_config_memory_budget(settings, 64u << 20) == NULL);
    wasmz_error_t *error = wasmz_config_consume_fuel(NULL, true);
    CHECK(error != NULL);
    wasmz_error_delete(error);
    error = wasmz_config_memory_budget(NULL, 1);
    CHECK(error != NULL);
    wasmz_error_delete(error);

    /* A wasmz.h store. */
    wasmz_engine_t *zengine = NULL;
    CHECK(wasmz_engine_new(settings, &zengine) == NULL);
    wasmz_store_t *zstore = NULL;
    CHECK(wasmz_store_new(zengine, &zstore) == NULL);
    CHECK(wasmz_store_fuel(zstore) == 0);
    CHECK(wasmz_store_set_fuel(zstore, 5) == NULL && wasmz_store_fuel(zstore) == 5);
    CHECK(wasmz_store_fuel(NULL) == 0);
    error = wasmz_store_set_fuel(NULL, 1);
    CHECK(error != NULL);
    wasmz_error_delete(error);
    wasmz_store_delete(zstore);
    wasmz_engine_delete(zengine);

    /* A wasm.h store. */
    wasm_engine_t *engine = wasm_engine_new_with_config(wasmz_config_to_wasm(settings));
    wasmz_config_delete(settings);
    wasm_store_t *store = wasm_store_new(engine);
    CHECK(wasmz_wasm_store_fuel(store) == 0 && wasmz_wasm_store_fuel(NULL) == 0);
    wasm_module_t *module = compile_wat(store,
        "(module (func (export \"spin\") (param i32)"
        "  (loop $l (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br_if $l (local.get 0)))))");
    wasm_extern_vec_t imports = WASM_EMPTY_VEC;
    wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
    CHECK(instance != NULL);
    wasm_extern_vec_t exports;
    wasm_instance_exports(instance, &exports);
    wasm_val_t args[1] = {WASM_I32_VAL(10)};
    wasm_val_vec_t args_vec = WASM_ARRAY_VEC(args), none = WASM_EMPTY_VEC;
    wasm_trap_t *trap = wasm_func_call(export_func(&exports, 0), &args_vec, &none);
    CHECK(trap != NULL); /* no fuel */
    char buf[256];
    printf("fuel: %s\n", trap_text(trap, buf, sizeof buf));
    CHECK(wasmz_wasm_store_set_fuel(store, 100) == NULL);
    CHECK(wasm_func_call(export_func(&exports, 0), &args_vec, &none) == NULL);
    uint64_t left = wasmz_wasm_store_fuel(store);
    CHECK(left < 100 && left > 50);
    error = wasmz_wasm_store_set_fuel(NULL, 1);
    CHECK(error != NULL);
    wasmz_error_delete(error);
    /* The budget of 64 MiB refuses a 128 MiB memory. */
    wasm_limits_t big = {2048, wasm_limits_max_default};
    wasm_memorytype_t *mt = wasm_memorytype_new(&big);
    CHECK(wasm_memory_new(store, mt) == NULL);
    wasm_memorytype_delete(mt);
    printf("fuel: %llu left\n", (unsigned long long)left);
    wasm_extern_vec_delete(&exports);
    wasm_instance_delete(instance);
    wasm_module_delete(module);
    wasm_store_delete(store);
    wasm_engine_delete(engine);
}

int main(void) {
    /* Out-of-bounds accesses trap by explicit checks rather than guard pages, which valgrind would
     * report as invalid accesses: wasmz.h's settings carried into a wasm.h engine. */
    wasmz_config_t *settings = wasmz_config_new();
    wasmz_error_t *error = wasmz_config_explicit_bounds_checks(settings, true);
    CHECK(error == NULL);
    wasm_config_t *config = wasmz_config_to_wasm(settings);
    wasmz_config_delete(settings);
    CHECK(config != NULL && wasmz_config_to_wasm(NULL) == NULL);
    wasm_engine_t *engine = wasm_engine_new_with_config(config);
    wasm_store_t *store = wasm_store_new(engine);
    globals(store);
    memories(store);
    tables(store);
    fuel_and_budget();
    wasm_store_delete(store);
    wasm_engine_delete(engine);
    return finish("std_objects");
}
