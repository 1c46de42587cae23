//! `write_file` and `edit_file` calls as diffs in the transcript (issue 11).
//!
//! Where the diff comes from, best first: the daemon's, sent with the call's
//! `approval_requested` (made from the file on disk when it asked); else one
//! made here against the file's content as this transcript last saw it (a
//! `write_file`'s content, an `edit_file` applied to it, a whole `read_file`);
//! else the call's own arguments (`write_file` as all-added lines, `edit_file`
//! as its old string replaced by its new one). The lines are drawn the way the
//! approval prompt draws a diff.

use std::collections::HashMap;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use serde_json::Value;
use tether_shared::diff;

use super::wrap::wrap;
use crate::ui::widgets::visible::visible;

/// The tools whose calls show as diffs.
pub fn is_file_change(tool: &str) -> bool {
    matches!(tool, "write_file" | "edit_file")
}

/// Diff lines a collapsed cell shows; the rest behind a count.
pub const COLLAPSED_DIFF_LINES: usize = 8;

/// The style of one line of a unified diff: headers bold, hunks cyan, added
/// lines green, removed red, a cut (`…`) yellow.
pub(crate) fn diff_style(line: &str) -> Style {
    if line.starts_with("+++") || line.starts_with("---") {
        Style::new().add_modifier(Modifier::BOLD)
    } else if line.starts_with("@@") {
        Style::new().fg(Color::Cyan)
    } else if line.starts_with('+') {
        Style::new().fg(Color::Green)
    } else if line.starts_with('-') {
        Style::new().fg(Color::Red)
    } else if line.starts_with('…') {
        Style::new().fg(Color::Yellow)
    } else {
        Style::new()
    }
}

/// The content of files as this transcript last saw it, by the path the calls gave.
#[derive(Debug, Default)]
pub struct Files {
    known: HashMap<String, String>,
}

fn str_arg<'a>(args: &'a Value, name: &str) -> Option<&'a str> {
    args.get(name).and_then(Value::as_str)
}

impl Files {
    /// The diff a `write_file` / `edit_file` call with `args` makes, against
    /// what is known of its file; `None` for another tool or no path.
    pub fn diff_of(&self, tool: &str, args: &Value) -> Option<String> {
        if !is_file_change(tool) {
            return None;
        }
        let path = str_arg(args, "path")?;
        let known = self.known.get(path);
        Some(match (tool, known) {
            ("write_file", Some(old)) => {
                diff::unified(old, str_arg(args, "content").unwrap_or(""), path)
            }
            ("edit_file", Some(text)) => {
                let (old, new) = (
                    str_arg(args, "old_string").unwrap_or(""),
                    str_arg(args, "new_string").unwrap_or(""),
                );
                if !old.is_empty() && text.matches(old).count() == 1 {
                    diff::unified(text, &text.replacen(old, new, 1), path)
                } else {
                    diff::of_call(tool, args, path)
                }
            }
            _ => diff::of_call(tool, args, path),
        })
    }

    /// Learns from a call of `tool` with `args` that succeeded with `output`.
    pub fn learn(&mut self, tool: &str, args: &Value, output: &str) {
        let Some(path) = str_arg(args, "path") else {
            return;
        };
        match tool {
            "write_file" => {
                let content = str_arg(args, "content").unwrap_or("").to_string();
                self.known.insert(path.to_string(), content);
            }
            "edit_file" => {
                let (old, new) = (
                    str_arg(args, "old_string").unwrap_or(""),
                    str_arg(args, "new_string").unwrap_or(""),
                );
                if let Some(text) = self.known.get_mut(path) {
                    if !old.is_empty() && text.matches(old).count() == 1 {
                        *text = text.replacen(old, new, 1);
                    } else {
                        // Changed in a way not known here: no longer known.
                        self.known.remove(path);
                    }
                }
            }
            // A whole file read (no offset or limit, nothing cut) is its content.
            "read_file"
                if args.get("offset").is_none()
                    && args.get("limit").is_none()
                    && !output.ends_with("to continue]") =>
            {
                let content = if output == "[empty file]" { "" } else { output };
                self.known.insert(path.to_string(), content.to_string());
            }
            _ => {}
        }
    }
}

/// The diff's lines under a cell's head, indented; the `---` / `+++` header
/// is left out (the head names the file). Collapsed: at most
/// [`COLLAPSED_DIFF_LINES`], then how many more there are.
pub fn diff_lines(diff: &str, width: u16, expanded: bool) -> Vec<Line<'static>> {
    let body: Vec<&str> = diff
        .lines()
        .filter(|l| !(l.starts_with("--- ") || l.starts_with("+++ ")))
        .collect();
    let shown = if expanded {
        body.len()
    } else {
        body.len().min(COLLAPSED_DIFF_LINES)
    };
    let mut out = Vec::new();
    for l in &body[..shown] {
        let spans = vec![Span::raw("    "), Span::styled(visible(l), diff_style(l))];
        out.extend(wrap(spans, width, "      "));
    }
    if shown < body.len() {
        out.push(Line::from(Span::styled(
            format!("    … +{} diff lines", body.len() - shown),
            Style::new().fg(Color::DarkGray),
        )));
    }
    out
}

/// What the head of a file change shows after the tool: its path.
pub fn head_of(args: &str) -> Option<String> {
    let v: Value = serde_json::from_str(args).ok()?;
    str_arg(&v, "path").map(str::to_string)
}
