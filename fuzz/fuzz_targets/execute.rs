//! Running generated modules that use every proposal wasmz implements (GC, exceptions, tail calls,
//! threads, SIMD...), with no peer to compare with: each exported function whose parameters can be
//! given zero or null values is called under fuel, in a store whose GC heap is small enough that
//! collections happen often. Any result or trap is fine; a panic, a crash or a hang is not. Heap
//! statistics must stay within the heap limit. A third of the inputs are compiled lazily and a third in
//! the background; there, a function failing to compile at its first call (a `CompileError` trap) is a
//! failure unless eager compilation refuses the module as unsupported.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

const FUEL: u64 = 200_000;
const HEAP_LIMIT: usize = 1 << 20;

/// Engines compiling eagerly, lazily and in the background.
static ENGINES: LazyLock<[wasmz::Engine; 3]> = LazyLock::new(|| {
    [(false, false), (true, false), (true, true)].map(|(lazy, background)| {
        let mut config = wasmz::Config::new();
        config
            .consume_fuel(true)
            .gc_heap_limit(HEAP_LIMIT)
            .lazy_compilation(lazy)
            .background_compilation(background);
        wasmz::Engine::new(&config).expect("the host is supported")
    })
});

/// A zero or null argument of type `t`, if there is an obvious one.
fn zero(t: wasmz::ValType) -> Option<wasmz::Val> {
    use wasmz::{HeapType as H, Val, ValType as T};
    Some(match t {
        T::I32 => Val::I32(0),
        T::I64 => Val::I64(0),
        T::F32 => Val::F32(0),
        T::F64 => Val::F64(0),
        T::V128 => Val::V128(0),
        T::FuncRef => Val::FuncRef(None),
        T::ExternRef => Val::ExternRef(None),
        T::Ref(r) if r.nullable => match r.heap {
            H::Func | H::NoFunc => Val::FuncRef(None),
            H::Extern | H::NoExtern => Val::ExternRef(None),
            _ if r.is_abstract_any() => Val::AnyRef(None),
            _ => return None,
        },
        T::Ref(_) => return None,
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    let config = wasm_smith::Config {
        max_imports: 0,
        compact_imports_enabled: false,
        custom_page_sizes_enabled: true,
        wide_arithmetic_enabled: true,
        shared_everything_threads_enabled: false,
        ..Default::default()
    };
    let Ok(module) = wasm_smith::Module::new(config, &mut u) else { return };
    let wasm = module.to_bytes();
    // The compilation mode is chosen by the input's length, which leaves the module's decoding alone.
    let engine = &ENGINES[data.len() % 3];
    let module = match wasmz::Module::compile(engine, &wasm) {
        Ok(m) => m,
        Err(wasmz::Error::Wasm(wasmz::WasmError::Unsupported { .. })) => return,
        Err(e) => panic!("a valid module failed to compile: {e}"),
    };
    let mut store = wasmz::Store::new(engine);
    store.set_fuel(FUEL);
    let Ok(mut instance) = wasmz::Instance::new(&mut store, &module, &wasmz::Linker::new()) else {
        return;
    };
    let exports: Vec<(String, wasmz::ExternType)> =
        module.exports().map(|(n, t)| (n.to_string(), t)).collect();
    for (name, ty) in exports {
        let wasmz::ExternType::Func(ty) = ty else { continue };
        let Some(args) = ty.params.iter().map(|t| zero(*t)).collect::<Option<Vec<_>>>() else {
            continue;
        };
        store.set_fuel(FUEL);
        if let Ok(Err(trap)) = instance.call_vals(&name, &args).map(|r| r.into_result())
            && trap.code() == wasmz::TrapCode::CompileError
        {
            // Lazily compiled, an operator wasmz does not support fails at the first call; eager
            // compilation says whether that is what happened.
            let eager = wasmz::Module::compile(&ENGINES[0], &wasm);
            assert!(
                matches!(eager, Err(wasmz::Error::Wasm(wasmz::WasmError::Unsupported { .. }))),
                "`{name}` failed to compile lazily: {trap}"
            );
        }
        let stats = store.gc_stats();
        assert!(stats.heap_size <= HEAP_LIMIT, "{stats:?}");
    }
});
