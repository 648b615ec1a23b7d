//! Linear memory: an address-space reservation whose accessible prefix grows in place.
//!
//! With guard pages (32-bit memories), 8 GiB + 64 KiB are reserved: any `index + offset + size` of a
//! 32-bit access stays inside the reservation, so an out-of-bounds access faults on an inaccessible page
//! instead of needing a check. With explicit bounds checks (64-bit memories always), the largest size
//! the memory may reach is reserved: its declared maximum, bounded by the configured limit and by
//! [`MAX_UNGUARDED_RESERVATION`]. Either way the base never moves, so compiled code may keep it in a
//! register, and host code may keep pointers into the memory across growth.
//!
//! Reserving is cheap: the reservation is inaccessible address space (`PROT_NONE`, `MAP_NORESERVE`),
//! and accessible pages are backed by memory only when touched. When the system refuses a large
//! reservation (a limit on the address space, a small virtual address space), an unshared memory takes
//! about the largest one it grants less what it leaves to the rest of the process (its heap, thread
//! stacks and code: half of it, at most 1 GiB), and never less than its initial size; it then cannot
//! grow as far (growth returns -1, as wasm allows). A shared memory must get its whole reservation, or
//! is not created.
//!
//! A memory may be shared between threads (the threads proposal's `shared` memories, held in an `Arc`
//! by every store that uses them). Growth is serialized by a lock; it makes the new pages accessible
//! first and only then publishes the new length (an atomic store with release ordering, read with
//! acquire ordering by the host side), so every length any thread reads covers accessible pages only.
//! The length only grows, so a stale value makes a bounds check stricter, never looser; with guard
//! pages the check is the page protection, which the kernel changes for every thread at once.

use crate::traphandlers::memory_ranges::{self, RegisteredRange};
use crate::vmcontext::VMMemoryDefinition;
use std::cell::UnsafeCell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use thiserror::Error;
use wasmz_environ::MemoryType;

/// Wasm page size.
pub const PAGE_SIZE: u64 = 65536;
/// Reservation for a 32-bit memory with guard pages.
const GUARDED_RESERVATION: u64 = (8 << 30) + PAGE_SIZE;

/// Address space the rest of a process needs beside one memory with guard pages (code, heaps, thread
/// stacks, the other memories' reservations), and the most a memory that cannot get its whole
/// reservation leaves to the rest: 1 GiB.
const ADDRESS_SPACE_HEADROOM: u64 = 1 << 30;

/// The process's limit on its address space in bytes (the soft `RLIMIT_AS`, which `ulimit -v` sets),
/// or `None` when there is none.
pub fn address_space_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes the limit into `limit`, a live struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    Some(limit.rlim_cur)
}

/// Whether the process's address-space limit leaves room for a memory with guard pages (an 8 GiB
/// reservation) and for the rest of the process: true without a limit, false under one below 9 GiB.
pub fn guard_pages_fit_address_space() -> bool {
    address_space_limit().is_none_or(|limit| limit >= GUARDED_RESERVATION + ADDRESS_SPACE_HEADROOM)
}

/// Why the system refused `wanted` bytes of address space for a memory with guard pages: `e`, with the
/// process's address-space limit when it has one, and the way out.
fn guarded_reservation_refused(wanted: usize, e: &std::io::Error) -> String {
    let limit = match address_space_limit() {
        Some(limit) => format!(
            " (the process's address-space limit, `ulimit -v`, is {} MiB)",
            limit >> 20
        ),
        None => String::new(),
    };
    format!(
        "a memory with guard pages reserves {} MiB of address space{limit}, and the system \
         refused: {e}; with explicit bounds checks a memory reserves only what it may grow to",
        wanted >> 20
    )
}

/// The accessible (read-write) prefix a memory of `bytes` bytes needs: whole 64 KiB steps, a multiple
/// of every system page size, so that protection changes start on page boundaries even when a memory
/// with 1-byte wasm pages has a size that is not one. Bytes past the wasm size but inside the prefix
/// are never reachable: such memories are always bounds-checked explicitly.
fn accessible_bytes(bytes: u64) -> u64 {
    bytes.div_ceil(PAGE_SIZE).saturating_mul(PAGE_SIZE)
}
/// Largest reservation of a memory without a guard region (64-bit memories, explicit bounds checks):
/// 64 GiB. Such a memory reserves the most bytes it may reach up front, since it never moves; without
/// this cap a 64-bit memory without maximum would ask for 2^64 bytes. 64 GiB leaves room for about two
/// thousand such memories in the 128 TiB of user address space of x86-64 Linux (256 TiB on aarch64
/// with 48-bit virtual addresses).
/// A memory cannot grow past it, whatever its declared maximum (unless its initial size is larger: then
/// it is reserved exactly and cannot grow).
pub const MAX_UNGUARDED_RESERVATION: u64 = 64 << 30;

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
    /// The memory type's page size is neither 64 KiB nor 1 byte.
    #[error("a memory's page size must be 64 KiB or 1 byte (page_size_log2 16 or 0), not 2^{0}")]
    PageSize(u8),
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

