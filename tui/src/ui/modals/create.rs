//! The new-session form: a name, a directory, a first message and whether the
//! session works in a git worktree of its own (issue 15). It stays open until
//! the daemon has created the session; when it cannot, the form keeps what was
//! typed and shows why.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::ui::widgets::centered::centered;
use crate::ui::widgets::line_input::LineInput;

/// The new-session form.
#[derive(Debug, Default)]
pub struct CreateForm {
    /// Name, directory, first message.
    pub fields: [LineInput; 3],
    /// The focused field: 0 to 2 for `fields`, [`WORKTREE`] for the worktree switch.
    pub focus: usize,
    /// Work in a new git worktree of the directory's repository, on branch
    /// `tether/NAME` (`new --worktree`).
    pub worktree: bool,
    /// Sent; waiting for the daemon's answer.
    pub creating: bool,
    /// Why the last try failed (the daemon's message).
    pub error: Option<String>,
}

/// The focus of the worktree switch (after the three text fields).
pub const WORKTREE: usize = 3;

/// How many places the focus moves between.
pub const FOCUSES: usize = 4;

/// The directory field as the daemon gets it: empty is `cwd`; `~` and `~/…`
/// start at `home`; a relative path starts at `cwd` (the daemon runs elsewhere).
pub fn expand_dir(field: &str, home: Option<&str>, cwd: &str) -> String {
    let dir = field.trim();
    let join = |base: &str, rest: &str| std::path::Path::new(base).join(rest).display().to_string();
    match (dir, home) {
        ("", _) => cwd.to_string(),
        ("~", Some(h)) => h.to_string(),
        (d, Some(h)) if d.starts_with("~/") => join(h, d.trim_start_matches("~/")),
        (d, _) if d.starts_with('/') || d.starts_with('~') => d.to_string(),
        (d, _) => join(cwd, d),
    }
}

/// Draws the form over `area`; an empty directory shows `cwd`, where the
/// session starts then.
pub fn draw(f: &mut Frame<'_>, form: &CreateForm, cwd: &str, area: Rect) {
    let inner_w = 64.min(area.width).saturating_sub(2);
    let error: Vec<Line<'static>> = match (&form.error, form.creating) {
        (_, true) => vec![Line::from(Span::styled(
            "creating…",
            Style::new().fg(Color::Yellow),
        ))],
        (Some(e), false) => crate::ui::transcript::wrap(
            vec![Span::styled(
                format!("cannot create it: {e}"),
                Style::new().fg(Color::Red),
            )],
            inner_w,
            "",
        ),
        (None, false) => Vec::new(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" new session ");
    let labels = ["name     ", "directory", "message  "];
    let placeholders = ["(from the directory)", cwd, "(optional first message)"];
    let mut lines = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        let focused = form.focus == i;
        let value = if form.fields[i].is_empty() && !focused {
            Span::styled(
                placeholders[i].to_string(),
                Style::new().fg(Color::DarkGray),
            )
        } else {
            Span::raw(form.fields[i].render(focused))
        };
        let style = if focused {
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{label} "), style),
            value,
        ]));
    }
    lines.push(worktree_line(form));
    lines.push(Line::default());
    lines.extend(error);
    lines.push(Line::from(Span::styled(
        " Tab: next field   Enter: create   Esc: cancel",
        Style::new().fg(Color::DarkGray),
    )));
    // Tall enough for every line as it wraps (the error, a narrow window).
    let rows: usize = lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(usize::from(inner_w.max(1))))
        .sum();
    let r = centered(area, 64, (rows as u16 + 2).max(9));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        r,
    );
}

/// The worktree switch, and the branch the session will get when it is on.
fn worktree_line(form: &CreateForm) -> Line<'static> {
    let focused = form.focus == WORKTREE;
    let label = if focused {
        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    };
    let gray = Style::new().fg(Color::DarkGray);
    let mut spans = vec![Span::styled("worktree  ", label)];
    if form.worktree {
        let name = form.fields[0].text().trim();
        let branch = if name.is_empty() {
            "tether/NAME".to_string()
        } else {
            format!("tether/{name}")
        };
        spans.push(Span::raw("[x] new branch "));
        spans.push(Span::styled(branch, Style::new().fg(Color::Cyan)));
    } else {
        spans.push(Span::raw("[ ] "));
        spans.push(Span::styled("(Space: a git worktree)", gray));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_expands_a_tilde_and_relative_paths() {
        let (home, cwd) = (Some("/home/ana"), "/work/here");
        assert_eq!(expand_dir("", home, cwd), "/work/here");
        assert_eq!(expand_dir("  ", home, cwd), "/work/here");
        assert_eq!(expand_dir("~", home, cwd), "/home/ana");
        assert_eq!(expand_dir(" ~/src/app ", home, cwd), "/home/ana/src/app");
        assert_eq!(expand_dir("/srv/ci", home, cwd), "/srv/ci");
        assert_eq!(expand_dir("sub/dir", home, cwd), "/work/here/sub/dir");
        // `~user` is left to the daemon, and so is `~` without a home.
        assert_eq!(expand_dir("~bob/x", home, cwd), "~bob/x");
        assert_eq!(expand_dir("~/x", None, cwd), "~/x");
    }
}
