//! Perf maps: a `/tmp/perf-<pid>.map` file naming every piece of machine code wasmz publishes, so that
//! `perf report` (and other profilers that read the format) attribute samples in compiled wasm code to
//! wasm functions instead of to unknown addresses.
//!
//! Off unless [`enable`] was called (by an engine whose configuration asks for it); once on, it stays on
//! for the process, since the file describes the process's whole address space.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use wasmz_environ::CodeImage;

static ENABLED: AtomicBool = AtomicBool::new(false);
static FILE: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Starts writing the perf map for code published from now on.
///
/// # Errors
/// When `/tmp/perf-<pid>.map` cannot be created.
pub fn enable() -> std::io::Result<()> {
    let mut file = FILE.lock().unwrap_or_else(|e| e.into_inner());
    if file.is_none() {
        let path = format!("/tmp/perf-{}.map", std::process::id());
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        // In a world-writable directory, a symbolic link planted under the name must not redirect
        // the writes into another file.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
        *file = Some(options.open(path)?);
    }
    ENABLED.store(true, Ordering::Release);
    Ok(())
}

/// Names the functions and trampolines of `image`, whose `len` bytes of code are published at `start`,
/// in the perf map (when on).
pub(crate) fn record(start: usize, len: usize, image: &CodeImage) {
    if !ENABLED.load(Ordering::Acquire) {
        return;
    }
    let mut text = String::new();
    for (i, range) in image.functions.iter().enumerate() {
        let func_index = image.num_imported_funcs + i as u32;
        // Names come from the module: a line break or other control character in one would start a
        // line of its own in the map.
        let name: String = image
            .func_name(func_index)
            .unwrap_or("")
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        text.push_str(&format!(
            "{:x} {:x} wasm[{func_index}] {name}\n",
            start + range.start as usize,
            range.len()
        ));
    }
    let end_of_functions = image.functions.last().map_or(0, |r| r.end);
    let trampolines = len.saturating_sub(end_of_functions as usize);
    if trampolines > 0 {
        text.push_str(&format!(
            "{:x} {trampolines:x} wasmz trampolines\n",
            start + end_of_functions as usize
        ));
    }
    let mut file = FILE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(file) = file.as_mut() {
        // A profiling aid: a failed write loses names in a profile, nothing else.
        let _ = file.write_all(text.as_bytes());
    }
}
