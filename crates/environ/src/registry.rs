//! The engine-wide registry of canonical types.
//!
//! Types are canonicalized a whole recursion group at a time: two groups are the same when they have the
//! same types in the same order, where a reference to a type inside the group is compared by its
//! position in the group and a reference to a type outside by that type's canonical id. Equal groups of
//! different modules thus get the same ids, and the ids of a group are consecutive. Ids are never
//! reused, so a registry lives as long as its engine and grows with the distinct types it has seen.
//!
//! For each id the registry keeps the sub type with canonical ids inside, and the chain of its
//! supertypes, so "is `a` a subtype of `b`" is one lookup.

use crate::subtypes::{CompositeKind, SubType};
use crate::types::{FuncType, HeapType, RefType, ValType};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, RwLock, RwLockReadGuard};

/// Marks, in a registry key, a type index that refers inside the recursion group (its position in it);
/// indices without it are canonical ids. Canonical ids stay below it.
const REC_BIT: u32 = 1 << 31;

struct Entry {
    ty: Arc<SubType>,
    kind: CompositeKind,
    /// The supertype chain, from the root to the type itself.
    ancestors: Box<[u32]>,
    /// The canonical ids of the type's recursion group.
    group: Range<u32>,
}

#[derive(Default)]
struct Inner {
    /// Canonical id of the first type of every registered group, by the group's key.
    groups: HashMap<Box<[SubType]>, u32>,
    entries: Vec<Entry>,
}

/// The engine-wide registry of canonical types: see the module documentation. `Send + Sync`.
#[derive(Default)]
pub struct TypeRegistry {
    inner: RwLock<Inner>,
}

impl std::fmt::Debug for TypeRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypeRegistry")
            .field("types", &self.read().entries.len())
            .finish()
    }
}

