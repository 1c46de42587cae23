//! Session events: the durable, per-session, strictly ordered log, and the live
//! deltas that stream to attached clients but are never stored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The state of a session, as clients and `ls --json` see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// No turn is running and nothing waits.
    Idle,
    /// A turn is in progress.
    Running,
    /// A tool call waits for a person to approve or deny it.
    AwaitingApproval,
    /// The last turn failed after retries; the next message tries again.
    Failed,
    /// The running turn reached the session's budget (issue 10) and makes no
    /// further model call until the budget is raised (`tether budget`); then the
    /// same turn continues where it stopped.
    BudgetExhausted,
    /// A state this client does not know (sent by a newer daemon).
    #[serde(other)]
    Unknown,
}

impl SessionState {
    /// The word used on the wire and in CLI output.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Idle => "idle",
            SessionState::Running => "running",
            SessionState::AwaitingApproval => "awaiting_approval",
            SessionState::Failed => "failed",
            SessionState::BudgetExhausted => "budget_exhausted",
            SessionState::Unknown => "unknown",
        }
    }

    /// True for the states in which a session needs a person (issue 11): a call
    /// waits for approval, the last turn failed, or the budget is exhausted.
    /// `tether wait --any` stops at them and the TUI counts them.
    pub fn needs_person(self) -> bool {
        matches!(
            self,
            SessionState::AwaitingApproval | SessionState::Failed | SessionState::BudgetExhausted
        )
    }

    /// True for the states `tether wait` stops at.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            SessionState::Idle
                | SessionState::AwaitingApproval
                | SessionState::Failed
                | SessionState::BudgetExhausted
        )
    }
}

impl std::fmt::Display for SessionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a message sent while a turn runs is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Start a turn of its own when the current one ends, in order.
    #[default]
    Queue,
    /// Join the running turn at its next step boundary.
    Steer,
    /// Cancel the running turn and start a new one with this message.
    Interrupt,
    /// Delivered by a schedule or a file trigger (issue 15), not typed by a
    /// person: in a `user_message` event and a queued input. It waits like
    /// `queue` (or joins the turn like `steer`, as the schedule says).
    Schedule,
    /// A delivery this client does not know (sent by a newer daemon).
    #[serde(other)]
    Unknown,
}

impl Delivery {
    /// The word used on the wire and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Queue => "queue",
            Delivery::Steer => "steer",
            Delivery::Interrupt => "interrupt",
            Delivery::Schedule => "schedule",
            Delivery::Unknown => "unknown",
        }
    }
}

/// A person's decision on a tool call that asked for approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The call may run.
    Approved,
    /// The call must not run; the model is told why.
    Denied,
    /// A decision this client does not know (sent by a newer daemon).
    #[serde(other)]
    Unknown,
}

/// Token usage reported by the model for one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the request, all of them: those read from the provider's prompt
    /// cache and those written to it included.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Tokens in the answer (reasoning included).
    #[serde(default)]
    pub completion_tokens: u64,
    /// Of `prompt_tokens`, those read from the provider's prompt cache (issue 10).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cached_tokens: u64,
    /// Of `prompt_tokens`, those written to the provider's prompt cache (issue 10).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_tokens: u64,
    /// Of `completion_tokens`, the model's reasoning (issue 10).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reasoning_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, u: Usage) {
        self.prompt_tokens += u.prompt_tokens;
        self.completion_tokens += u.completion_tokens;
        self.cached_tokens += u.cached_tokens;
        self.cache_write_tokens += u.cache_write_tokens;
        self.reasoning_tokens += u.reasoning_tokens;
    }
}

/// A session's budget (issue 10): a model call is made only while every limit
/// set is above what the session has spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Tokens: input (cached included) plus output, as the provider reports them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// US dollars, from the price table (`[models."p/m"]` or the built-in estimates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
}

impl Budget {
    /// True when no limit is set.
    pub fn is_none(&self) -> bool {
        self.max_tokens.is_none() && self.max_cost_usd.is_none()
    }

    /// True when `spent` has reached a limit.
    pub fn reached(&self, spent: &Spent) -> bool {
        self.max_tokens.is_some_and(|m| spent.tokens >= m)
            || self.max_cost_usd.is_some_and(|m| spent.cost_usd >= m)
    }
}

