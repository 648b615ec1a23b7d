/*
 * wasmz.h - the C API of wasmz, a WebAssembly runtime that compiles wasm to native code with
 * Cranelift.
 *
 * Link with -lwasmz (libwasmz.so or libwasmz.a, built by `cargo build --release -p wasmz-c-api`
 * into target/release/). The static library also needs: -lpthread -ldl -lm.
 *
 * Conventions
 * -----------
 * ERRORS. Every function that can fail returns a `wasmz_error_t *`: NULL on success, otherwise an
 *   error the CALLER OWNS and frees with wasmz_error_delete(). wasmz_error_message() gives its text;
 *   wasmz_error_trap_code() tells whether it is a trap (and which); wasmz_error_exit_status() whether
 *   the guest exited (WASI proc_exit). No function aborts the process: NULL pointers where they are
 *   not allowed, invalid UTF-8, malformed modules, missing imports and traps all give an error, and
 *   Rust panics are caught at the boundary and reported as errors.
 *
 * OUT-PARAMETERS. Constructors return their object through a `T **out`, which is set to NULL first
 *   and receives the object on success. Out-parameters must not be NULL unless documented otherwise.
 *
 * OWNERSHIP. Every object returned by this API is owned by the caller and freed with the matching
 *   delete function (each accepts NULL):
 *     wasmz_config_t       wasmz_config_delete()
 *     wasmz_engine_t       wasmz_engine_delete()
 *     wasmz_module_t       wasmz_module_delete()
 *     wasmz_store_t        wasmz_store_delete()
 *     wasmz_linker_t       wasmz_linker_delete()
 *     wasmz_instance_t     wasmz_instance_delete()
 *     wasmz_memory_t       wasmz_memory_delete()
 *     wasmz_wasi_config_t  wasmz_wasi_config_delete()
 *     wasmz_error_t        wasmz_error_delete()
 *     serialized bytes     wasmz_bytes_delete()
 *   Objects keep alive what they depend on (an instance keeps its store and module, a module its
 *   engine, a memory handle its store), so objects may be deleted in any order. Pointers passed IN
 *   are borrowed for the duration of the call only (strings and arrays are copied when kept), with
 *   two exceptions, stated at the functions: a host callback's returned error is taken over by wasmz,
 *   and a host function's user_data is handed to its finalizer.
 *
 * THREADS. wasmz_engine_t and wasmz_module_t are thread-safe: share them between threads.
 *   wasmz_store_t is single-threaded (reference-counted with Rust's `Rc` inside), and so is
 *   everything tied to a store: wasmz_instance_t, wasmz_memory_t, and a wasmz_linker_t holding a
 *   global. Use them only on the thread that created the store, never concurrently. A host function
 *   may be called on the thread of any store that instantiated it.
 *
 * STRINGS are NUL-terminated UTF-8. Byte arrays and value arrays may be NULL when their length is 0.
 *
 * MEMORY ACCESS. The C API gives no raw pointer into linear memory (the Rust API has no stable
 *   accessor for one, and memory.grow may change what is mapped): use the copy functions
 *   wasmz_memory_read() / wasmz_memory_write() and, inside host callbacks,
 *   wasmz_caller_memory_read() / wasmz_caller_memory_write().
 */
#ifndef WASMZ_H
#define WASMZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks every function of the API. */
#define WASMZ_API extern

/* ---------------------------------------------------------------------------------------------- */
/* Opaque types                                                                                    */

