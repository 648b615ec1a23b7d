//! What safe code can never do: forge reference words through raw calls or host results, load native
//! code from bytes it did not vouch for, or confuse the null of one reference hierarchy with another.
//! Each test here failed before the rule it checks was enforced.

mod common;

use anyhow::Result;
use wasmz::*;

/// A struct type, functions writing through a `(ref null $s)` and calling through a funcref, and
/// reference-typed globals and tables.
const REFS: &str = r#"(module
  (type $s (struct (field (mut i32))))
  (type $unary (func (param i32) (result i32)))
  (table $t 2 funcref)
  (table $structs (export "structs") 2 (ref null $s))
  (global $g (export "g") (mut (ref null $s)) (ref.null $s))
  (func $double (export "double") (type $unary) (i32.mul (local.get 0) (i32.const 2)))
  (elem declare func $double)
  (func (export "set") (param (ref null $s)) (struct.set $s 0 (local.get 0) (i32.const 42)))
  (func (export "call_it") (param funcref i32) (result i32)
    (table.set $t (i32.const 0) (local.get 0))
    (call_indirect $t (type $unary) (local.get 1) (i32.const 0)))
  (func (export "new") (result (ref $s)) (struct.new $s (i32.const 7)))
  (func (export "get") (param (ref null $s)) (result i32) (struct.get $s 0 (local.get 0)))
  (func (export "double_ref") (result funcref) (ref.func $double))
  (func (export "fill") (table.set $t (i32.const 1) (ref.func $double)))
  (func (export "table") (param i32) (result funcref) (table.get $t (local.get 0))))"#;

fn instantiate(engine: &Engine, wat: &str, linker: &Linker) -> Result<(Store, Instance)> {
    let module = Module::compile(engine, wat)?;
    let mut store = Store::new(engine);
    let instance = Instance::new(&mut store, &module, linker)?;
    Ok((store, instance))
}

#[test]
fn raw_calls_refuse_reference_parameters() -> Result<()> {
    let (_store, mut instance) = instantiate(&Engine::default(), REFS, &Linker::new())?;
    // The address of a host object offered as a struct reference: struct.set would write into it.
    let host_object = Box::new([0u64; 4]);
    let forged = RawVal::from_u64(&*host_object as *const [u64; 4] as u64);
    let err = instance.call("set", &[forged]).unwrap_err();
    assert!(
        matches!(&err, Error::RawReference { what, .. } if what == "parameter 0"),
        "{err:?}"
    );
    assert_eq!(*host_object, [0; 4]);
    // A forged funcref word would make call_indirect jump to an address of the caller's choosing.
    let jump_target = RawVal::from_u64(0x4141_4141_4140);
    let err = instance
        .call("call_it", &[jump_target, RawVal::from(1i32)])
        .unwrap_err();
    assert!(matches!(err, Error::RawReference { .. }), "{err:?}");
    // The same through a `Func` handle.
    let set = instance.func("set").expect("exported");
    let err = set.call(&[forged], &mut []).unwrap_err();
    assert!(matches!(err, Error::RawReference { .. }), "{err:?}");
    // Numeric signatures are unaffected, and reference results come back as words.
    let values = instance
        .call("double", &[RawVal::from(21i32)])?
        .into_result()?;
    assert_eq!(values[0].read_as::<i32>(), 42);
    assert_ne!(instance.call("new", &[])?.into_result()?[0].low64(), 0);
    Ok(())
}

#[test]
fn unchecked_calls_pass_words_the_caller_vouches_for() -> Result<()> {
    let (_store, mut instance) = instantiate(&Engine::default(), REFS, &Linker::new())?;
    // SAFETY: null is a valid word for the nullable `(ref null $s)` parameter.
    let outcome = unsafe { instance.call_unchecked("set", &[RawVal::from_u64(0)])? };
    assert_eq!(
        outcome.trap().map(Trap::code),
        Some(TrapCode::NullReference)
    );
    let set = instance.func("get").expect("exported");
    let mut results = [RawVal::default()];
    // SAFETY: as above.
    let outcome = unsafe { set.call_unchecked(&[RawVal::from_u64(0)], &mut results)? };
    assert_eq!(outcome.unwrap_err().code(), TrapCode::NullReference);
    // Typed calls check the values instead.
    let object = instance.call_vals("new", &[])?.into_result()?.remove(0);
    assert_eq!(
        instance.call_vals("get", &[object])?.into_result()?[0]
            .clone()
            .i32(),
        Some(7)
    );
    Ok(())
}

