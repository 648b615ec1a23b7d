//! Linear memory: an address-space reservation whose accessible prefix grows in place.
//!
//! With guard pages (32-bit memories), 8 GiB + 64 KiB are reserved: any `index + offset + size` of a
//! 32-bit access stays inside the reservation, so an out-of-bounds access faults on an inaccessible page
//! instead of needing a check. With explicit bounds checks, only the largest size the memory may reach
//! is reserved. Either way the base never moves, so compiled code may keep it in a register.

use crate::vmcontext::VMMemoryDefinition;
use std::cell::UnsafeCell;
use thiserror::Error;
use wasmz_environ::MemoryType;

/// Wasm page size.
pub const PAGE_SIZE: u64 = 65536;
/// Reservation for a 32-bit memory with guard pages.
const GUARDED_RESERVATION: u64 = (8 << 30) + PAGE_SIZE;
/// Largest reservation for a memory without a guard region and without a declared maximum.
const DEFAULT_UNGUARDED_RESERVATION: u64 = 4 << 30;

/// Why a memory could not be created or accessed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MemoryError {
    /// The system refused to reserve or commit memory.
    #[error("cannot allocate a linear memory of {pages} pages: {reason}")]
    Allocation {
        /// Pages asked for.
        pages: u64,
        /// The system's reason.
        reason: String,
    },
    /// A host access outside the memory.
    #[error(
        "memory access of {len} bytes at offset {offset} is out of bounds (memory size {size} bytes)"
    )]
    OutOfBounds {
        /// Start of the access.
        offset: u64,
        /// Length of the access.
        len: u64,
        /// Current memory size.
        size: u64,
    },
}

/// One linear memory.
#[derive(Debug)]
pub struct LinearMemory {
    def: UnsafeCell<VMMemoryDefinition>,
    reserved: usize,
    max_pages: u64,
    ty: MemoryType,
}

