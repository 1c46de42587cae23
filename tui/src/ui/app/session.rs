//! An attached session as the TUI holds it: its events and cells, the
//! answer streaming now, the message being written, scrolling, search and the
//! approval prompt.

use std::collections::HashMap;
use std::time::Instant;

use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Borders};
use ratatui_textarea::{CursorMove, TextArea, WrapMode};
use tether_shared::protocol::{AttachResult, SessionInfo};
use tether_shared::rules::{RuleScope, SHELL_TOOL, default_prefix};
use tether_shared::{Event, EventKind};

use super::history::HistoryWalk;
use crate::ui::keymap::{Action, Context, Keymap};
use crate::ui::transcript::{Transcript, partial_lines};
use crate::ui::widgets::line_input::LineInput;

/// The approval prompt of the call at the head of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// The call it shows.
    pub call_id: String,
    /// When this call came to the head: decision keys count from `ARM_DELAY` later.
    pub since: Instant,
    /// Lines the call's text is scrolled down.
    pub scroll: usize,
    /// The "always allow" step, while it is open.
    pub always: Option<AlwaysDraft>,
    /// A decision on this call went to the daemon; its answer has not come yet.
    pub sent: bool,
}

impl Prompt {
    /// The prompt of `call_id`, come to the head of the queue at `since`.
    pub fn new(call_id: String, since: Instant) -> Prompt {
        Prompt {
            call_id,
            since,
            scroll: 0,
            always: None,
            sent: false,
        }
    }
}

/// The second step of "always allow": the rule a person is about to add, shown
/// whole until the approve key adds it (and approves the call) or Esc drops it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlwaysDraft {
    /// This session, or every session in its project.
    pub scope: RuleScope,
    /// For a `shell` call: the words a command must start with, editable (the
    /// command's first word to begin with); `None` for other tools (every call).
    pub prefix: Option<LineInput>,
}

