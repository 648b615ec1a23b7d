//! The file descriptor table: what each guest fd refers to (a standard stream, a host file, a host
//! directory), with its WASI rights and flags.

use crate::ctx::OutputBuffer;
use crate::errno::{Errno, WasiResult};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

/// WASI rights bits (`rights` in the preview1 witx).
pub mod rights {
    /// `fd_datasync`.
    pub const FD_DATASYNC: u64 = 1 << 0;
    /// `fd_read`.
    pub const FD_READ: u64 = 1 << 1;
    /// `fd_seek`.
    pub const FD_SEEK: u64 = 1 << 2;
    /// `fd_fdstat_set_flags`.
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    /// `fd_sync`.
    pub const FD_SYNC: u64 = 1 << 4;
    /// `fd_tell`.
    pub const FD_TELL: u64 = 1 << 5;
    /// `fd_write`.
    pub const FD_WRITE: u64 = 1 << 6;
    /// `fd_advise`.
    pub const FD_ADVISE: u64 = 1 << 7;
    /// `fd_allocate`.
    pub const FD_ALLOCATE: u64 = 1 << 8;
    /// `path_create_directory`.
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    /// `path_create_file`.
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    /// `path_link_source`.
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    /// `path_link_target`.
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    /// `path_open`.
    pub const PATH_OPEN: u64 = 1 << 13;
    /// `fd_readdir`.
    pub const FD_READDIR: u64 = 1 << 14;
    /// `path_readlink`.
    pub const PATH_READLINK: u64 = 1 << 15;
    /// `path_rename_source`.
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    /// `path_rename_target`.
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    /// `path_filestat_get`.
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    /// `path_filestat_set_size`.
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    /// `path_filestat_set_times`.
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    /// `fd_filestat_get`.
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    /// `fd_filestat_set_size`.
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    /// `fd_filestat_set_times`.
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    /// `path_symlink`.
    pub const PATH_SYMLINK: u64 = 1 << 24;
    /// `path_remove_directory`.
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    /// `path_unlink_file`.
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    /// `poll_fd_readwrite`.
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    /// `sock_shutdown`.
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    /// `sock_accept`.
    pub const SOCK_ACCEPT: u64 = 1 << 29;

    /// Rights of a regular file opened for everything.
    pub const FILE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;
    /// Rights of a directory. `PATH_FILESTAT_SET_SIZE` is not among them: rights are not enforced
    /// (see [`crate::add_to_linker`]), and `path_open` with `O_TRUNC` truncates whenever the host
    /// allows it, so the right would promise a control that does not exist.
    pub const DIR: u64 = FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_ADVISE
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE
        | POLL_FD_READWRITE;
    /// Rights of a standard stream: [`STDIN`] and [`STDOUT`] together.
    pub const STDIO: u64 = STDIN | STDOUT;
    /// Rights of stdin (fd 0). Without `FD_SEEK` and `FD_TELL`, as for every standard stream, so
    /// wasi-libc's `isatty` is true exactly when the stream is reported as a character device.
    pub const STDIN: u64 = FD_READ | FD_FILESTAT_GET | POLL_FD_READWRITE;
    /// Rights of stdout and stderr (fds 1 and 2).
    pub const STDOUT: u64 = FD_WRITE | FD_FILESTAT_GET | POLL_FD_READWRITE;
}

/// WASI file types (`filetype`).
pub mod filetype {
    /// The type is unknown.
    pub const UNKNOWN: u8 = 0;
    /// A block device.
    pub const BLOCK_DEVICE: u8 = 1;
    /// A character device (for a standard stream: a terminal).
    pub const CHARACTER_DEVICE: u8 = 2;
    /// A directory.
    pub const DIRECTORY: u8 = 3;
    /// A regular file.
    pub const REGULAR_FILE: u8 = 4;
    /// A datagram socket.
    pub const SOCKET_DGRAM: u8 = 5;
    /// A stream socket.
    pub const SOCKET_STREAM: u8 = 6;
    /// A symbolic link.
    pub const SYMBOLIC_LINK: u8 = 7;
}

/// WASI fd flags (`fdflags`).
pub mod fdflags {
    /// Append mode.
    pub const APPEND: u16 = 1;
    /// Synchronized data writes.
    pub const DSYNC: u16 = 2;
    /// Non-blocking mode.
    pub const NONBLOCK: u16 = 4;
    /// Synchronized reads.
    pub const RSYNC: u16 = 8;
    /// Synchronized writes.
    pub const SYNC: u16 = 16;
}

