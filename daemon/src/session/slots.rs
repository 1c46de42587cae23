//! The table of sessions (issue 13): each one awake (an actor, reached through
//! its [`SessionHandle`]) or asleep (only its summary, no actor, no tools, no
//! channels). The registry fills and reads it; an actor puts itself to sleep
//! through it (`sleep.rs`), so it sits in [`super::SessionShared`].
//!
//! Waking and falling asleep both happen under [`Slots::waking`], so they never
//! overlap for a session: a session's tools are detached before another actor
//! of it can start, and a command that reaches an actor that fell asleep is
//! handed back here ([`Redeliver`]) and served by the next one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use tether_shared::protocol::{ListItem, ListRow, ListShape, LsTable, SessionInfo, list_table};
use tokio::sync::{mpsc, watch};

use super::handle::{Redelivery, SessionHandle};

/// One session of the table.
pub(super) enum Slot {
    /// It has an actor.
    Awake(SessionHandle),
    /// It has none; this is what lists show of it (behind a pointer: most slots
    /// are asleep, and the awake ones should not pay for the summary's size;
    /// shared, so the start-up's list can be written from the summaries while
    /// they go into the table, `wake.rs`).
    Asleep(Arc<SessionInfo>),
}

/// What a lookup found.
pub(super) enum Found {
    /// The actor's handle.
    Awake(SessionHandle),
    /// The summary of a session with no actor.
    Asleep(Box<SessionInfo>),
}

/// The table's maps hash with foldhash: at 100,000 sessions the start-up's
/// inserts with std's SipHash were a fifth of the restore (issue 13). The keys
/// are the owner's own ids and names (the socket admits only them).
type Map<V> = HashMap<String, V, foldhash::fast::RandomState>;

#[derive(Default)]
struct Table {
    by_id: Map<Slot>,
    /// Name to id.
    names: Map<String>,
}

/// Every session of the daemon, awake or asleep.
pub struct Slots {
    table: RwLock<Table>,
    /// Held while a session wakes, falls asleep or is killed: one at a time.
    pub(super) waking: tokio::sync::Mutex<()>,
    redeliver: mpsc::UnboundedSender<Redelivery>,
    /// Taken by the registry's waker task.
    pub(super) redelivered: Mutex<Option<mpsc::UnboundedReceiver<Redelivery>>>,
}

impl Default for Slots {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Slots {
            table: RwLock::default(),
            waking: tokio::sync::Mutex::new(()),
            redeliver: tx,
            redelivered: Mutex::new(Some(rx)),
        }
    }
}

impl Slots {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Where an actor that fell asleep hands back the commands it did not serve.
    pub(super) fn redeliver(&self) -> mpsc::UnboundedSender<Redelivery> {
        self.redeliver.clone()
    }

    /// The session with this id, else with this name.
    pub(super) fn lookup(&self, name_or_id: &str) -> Option<Found> {
        let t = self.read();
        let slot = t.by_id.get(name_or_id).or_else(|| {
            t.names
                .get(name_or_id)
                .and_then(|id| t.by_id.get(id.as_str()))
        })?;
        Some(match slot {
            Slot::Awake(h) => Found::Awake(h.clone()),
            Slot::Asleep(info) => Found::Asleep(Box::new((**info).clone())),
        })
    }

    /// True when a session has this name.
    pub(super) fn name_taken(&self, name: &str) -> bool {
        self.read().names.contains_key(name)
    }

    /// Adds or replaces a session.
    pub(super) fn insert(&self, id: &str, name: &str, slot: Slot) {
        let mut t = self.write();
        t.names.insert(name.to_string(), id.to_string());
        t.by_id.insert(id.to_string(), slot);
    }

    /// Adds sessions that sleep from the start (the restore's), under one lock,
    /// the table grown once for all of them.
    pub(super) fn insert_asleep(&self, infos: &[Arc<SessionInfo>]) {
        let mut t = self.write();
        t.by_id.reserve(infos.len());
        t.names.reserve(infos.len());
        for info in infos {
            t.names.insert(info.name.clone(), info.id.clone());
            t.by_id.insert(info.id.clone(), Slot::Asleep(info.clone()));
        }
    }

