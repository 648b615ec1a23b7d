//! # wasmz-wasi
//!
//! WASI preview1 (`wasi_snapshot_preview1`) for wasmz: arguments, environment, clocks, randomness,
//! standard streams, and files and directories below preopened host directories.
//!
//! ```no_run
//! use wasmz::{Engine, ExecResult, Instance, Linker, Module, Store};
//! use wasmz_wasi::WasiCtxBuilder;
//!
//! let engine = Engine::default();
//! let module = Module::compile(&engine, std::fs::read("hello.wasm")?)?;
//! let mut linker = Linker::new();
//! wasmz_wasi::add_to_linker(&mut linker)?;
//! let ctx = WasiCtxBuilder::new().arg("hello").capture_stdout().build();
//! let stdout = ctx.stdout_buffer().cloned().unwrap();
//! let mut store = Store::new(&engine);
//! store.set_data(ctx);
//! let mut instance = Instance::new(&mut store, &module, &linker)?;
//! match instance.run_start_function()? {
//!     Some(ExecResult::Ok(_)) | None => println!("exit 0: {}", stdout.to_string_lossy()),
//!     Some(ExecResult::Exit(code)) => println!("exit {code}"),
//!     Some(ExecResult::Trap(trap)) => println!("{trap}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The host functions find the [`WasiCtx`] in the store's data ([`wasmz::Store::set_data`]); a call
//! without one traps. Errors are returned to the guest as WASI error numbers ([`Errno`]); guest
//! pointers out of bounds give `fault`. `proc_exit(n)` ends the call with [`wasmz::ExecResult::Exit`].
//!
//! What is supported, and how: see each function's notes in [`add_to_linker`], and the sandbox rules
//! in the `path` module (absolute paths, `..` above a preopened directory and symbolic links leading
//! out all fail with `notcapable`, 76).

mod args;
mod clocks;
mod ctx;
mod errno;
mod fd;
mod fdtable;
mod memory;
mod path;
mod random_pool;

pub use ctx::{OutputBuffer, WasiCtx, WasiCtxBuilder};
pub use errno::{Errno, WasiResult};
pub use fdtable::{fdflags, filetype, rights};

use ctx::WasiState;
use std::cell::RefCell;
use std::rc::Rc;
use wasmz::{HostContext, HostError, HostFunc, Linker, RawVal, ValType};

/// The import module name of WASI preview1.
pub const MODULE: &str = "wasi_snapshot_preview1";

const I: ValType = ValType::I32;
const L: ValType = ValType::I64;

/// Parameter `i` as an unsigned 32-bit value.
fn u(p: &[RawVal], i: usize) -> u32 {
    p[i].read_as::<i32>() as u32
}

/// Parameter `i` as an unsigned 64-bit value.
fn w(p: &[RawVal], i: usize) -> u64 {
    p[i].read_as::<i64>() as u64
}

/// The WASI state of the calling store.
fn state_of(cx: &mut HostContext<'_, '_>) -> Result<Rc<RefCell<WasiState>>, HostError> {
    cx.data::<WasiCtx>()
        .map(|ctx| ctx.state.clone())
        .ok_or_else(|| {
            HostError::new("WASI call without a WasiCtx: call `store.set_data(WasiCtx)` first")
        })
}

/// Defines the WASI function `name` with i32/i64 `params` and one i32 result: the error number.
fn define(
    linker: &mut Linker,
    name: &str,
    params: &[ValType],
    body: impl Fn(&mut HostContext<'_, '_>, &mut WasiState, &[RawVal]) -> WasiResult<()>
    + Send
    + Sync
    + 'static,
) -> Result<(), wasmz::Error> {
    // `body` is moved into the host function's closure (one per WASI function), so that a call
    // reaches it without a second dynamic dispatch.
    linker.define(
        MODULE,
        name,
        HostFunc::new(params.to_vec(), vec![I], move |cx, p, r| {
            let state = state_of(cx)?;
            // Host functions never re-enter wasm, so the state is never borrowed twice.
            let mut st = state
                .try_borrow_mut()
                .map_err(|_| HostError::new("re-entrant WASI call"))?;
            let errno = match body(cx, &mut st, p) {
                Ok(()) => Errno::Success,
                Err(e) => e,
            };
            r[0] = RawVal::from(errno.raw() as i32);
            Ok(())
        }),
    )?;
    Ok(())
}

