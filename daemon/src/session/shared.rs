//! What every session shares: the daemon-wide context its actor works with, and the
//! summary clients see of a session.

use std::sync::Arc;

use tether_shared::SessionState;
use tether_shared::protocol::SessionInfo;
use tokio_util::task::TaskTracker;

use super::changes::ListChanges;
use super::context::window::WindowBook;
use super::project::ProjectInstructions;
use crate::config::ConfigSource;
use crate::store::{SessionRow, Store};
use crate::tools::ToolManager;

/// Daemon-wide things every session uses.
pub struct SessionShared {
    /// The store.
    pub store: Arc<dyn Store>,
    /// `config.toml`.
    pub config: Arc<ConfigSource>,
    /// The tools.
    pub tools: Arc<ToolManager>,
    /// The project files (`AGENTS.md`, `CLAUDE.md`) of the session directories.
    pub project: Arc<ProjectInstructions>,
    /// The HTTP client for model calls.
    pub http: reqwest::Client,
    /// Tracks every task, for a bounded shutdown.
    pub tracker: TaskTracker,
    /// The context windows learned and probed, shared by every session.
    pub windows: Arc<WindowBook>,
    /// Every change to the session list goes through it (see
    /// [`SessionShared::list_changed`]).
    pub list: ListChanges,
    /// Runs `[notify] command` for the notices sessions hand it (issue 11).
    pub notifier: crate::notify::Notifier,
    /// Every session, awake or asleep (issue 13): the registry's table, here
    /// because an actor puts itself to sleep in it.
    pub slots: std::sync::Arc<super::slots::Slots>,
    /// This daemon as a node of a fleet (issue 16); inactive off one.
    pub fleet: Arc<crate::fleet::Fleet>,
}

#[cfg(test)]
impl SessionShared {
    /// A context over `dir` for unit tests: a fresh SQLite store, `dir/config.toml`,
    /// no tool server, notifications off.
    pub(crate) fn for_tests(dir: &std::path::Path) -> Arc<SessionShared> {
        use tokio_util::sync::CancellationToken;
        let config = Arc::new(ConfigSource::new(dir.join("config.toml")));
        Arc::new(SessionShared {
            store: Arc::new(
                crate::store::SqliteStore::open(&dir.join("tether.db")).expect("a test store"),
            ),
            config: config.clone(),
            tools: ToolManager::new(dir, config, CancellationToken::new()),
            project: ProjectInstructions::new(CancellationToken::new()),
            http: reqwest::Client::new(),
            tracker: TaskTracker::new(),
            windows: Default::default(),
            list: Default::default(),
            notifier: crate::notify::Notifier::disabled(),
            slots: Default::default(),
            fleet: Arc::new(crate::fleet::Fleet::new(&Default::default(), false)),
        })
    }
}

impl SessionShared {
    /// Session `id`'s summary changed, or it was created: list viewers hear of it.
    pub fn list_changed(&self, id: &str) {
        self.list.changed(id);
    }

    /// Session `id` was removed: list viewers hear of it.
    pub fn list_removed(&self, id: &str) {
        self.list.removed(id);
    }
}

/// A session's summary from its row and what the actor knows; the error is shown
/// only while the session is `failed`.
pub fn summary(
    row: &SessionRow,
    state: SessionState,
    pending_approvals: Vec<String>,
    queued_inputs: usize,
    attached_clients: usize,
    last_error: Option<&String>,
) -> SessionInfo {
    SessionInfo {
        id: row.id.clone(),
        name: row.name.clone(),
        state,
        model: row.model.clone(),
        cwd: row.cwd.clone(),
        created_at: row.created_at.clone(),
        updated_at: row.updated_at.clone(),
        pending_approvals,
        queued_inputs,
        attached_clients,
        last_seq: row.last_seq,
        usage: row.usage,
        instructions: row.instructions.clone(),
        last_error: last_error
            .filter(|_| state == SessionState::Failed)
            .cloned(),
        context_tokens: 0,
        context_window: 0,
        budget: row.budget,
        cost_usd: row.cost_usd,
        cost_basis: Default::default(),
        waiting_since: None,
        pending_inputs: Vec::new(),
        worktree: row.worktree.clone(),
        node: None,
        portable: false,
    }
}
