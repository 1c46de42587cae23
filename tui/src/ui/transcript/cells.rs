//! The transcript as cells: each event becomes (or updates) a cell that knows its
//! lines for a width, so a long history renders only what is visible.

use std::cell::RefCell;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use tether_shared::Delivery;
use tether_shared::event::CompactReason;

use crate::render::one_line;

use super::wrap::{buf_width, fit, wrap};
use crate::ui::widgets::term_text::{
    expand_tabs, markdown_source, message_text, terminal_lines, terminal_text,
};

/// Where a tool call stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolStatus {
    /// Running (or about to).
    Running,
    /// Waiting for a person.
    AwaitingApproval,
    /// Approved and running.
    Approved,
    /// Finished.
    Done {
        /// True when it failed.
        is_error: bool,
    },
}

/// What a cell shows.
#[derive(Debug, Clone, PartialEq)]
pub enum CellKind {
    /// A user message.
    User {
        /// The text.
        text: String,
        /// How it was sent.
        delivery: Delivery,
    },
    /// An assistant message, rendered as markdown.
    Assistant {
        /// The text.
        text: String,
        /// Cut short by an interrupt.
        partial: bool,
    },
    /// A tool call with its result, updated in place.
    Tool {
        /// The call id.
        call_id: String,
        /// The tool.
        tool: String,
        /// Arguments as compact JSON.
        args: String,
        /// Where it stands.
        status: ToolStatus,
        /// The result text, once there is one.
        output: String,
        /// A denial's reason.
        note: Option<String>,
        /// For a `write_file` / `edit_file` call: the change as a unified diff
        /// (see `diffs.rs`).
        diff: Option<String>,
    },
    /// The model's context was compacted: one line collapsed, the summary and
    /// the user messages it kept when expanded.
    Compaction {
        /// Why it ran.
        reason: CompactReason,
        /// Estimated tokens of the request before.
        tokens_before: u64,
        /// And after.
        tokens_after: u64,
        /// Events up to this seq are summarised (0: none).
        through_seq: u64,
        /// Tool outputs up to this seq are cut to stubs (0: none).
        tool_outputs_through: u64,
        /// The summary the model sees in their place.
        summary: String,
        /// The user messages of the summarised part, kept verbatim.
        user_messages: Vec<String>,
    },
    /// A one-line notice (turn boundary, error, tools changed).
    Notice {
        /// The text.
        text: String,
        /// Its colour.
        tone: Tone,
    },
}

/// A notice's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Quiet.
    Dim,
    /// Worth a look.
    Warn,
    /// Something failed.
    Bad,
}

/// The notice under an answer whose `finish_reason` was `length`.
pub const CUT_AT_TOKEN_LIMIT: &str = "answer cut at the token limit";

