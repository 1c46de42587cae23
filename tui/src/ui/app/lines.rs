//! The transcript as lines counted from the bottom, the way the session view
//! scrolls it: each cell's lines (a running call's live output under it, each
//! cell expanded or collapsed), the answer streaming now last. Scrolling, copy
//! mode's cursor and the mouse all count lines up from the last one, so an
//! older page loaded above moves nothing on screen.

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};

use super::session::SessionView;
use crate::ui::transcript::{CellKind, partial_lines};
use crate::ui::widgets::term_text::terminal_lines;

/// Live output lines a running call shows under its head.
const LIVE_LINES: usize = 3;

/// One line of the transcript and the cell it belongs to (`None`: the answer
/// streaming now).
#[derive(Debug, Clone)]
pub struct Row {
    /// The line.
    pub line: Line<'static>,
    /// Its cell's index.
    pub cell: Option<usize>,
}

impl SessionView {
    /// Whether cell `i` shows expanded: the view's setting (Ctrl-o), unless the
    /// reader flipped that cell alone.
    pub fn is_expanded(&self, i: usize) -> bool {
        let open = self
            .transcript
            .cells
            .get(i)
            .is_some_and(|c| self.open.contains(&c.seq));
        self.expanded != open
    }

    /// Flips cell `i` alone between expanded and collapsed; false when it has
    /// nothing more to show.
    pub fn toggle_cell(&mut self, i: usize) -> bool {
        let Some(c) = self.transcript.cells.get(i) else {
            return false;
        };
        if !c.expandable() {
            return false;
        }
        let seq = c.seq;
        if !self.open.remove(&seq) {
            self.open.insert(seq);
        }
        true
    }

    /// The live output lines of running call cell `i` (none for another cell).
    fn live_lines(&self, i: usize, width: u16) -> Vec<Line<'static>> {
        let Some(CellKind::Tool { call_id, .. }) = self.transcript.cells.get(i).map(|c| &c.kind)
        else {
            return Vec::new();
        };
        let Some(out) = self.tool_live.get(call_id) else {
            return Vec::new();
        };
        // As a terminal shows it: colours kept, a progress bar's CRs overwriting.
        let shown = terminal_lines(out, Style::new().fg(Color::DarkGray));
        let skip = shown.len().saturating_sub(LIVE_LINES);
        shown
            .into_iter()
            .skip(skip)
            .map(|l| {
                let mut spans = vec![Span::styled("    ┆ ", Style::new().fg(Color::DarkGray))];
                spans.extend(crate::ui::transcript::fit(
                    l.spans,
                    (width as usize).saturating_sub(6),
                ));
                Line::from(spans)
            })
            .collect()
    }

    /// How many live output lines cell `i` shows.
    pub(super) fn live_height(&self, i: usize, width: u16) -> usize {
        self.live_lines(i, width).len()
    }

    /// The last `n` of cell `i`'s lines at `width` (all, when it has fewer),
    /// live output included. Only those are copied: a long answer's other
    /// lines stay in its cache, so a frame costs what it shows.
    pub fn cell_lines(&self, i: usize, width: u16, n: usize) -> Vec<Line<'static>> {
        let Some(cell) = self.transcript.cells.get(i) else {
            return Vec::new();
        };
        let lines = cell.last_lines(width, self.is_expanded(i), n);
        let live = self.live_lines(i, width);
        // Live output goes before the blank separator.
        let (body, rest) = lines.split_at(lines.len().saturating_sub(1));
        let skip = (lines.len() + live.len()).saturating_sub(n);
        body.iter()
            .chain(&live)
            .chain(rest)
            .skip(skip)
            .cloned()
            .collect()
    }

    /// How many lines cell `i` takes at `width`.
    pub fn cell_height(&self, i: usize, width: u16) -> usize {
        self.transcript
            .cells
            .get(i)
            .map_or(0, |c| c.height(width, self.is_expanded(i)))
            + self.live_height(i, width)
    }

    /// The last `want` lines (or all, when there are fewer), top to bottom; the
    /// partial answer's cursor shows only when `live`.
    pub fn tail(&self, width: u16, want: usize, live: bool) -> Vec<Row> {
        let mut chunks: Vec<Vec<Row>> = Vec::new();
        let mut have = 0usize;
        if !self.partial.is_empty() {
            let mut tail = partial_lines(&self.partial, width);
            if !live && let Some(last) = tail.last_mut() {
                // Nothing streams while disconnected: no cursor that says it does.
                last.spans.pop();
            }
            have += tail.len();
            chunks.push(
                tail.into_iter()
                    .map(|line| Row { line, cell: None })
                    .collect(),
            );
        }
        for i in (0..self.transcript.cells.len()).rev() {
            if have >= want {
                break;
            }
            let lines = self.cell_lines(i, width, want - have);
            have += lines.len();
            chunks.push(
                lines
                    .into_iter()
                    .map(|line| Row {
                        line,
                        cell: Some(i),
                    })
                    .collect(),
            );
        }
        chunks.into_iter().rev().flatten().collect()
    }

    /// Where cell `i` starts and ends, in lines above the bottom: (its first
    /// line, its last line).
    pub fn cell_rows(&self, i: usize, width: u16) -> (usize, usize) {
        let below: usize = ((i + 1)..self.transcript.cells.len())
            .map(|j| self.cell_height(j, width))
            .sum::<usize>()
            + self.partial_height(width);
        let h = self.cell_height(i, width).max(1);
        (below + h - 1, below)
    }

    /// The view does not follow new output: scrolled up, or in copy mode.
    pub(super) fn holds_view(&self) -> bool {
        self.scroll > 0 || self.copy.is_some()
    }

    /// Lines were added (`delta` > 0) or removed at the bottom: the scroll and
    /// the copy cursor move with the lines they are on.
    pub(super) fn shift_view(&mut self, delta: isize) {
        let shift = |n: &mut usize| *n = n.saturating_add_signed(delta);
        shift(&mut self.scroll);
        if let Some(c) = self.copy.as_mut() {
            c.shift(delta);
        }
    }

    /// The cell an event will change in place (a tool call's later events).
    pub(super) fn touched_cell(&self, e: &tether_shared::Event) -> Option<usize> {
        use tether_shared::EventKind;
        match &e.kind {
            EventKind::ToolResult { call_id, .. }
            | EventKind::ApprovalRequested { call_id, .. }
            | EventKind::ApprovalDecided { call_id, .. } => self.transcript.tool_cell(call_id),
            _ => None,
        }
    }
}

/// A line's text, without its styles.
pub fn line_text(line: &Line<'_>) -> String {
    line.spans.iter().map(|s| s.content.as_ref()).collect()
}

impl SessionView {
    /// Runs `change` (more streamed text, more live output) keeping a held
    /// view where it is: the lines it adds at the bottom push the scroll up.
    pub(super) fn keep_view(&mut self, change: impl FnOnce(&mut SessionView)) {
        if !self.holds_view() {
            change(self);
            return;
        }
        let (w, _) = self.viewport;
        let before = self.total_height(w);
        change(self);
        let after = self.total_height(w);
        self.shift_view(after as isize - before as isize);
    }
}
