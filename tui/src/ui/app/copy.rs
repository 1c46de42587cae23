//! Copy mode (`Ctrl-b [`), as tmux has it: a cursor over the transcript's
//! lines, a selection started with `v` or Space (`V` for whole lines), `y` or
//! Enter to copy it to the system clipboard (OSC 52, see
//! [`crate::ui::widgets::osc52`]) and leave, Esc to drop the selection, `q` to
//! leave. The cursor's line and column count up from the bottom line, like
//! the scroll, so new output or an older page loaded changes nothing under it.
//! On a tool call with nothing selected, Enter (or `o`, Tab) expands or
//! collapses that call alone.

use ratatui::crossterm::event::KeyEvent;

use super::lines::line_text;
use super::selection::{CopyMode, Point, Selecting};
use super::session::SessionView;
use super::state::App;
use crate::ui::conn::ToDaemon;
use crate::ui::keymap::{Action, Context, Key};

/// The gutters the transcript draws before tool output; copied text leaves them out.
const GUTTERS: [&str; 3] = ["    │ ", "    ┆ ", "   │ "];

/// The text of the selected lines `rows` (top to bottom, each with its row),
/// plain: no styles, the output gutters left out, trailing spaces trimmed.
pub fn selected_text(copy: &CopyMode, rows: &[(usize, String)]) -> String {
    let mut out: Vec<String> = Vec::new();
    for (row, text) in rows {
        let chars: Vec<char> = text.chars().collect();
        let Some((start, end)) = copy.selected_on(*row, chars.len()) else {
            continue;
        };
        let piece: String = chars[start.min(chars.len())..end.min(chars.len())]
            .iter()
            .collect();
        let piece = GUTTERS
            .iter()
            .find_map(|g| piece.strip_prefix(g))
            .map_or(piece.clone(), str::to_string);
        out.push(piece.trim_end().to_string());
    }
    // Whole lines of a message keep the transcript's margin: take it off.
    if out.len() > 1 {
        let indent = out
            .iter()
            .filter(|l| !l.is_empty())
            .map(|l| l.len() - l.trim_start_matches(' ').len())
            .min()
            .unwrap_or(0);
        for l in &mut out {
            if l.len() >= indent {
                l.drain(..indent);
            }
        }
    }
    out.join("\n")
}

impl SessionView {
    /// Moves the scroll so the copy cursor shows.
    pub(super) fn follow_cursor(&mut self) {
        let Some(c) = self.copy.as_ref() else {
            return;
        };
        let h = self.viewport.1.max(1) as usize;
        let row = c.cursor.row;
        if row < self.scroll {
            self.scroll = row;
        } else if row >= self.scroll + h {
            self.scroll = row + 1 - h;
        }
    }

    /// The text of the line `row` lines above the bottom.
    pub(super) fn row_text(&self, row: usize) -> String {
        let (w, _) = self.viewport;
        let rows = self.tail(w, row + 1, true);
        rows.len()
            .checked_sub(row + 1)
            .and_then(|i| rows.get(i))
            .map(|r| line_text(&r.line))
            .unwrap_or_default()
    }

    /// The cell of the line `row` lines above the bottom.
    pub(super) fn row_cell(&self, row: usize) -> Option<usize> {
        let (w, _) = self.viewport;
        let rows = self.tail(w, row + 1, true);
        rows.len()
            .checked_sub(row + 1)
            .and_then(|i| rows.get(i))
            .and_then(|r| r.cell)
    }

    /// The selection's text (empty without a selection).
    pub fn copy_text(&self) -> String {
        let Some(copy) = self.copy.as_ref() else {
            return String::new();
        };
        let Some((top, bottom, _)) = copy.selection() else {
            return String::new();
        };
        let (w, _) = self.viewport;
        let rows = self.tail(w, top.row + 1, true);
        let n = rows.len();
        let picked: Vec<(usize, String)> = (bottom.row..=top.row)
            .rev()
            .filter_map(|row| {
                let i = n.checked_sub(row + 1)?;
                Some((row, line_text(&rows[i].line)))
            })
            .collect();
        selected_text(copy, &picked)
    }

    /// Expands or collapses cell `i` alone, keeping the copy cursor (if any) on
    /// the cell's first line and the cell in view.
    pub(super) fn toggle_keeping_place(&mut self, i: usize) -> bool {
        let (w, _) = self.viewport;
        let (top_before, _) = self.cell_rows(i, w);
        if !self.toggle_cell(i) {
            return false;
        }
        let (top, _) = self.cell_rows(i, w);
        // The lines above the cell moved by its change of height.
        let grown = top as isize - top_before as isize;
        if self.scroll > top_before {
            self.scroll = self.scroll.saturating_add_signed(grown);
        }
        if let Some(c) = self.copy.as_mut() {
            c.anchor = None;
            c.cursor = Point { row: top, col: 0 };
        }
        self.follow_cursor();
        true
    }
}

/// What moving the cursor may need: loading older events at the top.
enum Moved {
    Done,
    AtTop,
}