/// One transcript cell.
#[derive(Debug)]
pub struct Cell {
    /// What it shows.
    pub kind: CellKind,
    /// The seq of the event that made it: the cell's name for the reader's
    /// choices (expanded alone, a search's match).
    pub seq: u64,
    cache: RefCell<Option<(u16, bool, Vec<Line<'static>>)>>,
    /// The last lines of a long answer not laid out whole yet, at a width:
    /// the lines of its last blocks (see `tail.rs`).
    tail: RefCell<Option<(u16, Vec<Line<'static>>)>>,
}

impl Cell {
    pub(super) fn new(seq: u64, kind: CellKind) -> Cell {
        Cell {
            kind,
            seq,
            cache: RefCell::new(None),
            tail: RefCell::new(None),
        }
    }

    /// Whether the cell has more to show expanded (a tool call, a compaction).
    pub fn expandable(&self) -> bool {
        matches!(
            self.kind,
            CellKind::Tool { .. } | CellKind::Compaction { .. }
        )
    }

    pub(super) fn touch(&mut self) {
        *self.cache.get_mut() = None;
        *self.tail.get_mut() = None;
    }

    /// Plain text of the cell, for search.
    pub fn plain(&self) -> String {
        match &self.kind {
            CellKind::User { text, .. } | CellKind::Assistant { text, .. } => text.clone(),
            CellKind::Tool {
                tool, args, output, ..
            } => format!("{tool} {args} {}", terminal_text(output)),
            CellKind::Notice { text, .. } => text.clone(),
            CellKind::Compaction {
                summary,
                user_messages,
                ..
            } => format!("context compacted {summary} {}", user_messages.join(" ")),
        }
    }

    /// The cell's lines at `width` (cached).
    pub fn lines(&self, width: u16, expanded: bool) -> std::cell::Ref<'_, Vec<Line<'static>>> {
        let fresh =
            matches!(&*self.cache.borrow(), Some((w, e, _)) if *w == width && *e == expanded);
        if !fresh {
            let lines = build_lines(&self.kind, width.max(8), expanded);
            *self.cache.borrow_mut() = Some((width, expanded, lines));
            *self.tail.borrow_mut() = None;
        }
        std::cell::Ref::map(self.cache.borrow(), |c| match c {
            Some((_, _, l)) => l,
            None => &EMPTY,
        })
    }

    /// The cell's last lines at `width`, at least `n` of them when it has as
    /// many: all of them, unless it is a long answer not laid out whole at
    /// this width, whose last blocks are laid out alone (and kept) instead.
    pub fn last_lines(
        &self,
        width: u16,
        expanded: bool,
        n: usize,
    ) -> std::cell::Ref<'_, Vec<Line<'static>>> {
        let laid_out =
            matches!(&*self.cache.borrow(), Some((w, e, _)) if *w == width && *e == expanded);
        if !laid_out && let CellKind::Assistant { text, partial } = &self.kind {
            let kept = matches!(&*self.tail.borrow(), Some((w, l)) if *w == width && l.len() > n);
            if !kept {
                // A line of plain text holds `width` bytes at most; twice that
                // leaves room for markup and wide characters. Fewer lines than
                // asked for, and the whole answer is laid out after all.
                let bytes = n
                    .saturating_add(1)
                    .saturating_mul(usize::from(width.max(8)))
                    .saturating_mul(2);
                let lines = super::tail::cut(text, bytes).map(|at| {
                    let mut l = answer_lines(&text[at..], *partial, width.max(8));
                    l.push(Line::default());
                    l
                });
                match lines {
                    Some(l) if l.len() > n => *self.tail.borrow_mut() = Some((width, l)),
                    _ => return self.lines(width, expanded),
                }
            }
            return std::cell::Ref::map(self.tail.borrow(), |t| match t {
                Some((_, l)) => l,
                None => &EMPTY,
            });
        }
        self.lines(width, expanded)
    }

    /// How many lines the cell takes at `width`.
    pub fn height(&self, width: u16, expanded: bool) -> usize {
        self.lines(width, expanded).len()
    }
}

static EMPTY: Vec<Line<'static>> = Vec::new();

fn text_lines(
    text: &str,
    width: u16,
    first: Vec<Span<'static>>,
    style: Style,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let prefix_w: usize = first.iter().map(|s| buf_width(&s.content)).sum();
    let indent = " ".repeat(prefix_w);
    for (i, raw) in text.split('\n').enumerate() {
        let mut spans = if i == 0 {
            first.clone()
        } else {
            vec![Span::raw(indent.clone())]
        };
        spans.push(Span::styled(raw.to_string(), style));
        out.extend(wrap(spans, width, &indent));
    }
    out
}

/// The left margin of an assistant message.
const MARGIN: &str = "  ";

fn markdown_lines(text: &str, width: u16) -> Vec<Line<'static>> {
    let room = width.saturating_sub(MARGIN.len() as u16);
    // Tables are laid out for the width (cells wrap inside their columns, or a
    // table too wide for that becomes records), so wrapping a line below never
    // breaks a row.
    let source = crate::ui::widgets::md_table::fit_tables(&markdown_source(text), room as usize);
    let options = tui_markdown::Options::default().table_width(room);
    let md = tui_markdown::from_str_with_options(&source, &options);
    let mut out = Vec::new();
    for line in md.lines {
        let mut with_margin = vec![Span::raw(MARGIN)];
        with_margin.extend(
            line.spans
                .into_iter()
                .map(|s| Span::styled(s.content.into_owned(), line.style.patch(s.style))),
        );
        out.extend(wrap(expand_tabs(with_margin, MARGIN.len()), width, MARGIN));
    }
    out
}

/// An answer's lines: its markdown, and a note when it was cut short.
fn answer_lines(text: &str, partial: bool, width: u16) -> Vec<Line<'static>> {
    let mut l = markdown_lines(text, width);
    if partial {
        l.push(Line::from(Span::styled(
            "  (cut short)",
            Style::new().fg(Color::DarkGray),
        )));
    }
    l
}

