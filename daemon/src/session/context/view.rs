//! The context a session's model sees, as a projection of its event log: the
//! latest compaction (its summary and the user's messages it kept verbatim) in
//! place of the events it covers, then the events after it, with the tool outputs
//! it cut shown as stubs. Replaying the same events gives the same view, so a
//! restart or a fork sees exactly what the session saw.

use std::sync::Arc;

use tether_shared::{Event, EventKind};

use super::{apply, tokens};
use crate::model::{Message, Part, Role};

/// What one event shows the model.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The event's seq.
    pub seq: u64,
    /// What the model sees.
    pub message: Arc<Message>,
    /// Its estimated tokens.
    pub tokens: u64,
    /// For a tool result: its tool, and whether its output is cut to a stub.
    pub tool: Option<(String, bool)>,
}

impl Entry {
    /// A user message: a compaction may keep it verbatim.
    pub fn user_text(&self) -> Option<&str> {
        match (self.message.role, self.message.parts.as_slice()) {
            (Role::User, [Part::Text(t)]) => Some(t),
            _ => None,
        }
    }

    /// A compaction may start the recent part here: a tool result belongs with
    /// the assistant message that asked for it.
    pub fn starts_a_message(&self) -> bool {
        self.message.role != Role::Tool
    }
}

/// The latest compaction, as the model sees it.
#[derive(Debug, Clone, Default)]
pub struct Base {
    /// The summary of the events up to `through_seq`.
    pub summary: String,
    /// The last seq the summary stands for.
    pub through_seq: u64,
    /// Tool results up to here are stubs.
    pub tool_outputs_through: u64,
    /// The user's messages the compaction kept verbatim.
    pub user_messages: Vec<String>,
    /// Events before this seq were never summarised and are out of view (a long
    /// log loaded only as far back as the window needs); 0 when none are.
    pub omitted_before: u64,
}

impl Base {
    /// The message standing for the summarised part, if there is one.
    pub fn message(&self) -> Option<Message> {
        if self.summary.is_empty() && self.user_messages.is_empty() && self.omitted_before == 0 {
            return None;
        }
        let mut text = String::from("[Earlier conversation compacted. ");
        if self.through_seq > 0 {
            text.push_str(&format!(
                "Events 1 to {} of this session's log are summarised here",
                self.through_seq
            ));
        } else {
            text.push_str(&format!(
                "Events before {} of this session's log are not in view",
                self.omitted_before
            ));
        }
        text.push_str(
            "; the log keeps everything, and history_search and history_read recall any of it.]",
        );
        if !self.summary.is_empty() {
            text.push_str("\n\nSummary:\n");
            text.push_str(self.summary.trim());
        }
        if !self.user_messages.is_empty() {
            text.push_str("\n\nThe user's messages from that part, verbatim, oldest first:");
            for (i, m) in self.user_messages.iter().enumerate() {
                text.push_str(&format!("\n{}. {}", i + 1, m.trim()));
            }
        }
        Some(Message::text(Role::User, text))
    }
}

/// The stub shown in place of a cut tool output.
pub fn stub(tool: &str, seq: u64, bytes: usize) -> String {
    format!(
        "[output of {tool} cut from the context to save room ({bytes} bytes); \
         history_read {{\"seq\": {seq}}} shows it in full]"
    )
}

/// A session's context: what its model sees, kept up to date event by event.
#[derive(Debug, Clone, Default)]
pub struct Context {
    base: Base,
    base_message: Option<Arc<Message>>,
    base_tokens: u64,
    entries: Vec<Entry>,
    tokens: u64,
}