    /// Removes a session; returns what it was.
    pub(super) fn remove(&self, id: &str) -> Option<Slot> {
        let mut t = self.write();
        let slot = t.by_id.remove(id)?;
        let name = match &slot {
            Slot::Awake(h) => h.name.clone(),
            Slot::Asleep(info) => info.name.clone(),
        };
        if t.names.get(&name).is_some_and(|i| i == id) {
            t.names.remove(&name);
        }
        Some(slot)
    }

    /// Puts the session to sleep with `info` as its summary, if the actor of
    /// `epoch` is still the one awake for it (not killed, not replaced).
    pub(super) fn fall_asleep(&self, id: &str, epoch: u64, info: SessionInfo) -> bool {
        let mut t = self.write();
        let Some(slot) = t.by_id.get_mut(id) else {
            return false;
        };
        if !matches!(slot, Slot::Awake(h) if h.epoch() == epoch) {
            return false;
        }
        *slot = Slot::Asleep(Arc::new(info));
        true
    }

    /// Every session's summary, oldest first.
    pub(super) fn list(&self) -> Vec<SessionInfo> {
        let mut v: Vec<SessionInfo> = self
            .read()
            .by_id
            .values()
            .map(|s| match s {
                Slot::Awake(h) => h.info(),
                Slot::Asleep(info) => (**info).clone(),
            })
            .collect();
        v.sort_by(oldest_first);
        v
    }

    /// Appends every session's summary, oldest first, to `out` as
    /// `session.list`'s JSON array in `shape`, straight from the table: the
    /// asleep sessions' summaries are not copied (issue 13: `session.list` of
    /// 100,000 sessions). The table is read-locked while it is written; an
    /// awake session's summary is a copy.
    pub(super) fn write_list(
        &self,
        shape: &ListShape,
        out: &mut Vec<u8>,
    ) -> serde_json::Result<()> {
        let t = self.read();
        let awake: Vec<SessionInfo> = t
            .by_id
            .values()
            .filter_map(|s| match s {
                Slot::Awake(h) => Some(h.info()),
                Slot::Asleep(_) => None,
            })
            .collect();
        let asleep = t.by_id.values().filter_map(|s| match s {
            Slot::Asleep(info) => Some(&**info),
            Slot::Awake(_) => None,
        });
        write_sorted(asleep.chain(awake.iter()), t.by_id.len(), shape, out)
    }

    /// How many sessions there are, and how many of them are awake.
    pub(super) fn counts(&self) -> (usize, usize) {
        let t = self.read();
        let awake = t
            .by_id
            .values()
            .filter(|s| matches!(s, Slot::Awake(_)))
            .count();
        (t.by_id.len(), awake)
    }

    /// The handles of the awake sessions.
    pub(super) fn awake(&self) -> Vec<SessionHandle> {
        self.read()
            .by_id
            .values()
            .filter_map(|s| match s {
                Slot::Awake(h) => Some(h.clone()),
                Slot::Asleep(_) => None,
            })
            .collect()
    }
}

/// Where the start-up's list stands (`early.rs`).
#[derive(Clone)]
pub(super) enum EarlyState {
    /// The index is being read.
    Reading,
    /// Read: every stored session, all asleep.
    Ready(Arc<Vec<Arc<SessionInfo>>>),
    /// Not from the index (a session has work, the index did not read, or the
    /// restore is over): from the table once the sessions are restored.
    Gone,
}

/// The start-up's list, for the requests that come during the restore.
pub(super) struct Early(watch::Sender<EarlyState>);

impl Default for Early {
    fn default() -> Self {
        Early(watch::channel(EarlyState::Reading).0)
    }
}

impl Early {
    /// The index is read, and every session sleeps: these are all of them.
    pub(super) fn ready(&self, infos: Arc<Vec<Arc<SessionInfo>>>) {
        self.0.send_replace(EarlyState::Ready(infos));
    }

