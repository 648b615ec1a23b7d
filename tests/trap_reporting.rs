//! Integration tests of how traps are reported: host-function errors and panics, explicit trap codes
//! from the host, backtraces with function names, `Display`, and traps during instantiation.

mod common;
use common::{INTEGER, RECURSION, trap_of};

use anyhow::Result;
use wasmz::*;

/// Instantiates `wat` with no imports in a fresh store of `engine`.
fn instantiate(engine: &Engine, wat: &str) -> Result<Instance> {
    let module = Module::compile(engine, wat)?;
    Ok(Instance::new(
        &mut Store::new(engine),
        &module,
        &Linker::new(),
    )?)
}

/// Calls `name` expecting results.
fn call(inst: &mut Instance, name: &str, args: &[RawVal]) -> Result<Vec<RawVal>> {
    Ok(inst.call(name, args)?.into_result()?)
}

fn i32s(v: &[i32]) -> Vec<RawVal> {
    v.iter().map(|&x| RawVal::from(x)).collect()
}

fn i64s(v: &[i64]) -> Vec<RawVal> {
    v.iter().map(|&x| RawVal::from(x)).collect()
}

#[test]
fn host_errors_become_traps_with_their_message() -> Result<()> {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module
          (import "h" "fail" (func $fail (param i32)))
          (import "h" "boom" (func $boom))
          (import "h" "boom_fmt" (func $boom_fmt (param i32)))
          (import "h" "coded" (func $coded))
          (func $inner (export "fail") (param i32) (call $fail (local.get 0)))
          (func (export "nested") (call $inner (i32.const 5)))
          (func (export "boom") (call $boom))
          (func (export "boom_fmt") (param i32) (call $boom_fmt (local.get 0)))
          (func (export "coded") (call $coded))
          (func (export "ok") (result i32) (i32.const 1)))"#,
    )?;
    let mut linker = Linker::new();
    linker
        .define(
            "h",
            "fail",
            HostFunc::new([ValType::I32], [], |cx, p, _| {
                Err(cx.trap(format!("refusing {}", p[0].read_as::<i32>())))
            }),
        )?
        .define(
            "h",
            "boom",
            HostFunc::new([], [], |_, _, _| panic!("static panic message")),
        )?
        .define(
            "h",
            "boom_fmt",
            HostFunc::new([ValType::I32], [], |_, p, _| {
                panic!("formatted panic {}", p[0].read_as::<i32>())
            }),
        )?
        .define(
            "h",
            "coded",
            HostFunc::new([], [], |_, _, _| {
                Err(HostError::trap(TrapCode::IntegerOverflow, "custom code"))
            }),
        )?;
    let mut inst = Instance::new(&mut Store::new(&engine), &module, &linker)?;

    for (name, args) in [("fail", i32s(&[3])), ("nested", vec![])] {
        let trap = trap_of(&mut inst, name, &args)?;
        assert_eq!(trap.code(), TrapCode::HostError);
        let expected = if name == "fail" {
            "refusing 3"
        } else {
            "refusing 5"
        };
        assert_eq!(trap.message(), Some(expected));
        assert!(trap.to_string().contains(expected), "{trap}");
        assert!(
            trap.to_string().contains(TrapCode::HostError.message()),
            "{trap}"
        );
    }

    for (name, args, text) in [
        ("boom", vec![], "static panic message"),
        ("boom_fmt", i32s(&[42]), "formatted panic 42"),
    ] {
        let trap = trap_of(&mut inst, name, &args)?;
        assert_eq!(trap.code(), TrapCode::HostError);
        let message = trap.message().expect("panics carry a message");
        assert!(
            message.contains("panic") && message.contains(text),
            "{message}"
        );
        assert_eq!(
            call(&mut inst, "ok", &[])?[0].read_as::<i32>(),
            1,
            "the instance survives a panic"
        );
    }

    let trap = trap_of(&mut inst, "coded", &[])?;
    assert_eq!(trap.code(), TrapCode::IntegerOverflow);
    assert_eq!(trap.message(), Some("custom code"));

    let e = HostError::trap(TrapCode::MemoryOutOfBounds, "m");
    assert_eq!(
        (e.code(), e.message(), e.to_string()),
        (TrapCode::MemoryOutOfBounds, "m", "m".to_string())
    );
    assert_eq!(HostError::new("x").code(), TrapCode::HostError);
    Ok(())
}

