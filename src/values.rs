//! Typed values, call results and traps.

use crate::exn::Exn;
use crate::externals::Func;
use std::fmt;
use std::num::NonZeroU64;
use std::rc::Rc;
use wasmz_environ::{CompositeKind, HeapType, TrapCode, TypeRegistry, ValType, refs};
use wasmz_runtime::{RawVal, TrapInfo};

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
    /// An external reference: an opaque host value (`None` is null). Ids up to
    /// [`wasmz_environ::refs::MAX_HOST_ID`] (2^62 - 1) survive; higher bits are lost.
    ExternRef(Option<u64>),
    /// An external reference that holds an internal value rather than a host value: what
    /// `extern.convert_any` makes of an i31 reference or a GC object.
    ExternAny(AnyRef),
    /// A reference of the `any` hierarchy (`anyref`, `eqref`, `i31ref`, struct and array references;
    /// `None` is null).
    AnyRef(Option<AnyRef>),
    /// An exception reference (`None` is null).
    ExnRef(Option<Exn>),
}

/// A non-null reference of the `any` hierarchy: an i31 value, a host value (from
/// `any.convert_extern`), or a GC object (a struct or an array). It wraps the tagged word compiled code
/// uses (see [`wasmz_environ::refs`]).
///
/// # Keeping GC objects alive
/// An `AnyRef` to a GC object roots it: the object survives every collection for as long as the
/// `AnyRef` (or a clone of it) exists, and dropping the last one lets the collector free it. The
/// references wasm code holds (its locals and operands), globals and tables are roots of their own.
/// An object belongs to the store that made it: other stores refuse it with [`crate::Error::WrongStore`].
#[derive(Clone)]
pub struct AnyRef {
    word: NonZeroU64,
    /// For a GC object: its entry in the store's root table, its kind and its canonical type id.
    object: Option<(Rc<wasmz_runtime::GcRoot>, CompositeKind, u32)>,
}

impl PartialEq for AnyRef {
    fn eq(&self, other: &AnyRef) -> bool {
        self.word == other.word
    }
}

impl Eq for AnyRef {}

impl std::hash::Hash for AnyRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.word.hash(state);
    }
}

impl AnyRef {
    /// The i31 reference of the low 31 bits of `v` (the top bit is dropped).
    pub fn i31(v: i32) -> AnyRef {
        AnyRef::unboxed(refs::i31_word(v as u32)).expect("an i31 word is never zero")
    }

    /// The host value `id` seen as an internal reference, as `any.convert_extern` makes it. Ids up to
    /// [`wasmz_environ::refs::MAX_HOST_ID`] survive; higher bits are lost.
    pub fn host(id: u64) -> AnyRef {
        AnyRef::unboxed(refs::host_word(id)).expect("a host word is never zero")
    }

    /// Whether this reference may be used in the store `store`: an i31 or host value anywhere, a GC
    /// object only in the store whose heap holds it.
    pub(crate) fn belongs_to(&self, store: &wasmz_runtime::StoreInner) -> bool {
        self.object
            .as_ref()
            .is_none_or(|(root, _, _)| root.belongs_to(store))
    }

    /// The value, sign-extended from 31 bits, if this is an i31 reference.
    pub fn i31_signed(&self) -> Option<i32> {
        refs::is_i31(self.word.get()).then(|| refs::i31_signed(self.word.get()))
    }

    /// The value, zero-extended from 31 bits, if this is an i31 reference.
    pub fn i31_unsigned(&self) -> Option<u32> {
        refs::is_i31(self.word.get()).then(|| refs::i31_unsigned(self.word.get()))
    }

    /// The host id, if this is a host value.
    pub fn host_id(&self) -> Option<u64> {
        refs::is_host(self.word.get()).then(|| refs::host_id(self.word.get()))
    }

    /// Whether this is a GC heap object (a struct or an array).
    pub fn is_gc_object(&self) -> bool {
        refs::is_object(self.word.get())
    }

    /// Whether this is a struct.
    pub fn is_struct(&self) -> bool {
        matches!(self.object, Some((_, CompositeKind::Struct, _)))
    }

    /// Whether this is an array.
    pub fn is_array(&self) -> bool {
        matches!(self.object, Some((_, CompositeKind::Array, _)))
    }

    /// The engine-wide canonical type id of a GC object.
    pub(crate) fn type_id(&self) -> Option<u32> {
        self.object.as_ref().map(|(_, _, id)| *id)
    }

    /// The tagged word.
    pub fn to_word(&self) -> u64 {
        self.word.get()
    }

    /// The reference of a tagged word that is not a GC object (i31 or host); `None` for null.
    fn unboxed(word: u64) -> Option<AnyRef> {
        debug_assert!(!refs::is_object(word));
        NonZeroU64::new(word).map(|word| AnyRef { word, object: None })
    }

