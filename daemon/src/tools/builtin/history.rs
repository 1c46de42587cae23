//! The builtin history tools: `history_search` finds events of the session's own
//! log by their words, `history_read` shows one event in full. They read the
//! whole log, so what a compaction cut from the model's view (a tool output
//! replaced by a stub naming its seq, an old exchange folded into a summary) can
//! be looked up again. They read through the call's [`SessionLog`] only: another
//! session's events are out of their reach.

use std::fmt::Write as _;

use tether_shared::{Event, EventKind};

use super::args::Args;
use super::error::ToolError;
use crate::store::search::words;
use crate::tools::types::{SessionLog, ToolContext};

/// Hits `history_search` returns unless asked for another number, and at most.
pub(super) const SEARCH_DEFAULT_LIMIT: usize = 10;
pub(super) const SEARCH_MAX_LIMIT: usize = 50;
/// Bytes of an event `history_read` shows unless asked for another length, and at most.
pub(super) const READ_DEFAULT_BYTES: usize = 30_000;
pub(super) const READ_MAX_BYTES: usize = 100_000;

/// Runs the history tool `name` with its already decoded arguments.
pub(super) async fn run_history_tool(
    name: &str,
    args: &Args<'_>,
    ctx: &ToolContext,
) -> Result<String, ToolError> {
    let log = ctx.log.as_ref().ok_or_else(|| ToolError::NoLog {
        tool: name.to_owned(),
    })?;
    let failed = |e: crate::store::StoreError| ToolError::Log {
        tool: name.to_owned(),
        reason: e.to_string(),
    };
    match name {
        "history_search" => {
            let query = args.required_str("query")?;
            if query.trim().is_empty() {
                return Err(args.invalid("`query` is empty: give the words to look for"));
            }
            let words = words(query);
            if words.is_empty() {
                return Err(
                    args.invalid("`query` has no words to look for (it needs a letter or a digit)")
                );
            }
            let limit = args
                .optional_count("limit")?
                .unwrap_or(SEARCH_DEFAULT_LIMIT)
                .min(SEARCH_MAX_LIMIT);
            search(log, query, words.len(), limit).await.map_err(failed)
        }
        "history_read" => {
            let seq = args.required_count("seq")? as u64;
            let offset = args.optional_integer("offset", 0)?.unwrap_or(0);
            let length = args
                .optional_count("length")?
                .unwrap_or(READ_DEFAULT_BYTES)
                .min(READ_MAX_BYTES);
            let Some(event) = log
                .store
                .event(&log.session_id, seq)
                .await
                .map_err(failed)?
            else {
                let last = log
                    .store
                    .events(&log.session_id, 0, u64::MAX, 1, true)
                    .await
                    .ok()
                    .and_then(|v| v.last().map(|e| e.seq));
                let range = last.map_or(String::new(), |l| format!(" (its events are 1 to {l})"));
                return Err(args.invalid(format!(
                    "there is no event {seq} in this session's log{range}; history_search \
                     finds the seq of what you look for"
                )));
            };
            read(&event, offset, length).map_err(|reason| args.invalid(reason))
        }
        other => Err(ToolError::InvalidArguments {
            tool: other.to_owned(),
            reason: "not a history tool".to_owned(),
        }),
    }
}

/// The hits for `query`: events with every word first; when none has them all
/// (and there are several), events with any, saying so.
async fn search(
    log: &SessionLog,
    query: &str,
    word_count: usize,
    limit: usize,
) -> Result<String, crate::store::StoreError> {
    let (store, id) = (&log.store, &log.session_id);
    let mut hits = store.search_events(id, query, true, limit).await?;
    let mut note = "";
    if hits.is_empty() && word_count > 1 {
        hits = store.search_events(id, query, false, limit).await?;
        note = " (no event holds every word; these hold some)";
    }
    if hits.is_empty() {
        return Ok(format!(
            "no event in this session's log matches {query:?}; try other or fewer words"
        ));
    }
    let n = hits.len();
    let plural = if n == 1 { "" } else { "s" };
    let mut out = format!("{n} event{plural} match {query:?}{note}, best first:\n");
    for h in &hits {
        let of = h
            .tool
            .as_ref()
            .map(|t| format!(" of {t}"))
            .unwrap_or_default();
        let _ = write!(
            out,
            "\nseq {} · {}{of} · {}\n  {}\n",
            h.seq, h.kind, h.ts, h.excerpt
        );
    }
    out.push_str("\nhistory_read {\"seq\": N} shows an event in full.");
    Ok(out)
}

