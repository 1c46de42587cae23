//! Reading the session (issue 11): scrolling a line at a time, the mouse
//! (wheel, drag to select and copy, a click on a tool call's head to expand
//! it), search over the whole history (the loaded cells, and the daemon's
//! `session.search` for the rest, loading the older events around a match),
//! and queued messages taken back to edit.

use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use tether_shared::protocol::SearchResult;
use unicode_width::UnicodeWidthChar;

use super::selection::{CopyMode, Point, Selecting};
use super::session::SessionView;
use super::state::{App, ConnState, Screen};
use crate::ui::conn::ToDaemon;
use crate::ui::modals::Modal;

/// Lines one notch of the mouse wheel scrolls.
pub const WHEEL_LINES: usize = 3;

/// Events loaded per request on the way to a match that is not loaded.
const JUMP_PAGE: u32 = 5000;

impl SessionView {
    /// Keeps the scroll within the transcript.
    pub(super) fn clamp_scroll(&mut self) {
        let (w, h) = self.viewport;
        let max = self.total_height(w).saturating_sub(h as usize);
        self.scroll = self.scroll.min(max);
    }

    /// The seq a match is named by: its loaded cell's, else the event's own
    /// (older than what is loaded), else none (loaded, but shows nothing).
    fn match_seq(&self, seq: u64) -> Option<u64> {
        match self.transcript.cell_of_seq(seq) {
            Some(i) => self.transcript.cells.get(i).map(|c| c.seq),
            None if seq < self.first_seq() => Some(seq),
            None => None,
        }
    }

    /// Recomputes the matches of the search: the loaded cells that hold the
    /// query, and the daemon's hits; the current match stays the same one.
    pub(super) fn merge_matches(&mut self) {
        let Some(s) = self.search.as_ref() else {
            return;
        };
        let q = s.asked.to_lowercase();
        let was = s
            .matches
            .get(s.current)
            .copied()
            .and_then(|seq| self.match_seq(seq));
        let mut all: Vec<u64> = if q.trim().is_empty() {
            Vec::new()
        } else {
            self.transcript
                .cells
                .iter()
                .filter(|c| c.plain().to_lowercase().contains(&q))
                .map(|c| c.seq)
                .collect()
        };
        all.extend(s.hits.iter().filter_map(|&h| self.match_seq(h)));
        all.sort_unstable();
        all.dedup();
        let current = was
            .and_then(|seq| all.iter().position(|&m| m == seq))
            .unwrap_or(all.len().saturating_sub(1));
        if let Some(s) = self.search.as_mut() {
            s.matches = all;
            s.current = current;
        }
    }

    /// The loaded cell of the current match.
    pub fn current_match_cell(&self) -> Option<usize> {
        let s = self.search.as_ref()?;
        let seq = *s.matches.get(s.current)?;
        let i = self.transcript.cell_of_seq(seq)?;
        (self.transcript.cells.get(i)?.seq == seq).then_some(i)
    }

    /// Scrolls so cell `i` starts at the top of the view (and puts the copy
    /// cursor there).
    pub(super) fn scroll_to_cell(&mut self, i: usize) {
        let (w, h) = self.viewport;
        let (top, _) = self.cell_rows(i, w);
        self.scroll = (top + 1).saturating_sub(h as usize);
        self.clamp_scroll();
        if let Some(c) = self.copy.as_mut() {
            c.cursor = Point { row: top, col: 0 };
            c.anchor = None;
        }
    }

    /// The place under screen position (`x`, `y`), clamped to the transcript:
    /// `None` outside the transcript's area or with nothing in it.
    fn point_at(&self, x: u16, y: u16) -> Option<Point> {
        let b = self.body;
        if x < b.x || x >= b.x + b.width || y < b.y || y >= b.y + b.height {
            return None;
        }
        let total = self.total_height(b.width);
        if total == 0 {
            return None;
        }
        let from_bottom = (b.y + b.height - 1 - y) as usize;
        let row = (self.scroll + from_bottom).min(total - 1);
        // The character under the column (a wide one takes two).
        let text = self.row_text(row);
        let mut at = 0usize;
        let mut col = 0usize;
        for (i, c) in text.chars().enumerate() {
            let cw = c.width().unwrap_or(0);
            if at + cw > (x - b.x) as usize {
                col = i;
                break;
            }
            at += cw;
            col = i;
        }
        Some(Point { row, col })
    }
}