/// Where a guest's stdin comes from.
pub(crate) enum InputSource {
    /// The host process's stdin.
    Inherit,
    /// Fixed bytes, then end of file.
    Bytes(io::Cursor<Vec<u8>>),
}

/// Where a guest's stdout or stderr goes.
pub(crate) enum OutputSink {
    /// Discarded.
    Null,
    /// The host process's stream of the same number.
    Inherit,
    /// A capture buffer.
    Buffer(OutputBuffer),
}

/// An open host directory (opened for reading, so it can be listed and used as an `openat` base).
pub(crate) struct Dir {
    pub(crate) fd: OwnedFd,
}

impl Dir {
    /// Opens the host directory `path`.
    pub(crate) fn open(path: &Path) -> io::Result<Dir> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(path)?;
        Ok(Dir { fd: file.into() })
    }

    /// The directory fd, for `*at` calls.
    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// What an fd refers to.
pub(crate) enum FdKind {
    /// Fd 0.
    Stdin(InputSource),
    /// Fd 1.
    Stdout(OutputSink),
    /// Fd 2.
    Stderr(OutputSink),
    /// A host file (regular file, device...).
    File(File),
    /// A host directory.
    Dir(Dir),
}

/// One entry of the fd table.
pub(crate) struct FdEntry {
    pub(crate) kind: FdKind,
    pub(crate) rights_base: u64,
    pub(crate) rights_inheriting: u64,
    /// The WASI fd flags last set (append, nonblock, ...).
    pub(crate) flags: u16,
    /// For preopened directories: the name the guest knows them by.
    pub(crate) preopen: Option<String>,
}

impl FdEntry {
    pub(crate) fn stdio(kind: FdKind) -> FdEntry {
        let rights_base = match kind {
            FdKind::Stdin(_) => rights::STDIN,
            _ => rights::STDOUT,
        };
        FdEntry {
            kind,
            rights_base,
            rights_inheriting: 0,
            flags: 0,
            preopen: None,
        }
    }

    pub(crate) fn preopen(dir: Dir, guest_path: String) -> FdEntry {
        FdEntry {
            kind: FdKind::Dir(dir),
            rights_base: rights::DIR,
            rights_inheriting: rights::DIR | rights::FILE,
            flags: 0,
            preopen: Some(guest_path),
        }
    }

    /// The WASI file type.
    pub(crate) fn filetype(&self) -> u8 {
        match &self.kind {
            // Bytes, a capture buffer or nothing: not a terminal, and no host file either.
            FdKind::Stdin(_) | FdKind::Stdout(_) | FdKind::Stderr(_) => self
                .with_stream_host_fd(stream_filetype)
                .unwrap_or(filetype::UNKNOWN),
            FdKind::Dir(_) => filetype::DIRECTORY,
            FdKind::File(f) => match fstat(f.as_fd()) {
                Ok(st) => filetype_of_mode(st.st_mode),
                Err(_) => filetype::UNKNOWN,
            },
        }
    }