/// Most reservations kept for reuse by [`RESERVATIONS`].
const MAX_POOLED_RESERVATIONS: usize = 32;

/// An address-space reservation whose first `accessible` bytes are readable and writable (and zero) and
/// whose remainder is inaccessible.
#[derive(Debug)]
struct Reservation {
    base: *mut u8,
    size: usize,
    accessible: usize,
}

// SAFETY: a reservation is plain address space owned by whoever holds the struct; nothing in it is tied
// to a thread.
unsafe impl Send for Reservation {}

/// Reservations released by dropped memories, ready for reuse: reserving (`mmap`) and releasing (`munmap`,
/// which walks the page tables of the whole 8 GiB range) dominate the cost of a small memory otherwise.
/// A released reservation has its pages given back to the system (`MADV_DONTNEED`, so they read as zero
/// when touched again); its accessible prefix is kept so that an instance of the same module needs no
/// `mprotect` either.
struct ReservationPool {
    free: Mutex<Vec<Reservation>>,
    capacity: usize,
}

/// The process-wide pool every linear memory uses.
static RESERVATIONS: ReservationPool = ReservationPool::new(MAX_POOLED_RESERVATIONS);

impl ReservationPool {
    const fn new(capacity: usize) -> ReservationPool {
        ReservationPool {
            free: Mutex::new(Vec::new()),
            capacity,
        }
    }

    /// A reservation of exactly `size` bytes (`size > 0`), reused when one is free, else mapped; its
    /// accessible prefix may have any length (all of it zero). When the system refuses to map it, the
    /// pooled reservations (address space nobody uses) are given back first and the mapping retried.
    fn acquire(&self, size: usize) -> std::io::Result<Reservation> {
        {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            // Prefer the most recently released one (its page tables are likely still warm).
            if let Some(i) = free.iter().rposition(|r| r.size == size) {
                return Ok(free.swap_remove(i));
            }
        }
        Self::map(size).or_else(|e| {
            let pooled = std::mem::take(&mut *self.free.lock().unwrap_or_else(|e| e.into_inner()));
            if pooled.is_empty() {
                return Err(e);
            }
            pooled.into_iter().for_each(Reservation::unmap);
            Self::map(size)
        })
    }

    /// A fresh reservation of `size` bytes, all inaccessible.
    fn map(size: usize) -> std::io::Result<Reservation> {
        // SAFETY: a fresh private anonymous reservation with no access; nothing else refers to it.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANON | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Reservation {
            base: p.cast(),
            size,
            accessible: 0,
        })
    }

    /// Takes back a reservation nobody uses any more: discards its contents and keeps it for reuse, or
    /// unmaps it when the pool is full or the contents cannot be discarded.
    fn release(&self, r: Reservation) {
        if r.accessible > 0 {
            // SAFETY: the accessible prefix is part of the reservation, which no code uses any more.
            // MADV_DONTNEED on private anonymous memory makes the pages read as zero on the next access.
            let rc = unsafe { libc::madvise(r.base.cast(), r.accessible, libc::MADV_DONTNEED) };
            if rc != 0 {
                r.unmap();
                return;
            }
        }
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < self.capacity {
            free.push(r);
        } else {
            drop(free);
            r.unmap();
        }
    }
}

