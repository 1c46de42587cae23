//! Waking (issue 13): what the start-up index says of a session (asleep, or
//! with work that needs its actor now), the summary an asleep session shows,
//! and [`Registry::get`], which wakes a session through the restore path the
//! first time something needs its actor. The waker task delivers the commands
//! an actor handed back as it fell asleep (`sleep.rs`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tether_shared::protocol::CostBasis;
use tracing::{Instrument, debug, info, warn};

use super::asleep::{asleep_info, has_work};
use super::error::SessionError;
use super::handle::Redelivery;
use super::registry::Registry;
use super::slots::{Found, Slot};
use super::{SessionHandle, spawn_restored};
use crate::store::{SessionRow, StoreError};

/// How many times a command is handed back before it is given up (its caller
/// hears that the session stopped): only an actor that keeps ending as it
/// starts gets there.
const MAX_HOPS: u8 = 16;

impl Registry {
    /// Restores every stored session from the store's index (issue 13): those
    /// with work (a turn to recover, queued inputs, a pending approval, leftover
    /// processes) get their actor now; the others are asleep until first used,
    /// all put in the table under one lock. When none has work, the summaries
    /// are the start-up's list too (`early.rs`), from the moment they are made
    /// until [`Registry::end_early`].
    /// Returns how many sessions there are.
    pub async fn restore(&self) -> anyhow::Result<usize> {
        let t0 = std::time::Instant::now();
        if self.shared.fleet.active() {
            // A fleet's list shows each session's node, from its leases: no
            // start-up list before they are read and the summaries placed.
            self.early.gone();
        }
        let entries = match self.shared.store.index().await {
            Ok(entries) => entries,
            Err(e) => {
                self.early.gone();
                return Err(e.into());
            }
        };
        let n = entries.len();
        let (config, _) = self.shared.config.load();
        let fleet = self.shared.fleet.clone();
        let leases = if fleet.active() {
            self.shared.store.leases().await?
        } else {
            Vec::new()
        };
        fleet.set_view(leases.clone());
        // Sessions share a few models: each one's price source is looked up once.
        let mut bases: HashMap<String, CostBasis> = HashMap::new();
        let mut with_work = Vec::new();
        // Each summary made in its place (no vector of them in between: at
        // 100,000 sessions each copy is tens of MB of fresh pages).
        let mut asleep = Vec::with_capacity(n);
        for entry in entries {
            let mut held = true;
            if fleet.active() {
                // Ours from before a restart, or free with work: taken now; the
                // others are another node's (or the heartbeat's to take over).
                let lease = leases.iter().find(|l| l.session_id == entry.row.id);
                let ours = lease.is_some_and(|l| l.owner.as_deref() == Some(fleet.node.as_str()));
                let free = lease.is_none_or(|l| {
                    l.expired
                        || (l.owner.is_none() && l.target.as_ref().is_none_or(|t| *t == fleet.node))
                });
                // A free session that may run here (its directory exists, or
                // it is portable) is taken now too, as the heartbeat would take
                // it a moment later: the first list already shows its node.
                let runs_here =
                    lease.is_some_and(|l| l.portable) || Path::new(&entry.row.cwd).is_dir();
                let take = ours || (free && runs_here);
                held = take && self.acquire(&entry.row.id, &entry.row.name).await.is_ok();
            }
            if held && has_work(&entry) {
                with_work.push(entry);
                continue;
            }
            let basis = match bases.get(&entry.row.model) {
                Some(b) => *b,
                None => {
                    let b = config.cost_basis(&entry.row.model);
                    bases.insert(entry.row.model.clone(), b);
                    b
                }
            };
            asleep.push(Arc::new(asleep_info(entry, basis)));
        }
        let asleep = Arc::new(asleep);
        debug!(
            sessions = n,
            with_work = with_work.len(),
            index_ms = t0.elapsed().as_millis() as u64,
            "start-up index read"
        );
        if with_work.is_empty() && !fleet.active() {
            self.early.ready(asleep.clone());
        } else {
            if !with_work.is_empty() {
                self.end_kept().await;
            }
            self.early.gone();
        }
        self.slots().insert_asleep(&asleep);
        drop(asleep);
        for entry in with_work {
            let (id, name) = (entry.row.id.clone(), entry.row.name.clone());
            match self.spawn_stored(entry.row, (0, 0)).await {
                Ok(h) => self.slots().insert(&id, &name, Slot::Awake(h)),
                Err(e) => {
                    warn!(session = %name, error = %e, "could not restore session");
                    self.unrestored
                        .write()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(name, e.to_string());
                }
            }
        }
        Ok(n)
    }

