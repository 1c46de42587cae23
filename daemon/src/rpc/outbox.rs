//! A connection's outgoing queue: every line to the client goes through one
//! bounded queue to one writer task, bounded in lines and in bytes, so a client
//! that does not read its replies stops having its requests read (back-pressure)
//! instead of growing the daemon's memory.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tracing::info;

/// Outgoing lines waiting for the writer. Bounded: a client that stops reading
/// stalls only its own feeds, which then catch up from the store.
const OUT_QUEUE: usize = 256;
/// The most bytes queued for one client's writer. One `session.logs` reply can
/// be 16 MiB, so counting lines alone let a client that pipelines requests and
/// never reads hold gigabytes; past this, the connection's next line waits for
/// the writer to drain, and with it the reading of its requests.
const OUT_BYTES: usize = 64 * 1024 * 1024;

/// The sending side of a connection's outgoing queue, with its byte budget.
pub(super) struct Outbox {
    // mpsc: one writer drains lines in order; each carries the bytes it holds
    // of the budget, given back once written (or dropped with the queue).
    tx: mpsc::Sender<Line>,
    budget: Arc<Semaphore>,
    /// The budget ran out at least once (logged once per connection).
    full_logged: std::sync::atomic::AtomicBool,
}

impl Outbox {
    pub(super) fn new() -> (Outbox, mpsc::Receiver<Line>) {
        let (tx, rx) = mpsc::channel(OUT_QUEUE);
        let outbox = Outbox {
            tx,
            budget: Arc::new(Semaphore::new(OUT_BYTES)),
            full_logged: std::sync::atomic::AtomicBool::new(false),
        };
        (outbox, rx)
    }

    fn cost(bytes: &[u8]) -> u32 {
        // A line larger than the whole budget takes all of it, alone.
        bytes.len().clamp(1, OUT_BYTES) as u32
    }

    /// Queues a line, first waiting for room in the byte budget; an error means
    /// the connection is gone.
    pub(super) async fn send(&self, bytes: Vec<u8>) -> Result<(), ()> {
        let n = Self::cost(&bytes);
        let permit = match self.budget.clone().try_acquire_many_owned(n) {
            Ok(p) => p,
            Err(_) => {
                if !self.full_logged.swap(true, Ordering::Relaxed) {
                    info!(
                        limit_mib = OUT_BYTES / (1024 * 1024),
                        "client is not reading its replies: holding its requests until it drains"
                    );
                }
                self.budget
                    .clone()
                    .acquire_many_owned(n)
                    .await
                    .map_err(|_| ())?
            }
        };
        self.tx.send((bytes, permit)).await.map_err(|_| ())
    }

    /// Queues a line only if there is room now (a goodbye must not wait on a
    /// client that does not read).
    pub(super) fn try_send(&self, bytes: Vec<u8>) {
        if let Ok(permit) = self
            .budget
            .clone()
            .try_acquire_many_owned(Self::cost(&bytes))
        {
            let _ = self.tx.try_send((bytes, permit));
        }
    }
}

/// A line for the writer, with the byte budget it holds.
pub(super) type Line = (Vec<u8>, OwnedSemaphorePermit);

/// A message as one line. A message that does not serialise is an error, never
/// an empty line.
pub(super) fn line(msg: &impl Serialize) -> Result<Vec<u8>, serde_json::Error> {
    let mut v = serde_json::to_vec(msg)?;
    v.push(b'\n');
    Ok(v)
}
