//! Locating the test suite on disk, its feature groups (`groups.txt`) and the selection of files to run.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Where the suite lives when `WASMZ_TESTSUITE` is not set: `shared/wasm-testsuite` beside the repository.
pub const DEFAULT_SUITE_DIR: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/wasm-testsuite");

/// The group of `.wast` files found on disk but not listed in `groups.txt`.
pub const UNLISTED_GROUP: &str = "other";

/// The suite directory: `$WASMZ_TESTSUITE` if set, else [`DEFAULT_SUITE_DIR`].
pub fn suite_dir() -> PathBuf {
    match std::env::var_os("WASMZ_TESTSUITE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(DEFAULT_SUITE_DIR),
    }
}

/// One `.wast` script of the suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteFile {
    /// The feature group the file belongs to (`core`, `simd`, ...).
    pub group: String,
    /// The path relative to the suite directory, with the `.wast` extension (e.g. `legacy/throw.wast`).
    pub path: String,
}

/// The suite: its directory and every script in it, in `groups.txt` order.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The suite directory.
    pub root: PathBuf,
    /// All scripts: first those listed in `groups.txt` (group by group), then unlisted ones (group
    /// [`UNLISTED_GROUP`]), sorted by path.
    pub files: Vec<SuiteFile>,
}

impl Suite {
    /// Reads `groups.txt` in `root` and adds the `.wast` files it does not list.
    pub fn load(root: &Path) -> Result<Suite, String> {
        let groups_path = root.join("groups.txt");
        let text = fs::read_to_string(&groups_path).map_err(|e| {
            format!(
                "cannot read {} (set WASMZ_TESTSUITE?): {e}",
                groups_path.display()
            )
        })?;
        let mut files = parse_groups(&text)?;
        let listed: HashSet<String> = files.iter().map(|f| f.path.clone()).collect();
        let mut on_disk = Vec::new();
        find_wast_files(root, root, &mut on_disk)
            .map_err(|e| format!("cannot list {}: {e}", root.display()))?;
        on_disk.sort();
        files.extend(
            on_disk
                .into_iter()
                .filter(|p| !listed.contains(p))
                .map(|path| SuiteFile {
                    group: UNLISTED_GROUP.to_string(),
                    path,
                }),
        );
        Ok(Suite {
            root: root.to_path_buf(),
            files,
        })
    }

    /// The absolute path of a script.
    pub fn path_of(&self, file: &SuiteFile) -> PathBuf {
        self.root.join(&file.path)
    }

    /// The names of all groups, in order of first appearance.
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = Vec::new();
        for f in &self.files {
            if !groups.contains(&f.group) {
                groups.push(f.group.clone());
            }
        }
        groups
    }
}

/// Parses `groups.txt`: one group a line, `NAME: file file ...` (paths without `.wast`); `#` starts a comment.
pub fn parse_groups(text: &str) -> Result<Vec<SuiteFile>, String> {
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (group, list) = line
            .split_once(':')
            .ok_or_else(|| format!("groups.txt:{}: missing ':'", n + 1))?;
        let group = group.trim();
        for name in list.split_whitespace() {
            let path = if name.ends_with(".wast") {
                name.to_string()
            } else {
                format!("{name}.wast")
            };
            if seen.insert(path.clone()) {
                files.push(SuiteFile {
                    group: group.to_string(),
                    path,
                });
            }
        }
    }
    Ok(files)
}

/// Collects the `.wast` files below `dir` as `/`-separated paths relative to `root`.
fn find_wast_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            find_wast_files(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "wast")
            && let Ok(rel) = path.strip_prefix(root)
        {
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

/// Which files to run: `WASMZ_SPEC_GROUP` (comma-separated group names) and `WASMZ_SPEC_FILTER` (comma-separated
/// substrings of the path). A file is run when it matches both (an unset variable matches everything).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Group names; empty means all groups.
    pub groups: Vec<String>,
    /// Path substrings; empty means all files.
    pub filters: Vec<String>,
}

impl Selection {
    /// Reads the selection from `WASMZ_SPEC_GROUP` and `WASMZ_SPEC_FILTER`.
    pub fn from_env() -> Selection {
        let list = |var: &str| -> Vec<String> {
            std::env::var(var)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        Selection {
            groups: list("WASMZ_SPEC_GROUP"),
            filters: list("WASMZ_SPEC_FILTER"),
        }
    }

    /// Whether nothing is filtered out.
    pub fn is_everything(&self) -> bool {
        self.groups.is_empty() && self.filters.is_empty()
    }

    /// Whether `file` is selected.
    pub fn matches(&self, file: &SuiteFile) -> bool {
        (self.groups.is_empty() || self.groups.contains(&file.group))
            && (self.filters.is_empty()
                || self.filters.iter().any(|f| file.path.contains(f.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_groups_file() {
        let files =
            parse_groups("# comment\ncore: a b\n\nsimd: simd_x legacy/y\ncore: a\n").unwrap();
        let got: Vec<(&str, &str)> = files
            .iter()
            .map(|f| (f.group.as_str(), f.path.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("core", "a.wast"),
                ("core", "b.wast"),
                ("simd", "simd_x.wast"),
                ("simd", "legacy/y.wast")
            ]
        );
    }

    #[test]
    fn selection_matches_group_and_filter() {
        let f = SuiteFile {
            group: "core".into(),
            path: "i32.wast".into(),
        };
        assert!(Selection::default().matches(&f));
        assert!(
            Selection {
                groups: vec!["core".into()],
                filters: vec![]
            }
            .matches(&f)
        );
        assert!(
            !Selection {
                groups: vec!["simd".into()],
                filters: vec![]
            }
            .matches(&f)
        );
        assert!(
            Selection {
                groups: vec![],
                filters: vec!["i32".into()]
            }
            .matches(&f)
        );
        assert!(
            !Selection {
                groups: vec!["core".into()],
                filters: vec!["i64".into()]
            }
            .matches(&f)
        );
    }
}
