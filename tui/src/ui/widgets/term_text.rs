//! Text from tools, models and pastes as it may be put on the screen: what a
//! terminal would show for it, and never a raw control or escape sequence.
//!
//! Tool output is interpreted the way a terminal would show it: SGR sequences
//! (`ESC [ … m`: colours, bold, …) become ratatui styles; a CR goes back to
//! column 0 so what follows overwrites the line (a progress bar shows its last
//! state), `\r\n` is a newline; a backspace goes back one column; a tab moves to
//! the next multiple of [`TAB_WIDTH`] columns. Every other escape sequence
//! (cursor moves, screen clears, OSC window titles and hyperlinks, DCS, …) and
//! every other control character is dropped. Messages get the same cleaning
//! without colours, and a lone CR in them is a line break.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// Tab stops every 8 columns, as in a terminal, counted from the start of the
/// text's own line (after the transcript's indent).
pub const TAB_WIDTH: usize = 8;

/// Pasted text with its line ends as `\n`: terminals (tmux, xterm) send CR
/// between pasted lines, some CRLF.
pub fn paste_text(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// What a CR does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cr {
    /// Back to column 0, as a terminal does (tool output).
    Overwrite,
    /// A line break (messages).
    Newline,
}

/// One screen column: the characters drawn there (a base character and any
/// combining marks), or `None` for the second column of a wide character.
type Cell = Option<(String, Style)>;

/// The interpreter: lines of cells, a cursor column and the current style.
struct Screen {
    lines: Vec<Vec<Cell>>,
    col: usize,
    style: Style,
    base: Style,
    cr: Cr,
    /// Keep tabs as they are (for Markdown) instead of expanding them.
    keep_tabs: bool,
}

impl Screen {
    fn new(base: Style, cr: Cr) -> Screen {
        Screen {
            lines: vec![Vec::new()],
            col: 0,
            style: base,
            base,
            cr,
            keep_tabs: false,
        }
    }

    fn line(&mut self) -> &mut Vec<Cell> {
        if self.lines.is_empty() {
            self.lines.push(Vec::new());
        }
        let last = self.lines.len() - 1;
        &mut self.lines[last]
    }

    fn newline(&mut self) {
        self.lines.push(Vec::new());
        self.col = 0;
    }

    fn tab(&mut self) {
        if self.keep_tabs {
            let (col, style) = (self.col, self.style);
            let line = self.line();
            match line.get_mut(col) {
                Some(slot) => *slot = Some(("\t".to_string(), style)),
                None => line.push(Some(("\t".to_string(), style))),
            }
            self.col += 1;
            return;
        }
        let target = (self.col / TAB_WIDTH + 1) * TAB_WIDTH;
        let base = self.base;
        let line = self.line();
        while line.len() < target {
            line.push(Some((" ".to_string(), base)));
        }
        self.col = target;
    }

    fn put(&mut self, c: char) {
        let w = c.width().unwrap_or(0);
        let (col, style) = (self.col, self.style);
        let line = self.line();
        if w == 0 {
            // A combining mark joins the character before the cursor.
            if let Some(Some((s, _))) = col.checked_sub(1).and_then(|i| line.get_mut(i)) {
                s.push(c);
            }
            return;
        }
        while line.len() < col {
            line.push(Some((" ".to_string(), style)));
        }
        // Overwriting half of a wide character blanks its other half.
        if col > 0 && line.get(col).is_some_and(Option::is_none) {
            line[col - 1] = Some((" ".to_string(), style));
        }
        if line.get(col + w).is_some_and(Option::is_none) {
            line[col + w] = Some((" ".to_string(), style));
        }
        for k in 0..w {
            let cell = if k == 0 {
                Some((c.to_string(), style))
            } else {
                None
            };
            match line.get_mut(col + k) {
                Some(slot) => *slot = cell,
                None => line.push(cell),
            }
        }
        self.col = col + w;
    }

