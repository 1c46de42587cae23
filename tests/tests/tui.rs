//! The real TUI in tmux against a real daemon (issue 4's acceptance, as a person
//! would check it).
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::json;
use tether_tests::tmux::{Pane, available};
use tether_tests::{Reply, TestEnv};

fn skip() -> bool {
    if !available() {
        eprintln!("skipped: tmux is not installed");
        return true;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_streams_an_answer_detaches_with_0_and_attach_brings_it_all_back() {
    if skip() {
        return;
    }
    let (model, env) = TestEnv::started("").await;
    let pane = Pane::start(&env, "new", &["new", "-n", "demo"], 120, 35);
    pane.wait_text("session created").await;
    let words: String = (0..60).map(|i| format!("streamed{i} ")).collect();
    model.push(Reply::text(words.trim()).slow(Duration::from_millis(40)));
    pane.type_text("hello from tmux");
    pane.keys(&["Enter"]);
    pane.wait_text("› hello from tmux").await;
    // Token by token: a partial answer is on screen before the turn completes.
    let mid = pane
        .wait_for("a partial answer", |s| {
            s.contains("streamed3") && !s.contains("turn completed")
        })
        .await;
    assert!(
        !mid.contains("streamed59"),
        "the whole answer arrived at once:\n{mid}"
    );
    pane.wait_text("streamed59").await;
    pane.wait_text("turn completed").await;

    pane.keys(&["C-b", "d"]);
    assert_eq!(pane.wait_exit().await, "exit=0");
    pane.wait_text("DETACHED-SHELL").await;

    // The agent goes on while nobody is attached.
    model.push(Reply::text("answer while detached"));
    env.ok(&["send", "demo", "message while detached"]).await;
    env.wait_settled("demo").await;
    let again = Pane::start(&env, "again", &["attach", "demo"], 120, 35);
    let screen = again.wait_text("answer while detached").await;
    assert!(
        screen.contains("message while detached") && screen.contains("hello from tmux"),
        "{screen}"
    );
    model.push(Reply::text("typing works"));
    again.type_text("still typing");
    again.keys(&["Enter"]);
    again.wait_text("› still typing").await;
    again.wait_text("typing works").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tuis_see_the_same_answer_and_approval_and_ctrl_y_in_one_decides_for_both() {
    if skip() {
        return;
    }
    let (model, env) = TestEnv::started("[approvals]\ndefault = \"ask\"\n").await;
    env.ok(&["new", "-d", "-n", "pair"]).await;
    let a = Pane::start(&env, "a", &["attach", "pair"], 100, 30);
    let b = Pane::start(&env, "b", &["attach", "pair"], 100, 30);
    a.wait_text("session created").await;
    b.wait_text("session created").await;
    model.push(Reply::text("answer seen by both"));
    a.type_text("from pane a");
    a.keys(&["Enter"]);
    for p in [&a, &b] {
        p.wait_text("› from pane a").await;
        p.wait_text("answer seen by both").await;
    }
    model.push(Reply::tool_call(
        "call_ok",
        "shell",
        json!({"command": "echo approved-and-ran"}),
    ));
    model.push(Reply::text("all done"));
    b.type_text("run something");
    b.keys(&["Enter"]);
    for p in [&a, &b] {
        // The chip shows once the prompt has armed.
        p.wait_text("Ctrl-y  approve").await;
    }
    a.keys(&["C-y"]);
    for p in [&a, &b] {
        p.wait_text("all done").await;
        let s = p
            .wait_for("the prompt to go away", |s| !s.contains("Ctrl-y  approve"))
            .await;
        assert!(
            s.contains("approved-and-ran"),
            "the result shows in both:\n{s}"
        );
    }
    let ls: serde_json::Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(ls[0]["pending_approvals"], json!([]));
    assert_eq!(env.events_of("pair", "approval_decided").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_of_the_daemon_under_the_tui_is_survived_without_duplicates() {
    if skip() {
        return;
    }
    let (model, mut env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "phoenix"]).await;
    let pane = Pane::start(&env, "p", &["attach", "phoenix"], 100, 30);
    pane.wait_text("session created").await;
    model.push(Reply::text("before the crash"));
    pane.type_text("first");
    pane.keys(&["Enter"]);
    pane.wait_text("before the crash").await;

    env.kill9().await;
    pane.wait_text("reconnecting").await;
    env.start_daemon().await;
    model.push(Reply::text("sent meanwhile answered"));
    env.ok(&["send", "phoenix", "while the tui was away"]).await;
    pane.wait_text("sent meanwhile answered").await;
    let s = pane
        .wait_for("the banner to go", |s| !s.contains("reconnecting"))
        .await;
    assert_eq!(s.matches("› first").count(), 1, "no message twice:\n{s}");
    assert_eq!(
        s.matches("before the crash").count(),
        1,
        "no message twice:\n{s}"
    );
    assert_eq!(s.matches("› while the tui was away").count(), 1, "{s}");
    // And it still works.
    model.push(Reply::text("after the reconnect"));
    pane.type_text("second");
    pane.keys(&["Enter"]);
    pane.wait_text("after the reconnect").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_40x10_terminal_runs_the_list_and_session_and_detaches_cleanly() {
    if skip() {
        return;
    }
    let (model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "tiny"]).await;
    let pane = Pane::start(&env, "tiny", &[], 40, 10);
    pane.wait_text("tiny").await;
    pane.wait_text("sessions (1)").await;
    pane.keys(&["Enter"]);
    pane.wait_text("Type a message").await;
    model.push(Reply::text("small answer"));
    pane.type_text("hi");
    pane.keys(&["Enter"]);
    pane.wait_text("small answer").await;
    pane.keys(&["C-b", "d"]);
    assert_eq!(pane.wait_exit().await, "exit=0");
    let s = pane.wait_text("DETACHED-SHELL").await;
    assert!(
        !s.contains("Type a message"),
        "the terminal was restored:\n{s}"
    );
}

/// Issue 7 items 1, 2 and 16, as a person meets them: a destructive `shell` call
/// waits; its long command shows whole; an ordinary sentence full of y and n,
/// and Enter, decide nothing; Ctrl-y approves; inside tmux the status bar says
/// to press the prefix twice, and doing so detaches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_with_a_call_waiting_decides_nothing_and_ctrl_y_approves_it() {
    if skip() {
        return;
    }
    let (model, env) = TestEnv::started("[approvals]\ndefault = \"ask\"\n").await;
    let victim = env.work_dir.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("keep.txt"), "precious").unwrap();
    env.ok(&["new", "-d", "-n", "guard"]).await;
    let pane = Pane::start(&env, "guard", &["attach", "guard"], 120, 35);
    pane.wait_text("session created").await;
    let steps: Vec<String> = (0..12).map(|i| format!("echo step-{i}")).collect();
    let command = format!("{} && rm -rf victim && echo gone", steps.join(" && "));
    model.push(Reply::tool_call(
        "call_rm",
        "shell",
        json!({"command": command}),
    ));
    model.push(Reply::text("the directory is gone"));
    model.push(Reply::text("read your message"));
    pane.type_text("clean up please");
    pane.keys(&["Enter"]);
    let s = pane.wait_text("Ctrl-y  approve").await;
    // The whole command, its tail included, not cut with an ellipsis.
    assert!(
        s.contains("rm -rf victim && echo gone"),
        "the command's tail is hidden:\n{s}"
    );
    assert!(
        s.contains("Ctrl-b Ctrl-b d detach"),
        "no tmux detach hint:\n{s}"
    );

    pane.type_text("hey, yes do it now: any y or n will do");
    pane.keys(&["Enter"]);
    pane.type_text("y");
    pane.keys(&["Enter"]);
    pane.wait_text("the model sees it once the waiting call")
        .await;
    let ls: serde_json::Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(ls[0]["pending_approvals"], json!(["call_rm"]), "{ls}");
    assert!(env.events_of("guard", "approval_decided").await.is_empty());
    assert!(victim.join("keep.txt").exists(), "the call ran");

    pane.keys(&["C-y"]);
    env.wait_event("guard", "the approval", |e| {
        e["type"] == "approval_decided" && e["decision"] == "approved"
    })
    .await;
    pane.wait_text("the directory is gone").await;
    pane.wait_text("read your message").await;
    assert!(!victim.exists(), "approved, yet the call did not run");

    pane.keys(&["C-b", "C-b", "d"]);
    assert_eq!(pane.wait_exit().await, "exit=0");
}

/// Issue 7 item 16: a bad `[keys]` entry is on screen from the start, not only
/// printed after the TUI exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_keys_entry_shows_at_start() {
    if skip() {
        return;
    }
    let (_model, env) = TestEnv::started("[keys]\napprove = \"y\"\n").await;
    let pane = Pane::start(&env, "keys", &[], 120, 30);
    let s = pane.wait_text("sessions (0)").await;
    assert!(
        s.contains("[keys] approve: y can be typed or pasted"),
        "no warning at start:\n{s}"
    );
    pane.keys(&["q"]);
    assert_eq!(pane.wait_exit().await, "exit=0");
}
