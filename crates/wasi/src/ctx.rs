//! The WASI context a guest runs in (`WasiCtx`) and its builder.

use crate::fdtable::{Dir, FdEntry, FdKind, FdTable, InputSource, OutputSink};
use std::cell::RefCell;
use std::io;
use std::path::Path;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

/// A shared, growable byte buffer that receives a guest's captured stdout or stderr.
///
/// Clones share the same bytes, so an embedder keeps one clone and reads it after the run.
#[derive(Clone, Default, Debug)]
pub struct OutputBuffer {
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl OutputBuffer {
    /// An empty buffer.
    pub fn new() -> OutputBuffer {
        OutputBuffer::default()
    }

    /// A copy of everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.lock().clone()
    }

    /// Everything written so far, as text (invalid UTF-8 replaced).
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }

    /// Forgets everything written so far.
    pub fn clear(&self) {
        self.lock().clear();
    }

    pub(crate) fn append(&self, data: &[u8]) {
        self.lock().extend_from_slice(data);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        // A panic while holding the lock cannot leave the bytes inconsistent: keep using them.
        self.bytes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The state behind a [`WasiCtx`]: arguments, environment and open file descriptors.
pub(crate) struct WasiState {
    pub(crate) args: Vec<Vec<u8>>,
    pub(crate) env: Vec<Vec<u8>>,
    pub(crate) fds: FdTable,
    /// Where `random_get` takes small requests from.
    pub(crate) random: crate::random_pool::RandomPool,
}

/// Everything a WASI guest can reach: its arguments, environment variables, standard streams and
/// preopened directories.
///
/// Create it with [`WasiCtxBuilder`], put it into the store with [`wasmz::Store::set_data`], and link
/// the host functions with [`crate::add_to_linker`]. The functions find it through
/// [`wasmz::HostContext::data`].
pub struct WasiCtx {
    pub(crate) state: Rc<RefCell<WasiState>>,
    stdout: Option<OutputBuffer>,
    stderr: Option<OutputBuffer>,
}

impl WasiCtx {
    /// A builder with no arguments, no environment, no preopened directory and null stdio.
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }

    /// The buffer capturing stdout, if the builder asked for one ([`WasiCtxBuilder::capture_stdout`]
    /// or [`WasiCtxBuilder::stdout_buffer`]).
    pub fn stdout_buffer(&self) -> Option<&OutputBuffer> {
        self.stdout.as_ref()
    }

    /// The buffer capturing stderr, if the builder asked for one.
    pub fn stderr_buffer(&self) -> Option<&OutputBuffer> {
        self.stderr.as_ref()
    }

    /// The guest's arguments (argument 0 is the program name by convention).
    pub fn args(&self) -> Vec<String> {
        let state = self.state.borrow();
        state
            .args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }
}

impl std::fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiCtx")
            .field("args", &self.args())
            .finish_non_exhaustive()
    }
}

/// Builds a [`WasiCtx`].
///
/// ```no_run
/// use wasmz_wasi::{OutputBuffer, WasiCtxBuilder};
/// let out = OutputBuffer::new();
/// let ctx = WasiCtxBuilder::new()
///     .args(["prog", "--verbose"])
///     .env("HOME", "/data")
///     .preopen_dir("/tmp/sandbox", "/data")?
///     .stdout_buffer(out.clone())
///     .build();
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct WasiCtxBuilder {
    args: Vec<Vec<u8>>,
    env: Vec<(String, String)>,
    stdin: InputSource,
    stdout: OutputSink,
    stderr: OutputSink,
    preopens: Vec<(Dir, String)>,
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        WasiCtxBuilder::new()
    }
}

impl WasiCtxBuilder {
    /// No arguments, no environment, no preopened directory; stdin is empty and stdout/stderr are
    /// discarded.
    pub fn new() -> WasiCtxBuilder {
        WasiCtxBuilder {
            args: Vec::new(),
            env: Vec::new(),
            stdin: InputSource::Bytes(io::Cursor::new(Vec::new())),
            stdout: OutputSink::Null,
            stderr: OutputSink::Null,
            preopens: Vec::new(),
        }
    }

