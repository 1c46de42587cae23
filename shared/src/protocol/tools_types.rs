//! The params and result objects of the tool server methods: `tools.list`,
//! `prompts.list`, `prompts.get` (kept apart from `types.rs` for its size).

use serde::{Deserialize, Serialize};

/// `tools.list` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolsParams {
    /// Only the servers this session (name or id) sees; all when absent.
    #[serde(default)]
    pub session: Option<String>,
}

/// Status of a tool server, as `tools --json` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerStatus {
    /// Being started.
    Starting,
    /// Serving.
    Running,
    /// Could not start or keeps crashing.
    Failed,
    /// Stopped on purpose.
    Stopped,
    /// An HTTP server that answers 401 (or `insufficient_scope`) and waits for
    /// `tether mcp login` (see [`ToolServerInfo::login`]).
    NeedsLogin,
    /// A status this client does not know.
    #[serde(other)]
    Unknown,
}

/// One tool server, as `tools --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolServerInfo {
    /// Server name (`builtin` for the builtin tools).
    pub name: String,
    /// The file that declares it (`builtin` for builtins).
    pub source: String,
    /// Its state.
    pub status: ServerStatus,
    /// The tool names it offers, as the model sees them.
    pub tools: Vec<String>,
    /// The last error, if any.
    pub error: Option<String>,
    /// Tools whose model name is not simply `<server>__<tool>`: original name ->
    /// the name in `tools` (characters replaced, cut at 64, or a suffix that
    /// keeps it apart from another tool of the server). Absent when none.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub renamed: std::collections::BTreeMap<String, String>,
    /// Set while the server waits for `tether mcp login` (status `needs_login`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<LoginNeeded>,
}

/// Why a tool server waits for a login, as `tools --json` prints it under `login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginNeeded {
    /// The command that logs in, e.g. `tether mcp login github`.
    pub command: String,
    /// The scope the server asked for (space-separated), when it named one; on a
    /// step-up (`insufficient_scope`), the scope the next login must grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Why, in one line: no token yet, the refresh failed, insufficient scope...
    pub reason: String,
}

/// `prompts.list` params (issue 14).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptsParams {
    /// Only the servers this session (name or id) sees; every running server
    /// when absent.
    #[serde(default)]
    pub session: Option<String>,
}

/// One argument of a prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptArgumentInfo {
    /// Its name (`--arg NAME=VALUE`).
    pub name: String,
    /// What it is for, when the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The prompt cannot be expanded without it.
    #[serde(default)]
    pub required: bool,
}

/// One prompt a tool server offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptInfo {
    /// The server's name, as in the tool config.
    pub server: String,
    /// The prompt's name on that server.
    pub name: String,
    /// A title for people, when the server gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it does, when the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its arguments, in the server's order.
    #[serde(default)]
    pub arguments: Vec<PromptArgumentInfo>,
}

/// `prompts.list` result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptsResult {
    /// Every prompt, by server then in the server's order.
    pub prompts: Vec<PromptInfo>,
    /// Servers that offer prompts but could not list them, one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// `prompts.get` params (issue 14): expand one prompt for a session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptGetParams {
    /// Name or id of the session whose servers are asked.
    pub session: String,
    /// The server's name.
    pub server: String,
    /// The prompt's name.
    pub prompt: String,
    /// Argument values by name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub arguments: std::collections::BTreeMap<String, String>,
}

/// `prompts.get` result: the prompt as one message's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptGetResult {
    /// The messages' text, joined (each labelled with its role when the
    /// prompt has more than the user's).
    pub text: String,
    /// The server's description of the expansion, when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}