trait AsI32 {
    fn i32(self) -> Option<i32>;
}

impl AsI32 for Val {
    fn i32(self) -> Option<i32> {
        match self {
            Val::I32(v) => Some(v),
            _ => None,
        }
    }
}

const HOST_REFS: &str = r#"(module
  (type $s (struct (field i32)))
  (type $unary (func (param i32) (result i32)))
  (import "host" "echo" (func $echo (param funcref) (result funcref)))
  (import "host" "make" (func $make (result anyref)))
  (table $t 1 funcref)
  (func $triple (type $unary) (i32.mul (local.get 0) (i32.const 3)))
  (elem declare func $triple)
  (func (export "through_host") (param i32) (result i32)
    (table.set $t (i32.const 0) (call $echo (ref.func $triple)))
    (call_indirect $t (type $unary) (local.get 0) (i32.const 0)))
  (func (export "made_is_null") (result i32) (ref.is_null (call $make))))"#;

#[test]
fn host_functions_cannot_return_raw_reference_words() -> Result<()> {
    let mut linker = Linker::new();
    let forging = HostFunc::new([ValType::FuncRef], [ValType::FuncRef], |_, _, results| {
        results[0] = RawVal::from_u64(0x4141_4141_4140);
        Ok(())
    });
    let err = linker.define("host", "echo", forging).unwrap_err();
    assert!(
        matches!(&err, Error::RawReference { func, what, .. } if func == "host::echo" && what == "result 0"),
        "{err:?}"
    );
    // Reference parameters as raw words are fine: reading a word gives the host nothing it could
    // pass back unchecked.
    linker.define(
        "host",
        "peek",
        HostFunc::new([ValType::FuncRef], [], |_, _, _| Ok(())),
    )?;
    Ok(())
}

fn host_ref_linker(make: fn() -> Val) -> Result<Linker> {
    let mut linker = Linker::new();
    linker.define(
        "host",
        "echo",
        HostFunc::new_vals(
            [ValType::FuncRef],
            [ValType::FuncRef],
            |_, params, results| {
                results[0] = params[0].clone();
                Ok(())
            },
        ),
    )?;
    linker.define(
        "host",
        "make",
        HostFunc::new_vals(
            [],
            [ValType::Ref(RefType {
                nullable: true,
                heap: HeapType::Any,
            })],
            move |_, _, results| {
                results[0] = make();
                Ok(())
            },
        ),
    )?;
    Ok(linker)
}

#[test]
fn typed_host_functions_return_checked_references() -> Result<()> {
    let engine = Engine::default();
    // A funcref that went out through the host and came back is called normally.
    let linker = host_ref_linker(|| Val::AnyRef(None))?;
    let (_store, mut instance) = instantiate(&engine, HOST_REFS, &linker)?;
    let values = instance
        .call("through_host", &[RawVal::from(5i32)])?
        .into_result()?;
    assert_eq!(values[0].read_as::<i32>(), 15);
    Ok(())
}

#[test]
fn typed_host_results_of_the_wrong_type_trap() -> Result<()> {
    let engine = Engine::default();
    // A funcref null where an anyref is expected: another hierarchy.
    let linker = host_ref_linker(|| Val::FuncRef(None))?;
    let (_store, mut instance) = instantiate(&engine, HOST_REFS, &linker)?;
    let trap = common::trap_of(&mut instance, "made_is_null", &[])?;
    assert_eq!(trap.code(), TrapCode::HostError);
    assert!(
        trap.message().is_some_and(|m| m.contains("result 0")),
        "{trap}"
    );
    Ok(())
}

