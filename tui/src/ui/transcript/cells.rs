//! The transcript as cells: each event becomes (or updates) a cell that knows its
//! lines for a width, so a long history renders only what is visible.

use std::cell::RefCell;
use std::collections::HashMap;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use tether_shared::{Decision, Delivery, Event, EventKind};
use unicode_width::UnicodeWidthChar;

pub use crate::render::one_line;

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
    cache: RefCell<Option<(u16, bool, Vec<Line<'static>>)>>,
}

impl Cell {
    fn new(kind: CellKind) -> Cell {
        Cell {
            kind,
            cache: RefCell::new(None),
        }
    }

    fn touch(&mut self) {
        *self.cache.get_mut() = None;
    }

    /// Plain text of the cell, for search.
    pub fn plain(&self) -> String {
        match &self.kind {
            CellKind::User { text, .. } | CellKind::Assistant { text, .. } => text.clone(),
            CellKind::Tool {
                tool, args, output, ..
            } => format!("{tool} {args} {}", terminal_text(output)),
            CellKind::Notice { text, .. } => text.clone(),
        }
    }

    /// The cell's lines at `width` (cached).
    pub fn lines(&self, width: u16, expanded: bool) -> std::cell::Ref<'_, Vec<Line<'static>>> {
        let fresh =
            matches!(&*self.cache.borrow(), Some((w, e, _)) if *w == width && *e == expanded);
        if !fresh {
            let lines = build_lines(&self.kind, width.max(8), expanded);
            *self.cache.borrow_mut() = Some((width, expanded, lines));
        }
        std::cell::Ref::map(self.cache.borrow(), |c| match c {
            Some((_, _, l)) => l,
            None => &EMPTY,
        })
    }

    /// How many lines the cell takes at `width`.
    pub fn height(&self, width: u16, expanded: bool) -> usize {
        self.lines(width, expanded).len()
    }
}

static EMPTY: Vec<Line<'static>> = Vec::new();

/// The cells of a session, built from its events.
#[derive(Debug, Default)]
pub struct Transcript {
    /// The cells, oldest first.
    pub cells: Vec<Cell>,
    tools: HashMap<String, usize>,
}

