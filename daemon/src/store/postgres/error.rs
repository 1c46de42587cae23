//! Errors inside the PostgreSQL store, and how they leave it: [`classify`] turns
//! the driver's and the pool's failures into the neutral [`StoreError`] kinds,
//! naming the store by its URL with the password left out ([`redact`]), and
//! notes damage and failing writes in the health.

use std::sync::{Arc, Mutex, PoisonError};

use tokio_postgres::error::SqlState;
use tracing::{error, info, warn};

use crate::store::error::StoreError;
use crate::store::types::Health;

/// A failure inside the PostgreSQL store, before it is classified.
#[derive(Debug)]
pub(super) enum PgError {
    /// The server or the connection failed.
    Pg(tokio_postgres::Error),
    /// No connection could be had from the pool.
    Pool(deadpool_postgres::PoolError),
    /// A stored event did not decode (or one to store did not encode).
    Decode(serde_json::Error),
    /// What was read is not what the store promised (a gap in a log, say).
    Damaged(String),
    /// The server did not answer in time.
    TimedOut(&'static str),
    /// Already one of the neutral kinds.
    Store(StoreError),
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::Pg(e)
    }
}

impl From<deadpool_postgres::PoolError> for PgError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        PgError::Pool(e)
    }
}

impl From<serde_json::Error> for PgError {
    fn from(e: serde_json::Error) -> Self {
        PgError::Decode(e)
    }
}

impl From<StoreError> for PgError {
    fn from(e: StoreError) -> Self {
        PgError::Store(e)
    }
}

/// How a person names the store: `postgres://USER@HOST:PORT/DB`, never with
/// its password (for logs, errors and `daemon status`).
pub(super) fn redact(config: &tokio_postgres::Config) -> String {
    let user = config.get_user().unwrap_or("");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or(user);
    let at = if user.is_empty() { "" } else { "@" };
    format!("postgres://{user}{at}{host}:{port}/{db}")
}

/// A store URL as a person may see it: without its password (see [`redact`]).
pub fn redact_url(url: &str) -> String {
    match url.parse::<tokio_postgres::Config>() {
        Ok(c) => redact(&c),
        Err(_) => "(a store URL that does not parse)".into(),
    }
}

/// What a person does about a damaged PostgreSQL store.
pub(super) fn what_to_do(store: &str) -> String {
    format!(
        "stop the daemons that use {store} (`tether daemon stop`), check the database with \
         PostgreSQL's own tools (amcheck, a pg_dump), restore it from a backup if it is damaged \
         (README: \"When things go wrong\")"
    )
}

/// The text of a server's error: its message with its detail.
fn db_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{}: {} ({d})", db.severity(), db.message()),
            None => format!("{}: {}", db.severity(), db.message()),
        },
        None => {
            // The driver's own text, with its cause (the refused connect, say).
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(c) = src {
                s.push_str(": ");
                s.push_str(&c.to_string());
                src = c.source();
            }
            s
        }
    }
}

/// Turns a failure into an error that says what happened and what to do, and
/// notes damage in `health`.
pub(super) fn classify(store: &str, health: &HealthCell, e: PgError) -> StoreError {
    let unreachable = |detail: String| StoreError::Unreachable {
        store: store.to_string(),
        detail,
    };
    let out = match e {
        PgError::Pg(e) => match e.code() {
            Some(c) if *c == SqlState::DISK_FULL => StoreError::Full {
                path: store.to_string(),
            },
            Some(c) if *c == SqlState::DATA_CORRUPTED || *c == SqlState::INDEX_CORRUPTED => {
                damaged(store, db_text(&e))
            }
            Some(c)
                if c.code().starts_with("08")
                    || *c == SqlState::ADMIN_SHUTDOWN
                    || *c == SqlState::CRASH_SHUTDOWN
                    || *c == SqlState::CANNOT_CONNECT_NOW
                    || *c == SqlState::TOO_MANY_CONNECTIONS =>
            {
                unreachable(db_text(&e))
            }
            Some(_) => StoreError::Database(db_text(&e)),
            None => unreachable(db_text(&e)),
        },
        PgError::Pool(deadpool_postgres::PoolError::Backend(e)) => {
            return classify(store, health, PgError::Pg(e));
        }
        PgError::Pool(deadpool_postgres::PoolError::Timeout(_)) => {
            unreachable("no connection within the time allowed".into())
        }
        PgError::Pool(deadpool_postgres::PoolError::Closed) => StoreError::Closed,
        PgError::Pool(e) => unreachable(e.to_string()),
        PgError::Decode(d) => damaged(store, format!("a stored event does not decode ({d})")),
        PgError::Damaged(detail) => damaged(store, detail),
        PgError::TimedOut(what) => unreachable(format!("the server did not answer {what} in time")),
        PgError::Store(e) => e,
    };
    if let StoreError::Damaged { detail, .. } = &out {
        health.damaged(store, detail);
    }
    out
}

/// The neutral error for damage found in `store`, with what to do about it.
pub(super) fn damaged(store: &str, detail: String) -> StoreError {
    StoreError::Damaged {
        path: store.to_string(),
        detail,
        help: what_to_do(store),
    }
}

/// The most damage notes kept.
const MAX_NOTES: usize = 8;

/// The store's [`Health`], shared by its writer and its readers.
#[derive(Debug, Default, Clone)]
pub(super) struct HealthCell(Arc<Mutex<Health>>);

impl HealthCell {
    /// A copy of the current health.
    pub(super) fn get(&self) -> Health {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn update<T>(&self, f: impl FnOnce(&mut Health) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Notes damage (logged once per distinct note).
    pub(super) fn damaged(&self, store: &str, detail: &str) {
        let new = self.update(|h| {
            let new = !h.damage.iter().any(|d| d == detail) && h.damage.len() < MAX_NOTES;
            if new {
                h.damage.push(detail.to_string());
            }
            new
        });
        if new {
            error!(store, detail, "the store is damaged; {}", what_to_do(store));
        }
    }

    /// Notes the outcome of a write transaction.
    pub(super) fn wrote(&self, outcome: Option<&StoreError>) {
        let was = self.update(|h| h.write_error.clone());
        match (outcome, was) {
            (None, None) => {}
            (None, Some(_)) => {
                info!("the store takes writes again");
                self.update(|h| h.write_error = None);
            }
            (Some(e), was) => {
                let msg = e.to_string();
                if was.as_deref() != Some(msg.as_str()) {
                    warn!(error = %msg, "a store write failed");
                }
                self.update(|h| h.write_error = Some(msg));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_its_password() {
        let c: tokio_postgres::Config = "postgres://ann:s3cret@db.example:6543/tether"
            .parse()
            .unwrap_or_default();
        assert_eq!(redact(&c), "postgres://ann@db.example:6543/tether");
        let c: tokio_postgres::Config = "host=/tmp/pg port=5999 user=bob password=pw dbname=t"
            .parse()
            .unwrap_or_default();
        assert_eq!(redact(&c), "postgres://bob@/tmp/pg:5999/t");
    }
}