impl App {
    /// Scrolls the transcript `up` or down by `n` lines, loading older events
    /// at the top.
    pub(super) fn scroll_lines(&mut self, up: bool, n: usize) {
        let Some(v) = self.session.as_mut() else {
            return;
        };
        if up {
            v.scroll += n;
            v.clamp_scroll();
            let (w, h) = v.viewport;
            if v.scroll + h as usize >= v.total_height(w) && v.more_before && !v.backfilling {
                v.backfilling = true;
                let (session, before) = (v.info.id.clone(), v.first_seq());
                self.outbox.push(ToDaemon::Backfill { session, before });
            }
        } else {
            v.scroll = v.scroll.saturating_sub(n);
        }
        // In copy mode the cursor stays on screen.
        if let Some(v) = self.session.as_mut()
            && let Some(c) = v.copy.as_mut()
        {
            let h = v.viewport.1.max(1) as usize;
            c.cursor.row = c.cursor.row.clamp(v.scroll, v.scroll + h - 1);
        }
    }

    /// The query typed: the loaded cells are searched at once, and the daemon
    /// is asked for the whole history; the newest match shows.
    pub(super) fn run_search(&mut self) {
        let connected = self.conn == ConnState::Connected;
        let Some(v) = self.session.as_mut() else {
            return;
        };
        let id = v.info.id.clone();
        let Some(s) = v.search.as_mut() else {
            return;
        };
        s.editing = false;
        s.asked = s.query.text().trim().to_string();
        s.hits.clear();
        s.more = false;
        s.matches.clear();
        s.current = 0;
        if s.asked.is_empty() {
            v.search = None;
            return;
        }
        s.waiting = connected;
        let query = s.asked.clone();
        v.jump = None;
        v.merge_matches();
        if connected {
            self.outbox.push(ToDaemon::Search { session: id, query });
        }
        self.goto_match(0);
    }

    /// Moves to the next (`dir` 1), previous (-1) or current (0) match and
    /// shows it, loading older events first when it is not loaded.
    pub(super) fn goto_match(&mut self, dir: i32) {
        let Some(v) = self.session.as_mut() else {
            return;
        };
        v.merge_matches();
        let Some(s) = v.search.as_mut() else {
            return;
        };
        let n = s.matches.len();
        if n == 0 {
            return;
        }
        s.current = match dir {
            0 => s.current.min(n - 1),
            1 => (s.current + 1) % n,
            _ => (s.current + n - 1) % n,
        };
        let target = s.matches[s.current];
        if let Some(i) = v.current_match_cell() {
            v.jump = None;
            v.scroll_to_cell(i);
            return;
        }
        // Older than what is loaded: load back to it, then show it.
        v.jump = Some(target);
        self.load_towards_jump();
    }

    fn load_towards_jump(&mut self) {
        let Some(v) = self.session.as_mut() else {
            return;
        };
        if v.jump.is_none() || v.backfilling || !v.more_before {
            return;
        }
        v.backfilling = true;
        let (session, before) = (v.info.id.clone(), v.first_seq());
        self.outbox.push(ToDaemon::BackfillPage {
            session,
            before,
            limit: JUMP_PAGE,
        });
    }

