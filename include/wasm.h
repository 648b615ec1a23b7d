/*
 * wasm.h - the standard WebAssembly C API (https://github.com/WebAssembly/wasm-c-api), as
 * implemented by wasmz in libwasmz.so / libwasmz.a (the same library as wasmz.h).
 *
 * The declarations follow the standard header, so programs written against it compile and link
 * unchanged; this file's comments describe how wasmz behaves. wasmz.h, which may be included in the
 * same file, adds what the standard lacks: WASI, fuel, memory budgets, ahead-of-time artifacts.
 *
 * Ownership
 * ---------
 * `own` marks data that changes hands: an `own` result belongs to the caller, an `own` parameter
 * passes to the callee, and an `own` parameter named `out` is filled by the callee for the caller.
 * Owned objects are freed with their `wasm_<name>_delete`; an owned vector (`wasm_<name>_vec_t`)
 * owns its elements too and is freed with `wasm_<name>_vec_delete`. Every delete accepts NULL.
 *
 * Deleting a reference object (module, instance, function, global, table, memory, extern, foreign,
 * trap) releases that handle only: objects keep alive what they use (a function its store, an
 * instance its store), so handles may be deleted in any order, before or after their store.
 *
 * Robustness
 * ----------
 * No function aborts the process on bad input: NULL where an object is required, vectors of the
 * wrong size, values of the wrong kind, objects of another store or engine give the documented
 * failure value (NULL, false, 0, an empty vector, or a trap from wasm_func_call / wasm_instance_new).
 *
 * References and host info
 * ------------------------
 * Every reference object carries host info (a pointer and an optional finalizer), shared by its
 * copies (wasm_<name>_copy) and, for foreign objects, by every reference to the same object that
 * comes back from wasm (through a global, a table, or a call). A finalizer runs exactly once: when
 * the last handle to the object is gone, when the host info is replaced, or, for a foreign object
 * that was passed to wasm, when its store is gone. `wasm_<name>_same` tells whether two handles
 * denote the same object.
 *
 * Externref values (WASM_EXTERNREF) carry foreign objects (wasm_foreign_new) into wasm and back.
 * Funcref values (WASM_FUNCREF) carry functions. Reference values are always checked against their
 * declared types; other objects cannot be passed as externref.
 *
 * Threads
 * -------
 * Engines and shared modules (wasm_shared_module_t) may be used from any thread. A store and every
 * object made in it stay on the thread that created the store.
 */
#ifndef WASM_H
#define WASM_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef WASM_API_EXTERN
#if defined(_WIN32) && !defined(__MINGW32__) && !defined(LIBWASM_STATIC)
#define WASM_API_EXTERN __declspec(dllimport)
#else
#define WASM_API_EXTERN
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================================== */
/* Basic types                                                                                     */

typedef char byte_t;
typedef float float32_t;
typedef double float64_t;

/* Marks ownership transfer (see above); expands to nothing. Undefined at the end of this file. */
#define own

/* An owned object type with its delete function. */
#define WASMZ_STD_OWN(name)                                                                        \
    typedef struct wasm_##name##_t wasm_##name##_t;                                                \
    WASM_API_EXTERN void wasm_##name##_delete(own wasm_##name##_t *);

/* A vector of `wasm_<name>_t` (elem = nothing) or of `wasm_<name>_t *` (elem = *):
 *   new_empty          *out = {0, NULL}
 *   new_uninitialized  *out = `size` zeroed elements (NULL pointers for pointer vectors)
 *   new                *out = a copy of the array `data[0..size)`; ownership of the elements moves
 *                      into the vector
 *   copy               *out = a deep copy of the vector (every element copied)
 *   delete             frees the elements and the array; the vector becomes {0, NULL}
 * A vector's array is allocated by wasmz: free vectors made by these functions (or returned by
 * wasmz) only with vec_delete, and never pass a vector of your own array to vec_delete. */
#define WASMZ_STD_VEC(name, elem)                                                                  \
    typedef struct wasm_##name##_vec_t {                                                           \
        size_t size;                                                                               \
        wasm_##name##_t elem *data;                                                                \
    } wasm_##name##_vec_t;                                                                         \
    WASM_API_EXTERN void wasm_##name##_vec_new_empty(own wasm_##name##_vec_t *out);                \
    WASM_API_EXTERN void wasm_##name##_vec_new_uninitialized(own wasm_##name##_vec_t *out,         \
                                                             size_t);                              \
    WASM_API_EXTERN void wasm_##name##_vec_new(own wasm_##name##_vec_t *out, size_t,               \
                                               own wasm_##name##_t elem const[]);                  \
    WASM_API_EXTERN void wasm_##name##_vec_copy(own wasm_##name##_vec_t *out,                      \
                                                const wasm_##name##_vec_t *);                      \
    WASM_API_EXTERN void wasm_##name##_vec_delete(own wasm_##name##_vec_t *);