    /// The reference of a tagged word compiled code of `store` produced; `None` for null. A GC object
    /// is rooted in `store` (the word must refer to a live object, which it does until the next
    /// collection).
    pub(crate) fn from_word(store: &crate::store::StoreCell, word: u64) -> Option<AnyRef> {
        let nz = NonZeroU64::new(word)?;
        if !refs::is_object(word) {
            return AnyRef::unboxed(word);
        }
        // SAFETY: the word is the address of a live GC object of the store (the caller's contract),
        // whose first four bytes are its canonical type id.
        let type_id = unsafe { (word as *const u32).read() };
        let kind = store
            .engine
            .inner
            .types
            .kind(type_id)
            .unwrap_or(CompositeKind::Struct);
        let root = store.get().root(word);
        Some(AnyRef {
            word: nz,
            object: Some((Rc::new(root), kind, type_id)),
        })
    }
}

impl fmt::Debug for AnyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v) = self.i31_signed() {
            write!(f, "AnyRef::i31({v})")
        } else if let Some(id) = self.host_id() {
            write!(f, "AnyRef::host({id})")
        } else {
            write!(f, "AnyRef(object {:#x})", self.word.get())
        }
    }
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
            Val::ExternRef(_) | Val::ExternAny(_) => ValType::ExternRef,
            Val::AnyRef(_) => ValType::Ref(wasmz_environ::RefType {
                nullable: true,
                heap: HeapType::Any,
            }),
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
            Val::ExternRef(e) => RawVal::from_u64(e.map_or(0, refs::host_word)),
            Val::ExternAny(a) => RawVal::from_u64(a.to_word()),
            Val::AnyRef(a) => RawVal::from_u64(a.as_ref().map_or(0, AnyRef::to_word)),
            Val::ExnRef(e) => RawVal::from_u64(e.as_ref().map_or(0, Exn::raw)),
        }
    }

    /// Reads a raw value of type `ty` (concrete types name canonical ids); funcrefs become handles of
    /// `store`.
    pub(crate) fn from_raw(
        store: &std::rc::Rc<crate::store::StoreCell>,
        raw: RawVal,
        ty: ValType,
    ) -> Val {
        let word = raw.low64();
        match ty {
            ValType::I32 => Val::I32(raw.read_as()),
            ValType::I64 => Val::I64(raw.read_as()),
            ValType::F32 => Val::F32(raw.read_as()),
            ValType::F64 => Val::F64(raw.read_as()),
            ValType::V128 => Val::V128(raw.read_as()),
            ValType::FuncRef => Val::FuncRef(Func::from_raw(store, word)),
            ValType::ExternRef => extern_from_word(store, word),
            ValType::Ref(r) => match hierarchy(&store.engine.inner.types, r.heap) {
                Hierarchy::Func => Val::FuncRef(Func::from_raw(store, word)),
                Hierarchy::Exn => Val::ExnRef(Exn::from_raw(store, word)),
                Hierarchy::Extern => extern_from_word(store, word),
                Hierarchy::Any => Val::AnyRef(AnyRef::from_word(store, word)),
            },
        }
    }

    /// The zero value of `ty`: 0 for numbers, null for references (of `ty`'s hierarchy; concrete
    /// types name canonical ids of `types`).
    pub(crate) fn zero(ty: ValType, types: &TypeRegistry) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::FuncRef => Val::FuncRef(None),
            ValType::ExternRef => Val::ExternRef(None),
            ValType::Ref(r) => match hierarchy(types, r.heap) {
                Hierarchy::Func => Val::FuncRef(None),
                Hierarchy::Extern => Val::ExternRef(None),
                Hierarchy::Any => Val::AnyRef(None),
                Hierarchy::Exn => Val::ExnRef(None),
            },
        }
    }

    /// The hierarchy of a null reference; `None` for every other value.
    fn null_hierarchy(&self) -> Option<Hierarchy> {
        match self {
            Val::FuncRef(None) => Some(Hierarchy::Func),
            Val::ExternRef(None) => Some(Hierarchy::Extern),
            Val::AnyRef(None) => Some(Hierarchy::Any),
            Val::ExnRef(None) => Some(Hierarchy::Exn),
            _ => None,
        }
    }

    /// Whether this value can be passed where `ty` is expected: equal types, or a reference that fits
    /// the reference type `ty` (null only where `ty` is nullable). A concrete type counts as a
    /// function type here; GC objects fit only `anyref` and `eqref`.
    pub fn matches(&self, ty: ValType) -> bool {
        if self.ty() == ty {
            return true;
        }
        let Some(r) = ty.ref_type() else { return false };
        let any = r.is_abstract_any();
        match self {
            Val::FuncRef(None) => r.nullable && r.is_func(),
            Val::ExternRef(None) => {
                r.nullable && matches!(r.heap, HeapType::Extern | HeapType::NoExtern)
            }
            Val::AnyRef(None) => r.nullable && any,
            Val::ExnRef(None) => r.nullable && r.is_exn(),
            Val::ExnRef(Some(_)) => r.heap == HeapType::Exn,
            Val::FuncRef(Some(_)) => matches!(r.heap, HeapType::Func | HeapType::Concrete(_)),
            Val::ExternRef(Some(_)) | Val::ExternAny(_) => r.heap == HeapType::Extern,
            Val::AnyRef(Some(a)) => match r.heap {
                HeapType::Any => true,
                HeapType::Eq => a.host_id().is_none(),
                HeapType::Struct => a.is_struct(),
                HeapType::Array => a.is_array(),
                HeapType::I31 => a.i31_signed().is_some(),
                _ => false,
            },
            _ => false,
        }
    }

    /// [`Val::matches`] with the definitions of concrete types (canonical ids) known: a function
    /// reference must be of a subtype of a concrete type's function type, a GC object of a subtype of a
    /// concrete struct or array type.
    pub(crate) fn matches_canonical(&self, ty: ValType, types: &TypeRegistry) -> bool {
        // A null fits every nullable type of its own hierarchy, concrete types included, and no other.
        if let (Some(null), Some(r)) = (self.null_hierarchy(), ty.ref_type()) {
            return r.nullable && hierarchy(types, r.heap) == null;
        }
        if let (Val::FuncRef(Some(f)), Some(r)) = (self, ty.ref_type())
            && let HeapType::Concrete(id) = r.heap
        {
            return f
                .type_id()
                .is_some_and(|actual| types.is_subtype(actual, id));
        }
        if let (Val::AnyRef(Some(a)), Some(r)) = (self, ty.ref_type())
            && let HeapType::Concrete(id) = r.heap
        {
            return a
                .type_id()
                .is_some_and(|actual| types.is_subtype(actual, id));
        }
        self.matches(ty)
    }
}

