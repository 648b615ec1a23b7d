//! Creating and reading GC objects from the runtime (constant expressions, the host), with the same
//! layouts compiled code uses.

use crate::store::StoreInner;
use wasmz_environ::gc_layout::{ARRAY_ELEMENTS, ARRAY_LENGTH};
use wasmz_environ::{GcLayout, StorageKind};

/// Writes the low bytes of `bits` as a value of `kind` at `addr`.
///
/// # Safety
/// `addr` must point to `kind.size()` writable bytes of a GC object.
unsafe fn write_value(addr: usize, kind: StorageKind, bits: u128) {
    let bytes = bits.to_le_bytes();
    // SAFETY: the caller's contract; `kind.size()` is at most 16.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), addr as *mut u8, kind.size() as usize) };
}

/// Allocates a struct of canonical type `type_id` and layout `layout` with field values `fields`
/// (bits, as in globals), without collecting. `None` when the heap is exhausted.
pub(crate) fn new_struct(
    store: &StoreInner,
    type_id: u32,
    layout: &GcLayout,
    fields: &[u128],
) -> Option<u64> {
    let GcLayout::Struct { size, fields: f } = layout else {
        return None;
    };
    let addr = super::alloc(store, type_id, *size as usize, false)?;
    for (field, bits) in f.iter().zip(fields) {
        // SAFETY: the field lies inside the new object, by its layout.
        unsafe { write_value(addr + field.offset as usize, field.kind, *bits) };
    }
    Some(addr as u64)
}

/// Allocates an array of canonical type `type_id` with elements `elem` holding `values`, without
/// collecting. `None` when the heap is exhausted or the array too long.
pub(crate) fn new_array(
    store: &StoreInner,
    type_id: u32,
    elem: StorageKind,
    len: u32,
    mut values: impl FnMut(usize) -> u128,
) -> Option<u64> {
    let size = usize::try_from(GcLayout::array_size(elem, len)).ok()?;
    let addr = super::alloc(store, type_id, size, false)?;
    // SAFETY: the new object is an array of at least 16 bytes.
    unsafe { ((addr + ARRAY_LENGTH as usize) as *mut u32).write(len) };
    for i in 0..len as usize {
        let at = addr + ARRAY_ELEMENTS as usize + i * elem.size() as usize;
        // SAFETY: element `i < len` lies inside the new array.
        unsafe { write_value(at, elem, values(i)) };
    }
    Some(addr as u64)
}
