//! Validation with wasmparser and construction of [`ModuleInfo`].

use crate::error::{WasmError, WasmResult};
use crate::module::*;
use crate::subtypes::{ArrayType, CompositeType, FieldType, StorageType, StructType, SubType};
use crate::types::{FuncType, GlobalType, Limits, MemoryType, TableType, ValType};
use wasmparser::{
    DataKind, ElementItems, ElementKind, ExternalKind, KnownCustom, Name, Operator, Parser,
    Payload, TableInit, TypeRef, Validator, WasmFeatures,
};

/// Validates `bytes` under `features` and reads its [`ModuleInfo`].
///
/// # Errors
/// A [`WasmError::Invalid`] with the byte offset of the first problem, or [`WasmError::Unsupported`] for valid
/// constructs wasmz cannot run yet.
pub fn parse_module(bytes: &[u8], features: WasmFeatures) -> WasmResult<ModuleInfo> {
    Validator::new_with_features(features).validate_all(bytes)?;
    let mut info = ModuleInfo::default();
    for payload in Parser::new(0).parse_all(bytes) {
        read_payload(&mut info, payload?)?;
    }
    info.escaping_funcs = vec![false; info.functions.len()];
    let mut mark = |f: u32| {
        if let Some(slot) = info.escaping_funcs.get_mut(f as usize) {
            *slot = true;
        }
    };
    for (_, e) in &info.exports {
        if let EntityIndex::Func(f) = e {
            mark(*f);
        }
    }
    for seg in &info.elems {
        match &seg.items {
            ElemItems::Funcs(fs) => fs.iter().for_each(|f| mark(*f)),
            ElemItems::Exprs(es) => es.iter().flat_map(|e| &e.ops).for_each(|op| {
                if let ConstOp::RefFunc(f) = op {
                    mark(*f)
                }
            }),
        }
    }
    for e in info
        .global_inits
        .iter()
        .chain(info.tables.iter().filter_map(|t| t.init.as_ref()))
    {
        for op in &e.ops {
            if let ConstOp::RefFunc(f) = op {
                mark(*f)
            }
        }
    }
    Ok(info)
}

