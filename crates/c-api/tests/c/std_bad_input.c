/*
 * The standard C API (wasm.h): every vector, type, cast and reference function, and bad input
 * through each kind of entry point -- NULL where an object is expected, wrong vector sizes, values
 * of the wrong kind, a callback returning a wrong result, objects of another store, a module of
 * another engine, invalid modules. Nothing may crash; each failure has its documented result.
 */
#include "std_util.h"
#include <wasmz.h>

static wasm_limits_t limits = {1, 2};
static wasm_frame_t *sample_frame = NULL;

static wasm_importtype_t *make_import(void) {
    wasm_name_t module, name;
    wasm_name_new_from_string(&module, "env");
    wasm_name_new_from_string(&name, "f");
    wasm_importtype_t *t = wasm_importtype_new(&module, &name, wasm_functype_as_externtype(wasm_functype_new_0_0()));
    CHECK(module.size == 0 && name.size == 0); /* moved into the import type */
    return t;
}

static wasm_exporttype_t *make_export(void) {
    wasm_name_t name;
    wasm_name_new_from_string(&name, "m");
    return wasm_exporttype_new(&name, wasm_memorytype_as_externtype(wasm_memorytype_new(&limits)));
}

/* The five functions of a vector of pointers, with good and bad input. */
#define VEC_TESTS(vec_t, elem_t, new_empty, new_uninit, new_, copy, delete_, make)                  \
    do {                                                                                           \
        vec_t v, c;                                                                                \
        new_empty(&v);                                                                             \
        CHECK(v.size == 0 && v.data == NULL);                                                      \
        delete_(&v);                                                                               \
        new_uninit(&v, 3);                                                                         \
        CHECK(v.size == 3 && v.data[0] == NULL && v.data[2] == NULL);                              \
        v.data[1] = make;                                                                          \
        CHECK(v.data[1] != NULL);                                                                  \
        copy(&c, &v);                                                                              \
        CHECK(c.size == 3 && c.data[0] == NULL && c.data[1] != NULL && c.data[1] != v.data[1]);    \
        delete_(&c);                                                                               \
        delete_(&v);                                                                               \
        CHECK(v.size == 0 && v.data == NULL);                                                      \
        elem_t *items[2];                                                                          \
        items[0] = make;                                                                           \
        items[1] = make;                                                                           \
        new_(&v, 2, items);                                                                        \
        CHECK(v.size == 2 && v.data[0] == items[0] && v.data[1] == items[1]);                      \
        delete_(&v);                                                                               \
        new_(&v, 0, NULL);                                                                         \
        CHECK(v.size == 0);                                                                        \
        copy(&c, NULL);                                                                            \
        CHECK(c.size == 0);                                                                        \
        new_empty(NULL);                                                                           \
        new_uninit(NULL, 2);                                                                       \
        new_(NULL, 0, NULL);                                                                       \
        copy(NULL, &v);                                                                            \
        delete_(NULL);                                                                             \
    } while (0)

