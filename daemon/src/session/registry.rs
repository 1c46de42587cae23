//! The registry of sessions: creates, finds, lists, restores and removes them.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use tether_shared::protocol::{CreateParams, ForkParams, SessionInfo};
use tether_shared::{Delivery, Event, EventKind};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::error::SessionError;
use super::{SessionHandle, SessionShared, spawn_new, spawn_restored, summary};
use crate::store::SessionRow;
use crate::util::{new_id, now_rfc3339};

/// All sessions of the daemon.
pub struct Registry {
    shared: Arc<SessionShared>,
    sessions: RwLock<HashMap<String, SessionHandle>>,
    // Creation checks the name, then stores: one at a time keeps names unique.
    create: tokio::sync::Mutex<()>,
    cancel: CancellationToken,
    /// Sessions the store could not restore (a damaged `tether.db`), by name:
    /// asking for one gets that error, not "no such session".
    unrestored: RwLock<HashMap<String, String>>,
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
    /// An empty registry.
    pub fn new(shared: Arc<SessionShared>, cancel: CancellationToken) -> Self {
        Registry {
            shared,
            sessions: RwLock::new(HashMap::new()),
            create: tokio::sync::Mutex::new(()),
            cancel,
            unrestored: RwLock::new(HashMap::new()),
        }
    }