impl Transcript {
    /// Applies one event; returns whether anything visible changed.
    pub fn apply(&mut self, ev: &Event) -> bool {
        let seq = ev.seq;
        match &ev.kind {
            EventKind::SessionCreated { model, cwd, .. } => self.push(
                seq,
                CellKind::Notice {
                    text: format!("session created · {model} · {cwd}"),
                    tone: Tone::Dim,
                },
            ),
            EventKind::UserMessage { text, delivery } => self.push(
                seq,
                CellKind::User {
                    text: text.clone(),
                    delivery: *delivery,
                },
            ),
            EventKind::AssistantMessage {
                text,
                partial,
                finish_reason,
                ..
            } => {
                let shown = !text.trim().is_empty()
                    && self.push(
                        seq,
                        CellKind::Assistant {
                            text: text.clone(),
                            partial: *partial,
                        },
                    );
                if finish_reason.as_deref() != Some(tether_shared::event::FINISH_LENGTH) {
                    return shown;
                }
                self.push(
                    seq,
                    CellKind::Notice {
                        text: CUT_AT_TOKEN_LIMIT.to_string(),
                        tone: Tone::Warn,
                    },
                )
            }
            EventKind::ToolCall {
                call_id,
                tool,
                arguments,
            } => {
                let i = self.cells.len();
                self.tools.insert(call_id.clone(), i);
                self.push(
                    seq,
                    CellKind::Tool {
                        call_id: call_id.clone(),
                        tool: tool.clone(),
                        args: arguments.to_string(),
                        status: ToolStatus::Running,
                        output: String::new(),
                        note: None,
                    },
                )
            }
            EventKind::ApprovalRequested { call_id, .. } => self
                .update_tool(call_id, |status, _, _| {
                    *status = ToolStatus::AwaitingApproval
                }),
            EventKind::ApprovalDecided {
                call_id,
                decision,
                reason,
            } => self.update_tool(call_id, |status, _, note| match decision {
                Decision::Approved => *status = ToolStatus::Approved,
                _ => {
                    // Denied: no longer pending, even before its result arrives.
                    *status = ToolStatus::Done { is_error: true };
                    *note = Some(
                        reason
                            .clone()
                            .map_or_else(|| "denied".to_string(), |r| format!("denied: {r}")),
                    )
                }
            }),
            EventKind::ToolResult {
                call_id,
                output,
                is_error,
                ..
            } => self.update_tool(call_id, |status, out, _| {
                *status = ToolStatus::Done {
                    is_error: *is_error,
                };
                *out = output.clone();
            }),
            EventKind::TurnStarted | EventKind::State { .. } | EventKind::Unknown => false,
            EventKind::TurnCompleted => self.push(
                seq,
                CellKind::Notice {
                    text: "turn completed".into(),
                    tone: Tone::Dim,
                },
            ),
            EventKind::TurnInterrupted { reason } => self.push(
                seq,
                CellKind::Notice {
                    text: format!("turn interrupted: {reason}"),
                    tone: Tone::Warn,
                },
            ),
            EventKind::TurnFailed { error } => self.push(
                seq,
                CellKind::Notice {
                    text: format!("turn failed: {error}"),
                    tone: Tone::Bad,
                },
            ),
            EventKind::TurnResumed { attempt } => self.push(
                seq,
                CellKind::Notice {
                    text: format!("turn resumed after a daemon restart (resume {attempt})"),
                    tone: Tone::Warn,
                },
            ),
            EventKind::ToolsChanged {
                added,
                removed,
                errors,
                fixed,
            } => {
                let mut parts = Vec::new();
                if !added.is_empty() {
                    parts.push(format!("+{}", added.join(" +")));
                }
                if !removed.is_empty() {
                    parts.push(format!("-{}", removed.join(" -")));
                }
                let tone = if errors.is_empty() {
                    Tone::Dim
                } else {
                    Tone::Bad
                };
                parts.extend(errors.iter().cloned());
                parts.extend(fixed.iter().map(|f| format!("fixed: {f} parses again")));
                self.push(
                    seq,
                    CellKind::Notice {
                        text: format!("tools changed: {}", parts.join("; ")),
                        tone,
                    },
                )
            }
            EventKind::Error { message } => self.push(
                seq,
                CellKind::Notice {
                    text: message.clone(),
                    tone: Tone::Warn,
                },
            ),
        }
    }

    fn push(&mut self, seq: u64, kind: CellKind) -> bool {
        let _ = seq;
        self.cells.push(Cell::new(kind));
        true
    }

    fn update_tool(
        &mut self,
        call_id: &str,
        f: impl FnOnce(&mut ToolStatus, &mut String, &mut Option<String>),
    ) -> bool {
        let Some(&i) = self.tools.get(call_id) else {
            return false;
        };
        let Some(cell) = self.cells.get_mut(i) else {
            return false;
        };
        if let CellKind::Tool {
            status,
            output,
            note,
            ..
        } = &mut cell.kind
        {
            f(status, output, note);
        }
        cell.touch();
        true
    }

    /// Calls waiting for approval: (call id, tool, arguments).
    pub fn pending_approvals(&self) -> Vec<(String, String, String)> {
        self.cells
            .iter()
            .filter_map(|c| match &c.kind {
                CellKind::Tool {
                    call_id,
                    tool,
                    args,
                    status: ToolStatus::AwaitingApproval,
                    ..
                } => Some((call_id.clone(), tool.clone(), args.clone())),
                _ => None,
            })
            .collect()
    }
}

