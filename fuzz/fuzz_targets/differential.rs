//! Differential execution against wasmi: the same generated module, every exported function called with
//! zero arguments in both, with fuel bounding both. Results must be equal (any NaN matches any NaN), or
//! both must trap with the same trap code. Runs that exhaust fuel or the stack in either are skipped, as
//! the two count fuel and stack differently. A third of the inputs run with lazy compilation and a third
//! with background compilation.
#![no_main]

use libfuzzer_sys::fuzz_target;

const FUEL: u64 = 100_000;

#[derive(Debug, PartialEq)]
enum Outcome {
    Values(Vec<String>),
    Trap(String),
    Skip,
}

fn show(bits: u64, is_nan: bool) -> String {
    if is_nan { "nan".into() } else { format!("{bits:#x}") }
}

/// How wasmz compiles the module.
#[derive(Clone, Copy)]
enum Mode {
    Eager,
    Lazy,
    Background,
}

fn wasmz_run(wasm: &[u8], mode: Mode, explicit: bool) -> Option<Vec<(String, Outcome)>> {
    let mut config = wasmz::Config::new();
    config
        .bounds_checks(if explicit {
            wasmz::BoundsChecks::Explicit
        } else {
            wasmz::BoundsChecks::GuardPages
        })
        .consume_fuel(true)
        .wasm_simd(false)
        .lazy_compilation(matches!(mode, Mode::Lazy))
        .background_compilation(matches!(mode, Mode::Background));
    let engine = wasmz::Engine::new(&config).ok()?;
    let module = wasmz::Module::compile(&engine, wasm).ok()?;
    let mut store = wasmz::Store::new(&engine);
    store.set_fuel(FUEL);
    let mut instance = wasmz::Instance::new(&mut store, &module, &wasmz::Linker::new()).ok()?;
    let mut out = Vec::new();
    for (name, ty) in module.exports().map(|(n, t)| (n.to_string(), t)).collect::<Vec<_>>() {
        let wasmz::ExternType::Func(ty) = ty else { continue };
        let args: Vec<wasmz::Val> = ty.params.iter().map(|t| zero(*t)).collect::<Option<_>>()?;
        store.set_fuel(FUEL);
        let outcome = match instance.call_vals(&name, &args).ok()?.into_result() {
            Ok(values) => Outcome::Values(values.iter().map(|v| match v {
                wasmz::Val::I32(x) => format!("{x}"),
                wasmz::Val::I64(x) => format!("{x}"),
                wasmz::Val::F32(b) => show(u64::from(*b), f32::from_bits(*b).is_nan()),
                wasmz::Val::F64(b) => show(*b, f64::from_bits(*b).is_nan()),
                wasmz::Val::FuncRef(f) => format!("funcref {}", f.is_some()),
                wasmz::Val::ExternRef(e) => format!("externref {}", e.is_some()),
                wasmz::Val::V128(b) => format!("{b:#x}"),
                other => format!("{other:?}"),
            }).collect()),
            Err(trap) => match trap.code() {
                wasmz::TrapCode::OutOfFuel | wasmz::TrapCode::StackOverflow => Outcome::Skip,
                code => Outcome::Trap(format!("{code:?}")),
            },
        };
        out.push((name, outcome));
    }
    Some(out)
}

fn zero(t: wasmz::ValType) -> Option<wasmz::Val> {
    Some(match t {
        wasmz::ValType::I32 => wasmz::Val::I32(0),
        wasmz::ValType::I64 => wasmz::Val::I64(0),
        wasmz::ValType::F32 => wasmz::Val::F32(0),
        wasmz::ValType::F64 => wasmz::Val::F64(0),
        wasmz::ValType::FuncRef => wasmz::Val::FuncRef(None),
        wasmz::ValType::ExternRef => wasmz::Val::ExternRef(None),
        _ => return None,
    })
}