    fn sgr(&mut self, params: &str) {
        let mut codes = params
            .split([';', ':'])
            .map(|p| p.parse::<u16>().unwrap_or(0))
            .collect::<Vec<_>>()
            .into_iter();
        if params.is_empty() {
            self.style = self.base;
            return;
        }
        while let Some(code) = codes.next() {
            let s = &mut self.style;
            match code {
                0 => *s = self.base,
                1 => *s = s.add_modifier(Modifier::BOLD),
                2 => *s = s.add_modifier(Modifier::DIM),
                3 => *s = s.add_modifier(Modifier::ITALIC),
                4 | 21 => *s = s.add_modifier(Modifier::UNDERLINED),
                5 | 6 => *s = s.add_modifier(Modifier::SLOW_BLINK),
                7 => *s = s.add_modifier(Modifier::REVERSED),
                8 => *s = s.add_modifier(Modifier::HIDDEN),
                9 => *s = s.add_modifier(Modifier::CROSSED_OUT),
                22 => *s = s.remove_modifier(Modifier::BOLD | Modifier::DIM),
                23 => *s = s.remove_modifier(Modifier::ITALIC),
                24 => *s = s.remove_modifier(Modifier::UNDERLINED),
                25 => *s = s.remove_modifier(Modifier::SLOW_BLINK | Modifier::RAPID_BLINK),
                27 => *s = s.remove_modifier(Modifier::REVERSED),
                28 => *s = s.remove_modifier(Modifier::HIDDEN),
                29 => *s = s.remove_modifier(Modifier::CROSSED_OUT),
                30..=37 => s.fg = Some(Color::Indexed((code - 30) as u8)),
                39 => s.fg = self.base.fg,
                40..=47 => s.bg = Some(Color::Indexed((code - 40) as u8)),
                49 => s.bg = self.base.bg,
                90..=97 => s.fg = Some(Color::Indexed((code - 90 + 8) as u8)),
                100..=107 => s.bg = Some(Color::Indexed((code - 100 + 8) as u8)),
                38 | 48 => {
                    let color = match codes.next() {
                        Some(5) => codes.next().map(|n| Color::Indexed(n.min(255) as u8)),
                        Some(2) => {
                            let mut c = || codes.next().unwrap_or(0).min(255) as u8;
                            let (r, g, b) = (c(), c(), c());
                            Some(Color::Rgb(r, g, b))
                        }
                        _ => None,
                    };
                    if code == 38 {
                        s.fg = color.or(s.fg);
                    } else {
                        s.bg = color.or(s.bg);
                    }
                }
                _ => {}
            }
        }
    }

    fn run(mut self, text: &str, colours: bool) -> Vec<Vec<Cell>> {
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\n' => self.newline(),
                '\r' => match self.cr {
                    Cr::Overwrite => self.col = 0,
                    Cr::Newline => {
                        if chars.peek() != Some(&'\n') {
                            self.newline();
                        }
                    }
                },
                '\t' => self.tab(),
                '\u{8}' => self.col = self.col.saturating_sub(1),
                '\u{1b}' => match chars.next() {
                    Some('[') => {
                        let (params, fin) = csi(&mut chars);
                        if fin == Some('m') && colours {
                            self.sgr(&params);
                        }
                    }
                    Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                    Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
                        // ESC, intermediates, a final byte (`ESC ( B`).
                        while chars
                            .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
                            .is_some()
                        {}
                        chars.next();
                    }
                    _ => {} // a two-byte sequence (`ESC 7`, `ESC =`) or a lone ESC
                },
                '\u{9b}' => {
                    let (params, fin) = csi(&mut chars);
                    if fin == Some('m') && colours {
                        self.sgr(&params);
                    }
                }
                '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
                c if c.is_control() => {}
                c => self.put(c),
            }
        }
        // Like `str::lines`: a final newline ends the last line, it does not
        // start one, and no text has no lines.
        if self.lines.last().is_some_and(Vec::is_empty) && (self.lines.len() > 1 || text.is_empty())
        {
            self.lines.pop();
        }
        self.lines
    }
}

/// Reads a CSI sequence after its introducer: its parameters and final byte.
fn csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> (String, Option<char>) {
    let mut params = String::new();
    for c in chars.by_ref() {
        match c {
            '\u{30}'..='\u{3f}' => params.push(c),
            '\u{20}'..='\u{2f}' => {}
            '\u{40}'..='\u{7e}' => return (params, Some(c)),
            // Not a valid sequence: it ends here, and the character is dropped.
            _ => return (params, None),
        }
    }
    (params, None)
}

/// Skips an OSC / DCS / SOS / PM / APC string up to its terminator (BEL, `ESC \`
/// or ST).
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

fn to_lines(cells: Vec<Vec<Cell>>) -> Vec<Line<'static>> {
    cells
        .into_iter()
        .map(|line| {
            let mut spans: Vec<Span<'static>> = Vec::new();
            for (text, style) in line.into_iter().flatten() {
                match spans.last_mut() {
                    Some(last) if last.style == style => last.content.to_mut().push_str(&text),
                    _ => spans.push(Span::styled(text, style)),
                }
            }
            Line::from(spans)
        })
        .collect()
}

