//! One line of text being typed, with a cursor: the list filter, the transcript
//! search, the deny reason and the fields of the new-session form all edit
//! through it, so they share one set of keys and one way of showing the cursor.
//!
//! The cursor moves by what shows as one character: a character together with
//! the zero-width ones after it (combining accents, variation selectors) and what
//! a zero-width joiner ties on, so it never lands inside an accented letter or an
//! emoji sequence.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use unicode_width::UnicodeWidthChar;

/// The cursor as it shows: a block at the insertion point.
const CURSOR: &str = "▌";

const ZERO_WIDTH_JOINER: char = '\u{200d}';

/// What a key did to a [`LineInput`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// Text went in.
    Inserted,
    /// Text came out.
    Deleted,
    /// Only the cursor moved.
    Moved,
    /// Not an editing key (or nothing to do): the caller may handle it.
    Ignored,
}

/// A line of text and the cursor in it (a byte offset, always at the start of a
/// character as shown).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    text: String,
    cursor: usize,
}

/// Whether `c` joins the character before it rather than showing on its own.
fn joins_previous(c: char) -> bool {
    c.width() == Some(0)
}

impl LineInput {
    /// The text typed so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Nothing typed.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Empties the line.
    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
    }

    /// The text, leaving the line empty.
    pub fn take(&mut self) -> String {
        self.cursor = 0;
        std::mem::take(&mut self.text)
    }

    /// Types `c` at the cursor.
    pub fn insert(&mut self, c: char) {
        self.text.insert(self.cursor, c);
        self.cursor += c.len_utf8();
    }

    /// Puts `s` in at the cursor (a paste), as it is.
    pub fn insert_str(&mut self, s: &str) {
        self.text.insert_str(self.cursor, s);
        self.cursor += s.len();
    }

    /// Where the character as shown after `at` starts (the end at the end).
    fn next_boundary(&self, at: usize) -> usize {
        let mut chars = self.text[at..].char_indices().peekable();
        let Some((_, first)) = chars.next() else {
            return at;
        };
        let mut joined = first == ZERO_WIDTH_JOINER;
        while let Some(&(i, c)) = chars.peek() {
            if !(joined || joins_previous(c)) {
                return at + i;
            }
            joined = c == ZERO_WIDTH_JOINER;
            chars.next();
        }
        self.text.len()
    }

    /// Where the character as shown before `at` starts (0 at the start).
    fn prev_boundary(&self, at: usize) -> usize {
        let mut chars = self.text[..at].char_indices().rev().peekable();
        while let Some((i, c)) = chars.next() {
            let tied_on = chars.peek().is_some_and(|&(_, p)| p == ZERO_WIDTH_JOINER);
            if !(joins_previous(c) || tied_on) {
                return i;
            }
        }
        0
    }

    /// Moves one character left.
    pub fn left(&mut self) {
        self.cursor = self.prev_boundary(self.cursor);
    }

    /// Moves one character right.
    pub fn right(&mut self) {
        self.cursor = self.next_boundary(self.cursor);
    }

    /// To the start of the line.
    pub fn home(&mut self) {
        self.cursor = 0;
    }

    /// To the end of the line.
    pub fn end(&mut self) {
        self.cursor = self.text.len();
    }

    /// To the start of the word before the cursor (or of the one it is in).
    fn word_start(&self) -> usize {
        let before = self.text[..self.cursor].trim_end();
        before
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8())
    }

    /// To the end of the word after the cursor (or of the one it is in).
    fn word_end(&self) -> usize {
        let after = &self.text[self.cursor..];
        let skipped = after.len() - after.trim_start().len();
        let rest = &after[skipped..];
        let word = rest.find(char::is_whitespace).unwrap_or(rest.len());
        self.cursor + skipped + word
    }

    /// Moves to the start of the word before the cursor.
    pub fn word_left(&mut self) {
        self.cursor = self.word_start();
    }

    /// Moves to the end of the word after the cursor.
    pub fn word_right(&mut self) {
        self.cursor = self.word_end();
    }

    /// Deletes the character before the cursor; false when there is none.
    pub fn delete_back(&mut self) -> bool {
        let start = self.prev_boundary(self.cursor);
        self.delete(start, self.cursor)
    }

    /// Deletes the character at the cursor; false when there is none.
    pub fn delete_forward(&mut self) -> bool {
        let end = self.next_boundary(self.cursor);
        self.delete(self.cursor, end)
    }

    /// Deletes back to the start of the word before the cursor.
    pub fn delete_word_back(&mut self) -> bool {
        let start = self.word_start();
        self.delete(start, self.cursor)
    }

    fn delete(&mut self, start: usize, end: usize) -> bool {
        if start == end {
            return false;
        }
        self.text.replace_range(start..end, "");
        self.cursor = start;
        true
    }

    /// The editing keys: a character without Ctrl types it; Backspace and
    /// Delete delete; Ctrl-w deletes a word back; Left and Right move (a word
    /// with Ctrl or Alt); Home and End go to the ends. Anything else is
    /// [`Edit::Ignored`], for the caller (Enter, Esc, Tab, ...).
    pub fn on_key(&mut self, ev: &KeyEvent) -> Edit {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let by_word = ev
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        let deleted = |done: bool| if done { Edit::Deleted } else { Edit::Ignored };
        match ev.code {
            KeyCode::Char('w') if ctrl => deleted(self.delete_word_back()),
            KeyCode::Char(c) if !ctrl => {
                self.insert(c);
                Edit::Inserted
            }
            KeyCode::Backspace => deleted(self.delete_back()),
            KeyCode::Delete => deleted(self.delete_forward()),
            KeyCode::Left if by_word => self.moved(Self::word_left),
            KeyCode::Right if by_word => self.moved(Self::word_right),
            KeyCode::Left => self.moved(Self::left),
            KeyCode::Right => self.moved(Self::right),
            KeyCode::Home => self.moved(Self::home),
            KeyCode::End => self.moved(Self::end),
            _ => Edit::Ignored,
        }
    }

    fn moved(&mut self, motion: fn(&mut LineInput)) -> Edit {
        motion(self);
        Edit::Moved
    }

    /// The line as it shows: the text, with the cursor at its place when the
    /// line has the focus.
    pub fn render(&self, focused: bool) -> String {
        if !focused {
            return self.text.clone();
        }
        let (before, after) = self.text.split_at(self.cursor);
        format!("{before}{CURSOR}{after}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(s: &str) -> LineInput {
        let mut l = LineInput::default();
        l.insert_str(s);
        l
    }

    fn key(l: &mut LineInput, code: KeyCode, mods: KeyModifiers) -> Edit {
        l.on_key(&KeyEvent::new(code, mods))
    }

    fn press(l: &mut LineInput, code: KeyCode) -> Edit {
        key(l, code, KeyModifiers::NONE)
    }

    #[test]
    fn typing_appends_and_shows_the_cursor_at_the_end() {
        let mut l = LineInput::default();
        for c in "héllo".chars() {
            assert_eq!(press(&mut l, KeyCode::Char(c)), Edit::Inserted);
        }
        assert_eq!(
            key(&mut l, KeyCode::Char('!'), KeyModifiers::SHIFT),
            Edit::Inserted
        );
        assert_eq!(l.text(), "héllo!");
        assert_eq!(l.render(true), "héllo!▌");
        assert_eq!(l.render(false), "héllo!");
        assert_eq!(LineInput::default().render(true), "▌");
    }

    #[test]
    fn ctrl_keys_and_the_callers_keys_are_left_alone() {
        let mut l = typed("abc");
        for (code, mods) in [
            (KeyCode::Char('a'), KeyModifiers::CONTROL),
            (KeyCode::Enter, KeyModifiers::NONE),
            (KeyCode::Esc, KeyModifiers::NONE),
            (KeyCode::Tab, KeyModifiers::NONE),
            (KeyCode::Up, KeyModifiers::NONE),
        ] {
            assert_eq!(key(&mut l, code, mods), Edit::Ignored, "{code:?}");
        }
        assert_eq!(l.render(true), "abc▌");
    }

    #[test]
    fn moving_and_typing_in_the_middle() {
        let mut l = typed("ac");
        assert_eq!(press(&mut l, KeyCode::Left), Edit::Moved);
        press(&mut l, KeyCode::Char('b'));
        assert_eq!(l.render(true), "ab▌c");
        press(&mut l, KeyCode::Home);
        assert_eq!(l.render(true), "▌abc");
        press(&mut l, KeyCode::Left);
        assert_eq!(l.render(true), "▌abc", "stops at the start");
        press(&mut l, KeyCode::End);
        press(&mut l, KeyCode::Right);
        assert_eq!(l.render(true), "abc▌", "stops at the end");
    }

    #[test]
    fn backspace_and_delete() {
        let mut l = typed("abcd");
        assert_eq!(press(&mut l, KeyCode::Backspace), Edit::Deleted);
        assert_eq!(l.text(), "abc");
        assert_eq!(
            press(&mut l, KeyCode::Delete),
            Edit::Ignored,
            "nothing after"
        );
        press(&mut l, KeyCode::Home);
        assert_eq!(
            press(&mut l, KeyCode::Backspace),
            Edit::Ignored,
            "nothing before"
        );
        assert_eq!(press(&mut l, KeyCode::Delete), Edit::Deleted);
        assert_eq!(l.render(true), "▌bc");
        let mut empty = LineInput::default();
        assert_eq!(press(&mut empty, KeyCode::Backspace), Edit::Ignored);
    }

    #[test]
    fn an_accent_or_an_emoji_sequence_is_one_step() {
        // e + combining acute, then a family: man ZWJ woman ZWJ girl.
        let family = "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}";
        let mut l = typed(&format!("e\u{301}{family}x"));
        press(&mut l, KeyCode::Left);
        press(&mut l, KeyCode::Left);
        assert_eq!(l.render(true), format!("e\u{301}▌{family}x"));
        press(&mut l, KeyCode::Left);
        assert_eq!(l.render(true), format!("▌e\u{301}{family}x"));
        press(&mut l, KeyCode::Right);
        press(&mut l, KeyCode::Delete);
        assert_eq!(l.text(), "e\u{301}x");
        press(&mut l, KeyCode::Backspace);
        assert_eq!(l.render(true), "▌x");
    }

    #[test]
    fn word_motions_and_ctrl_w() {
        let mut l = typed("git  commit -m");
        key(&mut l, KeyCode::Left, KeyModifiers::CONTROL);
        assert_eq!(l.render(true), "git  commit ▌-m");
        key(&mut l, KeyCode::Left, KeyModifiers::ALT);
        assert_eq!(l.render(true), "git  ▌commit -m");
        key(&mut l, KeyCode::Left, KeyModifiers::CONTROL);
        key(&mut l, KeyCode::Left, KeyModifiers::CONTROL);
        assert_eq!(l.render(true), "▌git  commit -m");
        key(&mut l, KeyCode::Right, KeyModifiers::CONTROL);
        assert_eq!(l.render(true), "git▌  commit -m");
        key(&mut l, KeyCode::Right, KeyModifiers::ALT);
        assert_eq!(l.render(true), "git  commit▌ -m");
        assert_eq!(
            key(&mut l, KeyCode::Char('w'), KeyModifiers::CONTROL),
            Edit::Deleted
        );
        assert_eq!(l.render(true), "git  ▌ -m");
        key(&mut l, KeyCode::Char('w'), KeyModifiers::CONTROL);
        assert_eq!(l.render(true), "▌ -m");
        assert_eq!(
            key(&mut l, KeyCode::Char('w'), KeyModifiers::CONTROL),
            Edit::Ignored
        );
    }

    #[test]
    fn a_paste_goes_in_at_the_cursor_as_it_is() {
        let mut l = typed("ad");
        l.left();
        l.insert_str("b\nc");
        assert_eq!(l.render(true), "ab\nc▌d");
    }

    #[test]
    fn take_and_clear_empty_the_line() {
        let mut l = typed("name");
        assert_eq!(l.take(), "name");
        assert!(l.is_empty());
        assert_eq!(l.render(true), "▌");
        let mut l = typed("x");
        l.clear();
        assert_eq!(l, LineInput::default());
    }
}