const BACKTRACE: &str = r#"(module
  (import "h" "fail" (func $host_fail))
  (memory 1)
  (table 1 funcref)
  (type $v (func))
  (func $innermost (param i32) (result i32)
    (if (i32.eq (local.get 0) (i32.const 1)) (then (call $host_fail)))
    (if (i32.eq (local.get 0) (i32.const 2)) (then unreachable))
    (if (i32.eq (local.get 0) (i32.const 3)) (then (drop (i32.load (i32.const 65536)))))
    (if (i32.eq (local.get 0) (i32.const 4)) (then (memory.fill (i32.const 65536) (i32.const 0) (i32.const 1))))
    (if (i32.eq (local.get 0) (i32.const 5)) (then (call_indirect (type $v) (i32.const 0))))
    (if (i32.eq (local.get 0) (i32.const 6)) (then (drop (table.get (i32.const 1)))))
    (if (i32.eq (local.get 0) (i32.const 7)) (then (drop (i32.trunc_f32_s (f32.const nan)))))
    (i32.div_u (i32.const 1) (local.get 0)))
  (func $middle (param i32) (result i32) (i32.add (call $innermost (local.get 0)) (i32.const 1)))
  (func $outer (export "run") (param i32) (result i32) (call $middle (local.get 0))))"#;

/// Backtrace frames as (function index, name).
type Frames = Vec<(u32, Option<String>)>;

/// The backtrace of `run(arg)` in [`BACKTRACE`]: its code and its frames as (index, name).
fn backtrace_of(arg: i32) -> Result<(Trap, Frames)> {
    let engine = Engine::default();
    let module = Module::compile(&engine, BACKTRACE)?;
    let mut linker = Linker::new();
    linker.define(
        "h",
        "fail",
        HostFunc::new([], [], |_, _, _| Err(HostError::new("from host"))),
    )?;
    let mut inst = Instance::new(&mut Store::new(&engine), &module, &linker)?;
    let trap = trap_of(&mut inst, "run", &i32s(&[arg]))?;
    let frames = trap
        .backtrace()
        .iter()
        .map(|f| (f.func_index, f.func_name.clone()))
        .collect();
    Ok((trap, frames))
}

#[test]
fn wasm_traps_carry_a_backtrace_with_function_names() -> Result<()> {
    let expected: Frames = [(1, "innermost"), (2, "middle"), (3, "outer")]
        .map(|(i, n)| (i, Some(n.to_string())))
        .into();
    for (arg, code) in [
        (0, TrapCode::IntegerDivisionByZero),
        (2, TrapCode::UnreachableCodeReached),
        (3, TrapCode::MemoryOutOfBounds),
        (4, TrapCode::MemoryOutOfBounds),
        (5, TrapCode::IndirectCallToNull),
        (6, TrapCode::TableOutOfBounds),
        (7, TrapCode::BadConversionToInteger),
    ] {
        let (trap, frames) = backtrace_of(arg)?;
        assert_eq!(trap.code(), code);
        assert_eq!(frames, expected, "{code:?}");
        let text = trap.to_string();
        assert!(
            text.starts_with(&format!("wasm trap: {}", code.message())),
            "{text}"
        );
        for name in ["innermost (func[1])", "middle (func[2])", "outer (func[3])"] {
            assert!(text.contains(name), "{text}");
        }
    }

    // Stack overflow: every frame is the recursive function.
    let mut inst = instantiate(&Engine::default(), RECURSION)?;
    let trap = trap_of(&mut inst, "forever", &[])?;
    assert!(!trap.backtrace().is_empty());
    assert!(
        trap.backtrace()
            .iter()
            .all(|f| f.func_index == 0 && f.func_name.as_deref() == Some("forever"))
    );
    Ok(())
}