/// What a session has spent against its budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spent {
    /// Input (cached included) plus output tokens.
    pub tokens: u64,
    /// US dollars, by the price table.
    pub cost_usd: f64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One tool call requested by the model, as stored inside `assistant_message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallSpec {
    /// The model's id for this call.
    pub call_id: String,
    /// The tool name the model used.
    pub tool: String,
    /// The arguments, parsed when they are valid JSON, else the raw string.
    pub arguments: Value,
}

/// Something a model API gave back that only that API understands and that must go back
/// to it unchanged in later requests: an OpenAI Responses `reasoning` item with its
/// `encrypted_content`, an Anthropic `thinking` block with its signature, a chat
/// completions `reasoning_content`. Kept in the log so no request depends on the
/// provider keeping state; a provider of another kind leaves it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderItemRecord {
    /// The provider kind that understands it, as `kind` is written in config
    /// (`openai-responses`, `anthropic`, `openai`).
    pub kind: String,
    /// The item, as that provider sent it.
    pub item: Value,
}

/// An image a tool returned (an MCP `image` content block), kept so the model can see
/// it: OpenAI-style endpoints get it as an `image_url` data URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolImage {
    /// The MIME type, e.g. `image/png`.
    pub mime_type: String,
    /// The image bytes, base64 (standard alphabet, as MCP sends them).
    pub data: String,
}

/// One durable event in a session's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Per-session sequence number, strictly increasing, starting at 1.
    pub seq: u64,
    /// When the event was stored, RFC 3339 UTC.
    pub ts: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What an event records. Serialised with its name under `"type"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The session was created.
    SessionCreated {
        /// The session's name.
        name: String,
        /// `provider/model`.
        model: String,
        /// The working directory.
        cwd: String,
        /// The system prompt, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instructions: Option<String>,
    },
    /// A user message, recorded when the agent takes it (not when it is queued).
    UserMessage {
        /// The text.
        text: String,
        /// How it was sent.
        #[serde(default)]
        delivery: Delivery,
    },
    /// A complete assistant message (text and the tool calls it asked for).
    AssistantMessage {
        /// The text; partial if the turn was interrupted while it streamed.
        text: String,
        /// Tool calls requested in this message.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCallSpec>,
        /// Opaque items of the provider's API (reasoning, thinking), in the order it
        /// sent them; replayed before the text and tool calls in later requests to a
        /// provider of the same kind.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        provider_items: Vec<ProviderItemRecord>,
        /// Token usage of the model call that produced it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
        /// True when the stream was cut short by an interrupt.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        partial: bool,
        /// Why the model stopped, as the endpoint said (`stop`, `tool_calls`, `length`
        /// when the answer was cut at the token limit, ...); absent for a partial message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        finish_reason: Option<String>,
    },
    /// The model asked for a tool call.
    ToolCall {
        /// The model's id for the call.
        call_id: String,
        /// The tool's name as the model sees it.
        tool: String,
        /// The arguments.
        arguments: Value,
        /// The "always allow" rule (its id) that let the call run without asking
        /// (issue 11); absent when no rule was needed or asked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<u64>,
    },
    /// A tool call waits for a person.
    ApprovalRequested {
        /// The call waiting.
        call_id: String,
        /// Its tool.
        tool: String,
        /// What the call would change, for the person deciding: a unified diff
        /// against the file as it is when the approval is asked, for the builtin
        /// `write_file` and `edit_file`. Absent for other tools (and from older
        /// daemons); a client then shows the arguments.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        diff: Option<String>,
    },
    /// A person decided on a tool call.
    ApprovalDecided {
        /// The call decided.
        call_id: String,
        /// Approved or denied.
        decision: Decision,
        /// Why, if given.
        #[serde(default)]
        reason: Option<String>,
        /// Set when no person decided this call: the "always allow" rule (its id),
        /// added while it waited, that approved it (issue 11).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<u64>,
    },
    /// A person added an "always allow" rule while approving a call (issue 11).
    /// Followed by the decisions it made.
    ApprovalRuleAdded {
        /// The rule, as stored.
        rule: crate::rules::ApprovalRule,
        /// The call whose approval added it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
    },
    /// An "always allow" rule that applied to this session was removed (issue 11);
    /// the calls after this ask again.
    ApprovalRuleRemoved {
        /// The rule removed.
        rule: crate::rules::ApprovalRule,
    },
    /// A tool call finished (or failed, or was denied or interrupted).
    ToolResult {
        /// The call this answers.
        call_id: String,
        /// Its tool.
        tool: String,
        /// What the model is told.
        output: String,
        /// True when the call failed.
        is_error: bool,
        /// Images the tool returned (capped in size), also shown to the model; `output`
        /// names each one with a short placeholder.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        images: Vec<ToolImage>,
    },
    /// A turn began.
    TurnStarted,
    /// A turn ended with an answer.
    TurnCompleted,
    /// A turn was cancelled.
    TurnInterrupted {
        /// Why.
        reason: String,
    },
    /// A turn failed after retries.
    TurnFailed {
        /// The error shown to the user.
        error: String,
    },
    /// An interrupted turn continued after a daemon restart.
    TurnResumed {
        /// How many times this turn has resumed, this one included.
        #[serde(default)]
        attempt: u32,
    },
    /// The set of tools the session sees changed.
    ToolsChanged {
        /// Tools added.
        #[serde(default)]
        added: Vec<String>,
        /// Tools removed.
        #[serde(default)]
        removed: Vec<String>,
        /// Config errors that kept a change from applying.
        #[serde(default)]
        errors: Vec<String>,
        /// Config files (paths) whose error this session recorded and that
        /// parse again. Added in issue 7; absent when empty.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fixed: Vec<String>,
    },
    /// The running turn reached the session's budget before a model call
    /// (issue 10): no further call is made until the budget is raised. Followed by
    /// the state `budget_exhausted`.
    BudgetExhausted {
        /// What the session had spent when it stopped.
        spent: Spent,
        /// The budget in force.
        limit: Budget,
    },
    /// The session's state changed.
    State {
        /// The new state.
        state: SessionState,
    },
    /// An error worth showing that did not end the turn (a retry, a failed call).
    Error {
        /// What went wrong.
        message: String,
    },
    /// The model's view of the session was compacted (issue 9). Nothing is deleted:
    /// the log keeps every event; the context the model sees is rebuilt from the log
    /// with this event replayed, so a restart or a fork sees the same context.
    ContextCompacted {
        /// What the events up to `through_seq` said, as the session's model wrote
        /// it (it includes the summary of any earlier compaction). Empty when only
        /// old tool outputs were cut.
        #[serde(default)]
        summary: String,
        /// The model sees `summary` (and `user_messages`) in place of every event
        /// with `seq <= through_seq`; 0 when nothing was summarised.
        through_seq: u64,
        /// Tool results with `seq <= tool_outputs_through` after `through_seq` are
        /// shown to the model as a stub naming the seq to read with `history_read`.
        #[serde(default)]
        tool_outputs_through: u64,
        /// The user's messages of the summarised part, kept verbatim as long as
        /// they fit, oldest first.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        user_messages: Vec<String>,
        /// Estimated tokens of the request before compaction.
        tokens_before: u64,
        /// Estimated tokens of the request after it.
        tokens_after: u64,
        /// Why it ran.
        reason: CompactReason,
        /// What the summary requests used (issue 10), counted in the session's
        /// usage and cost like a step's; absent when nothing was summarised.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
    },
    /// The project's instructions (`AGENTS.md`, or `CLAUDE.md` when there is no
    /// `AGENTS.md`) in the session's directory changed; the next model call sees
    /// the new text.
    InstructionsChanged {
        /// The file that changed.
        path: String,
        /// True when the file is gone (the system prompt no longer includes it).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        removed: bool,
    },
    /// This session was forked from another (`tether fork`): the events before
    /// this one (from seq 2) are copies of `from`'s, with their seqs, up to `at`.
    /// Written once, right after the copied events; not part of the model's context.
    SessionForked {
        /// The name of the session forked, when it was forked.
        from: String,
        /// Its id.
        from_id: String,
        /// The last seq of `from` that the fork kept.
        at: u64,
    },
    /// A tool server asked the user a question (MCP `elicitation/create`, issue 14):
    /// the session waits in `awaiting_approval` until `session.answer` answers it.
    /// The tool call that made the server ask (`call_id`) waits with it.
    InputRequested {
        /// The question's id in this session (`tether answer NAME REQUEST_ID`).
        request_id: String,
        /// The tool server asking.
        server: String,
        /// What the server says it needs, for the person.
        message: String,
        /// The JSON Schema (a flat object of primitive fields) an accepted answer
        /// must match (form mode); `{}` in URL mode.
        schema: Value,
        /// URL mode: the page the person should open; they answer `accept` once done
        /// there (the values never pass through tether).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        /// The tool call during which the server asked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
    },
    /// A question was answered, and the answer sent back to the server.
    InputAnswered {
        /// The question answered.
        request_id: String,
        /// `accept`, `decline` or `cancel`.
        action: InputAction,
        /// The values sent (accept in form mode): the person's, merged over the
        /// schema's defaults.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<Value>,
        /// Set when no person answered: why tether answered (a restart, an interrupt).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A tool server asked the session's model for a completion (MCP
    /// `sampling/createMessage`, issue 14). Unless the approval policy decides
    /// (`sampling:SERVER`), the session waits in `awaiting_approval` for
    /// `session.approve`/`session.deny` with `call_id` = `request_id`.
    SamplingRequested {
        /// The request's id in this session.
        request_id: String,
        /// The tool server asking.
        server: String,
        /// The messages the server wants completed, in order.
        messages: Vec<SamplingText>,
        /// The server's system prompt, if it gave one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system_prompt: Option<String>,
        /// The most tokens the server asked for.
        max_tokens: u32,
        /// The tool call during which the server asked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
    },
    /// A sampling request was approved or denied, by a person or by the policy.
    SamplingDecided {
        /// The request decided.
        request_id: String,
        /// Approved or denied.
        decision: Decision,
        /// Why, if given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// True when the `[approvals]` policy decided, not a person.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        by_policy: bool,
    },
    /// What went back to the server for a sampling request: the model's text, or
    /// an error (denied, budget, model failure, restart).
    SamplingAnswered {
        /// The request answered.
        request_id: String,
        /// The model's reply.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// The model that wrote it (`provider/model`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        /// The error the server got instead.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// What the completion used, counted in the session's usage and cost.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
    },
    /// An event this client does not know (written by a newer daemon).
    #[serde(other)]
    Unknown,
}

