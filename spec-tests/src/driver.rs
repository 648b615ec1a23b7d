//! Running scripts safely: each file on its own thread with a large stack and inside `catch_unwind`, optionally
//! in a child process (see [`crate::isolate`]), several files at a time with the results kept in suite order.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::report::{Failure, FileReport};
use crate::script::{Event, Kind, run_script, spec_config_for};
use crate::suite::SuiteFile;

/// The stack size of the thread a script runs on. The runtime's own stack-overflow check allows wasm 512 KiB
/// below the stack pointer it was entered with, which leaves plenty of room for the runtime's Rust code.
pub const SCRIPT_STACK_SIZE: usize = 8 << 20;

/// How a script run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Every directive ran.
    Completed,
    /// The script could not be parsed, or the engine could not be created.
    NotRun(String),
    /// The runtime panicked (message and location).
    Panicked(String),
    /// The child process running the script died or was killed (see [`crate::isolate`]).
    Crashed(String),
}

/// Collects the [`Event`]s of one script run into a [`FileReport`].
#[derive(Debug, Clone, Default)]
pub struct Collector {
    total: Option<usize>,
    passed: usize,
    /// Outcomes of checked assertions.
    outcomes: usize,
    skipped: usize,
    failures: Vec<Failure>,
    last_line: Option<usize>,
}

impl Collector {
    /// Records one event.
    pub fn event(&mut self, event: Event) {
        match event {
            Event::Parsed { total } => self.total = Some(total),
            Event::Start { line } => self.last_line = Some(line),
            Event::Outcome { line, kind, result } => match (kind, result) {
                (Kind::Skipped, _) => self.skipped += 1,
                (Kind::Assertion, Ok(())) => {
                    self.outcomes += 1;
                    self.passed += 1;
                }
                (Kind::Assertion, Err(reason)) => {
                    self.outcomes += 1;
                    self.failures.push(Failure { line, reason });
                }
                (Kind::Directive, Ok(())) => {}
                // Not an assertion, but the file does not pass.
                (Kind::Directive, Err(reason)) => self.failures.push(Failure { line, reason }),
            },
        }
    }

    /// The report of the run. When it did not complete, the whole file counts as failed.
    pub fn finish(self, file: &SuiteFile, ending: Ending, elapsed: Duration) -> FileReport {
        let total = self.total.unwrap_or(self.outcomes).max(self.outcomes);
        let at = self
            .last_line
            .map(|l| format!(" at line {l}"))
            .unwrap_or_default();
        let before = if self.passed > 0 {
            format!(" ({} assertions had passed before)", self.passed)
        } else {
            String::new()
        };
        let fatal = |what: String| FileReport {
            elapsed,
            ..FileReport::fatal(&file.group, &file.path, total, what)
        };
        match ending {
            Ending::Completed => {
                let mut failures = self.failures;
                if self.outcomes < total {
                    failures.push(Failure {
                        line: 0,
                        reason: "some directives did not report an outcome".into(),
                    });
                }
                FileReport {
                    group: file.group.clone(),
                    path: file.path.clone(),
                    passed: self.passed,
                    total,
                    skipped: self.skipped,
                    failures,
                    fatal: None,
                    elapsed,
                }
            }
            Ending::NotRun(e) => FileReport {
                total: 1,
                ..fatal(e)
            },
            Ending::Panicked(msg) => fatal(format!("panic{at}: {msg}{before}")),
            Ending::Crashed(msg) => fatal(format!("crash{at}: {msg}{before}")),
        }
    }
}

thread_local! {
    /// Set on threads that run scripts: their panics are recorded instead of printed.
    static IN_SCRIPT: Cell<bool> = const { Cell::new(false) };
    /// The message and location of the last panic on this thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that records panics on script threads (for the report) instead of printing
/// them; panics elsewhere go to the default hook.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default_hook = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if IN_SCRIPT.get() {
                let msg = payload_text(info.payload());
                let msg = match info.location() {
                    Some(loc) => format!("{msg} ({}:{})", loc.file(), loc.line()),
                    None => msg,
                };
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(msg));
            } else {
                default_hook(info);
            }
        }));
    });
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Runs a script's text on a fresh thread with a [`SCRIPT_STACK_SIZE`] stack, catching panics.
///
/// The engine is configured with [`spec_config_for`] the script's path.
pub fn run_source(path: &str, source: &str, observer: &mut (dyn FnMut(Event) + Send)) -> Ending {
    let config = spec_config_for(path);
    install_panic_hook();
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name(format!("spec {path}"))
            .stack_size(SCRIPT_STACK_SIZE)
            .spawn_scoped(scope, || {
                IN_SCRIPT.set(true);
                let result =
                    panic::catch_unwind(AssertUnwindSafe(|| run_script(source, &config, observer)));
                match result {
                    Ok(Ok(())) => Ending::Completed,
                    Ok(Err(parse_error)) => Ending::NotRun(parse_error),
                    Err(payload) => {
                        let recorded = LAST_PANIC.with(|p| p.borrow_mut().take());
                        Ending::Panicked(recorded.unwrap_or_else(|| payload_text(payload.as_ref())))
                    }
                }
            });
        match spawned {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|_| Ending::Panicked("script thread panicked".to_string())),
            Err(e) => Ending::Crashed(format!("cannot spawn script thread: {e}")),
        }
    })
}

