//! The fleet's wake-ups (issue 16): one dedicated connection (not from the
//! pool) that `LISTEN`s on [`CHANNEL`]. The writes `NOTIFY` in their own
//! transaction, so a wake-up arrives only after what it names is committed
//! (persist-then-publish): an event batch sends `{"s":ID,"q":LAST_SEQ}` (the
//! events are read from the table), a stored input `{"s":ID,"i":1}`, a request
//! relayed to the owner `{"s":ID,"r":REQUEST}` and its reply
//! `{"s":ID,"a":REQUEST}` (`store/relay.rs`). After the
//! connection drops it reconnects with backoff and sends a catch-up wake-up
//! (no session), since notifications sent meanwhile are lost.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_postgres::AsyncMessage;

use super::conn::Tx;
use super::error::PgError;
use super::tls::Tls;
use crate::store::FleetWake;

/// The channel every node listens on.
pub(super) const CHANNEL: &str = "tether_fleet";

/// `NOTIFY`s the fleet's channel in the write's transaction: the server delivers
/// it at the commit, so a node woken by it finds what it names stored.
pub(super) async fn notify(tx: &Tx<'_>, payload: &str) -> Result<(), PgError> {
    let st = tx.prepare_cached("SELECT pg_notify($1, $2)").await?;
    tx.execute(&st, &[&CHANNEL, &payload]).await?;
    Ok(())
}

/// The payload of an event batch's notification.
pub(super) fn events_payload(session: &str, last_seq: u64) -> String {
    serde_json::json!({ "s": session, "q": last_seq }).to_string()
}

/// The payload of a stored input's (or decision's) notification.
pub(super) fn input_payload(session: &str) -> String {
    serde_json::json!({ "s": session, "i": 1 }).to_string()
}

/// The payload of a request relayed to a session's owner (`store/relay.rs`).
pub(super) fn request_payload(session: &str, id: i64) -> String {
    serde_json::json!({ "s": session, "r": id }).to_string()
}

/// The payload of a relayed request's reply, for the node that asked.
pub(super) fn answered_payload(session: &str, id: i64) -> String {
    serde_json::json!({ "s": session, "a": id }).to_string()
}

/// Parses a notification's payload; `None` for one this build does not know.
fn parse(payload: &str) -> Option<FleetWake> {
    let v: serde_json::Value = serde_json::from_str(payload).ok()?;
    Some(FleetWake {
        session: Some(v.get("s")?.as_str()?.to_string()),
        seq: v.get("q").and_then(|q| q.as_u64()),
        input: v.get("i").is_some(),
        request: v.get("r").is_some(),
        answered: v.get("a").and_then(|a| a.as_i64()),
    })
}

/// Listens until every receiver is gone, reconnecting with backoff.
pub(super) async fn run(
    config: tokio_postgres::Config,
    tls: Tls,
    out: broadcast::Sender<FleetWake>,
) {
    let mut backoff = Duration::from_millis(200);
    let mut first = true;
    while out.receiver_count() > 0 {
        match listen_once(&config, tls.clone(), &out, first).await {
            Ok(()) => backoff = Duration::from_millis(200),
            Err(e) => {
                tracing::warn!(error = %e, "the store's LISTEN connection dropped; reconnecting")
            }
        }
        first = false;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// One connection: `LISTEN`, then forward notifications until it drops.
async fn listen_once(
    config: &tokio_postgres::Config,
    tls: Tls,
    out: &broadcast::Sender<FleetWake>,
    first: bool,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut conn) = config.connect(tls).await?;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let forward = out.clone();
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| conn.poll_message(cx));
        let mut result = Ok(());
        while let Some(m) = messages.next().await {
            match m {
                Ok(AsyncMessage::Notification(n)) => {
                    if let Some(wake) = parse(n.payload()) {
                        let _ = forward.send(wake);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let _ = done_tx.send(());
        result
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    tracing::debug!("listening for the fleet's notifications");
    if !first {
        // What was sent while the connection was down is lost: catch up.
        let _ = out.send(FleetWake::default());
    }
    let _ = done_rx.await;
    drop(client);
    match driver.await {
        Ok(r) => r,
        Err(_) => Ok(()),
    }
}