/// How a question from a tool server was answered (MCP elicitation actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputAction {
    /// The person answered (form: with values; URL: they finished on the page).
    Accept,
    /// The person said no.
    Decline,
    /// Dismissed without a choice (also what a restart or an interrupt sends).
    Cancel,
    /// An action this client does not know.
    #[serde(other)]
    Unknown,
}

impl InputAction {
    /// The word on the wire and in the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            InputAction::Accept => "accept",
            InputAction::Decline => "decline",
            InputAction::Cancel => "cancel",
            InputAction::Unknown => "unknown",
        }
    }
}

/// One message of a sampling request, as a person reviewing it reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamplingText {
    /// `user` or `assistant`.
    pub role: String,
    /// Its text; images and audio as a placeholder (`[image: image/png]`).
    pub text: String,
}

/// Why a compaction ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CompactReason {
    /// The next request would pass `[context] compact_at` of the window.
    #[default]
    Auto,
    /// `tether compact`.
    Manual,
    /// The endpoint said the request was over its context window.
    Overflow,
    /// A reason this client does not know.
    #[serde(other)]
    Unknown,
}

impl CompactReason {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            CompactReason::Auto => "auto",
            CompactReason::Manual => "manual",
            CompactReason::Overflow => "overflow",
            CompactReason::Unknown => "unknown",
        }
    }
}

