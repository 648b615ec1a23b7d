//! The large generated module shared by the `aot` and `lazy` benches.

use std::fmt::Write;

/// A module of more than 1 MB: functions with arithmetic, memory traffic, branches and calls to their
/// neighbours, much like the code of a large C program.
pub fn large_module() -> Vec<u8> {
    let mut text = String::from("(module (memory 4) (global $g (mut i32) (i32.const 1))\n");
    let count = 11000;
    for i in 0..count {
        let callee = if i == 0 { 0 } else { i - 1 };
        write!(
            text,
            "(func $f{i} (param $a i32) (param $b i32) (result i32) (local $t i32)
               (local.set $t (i32.add (i32.mul (local.get $a) (i32.const {k})) (local.get $b)))
               (if (i32.gt_s (local.get $t) (i32.const {i}))
                 (then (i32.store (i32.and (local.get $t) (i32.const 0xfffc)) (local.get $a))
                       (local.set $t (i32.xor (local.get $t) (i32.load offset=8 (i32.const {o})))))
                 (else (global.set $g (i32.add (global.get $g) (local.get $t)))))
               (if (i32.and (local.get $b) (i32.const 1))
                 (then (local.set $t (call $f{callee} (local.get $t) (i32.shr_u (local.get $b) (i32.const 1))))))
               (i32.rotl (local.get $t) (i32.const {r})))\n",
            k = i % 97 + 3,
            o = (i * 4) % 60000,
            r = i % 31,
        )
        .expect("writing to a String");
    }
    text.push_str("(export \"f\" (func $f10999)))");
    let wasm = wat::parse_str(&text).expect("generated module parses");
    assert!(
        wasm.len() > 1 << 20,
        "the module must exceed 1 MB (is {} bytes)",
        wasm.len()
    );
    wasm
}
