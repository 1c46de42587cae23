//! The registry of sessions: creates, finds, lists, restores and removes them.
//! A session is awake (an actor) or asleep (a summary, issue 13): `slots.rs`
//! holds the table, `wake.rs` wakes, `sleep.rs` puts an actor to sleep.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tether_shared::protocol::{
    CreateParams, ForkParams, KillResult, ListShape, SessionInfo, WorktreeOutcome,
};
use tether_shared::{Delivery, Event, EventKind, SessionState};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::error::SessionError;
use super::slots::{Found, Slot, Slots};
use super::{SessionHandle, SessionShared, spawn_new, summary};
use crate::store::SessionRow;
use crate::util::{new_id, now_rfc3339};

/// All sessions of the daemon.
pub struct Registry {
    pub(super) shared: Arc<SessionShared>,
    // Creation checks the name, then stores: one at a time keeps names unique.
    create: tokio::sync::Mutex<()>,
    pub(super) cancel: CancellationToken,
    /// Sessions the store could not restore (a damaged `tether.db`), by name:
    /// asking for one gets that error, not "no such session".
    pub(super) unrestored: RwLock<HashMap<String, String>>,
    /// Set when the daemon stops its sessions: nothing wakes any more.
    pub(super) stopping: AtomicBool,
    /// The list from the start-up's index, while the restore runs (`early.rs`).
    pub(super) early: super::slots::Early,
    /// The list kept at the last clean stop (`kept.rs`).
    pub(super) kept: super::slots::Kept,
}

