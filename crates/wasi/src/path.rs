//! `path_*`: operations on paths relative to a directory fd, and the sandbox that keeps them inside it.
//!
//! # The sandbox
//!
//! A guest reaches host files only through directory fds: the preopened directories and what was
//! opened below them. Every path is resolved here, one component at a time, with `openat`-style calls
//! relative to a directory fd the guest holds:
//!
//! - an absolute path is refused with `notcapable` (76): preopens have no host parent to start from;
//! - `..` goes back to the directory the walk came from; `..` at the starting directory would leave
//!   it and fails with `notcapable`;
//! - each intermediate directory is opened with `O_NOFOLLOW`; symbolic links are read with
//!   `readlinkat` and their target is spliced into the remaining path and walked by the same rules, so
//!   a link whose target is absolute, or climbs out with `..`, fails with `notcapable`; more than 40
//!   links in one resolution fail with `loop`;
//! - the last component is handed to the final `*at` call with `O_NOFOLLOW` / `AT_SYMLINK_NOFOLLOW`,
//!   after being expanded here when the guest asked to follow links, so the kernel never follows a link
//!   on its own.
//!
//! # Trailing slashes
//!
//! A path ending with `/` names a directory. The slash is not passed to the kernel (the final `*at`
//! call gets the bare name, so it never follows a link by itself); instead each function gives the
//! error POSIX gives for a trailing slash on something that is not a directory, before it changes
//! anything: `path_symlink("t", "x/")` and `path_link(.., "x/")` fail with `noent` (or `exist` when
//! `x` is a directory, `notdir` when it is something else), `path_rename` of a non-directory with a
//! slash on either path with `notdir`, `path_unlink_file("d/")` with `isdir` (`notdir` when `d` is
//! not a directory), `path_readlink("l/")` with `notdir`, `path_filestat_*("f/")` with `notdir`.
//!
//! `path_symlink` refuses absolute link targets (`notcapable`): such links would be useless inside
//! the sandbox and dangerous to the host.

use crate::ctx::WasiState;
use crate::errno::{Errno, WasiResult};
use crate::fd::timespecs;
use crate::fdtable::{Dir, FdEntry, FdKind, Filestat, fdflags, owned_fd, rights};
use crate::memory::{read_string, write_bytes, write_u32};
use std::collections::VecDeque;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use wasmz::HostContext;

/// Most symbolic links expanded in one resolution.
const MAX_SYMLINKS: u32 = 40;

/// `lookupflags`: follow a symbolic link in the last component.
const LOOKUP_SYMLINK_FOLLOW: u32 = 1;

/// `oflags`.
const O_CREAT: u32 = 1;
const O_DIRECTORY: u32 = 2;
const O_EXCL: u32 = 4;
const O_TRUNC: u32 = 8;

/// A resolved path: a host directory fd (the starting one, or one opened during the walk) and one last
/// component to pass to an `*at` call (`.` when the path names the directory itself).
pub(crate) struct Resolved<'a> {
    base: BorrowedFd<'a>,
    /// Directories opened on the way; the last one holds the final component.
    stack: Vec<OwnedFd>,
    name: CString,
    /// The path ended with `/` (or a link target did): it must name a directory.
    must_be_dir: bool,
}

impl Resolved<'_> {
    fn dir(&self) -> i32 {
        self.stack
            .last()
            .map_or(self.base.as_raw_fd(), |d| d.as_raw_fd())
    }
}

fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = Vec<u8>> + '_ {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
}

fn c_name(bytes: &[u8]) -> WasiResult<CString> {
    CString::new(bytes).map_err(|_| Errno::Inval)
}

/// The target of the symbolic link `name` in `dir`, or `None` when it is not a link (or does not exist).
fn read_link(dir: i32, name: &CString) -> WasiResult<Option<Vec<u8>>> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: `dir` is open, `name` is NUL-terminated and `buf` has `buf.len()` writable bytes.
    let n = unsafe { libc::readlinkat(dir, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        let err = std::io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::EINVAL) | Some(libc::ENOENT) => Ok(None),
            _ => Err(err.into()),
        };
    }
    buf.truncate(n as usize);
    Ok(Some(buf))
}

