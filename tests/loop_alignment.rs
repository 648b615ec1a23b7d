//! Integration tests of function placement: functions whose innermost loop would straddle a fetch
//! window start past a line boundary, and still run, trap and report traps as before, compiled in the
//! process (eagerly, lazily and in the background) and loaded from an artifact.

mod common;
use common::trap_of;

use anyhow::Result;
use wasmz::*;

/// Functions `f0`..`f23`, each with `3 * i` loads before a short counting loop that divides by the
/// first argument minus its counter, so it traps when the counter reaches the argument; without a trap
/// each returns 1000 plus what it loaded (0: memory is zeroed) and the quotients (0 past the first).
fn module() -> String {
    let mut wat = String::from("(module (memory 1)\n");
    for i in 0..24 {
        let loads: String = (0..3 * i)
            .map(|k| {
                format!(
                    "(local.set $acc (i32.add (local.get $acc) (i32.load offset={} (local.get $p))))\n",
                    4 * k
                )
            })
            .collect();
        wat += &format!(
            r#"(func (export "f{i}") (param $n i32) (param $p i32) (result i32) (local $i i32) (local $acc i32)
              {loads}
              (loop $l
                (local.set $acc (i32.add (local.get $acc)
                  (i32.div_u (i32.const 1) (i32.sub (local.get $n) (local.get $i)))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
              (i32.add (local.get $acc) (local.get $i)))
"#
        );
    }
    wat + ")"
}

fn check(engine: &Engine, module: &Module, wasm: &[u8]) -> Result<()> {
    let mut store = Store::new(engine);
    let mut inst = Instance::new(&mut store, module, &Linker::new())?;
    for i in 0..24 {
        let name = format!("f{i}");
        let args = [RawVal::from(5000i32), RawVal::from(0i32)];
        let result = inst.call(&name, &args)?.into_result()?;
        // 1 / 5000 and the other quotients are 0.
        assert_eq!(result[0].read_as::<i32>(), 1000, "{name}");
        let args = [RawVal::from(7i32), RawVal::from(0i32)];
        let trap = trap_of(&mut inst, &name, &args)?;
        assert_eq!(
            trap.code(),
            TrapCode::IntegerDivisionByZero,
            "{name}: {trap}"
        );
        let frame = &trap.backtrace()[0];
        assert_eq!(frame.func_index, i, "{name}: {trap}");
        let offset = frame.module_offset.expect("a wasm offset") as usize;
        assert_eq!(wasm[offset], 0x6e, "{name}: not at `i32.div_u`: {trap}");
    }
    Ok(())
}

#[test]
fn functions_moved_for_their_loops_run_and_trap_where_they_did() -> Result<()> {
    let wasm = wat::parse_str(module())?;
    let engine = Engine::default();
    let module = Module::compile(&engine, &wasm)?;
    check(&engine, &module, &wasm)?;

    let artifact = module.serialize()?;
    let info = ArtifactInfo::parse(&artifact)?;
    let starts: Vec<u32> = info.functions.iter().map(|f| f.start).collect();
    // Functions start on 64-byte lines unless their loop would straddle a window: with loops at 24
    // different offsets, some must have moved (else loop alignment is not at work).
    let moved = starts.iter().filter(|s| *s % 64 != 0).count();
    assert!(moved > 0, "no function moved: {starts:?}");
    assert!(moved < starts.len(), "every function moved: {starts:?}");

    // SAFETY: the artifact was serialized just above by this build.
    let loaded = unsafe { Module::deserialize(&engine, &artifact)? };
    check(&engine, &loaded, &wasm)
}

#[test]
fn lazily_compiled_functions_at_their_phase_run_and_trap_where_they_did() -> Result<()> {
    let wasm = wat::parse_str(module())?;
    for config in [
        Config::new().lazy_compilation(true),
        Config::new().background_compilation(true),
    ] {
        let engine = Engine::new(config)?;
        let module = Module::compile(&engine, &wasm)?;
        check(&engine, &module, &wasm)?;
    }
    Ok(())
}
