//! The SQLite store's [`Health`], shared by its writer, its readers and its
//! background check, and what a person does about a damaged `tether.db`.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::{error, info, warn};

use crate::store::error::StoreError;
use crate::store::types::Health;

/// The most damage notes kept (a broken file can fail every read).
const MAX_NOTES: usize = 8;

/// The shared, lockable [`Health`].
#[derive(Debug, Default, Clone)]
pub(crate) struct HealthCell(Arc<Mutex<Health>>);

impl HealthCell {
    /// A copy of the current health.
    pub(crate) fn get(&self) -> Health {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(super) fn update(&self, f: impl FnOnce(&mut Health)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// Notes damage (logged once per distinct note).
    pub(crate) fn damaged(&self, path: &Path, detail: &str) {
        let mut new = false;
        self.update(|h| {
            if !h.damage.iter().any(|d| d == detail) && h.damage.len() < MAX_NOTES {
                h.damage.push(detail.to_string());
                new = true;
            }
        });
        if new {
            error!(file = %path.display(), detail, "the store is damaged; {}", what_to_do(path));
        }
    }

    /// Notes the outcome of a write transaction.
    pub(crate) fn wrote(&self, outcome: Option<&StoreError>) {
        // Every commit comes here: look at the one field, clone nothing else.
        let was = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write_error
            .clone();
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

    pub(super) fn lost_commits(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .lost_commits
    }
}

/// What a person does about a damaged store file.
pub(crate) fn what_to_do(path: &Path) -> String {
    let p = path.display();
    format!(
        "stop the daemon (`tether daemon stop`), keep a copy of {p}, then restore it from a \
         backup or salvage it with `sqlite3 {p} .recover | sqlite3 recovered.db` and move \
         recovered.db in its place (README: \"When things go wrong\")"
    )
}
