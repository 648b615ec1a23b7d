//! `fd_*`: operations on open file descriptors.

use crate::ctx::WasiState;
use crate::errno::{Errno, WasiResult};
use crate::fdtable::{FdKind, Filestat, fdflags, filetype, fstat, owned_fd, rights};
use crate::memory::{
    check_iovecs, check_range, gather, read_into_guest, read_iovecs, write_bytes, write_from_guest,
    write_u32, write_u64,
};
use std::io::{Seek, SeekFrom};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::fs::FileExt;
use wasmz::HostContext;

pub(crate) fn fd_read(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> WasiResult<()> {
    let iovs = read_iovecs(cx, iovs, iovs_len)?;
    check_iovecs(cx, &iovs)?;
    check_range(cx, nread, 4)?;
    let entry = st.fds.get_mut(fd)?;
    let n = read_into_guest(cx, &iovs, |bufs| entry.read_vectored(bufs))?;
    write_u32(cx, nread, n as u32)
}

pub(crate) fn fd_write(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> WasiResult<()> {
    let iovs = read_iovecs(cx, iovs, iovs_len)?;
    check_iovecs(cx, &iovs)?;
    check_range(cx, nwritten, 4)?;
    let entry = st.fds.get_mut(fd)?;
    let done = write_from_guest(cx, &iovs, |buf| entry.write(buf))?;
    write_u32(cx, nwritten, done as u32)
}

/// The host file behind `fd`, for the operations that need a position or a size: a directory is
/// `badf` (as in Wasmtime: directory fds support none of them), a standard stream `spipe`.
fn file_of(st: &mut WasiState, fd: u32) -> WasiResult<&mut std::fs::File> {
    match &mut st.fds.get_mut(fd)?.kind {
        FdKind::File(f) => Ok(f),
        FdKind::Dir(_) => Err(Errno::Badf),
        _ => Err(Errno::Spipe),
    }
}

/// The host file behind `fd`, for the operations only files support: anything else is `badf`.
fn only_file(st: &mut WasiState, fd: u32) -> WasiResult<&mut std::fs::File> {
    match &mut st.fds.get_mut(fd)?.kind {
        FdKind::File(f) => Ok(f),
        _ => Err(Errno::Badf),
    }
}

/// Fails with `badf` for a standard stream, which does not support the operation.
fn not_stream(st: &WasiState, fd: u32) -> WasiResult<&crate::fdtable::FdEntry> {
    let entry = st.fds.get(fd)?;
    if entry.is_stream() {
        return Err(Errno::Badf);
    }
    Ok(entry)
}

pub(crate) fn fd_pread(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nread: u32,
) -> WasiResult<()> {
    let iovs = read_iovecs(cx, iovs, iovs_len)?;
    check_iovecs(cx, &iovs)?;
    check_range(cx, nread, 4)?;
    let file = file_of(st, fd)?;
    let done = read_into_guest(cx, &iovs, |bufs| {
        let mut done = 0;
        for buf in bufs.iter_mut() {
            let n = file.read_at(buf, offset + done as u64)?;
            done += n;
            if n < buf.len() {
                break;
            }
        }
        Ok(done)
    })?;
    write_u32(cx, nread, done as u32)
}

pub(crate) fn fd_pwrite(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nwritten: u32,
) -> WasiResult<()> {
    let iovs = read_iovecs(cx, iovs, iovs_len)?;
    check_iovecs(cx, &iovs)?;
    let data = gather(cx, &iovs)?;
    check_range(cx, nwritten, 4)?;
    let file = file_of(st, fd)?;
    file.write_all_at(&data, offset)?;
    write_u32(cx, nwritten, data.len() as u32)
}

pub(crate) fn fd_seek(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    offset: i64,
    whence: u32,
    newoffset: u32,
) -> WasiResult<()> {
    let pos = match whence {
        0 => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
        1 => SeekFrom::Current(offset),
        2 => SeekFrom::End(offset),
        _ => return Err(Errno::Inval),
    };
    check_range(cx, newoffset, 8)?;
    let file = file_of(st, fd)?;
    let new = file.seek(pos)?;
    write_u64(cx, newoffset, new)
}

pub(crate) fn fd_tell(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    offset: u32,
) -> WasiResult<()> {
    let file = file_of(st, fd)?;
    let pos = file.stream_position()?;
    write_u64(cx, offset, pos)
}

pub(crate) fn fd_close(st: &mut WasiState, fd: u32) -> WasiResult<()> {
    st.fds.remove(fd).map(drop)
}

pub(crate) fn fd_sync(st: &mut WasiState, fd: u32, data_only: bool) -> WasiResult<()> {
    match &not_stream(st, fd)?.kind {
        FdKind::File(f) if data_only => Ok(f.sync_data()?),
        FdKind::File(f) => Ok(f.sync_all()?),
        FdKind::Dir(d) => {
            // SAFETY: the fd is open for the duration of the call.
            if unsafe { libc::fsync(d.as_fd().as_raw_fd()) } != 0 {
                return Err(Errno::last());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

pub(crate) fn fd_fdstat_get(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    buf: u32,
) -> WasiResult<()> {
    let entry = st.fds.get(fd)?;
    let mut b = [0u8; 24];
    b[0] = entry.filetype();
    b[2..4].copy_from_slice(&entry.flags.to_le_bytes());
    b[8..16].copy_from_slice(&entry.rights_base.to_le_bytes());
    b[16..24].copy_from_slice(&entry.rights_inheriting.to_le_bytes());
    write_bytes(cx, buf, &b)
}

pub(crate) fn fd_fdstat_set_flags(st: &mut WasiState, fd: u32, flags: u32) -> WasiResult<()> {
    let flags = u16::try_from(flags).map_err(|_| Errno::Inval)?;
    not_stream(st, fd)?;
    let entry = st.fds.get_mut(fd)?;
    if let FdKind::File(f) = &entry.kind {
        let raw = f.as_raw_fd();
        // SAFETY: `raw` is open for the duration of the calls.
        let current = unsafe { libc::fcntl(raw, libc::F_GETFL) };
        if current < 0 {
            return Err(Errno::last());
        }
        let mut new = current & !(libc::O_APPEND | libc::O_NONBLOCK);
        if flags & fdflags::APPEND != 0 {
            new |= libc::O_APPEND;
        }
        if flags & fdflags::NONBLOCK != 0 {
            new |= libc::O_NONBLOCK;
        }
        // SAFETY: as above.
        if unsafe { libc::fcntl(raw, libc::F_SETFL, new) } != 0 {
            return Err(Errno::last());
        }
    }
    entry.flags = flags;
    Ok(())
}

/// `fd_fdstat_set_rights`: `notsup` for every open fd. Rights are reported but not enforced (see
/// [`crate::add_to_linker`]), so dropping one would be a promise the host does not keep; refusing
/// the change, as Wasmtime does, tells the guest so (the WASI test suite reads `notsup` as "rights
/// not supported").
pub(crate) fn fd_fdstat_set_rights(
    st: &mut WasiState,
    fd: u32,
    _base: u64,
    _inheriting: u64,
) -> WasiResult<()> {
    st.fds.get(fd)?;
    Err(Errno::Notsup)
}

pub(crate) fn fd_filestat_get(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    buf: u32,
) -> WasiResult<()> {
    let entry = st.fds.get(fd)?;
    let stat = match entry.host_fd() {
        Some(h) => Filestat::from_stat(&fstat(h)?),
        // A standard stream: only the type the stream reports (see `stream_filetype`; a stream of
        // bytes or a capture buffer has none). The host file behind a redirected stream is not the
        // guest's to inspect (its device, inode, size and times), and the guest cannot seek it.
        None => Filestat {
            filetype: entry.filetype(),
            nlink: 1,
            ..Filestat::default()
        },
    };
    write_bytes(cx, buf, &stat.to_bytes())
}

pub(crate) fn fd_filestat_set_size(st: &mut WasiState, fd: u32, size: u64) -> WasiResult<()> {
    let file = only_file(st, fd)?;
    Ok(file.set_len(size)?)
}

/// Builds the `timespec` pair for `futimens`/`utimensat` from WASI `fstflags`.
pub(crate) fn timespecs(atim: u64, mtim: u64, fst_flags: u32) -> WasiResult<[libc::timespec; 2]> {
    const ATIM: u32 = 1;
    const ATIM_NOW: u32 = 2;
    const MTIM: u32 = 4;
    const MTIM_NOW: u32 = 8;
    if fst_flags & !0xf != 0
        || (fst_flags & ATIM != 0 && fst_flags & ATIM_NOW != 0)
        || (fst_flags & MTIM != 0 && fst_flags & MTIM_NOW != 0)
    {
        return Err(Errno::Inval);
    }
    let one = |set: bool, now: bool, t: u64| {
        if now {
            libc::timespec {
                tv_sec: 0,
                tv_nsec: libc::UTIME_NOW,
            }
        } else if set {
            libc::timespec {
                tv_sec: (t / 1_000_000_000) as libc::time_t,
                tv_nsec: (t % 1_000_000_000) as libc::c_long,
            }
        } else {
            libc::timespec {
                tv_sec: 0,
                tv_nsec: libc::UTIME_OMIT,
            }
        }
    };
    Ok([
        one(fst_flags & ATIM != 0, fst_flags & ATIM_NOW != 0, atim),
        one(fst_flags & MTIM != 0, fst_flags & MTIM_NOW != 0, mtim),
    ])
}

pub(crate) fn fd_filestat_set_times(
    st: &mut WasiState,
    fd: u32,
    atim: u64,
    mtim: u64,
    fst_flags: u32,
) -> WasiResult<()> {
    let times = timespecs(atim, mtim, fst_flags)?;
    let entry = not_stream(st, fd)?;
    let Some(h) = entry.host_fd() else {
        return Err(Errno::Badf);
    };
    // SAFETY: the fd is open and `times` points to two timespecs.
    if unsafe { libc::futimens(h.as_raw_fd(), times.as_ptr()) } != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

pub(crate) fn fd_advise(
    st: &mut WasiState,
    fd: u32,
    _offset: u64,
    _len: u64,
    advice: u32,
) -> WasiResult<()> {
    if advice > 5 {
        return Err(Errno::Inval);
    }
    match &st.fds.get(fd)?.kind {
        FdKind::File(_) => Ok(()),
        FdKind::Dir(_) => Err(Errno::Badf),
        _ => Err(Errno::Spipe),
    }
}

/// `fd_allocate`: `notsup` for a file, `badf` for anything else. As in Wasmtime (and WASI after
/// preview1, which dropped the function): a guest that wants a larger file sets its size.
pub(crate) fn fd_allocate(st: &mut WasiState, fd: u32, _offset: u64, _len: u64) -> WasiResult<()> {
    only_file(st, fd)?;
    Err(Errno::Notsup)
}

/// `sock_accept`, `sock_recv`, `sock_send`, `sock_shutdown`: sockets are not supported. An fd that
/// is not open is `badf`; one that is not a socket `notsock`; a host socket (a standard stream
/// connected to one) `notsup`.
pub(crate) fn sock_unsupported(st: &WasiState, fd: u32) -> WasiResult<()> {
    let entry = st.fds.get(fd)?;
    let is_socket = match entry.host_fd() {
        Some(h) => fstat(h).is_ok_and(|s| s.st_mode & libc::S_IFMT == libc::S_IFSOCK),
        None => entry.filetype() == filetype::SOCKET_STREAM,
    };
    if is_socket {
        Err(Errno::Notsup)
    } else {
        Err(Errno::Notsock)
    }
}

pub(crate) fn fd_renumber(st: &mut WasiState, from: u32, to: u32) -> WasiResult<()> {
    st.fds.get(from)?;
    st.fds.get(to)?;
    if from == to {
        return Ok(());
    }
    let entry = st.fds.remove(from)?;
    st.fds.insert_at(to, entry);
    Ok(())
}

pub(crate) fn fd_prestat_get(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    buf: u32,
) -> WasiResult<()> {
    let entry = st.fds.get(fd)?;
    let name = entry.preopen.as_ref().ok_or(Errno::Badf)?;
    let mut b = [0u8; 8];
    b[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
    write_bytes(cx, buf, &b)
}

pub(crate) fn fd_prestat_dir_name(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    path: u32,
    len: u32,
) -> WasiResult<()> {
    let entry = st.fds.get(fd)?;
    let name = entry.preopen.as_ref().ok_or(Errno::Badf)?;
    if (len as usize) < name.len() {
        return Err(Errno::Nametoolong);
    }
    write_bytes(cx, path, name.as_bytes())
}

/// One directory entry, as listed by `fd_readdir`.
struct DirEntry {
    name: Vec<u8>,
    ino: u64,
    filetype: u8,
}

/// Lists a directory (including `.` and `..`), through a fresh fd so listing never disturbs another.
#[allow(
    clippy::unnecessary_cast,
    reason = "the width of `d_ino` varies between targets"
)]
fn list_dir(dir: BorrowedFd<'_>) -> WasiResult<Vec<DirEntry>> {
    // SAFETY: `dir` is open; the path is a NUL-terminated string.
    let raw = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c".".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    let fd = owned_fd(raw)?;
    use std::os::fd::IntoRawFd;
    let raw = fd.into_raw_fd();
    // SAFETY: `raw` is an open directory fd whose ownership passes to the DIR stream.
    let stream = unsafe { libc::fdopendir(raw) };
    if stream.is_null() {
        let e = Errno::last();
        // SAFETY: `fdopendir` failed, so `raw` is still ours to close.
        unsafe { libc::close(raw) };
        return Err(e);
    }
    let mut entries = Vec::new();
    loop {
        // SAFETY: `stream` is a valid DIR stream until `closedir` below.
        let ent = unsafe { libc::readdir(stream) };
        if ent.is_null() {
            break;
        }
        // SAFETY: `readdir` returned a valid entry, whose name is NUL-terminated.
        let (name, ino, d_type) = unsafe {
            let e = &*ent;
            (
                std::ffi::CStr::from_ptr(e.d_name.as_ptr())
                    .to_bytes()
                    .to_vec(),
                e.d_ino,
                e.d_type,
            )
        };
        let filetype = match d_type {
            libc::DT_REG => filetype::REGULAR_FILE,
            libc::DT_DIR => filetype::DIRECTORY,
            libc::DT_LNK => filetype::SYMBOLIC_LINK,
            libc::DT_CHR => filetype::CHARACTER_DEVICE,
            libc::DT_BLK => filetype::BLOCK_DEVICE,
            libc::DT_SOCK => filetype::SOCKET_STREAM,
            _ => filetype::UNKNOWN,
        };
        entries.push(DirEntry {
            name,
            ino: ino as u64,
            filetype,
        });
    }
    // SAFETY: `stream` is valid and not used afterwards.
    unsafe { libc::closedir(stream) };
    Ok(entries)
}

pub(crate) fn fd_readdir(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    bufused: u32,
) -> WasiResult<()> {
    check_range(cx, buf, buf_len)?;
    check_range(cx, bufused, 4)?;
    let entry = st.fds.get(fd)?;
    let dir = entry.dir()?;
    let entries = list_dir(dir.as_fd())?;
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate().skip(cookie as usize) {
        if out.len() >= buf_len as usize {
            break;
        }
        let mut header = [0u8; 24];
        header[0..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
        header[8..16].copy_from_slice(&e.ino.to_le_bytes());
        header[16..20].copy_from_slice(&(e.name.len() as u32).to_le_bytes());
        header[20] = e.filetype;
        out.extend_from_slice(&header);
        out.extend_from_slice(&e.name);
    }
    // A last entry that does not fit is cut: the guest sees a full buffer and asks again.
    out.truncate(buf_len as usize);
    write_bytes(cx, buf, &out)?;
    write_u32(cx, bufused, out.len() as u32)
}

/// Rights a newly opened file or directory gets from what the guest asked and its parent allows.
pub(crate) fn inherit_rights(parent_inheriting: u64, asked: u64, is_dir: bool) -> u64 {
    let kind = if is_dir { rights::DIR } else { rights::FILE };
    asked & parent_inheriting & kind
}