/* Byte vectors and names. Names are UTF-8 and not NUL-terminated, except messages
 * (wasm_message_t), whose size counts a final NUL. */
typedef byte_t wasm_byte_t;
WASMZ_STD_VEC(byte, )

typedef wasm_byte_vec_t wasm_name_t;

#define wasm_name wasm_byte_vec
#define wasm_name_new wasm_byte_vec_new
#define wasm_name_new_empty wasm_byte_vec_new_empty
#define wasm_name_new_new_uninitialized wasm_byte_vec_new_uninitialized
#define wasm_name_copy wasm_byte_vec_copy
#define wasm_name_delete wasm_byte_vec_delete

/* *out = the bytes of `s` without its NUL. */
static inline void wasm_name_new_from_string(own wasm_name_t *out, const char *s) {
    wasm_name_new(out, strlen(s), s);
}

/* *out = the bytes of `s` with its NUL. */
static inline void wasm_name_new_from_string_nt(own wasm_name_t *out, const char *s) {
    wasm_name_new(out, strlen(s) + 1, s);
}

/* ============================================================================================== */
/* Runtime environment                                                                             */

/* Engine settings. wasmz's settings (fuel, memory limits, ...) are set through wasmz.h. */
WASMZ_STD_OWN(config)
WASM_API_EXTERN own wasm_config_t *wasm_config_new(void);

/* An engine compiles modules; thread-safe. NULL only if the host CPU is unsupported. */
WASMZ_STD_OWN(engine)
WASM_API_EXTERN own wasm_engine_t *wasm_engine_new(void);
/* As wasm_engine_new, with `config`, which the engine consumes (NULL: default settings). */
WASM_API_EXTERN own wasm_engine_t *wasm_engine_new_with_config(own wasm_config_t *);

/* A store holds instances and their objects; single-threaded. NULL for a NULL engine. */
WASMZ_STD_OWN(store)
WASM_API_EXTERN own wasm_store_t *wasm_store_new(wasm_engine_t *);

/* ============================================================================================== */
/* Types                                                                                           */

typedef uint8_t wasm_mutability_t;
enum wasm_mutability_enum {
    WASM_CONST,
    WASM_VAR,
};

/* Limits of a table (elements) or memory (64 KiB pages). max == wasm_limits_max_default: none.
 * Larger limits (memory64, table64) are reported saturated to 32 bits. */
typedef struct wasm_limits_t {
    uint32_t min;
    uint32_t max;
} wasm_limits_t;

static const uint32_t wasm_limits_max_default = 0xffffffff;

/* An owned type with its vector and copy function. */
#define WASMZ_STD_TYPE(name)                                                                       \
    WASMZ_STD_OWN(name)                                                                            \
    WASMZ_STD_VEC(name, *)                                                                         \
    WASM_API_EXTERN own wasm_##name##_t *wasm_##name##_copy(const wasm_##name##_t *);

/* ---- value types ---- */

WASMZ_STD_TYPE(valtype)

/* The kinds of values. Types outside the standard (v128, typed and GC references) are reported
 * with kind 255 by module reflection; functions using them cannot be called through wasm.h. */
typedef uint8_t wasm_valkind_t;
enum wasm_valkind_enum {
    WASM_I32,
    WASM_I64,
    WASM_F32,
    WASM_F64,
    WASM_EXTERNREF = 128,
    WASM_FUNCREF,
};

/* NULL for an unknown kind. */
WASM_API_EXTERN own wasm_valtype_t *wasm_valtype_new(wasm_valkind_t);
WASM_API_EXTERN wasm_valkind_t wasm_valtype_kind(const wasm_valtype_t *);

static inline bool wasm_valkind_is_num(wasm_valkind_t k) { return k < WASM_EXTERNREF; }
static inline bool wasm_valkind_is_ref(wasm_valkind_t k) { return k >= WASM_EXTERNREF; }
static inline bool wasm_valtype_is_num(const wasm_valtype_t *t) {
    return wasm_valkind_is_num(wasm_valtype_kind(t));
}
static inline bool wasm_valtype_is_ref(const wasm_valtype_t *t) {
    return wasm_valkind_is_ref(wasm_valtype_kind(t));
}

/* ---- function types ---- */

WASMZ_STD_TYPE(functype)

