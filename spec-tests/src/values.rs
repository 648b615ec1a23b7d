//! Converting script arguments to wasmz values and matching results and traps against what a script expects
//! (NaN patterns, lane-wise vector patterns, reference patterns, trap messages).

use wasmz::{AnyRef, Trap, TrapCode, Val};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::token::{F32, F64};
use wast::{WastArg, WastRet};

/// Converts an `invoke` argument to a value.
pub fn arg_to_val(arg: &WastArg<'_>) -> Result<Val, String> {
    let WastArg::Core(arg) = arg else {
        return Err("component-model argument not supported".to_string());
    };
    Ok(match arg {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArgCore::RefNull(ht) => match ref_family(ht) {
            Some(RefFamily::Func) => Val::FuncRef(None),
            Some(RefFamily::Extern) => Val::ExternRef(None),
            Some(RefFamily::Exn) => Val::ExnRef(None),
            Some(RefFamily::Any) => Val::AnyRef(None),
            None => {
                return Err(format!(
                    "argument (ref.null {}) not supported",
                    heap_type_name(ht)
                ));
            }
        },
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(u64::from(*n))),
        WastArgCore::RefHost(n) => Val::AnyRef(Some(AnyRef::host(u64::from(*n)))),
    })
}

/// The reference hierarchies wasmz values can express.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefFamily {
    Func,
    Extern,
    Exn,
    Any,
}

/// The hierarchy a heap type belongs to, if wasmz can express it. Concrete type indices are taken to be
/// function types (the only concrete types without GC).
fn ref_family(ht: &HeapType<'_>) -> Option<RefFamily> {
    match ht {
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Func | AbstractHeapType::NoFunc,
        } => Some(RefFamily::Func),
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern,
        } => Some(RefFamily::Extern),
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Exn | AbstractHeapType::NoExn,
        } => Some(RefFamily::Exn),
        HeapType::Abstract {
            shared: false,
            ty:
                AbstractHeapType::Any
                | AbstractHeapType::Eq
                | AbstractHeapType::I31
                | AbstractHeapType::Struct
                | AbstractHeapType::Array
                | AbstractHeapType::None,
        } => Some(RefFamily::Any),
        HeapType::Concrete(_) | HeapType::Exact(_) => Some(RefFamily::Func),
        HeapType::Abstract { .. } => None,
    }
}

fn heap_type_name(ht: &HeapType<'_>) -> String {
    match ht {
        HeapType::Abstract { shared, ty } => {
            let name = format!("{ty:?}").to_lowercase();
            if *shared {
                format!("(shared {name})")
            } else {
                name
            }
        }
        HeapType::Concrete(idx) | HeapType::Exact(idx) => format!("{idx:?}"),
    }
}

