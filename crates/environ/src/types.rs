//! Value, function, table, memory and global types as wasmz sees them.

use core::fmt;
use serde::{Deserialize, Serialize};

/// The type of a wasm value.
///
/// The two nullable abstract reference types of WebAssembly 2.0 have their own variants,
/// [`ValType::FuncRef`] and [`ValType::ExternRef`]; every other reference type (non-null, typed, bottom)
/// is a [`ValType::Ref`]. [`ValType::from_ref`] keeps this normal form, so `==` compares types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
    /// 128-bit vector.
    V128,
    /// A nullable reference to any function: `(ref null func)`.
    FuncRef,
    /// A nullable reference to a host value: `(ref null extern)`.
    ExternRef,
    /// Any other reference type.
    Ref(RefType),
}

/// What a reference may point to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HeapType {
    /// Any function.
    Func,
    /// Any host value.
    Extern,
    /// No function (the bottom of the function hierarchy: only null).
    NoFunc,
    /// No host value (only null).
    NoExtern,
    /// Any exception (exception handling's `exnref` is `(ref null exn)`).
    Exn,
    /// No exception (only null).
    NoExn,
    /// Any internal (GC) reference: the top of the `any` hierarchy (`anyref` is `(ref null any)`).
    Any,
    /// References that `ref.eq` compares: i31 values, structs and arrays.
    Eq,
    /// Unboxed 31-bit integers.
    I31,
    /// Any struct.
    Struct,
    /// Any array.
    Array,
    /// No internal reference (the bottom of the `any` hierarchy: only null).
    None,
    /// A function, struct or array of the given type: a type index in a module, or an engine-wide canonical type id once
    /// canonicalized (see [`ValType::canonicalize`]).
    Concrete(u32),
}

/// A reference type: nullability and heap type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RefType {
    /// Whether null is a value of the type.
    pub nullable: bool,
    /// What the reference points to.
    pub heap: HeapType,
}

impl RefType {
    /// Whether the heap type belongs to the exception hierarchy.
    pub fn is_exn(self) -> bool {
        matches!(self.heap, HeapType::Exn | HeapType::NoExn)
    }

    /// Whether the heap type is an abstract type of the `any` hierarchy (concrete struct and array
    /// types belong to it too, which only the type's definition tells).
    pub fn is_abstract_any(self) -> bool {
        matches!(
            self.heap,
            HeapType::Any
                | HeapType::Eq
                | HeapType::I31
                | HeapType::Struct
                | HeapType::Array
                | HeapType::None
        )
    }

    /// Whether the heap type belongs to the function hierarchy. A concrete type counts as a function
    /// type here; whether it really is one (rather than a struct or array type) only its definition
    /// tells.
    pub fn is_func(self) -> bool {
        matches!(
            self.heap,
            HeapType::Func | HeapType::NoFunc | HeapType::Concrete(_)
        )
    }
}

impl ValType {
    /// The value type of reference type `r`, in normal form.
    pub fn from_ref(r: RefType) -> ValType {
        match r {
            RefType {
                nullable: true,
                heap: HeapType::Func,
            } => ValType::FuncRef,
            RefType {
                nullable: true,
                heap: HeapType::Extern,
            } => ValType::ExternRef,
            other => ValType::Ref(other),
        }
    }

