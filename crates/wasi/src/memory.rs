//! Reading and writing guest memory: scalars, strings, and I/O vectors. Out-of-bounds accesses become
//! the `fault` error number.
//!
//! Lengths and counts come from the guest, which may pass anything up to 4 GiB: every guest range is
//! checked against the memory's size ([`check_range`]) before the host allocates anything for it, so a
//! host buffer sized by the guest is never larger than the guest's memory (and most are capped much
//! lower, see [`MAX_CHUNK`]). A range that does not fit is `fault` for the guest, never a failed
//! host allocation.

use crate::errno::{Errno, WasiResult};
use std::io::IoSliceMut;
use wasmz::HostContext;

/// Largest single guest buffer the host copies at once (larger requests are shortened, which WASI
/// allows for reads and writes).
const MAX_CHUNK: usize = 16 << 20;

/// A copy of the guest bytes `ptr..ptr + len` (checked against the memory first: `fault`).
pub(crate) fn read_bytes(cx: &HostContext<'_, '_>, ptr: u32, len: u32) -> WasiResult<Vec<u8>> {
    check_range(cx, ptr, len)?;
    let mut buf = vec![0u8; len as usize];
    cx.read_memory(ptr as u64, &mut buf)?;
    Ok(buf)
}

pub(crate) fn write_bytes(cx: &mut HostContext<'_, '_>, ptr: u32, data: &[u8]) -> WasiResult<()> {
    Ok(cx.write_memory(ptr as u64, data)?)
}

pub(crate) fn write_u32(cx: &mut HostContext<'_, '_>, ptr: u32, value: u32) -> WasiResult<()> {
    Ok(cx.write_u32(ptr as u64, value)?)
}

pub(crate) fn write_u64(cx: &mut HostContext<'_, '_>, ptr: u32, value: u64) -> WasiResult<()> {
    write_bytes(cx, ptr, &value.to_le_bytes())
}

/// A guest path or name: UTF-8, without NUL bytes.
pub(crate) fn read_string(cx: &HostContext<'_, '_>, ptr: u32, len: u32) -> WasiResult<String> {
    let bytes = read_bytes(cx, ptr, len)?;
    if bytes.contains(&0) {
        return Err(Errno::Inval);
    }
    String::from_utf8(bytes).map_err(|_| Errno::Ilseq)
}

/// Most buffers of an I/O vector one call transfers (POSIX's `IOV_MAX` on Linux); a call given more
/// transfers what the first ones hold, a short read or write the guest continues.
const MAX_IOVECS: u32 = 1024;

/// The (pointer, length) pairs of an `iovec`/`ciovec` array of `count` entries (8 bytes each) at
/// `iovs`, the first [`MAX_IOVECS`] of them; an array that does not fit in memory, or any buffer of it
/// that does not, is `fault`. The array is read in pieces: however many entries the guest gives, the
/// host holds at most a few thousand at once.
pub(crate) fn read_iovecs(
    cx: &HostContext<'_, '_>,
    iovs: u32,
    count: u32,
) -> WasiResult<Vec<(u32, u32)>> {
    check_range(cx, iovs, array_len(count, 8)?)?;
    let mut kept = Vec::with_capacity(count.min(MAX_IOVECS) as usize);
    // Entries are read 64 at a time into a buffer on the stack: most calls pass one or two.
    let mut raw = [0u8; 64 * 8];
    let mut first = 0;
    while first < count {
        let n = (count - first).min(64);
        let raw = &mut raw[..n as usize * 8];
        cx.read_memory(u64::from(iovs + first * 8), raw)?;
        for c in raw.chunks_exact(8) {
            let ptr = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let len = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
            check_range(cx, ptr, len)?;
            if kept.len() < MAX_IOVECS as usize {
                kept.push((ptr, len));
            }
        }
        first += n;
    }
    Ok(kept)
}

/// Checks that every buffer of an I/O vector lies in memory, so a bad one is reported before the host
/// reads or writes anything for the call.
pub(crate) fn check_iovecs(cx: &HostContext<'_, '_>, iovs: &[(u32, u32)]) -> WasiResult<()> {
    iovs.iter()
        .try_for_each(|&(ptr, len)| check_range(cx, ptr, len))
}

/// The first buffers of an I/O vector, shortened to [`MAX_CHUNK`] bytes in total.
fn capped(iovs: &[(u32, u32)]) -> impl Iterator<Item = (u32, usize)> + '_ {
    let mut room = MAX_CHUNK;
    iovs.iter().map_while(move |&(ptr, len)| {
        let take = (len as usize).min(room);
        room -= take;
        (take > 0 || len == 0).then_some((ptr, take))
    })
}

/// Whether I/O may use the guest's buffers in place: not for a shared memory, which other threads may
/// write while the host reads or writes it.
fn in_place(cx: &HostContext<'_, '_>) -> bool {
    !cx.memory_is_shared()
}

