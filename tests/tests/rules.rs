//! "Always allow" rules end to end (issue 11): the real daemon, the real CLI and a
//! scripted model. A rule added while approving lets later matching calls run
//! without `approval_requested`, never a command with shell operators or another
//! command; a project rule reaches the other sessions of the project and no
//! others; rules survive `kill -9`; `approvals --rm` makes calls ask again.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use tether_tests::harness::pretty;
use tether_tests::{Reply, TestEnv};

const ASK: &str = "[approvals]\ndefault = \"ask\"\nallow = [\"read_file\", \"list_dir\"]\n";

fn sh(command: &str) -> Value {
    json!({ "command": command })
}

/// The ids of the calls that asked for approval.
async fn asked(env: &TestEnv, name: &str) -> Vec<String> {
    ids(&env.events_of(name, "approval_requested").await)
}

fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["call_id"].as_str().unwrap().to_string())
        .collect()
}

/// The `tool_result` of `call_id`.
async fn result_of(env: &TestEnv, name: &str, call_id: &str) -> Value {
    env.wait_event(name, &format!("the result of {call_id}"), |e| {
        e["type"] == "tool_result" && e["call_id"] == call_id
    })
    .await
}

async fn pending(env: &TestEnv, name: &str) -> Value {
    let ls: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    ls.as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no session {name} in {ls}"))["pending_approvals"]
        .clone()
}