    /// Waits for what the start-up's list is to be.
    pub(super) fn subscribe(&self) -> watch::Receiver<EarlyState> {
        self.0.subscribe()
    }

    /// No list from the index (any more).
    pub(super) fn gone(&self) {
        self.0.send_replace(EarlyState::Gone);
    }
}

/// The list kept at the last clean stop, as this start took it from the
/// store (`kept.rs`).
#[derive(Default)]
pub(super) struct Kept(tokio::sync::Mutex<KeptState>);

impl Kept {
    pub(super) async fn lock(&self) -> tokio::sync::MutexGuard<'_, KeptState> {
        self.0.lock().await
    }
}

#[derive(Default)]
pub(super) enum KeptState {
    /// Not taken from the store yet.
    #[default]
    Untaken,
    /// Taken, and the table has not changed since the start.
    Held(Arc<crate::store::ListSnapshot>),
    /// None was kept, or the table changed: lists are the table's.
    Gone,
}

/// From how many sessions a list is encoded in two halves at once.
const HALVES_FROM: usize = 5_000;

/// Appends `infos` (about `n` of them), oldest first, to `out` as
/// `session.list`'s JSON array in `shape`. Sorted with the first 24 bytes of
/// each `created_at` beside it as three integers, so most comparisons read no
/// string (issue 13: 100,000 summaries); equal prefixes fall back to the whole
/// order. A long list is encoded in two halves at once, the second on a thread
/// of its own (the bytes are those of one serialiser: `[`, the items between
/// commas, `]`).
pub(super) fn write_sorted<'a>(
    infos: impl Iterator<Item = &'a SessionInfo>,
    n: usize,
    shape: &ListShape,
    out: &mut Vec<u8>,
) -> serde_json::Result<()> {
    let keyed = |info: &'a SessionInfo| -> ([u64; 3], &'a SessionInfo) {
        let mut k = [0u8; 24];
        let b = info.created_at.as_bytes();
        let n = b.len().min(24);
        k[..n].copy_from_slice(&b[..n]);
        // Big-endian: the integers compare as the bytes do.
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&k[i * 8..i * 8 + 8]);
            u64::from_be_bytes(w)
        };
        ([word(0), word(1), word(2)], info)
    };
    let mut all: Vec<([u64; 3], &SessionInfo)> = Vec::with_capacity(n);
    all.extend(infos.map(keyed));
    // Names are unique, so no two compare equal: the faster unstable sort
    // gives the same order.
    all.sort_unstable_by(|(ka, a), (kb, b)| ka.cmp(kb).then_with(|| oldest_first(a, b)));
    if *shape == ListShape::Table {
        let rows: Vec<ListRow<'_>> = all.iter().map(|(_, info)| ListRow::from(*info)).collect();
        return serde_json::to_writer(out, &LsTable::of(&list_table(&rows)));
    }
    let encode = |part: &[([u64; 3], &SessionInfo)], buf: &mut Vec<u8>| {
        for (i, (_, info)) in part.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            serde_json::to_writer(&mut *buf, &ListItem(info, shape))?;
        }
        Ok::<(), serde_json::Error>(())
    };
    out.push(b'[');
    if all.len() < HALVES_FROM {
        encode(&all, out)?;
    } else {
        let (first, second) = all.split_at(all.len() / 2);
        let second = std::thread::scope(|scope| {
            let other = scope.spawn(|| {
                let mut buf = Vec::new();
                encode(second, &mut buf).map(|()| buf)
            });
            let here = encode(first, out);
            let there = other.join().unwrap_or_else(|_| {
                Err(serde::ser::Error::custom(
                    "the list's encoding thread panicked",
                ))
            });
            here.and(there)
        })?;
        out.push(b',');
        out.extend_from_slice(&second);
    }
    out.push(b']');
    Ok(())
}

/// The list's order: by creation, then by name.
fn oldest_first(a: &SessionInfo, b: &SessionInfo) -> std::cmp::Ordering {
    a.created_at
        .cmp(&b.created_at)
        .then_with(|| a.name.cmp(&b.name))
}