impl LinearMemory {
    /// Creates a memory of type `ty`, at most `limit_pages` pages (if set), with guard pages unless
    /// `explicit_bounds_checks`.
    ///
    /// # Errors
    /// When the initial size exceeds the limit or the reservation fails.
    pub fn new(
        ty: MemoryType,
        explicit_bounds_checks: bool,
        limit_pages: Option<u64>,
    ) -> Result<Box<LinearMemory>, MemoryError> {
        let mut max_pages = ty
            .limits
            .max
            .unwrap_or(u64::MAX)
            .min(ty.max_pages_allowed());
        if let Some(limit) = limit_pages {
            max_pages = max_pages.min(limit);
        }
        let err = |reason: &str| MemoryError::Allocation {
            pages: ty.limits.min,
            reason: reason.to_string(),
        };
        if ty.limits.min > max_pages {
            return Err(err("the initial size exceeds the memory limit"));
        }
        let reserved = if !explicit_bounds_checks && !ty.memory64 {
            GUARDED_RESERVATION
        } else {
            max_pages
                .saturating_mul(PAGE_SIZE)
                .min(DEFAULT_UNGUARDED_RESERVATION.max(ty.limits.min * PAGE_SIZE))
        };
        max_pages = max_pages.min(reserved / PAGE_SIZE);
        let reserved =
            usize::try_from(reserved).map_err(|_| err("reservation exceeds the address space"))?;
        let base = if reserved == 0 {
            std::ptr::NonNull::<u8>::dangling().as_ptr()
        } else {
            // SAFETY: a fresh private anonymous reservation with no access; nothing else refers to it.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    reserved,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANON | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                return Err(err(&std::io::Error::last_os_error().to_string()));
            }
            p.cast::<u8>()
        };
        let memory = Box::new(LinearMemory {
            def: UnsafeCell::new(VMMemoryDefinition { base, length: 0 }),
            reserved,
            max_pages,
            ty,
        });
        if memory.grow(ty.limits.min).is_none() {
            return Err(err("cannot commit the initial pages"));
        }
        Ok(memory)
    }

    /// The memory's type.
    pub fn ty(&self) -> MemoryType {
        self.ty
    }

    /// The definition compiled code reads.
    pub fn definition(&self) -> *mut VMMemoryDefinition {
        self.def.get()
    }

    /// Current size in bytes.
    pub fn byte_size(&self) -> u64 {
        // SAFETY: the definition is only written by `grow`, on this thread, never concurrently with a read.
        unsafe { (*self.def.get()).length }
    }

    /// Current size in pages.
    pub fn pages(&self) -> u64 {
        self.byte_size() / PAGE_SIZE
    }

    fn base(&self) -> *mut u8 {
        // SAFETY: see `byte_size`; the base never changes after creation.
        unsafe { (*self.def.get()).base }
    }

    /// Grows by `delta` pages; returns the old size in pages, or `None` if the maximum would be exceeded
    /// or the system refuses.
    pub fn grow(&self, delta: u64) -> Option<u64> {
        let old_pages = self.pages();
        let new_pages = old_pages.checked_add(delta)?;
        if new_pages > self.max_pages {
            return None;
        }
        if delta > 0 {
            let old_bytes = usize::try_from(old_pages * PAGE_SIZE).ok()?;
            let new_bytes = usize::try_from(new_pages * PAGE_SIZE).ok()?;
            debug_assert!(new_bytes <= self.reserved);
            // SAFETY: `[old_bytes, new_bytes)` lies inside our reservation (new_pages <= max_pages, which
            // fits the reservation), so this only changes the protection of memory we own.
            let rc = unsafe {
                libc::mprotect(
                    self.base().add(old_bytes).cast(),
                    new_bytes - old_bytes,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            if rc != 0 {
                return None;
            }
        }
        // SAFETY: see `byte_size`.
        unsafe { (*self.def.get()).length = new_pages * PAGE_SIZE };
        Some(old_pages)
    }

    fn check(&self, offset: u64, len: u64) -> Result<usize, MemoryError> {
        let size = self.byte_size();
        match offset.checked_add(len) {
            Some(end) if end <= size => {
                Ok(usize::try_from(offset).expect("inside a mapped memory"))
            }
            _ => Err(MemoryError::OutOfBounds { offset, len, size }),
        }
    }

    /// Copies bytes out of the memory.
    ///
    /// # Errors
    /// When the range is out of bounds.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        let start = self.check(offset, buf.len() as u64)?;
        // SAFETY: the range is inside the accessible part of the memory (checked above) and `buf` is a
        // distinct Rust buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base().add(start), buf.as_mut_ptr(), buf.len())
        };
        Ok(())
    }

    /// Copies bytes into the memory.
    ///
    /// # Errors
    /// When the range is out of bounds.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<(), MemoryError> {
        let start = self.check(offset, data.len() as u64)?;
        // SAFETY: as in `read`.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.base().add(start), data.len()) };
        Ok(())
    }

    /// `memory.fill`.
    pub(crate) fn fill(&self, dst: u64, value: u8, len: u64) -> Result<(), MemoryError> {
        let start = self.check(dst, len)?;
        // SAFETY: the range is inside the accessible memory (checked above).
        unsafe { std::ptr::write_bytes(self.base().add(start), value, len as usize) };
        Ok(())
    }

    /// `memory.copy` from `src` memory (possibly the same) into this one.
    pub(crate) fn copy_from(
        &self,
        src: &LinearMemory,
        dst: u64,
        src_offset: u64,
        len: u64,
    ) -> Result<(), MemoryError> {
        let d = self.check(dst, len)?;
        let s = src.check(src_offset, len)?;
        // SAFETY: both ranges are inside accessible memory (checked above); `copy` allows overlap.
        unsafe { std::ptr::copy(src.base().add(s), self.base().add(d), len as usize) };
        Ok(())
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        if self.reserved > 0 {
            // SAFETY: unmapping the reservation this memory created; no code can use it any more.
            unsafe { libc::munmap(self.base().cast(), self.reserved) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_in_place_up_to_the_maximum() {
        let m = LinearMemory::new(MemoryType::new(1, Some(3)), false, None).unwrap();
        let base = m.base();
        assert_eq!(m.grow(1), Some(1));
        assert_eq!(m.grow(2), None);
        assert_eq!(m.grow(1), Some(2));
        assert_eq!(m.pages(), 3);
        assert_eq!(m.base(), base);
        m.write(3 * PAGE_SIZE - 4, &[1, 2, 3, 4]).unwrap();
        assert!(m.write(3 * PAGE_SIZE - 3, &[1, 2, 3, 4]).is_err());
    }

    #[test]
    fn explicit_mode_respects_the_limit() {
        let m = LinearMemory::new(MemoryType::new(0, None), true, Some(2)).unwrap();
        assert_eq!(m.grow(2), Some(0));
        assert_eq!(m.grow(1), None);
        assert!(LinearMemory::new(MemoryType::new(3, None), true, Some(2)).is_err());
    }
}
