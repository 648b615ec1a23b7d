//! The `spectest` host module that every script may import from.

use wasmz::{
    Extern, Global, GlobalType, HostFunc, Limits, Linker, Memory, MemoryType, Store, Table,
    TableType, Val, ValType,
};

/// The module name scripts import the host items from.
pub const MODULE: &str = "spectest";

/// Defines the `spectest` items in `linker`, creating the tables, memories and globals in `store`:
///
/// - functions `print`, `print_i32`, `print_i64`, `print_f32`, `print_f64`, `print_i32_f32`, `print_f64_f64`
///   (they do nothing);
/// - immutable globals `global_i32` and `global_i64` (666), `global_f32` and `global_f64` (666.6);
/// - `table`: a funcref table of 10 elements, at most 20;
/// - `memory`: a memory of 1 page, at most 2;
/// - for the memory64 and threads tests: `table64` (like `table`, 64-bit indices) and `shared_memory` (like
///   `memory`, shared).
///
/// Every item is attempted even when an earlier one fails (scripts that do not import the missing item still
/// run); the error lists the items that could not be defined.
pub fn define(store: &mut Store, linker: &mut Linker) -> Result<(), String> {
    use ValType::{F32, F64, I32, I64};
    let mut errors = Vec::new();
    let mut check = |item: &str, result: Result<(), wasmz::Error>| {
        if let Err(e) = result {
            errors.push(format!("{item}: {e}"));
        }
    };

    let funcs: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[I32]),
        ("print_i64", &[I64]),
        ("print_f32", &[F32]),
        ("print_f64", &[F64]),
        ("print_i32_f32", &[I32, F32]),
        ("print_f64_f64", &[F64, F64]),
    ];
    for (name, params) in funcs {
        let func = HostFunc::new(params.to_vec(), Vec::new(), |_, _, _| Ok(()));
        check(name, linker.define(MODULE, name, func).map(drop));
    }

    let globals = [
        ("global_i32", I32, Val::I32(666)),
        ("global_i64", I64, Val::I64(666)),
        ("global_f32", F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, content, init) in globals {
        let ty = GlobalType {
            content,
            mutable: false,
        };
        let result = Global::new(store, ty, init)
            .and_then(|global| linker.define_global(MODULE, name, global).map(drop));
        check(name, result);
    }

    let limits = Limits {
        min: 10,
        max: Some(20),
    };
    for (name, table64) in [("table", false), ("table64", true)] {
        let ty = TableType {
            element: ValType::FuncRef,
            limits,
            table64,
        };
        let result = Table::new(store, ty, Val::FuncRef(None)).and_then(|table| {
            linker
                .define_extern(MODULE, name, Extern::Table(table))
                .map(drop)
        });
        check(name, result);
    }

    for (name, shared) in [("memory", false), ("shared_memory", true)] {
        let ty = MemoryType {
            shared,
            ..MemoryType::new(1, Some(2))
        };
        let result = Memory::new(store, ty).and_then(|memory| {
            linker
                .define_extern(MODULE, name, Extern::Memory(memory))
                .map(drop)
        });
        check(name, result);
    }

    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}