/* Takes both vectors (their contents move into the type; they are left empty). NULL if an element
 * is NULL. */
WASM_API_EXTERN own wasm_functype_t *wasm_functype_new(own wasm_valtype_vec_t *params,
                                                       own wasm_valtype_vec_t *results);
/* Borrowed from the type. */
WASM_API_EXTERN const wasm_valtype_vec_t *wasm_functype_params(const wasm_functype_t *);
WASM_API_EXTERN const wasm_valtype_vec_t *wasm_functype_results(const wasm_functype_t *);

/* ---- global types ---- */

WASMZ_STD_TYPE(globaltype)

/* Takes the value type. */
WASM_API_EXTERN own wasm_globaltype_t *wasm_globaltype_new(own wasm_valtype_t *, wasm_mutability_t);
WASM_API_EXTERN const wasm_valtype_t *wasm_globaltype_content(const wasm_globaltype_t *);
WASM_API_EXTERN wasm_mutability_t wasm_globaltype_mutability(const wasm_globaltype_t *);

/* ---- table types ---- */

WASMZ_STD_TYPE(tabletype)

/* Takes the element type (WASM_FUNCREF or WASM_EXTERNREF; NULL for another kind). */
WASM_API_EXTERN own wasm_tabletype_t *wasm_tabletype_new(own wasm_valtype_t *,
                                                         const wasm_limits_t *);
WASM_API_EXTERN const wasm_valtype_t *wasm_tabletype_element(const wasm_tabletype_t *);
WASM_API_EXTERN const wasm_limits_t *wasm_tabletype_limits(const wasm_tabletype_t *);

/* ---- memory types ---- */

WASMZ_STD_TYPE(memorytype)

WASM_API_EXTERN own wasm_memorytype_t *wasm_memorytype_new(const wasm_limits_t *);
WASM_API_EXTERN const wasm_limits_t *wasm_memorytype_limits(const wasm_memorytype_t *);

/* ---- extern types ---- */

WASMZ_STD_TYPE(externtype)

typedef uint8_t wasm_externkind_t;
enum wasm_externkind_enum {
    WASM_EXTERN_FUNC,
    WASM_EXTERN_GLOBAL,
    WASM_EXTERN_TABLE,
    WASM_EXTERN_MEMORY,
};

WASM_API_EXTERN wasm_externkind_t wasm_externtype_kind(const wasm_externtype_t *);

/* The casts return the same object (not a copy); from an extern type, NULL if the kind differs. */
WASM_API_EXTERN wasm_externtype_t *wasm_functype_as_externtype(wasm_functype_t *);
WASM_API_EXTERN wasm_externtype_t *wasm_globaltype_as_externtype(wasm_globaltype_t *);
WASM_API_EXTERN wasm_externtype_t *wasm_tabletype_as_externtype(wasm_tabletype_t *);
WASM_API_EXTERN wasm_externtype_t *wasm_memorytype_as_externtype(wasm_memorytype_t *);

WASM_API_EXTERN wasm_functype_t *wasm_externtype_as_functype(wasm_externtype_t *);
WASM_API_EXTERN wasm_globaltype_t *wasm_externtype_as_globaltype(wasm_externtype_t *);
WASM_API_EXTERN wasm_tabletype_t *wasm_externtype_as_tabletype(wasm_externtype_t *);
WASM_API_EXTERN wasm_memorytype_t *wasm_externtype_as_memorytype(wasm_externtype_t *);

WASM_API_EXTERN const wasm_externtype_t *
wasm_functype_as_externtype_const(const wasm_functype_t *);
WASM_API_EXTERN const wasm_externtype_t *
wasm_globaltype_as_externtype_const(const wasm_globaltype_t *);
WASM_API_EXTERN const wasm_externtype_t *
wasm_tabletype_as_externtype_const(const wasm_tabletype_t *);
WASM_API_EXTERN const wasm_externtype_t *
wasm_memorytype_as_externtype_const(const wasm_memorytype_t *);

WASM_API_EXTERN const wasm_functype_t *
wasm_externtype_as_functype_const(const wasm_externtype_t *);
WASM_API_EXTERN const wasm_globaltype_t *
wasm_externtype_as_globaltype_const(const wasm_externtype_t *);
WASM_API_EXTERN const wasm_tabletype_t *
wasm_externtype_as_tabletype_const(const wasm_externtype_t *);
WASM_API_EXTERN const wasm_memorytype_t *
wasm_externtype_as_memorytype_const(const wasm_externtype_t *);

/* ---- import and export types ---- */

WASMZ_STD_TYPE(importtype)