impl Reservation {
    /// Makes exactly the first `bytes` bytes accessible.
    fn set_accessible(&mut self, bytes: usize) -> std::io::Result<()> {
        debug_assert!(bytes <= self.size);
        let (start, len, prot) = if bytes > self.accessible {
            (
                self.accessible,
                bytes - self.accessible,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        } else if bytes < self.accessible {
            (bytes, self.accessible - bytes, libc::PROT_NONE)
        } else {
            return Ok(());
        };
        // SAFETY: `[start, start + len)` lies inside the reservation we own.
        let rc = unsafe { libc::mprotect(self.base.add(start).cast(), len, prot) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        self.accessible = bytes;
        Ok(())
    }

    fn unmap(self) {
        // SAFETY: unmapping the reservation we own; nothing refers to it any more.
        unsafe { libc::munmap(self.base.cast(), self.size) };
    }
}

/// A reservation of `wanted` bytes or, if the system refuses, of part of the address space it has
/// left, at least `least` bytes.
///
/// The largest size the system grants is about all the address space the process has left (under
/// `ulimit -v`, say), and taking all of it would make the allocations of the rest of the process
/// fail: its heap, thread stacks and code. So the memory leaves the rest half of that, up to
/// [`ADDRESS_SPACE_HEADROOM`]. The largest size granted is found by halving the size until one is
/// granted, then bisecting four times between that and the last refused (within a sixteenth).
fn reserve(
    wanted: usize,
    least: usize,
    mut acquire: impl FnMut(usize) -> std::io::Result<Reservation>,
) -> std::io::Result<Reservation> {
    debug_assert!(0 < least && least <= wanted);
    let page = PAGE_SIZE as usize;
    let mut refused = wanted;
    let mut size = wanted;
    let mut granted = loop {
        match acquire(size) {
            Ok(r) if size == wanted || size == least => return Ok(r),
            Ok(r) => {
                r.unmap();
                break size;
            }
            Err(e) if size <= least => return Err(e),
            Err(_) => {
                refused = size;
                size = (accessible_bytes(size as u64 / 2) as usize).max(least);
            }
        }
    };
    for _ in 0..4 {
        let mid = (granted + (refused - granted) / 2) / page * page;
        if mid <= granted {
            break;
        }
        match acquire(mid) {
            Ok(r) => {
                r.unmap();
                granted = mid;
            }
            Err(_) => refused = mid,
        }
    }
    let rest = (granted / 2).min(ADDRESS_SPACE_HEADROOM as usize);
    acquire(((granted - rest) / page * page).max(least))
}

/// One linear memory.
#[derive(Debug)]
pub struct LinearMemory {
    def: UnsafeCell<VMMemoryDefinition>,
    reserved: usize,
    /// Whether the reservation has the guard region that lets 32-bit accesses go unchecked.
    guarded: bool,
    /// Bytes at the start of the reservation that are currently readable and writable (changed only
    /// under `grow_lock`).
    accessible: AtomicUsize,
    /// Cleared when a protection change failed (it may have applied in part), so that the reservation is
    /// unmapped rather than reused with an unknown accessible prefix.
    reusable: AtomicBool,
    max_pages: u64,
    ty: MemoryType,
    /// The store's budget, once the memory belongs to a store (charged on growth). Shared memories
    /// belong to no store and never have one.
    budget: AtomicPtr<crate::budget::MemoryBudget>,
    /// Serializes growth (several threads may grow a shared memory at once).
    grow_lock: Mutex<()>,
    /// The reservation's entry in the signal handler's registry of ranges where a memory access may
    /// fault (none for an empty reservation).
    fault_range: Option<RegisteredRange>,
}

// SAFETY: the definition is written only by `grow`, under `grow_lock`, with an atomic store of the
// length (the base never changes); every other field is atomic or immutable. The memory's bytes are
// raw storage that wasm code on several threads may access racily, as the threads proposal allows;
// host accesses copy through raw pointers within the checked length. The budget pointer is only set
// for memories owned by one store, which are used by that store's thread alone.
unsafe impl Send for LinearMemory {}
// SAFETY: as for `Send`.
unsafe impl Sync for LinearMemory {}

impl LinearMemory {
    /// Creates a memory of type `ty`, at most `limit_pages` pages (if set), with guard pages unless
    /// `explicit_bounds_checks`.
    ///
    /// # Errors
    /// When the page size is not a valid one, the initial size exceeds the limit or the reservation
    /// fails.
    pub fn new(
        ty: MemoryType,
        explicit_bounds_checks: bool,
        limit_pages: Option<u64>,
    ) -> Result<Box<LinearMemory>, MemoryError> {
        if !ty.has_valid_page_size() {
            return Err(MemoryError::PageSize(ty.page_size_log2));
        }
        let page_size = ty.page_size();
        let mut max_pages = ty
            .limits
            .max
            .unwrap_or(u64::MAX)
            .min(ty.max_pages_allowed());
        if let Some(limit) = limit_pages {
            // The limit counts 64 KiB pages.
            max_pages = max_pages.min(limit.saturating_mul(PAGE_SIZE) / page_size);
        }
        let err = |reason: &str| MemoryError::Allocation {
            pages: ty.limits.min,
            reason: reason.to_string(),
        };
        if ty.limits.min > max_pages {
            return Err(err("the initial size exceeds the memory limit"));
        }
        // A 64-bit memory may declare up to 2^48 pages: 2^64 bytes do not fit in a u64.
        let min_bytes = ty
            .limits
            .min
            .checked_mul(page_size)
            .and_then(|bytes| usize::try_from(bytes).ok())
            .ok_or_else(|| err("initial size exceeds the address space"))?;
        let guarded = ty.may_use_guard_pages() && !explicit_bounds_checks;
        let wanted = if guarded {
            GUARDED_RESERVATION
        } else {
            // Accessible memory grows in whole 64 KiB steps (see `accessible_bytes`).
            accessible_bytes(
                max_pages
                    .saturating_mul(page_size)
                    .min(MAX_UNGUARDED_RESERVATION.max(min_bytes as u64)),
            )
        };
        let wanted =
            usize::try_from(wanted).map_err(|_| err("reservation exceeds the address space"))?;
        let (base, accessible, reserved) = if wanted == 0 {
            (std::ptr::NonNull::<u8>::dangling().as_ptr(), 0, 0)
        } else {
            // Code compiled for guard pages relies on the whole guard region, and a shared memory
            // must reach its maximum without moving: both need all of `wanted`. Any other memory
            // can do with less, down to its initial size.
            let least = if guarded || ty.shared {
                wanted
            } else {
                (accessible_bytes(min_bytes as u64) as usize).clamp(PAGE_SIZE as usize, wanted)
            };
            let mut r = reserve(wanted, least, |size| RESERVATIONS.acquire(size)).map_err(|e| {
                if ty.shared && !guarded {
                    err(&format!(
                        "a shared memory reserves the address space of its maximum size \
                         ({wanted} bytes) up front, and the system refused: {e}"
                    ))
                } else if guarded {
                    err(&guarded_reservation_refused(wanted, &e))
                } else {
                    err(&e.to_string())
                }
            })?;
            // A reused reservation may have a longer accessible prefix than this memory's initial size;
            // the rest must fault again (guard pages are the bounds check).
            if let Err(e) = r.set_accessible(accessible_bytes(min_bytes as u64) as usize) {
                // The protection may have changed in part: do not reuse it.
                r.unmap();
                return Err(err(&e.to_string()));
            }
            (r.base, r.accessible, r.size)
        };
        max_pages = max_pages.min(reserved as u64 / page_size);
        // Out-of-bounds accesses fault somewhere in the reservation (the guard region, or the part
        // not accessible yet): the signal handler turns a fault into a trap only there.
        let fault_range = (reserved > 0).then(|| memory_ranges::register(base as usize, reserved));
        let memory = Box::new(LinearMemory {
            def: UnsafeCell::new(VMMemoryDefinition {
                base,
                length: min_bytes as u64,
            }),
            reserved,
            guarded,
            accessible: AtomicUsize::new(accessible),
            reusable: AtomicBool::new(true),
            max_pages,
            ty,
            budget: AtomicPtr::new(std::ptr::null_mut()),
            grow_lock: Mutex::new(()),
            fault_range,
        });
        Ok(memory)
    }

    /// Asks `budget`'s limiter whether a memory of type `ty` may be created: before it is, so that a
    /// refused memory never reserves address space.
    ///
    /// # Errors
    /// When the limiter refuses.
    pub fn admit(ty: MemoryType, budget: &crate::budget::MemoryBudget) -> Result<(), MemoryError> {
        let page_size = ty.page_size();
        let initial = ty.limits.min.saturating_mul(page_size);
        let maximum = ty.limits.max.map(|max| max.saturating_mul(page_size));
        if budget.allow_memory(0, initial, maximum) {
            Ok(())
        } else {
            Err(MemoryError::Allocation {
                pages: ty.limits.min,
                reason: "the store's resource limiter refused the memory".into(),
            })
        }
    }

    /// Charges the memory's current size to `budget` and charges later growth to it too. (The
    /// limiter is asked before the memory is created, see [`LinearMemory::admit`].)
    ///
    /// # Errors
    /// When the current size does not fit in the budget (the memory stays unattached).
    pub fn attach_budget(&self, budget: &crate::budget::MemoryBudget) -> Result<(), MemoryError> {
        if !budget.try_charge(self.byte_size()) {
            return Err(MemoryError::Allocation {
                pages: self.pages(),
                reason: format!(
                    "the store's memory budget of {} bytes is exhausted ({} in use)",
                    budget.limit().unwrap_or(u64::MAX),
                    budget.used()
                ),
            });
        }
        self.budget.store(
            (budget as *const crate::budget::MemoryBudget).cast_mut(),
            Ordering::Relaxed,
        );
        Ok(())
    }

    /// The memory's type.
    pub fn ty(&self) -> MemoryType {
        self.ty
    }

    /// Whether the memory is shared between threads.
    pub fn is_shared(&self) -> bool {
        self.ty.shared
    }

    /// Whether the reservation includes the guard region code compiled without explicit bounds checks
    /// relies on (for 32-bit memories).
    pub fn has_guard_region(&self) -> bool {
        self.guarded
    }

    /// The largest size in pages the memory can reach (its maximum, the configured limit, and the
    /// reservation, whichever is smallest).
    pub fn max_pages(&self) -> u64 {
        self.max_pages
    }

    /// The definition compiled code reads.
    pub fn definition(&self) -> *mut VMMemoryDefinition {
        self.def.get()
    }

    /// Address of the first byte. It never changes: the memory grows in place inside its reservation.
    pub fn data_ptr(&self) -> *mut u8 {
        self.base()
    }

    /// The definition's length, for atomic access.
    #[inline]
    fn length(&self) -> &AtomicU64 {
        // SAFETY: the length is a naturally aligned u64 inside the definition, which lives as long as
        // `self`; every Rust access to it goes through this atomic (compiled code only reads it, with
        // aligned 8-byte loads).
        unsafe { AtomicU64::from_ptr(&raw mut (*self.def.get()).length) }
    }

    /// Current size in bytes.
    #[inline]
    pub fn byte_size(&self) -> u64 {
        self.length().load(Ordering::Acquire)
    }

    /// Current size in pages.
    pub fn pages(&self) -> u64 {
        self.byte_size() >> self.ty.page_size_log2
    }

    #[inline]
    fn base(&self) -> *mut u8 {
        // SAFETY: the base is written once, at creation, and never changes.
        unsafe { (*self.def.get()).base }
    }

    /// The declared maximum in bytes, if any.
    fn maximum_bytes(&self) -> Option<u64> {
        self.ty
            .limits
            .max
            .map(|max| max.saturating_mul(self.ty.page_size()))
    }

    /// Grows by `delta` pages; returns the old size in pages, or `None` if the maximum would be exceeded
    /// or the system refuses.
    pub fn grow(&self, delta: u64) -> Option<u64> {
        let budget = self.budget.load(Ordering::Relaxed);
        if !budget.is_null() {
            // Only a store's own (unshared) memories have a budget, and only that store's thread
            // grows them: the size read here is the one the growth starts from. The limiter is asked
            // before the lock is taken, so that it may grow the memory itself.
            let current = self.byte_size();
            let desired = delta
                .checked_mul(self.ty.page_size())
                .and_then(|d| d.checked_add(current))?;
            // SAFETY: as below, the budget outlives the memory.
            if !unsafe { &*budget }.allow_memory(current, desired, self.maximum_bytes()) {
                return None;
            }
        }
        let _serialized = self.grow_lock.lock().unwrap_or_else(|e| e.into_inner());
        let old_pages = self.pages();
        let new_pages = old_pages.checked_add(delta)?;
        if new_pages > self.max_pages {
            return None;
        }
        let page_size = self.ty.page_size();
        // SAFETY: a budget pointer is set only by `attach_budget`, to the budget of the store that owns
        // this memory, which outlives it.
        if !budget.is_null() && !unsafe { &*budget }.try_charge(delta * page_size) {
            return None;
        }
        let new_accessible = usize::try_from(accessible_bytes(new_pages * page_size)).ok()?;
        let old_accessible = self.accessible.load(Ordering::Relaxed);
        if new_accessible > old_accessible {
            debug_assert!(new_accessible <= self.reserved);
            // SAFETY: `[old_accessible, new_accessible)` lies inside our reservation (new_pages <=
            // max_pages, whose bytes rounded up to 64 KiB fit the reservation) and starts at a 64 KiB
            // boundary, so this only changes the protection of memory we own.
            let rc = unsafe {
                libc::mprotect(
                    self.base().add(old_accessible).cast(),
                    new_accessible - old_accessible,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            if rc != 0 {
                self.reusable.store(false, Ordering::Relaxed);
                if !budget.is_null() {
                    // SAFETY: as above.
                    unsafe { &*budget }.release(delta * page_size);
                }
                return None;
            }
            self.accessible.store(new_accessible, Ordering::Relaxed);
        }
        // Published only now that the pages are accessible (see the module documentation).
        self.length()
            .store(new_pages * page_size, Ordering::Release);
        Some(old_pages)
    }

    /// Replaces bytes `offset..offset + len` of the memory by a private copy-on-write mapping of `file`
    /// at `file_offset`: reads see the file's bytes, writes stay in this memory. The memory's
    /// reservation is then never reused (its pages would read back the file, not zeros). Returns
    /// `false`, changing nothing, when the range cannot be mapped: not inside the memory's accessible
    /// pages, an offset or the length not a multiple of the host's page size, or a shared memory.
    ///
    /// # Errors
    /// When the system refuses the mapping (the range's contents are then undefined: the memory must
    /// not be used).
    ///
    /// # Safety
    /// Nothing may modify or truncate that part of the file while the memory lives (wasm code would see
    /// the change, or fault), and no other thread may be using the memory (it is being initialized).
    pub unsafe fn map_file(
        &self,
        offset: u64,
        len: u64,
        file: &std::fs::File,
        file_offset: u64,
    ) -> Result<bool, MemoryError> {
        use std::os::fd::AsRawFd as _;
        let page = crate::code_memory::page_size() as u64;
        let fits = offset
            .checked_add(len)
            .is_some_and(|end| end <= self.accessible.load(Ordering::Relaxed) as u64);
        let aligned = offset.is_multiple_of(page)
            && len.is_multiple_of(page)
            && file_offset.is_multiple_of(page);
        let (Ok(at), Ok(size), Ok(file_offset)) = (
            usize::try_from(offset),
            usize::try_from(len),
            libc::off_t::try_from(file_offset),
        ) else {
            return Ok(false);
        };
        if !fits || !aligned || self.ty.shared || size == 0 {
            return Ok(false);
        }
        // From here on the reservation holds file pages: it must not go back to the pool.
        self.reusable.store(false, Ordering::Relaxed);
        // SAFETY: `[at, at + size)` lies inside the accessible part of our reservation (checked above),
        // so MAP_FIXED replaces only pages of this memory, which no one else uses yet; the caller
        // guarantees the file is not changed while mapped.
        let p = unsafe {
            libc::mmap(
                self.base().add(at).cast(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_FIXED,
                file.as_raw_fd(),
                file_offset,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(MemoryError::Allocation {
                pages: self.pages(),
                reason: format!(
                    "cannot map the memory image: {}",
                    std::io::Error::last_os_error()
                ),
            });
        }
        Ok(true)
    }

    #[inline]
    fn check(&self, offset: u64, len: u64) -> Result<usize, MemoryError> {
        let size = self.byte_size();
        match offset.checked_add(len) {
            Some(end) if end <= size => {
                Ok(usize::try_from(offset).expect("inside a mapped memory"))
            }
            _ => Err(MemoryError::OutOfBounds { offset, len, size }),
        }
    }

    /// The address of the bytes `offset..offset + len`, after checking they are inside the memory. The
    /// address stays valid as long as the memory lives (memories never move), but the range may only
    /// be accessed while nothing else accesses it (see `wasmz::HostContext::memory_slice`).
    ///
    /// # Errors
    /// When the range is out of bounds.
    pub fn range_ptr(&self, offset: u64, len: u64) -> Result<*mut u8, MemoryError> {
        let start = self.check(offset, len)?;
        // SAFETY: `start` is inside the accessible part of the reservation (checked above).
        Ok(unsafe { self.base().add(start) })
    }

    /// Copies bytes out of the memory.
    ///
    /// # Errors
    /// When the range is out of bounds.
    #[inline]
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
    #[inline]
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
        // Out of the registry before the reservation can be reused by another memory.
        drop(self.fault_range.take());
        if self.reserved > 0 {
            // No code can use the memory any more: its reservation goes back to the pool.
            let r = Reservation {
                base: self.base(),
                size: self.reserved,
                accessible: *self.accessible.get_mut(),
            };
            if *self.reusable.get_mut() {
                RESERVATIONS.release(r);
            } else {
                r.unmap();
            }
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

    /// The protection of the mapping containing `addr`, from /proc/self/maps (e.g. "rw-p").
    fn protection_at(addr: usize) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        for line in maps.lines() {
            let mut parts = line.split_whitespace();
            let range = parts.next().unwrap();
            let perms = parts.next().unwrap();
            let (lo, hi) = range.split_once('-').unwrap();
            let (lo, hi) = (
                usize::from_str_radix(lo, 16).unwrap(),
                usize::from_str_radix(hi, 16).unwrap(),
            );
            if (lo..hi).contains(&addr) {
                return perms.to_string();
            }
        }
        panic!("{addr:#x} is not mapped")
    }

    #[test]
    fn pool_reuses_reservations_zeroed_with_their_accessible_prefix() {
        let pool = ReservationPool::new(1);
        let size = 4 * PAGE_SIZE as usize;
        let mut r = pool.acquire(size).unwrap();
        assert_eq!(r.accessible, 0);
        r.set_accessible(2 * PAGE_SIZE as usize).unwrap();
        // SAFETY: the first two pages are accessible.
        unsafe { std::ptr::write_bytes(r.base, 0xab, 2 * PAGE_SIZE as usize) };
        let base = r.base;
        pool.release(r);
        // A second release beyond the capacity unmaps instead of pooling.
        let other = pool.acquire(size).unwrap();
        assert_eq!(other.base, base);
        let extra = pool.acquire(size).unwrap();
        assert_ne!(extra.base, base);
        pool.release(other);
        pool.release(extra);
        assert_eq!(pool.free.lock().unwrap().len(), 1);
        let mut r = pool.acquire(size).unwrap();
        assert_eq!(r.base, base);
        assert_eq!(r.accessible, 2 * PAGE_SIZE as usize);
        // SAFETY: the first two pages are accessible.
        let bytes = unsafe { std::slice::from_raw_parts(r.base, 2 * PAGE_SIZE as usize) };
        assert!(
            bytes.iter().all(|b| *b == 0),
            "a reused reservation reads as zero"
        );
        r.set_accessible(PAGE_SIZE as usize).unwrap();
        assert_eq!(protection_at(r.base as usize), "rw-p");
        assert_eq!(protection_at(r.base as usize + PAGE_SIZE as usize), "---p");
        // A reservation of another size is never handed out.
        let small = pool.acquire(size / 2).unwrap();
        assert_ne!(small.base, base);
        small.unmap();
        r.unmap();
        for r in pool.free.lock().unwrap().drain(..) {
            r.unmap();
        }
    }

    #[test]
    fn a_memory_after_a_grown_one_starts_at_its_minimum_and_zeroed() {
        for _ in 0..4 {
            let m = LinearMemory::new(MemoryType::new(1, Some(8)), false, None).unwrap();
            assert_eq!(m.grow(4), Some(1));
            m.fill(0, 0x5a, 5 * PAGE_SIZE).unwrap();
            drop(m);
            let m = LinearMemory::new(MemoryType::new(1, Some(3)), false, None).unwrap();
            assert_eq!(m.pages(), 1);
            assert_eq!(m.accessible.load(Ordering::Relaxed), PAGE_SIZE as usize);
            let mut buf = vec![1u8; PAGE_SIZE as usize];
            m.read(0, &mut buf).unwrap();
            assert!(buf.iter().all(|b| *b == 0));
            assert!(m.read(PAGE_SIZE, &mut [0]).is_err());
            // Beyond the initial size, the reservation faults again (guard pages are the bounds check).
            assert_eq!(protection_at(m.base() as usize), "rw-p");
            assert_eq!(
                protection_at(m.base() as usize + PAGE_SIZE as usize),
                "---p"
            );
            assert_eq!(m.grow(2), Some(1));
            assert_eq!(m.grow(1), None);
            m.read(3 * PAGE_SIZE - 1, &mut [0]).unwrap();
            let mut buf = vec![1u8; 3 * PAGE_SIZE as usize];
            m.read(0, &mut buf).unwrap();
            assert!(buf.iter().all(|b| *b == 0));
        }
    }

    #[test]
    fn concurrent_growth_of_a_shared_memory_is_serialized() {
        let ty = MemoryType {
            shared: true,
            ..MemoryType::new(1, Some(41))
        };
        for explicit in [false, true] {
            let m: std::sync::Arc<LinearMemory> =
                LinearMemory::new(ty, explicit, None).unwrap().into();
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let m = m.clone();
                    std::thread::spawn(move || {
                        let mut olds = Vec::new();
                        for _ in 0..10 {
                            let old = m.grow(1).expect("below the maximum");
                            // The new last byte is accessible as soon as grow returns.
                            m.write((old + 1) * PAGE_SIZE - 1, &[1]).unwrap();
                            olds.push(old);
                        }
                        olds
                    })
                })
                .collect();
            let mut olds: Vec<u64> = threads
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect();
            olds.sort_unstable();
            // Every growth saw a distinct old size: none was lost or doubled.
            assert_eq!(olds, (1..41).collect::<Vec<u64>>());
            assert_eq!(m.pages(), 41);
            assert_eq!(m.grow(1), None);
        }
    }

    fn memory64(min: u64, max: Option<u64>) -> MemoryType {
        MemoryType {
            memory64: true,
            ..MemoryType::new(min, max)
        }
    }

    #[test]
    fn a_64_bit_memory_reserves_what_it_may_reach_up_to_the_cap() {
        const GIB: u64 = 1 << 30;
        let cases = [
            // (type, limit in pages, reservation)
            (memory64(1, None), None, MAX_UNGUARDED_RESERVATION),
            (memory64(1, Some(0x2_0000)), None, 8 * GIB),
            (memory64(1, Some(1 << 40)), None, MAX_UNGUARDED_RESERVATION),
            (memory64(1, None), Some(5 * GIB / PAGE_SIZE), 5 * GIB),
            (memory64(0, Some(0)), None, 0),
            (
                MemoryType {
                    shared: true,
                    ..memory64(1, Some(1 << 40))
                },
                None,
                MAX_UNGUARDED_RESERVATION,
            ),
            (
                MemoryType {
                    page_size_log2: 0,
                    ..memory64(3, None)
                },
                None,
                MAX_UNGUARDED_RESERVATION,
            ),
        ];
        for (ty, limit, reservation) in cases {
            // 64-bit memories are checked explicitly whatever the configuration says.
            for explicit in [false, true] {
                let m = LinearMemory::new(ty, explicit, limit).unwrap();
                assert_eq!(m.reserved as u64, reservation, "{ty} {limit:?}");
                assert_eq!(
                    m.max_pages(),
                    reservation / ty.page_size(),
                    "{ty} {limit:?}"
                );
                assert!(!m.has_guard_region());
            }
        }
    }

    #[test]
    fn a_64_bit_memory_grows_in_place_past_4_gib() {
        let m = LinearMemory::new(memory64(1, None), true, None).unwrap();
        let base = m.base();
        let pages = (5 << 30) / PAGE_SIZE;
        assert_eq!(m.grow(pages - 1), Some(1));
        assert_eq!(m.base(), base);
        m.write((5 << 30) - 4, &[1, 2, 3, 4]).unwrap();
        m.write(4 << 30, &[5]).unwrap();
        let mut buf = [0; 4];
        m.read((5 << 30) - 4, &mut buf).unwrap();
        assert_eq!(buf, [1, 2, 3, 4]);
        assert!(m.read(5 << 30, &mut buf[..1]).is_err());
        let room = MAX_UNGUARDED_RESERVATION / PAGE_SIZE - pages;
        assert_eq!(m.grow(room + 1), None, "the cap");
        assert_eq!(m.pages(), pages);
    }

    #[test]
    fn a_refused_reservation_leaves_half_of_what_is_left_and_takes_at_least_the_least() {
        let page = PAGE_SIZE as usize;
        // Reserves as `reserve(wanted, least)` does where the system grants at most 10 pages: the
        // size reserved (in pages) or the error, and the sizes tried.
        let reserve_pages = |wanted: usize, least: usize| {
            let pool = ReservationPool::new(0);
            let mut tried = Vec::new();
            let r = reserve(wanted * page, least * page, |size| {
                tried.push(size / page);
                if size > 10 * page {
                    Err(std::io::Error::from_raw_os_error(libc::ENOMEM))
                } else {
                    pool.acquire(size)
                }
            });
            let r = r.map(|r| {
                let size = r.size / page;
                r.unmap();
                size
            });
            (r.map_err(|e| e.raw_os_error()), tried)
        };
        // 16 pages refused, 8 granted, then bisected: 12 refused, 10 granted, 11 refused; half of
        // the 10 pages left for the rest of the process.
        assert_eq!(
            reserve_pages(32, 2),
            (Ok(5), vec![32, 16, 8, 12, 10, 11, 5])
        );
        // Never less than the least.
        assert_eq!(
            reserve_pages(32, 7),
            (Ok(7), vec![32, 16, 8, 12, 10, 11, 7])
        );
        // The least when the system grants just that, all of it when it grants it.
        assert_eq!(reserve_pages(16, 10), (Ok(10), vec![16, 10]));
        assert_eq!(reserve_pages(4, 1), (Ok(4), vec![4]));
        assert_eq!(
            reserve_pages(16, 11),
            (Err(Some(libc::ENOMEM)), vec![16, 11])
        );
    }

    #[test]
    fn a_refused_mapping_gives_back_the_pooled_reservations() {
        let pool = ReservationPool::new(2);
        let r = pool.acquire(PAGE_SIZE as usize).unwrap();
        pool.release(r);
        assert_eq!(pool.free.lock().unwrap().len(), 1);
        // No system maps 2^62 bytes.
        assert!(pool.acquire(1 << 62).is_err());
        assert!(pool.free.lock().unwrap().is_empty());
    }

    #[test]
    fn explicit_mode_respects_the_limit() {
        let m = LinearMemory::new(MemoryType::new(0, None), true, Some(2)).unwrap();
        assert_eq!(m.grow(2), Some(0));
        assert_eq!(m.grow(1), None);
        assert!(LinearMemory::new(MemoryType::new(3, None), true, Some(2)).is_err());
    }
}
