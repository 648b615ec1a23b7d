//! The WebAssembly spec-test runner of wasmz.
//!
//! It runs the `.wast` scripts of the official WebAssembly test suite against the public API of the `wasmz`
//! crate. Each `assert_*` directive of a script counts as one
//! assertion that passes or fails; the other directives (module, register, invoke) are not counted, but
//! one that fails fails its file; assertions about custom sections (`assert_*_custom`) are skipped. Results are printed per file and per feature group and compared with
//! `spec-tests/expected.txt`: a run fails when a file passes fewer assertions than expected.
//!
//! The test target `tests/spec.rs` (`cargo test -p wasmz-spec-tests`) calls [`cli::main`]; see [`cli`] for the
//! environment variables that select files and modes.
//!
//! Modules:
//!
//! - [`suite`]: where the suite is, its groups, the selection of files;
//! - [`script`]: parsing a script and executing its directives;
//! - [`legacy_syntax`]: the folded legacy `try` made flat before parsing;
//! - [`values`]: argument conversion and result / NaN / trap-message matching;
//! - [`spectest`]: the `spectest` host module;
//! - [`driver`]: running a file safely (own thread, panics caught) and many files in parallel;
//! - [`isolate`]: running a file in a child process;
//! - [`report`]: reports, summaries and `expected.txt`.

pub mod cli;
pub mod driver;
pub mod isolate;
pub mod legacy_syntax;
pub mod report;
pub mod script;
pub mod spectest;
pub mod suite;
pub mod values;

pub use driver::run_file;
pub use report::FileReport;
pub use script::run_script;
pub use suite::{Suite, SuiteFile};
