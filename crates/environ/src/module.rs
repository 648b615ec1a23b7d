//! `ModuleInfo`: everything about a module except its function bodies' code.

use crate::subtypes::SubType;
use crate::types::{ExternType, FuncType, GlobalType, MemoryType, TableType, ValType};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ops::Range;

/// One instruction of a constant expression (global initializers, segment offsets, element items).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ConstOp {
    /// `i32.const`
    I32(i32),
    /// `i64.const`
    I64(i64),
    /// `f32.const` (bits)
    F32(u32),
    /// `f64.const` (bits)
    F64(u64),
    /// `v128.const` (bits)
    V128(u128),
    /// `ref.null` of the given reference type.
    RefNull(ValType),
    /// `ref.func`
    RefFunc(u32),
    /// `global.get`
    GlobalGet(u32),
    /// `i32.add`
    I32Add,
    /// `i32.sub`
    I32Sub,
    /// `i32.mul`
    I32Mul,
    /// `i64.add`
    I64Add,
    /// `i64.sub`
    I64Sub,
    /// `i64.mul`
    I64Mul,
    /// `struct.new` of a type index (the fields are on the stack).
    StructNew(u32),
    /// `struct.new_default` of a type index.
    StructNewDefault(u32),
    /// `array.new` of a type index (initial value and length on the stack).
    ArrayNew(u32),
    /// `array.new_default` of a type index (length on the stack).
    ArrayNewDefault(u32),
    /// `array.new_fixed` of a type index with this many elements on the stack.
    ArrayNewFixed(u32, u32),
    /// `ref.i31`: the i32 on the stack as an i31 reference.
    RefI31,
    /// `any.convert_extern`: the identity on the reference word.
    AnyConvertExtern,
    /// `extern.convert_any`: the identity on the reference word.
    ExternConvertAny,
}

/// A constant expression: a short stack program evaluated at instantiation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConstExpr {
    /// The instructions, without the final `end`.
    pub ops: Vec<ConstOp>,
}

/// What an import or export refers to, by index in its index space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntityIndex {
    /// A function index.
    Func(u32),
    /// A table index.
    Table(u32),
    /// A memory index.
    Memory(u32),
    /// A global index.
    Global(u32),
    /// A tag index (exception handling).
    Tag(u32),
}

/// One import.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// What is imported; its index is in the module's own index space.
    pub index: EntityIndex,
}

/// The elements of an element segment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ElemItems {
    /// Function indices (the `funcref` short form).
    Funcs(Vec<u32>),
    /// One constant expression per element.
    Exprs(Vec<ConstExpr>),
}

impl ElemItems {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            ElemItems::Funcs(f) => f.len(),
            ElemItems::Exprs(e) => e.len(),
        }
    }

    /// Whether the segment is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How an element segment is used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ElemMode {
    /// Copied into a table at instantiation, then dropped.
    Active {
        /// Table index.
        table: u32,
        /// Offset expression.
        offset: ConstExpr,
    },
    /// Available to `table.init`.
    Passive,
    /// Only declares functions for `ref.func`; dropped at instantiation.
    Declared,
}

/// An element segment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ElemSegment {
    /// How the segment is used.
    pub mode: ElemMode,
    /// Element type.
    pub ty: ValType,
    /// The elements.
    pub items: ElemItems,
}

/// How a data segment is used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum DataMode {
    /// Copied into a memory at instantiation, then dropped.
    Active {
        /// Memory index.
        memory: u32,
        /// Offset expression.
        offset: ConstExpr,
    },
    /// Available to `memory.init`.
    Passive,
}

/// A data segment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DataSegment {
    /// How the segment is used.
    pub mode: DataMode,
    /// The bytes.
    #[serde(with = "crate::serde_util::bytes")]
    pub bytes: Box<[u8]>,
}

/// A table defined by the module, with its initializer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableDef {
    /// The table's type.
    pub ty: TableType,
    /// Initial value of each element (`ref.null` when absent).
    pub init: Option<ConstExpr>,
}

