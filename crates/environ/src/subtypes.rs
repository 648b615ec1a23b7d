//! The entries of the type section under the GC proposal: sub types (a composite type with its
//! finality and declared supertype) of function, struct and array composite types.
//!
//! Type indices inside these types are module type indices in a [`crate::ModuleInfo`], and engine-wide
//! canonical type ids once registered in a [`crate::TypeRegistry`].

use crate::types::{FuncType, HeapType, ValType};
use core::fmt;
use serde::{Deserialize, Serialize};

/// How a struct field or array element is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StorageType {
    /// A packed 8-bit integer (read with sign or zero extension to i32).
    I8,
    /// A packed 16-bit integer.
    I16,
    /// A full value.
    Val(ValType),
}

impl StorageType {
    /// Size of the stored value in bytes.
    pub fn size(self) -> u32 {
        match self {
            StorageType::I8 => 1,
            StorageType::I16 => 2,
            StorageType::Val(ValType::I32 | ValType::F32) => 4,
            StorageType::Val(ValType::V128) => 16,
            StorageType::Val(_) => 8,
        }
    }

    /// The value type a read of the field produces (i32 for packed fields).
    pub fn unpacked(self) -> ValType {
        match self {
            StorageType::I8 | StorageType::I16 => ValType::I32,
            StorageType::Val(v) => v,
        }
    }
}

/// A struct field or the element of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldType {
    /// How the value is stored.
    pub storage: StorageType,
    /// Whether the field may be written after allocation.
    pub mutable: bool,
}

/// A struct type: its fields in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct StructType {
    /// The fields.
    pub fields: Box<[FieldType]>,
}

/// An array type: its element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArrayType {
    /// The element.
    pub element: FieldType,
}

/// What a type definition describes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CompositeType {
    /// A function signature.
    Func(FuncType),
    /// A struct.
    Struct(StructType),
    /// An array.
    Array(ArrayType),
}

/// The kind of a composite type, for questions that do not need its contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CompositeKind {
    /// A function type.
    Func,
    /// A struct type.
    Struct,
    /// An array type.
    Array,
}

impl CompositeType {
    /// The kind of the type.
    pub fn kind(&self) -> CompositeKind {
        match self {
            CompositeType::Func(_) => CompositeKind::Func,
            CompositeType::Struct(_) => CompositeKind::Struct,
            CompositeType::Array(_) => CompositeKind::Array,
        }
    }

    /// Calls `f` on every value type the composite type mentions, letting it replace them (used to map
    /// type indices).
    pub fn map_val_types(&self, mut f: impl FnMut(ValType) -> ValType) -> CompositeType {
        let mut field = |t: &FieldType| FieldType {
            storage: match t.storage {
                StorageType::Val(v) => StorageType::Val(f(v)),
                packed => packed,
            },
            mutable: t.mutable,
        };
        match self {
            CompositeType::Func(ft) => {
                let params: Vec<ValType> = ft.params.iter().map(|v| f(*v)).collect();
                let results: Vec<ValType> = ft.results.iter().map(|v| f(*v)).collect();
                CompositeType::Func(FuncType::new(params, results))
            }
            CompositeType::Struct(st) => CompositeType::Struct(StructType {
                fields: st.fields.iter().map(field).collect(),
            }),
            CompositeType::Array(at) => CompositeType::Array(ArrayType {
                element: field(&at.element),
            }),
        }
    }
}

/// One entry of the type section: a composite type, whether it is final, and its declared supertype.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubType {
    /// Whether no type may declare this one as its supertype.
    pub is_final: bool,
    /// The declared direct supertype, if any (a type index).
    pub supertype: Option<u32>,
    /// What the type describes.
    pub composite: CompositeType,
}

impl SubType {
    /// A final function type without supertype: what `(type (func ...))` declares.
    pub fn func(ty: FuncType) -> SubType {
        SubType {
            is_final: true,
            supertype: None,
            composite: CompositeType::Func(ty),
        }
    }

    /// The function signature, if this is a function type.
    pub fn as_func(&self) -> Option<&FuncType> {
        match &self.composite {
            CompositeType::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The struct type, if this is one.
    pub fn as_struct(&self) -> Option<&StructType> {
        match &self.composite {
            CompositeType::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// The array type, if this is one.
    pub fn as_array(&self) -> Option<&ArrayType> {
        match &self.composite {
            CompositeType::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The same type with every type index `i` (in value types and the supertype) replaced by `f(i)`.
    pub fn map_type_indices(&self, f: &mut impl FnMut(u32) -> u32) -> SubType {
        SubType {
            is_final: self.is_final,
            supertype: self.supertype.map(&mut *f),
            composite: self.composite.map_val_types(|v| v.map_type_index(&mut *f)),
        }
    }
}

impl fmt::Display for StorageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageType::I8 => f.write_str("i8"),
            StorageType::I16 => f.write_str("i16"),
            StorageType::Val(v) => v.fmt(f),
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mutable {
            write!(f, "(mut {})", self.storage)
        } else {
            self.storage.fmt(f)
        }
    }
}

impl fmt::Display for CompositeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompositeType::Func(t) => t.fmt(f),
            CompositeType::Struct(s) => {
                f.write_str("(struct")?;
                for field in s.fields.iter() {
                    write!(f, " (field {field})")?;
                }
                f.write_str(")")
            }
            CompositeType::Array(a) => write!(f, "(array {})", a.element),
        }
    }
}

/// The abstract heap type at the top of the hierarchy of a composite kind.
pub fn top_of_kind(kind: CompositeKind) -> HeapType {
    match kind {
        CompositeKind::Func => HeapType::Func,
        CompositeKind::Struct | CompositeKind::Array => HeapType::Any,
    }
}
