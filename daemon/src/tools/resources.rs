//! The resource tools a session's model may call (issue 14): `mcp_resources
//! {server}` lists a server's resources and resource templates, and
//! `mcp_read_resource {server, uri}` reads one (text as text, images as images,
//! other binary content described). They are offered when some server the
//! session sees declares resources. A read subscribes to the resource when the
//! server allows it; an update owes the session a note (see `resource_state`),
//! which [`ToolManager::owed_notes`] hands to the next tool result.

use std::sync::Arc;

use serde_json::{Value, json};
use tether_shared::protocol::ServerStatus;

use super::manager::ToolManager;
use super::server::{Server, lock};
use super::types::{ToolContext, ToolOutput, ToolSpec, cap_output};
use crate::tools::mcp::{Converter, McpClient};

/// `mcp_resources`.
pub(super) const LIST_TOOL: &str = "mcp_resources";
/// `mcp_read_resource`.
pub(super) const READ_TOOL: &str = "mcp_read_resource";

/// True for the two resource tools.
pub(super) fn is_resource_tool(name: &str) -> bool {
    name == LIST_TOOL || name == READ_TOOL
}

/// The two tools' specs, naming the servers that have resources.
fn specs(servers: &[String]) -> Vec<ToolSpec> {
    let names = servers.join(", ");
    vec![
        ToolSpec {
            name: LIST_TOOL.into(),
            description: format!(
                "List the resources (data a tool server exposes by URI: files, records, \
                 documents) and resource templates of an MCP tool server. Servers with \
                 resources: {names}."
            ),
            parameters: json!({
                "type": "object",
                "properties": {
                    "server": {"type": "string", "description": "The server's name."}
                },
                "required": ["server"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: READ_TOOL.into(),
            description: format!(
                "Read one resource of an MCP tool server by its URI (from mcp_resources, a \
                 template filled in, or a resource link in a tool result). Text comes back \
                 as text, images as images. Servers with resources: {names}."
            ),
            parameters: json!({
                "type": "object",
                "properties": {
                    "server": {"type": "string", "description": "The server's name."},
                    "uri": {"type": "string", "description": "The resource's URI."}
                },
                "required": ["server", "uri"],
                "additionalProperties": false
            }),
        },
    ]
}

impl ToolManager {
    /// The running servers a session sees that declare resources, with their clients.
    fn resource_servers(&self, session_id: &str) -> Vec<(Arc<Server>, Arc<McpClient>)> {
        self.visible(session_id)
            .into_iter()
            .filter_map(|s| {
                let st = lock(&s.state);
                let client = st.client.clone()?;
                (st.status == ServerStatus::Running && st.resources.offers.resources)
                    .then_some(client)
                    .map(|c| (s.clone(), c))
            })
            .collect()
    }

    /// The resource tools' specs, when some server the session sees has resources.
    pub(super) fn resource_specs(&self, session_id: &str) -> Vec<ToolSpec> {
        let mut names: Vec<String> = self
            .resource_servers(session_id)
            .iter()
            .map(|(s, _)| s.def.name.clone())
            .collect();
        names.dedup();
        if names.is_empty() {
            return Vec::new();
        }
        specs(&names)
    }

    /// Runs `mcp_resources` or `mcp_read_resource` for a session.
    pub(super) async fn call_resource_tool(
        &self,
        session_id: &str,
        tool: &str,
        arguments: &Value,
        ctx: &ToolContext,
    ) -> ToolOutput {
        let servers = self.resource_servers(session_id);
        let known = || {
            let names: Vec<&str> = servers.iter().map(|(s, _)| s.def.name.as_str()).collect();
            if names.is_empty() {
                "no server this session sees has resources now".to_string()
            } else {
                format!("servers with resources: {}", names.join(", "))
            }
        };
        let Some(server_name) = arguments.get("server").and_then(Value::as_str) else {
            return ToolOutput::error(format!(
                "{tool} needs \"server\", the server's name ({})",
                known()
            ));
        };
        let Some((server, client)) = servers.iter().find(|(s, _)| s.def.name == server_name) else {
            return ToolOutput::error(format!(
                "no server {server_name:?} with resources ({})",
                known()
            ));
        };
        let work = async {
            if tool == LIST_TOOL {
                list(server, client).await
            } else {
                let Some(uri) = arguments.get("uri").and_then(Value::as_str) else {
                    return ToolOutput::error(
                        "mcp_read_resource needs \"uri\", the resource's URI (mcp_resources lists them)",
                    );
                };
                let cap = self.config.load().0.tools.max_image_bytes;
                read(session_id, server, client, uri, cap).await
            }
        };
        tokio::select! {
            _ = ctx.cancel.cancelled() => ToolOutput::error("interrupted"),
            out = work => out,
        }
    }

    /// The notes a session is owed about resources that changed since it read
    /// them, as lines to append to a tool result; `None` when there are none.
    pub(super) fn owed_notes(&self, session_id: &str) -> Option<String> {
        let mut lines = Vec::new();
        for server in self.visible(session_id) {
            let owed = lock(&server.state).resources.take_owed(session_id);
            for uri in owed {
                let read = json!({"server": server.def.name, "uri": uri});
                lines.push(format!(
                    "[resource updated: {uri} of server {:?} changed since you read it; \
                     mcp_read_resource {read} reads the new contents]",
                    server.def.name
                ));
            }
        }
        (!lines.is_empty()).then(|| lines.join("\n"))
    }
}

/// `mcp_resources`: the cached list (refreshed on `list_changed`), read anew if
/// empty, and the templates, as JSON.
async fn list(server: &Server, client: &McpClient) -> ToolOutput {
    let mut resources = lock(&server.state).resources.list.clone();
    if resources.is_empty() {
        match client.list_resources().await {
            Ok(r) => {
                lock(&server.state).resources.list = r.clone();
                resources = r;
            }
            Err(e) => return ToolOutput::error(e.to_string()),
        }
    }
    let templates = match client.list_resource_templates().await {
        Ok(t) => t,
        // Templates are optional in the spec: a server without them may refuse.
        Err(e) => {
            tracing::debug!(server = %server.def.name, error = %e, "resources/templates/list failed");
            Vec::new()
        }
    };
    let resources: Vec<Value> = resources
        .iter()
        .map(|r| {
            let mut o = json!({"uri": r.uri, "name": r.name});
            put(&mut o, "title", r.title.as_deref());
            put(&mut o, "description", r.description.as_deref());
            put(&mut o, "mimeType", r.mime_type.as_deref());
            if let Some(size) = r.size {
                o["size"] = size.into();
            }
            o
        })
        .collect();
    let templates: Vec<Value> = templates
        .iter()
        .map(|t| {
            let mut o = json!({"uriTemplate": t.uri_template, "name": t.name});
            put(&mut o, "title", t.title.as_deref());
            put(&mut o, "description", t.description.as_deref());
            put(&mut o, "mimeType", t.mime_type.as_deref());
            o
        })
        .collect();
    let out = json!({
        "server": server.def.name,
        "resources": resources,
        "resourceTemplates": templates,
    });
    ToolOutput::ok(serde_json::to_string_pretty(&out).unwrap_or_else(|_| out.to_string()))
}

fn put(o: &mut Value, key: &str, v: Option<&str>) {
    if let Some(v) = v.filter(|v| !v.is_empty()) {
        o[key] = v.into();
    }
}

/// `mcp_read_resource`: reads `uri`, records what the session was given, and
/// subscribes to it when the server allows.
async fn read(
    session_id: &str,
    server: &Server,
    client: &McpClient,
    uri: &str,
    cap: usize,
) -> ToolOutput {
    let contents = match client.read_resource(uri).await {
        Ok(c) => c,
        Err(e) => return ToolOutput::error(e.to_string()),
    };
    let mut c = Converter::new(&server.def.name, cap);
    if contents.contents.is_empty() {
        c.text(format!("[resource: {uri}] (no contents)"));
    }
    for part in &contents.contents {
        c.resource(part);
    }
    let subscribe = {
        let mut st = lock(&server.state);
        st.resources.read_by(session_id, uri, &contents);
        st.resources.offers.subscribe && st.resources.subscribed.insert(uri.to_string())
    };
    if subscribe && let Err(e) = client.subscribe(uri).await {
        tracing::warn!(server = %server.def.name, %uri, error = %e, "resources/subscribe failed");
        lock(&server.state).resources.subscribed.remove(uri);
    }
    let c = c.finish();
    ToolOutput {
        output: cap_output(c.text),
        is_error: false,
        images: c.images,
    }
}
