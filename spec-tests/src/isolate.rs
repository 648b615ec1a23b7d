//! Running a file in a child process, so that a crash (a signal, an abort, a Rust stack overflow) or a hang
//! fails only that file.
//!
//! The child is the test binary itself, started with `WASMZ_SPEC_CHILD=<path>`. It runs the file like
//! [`crate::driver::run_file`] does and streams its [`Event`]s to stdout, one line each, prefixed with
//! [`MARKER`] (other output is ignored), ending with an end line. The parent turns the lines back into events.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::driver::{Collector, Ending, run_source};
use crate::report::FileReport;
use crate::script::{Event, Kind};
use crate::suite::SuiteFile;

/// The environment variable that makes the test binary run one file (this path) as a child.
pub const CHILD_ENV: &str = "WASMZ_SPEC_CHILD";

/// The prefix of protocol lines on the child's stdout.
pub const MARKER: &str = "@@wasmz-spec ";

/// Encodes an event as a protocol line (without the newline).
pub fn encode_event(event: &Event) -> String {
    match event {
        Event::Parsed { total } => format!("{MARKER}T {total}"),
        Event::Start { line } => format!("{MARKER}S {line}"),
        Event::Outcome {
            line,
            kind,
            result: Ok(()),
        } => format!("{MARKER}O {line} {}", kind_letter(*kind)),
        Event::Outcome {
            line,
            kind,
            result: Err(reason),
        } => format!(
            "{MARKER}F {line} {} {}",
            kind_letter(*kind),
            one_line(reason)
        ),
    }
}

fn kind_letter(kind: Kind) -> &'static str {
    match kind {
        Kind::Assertion => "a",
        Kind::Skipped => "s",
        Kind::Directive => "d",
    }
}

fn kind_of_letter(letter: &str) -> Option<Kind> {
    Some(match letter {
        "a" => Kind::Assertion,
        "s" => Kind::Skipped,
        "d" => Kind::Directive,
        _ => return None,
    })
}

/// Encodes how the run ended as a protocol line.
pub fn encode_ending(ending: &Ending) -> String {
    match ending {
        Ending::Completed => format!("{MARKER}E done"),
        Ending::NotRun(e) => format!("{MARKER}E notrun {}", one_line(e)),
        Ending::Panicked(e) => format!("{MARKER}E panic {}", one_line(e)),
        Ending::Crashed(e) => format!("{MARKER}E crash {}", one_line(e)),
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// A decoded protocol line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// An event.
    Event(Event),
    /// The end of the run.
    End(Ending),
}

/// Decodes a protocol line; `None` for other output.
pub fn decode(line: &str) -> Option<Message> {
    let rest = line.strip_prefix(MARKER)?;
    let (kind, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let (first, tail) = rest.split_once(' ').unwrap_or((rest, ""));
    let number = || first.parse::<usize>().ok();
    Some(match kind {
        "T" => Message::Event(Event::Parsed { total: number()? }),
        "S" => Message::Event(Event::Start { line: number()? }),
        "O" => Message::Event(Event::Outcome {
            line: number()?,
            kind: kind_of_letter(tail)?,
            result: Ok(()),
        }),
        "F" => {
            let (letter, reason) = tail.split_once(' ').unwrap_or((tail, ""));
            Message::Event(Event::Outcome {
                line: number()?,
                kind: kind_of_letter(letter)?,
                result: Err(reason.to_string()),
            })
        }
        "E" => Message::End(match first {
            "done" => Ending::Completed,
            "notrun" => Ending::NotRun(tail.to_string()),
            "panic" => Ending::Panicked(tail.to_string()),
            _ => Ending::Crashed(tail.to_string()),
        }),
        _ => return None,
    })
}

/// The child side: runs the file `path` (relative to `root`) and streams the protocol to stdout.
/// Returns the process exit code.
pub fn child_main(root: &Path, path: &str) -> u8 {
    let stdout = std::io::stdout();
    let emit = |line: String| {
        let mut out = stdout.lock();
        // If the parent is gone there is nobody to report to.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    let source = match std::fs::read(root.join(path)).map(String::from_utf8) {
        Ok(Ok(source)) => source,
        Ok(Err(_)) => {
            emit(encode_ending(&Ending::NotRun(
                "parse error: file is not UTF-8".into(),
            )));
            return 0;
        }
        Err(e) => {
            emit(encode_ending(&Ending::NotRun(format!(
                "cannot read file: {e}"
            ))));
            return 0;
        }
    };
    let ending = run_source(path, &source, &mut |event| emit(encode_event(&event)));
    emit(encode_ending(&ending));
    0
}

/// The parent side: runs one file in a child process (the current executable) and collects its report. The
/// child is killed after `timeout`.
///
/// A child killed before it reported anything, not even that it parsed the file, never reached wasmz,
/// which runs only after the parse: it hung starting up, as a child under QEMU's user mode did once in
/// some hundreds of files. Such a file is run once more; a hang in wasmz is reported as it is.
pub fn run_file_in_child(root: &Path, file: &SuiteFile, timeout: Duration) -> FileReport {
    match run_child(root, file, timeout) {
        (_, ChildRun::TimedOutSilent) => run_child(root, file, timeout).0,
        (report, _) => report,
    }
}

/// How a child's run ended, for [`run_file_in_child`]'s retry.
#[derive(Debug, PartialEq, Eq)]
enum ChildRun {
    /// Killed at the deadline without having sent a single protocol line.
    TimedOutSilent,
    /// Anything else.
    Other,
}

fn run_child(root: &Path, file: &SuiteFile, timeout: Duration) -> (FileReport, ChildRun) {
    let start = Instant::now();
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            let report = FileReport::fatal(
                &file.group,
                &file.path,
                1,
                format!("cannot find test binary: {e}"),
            );
            return (report, ChildRun::Other);
        }
    };
    let spawned = Command::new(exe)
        .env(CHILD_ENV, &file.path)
        .env("WASMZ_TESTSUITE", root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            let report = FileReport::fatal(
                &file.group,
                &file.path,
                1,
                format!("cannot start child process: {e}"),
            );
            return (report, ChildRun::Other);
        }
    };
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");

    std::thread::scope(|scope| {
        let reader = scope.spawn(move || read_protocol(stdout));
        let err_reader = scope.spawn(move || last_lines(stderr, 5));
        let deadline = start + timeout;
        let mut timed_out = false;
        let status: Result<ExitStatus, String> = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if Instant::now() >= deadline => {
                    timed_out = true;
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(format!("timed out after {}s", timeout.as_secs()));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(format!("cannot wait for child process: {e}"));
                }
            }
        };
        let (collector, ending, heard) = reader.join().unwrap_or_default();
        let stderr_tail = err_reader.join().unwrap_or_default();
        let run = if timed_out && !heard {
            ChildRun::TimedOutSilent
        } else {
            ChildRun::Other
        };
        let ending = match (ending, status) {
            (Some(ending), Ok(_)) => ending,
            (_, Err(why)) => Ending::Crashed(why),
            (None, Ok(status)) => {
                let mut why = describe_status(status);
                if !stderr_tail.is_empty() {
                    why.push_str(&format!(" [stderr: {}]", stderr_tail.join(" | ")));
                }
                Ending::Crashed(why)
            }
        };
        (collector.finish(file, ending, start.elapsed()), run)
    })
}

