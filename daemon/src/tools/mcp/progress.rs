//! A call's progress, in the order the server sent it. rmcp hands each
//! notification to the handler in a task of its own, so two progress
//! notifications a few milliseconds apart can reach it in either order (a
//! flood of log notifications in between makes that likely), and the rate
//! limit below would then drop the first one. [`InOrder`] wraps a transport
//! and routes `notifications/progress` as it reads them, one after another,
//! before rmcp sees them; the handler only logs.
//!
//! [`ProgressRoutes`] maps a call's progress token to its live output, at
//! most one line every [`PROGRESS_EVERY`] (the last, `progress >= total`,
//! always). A fast server's first notification can come before the call has
//! registered its token (rmcp picks the token while sending): it waits, a few
//! lines per token and a few tokens at most, for the call to claim it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rmcp::model::{JsonRpcMessage, ServerNotification};
use rmcp::service::{RoleClient, RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::sync::mpsc::UnboundedSender;

use super::notices::{MAX_LOGGED_CHARS, cut};

/// At most this often, a running call's live output gets a progress line
/// (the last one, `progress == total`, always).
pub(super) const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// Lines kept for a token no call has claimed yet, per token.
const MAX_EARLY_LINES: usize = 8;
/// Tokens no call has claimed that are kept at once; the rest are dropped.
const MAX_UNCLAIMED: usize = 64;
/// An unclaimed token is forgotten this long after it was first seen (a
/// server that reports progress for a call that never was, or after it ended).
const UNCLAIMED_FOR: Duration = Duration::from_secs(30);

/// The running calls that asked for progress: token -> where their live output goes.
#[derive(Debug, Clone, Default)]
pub(super) struct ProgressRoutes(Arc<Mutex<HashMap<String, Route>>>);

#[derive(Debug)]
struct Route {
    /// `None` until the call claims its token.
    live: Option<UnboundedSender<String>>,
    /// What came before that.
    early: Vec<String>,
    last_sent: Option<Instant>,
    first_seen: Instant,
}

impl Route {
    /// A token seen at `now` that no call has claimed yet.
    fn unclaimed(now: Instant) -> Route {
        Route {
            live: None,
            early: Vec::new(),
            last_sent: None,
            first_seen: now,
        }
    }
}

impl ProgressRoutes {
    /// Sends the progress of the call whose token is `token` to `live`,
    /// starting with what came before this.
    pub(super) fn add(&self, token: String, live: UnboundedSender<String>) {
        let mut routes = self.lock();
        let route = routes
            .entry(token)
            .or_insert_with(|| Route::unclaimed(Instant::now()));
        for line in route.early.drain(..) {
            let _ = live.send(line);
        }
        route.live = Some(live);
    }

    pub(super) fn remove(&self, token: &str) {
        self.lock().remove(token);
    }

    /// Forwards one notification to its call's live output, unless one was
    /// sent less than [`PROGRESS_EVERY`] ago (the final one always goes).
    pub(super) fn forward(
        &self,
        token: &str,
        progress: f64,
        total: Option<f64>,
        message: Option<&str>,
        now: Instant,
    ) {
        let mut routes = self.lock();
        if !routes.contains_key(token) && !make_room(&mut routes, now) {
            return;
        }
        let route = routes
            .entry(token.to_string())
            .or_insert_with(|| Route::unclaimed(now));
        let last = total.is_some_and(|t| progress >= t);
        if !last
            && route
                .last_sent
                .is_some_and(|at| now.saturating_duration_since(at) < PROGRESS_EVERY)
        {
            return;
        }
        route.last_sent = Some(now);
        let line = progress_line(progress, total, message);
        match &route.live {
            // The receiver being gone only means the call has ended.
            Some(live) => {
                let _ = live.send(line);
            }
            None if route.early.len() < MAX_EARLY_LINES => route.early.push(line),
            // Keep the newest: it says how far the call has got.
            None => {
                if let Some(newest) = route.early.last_mut() {
                    *newest = line;
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Route>> {
        // A poisoned lock only means a panic elsewhere; the map is still valid.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether one more unclaimed token may be kept, after forgetting the stale ones.
fn make_room(routes: &mut HashMap<String, Route>, now: Instant) -> bool {
    let unclaimed =
        |routes: &HashMap<String, Route>| routes.values().filter(|r| r.live.is_none()).count();
    if unclaimed(routes) < MAX_UNCLAIMED {
        return true;
    }
    routes.retain(|_, r| {
        r.live.is_some() || now.saturating_duration_since(r.first_seen) < UNCLAIMED_FOR
    });
    unclaimed(routes) < MAX_UNCLAIMED
}

/// One line of live output: `[progress 3/10] step 3 of 10`.
pub(super) fn progress_line(progress: f64, total: Option<f64>, message: Option<&str>) -> String {
    let n = |v: f64| {
        if v.fract() == 0.0 && v.abs() < 1e15 {
            format!("{v:.0}")
        } else {
            format!("{v}")
        }
    };
    let amount = match total {
        Some(t) => format!("{}/{}", n(progress), n(t)),
        None => n(progress),
    };
    let message = message
        .map(|m| format!(" {}", cut(m.trim(), MAX_LOGGED_CHARS)))
        .unwrap_or_default();
    format!("[progress {amount}]{message}\n")
}

/// A client transport that routes progress notifications as it reads them
/// (see the module's comment); everything else passes through untouched.
pub(super) struct InOrder<T> {
    inner: T,
    routes: ProgressRoutes,
}

impl<T> InOrder<T> {
    pub(super) fn new(inner: T, routes: ProgressRoutes) -> Self {
        InOrder { inner, routes }
    }
}

impl<T: Transport<RoleClient>> Transport<RoleClient> for InOrder<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        let message = self.inner.receive().await?;
        if let JsonRpcMessage::Notification(n) = &message
            && let ServerNotification::ProgressNotification(p) = &n.notification
        {
            let p = &p.params;
            self.routes.forward(
                &p.progress_token.0.to_string(),
                p.progress,
                p.total,
                p.message.as_deref(),
                Instant::now(),
            );
        }
        Some(message)
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> Vec<String> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[test]
    fn progress_reaches_its_call_at_most_every_100ms_and_always_at_the_end() {
        let routes = ProgressRoutes::default();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        routes.add("t1".into(), tx);
        let t0 = Instant::now();
        for i in 1..=50 {
            routes.forward("t1", f64::from(i), Some(50.0), Some("working"), t0);
        }
        assert_eq!(
            drain(&mut rx),
            ["[progress 1/50] working\n", "[progress 50/50] working\n"]
        );
        routes.forward("t1", 51.5, None, None, t0 + PROGRESS_EVERY);
        assert_eq!(rx.try_recv().unwrap(), "[progress 51.5]\n");
        routes.remove("t1");
        routes.forward("t1", 60.0, None, None, t0 + PROGRESS_EVERY * 3);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn progress_before_the_call_claims_its_token_waits_for_it() {
        let routes = ProgressRoutes::default();
        let t0 = Instant::now();
        routes.forward("t1", 1.0, Some(3.0), Some("first"), t0);
        routes.forward("t1", 2.0, Some(3.0), None, t0 + PROGRESS_EVERY);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        routes.add("t1".into(), tx);
        routes.forward("t1", 3.0, Some(3.0), None, t0 + PROGRESS_EVERY);
        assert_eq!(
            drain(&mut rx),
            [
                "[progress 1/3] first\n",
                "[progress 2/3]\n",
                "[progress 3/3]\n"
            ]
        );
    }

    #[test]
    fn unclaimed_tokens_are_bounded_and_forgotten() {
        let routes = ProgressRoutes::default();
        let t0 = Instant::now();
        for i in 0..1000 {
            for step in 0..100 {
                routes.forward(
                    &format!("t{i}"),
                    f64::from(step),
                    None,
                    None,
                    t0 + PROGRESS_EVERY * step,
                );
            }
        }
        {
            let map = routes.lock();
            assert_eq!(map.len(), MAX_UNCLAIMED);
            assert!(map.values().all(|r| r.early.len() <= MAX_EARLY_LINES));
            // The newest line is kept.
            assert_eq!(map["t0"].early.last().unwrap(), "[progress 99]\n");
        }
        // Later, a new token pushes out the stale ones.
        routes.forward("new", 1.0, None, None, t0 + UNCLAIMED_FOR * 2);
        assert_eq!(routes.lock().len(), 1);
        // A token whose call has claimed it is never pushed out.
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        routes.add("new".into(), tx);
        for i in 0..200 {
            routes.forward(&format!("u{i}"), 1.0, None, None, t0 + UNCLAIMED_FOR * 4);
        }
        assert!(routes.lock()["new"].live.is_some());
    }
}