/* Engine settings. */
typedef struct wasmz_config_t wasmz_config_t;
/* Compilation settings and state shared by modules and stores. Thread-safe. */
typedef struct wasmz_engine_t wasmz_engine_t;
/* A validated and compiled module. Thread-safe. */
typedef struct wasmz_module_t wasmz_module_t;
/* The runtime state of instances. Single-threaded. */
typedef struct wasmz_store_t wasmz_store_t;
/* Named definitions that satisfy a module's imports. */
typedef struct wasmz_linker_t wasmz_linker_t;
/* An instantiated module. Single-threaded (belongs to its store). */
typedef struct wasmz_instance_t wasmz_instance_t;
/* A handle to an exported linear memory. Single-threaded (belongs to its store). */
typedef struct wasmz_memory_t wasmz_memory_t;
/* Arguments, environment, directories and standard streams of a WASI program. */
typedef struct wasmz_wasi_config_t wasmz_wasi_config_t;
/* The calling instance, inside a host callback only. Not owned: never freed. */
typedef struct wasmz_caller_t wasmz_caller_t;
/* An error. Owned by whoever receives it; freed with wasmz_error_delete(). */
typedef struct wasmz_error_t wasmz_error_t;

/* ---------------------------------------------------------------------------------------------- */
/* Values                                                                                          */

/* The kind of a value (one of the constants below). */
typedef uint8_t wasmz_valkind_t;
enum wasmz_valkind_enum {
    WASMZ_I32 = 0,
    WASMZ_I64 = 1,
    WASMZ_F32 = 2,
    WASMZ_F64 = 3,
    WASMZ_V128 = 4, /* 16 bytes, little-endian */
};

/* A typed value. Reference types (funcref, externref) are not supported by the C API: functions
 * that take or return them fail with an error. */
typedef struct wasmz_val_t {
    wasmz_valkind_t kind;
    union {
        int32_t i32;
        int64_t i64;
        float f32;
        double f64;
        uint8_t v128[16];
    } of;
} wasmz_val_t;

/* ---------------------------------------------------------------------------------------------- */
/* Errors and traps                                                                                */

/* A trap code. */
typedef uint32_t wasmz_trap_code_t;
enum wasmz_trap_code_enum {
    WASMZ_TRAP_UNREACHABLE = 1,
    WASMZ_TRAP_MEMORY_OUT_OF_BOUNDS = 2,
    WASMZ_TRAP_TABLE_OUT_OF_BOUNDS = 3,
    WASMZ_TRAP_INDIRECT_CALL_TO_NULL = 4,
    WASMZ_TRAP_INTEGER_DIVISION_BY_ZERO = 5,
    WASMZ_TRAP_INTEGER_OVERFLOW = 6,
    WASMZ_TRAP_BAD_CONVERSION_TO_INTEGER = 7,
    WASMZ_TRAP_STACK_OVERFLOW = 8,
    WASMZ_TRAP_BAD_SIGNATURE = 9,
    WASMZ_TRAP_OUT_OF_FUEL = 10,
    WASMZ_TRAP_GROWTH_OPERATION_LIMITED = 11,
    WASMZ_TRAP_OUT_OF_SYSTEM_MEMORY = 12,
    WASMZ_TRAP_NULL_REFERENCE = 13,
    WASMZ_TRAP_CAST_FAILURE = 14,
    WASMZ_TRAP_ARRAY_OUT_OF_BOUNDS = 15,
    WASMZ_TRAP_OUT_OF_MEMORY = 16,
    WASMZ_TRAP_UNHANDLED_EXCEPTION = 17,
    WASMZ_TRAP_UNALIGNED_ATOMIC_ACCESS = 18,
    WASMZ_TRAP_UNSHARED_MEMORY_WAIT = 19,
    WASMZ_TRAP_HOST_ERROR = 20, /* a host callback returned an error */
    WASMZ_TRAP_INTERRUPTED = 21,
    WASMZ_TRAP_COMPILE_ERROR = 22, /* a lazily compiled function failed to compile */
};

/* Frees an error (NULL is ignored). */
WASMZ_API void wasmz_error_delete(wasmz_error_t *error);

/* The error's message: owned by the error, valid until wasmz_error_delete(). For NULL, a static
 * string. Traps include the wasm backtrace, one frame per line; other errors end with their causes
 * (the operating system's reason when an artifact file cannot be read). */
