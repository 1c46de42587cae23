//! Unified diffs of a file change, for the person approving it: the daemon makes
//! one from the file on disk when it asks for an approval (the `diff` of
//! `approval_requested`); a client makes one from an `edit_file` call's own
//! arguments when the daemon sent none.

use similar::TextDiff;

/// Lines a diff keeps; past them it ends with a line saying how many were cut.
pub const MAX_LINES: usize = 400;

/// Bytes of a file the daemon reads to diff it; a bigger file gets a one-line
/// note instead of a diff.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The last line of a diff that was cut, so a reader knows there is more.
pub fn cut_note(more: usize) -> String {
    format!("… diff cut: {more} more lines not shown")
}

/// A unified diff (3 lines of context) from `old` to `new`, headed
/// `--- a/PATH` / `+++ b/PATH` and capped at [`MAX_LINES`].
pub fn unified(old: &str, new: &str, path: &str) -> String {
    let diff = TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    cap(&text)
}

/// Bytes a diff keeps (a file of one huge line has few lines but many bytes).
pub const MAX_BYTES: usize = 64 * 1024;

/// The change a `write_file` / `edit_file` call makes, from its arguments alone
/// (a client shows this when the daemon sent no `diff`): `edit_file` as
/// `old_string` -> `new_string`, `write_file` as the whole new content.
pub fn of_call(tool: &str, arguments: &serde_json::Value, path: &str) -> String {
    let arg = |name: &str| arguments.get(name).and_then(|v| v.as_str()).unwrap_or("");
    if tool == "edit_file" {
        unified(arg("old_string"), arg("new_string"), path)
    } else {
        unified("", arg("content"), path)
    }
}

/// Keeps the first [`MAX_LINES`] lines of `text`, and at most [`MAX_BYTES`] of
/// them, then a [`cut_note`] saying how many lines were left out (a line cut
/// short counts as left out).
pub fn cap(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end_matches('\n').split('\n').collect();
    let mut out: Vec<&str> = Vec::new();
    let mut bytes = 0usize;
    for line in &lines {
        if out.len() == MAX_LINES || bytes + line.len() > MAX_BYTES {
            break;
        }
        bytes += line.len() + 1;
        out.push(line);
    }
    if out.len() == lines.len() {
        return out.join("\n");
    }
    let note = cut_note(lines.len() - out.len());
    out.push(&note);
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_in_the_middle_has_context_and_headers() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        let d = unified(old, new, "src/x.rs");
        assert_eq!(
            d,
            "--- a/src/x.rs\n+++ b/src/x.rs\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h"
        );
    }

    #[test]
    fn a_new_file_is_all_added() {
        let d = unified("", "one\ntwo\n", "new.txt");
        assert!(d.ends_with("@@ -0,0 +1,2 @@\n+one\n+two"), "{d}");
    }

    #[test]
    fn a_long_diff_is_cut_and_says_so() {
        let new: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        let d = unified("", &new, "big.txt");
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(lines.len(), MAX_LINES + 1);
        assert_eq!(lines[MAX_LINES], cut_note(1003 - MAX_LINES));
    }

    #[test]
    fn a_diff_of_huge_lines_is_cut_by_bytes() {
        let huge = "x".repeat(40 * 1024);
        let d = unified("", &format!("{huge}\n{huge}\n{huge}\n"), "min.js");
        assert!(d.len() < MAX_BYTES + 100, "{}", d.len());
        assert!(d.ends_with(&cut_note(2)), "{}", &d[d.len() - 60..]);
    }
}
