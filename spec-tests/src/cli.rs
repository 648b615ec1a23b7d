//! The test binary's entry point: selects files, runs them, prints the report, checks or rewrites
//! `expected.txt`.
//!
//! Environment variables:
//!
//! - `WASMZ_TESTSUITE`: the suite directory (default: `shared/wasm-testsuite` beside the repository);
//! - `WASMZ_SPEC_GROUP`: comma-separated groups to run (e.g. `core,simd`); default all;
//! - `WASMZ_SPEC_FILTER`: comma-separated path substrings to run (command-line arguments that are not options
//!   are added to it); default all;
//! - `WASMZ_SPEC_BLESS=1`: rewrite `expected.txt` with the results instead of checking them (entries of files
//!   not run are kept unless everything ran);
//! - `WASMZ_SPEC_EXPECTED`: another expected-results file;
//! - `WASMZ_SPEC_JOBS`: files run at the same time (default: the number of CPUs);
//! - `WASMZ_SPEC_ISOLATE`: `process` (default; each file in a child process) or `thread` (in this process);
//! - `WASMZ_SPEC_TIMEOUT`: per-file time limit in seconds with process isolation (default 300);
//! - `WASMZ_SPEC_VERBOSE=1`: print every failed assertion, not only the first of each file;
//! - `WASMZ_SPEC_REASONS`: how many of the most common failure reasons to list (default 25);
//! - `WASMZ_SPEC_LAZY=1`: compile every module lazily (`Config::lazy_compilation`); the pass counts must
//!   equal the eager run's.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::driver::{Isolation, RunOptions, run_files};
use crate::isolate::{CHILD_ENV, child_main};
use crate::report::{Expectations, closing_line, expected_file, summary, truncate};
use crate::suite::{Selection, Suite, suite_dir};

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Path substrings given on the command line (libtest options and their values are skipped), and whether
/// `--list` was given.
fn command_line_filters() -> (Vec<String>, bool) {
    const WITH_VALUE: [&str; 8] = [
        "--skip",
        "--test-threads",
        "--color",
        "--format",
        "--logfile",
        "-Z",
        "--shuffle-seed",
        "--report-time",
    ];
    let mut filters = Vec::new();
    let mut list = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--list" {
            list = true;
        } else if WITH_VALUE.contains(&arg.as_str()) {
            args.next();
        } else if !arg.starts_with('-') {
            filters.push(arg);
        }
    }
    (filters, list)
}

/// Runs the spec tests as configured by the environment (see the module docs) and returns the exit status:
/// failure when a file passes fewer assertions than `expected.txt` says.
pub fn main() -> ExitCode {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        return ExitCode::from(child_main(&suite_dir(), &path));
    }
    let (arg_filters, list) = command_line_filters();
    if list {
        // Nothing to list in libtest's sense: the run is one test.
        return ExitCode::SUCCESS;
    }
    let root = suite_dir();
    let suite = match Suite::load(&root) {
        Ok(suite) => suite,
        Err(e) => {
            eprintln!("wasmz spec tests: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut selection = Selection::from_env();
    selection.filters.extend(arg_filters);
    let files: Vec<_> = suite
        .files
        .iter()
        .filter(|f| selection.matches(f))
        .cloned()
        .collect();

    let isolation = match std::env::var("WASMZ_SPEC_ISOLATE").as_deref() {
        Ok("thread") => Isolation::Thread,
        _ => Isolation::Process,
    };
    let jobs = env_number("WASMZ_SPEC_JOBS")
        .map(|n| n as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let options = RunOptions {
        jobs,
        isolation,
        timeout: Duration::from_secs(env_number("WASMZ_SPEC_TIMEOUT").unwrap_or(300)),
    };
    let verbose = env_flag("WASMZ_SPEC_VERBOSE");
    println!(
        "wasmz spec tests: {} of {} files from {} ({} jobs, {:?} isolation)",
        files.len(),
        suite.files.len(),
        root.display(),
        options.jobs,
        options.isolation
    );

    let start = Instant::now();
    let reports = run_files(&root, &files, &options, &mut |report| {
        println!("{}", report.summary_line());
        if verbose {
            for f in report.failures.iter().skip(1) {
                println!("        line {}: {}", f.line, truncate(&f.reason, 300));
            }
        }
    });
    let top_reasons = env_number("WASMZ_SPEC_REASONS").unwrap_or(25) as usize;
    print!("{}", summary(&reports, top_reasons));
    println!("time: {:.1}s", start.elapsed().as_secs_f64());

    let expected_path = expected_file();
    let mut expectations = match Expectations::load(&expected_path) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("wasmz spec tests: {e}");
            println!("{}", closing_line(&reports));
            return ExitCode::FAILURE;
        }
    };
    let mut ok = true;
    println!();
    if env_flag("WASMZ_SPEC_BLESS") {
        expectations.bless(&reports, selection.is_everything());
        match expectations.save(&expected_path) {
            Ok(()) => println!(
                "blessed: wrote {} ({} files)",
                expected_path.display(),
                expectations.entries.len()
            ),
            Err(e) => {
                eprintln!("wasmz spec tests: {e}");
                ok = false;
            }
        }
    } else {
        let regressions = expectations.regressions(&reports);
        for r in &regressions {
            println!("{r}");
        }
        let improved = expectations.improvements(&reports);
        if !improved.is_empty() {
            println!(
                "{} file(s) pass more assertions than {} says; update it with WASMZ_SPEC_BLESS=1",
                improved.len(),
                expected_path.display()
            );
        }
        if regressions.is_empty() {
            println!("no regressions against {}", expected_path.display());
        } else {
            println!(
                "{} file(s) regressed against {}",
                regressions.len(),
                expected_path.display()
            );
            ok = false;
        }
    }
    println!("{}", closing_line(&reports));
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
