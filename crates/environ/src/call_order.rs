//! The order in which a program will probably first call its functions, read off its direct calls:
//! what background compilation compiles first.

use crate::module::{EntityIndex, ModuleInfo};
use wasmparser::{BinaryReader, FunctionBody, Operator};

/// The defined functions of `info` (whose bytes are `wasm`), each once, in the order of a depth-first
/// walk of the direct calls (`call`, `return_call`, in the order they appear in each body) from the
/// start function, then from `_start` and `_initialize`, then from the other exported functions, then
/// from every remaining function in index order. A command runs roughly in that order, so a thread
/// that compiles in it stays ahead of the thread that runs the program.
///
/// Function bodies that do not decode (the module was validated, so none should) count as calling
/// nothing.
pub fn likely_call_order(info: &ModuleInfo, wasm: &[u8]) -> Vec<u32> {
    let first = info.num_imported_funcs;
    let callees: Vec<Vec<u32>> = info
        .bodies
        .iter()
        .map(|range| direct_callees(wasm, range.start, range.end, first))
        .collect();
    let exported = |name: &str| match info.export_map.get(name) {
        Some(EntityIndex::Func(f)) => Some(*f),
        _ => None,
    };
    let roots = info
        .start
        .into_iter()
        .chain(exported("_start"))
        .chain(exported("_initialize"))
        .chain(info.exports.iter().filter_map(|(_, e)| match e {
            EntityIndex::Func(f) => Some(*f),
            _ => None,
        }))
        .chain(first..first + info.bodies.len() as u32);
    let mut seen = vec![false; info.bodies.len()];
    let mut order = Vec::with_capacity(info.bodies.len());
    let mut stack = Vec::new();
    for root in roots {
        stack.push(root);
        while let Some(f) = stack.pop() {
            let Some(defined) = f.checked_sub(first).map(|d| d as usize) else {
                continue;
            };
            if defined >= seen.len() || seen[defined] {
                continue;
            }
            seen[defined] = true;
            order.push(f);
            // Reversed, so that the first call in the body is walked first.
            stack.extend(callees[defined].iter().rev());
        }
    }
    order
}

/// Wasm bytes of function bodies per window of [`background_compile_order`]: more than most small
/// programs hold in all (a C program with `printf` has about 30 KB), a small part of a large one.
pub const BIGGEST_FIRST_WINDOW: u64 = 64 * 1024;

/// The order in which background threads compile the defined functions of `info`:
/// [`likely_call_order`], cut into consecutive windows of about `window` bytes of function bodies,
/// each window biggest function first.
///
/// The program's thread compiles whatever it calls before a background thread has, so a background
/// thread helps most by taking, among the functions needed soon, those that take longest to compile:
/// the program's thread then compiles the small ones on its way and finds the big ones ready or under
/// way. In order of calls alone, a C program printing its result compiled `printf_core` (9 KB of wasm,
/// half the program) on its own thread while the background thread compiled the small functions
/// around it (`benches/compare.sh`: fib(30) 25 ms with `--background`, 21 ms biggest first).
pub fn background_compile_order(info: &ModuleInfo, wasm: &[u8], window: u64) -> Vec<u32> {
    let mut order = likely_call_order(info, wasm);
    let first = info.num_imported_funcs;
    let size = |f: &u32| {
        info.bodies
            .get((*f - first) as usize)
            .map_or(0, |r| r.end - r.start)
    };
    let mut start = 0;
    let mut bytes = 0;
    for i in 0..order.len() {
        bytes += size(&order[i]);
        if bytes >= window || i + 1 == order.len() {
            // Stable: equal sizes keep the order of calls.
            order[start..=i].sort_by_key(|f| std::cmp::Reverse(size(f)));
            start = i + 1;
            bytes = 0;
        }
    }
    order
}

/// The defined functions called directly by the body at `start..end` of `wasm`, in order of appearance.
fn direct_callees(wasm: &[u8], start: u64, end: u64, first_defined: u32) -> Vec<u32> {
    let Some(bytes) = wasm.get(start as usize..end as usize) else {
        return Vec::new();
    };
    let body = FunctionBody::new(BinaryReader::new(bytes, start));
    let Ok(mut ops) = body.get_operators_reader() else {
        return Vec::new();
    };
    let mut callees = Vec::new();
    while !ops.eof() {
        match ops.read() {
            Ok(Operator::Call { function_index } | Operator::ReturnCall { function_index })
                if function_index >= first_defined =>
            {
                callees.push(function_index)
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    callees
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_first_from_the_entry_points() {
        let wasm = wat::parse_str(
            r#"(module
              (import "env" "h" (func $h))
              (func $unused)
              (func $leaf)
              (func $b (call $leaf))
              (func $a (call $h) (call $b) (return_call $leaf))
              (func $main (export "_start") (call $a) (call $c))
              (func $c (call $a))
              (func $exported (export "other") (call $d))
              (func $d))"#,
        )
        .expect("valid text");
        let info =
            crate::parse_module(&wasm, wasmparser::WasmFeatures::default()).expect("valid module");
        // Function indices: $h 0 (imported), $unused 1, $leaf 2, $b 3, $a 4, $main 5, $c 6,
        // $exported 7, $d 8.
        assert_eq!(
            likely_call_order(&info, &wasm),
            vec![5, 4, 3, 2, 6, 7, 8, 1]
        );
    }

    #[test]
    fn background_order_takes_the_biggest_first_in_each_window() {
        let wasm = wat::parse_str(
            r#"(module
              (func $small)
              (func $big (drop (i32.add (i32.const 1) (i32.add (i32.const 2) (i32.const 3)))))
              (func $mid (drop (i32.const 1000)) (nop))
              (func $main (export "_start") (call $small) (call $big) (call $mid))
              (func $late)
              (func $late_big (export "other")
                (call $late) (drop (i32.const 9)) (drop (i32.const 9)) (drop (i32.const 9))))"#,
        )
        .expect("valid text");
        let info =
            crate::parse_module(&wasm, wasmparser::WasmFeatures::default()).expect("valid module");
        let size = |f: u32| info.bodies[f as usize].end - info.bodies[f as usize].start;
        // Bytes of the bodies (with their length and local declarations).
        assert_eq!((0..6).map(size).collect::<Vec<_>>(), [2, 11, 7, 8, 2, 13]);
        // In order of calls: $main 3, $small 0, $big 1, $mid 2, $late_big 5, $late 4.
        assert_eq!(likely_call_order(&info, &wasm), vec![3, 0, 1, 2, 5, 4]);
        // One window: biggest first.
        assert_eq!(
            background_compile_order(&info, &wasm, 1 << 20),
            vec![5, 1, 3, 2, 0, 4]
        );
        // Windows closed when they reach 20 bytes: [$main $small $big] [$mid $late_big] [$late].
        assert_eq!(
            background_compile_order(&info, &wasm, 20),
            vec![1, 3, 0, 5, 2, 4]
        );
    }
}
