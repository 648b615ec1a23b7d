//! Exception tags and exception objects.
//!
//! A tag's identity is the address of its [`VMTag`], which the store owns (boxed, so the address never
//! changes): every instantiation of a module defining a tag makes a new one, and an imported tag is
//! the exporter's. An exception object is a block of 16-byte slots laid out as
//! `wasmz_environ::vmoffsets::exception` describes; an `exnref` is its address.
//!
//! Exceptions are not garbage collected: the store's [`ExceptionHeap`] owns every exception object. One caught
//! by `catch` or `catch_all` (not `_ref`), so that nothing else can refer to it, is freed by the catching
//! code; one marked *exposed* lives until the store is dropped: compiled code marks an exception exposed
//! when it hands it out as an `exnref` (`catch_ref`, `catch_all_ref`) and when a legacy `rethrow` may
//! be caught inside the clause that rethrew it (which can use it again afterwards). One that escaped to
//! the host lives until the store is dropped too. Every object is charged to the store's memory
//! budget while it lives, so a budget bounds them.

use crate::budget::MemoryBudget;
use wasmz_environ::FuncType;
use wasmz_environ::vmoffsets::exception;

/// What compiled code sees of a tag: its address is the tag's identity.
#[repr(C)]
#[derive(Debug)]
pub struct VMTag {
    /// Engine-wide canonical id of the tag's function type.
    pub type_id: u32,
}

/// A tag of a store.
#[derive(Debug)]
pub struct Tag {
    vm: VMTag,
    ty: FuncType,
}

impl Tag {
    /// A tag whose exceptions carry values of `ty`'s parameter types; `type_id` is `ty`'s engine-wide
    /// canonical id.
    pub fn new(ty: FuncType, type_id: u32) -> Tag {
        Tag {
            vm: VMTag { type_id },
            ty,
        }
    }

    /// The tag's type.
    pub fn ty(&self) -> &FuncType {
        &self.ty
    }

    /// The engine-wide canonical id of the tag's type.
    pub fn type_id(&self) -> u32 {
        self.vm.type_id
    }

    /// The tag's identity, as compiled code compares it.
    pub fn vm_tag(&self) -> *const VMTag {
        &self.vm
    }
}

/// An exception that no wasm handler caught, as the trap that ended the call reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrownException {
    /// The address of the tag's [`VMTag`] (its identity; compare with [`Tag::vm_tag`]).
    pub tag: usize,
    /// The tag's type: the parameters are the values' types.
    pub ty: FuncType,
    /// The values' bits (16 bytes each, little-endian, as in globals).
    pub values: Vec<u128>,
}

/// Bytes of one 16-byte slot of an exception object.
const SLOT: usize = exception::VALUE_SIZE as usize;

/// The exception objects of a store.
#[derive(Debug, Default)]
pub struct ExceptionHeap {
    /// Live objects by slot; `None` for free slots. Each object's first 16 bytes are its header.
    objects: Vec<Option<Box<[u128]>>>,
    /// Free slots.
    free: Vec<u32>,
    live: usize,
}

impl ExceptionHeap {
    /// Allocates an exception of `tag` with room for `num_values` values (zeroed) and returns its
    /// address; null when the budget cannot hold it.
    pub fn alloc(
        &mut self,
        budget: &MemoryBudget,
        tag: *const VMTag,
        num_values: usize,
    ) -> *mut u8 {
        let bytes = (1 + num_values) * SLOT;
        if !budget.try_charge(bytes as u64) {
            return std::ptr::null_mut();
        }
        let mut object = vec![0u128; 1 + num_values].into_boxed_slice();
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.objects.push(None);
                u32::try_from(self.objects.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let header = object.as_mut_ptr().cast::<u8>();
        // SAFETY: the header is the object's first 16 bytes (16-aligned, owned by `object`); the tag's
        // address and the slot index fit at their offsets.
        unsafe {
            header
                .add(exception::TAG as usize)
                .cast::<usize>()
                .write(tag as usize);
            header
                .add(exception::SLOT as usize)
                .cast::<u32>()
                .write(slot);
        }
        self.objects[slot as usize] = Some(object);
        self.live += 1;
        header
    }

    /// Frees the exception at `exn` unless it is exposed (see the module documentation).
    ///
    /// # Safety
    /// `exn` must be null or the address of a live exception object of this heap (whose header is
    /// read); an address that is not one of its objects is then ignored.
    pub unsafe fn free_unexposed(&mut self, budget: &MemoryBudget, exn: *const u8) {
        // SAFETY: the caller's contract.
        let Some(slot) = (unsafe { self.slot_of(exn) }) else {
            return;
        };
        let object = self.objects[slot]
            .as_ref()
            .expect("slot_of checks liveness");
        // The exposed flag is the high half of the header's second word.
        let header = object[0];
        if (header >> (8 * exception::EXPOSED)) as u32 != 0 {
            return;
        }
        let bytes = object.len() * SLOT;
        self.objects[slot] = None;
        self.free.push(slot as u32);
        self.live -= 1;
        budget.release(bytes as u64);
    }

    /// The slot of the live object at `exn`, if it is one.
    ///
    /// # Safety
    /// As [`ExceptionHeap::free_unexposed`].
    unsafe fn slot_of(&self, exn: *const u8) -> Option<usize> {
        if exn.is_null() {
            return None;
        }
        // SAFETY: `exn` is a live object's address (the caller's contract), so its header is
        // readable; the slot read from it is then checked against the object's own address.
        let slot = unsafe { exn.add(exception::SLOT as usize).cast::<u32>().read() } as usize;
        let object = self.objects.get(slot)?.as_ref()?;
        (object.as_ptr().cast::<u8>() == exn).then_some(slot)
    }

    /// Calls `visit` with the tag identity and the value slots of every live exception object.
    pub(crate) fn for_each_object(&self, visit: &mut dyn FnMut(*const VMTag, &[u128])) {
        for object in self.objects.iter().flatten() {
            // The header's first word is the tag's identity (see `alloc`).
            let tag = (object[0] as u64 as usize) as *const VMTag;
            visit(tag, &object[1..]);
        }
    }

    /// Number of live exception objects.
    pub fn live(&self) -> usize {
        self.live
    }

    /// The tag identity and the value slots of the live object at `exn`.
    ///
    /// # Safety
    /// As [`ExceptionHeap::free_unexposed`].
    pub unsafe fn read(&self, exn: *const u8) -> Option<(*const VMTag, Vec<u128>)> {
        // SAFETY: the caller's contract.
        let slot = unsafe { self.slot_of(exn) }?;
        let object = self.objects[slot].as_ref()?;
        let tag = (object[0] as u64) as usize as *const VMTag;
        Some((tag, object[1..].to_vec()))
    }
}