    /// Starts the task that delivers handed-back commands: each to the
    /// session's actor, woken for it.
    pub(super) fn start_waker(self: &Arc<Self>) {
        let taken = self
            .slots()
            .redelivered
            .lock()
            .ok()
            .and_then(|mut rx| rx.take());
        let Some(mut rx) = taken else { return };
        let registry = Arc::downgrade(self);
        let cancel = self.cancel.clone();
        let tracker = self.shared.tracker.clone();
        self.shared.tracker.spawn(
            async move {
                loop {
                    let r = tokio::select! {
                        _ = cancel.cancelled() => return,
                        r = rx.recv() => r,
                    };
                    let (Some(r), Some(registry)) = (r, registry.upgrade()) else {
                        return;
                    };
                    // One task each: a wake, or a busy actor's full channel,
                    // holds up only its own command.
                    tracker.spawn(async move { registry.redelivered(r).await }.in_current_span());
                }
            }
            .in_current_span(),
        );
    }

    async fn redelivered(&self, r: Redelivery) {
        if r.hops >= MAX_HOPS {
            warn!(session = %r.id, "a command kept finding the session's actor gone; dropped");
            return;
        }
        match self.get(&r.id).await {
            // An awake slot whose actor has ended: it stopped (or died); the
            // caller hears so when the command is dropped.
            Ok(h) if h.is_closed() => {}
            Ok(h) => h.deliver(r.command, r.hops + 1).await,
            Err(_) => {}
        }
    }

    /// The handle of a session, by name or id, waking it if it sleeps: what
    /// every use that needs the actor goes through.
    pub async fn get(&self, name_or_id: &str) -> Result<SessionHandle, SessionError> {
        let id = match self.slots().lookup(name_or_id) {
            Some(Found::Awake(h)) => return Ok(h),
            Some(Found::Asleep(info)) => info.id,
            None => return Err(self.missing(name_or_id)),
        };
        let _one_at_a_time = self.slots().waking.lock().await;
        // Looked at again: it may have woken (or been killed) meanwhile.
        let (name, context_use) = match self.slots().lookup(&id) {
            Some(Found::Awake(h)) => return Ok(h),
            Some(Found::Asleep(info)) => (info.name, (info.context_tokens, info.context_window)),
            None => return Err(self.missing(name_or_id)),
        };
        if self.stopping.load(Ordering::SeqCst) {
            return Err(SessionError::Stopped);
        }
        self.acquire(&id, &name).await?;
        let row = match self.shared.store.session(&id).await {
            Ok(Some(row)) => row,
            Ok(None) => {
                self.slots().remove(&id);
                return Err(self.missing(name_or_id));
            }
            Err(e) => {
                return Err(SessionError::Unrestored {
                    name,
                    error: e.to_string(),
                });
            }
        };
        let handle =
            self.spawn_stored(row, context_use)
                .await
                .map_err(|e| SessionError::Unrestored {
                    name: name.clone(),
                    error: e.to_string(),
                })?;
        self.slots()
            .insert(&handle.id, &handle.name, Slot::Awake(handle.clone()));
        info!(session = %name, "session woken");
        Ok(handle)
    }

    /// Starts the actor of a stored session the way a restart does: tools and
    /// project file first, then `spawn_restored` (recovery included). On an
    /// error nothing stays attached.
    pub(super) async fn spawn_stored(
        &self,
        row: SessionRow,
        context_use: (u64, u64),
    ) -> Result<SessionHandle, StoreError> {
        let id = row.id.clone();
        // Registered with the tools first: the actor reports what is broken for
        // it once its servers had a chance to start.
        self.shared
            .tools
            .attach_session(&row.id, Path::new(&row.cwd), &row.mcp_servers)
            .await;
        // Read before the actor starts: its first model call has the project file.
        self.shared
            .project
            .attach(&row.id, Path::new(&row.cwd))
            .await;
        let cancel = self.cancel.child_token();
        match spawn_restored(row, self.shared.clone(), cancel, context_use).await {
            Ok(h) => Ok(h),
            Err(e) => {
                self.shared.tools.detach_session(&id).await;
                self.shared.project.detach(&id).await;
                Err(e)
            }
        }
    }
}
