//! Fitting styled text to a width: wrapping at spaces (long words broken by
//! character) and cutting with an ellipsis.

use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// Wraps styled spans to `width` columns, breaking at spaces where it can.
pub fn wrap(spans: Vec<Span<'static>>, width: u16, indent: &str) -> Vec<Line<'static>> {
    let width = width as usize;
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut cur_w = 0usize;
    let indent_w = indent.chars().count();
    let flush =
        |cur: &mut Vec<Span<'static>>, cur_w: &mut usize, lines: &mut Vec<Line<'static>>| {
            lines.push(Line::from(std::mem::take(cur)));
            *cur_w = 0;
        };
    for span in spans {
        let style = span.style;
        // The words of this span not yet on `cur`, and their width (kept, not
        // counted again per word: a paragraph's wrap stays linear).
        let mut buf = String::new();
        let mut buf_w = 0usize;
        for word in split_keep_spaces(&span.content) {
            let w = buf_width(word);
            if cur_w + buf_w + w > width && cur_w + buf_w > 0 {
                if !buf.is_empty() {
                    cur.push(Span::styled(std::mem::take(&mut buf), style));
                    buf_w = 0;
                }
                flush(&mut cur, &mut cur_w, &mut lines);
                if !indent.is_empty() {
                    cur.push(Span::raw(indent.to_string()));
                    cur_w = indent_w;
                }
                if word.trim().is_empty() {
                    continue;
                }
            }
            if w > width.saturating_sub(cur_w) {
                // A word longer than the line: break it by characters.
                for ch in word.chars() {
                    let cw = ch.width().unwrap_or(0);
                    if cur_w + buf_w + cw > width {
                        cur.push(Span::styled(std::mem::take(&mut buf), style));
                        buf_w = 0;
                        flush(&mut cur, &mut cur_w, &mut lines);
                        if !indent.is_empty() {
                            cur.push(Span::raw(indent.to_string()));
                            cur_w = indent_w;
                        }
                    }
                    buf.push(ch);
                    buf_w += cw;
                }
            } else {
                buf.push_str(word);
                buf_w += w;
            }
        }
        if !buf.is_empty() {
            cur_w += buf_w;
            cur.push(Span::styled(buf, style));
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(Line::from(cur));
    }
    lines
}

/// Cuts styled spans to `max` columns, ending with `…` when something was cut.
pub fn fit(spans: Vec<Span<'static>>, max: usize) -> Vec<Span<'static>> {
    let total: usize = spans.iter().map(|s| buf_width(&s.content)).sum();
    if total <= max {
        return spans;
    }
    let mut room = max.saturating_sub(1);
    let mut out = Vec::new();
    for span in spans {
        let mut text = String::new();
        for c in span.content.chars() {
            let w = c.width().unwrap_or(0);
            if w > room {
                room = 0;
                break;
            }
            room -= w;
            text.push(c);
        }
        let done = room == 0;
        out.push(Span::styled(text, span.style));
        if done {
            break;
        }
    }
    out.push(Span::raw("…"));
    out
}

pub(super) fn buf_width(s: &str) -> usize {
    // Printable ASCII, nearly all text: a column a byte.
    if s.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return s.len();
    }
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// `s` cut where runs of spaces start and end: words and the spaces between
/// them, in order, nothing lost.
fn split_keep_spaces(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let first = rest.as_bytes().first()?;
        let space = *first == b' ';
        let end = rest
            .bytes()
            .position(|b| (b == b' ') != space)
            .unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        rest = tail;
        Some(word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_words_are_the_same_with_or_without_the_ascii_path() {
        assert_eq!(buf_width("plain words"), 11);
        assert_eq!(buf_width("héllo"), 5);
        assert_eq!(buf_width("日本"), 4);
        assert_eq!(buf_width("a\u{7}b"), 2);
        let words: Vec<&str> = split_keep_spaces("  a  bc d ").collect();
        assert_eq!(words, ["  ", "a", "  ", "bc", " ", "d", " "]);
        let words: Vec<&str> = split_keep_spaces("日本 語").collect();
        assert_eq!(words, ["日本", " ", "語"]);
        assert_eq!(split_keep_spaces("").count(), 0);
    }
}