fn build_lines(kind: &CellKind, width: u16, expanded: bool) -> Vec<Line<'static>> {
    let mut lines = match kind {
        CellKind::User { text, delivery } => {
            let tag = match delivery {
                Delivery::Steer => "› (steer) ",
                Delivery::Interrupt => "› (interrupt) ",
                // Not typed by a person: a schedule or file trigger sent it.
                Delivery::Schedule => "› (scheduled) ",
                _ => "› ",
            };
            let color = if *delivery == Delivery::Schedule {
                Color::Magenta
            } else {
                Color::Cyan
            };
            let first = vec![Span::styled(
                tag.to_string(),
                Style::new().fg(color).add_modifier(Modifier::BOLD),
            )];
            text_lines(
                &message_text(text),
                width,
                first,
                Style::new().add_modifier(Modifier::BOLD),
            )
        }
        CellKind::Assistant { text, partial } => answer_lines(text, *partial, width),
        CellKind::Tool {
            tool,
            args,
            status,
            output,
            note,
            diff: Some(diff),
            ..
        } if super::diffs::is_file_change(tool) => {
            file_change_lines(tool, args, status, output, note, diff, width, expanded)
        }
        CellKind::Tool {
            tool,
            args,
            status,
            output,
            note,
            ..
        } => {
            let (mark, color, word) = status_look(status);
            let avail = (width as usize)
                .saturating_sub(tool.len() + word.len() + 10)
                .max(8);
            let head = vec![
                Span::styled(
                    format!("{mark} "),
                    Style::new().fg(color).add_modifier(Modifier::BOLD),
                ),
                Span::styled(tool.clone(), Style::new().fg(Color::Yellow)),
                Span::styled(
                    format!(" {}", one_line(args, avail)),
                    Style::new().fg(Color::DarkGray),
                ),
                Span::styled(format!("  {word}"), Style::new().fg(color)),
            ];
            let mut l = wrap(head, width, "    ");
            if let Some(n) = note {
                // A denial's reason is red; what let a call run (a rule) is not.
                let tone = match status {
                    ToolStatus::Done { is_error: true } => Color::Red,
                    _ => Color::DarkGray,
                };
                l.extend(wrap(
                    vec![Span::styled(format!("    {n}"), Style::new().fg(tone))],
                    width,
                    "    ",
                ));
            }
            if expanded {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(args) {
                    let pretty = serde_json::to_string_pretty(&v).unwrap_or_default();
                    for a in pretty.lines() {
                        l.extend(wrap(
                            vec![Span::styled(
                                format!("    {a}"),
                                Style::new().fg(Color::DarkGray),
                            )],
                            width,
                            "    ",
                        ));
                    }
                }
                for o in terminal_lines(output, Style::new()) {
                    let mut spans = vec![Span::raw("    │ ")];
                    spans.extend(o.spans);
                    l.extend(wrap(spans, width, "    │ "));
                }
            } else if !output.is_empty() {
                let out = terminal_lines(output, Style::new().fg(Color::Gray));
                let more = out.len().saturating_sub(1);
                let first = out
                    .into_iter()
                    .find(|line| !line.spans.iter().all(|s| s.content.trim().is_empty()))
                    .unwrap_or_default();
                let tail = if more > 0 {
                    format!("  (+{more} lines)")
                } else {
                    String::new()
                };
                let avail = (width as usize).saturating_sub(12 + tail.len()).max(8);
                let mut spans = vec![Span::styled("    │ ", Style::new().fg(Color::Gray))];
                spans.extend(fit(first.spans, avail));
                spans.push(Span::styled(tail, Style::new().fg(Color::DarkGray)));
                l.push(Line::from(spans));
            }
            l
        }
        CellKind::Compaction {
            reason,
            tokens_before,
            tokens_after,
            through_seq,
            tool_outputs_through,
            summary,
            user_messages,
        } => {
            let what = match (*through_seq, *tool_outputs_through) {
                (0, 0) => String::new(),
                (0, t) => format!(" · tool outputs to seq {t} cut"),
                (s, _) => format!(" · events 1–{s} summarised"),
            };
            let head = format!(
                "── context compacted ({}) · {} → {} tokens{what}",
                reason.as_str(),
                thousands(*tokens_before),
                thousands(*tokens_after),
            );
            let dim = Style::new().fg(Color::DarkGray);
            let mut l = wrap(vec![Span::styled(head, dim)], width, "   ");
            let bar = || vec![Span::styled("   │ ", dim)];
            if expanded {
                if !summary.trim().is_empty() {
                    l.push(Line::from(Span::styled("   summary", dim)));
                    for line in message_text(summary).split('\n') {
                        l.extend(text_lines(line, width, bar(), Style::new()));
                    }
                }
                if !user_messages.is_empty() {
                    l.push(Line::from(Span::styled(
                        format!("   user messages kept verbatim ({})", user_messages.len()),
                        dim,
                    )));
                    // One line each: the messages themselves are in the transcript above.
                    let avail = (width as usize).saturating_sub(5).max(8);
                    for m in user_messages {
                        l.push(Line::from(vec![
                            Span::styled("   › ", Style::new().fg(Color::Cyan)),
                            Span::raw(one_line(&message_text(m), avail)),
                        ]));
                    }
                }
                if *tool_outputs_through > 0 {
                    l.push(Line::from(Span::styled(
                        format!(
                            "   tool outputs up to seq {tool_outputs_through} are shown to the model as stubs"
                        ),
                        dim,
                    )));
                }
            } else if let Some(first) = summary.lines().find(|s| !s.trim().is_empty()) {
                let more = summary.lines().count().saturating_sub(1);
                let tail = if more > 0 {
                    format!("  (+{more} lines)")
                } else {
                    String::new()
                };
                let avail = (width as usize).saturating_sub(12 + tail.len()).max(8);
                let mut spans = bar();
                spans.push(Span::styled(
                    one_line(first, avail),
                    Style::new().fg(Color::Gray),
                ));
                spans.push(Span::styled(tail, dim));
                l.push(Line::from(spans));
            }
            l
        }
        CellKind::Notice { text, tone } => {
            let style = match tone {
                Tone::Dim => Style::new().fg(Color::DarkGray),
                Tone::Warn => Style::new().fg(Color::Yellow),
                Tone::Bad => Style::new().fg(Color::Red),
            };
            wrap(
                vec![Span::styled(format!("── {}", message_text(text)), style)],
                width,
                "   ",
            )
        }
    };
    // A blank line between cells keeps the transcript readable.
    lines.push(Line::default());
    lines
}

