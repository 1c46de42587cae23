//! Snapshots of the worktree fields (issue 15): `session.create` with
//! `worktree`, a summary with one, and `session.kill`'s result when it kept
//! one and when it removed one. The methods' own snapshots (in `snapshot_tests`)
//! stay as they were: every field here is absent when unused.

use serde_json::Value;

use super::*;

fn pretty(msg: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(msg).unwrap()
}

fn worktree() -> WorktreeInfo {
    WorktreeInfo {
        path: "/home/ana/projects/tether/.tether/worktrees/fix-tests".into(),
        branch: "tether/fix-tests".into(),
        repo: "/home/ana/projects/tether".into(),
        base_commit: "4057aa1c0ffee0ddba11deadbeef0123456789ab".into(),
    }
}

#[test]
fn create_with_a_worktree() {
    let params = CreateParams {
        name: Some("fix-tests".into()),
        cwd: "/home/ana/projects/tether".into(),
        prompt: Some("Make the tests pass.".into()),
        worktree: Some(WorktreeParams {
            base: Some("main".into()),
        }),
        ..Default::default()
    };
    insta::assert_snapshot!(
        "session_create_worktree__params",
        pretty(&method::SessionCreate::request(7, &params).unwrap())
    );
    let back: CreateParams =
        serde_json::from_value(serde_json::to_value(&params).unwrap()).unwrap();
    assert_eq!(back, params);
    // From HEAD: `{}`.
    let head = CreateParams {
        cwd: "/r".into(),
        worktree: Some(WorktreeParams::default()),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&head).unwrap()["worktree"],
        serde_json::json!({})
    );
}

#[test]
fn a_summary_with_a_worktree() {
    let w = worktree();
    let info = serde_json::json!({
        "id": "s-f77573dadff7", "name": "fix-tests", "state": "idle",
        "model": "local/qwen3-coder", "cwd": w.path,
        "created_at": "2026-11-30T09:12:44.120Z", "updated_at": "2026-11-30T09:14:02.518Z",
        "pending_approvals": [], "worktree": w,
    });
    let info: SessionInfo = serde_json::from_value(info).unwrap();
    assert_eq!(info.worktree.as_ref(), Some(&w));
    let json = serde_json::to_value(&info).unwrap();
    insta::assert_snapshot!("session_info_worktree", pretty(&json["worktree"]));
    // A summary without one has no `worktree` member at all.
    let plain = SessionInfo {
        worktree: None,
        ..info
    };
    assert!(
        serde_json::to_value(&plain)
            .unwrap()
            .get("worktree")
            .is_none()
    );
}

#[test]
fn kill_results_for_a_kept_and_a_removed_worktree() {
    let w = worktree();
    let kept = KillResult {
        id: "s-f77573dadff7".into(),
        worktree: Some(WorktreeOutcome {
            path: w.path.clone(),
            branch: w.branch.clone(),
            removed: false,
            reason: Some("it has uncommitted changes (2 files)".into()),
            remove_command: Some(format!(
                "git -C {} worktree remove --force {} && git -C {} branch -D {}",
                w.repo, w.path, w.repo, w.branch
            )),
        }),
    };
    let removed = KillResult {
        id: "s-f77573dadff7".into(),
        worktree: Some(WorktreeOutcome {
            path: w.path.clone(),
            branch: w.branch,
            removed: true,
            reason: None,
            remove_command: None,
        }),
    };
    for (name, r) in [
        ("session_kill_worktree_kept__result", &kept),
        ("session_kill_worktree_removed__result", &removed),
    ] {
        let v = serde_json::to_value(r).unwrap();
        insta::assert_snapshot!(name, pretty(&Response::ok(Value::from(7), v.clone())));
        assert_eq!(&serde_json::from_value::<KillResult>(v).unwrap(), r);
    }
}