/// The `finish_reason` of an answer cut at the model's token limit.
pub const FINISH_LENGTH: &str = "length";

impl EventKind {
    /// The `type` name of this event.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::SessionCreated { .. } => "session_created",
            EventKind::UserMessage { .. } => "user_message",
            EventKind::AssistantMessage { .. } => "assistant_message",
            EventKind::ToolCall { .. } => "tool_call",
            EventKind::ApprovalRequested { .. } => "approval_requested",
            EventKind::ApprovalDecided { .. } => "approval_decided",
            EventKind::ApprovalRuleAdded { .. } => "approval_rule_added",
            EventKind::ApprovalRuleRemoved { .. } => "approval_rule_removed",
            EventKind::ToolResult { .. } => "tool_result",
            EventKind::TurnStarted => "turn_started",
            EventKind::TurnCompleted => "turn_completed",
            EventKind::TurnInterrupted { .. } => "turn_interrupted",
            EventKind::TurnFailed { .. } => "turn_failed",
            EventKind::TurnResumed { .. } => "turn_resumed",
            EventKind::ToolsChanged { .. } => "tools_changed",
            EventKind::BudgetExhausted { .. } => "budget_exhausted",
            EventKind::State { .. } => "state",
            EventKind::Error { .. } => "error",
            EventKind::ContextCompacted { .. } => "context_compacted",
            EventKind::InstructionsChanged { .. } => "instructions_changed",
            EventKind::SessionForked { .. } => "session_forked",
            EventKind::InputRequested { .. } => "input_requested",
            EventKind::InputAnswered { .. } => "input_answered",
            EventKind::SamplingRequested { .. } => "sampling_requested",
            EventKind::SamplingDecided { .. } => "sampling_decided",
            EventKind::SamplingAnswered { .. } => "sampling_answered",
            EventKind::Unknown => "unknown",
        }
    }
}

