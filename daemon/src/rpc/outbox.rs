//! A connection's outgoing queue and its writer: every line to the client goes
//! through one bounded queue to one writer task, bounded in lines and in bytes,
//! so a client that does not read its replies stops having its requests read
//! (back-pressure) instead of growing the daemon's memory.
//!
//! The writer writes what is queued when it wakes: a client that keeps up gets
//! each line by itself at once (no timer, no added latency); for one that is
//! behind, the lines that queued up meanwhile (up to [`WRITE_BATCH`] bytes) go
//! in one write. Lines are [`Bytes`], so a live line encoded once for all
//! clients is queued to each without a copy.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use serde::Serialize;
use tokio::io::{AsyncWrite, AsyncWriteExt};
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
/// The most bytes the writer gathers into one write. Past a few socket buffers
/// a bigger write saves nothing; a line this big or bigger is written alone,
/// from its own buffer, never copied.
pub(super) const WRITE_BATCH: usize = 256 * 1024;

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

    /// Queues a line (or several lines, whole), first waiting for room in the
    /// byte budget; an error means the connection is gone.
    pub(super) async fn send(&self, bytes: impl Into<Bytes>) -> Result<(), ()> {
        let bytes = bytes.into();
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
    pub(super) fn try_send(&self, bytes: impl Into<Bytes>) {
        let bytes = bytes.into();
        if let Ok(permit) = self
            .budget
            .clone()
            .try_acquire_many_owned(Self::cost(&bytes))
        {
            let _ = self.tx.try_send((bytes, permit));
        }
    }
}

/// A line (or whole lines) for the writer, with the byte budget it holds.
pub(super) type Line = (Bytes, OwnedSemaphorePermit);

/// Writes queued lines to the client until the queue closes or a write fails,
/// gathering what queued up while it wrote into one write.
pub(super) async fn write_lines<W: AsyncWrite + Unpin>(mut rx: mpsc::Receiver<Line>, mut write: W) {
    let mut batch: Vec<u8> = Vec::new();
    // A line taken off the queue that did not fit the batch: the next write's first.
    let mut held: Option<Line> = None;
    loop {
        let (first, mut budget) = match held.take() {
            Some(l) => l,
            None => match rx.recv().await {
                Some(l) => l,
                None => break,
            },
        };
        // Caught up (nothing else queued) or a big line: write it as it is.
        if first.len() >= WRITE_BATCH || rx.is_empty() {
            if write.write_all(&first).await.is_err() {
                break;
            }
            drop(budget);
            continue;
        }
        batch.clear();
        batch.extend_from_slice(&first);
        while batch.len() < WRITE_BATCH {
            let Ok((next, permit)) = rx.try_recv() else {
                break;
            };
            if batch.len() + next.len() > WRITE_BATCH {
                held = Some((next, permit));
                break;
            }
            batch.extend_from_slice(&next);
            budget.merge(permit);
        }
        if write.write_all(&batch).await.is_err() {
            break;
        }
        drop(budget);
        if batch.capacity() > 2 * WRITE_BATCH {
            batch = Vec::new();
        }
    }
    let _ = write.flush().await;
}

/// A message as one line. A message that does not serialise is an error, never
/// an empty line.
pub(super) fn line(msg: &impl Serialize) -> Result<Vec<u8>, serde_json::Error> {
    let mut v = serde_json::to_vec(msg)?;
    v.push(b'\n');
    Ok(v)
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;

    /// A sink that records each write it is given.
    #[derive(Default)]
    struct Writes(Vec<Vec<u8>>);

    impl AsyncWrite for Writes {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            self.0.push(buf.to_vec());
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn lines_queued_while_behind_go_in_few_writes_in_order() {
        let (out, rx) = Outbox::new();
        let mut want = Vec::new();
        for i in 0..200 {
            let l = format!("{{\"n\":{i}}}\n").into_bytes();
            want.extend_from_slice(&l);
            out.send(l).await.unwrap();
        }
        // A line bigger than a batch, between small ones: written alone, uncopied.
        let big = vec![b'x'; WRITE_BATCH + 10];
        want.extend_from_slice(&big);
        out.send(big).await.unwrap();
        out.send(b"end\n".to_vec()).await.unwrap();
        want.extend_from_slice(b"end\n");
        drop(out);
        let mut sink = Writes::default();
        write_lines(rx, &mut sink).await;
        assert_eq!(sink.0.concat(), want);
        // 200 small lines in one write, the big one, the last line.
        assert_eq!(
            sink.0.len(),
            3,
            "{:?}",
            sink.0.iter().map(Vec::len).collect::<Vec<_>>()
        );
        assert!(sink.0[0].len() > 1500);
    }

    #[tokio::test]
    async fn a_client_that_keeps_up_gets_each_line_at_once() {
        let (out, rx) = Outbox::new();
        let (tx, mut seen) = mpsc::unbounded_channel::<Vec<u8>>();
        struct Each(mpsc::UnboundedSender<Vec<u8>>);
        impl AsyncWrite for Each {
            fn poll_write(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<std::io::Result<usize>> {
                let _ = self.0.send(buf.to_vec());
                Poll::Ready(Ok(buf.len()))
            }
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_shutdown(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
            ) -> Poll<std::io::Result<()>> {
                Poll::Ready(Ok(()))
            }
        }
        let writer = tokio::spawn(write_lines(rx, Each(tx)));
        for i in 0..5 {
            let l = format!("{i}\n").into_bytes();
            out.send(l.clone()).await.unwrap();
            // Written before the next line is queued: nothing waits for company.
            assert_eq!(seen.recv().await, Some(l));
        }
        drop(out);
        writer.await.unwrap();
    }
}