WASMZ_API const char *wasmz_error_message(const wasmz_error_t *error);

/* Whether the error is a trap; if so and `code` is not NULL, stores the trap code. */
WASMZ_API bool wasmz_error_trap_code(const wasmz_error_t *error, wasmz_trap_code_t *code);

/* Whether the error reports an exit of the guest (WASI proc_exit, or a host callback returning
 * wasmz_error_new_exit()); if so and `status` is not NULL, stores the exit status. */
WASMZ_API bool wasmz_error_exit_status(const wasmz_error_t *error, int *status);

/* A new error with `message` (copied; NULL gives ""). Caller-owned. Returned from a host callback,
 * it traps the guest with WASMZ_TRAP_HOST_ERROR and this message. */
WASMZ_API wasmz_error_t *wasmz_error_new(const char *message);

/* A new trap error with `code` (an unknown code becomes WASMZ_TRAP_HOST_ERROR) and `message`
 * (copied; NULL gives ""). Caller-owned. Returned from a host callback, it traps the guest with
 * that code. */
WASMZ_API wasmz_error_t *wasmz_trap_new(wasmz_trap_code_t code, const char *message);

/* A new error that, returned from a host callback, ends the run with exit status `status` (as WASI
 * proc_exit does): wasmz_instance_run_start() then reports `status`. Caller-owned. */
WASMZ_API wasmz_error_t *wasmz_error_new_exit(int status);

/* ---------------------------------------------------------------------------------------------- */
/* Config and engine                                                                               */

/* New default settings; free with wasmz_config_delete(). */
WASMZ_API wasmz_config_t *wasmz_config_new(void);

/* Frees settings (NULL is ignored). */
WASMZ_API void wasmz_config_delete(wasmz_config_t *config);

/* Removes the memory limit in wasmz_config_memory_limit(). */
#define WASMZ_NO_MEMORY_LIMIT UINT64_MAX

/* Limits every linear memory to `bytes` (rounded down to 64 KiB pages): memory.grow past it returns
 * -1 and wasmz_memory_grow() fails. WASMZ_NO_MEMORY_LIMIT (the default) removes the limit. */
WASMZ_API wasmz_error_t *wasmz_config_memory_limit(wasmz_config_t *config, uint64_t bytes);

/* Explicit bounds checks (true) instead of guard pages (false) for linear memories: slower code, but
 * each memory reserves only the address space it can grow to. Without this call, guard pages unless
 * the process's address-space limit (ulimit -v) is below 9 GiB. */
WASMZ_API wasmz_error_t *wasmz_config_explicit_bounds_checks(wasmz_config_t *config, bool enable);

/* How many bytes of native stack wasm may use per call from the host (default 512 KiB); deeper
 * recursion traps with WASMZ_TRAP_STACK_OVERFLOW. */
WASMZ_API wasmz_error_t *wasmz_config_max_wasm_stack(wasmz_config_t *config, size_t bytes);

/* Lazy compilation (false by default): wasmz_module_new() validates the module and compiles nothing;
 * each function is compiled on its first call. A function that fails to compile then traps with
 * WASMZ_TRAP_COMPILE_ERROR. Artifacts of a lazy engine load only into lazy engines. */
WASMZ_API wasmz_error_t *wasmz_config_lazy_compilation(wasmz_config_t *config, bool enable);

/* The standard C API's config (wasm.h), declared there. */
struct wasm_config_t;

/* A copy of `config`'s settings as a config of the standard C API (include/wasm.h), for
 * wasm_engine_new_with_config(): memory limits, bounds checks, stack size and lazy compilation then
 * apply to engines made through wasm.h. Owned by the caller (freed by wasm_config_delete() or
 * consumed by wasm_engine_new_with_config()). NULL for NULL. */
WASMZ_API struct wasm_config_t *wasmz_config_to_wasm(const wasmz_config_t *config);