/// A tool call's mark, colour and word for where it stands.
fn status_look(status: &ToolStatus) -> (&'static str, Color, &'static str) {
    match status {
        ToolStatus::Running => ("⋯", Color::Blue, "running"),
        ToolStatus::Approved => ("⋯", Color::Blue, "approved, running"),
        ToolStatus::AwaitingApproval => ("?", Color::Magenta, "awaiting approval"),
        ToolStatus::Done { is_error: false } => ("✓", Color::Green, "ok"),
        ToolStatus::Done { is_error: true } => ("✗", Color::Red, "error"),
    }
}

/// A `write_file` / `edit_file` call: its path, the change as a diff (the
/// first lines collapsed, all of it expanded), a denial's reason, and its
/// output when it failed or is expanded.
#[allow(clippy::too_many_arguments)]
fn file_change_lines(
    tool: &str,
    args: &str,
    status: &ToolStatus,
    output: &str,
    note: &Option<String>,
    diff: &str,
    width: u16,
    expanded: bool,
) -> Vec<Line<'static>> {
    let (mark, color, word) = status_look(status);
    let path = super::diffs::head_of(args).unwrap_or_default();
    let avail = (width as usize)
        .saturating_sub(tool.len() + word.len() + 10)
        .max(8);
    let head = vec![
        Span::styled(
            format!("{mark} "),
            Style::new().fg(color).add_modifier(Modifier::BOLD),
        ),
        Span::styled(tool.to_string(), Style::new().fg(Color::Yellow)),
        Span::styled(
            format!(" {}", crate::render::one_line(&path, avail)),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("  {word}"), Style::new().fg(color)),
    ];
    let mut l = wrap(head, width, "    ");
    if let Some(n) = note {
        l.extend(wrap(
            vec![Span::styled(
                format!("    {n}"),
                Style::new().fg(Color::Red),
            )],
            width,
            "    ",
        ));
    }
    // While it waits, the approval prompt shows the whole diff: not twice.
    if expanded || *status != ToolStatus::AwaitingApproval {
        l.extend(super::diffs::diff_lines(diff, width, expanded));
    }
    let failed = matches!(status, ToolStatus::Done { is_error: true });
    if (expanded || failed) && !output.is_empty() && note.is_none() {
        let style = if failed {
            Style::new().fg(Color::Red)
        } else {
            Style::new().fg(Color::Gray)
        };
        for o in terminal_lines(output, style) {
            let mut spans = vec![Span::raw("    │ ")];
            spans.extend(o.spans);
            l.extend(wrap(spans, width, "    │ "));
        }
    }
    l
}

/// `n` with a comma between thousands: 27,300.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Lines of the message streaming now (not stored yet).
pub fn partial_lines(text: &str, width: u16) -> Vec<Line<'static>> {
    let mut l = markdown_lines(text, width.max(8));
    if let Some(last) = l.last_mut() {
        last.spans
            .push(Span::styled("▌", Style::new().fg(Color::Cyan)));
    }
    l
}
