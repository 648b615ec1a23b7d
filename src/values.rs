//! Typed values, call results and traps.

use crate::exn::Exn;
use crate::externals::Func;
use std::fmt;
use wasmz_environ::{TrapCode, ValType};
use wasmz_runtime::{FrameInfo, RawVal, ThrownException, TrapInfo};

/// A typed wasm value.
#[derive(Clone, Debug)]
pub enum Val {
    /// An i32.
    I32(i32),
    /// An i64.
    I64(i64),
    /// An f32, as its bits (so NaN payloads survive).
    F32(u32),
    /// An f64, as its bits.
    F64(u64),
    /// A v128.
    V128(u128),
    /// A function reference (`None` is null).
    FuncRef(Option<Func>),
    /// An external reference: an opaque host value (`None` is null). `u64::MAX` is reserved.
    ExternRef(Option<u64>),
    /// An exception reference (`None` is null).
    ExnRef(Option<Exn>),
}

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
            Val::ExnRef(_) => ValType::Ref(wasmz_environ::RefType {
                nullable: true,
                heap: wasmz_environ::HeapType::Exn,
            }),
        }
    }

    /// The untyped representation.
    pub(crate) fn to_raw(&self) -> RawVal {
        match self {
            Val::I32(v) => RawVal::from(*v),
            Val::I64(v) => RawVal::from(*v),
            Val::F32(b) => RawVal::from(*b),
            Val::F64(b) => RawVal::from(*b),
            Val::V128(b) => RawVal::from(*b),
            Val::FuncRef(f) => RawVal::from_u64(f.as_ref().map_or(0, |f| f.raw() as u64)),
            Val::ExternRef(e) => RawVal::from_u64(e.map_or(0, |id| id.wrapping_add(1))),
            Val::ExnRef(e) => RawVal::from_u64(e.as_ref().map_or(0, Exn::raw)),
        }
    }

    /// Reads a raw value of type `ty`; funcrefs become handles of `store`.
    pub(crate) fn from_raw(
        store: &std::rc::Rc<crate::store::StoreCell>,
        raw: RawVal,
        ty: ValType,
    ) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw.read_as()),
            ValType::I64 => Val::I64(raw.read_as()),
            ValType::F32 => Val::F32(raw.read_as()),
            ValType::F64 => Val::F64(raw.read_as()),
            ValType::V128 => Val::V128(raw.read_as()),
            ValType::FuncRef => Val::FuncRef(Func::from_raw(store, raw.low64())),
            ValType::ExternRef => Val::ExternRef(raw.low64().checked_sub(1)),
            ValType::Ref(r) if r.is_func() => Val::FuncRef(Func::from_raw(store, raw.low64())),
            ValType::Ref(r) if r.is_exn() => Val::ExnRef(Exn::from_raw(store, raw.low64())),
            ValType::Ref(_) => Val::ExternRef(raw.low64().checked_sub(1)),
        }
    }

    /// Whether this value can be passed where `ty` is expected: equal types, or a reference that fits
    /// the reference type `ty` (null only where `ty` is nullable).
    pub fn matches(&self, ty: ValType) -> bool {
        if self.ty() == ty {
            return true;
        }
        let Some(r) = ty.ref_type() else { return false };
        match self {
            Val::FuncRef(None) => r.nullable && r.is_func(),
            Val::ExternRef(None) => r.nullable && !r.is_func() && !r.is_exn(),
            Val::ExnRef(None) => r.nullable && r.is_exn(),
            Val::ExnRef(Some(_)) => r.heap == wasmz_environ::HeapType::Exn,
            Val::FuncRef(Some(_)) => matches!(
                r.heap,
                wasmz_environ::HeapType::Func | wasmz_environ::HeapType::Concrete(_)
            ),
            Val::ExternRef(Some(_)) => r.heap == wasmz_environ::HeapType::Extern,
            _ => false,
        }
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}
impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v.to_bits())
    }
}

/// A trap: why a wasm execution stopped abnormally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    code: TrapCode,
    message: Option<String>,
    exit_code: Option<i32>,
    backtrace: Vec<FrameInfo>,
    exception: Option<Box<ThrownException>>,
}

impl Trap {
    pub(crate) fn from_info(info: TrapInfo) -> Trap {
        Trap {
            code: info.code,
            message: info.message,
            exit_code: info.exit_code,
            backtrace: info.backtrace,
            exception: info.exception,
        }
    }

    /// The exit status, when the run ended through [`crate::HostError::exit`] (WASI `proc_exit`).
    pub fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    /// The trap code.
    pub fn code(&self) -> TrapCode {
        self.code
    }

    /// The host's message, when a host function raised the trap.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The exception, when an exception thrown by wasm code reached the host
    /// ([`TrapCode::UnhandledException`]): its tag's type and its values (compare its tag with
    /// [`crate::Tag::is_tag_of`]).
    pub fn exception(&self) -> Option<&ThrownException> {
        self.exception.as_deref()
    }

    /// The wasm frames active at the trap, innermost first.
    pub fn backtrace(&self) -> &[FrameInfo] {
        &self.backtrace
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wasm trap: {}", self.code)?;
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        for (i, frame) in self.backtrace.iter().enumerate() {
            write!(f, "\n  {i}: func[{}]", frame.func_index)?;
            if let Some(name) = &frame.func_name {
                write!(f, " <{name}>")?;
            }
            write!(f, " @ {:#x}", frame.code_offset)?;
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}

/// The outcome of a call: its results, or the trap that ended it.
#[derive(Debug, Clone)]
pub enum ExecResult {
    /// The call returned these results (all of them, for multi-value functions).
    Ok(Vec<RawVal>),
    /// The call trapped.
    Trap(Trap),
    /// A host function ended the run with this exit status ([`crate::HostError::exit`], e.g. WASI
    /// `proc_exit`). Not a trap.
    Exit(i32),
}

impl ExecResult {
    /// Whether the call returned normally.
    pub fn is_ok(&self) -> bool {
        matches!(self, ExecResult::Ok(_))
    }

    /// The results, if the call returned.
    pub fn values(&self) -> Option<&[RawVal]> {
        match self {
            ExecResult::Ok(v) => Some(v),
            ExecResult::Trap(_) | ExecResult::Exit(_) => None,
        }
    }

    /// The trap, if the call trapped.
    pub fn trap(&self) -> Option<&Trap> {
        match self {
            ExecResult::Ok(_) | ExecResult::Exit(_) => None,
            ExecResult::Trap(t) => Some(t),
        }
    }

    /// The exit status, if a host function ended the run ([`ExecResult::Exit`]).
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            ExecResult::Exit(code) => Some(*code),
            _ => None,
        }
    }

    /// Converts into a `Result`.
    ///
    /// # Errors
    /// The trap, if the call trapped or exited (an exit's trap carries [`Trap::exit_code`]).
    pub fn into_result(self) -> Result<Vec<RawVal>, Trap> {
        match self {
            ExecResult::Ok(v) => Ok(v),
            ExecResult::Trap(t) => Err(t),
            ExecResult::Exit(code) => Err(Trap {
                code: TrapCode::HostError,
                message: Some(format!("exit with status {code}")),
                exit_code: Some(code),
                backtrace: Vec::new(),
                exception: None,
            }),
        }
    }
}
