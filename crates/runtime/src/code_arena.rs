//! An append-only arena of executable memory for code compiled one function at a time.
//!
//! Lazily compiled code arrives a function at a time, often while other threads run code published
//! before. Giving each function a mapping of its own costs a page or more per function, scatters the
//! code over as many pages (and instruction-TLB entries), and makes every publication's `mprotect`
//! interrupt every core running the process to flush its TLB. The arena instead reserves one
//! read-and-execute mapping of an anonymous in-memory file (`memfd`) up front and appends each function
//! by writing to the file (`pwrite`): the new bytes appear through the mapping, no page of the process is
//! ever writable and executable (nor writable at all), and no permission changes.
//!
//! Bytes once written are never written again, so code published before keeps running undisturbed
//! while more is added. After `fork`, the child shares the file with its parent: only the process that
//! made the arena appends to it (each process has its own copy of the allocation cursor), the other
//! falls back to mappings of its own. Nor is there an arena under a file-size limit (`ulimit -f`)
//! below its size: growing or writing a file past the limit raises SIGXFSZ, which kills the process.
//!
//! Linux only; elsewhere [`CodeArena::new`] fails and lazily compiled code gets a mapping per function.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Alignment of each piece of code in the arena: a cache line, as for functions in whole images.
const ALIGN: usize = 64;

/// One executable mapping that code is appended to.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) struct CodeArena {
    /// The in-memory file the code is written to.
    #[cfg(target_os = "linux")]
    file: std::os::fd::OwnedFd,
    /// Start of the read-and-execute mapping of the whole file.
    base: usize,
    /// Bytes the file and the mapping hold.
    capacity: usize,
    /// Offset of the first byte not yet allocated.
    next: AtomicUsize,
    /// The process that made the arena, the only one that appends to it.
    owner: u32,
}

