//! Samples of the OAuth login messages (issue 14) for `snapshot_tests`, which
//! snapshots them with every other method (same snapshot names).

use std::collections::BTreeMap;

use super::*;

fn request<M: Method>(params: M::Params) -> String {
    serde_json::to_string_pretty(&M::request(7, &params).unwrap()).unwrap()
}

fn result<M: Method>(result: M::Result) -> String {
    serde_json::to_string_pretty(&Response::ok(
        serde_json::Value::from(7),
        serde_json::to_value(result).unwrap(),
    ))
    .unwrap()
}

/// A server waiting for `tether mcp login`, as `tools.list` shows it.
pub(super) fn needs_login_server() -> ToolServerInfo {
    ToolServerInfo {
        name: "linear".into(),
        source: "/home/ana/.config/tether/tools.toml".into(),
        status: ServerStatus::NeedsLogin,
        tools: vec![],
        error: Some("needs login: the server answered 401".into()),
        renamed: BTreeMap::new(),
        login: Some(LoginNeeded {
            command: "tether mcp login linear".into(),
            scope: Some("read write".into()),
            reason: "the server answered 401 and there is no token".into(),
        }),
    }
}

/// `(method, params, result)` of `mcp.login_start`, `mcp.login_finish`, `mcp.logout`.
pub(super) fn methods() -> Vec<(&'static str, String, String)> {
    vec![
        (
            method::MCP_LOGIN_START,
            request::<method::McpLoginStart>(LoginStartParams {
                server: "linear".into(),
                redirect_uri: "http://127.0.0.1:53124/callback".into(),
            }),
            result::<method::McpLoginStart>(LoginStartResult {
                login_id: "l-5f2c9a".into(),
                authorization_url: "https://auth.example.com/authorize?response_type=code&client_id=abc&code_challenge=E9Mel&code_challenge_method=S256&state=q81x&resource=https%3A%2F%2Fmcp.example.com%2Fmcp".into(),
                scope: Some("read write".into()),
            }),
        ),
        (
            method::MCP_LOGIN_FINISH,
            request::<method::McpLoginFinish>(LoginFinishParams {
                login_id: "l-5f2c9a".into(),
                code: "c0de".into(),
                state: Some("q81x".into()),
            }),
            result::<method::McpLoginFinish>(LoginFinishResult {
                server: "linear".into(),
                scope: Some("read write".into()),
                refreshable: true,
                status: Some(ServerStatus::Running),
                error: None,
            }),
        ),
        (
            method::MCP_LOGOUT,
            request::<method::McpLogout>(LogoutParams {
                server: "linear".into(),
            }),
            result::<method::McpLogout>(LogoutResult {
                server: "linear".into(),
                removed: true,
            }),
        ),
    ]
}
