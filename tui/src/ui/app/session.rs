//! An attached session as the TUI holds it: its events and cells, the
//! answer streaming now, the message being written, scrolling, search and the
//! approval prompt.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Borders};
use ratatui_textarea::{CursorMove, TextArea, WrapMode};
use tether_shared::protocol::{AttachResult, QueuedInput, SessionInfo};
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

/// Transcript search: the loaded cells that hold the query, and the events of
/// the whole stored history that the daemon found (`session.search`).
#[derive(Debug, Default)]
pub struct Search {
    /// The query.
    pub query: LineInput,
    /// Still typing it.
    pub editing: bool,
    /// The matches, oldest first, each named by a seq: the seq of its cell
    /// (see [`crate::ui::transcript::Transcript::cell_of_seq`]) when it is
    /// loaded, else of the stored event the daemon found.
    pub matches: Vec<u64>,
    /// The current match.
    pub current: usize,
    /// The query the matches are for.
    pub asked: String,
    /// The daemon's answer for `asked` is awaited.
    pub waiting: bool,
    /// The events the daemon found for `asked`, by seq.
    pub hits: Vec<u64>,
    /// The daemon found more than it returned (the oldest are left out).
    pub more: bool,
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
    /// The form of a tool server's question waiting (issue 14), while no call does.
    pub question: Option<super::question::QuestionForm>,
    /// Inputs sent and not yet taken by the agent, oldest first.
    pub queued: Vec<QueuedInput>,
    /// Cells whose expansion is the opposite of `expanded`, by seq.
    pub open: HashSet<u64>,
    /// Copy mode, while it is on.
    pub copy: Option<super::selection::CopyMode>,
    /// A match to show once the older events around it are loaded (its seq).
    pub jump: Option<u64>,
    /// Where the transcript was drawn in the frame drawn last (for the mouse).
    pub body: ratatui::layout::Rect,
    /// When the running turn started, by `clock`.
    pub turn_since: Option<Instant>,
    /// The time source (the app's).
    pub clock: super::clock::Clock,
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
            question: None,
            queued: r.queued,
            open: HashSet::new(),
            copy: None,
            jump: None,
            body: ratatui::layout::Rect::default(),
            turn_since: None,
            clock: super::clock::Clock::System,
        };
        for e in r.events {
            v.push_event(e);
        }
        v.turn_since = None;
        v
    }

    /// Sets the clock, and dates a turn that runs at attach from its stored
    /// `turn_started` (when it is loaded).
    pub(super) fn with_clock(mut self, clock: super::clock::Clock) -> SessionView {
        self.clock = clock;
        if self.info.state == tether_shared::SessionState::Running {
            let started = self.events.iter().rev().find_map(|e| match e.kind {
                EventKind::TurnStarted => Some(e.ts.clone()),
                EventKind::TurnCompleted
                | EventKind::TurnFailed { .. }
                | EventKind::TurnInterrupted { .. } => Some(String::new()),
                _ => None,
            });
            let wall = self.clock.wall();
            let age = started
                .as_deref()
                .and_then(|ts| super::clock::age_of(ts, wall))
                .unwrap_or_default();
            let now = self.clock.now();
            self.turn_since = Some(now.checked_sub(age).unwrap_or(now));
        }
        self
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
        let (w, _) = self.viewport;
        let held = self.holds_view();
        // Lines that leave the bottom with this event (a streamed answer stored,
        // a call's live output replaced by its result).
        let mut gone = 0;
        match &e.kind {
            EventKind::State { state } => {
                self.info.state = *state;
                if !matches!(
                    state,
                    tether_shared::SessionState::Running
                        | tether_shared::SessionState::AwaitingApproval
                ) {
                    self.turn_since = None;
                }
            }
            EventKind::AssistantMessage { .. } => {
                if held {
                    gone += self.partial_height(w);
                }
                self.partial.clear()
            }
            EventKind::ToolResult { call_id, .. } => {
                if held && let Some(i) = self.transcript.tool_cell(call_id) {
                    gone += self.live_height(i, w);
                }
                self.tool_live.remove(call_id);
            }
            EventKind::TurnStarted => self.turn_since = Some(self.clock.now()),
            EventKind::TurnCompleted
            | EventKind::TurnFailed { .. }
            | EventKind::TurnInterrupted { .. } => self.turn_since = None,
            _ => {}
        }
        let touched = self.touched_cell(&e);
        let touched_before = touched.map_or(0, |i| self.cell_height(i, w));
        self.info.last_seq = e.seq;
        self.info.updated_at = e.ts.clone();
        self.transcript.apply(&e);
        self.events.push(e);
        if held {
            // Not following (scrolled up, or in copy mode): keep the view, and
            // the copy cursor, where the reader left them.
            let added: usize = (before..self.transcript.cells.len())
                .map(|i| self.cell_height(i, w))
                .sum();
            // A cell updated in place (a call's result) may change its height.
            let grown = touched.filter(|&i| i < before).map_or(0, |i| {
                self.cell_height(i, w) as isize - touched_before as isize
            });
            let delta = added as isize + grown - gone as isize;
            self.shift_view(delta);
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

    /// The seq of the oldest event loaded.
    pub fn first_seq(&self) -> u64 {
        self.events.first().map_or(1, |e| e.seq)
    }

    /// Calls waiting for approval.
    ///
    /// Sampling requests waiting (issue 14) come after the calls, as
    /// `sampling:SERVER` with the whole request as their arguments, so the
    /// approval prompt shows and decides them like a call.
    pub fn pending(&self) -> Vec<(String, String, String)> {
        let mut out = self.transcript.pending_approvals();
        for p in &self.transcript.questions.waiting {
            if let crate::ui::transcript::questions::Ask::Sampling {
                messages,
                system_prompt,
                max_tokens,
            } = &p.ask
            {
                let args = serde_json::json!({
                    "messages": messages,
                    "system_prompt": system_prompt,
                    "max_tokens": max_tokens,
                });
                out.push((
                    p.request_id.clone(),
                    format!("sampling:{}", p.server),
                    args.to_string(),
                ));
            }
        }
        out
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

    /// Total transcript height at a width (live output and the partial answer included).
    pub fn total_height(&self, width: u16) -> usize {
        let cells: usize = (0..self.transcript.cells.len())
            .map(|i| self.cell_height(i, width))
            .sum();
        cells + self.partial_height(width)
    }

    /// Lines of the answer streaming now.
    pub fn partial_height(&self, width: u16) -> usize {
        if self.partial.is_empty() {
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
