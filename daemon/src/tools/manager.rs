//! The tool manager: which MCP servers run, for whom, in what state, and which
//! tools each session sees.
//!
//! Process model (see docs/architecture.md): a server definition is identified by
//! its source file and name. Every session that sees a definition shares one
//! process, unless the definition says `per_session = true`, in which case each
//! session gets its own. Global servers (`tools.toml`) are seen by every session;
//! a directory's `.mcp.json` servers by the sessions working in that directory.
//! Each server has a supervisor task (in `supervisor`) that starts it, restarts it
//! with backoff (1 s doubling to 60 s) when it exits, and stops it when its
//! definition goes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tether_shared::protocol::{ServerStatus, ToolServerInfo};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, info, info_span, warn};

use super::builtin::{self, ToolContext, ToolOutput, ToolSpec};
use super::supervisor::supervise;
use crate::config::{ConfigError, ConfigSource};
use crate::mcp::client::{McpClient, McpError, McpTool, ServerSpec};
use crate::toolconfig::{self, ServerDef, model_tool_names};
use crate::watch::{self, FileWatcher};

/// Which sessions a tool change concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every session.
    All,
    /// Sessions working in this directory.
    Dir(PathBuf),
    /// One session.
    Session(String),
}

/// A change in the tools some sessions see, for their `tools_changed` event.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolChange {
    /// Who is concerned.
    pub scope: Scope,
    /// Tool names (as the model sees them) that appeared.
    pub added: Vec<String>,
    /// Tool names that went away.
    pub removed: Vec<String>,
    /// Config or server errors to show.
    pub errors: Vec<String>,
    /// Config files whose error was reported and that parse again.
    pub fixed: Vec<String>,
}

impl Scope {
    /// Whether a session with this id and working directory is concerned.
    pub fn covers(&self, session_id: &str, cwd: &Path) -> bool {
        match self {
            Scope::All => true,
            Scope::Dir(d) => d == cwd,
            Scope::Session(s) => s == session_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ServerKey {
    source: PathBuf,
    name: String,
    /// Set for `per_session` servers.
    session: Option<String>,
}

/// What a server started for a changed definition takes over from the one it
/// replaces: the tools announced (so only the difference is reported) and the
/// tool list (so calls made while it starts know which tool they name).
#[derive(Default)]
pub(super) struct Inherited {
    announced: Option<BTreeSet<String>>,
    tools: Vec<McpTool>,
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
}

/// One server process (shared, or one session's), kept running by its supervisor.
pub(super) struct Server {
    key: ServerKey,
    pub(super) def: ServerDef,
    pub(super) scope: Scope,
    pub(super) state: Mutex<ServerState>,
    /// Woken whenever `state.status` changes, for calls waiting on a restart.
    changed: tokio::sync::Notify,
    /// A call found the connection broken: reconnect (HTTP servers report no exit).
    pub(super) kick: tokio::sync::Notify,
    pub(super) cancel: CancellationToken,
}

impl Server {
    pub(super) fn set_status(&self, f: impl FnOnce(&mut ServerState)) {
        f(&mut lock(&self.state));
        self.changed.notify_waiters();
    }
}

/// Locks `m`, recovering the data if a holder panicked.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Server {
    pub(super) fn model_names(tools: &[McpTool], server: &str) -> BTreeSet<String> {
        named(server, tools).into_iter().map(|(n, _)| n).collect()
    }
}

/// Each tool with the name the model knows it by (unique within the server,
/// see [`model_tool_names`]).
fn named<'a>(server: &str, tools: &'a [McpTool]) -> Vec<(String, &'a McpTool)> {
    let originals: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    model_tool_names(server, &originals)
        .into_iter()
        .zip(tools)
        .collect()
}

#[derive(Default)]
struct FileState {
    defs: Vec<ServerDef>,
    error: Option<ConfigError>,
}

#[derive(Default)]
struct Inner {
    files: BTreeMap<PathBuf, FileState>,
    servers: BTreeMap<ServerKey, Arc<Server>>,
    /// Session id -> working directory.
    sessions: BTreeMap<String, PathBuf>,
}

/// Owns the MCP servers and routes tool calls.
pub struct ToolManager {
    inner: Mutex<Inner>,
    global: PathBuf,
    config: Arc<ConfigSource>,
    changes: broadcast::Sender<ToolChange>,
    tracker: TaskTracker,
    cancel: CancellationToken,
    watcher: Mutex<Option<FileWatcher>>,
    /// Whether sessions were told that `config.toml` does not parse, so that
    /// they are told when it does again.
    config_reported: Mutex<bool>,
}

/// How to start the server a definition describes.
pub(super) fn spec_of(def: &ServerDef) -> ServerSpec {
    ServerSpec {
        name: def.name.clone(),
        transport: def.transport.clone(),
        timeout: def.timeout,
    }
}

fn mcp_json(dir: &Path) -> PathBuf {
    dir.join(".mcp.json")
}

impl ToolManager {
    /// A manager for `config_dir/tools.toml` (nothing runs until [`ToolManager::start`]).
    pub fn new(
        config_dir: &Path,
        config: Arc<ConfigSource>,
        cancel: CancellationToken,
    ) -> Arc<ToolManager> {
        let (changes, _) = broadcast::channel(256);
        Arc::new(ToolManager {
            inner: Mutex::new(Inner::default()),
            global: config_dir.join("tools.toml"),
            config,
            changes,
            tracker: TaskTracker::new(),
            cancel,
            watcher: Mutex::new(None),
            config_reported: Mutex::new(false),
        })
    }

