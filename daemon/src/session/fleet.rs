//! The registry on a fleet (issue 16): which sessions this node runs. A session's
//! actor runs only on the node holding its lease ([`Registry::acquire`], taken
//! before any actor starts). The heartbeat ([`Registry::start_fleet`]) renews the
//! leases every third of `[fleet] lease_s`, stops the actors of leases lost (a
//! node paused past its lease), hands sessions on that a `move` asked for (at
//! their next step boundary, in the actor), takes over the sessions whose owner
//! died (through the restore path, so recovery is the usual one), and keeps the
//! list of the sessions of the other nodes fresh. Off a fleet none of it runs.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tether_shared::protocol::{MoveResult, SessionInfo};
use tracing::{Instrument, info, warn};

use super::asleep::{asleep_info_of, has_work};
use super::error::SessionError;
use super::registry::Registry;
use super::slots::{Found, Slot};
use crate::store::{Grant, IndexEntry, Lease};

impl Registry {
    /// `info` with its node, on a fleet.
    pub(super) fn placed(&self, mut info: SessionInfo) -> SessionInfo {
        let fleet = &self.shared.fleet;
        if fleet.active() {
            info.node = fleet.node_of(&info.id);
            info.portable = fleet.portable(&info.id);
        }
        info
    }

    /// Takes session `id`'s lease for this node: needed before its actor starts
    /// here. Off a fleet this node always has it.
    pub(super) async fn acquire(&self, id: &str, name: &str) -> Result<(), SessionError> {
        let fleet = &self.shared.fleet;
        if !fleet.active() || fleet.holds(id) {
            return Ok(());
        }
        match self
            .shared
            .store
            .lease_acquire(id, &fleet.node, fleet.lease_ms())
            .await
        {
            Ok(Grant::Held(fence)) => {
                info!(session = %name, fence, "lease acquired");
                fleet.hold(id);
                Ok(())
            }
            Ok(Grant::Elsewhere(node)) => Err(SessionError::Elsewhere {
                name: name.to_string(),
                node,
            }),
            Err(e) => Err(SessionError::Unrestored {
                name: name.to_string(),
                error: e.to_string(),
            }),
        }
    }

    /// Checks a `session.create`'s placement: the node to run the new session
    /// on (this one when `node` is absent). Off a fleet only this node exists.
    pub(super) fn placement(
        &self,
        node: Option<&str>,
        portable: bool,
    ) -> Result<String, SessionError> {
        let fleet = &self.shared.fleet;
        let node = node.unwrap_or(&fleet.node);
        if !fleet.active() {
            if node != fleet.node {
                return Err(SessionError::NoFleet(format!(
                    "cannot place a session on node {node:?} (this daemon is node {:?})",
                    fleet.node
                )));
            }
            if portable {
                return Err(SessionError::NoFleet("--portable".into()));
            }
        }
        Ok(node.to_string())
    }

    /// Checks that node `node` is up (its heartbeat seen within two leases).
    pub(super) async fn node_up(&self, node: &str) -> Result<(), SessionError> {
        let fleet = &self.shared.fleet;
        if node == fleet.node {
            return Ok(());
        }
        let up = self
            .shared
            .store
            .live_nodes(2 * fleet.lease_ms())
            .await
            .map_err(SessionError::NotCreated)?;
        if up.iter().any(|n| n == node) {
            return Ok(());
        }
        Err(SessionError::NoSuchNode {
            node: node.to_string(),
            up,
        })
    }

    /// `session.move`: hands the session to `to` at its next step boundary.
    pub async fn move_to(&self, name_or_id: &str, to: &str) -> Result<MoveResult, SessionError> {
        let info = self.info(name_or_id)?;
        let fleet = &self.shared.fleet;
        let from = info.node.clone().unwrap_or_else(|| fleet.node.clone());
        let result = |already| MoveResult {
            id: info.id.clone(),
            from: from.clone(),
            to: to.to_string(),
            already,
        };
        if from == to {
            return Ok(result(true));
        }
        if !fleet.active() {
            return Err(SessionError::NoFleet(format!(
                "cannot move {:?} to node {to:?}",
                info.name
            )));
        }
        self.node_up(to).await?;
        self.shared
            .store
            .lease_move(&info.id, to)
            .await
            .map_err(SessionError::NotCreated)?;
        if fleet.holds(&info.id) {
            // Ours: no need to wait for the heartbeat to see it.
            self.hand_over(&info.id, to).await;
        }
        info!(session = %info.name, from = %from, to = %to, "move asked");
        Ok(result(false))
    }

