//! Issue 11 in tmux, as a daily user meets it: a TUI on one session rings the
//! bell when another starts waiting (tmux flags the TUI's window), says so in
//! its status bar, sets the terminal title, and `Ctrl-b w` switches to the
//! waiting session without the list; the list decides a waiting call itself.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use tether_tests::tmux::{self, Pane};
use tether_tests::{Reply, TestEnv};

/// The pane's last line: the session view's status bar.
fn status(screen: &str) -> &str {
    screen.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tui_on_one_session_rings_when_another_waits_and_ctrl_b_w_switches_to_it() {
    tmux::require();
    let (model, env) = TestEnv::started("[approvals]\ndefault = \"ask\"\n").await;
    env.ok(&["new", "-d", "-n", "alpha"]).await;
    env.ok(&["new", "-d", "-n", "beta"]).await;
    let pane = Pane::start(&env, "bell", &["attach", "alpha"], 120, 35);
    pane.wait_text("session created").await;
    pane.wait_format("#{pane_title}", "tether: alpha: idle")
        .await;
    // Nothing rang so far: the flag below is set by the bell to come.
    assert_eq!(pane.format("#{window_bell_flag}"), "0");

    model.push(Reply::tool_call(
        "call_beta",
        "shell",
        json!({"command": "echo beta-ran"}),
    ));
    model.push(Reply::text("beta is done"));
    env.ok(&["send", "beta", "run the command"]).await;
    env.wait_event("beta", "beta's approval request", |e| {
        e["type"] == "approval_requested"
    })
    .await;
    pane.wait_format("#{window_bell_flag}", "1").await;
    let s = pane
        .wait_for("the badge", |s| status(s).contains("1 waiting"))
        .await;
    let bar = status(&s);
    assert!(bar.contains("alpha"), "still on alpha: {bar}");
    assert!(bar.contains("Ctrl-b Ctrl-b a"), "no jump key: {bar}");

    pane.keys(&["C-b", "w"]);
    let s = pane.wait_text("switch to a session").await;
    assert!(
        s.contains("shell: echo beta-ran"),
        "the picker does not say what beta waits for:\n{s}"
    );
    // beta needs you, so it comes first and is selected.
    pane.keys(&["Enter"]);
    let s = pane
        .wait_for("beta in the status bar", |s| {
            status(s).contains("beta") && status(s).contains("awaiting_approval")
        })
        .await;
    assert!(!s.contains("sessions ("), "went through the list:\n{s}");
    assert!(!status(&s).contains("waiting "), "beta counts itself: {s}");
    pane.wait_format("#{pane_title}", "tether: beta: awaiting_approval")
        .await;
    pane.wait_text("Ctrl-y  approve").await;
    pane.keys(&["C-y"]);
    env.wait_event("beta", "the approval", |e| {
        e["type"] == "approval_decided" && e["decision"] == "approved"
    })
    .await;
    pane.wait_text("beta is done").await;

    // Ctrl-b p goes back to alpha, in list order.
    pane.keys(&["C-b", "p"]);
    pane.wait_format("#{pane_title}", "tether: alpha: idle")
        .await;
    pane.keys(&["C-b", "d"]);
    assert_eq!(pane.wait_exit().await, "exit=0");
    // The title from before the TUI is back.
    let title = pane.format("#{pane_title}");
    assert!(!title.starts_with("tether"), "title not restored: {title}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_bell_false_a_waiting_session_shows_but_does_not_ring() {
    tmux::require();
    let (model, env) =
        TestEnv::started("[approvals]\ndefault = \"ask\"\n\n[tui]\nbell = false\n").await;
    env.ok(&["new", "-d", "-n", "alpha"]).await;
    env.ok(&["new", "-d", "-n", "beta"]).await;
    let pane = Pane::start(&env, "quiet", &["attach", "alpha"], 120, 35);
    pane.wait_text("session created").await;
    model.push(Reply::tool_call(
        "call_beta",
        "shell",
        json!({"command": "echo quiet"}),
    ));
    env.ok(&["send", "beta", "run the command"]).await;
    pane.wait_for("the badge", |s| status(s).contains("1 waiting"))
        .await;
    // The bell goes out before the frame that shows the badge: none came.
    assert_eq!(pane.format("#{window_bell_flag}"), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_puts_a_waiting_session_first_and_approves_its_whole_call() {
    tmux::require();
    let (model, env) = TestEnv::started("[approvals]\ndefault = \"ask\"\n").await;
    env.ok(&["new", "-d", "-n", "calm"]).await;
    env.ok(&["new", "-d", "-n", "asker"]).await;
    let steps: Vec<String> = (0..10).map(|i| format!("echo step-{i}")).collect();
    let command = format!("{} && echo the-tail", steps.join(" && "));
    model.push(Reply::tool_call(
        "call_list",
        "shell",
        json!({"command": command}),
    ));
    model.push(Reply::text("asker is done"));
    env.ok(&["send", "asker", "run it"]).await;
    env.wait_event("asker", "the approval request", |e| {
        e["type"] == "approval_requested"
    })
    .await;
    let pane = Pane::start(&env, "list", &[], 120, 35);
    let s = pane.wait_text("└ shell: echo step-0").await;
    let asker = s.find("asker").unwrap();
    let calm = s.find("calm").unwrap();
    assert!(asker < calm, "the waiting session is not first:\n{s}");
    pane.wait_format("#{pane_title}", "tether").await;

    // The first row is selected: review its call. Letters and Enter, typed
    // at once, decide nothing; once the prompt has armed, Ctrl-y approves.
    pane.keys(&["a"]);
    pane.wait_text("approve?").await;
    pane.type_text("yy");
    pane.keys(&["Enter"]);
    let s = pane.wait_text("Ctrl-y  approve").await;
    assert!(
        s.contains("echo the-tail") && s.contains("in asker"),
        "the whole call is not shown:\n{s}"
    );
    assert!(env.events_of("asker", "approval_decided").await.is_empty());
    pane.keys(&["C-y"]);
    pane.wait_text("approved call_list in asker").await;
    env.wait_event("asker", "the approval", |e| {
        e["type"] == "approval_decided" && e["decision"] == "approved"
    })
    .await;
    pane.wait_for("the list to update", |s| !s.contains("awaiting_approval"))
        .await;
    pane.keys(&["q"]);
    assert_eq!(pane.wait_exit().await, "exit=0");
}
