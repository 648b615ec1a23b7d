/*
 * The standard C API (wasm.h): what the wasm-c-api example trap does -- traps raised by a host
 * callback (wasm_trap_new) and by wasm code, with their messages, origins and traces; traps as
 * references (copy, same, host info).
 */
#include "std_util.h"

static wasm_trap_t *fail_callback(void *env, const wasm_val_vec_t *args, wasm_val_vec_t *results) {
    (void)args;
    (void)results;
    wasm_message_t message;
    wasm_name_new_from_string_nt(&message, "callback abort");
    wasm_trap_t *trap = wasm_trap_new((wasm_store_t *)env, &message);
    wasm_name_delete(&message);
    return trap;
}

static void print_frame(const wasm_frame_t *frame) {
    printf("trap: frame func[%u] (instance %p, module offset %zu)\n", wasm_frame_func_index(frame),
           (void *)wasm_frame_instance(frame), wasm_frame_module_offset(frame));
    (void)wasm_frame_func_offset(frame); /* machine-code offset: varies with the compiler */
}

int main(void) {
    wasm_engine_t *engine = wasm_engine_new();
    wasm_store_t *store = wasm_store_new(engine);
    wasm_module_t *module = compile_wat(store,
        "(module"
        "  (import \"\" \"fail\" (func $fail (result i32)))"
        "  (func (export \"callback\") (result i32) call $fail)"
        "  (func $inner (result i32) unreachable)"
        "  (func (export \"unreachable\") (result i32) call $inner)"
        "  (func (export \"div\") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0))))");
    CHECK(module != NULL);
    wasm_functype_t *type = wasm_functype_new_0_1(wasm_valtype_new_i32());
    wasm_func_t *fail = wasm_func_new_with_env(store, type, fail_callback, store, NULL);
    wasm_functype_delete(type);
    wasm_extern_t *externs[] = {wasm_func_as_extern(fail)};
    wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
    wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
    CHECK(instance != NULL);
    wasm_extern_vec_t exports;
    wasm_instance_exports(instance, &exports);
    CHECK(exports.size == 3);

    char buf[256];
    wasm_val_t results[1] = {WASM_INIT_VAL};
    wasm_val_vec_t results_vec = WASM_ARRAY_VEC(results);
    wasm_val_vec_t none = WASM_EMPTY_VEC;

    /* A trap from the host callback, with its message. */
    wasm_trap_t *trap = wasm_func_call(export_func(&exports, 0), &none, &results_vec);
    CHECK(trap != NULL);
    wasm_frame_vec_t trace;
    wasm_trap_trace(trap, &trace);
    for (size_t i = 0; i < trace.size; i++) print_frame(trace.data[i]);
    wasm_frame_vec_t trace_copy;
    wasm_frame_vec_copy(&trace_copy, &trace);
    CHECK(trace_copy.size == trace.size);
    wasm_frame_vec_delete(&trace_copy);
    wasm_frame_vec_delete(&trace);
    printf("trap: %s\n", trap_text(trap, buf, sizeof buf));
    CHECK(strcmp(buf, "callback abort") == 0);

    /* A trap of wasm code, two frames deep. */
    trap = wasm_func_call(export_func(&exports, 1), &none, &results_vec);
    CHECK(trap != NULL);
    wasm_frame_t *origin = wasm_trap_origin(trap);
    CHECK(origin != NULL && wasm_frame_func_index(origin) == 2);
    wasm_frame_t *origin_copy = wasm_frame_copy(origin);
    CHECK(wasm_frame_func_index(origin_copy) == 2);
    CHECK(wasm_frame_func_offset(origin_copy) == wasm_frame_func_offset(origin));
    wasm_frame_delete(origin_copy);
    wasm_frame_delete(origin);
    wasm_trap_trace(trap, &trace);
    CHECK(trace.size == 2);
    for (size_t i = 0; i < trace.size; i++) print_frame(trace.data[i]);
    wasm_frame_vec_delete(&trace);
    /* Traps are references: copies share identity and host info. */
    wasm_trap_t *copy = wasm_trap_copy(trap);
    CHECK(wasm_trap_same(trap, copy));
    wasm_trap_set_host_info(copy, buf);
    CHECK(wasm_trap_get_host_info(trap) == buf);
    wasm_ref_t *as_ref = wasm_trap_as_ref(copy);
    CHECK(wasm_ref_as_trap(as_ref) == copy && wasm_ref_as_func(as_ref) == NULL);
    CHECK(wasm_ref_as_trap_const(wasm_trap_as_ref_const(copy)) == copy);
    wasm_trap_delete(copy);
    printf("trap: %s\n", trap_text(trap, buf, sizeof buf));
    CHECK(strstr(buf, "unreachable") != NULL);

    /* Integer division by zero. */
    wasm_val_t args[1] = {WASM_I32_VAL(0)};
    wasm_val_vec_t args_vec = WASM_ARRAY_VEC(args);
    trap = wasm_func_call(export_func(&exports, 2), &args_vec, &results_vec);
    CHECK(trap != NULL);
    printf("trap: %s\n", trap_text(trap, buf, sizeof buf));
    args[0].of.i32 = 2;
    CHECK(wasm_func_call(export_func(&exports, 2), &args_vec, &results_vec) == NULL);
    CHECK(results[0].of.i32 == 0);

    /* A trap made by the host, with an empty message and no frames. */
    trap = wasm_trap_new(NULL, NULL);
    CHECK(wasm_trap_origin(trap) == NULL);
    wasm_trap_trace(trap, &trace);
    CHECK(trace.size == 0);
    wasm_frame_vec_delete(&trace);
    CHECK(strcmp(trap_text(trap, buf, sizeof buf), "") == 0);

    wasm_extern_vec_delete(&exports);
    wasm_instance_delete(instance);
    wasm_func_delete(fail);
    wasm_module_delete(module);
    wasm_store_delete(store);
    wasm_engine_delete(engine);
    return finish("std_trap");
}
