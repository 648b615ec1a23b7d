//! Integration tests of the core public API: the seed example, module compilation (binary and text)
//! and introspection, store data, calls with multiple and typed values, command and reactor entry
//! points, raw values, and sharing one module across threads. Configuration is in `config.rs`,
//! host access to exports in `externals.rs`, linking and host functions in `linker.rs`.

use anyhow::Result;
use wasmz::*;

/// Instantiates `wat` with no imports in a fresh store of `engine`.
fn instantiate(engine: &Engine, wat: &str) -> Result<Instance> {
    let module = Module::compile(engine, wat)?;
    let mut store = Store::new(engine);
    Ok(Instance::new(&mut store, &module, &Linker::new())?)
}

/// Calls `name` and returns its results, failing the test on a trap.
fn call(instance: &mut Instance, name: &str, args: &[RawVal]) -> Result<Vec<RawVal>> {
    Ok(instance.call(name, args)?.into_result()?)
}

/// The i32 in `v`, panicking on any other kind of value.
fn as_i32(v: &Val) -> i32 {
    match v {
        Val::I32(x) => *x,
        other => panic!("expected an i32, got {other:?}"),
    }
}

#[test]
fn seed_example_adds_through_a_host_function() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module
          (import "env" "add" (func $add (param i32 i32) (result i32)))
          (func (export "add") (param i32 i32) (result i32)
            (call $add (local.get 0) (local.get 1))))"#,
    )?;
    let mut linker = Linker::new();
    linker.define(
        "env",
        "add",
        HostFunc::new(
            [ValType::I32, ValType::I32],
            [ValType::I32],
            |_, params, results| {
                results[0] = RawVal::from(params[0].read_as::<i32>() + params[1].read_as::<i32>());
                Ok(())
            },
        ),
    )?;
    let mut store = Store::new(&engine);
    let mut instance = Instance::new(&mut store, &module, &linker)?;
    let result = instance.call("add", &[RawVal::from(3i32), RawVal::from(4i32)])?;
    assert!(result.is_ok());
    assert!(result.trap().is_none());
    assert_eq!(result.values().unwrap().len(), 1);
    assert_eq!(result.values().unwrap()[0].read_as::<i32>(), 7);
    Ok(())
}

/// `(module (func (export "answer") (result i32) i32.const 42))`, encoded by hand.
const ANSWER_BINARY: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type section: () -> i32
    0x03, 0x02, 0x01, 0x00, // function section
    0x07, 0x0a, 0x01, 0x06, b'a', b'n', b's', b'w', b'e', b'r', 0x00, 0x00, // export section
    0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x2a, 0x0b, // code section: i32.const 42
];

#[test]
fn module_compiles_from_binary_and_text() -> Result<()> {
    let engine = Engine::default();
    let text = r#"(module (func (export "answer") (result i32) i32.const 42))"#;
    for module in [
        Module::compile(&engine, ANSWER_BINARY)?,
        Module::compile(&engine, text)?,
        Module::compile(&engine, String::from(text))?,
        Module::compile(&engine, wat::parse_str(text)?)?,
    ] {
        let exports: Vec<_> = module.exports().map(|(n, t)| (n.to_string(), t)).collect();
        assert_eq!(
            exports,
            [(
                "answer".to_string(),
                ExternType::Func(FuncType::new([], [ValType::I32]))
            )]
        );
        let mut inst = Instance::new(&mut Store::new(&engine), &module, &Linker::new())?;
        assert_eq!(call(&mut inst, "answer", &[])?[0].read_as::<i32>(), 42);
    }
    Ok(())
}

#[test]
fn module_lists_imports_and_exports_with_types() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module
          (import "env" "f" (func (param i32 f64) (result i64)))
          (import "env" "mem" (memory 1 4))
          (import "other" "tab" (table 2 funcref))
          (import "other" "g" (global (mut f32)))
          (func (export "run") (param i32) (result i32 i32) (local.get 0) (local.get 0))
          (export "memory" (memory 0))
          (table (export "table") 1 5 externref)
          (global (export "counter") i64 (i64.const 3))
          (export "f_again" (func 0)))"#,
    )?;
    assert!(std::ptr::eq(module.engine().config(), engine.config()));
    let imports: Vec<_> = module
        .imports()
        .map(|(m, n, t)| (m.to_string(), n.to_string(), t))
        .collect();
    let s = |x: &str| x.to_string();
    let imported_f = ExternType::Func(FuncType::new([ValType::I32, ValType::F64], [ValType::I64]));
    assert_eq!(
        imports,
        [
            (s("env"), s("f"), imported_f.clone()),
            (
                s("env"),
                s("mem"),
                ExternType::Memory(MemoryType::new(1, Some(4)))
            ),
            (
                s("other"),
                s("tab"),
                ExternType::Table(TableType {
                    element: ValType::FuncRef,
                    limits: Limits { min: 2, max: None },
                    table64: false
                })
            ),
            (
                s("other"),
                s("g"),
                ExternType::Global(GlobalType {
                    content: ValType::F32,
                    mutable: true
                })
            ),
        ]
    );
    let exports: Vec<_> = module.exports().map(|(n, t)| (n.to_string(), t)).collect();
    let find = |name: &str| {
        exports
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
    };
    assert_eq!(exports.len(), 5);
    assert_eq!(
        find("run"),
        Some(ExternType::Func(FuncType::new(
            [ValType::I32],
            [ValType::I32, ValType::I32]
        )))
    );
    assert_eq!(
        find("memory"),
        Some(ExternType::Memory(MemoryType::new(1, Some(4))))
    );
    let table = TableType {
        element: ValType::ExternRef,
        limits: Limits {
            min: 1,
            max: Some(5),
        },
        table64: false,
    };
    assert_eq!(find("table"), Some(ExternType::Table(table)));
    assert_eq!(
        find("counter"),
        Some(ExternType::Global(GlobalType {
            content: ValType::I64,
            mutable: false
        }))
    );
    assert_eq!(find("f_again"), Some(imported_f));
    Ok(())
}

