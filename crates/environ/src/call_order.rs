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
}
