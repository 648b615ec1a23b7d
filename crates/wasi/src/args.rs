//! `args_*` and `environ_*`: the guest's arguments and environment variables.

use crate::ctx::WasiState;
use crate::errno::WasiResult;
use crate::memory::{write_bytes, write_u32};
use wasmz::HostContext;

/// Writes a list of strings as WASI does: pointers to NUL-terminated strings at `ptrs`, the strings
/// themselves packed at `buf`.
fn write_list(
    cx: &mut HostContext<'_, '_>,
    list: &[Vec<u8>],
    ptrs: u32,
    buf: u32,
) -> WasiResult<()> {
    let mut at = buf;
    for (i, item) in list.iter().enumerate() {
        write_u32(cx, ptrs.wrapping_add(4 * i as u32), at)?;
        write_bytes(cx, at, item)?;
        write_bytes(cx, at.wrapping_add(item.len() as u32), &[0])?;
        at = at.wrapping_add(item.len() as u32 + 1);
    }
    Ok(())
}

/// Writes the number of strings and the total size of the strings with their NULs.
fn write_sizes(
    cx: &mut HostContext<'_, '_>,
    list: &[Vec<u8>],
    count_ptr: u32,
    size_ptr: u32,
) -> WasiResult<()> {
    let size: usize = list.iter().map(|s| s.len() + 1).sum();
    write_u32(cx, count_ptr, list.len() as u32)?;
    write_u32(cx, size_ptr, size as u32)
}

pub(crate) fn args_get(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    argv: u32,
    buf: u32,
) -> WasiResult<()> {
    write_list(cx, &st.args, argv, buf)
}

pub(crate) fn args_sizes_get(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    argc: u32,
    size: u32,
) -> WasiResult<()> {
    write_sizes(cx, &st.args, argc, size)
}

pub(crate) fn environ_get(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    environ: u32,
    buf: u32,
) -> WasiResult<()> {
    write_list(cx, &st.env, environ, buf)
}

pub(crate) fn environ_sizes_get(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    count: u32,
    size: u32,
) -> WasiResult<()> {
    write_sizes(cx, &st.env, count, size)
}
