//! Calling generated modules through the safe raw-word API with arbitrary `RawVal`s: every exported
//! function is called with words taken from the fuzzer's bytes, through `Instance::call` and
//! `Func::call`, and every host function the module imports (all defined with `HostFunc::new`, which
//! hands reference parameters over as words) answers with arbitrary words too. Nothing a safe caller
//! passes may crash the process: a reference-typed parameter must be refused
//! (`Error::RawReference`), and any other call must return results, a trap or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

const FUEL: u64 = 100_000;

static ENGINE: LazyLock<wasmz::Engine> = LazyLock::new(|| {
    let mut config = wasmz::Config::new();
    config.consume_fuel(true).gc_heap_limit(1 << 20);
    wasmz::Engine::new(&config).expect("the host is supported")
});

/// An arbitrary 16-byte value.
fn raw(u: &mut arbitrary::Unstructured<'_>) -> wasmz::RawVal {
    let bits: u128 = u.arbitrary().unwrap_or_default();
    wasmz::RawVal::from(bits)
}

fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    let config = wasm_smith::Config {
        max_imports: 4,
        compact_imports_enabled: false,
        custom_page_sizes_enabled: true,
        wide_arithmetic_enabled: true,
        shared_everything_threads_enabled: false,
        ..Default::default()
    };
    let Ok(module) = wasm_smith::Module::new(config, &mut u) else { return };
    let wasm = module.to_bytes();
    let Ok(module) = wasmz::Module::compile(&ENGINE, &wasm) else { return };
    // Host functions for the function imports; their answers are seeded from the input, and
    // functions with reference results are refused by the linker (so instantiation fails).
    let seed: u64 = u.arbitrary().unwrap_or_default();
    let mut linker = wasmz::Linker::new();
    for (m, n, ty) in module.imports() {
        let wasmz::ExternType::Func(ty) = ty else { continue };
        let func = wasmz::HostFunc::new(ty.params.clone(), ty.results.clone(), move |_, _, results| {
            for (i, r) in results.iter_mut().enumerate() {
                *r = wasmz::RawVal::from(seed.rotate_left(i as u32) as u128 | (seed as u128) << 64);
            }
            Ok(())
        });
        match linker.define(m, n, func) {
            Ok(_) => {}
            Err(wasmz::Error::RawReference { .. }) => return,
            // The module imports this name more than once: the first definition serves them all
            // (instantiation fails if their types differ).
            Err(wasmz::Error::DuplicateDefinition { .. }) => {}
            Err(e) => panic!("defining {m}::{n}: {e}"),
        }
    }
    let mut store = wasmz::Store::new(&ENGINE);
    store.set_fuel(FUEL);
    let Ok(mut instance) = wasmz::Instance::new(&mut store, &module, &linker) else { return };
    let exports: Vec<(String, wasmz::ExternType)> =
        module.exports().map(|(n, t)| (n.to_string(), t)).collect();
    for (name, ty) in exports {
        let wasmz::ExternType::Func(ty) = ty else { continue };
        let args: Vec<wasmz::RawVal> = ty.params.iter().map(|_| raw(&mut u)).collect();
        let has_ref_param = ty.params.iter().any(|t| t.is_ref());
        store.set_fuel(FUEL);
        match instance.call(&name, &args) {
            Err(wasmz::Error::RawReference { .. }) => assert!(has_ref_param),
            Err(e) => panic!("calling {name}: {e}"),
            Ok(_) => assert!(!has_ref_param, "{name} took a raw reference"),
        }
        let func = instance.func(&name).expect("exported function");
        let mut results = vec![wasmz::RawVal::default(); ty.results.len()];
        store.set_fuel(FUEL);
        match func.call(&args, &mut results) {
            Err(wasmz::Error::RawReference { .. }) => assert!(has_ref_param),
            Err(e) => panic!("calling {name} through Func: {e}"),
            Ok(_) => assert!(!has_ref_param, "{name} took a raw reference"),
        }
    }
});
