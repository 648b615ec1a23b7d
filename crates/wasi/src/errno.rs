//! WASI preview1 error numbers (`errno`) and their mapping from host errors.

use std::io;
use wasmz::HostError;

/// A WASI preview1 error number, as returned by every `wasi_snapshot_preview1` function.
///
/// Only the values this implementation produces have variants; the numbering follows the
/// `errno` enumeration of the preview1 witx definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Errno {
    /// No error occurred.
    Success = 0,
    /// Argument list too long.
    TooBig = 1,
    /// Permission denied.
    Acces = 2,
    /// Resource unavailable, or operation would block.
    Again = 6,
    /// Bad file descriptor.
    Badf = 8,
    /// Device or resource busy.
    Busy = 10,
    /// File exists.
    Exist = 20,
    /// Bad address (a guest pointer out of bounds of its memory).
    Fault = 21,
    /// File too large.
    Fbig = 22,
    /// Illegal byte sequence (a path that is not UTF-8).
    Ilseq = 25,
    /// Interrupted function.
    Intr = 27,
    /// Invalid argument.
    Inval = 28,
    /// I/O error.
    Io = 29,
    /// Is a directory.
    Isdir = 31,
    /// Too many levels of symbolic links.
    Loop = 32,
    /// File descriptor value too large / too many open files.
    Mfile = 33,
    /// Too many links.
    Mlink = 34,
    /// Filename too long.
    Nametoolong = 37,
    /// Too many files open in system.
    Nfile = 41,
    /// No such device.
    Nodev = 43,
    /// No such file or directory.
    Noent = 44,
    /// Not enough space.
    Nomem = 48,
    /// No space left on device.
    Nospc = 51,
    /// Function not supported.
    Nosys = 52,
    /// Not a directory or a symbolic link to a directory.
    Notdir = 54,
    /// Directory not empty.
    Notempty = 55,
    /// Not a socket.
    Notsock = 57,
    /// Not supported.
    Notsup = 58,
    /// Inappropriate I/O control operation.
    Notty = 59,
    /// No such device or address.
    Nxio = 60,
    /// Value too large to be stored in data type.
    Overflow = 61,
    /// Operation not permitted.
    Perm = 63,
    /// Broken pipe.
    Pipe = 64,
    /// Result too large.
    Range = 68,
    /// Read-only file system.
    Rofs = 69,
    /// Invalid seek.
    Spipe = 70,
    /// Text file busy.
    Txtbsy = 74,
    /// Cross-device link.
    Xdev = 75,
    /// Capabilities insufficient: the sandbox refused the operation (a path leaving its preopened
    /// directory, an absolute path, a symbolic link pointing outside).
    Notcapable = 76,
}

impl Errno {
    /// The numeric value passed to the guest.
    pub fn raw(self) -> u16 {
        self as u16
    }

    /// Maps a host `errno` value to its WASI counterpart (`Io` for values without one).
    pub fn from_host(code: i32) -> Errno {
        match code {
            libc::E2BIG => Errno::TooBig,
            libc::EACCES => Errno::Acces,
            libc::EAGAIN => Errno::Again,
            libc::EBADF => Errno::Badf,
            libc::EBUSY => Errno::Busy,
            libc::EEXIST => Errno::Exist,
            libc::EFAULT => Errno::Fault,
            libc::EFBIG => Errno::Fbig,
            libc::EILSEQ => Errno::Ilseq,
            libc::EINTR => Errno::Intr,
            libc::EINVAL => Errno::Inval,
            libc::EIO => Errno::Io,
            libc::EISDIR => Errno::Isdir,
            libc::ELOOP => Errno::Loop,
            libc::EMFILE => Errno::Mfile,
            libc::EMLINK => Errno::Mlink,
            libc::ENAMETOOLONG => Errno::Nametoolong,
            libc::ENFILE => Errno::Nfile,
            libc::ENODEV => Errno::Nodev,
            libc::ENOENT => Errno::Noent,
            libc::ENOMEM => Errno::Nomem,
            libc::ENOSPC => Errno::Nospc,
            libc::ENOSYS => Errno::Nosys,
            libc::ENOTDIR => Errno::Notdir,
            libc::ENOTEMPTY => Errno::Notempty,
            libc::ENOTSOCK => Errno::Notsock,
            libc::EOPNOTSUPP => Errno::Notsup,
            libc::ENOTTY => Errno::Notty,
            libc::ENXIO => Errno::Nxio,
            libc::EOVERFLOW => Errno::Overflow,
            libc::EPERM => Errno::Perm,
            libc::EPIPE => Errno::Pipe,
            libc::ERANGE => Errno::Range,
            libc::EROFS => Errno::Rofs,
            libc::ESPIPE => Errno::Spipe,
            libc::ETXTBSY => Errno::Txtbsy,
            libc::EXDEV => Errno::Xdev,
            _ => Errno::Io,
        }
    }

    /// The WASI error for the calling thread's last host error (`errno`).
    pub(crate) fn last() -> Errno {
        Errno::from(io::Error::last_os_error())
    }
}

impl From<io::Error> for Errno {
    fn from(e: io::Error) -> Errno {
        match e.raw_os_error() {
            Some(code) => Errno::from_host(code),
            None => match e.kind() {
                io::ErrorKind::NotFound => Errno::Noent,
                io::ErrorKind::PermissionDenied => Errno::Acces,
                io::ErrorKind::AlreadyExists => Errno::Exist,
                io::ErrorKind::InvalidInput => Errno::Inval,
                io::ErrorKind::BrokenPipe => Errno::Pipe,
                io::ErrorKind::WouldBlock => Errno::Again,
                io::ErrorKind::Interrupted => Errno::Intr,
                _ => Errno::Io,
            },
        }
    }
}

/// Guest memory accesses out of bounds are reported to the guest as `fault`, not as traps.
impl From<HostError> for Errno {
    fn from(_: HostError) -> Errno {
        Errno::Fault
    }
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?} ({})", self.raw())
    }
}

impl std::error::Error for Errno {}

/// The result of a WASI operation: a value, or the error number returned to the guest.
pub type WasiResult<T> = Result<T, Errno>;