    /// Hands session `id` (held here) to node `to`: an actor does it at its next
    /// step boundary; an asleep session has none to wait for.
    async fn hand_over(&self, id: &str, to: &str) {
        let fleet = &self.shared.fleet;
        match self.slots().lookup(id) {
            Some(Found::Awake(h)) if !h.is_closed() => h.hand_over(to.to_string()).await,
            _ => {
                let _one_at_a_time = self.slots().waking.lock().await;
                if matches!(self.slots().lookup(id), Some(Found::Awake(h)) if !h.is_closed()) {
                    return;
                }
                if let Err(e) = self
                    .shared
                    .store
                    .lease_release(Some(id), &fleet.node, Some(to), fleet.lease_ms())
                    .await
                {
                    warn!(session = %id, error = %e, "could not hand the lease over");
                    return;
                }
                fleet.lose(id, Some(to));
                info!(session = %id, to = %to, "asleep session handed over");
                self.shared.list_changed(id);
            }
        }
    }

    /// Gives up every lease this node holds (a graceful stop, after the
    /// sessions stopped), so other nodes may take them at once.
    pub async fn release_leases(&self) {
        let fleet = &self.shared.fleet;
        if !fleet.active() {
            return;
        }
        match self
            .shared
            .store
            .lease_release(None, &fleet.node, None, fleet.lease_ms())
            .await
        {
            Ok(()) => info!(node = %fleet.node, "leases released"),
            Err(e) => warn!(error = %e, "could not release the leases; they expire on their own"),
        }
    }

    /// Before the first request is served, on a fleet: this node's leases
    /// renewed (those it held before a restart included) and every lease read,
    /// so the first `ls` shows each session's node as every later one does.
    pub async fn first_view(&self) {
        let fleet = &self.shared.fleet;
        if !fleet.active() {
            return;
        }
        let store = &self.shared.store;
        if let Err(e) = store.lease_renew(&fleet.node, fleet.lease_ms()).await {
            warn!(error = %e, "could not renew the leases");
        }
        match store.leases().await {
            Ok(leases) => fleet.set_view(leases),
            Err(e) => warn!(error = %e, "could not read the leases"),
        }
    }