impl App {
    /// Enters copy mode, the cursor on the lowest line shown that has text.
    pub(super) fn enter_copy_mode(&mut self) {
        let Some(v) = self.session.as_mut() else {
            return;
        };
        if v.copy.is_some() {
            return;
        }
        let (w, h) = v.viewport;
        let total = v.total_height(w);
        if total == 0 {
            self.flash = Some("nothing to copy yet".into());
            return;
        }
        let mut row = v.scroll.min(total - 1);
        let top = (v.scroll + h as usize).min(total);
        while row + 1 < top && v.row_text(row).trim().is_empty() {
            row += 1;
        }
        v.copy = Some(CopyMode::at(Point { row, col: 0 }, v.scroll));
        v.follow_cursor();
    }

    /// Leaves copy mode, the view back where it was before.
    pub(super) fn leave_copy_mode(&mut self) {
        if let Some(v) = self.session.as_mut()
            && let Some(c) = v.copy.take()
        {
            v.scroll = c.scroll_before;
            let (w, h) = v.viewport;
            let max = v.total_height(w).saturating_sub(h as usize);
            v.scroll = v.scroll.min(max);
        }
    }

    /// Copies `text` to the clipboard (the event loop writes it as OSC 52) and
    /// says what was copied.
    pub(super) fn copy_to_clipboard(&mut self, text: String) {
        if text.is_empty() {
            self.flash = Some("nothing selected: v or Space starts a selection".into());
            return;
        }
        let lines = text.lines().count().max(1);
        if text.len() > crate::ui::widgets::osc52::MAX_BYTES {
            self.flash = Some(format!(
                "too much to copy at once ({} bytes; at most {})",
                text.len(),
                crate::ui::widgets::osc52::MAX_BYTES
            ));
            return;
        }
        self.flash = Some(format!(
            "copied {lines} line{} ({} bytes) to the clipboard",
            if lines == 1 { "" } else { "s" },
            text.len()
        ));
        self.clipboard = Some(text);
    }

    /// A key in copy mode.
    pub(super) fn copy_key(&mut self, _ev: KeyEvent, key: Key) {
        let Some(action) = self.keymap.action(Context::Copy, &key) else {
            return;
        };
        let Some(v) = self.session.as_mut() else {
            return;
        };
        let (w, h) = v.viewport;
        let page = (h as usize).saturating_sub(2).max(1);
        let total = v.total_height(w);
        let last = total.saturating_sub(1);
        let Some(c) = v.copy.as_ref() else {
            return;
        };
        let mut cur = c.cursor;
        let mut moved = Moved::Done;
        let line = v.row_text(cur.row);
        let len = line.chars().count();
        match action {
            Action::CursorUp => {
                if cur.row >= last {
                    moved = Moved::AtTop;
                }
                cur.row = (cur.row + 1).min(last);
            }
            Action::CursorDown => cur.row = cur.row.saturating_sub(1),
            Action::CursorPageUp => {
                if cur.row + page > last {
                    moved = Moved::AtTop;
                }
                cur.row = (cur.row + page).min(last);
            }
            Action::CursorPageDown => cur.row = cur.row.saturating_sub(page),
            Action::CursorTop => {
                cur = Point { row: last, col: 0 };
                moved = Moved::AtTop;
            }
            Action::CursorBottom => cur = Point { row: 0, col: 0 },
            Action::CursorLeft => cur.col = cur.col.min(len.saturating_sub(1)).saturating_sub(1),
            Action::CursorRight => cur.col = (cur.col + 1).min(len.saturating_sub(1)),
            Action::LineStart => cur.col = 0,
            Action::LineEnd => cur.col = len.saturating_sub(1),
            Action::WordNext => cur = word_next(v, cur, &line),
            Action::WordPrev => cur = word_prev(v, cur, &line, last),
            Action::Select | Action::SelectLines => {
                let kind = if action == Action::Select {
                    Selecting::Chars
                } else {
                    Selecting::Lines
                };
                if let Some(c) = v.copy.as_mut() {
                    c.anchor = match c.anchor {
                        Some((_, k)) if k == kind => None,
                        _ => Some((c.cursor, kind)),
                    };
                }
                return;
            }
            Action::Yank => {
                let selected = v.copy.as_ref().is_some_and(|c| c.anchor.is_some());
                if !selected
                    && let Some(i) = v.row_cell(cur.row)
                    && v.toggle_keeping_place(i)
                {
                    return;
                }
                let text = v.copy_text();
                if selected {
                    self.leave_copy_mode();
                }
                self.copy_to_clipboard(text);
                return;
            }
            Action::ToggleCell => {
                if let Some(i) = v.row_cell(cur.row)
                    && !v.toggle_keeping_place(i)
                {
                    self.flash = Some("nothing more to show here".into());
                }
                return;
            }
            Action::NextMatch | Action::PrevMatch => {
                let dir = if action == Action::NextMatch { 1 } else { -1 };
                self.goto_match(dir);
                if let Some(v) = self.session.as_mut()
                    && let Some(i) = v.current_match_cell()
                {
                    let (top, _) = v.cell_rows(i, w);
                    if let Some(c) = v.copy.as_mut() {
                        c.cursor = Point { row: top, col: 0 };
                    }
                    v.follow_cursor();
                }
                return;
            }
            Action::CopyCancel => {
                let had = v.copy.as_mut().and_then(|c| c.anchor.take()).is_some();
                if !had {
                    self.leave_copy_mode();
                }
                return;
            }
            Action::CopyLeave => {
                self.leave_copy_mode();
                return;
            }
            Action::Search => {
                // The query is typed on the search line; Enter puts the cursor on the match.
                v.search = Some(super::session::Search {
                    editing: true,
                    ..Default::default()
                });
                return;
            }
            _ => return,
        }
        // The column stays where it was on a shorter line's end.
        let new_len = v.row_text(cur.row).chars().count();
        if !matches!(action, Action::WordNext | Action::WordPrev) {
            cur.col = cur.col.min(new_len.saturating_sub(1));
        }
        if let Some(c) = v.copy.as_mut() {
            c.cursor = cur;
        }
        v.follow_cursor();
        if let Moved::AtTop = moved
            && v.more_before
            && !v.backfilling
        {
            v.backfilling = true;
            let (session, before) = (v.info.id.clone(), v.first_seq());
            self.outbox.push(ToDaemon::Backfill { session, before });
        }
    }
}

