//! What a session sees of the tool manager and how its calls are routed: the tools
//! offered to its model, its servers' failures and listings, and each call, to a
//! builtin or to the server that offers the tool.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tether_shared::protocol::{ServerStatus, ToolServerInfo};

use super::builtin;
use super::manager::{ToolManager, mcp_json};
use super::resources::is_resource_tool;
use super::server::{Server, ServerKey, lock, named};
use super::types::{ToolContext, ToolOutput, ToolSpec, cap_output};
use crate::config::ConfigError;
use crate::tools::mcp::{McpError, convert_result};

impl ToolManager {
    /// Servers a session sees, its own first, then project servers (the first wins
    /// a name clash).
    pub(super) fn visible(&self, session_id: &str) -> Vec<Arc<Server>> {
        let inner = lock(&self.inner);
        let Some(cwd) = inner.sessions.get(session_id) else {
            return Vec::new();
        };
        let project = mcp_json(cwd);
        let own = std::path::PathBuf::from(super::config::SESSION_SOURCE);
        let mut out: Vec<Arc<Server>> = Vec::new();
        for source in [&own, &project, &self.global] {
            for (k, s) in &inner.servers {
                if &k.source == source && k.session.as_deref().is_none_or(|id| id == session_id) {
                    out.push(s.clone());
                }
            }
        }
        out
    }

    /// Waits (at most `limit`) until none of a session's servers is still coming
    /// up for the first time, so a first turn right after a start sees their tools.
    pub async fn wait_ready(&self, session_id: &str, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        for server in self.visible(session_id) {
            loop {
                let woken = server.changed.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                let starting = {
                    let st = lock(&server.state);
                    st.status == ServerStatus::Starting
                        && st.announced.is_none()
                        && st.error.is_none()
                };
                if !starting {
                    break;
                }
                tokio::select! {
                    _ = &mut woken => {}
                    _ = tokio::time::sleep_until(deadline) => return,
                }
            }
        }
    }

    /// What is broken for a session right now: its servers that failed and its
    /// tool config files that do not parse. Reported in a session's log when it
    /// starts, since failures at a quiet start are not announced as changes.
    pub fn failures_for(&self, session_id: &str) -> Vec<String> {
        let mut out = Vec::new();
        for server in self.visible(session_id) {
            let st = lock(&server.state);
            if st.status == ServerStatus::Failed
                && let Some(e) = &st.error
            {
                let name = &server.def.name;
                out.push(if e.contains(name.as_str()) {
                    e.clone()
                } else {
                    format!("{name}: {e}")
                });
            }
        }
        let inner = lock(&self.inner);
        if let Some(cwd) = inner.sessions.get(session_id) {
            for file in [&self.global, &mcp_json(cwd)] {
                if let Some(e) = inner.files.get(file).and_then(|f| f.error.as_ref()) {
                    out.push(e.to_string());
                }
            }
        }
        out
    }

    /// The tools offered to a session's model: builtins, then its servers' tools.
    pub fn specs(&self, session_id: &str) -> Vec<ToolSpec> {
        let mut specs = builtin::builtin_specs();
        specs.extend(self.resource_specs(session_id));
        let mut seen: BTreeSet<String> = specs.iter().map(|s| s.name.clone()).collect();
        for server in self.visible(session_id) {
            let st = lock(&server.state);
            if st.status != ServerStatus::Running {
                continue;
            }
            for (name, t) in named(&server.def.name, &st.tools) {
                if seen.insert(name.clone()) {
                    specs.push(ToolSpec {
                        name,
                        description: t.description.clone(),
                        parameters: t.input_schema.clone(),
                    });
                }
            }
        }
        specs
    }

    /// Runs one call for a session. Notes of resources that changed since the
    /// session read them follow its output (see `resource_state`).
    pub async fn call(
        &self,
        session_id: &str,
        tool: &str,
        arguments: &Value,
        ctx: &ToolContext,
    ) -> ToolOutput {
        let mut out = if builtin::is_builtin(tool) {
            builtin::run_builtin(tool, arguments, ctx).await
        } else if is_resource_tool(tool) {
            self.call_resource_tool(session_id, tool, arguments, ctx)
                .await
        } else {
            self.call_mcp(session_id, tool, arguments, ctx).await
        };
        if let Some(notes) = self.owed_notes(session_id) {
            if !out.output.is_empty() {
                out.output.push('\n');
            }
            out.output.push_str(&notes);
        }
        out
    }