    /// Restores every stored session; returns how many.
    pub async fn restore(&self) -> anyhow::Result<usize> {
        let rows = self.shared.store.sessions().await?;
        let n = rows.len();
        for row in rows {
            let name = row.name.clone();
            let id = row.id.clone();
            self.shared
                .tools
                .attach_session(&row.id, Path::new(&row.cwd), &row.mcp_servers)
                .await;
            self.shared
                .project
                .attach(&row.id, Path::new(&row.cwd))
                .await;
            match spawn_restored(row, self.shared.clone(), self.cancel.child_token()).await {
                Ok(h) => {
                    self.write().insert(h.id.clone(), h);
                }
                Err(e) => {
                    warn!(session = %name, error = %e, "could not restore session");
                    self.shared.tools.detach_session(&id).await;
                    self.shared.project.detach(&id).await;
                    self.unrestored
                        .write()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(name, e.to_string());
                }
            }
        }
        Ok(n)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, SessionHandle>> {
        self.sessions.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, SessionHandle>> {
        self.sessions.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Finds a session by name or id.
    pub fn find(&self, name_or_id: &str) -> Result<SessionHandle, SessionError> {
        let map = self.read();
        if let Some(h) = map.get(name_or_id) {
            return Ok(h.clone());
        }
        if let Some(h) = map.values().find(|h| h.name == name_or_id) {
            return Ok(h.clone());
        }
        let unrestored = self.unrestored.read().unwrap_or_else(|p| p.into_inner());
        match unrestored.get(name_or_id) {
            Some(e) => Err(SessionError::Unrestored {
                name: name_or_id.to_string(),
                error: e.clone(),
            }),
            // The store lost writes: the session may be among what was lost.
            None if self.shared.store.health().lost_commits => Err(SessionError::MaybeLost {
                name: name_or_id.to_string(),
                damage: self.shared.store.health().damage.join("; "),
            }),
            None => Err(SessionError::NotFound(name_or_id.to_string())),
        }
    }

    /// Every session's summary, oldest first.
    pub fn list(&self) -> Vec<SessionInfo> {
        let mut v: Vec<SessionInfo> = self.read().values().map(|h| h.info()).collect();
        v.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.name.cmp(&b.name)));
        v
    }

    /// One session's summary, by id; `None` once it is gone. Delta list feeds
    /// look changed sessions up with it when they send.
    pub fn info_of(&self, id: &str) -> Option<SessionInfo> {
        self.read().get(id).map(|h| h.info())
    }

    /// How many sessions there are.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    fn free_name(&self, cwd: &str) -> String {
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
        let base = if base.is_empty() {
            "session".to_string()
        } else {
            base
        };
        let map = self.read();
        let taken = |n: &str| map.values().any(|h| h.name == n);
        if !taken(&base) {
            return base;
        }
        (2..)
            .map(|i| format!("{base}-{i}"))
            .find(|n| !taken(n))
            .unwrap_or(base)
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
        let cwd = Path::new(&params.cwd);
        if !cwd.is_absolute() {
            return Err(SessionError::CwdNotAbsolute(params.cwd));
        }
        if !cwd.is_dir() {
            return Err(SessionError::CwdNotADirectory(params.cwd));
        }
        super::budget::check(params.max_tokens, params.max_cost_usd)?;
        crate::tools::ToolManager::check_servers(&params.mcp_servers, cwd)
            .map_err(SessionError::BadServer)?;
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
                if self.find(&n).is_ok() {
                    return Err(SessionError::NameTaken(n));
                }
                n
            }
            None => self.free_name(&params.cwd),
        };
        let now = now_rfc3339();
        let row = SessionRow {
            id: new_id("s"),
            name: name.clone(),
            model: model.clone(),
            cwd: params.cwd.clone(),
            instructions: params.instructions.clone().filter(|s| !s.trim().is_empty()),
            created_at: now.clone(),
            updated_at: now.clone(),
            last_seq: 1,
            usage: Default::default(),
            cost_usd: 0.0,
            budget: config.limits.budget(params.max_tokens, params.max_cost_usd),
            mcp_servers: params.mcp_servers.clone(),
        };
        let first = Event {
            seq: 1,
            ts: now,
            kind: EventKind::SessionCreated {
                name: name.clone(),
                model,
                cwd: params.cwd,
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
        let input = self
            .shared
            .store
            .create_session_keyed(
                row.clone(),
                vec![first],
                prompt.clone().map(|p| (p, Delivery::Queue)),
                key,
            )
            .await
            .map_err(|e| match e {
                crate::store::StoreError::NameTaken(n) => SessionError::NameTaken(n),
                e => SessionError::NotCreated(e),
            })?;
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
            }],
            _ => Vec::new(),
        };
        let handle = spawn_new(row, self.shared.clone(), self.cancel.child_token(), inputs);
        self.write().insert(handle.id.clone(), handle.clone());
        drop(_one_at_a_time);
        if has_prompt {
            // The actor takes its first input before any command: once it answers
            // one, the summary shows the turn that input started.
            let _ = handle.subscribe().await;
        }
        info!(session = %name, "session created");
        self.shared.list_changed(&handle.id);
        Ok(handle.info())
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
        let source = self.find(&params.session)?.info();
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
        if self.find(&params.name).is_ok() {
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
        self.shared
            .tools
            .attach_session(&row.id, Path::new(&row.cwd), &row.mcp_servers)
            .await;
        // Started the way a restart starts it: what the fork stored leaves
        // recovery nothing to resume, and this is where that is relied on.
        let handle =
            match spawn_restored(row.clone(), self.shared.clone(), self.cancel.child_token()).await
            {
                Ok(h) => h,
                Err(e) => {
                    // Stored: the next start restores it, or says why not.
                    self.shared.tools.detach_session(&row.id).await;
                    return Err(SessionError::NotCreated(e));
                }
            };
        self.write().insert(handle.id.clone(), handle.clone());
        drop(_one_at_a_time);
        info!(session = %row.name, from = %source.name, at, "session forked");
        self.shared.list_changed(&handle.id);
        Ok(handle.info())
    }

    /// Stops a session and deletes it with its history; a request key is stored
    /// in the deletion's transaction.
    pub async fn kill(
        &self,
        name_or_id: &str,
        key: Option<crate::store::KeyRecord>,
    ) -> Result<String, SessionError> {
        let handle = self.find(name_or_id)?;
        self.write().remove(&handle.id);
        // Gone from the list now, whatever happens to the deletion below.
        self.shared.list_removed(&handle.id);
        handle.stop().await;
        self.shared.tools.detach_session(&handle.id).await;
        self.shared.project.detach(&handle.id).await;
        self.shared
            .store
            .delete_session_keyed(
                &handle.id,
                key.map(|mut k| {
                    k.result = serde_json::json!({ "id": handle.id });
                    k
                }),
            )
            .await
            .map_err(SessionError::NotDeleted)?;
        info!(session = %handle.name, "session killed");
        Ok(handle.id)
    }

    /// Stops every session (each persists what it has).
    pub async fn stop_all(&self) {
        let handles: Vec<SessionHandle> = self.read().values().cloned().collect();
        futures::future::join_all(handles.iter().map(|h| h.stop())).await;
    }
}