static void vectors(wasm_store_t *store, wasm_extern_t *an_extern) {
    /* A size no memory can hold gives an empty vector, not an aborted process. */
    wasm_byte_vec_t huge;
    wasm_byte_vec_new_uninitialized(&huge, (size_t)1 << 46);
    CHECK(huge.size == 0);
    wasm_byte_vec_delete(&huge);
    VEC_TESTS(wasm_valtype_vec_t, wasm_valtype_t, wasm_valtype_vec_new_empty,
              wasm_valtype_vec_new_uninitialized, wasm_valtype_vec_new, wasm_valtype_vec_copy,
              wasm_valtype_vec_delete, wasm_valtype_new(WASM_I64));
    VEC_TESTS(wasm_functype_vec_t, wasm_functype_t, wasm_functype_vec_new_empty,
              wasm_functype_vec_new_uninitialized, wasm_functype_vec_new, wasm_functype_vec_copy,
              wasm_functype_vec_delete, wasm_functype_new_1_1(wasm_valtype_new(WASM_F32), wasm_valtype_new(WASM_FUNCREF)));
    VEC_TESTS(wasm_globaltype_vec_t, wasm_globaltype_t, wasm_globaltype_vec_new_empty,
              wasm_globaltype_vec_new_uninitialized, wasm_globaltype_vec_new,
              wasm_globaltype_vec_copy, wasm_globaltype_vec_delete,
              wasm_globaltype_new(wasm_valtype_new(WASM_I32), WASM_CONST));
    VEC_TESTS(wasm_tabletype_vec_t, wasm_tabletype_t, wasm_tabletype_vec_new_empty,
              wasm_tabletype_vec_new_uninitialized, wasm_tabletype_vec_new, wasm_tabletype_vec_copy,
              wasm_tabletype_vec_delete, wasm_tabletype_new(wasm_valtype_new(WASM_EXTERNREF), &limits));
    VEC_TESTS(wasm_memorytype_vec_t, wasm_memorytype_t, wasm_memorytype_vec_new_empty,
              wasm_memorytype_vec_new_uninitialized, wasm_memorytype_vec_new,
              wasm_memorytype_vec_copy, wasm_memorytype_vec_delete, wasm_memorytype_new(&limits));
    VEC_TESTS(wasm_externtype_vec_t, wasm_externtype_t, wasm_externtype_vec_new_empty,
              wasm_externtype_vec_new_uninitialized, wasm_externtype_vec_new,
              wasm_externtype_vec_copy, wasm_externtype_vec_delete,
              wasm_memorytype_as_externtype(wasm_memorytype_new(&limits)));
    VEC_TESTS(wasm_importtype_vec_t, wasm_importtype_t, wasm_importtype_vec_new_empty,
              wasm_importtype_vec_new_uninitialized, wasm_importtype_vec_new,
              wasm_importtype_vec_copy, wasm_importtype_vec_delete, make_import());
    VEC_TESTS(wasm_exporttype_vec_t, wasm_exporttype_t, wasm_exporttype_vec_new_empty,
              wasm_exporttype_vec_new_uninitialized, wasm_exporttype_vec_new,
              wasm_exporttype_vec_copy, wasm_exporttype_vec_delete, make_export());
    VEC_TESTS(wasm_frame_vec_t, wasm_frame_t, wasm_frame_vec_new_empty,
              wasm_frame_vec_new_uninitialized, wasm_frame_vec_new, wasm_frame_vec_copy,
              wasm_frame_vec_delete, wasm_frame_copy(sample_frame));
    VEC_TESTS(wasm_extern_vec_t, wasm_extern_t, wasm_extern_vec_new_empty,
              wasm_extern_vec_new_uninitialized, wasm_extern_vec_new, wasm_extern_vec_copy,
              wasm_extern_vec_delete, wasm_extern_copy(an_extern));

    /* Byte vectors. */
    wasm_byte_vec_t b, bc;
    wasm_byte_vec_new_empty(&b);
    CHECK(b.size == 0);
    wasm_byte_vec_new(&b, 3, "abc");
    wasm_byte_vec_copy(&bc, &b);
    CHECK(bc.size == 3 && memcmp(bc.data, "abc", 3) == 0 && bc.data != b.data);
    wasm_byte_vec_delete(&b);
    wasm_byte_vec_delete(&bc);
    wasm_byte_vec_new_uninitialized(&b, 4);
    CHECK(b.size == 4 && b.data[3] == 0);
    wasm_byte_vec_delete(&b);
    wasm_byte_vec_new(NULL, 1, "x");
    wasm_byte_vec_delete(NULL);

    /* Value vectors own their references. */
    wasm_val_vec_t v, vc;
    wasm_val_vec_new_empty(&v);
    wasm_val_vec_delete(&v);
    wasm_val_vec_new_uninitialized(&v, 2);
    CHECK(v.size == 2 && v.data[0].kind == WASM_I32 && v.data[0].of.i32 == 0);
    v.data[1].kind = WASM_EXTERNREF;
    v.data[1].of.ref = wasm_foreign_as_ref(wasm_foreign_new(store));
    wasm_val_vec_copy(&vc, &v);
    CHECK(vc.size == 2 && wasm_ref_same(vc.data[1].of.ref, v.data[1].of.ref));
    wasm_val_vec_delete(&vc);
    wasm_val_vec_delete(&v);
    wasm_val_t vals[2] = {WASM_I32_VAL(1), WASM_F64_VAL(2.0)};
    wasm_val_vec_new(&v, 2, vals);
    CHECK(v.size == 2 && v.data[1].of.f64 == 2.0);
    wasm_val_vec_delete(&v);
    wasm_val_delete(NULL);
    wasm_val_copy(NULL, NULL);
    printf("vectors: ok\n");
}

