//! Where the end of a long answer can be laid out alone. The first frame of a
//! session shows the end of its last answer; laying out all of a long one
//! (hundreds of paragraphs of markdown, parsed and wrapped) is most of that
//! frame. Markdown read from a cut made here lays out as the whole does from
//! there on, so the last lines come out the same (`tests.rs` checks it), and
//! the rest waits until a frame needs it (scrolling up, the copy cursor).

/// A byte offset in `text` where its last blocks start, at least `bytes` from
/// its end and no further back than half of it; `None` when there is no such
/// cut, or when something ties the text's end to what comes before it.
///
/// A cut is at the start of a line that begins a top-level block: after a
/// blank line, not indented (so not a list item's later paragraph or an
/// indented code block), not a list item (a loose list's numbering and
/// spacing span its items) and outside fenced code. A text with a link
/// reference definition (used anywhere, defined anywhere), HTML (a comment
/// or `<pre>` runs through blank lines) or control characters (drawn as a
/// terminal would, where a later one can overwrite an earlier line) has none.
pub fn cut(text: &str, bytes: usize) -> Option<usize> {
    if text.len() < bytes.saturating_mul(2) {
        return None;
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return None;
    }
    let mut best = None;
    // The open fence: its character and length.
    let mut fence: Option<(u8, usize)> = None;
    let mut after_blank = false;
    let mut at = 0usize;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim_start();
        if trimmed.starts_with('<') || is_reference_definition(trimmed) {
            return None;
        }
        if let Some(open) = fence {
            if closes(trimmed, open) {
                fence = None;
            }
            after_blank = false;
            continue;
        }
        if trimmed.is_empty() {
            after_blank = true;
            continue;
        }
        let indented = body.starts_with([' ', '\t']);
        // Lines too near the end are still read: a definition or HTML there
        // ties the end to what comes before it.
        if after_blank && !indented && !is_list_item(trimmed) && text.len() - start >= bytes {
            best = Some(start);
        }
        fence = opens(trimmed);
        after_blank = false;
    }
    best.filter(|&b| b >= text.len() / 2)
}

/// The fence a line opens: three or more backticks or tildes.
fn opens(line: &str) -> Option<(u8, usize)> {
    let c = *line.as_bytes().first()?;
    if c != b'`' && c != b'~' {
        return None;
    }
    let n = line.bytes().take_while(|&b| b == c).count();
    (n >= 3).then_some((c, n))
}

/// Whether a line closes the fence `open`: its character, as many or more,
/// and nothing after them.
fn closes(line: &str, (c, n): (u8, usize)) -> bool {
    let run = line.bytes().take_while(|&b| b == c).count();
    run >= n && line[run..].trim().is_empty()
}

/// `-`, `*` or `+` and a space, or digits then `.` or `)` and a space.
fn is_list_item(line: &str) -> bool {
    let b = line.as_bytes();
    let spaced = |i: usize| b.get(i).is_none_or(|c| *c == b' ' || *c == b'\t');
    match b.first() {
        Some(b'-' | b'*' | b'+') => spaced(1),
        Some(c) if c.is_ascii_digit() => {
            let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
            matches!(b.get(digits), Some(b'.' | b')')) && spaced(digits + 1)
        }
        _ => false,
    }
}

/// `[label]: destination` (a footnote's `[^1]:` too).
fn is_reference_definition(line: &str) -> bool {
    line.starts_with('[')
        && line
            .find("]:")
            .is_some_and(|end| end > 1 && !line[1..end].contains(']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paragraphs(n: usize) -> String {
        (0..n)
            .map(|i| format!("Paragraph {i} says something long enough to wrap twice."))
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    #[test]
    fn cuts_at_a_paragraph_far_enough_from_the_end() {
        let text = paragraphs(100);
        let at = cut(&text, 500).expect("a cut");
        assert!(text.len() - at >= 500);
        assert!(text[at..].starts_with("Paragraph "));
        assert_eq!(&text[at - 2..at], "\n\n");
        // The latest such cut: one paragraph later is too close to the end.
        let next = text[at..].find("\n\n").map(|i| at + i + 2).unwrap();
        assert!(text.len() - next < 500);
        // Short texts, and tails past half of the text, are laid out whole.
        assert_eq!(cut(&paragraphs(3), 500), None);
        assert_eq!(cut(&text, text.len() * 2 / 3), None);
    }

    #[test]
    fn never_cuts_inside_fences_lists_or_tied_texts() {
        // Too little after the fence: the cut is at the fence or before it,
        // never on a blank line inside it.
        let fenced = format!(
            "{}\n\n```\n{}\n```\n\nThe end.\n",
            paragraphs(60),
            paragraphs(20).replace("Paragraph", "code")
        );
        let at = cut(&fenced, 200).expect("a cut before the fence");
        assert!(at <= fenced.find("```").unwrap(), "cut inside the fence");
        let list = (0..80)
            .map(|i| format!("{i}. item {i} of a loose list\n\n   more of item {i}"))
            .collect::<Vec<_>>()
            .join("\n\n");
        assert_eq!(cut(&list, 200), None, "cut inside a list");
        let defined = format!("{}\n\n[x]: https://example.com\n", paragraphs(100));
        assert_eq!(cut(&defined, 200), None);
        let html = format!("<!--\n\n{}\n\n-->\n", paragraphs(100));
        assert_eq!(cut(&html, 200), None);
        let overwritten = format!("{}\rover", paragraphs(100));
        assert_eq!(cut(&overwritten, 200), None);
    }
}