    /// The reference type, if this is one.
    pub fn ref_type(self) -> Option<RefType> {
        match self {
            ValType::FuncRef => Some(RefType {
                nullable: true,
                heap: HeapType::Func,
            }),
            ValType::ExternRef => Some(RefType {
                nullable: true,
                heap: HeapType::Extern,
            }),
            ValType::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// Whether this is a reference type.
    pub fn is_ref(self) -> bool {
        self.ref_type().is_some()
    }

    /// Whether this is a reference into the function hierarchy.
    pub fn is_func_ref(self) -> bool {
        self.ref_type().is_some_and(RefType::is_func)
    }

    /// Replaces module type indices in concrete reference types by `type_ids[index]` (engine-wide ids).
    pub fn canonicalize(self, type_ids: &[u32]) -> ValType {
        self.map_type_index(|i| type_ids.get(i as usize).copied().unwrap_or(i))
    }

    /// Replaces the type index `i` of a concrete reference type by `f(i)`; other types are unchanged.
    pub fn map_type_index(self, f: impl FnOnce(u32) -> u32) -> ValType {
        match self {
            ValType::Ref(RefType {
                nullable,
                heap: HeapType::Concrete(i),
            }) => ValType::Ref(RefType {
                nullable,
                heap: HeapType::Concrete(f(i)),
            }),
            other => other,
        }
    }

    /// Whether a value of type `self` is also a value of type `other` (both canonicalized, or both in
    /// the same module's index space), without knowing the definitions of concrete types: only equal
    /// concrete types and the function-hierarchy rules are recognized. Use
    /// [`crate::TypeRegistry::val_subtype`] for the full GC subtyping rules.
    pub fn is_subtype_of(self, other: ValType) -> bool {
        if self == other {
            return true;
        }
        let (Some(a), Some(b)) = (self.ref_type(), other.ref_type()) else {
            return false;
        };
        if a.nullable && !b.nullable {
            return false;
        }
        match (a.heap, b.heap) {
            (x, y) if x == y => true,
            (HeapType::NoFunc, HeapType::Func | HeapType::Concrete(_)) => true,
            (HeapType::Concrete(_), HeapType::Func) => true,
            (HeapType::NoExtern, HeapType::Extern) => true,
            (HeapType::NoExn, HeapType::Exn) => true,
            (HeapType::None, HeapType::Any | HeapType::Eq | HeapType::I31) => true,
            (HeapType::None, HeapType::Struct | HeapType::Array) => true,
            (HeapType::I31 | HeapType::Struct | HeapType::Array | HeapType::Eq, HeapType::Any) => {
                true
            }
            (HeapType::I31 | HeapType::Struct | HeapType::Array, HeapType::Eq) => true,
            _ => false,
        }
    }

    /// Converts a wasmparser value type; `None` for types wasmz does not support yet.
    pub fn from_wasmparser(ty: wasmparser::ValType) -> Option<ValType> {
        Some(match ty {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            wasmparser::ValType::V128 => ValType::V128,
            wasmparser::ValType::Ref(r) => ValType::from_ref_type(r)?,
        })
    }

    /// Converts a wasmparser reference type; `None` for types wasmz does not support yet.
    pub fn from_ref_type(r: wasmparser::RefType) -> Option<ValType> {
        use wasmparser::AbstractHeapType as A;
        let heap = match r.heap_type() {
            wasmparser::HeapType::Abstract { shared: false, ty } => match ty {
                A::Func => HeapType::Func,
                A::Extern => HeapType::Extern,
                A::NoFunc => HeapType::NoFunc,
                A::NoExtern => HeapType::NoExtern,
                A::Exn => HeapType::Exn,
                A::NoExn => HeapType::NoExn,
                A::Any => HeapType::Any,
                A::Eq => HeapType::Eq,
                A::I31 => HeapType::I31,
                A::Struct => HeapType::Struct,
                A::Array => HeapType::Array,
                A::None => HeapType::None,
                _ => return None,
            },
            wasmparser::HeapType::Concrete(idx) | wasmparser::HeapType::Exact(idx) => {
                HeapType::Concrete(idx.as_module_index()?)
            }
            _ => return None,
        };
        Some(ValType::from_ref(RefType {
            nullable: r.is_nullable(),
            heap,
        }))
    }
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeapType::Func => f.write_str("func"),
            HeapType::Extern => f.write_str("extern"),
            HeapType::NoFunc => f.write_str("nofunc"),
            HeapType::NoExtern => f.write_str("noextern"),
            HeapType::Exn => f.write_str("exn"),
            HeapType::NoExn => f.write_str("noexn"),
            HeapType::Any => f.write_str("any"),
            HeapType::Eq => f.write_str("eq"),
            HeapType::I31 => f.write_str("i31"),
            HeapType::Struct => f.write_str("struct"),
            HeapType::Array => f.write_str("array"),
            HeapType::None => f.write_str("none"),
            HeapType::Concrete(i) => write!(f, "{i}"),
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValType::I32 => f.write_str("i32"),
            ValType::I64 => f.write_str("i64"),
            ValType::F32 => f.write_str("f32"),
            ValType::F64 => f.write_str("f64"),
            ValType::V128 => f.write_str("v128"),
            ValType::FuncRef => f.write_str("funcref"),
            ValType::ExternRef => f.write_str("externref"),
            ValType::Ref(r) if r.nullable => write!(f, "(ref null {})", r.heap),
            ValType::Ref(r) => write!(f, "(ref {})", r.heap),
        }
    }
}

/// A function signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct FuncType {
    /// Parameter types.
    pub params: Box<[ValType]>,
    /// Result types.
    pub results: Box<[ValType]>,
}

impl FuncType {
    /// Builds a signature from parameter and result lists.
    pub fn new(params: impl Into<Box<[ValType]>>, results: impl Into<Box<[ValType]>>) -> FuncType {
        FuncType {
            params: params.into(),
            results: results.into(),
        }
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(func")?;
        for (word, list) in [("param", &self.params), ("result", &self.results)] {
            if !list.is_empty() {
                write!(f, " ({word}")?;
                for t in list.iter() {
                    write!(f, " {t}")?;
                }
                f.write_str(")")?;
            }
        }
        f.write_str(")")
    }
}

/// Size limits of a memory (in pages) or table (in elements).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Limits {
    /// Initial size.
    pub min: u64,
    /// Maximum size, if any.
    pub max: Option<u64>,
}

