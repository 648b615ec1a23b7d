//! Rewrites the folded form of the legacy exception-handling `try` into its flat form.
//!
//! The scripts of the legacy exception-handling tests write `(try bt (do ...) (catch $t ...)
//! (catch_all ...))` and `(try bt (do ...) (delegate l))`, which the text parser does not read; it
//! reads the flat form `try bt ... catch $t ... catch_all ... end` and `try bt ... delegate l`. The
//! rewrite only touches parentheses and keeps every newline, so line numbers in reports stay those
//! of the script. Strings (quoted modules) and comments are left alone.

use std::borrow::Cow;

/// What an open parenthesis started.
#[derive(Clone, Copy, PartialEq)]
enum Open {
    /// A folded `try`; `delegated` once its `(delegate l)` clause was seen.
    Try { delegated: bool },
    /// A `(do ...)`, `(catch ...)`, `(catch_all ...)` or `(delegate ...)` clause of a folded `try`.
    Clause,
    /// Anything else.
    Other,
}

/// `source` with every folded legacy `try` made flat (borrowed when there is none).
pub fn unfold_legacy_try(source: &str) -> Cow<'_, str> {
    if !source.contains("(try ") && !source.contains("(try\n") && !source.contains("(try)") {
        return Cow::Borrowed(source);
    }
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len() + 64);
    let mut stack: Vec<Open> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with(";;") {
            let len = rest.find('\n').unwrap_or(rest.len());
            out.push_str(&rest[..len]);
            i += len;
        } else if rest.starts_with("(;") {
            let len = block_comment_len(rest);
            out.push_str(&rest[..len]);
            i += len;
        } else if rest.starts_with('"') {
            let len = string_len(rest);
            out.push_str(&rest[..len]);
            i += len;
        } else if let Some(after) = rest.strip_prefix('(') {
            let word = keyword(after);
            let parent = stack.last().copied();
            let open = match (word, parent) {
                ("try", _) => Open::Try { delegated: false },
                ("do" | "catch" | "catch_all", Some(Open::Try { .. })) => Open::Clause,
                ("delegate", Some(Open::Try { .. })) => {
                    if let Some(Open::Try { delegated }) = stack.last_mut() {
                        *delegated = true;
                    }
                    Open::Clause
                }
                _ => Open::Other,
            };
            out.push(if open == Open::Other { '(' } else { ' ' });
            if open == Open::Clause && word == "do" {
                out.push_str("  ");
                i += 1 + word.len();
            } else {
                i += 1;
            }
            stack.push(open);
        } else if rest.starts_with(')') {
            match stack.pop() {
                Some(Open::Try { delegated: false }) => out.push_str(" end "),
                Some(Open::Try { delegated: true } | Open::Clause) => out.push(' '),
                Some(Open::Other) | None => out.push(')'),
            }
            i += 1;
        } else {
            let ch = rest.chars().next().expect("not at the end");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    Cow::Owned(out)
}

/// The keyword right after an open parenthesis.
fn keyword(s: &str) -> &str {
    let len = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(s.len());
    &s[..len]
}

/// Length of the (possibly nested) block comment at the start of `s`.
fn block_comment_len(s: &str) -> usize {
    let mut depth = 0;
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with("(;") {
            depth += 1;
            i += 2;
        } else if s[i..].starts_with(";)") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += s[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    s.len()
}

/// Length of the string literal at the start of `s` (quotes and escapes included).
fn string_len(s: &str) -> usize {
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::unfold_legacy_try;

    #[test]
    fn catch_clauses_become_flat() {
        let src = "(func (try (result i32)\n (do (i32.const 1))\n (catch $e (i32.const 2))\n (catch_all (i32.const 3))))";
        let out = unfold_legacy_try(src);
        let words: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(
            words.join(" "),
            "(func try (result i32) (i32.const 1) catch $e (i32.const 2) catch_all (i32.const 3) end )"
        );
        assert_eq!(out.matches('\n').count(), src.matches('\n').count());
    }

    #[test]
    fn delegate_ends_the_try_and_nesting_works() {
        let src = "(try $l (do (try (do (call $f)) (delegate $l))) (catch_all))";
        let out = unfold_legacy_try(src);
        let words: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(
            words.join(" "),
            "try $l try (call $f) delegate $l catch_all end"
        );
    }

    #[test]
    fn try_table_strings_and_comments_are_kept() {
        let src = "(try_table (catch $e 0)) \"(try (do))\" ;; (try (do))\n(; (try ;)";
        assert_eq!(unfold_legacy_try(src), src);
    }
}