    /// The host fd behind a file or directory (`None` for the standard streams).
    pub(crate) fn host_fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.kind {
            FdKind::File(f) => Some(f.as_fd()),
            FdKind::Dir(d) => Some(d.as_fd()),
            _ => None,
        }
    }

    /// For a standard stream connected to the host process's stream: `f` applied to that host fd.
    pub(crate) fn with_stream_host_fd<R>(&self, f: impl FnOnce(BorrowedFd<'_>) -> R) -> Option<R> {
        match &self.kind {
            FdKind::Stdin(InputSource::Inherit) => Some(f(io::stdin().as_fd())),
            FdKind::Stdout(OutputSink::Inherit) => Some(f(io::stdout().as_fd())),
            FdKind::Stderr(OutputSink::Inherit) => Some(f(io::stderr().as_fd())),
            _ => None,
        }
    }

    /// Whether the fd is one of the standard streams.
    pub(crate) fn is_stream(&self) -> bool {
        matches!(
            self.kind,
            FdKind::Stdin(_) | FdKind::Stdout(_) | FdKind::Stderr(_)
        )
    }

    /// The directory behind the fd: `notdir` for a file, `badf` for a standard stream (which has no
    /// path below it at all).
    pub(crate) fn dir(&self) -> WasiResult<&Dir> {
        match &self.kind {
            FdKind::Dir(d) => Ok(d),
            FdKind::File(_) => Err(Errno::Notdir),
            _ => Err(Errno::Badf),
        }
    }

    /// Reads into several buffers with one operation (`readv` for files), filling them in order.
    pub(crate) fn read_vectored(&mut self, bufs: &mut [io::IoSliceMut<'_>]) -> WasiResult<usize> {
        match &mut self.kind {
            FdKind::Stdin(InputSource::Inherit) => Ok(io::stdin().read_vectored(bufs)?),
            FdKind::Stdin(InputSource::Bytes(c)) => Ok(c.read_vectored(bufs)?),
            FdKind::File(f) => Ok(f.read_vectored(bufs)?),
            FdKind::Dir(_) | FdKind::Stdout(_) | FdKind::Stderr(_) => Err(Errno::Badf),
        }
    }

    /// Writes `data` at the current position (or the end, in append mode).
    pub(crate) fn write(&mut self, data: &[u8]) -> WasiResult<usize> {
        match &mut self.kind {
            FdKind::Stdout(sink) => {
                if let OutputSink::Inherit = sink {
                    // What the embedder printed through `std::io::stdout` goes out first.
                    let _ = io::stdout().flush();
                }
                write_sink(sink, data, libc::STDOUT_FILENO)
            }
            FdKind::Stderr(sink) => write_sink(sink, data, libc::STDERR_FILENO),
            FdKind::File(f) => Ok(f.write(data)?),
            FdKind::Dir(_) | FdKind::Stdin(_) => Err(Errno::Badf),
        }
    }
}

/// Writes to a standard output stream. A host stream is written directly (no buffer in between, so
/// the result is the host's: a closed pipe gives `pipe`, a full disk `nospc`) and may write less than
/// `data`.
fn write_sink(sink: &mut OutputSink, data: &[u8], host_fd: i32) -> WasiResult<usize> {
    match sink {
        OutputSink::Null => Ok(data.len()),
        OutputSink::Buffer(b) => {
            b.append(data);
            Ok(data.len())
        }
        OutputSink::Inherit => write_fd(host_fd, data),
    }
}

/// One `write(2)` of `data` to the host fd `fd`, retried when interrupted.
fn write_fd(fd: i32, data: &[u8]) -> WasiResult<usize> {
    loop {
        // SAFETY: `data` is readable for its length; `fd` is a plain number (a closed fd gives `EBADF`,
        // and nothing here takes ownership of it).
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = Errno::last();
        if err != Errno::Intr {
            return Err(err);
        }
    }
}

/// The fd table. Numbers are reused last freed first (as Wasmtime does), not lowest first: a program
/// that moved its stdout away with `fd_renumber` and then opens a file must not find that file under
/// number 1, where its buffered output would go.
#[derive(Default)]
pub(crate) struct FdTable {
    entries: BTreeMap<u32, FdEntry>,
    /// Free numbers once used (each at most once), the last freed at the end.
    free: Vec<u32>,
}

/// Most fds a guest may hold open at once.
const MAX_FDS: usize = 1 << 16;

impl FdTable {
    pub(crate) fn insert_at(&mut self, fd: u32, entry: FdEntry) -> Option<FdEntry> {
        self.free.retain(|&f| f != fd);
        self.entries.insert(fd, entry)
    }

    /// Adds an entry under the last freed number, or above every number in use when none is free.
    pub(crate) fn push(&mut self, entry: FdEntry) -> WasiResult<u32> {
        if self.entries.len() >= MAX_FDS {
            return Err(Errno::Mfile);
        }
        let fd = match self.free.pop() {
            Some(fd) => fd,
            None => match self.entries.last_key_value() {
                Some((&last, _)) => last.checked_add(1).ok_or(Errno::Mfile)?,
                None => 0,
            },
        };
        self.entries.insert(fd, entry);
        Ok(fd)
    }

    pub(crate) fn get(&self, fd: u32) -> WasiResult<&FdEntry> {
        self.entries.get(&fd).ok_or(Errno::Badf)
    }

    pub(crate) fn get_mut(&mut self, fd: u32) -> WasiResult<&mut FdEntry> {
        self.entries.get_mut(&fd).ok_or(Errno::Badf)
    }

    pub(crate) fn remove(&mut self, fd: u32) -> WasiResult<FdEntry> {
        let entry = self.entries.remove(&fd).ok_or(Errno::Badf)?;
        self.free.push(fd);
        Ok(entry)
    }
}

/// `fstat` of a host fd.
pub(crate) fn fstat(fd: BorrowedFd<'_>) -> WasiResult<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: `fd` is open for the duration of the call and `st` has room for a `stat`.
    let rc = unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(Errno::last());
    }
    // SAFETY: `fstat` succeeded, so it filled `st` (and it was zeroed before).
    Ok(unsafe { st.assume_init() })
}