/// Checks a session name: 1 to 64 of `[A-Za-z0-9._-]`, not starting with `-`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl Registry {
    /// An empty registry, with its waker running (see `wake.rs`).
    pub fn new(shared: Arc<SessionShared>, cancel: CancellationToken) -> Arc<Self> {
        let registry = Arc::new(Registry {
            shared,
            create: tokio::sync::Mutex::new(()),
            cancel,
            unrestored: RwLock::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            early: Default::default(),
            kept: Default::default(),
        });
        registry.start_waker();
        registry
    }

    pub(super) fn slots(&self) -> &Slots {
        &self.shared.slots
    }

    /// What asking for a session that is not in the table gets.
    pub(super) fn missing(&self, name_or_id: &str) -> SessionError {
        let unrestored = self.unrestored.read().unwrap_or_else(|p| p.into_inner());
        match unrestored.get(name_or_id) {
            Some(e) => SessionError::Unrestored {
                name: name_or_id.to_string(),
                error: e.clone(),
            },
            // The store lost writes: the session may be among what was lost.
            None if self.shared.store.health().lost_commits => SessionError::MaybeLost {
                name: name_or_id.to_string(),
                damage: self.shared.store.health().damage.join("; "),
            },
            None => SessionError::NotFound(name_or_id.to_string()),
        }
    }

    /// A session's summary, by name or id, awake or asleep; never wakes it.
    pub fn info(&self, name_or_id: &str) -> Result<SessionInfo, SessionError> {
        match self.slots().lookup(name_or_id) {
            Some(Found::Awake(h)) => Ok(self.placed(h.info())),
            Some(Found::Asleep(info)) => Ok(self.placed(*info)),
            None => Err(self.missing(name_or_id)),
        }
    }

    /// The handle of an awake session, by name or id; never wakes one.
    pub fn awake(&self, name_or_id: &str) -> Option<SessionHandle> {
        match self.slots().lookup(name_or_id) {
            Some(Found::Awake(h)) => Some(h),
            _ => None,
        }
    }

    /// Waits until the session settles (see [`SessionHandle::wait`]). An asleep
    /// session is settled: its state is the answer, and it stays asleep.
    pub async fn wait(
        &self,
        name_or_id: &str,
        timeout: Option<Duration>,
    ) -> Result<(SessionState, bool), SessionError> {
        match self.slots().lookup(name_or_id) {
            Some(Found::Awake(h)) => h.wait(timeout).await,
            // Run by another node: what it stores shows here at each heartbeat.
            Some(Found::Asleep(info)) if self.shared.fleet.active() && !info.state.is_settled() => {
                self.wait_elsewhere(&info.id, timeout).await
            }
            Some(Found::Asleep(info)) => Ok((info.state, false)),
            None => Err(self.missing(name_or_id)),
        }
    }

    /// Every session's summary, oldest first.
    pub fn list(&self) -> Vec<SessionInfo> {
        let list = self.slots().list();
        if !self.shared.fleet.active() {
            return list;
        }
        list.into_iter().map(|i| self.placed(i)).collect()
    }

    /// Appends every session's summary, oldest first, to `out` as
    /// `session.list`'s result in `shape`: written from the table, with no copy
    /// of it in between (issue 13).
    pub fn write_list(&self, shape: &ListShape, out: &mut Vec<u8>) -> serde_json::Result<()> {
        if !self.shared.fleet.active() {
            return self.slots().write_list(shape, out);
        }
        // On a fleet each summary gets its node from the leases (issue 16):
        // copied, as a fleet's list is not issue 13's 100,000 sessions.
        let list = self.list();
        super::slots::write_sorted(list.iter(), list.len(), shape, out)
    }

    /// One session's summary, by id, awake or asleep (nothing is woken); `None`
    /// once it is gone. Delta list feeds look changed sessions up with it when they send.
    pub fn info_of(&self, id: &str) -> Option<SessionInfo> {
        self.info(id).ok()
    }

    /// How many sessions there are, and how many of them are awake.
    pub fn counts(&self) -> (usize, usize) {
        self.slots().counts()
    }

    fn free_name(&self, cwd: &str) -> String {
        let base = name_base(cwd);
        let taken = |n: &str| self.slots().name_taken(n);
        if !taken(&base) {
            return base;
        }
        (2..)
            .map(|i| format!("{base}-{i}"))
            .find(|n| !taken(n))
            .unwrap_or(base)
    }

    /// A free name for a session that gets a worktree (issue 15): also one whose
    /// branch `tether/NAME` is not in the repository yet (a worktree kept by an
    /// earlier kill keeps its branch).
    async fn free_worktree_name(&self, cwd: &str) -> String {
        let base = name_base(cwd);
        let candidates =
            std::iter::once(base.clone()).chain((2..1000).map(|i| format!("{base}-{i}")));
        for n in candidates {
            if !self.slots().name_taken(&n)
                && !crate::worktree::branch_exists(Path::new(cwd), &n).await
            {
                return n;
            }
        }
        self.free_name(cwd)
    }

    /// Creates a session (and sends its first message, if given). The first
    /// message and a request key are stored in the session's own transaction.
    pub async fn create(
        &self,
        params: CreateParams,
        key: Option<crate::store::KeyRecord>,
    ) -> Result<SessionInfo, SessionError> {
        let (config, error) = self.shared.config.load();
        if let Some(e) = error {
            return Err(SessionError::Config(e));
        }
        let node = self.placement(params.node.as_deref(), params.portable)?;
        let here = node == self.shared.fleet.node;
        if !here {
            self.node_up(&node).await?;
        }
        let cwd = Path::new(&params.cwd);
        if !cwd.is_absolute() {
            return Err(SessionError::CwdNotAbsolute(params.cwd));
        }
        // Placed on another node, the directory is that node's to have.
        if here && !cwd.is_dir() {
            return Err(SessionError::CwdNotADirectory(params.cwd));
        }
        super::budget::check(params.max_tokens, params.max_cost_usd)?;
        if here {
            crate::tools::ToolManager::check_servers(&params.mcp_servers, cwd)
                .map_err(SessionError::BadServer)?;
        }
        let model = params
            .model
            .clone()
            .unwrap_or_else(|| config.default_model.clone());
        config
            .resolve(&model, self.shared.config.path())
            .map_err(SessionError::NoProvider)?;
        let _one_at_a_time = self.create.lock().await;
        let name = match params.name {
            Some(n) if !valid_name(&n) => {
                return Err(SessionError::BadName(n));
            }
            Some(n) => {
                if self.slots().lookup(&n).is_some() {
                    return Err(SessionError::NameTaken(n));
                }
                n
            }
            None if params.worktree.is_some() => self.free_worktree_name(&params.cwd).await,
            None => self.free_name(&params.cwd),
        };
        // Made under the lock, once the name is sure: the name is the branch's.
        // Undone below should the session not be stored, so the two come and
        // go together as far as the user sees.
        let worktree = match &params.worktree {
            Some(w) => Some(
                crate::worktree::create(
                    cwd,
                    &name,
                    w.base.as_deref(),
                    config.worktrees_dir.as_deref(),
                )
                .await
                .map_err(SessionError::Worktree)?,
            ),
            None => None,
        };
        let cwd = worktree
            .as_ref()
            .map_or_else(|| params.cwd.clone(), |w| w.path.clone());
        let now = now_rfc3339();
        let row = SessionRow {
            id: new_id("s"),
            name: name.clone(),
            model: model.clone(),
            cwd: cwd.clone(),
            instructions: params.instructions.clone().filter(|s| !s.trim().is_empty()),
            created_at: now.clone(),
            updated_at: now.clone(),
            last_seq: 1,
            usage: Default::default(),
            cost_usd: 0.0,
            budget: config.limits.budget(params.max_tokens, params.max_cost_usd),
            mcp_servers: params.mcp_servers.clone(),
            worktree,
        };
        let first = Event {
            seq: 1,
            ts: now,
            kind: EventKind::SessionCreated {
                name: name.clone(),
                model,
                cwd,
                instructions: row.instructions.clone(),
            },
        };
        let prompt = params.prompt.filter(|p| !p.trim().is_empty());
        // A retry is answered with this should the daemon die before the
        // final summary is stored.
        let key = key.map(|mut k| {
            let state = if prompt.is_some() {
                tether_shared::SessionState::Running
            } else {
                tether_shared::SessionState::Idle
            };
            k.result =
                serde_json::to_value(summary(&row, state, vec![], 0, 0, None)).unwrap_or_default();
            k
        });
        let stored = self
            .shared
            .store
            .create_session_keyed(
                row.clone(),
                vec![first],
                prompt.clone().map(|p| (p, Delivery::Queue)),
                key,
            )
            .await;
        let input = match stored {
            Ok(input) => input,
            Err(e) => {
                if let Some(w) = &row.worktree {
                    crate::worktree::discard(w).await;
                }
                return Err(match e {
                    crate::store::StoreError::NameTaken(n) => SessionError::NameTaken(n),
                    e => SessionError::NotCreated(e),
                });
            }
        };
        if self.shared.fleet.active() {
            let fleet = &self.shared.fleet;
            self.shared
                .store
                .lease_place(
                    &row.id,
                    &node,
                    &fleet.node,
                    params.portable,
                    fleet.lease_ms(),
                )
                .await
                .map_err(SessionError::NotCreated)?;
            if !here {
                // The node it is placed on takes it (and its first input) at its
                // next heartbeat.
                let (config, _) = self.shared.config.load();
                let entry = crate::store::IndexEntry {
                    row: row.clone(),
                    state: tether_shared::SessionState::Idle,
                    state_at: None,
                    last_error: None,
                    turn_open: false,
                    queued_inputs: usize::from(input.is_some()),
                    processes: false,
                    pending_approvals: Vec::new(),
                };
                let info = super::asleep::asleep_info_of(&entry, &config);
                self.slots().insert(
                    &row.id,
                    &row.name,
                    Slot::Asleep(std::sync::Arc::new(info.clone())),
                );
                drop(_one_at_a_time);
                info!(session = %name, node = %node, "session created for another node");
                self.shared.list_changed(&row.id);
                let mut info = self.placed(info);
                info.node = Some(node);
                info.portable = params.portable;
                return Ok(info);
            }
            fleet.hold(&row.id);
        }
        // Registered with the tools first: the actor reports what is broken for it
        // once its servers had a chance to start.
        self.shared
            .tools
            .attach_session(&row.id, Path::new(&row.cwd), &row.mcp_servers)
            .await;
        // Read before the actor starts: its first model call has the project file.
        self.shared
            .project
            .attach(&row.id, Path::new(&row.cwd))
            .await;
        let has_prompt = prompt.is_some();
        let inputs = match (input, prompt) {
            (Some(id), Some(text)) => vec![crate::store::QueuedInput {
                id,
                text,
                delivery: Delivery::Queue,
                schedule: None,
            }],
            _ => Vec::new(),
        };
        let handle = spawn_new(row, self.shared.clone(), self.cancel.child_token(), inputs);
        self.slots()
            .insert(&handle.id, &handle.name, Slot::Awake(handle.clone()));
        drop(_one_at_a_time);
        if has_prompt {
            // The actor takes its first input before any command: once it answers
            // one, the summary shows the turn that input started.
            let _ = handle.subscribe().await;
        }
        info!(session = %name, "session created");
        self.shared.list_changed(&handle.id);
        Ok(self.placed(handle.info()))
    }

    /// Forks a session: a new one with the same model, directory and instructions
    /// whose log is `session`'s up to `at` (its last seq when absent), settled and
    /// idle (see `fork.rs`). The original is only read. The copy, what closes it
    /// and a request key are stored in one transaction.
    pub async fn fork(
        &self,
        params: ForkParams,
        key: Option<crate::store::KeyRecord>,
    ) -> Result<SessionInfo, SessionError> {
        // Only read: an asleep source stays asleep.
        let source = self.info(&params.session)?;
        let at = params.at.unwrap_or(source.last_seq);
        if at == 0 || at > source.last_seq {
            return Err(SessionError::NoSuchSeq {
                name: source.name,
                at,
                last: source.last_seq,
            });
        }
        if !valid_name(&params.name) {
            return Err(SessionError::BadName(params.name));
        }
        // Events up to `at` never change, so what is read here is what is copied.
        let tail = self
            .shared
            .store
            .turn_at(&source.id, at)
            .await
            .map_err(SessionError::NotCreated)?;
        let closing = super::fork::settle(&tail, &source.name, &source.id, at);
        let _one_at_a_time = self.create.lock().await;
        if self.slots().lookup(&params.name).is_some() {
            return Err(SessionError::NameTaken(params.name));
        }
        let now = now_rfc3339();
        let row = SessionRow {
            id: new_id("s"),
            name: params.name.clone(),
            model: source.model.clone(),
            cwd: source.cwd.clone(),
            instructions: source.instructions.clone(),
            created_at: now.clone(),
            updated_at: now.clone(),
            last_seq: at + closing.len() as u64,
            usage: Default::default(),
            cost_usd: 0.0,
            // A fork spends on its own, under the same budget as its source.
            budget: source.budget,
            // Servers an editor gave the source are its own (issue 12).
            mcp_servers: Vec::new(),
            // The source's worktree stays the source's: the fork works in it
            // too, but killing the fork leaves it alone (issue 15).
            worktree: None,
        };
        let head = Event {
            seq: 1,
            ts: now.clone(),
            kind: EventKind::SessionCreated {
                name: row.name.clone(),
                model: row.model.clone(),
                cwd: row.cwd.clone(),
                instructions: row.instructions.clone(),
            },
        };
        let tail: Vec<Event> = closing
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Event {
                seq: at + 1 + i as u64,
                ts: now.clone(),
                kind,
            })
            .collect();
        let key = key.map(|mut k| {
            k.result = serde_json::to_value(summary(
                &row,
                tether_shared::SessionState::Idle,
                vec![],
                0,
                0,
                None,
            ))
            .unwrap_or_default();
            k
        });
        self.shared
            .store
            .fork_session_keyed(&source.id, at, row.clone(), head, tail, key)
            .await
            .map_err(|e| match e {
                crate::store::StoreError::NameTaken(n) => SessionError::NameTaken(n),
                crate::store::StoreError::SessionGone(_) => {
                    SessionError::NotFound(params.session.clone())
                }
                e => SessionError::NotCreated(e),
            })?;
        if self.shared.fleet.active() {
            let fleet = &self.shared.fleet;
            self.shared
                .store
                .lease_place(&row.id, &fleet.node, &fleet.node, false, fleet.lease_ms())
                .await
                .map_err(SessionError::NotCreated)?;
            fleet.hold(&row.id);
        }
        // Started the way a restart starts it: what the fork stored leaves
        // recovery nothing to resume, and this is where that is relied on.
        // Stored: should this fail, the next start restores it, or says why not.
        let handle = self
            .spawn_stored(row.clone(), (0, 0))
            .await
            .map_err(SessionError::NotCreated)?;
        self.slots()
            .insert(&handle.id, &handle.name, Slot::Awake(handle.clone()));
        drop(_one_at_a_time);
        info!(session = %row.name, from = %source.name, at, "session forked");
        self.shared.list_changed(&handle.id);
        Ok(self.placed(handle.info()))
    }

    /// Stops a session and deletes it with its history; a request key is stored
    /// in the deletion's transaction. An asleep session is deleted without
    /// being woken (it has no actor, tools or processes to stop). Its git
    /// worktree, if it has one, is removed with its branch only when nothing in
    /// it would be lost (issue 15), once the session is deleted; the outcome
    /// says which.
    pub async fn kill(
        &self,
        name_or_id: &str,
        key: Option<crate::store::KeyRecord>,
    ) -> Result<(String, Option<WorktreeOutcome>), SessionError> {
        // Under the waking lock, so the session cannot wake or fall asleep
        // between the look and the removal; released before the stop, which
        // waits for an actor that may itself be waiting for that lock.
        let found = {
            let _one_at_a_time = self.slots().waking.lock().await;
            let found = self
                .slots()
                .lookup(name_or_id)
                .ok_or_else(|| self.missing(name_or_id))?;
            let (id, name, worktree) = match &found {
                Found::Awake(h) => (h.id.clone(), h.name.clone(), h.info().worktree),
                Found::Asleep(info) => (info.id.clone(), info.name.clone(), info.worktree.clone()),
            };
            // A session another node runs is killed there (issue 16): its lease
            // is needed here first.
            self.acquire(&id, &name).await?;
            self.slots().remove(&id);
            // Gone from the list now, whatever happens to the deletion below.
            self.shared.list_removed(&id);
            (id, name, worktree, found)
        };
        let (id, name, worktree, found) = found;
        if let Found::Awake(handle) = found {
            handle.stop().await;
            self.shared.tools.detach_session(&id).await;
            self.shared.project.detach(&id).await;
        }
        // Judged once nothing of the session runs in it any more, and before
        // the deletion, whose key records what a retry is told.
        let verdict = match &worktree {
            Some(w) => Some(crate::worktree::verdict(w).await),
            None => None,
        };
        let told = match (&worktree, &verdict) {
            (Some(w), Some(v)) => Some(crate::worktree::foreseen(w, v)),
            _ => None,
        };
        self.shared
            .store
            .delete_session_keyed(
                &id,
                key.map(|mut k| {
                    k.result = serde_json::to_value(KillResult {
                        id: id.clone(),
                        worktree: told,
                    })
                    .unwrap_or_else(|_| serde_json::json!({ "id": id }));
                    k
                }),
            )
            .await
            .map_err(SessionError::NotDeleted)?;
        // Its lease went with it.
        self.shared.fleet.lose(&id, None);
        info!(session = %name, "session killed");
        let outcome = match (worktree, verdict) {
            (Some(w), Some(v)) => Some(crate::worktree::finish(&w, v).await),
            _ => None,
        };
        Ok((id, outcome))
    }

    /// Stops every session (each persists what it has).
    pub async fn stop_all(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let handles = self.slots().awake();
        futures::future::join_all(handles.iter().map(|h| h.stop())).await;
    }
}

/// The name a session in `cwd` is given when it asks for none: the
/// directory's last part, in the characters a name may have.
fn name_base(cwd: &str) -> String {
    let base: String = Path::new(cwd)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_start_matches('-')
        .chars()
        .take(48)
        .collect();
    if base.is_empty() {
        "session".to_string()
    } else {
        base
    }
}