/// Checks a list of results against the expected ones.
pub fn match_results(expected: &[WastRet<'_>], actual: &[Val]) -> Result<(), String> {
    if expected.len() != actual.len() {
        return Err(format!(
            "expected {} result(s) [{}], got {} [{}]",
            expected.len(),
            expected
                .iter()
                .map(describe_ret)
                .collect::<Vec<_>>()
                .join(", "),
            actual.len(),
            actual
                .iter()
                .map(describe_val)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (i, (want, got)) in expected.iter().zip(actual).enumerate() {
        let ok = match want {
            WastRet::Core(core) => match_ret(core, got)?,
            _ => return Err("component-model result not supported".to_string()),
        };
        if !ok {
            let which = if actual.len() > 1 {
                format!("result {i}: ")
            } else {
                String::new()
            };
            return Err(format!(
                "{which}expected {}, got {}",
                describe_ret(want),
                describe_val(got)
            ));
        }
    }
    Ok(())
}

/// Whether `got` matches `want`; `Err` when the pattern cannot be checked with wasmz values.
fn match_ret(want: &WastRetCore<'_>, got: &Val) -> Result<bool, String> {
    Ok(match (want, got) {
        (WastRetCore::I32(w), Val::I32(g)) => w == g,
        (WastRetCore::I64(w), Val::I64(g)) => w == g,
        (WastRetCore::F32(w), Val::F32(g)) => f32_matches(w, *g),
        (WastRetCore::F64(w), Val::F64(g)) => f64_matches(w, *g),
        (WastRetCore::V128(w), Val::V128(g)) => v128_matches(w, *g),
        (WastRetCore::RefNull(None), Val::FuncRef(r)) => r.is_none(),
        (WastRetCore::RefNull(None), Val::ExternRef(r)) => r.is_none(),
        (WastRetCore::RefNull(None), Val::ExnRef(r)) => r.is_none(),
        (WastRetCore::RefNull(None), Val::AnyRef(r)) => r.is_none(),
        (WastRetCore::RefNull(Some(ht)), _) => match (ref_family(ht), got) {
            (Some(RefFamily::Func), Val::FuncRef(r)) => r.is_none(),
            (Some(RefFamily::Extern), Val::ExternRef(r)) => r.is_none(),
            (Some(RefFamily::Exn), Val::ExnRef(r)) => r.is_none(),
            (Some(RefFamily::Any), Val::AnyRef(r)) => r.is_none(),
            // A concrete type index may name a struct or array type.
            (Some(RefFamily::Func), Val::AnyRef(r)) => r.is_none(),
            (Some(_), _) => false,
            (None, _) => {
                return Err(format!(
                    "result pattern (ref.null {}) not supported",
                    heap_type_name(ht)
                ));
            }
        },
        (WastRetCore::RefExtern(None), Val::ExternRef(r)) => r.is_some(),
        (WastRetCore::RefExtern(None), Val::ExternAny(_)) => true,
        (WastRetCore::RefHost(n), Val::AnyRef(r)) => {
            r.and_then(AnyRef::host_id) == Some(u64::from(*n))
        }
        (WastRetCore::RefAny, Val::AnyRef(r)) => r.is_some(),
        (WastRetCore::RefEq, Val::AnyRef(r)) => r.is_some_and(|a| a.host_id().is_none()),
        (WastRetCore::RefI31, Val::AnyRef(r)) => r.is_some_and(|a| a.i31_signed().is_some()),
        (WastRetCore::RefStruct | WastRetCore::RefArray, Val::AnyRef(Some(a)))
            if a.is_gc_object() =>
        {
            // Telling a struct from an array needs the object's header, which the heap reads.
            return Err(format!(
                "result pattern {} not supported for GC objects",
                describe_core_ret(want)
            ));
        }
        (WastRetCore::RefExtern(Some(n)), Val::ExternRef(r)) => *r == Some(u64::from(*n)),
        // Function identity is not observable through the API: any non-null funcref matches.
        (WastRetCore::RefFunc(_), Val::FuncRef(r)) => r.is_some(),
        (WastRetCore::Either(options), _) => {
            let mut unsupported = None;
            for option in options {
                match match_ret(option, got) {
                    Ok(true) => return Ok(true),
                    Ok(false) => {}
                    Err(e) => unsupported = Some(e),
                }
            }
            match unsupported {
                Some(e) => return Err(e),
                None => false,
            }
        }
        (WastRetCore::RefI31Shared, _) => {
            return Err(format!(
                "result pattern {} not supported",
                describe_core_ret(want)
            ));
        }
        _ => false,
    })
}

/// Whether the bits of an f32 match a pattern (exact bits, `nan:canonical` or `nan:arithmetic`).
pub fn f32_matches(want: &NanPattern<F32>, bits: u32) -> bool {
    match want {
        NanPattern::Value(v) => v.bits == bits,
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => bits & 0x7fc0_0000 == 0x7fc0_0000,
    }
}

/// Whether the bits of an f64 match a pattern (exact bits, `nan:canonical` or `nan:arithmetic`).
pub fn f64_matches(want: &NanPattern<F64>, bits: u64) -> bool {
    match want {
        NanPattern::Value(v) => v.bits == bits,
        NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => bits & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
    }
}

/// Whether a vector matches a lane-wise pattern.
pub fn v128_matches(want: &V128Pattern, got: u128) -> bool {
    let bytes = got.to_le_bytes();
    let lane = |i: usize, size: usize| -> u64 {
        let mut buf = [0u8; 8];
        buf[..size].copy_from_slice(&bytes[i * size..(i + 1) * size]);
        u64::from_le_bytes(buf)
    };
    match want {
        V128Pattern::I8x16(l) => l
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 1) == u64::from(*v as u8)),
        V128Pattern::I16x8(l) => l
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 2) == u64::from(*v as u16)),
        V128Pattern::I32x4(l) => l
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 4) == u64::from(*v as u32)),
        V128Pattern::I64x2(l) => l.iter().enumerate().all(|(i, v)| lane(i, 8) == *v as u64),
        V128Pattern::F32x4(l) => l
            .iter()
            .enumerate()
            .all(|(i, p)| f32_matches(p, lane(i, 4) as u32)),
        V128Pattern::F64x2(l) => l
            .iter()
            .enumerate()
            .all(|(i, p)| f64_matches(p, lane(i, 8))),
    }
}

