//! The exception-handler table of compiled code, for every supported target.

use wasmz_compiler::{CompileOptions, OptLevel, build_isa, compile_module};
use wasmz_environ::parse_module;
use wasmz_environ::wasmparser::WasmFeatures;

const MODULE: &str = r#"(module
  (type $v (func (param i32)))
  (tag $e (param i32))
  (table 1 funcref)
  (func $f (param i32) (throw $e (local.get 0)))
  ;; Two calls inside try_tables (one of them indirect), one outside.
  (func (export "g") (param i32) (result i32)
    (call $f (local.get 0))
    (block $h (result i32)
      (try_table (catch $e $h)
        (call $f (local.get 0))
        (call_indirect (type $v) (local.get 0) (i32.const 0)))
      (i32.const 0))))"#;

#[test]
fn calls_inside_try_tables_have_handlers_in_their_function() {
    let wasm = wat::parse_str(MODULE).expect("valid text");
    let info = parse_module(&wasm, WasmFeatures::default()).expect("valid module");
    for triple in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
        let isa = build_isa(Some(&triple.parse().expect("triple")), OptLevel::Speed)
            .expect("supported target");
        let image =
            compile_module(&*isa, &info, &wasm, CompileOptions::default()).expect("compiles");
        assert_eq!(image.handlers.len(), 2, "{triple}: {:?}", image.handlers);
        let g = &image.functions[1];
        for &(ret, handler, frame) in &image.handlers {
            assert!(
                g.contains(&ret) && g.contains(&handler),
                "{triple}: {ret} {handler}"
            );
            assert!(frame.is_multiple_of(16), "{triple}: frame size {frame}");
            assert_eq!(image.lookup_handler(ret), Some((handler, frame)));
            assert_eq!(image.lookup_handler(ret + 1), None);
        }
        assert!(image.handlers.is_sorted_by_key(|h| h.0));
    }
}
