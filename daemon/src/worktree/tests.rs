//! The worktree module against a real git in a temporary repository.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use super::*;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository with one commit on `main`.
fn repo() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("proj");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["config", "user.name", "T"]);
    git(&repo, &["config", "user.email", "t@example.invalid"]);
    std::fs::write(repo.join("a.txt"), "a\n").unwrap();
    git(&repo, &["add", "a.txt"]);
    git(&repo, &["commit", "-q", "-m", "first"]);
    let repo = std::fs::canonicalize(repo).unwrap();
    (dir, repo)
}

#[tokio::test]
async fn a_worktree_is_made_on_its_branch_and_removed_when_clean() {
    let (_d, repo) = repo();
    let w = create(&repo.join("."), "w", None, None).await.unwrap();
    assert_eq!(w.branch, "tether/w");
    assert_eq!(w.repo, repo.display().to_string());
    assert_eq!(
        Path::new(&w.path),
        repo.join(".tether/worktrees/w").as_path()
    );
    let path = Path::new(&w.path);
    assert_eq!(git(path, &["branch", "--show-current"]), "tether/w");
    assert_eq!(w.base_commit, git(&repo, &["rev-parse", "HEAD"]));
    // The repository's own status does not show the worktrees.
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
    assert_eq!(verdict(&w).await, Verdict::Remove);
    let out = finish(&w, Verdict::Remove).await;
    assert!(out.removed, "{out:?}");
    assert!(!path.exists());
    assert_eq!(git(&repo, &["branch", "--list", "tether/w"]), "");
}

#[tokio::test]
async fn changes_and_unmerged_commits_keep_it_and_merged_ones_do_not() {
    let (_d, repo) = repo();
    let w = create(&repo, "w", None, None).await.unwrap();
    let path = Path::new(&w.path);
    std::fs::write(path.join("new.txt"), "x").unwrap();
    match verdict(&w).await {
        Verdict::Keep(r) => assert!(r.contains("uncommitted changes (1 file)"), "{r}"),
        v => panic!("an untracked file keeps it: {v:?}"),
    }
    git(path, &["add", "new.txt"]);
    git(path, &["commit", "-q", "-m", "work"]);
    match verdict(&w).await {
        Verdict::Keep(r) => assert!(r.contains("1 commit on no other branch"), "{r}"),
        v => panic!("a commit on no other branch keeps it: {v:?}"),
    }
    let kept = finish(&w, verdict(&w).await).await;
    assert!(!kept.removed && path.exists());
    assert!(
        kept.remove_command
            .as_deref()
            .unwrap()
            .contains("worktree remove --force"),
        "{kept:?}"
    );
    // Once the commit is on another branch too, nothing would be lost.
    git(&repo, &["branch", "keep", "tether/w"]);
    assert_eq!(verdict(&w).await, Verdict::Remove);
}

#[tokio::test]
async fn each_error_says_what_is_wrong() {
    let (d, repo) = repo();
    let plain = d.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    let e = create(&plain, "w", None, None).await.unwrap_err();
    assert!(matches!(e, WorktreeError::NotARepo(_)), "{e}");
    git(&repo, &["branch", "tether/taken"]);
    let e = create(&repo, "taken", None, None).await.unwrap_err();
    assert!(
        e.to_string().contains("branch tether/taken already exists"),
        "{e}"
    );
    let e = create(&repo, "w", Some("nope"), None).await.unwrap_err();
    assert!(
        e.to_string().contains("base branch \"nope\" not found"),
        "{e}"
    );
    let e = create(&repo, "w", Some("--orphan"), None)
        .await
        .unwrap_err();
    assert!(matches!(e, WorktreeError::BaseNotFound { .. }), "{e}");
    std::fs::create_dir_all(repo.join(".tether/worktrees/w")).unwrap();
    let e = create(&repo, "w", None, None).await.unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
    assert!(matches!(e, WorktreeError::PathExists(_)), "{e}");
    // Nothing was left behind by the failures.
    assert_eq!(git(&repo, &["branch", "--list", "tether/w"]), "");
}

#[tokio::test]
async fn a_configured_dir_holds_worktrees_by_repository_and_a_base_is_used() {
    let (d, repo) = repo();
    git(&repo, &["checkout", "-q", "-b", "dev"]);
    std::fs::write(repo.join("dev.txt"), "d").unwrap();
    git(&repo, &["add", "dev.txt"]);
    git(&repo, &["commit", "-q", "-m", "dev"]);
    git(&repo, &["checkout", "-q", "main"]);
    let trees = d.path().join("trees");
    let w = create(&repo, "w", Some("dev"), Some(&trees)).await.unwrap();
    assert_eq!(
        Path::new(&w.path),
        std::fs::canonicalize(trees.join("proj/w")).unwrap()
    );
    assert!(Path::new(&w.path).join("dev.txt").exists());
    assert_eq!(w.base_commit, git(&repo, &["rev-parse", "dev"]));
    discard(&w).await;
    assert!(!Path::new(&w.path).exists());
    assert_eq!(git(&repo, &["branch", "--list", "tether/w"]), "");
}

#[test]
fn the_remove_command_quotes_what_needs_it() {
    let w = WorktreeInfo {
        path: "/r/my tree".into(),
        branch: "tether/w".into(),
        repo: "/r".into(),
        base_commit: String::new(),
    };
    assert_eq!(
        remove_command(&w),
        "git -C /r worktree remove --force '/r/my tree' && git -C /r branch -D tether/w"
    );
}

/// A session that cannot be stored takes its worktree with it: here the store
/// already has a session of that name that this registry never restored, so
/// the name passes the registry's check and the store refuses it.
#[tokio::test]
async fn a_session_that_cannot_be_stored_leaves_no_worktree_or_branch() {
    use crate::session::{Registry, SessionShared};
    use tether_shared::protocol::{CreateParams, WorktreeParams};
    use tokio_util::sync::CancellationToken;

    let (d, repo) = repo();
    let state = d.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("config.toml"),
        "default_model = \"local/m\"\n[providers.local]\nkind = \"openai\"\n\
         base_url = \"http://127.0.0.1:9/v1\"\n",
    )
    .unwrap();
    let params = |worktree| CreateParams {
        name: Some("w".into()),
        cwd: repo.display().to_string(),
        worktree,
        ..Default::default()
    };
    let first = Registry::new(SessionShared::for_tests(&state), CancellationToken::new());
    first.create(params(None), None).await.unwrap();
    let second = Registry::new(SessionShared::for_tests(&state), CancellationToken::new());
    let e = second
        .create(params(Some(WorktreeParams::default())), None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
    assert!(
        !repo.join(".tether/worktrees/w").exists(),
        "the worktree is gone"
    );
    assert_eq!(git(&repo, &["branch", "--list", "tether/w"]), "");
    assert!(
        !git(&repo, &["worktree", "list"]).contains(".tether"),
        "git forgot it too"
    );
    first.stop_all().await;
    second.stop_all().await;
}