/// Tool output as styled lines, as a terminal would show it (see the module
/// header); `base` is the style of uncoloured text.
pub fn terminal_lines(text: &str, base: Style) -> Vec<Line<'static>> {
    to_lines(Screen::new(base, Cr::Overwrite).run(text, true))
}

/// Tool output as plain text, as a terminal would show it without its colours.
pub fn terminal_text(text: &str) -> String {
    lines_text(&terminal_lines(text, Style::new()))
}

/// A message's text, clean: no control or escape sequences, tabs expanded, CR
/// and CRLF line ends as `\n`.
pub fn message_text(text: &str) -> String {
    if let Some(plain) = plain(text, false) {
        return plain;
    }
    lines_text(&to_lines(
        Screen::new(Style::new(), Cr::Newline).run(text, false),
    ))
}

/// Like [`message_text`] but keeps tabs, for Markdown, whose structure depends
/// on them; expand them in its rendered lines with [`expand_tabs`].
pub fn markdown_source(text: &str) -> String {
    if let Some(plain) = plain(text, true) {
        return plain;
    }
    let mut screen = Screen::new(Style::new(), Cr::Newline);
    screen.keep_tabs = true;
    lines_text(&to_lines(screen.run(text, false)))
}

/// Text with no control character but `\n` (and `\t` when `tabs` are kept)
/// comes out of the screen as it went in, less one final newline: skip the
/// screen for it. A streaming answer is re-rendered on every frame, and nearly
/// every answer is such text.
fn plain(text: &str, tabs: bool) -> Option<String> {
    let clean = !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && !(tabs && c == '\t'));
    clean.then(|| text.strip_suffix('\n').unwrap_or(text).to_string())
}