static void types(void) {
    CHECK(wasm_valtype_new(77) == NULL);
    wasm_valtype_t *vt = wasm_valtype_new(WASM_F64);
    wasm_valtype_t *vt2 = wasm_valtype_copy(vt);
    CHECK(wasm_valtype_kind(vt2) == WASM_F64 && wasm_valtype_is_num(vt2) && !wasm_valtype_is_ref(vt2));
    wasm_valtype_delete(vt2);
    wasm_valtype_delete(vt);
    CHECK(wasm_valtype_kind(NULL) == 255 && wasm_valtype_copy(NULL) == NULL);
    wasm_valtype_delete(NULL);

    /* Function types: NULL vectors or elements are refused (and what was passed is freed). */
    CHECK(wasm_functype_new(NULL, NULL) == NULL);
    wasm_valtype_vec_t params, results;
    wasm_valtype_vec_new_uninitialized(&params, 1); /* a NULL element */
    wasm_valtype_vec_new_empty(&results);
    CHECK(wasm_functype_new(&params, &results) == NULL);
    wasm_functype_t *ft = wasm_functype_new_3_2(wasm_valtype_new_i32(), wasm_valtype_new_i64(),
                                                wasm_valtype_new_f32(), wasm_valtype_new_f64(),
                                                wasm_valtype_new_i32());
    wasm_functype_t *ft2 = wasm_functype_copy(ft);
    CHECK(wasm_functype_params(ft2)->size == 3 && wasm_functype_results(ft2)->size == 2);
    wasm_externtype_t *et = wasm_functype_as_externtype(ft2);
    CHECK(wasm_externtype_kind(et) == WASM_EXTERN_FUNC);
    CHECK(wasm_externtype_as_functype(et) == ft2 && wasm_externtype_as_globaltype(et) == NULL);
    CHECK(wasm_externtype_as_tabletype(et) == NULL && wasm_externtype_as_memorytype(et) == NULL);
    CHECK(wasm_functype_as_externtype_const(ft2) == et);
    wasm_externtype_t *et2 = wasm_externtype_copy(et);
    CHECK(wasm_externtype_kind(et2) == WASM_EXTERN_FUNC);
    wasm_externtype_delete(et2);
    wasm_functype_delete(ft2);
    wasm_functype_delete(ft);
    CHECK(wasm_functype_params(NULL) == NULL && wasm_functype_results(NULL) == NULL);
    wasm_functype_delete(NULL);
    CHECK(wasm_functype_copy(NULL) == NULL && wasm_externtype_copy(NULL) == NULL);

    /* Global types. */
    CHECK(wasm_globaltype_new(NULL, WASM_VAR) == NULL);
    CHECK(wasm_globaltype_new(wasm_valtype_new_i32(), 7) == NULL);
    wasm_globaltype_t *gt = wasm_globaltype_new(wasm_valtype_new_externref(), WASM_VAR);
    wasm_globaltype_t *gt2 = wasm_globaltype_copy(gt);
    CHECK(wasm_globaltype_mutability(gt2) == WASM_VAR);
    CHECK(wasm_valtype_kind(wasm_globaltype_content(gt2)) == WASM_EXTERNREF);
    CHECK(wasm_globaltype_as_externtype(gt2) == wasm_globaltype_as_externtype_const(gt2));
    CHECK(wasm_externtype_as_globaltype_const(wasm_globaltype_as_externtype(gt2)) == gt2);
    CHECK(wasm_functype_params((const wasm_functype_t *)gt2) == NULL); /* another kind */
    wasm_globaltype_delete(gt2);
    wasm_globaltype_delete(gt);
    CHECK(wasm_globaltype_content(NULL) == NULL && wasm_globaltype_mutability(NULL) == 0);
    CHECK(wasm_globaltype_copy(NULL) == NULL);
    wasm_globaltype_delete(NULL);

    /* Table types: reference elements only. */
    CHECK(wasm_tabletype_new(wasm_valtype_new_i32(), &limits) == NULL);
    CHECK(wasm_tabletype_new(wasm_valtype_new_funcref(), NULL) == NULL);
    CHECK(wasm_tabletype_new(NULL, &limits) == NULL);
    wasm_tabletype_t *tt = wasm_tabletype_new(wasm_valtype_new_funcref(), &limits);
    wasm_tabletype_t *tt2 = wasm_tabletype_copy(tt);
    CHECK(wasm_tabletype_limits(tt2)->min == 1 && wasm_tabletype_limits(tt2)->max == 2);
    CHECK(wasm_valtype_kind(wasm_tabletype_element(tt2)) == WASM_FUNCREF);
    CHECK(wasm_externtype_as_tabletype(wasm_tabletype_as_externtype(tt2)) == tt2);
    CHECK(wasm_externtype_as_tabletype_const(wasm_tabletype_as_externtype_const(tt2)) == tt2);
    wasm_tabletype_delete(tt2);
    wasm_tabletype_delete(tt);
    CHECK(wasm_tabletype_element(NULL) == NULL && wasm_tabletype_limits(NULL) == NULL);
    CHECK(wasm_tabletype_copy(NULL) == NULL);
    wasm_tabletype_delete(NULL);

    /* Memory types. */
    CHECK(wasm_memorytype_new(NULL) == NULL);
    wasm_memorytype_t *mt = wasm_memorytype_new(&limits);
    wasm_memorytype_t *mt2 = wasm_memorytype_copy(mt);
    CHECK(wasm_memorytype_limits(mt2)->max == 2);
    CHECK(wasm_externtype_as_memorytype(wasm_memorytype_as_externtype(mt2)) == mt2);
    CHECK(wasm_externtype_as_memorytype_const(wasm_memorytype_as_externtype_const(mt2)) == mt2);
    CHECK(wasm_externtype_as_functype_const(wasm_memorytype_as_externtype_const(mt2)) == NULL);
    wasm_memorytype_delete(mt2);
    wasm_memorytype_delete(mt);
    CHECK(wasm_memorytype_limits(NULL) == NULL && wasm_memorytype_copy(NULL) == NULL);
    wasm_memorytype_delete(NULL);
    CHECK(wasm_externtype_kind(NULL) == 255 && wasm_externtype_as_functype(NULL) == NULL);
    wasm_externtype_delete(NULL);

    /* Import and export types. */
    wasm_importtype_t *it = make_import();
    wasm_importtype_t *it2 = wasm_importtype_copy(it);
    CHECK(wasm_importtype_module(it2)->size == 3 && wasm_importtype_name(it2)->size == 1);
    CHECK(wasm_externtype_kind(wasm_importtype_type(it2)) == WASM_EXTERN_FUNC);
    wasm_importtype_delete(it2);
    wasm_importtype_delete(it);
    CHECK(wasm_importtype_new(NULL, NULL, NULL) == NULL);
    CHECK(wasm_importtype_module(NULL) == NULL && wasm_importtype_name(NULL) == NULL);
    CHECK(wasm_importtype_type(NULL) == NULL && wasm_importtype_copy(NULL) == NULL);
    wasm_importtype_delete(NULL);
    wasm_exporttype_t *xt = make_export();
    wasm_exporttype_t *xt2 = wasm_exporttype_copy(xt);
    CHECK(wasm_exporttype_name(xt2)->size == 1 && wasm_exporttype_name(xt2)->data[0] == 'm');
    CHECK(wasm_externtype_kind(wasm_exporttype_type(xt2)) == WASM_EXTERN_MEMORY);
    wasm_exporttype_delete(xt2);
    wasm_exporttype_delete(xt);
    CHECK(wasm_exporttype_new(NULL, NULL) == NULL && wasm_exporttype_copy(NULL) == NULL);
    CHECK(wasm_exporttype_name(NULL) == NULL && wasm_exporttype_type(NULL) == NULL);
    wasm_exporttype_delete(NULL);
    printf("types: ok\n");
}