    /// Older events arrived: matches in them are cells now, and a match being
    /// waited for shows (or the next page is asked for).
    pub(super) fn after_backfill(&mut self) {
        let Some(v) = self.session.as_mut() else {
            return;
        };
        v.merge_matches();
        let Some(target) = v.jump else {
            return;
        };
        // The match's cell: the hit's own event may be a call's result whose
        // call is older still.
        let found = v.transcript.cell_of_seq(target).is_some();
        if found || !v.more_before {
            v.jump = None;
            if let Some(s) = v.search.as_mut()
                && let Some(seq) = v
                    .transcript
                    .cell_of_seq(target)
                    .and_then(|i| v.transcript.cells.get(i))
                    .map(|c| c.seq)
                && let Some(at) = s.matches.iter().position(|&m| m == seq)
            {
                s.current = at;
            }
            if let Some(i) = v.current_match_cell() {
                v.scroll_to_cell(i);
            }
            return;
        }
        self.load_towards_jump();
    }

    /// The daemon's hits for `query`.
    pub(super) fn on_search_hits(&mut self, query: String, result: SearchResult) {
        let Some(v) = self.session.as_mut() else {
            return;
        };
        let Some(s) = v.search.as_mut() else {
            return;
        };
        if s.asked != query {
            return; // an answer to a query typed over since
        }
        s.waiting = false;
        s.more = result.more;
        s.hits = result.hits.iter().map(|h| h.seq).collect();
        let had = !s.matches.is_empty();
        v.merge_matches();
        if !had {
            // Nothing loaded matched: show the newest hit.
            self.goto_match(0);
        }
    }

    /// The daemon could not search (an older daemon, say): the loaded cells' matches stay.
    pub(super) fn on_search_failed(&mut self, query: String, message: String) {
        if let Some(v) = self.session.as_mut()
            && let Some(s) = v.search.as_mut()
            && s.asked == query
        {
            s.waiting = false;
            self.flash = Some(format!(
                "searched the loaded events only: the daemon could not search ({message})"
            ));
        }
    }

    /// Takes the last queued message back into the box, cancelling it (when
    /// the agent has not taken it meanwhile: the daemon says which).
    pub(super) fn unqueue(&mut self) {
        if self.read_only {
            self.flash = Some("read-only: cannot cancel messages".into());
            return;
        }
        let Some(v) = self.session.as_ref() else {
            return;
        };
        let Some(last) = v.queued.last() else {
            self.flash = Some("no message is queued".into());
            return;
        };
        self.outbox.push(ToDaemon::CancelInput {
            session: v.info.id.clone(),
            input_id: last.input_id,
            text: last.text.clone(),
        });
    }

    /// The daemon's answer to taking a queued message back.
    pub(super) fn on_cancelled(&mut self, input_id: i64, text: String, cancelled: bool) {
        let Some(v) = self.session.as_mut() else {
            return;
        };
        if !cancelled {
            self.flash = Some("too late: the agent has already taken that message".into());
            return;
        }
        v.queued.retain(|q| q.input_id != input_id);
        if v.input.is_empty() {
            v.input.insert_str(&text);
        } else {
            // Before the draft, which stays.
            use ratatui_textarea::CursorMove;
            v.input.move_cursor(CursorMove::Top);
            v.input.move_cursor(CursorMove::Head);
            v.input.insert_str(format!("{text}\n"));
        }
        self.flash =
            Some("the queued message is back in the box: edit it and send it again".into());
    }

    /// Mouse capture off (the terminal's own selection works) or on.
    pub(super) fn toggle_mouse(&mut self) {
        self.mouse = !self.mouse;
        let key = self.keymap.hint(crate::ui::keymap::Action::ToggleMouse);
        self.flash = Some(if self.mouse {
            format!(
                "mouse on: the wheel scrolls, a drag copies ({key} for the terminal's selection)"
            )
        } else {
            format!("mouse off: the terminal selects text ({key} turns the mouse back on)")
        });
    }

