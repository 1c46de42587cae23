//! The Agent Client Protocol's messages that `tether acp` reads and writes
//! (protocol version 1, the subset it uses), as serde types. Field names are the
//! schema's (`camelCase`); unknown fields are ignored and unknown enum values
//! read as an `Unknown` variant, as the schema asks of both sides.
//!
//! Written here rather than taken from the `agent-client-protocol` crate: that
//! crate is a whole JSON-RPC runtime of its own (connection actors, its own
//! dispatch), and it turns on serde_json's `preserve_order` for the whole
//! workspace, which would change the key order of every JSON tether prints.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The ACP protocol version `tether acp` speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// ACP's JSON-RPC error codes that `tether acp` answers with.
pub mod code {
    /// The params do not match the method.
    pub const INVALID_PARAMS: i64 = -32602;
    /// No such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Something failed: the daemon's error, or the connection to it.
    pub const INTERNAL: i64 = -32603;
    /// No such session (ACP's "resource not found").
    pub const NOT_FOUND: i64 = -32002;
}

// ---- Requests from the client --------------------------------------------------

/// `session/new` params.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSessionParams {
    /// The working directory (absolute).
    pub cwd: String,
    /// MCP servers the session is to use.
    #[serde(default)]
    pub mcp_servers: Vec<Value>,
}

/// `session/load` params.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadSessionParams {
    /// The session: a tether session's id or name. Its `cwd` and `mcpServers`
    /// are not read: the session keeps its own directory and servers.
    pub session_id: String,
}

/// `session/prompt` params.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptParams {
    /// The session.
    pub session_id: String,
    /// The user's message.
    pub prompt: Vec<ContentBlock>,
}

/// `session/cancel` params.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelParams {
    /// The session whose turn to cancel.
    pub session_id: String,
}

/// A content block of a prompt.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image, base64.
    Image {
        /// Its MIME type.
        #[serde(rename = "mimeType", default)]
        mime_type: String,
        /// Where it came from, if known.
        #[serde(default)]
        uri: Option<String>,
    },
    /// Audio, base64.
    Audio {
        /// Its MIME type.
        #[serde(rename = "mimeType", default)]
        mime_type: String,
    },
    /// A reference to a resource the agent may read itself.
    ResourceLink {
        /// Its URI.
        uri: String,
        /// Its name.
        #[serde(default)]
        name: String,
    },
    /// A resource's contents, embedded.
    Resource {
        /// The contents.
        resource: EmbeddedResource,
    },
    /// A block this version does not know.
    #[serde(other)]
    Unknown,
}

/// An embedded resource: text or a binary blob.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddedResource {
    /// Its URI.
    pub uri: String,
    /// The text of a text resource.
    #[serde(default)]
    pub text: Option<String>,
    /// The base64 bytes of a binary one.
    #[serde(default)]
    pub blob: Option<String>,
    /// Its MIME type.
    #[serde(default)]
    pub mime_type: Option<String>,
}

/// A permission request's answer (`session/request_permission` result).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PermissionAnswer {
    /// What the user chose.
    pub outcome: PermissionOutcome,
}

/// What the user chose.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PermissionOutcome {
    /// The prompt turn was cancelled: nothing was chosen.
    Cancelled,
    /// One of the options.
    Selected {
        /// The option's id.
        #[serde(rename = "optionId")]
        option_id: String,
    },
    /// An outcome this version does not know.
    #[serde(other)]
    Unknown,
}

// ---- What the agent sends ------------------------------------------------------

/// `initialize` result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResult {
    /// The version chosen.
    pub protocol_version: u32,
    /// What this agent can do.
    pub agent_capabilities: AgentCapabilities,
    /// Who it is.
    pub agent_info: Implementation,
    /// No authentication: the daemon's socket is the user's own.
    pub auth_methods: Vec<Value>,
}

/// The agent's capabilities.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentCapabilities {
    /// `session/load` is available.
    pub load_session: bool,
    /// What prompts may hold.
    pub prompt_capabilities: PromptCapabilities,
    /// MCP transports besides stdio.
    pub mcp_capabilities: McpCapabilities,
}

/// What prompts may hold besides text and resource links.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptCapabilities {
    /// Images.
    pub image: bool,
    /// Audio.
    pub audio: bool,
    /// Embedded resources.
    pub embedded_context: bool,
}

/// MCP transports besides stdio (which every agent supports).
#[derive(Debug, Clone, Serialize)]
pub struct McpCapabilities {
    /// Streamable HTTP.
    pub http: bool,
    /// The deprecated SSE transport.
    pub sse: bool,
}

/// A name and a version.
#[derive(Debug, Clone, Serialize)]
pub struct Implementation {
    /// For programs.
    pub name: String,
    /// For people.
    pub title: String,
    /// The version.
    pub version: String,
}

/// `session/new` result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSessionResult {
    /// The tether session's id.
    pub session_id: String,
}

