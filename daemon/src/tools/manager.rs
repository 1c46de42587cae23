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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, info, info_span, warn};

use super::change::{Scope, ToolChange};
use super::config::{self as tool_config, ServerDef};
use super::server::{Inherited, Server, ServerKey, lock};
use super::supervisor::supervise;
use crate::config::watch::{self, FileWatcher};
use crate::config::{ConfigError, ConfigSource};
use crate::tools::mcp::Transport;
use crate::tools::mcp::auth::AuthBook;
use tether_shared::protocol::SessionServer;

/// A tool config file's server definitions, and why it does not parse when it does not.
#[derive(Default)]
pub(super) struct FileState {
    defs: Vec<ServerDef>,
    pub(super) error: Option<ConfigError>,
}

/// The tool config files loaded, the servers running and the sessions attached.
#[derive(Default)]
pub(super) struct Inner {
    pub(super) files: BTreeMap<PathBuf, FileState>,
    pub(super) servers: BTreeMap<ServerKey, Arc<Server>>,
    /// Session id -> working directory.
    pub(super) sessions: BTreeMap<String, PathBuf>,
}

/// Owns the MCP servers and routes tool calls.
pub struct ToolManager {
    pub(super) inner: Mutex<Inner>,
    /// `tools.toml`, whose servers every session sees.
    pub(super) global: PathBuf,
    pub(super) config: Arc<ConfigSource>,
    changes: broadcast::Sender<ToolChange>,
    tracker: TaskTracker,
    cancel: CancellationToken,
    watcher: Mutex<Option<FileWatcher>>,
    /// Whether sessions were told that `config.toml` does not parse, so that
    /// they are told when it does again.
    config_reported: Mutex<bool>,
    /// The OAuth state of the HTTP servers, by name (see `mcp::auth`).
    pub(super) auth: AuthBook,
}

/// The project tool config file of a session working in `dir`.
pub(super) fn mcp_json(dir: &Path) -> PathBuf {
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
            auth: AuthBook::default(),
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
        let parsed = tool_config::load(path);
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
        let scope = self.scope_for(&def, session);
        let auth = match &def.transport {
            // A configured Authorization header is the user's own auth: no OAuth.
            Transport::Http { url, headers }
                if !headers
                    .keys()
                    .any(|h| h.eq_ignore_ascii_case("authorization")) =>
            {
                let config = def.oauth.clone().unwrap_or_default();
                Some(self.auth.for_server(&def.name, url, &config))
            }
            _ => None,
        };
        let server = Arc::new(Server::new(
            key,
            def,
            scope,
            quiet,
            previous,
            self.cancel.child_token(),
            auth,
        ));
        let s = server.clone();
        let changes = self.changes.clone();
        let span = info_span!("server", server = %server.key.name);
        self.tracker.spawn(supervise(s, changes).instrument(span));
        server
    }

    /// Checks a session's own servers (`session.create`'s `mcp_servers`) before
    /// the session is created: the message says what is wrong with one.
    pub fn check_servers(servers: &[SessionServer], cwd: &Path) -> Result<(), String> {
        tool_config::session_defs(servers, cwd).map(|_| ())
    }

    /// Registers a session: loads its directory's `.mcp.json` and starts the
    /// servers it needs, its own `servers` included. Its initial tool set is not
    /// reported as a change.
    pub async fn attach_session(
        self: &Arc<Self>,
        session_id: &str,
        cwd: &Path,
        servers: &[SessionServer],
    ) {
        let own = match tool_config::session_defs(servers, cwd) {
            Ok(defs) => defs,
            Err(e) => {
                // Checked when the session was created; only a store edited by hand gets here.
                warn!(session = %session_id, error = %e, "the session's own servers are not usable");
                Vec::new()
            }
        };
        let file = mcp_json(cwd);
        let (first_in_dir, per_session_defs) = {
            let mut inner = lock(&self.inner);
            inner
                .sessions
                .insert(session_id.to_string(), cwd.to_path_buf());
            let first = !inner.files.contains_key(&file);
            let mut defs: Vec<ServerDef> = own;
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
            for s in inner.servers.values() {
                lock(&s.state).resources.forget(session_id);
            }
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
