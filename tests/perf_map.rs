//! `Config::perf_map`: compiled functions are named in `/tmp/perf-<pid>.map` for profilers.

use wasmz::{Config, Engine, Instance, Linker, Module, Store};

fn perf_map_text() -> String {
    std::fs::read_to_string(format!("/tmp/perf-{}.map", std::process::id())).unwrap_or_default()
}

#[test]
fn compiled_functions_are_named_eagerly_and_lazily() {
    let wat = r#"(module
        (func $helper (result i32) i32.const 7)
        (func (export "seven") (result i32) call $helper))"#;
    for lazy in [false, true] {
        let mut config = Config::new();
        config.perf_map(true).lazy_compilation(lazy);
        let engine = Engine::new(&config).unwrap();
        let module = Module::compile(&engine, wat).unwrap();
        let mut store = Store::new(&engine);
        let instance = Instance::new(&mut store, &module, &Linker::new()).unwrap();
        let seven = instance.typed_func::<(), i32>("seven").unwrap();
        assert_eq!(seven.call(()).unwrap(), 7);
    }
    let text = perf_map_text();
    let lines: Vec<&str> = text.lines().collect();
    // Each line is `START SIZE NAME`, addresses and sizes in hexadecimal.
    for line in &lines {
        let mut parts = line.splitn(3, ' ');
        let start = usize::from_str_radix(parts.next().unwrap(), 16).unwrap();
        let size = usize::from_str_radix(parts.next().unwrap(), 16).unwrap();
        assert!(start > 0 && size > 0, "{line}");
        assert!(parts.next().is_some(), "{line}");
    }
    // Eagerly both functions are in one image; lazily each is named when it is compiled.
    let helper = lines
        .iter()
        .filter(|l| l.ends_with(" wasm[0] helper"))
        .count();
    assert_eq!(helper, 2, "{text}");
    assert!(lines.iter().any(|l| l.ends_with(" wasm[1] ")), "{text}");
}

#[test]
fn names_cannot_add_lines_to_the_map() {
    let wat = r#"(module (func (@name "x\0a1 1 forged") (export "f")))"#;
    let mut config = Config::new();
    config.perf_map(true);
    let engine = Engine::new(&config).unwrap();
    Module::compile(&engine, wat).unwrap();
    let text = perf_map_text();
    assert!(text.lines().any(|l| l.ends_with(" x?1 1 forged")), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("1 1 forged")), "{text}");
}