fn wasmi_run(wasm: &[u8]) -> Option<Vec<(String, Outcome)>> {
    let mut config = wasmi::Config::default();
    config.consume_fuel(true);
    let engine = wasmi::Engine::new(&config);
    let module = wasmi::Module::new(&engine, wasm).ok()?;
    let mut store = wasmi::Store::new(&engine, ());
    store.set_fuel(FUEL).ok()?;
    let instance = wasmi::Linker::<()>::new(&engine).instantiate_and_start(&mut store, &module).ok()?;
    let mut out = Vec::new();
    let names: Vec<String> = module.exports().map(|e| e.name().to_string()).collect();
    for name in names {
        let Some(func) = instance.get_func(&store, &name) else { continue };
        let ty = func.ty(&store);
        let args: Vec<wasmi::Val> = ty.params().iter().map(|t| wasmi_zero(t)).collect::<Option<_>>()?;
        let mut results: Vec<wasmi::Val> = ty.results().iter().map(|t| wasmi_zero(t)).collect::<Option<_>>()?;
        store.set_fuel(FUEL).ok()?;
        let outcome = match func.call(&mut store, &args, &mut results) {
            Ok(()) => Outcome::Values(results.iter().map(|v| match v {
                wasmi::Val::I32(x) => format!("{x}"),
                wasmi::Val::I64(x) => format!("{x}"),
                wasmi::Val::F32(x) => show(u64::from(x.to_bits()), f32::from(*x).is_nan()),
                wasmi::Val::F64(x) => show(x.to_bits(), f64::from(*x).is_nan()),
                wasmi::Val::FuncRef(f) => format!("funcref {}", !f.is_null()),
                wasmi::Val::ExternRef(e) => format!("externref {}", !e.is_null()),
                other => format!("{other:?}"),
            }).collect()),
            Err(e) => match e.as_trap_code().map(|c| format!("{c:?}")) {
                Some(c) if c == "OutOfFuel" || c == "StackOverflow" => Outcome::Skip,
                Some(c) => Outcome::Trap(c),
                None => Outcome::Skip,
            },
        };
        out.push((name, outcome));
    }
    Some(out)
}

fn wasmi_zero(t: &wasmi::ValType) -> Option<wasmi::Val> {
    Some(match t {
        wasmi::ValType::I32 => wasmi::Val::I32(0),
        wasmi::ValType::I64 => wasmi::Val::I64(0),
        wasmi::ValType::F32 => wasmi::Val::F32(0.0f32.into()),
        wasmi::ValType::F64 => wasmi::Val::F64(0.0f64.into()),
        wasmi::ValType::FuncRef => wasmi::Val::default_for_ty(wasmi::ValType::FuncRef),
        wasmi::ValType::ExternRef => wasmi::Val::default_for_ty(wasmi::ValType::ExternRef),
        _ => return None,
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    let config = wasm_smith::Config {
        max_imports: 0,
        // wasmi allocates linear memory eagerly: keep memories small enough for the fuzzer's RSS limit.
        max_memory32_bytes: 16 << 20,
        max_table_elements: 10_000,
        export_everything: true,
        simd_enabled: false,
        gc_enabled: false,
        compact_imports_enabled: false,
        exceptions_enabled: false,
        threads_enabled: false,
        memory64_enabled: false,
        multi_value_enabled: true,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        tail_call_enabled: false,
        reference_types_enabled: false,
        ..Default::default()
    };
    let Ok(module) = wasm_smith::Module::new(config, &mut u) else { return };
    let wasm = module.to_bytes();
    if let Ok(path) = std::env::var("WASMZ_FUZZ_DUMP") {
        std::fs::write(path, &wasm).expect("dump the module");
    }
    // The compilation mode and the bounds checks are chosen by the input's length, which leaves the
    // module's decoding alone.
    let mode = [Mode::Eager, Mode::Lazy, Mode::Background][data.len() % 3];
    let explicit = (data.len() / 3) % 2 == 1;
    let (Some(z), Some(i)) = (wasmz_run(&wasm, mode, explicit), wasmi_run(&wasm)) else { return };
    // Pair the results by export name: the two runtimes list exports in different orders.
    for (name, a) in &z {
        let Some((_, b)) = i.iter().find(|(n, _)| n == name) else { continue };
        if *a == Outcome::Skip || *b == Outcome::Skip {
            continue;
        }
        assert_eq!(a, b, "export `{name}` differs between wasmz and wasmi");
    }
});