/* Fuel metering (off by default): compiled code charges one unit of fuel per function entry and
 * per loop iteration, and traps with WASMZ_TRAP_OUT_OF_FUEL when the store has none left. A new
 * store has no fuel: give it some with wasmz_store_set_fuel() (wasmz_wasm_store_set_fuel() for a
 * wasm.h store) before calling into it, instantiation with a start function included. */
WASMZ_API wasmz_error_t *wasmz_config_consume_fuel(wasmz_config_t *config, bool enable);

/* Memory budget of each store: one limit in bytes over its linear memories, tables and compiled
 * code (WASMZ_NO_MEMORY_LIMIT: none, the default). Past it, memory.grow and table.grow return -1 and
 * instantiation fails. */
WASMZ_API wasmz_error_t *wasmz_config_memory_budget(wasmz_config_t *config, uint64_t bytes);

/* Creates an engine into `*out` with `config` (NULL: defaults). The config is copied: it stays
 * owned by the caller. Free the engine with wasmz_engine_delete(). */
WASMZ_API wasmz_error_t *wasmz_engine_new(const wasmz_config_t *config, wasmz_engine_t **out);

/* Frees an engine (NULL is ignored); its modules and stores stay valid. */
WASMZ_API void wasmz_engine_delete(wasmz_engine_t *engine);

/* ---------------------------------------------------------------------------------------------- */
/* Modules                                                                                         */

/* Validates and compiles `len` bytes at `bytes` into `*out`: a binary module, the text format
 * (WAT). A precompiled `.cwasm` artifact is refused (it is native code): load trusted artifacts
 * with wasmz_module_deserialize_file(). The bytes are borrowed for the call only. Free the module with wasmz_module_delete(). */
WASMZ_API wasmz_error_t *wasmz_module_new(const wasmz_engine_t *engine, const uint8_t *bytes,
                                          size_t len, wasmz_module_t **out);

/* Loads the precompiled module (`.cwasm` artifact) in file `path` into `*out`. Artifacts are native
 * code: load only files from a trusted source. Fails for an artifact made by another wasmz build,
 * target, CPU or engine configuration. Free with wasmz_module_delete(). */
WASMZ_API wasmz_error_t *wasmz_module_deserialize_file(const wasmz_engine_t *engine,
                                                       const char *path, wasmz_module_t **out);

/* Serializes a module into a `.cwasm` artifact: `*out_bytes` receives a buffer of `*out_len` bytes,
 * owned by the caller and freed with wasmz_bytes_delete(*out_bytes, *out_len). */
WASMZ_API wasmz_error_t *wasmz_module_serialize(const wasmz_module_t *module, uint8_t **out_bytes,
                                                size_t *out_len);

/* Frees a buffer from wasmz_module_serialize(); `len` must be its length (NULL is ignored). */
WASMZ_API void wasmz_bytes_delete(uint8_t *bytes, size_t len);

/* Frees a module (NULL is ignored); its instances stay valid. */
WASMZ_API void wasmz_module_delete(wasmz_module_t *module);

/* ---------------------------------------------------------------------------------------------- */
/* Stores                                                                                          */

/* Creates a store for modules of `engine` into `*out`; free it with wasmz_store_delete().
 * Single-threaded: the store and its instances and memories stay on the creating thread. */
WASMZ_API wasmz_error_t *wasmz_store_new(const wasmz_engine_t *engine, wasmz_store_t **out);

/* Frees a store (NULL is ignored). Its contents live on while instances or memories of it do. */
WASMZ_API void wasmz_store_delete(wasmz_store_t *store);

/* Sets the fuel left in `store` (see wasmz_config_consume_fuel()); the store can be refuelled after
 * running out. */
WASMZ_API wasmz_error_t *wasmz_store_set_fuel(wasmz_store_t *store, uint64_t fuel);

