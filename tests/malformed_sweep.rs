//! Malformed-input sweep: valid modules, truncated and with flipped bits, fed to `Module::compile`. Every
//! outcome must be a value — a module or an error — never a panic or a crashed process; mutants that still
//! compile are instantiated and their exports called (fuel-bounded), which must trap or return, never crash.
//!
//! The valid modules are the text modules of a selection of spec-suite scripts (every kind of section and
//! most operator families), read from `$WASMZ_TESTSUITE` or `../shared/wasm-testsuite`, plus a generated
//! module of a few hundred functions.

mod common;
use common::suite_dir;

use std::fmt::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use wasmz::{
    CompileError, Config, Engine, Error, Instance, Linker, Module, RawVal, Store, ValType,
};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective};

/// Scripts whose modules seed the sweep.
const SCRIPTS: &[&str] = &[
    "address",
    "block",
    "br_table",
    "bulk",
    "call_indirect",
    "data",
    "elem",
    "float_exprs",
    "global",
    "i64",
    "imports",
    "loop",
    "memory_grow",
    "ref_func",
    "select",
    "table",
    "simd_lane",
    "simd_i32x4_arith",
    "simd_load",
];

/// The binaries of the text modules `script` defines.
fn script_modules(script: &str) -> Vec<Vec<u8>> {
    let path = suite_dir().join(format!("{script}.wast"));
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let buf = ParseBuffer::new(&source).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let wast: Wast<'_> = parser::parse(&buf).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    wast.directives
        .into_iter()
        .filter_map(|directive| match directive {
            WastDirective::Module(mut module @ QuoteWat::Wat(_)) => module.encode().ok(),
            _ => None,
        })
        .collect()
}

/// A module of `count` functions with memory traffic, branches, calls, a table and data.
fn generated_module(count: usize) -> Vec<u8> {
    let mut text = String::from(
        "(module (memory 1) (table 8 funcref) (global $g (mut i32) (i32.const 1))
           (data (i32.const 16) \"wasmz sweep\") (elem (i32.const 0) func $f0 $f1)\n",
    );
    for i in 0..count {
        let callee = i.saturating_sub(1);
        write!(
            text,
            "(func $f{i} (export \"f{i}\") (param $a i32) (result i32) (local $t i32)
               (local.set $t (i32.mul (local.get $a) (i32.const {k})))
               (if (i32.gt_s (local.get $t) (i32.const {i}))
                 (then (i32.store offset=4 (i32.and (local.get $t) (i32.const 0xfffc)) (local.get $a)))
                 (else (global.set $g (i32.add (global.get $g) (local.get $t)))))
               (block $out (loop $l
                 (br_if $out (i32.eqz (local.get $a)))
                 (local.set $a (i32.shr_u (local.get $a) (i32.const 1)))
                 (br $l)))
               (if (i32.and (local.get $t) (i32.const 1))
                 (then (local.set $t (call $f{callee} (i32.shr_u (local.get $t) (i32.const 3))))))
               (i32.add (local.get $t) (i32.load8_u (i32.const {o}))))\n",
            k = i % 13 + 3,
            o = i % 64,
        )
        .expect("writing to a String");
    }
    text.push(')');
    wat::parse_str(&text).expect("generated module parses")
}

/// A small deterministic generator (xorshift64*), so every run sweeps the same mutants.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What became of the mutants.
#[derive(Default)]
struct Tally {
    rejected: usize,
    compiled: usize,
    calls: usize,
}