fn lines_text(lines: &[Line<'_>]) -> String {
    lines
        .iter()
        .map(|l| {
            l.spans
                .iter()
                .map(|s| s.content.as_ref())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands tabs in a rendered line to the next multiple of [`TAB_WIDTH`],
/// counting columns from `start` (the width of a margin before the text).
pub fn expand_tabs(spans: Vec<Span<'static>>, start: usize) -> Vec<Span<'static>> {
    if !spans.iter().any(|s| s.content.contains('\t')) {
        return spans;
    }
    let mut col = 0usize;
    let mut seen = 0usize;
    spans
        .into_iter()
        .map(|span| {
            let mut out = String::with_capacity(span.content.len());
            for c in span.content.chars() {
                let w = c.width().unwrap_or(0);
                if seen < start {
                    seen += w;
                    out.push(c);
                    continue;
                }
                if c == '\t' {
                    let target = (col / TAB_WIDTH + 1) * TAB_WIDTH;
                    out.extend(std::iter::repeat_n(' ', target - col));
                    col = target;
                } else {
                    out.push(c);
                    col += w;
                }
            }
            Span::styled(out, span.style)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn sgr_colours_become_styles_and_never_text() {
        let l = terminal_lines(
            "\u{1b}[31merror\u{1b}[0m: \u{1b}[1;32mok\u{1b}[m done",
            Style::new(),
        );
        assert_eq!(text(&l), vec!["error: ok done"]);
        let spans = &l[0].spans;
        assert_eq!(spans[0].content, "error");
        assert_eq!(spans[0].style.fg, Some(Color::Indexed(1)));
        assert_eq!(spans[1].content, ": ");
        assert_eq!(spans[1].style, Style::new());
        assert_eq!(spans[2].content, "ok");
        assert_eq!(spans[2].style.fg, Some(Color::Indexed(2)));
        assert!(spans[2].style.add_modifier.contains(Modifier::BOLD));
        assert_eq!(spans[3].style, Style::new());
        // 256 colours, true colour, bright, background, reset of one attribute.
        let l = terminal_lines(
            "\u{1b}[38;5;208ma\u{1b}[38;2;1;2;3mb\u{1b}[91;44mc\u{1b}[39md\u{1b}[49;1me\u{1b}[22mf",
            Style::new(),
        );
        let s: Vec<Style> = l[0].spans.iter().map(|s| s.style).collect();
        assert_eq!(s[0].fg, Some(Color::Indexed(208)));
        assert_eq!(s[1].fg, Some(Color::Rgb(1, 2, 3)));
        assert_eq!(
            (s[2].fg, s[2].bg),
            (Some(Color::Indexed(9)), Some(Color::Indexed(4)))
        );
        assert_eq!((s[3].fg, s[3].bg), (None, Some(Color::Indexed(4))));
        assert!(s[4].add_modifier.contains(Modifier::BOLD) && s[4].bg.is_none());
        assert!(!s[5].add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn every_other_escape_sequence_and_control_is_dropped() {
        let raw = "a\u{1b}[2J\u{1b}[Hb\u{1b}]0;title\u{7}c\u{1b}]8;;http://x\u{1b}\\d\u{1b}(Be\u{1b}7f\u{1b}[?25lg\u{7}\u{0}h\u{7f}\u{9b}1Ai\u{1b}Pdcs\u{1b}\\j";
        let l = terminal_lines(raw, Style::new());
        assert_eq!(text(&l), vec!["abcdefghij"]);
        for line in &l {
            for s in &line.spans {
                assert!(!s.content.chars().any(char::is_control), "{:?}", s.content);
            }
        }
        // A sequence cut off at the end of the text leaves nothing behind.
        assert_eq!(terminal_text("ok\u{1b}[3"), "ok");
        assert_eq!(terminal_text("ok\u{1b}"), "ok");
        assert_eq!(terminal_text("ok\u{1b}]0;never ends"), "ok");
    }

    #[test]
    fn a_cr_overwrites_from_column_0_and_crlf_is_a_newline() {
        assert_eq!(terminal_text("10%\r50%\r100%"), "100%");
        assert_eq!(
            terminal_text("progress 10%\rprogress 99%\rdone"),
            "doneress 99%"
        );
        assert_eq!(terminal_text("a\r\nb\r\n"), "a\nb");
        assert_eq!(terminal_text("one\ntwo\n"), "one\ntwo");
        assert!(terminal_lines("", Style::new()).is_empty());
        assert_eq!(terminal_text("abc\u{8}\u{8}X"), "aXc");
        // Colours survive an overwrite: the last writer's style wins per column.
        let l = terminal_lines("xx\r\u{1b}[32mo\u{1b}[0m", Style::new());
        assert_eq!(text(&l), vec!["ox"]);
        assert_eq!(l[0].spans[0].style.fg, Some(Color::Indexed(2)));
    }

    #[test]
    fn tabs_expand_to_the_next_multiple_of_8() {
        assert_eq!(terminal_text("a\tb"), "a       b");
        assert_eq!(terminal_text("abcdefgh\tc"), "abcdefgh        c");
        assert_eq!(terminal_text("\t\tx"), format!("{}x", " ".repeat(16)));
        assert_eq!(message_text("name\tsize\n1\t2"), "name    size\n1       2");
        let spans = expand_tabs(vec![Span::raw("  "), Span::raw("a\tb")], 2);
        assert_eq!(text(&[Line::from(spans)]), vec!["  a       b"]);
    }

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(terminal_text("日本\tx"), "日本    x");
        assert_eq!(terminal_text("日本\rab"), "ab本");
        assert_eq!(terminal_text("日本\ra"), "a 本");
    }

    #[test]
    fn messages_and_pastes_keep_their_lines() {
        assert_eq!(paste_text("one\rtwo\rthree"), "one\ntwo\nthree");
        assert_eq!(paste_text("one\r\ntwo\n"), "one\ntwo\n");
        assert_eq!(message_text("one\rtwo\r\nthree"), "one\ntwo\nthree");
        assert_eq!(message_text("\u{1b}[31mred\u{1b}[0m"), "red");
        assert_eq!(
            markdown_source("| a\t| b |\n\n```\n\u{1b}[1mx\n```\n"),
            "| a\t| b |\n\n```\nx\n```"
        );
    }

    #[test]
    fn plain_text_skips_the_screen_and_comes_out_the_same() {
        for text in [
            "",
            "\n",
            "a",
            "a\n",
            "a\n\n",
            "\n\nb",
            "| x | y |\n|---|---|\n| 1 | 2 |\n",
            "wide 漢字 and é\nnext",
            "\tindented\n  spaces  \n",
        ] {
            let slow = {
                let mut screen = Screen::new(Style::new(), Cr::Newline);
                screen.keep_tabs = true;
                lines_text(&to_lines(screen.run(text, false)))
            };
            assert_eq!(
                plain(text, true).as_deref(),
                Some(slow.as_str()),
                "{text:?}"
            );
            if !text.contains('\t') {
                let slow = lines_text(&to_lines(
                    Screen::new(Style::new(), Cr::Newline).run(text, false),
                ));
                assert_eq!(
                    plain(text, false).as_deref(),
                    Some(slow.as_str()),
                    "{text:?}"
                );
            }
        }
        assert_eq!(
            plain("a\tb", false),
            None,
            "tabs are expanded by the screen"
        );
        assert_eq!(plain("a\rb", true), None);
        assert_eq!(plain("\u{1b}[31mred", true), None);
    }
}