/// Runs one file in this process (on its own thread, panics caught).
pub fn run_file(root: &Path, file: &SuiteFile) -> FileReport {
    let start = Instant::now();
    let source = match std::fs::read(root.join(&file.path)) {
        Ok(bytes) => bytes,
        Err(e) => {
            return FileReport::fatal(&file.group, &file.path, 1, format!("cannot read file: {e}"));
        }
    };
    let source = match String::from_utf8(source) {
        Ok(s) => s,
        Err(_) => {
            return FileReport::fatal(
                &file.group,
                &file.path,
                1,
                "parse error: file is not UTF-8".into(),
            );
        }
    };
    let mut collector = Collector::default();
    let ending = run_source(&file.path, &source, &mut |event| collector.event(event));
    collector.finish(file, ending, start.elapsed())
}

/// How files are isolated from each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Each file in a child process: a crash (signal, abort, Rust stack overflow) or a hang (timeout) fails only
    /// that file.
    Process,
    /// Each file on a thread of this process: panics are caught, crashes end the run.
    Thread,
}

/// Options for running many files.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Files run at the same time.
    pub jobs: usize,
    /// How files are isolated.
    pub isolation: Isolation,
    /// Per-file time limit (process isolation only).
    pub timeout: Duration,
}

/// Runs `files` with `options.jobs` workers, calling `on_report` with each report in the order of `files`
/// (as soon as it and all files before it are done). Returns all reports in that order.
pub fn run_files(
    root: &Path,
    files: &[SuiteFile],
    options: &RunOptions,
    on_report: &mut dyn FnMut(&FileReport),
) -> Vec<FileReport> {
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, FileReport)>();
    let mut reports: Vec<FileReport> = Vec::with_capacity(files.len());
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.clamp(1, files.len().max(1)) {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let report = match options.isolation {
                        Isolation::Process => {
                            crate::isolate::run_file_in_child(root, file, options.timeout)
                        }
                        Isolation::Thread => run_file(root, file),
                    };
                    if tx.send((i, report)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, FileReport> = BTreeMap::new();
        for (i, report) in rx {
            pending.insert(i, report);
            while let Some(report) = pending.remove(&reports.len()) {
                on_report(&report);
                reports.push(report);
            }
        }
    });
    reports
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> SuiteFile {
        SuiteFile {
            group: "core".into(),
            path: "t.wast".into(),
        }
    }

    #[test]
    fn collector_counts_outcomes() {
        let mut c = Collector::default();
        c.event(Event::Parsed { total: 3 });
        c.event(Event::Start { line: 1 });
        c.event(Event::Outcome {
            line: 1,
            kind: Kind::Assertion,
            result: Ok(()),
        });
        c.event(Event::Start { line: 5 });
        c.event(Event::Outcome {
            line: 5,
            kind: Kind::Assertion,
            result: Err("boom".into()),
        });
        c.event(Event::Start { line: 9 });
        c.event(Event::Outcome {
            line: 9,
            kind: Kind::Assertion,
            result: Ok(()),
        });
        for (line, kind) in [(10, Kind::Skipped), (11, Kind::Directive)] {
            c.event(Event::Outcome {
                line,
                kind,
                result: Ok(()),
            });
        }
        let r = c.finish(&file(), Ending::Completed, Duration::ZERO);
        assert_eq!(
            (r.passed, r.total, r.skipped, r.failures.len()),
            (2, 3, 1, 1)
        );
        assert_eq!(r.first_failure().unwrap(), "line 5: boom");
    }

    #[test]
    fn failed_directives_fail_the_file_without_counting() {
        let mut c = Collector::default();
        c.event(Event::Parsed { total: 1 });
        c.event(Event::Outcome {
            line: 1,
            kind: Kind::Directive,
            result: Err("compile error".into()),
        });
        c.event(Event::Outcome {
            line: 2,
            kind: Kind::Assertion,
            result: Ok(()),
        });
        let r = c.finish(&file(), Ending::Completed, Duration::ZERO);
        assert_eq!((r.passed, r.total), (1, 1));
        assert!(!r.is_pass());
    }

    #[test]
    fn panics_fail_the_whole_file() {
        let mut c = Collector::default();
        c.event(Event::Parsed { total: 4 });
        c.event(Event::Start { line: 1 });
        c.event(Event::Outcome {
            line: 1,
            kind: Kind::Assertion,
            result: Ok(()),
        });
        c.event(Event::Start { line: 7 });
        let r = c.finish(&file(), Ending::Panicked("oops".into()), Duration::ZERO);
        assert_eq!((r.passed, r.total), (0, 4));
        assert_eq!(
            r.fatal.unwrap(),
            "panic at line 7: oops (1 assertions had passed before)"
        );
    }

    #[test]
    fn panics_in_scripts_are_caught() {
        let ending = run_source("p.wast", "(module)", &mut |e| {
            if matches!(e, Event::Start { .. }) {
                panic!("observer panic");
            }
        });
        match ending {
            Ending::Panicked(msg) => assert!(msg.starts_with("observer panic"), "{msg}"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