/* Takes the names (left empty) and the type. */
WASM_API_EXTERN own wasm_importtype_t *wasm_importtype_new(own wasm_name_t *module,
                                                           own wasm_name_t *name,
                                                           own wasm_externtype_t *);
WASM_API_EXTERN const wasm_name_t *wasm_importtype_module(const wasm_importtype_t *);
WASM_API_EXTERN const wasm_name_t *wasm_importtype_name(const wasm_importtype_t *);
WASM_API_EXTERN const wasm_externtype_t *wasm_importtype_type(const wasm_importtype_t *);

WASMZ_STD_TYPE(exporttype)

/* Takes the name (left empty) and the type. */
WASM_API_EXTERN own wasm_exporttype_t *wasm_exporttype_new(own wasm_name_t *,
                                                           own wasm_externtype_t *);
WASM_API_EXTERN const wasm_name_t *wasm_exporttype_name(const wasm_exporttype_t *);
WASM_API_EXTERN const wasm_externtype_t *wasm_exporttype_type(const wasm_exporttype_t *);

/* ============================================================================================== */
/* Values                                                                                          */

struct wasm_ref_t;

/* A value. For WASM_EXTERNREF and WASM_FUNCREF, `of.ref` is a reference (NULL: null reference);
 * a value owns its reference when the value is `own`. */
typedef struct wasm_val_t {
    wasm_valkind_t kind;
    union {
        int32_t i32;
        int64_t i64;
        float32_t f32;
        float64_t f64;
        struct wasm_ref_t *ref;
    } of;
} wasm_val_t;

/* Deletes the value's reference, if any. */
WASM_API_EXTERN void wasm_val_delete(own wasm_val_t *v);
/* *out = a copy of the value (references are copied). */
WASM_API_EXTERN void wasm_val_copy(own wasm_val_t *out, const wasm_val_t *);

WASMZ_STD_VEC(val, )

/* ============================================================================================== */
/* References                                                                                      */

/* Functions every reference type has:
 *   copy                      a new handle to the same object (shares its host info)
 *   same                      whether both handles denote the same object (false for NULL)
 *   get_host_info             the object's host info (NULL if none)
 *   set_host_info             sets it, without finalizer
 *   set_host_info_with_finalizer  sets it; the finalizer runs once with it (see above) */
#define WASMZ_STD_REF_BASE(name)                                                                   \
    WASMZ_STD_OWN(name)                                                                            \
    WASM_API_EXTERN own wasm_##name##_t *wasm_##name##_copy(const wasm_##name##_t *);              \
    WASM_API_EXTERN bool wasm_##name##_same(const wasm_##name##_t *, const wasm_##name##_t *);     \
    WASM_API_EXTERN void *wasm_##name##_get_host_info(const wasm_##name##_t *);                    \
    WASM_API_EXTERN void wasm_##name##_set_host_info(wasm_##name##_t *, void *);                   \
    WASM_API_EXTERN void wasm_##name##_set_host_info_with_finalizer(wasm_##name##_t *, void *,     \
                                                                    void (*)(void *));

/* ... and the casts to and from wasm_ref_t, which return the same handle (not a copy); from a
 * reference, NULL if it denotes another kind of object. */
#define WASMZ_STD_REF(name)                                                                        \
    WASMZ_STD_REF_BASE(name)                                                                       \
    WASM_API_EXTERN wasm_ref_t *wasm_##name##_as_ref(wasm_##name##_t *);                           \
    WASM_API_EXTERN wasm_##name##_t *wasm_ref_as_##name(wasm_ref_t *);                             \
    WASM_API_EXTERN const wasm_ref_t *wasm_##name##_as_ref_const(const wasm_##name##_t *);         \
    WASM_API_EXTERN const wasm_##name##_t *wasm_ref_as_##name##_const(const wasm_ref_t *);

/* ... and, for objects that may move between threads, a thread-safe shared form: `share` makes
 * one, `obtain` makes an object of it in a store (NULL if the store's engine is not the one it was
 * made by). */