#[test]
fn host_error_traps_keep_code_and_message_through_wasm_frames() -> Result<()> {
    let (trap, _) = backtrace_of(1)?;
    assert_eq!(trap.code(), TrapCode::HostError);
    assert_eq!(trap.message(), Some("from host"));
    assert!(
        trap.to_string()
            .starts_with("wasm trap: host function error: from host"),
        "{trap}"
    );
    Ok(())
}

#[test]
fn host_error_traps_carry_the_wasm_backtrace() -> Result<()> {
    let (trap, frames) = backtrace_of(1)?;
    let names: Vec<_> = frames.iter().map(|(_, n)| n.as_deref()).collect();
    assert_eq!(
        names,
        [Some("innermost"), Some("middle"), Some("outer")],
        "{trap}"
    );
    Ok(())
}

const LEAF_AND_CROSS: [&str; 2] = [
    r#"(module
      (func $helper (param i32) (result i32) (local.get 0))
      (func $leaf (export "leaf") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
      (func $calls (export "calls") (param i32) (result i32)
        (i32.div_u (i32.const 1) (call $helper (local.get 0)))))"#,
    r#"(module
      (import "p" "leaf" (func $leaf (param i32) (result i32)))
      (import "p" "calls" (func $calls (param i32) (result i32)))
      (table 1 funcref)
      (elem (i32.const 0) $calls)
      (type $t (func (param i32) (result i32)))
      (func $over_leaf (export "over_leaf") (param i32) (result i32)
        (i32.add (call $local_leaf (local.get 0)) (i32.const 1)))
      (func $local_leaf (param i32) (result i32) (i32.rem_u (i32.const 1) (local.get 0)))
      (func $over_import (export "over_import") (param i32) (result i32)
        (i32.add (call $calls (local.get 0)) (i32.const 1)))
      (func $over_table (export "over_table") (param i32) (result i32)
        (i32.add (call_indirect (type $t) (local.get 0) (i32.const 0)) (i32.const 1))))"#,
];

/// Runs `name(0)` of the second module of [`LEAF_AND_CROSS`] and returns the frame names.
fn leaf_and_cross_frames(name: &str) -> Result<Vec<Option<String>>> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let provider = Module::compile(&engine, LEAF_AND_CROSS[0])?;
    let provider = Instance::new(&mut store, &provider, &Linker::new())?;
    let mut linker = Linker::new();
    linker.define_instance("p", &provider)?;
    let user = Module::compile(&engine, LEAF_AND_CROSS[1])?;
    let mut user = Instance::new(&mut store, &user, &linker)?;
    let trap = trap_of(&mut user, name, &i32s(&[0]))?;
    assert_eq!(trap.code(), TrapCode::IntegerDivisionByZero);
    Ok(trap
        .backtrace()
        .iter()
        .map(|f| f.func_name.clone())
        .collect())
}

#[test]
fn leaf_and_cross_instance_traps_name_the_trapping_function() -> Result<()> {
    for (name, innermost) in [
        ("over_leaf", "local_leaf"),
        ("over_import", "calls"),
        ("over_table", "calls"),
    ] {
        let frames = leaf_and_cross_frames(name)?;
        assert_eq!(
            frames.first().cloned().flatten().as_deref(),
            Some(innermost),
            "{name}: {frames:?}"
        );
    }
    Ok(())
}

#[test]
fn traps_in_leaf_functions_keep_their_callers_in_the_backtrace() -> Result<()> {
    let frames = leaf_and_cross_frames("over_leaf")?;
    let want = [Some("local_leaf"), Some("over_leaf")].map(|n| n.map(str::to_string));
    assert_eq!(frames, want);
    Ok(())
}

#[test]
fn backtraces_continue_across_instances() -> Result<()> {
    for (name, want) in [
        ("over_import", [Some("calls"), Some("over_import")]),
        ("over_table", [Some("calls"), Some("over_table")]),
    ] {
        let frames = leaf_and_cross_frames(name)?;
        assert_eq!(frames, want.map(|n| n.map(str::to_string)), "{name}");
    }
    Ok(())
}

