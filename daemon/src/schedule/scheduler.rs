//! [`Scheduler`]: the daemon's schedules in memory (the store holds the truth
//! and every change is stored before it is made here), the task that fires
//! the timed ones, and the task that fires file triggers.
//!
//! A firing runs as a task of its own (a busy or waking session holds up only
//! its own schedule) and goes through the session's actor: the store gets the
//! input and the schedule's next run in one transaction. While one firing of
//! a schedule runs, that schedule is not fired again.
//!
//! At start, a timed schedule whose next run passed while the daemon was down
//! fires once at once (its next run after that is computed from now, so a
//! long downtime is one firing, not one per period), or with `skip_missed` is
//! recorded as `skipped_missed` and moved to its next run.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tether_shared::Delivery;
use tether_shared::protocol::{ScheduleAddParams, ScheduleInfo, ScheduleRule};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, info, info_span, warn};

use super::clock::{Clock, from_ms, rfc3339, to_ms};
use super::rule::Timing;
use super::triggers::{self, Trigger};
use crate::session::{Registry, SessionError};
use crate::store::{Fired, Firing, KeyRecord, ScheduleRow, ScheduleUpdate, Store, StoreError};
use crate::util::now_rfc3339;

/// The longest the scheduler sleeps before it reads the clock again, so a
/// wall clock that jumps (a suspend, a correction) is noticed soon.
const MAX_NAP: Duration = Duration::from_secs(30);

/// What a schedule request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The session (unknown, unreadable).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// A rule, zone, glob, text or delivery that is not acceptable.
    #[error("{0}")]
    Bad(String),
    /// No schedule has this id.
    #[error("no schedule {0}: `tether schedule ls` lists them")]
    NoSuch(u64),
    /// The store failed.
    #[error("could not store the schedule: {0}")]
    Store(#[from] StoreError),
}

/// One schedule as the scheduler keeps it.
struct Entry {
    row: ScheduleRow,
    timing: Timing,
    /// A firing of it runs now.
    firing: bool,
}

/// The daemon's schedules and file triggers.
pub struct Scheduler {
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    entries: Mutex<BTreeMap<u64, Entry>>,
    /// The running file watches, by schedule id; dropping one stops it.
    watches: Mutex<HashMap<u64, Trigger>>,
    /// Told when the timed schedules changed, so the loop plans again.
    changed: Notify,
    /// Where file watches report their changes.
    triggered: mpsc::UnboundedSender<(u64, Vec<String>)>,
    tracker: TaskTracker,
    cancel: CancellationToken,
}

impl Scheduler {
    /// Loads the stored schedules, settles the ones missed while the daemon
    /// was down, starts the file watches and the firing tasks.
    pub async fn start(
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        clock: Arc<dyn Clock>,
        tracker: TaskTracker,
        cancel: CancellationToken,
    ) -> Arc<Scheduler> {
        let (tx, rx) = mpsc::unbounded_channel();
        let scheduler = Arc::new(Scheduler {
            store,
            registry,
            clock,
            entries: Mutex::new(BTreeMap::new()),
            watches: Mutex::new(HashMap::new()),
            changed: Notify::new(),
            triggered: tx,
            tracker,
            cancel,
        });
        scheduler.load().await;
        let s = scheduler.clone();
        scheduler
            .tracker
            .spawn(async move { s.run().await }.instrument(info_span!("scheduler")));
        let s = scheduler.clone();
        scheduler
            .tracker
            .spawn(async move { s.run_triggers(rx).await }.instrument(info_span!("triggers")));
        scheduler
    }