#define WASMZ_STD_SHARABLE_REF(name)                                                               \
    WASMZ_STD_REF(name)                                                                            \
    WASMZ_STD_OWN(shared_##name)                                                                   \
    WASM_API_EXTERN own wasm_shared_##name##_t *wasm_##name##_share(const wasm_##name##_t *);      \
    WASM_API_EXTERN own wasm_##name##_t *wasm_##name##_obtain(wasm_store_t *,                      \
                                                              const wasm_shared_##name##_t *);

WASMZ_STD_REF_BASE(ref)

/* ---- frames: where a trap happened ---- */

WASMZ_STD_OWN(frame)
WASMZ_STD_VEC(frame, *)
WASM_API_EXTERN own wasm_frame_t *wasm_frame_copy(const wasm_frame_t *);

/* Always NULL: wasmz's frames do not record their instance. */
WASM_API_EXTERN struct wasm_instance_t *wasm_frame_instance(const wasm_frame_t *);
/* The function's index in its module's function index space (imports first). */
WASM_API_EXTERN uint32_t wasm_frame_func_index(const wasm_frame_t *);
/* The offset of the frame's instruction in the function's compiled (machine) code. */
WASM_API_EXTERN size_t wasm_frame_func_offset(const wasm_frame_t *);
/* The byte offset in the wasm module of the frame's operator (the trapping one, or the call); 0 where
 * none is known. */
WASM_API_EXTERN size_t wasm_frame_module_offset(const wasm_frame_t *);

/* ---- traps ---- */

typedef wasm_name_t wasm_message_t; /* NUL-terminated: `size` counts the NUL */

WASMZ_STD_REF(trap)

/* A trap with `message` (read up to its first NUL; NULL: empty). `store` may be NULL. Returned
 * from a host callback, it makes the wasm code that called it trap with that message. */
WASM_API_EXTERN own wasm_trap_t *wasm_trap_new(wasm_store_t *store, const wasm_message_t *);
/* *out = the message, with a final NUL. */
WASM_API_EXTERN void wasm_trap_message(const wasm_trap_t *, own wasm_message_t *out);
/* The innermost wasm frame; NULL when the trap has none (one made by wasm_trap_new, or one that
 * happened outside wasm code). */
WASM_API_EXTERN own wasm_frame_t *wasm_trap_origin(const wasm_trap_t *);
/* *out = the wasm frames active at the trap, innermost first. */
WASM_API_EXTERN void wasm_trap_trace(const wasm_trap_t *, own wasm_frame_vec_t *out);

/* ---- foreign objects: host values for externref ---- */

WASMZ_STD_REF(foreign)

/* A new foreign object, whose identity (and host info) survives trips through wasm as an
 * externref. `store` may be NULL. */
WASM_API_EXTERN own wasm_foreign_t *wasm_foreign_new(wasm_store_t *);

/* ============================================================================================== */
/* Modules                                                                                         */

WASMZ_STD_SHARABLE_REF(module)

/* Validates and compiles a binary module (the text format is accepted too, as an extension) with
 * the store's engine. NULL if invalid. Refuses wasmz artifacts: see wasm_module_deserialize. */
WASM_API_EXTERN own wasm_module_t *wasm_module_new(wasm_store_t *, const wasm_byte_vec_t *binary);
/* Whether wasm_module_new would succeed. */
WASM_API_EXTERN bool wasm_module_validate(wasm_store_t *, const wasm_byte_vec_t *binary);

/* *out = the imports (exports) in the module's order. Exception tags are left out. */
WASM_API_EXTERN void wasm_module_imports(const wasm_module_t *, own wasm_importtype_vec_t *out);
WASM_API_EXTERN void wasm_module_exports(const wasm_module_t *, own wasm_exporttype_vec_t *out);

/* *out = the compiled module as a wasmz artifact (native code); empty on failure. */
WASM_API_EXTERN void wasm_module_serialize(const wasm_module_t *, own wasm_byte_vec_t *out);
/* Loads an artifact made by wasm_module_serialize. FOR TRUSTED INPUT ONLY: an artifact is native
 * code that runs as is; loading bytes from an untrusted source lets them run arbitrary code. NULL
 * for an artifact of another wasmz build, target or engine configuration. */
WASM_API_EXTERN own wasm_module_t *wasm_module_deserialize(wasm_store_t *,
                                                           const wasm_byte_vec_t *);

/* ============================================================================================== */
/* Functions                                                                                       */

WASMZ_STD_REF(func)

/* A host function: reads `args` (borrowed), writes `results` (which has the result count; set each
 * element's kind and value; references written there are taken over by wasmz), and returns NULL or
 * a trap (taken over by wasmz) to make the calling wasm code trap. */
typedef own wasm_trap_t *(*wasm_func_callback_t)(const wasm_val_vec_t *args,
                                                  own wasm_val_vec_t *results);
typedef own wasm_trap_t *(*wasm_func_callback_with_env_t)(void *env, const wasm_val_vec_t *args,
                                                           wasm_val_vec_t *results);

/* A function of `store` of type `type` that runs the callback. NULL for a NULL argument. */
WASM_API_EXTERN own wasm_func_t *wasm_func_new(wasm_store_t *, const wasm_functype_t *,
                                               wasm_func_callback_t);
/* As wasm_func_new; the callback gets `env`. `finalizer` (may be NULL) runs once with `env` when
 * the function is gone (with its store), or at once if the function cannot be made. */
WASM_API_EXTERN own wasm_func_t *wasm_func_new_with_env(wasm_store_t *,
                                                        const wasm_functype_t *type,
                                                        wasm_func_callback_with_env_t, void *env,
                                                        void (*finalizer)(void *));

WASM_API_EXTERN own wasm_functype_t *wasm_func_type(const wasm_func_t *);
WASM_API_EXTERN size_t wasm_func_param_arity(const wasm_func_t *);
WASM_API_EXTERN size_t wasm_func_result_arity(const wasm_func_t *);

/* Calls the function with `args` (their kinds must match the parameter types) and writes the
 * results into `results`, whose size must be the result count (the caller owns the references
 * written there). Returns NULL, or a trap: a wasm trap, a host callback's trap, or bad arguments
 * (NULL function, wrong sizes or kinds). NULL vectors count as empty. */
WASM_API_EXTERN own wasm_trap_t *wasm_func_call(const wasm_func_t *, const wasm_val_vec_t *args,
                                                wasm_val_vec_t *results);

/* ============================================================================================== */
/* Globals                                                                                         */

WASMZ_STD_REF(global)

/* A global of `store` with initial value `*val` (copied; its kind must match the type). */
WASM_API_EXTERN own wasm_global_t *wasm_global_new(wasm_store_t *, const wasm_globaltype_t *,
                                                   const wasm_val_t *);
WASM_API_EXTERN own wasm_globaltype_t *wasm_global_type(const wasm_global_t *);
/* *out = the value (its reference, if any, is owned by the caller). */
WASM_API_EXTERN void wasm_global_get(const wasm_global_t *, own wasm_val_t *out);
/* Sets a mutable global (copies the value); ignored for an immutable global or a mismatched kind. */
WASM_API_EXTERN void wasm_global_set(wasm_global_t *, const wasm_val_t *);

/* ============================================================================================== */
/* Tables                                                                                          */

WASMZ_STD_REF(table)

typedef uint32_t wasm_table_size_t;

/* A table of `store`, every element `init` (NULL: null). A funcref table takes functions, an
 * externref table foreign objects. */
WASM_API_EXTERN own wasm_table_t *wasm_table_new(wasm_store_t *, const wasm_tabletype_t *,
                                                 wasm_ref_t *init);
WASM_API_EXTERN own wasm_tabletype_t *wasm_table_type(const wasm_table_t *);
/* Element `index`; NULL for a null element or an index out of bounds. */
WASM_API_EXTERN own wasm_ref_t *wasm_table_get(const wasm_table_t *, wasm_table_size_t index);
/* false when out of bounds or the reference does not fit the element type. */
WASM_API_EXTERN bool wasm_table_set(wasm_table_t *, wasm_table_size_t index, wasm_ref_t *);
WASM_API_EXTERN wasm_table_size_t wasm_table_size(const wasm_table_t *);
/* Adds `delta` elements set to `init`; false past the maximum. */
WASM_API_EXTERN bool wasm_table_grow(wasm_table_t *, wasm_table_size_t delta, wasm_ref_t *init);

/* ============================================================================================== */
/* Memories                                                                                        */

WASMZ_STD_REF(memory)

typedef uint32_t wasm_memory_pages_t;

static const size_t MEMORY_PAGE_SIZE = 0x10000;

WASM_API_EXTERN own wasm_memory_t *wasm_memory_new(wasm_store_t *, const wasm_memorytype_t *);
WASM_API_EXTERN own wasm_memorytype_t *wasm_memory_type(const wasm_memory_t *);
/* The first byte. The address never changes (memories grow in place); the first
 * wasm_memory_data_size() bytes are accessible while the memory lives. */
WASM_API_EXTERN byte_t *wasm_memory_data(wasm_memory_t *);
WASM_API_EXTERN size_t wasm_memory_data_size(const wasm_memory_t *);
WASM_API_EXTERN wasm_memory_pages_t wasm_memory_size(const wasm_memory_t *);
/* false past the maximum or the engine's memory limit. */
WASM_API_EXTERN bool wasm_memory_grow(wasm_memory_t *, wasm_memory_pages_t delta);

/* ============================================================================================== */
/* Externals: functions, globals, tables and memories as imports and exports                       */

WASMZ_STD_REF(extern)
WASMZ_STD_VEC(extern, *)

WASM_API_EXTERN wasm_externkind_t wasm_extern_kind(const wasm_extern_t *);
WASM_API_EXTERN own wasm_externtype_t *wasm_extern_type(const wasm_extern_t *);

/* The casts return the same handle (not a copy); to a kind, NULL if the kind differs. */
WASM_API_EXTERN wasm_extern_t *wasm_func_as_extern(wasm_func_t *);
WASM_API_EXTERN wasm_extern_t *wasm_global_as_extern(wasm_global_t *);
WASM_API_EXTERN wasm_extern_t *wasm_table_as_extern(wasm_table_t *);
WASM_API_EXTERN wasm_extern_t *wasm_memory_as_extern(wasm_memory_t *);

WASM_API_EXTERN wasm_func_t *wasm_extern_as_func(wasm_extern_t *);
WASM_API_EXTERN wasm_global_t *wasm_extern_as_global(wasm_extern_t *);
WASM_API_EXTERN wasm_table_t *wasm_extern_as_table(wasm_extern_t *);
WASM_API_EXTERN wasm_memory_t *wasm_extern_as_memory(wasm_extern_t *);

WASM_API_EXTERN const wasm_extern_t *wasm_func_as_extern_const(const wasm_func_t *);
WASM_API_EXTERN const wasm_extern_t *wasm_global_as_extern_const(const wasm_global_t *);
WASM_API_EXTERN const wasm_extern_t *wasm_table_as_extern_const(const wasm_table_t *);
WASM_API_EXTERN const wasm_extern_t *wasm_memory_as_extern_const(const wasm_memory_t *);

WASM_API_EXTERN const wasm_func_t *wasm_extern_as_func_const(const wasm_extern_t *);
WASM_API_EXTERN const wasm_global_t *wasm_extern_as_global_const(const wasm_extern_t *);
WASM_API_EXTERN const wasm_table_t *wasm_extern_as_table_const(const wasm_extern_t *);
WASM_API_EXTERN const wasm_memory_t *wasm_extern_as_memory_const(const wasm_extern_t *);

/* ============================================================================================== */
/* Instances                                                                                       */

WASMZ_STD_REF(instance)

/* Instantiates `module` in `store` with `imports` (borrowed), one per import of the module in its
 * order, and runs its start function. On failure returns NULL and, if `trap` is not NULL, stores
 * a trap there explaining why (a trap of the start function, a wrong import count or type, an
 * object of another store, a module of another engine). `*trap` is set to NULL on success. */
WASM_API_EXTERN own wasm_instance_t *wasm_instance_new(wasm_store_t *, const wasm_module_t *,
                                                       const wasm_extern_vec_t *imports,
                                                       own wasm_trap_t **trap);

/* *out = the exports in the module's order (exception tags are left out). */
WASM_API_EXTERN void wasm_instance_exports(const wasm_instance_t *, own wasm_extern_vec_t *out);

/* ============================================================================================== */
/* Convenience                                                                                     */

#define WASM_EMPTY_VEC {0, NULL}
#define WASM_ARRAY_VEC(array) {sizeof(array) / sizeof(*(array)), array}

static inline own wasm_valtype_t *wasm_valtype_new_i32(void) { return wasm_valtype_new(WASM_I32); }
static inline own wasm_valtype_t *wasm_valtype_new_i64(void) { return wasm_valtype_new(WASM_I64); }
static inline own wasm_valtype_t *wasm_valtype_new_f32(void) { return wasm_valtype_new(WASM_F32); }
static inline own wasm_valtype_t *wasm_valtype_new_f64(void) { return wasm_valtype_new(WASM_F64); }
static inline own wasm_valtype_t *wasm_valtype_new_externref(void) {
    return wasm_valtype_new(WASM_EXTERNREF);
}
static inline own wasm_valtype_t *wasm_valtype_new_funcref(void) {
    return wasm_valtype_new(WASM_FUNCREF);
}

/* A function type of `np` parameters and `nr` results (np <= 3, nr <= 2), taking the value types. */
static inline own wasm_functype_t *wasmz_std_functype(size_t np, wasm_valtype_t *p1,
                                                      wasm_valtype_t *p2, wasm_valtype_t *p3,
                                                      size_t nr, wasm_valtype_t *r1,
                                                      wasm_valtype_t *r2) {
    wasm_valtype_t *ps[3];
    wasm_valtype_t *rs[2];
    wasm_valtype_vec_t params, results;
    ps[0] = p1;
    ps[1] = p2;
    ps[2] = p3;
    rs[0] = r1;
    rs[1] = r2;
    wasm_valtype_vec_new(&params, np, ps);
    wasm_valtype_vec_new(&results, nr, rs);
    return wasm_functype_new(&params, &results);
}

static inline own wasm_functype_t *wasm_functype_new_0_0(void) {
    return wasmz_std_functype(0, NULL, NULL, NULL, 0, NULL, NULL);
}
static inline own wasm_functype_t *wasm_functype_new_1_0(own wasm_valtype_t *p) {
    return wasmz_std_functype(1, p, NULL, NULL, 0, NULL, NULL);
}
static inline own wasm_functype_t *wasm_functype_new_2_0(own wasm_valtype_t *p1,
                                                         own wasm_valtype_t *p2) {
    return wasmz_std_functype(2, p1, p2, NULL, 0, NULL, NULL);
}
static inline own wasm_functype_t *wasm_functype_new_3_0(own wasm_valtype_t *p1,
                                                         own wasm_valtype_t *p2,
                                                         own wasm_valtype_t *p3) {
    return wasmz_std_functype(3, p1, p2, p3, 0, NULL, NULL);
}
static inline own wasm_functype_t *wasm_functype_new_0_1(own wasm_valtype_t *r) {
    return wasmz_std_functype(0, NULL, NULL, NULL, 1, r, NULL);
}
static inline own wasm_functype_t *wasm_functype_new_1_1(own wasm_valtype_t *p,
                                                         own wasm_valtype_t *r) {
    return wasmz_std_functype(1, p, NULL, NULL, 1, r, NULL);
}
static inline own wasm_functype_t *wasm_functype_new_2_1(own wasm_valtype_t *p1,
                                                         own wasm_valtype_t *p2,
                                                         own wasm_valtype_t *r) {
    return wasmz_std_functype(2, p1, p2, NULL, 1, r, NULL);
}
static inline own wasm_functype_t *wasm_functype_new_3_1(own wasm_valtype_t *p1,
                                                         own wasm_valtype_t *p2,
                                                         own wasm_valtype_t *p3,
                                                         own wasm_valtype_t *r) {
    return wasmz_std_functype(3, p1, p2, p3, 1, r, NULL);
}
static inline own wasm_functype_t *wasm_functype_new_0_2(own wasm_valtype_t *r1,
                                                         own wasm_valtype_t *r2) {
    return wasmz_std_functype(0, NULL, NULL, NULL, 2, r1, r2);
}
static inline own wasm_functype_t *wasm_functype_new_1_2(own wasm_valtype_t *p,
                                                         own wasm_valtype_t *r1,
                                                         own wasm_valtype_t *r2) {
    return wasmz_std_functype(1, p, NULL, NULL, 2, r1, r2);
}
static inline own wasm_functype_t *wasm_functype_new_2_2(own wasm_valtype_t *p1,
                                                         own wasm_valtype_t *p2,
                                                         own wasm_valtype_t *r1,
                                                         own wasm_valtype_t *r2) {
    return wasmz_std_functype(2, p1, p2, NULL, 2, r1, r2);
}
static inline own wasm_functype_t *wasm_functype_new_3_2(own wasm_valtype_t *p1,
                                                         own wasm_valtype_t *p2,
                                                         own wasm_valtype_t *p3,
                                                         own wasm_valtype_t *r1,
                                                         own wasm_valtype_t *r2) {
    return wasmz_std_functype(3, p1, p2, p3, 2, r1, r2);
}

/* A pointer as a value of the pointer-sized integer kind, and back. */
static inline void wasm_val_init_ptr(own wasm_val_t *out, void *p) {
#if UINTPTR_MAX == UINT32_MAX
    out->kind = WASM_I32;
    out->of.i32 = (int32_t)(intptr_t)p;
#else
    out->kind = WASM_I64;
    out->of.i64 = (int64_t)(intptr_t)p;
#endif
}

static inline void *wasm_val_ptr(const wasm_val_t *val) {
#if UINTPTR_MAX == UINT32_MAX
    return (void *)(intptr_t)val->of.i32;
#else
    return (void *)(intptr_t)val->of.i64;
#endif
}

#define WASM_I32_VAL(i) {.kind = WASM_I32, .of = {.i32 = i}}
#define WASM_I64_VAL(i) {.kind = WASM_I64, .of = {.i64 = i}}
#define WASM_F32_VAL(z) {.kind = WASM_F32, .of = {.f32 = z}}
#define WASM_F64_VAL(z) {.kind = WASM_F64, .of = {.f64 = z}}
#define WASM_REF_VAL(r) {.kind = WASM_EXTERNREF, .of = {.ref = r}}
#define WASM_INIT_VAL {.kind = WASM_EXTERNREF, .of = {.ref = NULL}}

#undef own

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WASM_H */