/// Everything about a module that is needed to compile and instantiate it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ModuleInfo {
    /// The type section: every sub type, in index order.
    pub types: Vec<SubType>,
    /// The recursion groups of the type section: consecutive ranges of type indices covering `types`.
    pub rec_groups: Vec<Range<u32>>,
    /// The imports, in order.
    pub imports: Vec<Import>,
    /// Type index of every function, imported ones first.
    pub functions: Vec<u32>,
    /// Number of imported functions.
    pub num_imported_funcs: u32,
    /// Every table, imported ones first (imports have no initializer).
    pub tables: Vec<TableDef>,
    /// Number of imported tables.
    pub num_imported_tables: u32,
    /// Every memory, imported ones first.
    pub memories: Vec<MemoryType>,
    /// Number of imported memories.
    pub num_imported_memories: u32,
    /// Every global's type, imported ones first.
    pub globals: Vec<GlobalType>,
    /// Number of imported globals.
    pub num_imported_globals: u32,
    /// Type index (a function type without results) of every tag, imported ones first.
    pub tags: Vec<u32>,
    /// Number of imported tags.
    pub num_imported_tags: u32,
    /// Initializers of the defined globals.
    pub global_inits: Vec<ConstExpr>,
    /// Exports by name.
    pub exports: Vec<(String, EntityIndex)>,
    /// Export lookup by name.
    #[serde(with = "crate::serde_util::sorted_map")]
    pub export_map: HashMap<String, EntityIndex>,
    /// The start function.
    pub start: Option<u32>,
    /// Element segments.
    pub elems: Vec<ElemSegment>,
    /// Data segments.
    pub data: Vec<DataSegment>,
    /// Byte range of each defined function's body in the module's bytes.
    pub bodies: Vec<Range<u64>>,
    /// Function names from the name section.
    #[serde(with = "crate::serde_util::sorted_map")]
    pub func_names: HashMap<u32, String>,
    /// Functions that may be referenced (exported, in element segments, or `ref.func` in globals).
    pub escaping_funcs: Vec<bool>,
    /// Set when the active data segments of memory 0 were moved into a memory image (see
    /// [`crate::memory_image`]): ahead-of-time artifacts store one, and such segments' `bytes` are
    /// then empty here.
    pub memory_image: Option<crate::memory_image::MemoryImageLayout>,
}

impl ModuleInfo {
    /// The signature of type `type_index`, which must be a function type (validation guarantees it
    /// wherever a function type is expected).
    ///
    /// # Panics
    /// When the type is a struct or array type, or out of range.
    pub fn func_type(&self, type_index: u32) -> &FuncType {
        self.types[type_index as usize]
            .as_func()
            .expect("a function type where validation requires one")
    }

    /// The signature of type `type_index` if it is a function type.
    pub fn try_func_type(&self, type_index: u32) -> Option<&FuncType> {
        self.types.get(type_index as usize)?.as_func()
    }

    /// Whether values of `ty` may be references to GC objects (the any and extern hierarchies,
    /// including concrete struct and array types): what the collector traces and stack maps cover.
    pub fn is_gc_ref(&self, ty: ValType) -> bool {
        use crate::types::HeapType as H;
        match ty.ref_type().map(|r| r.heap) {
            None | Some(H::Func | H::NoFunc | H::Exn | H::NoExn) => false,
            Some(H::Concrete(i)) => self
                .types
                .get(i as usize)
                .is_some_and(|t| t.as_func().is_none()),
            Some(_) => true,
        }
    }

    /// How a field or element of storage type `storage` is kept in a GC object.
    pub fn storage_kind(&self, storage: crate::subtypes::StorageType) -> crate::StorageKind {
        use crate::StorageKind as K;
        use crate::subtypes::StorageType as S;
        match storage {
            S::I8 => K::I8,
            S::I16 => K::I16,
            S::Val(ValType::I32) => K::I32,
            S::Val(ValType::I64) => K::I64,
            S::Val(ValType::F32) => K::F32,
            S::Val(ValType::F64) => K::F64,
            S::Val(ValType::V128) => K::V128,
            S::Val(v) if self.is_gc_ref(v) => K::GcRef,
            S::Val(_) => K::OtherRef,
        }
    }

    /// The layout of the objects of type `type_index`, if it is a struct or array type.
    pub fn gc_layout(&self, type_index: u32) -> Option<crate::GcLayout> {
        let ty = self.types.get(type_index as usize)?;
        if let Some(s) = ty.as_struct() {
            return Some(crate::GcLayout::new_struct(
                s.fields.iter().map(|f| self.storage_kind(f.storage)),
            ));
        }
        let a = ty.as_array()?;
        Some(crate::GcLayout::new_array(
            self.storage_kind(a.element.storage),
        ))
    }

    /// The signature of function `func`.
    pub fn func_sig(&self, func: u32) -> &FuncType {
        self.func_type(self.functions[func as usize])
    }

    /// Number of functions defined (not imported) by the module.
    pub fn num_defined_funcs(&self) -> u32 {
        u32::try_from(self.functions.len()).unwrap_or(u32::MAX) - self.num_imported_funcs
    }

    /// Whether function `func` is imported.
    pub fn is_imported_func(&self, func: u32) -> bool {
        func < self.num_imported_funcs
    }

    /// The type of an entity of this module.
    pub fn entity_type(&self, index: EntityIndex) -> ExternType {
        match index {
            EntityIndex::Func(i) => ExternType::Func(self.func_sig(i).clone()),
            EntityIndex::Table(i) => ExternType::Table(self.tables[i as usize].ty),
            EntityIndex::Memory(i) => ExternType::Memory(self.memories[i as usize]),
            EntityIndex::Global(i) => ExternType::Global(self.globals[i as usize]),
            EntityIndex::Tag(i) => ExternType::Tag(self.tag_type(i).clone()),
        }
    }

    /// The type of tag `tag`: the values its exceptions carry are the parameters.
    pub fn tag_type(&self, tag: u32) -> &FuncType {
        self.func_type(self.tags[tag as usize])
    }

    /// The name of function `func` from the name section, if any.
    pub fn func_name(&self, func: u32) -> Option<&str> {
        self.func_names.get(&func).map(String::as_str)
    }
}
