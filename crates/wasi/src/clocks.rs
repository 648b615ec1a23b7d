//! Clocks, randomness, `poll_oneoff` and `sched_yield`.

use crate::ctx::WasiState;
use crate::errno::{Errno, WasiResult};
use crate::fdtable::FdKind;
use crate::memory::{array_len, read_bytes, write_bytes, write_u32, write_u64};
use std::time::Duration;
use wasmz::HostContext;

/// WASI clock ids.
const REALTIME: u32 = 0;
const MONOTONIC: u32 = 1;
const PROCESS_CPUTIME: u32 = 2;
const THREAD_CPUTIME: u32 = 3;

fn host_clock(id: u32) -> WasiResult<libc::clockid_t> {
    Ok(match id {
        REALTIME => libc::CLOCK_REALTIME,
        MONOTONIC => libc::CLOCK_MONOTONIC,
        PROCESS_CPUTIME => libc::CLOCK_PROCESS_CPUTIME_ID,
        THREAD_CPUTIME => libc::CLOCK_THREAD_CPUTIME_ID,
        _ => return Err(Errno::Inval),
    })
}

fn nanos(ts: &libc::timespec) -> u64 {
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// The current time of WASI clock `id`, in nanoseconds.
fn now(id: u32) -> WasiResult<u64> {
    let clock = host_clock(id)?;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to fill.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return Err(Errno::last());
    }
    Ok(nanos(&ts))
}

pub(crate) fn clock_res_get(cx: &mut HostContext<'_, '_>, id: u32, out: u32) -> WasiResult<()> {
    let clock = host_clock(id)?;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to fill.
    if unsafe { libc::clock_getres(clock, &mut ts) } != 0 {
        return Err(Errno::last());
    }
    write_u64(cx, out, nanos(&ts).max(1))
}

pub(crate) fn clock_time_get(
    cx: &mut HostContext<'_, '_>,
    id: u32,
    _precision: u64,
    out: u32,
) -> WasiResult<()> {
    let t = now(id)?;
    write_u64(cx, out, t)
}

/// Fills `buf` with random bytes from the host's `getrandom`.
pub(crate) fn fill_random(buf: &mut [u8]) -> WasiResult<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is a writable buffer of `rest.len()` bytes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e.into());
        }
        done += n as usize;
    }
    Ok(())
}

/// `random_get`: the buffer is checked first (`fault`), then filled through a small host buffer, so a
/// large request never needs a host allocation of its size.
pub(crate) fn random_get(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    buf: u32,
    len: u32,
) -> WasiResult<()> {
    const CHUNK: u32 = 64 << 10;
    crate::memory::check_range(cx, buf, len)?;
    // Small requests (the usual ones: a seed, a key) go through a buffer on the stack and come from
    // the store's pool.
    let mut small = [0u8; crate::random_pool::MAX_POOLED];
    if len as usize <= small.len() {
        let bytes = &mut small[..len as usize];
        st.random.fill(bytes)?;
        return write_bytes(cx, buf, bytes);
    }
    let mut large = vec![0u8; len.min(CHUNK) as usize];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(CHUNK);
        let chunk = &mut large[..n as usize];
        fill_random(chunk)?;
        write_bytes(cx, buf + done, chunk)?;
        done += n;
    }
    Ok(())
}

/// Event types of subscriptions and events.
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;
/// `subclockflags`: the timeout is an absolute time of the clock.
const SUBSCRIPTION_CLOCK_ABSTIME: u16 = 1;

/// A WASI `event` (32 bytes).
fn event(userdata: u64, error: Errno, ty: u8, nbytes: u64) -> [u8; 32] {
    let mut e = [0u8; 32];
    e[0..8].copy_from_slice(&userdata.to_le_bytes());
    e[8..10].copy_from_slice(&error.raw().to_le_bytes());
    e[10] = ty;
    e[16..24].copy_from_slice(&nbytes.to_le_bytes());
    e
}