/// The WASI file type a standard stream connected to the host stream `fd` reports, as Wasmtime does
/// and as wasi-libc's `isatty` expects: a character device only for a terminal; a regular file, a
/// block device or a socket for what they are; anything else (a pipe, `/dev/null`...) `unknown`,
/// WASI having no type for pipes, and a non-terminal character device not being a terminal.
pub(crate) fn stream_filetype(fd: BorrowedFd<'_>) -> u8 {
    use std::io::IsTerminal;
    match fstat(fd) {
        Ok(st) => match st.st_mode & libc::S_IFMT {
            libc::S_IFCHR if fd.is_terminal() => filetype::CHARACTER_DEVICE,
            libc::S_IFREG | libc::S_IFBLK | libc::S_IFSOCK => filetype_of_mode(st.st_mode),
            _ => filetype::UNKNOWN,
        },
        Err(_) => filetype::UNKNOWN,
    }
}

/// The WASI file type of a host `st_mode`.
pub(crate) fn filetype_of_mode(mode: libc::mode_t) -> u8 {
    match mode & libc::S_IFMT {
        libc::S_IFREG => filetype::REGULAR_FILE,
        libc::S_IFDIR => filetype::DIRECTORY,
        libc::S_IFLNK => filetype::SYMBOLIC_LINK,
        libc::S_IFCHR => filetype::CHARACTER_DEVICE,
        libc::S_IFBLK => filetype::BLOCK_DEVICE,
        libc::S_IFSOCK => filetype::SOCKET_STREAM,
        _ => filetype::UNKNOWN,
    }
}

/// A WASI `filestat` (64 bytes in guest memory).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Filestat {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) filetype: u8,
    pub(crate) nlink: u64,
    pub(crate) size: u64,
    pub(crate) atim: u64,
    pub(crate) mtim: u64,
    pub(crate) ctim: u64,
}

fn timestamp(secs: i64, nsecs: i64) -> u64 {
    (secs as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(nsecs as u64)
}

impl Filestat {
    #[allow(
        clippy::unnecessary_cast,
        reason = "the widths of `stat` fields vary between targets"
    )]
    pub(crate) fn from_stat(st: &libc::stat) -> Filestat {
        Filestat {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            filetype: filetype_of_mode(st.st_mode),
            nlink: st.st_nlink as u64,
            size: st.st_size as u64,
            atim: timestamp(st.st_atime, st.st_atime_nsec),
            mtim: timestamp(st.st_mtime, st.st_mtime_nsec),
            ctim: timestamp(st.st_ctime, st.st_ctime_nsec),
        }
    }

    /// The guest layout.
    pub(crate) fn to_bytes(self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[0..8].copy_from_slice(&self.dev.to_le_bytes());
        b[8..16].copy_from_slice(&self.ino.to_le_bytes());
        b[16] = self.filetype;
        b[24..32].copy_from_slice(&self.nlink.to_le_bytes());
        b[32..40].copy_from_slice(&self.size.to_le_bytes());
        b[40..48].copy_from_slice(&self.atim.to_le_bytes());
        b[48..56].copy_from_slice(&self.mtim.to_le_bytes());
        b[56..64].copy_from_slice(&self.ctim.to_le_bytes());
        b
    }
}

/// Takes ownership of a raw fd returned by a successful `openat`.
pub(crate) fn owned_fd(raw: i32) -> WasiResult<OwnedFd> {
    if raw < 0 {
        return Err(Errno::last());
    }
    // SAFETY: `raw` was just returned by the kernel as a new open fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}