static int env_finalized = 0;
static void count_finalize(void *env) {
    (void)env;
    env_finalized++;
}

static wasm_trap_t *bad_result_callback(const wasm_val_vec_t *args, wasm_val_vec_t *results) {
    (void)args;
    results->data[0].kind = WASM_F64; /* declared i32 */
    results->data[0].of.f64 = 1.0;
    return NULL;
}

static wasm_trap_t *env_callback(void *env, const wasm_val_vec_t *args, wasm_val_vec_t *results) {
    (void)env;
    (void)args;
    (void)results;
    return NULL;
}

static void objects(wasm_engine_t *engine, wasm_store_t *store) {
    /* Engines, configs, stores. */
    wasm_config_t *config = wasm_config_new();
    wasm_config_delete(config);
    wasm_config_delete(NULL);
    wasm_engine_t *other_engine = wasm_engine_new_with_config(wasm_config_new());
    wasm_engine_t *default_engine = wasm_engine_new_with_config(NULL);
    CHECK(other_engine && default_engine);
    wasm_engine_delete(default_engine);
    wasm_engine_delete(NULL);
    CHECK(wasm_store_new(NULL) == NULL);
    wasm_store_delete(NULL);
    wasm_store_t *other_store = wasm_store_new(engine);
    wasm_store_t *foreign_engine_store = wasm_store_new(other_engine);

    /* Modules: invalid bytes, NULLs. */
    wasm_byte_vec_t junk;
    wasm_name_new_from_string(&junk, "\x00" "asm junk");
    CHECK(wasm_module_new(store, &junk) == NULL && !wasm_module_validate(store, &junk));
    wasm_byte_vec_delete(&junk);
    CHECK(wasm_module_new(NULL, NULL) == NULL && !wasm_module_validate(NULL, NULL));
    CHECK(wasm_module_new(store, NULL) == NULL && wasm_module_deserialize(NULL, NULL) == NULL);
    CHECK(wasm_module_share(NULL) == NULL && wasm_module_obtain(NULL, NULL) == NULL);
    wasm_shared_module_delete(NULL);
    wasm_importtype_vec_t imports_of_null;
    wasm_module_imports(NULL, &imports_of_null);
    CHECK(imports_of_null.size == 0);
    wasm_exporttype_vec_t exports_of_null;
    wasm_module_exports(NULL, &exports_of_null);
    CHECK(exports_of_null.size == 0);
    wasm_byte_vec_t serialized;
    wasm_module_serialize(NULL, &serialized);
    CHECK(serialized.size == 0);

    wasm_module_t *module = compile_wat(store,
        "(module (import \"\" \"f\" (func $f (result i32)))"
        "  (func (export \"f\") (result i32) call $f)"
        "  (func (export \"add\") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))");
    wasm_module_t *module_copy = wasm_module_copy(module);
    CHECK(wasm_module_same(module, module_copy) && wasm_ref_as_module(wasm_module_as_ref(module_copy)) == module_copy);
    CHECK(wasm_ref_as_module_const(wasm_module_as_ref_const(module)) == module);
    wasm_module_set_host_info(module_copy, &limits);
    CHECK(wasm_module_get_host_info(module) == &limits);
    wasm_module_delete(module_copy);
    wasm_module_t *other_module = compile_wat(foreign_engine_store, "(module)");

    /* Functions: NULL arguments; a failing wasm_func_new_with_env finalizes its environment. */
    wasm_functype_t *ft = wasm_functype_new_0_1(wasm_valtype_new_i32());
    CHECK(wasm_func_new(store, ft, NULL) == NULL && wasm_func_new(NULL, ft, bad_result_callback) == NULL);
    CHECK(wasm_func_new(store, NULL, bad_result_callback) == NULL);
    CHECK(wasm_func_new_with_env(NULL, ft, env_callback, &env_finalized, count_finalize) == NULL);
    CHECK(env_finalized == 1);
    wasm_func_t *bad = wasm_func_new(store, ft, bad_result_callback);
    wasm_func_t *in_other_store = wasm_func_new(other_store, ft, bad_result_callback);
    wasm_functype_delete(ft);
    CHECK(wasm_func_type(NULL) == NULL && wasm_func_param_arity(NULL) == 0 && wasm_func_result_arity(NULL) == 0);
    wasm_trap_t *trap = wasm_func_call(NULL, NULL, NULL);
    CHECK(trap != NULL);
    wasm_trap_delete(trap);

    /* Instances: wrong import count, NULL import, an import of another store, a module of another
     * engine, NULLs. */
    char buf[256];
    wasm_extern_vec_t no_imports = WASM_EMPTY_VEC;
    CHECK(wasm_instance_new(store, module, &no_imports, &trap) == NULL);
    printf("instance: %s\n", trap_text(trap, buf, sizeof buf));
    wasm_extern_t *null_import[] = {NULL};
    wasm_extern_vec_t null_imports = WASM_ARRAY_VEC(null_import);
    CHECK(wasm_instance_new(store, module, &null_imports, &trap) == NULL);
    printf("instance: %s\n", trap_text(trap, buf, sizeof buf));
    wasm_extern_t *other_import[] = {wasm_func_as_extern(in_other_store)};
    wasm_extern_vec_t other_imports = WASM_ARRAY_VEC(other_import);
    CHECK(wasm_instance_new(store, module, &other_imports, &trap) == NULL);
    printf("instance: %s\n", trap_text(trap, buf, sizeof buf));
    CHECK(wasm_instance_new(store, other_module, &no_imports, &trap) == NULL);
    printf("instance: %s\n", trap_text(trap, buf, sizeof buf));
    CHECK(wasm_instance_new(NULL, module, NULL, &trap) == NULL);
    wasm_trap_delete(trap);
    CHECK(wasm_instance_new(store, NULL, NULL, NULL) == NULL);
    /* A mismatched import type. */
    wasm_functype_t *ft2 = wasm_functype_new_0_0();
    wasm_func_t *wrong_type = wasm_func_new(store, ft2, bad_result_callback);
    wasm_functype_delete(ft2);
    wasm_extern_t *wrong[] = {wasm_func_as_extern(wrong_type)};
    wasm_extern_vec_t wrong_imports = WASM_ARRAY_VEC(wrong);
    CHECK(wasm_instance_new(store, module, &wrong_imports, &trap) == NULL);
    printf("instance: %s\n", trap_text(trap, buf, sizeof buf));
    wasm_func_delete(wrong_type);
    /* A table past the implementation limit (32 GiB of elements): an error, not an abort. */
    wasm_module_t *huge_table = compile_wat(store, "(module (table 0xffffffff 0xffffffff funcref))");
    CHECK(huge_table != NULL);
    CHECK(wasm_instance_new(store, huge_table, &no_imports, &trap) == NULL);
    CHECK(strstr(trap_text(trap, buf, sizeof buf), "elements") != NULL);
    wasm_module_delete(huge_table);

    wasm_extern_t *good[] = {wasm_func_as_extern(bad)};
    wasm_extern_vec_t good_imports = WASM_ARRAY_VEC(good);
    wasm_instance_t *instance = wasm_instance_new(store, module, &good_imports, NULL);
    CHECK(instance != NULL);
    wasm_instance_t *instance_copy = wasm_instance_copy(instance);
    CHECK(wasm_instance_same(instance, instance_copy));
    CHECK(wasm_ref_as_instance(wasm_instance_as_ref(instance_copy)) == instance_copy);
    CHECK(wasm_ref_as_instance_const(wasm_instance_as_ref_const(instance)) == instance);
    wasm_instance_delete(instance_copy);
    wasm_extern_vec_t exports;
    wasm_instance_exports(instance, &exports);
    wasm_extern_vec_t none_exports;
    wasm_instance_exports(NULL, &none_exports);
    CHECK(none_exports.size == 0);

    /* Calls: a callback with a wrong result kind, wrong vector sizes and kinds. */
    wasm_val_t results[2] = {WASM_INIT_VAL, WASM_INIT_VAL};
    wasm_val_vec_t one_result = {1, results}, two_results = {2, results};
    wasm_val_vec_t none = WASM_EMPTY_VEC;
    trap = wasm_func_call(export_func(&exports, 0), &none, &one_result);
    CHECK(trap != NULL);
    printf("call: %s\n", trap_text(trap, buf, sizeof buf));
    wasm_func_t *add = export_func(&exports, 1);
    wasm_val_t args[3] = {WASM_I32_VAL(1), WASM_I32_VAL(2), WASM_I32_VAL(3)};
    wasm_val_vec_t two_args = {2, args}, three_args = {3, args};
    trap = wasm_func_call(add, &three_args, &one_result);
    printf("call: %s\n", trap_text(trap, buf, sizeof buf));
    trap = wasm_func_call(add, &two_args, &two_results);
    printf("call: %s\n", trap_text(trap, buf, sizeof buf));
    wasm_val_vec_t no_array = {1, NULL};
    trap = wasm_func_call(add, &two_args, &no_array);
    printf("call: %s\n", trap_text(trap, buf, sizeof buf));
    args[1].kind = WASM_I64;
    trap = wasm_func_call(add, &two_args, &one_result);
    printf("call: %s\n", trap_text(trap, buf, sizeof buf));
    args[1].kind = WASM_I32;
    CHECK(wasm_func_call(add, &two_args, &one_result) == NULL && results[0].of.i32 == 3);

    /* Externs and casts. */
    wasm_extern_t *e = exports.data[1];
    wasm_extern_t *e_copy = wasm_extern_copy(e);
    CHECK(wasm_extern_same(e, e_copy) && !wasm_extern_same(e, exports.data[0]));
    CHECK(wasm_ref_as_extern(wasm_extern_as_ref(e_copy)) == e_copy);
    CHECK(wasm_ref_as_extern_const(wasm_extern_as_ref_const(e_copy)) == e_copy);
    CHECK(wasm_ref_as_extern(wasm_instance_as_ref(instance)) == NULL);
    CHECK((const void *)wasm_extern_as_func_const(e_copy) == (const void *)e_copy);
    CHECK(wasm_extern_as_global_const(e_copy) == NULL);
    CHECK(wasm_extern_as_table_const(e_copy) == NULL && wasm_extern_as_memory_const(e_copy) == NULL);
    /* Casting an object to another kind's type is caught. */
    CHECK(wasm_func_as_extern_const(add) == e && wasm_global_as_extern((wasm_global_t *)add) == NULL);
    CHECK(wasm_table_as_extern((wasm_table_t *)add) == NULL);
    CHECK(wasm_memory_as_extern((wasm_memory_t *)add) == NULL);
    CHECK(wasm_global_as_extern_const((wasm_global_t *)add) == NULL);
    CHECK(wasm_table_as_extern_const((wasm_table_t *)add) == NULL);
    CHECK(wasm_memory_as_extern_const((wasm_memory_t *)add) == NULL);
    CHECK(wasm_func_as_ref_const(add) == wasm_func_as_ref(add));
    CHECK(wasm_ref_as_func_const(wasm_func_as_ref_const(add)) == add);
    wasm_func_t *add_copy = wasm_func_copy(add);
    CHECK(wasm_func_same(add, add_copy) && !wasm_func_same(add, NULL));
    wasm_func_delete(add_copy);
    wasm_extern_set_host_info_with_finalizer(NULL, &env_finalized, count_finalize);
    CHECK(env_finalized == 2); /* nowhere to keep it: finalized at once */
    wasm_extern_delete(e_copy);
    CHECK(wasm_extern_kind(NULL) == 255 && wasm_extern_type(NULL) == NULL);
    CHECK(wasm_extern_kind((wasm_extern_t *)instance) == 255);

    /* Globals, tables and memories: NULLs, wrong kinds, other store. */
    wasm_globaltype_t *gt = wasm_globaltype_new(wasm_valtype_new_i32(), WASM_VAR);
    wasm_val_t zero = WASM_I32_VAL(0);
    CHECK(wasm_global_new(NULL, gt, &zero) == NULL && wasm_global_new(store, NULL, &zero) == NULL);
    CHECK(wasm_global_new(store, gt, NULL) == NULL);
    wasm_global_t *g = wasm_global_new(store, gt, &zero);
    wasm_globaltype_delete(gt);
    wasm_global_t *g_copy = wasm_global_copy(g);
    CHECK(wasm_global_same(g, g_copy) && wasm_ref_as_global(wasm_global_as_ref(g_copy)) == g_copy);
    CHECK(wasm_ref_as_global_const(wasm_global_as_ref_const(g)) == g && wasm_ref_as_global(wasm_func_as_ref(add)) == NULL);
    CHECK(wasm_global_as_extern_const(g) != NULL);
    wasm_global_delete(g_copy);
    wasm_val_t out;
    wasm_global_get(NULL, &out);
    CHECK(out.kind == WASM_EXTERNREF && out.of.ref == NULL);
    wasm_global_get(g, NULL);
    wasm_global_set(NULL, &zero);
    wasm_global_set(g, NULL);
    CHECK(wasm_global_type(NULL) == NULL);
    wasm_global_delete(g);

    wasm_tabletype_t *tt = wasm_tabletype_new(wasm_valtype_new_funcref(), &limits);
    CHECK(wasm_table_new(NULL, tt, NULL) == NULL && wasm_table_new(store, NULL, NULL) == NULL);
    CHECK(wasm_table_new(store, tt, wasm_func_as_ref(in_other_store)) == NULL); /* other store */
    wasm_table_t *t = wasm_table_new(store, tt, NULL);
    wasm_tabletype_delete(tt);
    CHECK(!wasm_table_set(t, 0, wasm_func_as_ref(in_other_store)));
    wasm_table_t *t_copy = wasm_table_copy(t);
    CHECK(wasm_table_same(t, t_copy) && wasm_ref_as_table(wasm_table_as_ref(t_copy)) == t_copy);
    CHECK(wasm_ref_as_table_const(wasm_table_as_ref_const(t)) == t && wasm_table_as_extern_const(t) != NULL);
    wasm_table_set_host_info(t_copy, buf);
    CHECK(wasm_table_get_host_info(t) == buf);
    wasm_table_delete(t_copy);
    CHECK(wasm_table_get(NULL, 0) == NULL && !wasm_table_set(NULL, 0, NULL) && wasm_table_size(NULL) == 0);
    CHECK(!wasm_table_grow(NULL, 1, NULL) && wasm_table_type(NULL) == NULL);
    CHECK(!wasm_table_grow(t, 1, wasm_func_as_ref(in_other_store)));
    wasm_table_delete(t);
    wasm_limits_t huge = {0xffffffffu, 0xffffffffu};
    tt = wasm_tabletype_new(wasm_valtype_new_funcref(), &huge);
    CHECK(wasm_table_new(store, tt, NULL) == NULL);
    wasm_tabletype_delete(tt);

    wasm_memorytype_t *mt = wasm_memorytype_new(&limits);
    CHECK(wasm_memory_new(NULL, mt) == NULL && wasm_memory_new(store, NULL) == NULL);
    wasm_memory_t *m = wasm_memory_new(store, mt);
    wasm_memorytype_delete(mt);
    CHECK(wasm_ref_as_memory(wasm_memory_as_ref(m)) == m && wasm_ref_as_memory_const(wasm_memory_as_ref_const(m)) == m);
    CHECK((void *)wasm_memory_as_extern(m) == (void *)m);
    CHECK((const void *)wasm_memory_as_extern_const(m) == (const void *)m);
    wasm_memory_set_host_info(m, buf);
    CHECK(wasm_memory_get_host_info(m) == buf);
    CHECK(!wasm_memory_grow(m, 5)); /* past the maximum of 2 */
    CHECK(wasm_memory_data(NULL) == NULL && wasm_memory_data_size(NULL) == 0 && wasm_memory_size(NULL) == 0);
    CHECK(!wasm_memory_grow(NULL, 1) && wasm_memory_type(NULL) == NULL);
    wasm_memory_delete(m);

    /* References: NULLs and the generic functions. */
    CHECK(wasm_ref_copy(NULL) == NULL && !wasm_ref_same(NULL, NULL) && wasm_ref_get_host_info(NULL) == NULL);
    wasm_ref_set_host_info(NULL, buf);
    wasm_ref_delete(NULL);
    CHECK(wasm_ref_as_func(NULL) == NULL && wasm_ref_as_trap(NULL) == NULL && wasm_ref_as_foreign(NULL) == NULL);
    wasm_foreign_t *fo = wasm_foreign_new(NULL);
    wasm_foreign_set_host_info(fo, buf);
    CHECK(wasm_foreign_get_host_info(fo) == buf);
    wasm_trap_t *trap2 = wasm_trap_new(store, NULL);
    wasm_trap_set_host_info_with_finalizer(trap2, &env_finalized, count_finalize);
    wasm_trap_delete(trap2);
    CHECK(env_finalized == 3);
    CHECK(wasm_ref_as_trap(wasm_foreign_as_ref(fo)) == NULL);
    wasm_foreign_delete(fo);
    CHECK(wasm_trap_origin(NULL) == NULL);
    wasm_message_t msg;
    wasm_trap_message(NULL, &msg);
    CHECK(msg.size == 0);
    wasm_frame_vec_t frames;
    wasm_trap_trace(NULL, &frames);
    CHECK(frames.size == 0);
    CHECK(wasm_frame_copy(NULL) == NULL && wasm_frame_func_index(NULL) == 0 && wasm_frame_func_offset(NULL) == 0);
    wasm_frame_delete(NULL);

    vectors(store, exports.data[1]);

    wasm_extern_vec_delete(&exports);
    wasm_instance_delete(instance);
    wasm_func_delete(bad);
    wasm_func_delete(in_other_store);
    wasm_module_delete(module);
    wasm_module_delete(other_module);
    wasm_store_delete(other_store);
    wasm_store_delete(foreign_engine_store);
    wasm_engine_delete(other_engine);
    printf("objects: ok\n");
}

int main(void) {
    wasm_engine_t *engine = wasm_engine_new();
    wasm_store_t *store = wasm_store_new(engine);
    /* A frame for the frame vector tests. */
    wasm_module_t *module = compile_wat(store, "(module (func (export \"f\") unreachable))");
    wasm_extern_vec_t imports = WASM_EMPTY_VEC, exports;
    wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
    wasm_instance_exports(instance, &exports);
    wasm_trap_t *trap = wasm_func_call(export_func(&exports, 0), NULL, NULL);
    sample_frame = wasm_trap_origin(trap);
    CHECK(sample_frame != NULL);
    wasm_trap_delete(trap);
    wasm_extern_vec_delete(&exports);
    wasm_instance_delete(instance);
    wasm_module_delete(module);

    types();
    objects(engine, store);
    wasm_frame_delete(sample_frame);
    wasm_store_delete(store);
    wasm_engine_delete(engine);
    return finish("std_bad_input");
}