/// Wraps styled spans to `width` columns, breaking at spaces where it can.
pub fn wrap(spans: Vec<Span<'static>>, width: u16, indent: &str) -> Vec<Line<'static>> {
    let width = width as usize;
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut cur_w = 0usize;
    let indent_w = indent.chars().count();
    let flush =
        |cur: &mut Vec<Span<'static>>, cur_w: &mut usize, lines: &mut Vec<Line<'static>>| {
            lines.push(Line::from(std::mem::take(cur)));
            *cur_w = 0;
        };
    for span in spans {
        let style = span.style;
        let mut buf = String::new();
        for word in split_keep_spaces(&span.content) {
            let w: usize = word.chars().map(|c| c.width().unwrap_or(0)).sum();
            if cur_w + buf_width(&buf) + w > width && cur_w + buf_width(&buf) > 0 {
                if !buf.is_empty() {
                    cur.push(Span::styled(std::mem::take(&mut buf), style));
                }
                flush(&mut cur, &mut cur_w, &mut lines);
                if !indent.is_empty() {
                    cur.push(Span::raw(indent.to_string()));
                    cur_w = indent_w;
                }
                if word.trim().is_empty() {
                    continue;
                }
            }
            if w > width.saturating_sub(cur_w) {
                // A word longer than the line: break it by characters.
                for ch in word.chars() {
                    let cw = ch.width().unwrap_or(0);
                    if cur_w + buf_width(&buf) + cw > width {
                        cur.push(Span::styled(std::mem::take(&mut buf), style));
                        flush(&mut cur, &mut cur_w, &mut lines);
                        if !indent.is_empty() {
                            cur.push(Span::raw(indent.to_string()));
                            cur_w = indent_w;
                        }
                    }
                    buf.push(ch);
                }
            } else {
                buf.push_str(word);
            }
        }
        if !buf.is_empty() {
            cur_w += buf_width(&buf);
            cur.push(Span::styled(buf, style));
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(Line::from(cur));
    }
    lines
}

/// Cuts styled spans to `max` columns, ending with `…` when something was cut.
pub fn fit(spans: Vec<Span<'static>>, max: usize) -> Vec<Span<'static>> {
    let total: usize = spans.iter().map(|s| buf_width(&s.content)).sum();
    if total <= max {
        return spans;
    }
    let mut room = max.saturating_sub(1);
    let mut out = Vec::new();
    for span in spans {
        let mut text = String::new();
        for c in span.content.chars() {
            let w = c.width().unwrap_or(0);
            if w > room {
                room = 0;
                break;
            }
            room -= w;
            text.push(c);
        }
        let done = room == 0;
        out.push(Span::styled(text, span.style));
        if done {
            break;
        }
    }
    out.push(Span::raw("…"));
    out
}

fn buf_width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

fn split_keep_spaces(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_space = None;
    for (i, c) in s.char_indices() {
        let sp = c == ' ';
        match in_space {
            Some(prev) if prev != sp => {
                out.push(&s[start..i]);
                start = i;
            }
            _ => {}
        }
        in_space = Some(sp);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

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

fn build_lines(kind: &CellKind, width: u16, expanded: bool) -> Vec<Line<'static>> {
    let mut lines = match kind {
        CellKind::User { text, delivery } => {
            let tag = match delivery {
                Delivery::Steer => "› (steer) ",
                Delivery::Interrupt => "› (interrupt) ",
                _ => "› ",
            };
            let first = vec![Span::styled(
                tag.to_string(),
                Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            )];
            text_lines(
                &message_text(text),
                width,
                first,
                Style::new().add_modifier(Modifier::BOLD),
            )
        }
        CellKind::Assistant { text, partial } => {
            let mut l = markdown_lines(text, width);
            if *partial {
                l.push(Line::from(Span::styled(
                    "  (cut short)",
                    Style::new().fg(Color::DarkGray),
                )));
            }
            l
        }
        CellKind::Tool {
            tool,
            args,
            status,
            output,
            note,
            ..
        } => {
            let (mark, color, word) = match status {
                ToolStatus::Running => ("⋯", Color::Blue, "running"),
                ToolStatus::Approved => ("⋯", Color::Blue, "approved, running"),
                ToolStatus::AwaitingApproval => ("?", Color::Magenta, "awaiting approval"),
                ToolStatus::Done { is_error: false } => ("✓", Color::Green, "ok"),
                ToolStatus::Done { is_error: true } => ("✗", Color::Red, "error"),
            };
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
                l.extend(wrap(
                    vec![Span::styled(
                        format!("    {n}"),
                        Style::new().fg(Color::Red),
                    )],
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

/// Lines of the message streaming now (not stored yet).
pub fn partial_lines(text: &str, width: u16) -> Vec<Line<'static>> {
    let mut l = markdown_lines(text, width.max(8));
    if let Some(last) = l.last_mut() {
        last.spans
            .push(Span::styled("▌", Style::new().fg(Color::Cyan)));
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(seq: u64, kind: EventKind) -> Event {
        Event {
            seq,
            ts: "t".into(),
            kind,
        }
    }

    fn text_of(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn wraps_at_spaces_and_breaks_long_words() {
        let l = wrap(vec![Span::raw("hello wide world")], 11, "");
        assert_eq!(text_of(&l), vec!["hello wide ", "world"]);
        let l = wrap(vec![Span::raw("abcdefghij")], 4, "");
        assert_eq!(text_of(&l), vec!["abcd", "efgh", "ij"]);
        for line in wrap(vec![Span::raw("日本語のテキストです")], 6, "") {
            assert!(line.width() <= 6);
        }
    }

    #[test]
    fn tool_cells_update_in_place() {
        let mut t = Transcript::default();
        t.apply(&ev(
            1,
            EventKind::ToolCall {
                call_id: "c".into(),
                tool: "shell".into(),
                arguments: json!({"command": "ls"}),
            },
        ));
        t.apply(&ev(
            2,
            EventKind::ApprovalRequested {
                call_id: "c".into(),
                tool: "shell".into(),
                diff: None,
            },
        ));
        assert_eq!(t.pending_approvals().len(), 1);
        t.apply(&ev(
            3,
            EventKind::ApprovalDecided {
                call_id: "c".into(),
                decision: Decision::Approved,
                reason: None,
            },
        ));
        t.apply(&ev(
            4,
            EventKind::ToolResult {
                call_id: "c".into(),
                tool: "shell".into(),
                output: "a\nb".into(),
                is_error: false,
                images: Vec::new(),
            },
        ));
        assert_eq!(t.cells.len(), 1);
        assert!(t.pending_approvals().is_empty());
        let collapsed = t.cells[0].height(60, false);
        let expanded = t.cells[0].height(60, true);
        assert!(expanded > collapsed, "{collapsed} vs {expanded}");
        assert!(
            text_of(&t.cells[0].lines(60, false))
                .join("\n")
                .contains("(+1 lines)")
        );
    }

    #[test]
    fn an_answer_cut_at_the_token_limit_says_so() {
        let mut t = Transcript::default();
        for (seq, reason) in [(1, "stop"), (2, "length")] {
            t.apply(&ev(
                seq,
                EventKind::AssistantMessage {
                    text: format!("answer {seq}"),
                    tool_calls: vec![],
                    usage: None,
                    partial: false,
                    finish_reason: Some(reason.into()),
                },
            ));
        }
        let all: Vec<String> = t
            .cells
            .iter()
            .flat_map(|c| text_of(&c.lines(60, false)))
            .collect();
        let text = all.join("\n");
        assert_eq!(text.matches(CUT_AT_TOKEN_LIMIT).count(), 1, "{text}");
        assert!(
            text.find("answer 2").unwrap() < text.find(CUT_AT_TOKEN_LIMIT).unwrap(),
            "{text}"
        );
    }
}