/// Flags to open a directory only to walk through it.
const WALK_FLAGS: i32 = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// Resolves `path` relative to `base` inside the sandbox (see the module documentation).
/// `follow_final`: whether a symbolic link in the last component is followed.
pub(crate) fn resolve<'a>(
    base: BorrowedFd<'a>,
    path: &str,
    follow_final: bool,
) -> WasiResult<Resolved<'a>> {
    if path.is_empty() {
        return Err(Errno::Noent);
    }
    if path.starts_with('/') {
        return Err(Errno::Notcapable);
    }
    let mut queue: VecDeque<Vec<u8>> = components(path.as_bytes()).collect();
    let mut must_be_dir = path.ends_with('/');
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut links = 0;
    let done = |stack: Vec<OwnedFd>, name: &[u8], must_be_dir: bool| {
        Ok(Resolved {
            base,
            stack,
            name: c_name(name)?,
            must_be_dir,
        })
    };
    while let Some(comp) = queue.pop_front() {
        let last = queue.is_empty();
        match comp.as_slice() {
            b"." => {
                if last {
                    return done(stack, b".", true);
                }
            }
            b".." => {
                if stack.pop().is_none() {
                    return Err(Errno::Notcapable);
                }
                if last {
                    return done(stack, b".", true);
                }
            }
            name => {
                let cname = c_name(name)?;
                let cur = stack.last().map_or(base.as_raw_fd(), |d| d.as_raw_fd());
                if (!last || follow_final || must_be_dir)
                    && let Some(target) = read_link(cur, &cname)?
                {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(Errno::Loop);
                    }
                    if target.first() == Some(&b'/') {
                        return Err(Errno::Notcapable);
                    }
                    if target.is_empty() {
                        return Err(Errno::Noent);
                    }
                    if last && target.ends_with(b"/") {
                        must_be_dir = true;
                    }
                    for c in components(&target).rev() {
                        queue.push_front(c);
                    }
                    continue;
                }
                if last {
                    return done(stack, name, must_be_dir);
                }
                // SAFETY: `cur` is open and `cname` is NUL-terminated.
                let raw = unsafe { libc::openat(cur, cname.as_ptr(), WALK_FLAGS) };
                stack.push(owned_fd(raw)?);
            }
        }
    }
    done(stack, b".", true)
}

/// Checks a host call's return value.
fn check(rc: i32) -> WasiResult<()> {
    if rc < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// The directory fd `fd` of the guest.
fn dir_of(st: &WasiState, fd: u32) -> WasiResult<&Dir> {
    st.fds.get(fd)?.dir()
}

#[allow(
    clippy::too_many_arguments,
    reason = "mirrors the WASI function's parameters"
)]
pub(crate) fn path_open(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    dirflags: u32,
    path: (u32, u32),
    oflags: u32,
    rights_base: u64,
    rights_inheriting: u64,
    fd_flags: u32,
    opened: u32,
) -> WasiResult<()> {
    let path = read_string(cx, path.0, path.1)?;
    let parent = st.fds.get(fd)?;
    let parent_inheriting = parent.rights_inheriting;
    let dir = parent.dir()?;
    let r = resolve(dir.as_fd(), &path, dirflags & LOOKUP_SYMLINK_FOLLOW != 0)?;
    let mut flags = libc::O_CLOEXEC | libc::O_NOFOLLOW;
    if oflags & O_CREAT != 0 {
        flags |= libc::O_CREAT;
    }
    if oflags & O_EXCL != 0 {
        flags |= libc::O_EXCL;
    }
    if oflags & O_TRUNC != 0 {
        flags |= libc::O_TRUNC;
    }
    // A directory is neither created nor truncated by `path_open` (`inval`, as in Wasmtime).
    if oflags & O_DIRECTORY != 0 && oflags & (O_CREAT | O_EXCL | O_TRUNC) != 0 {
        return Err(Errno::Inval);
    }
    if oflags & O_DIRECTORY != 0 || r.must_be_dir {
        flags |= libc::O_DIRECTORY;
    }
    // Write access when a write right is asked (so a directory asked for writing is `isdir`, from the
    // kernel, as POSIX `open(dir, O_RDWR)`), or to truncate.
    let write =
        rights_base & (rights::FD_WRITE | rights::FD_ALLOCATE) != 0 || oflags & O_TRUNC != 0;
    let read = rights_base & (rights::FD_READ | rights::FD_READDIR) != 0;
    flags |= match (read, write) {
        (_, false) => libc::O_RDONLY,
        (false, true) => libc::O_WRONLY,
        (true, true) => libc::O_RDWR,
    };
    let fd_flags = u16::try_from(fd_flags).map_err(|_| Errno::Inval)?;
    if fd_flags & fdflags::APPEND != 0 {
        flags |= libc::O_APPEND;
    }
    if fd_flags & fdflags::NONBLOCK != 0 {
        flags |= libc::O_NONBLOCK;
    }
    if fd_flags & fdflags::SYNC != 0 {
        flags |= libc::O_SYNC;
    }
    if fd_flags & fdflags::DSYNC != 0 {
        flags |= libc::O_DSYNC;
    }
    if fd_flags & fdflags::RSYNC != 0 {
        flags |= libc::O_RSYNC;
    }
    memory_check(cx, opened)?;
    // SAFETY: the directory fd is open and the name NUL-terminated.
    let raw = unsafe { libc::openat(r.dir(), r.name.as_ptr(), flags, 0o666 as libc::c_uint) };
    let host = owned_fd(raw)?;
    drop(r);
    let st_mode = crate::fdtable::fstat(host.as_fd())?.st_mode;
    let is_dir = st_mode & libc::S_IFMT == libc::S_IFDIR;
    let kind = if is_dir {
        FdKind::Dir(Dir { fd: host })
    } else {
        FdKind::File(std::fs::File::from(host))
    };
    let new_fd = st.fds.push(FdEntry {
        kind,
        rights_base: crate::fd::inherit_rights(parent_inheriting, rights_base, is_dir),
        rights_inheriting: rights_inheriting & parent_inheriting,
        flags: fd_flags,
        preopen: None,
    })?;
    write_u32(cx, opened, new_fd)
}