async fn rules(env: &TestEnv, name: &str) -> Vec<Value> {
    let out = env.ok(&["approvals", name, "--json"]).await;
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn work_files(env: &TestEnv) {
    std::fs::create_dir_all(env.work_dir.join("src")).unwrap();
    std::fs::write(env.work_dir.join("src").join("main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(env.work_dir.join("x"), "keep me\n").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_rule_for_ls_lets_ls_run_and_nothing_else() {
    let (model, env) = TestEnv::started(ASK).await;
    work_files(&env);
    model.push(Reply::tool_call("c1", "shell", sh("ls -la")));
    model.push(Reply::tool_call("c2", "shell", sh("ls src")));
    model.push(Reply::tool_calls([
        ("c3", "shell", sh("rm x")),
        ("c4", "shell", sh("ls; rm x")),
        ("c5", "shell", sh("lsblk")),
        ("c6", "shell", sh("ls && rm x")),
        ("c7", "shell", sh("ls $(rm x)")),
        ("c8", "shell", sh("ls | sh")),
    ]));
    model.push(Reply::text("done"));
    env.ok(&["new", "-d", "-n", "r", "look around"]).await;
    assert_eq!(env.wait_settled("r").await, "awaiting_approval");
    assert_eq!(asked(&env, "r").await, ["c1"]);

    let out = env
        .run(&["approve", "r", "c1", "--always", "--prefix", "ls"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "c1");
    assert!(
        out.stderr
            .contains("always allow shell commands starting with \"ls\""),
        "{}",
        out.stderr
    );

    // `ls src` runs without asking; the next step's calls all wait.
    assert_eq!(env.wait_settled("r").await, "awaiting_approval");
    let events = env.events("r").await;
    assert_eq!(
        asked(&env, "r").await,
        ["c1", "c3", "c4", "c5", "c6", "c7", "c8"],
        "{}",
        pretty(&events)
    );
    let c2 = result_of(&env, "r", "c2").await;
    assert_eq!(c2["is_error"], false, "{c2}");
    assert!(c2["output"].as_str().unwrap().contains("main.rs"), "{c2}");
    let added = env.events_of("r", "approval_rule_added").await;
    assert_eq!(added.len(), 1, "{}", pretty(&events));
    let rule_id = added[0]["rule"]["id"].clone();
    assert_eq!(added[0]["rule"]["prefix"], "ls");
    assert_eq!(added[0]["rule"]["scope"], "session");
    assert_eq!(added[0]["call_id"], "c1");
    let call2 = events
        .iter()
        .find(|e| e["type"] == "tool_call" && e["call_id"] == "c2")
        .unwrap();
    assert_eq!(call2["rule"], rule_id, "the log says which rule let it run");
    assert_eq!(
        pending(&env, "r").await,
        json!(["c3", "c4", "c5", "c6", "c7", "c8"])
    );
    assert!(env.work_dir.join("x").exists(), "nothing removed x");

    env.ok(&["deny", "r", "--all"]).await;
    assert_eq!(env.wait_settled("r").await, "idle");
    assert!(env.work_dir.join("x").exists(), "nothing removed x");
    let listed = rules(&env, "r").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], rule_id);
    let text = env.ok(&["approvals", "r"]).await;
    assert!(
        text.contains("session") && text.contains("\"ls\""),
        "{text}"
    );
    let logs = env.ok(&["logs", "r"]).await;
    assert!(
        logs.contains("always allow shell commands starting with \"ls\""),
        "{logs}"
    );
    assert!(logs.contains("[allowed by rule"), "{logs}");
}

/// A rule added while other calls of the same step wait approves those it matches,
/// and says so; the others keep waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_approves_the_matching_calls_waiting_in_the_same_step() {
    let (model, env) = TestEnv::started(ASK).await;
    work_files(&env);
    model.push(Reply::tool_calls([
        ("c1", "shell", sh("ls -la")),
        ("c2", "shell", sh("ls src")),
        ("c3", "shell", sh("rm x")),
        ("c4", "shell", sh("ls src > out.txt")),
    ]));
    model.push(Reply::text("done"));
    env.ok(&["new", "-d", "-n", "step", "look"]).await;
    assert_eq!(env.wait_settled("step").await, "awaiting_approval");
    assert_eq!(asked(&env, "step").await, ["c1", "c2", "c3", "c4"]);
    let out = env
        .run(&["approve", "step", "c1", "--always", "--prefix", "ls"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().collect::<Vec<_>>(), ["c1", "c2"]);
    assert!(out.stderr.contains("it also approved c2"), "{}", out.stderr);
    result_of(&env, "step", "c2").await;
    assert_eq!(pending(&env, "step").await, json!(["c3", "c4"]));
    let decided = env.events_of("step", "approval_decided").await;
    assert_eq!(ids(&decided), ["c1", "c2"]);
    assert!(
        decided[0].get("rule").is_none(),
        "c1 was decided by a person"
    );
    let added = env.events_of("step", "approval_rule_added").await;
    assert_eq!(
        decided[1]["rule"], added[0]["rule"]["id"],
        "c2 names the rule"
    );
    assert!(!env.work_dir.join("out.txt").exists());
    env.ok(&["deny", "step", "--all"]).await;
    assert_eq!(env.wait_settled("step").await, "idle");
    assert!(env.work_dir.join("x").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_rule_applies_to_the_sessions_of_the_project_only() {
    let (model, env) = TestEnv::started(ASK).await;
    // The project: a git work tree; a session in a subdirectory is in it too.
    std::fs::create_dir_all(env.work_dir.join(".git")).unwrap();
    let sub = env.work_dir.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("notes.txt"), "in the project\n").unwrap();
    let other = env.root.path().join("elsewhere");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "elsewhere\n").unwrap();

    model.push(Reply::tool_call("a1", "shell", sh("cat --version")));
    model.push(Reply::text("a done"));
    env.ok(&["new", "-d", "-n", "a", "check"]).await;
    assert_eq!(env.wait_settled("a").await, "awaiting_approval");
    let out = env
        .run(&[
            "approve",
            "a",
            "a1",
            "--always",
            "--project",
            "--prefix",
            "cat",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(env.wait_settled("a").await, "idle");
    let rule = &env.events_of("a", "approval_rule_added").await[0]["rule"];
    assert_eq!(rule["scope"], "project");
    assert_eq!(
        rule["project"],
        std::fs::canonicalize(&env.work_dir)
            .unwrap()
            .display()
            .to_string(),
        "the project is the git work tree's root"
    );

    // A second session, in a subdirectory of the work tree: no asking.
    model.push(Reply::tool_call("b1", "shell", sh("cat notes.txt")));
    model.push(Reply::text("b done"));
    let sub_s = sub.display().to_string();
    env.ok(&["new", "-d", "-n", "b", "-C", &sub_s, "read"])
        .await;
    assert_eq!(env.wait_settled("b").await, "idle");
    assert!(asked(&env, "b").await.is_empty());
    let b1 = result_of(&env, "b", "b1").await;
    assert!(
        b1["output"].as_str().unwrap().contains("in the project"),
        "{b1}"
    );
    assert_eq!(rules(&env, "b").await.len(), 1);

    // One in another directory: asks.
    model.push(Reply::tool_call("c1", "shell", sh("cat notes.txt")));
    model.push(Reply::text("c done"));
    let other_s = other.display().to_string();
    env.ok(&["new", "-d", "-n", "c", "-C", &other_s, "read"])
        .await;
    assert_eq!(env.wait_settled("c").await, "awaiting_approval");
    assert_eq!(asked(&env, "c").await, ["c1"]);
    assert!(rules(&env, "c").await.is_empty());
    // A project rule cannot be removed through a session outside the project.
    let id = rule["id"].to_string();
    let out = env.run(&["approvals", "c", "--rm", &id]).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("no approval rule"), "{}", out.stderr);
    assert_eq!(rules(&env, "a").await.len(), 1);
    env.ok(&["deny", "c", "--all"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_survive_a_kill_9_and_removing_one_makes_calls_ask_again() {
    let (model, mut env) = TestEnv::started(ASK).await;
    work_files(&env);
    model.push(Reply::tool_call("c1", "shell", sh("ls -la")));
    model.push(Reply::text("listed"));
    env.ok(&["new", "-d", "-n", "k", "list"]).await;
    assert_eq!(env.wait_settled("k").await, "awaiting_approval");
    env.ok(&["approve", "k", "c1", "--always", "--prefix", "ls"])
        .await;
    assert_eq!(env.wait_settled("k").await, "idle");

    env.kill9().await;
    env.start_daemon().await;
    let listed = rules(&env, "k").await;
    assert_eq!(listed.len(), 1, "the rule survived kill -9");
    let id = listed[0]["id"].to_string();

    model.push(Reply::tool_call("c2", "shell", sh("ls src")));
    model.push(Reply::text("listed again"));
    env.ok(&["send", "k", "list src"]).await;
    assert_eq!(env.wait_settled("k").await, "idle");
    assert_eq!(asked(&env, "k").await, ["c1"], "ls src ran without asking");
    result_of(&env, "k", "c2").await;

    let out = env.ok(&["approvals", "k", "--rm", &id]).await;
    assert!(out.contains(&format!("removed rule {id}")), "{out}");
    assert!(rules(&env, "k").await.is_empty());
    let removed = env.events_of("k", "approval_rule_removed").await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["rule"]["id"].to_string(), id);
    // Removing it again: a clear error.
    let again = env.run(&["approvals", "k", "--rm", &id]).await;
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("tether approvals k"),
        "{}",
        again.stderr
    );

    model.push(Reply::tool_call("c3", "shell", sh("ls src")));
    model.push(Reply::text("asked"));
    env.ok(&["send", "k", "list src again"]).await;
    assert_eq!(env.wait_settled("k").await, "awaiting_approval");
    assert_eq!(asked(&env, "k").await, ["c1", "c3"]);
    env.ok(&["approve", "k"]).await;
    assert_eq!(env.wait_settled("k").await, "idle");
}

/// Bad rules are refused before anything is decided; `--always` on a denial or
/// a prefix on another tool make no sense and say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_that_cannot_be_one_is_refused_and_decides_nothing() {
    let (model, env) = TestEnv::started(ASK).await;
    model.push(Reply::tool_calls([
        ("c1", "shell", sh("ls -la")),
        ("c2", "write_file", json!({"path": "a.txt", "content": "a"})),
    ]));
    model.push(Reply::text("done"));
    env.ok(&["new", "-d", "-n", "bad", "go"]).await;
    assert_eq!(env.wait_settled("bad").await, "awaiting_approval");
    for (args, says) in [
        (
            vec!["approve", "bad", "c1", "--always", "--prefix", "ls;"],
            "plain words",
        ),
        (
            vec!["approve", "bad", "c1", "--always", "--prefix", "FOO=1 ls"],
            "setting a variable",
        ),
        (
            vec!["approve", "bad", "c2", "--always", "--prefix", "ls"],
            "only to \"shell\"",
        ),
        (vec!["approve", "bad", "--all", "--always"], "several tools"),
    ] {
        let out = env.run(&args).await;
        assert_eq!(out.code, 1, "{args:?}: {}", out.stdout);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
    assert_eq!(pending(&env, "bad").await, json!(["c1", "c2"]));
    assert!(rules(&env, "bad").await.is_empty());
    // --project and --prefix need --always.
    let out = env.run(&["approve", "bad", "c1", "--project"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    // A whole-tool rule for write_file.
    let out = env.run(&["approve", "bad", "c2", "--always"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("every write_file call"),
        "{}",
        out.stderr
    );
    env.ok(&["deny", "bad", "c1"]).await;
    assert_eq!(env.wait_settled("bad").await, "idle");
}