#[test]
fn nulls_match_every_nullable_type_of_their_hierarchy_only() -> Result<()> {
    let (_store, mut instance) = instantiate(&Engine::default(), REFS, &Linker::new())?;
    // Parameters.
    let trap = instance
        .call_vals("get", &[Val::AnyRef(None)])?
        .into_result()
        .unwrap_err();
    assert_eq!(trap.code(), TrapCode::NullReference);
    for other in [Val::FuncRef(None), Val::ExternRef(None), Val::ExnRef(None)] {
        let err = instance
            .call_vals("get", std::slice::from_ref(&other))
            .unwrap_err();
        assert!(
            matches!(err, Error::ArgumentType { .. }),
            "{other:?}: {err:?}"
        );
    }
    // Globals: what `get` returns, `set` accepts.
    let global = instance.global("g").expect("exported");
    global.set(global.get())?;
    global.set(Val::AnyRef(None))?;
    assert!(global.set(Val::FuncRef(None)).is_err());
    assert!(global.set(Val::ExternRef(None)).is_err());
    // Tables.
    let table = instance.table("structs").expect("exported");
    table.set(0, Val::AnyRef(None))?;
    table.set(1, table.get(0).expect("in bounds"))?;
    assert_eq!(table.grow(3, Val::AnyRef(None))?, 2);
    assert!(table.set(0, Val::FuncRef(None)).is_err());
    assert!(table.grow(1, Val::ExternRef(None)).is_err());
    // A struct reference fits too, an i31 does not (it is not a `$s`).
    let object = instance.call_vals("new", &[])?.into_result()?.remove(0);
    global.set(object.clone())?;
    table.set(0, object)?;
    assert!(global.set(Val::AnyRef(Some(AnyRef::i31(1)))).is_err());
    Ok(())
}

#[test]
fn function_references_from_wasm_are_callable_from_the_host() -> Result<()> {
    let engine = Engine::default();
    let (_store, mut instance) = instantiate(&engine, REFS, &Linker::new())?;
    // Returned by a call.
    let Val::FuncRef(Some(func)) = instance
        .call_vals("double_ref", &[])?
        .into_result()?
        .remove(0)
    else {
        panic!("double_ref returns a function");
    };
    assert_eq!(func.ty().map(|t| t.params.len()), Some(1));
    let mut results = [RawVal::default()];
    func.call(&[RawVal::from(4i32)], &mut results)??;
    assert_eq!(results[0].read_as::<i32>(), 8);
    // Read from a table.
    instance.call("fill", &[])?.into_result()?;
    let Val::FuncRef(Some(from_table)) = instance
        .call_vals("table", &[Val::I32(1)])?
        .into_result()?
        .remove(0)
    else {
        panic!("table slot 1 holds a function");
    };
    from_table.call(&[RawVal::from(10i32)], &mut results)??;
    assert_eq!(results[0].read_as::<i32>(), 20);
    // Stored into another table of the same store, and called through it by wasm.
    let values = instance
        .call_vals(
            "call_it",
            &[Val::FuncRef(Some(from_table.clone())), Val::I32(6)],
        )?
        .into_result()?;
    assert!(matches!(values[..], [Val::I32(12)]));
    // Another store refuses it.
    let (_other_store, mut foreign) = instantiate(&engine, REFS, &Linker::new())?;
    let err = foreign
        .call_vals("call_it", &[Val::FuncRef(Some(from_table)), Val::I32(1)])
        .unwrap_err();
    assert!(matches!(err, Error::WrongStore), "{err:?}");
    Ok(())
}

#[test]
fn module_compile_never_loads_native_code_unasked() -> Result<()> {
    let engine = Engine::default();
    let artifact =
        engine.precompile("(module (func (export \"f\") (result i32) (i32.const 7)))")?;
    // An uploaded artifact handed to `compile` is refused, whatever its checksum says.
    let err = Module::compile(&engine, &artifact).unwrap_err();
    assert!(
        matches!(err, Error::Artifact(ArtifactError::PrecompiledNotAllowed)),
        "{err:?}"
    );
    // So is one with a cache directory configured (the cache holds only what wasmz wrote).
    let dir = std::env::temp_dir().join(format!("wasmz-soundness-{}", std::process::id()));
    let mut config = Config::new();
    // SAFETY: `dir` is a fresh directory of this test's own under the temporary directory.
    unsafe { config.cache_dir(Some(dir.clone())) };
    let cached = Engine::new(&config)?;
    assert!(matches!(
        Module::compile(&cached, &artifact),
        Err(Error::Artifact(ArtifactError::PrecompiledNotAllowed))
    ));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

const REENTRY: &str = r#"(module
  (import "host" "outer" (func $outer (result i32)))
  (import "host" "inner" (func $inner (result i32)))
  (func (export "outer") (result i32) (call $outer))
  (func (export "inner") (result i32) (call $inner)))"#;