/// Event `event` as `history_read` shows it: a header line, then its content
/// from byte `offset`, at most `length` bytes, with a note saying how to read on
/// when some was left out.
fn read(event: &Event, offset: usize, length: usize) -> Result<String, String> {
    let (what, body) = content(event);
    let header = format!("seq {} · {what} · {}", event.seq, event.ts);
    if offset == 0 && body.len() <= length {
        return Ok(format!("{header}\n{body}"));
    }
    if offset >= body.len() {
        return Err(format!(
            "`offset` {offset} is past the end of event {} ({} bytes)",
            event.seq,
            body.len()
        ));
    }
    let start = floor_boundary(&body, offset);
    let end = floor_boundary(&body, start.saturating_add(length).min(body.len()));
    // A length shorter than the first character still shows that character.
    let end = if end <= start {
        ceil_boundary(&body, start + 1)
    } else {
        end
    };
    let rest = if end < body.len() {
        format!(
            "; history_read {{\"seq\": {}, \"offset\": {end}}} shows the rest",
            event.seq
        )
    } else {
        "; that is the end".to_owned()
    };
    Ok(format!(
        "{header}\n{}\n[bytes {start}..{end} of {}{rest}]",
        &body[start..end],
        body.len()
    ))
}

/// What the event is (for the header), and its content in full.
fn content(event: &Event) -> (String, String) {
    let kind = event.kind.type_name();
    match &event.kind {
        EventKind::UserMessage { text, .. } => (kind.to_owned(), text.clone()),
        EventKind::AssistantMessage {
            text, tool_calls, ..
        } => {
            let mut body = text.clone();
            for c in tool_calls {
                let _ = write!(
                    body,
                    "\n[tool call {} {} {}]",
                    c.call_id, c.tool, c.arguments
                );
            }
            (kind.to_owned(), body)
        }
        EventKind::ToolCall {
            call_id,
            tool,
            arguments,
            ..
        } => (
            format!("{kind} of {tool} (call {call_id})"),
            arguments.to_string(),
        ),
        EventKind::ToolResult {
            call_id,
            tool,
            output,
            is_error,
            images,
        } => {
            let failed = if *is_error { ", failed" } else { "" };
            let mut body = output.clone();
            if !images.is_empty() {
                let _ = write!(body, "\n[{} image(s), not shown here]", images.len());
            }
            (format!("{kind} of {tool} (call {call_id}{failed})"), body)
        }
        _ => (
            kind.to_owned(),
            serde_json::to_string_pretty(event).unwrap_or_default(),
        ),
    }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i.min(s.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn result(output: &str) -> Event {
        Event {
            seq: 7,
            ts: "t7".into(),
            kind: EventKind::ToolResult {
                call_id: "c1".into(),
                tool: "shell".into(),
                output: output.into(),
                is_error: true,
                images: vec![],
            },
        }
    }

    #[test]
    fn a_short_event_is_shown_whole_with_its_header() {
        let out = read(&result("exit 1"), 0, 100).unwrap();
        assert_eq!(
            out,
            "seq 7 · tool_result of shell (call c1, failed) · t7\nexit 1"
        );
    }

    #[test]
    fn a_long_event_is_shown_in_parts_that_say_how_to_read_on() {
        let ev = result(&"abcdefghij".repeat(10));
        let first = read(&ev, 0, 30).unwrap();
        assert!(
            first.ends_with(
                "[bytes 0..30 of 100; history_read {\"seq\": 7, \"offset\": 30} shows the rest]"
            ),
            "{first}"
        );
        let last = read(&ev, 90, 30).unwrap();
        assert!(
            last.contains("\nabcdefghij\n[bytes 90..100 of 100; that is the end]"),
            "{last}"
        );
        assert!(
            read(&ev, 100, 30)
                .unwrap_err()
                .contains("past the end of event 7 (100 bytes)")
        );
    }

    #[test]
    fn parts_never_split_a_character() {
        let ev = result(&"é".repeat(10));
        let out = read(&ev, 1, 3).unwrap();
        assert!(out.contains("\né\n[bytes 0..2 of 20;"), "{out}");
        let out = read(&ev, 0, 1).unwrap();
        assert!(out.contains("\né\n[bytes 0..2 of 20;"), "{out}");
    }
}
