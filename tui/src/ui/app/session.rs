//! An attached session as the TUI holds it: its events and cells, the
//! answer streaming now, the message being written, scrolling, search and the
//! approval prompt.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use ratatui_textarea::TextArea;
use tether_shared::protocol::{AttachResult, QueuedInput, SessionInfo};
use tether_shared::{Event, EventKind};

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
    /// Inputs sent and not yet taken by the agent, oldest first.
    pub queued: Vec<QueuedInput>,
    /// Cells whose expansion is the opposite of `expanded`, by seq.
    pub open: HashSet<u64>,
    /// Copy mode, while it is on.
    pub copy: Option<super::copy::CopyMode>,
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
    pub(super) fn new(r: AttachResult) -> SessionView {
        let mut v = SessionView {
            info: r.info,
            events: Vec::new(),
            transcript: Transcript::default(),
            more_before: r.truncated,
            backfilling: false,
            partial: r.partial.assistant_text,
            tool_live: HashMap::new(),
            input: new_input(),
            scroll: 0,
            expanded: false,
            search: None,
            viewport: (80, 20),
            prompt: None,
            prompt_view: (0, 0),
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
                .and_then(|ts| super::spinner::age_of(ts, wall))
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

pub(super) fn new_input() -> TextArea<'static> {
    let mut t = TextArea::default();
    t.set_placeholder_text("Type a message…  Enter sends · ? help");
    t.set_cursor_line_style(ratatui::style::Style::default());
    t
}
