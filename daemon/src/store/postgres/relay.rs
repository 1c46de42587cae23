//! Relayed requests on PostgreSQL (issue 16; the promises are in
//! `store/relay.rs`, with the SQL). Like the leases, they run on pooled
//! connections of their own, not through the writer: a decision must not wait
//! behind a group of appends, and it is not a write of the session itself (the
//! owner's actor makes that, fenced, when it runs the request).

use super::handle::PgStore;
use super::listen::{answered_payload, notify, request_payload};
use crate::store::error::StoreError;
use crate::store::relay::{self as sql, RelayState, Relayed};

impl PgStore {
    pub(super) async fn relay_put_row(
        &self,
        session: &str,
        node: &str,
        method: &str,
        params: &str,
    ) -> Result<i64, StoreError> {
        let mut c = self.client().await?;
        let run = async {
            let tx = c.transaction().await?;
            let id: i64 = tx
                .query_one(sql::PUT, &[&session, &node, &method, &params])
                .await?
                .get(0);
            notify(&tx, &request_payload(session, id)).await?;
            tx.commit().await?;
            Ok::<_, super::error::PgError>(id)
        };
        run.await.map_err(|e| self.classify(e))
    }

    pub(super) async fn relay_claim_rows(&self, node: &str) -> Result<Vec<Relayed>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(sql::CLAIM, &[&node])
            .await
            .map_err(|e| self.classify(e.into()))?;
        let mut out: Vec<Relayed> = rows
            .iter()
            .map(|r| Relayed {
                id: r.get(0),
                session_id: r.get(1),
                method: r.get(2),
                params: r.get(3),
            })
            .collect();
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    pub(super) async fn relay_answer_row(&self, id: i64, reply: &str) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let run = async {
            let tx = c.transaction().await?;
            let session: Option<String> = tx
                .query_opt(sql::ANSWER, &[&id, &reply])
                .await?
                .map(|r| r.get(0));
            if let Some(session) = session {
                notify(&tx, &answered_payload(&session, id)).await?;
            }
            tx.commit().await?;
            Ok::<_, super::error::PgError>(())
        };
        run.await.map_err(|e| self.classify(e))
    }

    pub(super) async fn relay_state_of(&self, id: i64) -> Result<RelayState, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt(sql::STATE, &[&id])
            .await
            .map_err(|e| self.classify(e.into()))?;
        Ok(match row {
            None => RelayState::Gone,
            Some(r) => match (r.get::<_, Option<String>>(0), r.get::<_, Option<String>>(1)) {
                (_, Some(reply)) => RelayState::Answered(reply),
                (Some(node), None) => RelayState::Claimed(node),
                (None, None) => RelayState::Waiting,
            },
        })
    }

    pub(super) async fn relay_withdraw_row(&self, id: i64) -> Result<bool, StoreError> {
        let c = self.client().await?;
        let n = c
            .execute(sql::WITHDRAW, &[&id])
            .await
            .map_err(|e| self.classify(e.into()))?;
        Ok(n == 1)
    }

    pub(super) async fn relay_drop_row(&self, id: i64) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(sql::DROP, &[&id])
            .await
            .map_err(|e| self.classify(e.into()))?;
        c.execute(sql::SWEEP, &[])
            .await
            .map_err(|e| self.classify(e.into()))?;
        Ok(())
    }
}