/// Why a prompt turn stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model answered without asking for more tools.
    EndTurn,
    /// The answer was cut at the model's token limit.
    MaxTokens,
    /// The turn stopped before a model request: tether's budget for the session.
    MaxTurnRequests,
    /// The model refused (its endpoint's content filter stopped it).
    Refusal,
    /// The turn was cancelled.
    Cancelled,
}

/// `session/prompt` result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptResult {
    /// Why it stopped.
    pub stop_reason: StopReason,
}

/// `session/update` params.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionNotification {
    /// The session.
    pub session_id: String,
    /// What happened.
    pub update: SessionUpdate,
}

/// One update of a session.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "sessionUpdate", rename_all = "snake_case")]
pub enum SessionUpdate {
    /// A part of a user's message (another client's, or a replayed one).
    UserMessageChunk {
        /// The part.
        content: Content,
    },
    /// A part of the agent's answer.
    AgentMessageChunk {
        /// The part.
        content: Content,
    },
    /// A part of the model's visible reasoning.
    AgentThoughtChunk {
        /// The part.
        content: Content,
    },
    /// A new tool call.
    ToolCall(ToolCall),
    /// A change to a tool call.
    ToolCallUpdate(ToolCallUpdate),
}

impl SessionUpdate {
    /// A user message chunk of text.
    pub fn user(text: impl Into<String>) -> Self {
        SessionUpdate::UserMessageChunk {
            content: Content::text(text),
        }
    }

    /// An agent message chunk of text.
    pub fn agent(text: impl Into<String>) -> Self {
        SessionUpdate::AgentMessageChunk {
            content: Content::text(text),
        }
    }

    /// An agent thought chunk of text.
    pub fn thought(text: impl Into<String>) -> Self {
        SessionUpdate::AgentThoughtChunk {
            content: Content::text(text),
        }
    }
}

/// A content block the agent sends: tether sends text only.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
}

impl Content {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Content::Text { text: text.into() }
    }
}

/// What kind of tool a call is, for the client's icons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolKind {
    /// Reads files or data.
    Read,
    /// Changes files.
    Edit,
    /// Deletes files or data.
    Delete,
    /// Searches.
    Search,
    /// Runs commands.
    Execute,
    /// Fetches external data.
    Fetch,
    /// Anything else.
    Other,
}

/// Where a tool call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolCallStatus {
    /// Not started: waiting for approval, or about to start.
    Pending,
    /// Running.
    InProgress,
    /// Done.
    Completed,
    /// Failed, denied or interrupted.
    Failed,
}

/// A new tool call (`tool_call`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolCall {
    /// The call's id (tether's `call_id`).
    pub tool_call_id: String,
    /// What it does, for people.
    pub title: String,
    /// Its kind.
    pub kind: ToolKind,
    /// Its status.
    pub status: ToolCallStatus,
    /// What it shows (a diff for file edits).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub content: Vec<ToolCallContent>,
    /// The files it touches.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Location>,
    /// Its arguments, as the model gave them.
    pub raw_input: Value,
}

/// A change to a tool call (`tool_call_update`, and the call of a permission
/// request): only the fields given change; `content` replaces the call's content.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolCallUpdate {
    /// The call's id.
    pub tool_call_id: String,
    /// A new title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A new kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ToolKind>,
    /// A new status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ToolCallStatus>,
    /// New content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<ToolCallContent>>,
    /// New locations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locations: Option<Vec<Location>>,
    /// The arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_input: Option<Value>,
    /// The result as tether stored it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_output: Option<Value>,
}

/// What a tool call shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolCallContent {
    /// A content block (its output).
    Content {
        /// The block.
        content: Content,
    },
    /// A change to a file.
    Diff {
        /// The file (absolute).
        path: String,
        /// The text before; absent for a new file (or one tether did not read).
        #[serde(rename = "oldText", skip_serializing_if = "Option::is_none")]
        old_text: Option<String>,
        /// The text after.
        #[serde(rename = "newText")]
        new_text: String,
    },
}

impl ToolCallContent {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        ToolCallContent::Content {
            content: Content::text(text),
        }
    }
}

/// A file a tool call touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file (absolute).
    pub path: String,
}

/// `session/request_permission` params.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRequest {
    /// The session.
    pub session_id: String,
    /// The call, whole.
    pub tool_call: ToolCallUpdate,
    /// What the user may choose.
    pub options: Vec<PermissionOption>,
}

/// One choice of a permission request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionOption {
    /// Its id: one of the `OPTION_*` constants.
    pub option_id: String,
    /// Its label.
    pub name: String,
    /// Its kind.
    pub kind: &'static str,
}

/// Allow this call.
pub const ALLOW_ONCE: &str = "allow_once";
/// Allow this call and add an "always allow" rule for the session.
pub const ALLOW_ALWAYS: &str = "allow_always";
/// Deny this call.
pub const REJECT_ONCE: &str = "reject_once";
