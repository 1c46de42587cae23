//! The leases of a PostgreSQL store (issue 16; the promises are in
//! `store/lease.rs`, the SQL in `store/lease_sql.rs`). Lease calls run on a
//! pooled connection of their own, not through the writer: a renewal must not
//! wait behind a group of appends. The store remembers the fence it acquired
//! for each session, and every write of such a session goes to the writer as
//! [`Write::Fenced`], whose first statement checks that fence in the write's
//! own transaction.

use super::handle::PgStore;
use super::writes::Write;
use crate::store::error::StoreError;
use crate::store::lease::{Grant, Lease};
use crate::store::lease_sql as sql;

fn ms(lease_ms: u64) -> i64 {
    lease_ms.min(i64::MAX as u64) as i64
}

impl PgStore {
    /// `write` of session `session`, fenced when this store acquired its lease.
    pub(super) fn fenced(&self, session: &str, write: Write) -> Write {
        let held = self
            .fences
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(session)
            .cloned();
        match held {
            Some((node, fence)) => Write::Fenced {
                session: session.to_string(),
                node,
                fence,
                write: Box::new(write),
            },
            None => write,
        }
    }

    fn remember(&self, session: &str, node: &str, fence: i64) {
        self.fences
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(session.to_string(), (node.to_string(), fence));
    }

    /// Forgets a deleted session's fence.
    pub(super) fn forget(&self, session: &str) {
        self.fences
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(session);
    }

    /// A pooled connection of its own (not the writer's), its failure classified.
    pub(super) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| self.classify(e.into()))
    }

    pub(super) async fn acquire(
        &self,
        session: &str,
        node: &str,
        lease_ms: u64,
    ) -> Result<Grant, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt(sql::ACQUIRE, &[&session, &node, &ms(lease_ms)])
            .await
            .map_err(|e| self.classify(e.into()))?;
        if let Some(row) = row {
            let fence: i64 = row.get(0);
            self.remember(session, node, fence);
            return Ok(Grant::Held(fence));
        }
        let holder: Option<String> = c
            .query_opt(sql::HOLDER, &[&session])
            .await
            .map_err(|e| self.classify(e.into()))?
            .map(|r| r.get(0));
        Ok(Grant::Elsewhere(holder.unwrap_or_else(|| "?".into())))
    }

    pub(super) async fn renew(&self, node: &str, lease_ms: u64) -> Result<Vec<String>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(sql::RENEW, &[&node, &ms(lease_ms)])
            .await
            .map_err(|e| self.classify(e.into()))?;
        c.execute(sql::SEEN, &[&node])
            .await
            .map_err(|e| self.classify(e.into()))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub(super) async fn release(
        &self,
        session: Option<&str>,
        node: &str,
        to: Option<&str>,
        lease_ms: u64,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(sql::RELEASE, &[&node, &session, &to, &ms(lease_ms)])
            .await
            .map_err(|e| self.classify(e.into()))?;
        Ok(())
    }

    pub(super) async fn place(
        &self,
        session: &str,
        node: &str,
        creator: &str,
        portable: bool,
        lease_ms: u64,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            sql::PLACE,
            &[&session, &node, &creator, &portable, &ms(lease_ms)],
        )
        .await
        .map_err(|e| self.classify(e.into()))?;
        if node == creator {
            self.remember(session, node, 1);
        }
        Ok(())
    }

    pub(super) async fn move_to(&self, session: &str, to: &str) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(sql::MOVE, &[&session, &to])
            .await
            .map_err(|e| self.classify(e.into()))?;
        Ok(())
    }

    pub(super) async fn nodes(&self, within_ms: u64) -> Result<Vec<String>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(sql::LIVE_NODES, &[&ms(within_ms)])
            .await
            .map_err(|e| self.classify(e.into()))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub(super) async fn inputs_of(
        &self,
        node: &str,
    ) -> Result<Vec<(String, crate::store::QueuedInput)>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(sql::INPUTS_OF_NODE, &[&node])
            .await
            .map_err(|e| self.classify(e.into()))?;
        Ok(rows
            .iter()
            .map(|r| {
                let delivery: String = r.get(3);
                (
                    r.get(0),
                    crate::store::QueuedInput {
                        id: r.get(1),
                        text: r.get(2),
                        delivery: super::reads::delivery_from(&delivery),
                        schedule: r.get::<_, Option<i64>>(4).map(|v| v.max(0) as u64),
                    },
                )
            })
            .collect())
    }

    pub(super) async fn list(&self) -> Result<Vec<Lease>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(sql::LIST, &[])
            .await
            .map_err(|e| self.classify(e.into()))?;
        Ok(rows
            .iter()
            .map(|r| Lease {
                session_id: r.get(0),
                owner: r.get(1),
                fence: r.get(2),
                expired: r.get(3),
                portable: r.get(4),
                target: r.get(5),
            })
            .collect())
    }
}
