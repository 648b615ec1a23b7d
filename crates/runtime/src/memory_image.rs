//! A module's memory image (see `wasmz_environ::memory_image`) as instantiation applies it: mapped
//! copy-on-write from the artifact file the module was loaded from or from a memory file of its own,
//! or copied from bytes.

use crate::memory::{LinearMemory, MemoryError};
use memmap2::Mmap;
use wasmz_environ::memory_image::MemoryImageLayout;

/// The bytes of a memory image and where they come from.
pub struct MemoryImage {
    source: Source,
}

enum Source {
    /// In a file (an artifact, or a memory file) at `offset`; `view` maps the same bytes read-only,
    /// for `memory.init` of the segments the image holds.
    File {
        file: std::fs::File,
        offset: u64,
        view: Mmap,
    },
    /// In memory.
    Bytes(Box<[u8]>),
}

impl MemoryImage {
    /// The image held in memory.
    pub fn from_bytes(bytes: Box<[u8]>) -> MemoryImage {
        MemoryImage {
            source: Source::Bytes(bytes),
        }
    }

    /// `bytes` in an anonymous memory file of their own (sealed against any change), which memories
    /// will map copy-on-write: a module compiled in this process gets the same copy-free instantiation
    /// as one loaded from an artifact file.
    ///
    /// # Errors
    /// When the system cannot create, fill or map the memory file (or has none: outside Linux).
    pub fn in_memory_file(bytes: &[u8]) -> std::io::Result<MemoryImage> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use std::io::Write as _;
            use std::os::fd::FromRawFd as _;
            // SAFETY: a NUL-terminated name and valid flags; the result is checked.
            let fd = unsafe {
                libc::memfd_create(
                    c"wasmz-memory-image".as_ptr(),
                    libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
                )
            };
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: `fd` is a fresh descriptor that nothing else owns.
            let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
            file.write_all(bytes)?;
            let seals =
                libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
            // SAFETY: `fcntl` on a descriptor we own; a failure leaves the file unsealed, which only
            // this process knows of and never writes again.
            let _ = unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, seals) };
            // SAFETY: the file holds `bytes` from offset 0 and nothing changes it (it is sealed, or at
            // least known to this process alone).
            unsafe { MemoryImage::from_file(&file, 0, bytes.len()) }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = bytes;
            Err(std::io::ErrorKind::Unsupported.into())
        }
    }

    /// The `len` bytes at `offset` of `file` (a multiple of the page size), which memories will map
    /// copy-on-write.
    ///
    /// # Errors
    /// When the file cannot be duplicated or mapped.
    ///
    /// # Safety
    /// Nothing may modify or truncate that part of the file while the image or a memory made from it
    /// lives.
    pub unsafe fn from_file(
        file: &std::fs::File,
        offset: u64,
        len: usize,
    ) -> std::io::Result<MemoryImage> {
        // SAFETY: read-only, and the caller guarantees the bytes do not change.
        let view = unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len)
                .map(file)?
        };
        Ok(MemoryImage {
            source: Source::File {
                file: file.try_clone()?,
                offset,
                view,
            },
        })
    }

    /// The image's bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.source {
            Source::File { view, .. } => view,
            Source::Bytes(bytes) => bytes,
        }
    }

    /// Puts the image into `memory` (memory 0 of a new instance) where `layout` says: maps the file
    /// where it can, copies the bytes otherwise.
    ///
    /// # Errors
    /// When the image does not fit in the memory (a module whose metadata does not describe it), or
    /// the system refuses the mapping.
    pub fn apply(
        &self,
        memory: &LinearMemory,
        layout: &MemoryImageLayout,
    ) -> Result<(), MemoryError> {
        if let Source::File { file, offset, view } = &self.source {
            // SAFETY: the memory is being initialized by its instance (no code uses it yet), and the
            // file is not changed while mapped (the contract of `from_file`).
            if unsafe { memory.map_file(layout.memory_offset, view.len() as u64, file, *offset)? } {
                return Ok(());
            }
        }
        // Copied: up to the memory's size (the image's length is rounded up to whole 64 KiB pages
        // with zeros, which a memory of smaller pages may not reach).
        let bytes = self.bytes();
        let room = memory.byte_size().saturating_sub(layout.memory_offset);
        let len = bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        memory.write(layout.memory_offset, &bytes[..len])
    }
}