impl CodeArena {
    /// An arena of `capacity` bytes (rounded up to whole pages). Only the address space is reserved:
    /// the file's pages are allocated as code is written.
    ///
    /// # Errors
    /// When the file cannot be made, sized or mapped, or on systems without `memfd_create`.
    #[cfg(target_os = "linux")]
    pub(crate) fn new(capacity: usize) -> io::Result<CodeArena> {
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        // SAFETY: `sysconf` only reads a system setting.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
        let capacity = capacity
            .checked_next_multiple_of(page)
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        // Growing a file past the process's file-size limit (`ulimit -f`) raises SIGXFSZ, which
        // kills the process: under a lower limit there is no arena.
        if file_size_limit()? < capacity {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "the file-size limit is below the code arena's size",
            ));
        }
        // SAFETY: the name is a NUL-terminated string; the call has no other memory effects.
        let fd = unsafe {
            libc::memfd_create(
                c"wasmz-code".as_ptr(),
                libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let file = unsafe { OwnedFd::from_raw_fd(fd) };
        let size = libc::off_t::try_from(capacity)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: plain system calls on a descriptor this function owns.
        unsafe {
            if libc::ftruncate(file.as_raw_fd(), size) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The mapping covers the whole file: its size must never change under it.
            let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
            if libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        // SAFETY: a new shared mapping of the file chosen by the kernel, overlapping nothing; it is
        // unmapped only by `drop`, after everything published in it is gone.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                capacity,
                libc::PROT_READ | libc::PROT_EXEC,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(CodeArena {
            file,
            base: base as usize,
            capacity,
            next: AtomicUsize::new(0),
            owner: std::process::id(),
        })
    }

    /// Code arenas need `memfd_create`, which this system does not have.
    ///
    /// # Errors
    /// Always.
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn new(_capacity: usize) -> io::Result<CodeArena> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    /// Appends `code`, `phase` bytes (less than a line) past the start of a line, and returns where it
    /// starts in the executable mapping, or `None` when the arena
    /// is full, belongs to another process, or the file-size limit was lowered below its size since
    /// it was made (the caller maps the code elsewhere).
    ///
    /// # Errors
    /// When writing the file fails.
    ///
    /// # Safety
    /// The bytes become executable: they must be machine code that wasmz's compiler produced for
    /// this host (see `CodeMemory::publish`).
    pub(crate) unsafe fn append(&self, code: &[u8], phase: usize) -> io::Result<Option<*const u8>> {
        if code.is_empty() || std::process::id() != self.owner || !self.within_file_size_limit()? {
            return Ok(None);
        }
        let phase = phase % ALIGN;
        let len = (phase + code.len()).next_multiple_of(ALIGN);
        let Ok(offset) = self
            .next
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |next| {
                next.checked_add(len).filter(|&end| end <= self.capacity)
            })
        else {
            return Ok(None);
        };
        self.write_at(code, offset + phase)?;
        let start = (self.base + offset + phase) as *const u8;
        crate::code_memory::flush_instruction_cache(start, code.len());
        Ok(Some(start))
    }

    /// Whether writing anywhere in the file stays within the process's file-size limit (writing past
    /// it raises SIGXFSZ).
    #[cfg(target_os = "linux")]
    fn within_file_size_limit(&self) -> io::Result<bool> {
        Ok(file_size_limit()? >= self.capacity)
    }

    #[cfg(not(target_os = "linux"))]
    fn within_file_size_limit(&self) -> io::Result<bool> {
        Ok(false)
    }

    /// Writes `code` to the file at `offset`, a range this thread allocated.
    #[cfg(target_os = "linux")]
    fn write_at(&self, code: &[u8], offset: usize) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let mut done = 0;
        while done < code.len() {
            let rest = &code[done..];
            let at = libc::off_t::try_from(offset + done)
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
            // SAFETY: writes `rest`, a live slice, to the file this arena owns.
            let n = unsafe {
                libc::pwrite(self.file.as_raw_fd(), rest.as_ptr().cast(), rest.len(), at)
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                return Err(io::Error::from(io::ErrorKind::WriteZero));
            }
            done += n as usize;
        }
        Ok(())
    }

    #[cfg(not(target_os = "linux"))]
    fn write_at(&self, _code: &[u8], _offset: usize) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    /// The `len` bytes at `start`, which [`CodeArena::append`] returned for code of at least that
    /// length.
    pub(crate) fn bytes(&self, start: *const u8, len: usize) -> &[u8] {
        let offset = (start as usize).wrapping_sub(self.base);
        assert!(
            offset
                .checked_add(len)
                .is_some_and(|end| end <= self.capacity),
            "code range outside its arena"
        );
        // SAFETY: the range lies inside the readable mapping, which lives as long as `self`, and
        // its bytes (written before `append` returned) are never written again.
        unsafe { std::slice::from_raw_parts(start, len) }
    }
}

/// The process's file-size limit (`RLIMIT_FSIZE`) in bytes.
#[cfg(target_os = "linux")]
fn file_size_limit() -> io::Result<usize> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes the limit into `limit`, a live struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(if limit.rlim_cur == libc::RLIM_INFINITY {
        usize::MAX
    } else {
        usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
    })
}