/// The reference hierarchy a heap type belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hierarchy {
    Func,
    Extern,
    Any,
    Exn,
}

/// The hierarchy of `heap` (concrete types name canonical ids of `types`).
fn hierarchy(types: &TypeRegistry, heap: HeapType) -> Hierarchy {
    match heap {
        HeapType::Func | HeapType::NoFunc => Hierarchy::Func,
        HeapType::Extern | HeapType::NoExtern => Hierarchy::Extern,
        HeapType::Exn | HeapType::NoExn => Hierarchy::Exn,
        HeapType::Any
        | HeapType::Eq
        | HeapType::I31
        | HeapType::Struct
        | HeapType::Array
        | HeapType::None => Hierarchy::Any,
        HeapType::Concrete(id) => match types.kind(id) {
            Some(CompositeKind::Struct | CompositeKind::Array) => Hierarchy::Any,
            Some(CompositeKind::Func) | None => Hierarchy::Func,
        },
    }
}

/// The externref value of a tagged word.
fn extern_from_word(store: &crate::store::StoreCell, word: u64) -> Val {
    if word == 0 {
        Val::ExternRef(None)
    } else if refs::is_host(word) {
        Val::ExternRef(Some(refs::host_id(word)))
    } else {
        Val::ExternAny(AnyRef::from_word(store, word).expect("a non-zero word"))
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

/// The exception an [`TrapCode::UnhandledException`] trap carries: its tag's type and its values
/// (compare its tag with [`crate::Tag::is_tag_of`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrownException {
    /// The tag's type: the parameters are the values' types.
    pub ty: wasmz_environ::FuncType,
    /// The values' bits (read one with `RawVal::from_bits(bits).read_as::<T>()`).
    pub values: Vec<u128>,
    /// The tag's identity.
    tag: usize,
}

impl ThrownException {
    /// The identity of the exception's tag.
    pub(crate) fn tag_identity(&self) -> usize {
        self.tag
    }
}

/// One frame of a trap's wasm backtrace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    /// Index of the function in its module's function index space.
    pub func_index: u32,
    /// The function's name from the module's name section, demangled when it is a mangled Rust (v0
    /// or legacy) or C++ (Itanium) symbol.
    pub func_name: Option<String>,
    /// Byte offset in the wasm module of the operator executing in this frame: the one that trapped
    /// in the innermost frame, the call in the others. `None` where no operator is known (code of
    /// the function's prologue).
    pub module_offset: Option<u32>,
    /// Offset of the instruction inside the function's machine code.
    pub code_offset: u32,
}

impl FrameInfo {
    fn from_runtime(frame: wasmz_runtime::FrameInfo) -> FrameInfo {
        FrameInfo {
            func_index: frame.func_index,
            func_name: frame.func_name.map(|name| demangle(&name)),
            module_offset: frame.module_offset,
            code_offset: frame.code_offset,
        }
    }
}