impl AlwaysDraft {
    /// The draft for a call of `tool` with `args` (compact JSON).
    pub fn for_call(tool: &str, args: &str) -> AlwaysDraft {
        let prefix = (tool == SHELL_TOOL).then(|| {
            let command = serde_json::from_str::<serde_json::Value>(args)
                .ok()
                .and_then(|v| {
                    v.get("command")
                        .and_then(|c| c.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_default();
            let mut input = LineInput::default();
            input.insert_str(&default_prefix(&command));
            input
        });
        AlwaysDraft {
            scope: RuleScope::Session,
            prefix,
        }
    }
}

/// Transcript search.
#[derive(Debug, Default)]
pub struct Search {
    /// The query.
    pub query: LineInput,
    /// Still typing it.
    pub editing: bool,
    /// Cell indices that match.
    pub matches: Vec<usize>,
    /// The current match.
    pub current: usize,
}

/// An attached session.
pub struct SessionView {
    /// Its summary.
    pub info: SessionInfo,
    /// Every event loaded, in seq order.
    pub events: Vec<Event>,
    /// Its cells.
    pub transcript: Transcript,
    /// Older events exist that are not loaded.
    pub more_before: bool,
    /// A backfill request is in flight.
    pub backfilling: bool,
    /// The answer streaming now.
    pub partial: String,
    /// Live output of running tool calls.
    pub tool_live: HashMap<String, String>,
    /// The message being written.
    pub input: TextArea<'static>,
    /// A walk through the input history, while one goes on.
    pub history: Option<HistoryWalk>,
    /// Lines scrolled up from the bottom (0 = following).
    pub scroll: usize,
    /// Tool calls expanded.
    pub expanded: bool,
    /// Transcript search.
    pub search: Option<Search>,
    /// Transcript size in the frame drawn last (for paging; see `App::fit`).
    pub viewport: (u16, u16),
    /// The approval prompt, while a call waits.
    pub prompt: Option<Prompt>,
    /// The prompt's body in the frame drawn last: (lines in all, lines shown).
    pub prompt_view: (usize, usize),
}

impl SessionView {
    pub(super) fn new(r: AttachResult, keymap: &Keymap) -> SessionView {
        let mut v = SessionView {
            info: r.info,
            events: Vec::new(),
            transcript: Transcript::default(),
            more_before: r.truncated,
            backfilling: false,
            partial: r.partial.assistant_text,
            tool_live: HashMap::new(),
            input: new_input(keymap),
            history: None,
            scroll: 0,
            expanded: false,
            search: None,
            viewport: (80, 20),
            prompt: None,
            prompt_view: (0, 0),
        };
        for e in r.events {
            v.push_event(e);
        }
        v
    }

    /// The seq of the newest event loaded.
    pub fn last_seq(&self) -> u64 {
        self.events.last().map_or(0, |e| e.seq)
    }

    pub(super) fn push_event(&mut self, e: Event) -> bool {
        if e.seq <= self.last_seq() {
            return false; // already have it (a reconnect overlaps)
        }
        let before = self.transcript.cells.len();
        match &e.kind {
            EventKind::State { state } => self.info.state = *state,
            EventKind::AssistantMessage { .. } => self.partial.clear(),
            EventKind::ToolResult { call_id, .. } => {
                self.tool_live.remove(call_id);
            }
            _ => {}
        }
        self.info.last_seq = e.seq;
        self.info.updated_at = e.ts.clone();
        self.transcript.apply(&e);
        self.events.push(e);
        if self.scroll > 0 {
            // Not following: keep the view where the reader left it.
            let (w, _) = self.viewport;
            let added: usize = self.transcript.cells[before..]
                .iter()
                .map(|c| c.height(w, self.expanded))
                .sum();
            self.scroll += added;
        }
        true
    }

    pub(super) fn prepend(&mut self, mut older: Vec<Event>) {
        let first = self.events.first().map_or(u64::MAX, |e| e.seq);
        older.retain(|e| e.seq < first);
        older.append(&mut self.events);
        self.events = older;
        self.transcript = Transcript::default();
        for e in &self.events {
            self.transcript.apply(e);
        }
    }

    /// Calls waiting for approval.
    pub fn pending(&self) -> Vec<(String, String, String)> {
        self.transcript.pending_approvals()
    }

    /// The daemon's preview of what a waiting call changes (the `diff` of its
    /// `approval_requested` event), when it sent one.
    pub fn approval_diff(&self, call_id: &str) -> Option<&str> {
        self.events.iter().rev().find_map(|e| match &e.kind {
            EventKind::ApprovalRequested {
                call_id: id, diff, ..
            } if id == call_id => diff.as_deref(),
            _ => None,
        })
    }

    /// Where `call_id` stands among the calls of its step that asked for approval:
    /// (its place from 1, how many asked), so a person reviewing them one after
    /// another sees `2 of 3`. Read from the loaded events; the waiting calls
    /// alone when the step's start is not loaded.
    pub fn approval_position(&self, call_id: &str) -> (usize, usize) {
        let mut asked: Vec<&str> = Vec::new();
        for e in self.events.iter().rev() {
            match &e.kind {
                EventKind::ApprovalRequested { call_id: id, .. } => asked.push(id),
                EventKind::AssistantMessage { .. } | EventKind::TurnStarted => break,
                _ => {}
            }
        }
        asked.reverse();
        match asked.iter().position(|id| *id == call_id) {
            Some(i) => (i + 1, asked.len()),
            None => {
                let pending = self.pending();
                let i = pending.iter().position(|(id, _, _)| id == call_id);
                (i.map_or(1, |i| i + 1), pending.len().max(1))
            }
        }
    }

    /// Total transcript height at a width (partial answer included).
    pub fn total_height(&self, width: u16) -> usize {
        let cells: usize = self
            .transcript
            .cells
            .iter()
            .map(|c| c.height(width, self.expanded))
            .sum();
        cells
            + if self.partial.is_empty() {
                0
            } else {
                partial_lines(&self.partial, width).len()
            }
    }
}

/// An empty message box: its border, its placeholder (naming the keys that
/// send and show the help) and long lines wrapped at words (a word longer than
/// the box is cut between characters).
pub(super) fn new_input(keymap: &Keymap) -> TextArea<'static> {
    let mut t = TextArea::default();
    let help = keymap
        .keys_for(Context::Session, Action::Help)
        .into_iter()
        .next()
        .unwrap_or_else(|| keymap.hint(Action::Help));
    let send = keymap
        .keys_for(Context::Session, Action::Send)
        .into_iter()
        .next()
        .unwrap_or_else(|| keymap.hint(Action::Send));
    t.set_placeholder_text(format!("Type a message… {send} sends · {help} help"));
    t.set_cursor_line_style(Style::default());
    t.set_wrap_mode(WrapMode::WordOrGlyph);
    t.set_block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(Style::new().fg(Color::DarkGray)),
    );
    t
}

/// Puts `text` in the message box in place of what it holds, the cursor at the
/// end of its first line (`at_top`) or of its last. What was cut or copied in
/// the box stays as it was.
pub(super) fn replace_text(input: &mut TextArea<'static>, text: &str, at_top: bool) {
    let yank = input.yank_text();
    input.clear();
    input.insert_str(text);
    input.set_yank_text(yank);
    if at_top {
        input.move_cursor(CursorMove::Top);
        input.move_cursor(CursorMove::End);
    }
}

/// How many rows the message box's text takes inside a box `width` columns
/// wide (its border included), wrapped as the box draws it.
pub fn input_rows(input: &TextArea<'_>, width: u16) -> usize {
    let inner = width.saturating_sub(2);
    let lines = input.lines();
    // Most messages wrap nowhere: no need to lay them out (a tab's width
    // depends on where it falls: those are laid out).
    let longest = lines
        .iter()
        .map(|l| unicode_width::UnicodeWidthStr::width(l.as_str()))
        .max()
        .unwrap_or(0);
    let tabs = lines.iter().any(|l| l.contains('\t'));
    if (longest + 1 < inner as usize && !tabs) || inner == 0 {
        return lines.len().max(1);
    }
    // Lay a copy out at that width (drawing it is what sets its width), then
    // find the row its last character is on.
    let mut t = input.clone();
    let area = ratatui::layout::Rect::new(0, 0, width, 3);
    let mut buf = ratatui::buffer::Buffer::empty(area);
    ratatui::widgets::Widget::render(&t, area, &mut buf);
    t.move_cursor(CursorMove::Bottom);
    t.move_cursor(CursorMove::End);
    t.screen_cursor().row + 1
}
