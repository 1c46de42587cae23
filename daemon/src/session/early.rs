//! The session list before the start-up's restore is done (issue 13): the
//! daemon takes connections from its first moment, and a `session.list` that
//! comes while the restore runs is written from the summaries the restore made
//! of the index (shared with the table it fills), as soon as the index is read,
//! rather than after the table is filled and the sessions with work restored.
//!
//! Only when no session needs its actor at start: then every session is asleep
//! and the table will hold exactly those summaries (every other request waits
//! for the restore, so nothing changes them in between). With a session to
//! recover, to run or awaiting a person, the list waits for the restore, whose
//! actors say what they show.

use std::sync::Arc;

use tether_shared::protocol::{ListShape, SessionInfo};

use super::registry::Registry;
use super::slots::{EarlyState, write_sorted};

/// The start-up's list, as read from the index.
pub struct EarlyList(Arc<Vec<Arc<SessionInfo>>>);

impl EarlyList {
    /// Appends it to `out` as `session.list`'s result in `shape`.
    pub fn write(&self, shape: &ListShape, out: &mut Vec<u8>) -> serde_json::Result<()> {
        write_sorted(self.0.iter().map(|i| &**i), self.0.len(), shape, out)
    }
}

impl Registry {
    /// The restore is over: lists are the table's from now on. Called before
    /// any request but `session.list` is served, so a list from the index is
    /// never taken after a change to the table.
    pub fn end_early(&self) {
        self.early.gone();
    }

    /// During the start-up's restore: the list from its index, once read;
    /// `None` when it is not to be had (see the module's comment), and the list
    /// is the table's once the restore is done.
    pub async fn early_list(&self) -> Option<EarlyList> {
        let mut rx = self.early.subscribe();
        let state = rx
            .wait_for(|s| !matches!(s, EarlyState::Reading))
            .await
            .ok()?
            .clone();
        match state {
            EarlyState::Ready(infos) => Some(EarlyList(infos)),
            EarlyState::Reading | EarlyState::Gone => None,
        }
    }
}

