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
/// blank line (spaces and tabs only: other white space is text), not
/// indented (so not a list item's later paragraph or an indented code
/// block), not a list item (a loose list's numbering and spacing span its
/// items), not a definition (`: ...`, whose term is above it) and outside
/// fenced code. Some texts have none at all, whatever their length:
/// - a link reference or footnote definition (`]:` anywhere, in a quote or a
///   list too): it applies to the whole text;
/// - HTML (a comment or `<pre>` runs through blank lines);
/// - a metadata block (a `---` line with text right under it opens one,
///   anywhere, and it runs through blank lines to the next `---`);
/// - a fence that is not at the start of a line (in a list item, a quote,
///   indented), or a backtick fence whose info string has a backtick: where
///   such a fence ends is not told line by line;
/// - control characters (drawn as a terminal would, where a later one can
///   overwrite an earlier line).
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
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        let start = at;
        at += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim_start_matches([' ', '\t']);
        if trimmed.starts_with('<') || trimmed.contains("]:") {
            return None;
        }
        let fenced = trimmed.contains("```") || trimmed.contains("~~~");
        if let Some(open) = fence {
            if closes(body, open) {
                fence = None;
            } else if fenced && body.len() != trimmed.len() {
                // Indented: a closer of a fence in a list item, maybe.
                return None;
            }
            after_blank = false;
            continue;
        }
        if trimmed.is_empty() {
            after_blank = true;
            continue;
        }
        if is_rule(body) && lines.peek().is_some_and(|next| !is_blank(next)) {
            return None;
        }
        if fenced {
            match opens(body) {
                Some(open) if body.len() == trimmed.len() => fence = Some(open),
                _ => return None,
            }
        }
        let indented = body.len() != trimmed.len();
        // Lines too near the end are still read: what is listed above, there,
        // ties the end to what comes before it.
        if after_blank
            && !indented
            && !is_list_item(trimmed)
            && !trimmed.starts_with(':')
            && text.len() - start >= bytes
        {
            best = Some(start);
        }
        after_blank = false;
    }
    best.filter(|&b| b >= text.len() / 2)
}

/// Spaces and tabs only.
fn is_blank(line: &str) -> bool {
    line.trim_end_matches(['\n', '\r'])
        .bytes()
        .all(|b| b == b' ' || b == b'\t')
}

/// Three or more `-` from the line's start, and nothing else but spaces.
fn is_rule(body: &str) -> bool {
    body.starts_with("---") && body.bytes().all(|b| b == b'-' || b == b' ' || b == b'\t')
}

/// The fence a line opens: three or more backticks or tildes (a backtick
/// fence's info string has no backtick).
fn opens(line: &str) -> Option<(u8, usize)> {
    let c = *line.as_bytes().first()?;
    if c != b'`' && c != b'~' {
        return None;
    }
    let n = line.bytes().take_while(|&b| b == c).count();
    let info_ok = c == b'~' || !line[n..].contains('`');
    (n >= 3 && info_ok).then_some((c, n))
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
        // Definitions inside a quote or a list apply to the whole text too.
        let quoted = format!("{}\n\n> [x]: https://example.com\n", paragraphs(100));
        assert_eq!(cut(&quoted, 200), None);
        let footnote = format!("{}\n\n- [^1]: a note\n", paragraphs(100));
        assert_eq!(cut(&footnote, 200), None);
    }

    #[test]
    fn a_metadata_block_or_a_fence_told_apart_only_by_its_container_has_no_cut() {
        // `---` with text right under it opens a metadata block anywhere,
        // through blank lines to the next `---`.
        let metadata = format!(
            "{}\n\n---\n**Summary.** {}\n\n---\n\nThe end.\n",
            paragraphs(40),
            paragraphs(40)
        );
        assert_eq!(cut(&metadata, 200), None);
        // A rule with a blank line under it is a rule.
        let rule = format!("{}\n\n---\n\n{}", paragraphs(40), paragraphs(40));
        assert!(cut(&rule, 200).is_some());
        // A fence opened in a list item; one indented; one closed at column 0
        // after an item; a backtick in a backtick fence's info string.
        for fence in [
            "- ```sh\n  cargo install tether\n  ```\n",
            "1. Install:\n\n   ```sh\n   pip install x\n```\n",
            "    ```\n    not a fence\n    ```\n",
            "```x`\nnot a fence\n```\n",
            "> ```\n> quoted\n> ```\n",
        ] {
            let text = format!(
                "{}\n\n{fence}\n{}\n\n```\nuse std::io;\n\nfn main() {{}}\n```\n\n{}",
                paragraphs(20),
                paragraphs(20),
                paragraphs(40)
            );
            assert_eq!(cut(&text, 200), None, "{fence:?}");
        }
    }

    #[test]
    fn only_spaces_and_tabs_make_a_blank_line_and_a_definition_is_not_a_cut() {
        // A line of no-break spaces is text: the paragraph goes on.
        let nbsp: String = (0..100)
            .map(|i| format!("Line {i} of one paragraph, long enough.\n\u{a0}\n"))
            .collect();
        assert_eq!(cut(&nbsp, 200), None);
        let defined: String = (0..100)
            .map(|i| format!("Term {i}\n\n: its definition, long enough to matter.\n\n"))
            .collect();
        let at = cut(&defined, 200).expect("a cut at a term");
        assert!(
            defined[at..].starts_with("Term "),
            "{:?}",
            &defined[at..at + 20]
        );
    }
}
