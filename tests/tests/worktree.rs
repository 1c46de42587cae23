//! `tether new --worktree` (issue 15, part 3): a session in a git worktree of its
//! own on branch `tether/NAME`, made and removed by the daemon with the real
//! `git`; `kill` removes it only when nothing in it would be lost.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use tether_tests::{Reply, TestEnv};

/// `git -C dir ARGS`, asserting success; its stdout, trimmed.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository `proj` in the test's work dir: one commit on `main`, and a
/// branch `dev` one commit ahead. Returned as a canonical path.
fn repo(env: &TestEnv) -> PathBuf {
    let repo = env.work_dir.join("proj");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["config", "user.name", "Tether Test"]);
    git(&repo, &["config", "user.email", "test@example.invalid"]);
    std::fs::write(repo.join("README"), "hello\n").unwrap();
    git(&repo, &["add", "README"]);
    git(&repo, &["commit", "-q", "-m", "first"]);
    git(&repo, &["checkout", "-q", "-b", "dev"]);
    std::fs::write(repo.join("dev.txt"), "dev\n").unwrap();
    git(&repo, &["add", "dev.txt"]);
    git(&repo, &["commit", "-q", "-m", "on dev"]);
    git(&repo, &["checkout", "-q", "main"]);
    std::fs::canonicalize(&repo).unwrap()
}

async fn ls(env: &TestEnv) -> Vec<Value> {
    serde_json::from_str(&env.ok(&["ls", "--json"]).await).expect("ls --json is JSON")
}

async fn session(env: &TestEnv, name: &str) -> Value {
    ls(env)
        .await
        .into_iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no session {name} in ls"))
}

fn branches(repo: &Path) -> Vec<String> {
    git(repo, &["branch", "--format=%(refname:short)"])
        .lines()
        .map(str::to_string)
        .collect()
}

/// `new --worktree -n NAME -C REPO -d`, with `extra` arguments; the session's
/// summary.
async fn new_in(env: &TestEnv, repo: &Path, name: &str, extra: &[&str]) -> Value {
    let repo = repo.display().to_string();
    let mut args = vec!["new", "--worktree", "-n", name, "-C", &repo, "-d"];
    args.extend_from_slice(extra);
    assert_eq!(env.ok(&args).await.trim(), name);
    session(env, name).await
}

