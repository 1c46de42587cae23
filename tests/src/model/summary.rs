//! The scripted model's summary policy: a request that a test's predicate takes for a
//! summary request is answered with a summary built from the request itself, so a
//! compaction test can check that facts survive without scripting the summary's place
//! in the reply queue.
//!
//! The summary keeps every line that starts with `REMEMBER` (after leading whitespace)
//! found anywhere in the request's messages: message text, text parts, tool results, and
//! inside tool-call arguments (strings that hold JSON are searched inside too). Each such
//! line appears once, in the order first seen, under a first line of its own; a summary
//! of a conversation that already held a summary therefore keeps its facts.

use serde_json::Value;

use super::http::RecordedRequest;

/// The first line of every scripted summary.
pub const SUMMARY_HEADING: &str = "Summary of the conversation so far (scripted).";

/// A predicate telling summary requests apart.
pub(super) type SummaryPredicate = dyn Fn(&RecordedRequest) -> bool + Send + Sync;

/// True when the last `user` message's text mentions a summary, in any case
/// ("Summarise", "summarize", "summary"): a default predicate for
/// [`ModelServer::summarise_when`](super::ModelServer::summarise_when).
pub fn asks_for_summary(request: &RecordedRequest) -> bool {
    request
        .last_user_text()
        .is_some_and(|text| text.to_lowercase().contains("summar"))
}

/// The summary of `request`: [`SUMMARY_HEADING`], then its `REMEMBER` lines.
pub fn summary_of(request: &RecordedRequest) -> String {
    let mut lines: Vec<String> = Vec::new();
    for message in request.messages() {
        collect(&message, &mut lines);
    }
    let mut summary = SUMMARY_HEADING.to_owned();
    for line in lines {
        summary.push('\n');
        summary.push_str(&line);
    }
    summary
}

fn collect(value: &Value, lines: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            for line in text.lines() {
                let line = line.trim();
                if line.starts_with("REMEMBER") && !lines.iter().any(|l| l == line) {
                    lines.push(line.to_owned());
                }
            }
            // Tool-call arguments are JSON inside a string: their newlines are escaped.
            let trimmed = text.trim_start();
            if (trimmed.starts_with('{') || trimmed.starts_with('['))
                && let Ok(inner) = serde_json::from_str::<Value>(text)
            {
                collect(&inner, lines);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, lines)),
        Value::Object(map) => map.values().for_each(|v| collect(v, lines)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(messages: Value) -> RecordedRequest {
        RecordedRequest {
            method: "POST".into(),
            path: "/v1/chat/completions".into(),
            headers: Vec::new(),
            body: json!({"model": "m", "messages": messages}),
        }
    }

    #[test]
    fn remember_lines_are_gathered_from_everywhere_once_in_order() {
        let req = request(json!([
            {"role": "system", "content": "You are an agent.\nREMEMBER the system fact"},
            {"role": "user", "content": "REMEMBER alpha\nand other text"},
            {"role": "assistant", "content": "", "tool_calls": [{
                "id": "c1", "type": "function",
                "function": {"name": "write", "arguments": "{\"text\":\"x\\n  REMEMBER in args\\n\"}"},
            }]},
            {"role": "tool", "tool_call_id": "c1", "content": "ok\nREMEMBER alpha"},
            {"role": "user", "content": [{"type": "text", "text": "REMEMBER beta"}]},
            {"role": "user", "content": "Summarise the conversation; not REMEMBER mid-line"},
        ]));
        assert_eq!(
            summary_of(&req),
            format!(
                "{SUMMARY_HEADING}\nREMEMBER the system fact\nREMEMBER alpha\n\
                 REMEMBER in args\nREMEMBER beta"
            )
        );
    }

    #[test]
    fn a_summary_of_a_summary_keeps_the_facts() {
        let first = summary_of(&request(json!([
            {"role": "user", "content": "REMEMBER alpha"},
        ])));
        let second = summary_of(&request(json!([
            {"role": "system", "content": first},
            {"role": "user", "content": "REMEMBER beta"},
        ])));
        assert!(second.contains("REMEMBER alpha") && second.contains("REMEMBER beta"));
        assert_eq!(second.matches(SUMMARY_HEADING).count(), 1);
    }

    #[test]
    fn the_default_predicate_reads_the_last_user_message() {
        let asks = request(json!([
            {"role": "user", "content": "hello"},
            {"role": "user", "content": "Please SUMMARISE the above."},
        ]));
        assert!(asks_for_summary(&asks));
        let parts = request(json!([
            {"role": "user", "content": [{"type": "text", "text": "write a summary"}]},
        ]));
        assert!(asks_for_summary(&parts));
        let earlier = request(json!([
            {"role": "user", "content": "summarise this"},
            {"role": "user", "content": "no, just go on"},
        ]));
        assert!(!asks_for_summary(&earlier));
        let system_only = request(json!([
            {"role": "system", "content": "summaries are kept"},
            {"role": "user", "content": "hi"},
        ]));
        assert!(!asks_for_summary(&system_only));
    }
}