/// `name` demangled if it is a Rust or C++ symbol, else unchanged.
fn demangle(name: &str) -> String {
    if let Ok(rust) = rustc_demangle::try_demangle(name) {
        // `{:#}` leaves out the hash of legacy symbols.
        return format!("{rust:#}");
    }
    if name.starts_with("_Z")
        && let Ok(symbol) = cpp_demangle::Symbol::new(name)
        && let Ok(text) = symbol.demangle(&cpp_demangle::DemangleOptions::default())
    {
        return text;
    }
    name.to_string()
}

/// A trap: why a wasm execution stopped abnormally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    code: TrapCode,
    message: Option<String>,
    exit_code: Option<i32>,
    backtrace: Vec<FrameInfo>,
    frames_elided: usize,
    exception: Option<Box<ThrownException>>,
}

impl Trap {
    pub(crate) fn from_info(info: TrapInfo) -> Trap {
        Trap {
            code: info.code,
            message: info.message,
            exit_code: info.exit_code,
            backtrace: info
                .backtrace
                .into_iter()
                .map(FrameInfo::from_runtime)
                .collect(),
            frames_elided: info.frames_elided,
            exception: info.exception.map(|e| {
                Box::new(ThrownException {
                    ty: e.ty,
                    values: e.values,
                    tag: e.tag,
                })
            }),
        }
    }

    /// How many frames a very deep backtrace left out of its middle: [`Trap::backtrace`] holds its
    /// innermost and outermost frames, and these were between them.
    pub fn frames_elided(&self) -> usize {
        self.frames_elided
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

    /// The wasm frames active at the trap, innermost first (all of them, unless
    /// [`Trap::frames_elided`] says some were left out of the middle).
    pub fn backtrace(&self) -> &[FrameInfo] {
        &self.backtrace
    }
}

impl fmt::Display for Trap {
    /// The trap code and message, then one line per frame: its number, the wasm module offset, the
    /// function's (demangled) name or index.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wasm trap: {}", self.code)?;
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        if self.backtrace.is_empty() {
            return Ok(());
        }
        f.write_str("\nwasm backtrace:")?;
        let head = self.backtrace.len() / 2;
        for (i, frame) in self.backtrace.iter().enumerate() {
            if self.frames_elided > 0 && i == head {
                write!(f, "\n      ... {} frames elided ...", self.frames_elided)?;
            }
            let number = if self.frames_elided > 0 && i >= head {
                i + self.frames_elided
            } else {
                i
            };
            match frame.module_offset {
                Some(offset) => write!(f, "\n  {number:>4}: {offset:>#8x} - ")?,
                None => write!(f, "\n  {number:>4}: {:>8} - ", "?")?,
            }
            match &frame.func_name {
                Some(name) => write!(f, "{name} (func[{}])", frame.func_index)?,
                None => write!(f, "func[{}]", frame.func_index)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}

/// The outcome of a call: its results, or the trap or exit that ended it. `T` is the results'
/// representation: raw words for [`crate::Instance::call`] (the default), typed values for
/// [`crate::Instance::call_vals`] — the same shape either way.
#[derive(Debug, Clone)]
pub enum ExecResult<T = Vec<RawVal>> {
    /// The call returned these results (all of them, for multi-value functions).
    Ok(T),
    /// The call trapped.
    Trap(Trap),
    /// A host function ended the run with this exit status ([`crate::HostError::exit`], e.g. WASI
    /// `proc_exit`). Not a trap.
    Exit(i32),
}

impl<T> ExecResult<T> {
    /// Whether the call returned normally.
    pub fn is_ok(&self) -> bool {
        matches!(self, ExecResult::Ok(_))
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
    pub fn into_result(self) -> Result<T, Trap> {
        match self {
            ExecResult::Ok(v) => Ok(v),
            ExecResult::Trap(t) => Err(t),
            ExecResult::Exit(code) => Err(Trap {
                code: TrapCode::HostError,
                message: Some(format!("exit with status {code}")),
                exit_code: Some(code),
                backtrace: Vec::new(),
                frames_elided: 0,
                exception: None,
            }),
        }
    }

    /// The outcome of a call that returned `result` (a trap carrying an exit status is an exit).
    pub(crate) fn from_outcome(result: Result<T, Trap>) -> ExecResult<T> {
        match result {
            Ok(values) => ExecResult::Ok(values),
            Err(trap) => match trap.exit_code() {
                Some(code) => ExecResult::Exit(code),
                None => ExecResult::Trap(trap),
            },
        }
    }
}

impl<V> ExecResult<Vec<V>> {
    /// The results, if the call returned.
    pub fn values(&self) -> Option<&[V]> {
        match self {
            ExecResult::Ok(v) => Some(v),
            ExecResult::Trap(_) | ExecResult::Exit(_) => None,
        }
    }
}