    /// Appends one argument (the first one is the program name by convention).
    pub fn arg(mut self, arg: impl AsRef<str>) -> Self {
        self.args.push(arg.as_ref().as_bytes().to_vec());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().as_bytes().to_vec()));
        self
    }

    /// Sets an environment variable (replacing an earlier value of the same name).
    pub fn env(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let (key, value) = (key.as_ref().to_string(), value.as_ref().to_string());
        match self.env.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.env.push((key, value)),
        }
        self
    }

    /// Copies every environment variable of the host process (those that are valid UTF-8).
    pub fn inherit_env(mut self) -> Self {
        for (k, v) in std::env::vars() {
            self = self.env(k, v);
        }
        self
    }

    /// Gives the guest the host directory `host_path`, under the name `guest_path` (what the guest
    /// uses in absolute paths, e.g. `/data` or `.`). The guest cannot reach anything outside it.
    ///
    /// # Errors
    /// When `host_path` cannot be opened as a directory.
    pub fn preopen_dir(
        mut self,
        host_path: impl AsRef<Path>,
        guest_path: impl AsRef<str>,
    ) -> io::Result<Self> {
        let dir = Dir::open(host_path.as_ref())?;
        self.preopens.push((dir, guest_path.as_ref().to_string()));
        Ok(self)
    }

    /// Connects stdin, stdout and stderr to the host process's.
    pub fn inherit_stdio(self) -> Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// Connects stdin to the host process's stdin.
    pub fn inherit_stdin(mut self) -> Self {
        self.stdin = InputSource::Inherit;
        self
    }

    /// Connects stdout to the host process's stdout.
    pub fn inherit_stdout(mut self) -> Self {
        self.stdout = OutputSink::Inherit;
        self
    }

    /// Connects stderr to the host process's stderr.
    pub fn inherit_stderr(mut self) -> Self {
        self.stderr = OutputSink::Inherit;
        self
    }

    /// Makes stdin read these bytes, then end of file.
    pub fn stdin_bytes(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = InputSource::Bytes(io::Cursor::new(bytes.into()));
        self
    }

    /// Captures stdout into a new buffer, readable through [`WasiCtx::stdout_buffer`].
    pub fn capture_stdout(self) -> Self {
        self.stdout_buffer(OutputBuffer::new())
    }

    /// Captures stderr into a new buffer, readable through [`WasiCtx::stderr_buffer`].
    pub fn capture_stderr(self) -> Self {
        self.stderr_buffer(OutputBuffer::new())
    }

    /// Captures stdout into `buffer` (keep a clone to read it after the run).
    pub fn stdout_buffer(mut self, buffer: OutputBuffer) -> Self {
        self.stdout = OutputSink::Buffer(buffer);
        self
    }

    /// Captures stderr into `buffer`.
    pub fn stderr_buffer(mut self, buffer: OutputBuffer) -> Self {
        self.stderr = OutputSink::Buffer(buffer);
        self
    }

    /// The context: fds 0, 1, 2 are the standard streams, and the preopened directories follow from
    /// fd 3 on, in the order they were added.
    pub fn build(self) -> WasiCtx {
        let buffer_of = |sink: &OutputSink| match sink {
            OutputSink::Buffer(b) => Some(b.clone()),
            _ => None,
        };
        let stdout = buffer_of(&self.stdout);
        let stderr = buffer_of(&self.stderr);
        let mut fds = FdTable::default();
        fds.insert_at(0, FdEntry::stdio(FdKind::Stdin(self.stdin)));
        fds.insert_at(1, FdEntry::stdio(FdKind::Stdout(self.stdout)));
        fds.insert_at(2, FdEntry::stdio(FdKind::Stderr(self.stderr)));
        for (fd, (dir, guest)) in (3..).zip(self.preopens) {
            fds.insert_at(fd, FdEntry::preopen(dir, guest));
        }
        let env = self
            .env
            .into_iter()
            .map(|(k, v)| format!("{k}={v}").into_bytes())
            .collect();
        WasiCtx {
            state: Rc::new(RefCell::new(WasiState {
                args: self.args,
                env,
                fds,
                random: crate::random_pool::RandomPool::new(),
            })),
            stdout,
            stderr,
        }
    }
}