    /// Starts the heartbeat, on a fleet.
    pub fn start_fleet(self: &Arc<Self>) {
        if !self.shared.fleet.active() {
            return;
        }
        let registry = Arc::downgrade(self);
        let cancel = self.cancel.clone();
        let every = self.shared.fleet.heartbeat();
        self.shared.tracker.spawn(
            async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tick.tick() => {}
                    }
                    let Some(registry) = registry.upgrade() else {
                        return;
                    };
                    if registry.stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    registry.beat().await;
                }
            }
            .in_current_span(),
        );
        self.start_wakes();
    }

    /// Listens to the store's wake-ups (`LISTEN/NOTIFY`, issue 16): an input
    /// stored for a session held here is picked up at once, and a session
    /// another node runs shows its new last seq at once (its followers here read
    /// the events from the store). The heartbeat still does both, for a
    /// notification lost; after a reconnect one catch-up reads everything.
    fn start_wakes(self: &Arc<Self>) {
        let Some(mut wakes) = self.shared.store.fleet_wakes() else {
            return;
        };
        let registry = Arc::downgrade(self);
        let cancel = self.cancel.clone();
        self.shared.tracker.spawn(
            async move {
                use tokio::sync::broadcast::error::{RecvError, TryRecvError};
                loop {
                    let first = tokio::select! {
                        _ = cancel.cancelled() => return,
                        w = wakes.recv() => w,
                    };
                    // Whatever else arrived meanwhile is handled with it.
                    let mut batch = Vec::new();
                    let mut catch_up = false;
                    match first {
                        Ok(w) => batch.push(w),
                        Err(RecvError::Lagged(_)) => catch_up = true,
                        Err(RecvError::Closed) => return,
                    }
                    loop {
                        match wakes.try_recv() {
                            Ok(w) => batch.push(w),
                            Err(TryRecvError::Lagged(_)) => catch_up = true,
                            Err(_) => break,
                        }
                    }
                    let Some(registry) = registry.upgrade() else {
                        return;
                    };
                    if registry.stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    registry.woken(batch, catch_up).await;
                }
            }
            .in_current_span(),
        );
    }

    /// Handles a batch of wake-ups.
    async fn woken(&self, batch: Vec<crate::store::FleetWake>, mut catch_up: bool) {
        let fleet = &self.shared.fleet;
        let mut inputs = false;
        let mut stale: Vec<String> = Vec::new();
        for w in batch {
            let Some(id) = w.session else {
                catch_up = true;
                continue;
            };
            if w.input && fleet.holds(&id) {
                inputs = true;
            }
            if w.seq.is_some() && self.slots().lookup(&id).is_none() {
                // A session new to this node: the index brings it in.
                catch_up = true;
            }
            if let Some(q) = w.seq
                && !fleet.holds(&id)
                && let Some(Found::Asleep(shown)) = self.slots().lookup(&id)
                && q > shown.last_seq
                && !stale.contains(&id)
            {
                stale.push(id);
            }
        }
        // What their nodes just stored: state, pending approvals and queued
        // inputs read again at once, not at the next heartbeat, so `ls`,
        // `wait` and attached lists here follow the node that runs them.
        if !catch_up {
            let (config, _) = self.shared.config.load();
            for id in stale {
                match self.shared.store.index_of(&id).await {
                    Ok(Some(entry)) if !fleet.holds(&id) => {
                        if let Some(Found::Asleep(_)) = self.slots().lookup(&id) {
                            let info = asleep_info_of(&entry, &config);
                            self.slots().insert(
                                &id,
                                &entry.row.name,
                                Slot::Asleep(std::sync::Arc::new(info)),
                            );
                            self.shared.list_changed(&id);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        warn!(session = %id, error = %e, "could not read a session's summary")
                    }
                }
            }
        }
        if catch_up {
            match self.shared.store.index().await {
                Ok(index) => self.refresh(&index),
                Err(e) => warn!(error = %e, "could not read the session index"),
            }
        }
        if inputs || catch_up {
            self.pick_up_inputs().await;
        }
    }

    /// One heartbeat: renew, notice what was lost, refresh the list, hand over
    /// what a move asked for, take over what a dead node left.
    async fn beat(&self) {
        let fleet = &self.shared.fleet;
        let store = &self.shared.store;
        // Taken before the renewal: a lease acquired meanwhile (a wake, a
        // create) is not mistaken for one lost.
        let before = fleet.held();
        let still: HashSet<String> = match store.lease_renew(&fleet.node, fleet.lease_ms()).await {
            Ok(ids) => ids.into_iter().collect(),
            Err(e) => {
                warn!(error = %e, "could not renew the leases");
                return;
            }
        };
        let leases = match store.leases().await {
            Ok(l) => l,
            Err(e) => {
                warn!(error = %e, "could not read the leases");
                return;
            }
        };
        fleet.set_view(leases.clone());
        for id in before.difference(&still) {
            if fleet.holds(id) {
                self.lost(id).await;
            }
        }
        let index = match store.index().await {
            Ok(i) => i,
            Err(e) => {
                warn!(error = %e, "could not read the session index");
                return;
            }
        };
        self.refresh(&index);
        for l in &leases {
            if let Some(to) = l.target.as_deref()
                && to != fleet.node
                && l.owner.as_deref() == Some(fleet.node.as_str())
                && fleet.holds(&l.session_id)
            {
                self.hand_over(&l.session_id, to).await;
            }
        }
        for entry in &index {
            let lease = leases.iter().find(|l| l.session_id == entry.row.id);
            if self.may_take(entry, lease) {
                self.take_over(entry).await;
            }
        }
        self.pick_up_inputs().await;
    }

    /// Gives each session this node holds the inputs other nodes stored for it
    /// (its actor takes each once), waking it when it sleeps.
    async fn pick_up_inputs(&self) {
        let fleet = &self.shared.fleet;
        let rows = match self.shared.store.inputs_of_node(&fleet.node).await {
            Ok(rows) => rows,
            Err(e) => {
                warn!(error = %e, "could not read the queued inputs");
                return;
            }
        };
        let mut by_session: Vec<(String, Vec<crate::store::QueuedInput>)> = Vec::new();
        for (id, input) in rows {
            match by_session.iter_mut().find(|(s, _)| *s == id) {
                Some((_, v)) => v.push(input),
                None => by_session.push((id, vec![input])),
            }
        }
        for (id, inputs) in by_session {
            if !fleet.holds(&id) {
                continue;
            }
            // Awake sessions know theirs; only one with an input it never saw
            // is worth waking, and a woken one reads them all from the store.
            match self.slots().lookup(&id) {
                Some(Found::Awake(h)) if !h.is_closed() => h.pick_up(inputs).await,
                _ => {
                    if let Err(e) = self.get(&id).await {
                        warn!(session = %id, error = %e, "could not wake the session for its input");
                    }
                }
            }
        }
    }

    /// `session.send` to a session another node runs: the input is stored (it
    /// is durable when this returns) and that node picks it up at its next
    /// heartbeat. This node's summary counts it at once, so a `wait` here
    /// right after does not return before its turn is over.
    pub async fn send_elsewhere(
        &self,
        name_or_id: &str,
        text: &str,
        delivery: tether_shared::Delivery,
        key: Option<crate::store::KeyRecord>,
    ) -> Result<tether_shared::protocol::SendResult, SessionError> {
        let info = self.info(name_or_id)?;
        let key = key.map(|mut k| {
            k.result = serde_json::to_value(tether_shared::protocol::SendResult {
                input_id: 0,
                state: info.state,
            })
            .unwrap_or_default();
            k
        });
        let input_id = self
            .shared
            .store
            .add_input_keyed(&info.id, text, delivery, key)
            .await
            .map_err(SessionError::InputNotStored)?;
        if let Some(Found::Asleep(mut shown)) = self.slots().lookup(&info.id) {
            shown.queued_inputs += 1;
            self.slots().insert(
                &info.id,
                &info.name,
                Slot::Asleep(std::sync::Arc::new(*shown)),
            );
            self.shared.list_changed(&info.id);
        }
        info!(session = %info.name, input = input_id, node = ?info.node, "input stored for another node");
        Ok(tether_shared::protocol::SendResult {
            input_id,
            state: info.state,
        })
    }

    /// True when this node may take session `entry` over now: nobody holds its
    /// lease (released, or its owner stopped renewing), it is not on its way to
    /// another node that still has time to take it, and it can run here (its
    /// working directory exists, or it is portable).
    fn may_take(&self, entry: &IndexEntry, lease: Option<&Lease>) -> bool {
        let fleet = &self.shared.fleet;
        let id = &entry.row.id;
        if fleet.holds(id) {
            return false;
        }
        let Some(l) = lease else {
            // No row: created before there was a fleet; the first node to need it takes it.
            return has_work(entry) && Path::new(&entry.row.cwd).is_dir();
        };
        let free = match (&l.owner, &l.target) {
            _ if l.expired => true,
            (Some(_), _) => false,
            (None, None) => true,
            (None, Some(t)) => *t == fleet.node,
        };
        free && (l.portable || Path::new(&entry.row.cwd).is_dir())
    }

    /// Takes session `entry` over: acquires its lease, then runs it here when it
    /// has work (the restore path: recovery included), else keeps it asleep.
    async fn take_over(&self, entry: &IndexEntry) {
        let (id, name) = (entry.row.id.clone(), entry.row.name.clone());
        let _one_at_a_time = self.slots().waking.lock().await;
        if self.stopping.load(Ordering::SeqCst) {
            return;
        }
        // Woken here meanwhile (an attach, a send): it is this node's already,
        // and its actor must not be replaced by a summary.
        if self.shared.fleet.holds(&id)
            || matches!(self.slots().lookup(&id), Some(Found::Awake(h)) if !h.is_closed())
        {
            return;
        }
        if let Err(e) = self.acquire(&id, &name).await {
            // Another node was quicker: that is how the lease is meant to work.
            info!(session = %name, error = %e, "not taken over");
            return;
        }
        info!(session = %name, "taking the session over");
        if !has_work(entry) {
            let (config, _) = self.shared.config.load();
            self.slots().insert(
                &id,
                &name,
                Slot::Asleep(std::sync::Arc::new(asleep_info_of(entry, &config))),
            );
            self.shared.list_changed(&id);
            return;
        }
        // The row as it is now: the index was read a moment ago.
        let row = match self.shared.store.session(&id).await {
            Ok(Some(row)) => row,
            Ok(None) => return,
            Err(e) => {
                warn!(session = %name, error = %e, "could not read the session to take it over");
                return;
            }
        };
        match self.spawn_stored(row, (0, 0)).await {
            Ok(h) => {
                self.slots().insert(&id, &name, Slot::Awake(h));
                self.shared.list_changed(&id);
            }
            Err(e) => warn!(session = %name, error = %e, "could not take the session over"),
        }
    }

    /// This node lost session `id`'s lease (its renewal found another owner):
    /// its actor stops here without writing anything more.
    async fn lost(&self, id: &str) {
        let fleet = &self.shared.fleet;
        let to = fleet
            .lease_of(id)
            .and_then(|l| l.owner.or(l.target))
            .unwrap_or_else(|| "?".into());
        warn!(session = %id, to = %to, "lease lost: the session runs elsewhere now");
        fleet.lose(id, Some(&to));
        if let Some(Found::Awake(h)) = self.slots().lookup(id) {
            h.moved(to).await;
        }
        self.shared.list_changed(id);
    }

    /// `wait` for a session another node runs: until what the heartbeat reads of
    /// it is settled with nothing queued (or it wakes here, or is gone).
    pub(super) async fn wait_elsewhere(
        &self,
        id: &str,
        timeout: Option<std::time::Duration>,
    ) -> Result<(tether_shared::SessionState, bool), SessionError> {
        let mut changes = self.shared.list.watch();
        let settled = async {
            loop {
                changes.borrow_and_update();
                match self.slots().lookup(id) {
                    Some(Found::Awake(h)) => return h.wait(None).await,
                    Some(Found::Asleep(info))
                        if info.state.is_settled() && info.queued_inputs == 0 =>
                    {
                        return Ok((info.state, false));
                    }
                    Some(Found::Asleep(_)) => {}
                    None => return Err(SessionError::StoppedWhileWaiting(id.to_string())),
                }
                if changes.changed().await.is_err() {
                    return Err(SessionError::Stopped);
                }
            }
        };
        match timeout {
            Some(t) => match tokio::time::timeout(t, settled).await {
                Ok(r) => r,
                Err(_) => Ok((self.info(id)?.state, true)),
            },
            None => settled.await,
        }
    }

    /// Brings the sessions this node does not run up to date from the store's
    /// index: new ones (created through another node) appear, killed ones go,
    /// and the others show what their node last stored.
    fn refresh(&self, index: &[IndexEntry]) {
        let fleet = &self.shared.fleet;
        let (config, _) = self.shared.config.load();
        let ids: HashSet<&str> = index.iter().map(|e| e.row.id.as_str()).collect();
        for entry in index {
            let id = &entry.row.id;
            if fleet.holds(id) {
                continue;
            }
            match self.slots().lookup(id) {
                Some(Found::Awake(h)) if !h.is_closed() => continue,
                Some(Found::Asleep(old)) => {
                    let new = asleep_info_of(entry, &config);
                    if *old != new {
                        self.slots().insert(
                            id,
                            &entry.row.name,
                            Slot::Asleep(std::sync::Arc::new(new)),
                        );
                        self.shared.list_changed(id);
                    }
                }
                _ => {
                    let new = asleep_info_of(entry, &config);
                    self.slots().insert(
                        id,
                        &entry.row.name,
                        Slot::Asleep(std::sync::Arc::new(new)),
                    );
                    self.shared.list_changed(id);
                }
            }
        }
        for info in self.slots().list() {
            if !ids.contains(info.id.as_str()) && !fleet.holds(&info.id) {
                self.slots().remove(&info.id);
                self.shared.list_removed(&info.id);
            }
        }
    }
}