/// Whether a trap matches the message a script expects.
///
/// The expected text must be contained in the trap code's message (or the trap's own message), or start with
/// it (e.g. `uninitialized element 2`). `undefined element` also matches an out-of-bounds table access and the
/// spec's `null ... reference` wordings match a null-reference trap.
pub fn trap_matches(expected: &str, trap: &Trap) -> bool {
    trap_message_matches(expected, trap.code(), trap.message())
}

/// [`trap_matches`] on the parts of a trap: its code and its optional own message.
pub fn trap_message_matches(expected: &str, code: TrapCode, message: Option<&str>) -> bool {
    let matches_text =
        |msg: &str| !msg.is_empty() && (msg.contains(expected) || expected.starts_with(msg));
    if matches_text(code.message()) || message.is_some_and(matches_text) {
        return true;
    }
    match code {
        TrapCode::TableOutOfBounds => expected == "undefined element",
        TrapCode::NullReference => {
            expected.starts_with("null ") && expected.ends_with(" reference")
        }
        _ => false,
    }
}

/// A short description of a trap for failure messages.
pub fn describe_trap(trap: &Trap) -> String {
    match trap.message() {
        Some(msg) if msg != trap.code().message() => {
            format!("trap ({}: {msg})", trap.code().message())
        }
        _ => format!("trap ({})", trap.code().message()),
    }
}

/// A short description of a value for failure messages.
pub fn describe_val(v: &Val) -> String {
    match v {
        Val::I32(v) => format!("i32 {v}"),
        Val::I64(v) => format!("i64 {v}"),
        Val::F32(bits) => describe_f32(*bits),
        Val::F64(bits) => describe_f64(*bits),
        Val::V128(v) => format!("v128 0x{v:032x}"),
        Val::FuncRef(None) => "ref.null func".to_string(),
        Val::FuncRef(Some(_)) => "ref.func".to_string(),
        Val::ExternRef(None) => "ref.null extern".to_string(),
        Val::ExternRef(Some(n)) => format!("ref.extern {n}"),
        Val::ExternAny(a) => format!("ref.extern ({a:?})"),
        Val::AnyRef(None) => "ref.null any".to_string(),
        Val::AnyRef(Some(a)) => format!("{a:?}"),
        Val::ExnRef(None) => "ref.null exn".to_string(),
        Val::ExnRef(Some(_)) => "ref.exn".to_string(),
    }
}

fn describe_f32(bits: u32) -> String {
    let v = f32::from_bits(bits);
    if v.is_nan() {
        format!("f32 nan:0x{bits:08x}")
    } else {
        format!("f32 {v:?} (0x{bits:08x})")
    }
}

fn describe_f64(bits: u64) -> String {
    let v = f64::from_bits(bits);
    if v.is_nan() {
        format!("f64 nan:0x{bits:016x}")
    } else {
        format!("f64 {v:?} (0x{bits:016x})")
    }
}

/// A short description of an expected result for failure messages.
pub fn describe_ret(r: &WastRet<'_>) -> String {
    match r {
        WastRet::Core(core) => describe_core_ret(core),
        _ => "<component value>".to_string(),
    }
}

fn describe_nan<T>(p: &NanPattern<T>, ty: &str, value: impl Fn(&T) -> String) -> String {
    match p {
        NanPattern::CanonicalNan => format!("{ty} nan:canonical"),
        NanPattern::ArithmeticNan => format!("{ty} nan:arithmetic"),
        NanPattern::Value(v) => value(v),
    }
}

fn describe_core_ret(r: &WastRetCore<'_>) -> String {
    match r {
        WastRetCore::I32(v) => format!("i32 {v}"),
        WastRetCore::I64(v) => format!("i64 {v}"),
        WastRetCore::F32(p) => describe_nan(p, "f32", |v| describe_f32(v.bits)),
        WastRetCore::F64(p) => describe_nan(p, "f64", |v| describe_f64(v.bits)),
        WastRetCore::V128(p) => describe_v128_pattern(p),
        WastRetCore::RefNull(None) => "ref.null".to_string(),
        WastRetCore::RefNull(Some(ht)) => format!("ref.null {}", heap_type_name(ht)),
        WastRetCore::RefExtern(None) => "ref.extern".to_string(),
        WastRetCore::RefExtern(Some(n)) => format!("ref.extern {n}"),
        WastRetCore::RefHost(n) => format!("ref.host {n}"),
        WastRetCore::RefFunc(_) => "ref.func".to_string(),
        WastRetCore::RefAny => "ref.any".to_string(),
        WastRetCore::RefEq => "ref.eq".to_string(),
        WastRetCore::RefArray => "ref.array".to_string(),
        WastRetCore::RefStruct => "ref.struct".to_string(),
        WastRetCore::RefI31 => "ref.i31".to_string(),
        WastRetCore::RefI31Shared => "ref.i31_shared".to_string(),
        WastRetCore::Either(options) => {
            format!(
                "either({})",
                options
                    .iter()
                    .map(describe_core_ret)
                    .collect::<Vec<_>>()
                    .join(" | ")
            )
        }
    }
}