    /// A receiver of tool changes, for a session actor.
    pub fn subscribe(&self) -> broadcast::Receiver<ToolChange> {
        self.changes.subscribe()
    }

    /// Loads `tools.toml`, starts its servers and the file watcher.
    pub async fn start(self: &Arc<Self>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
        let watcher = watch::start(&self.tracker, self.cancel.clone(), tx);
        *lock(&self.watcher) = Some(watcher);
        self.load_file(&self.global.clone(), true);
        self.refresh_watch().await;
        let me = self.clone();
        self.tracker.spawn(
            async move {
                loop {
                    tokio::select! {
                        _ = me.cancel.cancelled() => return,
                        p = rx.recv() => match p {
                            Some(path) => me.file_changed(&path),
                            None => return,
                        },
                    }
                }
            }
            .instrument(info_span!("tools")),
        );
    }

    async fn refresh_watch(&self) {
        let mut files: BTreeSet<PathBuf> = lock(&self.inner).files.keys().cloned().collect();
        files.insert(self.global.clone());
        files.insert(self.config.path().to_path_buf());
        let watcher = lock(&self.watcher).clone();
        if let Some(w) = watcher {
            w.set_files(files).await;
        }
    }

    fn scope_for(&self, def: &ServerDef, session: Option<&str>) -> Scope {
        match session {
            Some(s) => Scope::Session(s.to_string()),
            None if def.source == self.global => Scope::All,
            None => Scope::Dir(
                def.source
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
            ),
        }
    }

