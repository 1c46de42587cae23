//! What a tool server asks of the session whose call it is serving (issue 14): a
//! question for a person (MCP elicitation) or a completion from the session's
//! model (MCP sampling). The MCP client sends a [`ServerAsk`] on the channel the
//! running call was given ([`ToolContext::asks`](super::ToolContext)); the
//! session answers on its oneshot. A dropped reply is read as `cancel` (a
//! question) or an error (sampling), so an ask that outlives its turn or its
//! daemon never leaves a server waiting.

use serde_json::Value;
use tether_shared::event::{InputAction, SamplingText};
use tokio::sync::oneshot;

/// One request from a server.
#[derive(Debug)]
pub struct ServerAsk {
    /// The server's name.
    pub server: String,
    /// What it asks.
    pub kind: AskKind,
    /// Where the answer goes.
    pub reply: oneshot::Sender<AskReply>,
}

/// What a server asks.
#[derive(Debug, Clone, PartialEq)]
pub enum AskKind {
    /// `elicitation/create`.
    Input {
        /// What the server says it needs.
        message: String,
        /// The requested schema (form mode); `{}` in URL mode.
        schema: Value,
        /// URL mode: the page to open.
        url: Option<String>,
    },
    /// `sampling/createMessage`.
    Sampling {
        /// The messages to complete.
        messages: Vec<SamplingText>,
        /// The server's system prompt.
        system_prompt: Option<String>,
        /// The most tokens it asked for.
        max_tokens: u32,
    },
}

/// The session's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum AskReply {
    /// To a question.
    Input {
        /// What the person did.
        action: InputAction,
        /// The values, with `accept` in form mode.
        content: Option<Value>,
    },
    /// To a sampling request: the completion, or the error the server gets.
    Sampling(Result<Sampled, String>),
}

/// A completion for a server.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampled {
    /// The model's text.
    pub text: String,
    /// The model that wrote it.
    pub model: String,
    /// Why it stopped, in MCP's words (`endTurn`, `maxTokens`).
    pub stop_reason: String,
}
