//! `SharedMemory`: a linear memory of the threads proposal, used by instances in several stores on
//! several threads at once.

use crate::Error;
use crate::engine::{BoundsChecks, Engine};
use std::sync::Arc;
use std::time::Duration;
use wasmz_environ::MemoryType;
use wasmz_runtime::LinearMemory;
use wasmz_runtime::parking::{self, Expected};

/// What [`SharedMemory::atomic_wait32`] and [`SharedMemory::atomic_wait64`] return (the values of
/// wasm's `memory.atomic.wait*`: 0, 1 and 2).
pub use wasmz_runtime::parking::WaitResult;

/// A `shared` linear memory. Unlike a [`crate::Memory`], it belongs to no [`crate::Store`]: it is a
/// cheap, cloneable handle (`Send + Sync`) to one memory that any number of stores, on any threads,
/// can give to their instances ([`crate::Linker::define_shared_memory`]); every instance using it
/// reads and writes the same bytes, and wasm's atomic operators and `memory.atomic.wait/notify`
/// synchronize the threads. The memory lives until the last handle and the last store using it are
/// gone.
///
/// A shared memory reserves the address space of its maximum size up front and never moves; growth
/// (from the host or from wasm on any thread) is serialized and only ever lengthens it, so code running
/// on other threads stays correct while it grows. The reservation is bounded by
/// [`crate::Config::memory_limit`] and, without guard pages (64-bit memories, explicit bounds checks),
/// capped at 64 GiB; if the system refuses it, the memory is not created.
///
/// Memory budget: a shared memory is charged to no store's budget ([`crate::Config::memory_budget`]),
/// since it is not owned by one store and may outlive each of them; its size is bounded by its
/// declared maximum (which shared memories must have) and by [`crate::Config::memory_limit`] of the
/// engine that created it.
#[derive(Clone)]
pub struct SharedMemory {
    pub(crate) memory: Arc<LinearMemory>,
}

impl std::fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SharedMemory({:p}, {})",
            self.memory.data_ptr(),
            self.ty()
        )
    }
}

impl SharedMemory {
    /// Creates a shared memory of type `ty` (which must be `shared` and have a maximum), laid out for
    /// the code of `engine` (guard pages or explicit bounds checks, as its [`crate::Config`] says, and
    /// within its memory limit).
    ///
    /// # Errors
    /// [`Error::Resource`] when `ty` is not shared or has no maximum, exceeds the configured limit, or
    /// the address space of its maximum size cannot be reserved.
    pub fn new(engine: &Engine, ty: MemoryType) -> Result<SharedMemory, Error> {
        if !ty.shared {
            return Err(Error::Resource(format!(
                "a shared memory needs a shared memory type, not {ty}"
            )));
        }
        if ty.limits.max.is_none() {
            return Err(Error::Resource(
                "shared memory must have a maximum size".into(),
            ));
        }
        let config = engine.config();
        let memory = LinearMemory::new(
            ty,
            config.bounds_checks == BoundsChecks::Explicit,
            config.memory_limit.map(|b| b / wasmz_runtime::PAGE_SIZE),
        )
        .map_err(|e| Error::Resource(e.to_string()))?;
        Ok(SharedMemory {
            memory: Arc::from(memory),
        })
    }

    pub(crate) fn from_runtime(memory: Arc<LinearMemory>) -> SharedMemory {
        SharedMemory { memory }
    }

    /// The memory's type (with its declared initial size).
    pub fn ty(&self) -> MemoryType {
        self.memory.ty()
    }

    /// Current size in pages.
    pub fn size_pages(&self) -> u64 {
        self.memory.pages()
    }

    /// Current size in bytes.
    pub fn data_size(&self) -> u64 {
        self.memory.byte_size()
    }

    /// The address of the memory's first byte. It never changes, and [`SharedMemory::data_size`] bytes
    /// from it are accessible (more after growth). Other threads may access the bytes at any time:
    /// use atomic operations through it, or accept racy reads.
    pub fn data_ptr(&self) -> *mut u8 {
        self.memory.data_ptr()
    }

    /// Grows by `delta` pages and returns the old size in pages. Safe while other threads run code
    /// using the memory.
    ///
    /// # Errors
    /// When the maximum or the configured limit would be exceeded.
    pub fn grow(&self, delta: u64) -> Result<u64, Error> {
        self.memory
            .grow(delta)
            .ok_or_else(|| Error::OutOfBounds(format!("cannot grow memory by {delta} pages")))
    }

    /// Copies `buf.len()` bytes starting at `offset` out of the memory (not atomically: bytes other
    /// threads write meanwhile may or may not be seen).
    ///
    /// # Errors
    /// When the range is out of bounds.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        self.memory
            .read(offset, buf)
            .map_err(|e| Error::OutOfBounds(e.to_string()))
    }

    /// Copies `data` into the memory at `offset` (not atomically).
    ///
    /// # Errors
    /// When the range is out of bounds.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<(), Error> {
        self.memory
            .write(offset, data)
            .map_err(|e| Error::OutOfBounds(e.to_string()))
    }

    /// The native address of the naturally aligned `size`-byte location at `offset`.
    fn location(&self, offset: u64, size: u64) -> Result<*const u8, Error> {
        if !offset.is_multiple_of(size) {
            return Err(Error::OutOfBounds(format!(
                "offset {offset} is not aligned to {size} bytes"
            )));
        }
        match offset.checked_add(size) {
            Some(end) if end <= self.data_size() => {}
            _ => {
                return Err(Error::OutOfBounds(format!(
                    "memory access of {size} bytes at offset {offset} is out of bounds"
                )));
            }
        }
        let offset = usize::try_from(offset).expect("inside a mapped memory");
        Ok(self.data_ptr().wrapping_add(offset).cast_const())
    }

    /// `memory.atomic.notify` from the host: wakes up to `count` threads waiting on the 4-byte location
    /// at `offset` and returns how many were woken.
    ///
    /// # Errors
    /// When `offset` is not 4-aligned or out of bounds.
    pub fn atomic_notify(&self, offset: u64, count: u32) -> Result<u32, Error> {
        let address = self.location(offset, 4)?;
        Ok(parking::notify(address, count))
    }

    /// `memory.atomic.wait32` from the host: blocks until notified, unless the 4-byte location at
    /// `offset` does not hold `expected` or `timeout` (`None`: forever) passes first.
    ///
    /// # Errors
    /// When `offset` is not 4-aligned or out of bounds.
    pub fn atomic_wait32(
        &self,
        offset: u64,
        expected: u32,
        timeout: Option<Duration>,
    ) -> Result<WaitResult, Error> {
        let address = self.location(offset, 4)?;
        // SAFETY: `address` is an aligned, in-bounds location of this memory, which `self` keeps alive
        // (and mapped) during the call.
        Ok(unsafe { parking::wait(address, Expected::U32(expected), timeout) })
    }

    /// `memory.atomic.wait64` from the host, as [`SharedMemory::atomic_wait32`] for an 8-byte
    /// location.
    ///
    /// # Errors
    /// When `offset` is not 8-aligned or out of bounds.
    pub fn atomic_wait64(
        &self,
        offset: u64,
        expected: u64,
        timeout: Option<Duration>,
    ) -> Result<WaitResult, Error> {
        let address = self.location(offset, 8)?;
        // SAFETY: as in `atomic_wait32`.
        Ok(unsafe { parking::wait(address, Expected::U64(expected), timeout) })
    }
}
