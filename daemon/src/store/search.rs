//! What a search of a session's log looks at, the same for every store: which
//! events are searchable and by what text ([`searchable`]), the words of a
//! query ([`words`]) and the excerpt a hit shows ([`excerpt`]).
//!
//! Searched: user and assistant messages, tool calls (tool name and arguments)
//! and tool results (their output). Not searched: the calls and results of the
//! history tools themselves, so a search never finds its own query or the
//! excerpts an earlier search returned; and the bookkeeping events (turns,
//! states, approvals), which hold no text the agent would look for.

use tether_shared::{Event, EventKind};

/// The tools that read the log; their own calls and results are not searched.
pub(crate) const HISTORY_TOOLS: [&str; 2] = ["history_search", "history_read"];

/// The most words a query is searched by; the rest are ignored.
pub(crate) const MAX_WORDS: usize = 32;

/// An event's searchable text, with the tool it belongs to (for tool calls and
/// results).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Searchable {
    /// The tool, for a tool call or a tool result.
    pub tool: Option<String>,
    /// The text the search matches against.
    pub text: String,
}

/// The searchable text of `event`, or `None` for an event that is not searched.
pub(crate) fn searchable(event: &Event) -> Option<Searchable> {
    let (tool, text) = match &event.kind {
        EventKind::UserMessage { text, .. } | EventKind::AssistantMessage { text, .. } => {
            (None, text.clone())
        }
        EventKind::ToolCall {
            tool, arguments, ..
        } => (Some(tool.clone()), format!("{tool} {arguments}")),
        EventKind::ToolResult { tool, output, .. } => (Some(tool.clone()), output.clone()),
        _ => return None,
    };
    if text.trim().is_empty() || tool.as_deref().is_some_and(|t| HISTORY_TOOLS.contains(&t)) {
        return None;
    }
    Some(Searchable { tool, text })
}

/// The words of a query: its whitespace-separated parts that hold a letter or a
/// digit, at most [`MAX_WORDS`]. Quotes and operators in them are plain text to
/// the search (each store quotes them for its own query language).
pub(crate) fn words(query: &str) -> Vec<String> {
    query
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .take(MAX_WORDS)
        .map(str::to_owned)
        .collect()
}

/// Bytes of context an excerpt shows before its match, and in all.
const BEFORE: usize = 80;
const WIDTH: usize = 300;

/// An excerpt of `text` around the first place one of `words` occurs (ASCII
/// letters compared without case), with whitespace runs collapsed and `…` where
/// text was left out. A word the text holds only in pieces (`foo_bar` searched,
/// `foo bar` stored) is found by its first piece; failing that, the excerpt is
/// the start of the text.
pub(crate) fn excerpt(text: &str, words: &[String]) -> String {
    let at = locate(text, words).unwrap_or(0);
    let mut start = at.saturating_sub(BEFORE);
    let mut end = (start + WIDTH).min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let body = text[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let lead = if start > 0 { "…" } else { "" };
    let tail = if end < text.len() { "…" } else { "" };
    format!("{lead}{body}{tail}")
}

/// The byte offset of the earliest occurrence of any of `words` in `text`.
fn locate(text: &str, words: &[String]) -> Option<usize> {
    // ASCII lowering keeps every byte offset (and char boundary) where it was.
    let hay = text.to_ascii_lowercase();
    let find = |needle: &str| hay.find(&needle.to_ascii_lowercase());
    let whole = words.iter().filter_map(|w| find(w)).min();
    whole.or_else(|| {
        words
            .iter()
            .filter_map(|w| {
                w.split(|c: char| !c.is_alphanumeric())
                    .find(|p| !p.is_empty())
            })
            .filter_map(find)
            .min()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(kind: EventKind) -> Event {
        Event {
            seq: 1,
            ts: "t".into(),
            kind,
        }
    }

    #[test]
    fn messages_tool_calls_and_results_are_searched_but_not_the_history_tools() {
        let user = ev(EventKind::UserMessage {
            text: "hello".into(),
            delivery: Default::default(),
        });
        assert_eq!(searchable(&user).unwrap().text, "hello");
        let call = ev(EventKind::ToolCall {
            call_id: "c".into(),
            tool: "shell".into(),
            arguments: json!({"command": "ls"}),
            rule: None,
        });
        let s = searchable(&call).unwrap();
        assert_eq!(s.tool.as_deref(), Some("shell"));
        assert!(s.text.contains("\"command\":\"ls\""), "{}", s.text);
        let own = ev(EventKind::ToolResult {
            call_id: "c".into(),
            tool: "history_search".into(),
            output: "seq 4 · the needle".into(),
            is_error: false,
            images: vec![],
        });
        assert_eq!(searchable(&own), None);
        assert_eq!(searchable(&ev(EventKind::TurnStarted)), None);
    }

    #[test]
    fn words_keep_operators_and_quotes_as_text_and_drop_bare_punctuation() {
        assert_eq!(
            words("  \"needle\" AND -x* ( ) \" NEAR(a b) "),
            ["\"needle\"", "AND", "-x*", "NEAR(a", "b)"]
        );
        assert!(words("  \" * - ").is_empty());
        assert_eq!(words(&"w ".repeat(100)).len(), MAX_WORDS);
    }

    #[test]
    fn an_excerpt_shows_the_match_with_context_and_marks_what_was_cut() {
        let text = format!(
            "{}The NEEDLE is here\n\n  and more{}",
            "x".repeat(500),
            "y".repeat(500)
        );
        let e = excerpt(&text, &["needle".into()]);
        assert!(e.starts_with('…') && e.ends_with('…'), "{e}");
        assert!(e.contains("The NEEDLE is here and more"), "{e}");
        assert_eq!(excerpt("short text", &["zzz".into()]), "short text");
        // Found by its first piece when the stored text splits it otherwise.
        let e = excerpt(&format!("{}foo bar", "é".repeat(300)), &["foo_bar".into()]);
        assert!(e.ends_with("foo bar"), "{e}");
    }
}
