//! Results of running scripts, their printed summary, and the expected-results file (`expected.txt`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The default expected-results file: `spec-tests/expected.txt`.
pub const DEFAULT_EXPECTED_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/expected.txt");

/// The expected-results file: `$WASMZ_SPEC_EXPECTED` if set, else [`DEFAULT_EXPECTED_FILE`].
pub fn expected_file() -> PathBuf {
    match std::env::var_os("WASMZ_SPEC_EXPECTED") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(DEFAULT_EXPECTED_FILE),
    }
}

/// One failed assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The 1-based line of the directive in the script.
    pub line: usize,
    /// Why it failed.
    pub reason: String,
}

/// The outcome of running one script.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    /// The file's feature group.
    pub group: String,
    /// The file's path relative to the suite directory.
    pub path: String,
    /// Assertions (`assert_*` directives) that passed.
    pub passed: usize,
    /// The checked assertions of the file.
    pub total: usize,
    /// Assertions not checked (custom-section assertions).
    pub skipped: usize,
    /// Every failed assertion and failed other directive (module, `register`, `invoke`), in script
    /// order.
    pub failures: Vec<Failure>,
    /// Set when the file as a whole failed (parse error, panic, crash, timeout); all its assertions count as
    /// failed then.
    pub fatal: Option<String>,
    /// How long the file took.
    pub elapsed: Duration,
}

impl FileReport {
    /// A report for a file that failed as a whole: `total` assertions (at least one), none passed.
    pub fn fatal(group: &str, path: &str, total: usize, reason: String) -> FileReport {
        FileReport {
            group: group.to_string(),
            path: path.to_string(),
            passed: 0,
            total: total.max(1),
            skipped: 0,
            failures: Vec::new(),
            fatal: Some(reason),
            elapsed: Duration::ZERO,
        }
    }

    /// Failed assertions.
    pub fn failed(&self) -> usize {
        self.total - self.passed
    }

    /// Whether every assertion and every other directive passed.
    pub fn is_pass(&self) -> bool {
        self.fatal.is_none() && self.passed == self.total && self.failures.is_empty()
    }

    /// The first reason the file failed, with its line, if any.
    pub fn first_failure(&self) -> Option<String> {
        match (&self.fatal, self.failures.first()) {
            (Some(fatal), _) => Some(fatal.clone()),
            (None, Some(f)) => Some(format!("line {}: {}", f.line, f.reason)),
            (None, None) => None,
        }
    }

    /// The one-line summary printed for the file: `PASS/FAIL group path passed/total [first failure]`.
    pub fn summary_line(&self) -> String {
        let mut line = format!(
            "{} {:<19} {:<40} {}/{}",
            if self.is_pass() { "PASS" } else { "FAIL" },
            self.group,
            self.path,
            self.passed,
            self.total
        );
        if self.skipped > 0 {
            let _ = write!(line, " ({} skipped)", self.skipped);
        }
        if self.elapsed >= Duration::from_secs(5) {
            let _ = write!(line, " ({:.1}s)", self.elapsed.as_secs_f64());
        }
        if let Some(why) = self.first_failure() {
            let _ = write!(line, "  {}", truncate(&why, 160));
        }
        line
    }
}

/// Cuts `s` to at most `max` characters, marking the cut with `...`; newlines become spaces.
pub fn truncate(s: &str, max: usize) -> String {
    let s = s.replace(['\n', '\r'], " ");
    if s.chars().count() <= max {
        return s;
    }
    let mut out: String = s.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

/// A failure reason with numbers and quoted names blanked out, so that similar failures group together.
/// Failures caused by an earlier module failure (`module not available (...)`) count under that cause.
pub fn reason_key(reason: &str) -> String {
    let mut reason = reason;
    for wrapper in [
        "module not available (",
        "module definition not available (",
    ] {
        while let Some(inner) = reason.strip_prefix(wrapper) {
            reason = inner.strip_suffix(')').unwrap_or(inner);
        }
    }
    let mut out = String::new();
    let mut chars = reason.chars().peekable();
    let mut in_quote = false;
    let mut prev = ' ';
    while let Some(c) = chars.next() {
        let after_word = prev.is_alphanumeric() || prev == '_';
        prev = c;
        if c == '"' {
            in_quote = !in_quote;
            if in_quote {
                out.push_str("\"..");
            } else {
                out.push('"');
            }
        } else if in_quote {
            continue;
        } else if !after_word
            && (c.is_ascii_digit() || (c == '-' && chars.peek().is_some_and(char::is_ascii_digit)))
        {
            // A number (decimal, hex, float): swallow the whole token.
            while chars
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '_')
            {
                chars.next();
            }
            out.push('N');
        } else {
            out.push(c);
        }
    }
    truncate(&out, 110)
}

/// Totals over several files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Files that passed completely.
    pub files_passed: usize,
    /// Files run.
    pub files: usize,
    /// Assertions that passed.
    pub passed: usize,
    /// Assertions run.
    pub total: usize,
    /// Assertions skipped.
    pub skipped: usize,
}

