//! What the CLI prints of a session's git worktree (issue 15).

use tether_shared::protocol::WorktreeOutcome;

/// `tether kill`'s lines about the killed session's worktree: removed, or kept
/// with why, where and the command that removes it.
pub fn worktree_outcome(w: &WorktreeOutcome) -> String {
    if w.removed {
        return format!("removed worktree {} and branch {}\n", w.path, w.branch);
    }
    let mut out = format!("kept worktree {} (branch {})", w.path, w.branch);
    if let Some(r) = &w.reason {
        out.push_str(": ");
        out.push_str(r);
    }
    out.push('\n');
    if let Some(c) = &w.remove_command {
        out.push_str("to remove it: ");
        out.push_str(c);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{ListRow, list_table};
    use super::*;

    #[test]
    fn a_kept_worktree_says_where_why_and_how_to_remove_it() {
        let kept = WorktreeOutcome {
            path: "/r/.tether/worktrees/w".into(),
            branch: "tether/w".into(),
            removed: false,
            reason: Some("it has uncommitted changes (1 file)".into()),
            remove_command: Some("git -C /r worktree remove --force /r/.tether/worktrees/w && git -C /r branch -D tether/w".into()),
        };
        assert_eq!(
            worktree_outcome(&kept),
            "kept worktree /r/.tether/worktrees/w (branch tether/w): it has uncommitted changes (1 file)\n\
             to remove it: git -C /r worktree remove --force /r/.tether/worktrees/w && git -C /r branch -D tether/w\n"
        );
        let removed = WorktreeOutcome {
            removed: true,
            reason: None,
            remove_command: None,
            ..kept
        };
        assert_eq!(
            worktree_outcome(&removed),
            "removed worktree /r/.tether/worktrees/w and branch tether/w\n"
        );
    }

    #[test]
    fn the_ls_table_gains_a_branch_column_only_when_a_session_has_a_worktree() {
        // Rows borrow their text from the reply: each test reply is kept.
        let row = |name: &str, worktree: serde_json::Value| -> ListRow<'static> {
            let json = serde_json::json!({
                "name": name, "state": "idle", "model": "p/m", "cwd": "/r",
                "updated_at": "2026-12-01T20:36:25.123Z", "pending_approvals": [],
                "worktree": worktree,
            });
            serde_json::from_str(String::leak(json.to_string())).unwrap()
        };
        let plain = list_table(&[row("a", serde_json::Value::Null)]);
        assert!(!plain.contains("BRANCH"), "{plain}");
        let both = list_table(&[
            row("a", serde_json::Value::Null),
            row(
                "w",
                serde_json::json!({"path": "/r/.tether/worktrees/w", "branch": "tether/w", "repo": "/r"}),
            ),
        ]);
        let lines: Vec<&str> = both.lines().collect();
        assert!(lines[0].ends_with("DIR  BRANCH"), "{both}");
        assert!(lines[1].ends_with("/r   -"), "{both}");
        assert!(lines[2].ends_with("/r   tether/w"), "{both}");
    }
}