fn describe_v128_pattern(p: &V128Pattern) -> String {
    fn join<T>(lanes: &[T], f: impl Fn(&T) -> String) -> String {
        lanes.iter().map(f).collect::<Vec<_>>().join(" ")
    }
    match p {
        V128Pattern::I8x16(l) => format!("i8x16 {}", join(l, |v| v.to_string())),
        V128Pattern::I16x8(l) => format!("i16x8 {}", join(l, |v| v.to_string())),
        V128Pattern::I32x4(l) => format!("i32x4 {}", join(l, |v| v.to_string())),
        V128Pattern::I64x2(l) => format!("i64x2 {}", join(l, |v| v.to_string())),
        V128Pattern::F32x4(l) => format!(
            "f32x4 {}",
            join(l, |p| describe_nan(p, "", |v| format!(
                "{:?}",
                f32::from_bits(v.bits)
            ))
            .trim()
            .to_string())
        ),
        V128Pattern::F64x2(l) => format!(
            "f64x2 {}",
            join(l, |p| describe_nan(p, "", |v| format!(
                "{:?}",
                f64::from_bits(v.bits)
            ))
            .trim()
            .to_string())
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_patterns() {
        let canon: NanPattern<F32> = NanPattern::CanonicalNan;
        let arith: NanPattern<F32> = NanPattern::ArithmeticNan;
        assert!(f32_matches(&canon, 0x7fc0_0000));
        assert!(f32_matches(&canon, 0xffc0_0000));
        assert!(!f32_matches(&canon, 0x7fc0_0001));
        assert!(f32_matches(&arith, 0x7fc0_0001));
        assert!(!f32_matches(&arith, 0x7f80_0001));
        assert!(!f32_matches(&arith, 0x3f80_0000));
        let canon64: NanPattern<F64> = NanPattern::CanonicalNan;
        assert!(f64_matches(&canon64, 0xfff8_0000_0000_0000));
        assert!(!f64_matches(&canon64, 0x7ff8_0000_0000_0001));
        assert!(f64_matches(
            &NanPattern::ArithmeticNan,
            0x7ff8_0000_0000_0001
        ));
        assert!(f32_matches(
            &NanPattern::Value(F32 { bits: 0x7fa0_0000 }),
            0x7fa0_0000
        ));
    }

    #[test]
    fn trap_messages() {
        assert!(trap_message_matches(
            "out of bounds memory access",
            TrapCode::MemoryOutOfBounds,
            None
        ));
        assert!(trap_message_matches(
            "uninitialized element 2",
            TrapCode::IndirectCallToNull,
            None
        ));
        assert!(trap_message_matches(
            "undefined element",
            TrapCode::TableOutOfBounds,
            None
        ));
        assert!(trap_message_matches(
            "null function reference",
            TrapCode::NullReference,
            None
        ));
        assert!(trap_message_matches(
            "unreachable",
            TrapCode::UnreachableCodeReached,
            None
        ));
        assert!(trap_message_matches(
            "boom",
            TrapCode::HostError,
            Some("host said boom")
        ));
        assert!(!trap_message_matches(
            "integer overflow",
            TrapCode::IntegerDivisionByZero,
            None
        ));
        assert!(!trap_message_matches(
            "undefined element",
            TrapCode::IndirectCallToNull,
            None
        ));
    }

    #[test]
    fn vector_lanes_are_little_endian() {
        let v = u128::from_le_bytes([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert!(v128_matches(&V128Pattern::I32x4([1, 2, 3, -1]), v));
        assert!(!v128_matches(&V128Pattern::I32x4([1, 2, 3, 4]), v));
        assert!(v128_matches(
            &V128Pattern::I64x2([0x2_0000_0001, -0x1_0000_0000 + 3]),
            v
        ));
    }
}
