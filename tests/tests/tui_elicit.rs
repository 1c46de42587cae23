//! A tool server's question answered in the real TUI (issue 14), in tmux against
//! a real daemon and the SDK fixture server: the form shows the server, its
//! message and the defaults; typing (a `y` too) only fills the fields; Ctrl-y
//! sends the answer, and the server's tool result has the values.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::harness::mcp_fixtures;
use tether_tests::tmux::{self, Pane};
use tether_tests::{ModelServer, Reply, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_is_answered_in_the_tuis_form_with_ctrl_y() {
    tmux::require();
    let model = ModelServer::start().await;
    model.push(Reply::tool_call("c1", "ask__ask_name", json!({})));
    model.push(Reply::text("deployed by the form"));
    let mut env = TestEnv::with_model(&model, "");
    std::fs::write(
        env.config_dir.join("tools.toml"),
        format!(
            "[servers.ask]\ncommand = \"node\"\nargs = [\"{}\"]\n",
            mcp_fixtures().join("asking_server.mjs").display()
        ),
    )
    .unwrap();
    env.start_daemon().await;
    env.wait_until(
        "the asking server to run",
        Duration::from_secs(30),
        || async {
            let tools: Vec<Value> =
                serde_json::from_str(&env.ok(&["tools", "--json"]).await).unwrap();
            tools
                .iter()
                .any(|s| s["name"] == "ask" && s["status"] == "running")
        },
    )
    .await;
    env.ok(&["new", "-d", "-n", "tq", "deploy it"]).await;
    assert_eq!(env.wait_settled("tq").await, "awaiting_approval");

    let pane = Pane::start(&env, "q", &["attach", "tq"], 100, 30);
    let s = pane.wait_text("Ctrl-y  submit").await;
    for want in [
        "ask asks",
        "Who is deploying, and in which colour?",
        "(•) green",
        "Your name*",
    ] {
        assert!(s.contains(want), "{want:?} missing:\n{s}");
    }
    // Fields in name order: color, count, name, notify.
    pane.keys(&["Down", "Down"]);
    pane.type_text("Ana y");
    pane.keys(&["BSpace", "BSpace", "Enter"]);
    // Typing answered nothing.
    assert_eq!(
        env.events_of("tq", "input_answered").await,
        Vec::<Value>::new()
    );
    // Pressed on its own (not in a burst of typing), once the field shows it.
    pane.wait_text("[Ana▌]").await;
    // Not a wait for a condition: a person's pause between two keys, longer than
    // the 25 ms in which the TUI takes a key for part of an unmarked paste.
    tokio::time::sleep(Duration::from_millis(150)).await;
    pane.keys(&["C-y"]);
    pane.wait_text("deployed by the form").await;
    pane.wait_for("the form to go away", |s| !s.contains("Ctrl-y  submit"))
        .await;
    let results = env.events_of("tq", "tool_result").await;
    assert_eq!(
        results[0]["output"],
        r#"action=accept content={"color":"green","count":3,"name":"Ana","notify":false}"#
    );
    pane.keys(&["C-b", "d"]);
    pane.wait_exit().await;
}
