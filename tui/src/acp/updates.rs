//! A session's events and live deltas as ACP `session/update`s: pure, with the
//! little state the mapping needs (the calls seen, the text streamed so far in
//! the current model call, each running call's output). The same mapping serves
//! a live feed and the replay of a stored log (`session/load`).

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Value, json};
use tether_shared::event::{Decision, EventKind, ProviderItemRecord};

use super::tools;
use super::wire::{SessionUpdate, ToolCall, ToolCallContent, ToolCallStatus, ToolCallUpdate};

/// How much of a running call's output an update carries (its tail).
const OUTPUT_TAIL: usize = 64 * 1024;

/// What is known of one tool call.
#[derive(Debug, Clone)]
pub struct CallInfo {
    /// Its tool.
    pub tool: String,
    /// Its arguments.
    pub arguments: Value,
    /// `write_file`'s file as it was while the call waited for approval.
    pub old_text: Option<String>,
    /// Its result came.
    pub done: bool,
}

/// Turns events into updates.
#[derive(Debug)]
pub struct Mapper {
    cwd: PathBuf,
    calls: HashMap<String, CallInfo>,
    /// Text streamed in the current model call, superseded by its message.
    streamed: String,
    /// Output of running calls so far.
    output: HashMap<String, String>,
}

/// The reasoning a model showed, from the provider items tether keeps: a chat
/// completions `reasoning_content` (or `reasoning`), an Anthropic `thinking`
/// block, an OpenAI Responses `reasoning` item's summary.
pub fn reasoning(items: &[ProviderItemRecord]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for it in items {
        let item = &it.item;
        let text = match it.kind.as_str() {
            "openai" => item
                .get("reasoning_content")
                .or_else(|| item.get("reasoning"))
                .and_then(Value::as_str)
                .map(str::to_string),
            "anthropic" if item["type"] == "thinking" => {
                item["thinking"].as_str().map(str::to_string)
            }
            "openai-responses" if item["type"] == "reasoning" => Some(
                item["summary"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n\n"),
            ),
            _ => None,
        };
        if let Some(t) = text.filter(|t| !t.trim().is_empty()) {
            parts.push(t);
        }
    }
    parts.join("\n\n")
}

impl Mapper {
    /// A mapper for a session working in `cwd`.
    pub fn new(cwd: impl Into<PathBuf>) -> Self {
        Mapper {
            cwd: cwd.into(),
            calls: HashMap::new(),
            streamed: String::new(),
            output: HashMap::new(),
        }
    }

    /// A call seen so far.
    pub fn call(&self, call_id: &str) -> Option<&CallInfo> {
        self.calls.get(call_id)
    }

    /// The session's directory.
    pub fn cwd(&self) -> &std::path::Path {
        &self.cwd
    }

    /// Text the model streams.
    pub fn delta(&mut self, text: &str) -> Vec<SessionUpdate> {
        self.streamed.push_str(text);
        vec![SessionUpdate::agent(text)]
    }

    /// What an attach found streamed so far in the current model call.
    pub fn partial(&mut self, text: &str) -> Vec<SessionUpdate> {
        if text.is_empty() {
            return Vec::new();
        }
        self.delta(text)
    }

    /// The model call is retried: what streamed is void. ACP cannot take text
    /// back, so the retry's text follows after a blank line.
    pub fn reset(&mut self) -> Vec<SessionUpdate> {
        if std::mem::take(&mut self.streamed).is_empty() {
            return Vec::new();
        }
        vec![SessionUpdate::agent("\n\n")]
    }

    /// A chunk of a running call's output: the call is in progress, showing the
    /// output so far (its last 64 KiB).
    pub fn tool_output(&mut self, call_id: &str, chunk: &str) -> Vec<SessionUpdate> {
        let out = self.output.entry(call_id.to_string()).or_default();
        out.push_str(chunk);
        if out.len() > OUTPUT_TAIL {
            let mut from = out.len() - OUTPUT_TAIL;
            while !out.is_char_boundary(from) {
                from += 1;
            }
            out.drain(..from);
        }
        vec![SessionUpdate::ToolCallUpdate(ToolCallUpdate {
            tool_call_id: call_id.to_string(),
            status: Some(ToolCallStatus::InProgress),
            content: Some(vec![ToolCallContent::text(out.clone())]),
            ..Default::default()
        })]
    }

    /// `write_file`'s file before the call, read while the call waits for
    /// approval (and so has not run): its diff then has the old text.
    pub fn remember_old_text(&mut self, call_id: &str) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        if call.tool != "write_file" {
            return;
        }
        if let Some(p) = call.arguments.get("path").and_then(Value::as_str) {
            let path = tools::absolute(&self.cwd, p);
            // A file over 1 MiB or not UTF-8 shows as new: its diff would be
            // unreadable anyway.
            call.old_text = std::fs::metadata(&path)
                .ok()
                .filter(|m| m.len() <= 1 << 20)
                .and_then(|_| std::fs::read_to_string(&path).ok());
        }
    }

    /// The updates one stored event makes. `replay`: the event is from the log
    /// (`session/load`), so a message's text has not streamed and comes whole.
    pub fn event(&mut self, kind: &EventKind, replay: bool) -> Vec<SessionUpdate> {
        match kind {
            EventKind::UserMessage { text, .. } => vec![SessionUpdate::user(text.clone())],
            EventKind::AssistantMessage {
                text,
                provider_items,
                ..
            } => {
                let streamed = std::mem::take(&mut self.streamed);
                let thought = reasoning(provider_items);
                let mut out = Vec::new();
                if replay && !thought.is_empty() {
                    out.push(SessionUpdate::thought(thought.clone()));
                }
                // What did not stream: all of it, or the end a delta missed.
                let rest = if streamed.is_empty() {
                    Some(text.as_str())
                } else {
                    text.strip_prefix(streamed.as_str())
                };
                if let Some(rest) = rest.filter(|r| !r.is_empty()) {
                    out.push(SessionUpdate::agent(rest));
                }
                if !replay && !thought.is_empty() {
                    out.push(SessionUpdate::thought(thought));
                }
                out
            }
            EventKind::ToolCall {
                call_id,
                tool,
                arguments,
                rule,
            } => {
                self.calls.insert(
                    call_id.clone(),
                    CallInfo {
                        tool: tool.clone(),
                        arguments: arguments.clone(),
                        old_text: None,
                        done: false,
                    },
                );
                vec![SessionUpdate::ToolCall(ToolCall {
                    tool_call_id: call_id.clone(),
                    title: tools::title(tool, arguments),
                    kind: tools::kind(tool),
                    // A rule lets it run at once; otherwise it may wait for approval.
                    status: if rule.is_some() {
                        ToolCallStatus::InProgress
                    } else {
                        ToolCallStatus::Pending
                    },
                    content: tools::diff(tool, arguments, &self.cwd, None)
                        .into_iter()
                        .collect(),
                    locations: tools::locations(tool, arguments, &self.cwd),
                    raw_input: arguments.clone(),
                })]
            }
            EventKind::ApprovalDecided {
                call_id, decision, ..
            } => {
                let status = match decision {
                    Decision::Approved => ToolCallStatus::InProgress,
                    Decision::Denied => ToolCallStatus::Failed,
                    Decision::Unknown => return Vec::new(),
                };
                vec![SessionUpdate::ToolCallUpdate(ToolCallUpdate {
                    tool_call_id: call_id.clone(),
                    status: Some(status),
                    ..Default::default()
                })]
            }
            EventKind::ToolResult {
                call_id,
                output,
                is_error,
                ..
            } => {
                self.output.remove(call_id);
                let mut content = Vec::new();
                if let Some(call) = self.calls.get_mut(call_id) {
                    call.done = true;
                    if !is_error
                        && let Some(d) = tools::diff(
                            &call.tool,
                            &call.arguments,
                            &self.cwd,
                            call.old_text.as_deref(),
                        )
                    {
                        content.push(d);
                    }
                }
                if !output.is_empty() {
                    content.push(ToolCallContent::text(output.clone()));
                }
                vec![SessionUpdate::ToolCallUpdate(ToolCallUpdate {
                    tool_call_id: call_id.clone(),
                    status: Some(if *is_error {
                        ToolCallStatus::Failed
                    } else {
                        ToolCallStatus::Completed
                    }),
                    content: Some(content),
                    raw_output: Some(json!({ "output": output, "is_error": is_error })),
                    ..Default::default()
                })]
            }
            _ => Vec::new(),
        }
    }

    /// A line the client shows for what ended a turn that no prompt of this
    /// client is waiting on (a replayed turn, another client's): the prompt's
    /// own answer says it otherwise.
    pub fn turn_note(kind: &EventKind) -> Option<SessionUpdate> {
        let text = match kind {
            EventKind::TurnFailed { error } => format!("\n\n[the turn failed: {error}]"),
            EventKind::TurnInterrupted { reason } => format!("\n\n[{reason}]"),
            EventKind::BudgetExhausted { .. } => {
                "\n\n[the session's budget is exhausted: `tether budget` raises it]".into()
            }
            _ => return None,
        };
        Some(SessionUpdate::agent(text))
    }
}

#[cfg(test)]
mod tests;