fn memory_check(cx: &HostContext<'_, '_>, ptr: u32) -> WasiResult<()> {
    crate::memory::check_range(cx, ptr, 4)
}

pub(crate) fn path_create_directory(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    path: (u32, u32),
) -> WasiResult<()> {
    let path = read_string(cx, path.0, path.1)?;
    let r = resolve(dir_of(st, fd)?.as_fd(), &path, false)?;
    // SAFETY: the directory fd is open and the name NUL-terminated.
    check(unsafe { libc::mkdirat(r.dir(), r.name.as_ptr(), 0o777) })
}

pub(crate) fn path_remove_directory(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    path: (u32, u32),
) -> WasiResult<()> {
    let path = read_string(cx, path.0, path.1)?;
    let r = resolve(dir_of(st, fd)?.as_fd(), &path, false)?;
    // SAFETY: as above.
    check(unsafe { libc::unlinkat(r.dir(), r.name.as_ptr(), libc::AT_REMOVEDIR) })
}

pub(crate) fn path_unlink_file(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    path: (u32, u32),
) -> WasiResult<()> {
    let path = read_string(cx, path.0, path.1)?;
    let r = resolve(dir_of(st, fd)?.as_fd(), &path, false)?;
    if r.must_be_dir {
        // A directory is not unlinked as a file; anything else is not a directory.
        return Err(match kind_at(&r)? {
            libc::S_IFDIR => Errno::Isdir,
            _ => Errno::Notdir,
        });
    }
    // SAFETY: as above.
    check(unsafe { libc::unlinkat(r.dir(), r.name.as_ptr(), 0) })
}

pub(crate) fn path_rename(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    old: (u32, u32),
    new_fd: u32,
    new: (u32, u32),
) -> WasiResult<()> {
    let old = read_string(cx, old.0, old.1)?;
    let new = read_string(cx, new.0, new.1)?;
    let from = resolve(dir_of(st, fd)?.as_fd(), &old, false)?;
    let to = resolve(dir_of(st, new_fd)?.as_fd(), &new, false)?;
    // A trailing slash on either path: only a directory may be renamed.
    if (from.must_be_dir || to.must_be_dir) && kind_at(&from)? != libc::S_IFDIR {
        return Err(Errno::Notdir);
    }
    // SAFETY: both directory fds are open and both names NUL-terminated.
    check(unsafe { libc::renameat(from.dir(), from.name.as_ptr(), to.dir(), to.name.as_ptr()) })
}

/// The type of what the resolved name is (`S_IFDIR`, `S_IFREG`...), without following a link.
fn kind_at(r: &Resolved<'_>) -> WasiResult<libc::mode_t> {
    Ok(stat_at(r)?.st_mode & libc::S_IFMT)
}

/// For a path that ended with `/`: `notdir` unless the name is a directory (or its own stat error,
/// such as `noent`).
fn dir_if_slashed(r: &Resolved<'_>) -> WasiResult<()> {
    if r.must_be_dir && kind_at(r)? != libc::S_IFDIR {
        return Err(Errno::Notdir);
    }
    Ok(())
}

/// For the name of something to create that is not a directory (a link), given with a trailing `/`:
/// the error POSIX gives, `noent` when the name is free, `exist` for a directory, `notdir` for
/// anything else.
fn refuse_slashed_new_name(r: &Resolved<'_>) -> WasiResult<()> {
    if !r.must_be_dir {
        return Ok(());
    }
    Err(match kind_at(r) {
        Ok(libc::S_IFDIR) => Errno::Exist,
        Ok(_) => Errno::Notdir,
        Err(e) => e,
    })
}

