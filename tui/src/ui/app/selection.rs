//! Copy mode's state: the cursor over the transcript's lines and the
//! selection (the keys that move them are in `copy.rs`).

/// A place in the transcript: `row` lines above the bottom line, `col`
/// characters into that line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Point {
    /// Lines above the bottom line (0: the bottom line).
    pub row: usize,
    /// Characters into the line.
    pub col: usize,
}

/// What a selection takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selecting {
    /// From one character to another.
    Chars,
    /// Whole lines.
    Lines,
}

/// Copy mode's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyMode {
    /// The cursor.
    pub cursor: Point,
    /// Where the selection started, and what it takes.
    pub anchor: Option<(Point, Selecting)>,
    /// The scroll before copy mode, given back when it ends.
    pub scroll_before: usize,
    /// Entered by a mouse drag: ends when the button is released.
    pub by_mouse: bool,
}

impl CopyMode {
    /// Copy mode with the cursor at `cursor`.
    pub fn at(cursor: Point, scroll_before: usize) -> CopyMode {
        CopyMode {
            cursor,
            anchor: None,
            scroll_before,
            by_mouse: false,
        }
    }

    /// Lines were added (or removed) at the bottom: every point stays on its line.
    pub(super) fn shift(&mut self, delta: isize) {
        let shift = |n: &mut usize| *n = n.saturating_add_signed(delta);
        shift(&mut self.cursor.row);
        if let Some((p, _)) = self.anchor.as_mut() {
            shift(&mut p.row);
        }
        if self.scroll_before > 0 {
            shift(&mut self.scroll_before);
        }
    }

    /// The selection's first and last points (top to bottom) and what it takes.
    pub fn selection(&self) -> Option<(Point, Point, Selecting)> {
        let (anchor, kind) = self.anchor?;
        let (a, b) = (anchor, self.cursor);
        // Higher rows are further up; on one row, the lower column comes first.
        let first_is_a = a.row > b.row || (a.row == b.row && a.col <= b.col);
        let (top, bottom) = if first_is_a { (a, b) } else { (b, a) };
        Some((top, bottom, kind))
    }

    /// The characters selected on `row` of a line `len` characters long, as
    /// `start..end` (`end` may be past the line: to its end).
    pub fn selected_on(&self, row: usize, len: usize) -> Option<(usize, usize)> {
        let (top, bottom, kind) = self.selection()?;
        if row > top.row || row < bottom.row {
            return None;
        }
        if kind == Selecting::Lines {
            return Some((0, len.max(1)));
        }
        let start = if row == top.row { top.col } else { 0 };
        let end = if row == bottom.row {
            bottom.col + 1
        } else {
            len.max(1)
        };
        Some((start, end.max(start)))
    }
}