/// Checks that `cwd` is a worktree of `repo` on `tether/NAME`, and returns it.
fn assert_worktree_of(repo: &Path, s: &Value, name: &str) -> PathBuf {
    let cwd = PathBuf::from(s["cwd"].as_str().unwrap());
    assert_ne!(cwd, repo, "the session works in a worktree, not the repo");
    let common = PathBuf::from(git(
        &cwd,
        &["rev-parse", "--path-format=absolute", "--git-common-dir"],
    ));
    assert_eq!(
        std::fs::canonicalize(common).unwrap(),
        repo.join(".git"),
        "the cwd shares the repo's git directory"
    );
    let list = git(repo, &["worktree", "list", "--porcelain"]);
    assert!(
        list.contains(&format!("worktree {}\n", cwd.display())),
        "git worktree list names the cwd:\n{list}"
    );
    let branch = format!("tether/{name}");
    assert_eq!(git(&cwd, &["branch", "--show-current"]), branch);
    assert_eq!(s["worktree"]["path"], s["cwd"], "{s}");
    assert_eq!(s["worktree"]["branch"], branch, "{s}");
    assert_eq!(s["worktree"]["repo"], repo.display().to_string(), "{s}");
    cwd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_gets_its_own_worktree_and_kill_keeps_uncommitted_work() {
    let (model, env) = TestEnv::started("").await;
    let repo = repo(&env);
    model.push(Reply::text("hello from the worktree"));
    let s = new_in(&env, &repo, "W", &["hi"]).await;
    let cwd = assert_worktree_of(&repo, &s, "W");
    assert_eq!(cwd, repo.join(".tether/worktrees/W"));
    assert_eq!(
        git(&cwd, &["rev-parse", "HEAD"]),
        git(&repo, &["rev-parse", "main"]),
        "from the repo's HEAD by default"
    );
    assert_eq!(env.wait_settled("W").await, "idle");
    // The repository's own status does not list the worktrees inside it.
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
    // The first event says where the session works.
    let first = &env.events("W").await[0];
    assert_eq!(first["cwd"], s["cwd"], "{first}");
    // The human table shows the branch.
    let table = env.ok(&["ls"]).await;
    assert!(table.lines().next().unwrap().ends_with("BRANCH"), "{table}");
    assert!(table.contains("tether/W"), "{table}");

    std::fs::write(cwd.join("notes.txt"), "work in progress\n").unwrap();
    let out = env.ok(&["kill", "W"]).await;
    assert!(
        out.contains(&format!("kept worktree {}", cwd.display())),
        "kill says it kept the worktree and where: {out}"
    );
    assert!(out.contains("uncommitted changes"), "{out}");
    let command = format!(
        "git -C {} worktree remove --force {}",
        repo.display(),
        cwd.display()
    );
    assert!(out.contains(&command), "kill says how to remove it: {out}");
    assert!(out.contains("branch -D tether/W"), "{out}");
    assert!(cwd.join("notes.txt").exists(), "the work is still there");
    assert!(branches(&repo).contains(&"tether/W".to_string()));
    assert!(
        ls(&env).await.is_empty(),
        "the session is gone all the same"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_removes_a_clean_worktree_and_its_branch_and_keeps_an_unmerged_commit() {
    let (_model, env) = TestEnv::started("").await;
    let repo = repo(&env);
    let clean = new_in(&env, &repo, "clean", &[]).await;
    let clean_dir = assert_worktree_of(&repo, &clean, "clean");
    let out = env.ok(&["kill", "clean"]).await;
    assert!(out.contains("removed worktree"), "{out}");
    assert!(!clean_dir.exists(), "the worktree is gone");
    assert!(!branches(&repo).contains(&"tether/clean".to_string()));
    assert!(!git(&repo, &["worktree", "list"]).contains("clean"));

    let ahead = new_in(&env, &repo, "ahead", &[]).await;
    let ahead_dir = assert_worktree_of(&repo, &ahead, "ahead");
    std::fs::write(ahead_dir.join("feature.txt"), "f\n").unwrap();
    git(&ahead_dir, &["add", "feature.txt"]);
    git(&ahead_dir, &["commit", "-q", "-m", "feature"]);
    let out = env.ok(&["kill", "ahead"]).await;
    assert!(out.contains("kept worktree"), "{out}");
    assert!(out.contains("1 commit on no other branch"), "{out}");
    assert!(ahead_dir.join("feature.txt").exists());
    assert!(branches(&repo).contains(&"tether/ahead".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_picks_the_branch_and_the_kill_result_says_what_was_done() {
    let (_model, env) = TestEnv::started("").await;
    let repo = repo(&env);
    let s = new_in(&env, &repo, "from-dev", &["--base", "dev"]).await;
    let cwd = assert_worktree_of(&repo, &s, "from-dev");
    assert_eq!(
        git(&cwd, &["rev-parse", "HEAD"]),
        git(&repo, &["rev-parse", "dev"])
    );
    assert!(cwd.join("dev.txt").exists());
    assert_eq!(
        s["worktree"]["base_commit"],
        git(&repo, &["rev-parse", "dev"])
    );
    // Merged into `dev`'s history already: nothing would be lost.
    let out = env.ok(&["kill", "from-dev"]).await;
    assert!(out.contains("removed worktree"), "{out}");
    assert!(!cwd.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_name_skips_the_branch_of_a_kept_worktree() {
    let (_model, env) = TestEnv::started("").await;
    let repo = repo(&env);
    let repo_s = repo.display().to_string();
    let name = env.ok(&["new", "--worktree", "-d", "-C", &repo_s]).await;
    assert_eq!(name.trim(), "proj", "named after the repository");
    let s = session(&env, "proj").await;
    let cwd = assert_worktree_of(&repo, &s, "proj");
    std::fs::write(cwd.join("wip.txt"), "w").unwrap();
    assert!(env.ok(&["kill", "proj"]).await.contains("kept worktree"));
    // `proj` is free again as a session name, but its branch is kept.
    let name = env.ok(&["new", "--worktree", "-d", "-C", &repo_s]).await;
    assert_eq!(name.trim(), "proj-2");
    assert_worktree_of(&repo, &session(&env, "proj-2").await, "proj-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worktrees_dir_puts_them_under_the_repository_name() {
    let trees = tempfile::tempdir().unwrap();
    let trees_dir = std::fs::canonicalize(trees.path()).unwrap();
    let extra = format!("[worktrees]\ndir = \"{}\"\n", trees_dir.display());
    let (_model, env) = TestEnv::started(&extra).await;
    let repo = repo(&env);
    let s = new_in(&env, &repo, "elsewhere", &[]).await;
    let cwd = assert_worktree_of(&repo, &s, "elsewhere");
    assert_eq!(cwd, trees_dir.join("proj").join("elsewhere"));
    assert!(
        !repo.join(".tether").exists(),
        "nothing inside the repository"
    );
    env.ok(&["kill", "elsewhere"]).await;
    assert!(!cwd.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_error_is_one_clear_line_and_creates_nothing() {
    let (_model, env) = TestEnv::started("").await;
    let repo = repo(&env);
    let plain = env.work_dir.join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let repo_s = repo.display().to_string();
    let plain_s = plain.display().to_string();
    git(&repo, &["branch", "tether/taken"]);
    std::fs::create_dir_all(repo.join(".tether/worktrees/blocked")).unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["-n", "a", "-C", &plain_s],
            "is not inside a git repository",
        ),
        (
            &["-n", "taken", "-C", &repo_s],
            "branch tether/taken already exists",
        ),
        (
            &["-n", "b", "-C", &repo_s, "--base", "no-such-branch"],
            "base branch \"no-such-branch\" not found",
        ),
        (&["-n", "blocked", "-C", &repo_s], "worktree path"),
    ];
    for (args, says) in cases {
        let mut all = vec!["new", "--worktree", "-d"];
        all.extend_from_slice(args);
        let out = env.run(&all).await;
        assert_eq!(out.code, 1, "{all:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(says),
            "{all:?} says {says:?}: {}",
            out.stderr
        );
        assert_eq!(
            out.stderr.trim().lines().count(),
            1,
            "one line: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
    assert!(ls(&env).await.is_empty(), "no session was created");
    assert_eq!(
        branches(&repo),
        ["dev", "main", "tether/taken"],
        "no branch was left behind"
    );
    // --base needs --worktree (bad usage).
    let out = env
        .run(&["new", "-d", "--base", "dev", "-C", &repo_s])
        .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_git_the_error_says_so() {
    let model = tether_tests::ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let repo = repo(&env);
    // A PATH with no git on it, for the daemon and the CLI.
    let empty = env.root.path().join("no-git-bin");
    std::fs::create_dir_all(&empty).unwrap();
    env.env.push(("PATH".into(), empty.display().to_string()));
    env.start_daemon().await;
    let out = env
        .run(&[
            "new",
            "--worktree",
            "-d",
            "-n",
            "w",
            "-C",
            &repo.display().to_string(),
        ])
        .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("needs git"), "{}", out.stderr);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert!(ls(&env).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worktree_survives_a_restart_in_ls_asleep_or_awake() {
    let (model, mut env) = TestEnv::started("").await;
    let repo = repo(&env);
    let before = new_in(&env, &repo, "W", &[]).await;
    let cwd = assert_worktree_of(&repo, &before, "W");
    let asleep = new_in(&env, &repo, "asleep", &[]).await;
    let asleep_dir = assert_worktree_of(&repo, &asleep, "asleep");
    env.kill9().await;
    env.start_daemon().await;
    // Restored from the index: asleep (it has no work), its worktree from the row.
    let status: Value =
        serde_json::from_str(&env.ok(&["daemon", "status", "--json"]).await).unwrap();
    assert_eq!(status["awake_sessions"], 0, "{status}");
    let after = session(&env, "W").await;
    assert_eq!(after["worktree"], before["worktree"], "{after}");
    assert_eq!(after["cwd"], before["cwd"]);
    // Killed while asleep: its clean worktree goes all the same.
    let out = env.ok(&["kill", "asleep"]).await;
    assert!(out.contains("removed worktree"), "{out}");
    assert!(!asleep_dir.exists());
    assert!(!branches(&repo).contains(&"tether/asleep".to_string()));
    // Woken by a message, still the same.
    model.push(Reply::text("awake"));
    env.ok(&["send", "W", "wake up"]).await;
    assert_eq!(env.wait_settled("W").await, "idle");
    let awake = session(&env, "W").await;
    assert_eq!(awake["worktree"], before["worktree"], "{awake}");
    std::fs::write(cwd.join("x.txt"), "x").unwrap();
    let out = env.ok(&["kill", "W"]).await;
    assert!(out.contains("kept worktree"), "{out}");
}

/// Through `--host` the remote daemon runs git on its own machine: the same
/// worktree, the same kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_host_the_remote_daemon_makes_and_removes_the_worktree() {
    let (_here_model, mut here) = TestEnv::started("").await;
    let (_model, there) = TestEnv::started("").await;
    let _ssh = tether_tests::fakessh::FakeSsh::to(&mut here, &there);
    let repo = repo(&there);
    let repo_s = repo.display().to_string();
    let name = here
        .ok(&[
            "--host",
            "box",
            "new",
            "--worktree",
            "-n",
            "far",
            "-C",
            &repo_s,
            "-d",
        ])
        .await;
    assert_eq!(name.trim(), "far");
    let s = session(&there, "far").await;
    let cwd = assert_worktree_of(&repo, &s, "far");
    let out = here.ok(&["--host", "box", "kill", "far"]).await;
    assert!(out.contains("removed worktree"), "{out}");
    assert!(!cwd.exists());
}