#[cfg(test)]
mod tests {
    // Test code fails loudly by design.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use tether_shared::protocol::{
        ListItem, ListParams, ListRow, LsTable, PartialInfo, list_table,
    };
    use tether_shared::{Event, Usage};
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::os::procs::ProcessIdentity;
    use crate::session::SessionShared;
    use crate::store::SessionRow;

    fn row(i: usize) -> SessionRow {
        SessionRow {
            id: format!("s-{i:04}"),
            name: format!("n{}", 7 - i),
            model: "p/m".into(),
            cwd: format!("/w/{i}"),
            instructions: None,
            // Two share a creation time: their names decide.
            created_at: format!("2026-01-01T00:00:0{}.000Z", i.min(5)),
            updated_at: "2026-01-02T00:00:00.000Z".into(),
            last_seq: 1,
            usage: Usage::default(),
            cost_usd: 0.0,
            budget: Default::default(),
            mcp_servers: Vec::new(),
            worktree: None,
        }
    }

    fn idle() -> Event {
        serde_json::from_value(serde_json::json!({
            "seq": 1, "ts": "2026-01-01T00:00:00.000Z", "type": "state", "state": "idle"
        }))
        .unwrap()
    }

    fn shapes() -> Vec<ListShape> {
        let some = Some(vec!["name".into(), "state".into(), "created_at".into()]);
        [
            ListParams::default(),
            ListParams {
                fields: some.clone(),
                rows: false,
                table: false,
            },
            ListParams {
                fields: some,
                rows: true,
                table: false,
            },
            ListParams::ls(),
        ]
        .iter()
        .map(ListShape::new)
        .collect()
    }

    fn written(f: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn a_list_during_the_restore_is_what_the_table_lists_once_restored() {
        let dir = tempfile::tempdir().unwrap();
        let shared = SessionShared::for_tests(dir.path());
        for i in 0..7 {
            shared
                .store
                .create_session_keyed(row(i), vec![idle()], None, None)
                .await
                .unwrap();
        }
        let registry = Registry::new(shared, CancellationToken::new());
        // Asked before the index is read: answered once it is.
        let (early, restored) = tokio::join!(registry.early_list(), registry.restore());
        assert_eq!(restored.unwrap(), 7);
        let early = early.expect("every session sleeps: a list from the index");
        for shape in shapes() {
            let from_index = written(|o| early.write(&shape, o));
            let from_table = written(|o| registry.write_list(&shape, o));
            assert_eq!(from_index, from_table, "{shape:?}");
        }
        // Oldest first, then by name.
        let names: Vec<String> = registry.list().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["n7", "n6", "n5", "n4", "n3", "n1", "n2"]);
        registry.end_early();
        assert!(registry.early_list().await.is_none());
    }

    #[tokio::test]
    async fn a_session_with_work_at_start_means_no_list_from_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let shared = SessionShared::for_tests(dir.path());
        for i in 0..2 {
            shared
                .store
                .create_session_keyed(row(i), vec![idle()], None, None)
                .await
                .unwrap();
        }
        // Process groups a crash left (not this machine's: never signalled):
        // its actor starts with the restore, to see to them.
        let left = ProcessIdentity {
            pid: 1,
            start_ticks: 2,
            boot_id: "another boot".into(),
        };
        shared
            .store
            .add_process("s-0001", "c1", left)
            .await
            .unwrap();
        let registry = Registry::new(shared, CancellationToken::new());
        let (early, restored) = tokio::join!(registry.early_list(), registry.restore());
        assert_eq!(restored.unwrap(), 2);
        assert!(early.is_none(), "the list waits for the restore");
        assert!(registry.awake("s-0001").is_some());
        assert_eq!(registry.list().len(), 2);
    }

    #[test]
    fn a_long_list_encoded_in_halves_is_the_bytes_of_one_serialiser() {
        let infos: Vec<SessionInfo> = (0..12_345)
            .map(|i| {
                let mut s: SessionInfo = serde_json::from_value(serde_json::json!({
                    "id": format!("s-{i}"), "name": format!("n{}", 99_999 - i),
                    "state": "idle", "model": "p/m", "cwd": "/w \"q\"",
                    "created_at": format!("2026-01-01T00:00:{:02}.000Z", i % 7),
                    "updated_at": "2026-01-01T00:00:00.000Z", "pending_approvals": [],
                    "queued_inputs": 0, "attached_clients": 0, "last_seq": 0,
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0},
                    "context_tokens": 0, "context_window": 0, "budget": {},
                    "cost_usd": 0.0, "cost_basis": "config"
                }))
                .unwrap();
                s.last_seq = i as u64;
                s
            })
            .collect();
        let mut sorted: Vec<&SessionInfo> = infos.iter().collect();
        sorted.sort_by(|a, b| (&a.created_at, &a.name).cmp(&(&b.created_at, &b.name)));
        for shape in shapes() {
            let mine = written(|o| write_sorted(infos.iter(), infos.len(), &shape, o));
            let want = match &shape {
                ListShape::Objects(mask) => {
                    let v: Vec<PartialInfo> =
                        sorted.iter().map(|s| PartialInfo(s, *mask)).collect();
                    serde_json::to_string(&v).unwrap()
                }
                ListShape::Rows(_) => {
                    let v: Vec<ListItem> = sorted.iter().map(|s| ListItem(s, &shape)).collect();
                    serde_json::to_string(&v).unwrap()
                }
                ListShape::Table => {
                    let rows: Vec<ListRow> = sorted.iter().map(|s| ListRow::from(*s)).collect();
                    serde_json::to_string(&LsTable::of(&list_table(&rows))).unwrap()
                }
            };
            assert_eq!(mine, want, "{shape:?}");
        }
        assert_eq!(
            written(|o| write_sorted([].into_iter(), 0, &shapes()[0], o)),
            "[]"
        );
    }
}