/// Where a word starts: after a space, or at the line's start.
fn word_starts(line: &str) -> Vec<usize> {
    let chars: Vec<char> = line.chars().collect();
    (0..chars.len())
        .filter(|&i| !chars[i].is_whitespace() && (i == 0 || chars[i - 1].is_whitespace()))
        .collect()
}

fn word_next(v: &SessionView, cur: Point, line: &str) -> Point {
    if let Some(&c) = word_starts(line).iter().find(|&&c| c > cur.col) {
        return Point {
            row: cur.row,
            col: c,
        };
    }
    // The first word of a following line.
    let mut row = cur.row;
    while row > 0 {
        row -= 1;
        if let Some(&c) = word_starts(&v.row_text(row)).first() {
            return Point { row, col: c };
        }
    }
    cur
}

fn word_prev(v: &SessionView, cur: Point, line: &str, last: usize) -> Point {
    if let Some(&c) = word_starts(line).iter().rev().find(|&&c| c < cur.col) {
        return Point {
            row: cur.row,
            col: c,
        };
    }
    let mut row = cur.row;
    while row < last {
        row += 1;
        if let Some(&c) = word_starts(&v.row_text(row)).last() {
            return Point { row, col: c };
        }
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(lines: &[&str]) -> Vec<(usize, String)> {
        let n = lines.len();
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| (n - 1 - i, l.to_string()))
            .collect()
    }

    #[test]
    fn a_selection_runs_from_the_earlier_point_to_the_later_either_way() {
        let mut c = CopyMode::at(Point { row: 1, col: 4 }, 0);
        c.anchor = Some((Point { row: 3, col: 2 }, Selecting::Chars));
        let lines = rows(&["zero line", "one line", "two line", "three"]);
        // Rows: "zero line" is row 3, "three" row 0.
        assert_eq!(selected_text(&c, &lines), "ro line\none line\ntwo l");
        // The other way round: the same text.
        c.anchor = Some((Point { row: 1, col: 4 }, Selecting::Chars));
        c.cursor = Point { row: 3, col: 2 };
        assert_eq!(selected_text(&c, &lines), "ro line\none line\ntwo l");
        // Whole lines, the common margin taken off.
        let lines = rows(&["  first", "    second", "  third"]);
        c.anchor = Some((Point { row: 2, col: 5 }, Selecting::Lines));
        c.cursor = Point { row: 0, col: 0 };
        assert_eq!(selected_text(&c, &lines), "first\n  second\nthird");
    }

    #[test]
    fn copied_tool_output_leaves_the_gutter_and_trailing_spaces_out() {
        let mut c = CopyMode::at(Point { row: 0, col: 0 }, 0);
        c.anchor = Some((Point { row: 1, col: 0 }, Selecting::Lines));
        let lines = rows(&["    │ Cargo.toml   ", "    │ src"]);
        assert_eq!(selected_text(&c, &lines), "Cargo.toml\nsrc");
    }

    #[test]
    fn points_stay_on_their_lines_when_lines_come_below() {
        let mut c = CopyMode::at(Point { row: 2, col: 1 }, 0);
        c.anchor = Some((Point { row: 5, col: 0 }, Selecting::Chars));
        c.shift(3);
        assert_eq!(c.cursor, Point { row: 5, col: 1 });
        assert_eq!(c.anchor.map(|(p, _)| p.row), Some(8));
        assert_eq!(c.scroll_before, 0, "following stays following");
        assert_eq!(word_starts("  ab cd  e"), [2, 5, 9]);
    }
}