impl Limits {
    /// Whether limits `self` (of an export) satisfy limits `wanted` (of an import).
    pub fn matches(&self, wanted: &Limits) -> bool {
        self.min >= wanted.min
            && match (self.max, wanted.max) {
                (_, None) => true,
                (Some(have), Some(want)) => have <= want,
                (None, Some(_)) => false,
            }
    }
}

/// The type of a linear memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemoryType {
    /// Size limits in pages.
    pub limits: Limits,
    /// Whether the memory is indexed by i64.
    pub memory64: bool,
    /// Whether the memory is shared between threads.
    pub shared: bool,
    /// Log2 of the page size (16 for the default 64 KiB pages).
    pub page_size_log2: u8,
}

impl MemoryType {
    /// The wasm page size in bytes for the default page size.
    pub const PAGE_SIZE: u64 = 65536;

    /// A 32-bit, unshared memory with 64 KiB pages.
    pub fn new(min: u64, max: Option<u64>) -> MemoryType {
        MemoryType {
            limits: Limits { min, max },
            memory64: false,
            shared: false,
            page_size_log2: 16,
        }
    }

    /// The page size in bytes: 64 KiB, or 1 with the custom-page-sizes proposal. Only those two are
    /// valid (see [`MemoryType::has_valid_page_size`]); a `page_size_log2` past 63 gives 2^63.
    pub fn page_size(&self) -> u64 {
        1 << self.page_size_log2.min(63)
    }

    /// Whether the page size is one wasm allows: 64 KiB (`page_size_log2` 16) or 1 byte (0).
    pub fn has_valid_page_size(&self) -> bool {
        matches!(self.page_size_log2, 0 | 16)
    }

    /// Whether compiled code may leave accesses to this memory unchecked, relying on guard pages: only
    /// 32-bit memories of 64 KiB pages (a 1-byte-page memory can end anywhere inside a system page).
    pub fn may_use_guard_pages(&self) -> bool {
        !self.memory64 && self.page_size_log2 == 16
    }

    /// The largest number of pages the index type allows (for a 64-bit memory of 1-byte pages, 2^64
    /// does not fit: `u64::MAX`).
    pub fn max_pages_allowed(&self) -> u64 {
        let index_bits: u32 = if self.memory64 { 64 } else { 32 };
        match index_bits.checked_sub(u32::from(self.page_size_log2)) {
            Some(bits) => 1u64.checked_shl(bits).unwrap_or(u64::MAX),
            // A page larger than the address space.
            None => 0,
        }
    }
}

impl fmt::Display for MemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(memory {}", self.limits.min)?;
        if let Some(max) = self.limits.max {
            write!(f, " {max}")?;
        }
        if self.shared {
            f.write_str(" shared")?;
        }
        match 1u64.checked_shl(u32::from(self.page_size_log2)) {
            Some(_) if self.page_size_log2 == 16 => {}
            Some(size) => write!(f, " (pagesize {size})")?,
            None => write!(f, " (pagesize 2^{})", self.page_size_log2)?,
        }
        f.write_str(")")
    }
}

/// The type of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableType {
    /// Element type (a reference type).
    pub element: ValType,
    /// Size limits in elements.
    pub limits: Limits,
    /// Whether the table is indexed by i64.
    pub table64: bool,
}

impl fmt::Display for TableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(table {}", self.limits.min)?;
        if let Some(max) = self.limits.max {
            write!(f, " {max}")?;
        }
        write!(f, " {})", self.element)
    }
}

/// The type of a global.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GlobalType {
    /// Value type.
    pub content: ValType,
    /// Whether the global is mutable.
    pub mutable: bool,
}

impl fmt::Display for GlobalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mutable {
            write!(f, "(global (mut {}))", self.content)
        } else {
            write!(f, "(global {})", self.content)
        }
    }
}

/// The type of an import or export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// An exception tag: the types of the values an exception of the tag carries (the parameters of
    /// a function type without results).
    Tag(FuncType),
}

impl fmt::Display for ExternType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternType::Func(t) => t.fmt(f),
            ExternType::Table(t) => t.fmt(f),
            ExternType::Memory(t) => t.fmt(f),
            ExternType::Global(t) => t.fmt(f),
            ExternType::Tag(t) => {
                f.write_str("(tag (param")?;
                for p in t.params.iter() {
                    write!(f, " {p}")?;
                }
                f.write_str("))")
            }
        }
    }
}