/// Reads the child's stdout until it closes: the collected events, the ending if the child reported one,
/// and whether it sent any protocol line at all.
fn read_protocol(stdout: impl Read) -> (Collector, Option<Ending>, bool) {
    let mut collector = Collector::default();
    let mut ending = None;
    let mut heard = false;
    let mut reader = BufReader::new(stdout);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buf);
        match decode(line.trim_end_matches(['\n', '\r'])) {
            Some(Message::Event(event)) => {
                heard = true;
                collector.event(event);
            }
            Some(Message::End(end)) => {
                heard = true;
                ending = Some(end);
            }
            None => {}
        }
    }
    (collector, ending, heard)
}

/// The last `n` non-empty lines of a stream.
fn last_lines(stream: impl Read, n: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buf).trim().to_string();
        if !line.is_empty() {
            if lines.len() == n {
                lines.remove(0);
            }
            lines.push(crate::report::truncate(&line, 200));
        }
    }
    lines
}

fn describe_status(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                4 => " (SIGILL)",
                6 => " (SIGABRT)",
                7 => " (SIGBUS)",
                8 => " (SIGFPE)",
                11 => " (SIGSEGV)",
                _ => "",
            };
            return format!("child process killed by signal {signal}{name}");
        }
    }
    match status.code() {
        Some(code) => format!("child process exited with code {code} without finishing"),
        None => "child process ended without finishing".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_heard_only_through_protocol_lines() {
        let line = |e: Event| format!("{}\n", encode_event(&e));
        let (_, _, heard) = read_protocol("runtime noise\nmore noise\n".as_bytes());
        assert!(!heard, "lines without the marker are not the protocol");
        let parsed = line(Event::Parsed { total: 3 });
        let (_, _, heard) = read_protocol(format!("noise\n{parsed}").as_bytes());
        assert!(heard);
        let end = format!("{}\n", encode_ending(&Ending::Completed));
        let (_, ending, heard) = read_protocol(end.as_bytes());
        assert!(heard && ending == Some(Ending::Completed));
    }

    #[test]
    fn protocol_round_trips() {
        let events = [
            Event::Parsed { total: 12 },
            Event::Start { line: 3 },
            Event::Outcome {
                line: 3,
                kind: Kind::Assertion,
                result: Ok(()),
            },
            Event::Outcome {
                line: 4,
                kind: Kind::Assertion,
                result: Err("expected i32 1, got i32 2".into()),
            },
            Event::Outcome {
                line: 5,
                kind: Kind::Skipped,
                result: Ok(()),
            },
            Event::Outcome {
                line: 6,
                kind: Kind::Directive,
                result: Err("compile error: x".into()),
            },
        ];
        for e in events {
            assert_eq!(decode(&encode_event(&e)), Some(Message::Event(e)));
        }
        for end in [
            Ending::Completed,
            Ending::NotRun("x y".into()),
            Ending::Panicked("p".into()),
        ] {
            assert_eq!(decode(&encode_ending(&end)), Some(Message::End(end)));
        }
        assert_eq!(decode("some runtime output"), None);
        assert_eq!(
            decode(&encode_event(&Event::Outcome {
                line: 1,
                kind: Kind::Assertion,
                result: Err("a\nb".into())
            })),
            Some(Message::Event(Event::Outcome {
                line: 1,
                kind: Kind::Assertion,
                result: Err("a b".into())
            }))
        );
    }
}
