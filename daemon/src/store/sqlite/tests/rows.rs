//! What a session's row keeps: its own servers, its worktree, the row's columns.

use super::*;

#[tokio::test]
async fn a_sessions_own_servers_are_kept_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    let servers = vec![tether_shared::protocol::SessionServer {
        name: "fs".into(),
        command: Some("/bin/fs".into()),
        env: [("TOKEN".to_string(), "t".to_string())].into(),
        ..Default::default()
    }];
    let mut with = row("a", "with");
    with.mcp_servers = servers.clone();
    for r in [with, row("b", "without")] {
        store
            .create_session_keyed(r, vec![], None, None)
            .await
            .unwrap();
    }
    let rows = store.sessions().await.unwrap();
    assert_eq!(rows[0].mcp_servers, servers);
    assert!(rows[1].mcp_servers.is_empty());
}

#[tokio::test]
async fn a_sessions_worktree_is_kept_with_it_and_in_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let worktree = tether_shared::protocol::WorktreeInfo {
        path: "/r/.tether/worktrees/w".into(),
        branch: "tether/w".into(),
        repo: "/r".into(),
        base_commit: "0123abcd".into(),
    };
    {
        let store = SqliteStore::open(&path).unwrap();
        let mut with = row("a", "with");
        with.worktree = Some(worktree.clone());
        for r in [with, row("b", "without")] {
            store
                .create_session_keyed(r, vec![], None, None)
                .await
                .unwrap();
        }
    }
    // Reopened: what a restart reads.
    let store = SqliteStore::open(&path).unwrap();
    let rows = store.sessions().await.unwrap();
    assert_eq!(rows[0].worktree.as_ref(), Some(&worktree));
    assert_eq!(rows[1].worktree, None);
    let index = store.index().await.unwrap();
    let with = index.iter().find(|e| e.row.id == "a").unwrap();
    assert_eq!(with.row.worktree.as_ref(), Some(&worktree));
}

#[test]
fn row_len_counts_the_row_columns() {
    use crate::store::sqlite::reads::{ROW_COLUMNS, ROW_LEN};
    assert_eq!(ROW_COLUMNS.split(',').count(), ROW_LEN);
}
