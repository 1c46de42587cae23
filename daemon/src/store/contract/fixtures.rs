//! What the contract's cases share: how a case opens its store, and the rows
//! and events they store.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tether_shared::{Delivery, Event, EventKind, Usage};

use crate::store::{PgStore, SessionRow, SqliteStore, Store};

/// Opens the case's store (the same one each time it is called).
pub type Opener =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Arc<dyn Store>> + Send>> + Send + Sync>;

/// One case of the contract.
pub type Case = fn(Opener) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// The SQLite store at `path`.
pub fn sqlite(path: std::path::PathBuf) -> Opener {
    Arc::new(move || {
        let path = path.clone();
        Box::pin(async move { Arc::new(SqliteStore::open(&path).unwrap()) as Arc<dyn Store> })
    })
}

/// The PostgreSQL store at `url` (its server is the end-to-end suite's).
#[cfg_attr(not(feature = "contract"), allow(dead_code))]
pub fn postgres(url: String) -> Opener {
    Arc::new(move || {
        let url = url.clone();
        Box::pin(async move { Arc::new(PgStore::open(&url).await.unwrap()) as Arc<dyn Store> })
    })
}

pub(crate) fn ev(seq: u64, kind: EventKind) -> Event {
    Event {
        seq,
        ts: format!("t{seq}"),
        kind,
    }
}

pub(crate) fn row(id: &str, name: &str) -> SessionRow {
    SessionRow {
        id: id.into(),
        name: name.into(),
        model: "p/m".into(),
        cwd: "/".into(),
        instructions: None,
        created_at: "t0".into(),
        updated_at: "t0".into(),
        last_seq: 0,
        usage: Usage::default(),
        cost_usd: 0.0,
        budget: Default::default(),
        mcp_servers: Vec::new(),
        worktree: None,
    }
}

pub(crate) fn user(seq: u64, text: &str) -> Event {
    ev(
        seq,
        EventKind::UserMessage {
            text: text.into(),
            delivery: Delivery::Queue,
        },
    )
}

pub(crate) fn result(seq: u64, tool: &str, output: &str) -> Event {
    ev(
        seq,
        EventKind::ToolResult {
            call_id: format!("c{seq}"),
            tool: tool.into(),
            output: output.into(),
            is_error: false,
            images: vec![],
        },
    )
}

/// Every session's row, oldest first.
pub(crate) async fn sessions(store: &dyn Store) -> Vec<SessionRow> {
    store
        .index()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.row)
        .collect()
}