/* The fuel left in `store`; 0 for NULL. */
WASMZ_API uint64_t wasmz_store_fuel(const wasmz_store_t *store);

/* The standard C API's store (wasm.h), declared there. */
struct wasm_store_t;

/* As wasmz_store_set_fuel(), for a store of the standard C API (wasm.h) whose engine was made with
 * a config from wasmz_config_to_wasm(). */
WASMZ_API wasmz_error_t *wasmz_wasm_store_set_fuel(struct wasm_store_t *store, uint64_t fuel);

/* The fuel left in a wasm.h store; 0 for NULL. */
WASMZ_API uint64_t wasmz_wasm_store_fuel(const struct wasm_store_t *store);

/* ---------------------------------------------------------------------------------------------- */
/* Linkers and host functions                                                                      */

/* A host function's implementation. `params` holds `nparams` arguments (borrowed, valid during the
 * call); `results` has room for `nresults` values whose `kind` is preset from the signature: write
 * the matching `of` field. `caller` gives access to the calling instance's memory, during the call
 * only. Return NULL on success, or an error to trap the guest: wasmz takes ownership of it (do not
 * free it). wasmz_error_new() traps with WASMZ_TRAP_HOST_ERROR, wasmz_trap_new() with a chosen
 * code, wasmz_error_new_exit() ends the run with an exit status; errors from the caller functions
 * below may be returned as they are. The callback must not unwind (longjmp, C++ exceptions) out. */
typedef wasmz_error_t *(*wasmz_func_callback_t)(void *user_data, wasmz_caller_t *caller,
                                               const wasmz_val_t *params, size_t nparams,
                                               wasmz_val_t *results, size_t nresults);

/* Frees a host function's user data. */
typedef void (*wasmz_finalizer_t)(void *user_data);

/* A new empty linker; free it with wasmz_linker_delete(). */
WASMZ_API wasmz_linker_t *wasmz_linker_new(void);

/* Frees a linker (NULL is ignored); instances made with it stay valid. */
WASMZ_API void wasmz_linker_delete(wasmz_linker_t *linker);

/* Defines host function `module`.`name` with parameter kinds `params[0..nparams)` and result kinds
 * `results[0..nresults)` (the arrays and strings are copied), implemented by `callback`, which gets
 * `user_data` on every call. Ownership of `user_data` passes to wasmz: `finalizer` (may be NULL) is
 * called with it exactly once, when the linker and every instance of the function are gone -- or
 * before this function returns, if it fails (NULL linker, name already defined, ...). The callback
 * and finalizer may run on the thread of any store that instantiates the function. */
WASMZ_API wasmz_error_t *wasmz_linker_define_func(wasmz_linker_t *linker, const char *module,
                                                  const char *name, const wasmz_valkind_t *params,
                                                  size_t nparams, const wasmz_valkind_t *results,
                                                  size_t nresults, wasmz_func_callback_t callback,
                                                  void *user_data, wasmz_finalizer_t finalizer);

/* Defines global `module`.`name`, created in `store` with type `value->kind`, initial value `*value`
 * (copied) and mutability `mutable_`. Only instances of `store` can import it, and the linker then
 * belongs to that store's thread. */
WASMZ_API wasmz_error_t *wasmz_linker_define_global(wasmz_linker_t *linker, wasmz_store_t *store,
                                                    const char *module, const char *name,
                                                    const wasmz_val_t *value, bool mutable_);

/* Defines every WASI preview1 function (module "wasi_snapshot_preview1"). Calling them needs a
 * WASI context in the store: wasmz_store_set_wasi(); without one they trap. */
WASMZ_API wasmz_error_t *wasmz_linker_define_wasi(wasmz_linker_t *linker);

/* Size in bytes of the calling instance's memory (its export "memory", else its memory 0); 0
 * without a memory or for NULL. */
WASMZ_API uint64_t wasmz_caller_memory_size(wasmz_caller_t *caller);