    fn entries(&self) -> MutexGuard<'_, BTreeMap<u64, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn watches(&self) -> MutexGuard<'_, HashMap<u64, Trigger>> {
        self.watches.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn load(&self) {
        let rows = match self.store.schedules().await {
            Ok(rows) => rows,
            Err(e) => {
                warn!(error = %e, "could not read the schedules; none will fire");
                return;
            }
        };
        let now = self.clock.now();
        let now_ms = to_ms(now);
        for mut row in rows {
            let timing = match Timing::new(&row.rule, row.tz.as_deref()) {
                Ok(t) => t,
                Err(e) => {
                    warn!(schedule = row.id, error = %e, "a stored schedule cannot be read; it does not fire");
                    continue;
                }
            };
            if row.skip_missed
                && !row.paused
                && let Some(due) = row.next_run.filter(|d| *d <= now_ms)
            {
                let update = ScheduleUpdate {
                    paused: false,
                    next_run: timing.next_run(from_ms(due), now).map(to_ms),
                    last: Some((now_ms, "skipped_missed".into())),
                };
                match self.store.update_schedule(row.id, update).await {
                    Ok(Some(r)) => {
                        info!(
                            schedule = row.id,
                            "a firing missed while the daemon was down was skipped"
                        );
                        row = r;
                    }
                    Ok(None) => continue,
                    Err(e) => {
                        warn!(schedule = row.id, error = %e, "could not record a skipped firing")
                    }
                }
            }
            if !row.paused {
                self.start_watch(&row, &timing);
            }
            self.entries().insert(
                row.id,
                Entry {
                    row,
                    timing,
                    firing: false,
                },
            );
        }
    }

    /// Starts the file watch of a file trigger (nothing for a timed rule).
    fn start_watch(&self, row: &ScheduleRow, timing: &Timing) -> Option<String> {
        let Timing::OnChange(glob) = timing else {
            return None;
        };
        let cwd = match self.registry.info(&row.session_id) {
            Ok(info) => info.cwd,
            Err(e) => return Some(e.to_string()),
        };
        match triggers::watch(
            row.id,
            Path::new(&cwd),
            glob.clone(),
            self.triggered.clone(),
        ) {
            Ok(t) => {
                self.watches().insert(row.id, t);
                None
            }
            Err(e) => {
                warn!(schedule = row.id, error = %e, "cannot start a file trigger");
                Some(e)
            }
        }
    }

    /// The schedule as the wire shows it.
    fn info(&self, row: &ScheduleRow) -> ScheduleInfo {
        let session_name = self
            .registry
            .info(&row.session_id)
            .map(|i| i.name)
            .unwrap_or_default();
        ScheduleInfo {
            id: row.id,
            session: row.session_id.clone(),
            session_name,
            rule_text: row.rule.describe(),
            rule: row.rule.clone(),
            tz: row.tz.clone(),
            text: row.text.clone(),
            delivery: row.delivery,
            skip_missed: row.skip_missed,
            paused: row.paused,
            created_at: row.created_at.clone(),
            next_run: row.next_run.filter(|_| !row.paused).map(rfc3339),
            last_run: row.last_run.map(rfc3339),
            last_outcome: row.last_outcome.clone(),
            fired: row.fired,
        }
    }

    /// Adds a schedule to a session (never waking it); a request key is stored
    /// in the same transaction.
    pub async fn add(
        &self,
        p: ScheduleAddParams,
        key: Option<KeyRecord>,
    ) -> Result<ScheduleInfo, ScheduleError> {
        let session = self.registry.info(&p.session)?;
        if p.text.trim().is_empty() {
            return Err(ScheduleError::Bad(
                "a schedule needs a message: tether schedule add NAME --every 1h TEXT...".into(),
            ));
        }
        if !matches!(p.delivery, Delivery::Queue | Delivery::Steer) {
            return Err(ScheduleError::Bad(
                "a schedule's delivery must be queue or steer".into(),
            ));
        }
        let timing = Timing::new(&p.rule, p.tz.as_deref()).map_err(ScheduleError::Bad)?;
        let now = self.clock.now();
        let next_run = timing.first_run(now).map(to_ms);
        if let (None, ScheduleRule::Cron(e)) = (next_run, &p.rule) {
            return Err(ScheduleError::Bad(format!(
                "cron expression {e:?} never matches a date"
            )));
        }
        let row = ScheduleRow {
            id: 0,
            session_id: session.id.clone(),
            rule: p.rule,
            tz: p.tz,
            text: p.text,
            delivery: p.delivery,
            skip_missed: p.skip_missed,
            paused: false,
            created_at: now_rfc3339(),
            next_run,
            last_run: None,
            last_outcome: None,
            fired: 0,
        };
        // What a retry is answered with should the daemon die before the
        // final result is stored (the store sets its `id`).
        let key = key.map(|mut k| {
            k.result = serde_json::to_value(self.info(&row)).unwrap_or_default();
            k
        });
        let row = self
            .store
            .add_schedule(row, key)
            .await
            .map_err(|e| match e {
                StoreError::SessionGone(_) => {
                    ScheduleError::Session(SessionError::NotFound(p.session))
                }
                e => ScheduleError::Store(e),
            })?;
        if let Some(e) = self.start_watch(&row, &timing) {
            let _ = self.store.remove_schedule(row.id).await;
            return Err(ScheduleError::Bad(e));
        }
        info!(schedule = row.id, session = %session.name, rule = %row.rule.describe(), "schedule added");
        let out = self.info(&row);
        self.entries().insert(
            row.id,
            Entry {
                row,
                timing,
                firing: false,
            },
        );
        self.changed.notify_one();
        Ok(out)
    }

    /// The schedules of one session (name or id), or of all, oldest first.
    pub async fn list(&self, session: Option<&str>) -> Result<Vec<ScheduleInfo>, ScheduleError> {
        let only = match session {
            Some(s) => Some(self.registry.info(s)?.id),
            None => None,
        };
        let rows = self.store.schedules().await?;
        Ok(rows
            .iter()
            .filter(|r| only.as_ref().is_none_or(|id| *id == r.session_id))
            .map(|r| self.info(r))
            .collect())
    }

    /// Removes a schedule; returns it as it was.
    pub async fn remove(&self, id: u64) -> Result<ScheduleInfo, ScheduleError> {
        let row = self
            .store
            .remove_schedule(id)
            .await?
            .ok_or(ScheduleError::NoSuch(id))?;
        self.forget(id);
        info!(schedule = id, "schedule removed");
        Ok(self.info(&row))
    }

    /// Pauses or resumes a schedule. Resuming a timed one sets its next run
    /// from now: the firings it missed while paused do not run.
    pub async fn set_paused(&self, id: u64, paused: bool) -> Result<ScheduleInfo, ScheduleError> {
        let next_run = {
            let entries = self.entries();
            let e = entries.get(&id).ok_or(ScheduleError::NoSuch(id))?;
            match (paused, e.row.paused) {
                // Already so: nothing changes.
                (true, true) => None,
                (false, false) => e.row.next_run,
                (true, false) => None,
                (false, true) => e.timing.first_run(self.clock.now()).map(to_ms),
            }
        };
        let update = ScheduleUpdate {
            paused,
            next_run,
            last: None,
        };
        let row = self
            .store
            .update_schedule(id, update)
            .await?
            .ok_or(ScheduleError::NoSuch(id))?;
        let timing = {
            let mut entries = self.entries();
            let e = entries.get_mut(&id).ok_or(ScheduleError::NoSuch(id))?;
            e.row = row.clone();
            e.timing.clone()
        };
        if paused {
            self.watches().remove(&id);
        } else if !self.watches().contains_key(&id) {
            self.start_watch(&row, &timing);
        }
        self.changed.notify_one();
        info!(schedule = id, paused, "schedule paused or resumed");
        Ok(self.info(&row))
    }

    /// Makes the firing task look at the clock again now (tests move their
    /// clock, then poke).
    #[cfg(test)]
    pub fn poke(&self) {
        self.changed.notify_one();
    }

    /// The session a schedule sends to, if the scheduler has it.
    pub fn session_of(&self, id: u64) -> Option<String> {
        self.entries().get(&id).map(|e| e.row.session_id.clone())
    }

    /// Forgets the schedules of a killed session (the store deleted them with it).
    pub fn forget_session(&self, session_id: &str) {
        let ids: Vec<u64> = self
            .entries()
            .values()
            .filter(|e| e.row.session_id == session_id)
            .map(|e| e.row.id)
            .collect();
        for id in ids {
            self.forget(id);
        }
    }

    fn forget(&self, id: u64) {
        self.entries().remove(&id);
        self.watches().remove(&id);
        self.changed.notify_one();
    }

    /// Fires the timed schedules when they are due.
    async fn run(self: Arc<Self>) {
        loop {
            let changed = self.changed.notified();
            let now_ms = to_ms(self.clock.now());
            let mut due = Vec::new();
            let mut next: Option<i64> = None;
            {
                let mut entries = self.entries();
                for e in entries.values_mut() {
                    let Some(at) = e.row.next_run.filter(|_| !e.row.paused && !e.firing) else {
                        continue;
                    };
                    if at <= now_ms {
                        e.firing = true;
                        due.push(e.row.id);
                    } else {
                        next = Some(next.map_or(at, |n| n.min(at)));
                    }
                }
            }
            for id in due {
                let s = self.clone();
                self.tracker.spawn(
                    async move { s.fire_timed(id).await }
                        .instrument(info_span!("fire", schedule = id)),
                );
            }
            let nap = next
                .map(|n| Duration::from_millis((n - now_ms).max(0) as u64))
                .unwrap_or(MAX_NAP)
                .min(MAX_NAP);
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = changed => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    /// Fires the file triggers as their watches report changes.
    async fn run_triggers(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<(u64, Vec<String>)>) {
        loop {
            let (id, paths) = tokio::select! {
                _ = self.cancel.cancelled() => return,
                r = rx.recv() => match r {
                    Some(r) => r,
                    None => return,
                },
            };
            let row = {
                let entries = self.entries();
                match entries.get(&id) {
                    Some(e) if !e.row.paused => e.row.clone(),
                    _ => continue,
                }
            };
            let at = to_ms(self.clock.now());
            let firing = Firing {
                schedule_id: id,
                due: None,
                at,
                next_run: None,
                text: format!("{}\n\nChanged files: {}", row.text, paths.join(", ")),
                delivery: row.delivery,
            };
            info!(schedule = id, files = paths.len(), "file trigger fired");
            let s = self.clone();
            self.tracker.spawn(
                async move { s.deliver(&row, firing).await }
                    .instrument(info_span!("fire", schedule = id)),
            );
        }
    }

    async fn fire_timed(&self, id: u64) {
        let found = {
            let entries = self.entries();
            entries.get(&id).map(|e| (e.row.clone(), e.timing.clone()))
        };
        let Some((row, timing)) = found else { return };
        let Some(due) = row.next_run else {
            self.done(id, None);
            return;
        };
        let now = self.clock.now();
        let firing = Firing {
            schedule_id: id,
            due: Some(due),
            at: to_ms(now),
            next_run: timing.next_run(from_ms(due), now).map(to_ms),
            text: row.text.clone(),
            delivery: row.delivery,
        };
        self.deliver(&row, firing).await;
    }

    /// Hands a firing to the session's actor (waking the session) and keeps
    /// what it did.
    async fn deliver(&self, row: &ScheduleRow, firing: Firing) {
        let id = row.id;
        let (at, next_run) = (firing.at, firing.next_run);
        let outcome = match self.registry.get(&row.session_id).await {
            Err(SessionError::NotFound(_)) => {
                // Killed meanwhile: its schedules went with it.
                self.forget(id);
                return;
            }
            Err(e) => Err(e.to_string()),
            Ok(h) => h.fire(firing).await.map_err(|e| e.to_string()),
        };
        if outcome.is_err() && self.cancel.is_cancelled() {
            // The daemon is stopping: nothing was stored, so the firing stays
            // due and runs at the next start.
            return;
        }
        let mut row = row.clone();
        match outcome {
            Ok(Fired::Stale) => {
                // Removed, paused or fired meanwhile: the store knows best.
                let stored = self
                    .store
                    .schedules()
                    .await
                    .ok()
                    .and_then(|rows| rows.into_iter().find(|r| r.id == id));
                match stored {
                    Some(r) => self.done(id, Some(r)),
                    None => self.forget(id),
                }
                return;
            }
            Ok(fired) => {
                if row.next_run.is_some() {
                    row.next_run = next_run;
                }
                row.last_run = Some(at);
                if matches!(fired, Fired::Delivered(_)) {
                    row.fired += 1;
                    row.last_outcome = Some("delivered".into());
                } else {
                    row.last_outcome = Some("pending".into());
                }
                info!(schedule = id, outcome = ?fired, "schedule fired");
            }
            Err(reason) => {
                warn!(schedule = id, error = %reason, "a schedule could not fire");
                let update = ScheduleUpdate {
                    paused: row.paused,
                    next_run: row.next_run.and(next_run),
                    last: Some((at, format!("failed: {reason}"))),
                };
                match self.store.update_schedule(id, update).await {
                    Ok(Some(r)) => row = r,
                    Ok(None) => {
                        self.forget(id);
                        return;
                    }
                    // Not stored: tried again at once would fail again the
                    // same way; it waits for its next run in memory.
                    Err(e) => {
                        warn!(schedule = id, error = %e, "could not record a failed firing");
                        row.next_run = row.next_run.and(next_run);
                    }
                }
            }
        }
        self.done(id, Some(row));
    }

    /// Ends a firing: the entry takes `row` (when given) and may fire again.
    fn done(&self, id: u64, row: Option<ScheduleRow>) {
        if let Some(e) = self.entries().get_mut(&id) {
            if let Some(row) = row {
                e.row = row;
            }
            e.firing = false;
        }
        self.changed.notify_one();
    }
}