/// Something live that an attached client sees: a stored event, or a delta that
/// is shown while it streams and then superseded by the stored event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Live {
    /// A durable event.
    Event {
        /// The event.
        event: Event,
    },
    /// Text streamed by the model. Appends to the partial assistant message.
    AssistantDelta {
        /// The new text.
        text: String,
    },
    /// The partial assistant message so far is void (the model call is retried).
    AssistantReset,
    /// A chunk of a running tool's output.
    ToolOutput {
        /// The call producing it.
        call_id: String,
        /// The chunk (lossy UTF-8).
        chunk: String,
    },
    /// The inputs waiting for the agent changed (issue 11): all of them now,
    /// oldest first; empty when none waits.
    Queued {
        /// The queued inputs.
        inputs: Vec<QueuedInput>,
    },
    /// Something this client does not know.
    #[serde(other)]
    Unknown,
}

/// An input waiting for the agent to take it (issue 11): acknowledged by
/// `session.send`, not yet a `user_message` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedInput {
    /// The id `session.send` returned as `input_id`.
    pub input_id: i64,
    /// The message.
    pub text: String,
    /// How it was sent: `queue` or `steer` (an `interrupt` is taken at once).
    pub delivery: Delivery,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_round_trips_with_flat_type() {
        let ev = Event {
            seq: 7,
            ts: "2026-01-01T00:00:00Z".into(),
            kind: EventKind::ToolResult {
                call_id: "c1".into(),
                tool: "shell".into(),
                output: "ok".into(),
                is_error: false,
                images: Vec::new(),
            },
        };
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(json["type"], "tool_result");
        assert_eq!(json["seq"], 7);
        assert_eq!(json["call_id"], "c1");
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, ev);
    }

    #[test]
    fn unknown_event_type_is_tolerated() {
        let ev: Event =
            serde_json::from_str(r#"{"seq":1,"ts":"x","type":"from_the_future","a":1}"#).unwrap();
        assert_eq!(ev.kind, EventKind::Unknown);
        let st: SessionState = serde_json::from_str(r#""sleeping""#).unwrap();
        assert_eq!(st, SessionState::Unknown);
    }

    #[test]
    fn unit_events_serialise_with_type_only() {
        let ev = Event {
            seq: 2,
            ts: "t".into(),
            kind: EventKind::TurnStarted,
        };
        assert_eq!(
            serde_json::to_string(&ev).unwrap(),
            r#"{"seq":2,"ts":"t","type":"turn_started"}"#
        );
    }
}