#[test]
fn store_holds_embedder_data() {
    let mut store = Store::new(&Engine::default());
    assert!(store.data::<u32>().is_none());
    store.set_data(41u32);
    *store.data::<u32>().expect("data set") += 1;
    assert_eq!(store.data::<u32>().map(|d| *d), Some(42));
    assert!(
        store.data::<String>().is_none(),
        "data of another type is not returned"
    );
    store.set_data(String::from("replaced"));
    assert_eq!(
        store.data::<String>().map(|s| s.clone()).as_deref(),
        Some("replaced")
    );
    assert!(store.data::<u32>().is_none());
}

#[test]
fn calls_return_multiple_values_and_typed_values() -> Result<()> {
    let mut inst = instantiate(
        &Engine::default(),
        r#"(module
          (func (export "multi") (param i32) (result i32 i64 f32 f64)
            (local.get 0)
            (i64.extend_i32_s (local.get 0))
            (f32.convert_i32_s (local.get 0))
            (f64.convert_i32_s (local.get 0)))
          (func (export "swap") (param i64 f32) (result f32 i64) (local.get 1) (local.get 0))
          (func (export "many") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
            (i32.add (local.get 0) (local.get 9)))
          (func (export "nothing")))"#,
    )?;
    let r = call(&mut inst, "multi", &[RawVal::from(-5i32)])?;
    assert_eq!(r.len(), 4);
    assert_eq!(r[0].read_as::<i32>(), -5);
    assert_eq!(r[1].read_as::<i64>(), -5);
    assert_eq!(r[2].read_as::<f32>(), -5.0);
    assert_eq!(r[3].read_as::<f64>(), -5.0);

    let args: Vec<RawVal> = (1..=10).map(RawVal::from).collect();
    assert_eq!(call(&mut inst, "many", &args)?[0].read_as::<i32>(), 11);
    assert!(call(&mut inst, "nothing", &[])?.is_empty());

    let r = inst
        .call_vals("swap", &[Val::I64(-9), Val::from(2.5f32)])?
        .into_result()?;
    assert!(
        matches!(r[..], [Val::F32(bits), Val::I64(-9)] if bits == 2.5f32.to_bits()),
        "{r:?}"
    );
    let r = inst.call_vals("multi", &[Val::from(7)])?.into_result()?;
    assert_eq!(r.len(), 4);
    assert_eq!(as_i32(&r[0]), 7);
    assert!(matches!(r[1], Val::I64(7)));
    assert!(matches!(r[3], Val::F64(bits) if bits == 7.0f64.to_bits()));
    assert_eq!(r[2].ty(), ValType::F32);
    Ok(())
}

