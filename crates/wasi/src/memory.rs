//! Reading and writing guest memory: scalars, strings, and I/O vectors. Out-of-bounds accesses become
//! the `fault` error number.

use crate::errno::{Errno, WasiResult};
use wasmz::HostContext;

/// Largest single guest buffer the host copies at once (larger requests are shortened, which WASI
/// allows for reads and writes).
const MAX_CHUNK: usize = 16 << 20;

pub(crate) fn read_bytes(cx: &HostContext<'_, '_>, ptr: u32, len: u32) -> WasiResult<Vec<u8>> {
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

/// The (pointer, length) pairs of an `iovec`/`ciovec` array.
pub(crate) fn read_iovecs(
    cx: &HostContext<'_, '_>,
    iovs: u32,
    count: u32,
) -> WasiResult<Vec<(u32, u32)>> {
    let raw = read_bytes(cx, iovs, count.checked_mul(8).ok_or(Errno::Inval)?)?;
    Ok(raw
        .chunks_exact(8)
        .map(|c| {
            let ptr = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let len = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
            (ptr, len)
        })
        .collect())
}

/// Gathers the bytes of a `ciovec` array (capped at [`MAX_CHUNK`] in total).
pub(crate) fn gather(cx: &HostContext<'_, '_>, iovs: &[(u32, u32)]) -> WasiResult<Vec<u8>> {
    let mut data = Vec::new();
    for &(ptr, len) in iovs {
        let room = MAX_CHUNK - data.len();
        let take = (len as usize).min(room);
        let start = data.len();
        data.resize(start + take, 0);
        cx.read_memory(ptr as u64, &mut data[start..])?;
        if take < len as usize {
            break;
        }
    }
    Ok(data)
}

/// Total capacity of an `iovec` array (capped at [`MAX_CHUNK`]).
pub(crate) fn capacity(iovs: &[(u32, u32)]) -> usize {
    iovs.iter()
        .map(|&(_, len)| len as usize)
        .sum::<usize>()
        .min(MAX_CHUNK)
}

/// Scatters `data` over an `iovec` array.
pub(crate) fn scatter(
    cx: &mut HostContext<'_, '_>,
    iovs: &[(u32, u32)],
    mut data: &[u8],
) -> WasiResult<()> {
    for &(ptr, len) in iovs {
        if data.is_empty() {
            break;
        }
        let n = (len as usize).min(data.len());
        cx.write_memory(ptr as u64, &data[..n])?;
        data = &data[n..];
    }
    Ok(())
}

/// Checks that a guest buffer lies in memory before the host does something irreversible for it.
pub(crate) fn check_range(cx: &HostContext<'_, '_>, ptr: u32, len: u32) -> WasiResult<()> {
    if ptr as u64 + len as u64 > cx.memory_size() {
        return Err(Errno::Fault);
    }
    Ok(())
}
