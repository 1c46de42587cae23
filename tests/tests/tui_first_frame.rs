//! `tether attach` in tmux on a session with history (issue 13): the first
//! frame comes from the first page, then the tools, the session list and the
//! older events fill in.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use tether_tests::tmux::{self, Pane};
use tether_tests::{Reply, TestEnv};

/// Whether the status line counts tools (a number, not the placeholder).
fn counts_tools(screen: &str) -> bool {
    screen.lines().any(|l| {
        l.split(" · ").any(|seg| {
            seg.ends_with(" tools")
                && seg
                    .trim_end_matches(" tools")
                    .parse::<usize>()
                    .is_ok_and(|n| n > 0)
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_shows_the_last_messages_then_the_tools_the_list_and_older_events_fill_in() {
    tmux::require();
    let (model, env) = TestEnv::started("[approvals]\ndefault = \"ask\"\n").await;
    // A history longer than the first page (twice the 35 rows, in events).
    // The pane is wide enough for the status line to keep its tool count.
    env.ok(&["new", "-d", "-n", "long"]).await;
    for turn in 0..25 {
        model.push(Reply::text(format!("answer {turn} in full")));
        env.ok(&["send", "long", &format!("question {turn}")]).await;
        env.wait_settled("long").await;
    }
    // Another session that needs a person: the list shows it as a badge.
    env.ok(&["new", "-d", "-n", "other"]).await;
    model.push(Reply::tool_call(
        "call_wait",
        "shell",
        json!({"command": "echo waiting"}),
    ));
    env.ok(&["send", "other", "run something"]).await;
    env.wait_event("other", "the call to wait for approval", |e| {
        e["type"] == "approval_requested"
    })
    .await;

    let pane = Pane::start(&env, "first", &["attach", "long"], 150, 35);
    // One capture holds all of it (a capture may be torn mid-frame).
    let filled = pane
        .wait_for(
            "the last messages, the tool count and the other session's badge",
            |s| {
                s.contains("› question 24")
                    && s.contains("answer 24 in full")
                    && s.contains("1 waiting")
                    && counts_tools(s)
            },
        )
        .await;
    assert!(!filled.contains("tools …"), "{filled}");
    assert!(!filled.contains("attaching"), "{filled}");

    // The older events came after the first frame: the oldest turn is there
    // on scrolling up, with nothing left to load.
    pane.keys(&["Home"]);
    let top = pane
        .wait_for("the first turn at the top", |s| {
            s.contains("› question 0") && s.contains("answer 0 in full")
        })
        .await;
    assert!(!top.contains("older events"), "{top}");
    assert!(!top.contains("loading"), "{top}");
}
