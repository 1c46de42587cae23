//! Headless notifications (issue 11): the daemon runs `[notify] command` for each
//! notifying event of any session, so a server with nobody attached can still
//! tell a person that an agent needs them.
//!
//! The session actor hooks in at one place: after it stores a batch of events,
//! it derives the batch's [`Notice`]s (`notice`) and hands them to the
//! [`Notifier`], which never waits: the queue is bounded, and a full queue drops
//! the notice with a log line. One task (`run` below) reads the queue, reads
//! `[notify]` afresh for each notice (so a config edit applies from the next
//! event), debounces per session and event (`debounce`), and starts each
//! command as a task of its own (`command`), at most [`MAX_RUNNING`] at once:
//! a hanging or failing command is killed and logged, and slows nothing.

mod command;
mod debounce;
mod notice;

use std::sync::Arc;
use std::time::Duration;

use tether_shared::notify::Notice;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

use crate::config::ConfigSource;
use debounce::Debouncer;
pub use notice::{Batch, PendingCall, notices};

/// Notices waiting for the notify task; beyond this, new ones are dropped.
const QUEUE: usize = 256;
/// Commands running at once; a notice due while all run is dropped.
const MAX_RUNNING: usize = 8;
/// How long shutdown waits for the notify task and its commands.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Where sessions hand their notices. Cloneable; sending never waits.
#[derive(Clone)]
pub struct Notifier {
    // Bounded mpsc: many sessions, one consumer; a burst beyond its size is
    // dropped (with a log line) rather than growing memory or slowing a session.
    tx: Option<mpsc::Sender<Notice>>,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl Notifier {
    /// Starts the notify task, reading `[notify]` from `config`.
    pub fn start(config: Arc<ConfigSource>) -> Notifier {
        let (tx, rx) = mpsc::channel(QUEUE);
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        tracker.spawn(run(rx, config, cancel.clone(), tracker.clone()));
        Notifier {
            tx: Some(tx),
            cancel,
            tracker,
        }
    }

    /// A notifier that drops everything (tests of other parts).
    #[cfg(test)]
    pub fn disabled() -> Notifier {
        Notifier {
            tx: None,
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
        }
    }

    /// Hands `notices` over without waiting.
    pub fn send(&self, notices: Vec<Notice>) {
        let Some(tx) = &self.tx else {
            return;
        };
        for n in notices {
            match tx.try_send(n) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(n)) => {
                    warn!(session = %n.name, event = %n.event, "notification queue full; notification dropped");
                }
                // Stopping: nobody to notify any more.
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
    }

    /// Stops the notify task and kills the commands still running.
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        self.tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.tracker.wait())
            .await
            .is_err()
        {
            warn!("notify commands did not stop in time");
        }
    }
}

/// The notify task: debounces and starts commands until cancelled.
async fn run(
    mut rx: mpsc::Receiver<Notice>,
    config: Arc<ConfigSource>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let mut debouncer = Debouncer::default();
    let slots = Arc::new(Semaphore::new(MAX_RUNNING));
    loop {
        let next = debouncer.next_due();
        let wake = next.map_or_else(
            || Instant::now() + Duration::from_secs(3600),
            Instant::from_std,
        );
        tokio::select! {
            () = cancel.cancelled() => return,
            n = rx.recv() => {
                let Some(n) = n else { return };
                let (c, _) = config.load();
                if !c.notify.wants(n.event) {
                    continue;
                }
                let now = std::time::Instant::now();
                for due in debouncer.due(now, c.notify.debounce) {
                    launch(due, &config, &slots, &cancel, &tracker);
                }
                if let Some(n) = debouncer.offer(n, now, c.notify.debounce) {
                    launch(n, &config, &slots, &cancel, &tracker);
                }
            }
            () = tokio::time::sleep_until(wake), if next.is_some() => {
                let (c, _) = config.load();
                for due in debouncer.due(std::time::Instant::now(), c.notify.debounce) {
                    launch(due, &config, &slots, &cancel, &tracker);
                }
            }
        }
    }
}

/// Starts the command for `n` as a task of its own, if `[notify]` still wants
/// it (a trailing notice goes out after the config may have changed) and a slot
/// is free.
fn launch(
    n: Notice,
    config: &ConfigSource,
    slots: &Arc<Semaphore>,
    cancel: &CancellationToken,
    tracker: &TaskTracker,
) {
    let (c, _) = config.load();
    if !c.notify.wants(n.event) {
        return;
    }
    let Ok(permit) = slots.clone().try_acquire_owned() else {
        warn!(
            session = %n.name,
            event = %n.event,
            "{MAX_RUNNING} notify commands are still running; notification dropped"
        );
        return;
    };
    let argv = c.notify.command.clone();
    let timeout = c.notify.timeout;
    let (cancel, inner) = (cancel.clone(), tracker.clone());
    tracker.spawn(async move {
        command::run(&argv, &n, timeout, &cancel, &inner).await;
        drop(permit);
    });
}