impl Totals {
    /// Adds one file's results.
    pub fn add(&mut self, r: &FileReport) {
        self.files += 1;
        self.files_passed += usize::from(r.is_pass());
        self.passed += r.passed;
        self.total += r.total;
        self.skipped += r.skipped;
    }

    fn line(&self, name: &str) -> String {
        let pct = if self.total == 0 {
            100.0
        } else {
            100.0 * self.passed as f64 / self.total as f64
        };
        let mut line = format!(
            "{name:<20} files {:>4}/{:<4} assertions {:>6}/{:<6} ({pct:.1}%)",
            self.files_passed, self.files, self.passed, self.total
        );
        if self.skipped > 0 {
            let _ = write!(line, " skipped {}", self.skipped);
        }
        line
    }
}

/// The summary printed after the per-file lines: per-group totals, the grand total and the most common failure
/// reasons (at most `top_reasons` of them). Does not include the closing `N passed, N failed` line.
pub fn summary(reports: &[FileReport], top_reasons: usize) -> String {
    let mut out = String::new();
    let mut groups: Vec<(String, Totals)> = Vec::new();
    let mut all = Totals::default();
    for r in reports {
        let idx = match groups.iter().position(|(g, _)| *g == r.group) {
            Some(i) => i,
            None => {
                groups.push((r.group.clone(), Totals::default()));
                groups.len() - 1
            }
        };
        groups[idx].1.add(r);
        all.add(r);
    }
    out.push_str("\n== totals per group ==\n");
    for (name, t) in &groups {
        let _ = writeln!(out, "{}", t.line(name));
    }
    let _ = writeln!(out, "{}", all.line("ALL"));

    if top_reasons > 0 {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for r in reports {
            if let Some(fatal) = &r.fatal {
                *counts
                    .entry(format!("[whole file] {}", reason_key(fatal)))
                    .or_default() += r.failed();
            }
            for f in &r.failures {
                *counts.entry(reason_key(&f.reason)).or_default() += 1;
            }
        }
        let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if !counts.is_empty() {
            out.push_str("\n== most common failure reasons (failed assertions) ==\n");
            for (key, n) in counts.iter().take(top_reasons) {
                let _ = writeln!(out, "{n:>7}  {key}");
            }
        }
    }
    out
}

/// The closing line: `N passed, N failed` (assertions).
pub fn closing_line(reports: &[FileReport]) -> String {
    let passed: usize = reports.iter().map(|r| r.passed).sum();
    let failed: usize = reports.iter().map(FileReport::failed).sum();
    // Not in the "N passed, N failed" form of a test runner's closing line: most failures here are
    // assertions of features not built yet, which the expected-results check accounts for.
    format!("spec assertions: {passed} pass, {failed} fail")
}

/// One line of `expected.txt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    /// Assertions that passed when the file was blessed.
    pub passed: usize,
    /// The file's assertions when it was blessed.
    pub total: usize,
    /// Whether the file passed completely (every assertion and every other directive) when it was
    /// blessed; written as `incomplete` after the counts when not although every assertion passed.
    pub complete: bool,
}

/// The expected results: one line per file, `path passed total`. Files not listed are expected to pass 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    /// Expected results by path.
    pub entries: BTreeMap<String, Expected>,
}

