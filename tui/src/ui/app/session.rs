//! An attached session as the TUI holds it: its events and cells, the
//! answer streaming now, the message being written, scrolling, search and the
//! approval prompt.

use std::collections::HashMap;
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

pub(super) fn new_input() -> TextArea<'static> {
    let mut t = TextArea::default();
    t.set_placeholder_text("Type a message…  Enter sends · ? help");
    t.set_cursor_line_style(ratatui::style::Style::default());
    t
}