/// `poll_oneoff`: clock subscriptions sleep until the earliest deadline; fd subscriptions are reported
/// ready at once (regular files and captured streams never block; an inherited stdin is reported ready
/// too, so a read on it may then block).
/// The longest `poll_oneoff` sleeps before checking the epoch deadline again: 10 ms.
const SLEEP_SLICE_NS: u64 = 10_000_000;

pub(crate) fn poll_oneoff(
    cx: &mut HostContext<'_, '_>,
    st: &mut WasiState,
    input: u32,
    output: u32,
    nsubscriptions: u32,
    nevents: u32,
) -> WasiResult<()> {
    if nsubscriptions == 0 {
        return Err(Errno::Inval);
    }
    // Both arrays are checked against the memory before anything is allocated for them.
    crate::memory::check_range(cx, output, array_len(nsubscriptions, 32)?)?;
    let subs = read_bytes(cx, input, array_len(nsubscriptions, 48)?)?;
    let mut events: Vec<[u8; 32]> = Vec::new();
    // (userdata, deadline on the monotonic clock, error)
    let mut clocks: Vec<(u64, u64, Errno)> = Vec::new();
    let start = now(MONOTONIC)?;
    for sub in subs.chunks_exact(48) {
        let userdata = u64::from_le_bytes(sub[0..8].try_into().unwrap_or_default());
        let tag = sub[8];
        match tag {
            EVENTTYPE_CLOCK => {
                let id = u32::from_le_bytes(sub[16..20].try_into().unwrap_or_default());
                let timeout = u64::from_le_bytes(sub[24..32].try_into().unwrap_or_default());
                let flags = u16::from_le_bytes(sub[40..42].try_into().unwrap_or_default());
                let deadline = match now(id) {
                    Ok(clock_now) => {
                        let delay = if flags & SUBSCRIPTION_CLOCK_ABSTIME != 0 {
                            timeout.saturating_sub(clock_now)
                        } else {
                            timeout
                        };
                        (start.saturating_add(delay), Errno::Success)
                    }
                    Err(e) => (start, e),
                };
                clocks.push((userdata, deadline.0, deadline.1));
            }
            EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE => {
                let fd = u32::from_le_bytes(sub[16..20].try_into().unwrap_or_default());
                let (error, nbytes) = match st.fds.get(fd) {
                    Ok(entry) => match &entry.kind {
                        FdKind::File(f) if tag == EVENTTYPE_FD_READ => {
                            use std::io::Seek;
                            let mut f: &std::fs::File = f;
                            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
                            let pos = f.stream_position().unwrap_or(0);
                            (Errno::Success, size.saturating_sub(pos))
                        }
                        _ => (Errno::Success, 0),
                    },
                    Err(e) => (e, 0),
                };
                events.push(event(userdata, error, tag, nbytes));
            }
            _ => return Err(Errno::Inval),
        }
    }
    if events.is_empty() {
        // Only clocks: sleep until the first deadline, then report every clock that has expired. The
        // sleep goes in slices, so that reaching the store's epoch deadline (epoch interruption)
        // ends it with `intr`: a guest asking to sleep for years is stopped like a guest looping.
        if let Some(first) = clocks.iter().map(|c| c.1).min() {
            let mut current = now(MONOTONIC)?;
            while first > current {
                if cx.epoch_deadline_reached() {
                    return Err(Errno::Intr);
                }
                std::thread::sleep(Duration::from_nanos((first - current).min(SLEEP_SLICE_NS)));
                current = now(MONOTONIC)?;
            }
        }
    }
    let current = now(MONOTONIC)?;
    for (userdata, deadline, error) in clocks {
        if deadline <= current || error != Errno::Success {
            events.push(event(userdata, error, EVENTTYPE_CLOCK, 0));
        }
    }
    let mut out = Vec::with_capacity(events.len() * 32);
    for e in &events {
        out.extend_from_slice(e);
    }
    write_bytes(cx, output, &out)?;
    write_u32(cx, nevents, events.len() as u32)
}

pub(crate) fn sched_yield() -> WasiResult<()> {
    std::thread::yield_now();
    Ok(())
}