#[test]
fn trap_display_names_the_trap() -> Result<()> {
    let mut inst = instantiate(&Engine::default(), INTEGER)?;
    let trap = trap_of(&mut inst, "i32.div_u", &i32s(&[1, 0]))?;
    assert!(trap.message().is_none(), "only host traps carry a message");
    assert!(
        trap.to_string().contains("integer divide by zero"),
        "{trap}"
    );
    let trap = trap_of(&mut inst, "i64.div_s", &i64s(&[i64::MIN, -1]))?;
    assert!(trap.to_string().contains("integer overflow"), "{trap}");
    let r = inst.call("i64.div_s", &i64s(&[i64::MIN, -1]))?;
    assert!(!r.is_ok() && r.values().is_none());
    assert_eq!(
        r.into_result().unwrap_err().code(),
        TrapCode::IntegerOverflow
    );
    for code in TrapCode::ALL {
        assert!(!code.message().is_empty());
        assert_eq!(code.to_string(), code.message());
    }
    Ok(())
}

#[test]
fn traps_during_instantiation_are_errors() -> Result<()> {
    let engine = Engine::default();
    let trap_in_start = |wat: &str| -> Result<Trap> {
        let module = Module::compile(&engine, wat)?;
        match Instance::new(&mut Store::new(&engine), &module, &Linker::new()) {
            Err(Error::Trap(t)) => Ok(t),
            Err(other) => anyhow::bail!("expected a trap, got {other:?}"),
            Ok(_) => anyhow::bail!("instantiation succeeded"),
        }
    };
    let t = trap_in_start(r#"(module (func $s unreachable) (start $s))"#)?;
    assert_eq!(t.code(), TrapCode::UnreachableCodeReached);
    let t = trap_in_start(
        r#"(module (func $s (drop (i32.div_s (i32.const 1) (i32.const 0)))) (start $s))"#,
    )?;
    assert_eq!(t.code(), TrapCode::IntegerDivisionByZero);
    let t = trap_in_start(
        r#"(module (memory 1) (func $s (i32.store (i32.const 65536) (i32.const 0))) (start $s))"#,
    )?;
    assert_eq!(t.code(), TrapCode::MemoryOutOfBounds);
    let t = trap_in_start(r#"(module (func $s (call $s)) (start $s))"#)?;
    assert_eq!(t.code(), TrapCode::StackOverflow);

    // A host function failing inside the start function.
    let module = Module::compile(&engine, r#"(module (import "h" "f" (func $f)) (start $f))"#)?;
    let mut linker = Linker::new();
    linker.define(
        "h",
        "f",
        HostFunc::new([], [], |_, _, _| Err(HostError::new("no start"))),
    )?;
    match Instance::new(&mut Store::new(&engine), &module, &linker) {
        Err(Error::Trap(t)) => {
            assert_eq!(
                (t.code(), t.message()),
                (TrapCode::HostError, Some("no start"))
            );
        }
        other => anyhow::bail!("expected a host trap, got {other:?}"),
    }

    // A start function that returns normally runs exactly once, before `new` returns.
    let mut inst = instantiate(
        &engine,
        r#"(module (global $g (mut i32) (i32.const 0))
             (func $s (global.set $g (i32.add (global.get $g) (i32.const 1)))) (start $s)
             (func (export "g") (result i32) (global.get $g)))"#,
    )?;
    assert_eq!(call(&mut inst, "g", &[])?[0].read_as::<i32>(), 1);
    Ok(())
}

#[test]
fn frames_name_the_wasm_operator_by_its_module_offset() -> Result<()> {
    let bytes = wat::parse_str(BACKTRACE)?;
    let opcode = |offset: Option<u32>| offset.map(|o| bytes[o as usize]);
    let engine = Engine::default();
    let module = Module::compile(&engine, &bytes)?;
    let mut linker = Linker::new();
    linker.define("h", "fail", HostFunc::wrap(|| {}))?;
    let mut inst = Instance::new(&mut Store::new(&engine), &module, &linker)?;
    for (arg, trapping) in [(0, 0x6e /* i32.div_u */), (3, 0x28 /* i32.load */)] {
        let trap = trap_of(&mut inst, "run", &i32s(&[arg]))?;
        let frames = trap.backtrace();
        assert_eq!(opcode(frames[0].module_offset), Some(trapping), "{trap}");
        // The outer frames are at their calls.
        assert_eq!(opcode(frames[1].module_offset), Some(0x10), "{trap}");
        assert_eq!(opcode(frames[2].module_offset), Some(0x10), "{trap}");
        let line = format!(
            "{:#x} - innermost (func[1])",
            frames[0].module_offset.unwrap()
        );
        assert!(trap.to_string().contains(&line), "{trap}");
    }
    Ok(())
}

#[test]
fn mangled_names_are_demangled() -> Result<()> {
    let wat = r#"(module
      (func $_ZN4core9panicking5panic17h0123456789abcdefE (export "rust") unreachable)
      (func $_Z3addii (export "cpp") unreachable))"#;
    let mut inst = instantiate(&Engine::default(), wat)?;
    let trap = trap_of(&mut inst, "rust", &[])?;
    assert_eq!(
        trap.backtrace()[0].func_name.as_deref(),
        Some("core::panicking::panic")
    );
    let trap = trap_of(&mut inst, "cpp", &[])?;
    assert_eq!(
        trap.backtrace()[0].func_name.as_deref(),
        Some("add(int, int)")
    );
    Ok(())
}

#[test]
fn very_deep_backtraces_keep_both_ends() -> Result<()> {
    let mut inst = instantiate(&Engine::default(), RECURSION)?;
    let trap = trap_of(&mut inst, "forever", &[])?;
    assert_eq!(trap.code(), TrapCode::StackOverflow);
    assert!(
        trap.frames_elided() > 0,
        "{} frames",
        trap.backtrace().len()
    );
    // The innermost and outermost frames are kept (the walk also passes the entry trampoline,
    // which is no function's frame).
    assert!((120..=128).contains(&trap.backtrace().len()), "{trap}");
    let text = trap.to_string();
    assert!(
        text.contains(&format!("... {} frames elided ...", trap.frames_elided())),
        "{text}"
    );
    // The outermost frame keeps its number in the whole stack.
    let last = trap.backtrace().len() - 1 + trap.frames_elided();
    assert!(text.contains(&format!("\n  {last:>4}: ")), "{text}");
    // A shallow trap elides nothing.
    let (shallow, _) = backtrace_of(0)?;
    assert_eq!(shallow.frames_elided(), 0);
    Ok(())
}

#[test]
fn identical_functions_report_their_own_index_and_offset() -> Result<()> {
    // $a and $c have the same type and body bytes (compiled once), $b differs; each divides by its
    // argument, and `i32.div_u` must be reported inside the body of the function that trapped.
    let bytes = wat::parse_str(
        r#"(module
          (func $a (export "a") (param i32) (result i32) (i32.div_u (i32.const 7) (local.get 0)))
          (func $b (export "b") (param i32) (result i32) (i32.div_s (i32.const 7) (local.get 0)))
          (func $c (export "c") (param i32) (result i32) (i32.div_u (i32.const 7) (local.get 0))))"#,
    )?;
    let engine = Engine::default();
    let module = Module::compile(&engine, &bytes)?;
    // SAFETY: serialized just above by this build.
    let loaded = unsafe { Module::deserialize(&engine, module.serialize()?)? };
    for module in [&module, &loaded] {
        let mut inst = Instance::new(&mut Store::new(&engine), module, &Linker::new())?;
        let mut offsets = Vec::new();
        for (name, index, opcode) in [("a", 0, 0x6e), ("b", 1, 0x6d), ("c", 2, 0x6e)] {
            assert_eq!(call(&mut inst, name, &i32s(&[2]))?[0].read_as::<i32>(), 3);
            let trap = trap_of(&mut inst, name, &i32s(&[0]))?;
            assert_eq!(trap.code(), TrapCode::IntegerDivisionByZero, "{trap}");
            let frame = &trap.backtrace()[0];
            assert_eq!(frame.func_index, index, "{trap}");
            let offset = frame.module_offset.expect("a wasm offset");
            assert_eq!(bytes[offset as usize], opcode, "{trap}");
            offsets.push(offset);
        }
        // Three different places in the module, in the order of the bodies.
        assert!(
            offsets[0] < offsets[1] && offsets[1] < offsets[2],
            "{offsets:?}"
        );
    }
    Ok(())
}
