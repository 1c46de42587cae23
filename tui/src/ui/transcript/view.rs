//! Marking parts of a line that is drawn: a search's words, copy mode's
//! selection and cursor. Each works on the characters of the line's text, so
//! it cuts the spans it needs to and keeps the rest of their styles.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// `line` with characters `start..end` (of its text) in `patch` over their own style.
pub fn restyle(line: Line<'static>, start: usize, end: usize, patch: Style) -> Line<'static> {
    if start >= end {
        return line;
    }
    let style = line.style;
    let alignment = line.alignment;
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut at = 0usize;
    for span in line.spans {
        let n = span.content.chars().count();
        let (s, e) = (start.max(at), end.min(at + n));
        if s >= e {
            out.push(span);
        } else {
            let chars: Vec<char> = span.content.chars().collect();
            let piece = |a: usize, b: usize| chars[a - at..b - at].iter().collect::<String>();
            if s > at {
                out.push(Span::styled(piece(at, s), span.style));
            }
            out.push(Span::styled(piece(s, e), span.style.patch(patch)));
            if e < at + n {
                out.push(Span::styled(piece(e, at + n), span.style));
            }
        }
        at += n;
    }
    // Past the text's end (an empty line's cursor): a space to show it on.
    if end > at && start >= at {
        out.push(Span::styled(" ", patch));
    }
    let mut l = Line::from(out).style(style);
    l.alignment = alignment;
    l
}

/// Where `words` occur in `text` (case ignored), as character ranges.
pub fn find_words(text: &str, words: &[String]) -> Vec<(usize, usize)> {
    let lower: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    // Lowering can change the number of characters (rare): give up then.
    if lower.len() != text.chars().count() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for w in words {
        let w: Vec<char> = w.chars().collect();
        if w.is_empty() || w.len() > lower.len() {
            continue;
        }
        let mut i = 0;
        while i + w.len() <= lower.len() {
            if lower[i..i + w.len()] == w[..] {
                out.push((i, i + w.len()));
                i += w.len();
            } else {
                i += 1;
            }
        }
    }
    out.sort_unstable();
    out
}

/// `line` with every occurrence of `words` in `patch`.
pub fn mark_words(line: Line<'static>, words: &[String], patch: Style) -> Line<'static> {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    find_words(&text, words)
        .into_iter()
        .fold(line, |l, (s, e)| restyle(l, s, e, patch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Color, Modifier};

    #[test]
    fn restyling_cuts_spans_and_keeps_their_styles() {
        let red = Style::new().fg(Color::Red);
        let line = Line::from(vec![Span::raw("ab"), Span::styled("cdef", red)]);
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let out = restyle(line, 1, 4, bold);
        let parts: Vec<(String, Style)> = out
            .spans
            .iter()
            .map(|s| (s.content.to_string(), s.style))
            .collect();
        assert_eq!(
            parts,
            [
                ("a".into(), Style::new()),
                ("b".into(), bold),
                ("cd".into(), red.patch(bold)),
                ("ef".into(), red),
            ]
        );
        // The cursor on an empty line shows as a space.
        let out = restyle(Line::default(), 0, 1, bold);
        assert_eq!(out.spans.len(), 1);
        assert_eq!(out.spans[0].content, " ");
    }

    #[test]
    fn words_are_found_without_case_every_time() {
        let w = vec!["link".to_string(), "cc".to_string()];
        assert_eq!(
            find_words("Linker cc; LINK", &w),
            [(0, 4), (7, 9), (11, 15)]
        );
        assert!(find_words("nothing", &w).is_empty());
    }
}