/* Copies `len` bytes at `offset` of the caller's memory into `buf`. Out of bounds (or no memory):
 * a trap error (WASMZ_TRAP_MEMORY_OUT_OF_BOUNDS or HOST_ERROR) the callback may return as is. */
WASMZ_API wasmz_error_t *wasmz_caller_memory_read(wasmz_caller_t *caller, uint64_t offset,
                                                  uint8_t *buf, size_t len);

/* Copies `len` bytes of `data` into the caller's memory at `offset`; errors as for
 * wasmz_caller_memory_read(). */
WASMZ_API wasmz_error_t *wasmz_caller_memory_write(wasmz_caller_t *caller, uint64_t offset,
                                                   const uint8_t *data, size_t len);

/* ---------------------------------------------------------------------------------------------- */
/* Instances                                                                                       */

/* Instantiates `module` in `store` into `*out`, resolving its imports from `linker` (NULL: no
 * definitions), and runs its wasm start function. Fails for a missing or mistyped import, a
 * memory that cannot be created, or a trap during initialization. Free the instance with
 * wasmz_instance_delete(). */
WASMZ_API wasmz_error_t *wasmz_instance_new(wasmz_store_t *store, const wasmz_module_t *module,
                                            const wasmz_linker_t *linker, wasmz_instance_t **out);

/* Frees an instance (NULL is ignored). */
WASMZ_API void wasmz_instance_delete(wasmz_instance_t *instance);

/* Stores the parameter and result counts of exported function `name` in `*nparams` and `*nresults`
 * (each may be NULL). */
WASMZ_API wasmz_error_t *wasmz_instance_func_arity(const wasmz_instance_t *instance,
                                                   const char *name, size_t *nparams,
                                                   size_t *nresults);

/* Calls exported function `name` with `args[0..nargs)` (kinds must match the parameter types) and
 * stores its results in `results[0..nresults)` (`nresults` must equal the result count; the kinds
 * are set). A trap gives an error with a trap code; an exit of the guest, an error with an exit
 * status. `args` and `results` may be the same array. */
WASMZ_API wasmz_error_t *wasmz_instance_call(wasmz_instance_t *instance, const char *name,
                                             const wasmz_val_t *args, size_t nargs,
                                             wasmz_val_t *results, size_t nresults);

/* Runs the command entry point `_start`. If it returns, `*exit_status` = 0; if the guest exits
 * (WASI proc_exit / exit()), `*exit_status` = its status and the call still succeeds.
 * `exit_status` may be NULL. A trap, or a module without `_start`, gives an error. */
WASMZ_API wasmz_error_t *wasmz_instance_run_start(wasmz_instance_t *instance, int *exit_status);

/* Runs the reactor initializer `_initialize` if the module exports it (succeeds if not). A trap or
 * an exit of the guest gives an error. */
WASMZ_API wasmz_error_t *wasmz_instance_initialize(wasmz_instance_t *instance);

/* Whether the module is a command (exports `_start`). false for NULL. */
WASMZ_API bool wasmz_instance_is_command(const wasmz_instance_t *instance);

/* Whether the module is a reactor (does not export `_start`). false for NULL. */
WASMZ_API bool wasmz_instance_is_reactor(const wasmz_instance_t *instance);

/* Reads exported global `name` into `*value` (the kind is set). */
WASMZ_API wasmz_error_t *wasmz_instance_global_get(const wasmz_instance_t *instance,
                                                   const char *name, wasmz_val_t *value);

/* Sets exported mutable global `name` to `*value`, whose kind must match the global's type. Fails
 * for an immutable global. */
WASMZ_API wasmz_error_t *wasmz_instance_global_set(wasmz_instance_t *instance, const char *name,
                                                   const wasmz_val_t *value);

/* The exported memory `name` (usually "memory") into `*out`; free the handle with
 * wasmz_memory_delete(). */