#[test]
fn start_function_and_reactor_initializer_run_only_when_exported() -> Result<()> {
    let engine = Engine::default();
    let mut plain = instantiate(&engine, r#"(module (func (export "f")))"#)?;
    assert!(plain.run_start_function()?.is_none());
    assert!(plain.initialize_reactor()?.is_none());
    assert!(plain.is_reactor() && !plain.is_command());

    let counter = r#"(global $g (export "g") (mut i32) (i32.const 0))
        (func (export "get") (result i32) (global.get $g))"#;
    let command = format!(
        r#"(module {counter} (func (export "_start") (global.set $g (i32.add (global.get $g) (i32.const 10)))))"#
    );
    let mut cmd = instantiate(&engine, &command)?;
    assert!(cmd.is_command() && !cmd.is_reactor());
    assert_eq!(
        call(&mut cmd, "get", &[])?[0].read_as::<i32>(),
        0,
        "_start is not run by Instance::new"
    );
    let r = cmd.run_start_function()?.expect("_start exists");
    assert!(r.values().expect("no trap").is_empty());
    assert_eq!(call(&mut cmd, "get", &[])?[0].read_as::<i32>(), 10);
    assert!(cmd.initialize_reactor()?.is_none());

    let reactor = format!(
        r#"(module {counter} (func (export "_initialize") (global.set $g (i32.const 5))))"#
    );
    let mut re = instantiate(&engine, &reactor)?;
    assert!(re.is_reactor());
    assert!(re.run_start_function()?.is_none());
    assert!(
        re.initialize_reactor()?
            .expect("_initialize exists")
            .is_ok()
    );
    assert_eq!(as_i32(&re.global("g").expect("global").get()), 5);

    let mut failing = instantiate(&engine, r#"(module (func (export "_start") unreachable))"#)?;
    let r = failing.run_start_function()?.expect("_start exists");
    assert_eq!(
        r.trap().map(Trap::code),
        Some(TrapCode::UnreachableCodeReached)
    );
    Ok(())
}

#[test]
fn raw_values_round_trip_every_number_type() -> Result<()> {
    assert_eq!(RawVal::from(-7i32).read_as::<i32>(), -7);
    assert_eq!(RawVal::from(i32::MIN).read_as::<i32>(), i32::MIN);
    assert_eq!(RawVal::from(u32::MAX).read_as::<u32>(), u32::MAX);
    assert_eq!(RawVal::from(i64::MIN).read_as::<i64>(), i64::MIN);
    assert_eq!(RawVal::from(u64::MAX).read_as::<u64>(), u64::MAX);
    assert_eq!(RawVal::from(1.25f32).read_as::<f32>(), 1.25);
    assert_eq!(
        RawVal::from(-0.0f64).read_as::<f64>().to_bits(),
        (-0.0f64).to_bits()
    );
    assert_eq!(RawVal::from(f64::INFINITY).read_as::<f64>(), f64::INFINITY);
    let nan32 = f32::from_bits(0xffa0_1234);
    let nan64 = f64::from_bits(0x7ff4_0000_dead_beef);
    assert_eq!(RawVal::from(nan32).read_as::<f32>().to_bits(), 0xffa0_1234);
    assert_eq!(
        RawVal::from(nan64).read_as::<f64>().to_bits(),
        0x7ff4_0000_dead_beef
    );
    assert_eq!(RawVal::from_bits(u128::MAX).to_bits(), u128::MAX);
    assert_eq!(RawVal::from_u64(5).low64(), 5);

    // Values keep their bits through wasm code that only moves them.
    let mut inst = instantiate(
        &Engine::default(),
        r#"(module
          (func (export "id32") (param f32) (result f32) (local.get 0))
          (func (export "id64") (param f64) (result f64) (local.get 0))
          (func (export "bits32") (param f32) (result i32) (i32.reinterpret_f32 (local.get 0)))
          (func (export "neg") (param i64) (result i64) (i64.sub (i64.const 0) (local.get 0))))"#,
    )?;
    let r = call(&mut inst, "id32", &[RawVal::from(nan32)])?;
    assert_eq!(r[0].read_as::<f32>().to_bits(), 0xffa0_1234);
    let r = call(&mut inst, "id64", &[RawVal::from(nan64)])?;
    assert_eq!(r[0].read_as::<f64>().to_bits(), 0x7ff4_0000_dead_beef);
    let r = call(&mut inst, "bits32", &[RawVal::from(nan32)])?;
    assert_eq!(r[0].read_as::<u32>(), 0xffa0_1234);
    let r = call(&mut inst, "neg", &[RawVal::from(i64::MAX)])?;
    assert_eq!(r[0].read_as::<i64>(), -i64::MAX);
    Ok(())
}

#[test]
fn engine_and_module_are_send_sync_and_clone() {
    fn assert_shareable<T: Send + Sync + Clone + 'static>() {}
    assert_shareable::<Engine>();
    assert_shareable::<Module>();
    assert_shareable::<Config>();
    assert_shareable::<HostFunc>();
}

#[test]
fn one_module_runs_on_four_threads() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module
          (memory (export "memory") 1)
          (global $acc (mut i64) (i64.const 0))
          (func (export "work") (param i32) (result i64)
            (local $i i32)
            (i32.store (i32.const 0) (local.get 0))
            (loop $l
              (global.set $acc (i64.add (global.get $acc) (i64.extend_i32_u (local.get $i))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.mul (local.get 0) (i32.const 1000)))))
            (global.get $acc))
          (func (export "tag") (result i32) (i32.load (i32.const 0))))"#,
    )?;
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..=4i32)
            .map(|t| {
                let module = module.clone();
                scope.spawn(move || -> Result<(i64, i32)> {
                    let mut store = Store::new(module.engine());
                    let mut inst = Instance::new(&mut store, &module, &Linker::new())?;
                    let mut sum = 0;
                    for _ in 0..20 {
                        sum = call(&mut inst, "work", &[RawVal::from(t)])?[0].read_as::<i64>();
                    }
                    let tag = call(&mut inst, "tag", &[])?[0].read_as::<i32>();
                    Ok((sum, tag))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread finished"))
            .collect::<Vec<_>>()
    });
    for (t, result) in (1..=4i64).zip(results) {
        let (sum, tag) = result?;
        let n = t * 1000;
        assert_eq!(
            sum,
            20 * n * (n - 1) / 2,
            "thread {t}: each store has its own global"
        );
        assert_eq!(
            i64::from(tag),
            t,
            "thread {t}: each store has its own memory"
        );
    }
    Ok(())
}