#[test]
fn store_data_is_never_borrowed_mutably_twice() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(&engine, REENTRY)?;
    let mut linker = Linker::new();
    // `inner` reports whether it got the data.
    linker.define(
        "host",
        "inner",
        HostFunc::wrap(|cx: &mut HostContext| i32::from(cx.data::<u64>().is_some())),
    )?;
    // `outer` holds the data while calling back into wasm, which calls `inner`.
    linker.define(
        "host",
        "outer",
        HostFunc::wrap(|cx: &mut HostContext| -> Result<i32, HostError> {
            let inner = cx
                .get_func("inner")
                .and_then(|f| f.typed::<(), i32>().ok())
                .ok_or_else(|| HostError::new("no inner"))?;
            let mut data = cx.data::<u64>().ok_or_else(|| HostError::new("no data"))?;
            *data += 1;
            let got = inner.call(()).map_err(|t| HostError::new(t.to_string()))?;
            *data += 1;
            Ok(got)
        }),
    )?;
    let mut store = Store::new(&engine);
    store.set_data(0u64);
    let instance = Instance::new(&mut store, &module, &linker)?;
    // Nested in a host function that holds it: no data.
    assert_eq!(instance.typed_func::<(), i32>("outer")?.call(())?, 0);
    // Not borrowed: the data is there.
    assert_eq!(instance.typed_func::<(), i32>("inner")?.call(())?, 1);
    // Held by the embedder around a call: no data for the host function.
    let inner = instance.typed_func::<(), i32>("inner")?;
    let held = store.data::<u64>().expect("set above");
    assert_eq!(inner.call(())?, 0);
    assert_eq!(*held, 2);
    drop(held);
    assert_eq!(inner.call(())?, 1);
    Ok(())
}

/// The data a host function holds must outlive its guard, even when the host function reaches the
/// store itself (here through a thread-local) and tries to replace the data meanwhile.
#[test]
fn store_data_is_not_replaced_while_borrowed() -> Result<()> {
    use std::cell::RefCell;
    thread_local! {
        static STORE: RefCell<Option<Store>> = const { RefCell::new(None) };
    }
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module (import "h" "f" (func $f (result i32))) (func (export "run") (result i32) call $f))"#,
    )?;
    let mut linker = Linker::new();
    linker.define(
        "h",
        "f",
        HostFunc::wrap(|cx: &mut HostContext| -> Result<i32, HostError> {
            let mut guard = cx
                .data::<Vec<u64>>()
                .ok_or_else(|| HostError::new("no data"))?;
            // Replacing the data now would free what `guard` points into: refused with a panic,
            // which the host call turns into a trap.
            let replaced = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                STORE.with(|s| s.borrow_mut().as_mut().expect("set").set_data(0u8))
            }));
            guard.push(7);
            Ok(i32::from(replaced.is_err()))
        }),
    )?;
    let mut store = Store::new(&engine);
    store.set_data(vec![1u64]);
    let instance = Instance::new(&mut store, &module, &linker)?;
    STORE.with(|s| *s.borrow_mut() = Some(store));
    assert_eq!(
        instance.typed_func::<(), i32>("run")?.call(())?,
        1,
        "set_data refused"
    );
    let mut store = STORE.with(|s| s.borrow_mut().take()).expect("set");
    assert_eq!(
        *store.data::<Vec<u64>>().expect("the old data stays"),
        [1, 7]
    );
    // Not borrowed: replacing works.
    store.set_data(5u8);
    assert_eq!(*store.data::<u8>().expect("replaced"), 5);
    Ok(())
}

/// A host function that panics traps its caller, whatever the panic's payload: even one whose `Drop`
/// panics again (dropped inside a builtin, it would abort the process).
#[test]
fn host_function_panics_are_traps() -> Result<()> {
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("dropped");
        }
    }
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module
          (import "h" "message" (func $message))
          (import "h" "bomb" (func $bomb))
          (func (export "message") call $message)
          (func (export "bomb") call $bomb))"#,
    )?;
    let mut linker = Linker::new();
    linker.define(
        "h",
        "message",
        HostFunc::wrap(|| -> () { panic!("boom {}", 7) }),
    )?;
    linker.define(
        "h",
        "bomb",
        HostFunc::wrap(|| -> () { std::panic::panic_any(Bomb) }),
    )?;
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &linker)?;
    for (name, message) in [
        ("message", "host function panicked: boom 7"),
        ("bomb", "host function panicked: unknown panic"),
    ] {
        let trap = instance
            .typed_func::<(), ()>(name)?
            .call(())
            .expect_err("the panic traps");
        assert_eq!(trap.code(), TrapCode::HostError);
        assert!(trap.to_string().contains(message), "{trap}");
    }
    Ok(())
}