fn stat_at(r: &Resolved<'_>) -> WasiResult<libc::stat> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: the directory fd is open, the name NUL-terminated, and `stat` has room for a `stat`.
    check(unsafe {
        libc::fstatat(
            r.dir(),
            r.name.as_ptr(),
            stat.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    // SAFETY: `fstatat` succeeded and filled it.
    Ok(unsafe { stat.assume_init() })
}

pub(crate) fn path_filestat_get(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    flags: u32,
    path: (u32, u32),
    buf: u32,
) -> WasiResult<()> {
    let path = read_string(cx, path.0, path.1)?;
    let r = resolve(
        dir_of(st, fd)?.as_fd(),
        &path,
        flags & LOOKUP_SYMLINK_FOLLOW != 0,
    )?;
    dir_if_slashed(&r)?;
    let stat = stat_at(&r)?;
    write_bytes(cx, buf, &Filestat::from_stat(&stat).to_bytes())
}

#[allow(
    clippy::too_many_arguments,
    reason = "mirrors the WASI function's parameters"
)]
pub(crate) fn path_filestat_set_times(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    flags: u32,
    path: (u32, u32),
    atim: u64,
    mtim: u64,
    fst_flags: u32,
) -> WasiResult<()> {
    let path = read_string(cx, path.0, path.1)?;
    let times = timespecs(atim, mtim, fst_flags)?;
    let r = resolve(
        dir_of(st, fd)?.as_fd(),
        &path,
        flags & LOOKUP_SYMLINK_FOLLOW != 0,
    )?;
    dir_if_slashed(&r)?;
    // SAFETY: the directory fd is open, the name NUL-terminated, `times` two timespecs.
    check(unsafe {
        libc::utimensat(
            r.dir(),
            r.name.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
}

pub(crate) fn path_symlink(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    target: (u32, u32),
    fd: u32,
    path: (u32, u32),
) -> WasiResult<()> {
    let target = read_string(cx, target.0, target.1)?;
    let path = read_string(cx, path.0, path.1)?;
    if target.starts_with('/') {
        return Err(Errno::Notcapable);
    }
    let target = c_name(target.as_bytes())?;
    let r = resolve(dir_of(st, fd)?.as_fd(), &path, false)?;
    refuse_slashed_new_name(&r)?;
    // SAFETY: the directory fd is open and both strings NUL-terminated.
    check(unsafe { libc::symlinkat(target.as_ptr(), r.dir(), r.name.as_ptr()) })
}

#[allow(
    clippy::too_many_arguments,
    reason = "mirrors the WASI function's parameters"
)]
pub(crate) fn path_readlink(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    fd: u32,
    path: (u32, u32),
    buf: u32,
    buf_len: u32,
    bufused: u32,
) -> WasiResult<()> {
    let path = read_string(cx, path.0, path.1)?;
    crate::memory::check_range(cx, buf, buf_len)?;
    crate::memory::check_range(cx, bufused, 4)?;
    let r = resolve(dir_of(st, fd)?.as_fd(), &path, false)?;
    // With a trailing slash a link was followed: what is left is not a link, `notdir` unless it is a
    // directory (whose error is `inval`, as for any non-link).
    dir_if_slashed(&r)?;
    let target = read_link(r.dir(), &r.name)?.ok_or(Errno::Inval)?;
    let n = target.len().min(buf_len as usize);
    write_bytes(cx, buf, &target[..n])?;
    write_u32(cx, bufused, n as u32)
}

#[allow(
    clippy::too_many_arguments,
    reason = "mirrors the WASI function's parameters"
)]
pub(crate) fn path_link(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    old_fd: u32,
    old_flags: u32,
    old: (u32, u32),
    new_fd: u32,
    new: (u32, u32),
) -> WasiResult<()> {
    let old = read_string(cx, old.0, old.1)?;
    let new = read_string(cx, new.0, new.1)?;
    let from = resolve(
        dir_of(st, old_fd)?.as_fd(),
        &old,
        old_flags & LOOKUP_SYMLINK_FOLLOW != 0,
    )?;
    let to = resolve(dir_of(st, new_fd)?.as_fd(), &new, false)?;
    if from.must_be_dir {
        // Directories cannot be hard-linked; anything else is not a directory.
        return Err(match kind_at(&from)? {
            libc::S_IFDIR => Errno::Perm,
            _ => Errno::Notdir,
        });
    }
    refuse_slashed_new_name(&to)?;
    // SAFETY: both directory fds are open and both names NUL-terminated.
    check(unsafe {
        libc::linkat(
            from.dir(),
            from.name.as_ptr(),
            to.dir(),
            to.name.as_ptr(),
            0,
        )
    })
}
