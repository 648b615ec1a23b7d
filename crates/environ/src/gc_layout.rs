//! The memory layout of GC heap objects (structs and arrays), shared by the compiler, which reads and
//! writes fields inline, and the runtime, whose collector traces the reference fields.
//!
//! ```text
//! offset  every object
//! 0       type_id: u32   (engine-wide canonical type id)
//! 4       gc_word: u32   (bit 0: mark bit; bits 1..32: object size in 8-byte words)
//!         structs                         arrays
//! 8       fields (natural alignment)      length: u32, padding
//! 16                                      elements (packed, natural size)
//! ```
//!
//! Objects are 8-byte aligned and their size is a multiple of 8. A reference to an object is its
//! address, whose low two bits are therefore zero; the tagged word encoding of the any and extern
//! hierarchies gives i31 values and host references non-zero low bits (see [`is_gc_pointer`]).

use serde::{Deserialize, Serialize};

/// Offset of the canonical type id (u32).
pub const TYPE_ID: u32 = 0;
/// Offset of the collector's word (u32): mark bit and size in words.
pub const GC_WORD: u32 = 4;
/// Offset of the first struct field.
pub const STRUCT_FIELDS: u32 = 8;
/// Offset of an array's length (u32).
pub const ARRAY_LENGTH: u32 = 8;
/// Offset of an array's first element.
pub const ARRAY_ELEMENTS: u32 = 16;
/// Alignment (and size granule) of every object.
pub const OBJECT_ALIGN: u32 = 8;
/// Whether the tagged reference word `word` is the address of a GC object (non-null, low bits 00).
pub fn is_gc_pointer(word: u64) -> bool {
    word != 0 && word & 3 == 0
}

/// The collector's word of a new (unmarked) object of `size` bytes (a multiple of 8).
pub fn gc_word(size: u32) -> u32 {
    (size / OBJECT_ALIGN) << 1
}

/// How one field or array element is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StorageKind {
    /// Packed 8-bit integer.
    I8,
    /// Packed 16-bit integer.
    I16,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `v128`.
    V128,
    /// A reference the collector traces (any and extern hierarchies: the tagged word).
    GcRef,
    /// A reference the collector does not trace (function and exception references).
    OtherRef,
}

impl StorageKind {
    /// Size in bytes.
    pub fn size(self) -> u32 {
        match self {
            StorageKind::I8 => 1,
            StorageKind::I16 => 2,
            StorageKind::I32 | StorageKind::F32 => 4,
            StorageKind::I64 | StorageKind::F64 | StorageKind::GcRef | StorageKind::OtherRef => 8,
            StorageKind::V128 => 16,
        }
    }

    /// Alignment in bytes inside an object (at most the object alignment).
    pub fn align(self) -> u32 {
        self.size().min(OBJECT_ALIGN)
    }
}

/// One struct field: where it is and how it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldLayout {
    /// Offset from the object's start.
    pub offset: u32,
    /// Storage.
    pub kind: StorageKind,
}

/// The layout of the objects of one struct or array type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GcLayout {
    /// A struct type.
    Struct {
        /// Size of an object in bytes (a multiple of 8).
        size: u32,
        /// The fields, in declaration order.
        fields: Box<[FieldLayout]>,
    },
    /// An array type.
    Array {
        /// Storage of each element.
        elem: StorageKind,
    },
}

impl GcLayout {
    /// The layout of a struct with fields stored as `fields`, in declaration order, each at the next
    /// offset of its natural alignment.
    pub fn new_struct(fields: impl IntoIterator<Item = StorageKind>) -> GcLayout {
        let mut offset = STRUCT_FIELDS;
        let fields = fields
            .into_iter()
            .map(|kind| {
                offset = offset.next_multiple_of(kind.align());
                let field = FieldLayout { offset, kind };
                offset += kind.size();
                field
            })
            .collect();
        GcLayout::Struct {
            size: offset.next_multiple_of(OBJECT_ALIGN),
            fields,
        }
    }

    /// The layout of an array with elements stored as `elem`.
    pub fn new_array(elem: StorageKind) -> GcLayout {
        GcLayout::Array { elem }
    }

    /// Size in bytes of an array of `length` elements of `elem`, rounded up to the object alignment.
    pub fn array_size(elem: StorageKind, length: u32) -> u64 {
        (u64::from(ARRAY_ELEMENTS) + u64::from(length) * u64::from(elem.size()))
            .next_multiple_of(u64::from(OBJECT_ALIGN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_fields_are_naturally_aligned_and_the_size_rounded() {
        let l = GcLayout::new_struct([
            StorageKind::I8,
            StorageKind::I32,
            StorageKind::I16,
            StorageKind::GcRef,
            StorageKind::V128,
        ]);
        let GcLayout::Struct { size, fields } = l else {
            panic!("a struct layout")
        };
        let offsets: Vec<u32> = fields.iter().map(|f| f.offset).collect();
        assert_eq!(offsets, [8, 12, 16, 24, 32]);
        assert_eq!(size, 48);
        let GcLayout::Struct { size, .. } = GcLayout::new_struct([]) else {
            panic!("a struct layout")
        };
        assert_eq!(size, 8);
    }

    #[test]
    fn array_sizes_round_up_and_pointers_are_recognised() {
        assert_eq!(GcLayout::array_size(StorageKind::I8, 0), 16);
        assert_eq!(GcLayout::array_size(StorageKind::I8, 9), 32);
        assert_eq!(GcLayout::array_size(StorageKind::V128, 2), 48);
        assert!(is_gc_pointer(0x1000));
        assert!(!is_gc_pointer(0) && !is_gc_pointer(0x1001) && !is_gc_pointer(0x1002));
        assert_eq!(gc_word(24), 6);
    }
}
