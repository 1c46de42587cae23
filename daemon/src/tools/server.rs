//! One MCP server as the tool manager runs it: which definition it runs, for whom, and
//! its live state. The state is the seam between the manager and the server's supervisor
//! task: the supervisor writes it (through [`Server::set_status`], which wakes whoever
//! waits on a status change) and the manager's calls and listings read it.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use tether_shared::protocol::{LoginNeeded, ServerStatus};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::change::Scope;
use super::config::ServerDef;
use super::names::model_tool_names;
use super::resource_state::ResourceState;
use crate::tools::mcp::auth::ServerAuth;
use crate::tools::mcp::{McpClient, McpTool, ServerSpec};

/// Identifies a server process: its definition (source file and name), and the
/// session it runs for when it is one per session.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ServerKey {
    pub(super) source: PathBuf,
    pub(super) name: String,
    /// Set for `per_session` servers.
    pub(super) session: Option<String>,
}

/// What a server started for a changed definition takes over from the one it
/// replaces: the tools announced (so only the difference is reported) and the
/// tool list (so calls made while it starts know which tool they name).
#[derive(Default)]
pub(super) struct Inherited {
    pub(super) announced: Option<BTreeSet<String>>,
    pub(super) tools: Vec<McpTool>,
}

/// A server's live state, written by its supervisor and read by calls and listings.
pub(super) struct ServerState {
    pub(super) status: ServerStatus,
    pub(super) tools: Vec<McpTool>,
    pub(super) error: Option<String>,
    pub(super) client: Option<Arc<McpClient>>,
    /// Tool names last announced to sessions; `None` until the first announcement.
    pub(super) announced: Option<BTreeSet<String>>,
    /// Started with the daemon or its session: its first tool set is not news.
    pub(super) quiet_start: bool,
    /// Its resources as tether follows them.
    pub(super) resources: ResourceState,
    /// Set while an HTTP server waits for `tether mcp login`.
    pub(super) login: Option<LoginNeeded>,
    /// How many times the status settled (became anything but `starting`), so
    /// a login can wait for the outcome of the reconnect it causes.
    pub(super) settles: u64,
}

/// One server process (shared, or one session's), kept running by its supervisor.
pub(super) struct Server {
    pub(super) key: ServerKey,
    pub(super) def: ServerDef,
    pub(super) scope: Scope,
    pub(super) state: Mutex<ServerState>,
    /// Woken whenever `state.status` changes, for calls waiting on a restart.
    pub(super) changed: Notify,
    /// A call found the connection broken: reconnect (HTTP servers report no exit).
    pub(super) kick: Notify,
    pub(super) cancel: CancellationToken,
    /// The OAuth state of an HTTP server (its tokens and why it needs a login).
    pub(super) auth: Option<Arc<ServerAuth>>,
}

impl Server {
    /// A server about to start (status `starting`), taking over `previous`.
    /// `quiet`: its first tool set is not announced.
    pub(super) fn new(
        key: ServerKey,
        def: ServerDef,
        scope: Scope,
        quiet: bool,
        previous: Inherited,
        cancel: CancellationToken,
        auth: Option<Arc<ServerAuth>>,
    ) -> Server {
        Server {
            key,
            def,
            scope,
            state: Mutex::new(ServerState {
                status: ServerStatus::Starting,
                tools: previous.tools,
                error: None,
                client: None,
                announced: previous.announced,
                quiet_start: quiet,
                resources: ResourceState::default(),
                login: None,
                settles: 0,
            }),
            changed: Notify::new(),
            kick: Notify::new(),
            cancel,
            auth,
        }
    }

    /// Changes the state and wakes everyone waiting for a change.
    pub(super) fn set_status(&self, f: impl FnOnce(&mut ServerState)) {
        {
            let mut st = lock(&self.state);
            f(&mut st);
            if st.status != ServerStatus::Starting {
                st.settles += 1;
            }
        }
        self.changed.notify_waiters();
    }

    /// The names the model knows `tools` of the server `server` by.
    pub(super) fn model_names(tools: &[McpTool], server: &str) -> BTreeSet<String> {
        named(server, tools).into_iter().map(|(n, _)| n).collect()
    }
}

/// Locks `m`, recovering the data if a holder panicked.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Each tool with the name the model knows it by (unique within the server,
/// see [`model_tool_names`]).
pub(super) fn named<'a>(server: &str, tools: &'a [McpTool]) -> Vec<(String, &'a McpTool)> {
    let originals: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    model_tool_names(server, &originals)
        .into_iter()
        .zip(tools)
        .collect()
}

/// How to start the server a definition describes.
pub(super) fn spec_of(def: &ServerDef) -> ServerSpec {
    ServerSpec {
        name: def.name.clone(),
        transport: def.transport.clone(),
        timeout: def.timeout,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::tools::mcp::Transport;

    fn def() -> ServerDef {
        ServerDef {
            name: "probe".into(),
            source: PathBuf::from("/c/tools.toml"),
            transport: Transport::Stdio {
                command: "probe".into(),
                args: vec![],
                env: BTreeMap::new(),
                cwd: None,
            },
            timeout: Duration::from_secs(7),
            per_session: false,
            oauth: None,
        }
    }

    fn tool(name: &str) -> McpTool {
        McpTool {
            name: name.into(),
            description: String::new(),
            input_schema: serde_json::json!({"type": "object"}),
        }
    }

    fn server(previous: Inherited) -> Server {
        let key = ServerKey {
            source: PathBuf::from("/c/tools.toml"),
            name: "probe".into(),
            session: None,
        };
        Server::new(
            key,
            def(),
            Scope::All,
            true,
            previous,
            CancellationToken::new(),
            None,
        )
    }

    #[test]
    fn a_new_server_starts_with_what_it_inherits() {
        let previous = Inherited {
            announced: Some(BTreeSet::from(["probe__echo".to_string()])),
            tools: vec![tool("echo")],
        };
        let server = server(previous);
        let st = lock(&server.state);
        assert_eq!(st.status, ServerStatus::Starting);
        assert_eq!(st.tools, vec![tool("echo")]);
        assert!(
            st.announced
                .as_ref()
                .is_some_and(|a| a.contains("probe__echo"))
        );
        assert!(st.quiet_start && st.error.is_none() && st.client.is_none());
    }

    #[tokio::test]
    async fn a_status_change_wakes_its_waiters() {
        let server = Arc::new(server(Inherited::default()));
        let woken = server.changed.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        server.set_status(|st| st.status = ServerStatus::Running);
        tokio::time::timeout(Duration::from_secs(5), woken)
            .await
            .expect("set_status wakes a waiter");
        assert_eq!(lock(&server.state).status, ServerStatus::Running);
    }

    #[test]
    fn the_spec_and_names_come_from_the_definition() {
        let spec = spec_of(&def());
        assert_eq!(
            (spec.name.as_str(), spec.timeout),
            ("probe", Duration::from_secs(7))
        );
        let names = Server::model_names(&[tool("echo"), tool("add")], "probe");
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["probe__add", "probe__echo"]
        );
    }
}