impl Drop for CodeArena {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `new` and nothing refers to it any more: every
        // `CodeMemory` published in the arena holds it alive. (The file closes with `file`.)
        #[cfg(target_os = "linux")]
        unsafe {
            libc::munmap(self.base as *mut libc::c_void, self.capacity);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn appended_code_reads_back_on_its_own_lines_until_the_arena_is_full() {
        let arena = CodeArena::new(8192).unwrap();
        let first = [0xc3u8; 100];
        let second = [0x90u8; 4000];
        // SAFETY: the bytes are never run.
        let a = unsafe { arena.append(&first, 0) }.unwrap().unwrap();
        // SAFETY: as above.
        let b = unsafe { arena.append(&second, 0) }.unwrap().unwrap();
        assert_eq!(a as usize % ALIGN, 0);
        assert_eq!(b as usize, a as usize + 128);
        assert_eq!(arena.bytes(a, first.len()), first);
        assert_eq!(arena.bytes(b, second.len()), second);
        // 4160 bytes used: 4033 more do not fit (4096 with the alignment), 4032 do.
        // SAFETY: as above.
        assert!(unsafe { arena.append(&[1; 4033], 0) }.unwrap().is_none());
        // SAFETY: as above.
        let c = unsafe { arena.append(&[2; 4032], 0) }.unwrap().unwrap();
        assert_eq!(arena.bytes(c, 4032), [2; 4032]);
        // SAFETY: as above.
        assert!(unsafe { arena.append(&[3], 0) }.unwrap().is_none());
    }

    #[test]
    fn code_starts_at_its_phase_past_a_line() {
        let arena = CodeArena::new(4096).unwrap();
        // SAFETY: the bytes are never run.
        let a = unsafe { arena.append(&[0x90; 40], 33) }.unwrap().unwrap();
        assert_eq!(a as usize % ALIGN, 33);
        assert_eq!(arena.bytes(a, 40), [0x90; 40]);
        // 33 + 40 bytes take two lines: the next code starts on the third.
        // SAFETY: as above.
        let b = unsafe { arena.append(&[0xc3; 8], 0) }.unwrap().unwrap();
        assert_eq!(b as usize, a as usize - 33 + 128);
        // A phase of a line or more wraps within the line.
        // SAFETY: as above.
        let c = unsafe { arena.append(&[0xc3; 8], 64 + 5) }
            .unwrap()
            .unwrap();
        assert_eq!(c as usize % ALIGN, 5);
    }

    #[test]
    fn only_the_process_that_made_an_arena_appends_to_it() {
        let mut arena = CodeArena::new(8192).unwrap();
        // As in a child forked after the arena was made.
        arena.owner = std::process::id().wrapping_add(1);
        // SAFETY: the bytes are never run.
        assert!(unsafe { arena.append(&[0xc3], 0) }.unwrap().is_none());
        assert_eq!(arena.next.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn nothing_is_written_past_a_lowered_file_size_limit() {
        let mut arena = CodeArena::new(1 << 20).unwrap();
        // SAFETY: the bytes are never run.
        assert!(unsafe { arena.append(&[0xc3], 0) }.unwrap().is_some());
        // A child process lowers its limit below the arena's size: appending would raise SIGXFSZ.
        // SAFETY: the child allocates nothing and takes no lock before `_exit`.
        let child = unsafe { libc::fork() };
        assert!(child >= 0);
        if child == 0 {
            // (The child is not the arena's owner, so it would not append anyway: pretend it is.)
            arena.owner = std::process::id();
            let limit = libc::rlimit {
                rlim_cur: 4096,
                rlim_max: libc::RLIM_INFINITY,
            };
            // SAFETY: plain system calls; `_exit` ends the child without unwinding.
            unsafe {
                libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
                let appended = arena.append(&[0xc3], 0);
                libc::_exit(match appended {
                    Ok(None) => 0,
                    _ => 1,
                });
            }
        }
        let mut status = 0;
        // SAFETY: waits for the child forked above.
        assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "status {status:#x}"
        );
    }

    #[test]
    fn the_mapping_is_never_writable() {
        let arena = CodeArena::new(4096).unwrap();
        // SAFETY: the bytes are never run.
        let a = unsafe { arena.append(&[0xc3; 16], 0) }.unwrap().unwrap();
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let line = maps
            .lines()
            .find(|l| {
                let range = l.split(' ').next().unwrap();
                let (lo, hi) = range.split_once('-').unwrap();
                let lo = usize::from_str_radix(lo, 16).unwrap();
                let hi = usize::from_str_radix(hi, 16).unwrap();
                (lo..hi).contains(&(a as usize))
            })
            .unwrap();
        assert!(line.contains(" r-xs "), "{line}");
    }
}