    /// A mouse event (only while mouse capture is on).
    pub fn on_mouse(&mut self, ev: MouseEvent) {
        if matches!(self.modal, Some(Modal::Help)) {
            match ev.kind {
                MouseEventKind::ScrollDown => self.help_scroll = self.help_scroll.saturating_add(3),
                MouseEventKind::ScrollUp => self.help_scroll = self.help_scroll.saturating_sub(3),
                _ => {}
            }
            return;
        }
        if self.modal.is_some() {
            return;
        }
        if self.screen == Screen::List {
            let n = self.list.visible().len();
            match ev.kind {
                MouseEventKind::ScrollDown => {
                    self.list.selected = (self.list.selected + 1).min(n.saturating_sub(1))
                }
                MouseEventKind::ScrollUp => {
                    self.list.selected = self.list.selected.saturating_sub(1)
                }
                _ => {}
            }
            return;
        }
        match ev.kind {
            MouseEventKind::ScrollUp => self.scroll_lines(true, WHEEL_LINES),
            MouseEventKind::ScrollDown => self.scroll_lines(false, WHEEL_LINES),
            MouseEventKind::Down(MouseButton::Left) => self.mouse_down(ev.column, ev.row),
            MouseEventKind::Drag(MouseButton::Left) => self.mouse_drag(ev.column, ev.row),
            MouseEventKind::Up(MouseButton::Left) => self.mouse_up(),
            _ => {}
        }
    }

    fn mouse_down(&mut self, x: u16, y: u16) {
        let Some(v) = self.session.as_mut() else {
            return;
        };
        self.mouse_press = v.point_at(x, y).map(|p| (p, false));
        if let Some((p, _)) = self.mouse_press
            && let Some(c) = v.copy.as_mut()
        {
            c.cursor = p;
            c.anchor = None;
        }
    }

    fn mouse_drag(&mut self, x: u16, y: u16) {
        let Some((press, _)) = self.mouse_press else {
            return;
        };
        let Some(v) = self.session.as_mut() else {
            return;
        };
        // Past the top or bottom edge: the view scrolls with the drag.
        let b = v.body;
        let (x, y, edge) = if y < b.y {
            (x, b.y, Some(true))
        } else if y >= b.y + b.height {
            (x, (b.y + b.height).saturating_sub(1), Some(false))
        } else {
            (x, y, None)
        };
        let x = x.clamp(b.x, (b.x + b.width).saturating_sub(1));
        if let Some(up) = edge {
            if up {
                v.scroll += 1;
            } else {
                v.scroll = v.scroll.saturating_sub(1);
            }
            v.clamp_scroll();
        }
        let Some(p) = v.point_at(x, y) else {
            return;
        };
        self.mouse_press = Some((press, true));
        match v.copy.as_mut() {
            None => {
                let mut c = CopyMode::at(p, v.scroll);
                c.anchor = Some((press, Selecting::Chars));
                c.by_mouse = true;
                v.copy = Some(c);
            }
            Some(c) => {
                if c.anchor.is_none() {
                    c.anchor = Some((press, Selecting::Chars));
                }
                c.cursor = p;
            }
        }
    }

    fn mouse_up(&mut self) {
        let Some((press, dragged)) = self.mouse_press.take() else {
            return;
        };
        let Some(v) = self.session.as_mut() else {
            return;
        };
        if !dragged {
            // A click on a tool call's first line expands or collapses it.
            if v.copy.is_none()
                && let Some(i) = v.row_cell(press.row)
                && v.cell_rows(i, v.viewport.0).0 == press.row
            {
                v.toggle_keeping_place(i);
            }
            return;
        }
        if v.copy.as_ref().is_some_and(|c| c.by_mouse) {
            // As tmux does: the drag's selection is copied when the button is let go.
            let text = v.copy_text();
            if let Some(c) = v.copy.as_mut() {
                c.scroll_before = v.scroll;
            }
            self.leave_copy_mode();
            self.copy_to_clipboard(text);
        }
    }
}

/// The words of a search to mark in the lines shown.
pub fn search_words(query: &str) -> Vec<String> {
    query
        .split_whitespace()
        .map(str::to_lowercase)
        .filter(|w| !w.is_empty())
        .collect()
}