/// Reads into the guest buffers of an `iovec` array with `read`, which fills the buffers it is given in
/// order and returns the number of bytes; in place when the memory allows it, else through a copy.
pub(crate) fn read_into_guest(
    cx: &mut HostContext<'_, '_>,
    iovs: &[(u32, u32)],
    mut read: impl FnMut(&mut [IoSliceMut<'_>]) -> WasiResult<usize>,
) -> WasiResult<usize> {
    if in_place(cx) {
        return read(&mut iovec_slices(cx, iovs)?);
    }
    let mut buf = vec![0u8; capped(iovs).map(|(_, len)| len).sum()];
    let n = read(&mut [IoSliceMut::new(&mut buf)])?;
    let mut data = &buf[..n];
    for (ptr, len) in capped(iovs) {
        let take = len.min(data.len());
        cx.write_memory(u64::from(ptr), &data[..take])?;
        data = &data[take..];
    }
    Ok(n)
}

/// Writes the guest buffers of a `ciovec` array with `write` (which may write less than it is given),
/// until one is not written in full; returns the number of bytes written. In place when the memory
/// allows it, else through a copy.
pub(crate) fn write_from_guest(
    cx: &HostContext<'_, '_>,
    iovs: &[(u32, u32)],
    mut write: impl FnMut(&[u8]) -> WasiResult<usize>,
) -> WasiResult<usize> {
    // An error after some bytes were written ends the call with their count, as `write(2)` does; the
    // next call reports the error.
    let mut write_all = |buf: &[u8]| -> WasiResult<usize> {
        let mut done = 0;
        while done < buf.len() {
            let n = match write(&buf[done..]) {
                Ok(n) => n,
                Err(_) if done > 0 => break,
                Err(e) => return Err(e),
            };
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    };
    if !in_place(cx) {
        return write_all(&gather(cx, iovs)?);
    }
    let mut total = 0;
    for (ptr, len) in capped(iovs) {
        // SAFETY: the memory is not shared (`in_place`), so no other thread writes to it, and the WASI
        // host functions hold no other handle to it: nothing writes to it while `buf` (which borrows
        // `cx`) lives.
        let buf = unsafe { cx.memory_slice(u64::from(ptr), len) }?;
        let done = match write_all(buf) {
            Ok(n) => n,
            Err(_) if total > 0 => break,
            Err(e) => return Err(e),
        };
        total += done;
        if done < buf.len() {
            break;
        }
    }
    Ok(total)
}

/// The guest buffers of an `iovec` array, in place (no copy), for a vectored read: all of them when
/// they do not overlap, else only the first non-empty one (a shorter read, which WASI allows). Only for
/// a memory that is not shared (see [`in_place`]).
fn iovec_slices<'a>(
    cx: &'a mut HostContext<'_, '_>,
    iovs: &[(u32, u32)],
) -> WasiResult<Vec<IoSliceMut<'a>>> {
    let mut ranges: Vec<(u32, usize)> = capped(iovs).filter(|&(_, len)| len > 0).collect();
    let mut sorted = ranges.clone();
    sorted.sort_unstable();
    if sorted
        .windows(2)
        .any(|w| u64::from(w[0].0) + w[0].1 as u64 > u64::from(w[1].0))
    {
        ranges.truncate(1);
    }
    let mut slices = Vec::with_capacity(ranges.len());
    for (ptr, len) in ranges {
        let start = cx.memory_ptr(u64::from(ptr), len)?;
        // SAFETY: the range is inside the memory, which outlives the borrow of `cx` and never moves; the
        // ranges are pairwise disjoint (checked above), and while `cx` is borrowed mutably nothing else
        // in this crate reads or writes guest memory (see `ciovec_slices`).
        slices.push(IoSliceMut::new(unsafe {
            std::slice::from_raw_parts_mut(start, len)
        }));
    }
    Ok(slices)
}

/// Gathers the bytes of a `ciovec` array (capped at [`MAX_CHUNK`] in total).
pub(crate) fn gather(cx: &HostContext<'_, '_>, iovs: &[(u32, u32)]) -> WasiResult<Vec<u8>> {
    let mut data = Vec::new();
    for (ptr, len) in capped(iovs) {
        let start = data.len();
        data.resize(start + len, 0);
        cx.read_memory(u64::from(ptr), &mut data[start..])?;
    }
    Ok(data)
}

/// Checks that a guest buffer lies in memory, before the host allocates anything sized by it or does
/// something irreversible for it.
pub(crate) fn check_range(cx: &HostContext<'_, '_>, ptr: u32, len: u32) -> WasiResult<()> {
    if u64::from(ptr) + u64::from(len) > cx.memory_size() {
        return Err(Errno::Fault);
    }
    Ok(())
}

/// The size in bytes of a guest array of `count` elements of `size` bytes: `fault` when it exceeds
/// the 32-bit address space (it cannot lie in memory).
pub(crate) fn array_len(count: u32, size: u32) -> WasiResult<u32> {
    count.checked_mul(size).ok_or(Errno::Fault)
}