fn read_payload(info: &mut ModuleInfo, payload: Payload<'_>) -> WasmResult<()> {
    match payload {
        Payload::TypeSection(reader) => {
            for group in reader.into_iter_with_offsets() {
                let (offset, group) = group?;
                let start = len_u32(info.types.len());
                for sub in group.into_types() {
                    info.types.push(sub_type(&sub, offset)?);
                }
                info.rec_groups.push(start..len_u32(info.types.len()));
            }
        }
        Payload::ImportSection(reader) => {
            for import in reader.into_imports_with_offsets() {
                let (offset, import) = import?;

                let index = match import.ty {
                    TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                        info.functions.push(ty);
                        info.num_imported_funcs += 1;
                        EntityIndex::Func(len_u32(info.functions.len()) - 1)
                    }
                    TypeRef::Table(t) => {
                        info.tables.push(TableDef {
                            ty: table_type(t, offset)?,
                            init: None,
                        });
                        info.num_imported_tables += 1;
                        EntityIndex::Table(len_u32(info.tables.len()) - 1)
                    }
                    TypeRef::Memory(m) => {
                        info.memories.push(memory_type(m, offset)?);
                        info.num_imported_memories += 1;
                        EntityIndex::Memory(len_u32(info.memories.len()) - 1)
                    }
                    TypeRef::Global(g) => {
                        info.globals.push(global_type(g, offset)?);
                        info.num_imported_globals += 1;
                        EntityIndex::Global(len_u32(info.globals.len()) - 1)
                    }
                    TypeRef::Tag(tag) => {
                        info.tags.push(tag.func_type_idx);
                        info.num_imported_tags += 1;
                        EntityIndex::Tag(len_u32(info.tags.len()) - 1)
                    }
                };
                info.imports.push(Import {
                    module: import.module.to_string(),
                    name: import.name.to_string(),
                    index,
                });
            }
        }
        Payload::FunctionSection(reader) => {
            for ty in reader {
                info.functions.push(ty?);
            }
        }
        Payload::TableSection(reader) => {
            for table in reader.into_iter_with_offsets() {
                let (offset, table) = table?;
                let ty = table_type(table.ty, offset)?;
                let init = match table.init {
                    TableInit::RefNull => None,
                    TableInit::Expr(e) => Some(const_expr(&e)?),
                };
                info.tables.push(TableDef { ty, init });
            }
        }
        Payload::MemorySection(reader) => {
            for mem in reader.into_iter_with_offsets() {
                let (offset, mem) = mem?;
                info.memories.push(memory_type(mem, offset)?);
            }
        }
        Payload::TagSection(reader) => {
            for tag in reader {
                info.tags.push(tag?.func_type_idx);
            }
        }
        Payload::GlobalSection(reader) => {
            for global in reader.into_iter_with_offsets() {
                let (offset, global) = global?;
                info.globals.push(global_type(global.ty, offset)?);
                info.global_inits.push(const_expr(&global.init_expr)?);
            }
        }
        Payload::ExportSection(reader) => {
            for export in reader {
                let export = export?;
                let index = match export.kind {
                    ExternalKind::Func | ExternalKind::FuncExact => EntityIndex::Func(export.index),
                    ExternalKind::Table => EntityIndex::Table(export.index),
                    ExternalKind::Memory => EntityIndex::Memory(export.index),
                    ExternalKind::Global => EntityIndex::Global(export.index),
                    ExternalKind::Tag => EntityIndex::Tag(export.index),
                };
                info.exports.push((export.name.to_string(), index));
                info.export_map.insert(export.name.to_string(), index);
            }
        }
        Payload::StartSection { func, .. } => info.start = Some(func),
        Payload::ElementSection(reader) => {
            for elem in reader {
                let elem = elem?;
                let offset = elem.range.start;
                let mode = match elem.kind {
                    ElementKind::Passive => ElemMode::Passive,
                    ElementKind::Declared => ElemMode::Declared,
                    ElementKind::Active {
                        table_index,
                        offset_expr,
                    } => ElemMode::Active {
                        table: table_index.unwrap_or(0),
                        offset: const_expr(&offset_expr)?,
                    },
                };
                let (ty, items) = match elem.items {
                    ElementItems::Functions(funcs) => (
                        ValType::FuncRef,
                        ElemItems::Funcs(funcs.into_iter().collect::<Result<Vec<_>, _>>()?),
                    ),
                    ElementItems::Expressions(ty, exprs) => {
                        let ty = ValType::from_ref_type(ty).ok_or_else(|| {
                            WasmError::unsupported(format!("element type {ty:?}"), offset)
                        })?;
                        let mut items = Vec::new();
                        for e in exprs {
                            items.push(const_expr(&e?)?);
                        }
                        (ty, ElemItems::Exprs(items))
                    }
                };
                info.elems.push(ElemSegment { mode, ty, items });
            }
        }
        Payload::DataSection(reader) => {
            for data in reader {
                let data = data?;
                let mode = match data.kind {
                    DataKind::Passive => DataMode::Passive,
                    DataKind::Active {
                        memory_index,
                        offset_expr,
                    } => DataMode::Active {
                        memory: memory_index,
                        offset: const_expr(&offset_expr)?,
                    },
                };
                info.data.push(DataSegment {
                    mode,
                    bytes: data.data.into(),
                });
            }
        }
        Payload::CodeSectionEntry(body) => info.bodies.push(body.range()),
        Payload::CustomSection(reader) => {
            if let KnownCustom::Name(names) = reader.as_known() {
                // The name section is advisory: a malformed one is ignored rather than rejected.
                for name in names.into_iter().flatten() {
                    if let Name::Function(map) = name {
                        for naming in map.into_iter().flatten() {
                            info.func_names
                                .insert(naming.index, naming.name.to_string());
                        }
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn val_type(ty: wasmparser::ValType, offset: u64) -> WasmResult<ValType> {
    ValType::from_wasmparser(ty)
        .ok_or_else(|| WasmError::unsupported(format!("value type {ty}"), offset))
}

fn sub_type(sub: &wasmparser::SubType, offset: u64) -> WasmResult<SubType> {
    let ct = &sub.composite_type;
    if ct.shared || ct.descriptor_idx.is_some() || ct.describes_idx.is_some() {
        return Err(WasmError::unsupported(
            "shared types and type descriptors",
            offset,
        ));
    }
    let field = |f: &wasmparser::FieldType| -> WasmResult<FieldType> {
        Ok(FieldType {
            storage: match f.element_type {
                wasmparser::StorageType::I8 => StorageType::I8,
                wasmparser::StorageType::I16 => StorageType::I16,
                wasmparser::StorageType::Val(v) => StorageType::Val(val_type(v, offset)?),
            },
            mutable: f.mutable,
        })
    };
    let composite = match &ct.inner {
        wasmparser::CompositeInnerType::Func(f) => {
            let params = f
                .params()
                .iter()
                .map(|t| val_type(*t, offset))
                .collect::<WasmResult<Vec<_>>>()?;
            let results = f
                .results()
                .iter()
                .map(|t| val_type(*t, offset))
                .collect::<WasmResult<Vec<_>>>()?;
            CompositeType::Func(FuncType::new(params, results))
        }
        wasmparser::CompositeInnerType::Struct(st) => CompositeType::Struct(StructType {
            fields: st.fields.iter().map(field).collect::<WasmResult<_>>()?,
        }),
        wasmparser::CompositeInnerType::Array(at) => CompositeType::Array(ArrayType {
            element: field(&at.0)?,
        }),
        wasmparser::CompositeInnerType::Cont(_) => {
            return Err(WasmError::unsupported("continuation types", offset));
        }
    };
    let supertype = match sub.supertype_idxs.first() {
        Some(idx) => Some(
            idx.as_module_index()
                .ok_or_else(|| WasmError::unsupported("a supertype outside the module", offset))?,
        ),
        None => None,
    };
    Ok(SubType {
        is_final: sub.is_final,
        supertype,
        composite,
    })
}

fn table_type(t: wasmparser::TableType, offset: u64) -> WasmResult<TableType> {
    let element = ValType::from_ref_type(t.element_type).ok_or_else(|| {
        WasmError::unsupported(format!("table element type {}", t.element_type), offset)
    })?;
    if t.shared {
        return Err(WasmError::unsupported("shared tables", offset));
    }
    Ok(TableType {
        element,
        limits: Limits {
            min: t.initial,
            max: t.maximum,
        },
        table64: t.table64,
    })
}

fn memory_type(m: wasmparser::MemoryType, offset: u64) -> WasmResult<MemoryType> {
    // The custom-page-sizes proposal allows 1-byte and 64 KiB pages; validation refused others.
    let page_size_log2 = match m.page_size_log2() {
        log2 @ (0 | 16) => log2 as u8,
        log2 => {
            return Err(WasmError::unsupported(
                format!("memory page size 2^{log2}"),
                offset,
            ));
        }
    };
    Ok(MemoryType {
        limits: Limits {
            min: m.initial,
            max: m.maximum,
        },
        memory64: m.memory64,
        shared: m.shared,
        page_size_log2,
    })
}

fn global_type(g: wasmparser::GlobalType, offset: u64) -> WasmResult<GlobalType> {
    if g.shared {
        return Err(WasmError::unsupported("shared globals", offset));
    }
    Ok(GlobalType {
        content: val_type(g.content_type, offset)?,
        mutable: g.mutable,
    })
}

/// Reads a constant expression.
pub fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> WasmResult<ConstExpr> {
    let mut reader = expr.get_operators_reader();
    let mut ops = Vec::new();
    loop {
        let offset = reader.original_position();
        let op = match reader.read()? {
            Operator::End => break,
            Operator::I32Const { value } => ConstOp::I32(value),
            Operator::I64Const { value } => ConstOp::I64(value),
            Operator::F32Const { value } => ConstOp::F32(value.bits()),
            Operator::F64Const { value } => ConstOp::F64(value.bits()),
            Operator::V128Const { value } => ConstOp::V128(value.i128() as u128),
            Operator::RefNull { hty } => {
                let ty = wasmparser::RefType::new(true, hty).and_then(ValType::from_ref_type);
                ConstOp::RefNull(
                    ty.ok_or_else(|| WasmError::unsupported(format!("ref.null {hty:?}"), offset))?,
                )
            }
            Operator::RefFunc { function_index } => ConstOp::RefFunc(function_index),
            Operator::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
            Operator::I32Add => ConstOp::I32Add,
            Operator::I32Sub => ConstOp::I32Sub,
            Operator::I32Mul => ConstOp::I32Mul,
            Operator::I64Add => ConstOp::I64Add,
            Operator::I64Sub => ConstOp::I64Sub,
            Operator::I64Mul => ConstOp::I64Mul,
            Operator::StructNew { struct_type_index } => ConstOp::StructNew(struct_type_index),
            Operator::StructNewDefault { struct_type_index } => {
                ConstOp::StructNewDefault(struct_type_index)
            }
            Operator::ArrayNew { array_type_index } => ConstOp::ArrayNew(array_type_index),
            Operator::ArrayNewDefault { array_type_index } => {
                ConstOp::ArrayNewDefault(array_type_index)
            }
            Operator::ArrayNewFixed {
                array_type_index,
                array_size,
            } => ConstOp::ArrayNewFixed(array_type_index, array_size),
            Operator::RefI31 => ConstOp::RefI31,
            Operator::AnyConvertExtern => ConstOp::AnyConvertExtern,
            Operator::ExternConvertAny => ConstOp::ExternConvertAny,
            other => {
                return Err(WasmError::unsupported(
                    format!("constant expression operator {other:?}"),
                    offset,
                ));
            }
        };
        ops.push(op);
    }
    Ok(ConstExpr { ops })
}
