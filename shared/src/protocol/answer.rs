//! `session.answer` (issue 14): a person's answer to a tool server's question.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::InputAction;

/// `session.answer` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerParams {
    /// Name or id.
    pub session: String,
    /// The question; absent means the only question waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// `accept`, `decline` or `cancel`.
    pub action: InputAction,
    /// With `accept` in form mode: the field values, a JSON object. The daemon
    /// merges it over the schema's defaults and checks it against the schema;
    /// an answer that does not match is refused (`invalid_params`, naming the
    /// field) and nothing reaches the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
}

/// `session.answer` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerResult {
    /// The question answered.
    pub request_id: String,
    /// What was sent.
    pub action: InputAction,
    /// The values sent (defaults merged), for `accept` in form mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
}
