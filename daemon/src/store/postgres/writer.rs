//! The writer task: one task commits whatever arrived while the previous commit
//! ran in one transaction (group commit), as the SQLite store's writer thread
//! does, so many sessions appending at once cost one round of commit, not one
//! each. Each op runs in a savepoint of its own, so one that fails (a duplicate
//! name, say) rolls back alone. A batch that cannot commit (the server went
//! away) fails every op in it, and its callers are told: nothing of it was
//! acknowledged. The writer takes a fresh connection from the pool for each
//! batch, so writes work again as soon as the server does.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::error::{HealthCell, PgError, classify};
use super::writes::{Done, Write, apply};
use crate::store::error::StoreError;

/// The most ops one transaction holds.
const MAX_BATCH: usize = 512;

/// How long a batch may take, from taking a connection to its commit, before
/// its callers are told the server does not answer.
const BATCH_TIMEOUT: Duration = Duration::from_secs(30);

/// A write with the oneshot that answers its caller after the commit.
pub(super) struct Op {
    pub(super) write: Write,
    pub(super) reply: oneshot::Sender<Result<Done, StoreError>>,
}

/// The writer task's own state.
pub(super) struct Writer {
    pub(super) pool: deadpool_postgres::Pool,
    /// The store, as its URL without the password.
    pub(super) store: String,
    pub(super) health: HealthCell,
}

impl Writer {
    /// Commits ops in groups until every sender is gone.
    pub(super) async fn run(self, mut rx: mpsc::UnboundedReceiver<Op>) {
        while let Some(first) = rx.recv().await {
            let mut ops = vec![first];
            while ops.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(op) => ops.push(op),
                    Err(_) => break,
                }
            }
            self.commit(ops).await;
        }
    }

    /// Runs `ops` in one transaction and answers each caller.
    async fn commit(&self, ops: Vec<Op>) {
        let (writes, replies): (Vec<Write>, Vec<_>) =
            ops.into_iter().map(|o| (o.write, o.reply)).unzip();
        let mut results = Vec::with_capacity(writes.len());
        let outcome = tokio::time::timeout(BATCH_TIMEOUT, self.batch(&writes, &mut results)).await;
        let failure = match outcome {
            Err(_) => Some(self.classify(PgError::TimedOut("a write"))),
            Ok(Err(e)) => Some(self.classify(e)),
            Ok(Ok(())) => None,
        };
        self.health.wrote(failure.as_ref());
        let mut results = results.into_iter();
        for reply in replies {
            let out = match (results.next(), &failure) {
                (Some(Err(own)), _) => Err(own),
                (Some(Ok(done)), None) => Ok(done),
                (_, Some(e)) => Err(e.clone()),
                (None, None) => Err(StoreError::Closed),
            };
            let _ = reply.send(out);
        }
    }

    fn classify(&self, e: PgError) -> StoreError {
        classify(&self.store, &self.health, e)
    }

    /// The transaction: each write in a savepoint (a lone write needs none: its
    /// failure rolls back the transaction, which holds nothing else).
    async fn batch(
        &self,
        writes: &[Write],
        results: &mut Vec<Result<Done, StoreError>>,
    ) -> Result<(), PgError> {
        let mut client = self.pool.get().await?;
        let mut tx = client.transaction().await?;
        if let [only] = writes {
            match apply(&tx, only).await {
                Ok(done) => {
                    tx.commit().await?;
                    results.push(Ok(done));
                }
                Err(e) => {
                    let e = self.classify(e);
                    tx.rollback().await?;
                    results.push(Err(e));
                }
            }
            return Ok(());
        }
        for w in writes {
            let sp = tx.savepoint("op").await?;
            match apply(&sp, w).await {
                Ok(done) => {
                    sp.commit().await?;
                    results.push(Ok(done));
                }
                Err(e) => {
                    let e = self.classify(e);
                    // Fails when the connection is gone: the batch fails with it.
                    sp.rollback().await?;
                    results.push(Err(e));
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