    /// Sessions that see the servers of a file.
    fn sessions_of_file(inner: &Inner, global: &Path, file: &Path) -> Vec<String> {
        inner
            .sessions
            .iter()
            .filter(|(_, cwd)| file == global || mcp_json(cwd) == file)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// (Re)reads one file and applies the difference. `quiet`: its servers'
    /// first tool sets are not announced (daemon start, first session in a dir).
    fn load_file(self: &Arc<Self>, path: &Path, quiet: bool) {
        let parsed = toolconfig::load(path);
        let mut inner = lock(&self.inner);
        let file = inner.files.entry(path.to_path_buf()).or_default();
        let new_defs = match parsed {
            Err(e) => {
                warn!(error = %e, "tool config does not parse; keeping the servers it had");
                let scope = self.file_scope(path);
                file.error = Some(e.clone());
                drop(inner);
                if quiet {
                    // A first load: each session reports it when it starts
                    // (`failures_for`), so it is not announced twice.
                    return;
                }
                let _ = self.changes.send(ToolChange {
                    scope,
                    added: vec![],
                    removed: vec![],
                    errors: vec![e.to_string()],
                    fixed: vec![],
                });
                return;
            }
            Ok(defs) => defs,
        };
        // The sessions of this file recorded its error (when it was saved, or
        // when they started): they record that it is fixed.
        let fixed = file.error.take().is_some() && !quiet;
        let old_defs = std::mem::replace(&mut file.defs, new_defs.clone());
        let old: BTreeMap<&str, &ServerDef> =
            old_defs.iter().map(|d| (d.name.as_str(), d)).collect();
        let new: BTreeMap<&str, &ServerDef> =
            new_defs.iter().map(|d| (d.name.as_str(), d)).collect();
        let sessions = Self::sessions_of_file(&inner, &self.global, path);
        let mut removed_changes = Vec::new();
        // Removed or changed definitions: stop their servers (a changed one is
        // started again below, inheriting what was announced so only the
        // difference is reported).
        let mut inherited: BTreeMap<ServerKey, Inherited> = BTreeMap::new();
        for (name, def) in &old {
            if new.get(name) == Some(def) {
                continue; // untouched: keeps its process
            }
            let keys: Vec<ServerKey> = inner
                .servers
                .keys()
                .filter(|k| k.source == path && k.name == *name)
                .cloned()
                .collect();
            for key in keys {
                if let Some(server) = inner.servers.remove(&key) {
                    server.cancel.cancel();
                    let (announced, tools) = {
                        let st = lock(&server.state);
                        (st.announced.clone(), st.tools.clone())
                    };
                    info!(server = %key.name, "server stopped: its definition changed or went away");
                    if new.contains_key(name) {
                        inherited.insert(key, Inherited { announced, tools });
                    } else if let Some(names) = announced.filter(|n| !n.is_empty()) {
                        removed_changes.push(ToolChange {
                            scope: server.scope.clone(),
                            added: vec![],
                            removed: names.into_iter().collect(),
                            errors: vec![],
                            fixed: vec![],
                        });
                    }
                }
            }
        }
        for (name, def) in &new {
            if old.get(name) == Some(def) && !quiet {
                continue;
            }
            let targets: Vec<Option<String>> = if def.per_session {
                sessions.iter().cloned().map(Some).collect()
            } else {
                vec![None]
            };
            for session in targets {
                let key = ServerKey {
                    source: path.to_path_buf(),
                    name: name.to_string(),
                    session: session.clone(),
                };
                if inner.servers.contains_key(&key) {
                    continue;
                }
                let previous = inherited.remove(&key).unwrap_or_default();
                let server = self.spawn_server(
                    key.clone(),
                    (*def).clone(),
                    session.as_deref(),
                    quiet,
                    previous,
                );
                inner.servers.insert(key, server);
            }
        }
        drop(inner);
        if fixed {
            info!(file = %path.display(), "tool config parses again");
            let _ = self.changes.send(ToolChange {
                scope: self.file_scope(path),
                added: vec![],
                removed: vec![],
                errors: vec![],
                fixed: vec![path.display().to_string()],
            });
        }
        for c in removed_changes {
            let _ = self.changes.send(c);
        }
    }

    /// Who sees the servers of a tool config file.
    fn file_scope(&self, path: &Path) -> Scope {
        if path == self.global {
            Scope::All
        } else {
            Scope::Dir(path.parent().map(Path::to_path_buf).unwrap_or_default())
        }
    }

    fn file_changed(self: &Arc<Self>, path: &Path) {
        if path == self.config.path() {
            // Providers, model and approvals apply from the next model call; this
            // reload reports a broken file now instead of then.
            let error = self.config.load().1;
            let was_reported =
                std::mem::replace(&mut *lock(&self.config_reported), error.is_some());
            if let Some(e) = error {
                let _ = self.changes.send(ToolChange {
                    scope: Scope::All,
                    added: vec![],
                    removed: vec![],
                    errors: vec![e.to_string()],
                    fixed: vec![],
                });
            } else {
                info!("config.toml reloaded");
                if was_reported {
                    let _ = self.changes.send(ToolChange {
                        scope: Scope::All,
                        added: vec![],
                        removed: vec![],
                        errors: vec![],
                        fixed: vec![self.config.path().display().to_string()],
                    });
                }
            }
            return;
        }
        let known = lock(&self.inner).files.contains_key(path) || path == self.global;
        if known {
            info!(file = %path.display(), "tool config changed");
            self.load_file(path, false);
        }
    }

    fn spawn_server(
        self: &Arc<Self>,
        key: ServerKey,
        def: ServerDef,
        session: Option<&str>,
        quiet: bool,
        previous: Inherited,
    ) -> Arc<Server> {
        let server = Arc::new(Server {
            scope: self.scope_for(&def, session),
            key,
            def,
            state: Mutex::new(ServerState {
                status: ServerStatus::Starting,
                tools: previous.tools,
                error: None,
                client: None,
                announced: previous.announced,
                quiet_start: quiet,
            }),
            changed: tokio::sync::Notify::new(),
            kick: tokio::sync::Notify::new(),
            cancel: self.cancel.child_token(),
        });
        let s = server.clone();
        let changes = self.changes.clone();
        let span = info_span!("server", server = %server.key.name);
        self.tracker.spawn(supervise(s, changes).instrument(span));
        server
    }

    /// Registers a session: loads its directory's `.mcp.json` and starts the
    /// servers it needs. Its initial tool set is not reported as a change.
    pub async fn attach_session(self: &Arc<Self>, session_id: &str, cwd: &Path) {
        let file = mcp_json(cwd);
        let (first_in_dir, per_session_defs) = {
            let mut inner = lock(&self.inner);
            inner
                .sessions
                .insert(session_id.to_string(), cwd.to_path_buf());
            let first = !inner.files.contains_key(&file);
            let mut defs: Vec<ServerDef> = Vec::new();
            for f in [&self.global, &file] {
                if let Some(state) = inner.files.get(f) {
                    defs.extend(state.defs.iter().filter(|d| d.per_session).cloned());
                }
            }
            (first, defs)
        };
        if first_in_dir {
            self.load_file(&file, true);
        }
        // Per-session servers of files already loaded start for this session.
        {
            let mut inner = lock(&self.inner);
            for def in per_session_defs {
                let key = ServerKey {
                    source: def.source.clone(),
                    name: def.name.clone(),
                    session: Some(session_id.to_string()),
                };
                if let std::collections::btree_map::Entry::Vacant(slot) =
                    inner.servers.entry(key.clone())
                {
                    slot.insert(self.spawn_server(
                        key,
                        def,
                        Some(session_id),
                        true,
                        Inherited::default(),
                    ));
                }
            }
        }
        if first_in_dir {
            self.refresh_watch().await;
        }
    }

    /// Forgets a session: stops its own servers, and its directory's servers when
    /// no other session works there.
    pub async fn detach_session(&self, session_id: &str) {
        let mut refresh = false;
        {
            let mut inner = lock(&self.inner);
            let Some(cwd) = inner.sessions.remove(session_id) else {
                return;
            };
            let file = mcp_json(&cwd);
            let dir_unused = !inner.sessions.values().any(|c| *c == cwd);
            let doomed: Vec<ServerKey> = inner
                .servers
                .keys()
                .filter(|k| {
                    k.session.as_deref() == Some(session_id) || (dir_unused && k.source == file)
                })
                .cloned()
                .collect();
            for k in doomed {
                if let Some(s) = inner.servers.remove(&k) {
                    s.cancel.cancel();
                }
            }
            if dir_unused && inner.files.remove(&file).is_some() {
                refresh = true;
            }
        }
        if refresh {
            self.refresh_watch().await;
        }
    }

    /// Servers a session sees, project servers first (they win a name clash).
    fn visible(&self, session_id: &str) -> Vec<Arc<Server>> {
        let inner = lock(&self.inner);
        let Some(cwd) = inner.sessions.get(session_id) else {
            return Vec::new();
        };
        let project = mcp_json(cwd);
        let mut out: Vec<Arc<Server>> = Vec::new();
        for source in [&project, &self.global] {
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

    /// Runs one call for a session.
    pub async fn call(
        &self,
        session_id: &str,
        tool: &str,
        arguments: &Value,
        ctx: &ToolContext,
    ) -> ToolOutput {
        if builtin::is_builtin(tool) {
            return builtin::run_builtin(tool, arguments, ctx).await;
        }
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
        tokio::select! {
            _ = ctx.cancel.cancelled() => ToolOutput::error("interrupted"),
            r = client.call_tool_with_progress(&name, arguments.clone(), ctx.live.clone()) => match r {
                Ok(result) => ToolOutput { output: cap_output(result.text), is_error: result.is_error, images: result.images },
                Err(e) => {
                    // A broken connection makes the supervisor reconnect, unless it
                    // already has (the failure belongs to a connection now gone).
                    let broken = matches!(e, McpError::Connect { .. } | McpError::Closed { .. } | McpError::Transport { .. });
                    let current = lock(&server.state).client.as_ref().is_some_and(|c| Arc::ptr_eq(c, &client));
                    if broken && current {
                        server.kick.notify_waiters();
                    }
                    ToolOutput::error(format!("tool server {name_of_server:?}: {e}"))
                }
            },
        }
    }

    /// Servers and their state for `tether tools`, with config errors.
    pub fn servers(&self) -> Vec<ToolServerInfo> {
        self.servers_for(None)
    }

    /// Like [`ToolManager::servers`], limited to what one session sees when given.
    pub fn servers_for(&self, session_id: Option<&str>) -> Vec<ToolServerInfo> {
        let visible: Option<Vec<ServerKey>> =
            session_id.map(|id| self.visible(id).iter().map(|s| s.key.clone()).collect());
        let mut out = vec![ToolServerInfo {
            name: "builtin".into(),
            source: "builtin".into(),
            status: ServerStatus::Running,
            tools: builtin::BUILTIN_NAMES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            error: None,
            renamed: BTreeMap::new(),
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
            });
        }
        out
    }

    /// Stops every server and waits (bounded) for their processes to end.
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        self.tracker.close();
        if tokio::time::timeout(Duration::from_secs(5), self.tracker.wait())
            .await
            .is_err()
        {
            warn!("some tool servers did not stop in time");
        }
    }
}

/// The most of a tool result the model is given; the rest is cut with a note.
pub const MAX_RESULT_BYTES: usize = 100_000;

fn cap_output(mut s: String) -> String {
    if s.len() <= MAX_RESULT_BYTES {
        return s;
    }
    let total = s.len();
    let mut cut = MAX_RESULT_BYTES;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s.push_str(&format!(
        "\n[... result cut at {MAX_RESULT_BYTES} of {total} bytes ...]"
    ));
    s
}

fn status_word(s: ServerStatus) -> &'static str {
    match s {
        ServerStatus::Starting => "starting",
        ServerStatus::Running => "running",
        ServerStatus::Failed => "failed",
        ServerStatus::Stopped => "stopped",
        ServerStatus::Unknown => "unknown",
    }
}