WASMZ_API wasmz_error_t *wasmz_instance_memory(const wasmz_instance_t *instance, const char *name,
                                               wasmz_memory_t **out);

/* ---------------------------------------------------------------------------------------------- */
/* Memories (copy access: see MEMORY ACCESS above)                                                */

/* Frees a memory handle (NULL is ignored). */
WASMZ_API void wasmz_memory_delete(wasmz_memory_t *memory);

/* Current size in 64 KiB pages; 0 for NULL. */
WASMZ_API uint64_t wasmz_memory_size_pages(const wasmz_memory_t *memory);

/* Current size in bytes; 0 for NULL. */
WASMZ_API uint64_t wasmz_memory_data_size(const wasmz_memory_t *memory);

/* The address of the memory's first byte; NULL for NULL. The address never changes while the memory
 * lives (it grows in place); the first wasmz_memory_data_size() bytes are readable and writable. The
 * pointer is borrowed: valid while any object of the store lives; do not use it while wasm code of the
 * store runs on another call path. */
WASMZ_API uint8_t *wasmz_memory_data(const wasmz_memory_t *memory);

/* Copies `len` bytes at `offset` of the memory into `buf`; an error if out of bounds. */
WASMZ_API wasmz_error_t *wasmz_memory_read(const wasmz_memory_t *memory, uint64_t offset,
                                           uint8_t *buf, size_t len);

/* Copies `len` bytes of `data` into the memory at `offset`; an error if out of bounds. */
WASMZ_API wasmz_error_t *wasmz_memory_write(const wasmz_memory_t *memory, uint64_t offset,
                                            const uint8_t *data, size_t len);

/* Grows the memory by `delta` pages; `*old_pages` (may be NULL) receives the previous size. Fails
 * past the memory's maximum or the engine's memory limit. */
WASMZ_API wasmz_error_t *wasmz_memory_grow(const wasmz_memory_t *memory, uint64_t delta,
                                           uint64_t *old_pages);

/* ---------------------------------------------------------------------------------------------- */
/* WASI (preview1)                                                                                 */

/* A new WASI configuration: no arguments, no environment, no directories, empty stdin, stdout and
 * stderr discarded. Free it with wasmz_wasi_config_delete(). */
WASMZ_API wasmz_wasi_config_t *wasmz_wasi_config_new(void);

/* Frees a WASI configuration (NULL is ignored). */
WASMZ_API void wasmz_wasi_config_delete(wasmz_wasi_config_t *config);

/* Replaces the arguments with `argv[0..argc)` (copied; argv[0] is the program name by convention). */
WASMZ_API wasmz_error_t *wasmz_wasi_config_set_args(wasmz_wasi_config_t *config, size_t argc,
                                                    const char *const *argv);

/* Sets environment variable `key` to `value` (copied; replaces an earlier value). */
WASMZ_API wasmz_error_t *wasmz_wasi_config_env(wasmz_wasi_config_t *config, const char *key,
                                               const char *value);

/* Gives the guest host directory `host_path` under the name `guest_path` (e.g. "/data" or "."); it
 * cannot reach anything outside it. Opened by wasmz_store_set_wasi(). */
WASMZ_API wasmz_error_t *wasmz_wasi_config_preopen_dir(wasmz_wasi_config_t *config,
                                                       const char *host_path,
                                                       const char *guest_path);

/* Connects the guest's stdin, stdout and stderr to the process's. */
WASMZ_API wasmz_error_t *wasmz_wasi_config_inherit_stdio(wasmz_wasi_config_t *config);

/* Gives `store` a WASI context built from `config` (borrowed: it stays owned by the caller and may
 * be reused), replacing an earlier one. Fails if a preopened directory cannot be opened. */
WASMZ_API wasmz_error_t *wasmz_store_set_wasi(wasmz_store_t *store,
                                              const wasmz_wasi_config_t *config);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WASMZ_H */