    /// Runs a call of an MCP server's tool.
    async fn call_mcp(
        &self,
        session_id: &str,
        tool: &str,
        arguments: &Value,
        ctx: &ToolContext,
    ) -> ToolOutput {
        let mut target = None;
        for server in self.visible(session_id) {
            // A restarting server keeps its last tool list (a changed definition
            // inherits its predecessor's), so the tool's own name is known here.
            let known = named(&server.def.name, &lock(&server.state).tools)
                .into_iter()
                .find(|(n, _)| n == tool)
                .map(|(_, t)| t.name.clone());
            if let Some(original) = known {
                target = Some((server, original));
                break;
            }
        }
        let Some((server, name)) = target else {
            // A tool the session was offered whose server has since failed: say so.
            for server in self.visible(session_id) {
                let st = lock(&server.state);
                if st.announced.as_ref().is_some_and(|a| a.contains(tool)) {
                    let why = st
                        .error
                        .as_ref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default();
                    return ToolOutput::error(format!(
                        "tool server {:?} is not running ({}{why})",
                        server.def.name,
                        status_word(st.status)
                    ));
                }
            }
            return ToolOutput::error(format!("unknown tool {tool:?}"));
        };
        // A server that is (re)starting gets until the call's timeout to come up.
        let deadline = tokio::time::Instant::now() + server.def.timeout;
        let client = loop {
            let woken = server.changed.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let (client, status, error) = {
                let st = lock(&server.state);
                (st.client.clone(), st.status, st.error.clone())
            };
            match (client, status) {
                (Some(c), _) => break c,
                (None, ServerStatus::Starting) => {
                    tokio::select! {
                        _ = ctx.cancel.cancelled() => return ToolOutput::error("interrupted"),
                        _ = &mut woken => continue,
                        _ = tokio::time::sleep_until(deadline) => {}
                    }
                    let why = error.map(|e| format!(" after: {e}")).unwrap_or_default();
                    return ToolOutput::error(format!(
                        "tool server {:?} did not come up within {:?}{why}",
                        server.def.name, server.def.timeout
                    ));
                }
                (None, status) => {
                    let why = error.map(|e| format!(": {e}")).unwrap_or_default();
                    return ToolOutput::error(format!(
                        "tool server {:?} is not running ({}{why})",
                        server.def.name,
                        status_word(status)
                    ));
                }
            }
        };
        let name_of_server = server.def.name.clone();
        let cap = self.config.load().0.tools.max_image_bytes;
        tokio::select! {
            _ = ctx.cancel.cancelled() => ToolOutput::error("interrupted"),
            r = client.call_tool_asking(&name, arguments.clone(), ctx.live.clone(), ctx.asks.clone()) => match r {
                Ok(result) => {
                    let c = convert_result(&name_of_server, &result, cap);
                    ToolOutput { output: cap_output(c.text), is_error: result.is_error.unwrap_or(false), images: c.images }
                }
                Err(e) => {
                    // A broken connection makes the supervisor reconnect, unless it
                    // already has (the failure belongs to a connection now gone).
                    let broken = matches!(e, McpError::Connect { .. } | McpError::Closed { .. } | McpError::Transport { .. });
                    // A refusal that needs a login is not a broken connection.
                    let login = server.auth.as_ref().and_then(|a| a.needs_login());
                    let refused = login.is_some() || server.auth.as_ref().is_some_and(|a| a.gave_up().is_some());
                    if let Some(login) = login {
                        return ToolOutput::error(format!("tool server {name_of_server:?} needs login ({}): run `{}`", login.reason, login.command));
                    }
                    let broken = broken && !refused;
                    let current = lock(&server.state).client.as_ref().is_some_and(|c| Arc::ptr_eq(c, &client));
                    if broken && current {
                        server.kick.notify_waiters();
                    }
                    ToolOutput::error(format!("tool server {name_of_server:?}: {e}"))
                }
            },
        }
    }

    /// Servers and their state for `tether tools`, with config errors; limited
    /// to what one session sees when given.
    pub fn servers_for(&self, session_id: Option<&str>) -> Vec<ToolServerInfo> {
        let visible: Option<Vec<ServerKey>> =
            session_id.map(|id| self.visible(id).iter().map(|s| s.key.clone()).collect());
        // A session's builtins include the resource tools when it is offered them.
        let resource_tools = session_id
            .map(|id| self.resource_specs(id))
            .unwrap_or_default();
        let mut out = vec![ToolServerInfo {
            name: "builtin".into(),
            source: "builtin".into(),
            status: ServerStatus::Running,
            tools: builtin::BUILTIN_NAMES
                .iter()
                .map(|s| s.to_string())
                .chain(resource_tools.into_iter().map(|t| t.name))
                .collect(),
            error: None,
            renamed: BTreeMap::new(),
            login: None,
        }];
        let inner = lock(&self.inner);
        for (k, s) in &inner.servers {
            if visible.as_ref().is_some_and(|v| !v.contains(k)) {
                continue;
            }
            let st = lock(&s.state);
            let name = match &k.session {
                Some(id) => format!("{} (session {id})", k.name),
                None => k.name.clone(),
            };
            let tools = named(&k.name, &st.tools);
            out.push(ToolServerInfo {
                name,
                source: k.source.display().to_string(),
                status: st.status,
                tools: tools.iter().map(|(n, _)| n.clone()).collect(),
                error: st.error.clone(),
                renamed: tools
                    .iter()
                    .filter(|(n, t)| *n != format!("{}__{}", k.name, t.name))
                    .map(|(n, t)| (t.name.clone(), n.clone()))
                    .collect(),
                login: st.login.clone(),
            });
        }
        let mut errors: Vec<&ConfigError> = inner
            .files
            .values()
            .filter_map(|f| f.error.as_ref())
            .collect();
        let config_error = self.config.load().1;
        if let Some(e) = &config_error {
            errors.push(e);
        }
        for e in errors {
            out.push(ToolServerInfo {
                name: "(config)".into(),
                source: e.path.clone(),
                status: ServerStatus::Failed,
                tools: Vec::new(),
                error: Some(e.to_string()),
                renamed: BTreeMap::new(),
                login: None,
            });
        }
        out
    }
}

fn status_word(s: ServerStatus) -> &'static str {
    match s {
        ServerStatus::Starting => "starting",
        ServerStatus::Running => "running",
        ServerStatus::Failed => "failed",
        ServerStatus::Stopped => "stopped",
        ServerStatus::NeedsLogin => "needs login",
        ServerStatus::Unknown => "unknown",
    }
}