impl Context {
    /// The context of a log read from `events` (from the event after the latest
    /// compaction's `through_seq` on is enough: what follows it is kept verbatim). `omitted_before` > 0 says the events before that seq were not read.
    pub fn from_events<'a>(
        events: impl IntoIterator<Item = &'a Event>,
        omitted_before: u64,
    ) -> Self {
        let mut ctx = Context::default();
        if omitted_before > 0 {
            ctx.set_base(Base {
                omitted_before,
                ..Base::default()
            });
        }
        for ev in events {
            ctx.apply(ev);
        }
        ctx
    }

    /// Applies one event.
    pub fn apply(&mut self, ev: &Event) {
        if let EventKind::ContextCompacted {
            summary,
            through_seq,
            tool_outputs_through,
            user_messages,
            ..
        } = &ev.kind
        {
            let omitted_before = if *through_seq > 0 {
                0
            } else {
                self.base.omitted_before
            };
            self.set_base(Base {
                summary: summary.clone(),
                through_seq: *through_seq,
                tool_outputs_through: *tool_outputs_through,
                user_messages: user_messages.clone(),
                omitted_before,
            });
            let through = *through_seq;
            self.entries.retain(|e| e.seq > through);
            self.drop_leading_tool_results();
            let cut = *tool_outputs_through;
            for e in self.entries.iter_mut().filter(|e| e.seq <= cut) {
                cut_output(e);
            }
            self.tokens = self.entries.iter().map(|e| e.tokens).sum();
            return;
        }
        let mut one = Vec::with_capacity(1);
        apply(&mut one, &ev.kind);
        let Some(message) = one.pop() else { return };
        let tool = match &ev.kind {
            EventKind::ToolResult { tool, .. } => Some((tool.clone(), false)),
            _ => None,
        };
        if self.entries.is_empty() && tool.is_some() && self.base.omitted_before > 0 {
            // The call it answers is out of view.
            return;
        }
        let tokens = tokens::message(&message);
        self.tokens += tokens;
        self.entries.push(Entry {
            seq: ev.seq,
            message,
            tokens,
            tool,
        });
    }

    fn set_base(&mut self, base: Base) {
        self.base_message = base.message().map(Arc::new);
        self.base_tokens = self.base_message.as_deref().map_or(0, tokens::message);
        self.base = base;
    }

    fn drop_leading_tool_results(&mut self) {
        let n = self
            .entries
            .iter()
            .take_while(|e| !e.starts_a_message())
            .count();
        self.entries.drain(..n);
    }

    /// The latest compaction.
    pub fn base(&self) -> &Base {
        &self.base
    }

    /// The message standing for the compacted part.
    pub fn base_message(&self) -> Option<&Arc<Message>> {
        self.base_message.as_ref()
    }

    /// The events in view after the compacted part.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The conversation as the model sees it (without the system prompt).
    pub fn messages(&self) -> Vec<Arc<Message>> {
        let mut out = Vec::with_capacity(self.entries.len() + 1);
        out.extend(self.base_message.iter().cloned());
        out.extend(self.entries.iter().map(|e| e.message.clone()));
        out
    }

    /// Estimated tokens of the conversation (without the system prompt and tools).
    pub fn tokens(&self) -> u64 {
        self.base_tokens + self.tokens
    }
}

/// Outputs this short stay as they are: the stub would not be shorter.
const MIN_CUT_BYTES: usize = 400;

/// Shows a tool result's output as a stub (its images go too), unless it is short.
pub fn cut_output(e: &mut Entry) {
    let Some((tool, cut)) = e.tool.as_mut() else {
        return;
    };
    let short = e.message.parts.iter().all(|p| match p {
        Part::ToolResult { output, .. } => output.len() <= MIN_CUT_BYTES,
        Part::Image(_) | Part::Audio(_) => false,
        _ => true,
    });
    if *cut || short {
        return;
    }
    let parts = e
        .message
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolResult {
                call_id,
                output,
                is_error,
            } => Some(Part::ToolResult {
                call_id: call_id.clone(),
                output: stub(tool, e.seq, output.len()),
                is_error: *is_error,
            }),
            Part::Image(_) | Part::Audio(_) => None,
            other => Some(other.clone()),
        })
        .collect();
    *cut = true;
    e.message = Arc::new(Message {
        role: e.message.role,
        parts,
    });
    e.tokens = tokens::message(&e.message);
}