/// Defines every `wasi_snapshot_preview1` function in `linker`.
///
/// - `args_*`, `environ_*`: from [`WasiCtxBuilder::args`] and [`WasiCtxBuilder::env`].
/// - `clock_res_get`, `clock_time_get`: realtime, monotonic, process and thread CPU time clocks of the
///   host.
/// - `random_get`: the host's `getrandom`; requests of up to 256 bytes are served from a page of
///   its output, each byte once (see `random_pool.rs`).
/// - `fd_*`: standard streams (fds 0-2), files and directories. `fd_pread`/`fd_pwrite`/`fd_seek`/
///   `fd_tell` on a stream give `spipe`. A directory fd supports none of `fd_read`, `fd_write`,
///   `fd_pread`, `fd_pwrite`, `fd_seek`, `fd_tell`, `fd_advise`, `fd_allocate`,
///   `fd_filestat_set_size` (`badf`); a stream none of `fd_readdir`, `fd_fdstat_set_flags`,
///   `fd_sync`, `fd_datasync`, `fd_filestat_set_times`, nor `path_*` below it (`badf`).
///   `fd_allocate` is `notsup` (as in Wasmtime; WASI dropped it after preview1). `fd_advise` is
///   accepted and ignored. `fd_renumber` needs both fds open.
/// - Standard streams report the type of the host stream they are connected to (`fd_fdstat_get`,
///   `fd_filestat_get`): `character_device` only for a terminal, `regular_file` for a file,
///   `socket_stream` for a socket, `unknown` for anything else (a pipe, `/dev/null`, fixed bytes, a
///   capture buffer), as Wasmtime does; they never have the `fd_seek`/`fd_tell` rights, so
///   wasi-libc's `isatty` is true exactly for terminals.
/// - `fd_prestat_*`: preopened directories, numbered from fd 3.
/// - `path_*`: below a directory fd, inside the sandbox (see the crate documentation); `path_link`,
///   `path_symlink` and `path_readlink` are supported. A trailing `/` names a directory: functions
///   given one for something else fail as POSIX does (`notdir`, `noent`, `exist`, `isdir`) before
///   changing anything. `path_open` with `O_DIRECTORY` and a write right fails with `isdir`, with
///   `O_DIRECTORY` and `O_CREAT`/`O_EXCL`/`O_TRUNC` with `inval`.
/// - `poll_oneoff`: clock subscriptions wait (ending with `intr` once the store's epoch deadline is
///   reached, see `HostContext::epoch_deadline_reached`); fd subscriptions are reported ready at once.
/// - `sched_yield`: yields the host thread. `proc_exit(n)`: ends the run with exit status `n`.
///   `proc_raise`: `nosys`. `sock_*`: sockets are not supported: `badf` for an fd that is not open,
///   `notsock` for one that is not a socket, `notsup` for a host socket.
///
/// Guest buffers, strings and arrays are checked against the guest's memory before the host
/// allocates anything for them: a range out of bounds is `fault`, whatever its length.
///
/// # Rights
///
/// Rights are reported by `fd_fdstat_get` but not enforced, and `fd_fdstat_set_rights` fails with
/// `notsup` (Wasmtime's choice): access is decided by the host (a file opened without write rights
/// is opened read-only, and the kernel refuses writes to it). Enforcing rights would mean a check in
/// every function for a mechanism WASI removed after preview1 and that neither wasi-libc nor Rust's
/// standard library relies on; accepting `fd_fdstat_set_rights` without enforcing it would report
/// restrictions that do not exist. For the same reason directories do not advertise
/// `path_filestat_set_size`, which `path_open`'s `O_TRUNC` would not honour.
///
/// # Errors
/// When one of the names is already defined in `linker`.
pub fn add_to_linker(linker: &mut Linker) -> Result<(), wasmz::Error> {
    define(linker, "args_get", &[I, I], |cx, st, p| {
        args::args_get(cx, st, u(p, 0), u(p, 1))
    })?;
    define(linker, "args_sizes_get", &[I, I], |cx, st, p| {
        args::args_sizes_get(cx, st, u(p, 0), u(p, 1))
    })?;
    define(linker, "environ_get", &[I, I], |cx, st, p| {
        args::environ_get(cx, st, u(p, 0), u(p, 1))
    })?;
    define(linker, "environ_sizes_get", &[I, I], |cx, st, p| {
        args::environ_sizes_get(cx, st, u(p, 0), u(p, 1))
    })?;
    define(linker, "clock_res_get", &[I, I], |cx, _, p| {
        clocks::clock_res_get(cx, u(p, 0), u(p, 1))
    })?;
    define(linker, "clock_time_get", &[I, L, I], |cx, _, p| {
        clocks::clock_time_get(cx, u(p, 0), w(p, 1), u(p, 2))
    })?;
    define(linker, "random_get", &[I, I], |cx, st, p| {
        clocks::random_get(cx, st, u(p, 0), u(p, 1))
    })?;
    define(linker, "poll_oneoff", &[I, I, I, I], |cx, st, p| {
        clocks::poll_oneoff(cx, st, u(p, 0), u(p, 1), u(p, 2), u(p, 3))
    })?;
    define(linker, "sched_yield", &[], |_, _, _| clocks::sched_yield())?;
    define(linker, "proc_raise", &[I], |_, _, _| Err(Errno::Nosys))?;
    linker.define(
        MODULE,
        "proc_exit",
        HostFunc::new([I], [], |_, p, _| {
            Err(HostError::exit(p[0].read_as::<i32>()))
        }),
    )?;

    define(linker, "fd_read", &[I, I, I, I], |cx, st, p| {
        fd::fd_read(cx, st, u(p, 0), u(p, 1), u(p, 2), u(p, 3))
    })?;
    define(linker, "fd_write", &[I, I, I, I], |cx, st, p| {
        fd::fd_write(cx, st, u(p, 0), u(p, 1), u(p, 2), u(p, 3))
    })?;
    define(linker, "fd_pread", &[I, I, I, L, I], |cx, st, p| {
        fd::fd_pread(cx, st, u(p, 0), u(p, 1), u(p, 2), w(p, 3), u(p, 4))
    })?;
    define(linker, "fd_pwrite", &[I, I, I, L, I], |cx, st, p| {
        fd::fd_pwrite(cx, st, u(p, 0), u(p, 1), u(p, 2), w(p, 3), u(p, 4))
    })?;
    define(linker, "fd_seek", &[I, L, I, I], |cx, st, p| {
        fd::fd_seek(cx, st, u(p, 0), w(p, 1) as i64, u(p, 2), u(p, 3))
    })?;
    define(linker, "fd_tell", &[I, I], |cx, st, p| {
        fd::fd_tell(cx, st, u(p, 0), u(p, 1))
    })?;
    define(linker, "fd_close", &[I], |_, st, p| {
        fd::fd_close(st, u(p, 0))
    })?;
    define(linker, "fd_sync", &[I], |_, st, p| {
        fd::fd_sync(st, u(p, 0), false)
    })?;
    define(linker, "fd_datasync", &[I], |_, st, p| {
        fd::fd_sync(st, u(p, 0), true)
    })?;
    define(linker, "fd_fdstat_get", &[I, I], |cx, st, p| {
        fd::fd_fdstat_get(cx, st, u(p, 0), u(p, 1))
    })?;
    define(linker, "fd_fdstat_set_flags", &[I, I], |_, st, p| {
        fd::fd_fdstat_set_flags(st, u(p, 0), u(p, 1))
    })?;
    define(linker, "fd_fdstat_set_rights", &[I, L, L], |_, st, p| {
        fd::fd_fdstat_set_rights(st, u(p, 0), w(p, 1), w(p, 2))
    })?;
    define(linker, "fd_filestat_get", &[I, I], |cx, st, p| {
        fd::fd_filestat_get(cx, st, u(p, 0), u(p, 1))
    })?;
    define(linker, "fd_filestat_set_size", &[I, L], |_, st, p| {
        fd::fd_filestat_set_size(st, u(p, 0), w(p, 1))
    })?;
    define(
        linker,
        "fd_filestat_set_times",
        &[I, L, L, I],
        |_, st, p| fd::fd_filestat_set_times(st, u(p, 0), w(p, 1), w(p, 2), u(p, 3)),
    )?;
    define(linker, "fd_advise", &[I, L, L, I], |_, st, p| {
        fd::fd_advise(st, u(p, 0), w(p, 1), w(p, 2), u(p, 3))
    })?;
    define(linker, "fd_allocate", &[I, L, L], |_, st, p| {
        fd::fd_allocate(st, u(p, 0), w(p, 1), w(p, 2))
    })?;
    define(linker, "fd_renumber", &[I, I], |_, st, p| {
        fd::fd_renumber(st, u(p, 0), u(p, 1))
    })?;
    define(linker, "fd_prestat_get", &[I, I], |cx, st, p| {
        fd::fd_prestat_get(cx, st, u(p, 0), u(p, 1))
    })?;
    define(linker, "fd_prestat_dir_name", &[I, I, I], |cx, st, p| {
        fd::fd_prestat_dir_name(cx, st, u(p, 0), u(p, 1), u(p, 2))
    })?;
    define(linker, "fd_readdir", &[I, I, I, L, I], |cx, st, p| {
        fd::fd_readdir(cx, st, u(p, 0), u(p, 1), u(p, 2), w(p, 3), u(p, 4))
    })?;

    define(
        linker,
        "path_open",
        &[I, I, I, I, I, L, L, I, I],
        |cx, st, p| {
            path::path_open(
                cx,
                st,
                u(p, 0),
                u(p, 1),
                (u(p, 2), u(p, 3)),
                u(p, 4),
                w(p, 5),
                w(p, 6),
                u(p, 7),
                u(p, 8),
            )
        },
    )?;
    define(linker, "path_create_directory", &[I, I, I], |cx, st, p| {
        path::path_create_directory(cx, st, u(p, 0), (u(p, 1), u(p, 2)))
    })?;
    define(linker, "path_remove_directory", &[I, I, I], |cx, st, p| {
        path::path_remove_directory(cx, st, u(p, 0), (u(p, 1), u(p, 2)))
    })?;
    define(linker, "path_unlink_file", &[I, I, I], |cx, st, p| {
        path::path_unlink_file(cx, st, u(p, 0), (u(p, 1), u(p, 2)))
    })?;
    define(linker, "path_rename", &[I, I, I, I, I, I], |cx, st, p| {
        path::path_rename(
            cx,
            st,
            u(p, 0),
            (u(p, 1), u(p, 2)),
            u(p, 3),
            (u(p, 4), u(p, 5)),
        )
    })?;
    define(
        linker,
        "path_filestat_get",
        &[I, I, I, I, I],
        |cx, st, p| path::path_filestat_get(cx, st, u(p, 0), u(p, 1), (u(p, 2), u(p, 3)), u(p, 4)),
    )?;
    define(
        linker,
        "path_filestat_set_times",
        &[I, I, I, I, L, L, I],
        |cx, st, p| {
            path::path_filestat_set_times(
                cx,
                st,
                u(p, 0),
                u(p, 1),
                (u(p, 2), u(p, 3)),
                w(p, 4),
                w(p, 5),
                u(p, 6),
            )
        },
    )?;
    define(linker, "path_symlink", &[I, I, I, I, I], |cx, st, p| {
        path::path_symlink(cx, st, (u(p, 0), u(p, 1)), u(p, 2), (u(p, 3), u(p, 4)))
    })?;
    define(linker, "path_readlink", &[I, I, I, I, I, I], |cx, st, p| {
        path::path_readlink(
            cx,
            st,
            u(p, 0),
            (u(p, 1), u(p, 2)),
            u(p, 3),
            u(p, 4),
            u(p, 5),
        )
    })?;
    define(linker, "path_link", &[I, I, I, I, I, I, I], |cx, st, p| {
        path::path_link(
            cx,
            st,
            u(p, 0),
            u(p, 1),
            (u(p, 2), u(p, 3)),
            u(p, 4),
            (u(p, 5), u(p, 6)),
        )
    })?;

    define(linker, "sock_accept", &[I, I, I], |_, st, p| {
        fd::sock_unsupported(st, u(p, 0))
    })?;
    define(linker, "sock_recv", &[I, I, I, I, I, I], |_, st, p| {
        fd::sock_unsupported(st, u(p, 0))
    })?;
    define(linker, "sock_send", &[I, I, I, I, I], |_, st, p| {
        fd::sock_unsupported(st, u(p, 0))
    })?;
    define(linker, "sock_shutdown", &[I, I], |_, st, p| {
        fd::sock_unsupported(st, u(p, 0))
    })?;
    Ok(())
}