impl Expectations {
    /// Parses the file's text (`#` starts a comment line).
    pub fn parse(text: &str) -> Result<Expectations, String> {
        let mut entries = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || {
                format!(
                    "expected.txt:{}: expected `path passed total`, found `{line}`",
                    n + 1
                )
            };
            let parts: Vec<&str> = line.split_whitespace().collect();
            let (path, passed, total, incomplete) = match parts[..] {
                [path, passed, total] => (path, passed, total, false),
                [path, passed, total, "incomplete"] => (path, passed, total, true),
                _ => return Err(bad()),
            };
            let passed: usize = passed.parse().map_err(|_| bad())?;
            let total: usize = total.parse().map_err(|_| bad())?;
            let complete = passed == total && !incomplete;
            entries.insert(
                path.to_string(),
                Expected {
                    passed,
                    total,
                    complete,
                },
            );
        }
        Ok(Expectations { entries })
    }

    /// Reads the file; a missing file means no expectations.
    pub fn load(path: &Path) -> Result<Expectations, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Expectations::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Expectations::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// The text of the file.
    pub fn to_text(&self) -> String {
        let mut out = String::from(
            "# Expected spec-test results: `path passed total` per file, counting `assert_*` directives (a run\n\
             # fails if a file passes fewer, or fails a directive when it passed completely; `incomplete`\n\
             # marks a file whose assertions all passed while another directive failed).\n\
             # Regenerate with `WASMZ_SPEC_BLESS=1 cargo test -p wasmz-spec-tests`.\n",
        );
        for (path, e) in &self.entries {
            let incomplete = if e.passed == e.total && !e.complete {
                " incomplete"
            } else {
                ""
            };
            let _ = writeln!(out, "{path} {} {}{incomplete}", e.passed, e.total);
        }
        out
    }

    /// Writes the file.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        std::fs::write(path, self.to_text())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// The passed count expected for a file (0 if it is not listed).
    pub fn expected_passed(&self, path: &str) -> usize {
        self.entries.get(path).map_or(0, |e| e.passed)
    }

    /// Records the results of `reports`. With `complete` (every file was run) entries of files not run are
    /// dropped; otherwise they are kept.
    pub fn bless(&mut self, reports: &[FileReport], complete: bool) {
        if complete {
            self.entries.clear();
        }
        for r in reports {
            self.entries.insert(
                r.path.clone(),
                Expected {
                    passed: r.passed,
                    total: r.total,
                    complete: r.is_pass(),
                },
            );
        }
    }

    /// Whether `report`'s file was expected to pass completely (every assertion, and so every other
    /// directive too).
    fn expected_complete(&self, report: &FileReport) -> bool {
        self.entries.get(&report.path).is_some_and(|e| e.complete)
    }

    /// Files that passed fewer assertions than expected, or that were expected to pass completely and
    /// did not (a module or `invoke` failed), as messages.
    pub fn regressions(&self, reports: &[FileReport]) -> Vec<String> {
        reports
            .iter()
            .filter(|r| {
                r.passed < self.expected_passed(&r.path)
                    || (self.expected_complete(r) && !r.is_pass())
            })
            .map(|r| {
                let mut msg = format!(
                    "REGRESSION {}: {} of {} passed, expected at least {}",
                    r.path,
                    r.passed,
                    r.total,
                    self.expected_passed(&r.path)
                );
                if let Some(why) = r.first_failure() {
                    let _ = write!(msg, " ({})", truncate(&why, 160));
                }
                msg
            })
            .collect()
    }

    /// Files that passed more assertions than expected.
    pub fn improvements(&self, reports: &[FileReport]) -> Vec<String> {
        reports
            .iter()
            .filter(|r| r.passed > self.expected_passed(&r.path))
            .map(|r| r.path.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(path: &str, passed: usize, total: usize) -> FileReport {
        FileReport {
            group: "core".into(),
            path: path.into(),
            passed,
            total,
            ..FileReport::default()
        }
    }

    #[test]
    fn expectations_round_trip_and_compare() {
        let e = Expectations::parse("# c\na.wast 3 4\nb/c.wast 0 1\n").unwrap();
        assert_eq!(e.expected_passed("a.wast"), 3);
        assert_eq!(e.expected_passed("missing.wast"), 0);
        assert_eq!(Expectations::parse(&e.to_text()).unwrap(), e);
        let reports = [
            report("a.wast", 2, 4),
            report("b/c.wast", 1, 1),
            report("new.wast", 0, 3),
        ];
        assert_eq!(e.regressions(&reports).len(), 1);
        assert_eq!(e.improvements(&reports), ["b/c.wast"]);
        assert!(Expectations::parse("a.wast 1").is_err());
    }

    #[test]
    fn failed_directives_of_complete_files_are_regressions() {
        let e = Expectations::parse("a.wast 2 2\nb.wast 1 2\nc.wast 2 2 incomplete\n").unwrap();
        assert_eq!(Expectations::parse(&e.to_text()).unwrap(), e);
        let mut a = report("a.wast", 2, 2);
        let mut b = report("b.wast", 1, 2);
        assert!(e.regressions(&[a.clone(), b.clone()]).is_empty());
        let failure = Failure {
            line: 1,
            reason: "compile error".into(),
        };
        let mut c = report("c.wast", 2, 2);
        c.failures.push(failure.clone());
        a.failures.push(failure.clone());
        b.failures.push(failure);
        assert_eq!(e.regressions(&[a, b, c]).len(), 1);
    }

    #[test]
    fn bless_merges_or_replaces() {
        let mut e = Expectations::parse("a.wast 3 4\nold.wast 1 1\n").unwrap();
        e.bless(&[report("a.wast", 4, 4)], false);
        assert_eq!(e.entries.len(), 2);
        assert_eq!(e.expected_passed("a.wast"), 4);
        e.bless(&[report("a.wast", 4, 4)], true);
        assert_eq!(e.entries.len(), 1);
    }

    #[test]
    fn reason_keys_group_similar_failures() {
        assert_eq!(
            reason_key("expected i32 5, got i32 -6"),
            reason_key("expected i32 17, got i32 0x20")
        );
        assert_eq!(reason_key("call \"f\" failed"), "call \"..\" failed");
        assert_eq!(
            reason_key("operator F32x4Add at 0x1f"),
            "operator F32x4Add at N"
        );
        assert_eq!(
            reason_key("module not available (module not available (compile error: x 3))"),
            reason_key("compile error: x 4")
        );
        assert_eq!(truncate("abcdef", 5), "ab...");
    }

    #[test]
    fn closing_line_counts_assertions() {
        let reports = [report("a.wast", 2, 4), report("b.wast", 1, 1)];
        assert_eq!(closing_line(&reports), "spec assertions: 3 pass, 2 fail");
    }
}