/// Compiles `bytes`; a module that compiles is instantiated and its exported functions are called with
/// zero arguments under a fuel limit. Panics (failing the test) when wasmz panics or reports an internal
/// error.
fn exercise(engine: &Engine, bytes: &[u8], what: &str, tally: &mut Tally) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let module = match Module::compile(engine, bytes) {
            Ok(module) => module,
            Err(Error::Compile(CompileError::Codegen { message, .. }))
                if message.contains("internal error") =>
            {
                panic!("internal compiler error: {message}")
            }
            Err(_) => return (false, 0),
        };
        let mut store = Store::new(engine);
        store.set_fuel(20_000);
        let Ok(mut instance) = Instance::new(&mut store, &module, &Linker::new()) else {
            return (true, 0);
        };
        let mut calls = 0;
        for (name, _) in instance.exports() {
            // Zero is a valid argument of every type but non-nullable references.
            let Some(params) = instance
                .func(&name)
                .and_then(|f| f.ty().cloned())
                .filter(|t| {
                    t.params
                        .iter()
                        .all(|p| !matches!(p, ValType::Ref(r) if !r.nullable))
                })
                .map(|t| t.params.len())
            else {
                continue;
            };
            let args = vec![RawVal::default(); params];
            // Any outcome is fine (results, a trap, running out of fuel); only a crash is not.
            let _ = instance.call(&name, &args);
            calls += 1;
        }
        (true, calls)
    }));
    match outcome {
        Ok((compiled, calls)) => {
            if compiled {
                tally.compiled += 1;
            } else {
                tally.rejected += 1;
            }
            tally.calls += calls;
        }
        Err(_) => panic!("wasmz panicked on {what}"),
    }
}

/// Truncations and bit flips of `module`, `mutants` of each, chosen by `rng`.
fn sweep(engine: &Engine, index: usize, module: &[u8], mutants: usize, tally: &mut Tally) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (index as u64).wrapping_add(1));
    for _ in 0..mutants {
        let len = rng.below(module.len());
        exercise(
            engine,
            &module[..len],
            &format!("module {index} cut to {len} bytes"),
            tally,
        );
        let mut flipped = module.to_vec();
        let byte = rng.below(flipped.len());
        let bit = rng.below(8);
        flipped[byte] ^= 1 << bit;
        exercise(
            engine,
            &flipped,
            &format!("module {index} with bit {bit} of byte {byte} flipped"),
            tally,
        );
    }
}

fn engine() -> Engine {
    let mut config = Config::new();
    config.consume_fuel(true);
    Engine::new(&config).expect("engine")
}

#[test]
fn mutated_spec_modules_never_crash() {
    let modules: Vec<Vec<u8>> = SCRIPTS.iter().flat_map(|s| script_modules(s)).collect();
    assert!(modules.len() > 300, "only {} seed modules", modules.len());
    let engine = engine();
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|worker| {
                let (engine, modules) = (&engine, &modules);
                s.spawn(move || {
                    let mut tally = Tally::default();
                    for (index, module) in modules.iter().enumerate().skip(worker).step_by(2) {
                        sweep(engine, index, module, 16, &mut tally);
                    }
                    tally
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("sweep worker"))
            .collect()
    });
    let rejected: usize = tallies.iter().map(|t| t.rejected).sum();
    let compiled: usize = tallies.iter().map(|t| t.compiled).sum();
    let calls: usize = tallies.iter().map(|t| t.calls).sum();
    eprintln!("{rejected} mutants rejected, {compiled} compiled, {calls} export calls");
    // Both kinds of outcome must be common, or the sweep is not testing what it claims.
    assert!(rejected > 3000, "only {rejected} mutants rejected");
    assert!(compiled > 1000, "only {compiled} mutants compiled");
    assert!(calls > 2000, "only {calls} exports called");
}

#[test]
fn every_truncation_of_a_large_module_is_an_error() {
    let module = generated_module(200);
    assert!(module.len() > 20_000, "module is {} bytes", module.len());
    let engine = engine();
    // Cuts at section boundaries can leave a valid module (one without its later sections); every other
    // cut must be refused.
    let mut valid_prefixes = 0;
    for len in 0..module.len() {
        match catch_unwind(AssertUnwindSafe(|| {
            Module::compile(&engine, &module[..len])
        })) {
            Ok(Ok(_)) => valid_prefixes += 1,
            Ok(Err(Error::Compile(CompileError::Codegen { message, .. })))
                if message.contains("internal error") =>
            {
                panic!("internal compiler error at length {len}: {message}")
            }
            Ok(Err(_)) => {}
            Err(_) => panic!("wasmz panicked on the module cut to {len} bytes"),
        }
    }
    assert!(
        valid_prefixes <= 8,
        "{valid_prefixes} prefixes compiled; a module has only a few sections"
    );
    let mut tally = Tally::default();
    sweep(&engine, usize::MAX, &module, 200, &mut tally);
    assert!(tally.rejected > 100 && tally.compiled > 10);
}