impl TypeRegistry {
    /// An empty registry.
    pub fn new() -> TypeRegistry {
        TypeRegistry::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the types of a module's type section (`types`, with module type indices inside), whose
    /// recursion groups are `rec_groups` (ranges of type indices, in order, covering every type), and
    /// returns the canonical id of each type.
    pub fn register_module(&self, types: &[SubType], rec_groups: &[Range<u32>]) -> Vec<u32> {
        let mut ids: Vec<u32> = Vec::with_capacity(types.len());
        for group in rec_groups {
            let (start, end) = (group.start as usize, (group.end as usize).min(types.len()));
            if start != ids.len() || start > end {
                // Groups are contiguous and in order in every module the parser produces.
                break;
            }
            let key: Box<[SubType]> = types[start..end]
                .iter()
                .map(|t| {
                    t.map_type_indices(&mut |i| {
                        if (group.start..group.end).contains(&i) {
                            REC_BIT | (i - group.start)
                        } else {
                            ids.get(i as usize).copied().unwrap_or(i)
                        }
                    })
                })
                .collect();
            let first = self.register_group(key);
            ids.extend((0..end - start).map(|k| first + k as u32));
        }
        // A type outside every group (impossible for parsed modules) becomes its own group.
        while ids.len() < types.len() {
            let canon = types[ids.len()]
                .map_type_indices(&mut |i| ids.get(i as usize).copied().unwrap_or(i) & !REC_BIT);
            ids.push(self.register_group(Box::new([canon])));
        }
        ids
    }

    /// The canonical id of function type `ty` (whose concrete reference types name canonical ids) as a
    /// final type without supertype in a group of its own: the id a module's `(type (func ...))` of
    /// the same signature gets.
    pub fn register_func(&self, ty: &FuncType) -> u32 {
        let canon = SubType::func(ty.clone());
        let canon = canon.map_type_indices(&mut |i| i & !REC_BIT);
        self.register_group(Box::new([canon]))
    }

    /// Registers one group given by its key; returns the id of its first type.
    fn register_group(&self, key: Box<[SubType]>) -> u32 {
        if let Some(first) = self.read().groups.get(&key) {
            return *first;
        }
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(first) = inner.groups.get(&key) {
            return *first;
        }
        let first = u32::try_from(inner.entries.len())
            .ok()
            .filter(|n| n.checked_add(u32::try_from(key.len()).unwrap_or(REC_BIT)) < Some(REC_BIT))
            .expect("fewer than 2^31 distinct types in an engine");
        for ty in key.iter() {
            let ty = ty.map_type_indices(&mut |i| {
                if i & REC_BIT != 0 {
                    first + (i & !REC_BIT)
                } else {
                    i
                }
            });
            let id = u32::try_from(inner.entries.len()).unwrap_or(u32::MAX);
            let mut ancestors: Vec<u32> = match ty.supertype {
                Some(s) if s < id => inner.entries[s as usize].ancestors.to_vec(),
                _ => Vec::new(),
            };
            ancestors.push(id);
            inner.entries.push(Entry {
                kind: ty.composite.kind(),
                ty: Arc::new(ty),
                ancestors: ancestors.into(),
                group: first..first + u32::try_from(key.len()).unwrap_or(0),
            });
        }
        inner.groups.insert(key, first);
        first
    }

    /// The type of canonical id `id` (with canonical ids inside), if registered.
    pub fn get(&self, id: u32) -> Option<Arc<SubType>> {
        self.read().entries.get(id as usize).map(|e| e.ty.clone())
    }

    /// The function signature of canonical id `id`, if it is a function type.
    pub fn func_type(&self, id: u32) -> Option<FuncType> {
        self.get(id).and_then(|t| t.as_func().cloned())
    }

    /// Whether `id` is a function, struct or array type (`None` for an unknown id).
    pub fn kind(&self, id: u32) -> Option<CompositeKind> {
        self.read().entries.get(id as usize).map(|e| e.kind)
    }

    /// The declared direct supertype of `id`, if any.
    pub fn supertype(&self, id: u32) -> Option<u32> {
        self.read()
            .entries
            .get(id as usize)
            .and_then(|e| e.ty.supertype)
    }

    /// Whether canonical type `a` is `b` or declares it (directly or not) as a supertype.
    pub fn is_subtype(&self, a: u32, b: u32) -> bool {
        if a == b {
            return true;
        }
        let inner = self.read();
        let (Some(ea), Some(eb)) = (inner.entries.get(a as usize), inner.entries.get(b as usize))
        else {
            return false;
        };
        ea.ancestors.get(eb.ancestors.len() - 1) == Some(&b)
    }

    /// Whether the object type `actual` matches `expected`: a canonical id (subtyping), or one of the
    /// codes [`crate::refs::STRUCT_CODE`] and [`crate::refs::ARRAY_CODE`] (the type's kind).
    pub fn type_matches(&self, actual: u32, expected: u32) -> bool {
        match expected {
            crate::refs::STRUCT_CODE => self.kind(actual) == Some(CompositeKind::Struct),
            crate::refs::ARRAY_CODE => self.kind(actual) == Some(CompositeKind::Array),
            _ => self.is_subtype(actual, expected),
        }
    }

    /// Whether heap type `a` is a subtype of heap type `b` (concrete types name canonical ids).
    pub fn heap_subtype(&self, a: HeapType, b: HeapType) -> bool {
        use HeapType as H;
        if a == b {
            return true;
        }
        match (a, b) {
            (H::Concrete(x), H::Concrete(y)) => self.is_subtype(x, y),
            (H::Concrete(x), top) => match self.kind(x) {
                Some(CompositeKind::Func) => top == H::Func,
                Some(CompositeKind::Struct) => matches!(top, H::Struct | H::Eq | H::Any),
                Some(CompositeKind::Array) => matches!(top, H::Array | H::Eq | H::Any),
                None => false,
            },
            (H::NoFunc, H::Concrete(y)) => self.kind(y) == Some(CompositeKind::Func),
            (H::None, H::Concrete(y)) => {
                matches!(
                    self.kind(y),
                    Some(CompositeKind::Struct | CompositeKind::Array)
                )
            }
            (a, b) => ValType::Ref(RefType {
                nullable: false,
                heap: a,
            })
            .is_subtype_of(ValType::Ref(RefType {
                nullable: false,
                heap: b,
            })),
        }
    }

    /// Whether value type `a` is a subtype of value type `b` (concrete types name canonical ids).
    pub fn val_subtype(&self, a: ValType, b: ValType) -> bool {
        if a == b {
            return true;
        }
        match (a.ref_type(), b.ref_type()) {
            (Some(ra), Some(rb)) => {
                (rb.nullable || !ra.nullable) && self.heap_subtype(ra.heap, rb.heap)
            }
            _ => false,
        }
    }

    /// A readable description of canonical type `id` (`type (func ...)` or `type 1 of (rec ...)`): its
    /// definition, with finality and supertype
    /// when they are not the defaults, and its whole recursion group when it has company (types of
    /// the same structure in different groups are different types).
    pub fn describe(&self, id: u32) -> String {
        let inner = self.read();
        let Some(entry) = inner.entries.get(id as usize) else {
            return format!("unknown type {id}");
        };
        let text = |t: &SubType| {
            if t.is_final && t.supertype.is_none() {
                return t.composite.to_string();
            }
            let fin = if t.is_final { "final " } else { "" };
            match t.supertype {
                Some(s) => format!("(sub {fin}{s} {})", t.composite),
                None => format!("(sub {fin}{})", t.composite),
            }
        };
        if entry.group.len() == 1 {
            return format!("type {}", text(&entry.ty));
        }
        let members: Vec<String> = entry
            .group
            .clone()
            .filter_map(|i| inner.entries.get(i as usize))
            .map(|e| format!("(type {})", text(&e.ty)))
            .collect();
        format!(
            "type {} of (rec {}) (ids from {})",
            id - entry.group.start,
            members.join(" "),
            entry.group.start
        )
    }

    /// Number of registered types.
    pub fn len(&self) -> usize {
        self.read().entries.len()
    }

    /// Whether no type is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subtypes::{CompositeType, FieldType, StorageType, StructType};

    fn func(results: &[ValType]) -> CompositeType {
        CompositeType::Func(FuncType::new(vec![], results.to_vec()))
    }

    fn sub(is_final: bool, supertype: Option<u32>, composite: CompositeType) -> SubType {
        SubType {
            is_final,
            supertype,
            composite,
        }
    }

    /// A struct with one field referring to type `target` (nullable).
    fn struct_ref(target: u32) -> CompositeType {
        CompositeType::Struct(StructType {
            fields: Box::new([FieldType {
                storage: StorageType::Val(ValType::Ref(RefType {
                    nullable: true,
                    heap: HeapType::Concrete(target),
                })),
                mutable: false,
            }]),
        })
    }

    #[test]
    fn equal_groups_share_ids_and_different_groups_do_not() {
        let r = TypeRegistry::new();
        // Module A: a lone function type, then a group of two types referring to each other.
        let a = [
            SubType::func(FuncType::new(vec![], vec![ValType::I32])),
            sub(true, None, struct_ref(2)),
            sub(true, None, struct_ref(1)),
        ];
        let ids_a = r.register_module(&a, &[0..1, 1..3]);
        // Module B: the same group first, then the function type.
        let b = [
            sub(true, None, struct_ref(1)),
            sub(true, None, struct_ref(0)),
            SubType::func(FuncType::new(vec![], vec![ValType::I32])),
        ];
        let ids_b = r.register_module(&b, &[0..2, 2..3]);
        assert_eq!(ids_a, vec![ids_b[2], ids_b[0], ids_b[1]]);
        // The same two types as singleton groups are different types.
        let ids_c = r.register_module(&b[..2], &[0..1, 1..2]);
        assert_ne!(ids_c[0], ids_b[0]);
        // A host signature gets the id of the lone function type.
        assert_eq!(
            r.register_func(&FuncType::new(vec![], vec![ValType::I32])),
            ids_a[0]
        );
        // Registered types name canonical ids.
        let t = r.get(ids_a[1]).expect("registered");
        assert_eq!(t.composite, struct_ref(ids_a[2]));
    }

    #[test]
    fn subtyping_follows_declared_supertypes() {
        let r = TypeRegistry::new();
        let types = [
            sub(false, None, func(&[])),
            sub(false, Some(0), func(&[])),
            sub(true, Some(1), func(&[])),
            sub(false, None, func(&[])),
            sub(false, None, CompositeType::Struct(StructType::default())),
        ];
        let ids = r.register_module(&types, &[0..1, 1..2, 2..3, 3..4, 4..5]);
        assert!(r.is_subtype(ids[2], ids[0]));
        assert!(r.is_subtype(ids[1], ids[0]));
        assert!(!r.is_subtype(ids[0], ids[1]));
        // Same structure and supertype-less, but not declared: unrelated. (Ids 0 and 3 are equal
        // groups, so they are the same type.)
        assert_eq!(ids[0], ids[3]);
        assert!(!r.is_subtype(ids[2], ids[4]));
        assert_eq!(r.supertype(ids[2]), Some(ids[1]));
        assert!(r.heap_subtype(HeapType::Concrete(ids[2]), HeapType::Func));
        assert!(!r.heap_subtype(HeapType::Concrete(ids[2]), HeapType::Any));
        assert!(r.heap_subtype(HeapType::Concrete(ids[4]), HeapType::Eq));
        assert!(r.heap_subtype(HeapType::None, HeapType::Concrete(ids[4])));
        assert!(!r.heap_subtype(HeapType::NoFunc, HeapType::Concrete(ids[4])));
        assert!(r.type_matches(ids[4], crate::refs::STRUCT_CODE));
        assert!(!r.type_matches(ids[4], crate::refs::ARRAY_CODE));
        let nullable = |heap| {
            ValType::Ref(RefType {
                nullable: true,
                heap,
            })
        };
        let non_null = |heap| {
            ValType::Ref(RefType {
                nullable: false,
                heap,
            })
        };
        assert!(r.val_subtype(
            non_null(HeapType::Concrete(ids[1])),
            nullable(HeapType::Concrete(ids[0]))
        ));
        assert!(!r.val_subtype(
            nullable(HeapType::Concrete(ids[1])),
            non_null(HeapType::Concrete(ids[0]))
        ));
        assert!(r.val_subtype(non_null(HeapType::I31), nullable(HeapType::Any)));
        assert!(!r.val_subtype(ValType::I32, ValType::I64));
    }
}
