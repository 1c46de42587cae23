//! `tether compact` (issue 9, item 5) as a script sees it: exit 0 and the daemon's
//! message, also when there is nothing to compact; JSON with `--json`; clear errors.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use tether_tests::harness::pretty;
use tether_tests::{Reply, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compact_prints_what_the_daemon_did_and_exits_0() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::text("Noted: the door code is 4711."));
    env.ok(&[
        "new",
        "-d",
        "-n",
        "c",
        "REMEMBER alpha: the door code is 4711.",
    ])
    .await;
    assert_eq!(env.wait_settled("c").await, "idle");
    // Should compaction ask the model for a summary, this is its answer.
    model.push(Reply::text("The user said the door code is 4711."));

    let out = env.run(&["compact", "c", "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r: Value = serde_json::from_str(out.stdout.trim()).expect("one JSON object");
    let message = r["message"].as_str().expect("a message").to_string();
    assert!(!message.trim().is_empty(), "{r}");
    let compacted = r["compacted"].as_bool().expect("compacted is a bool");
    assert!(
        r["tokens_before"].is_u64() && r["tokens_after"].is_u64(),
        "{r}"
    );
    let manual: Vec<Value> = env
        .events_of("c", "context_compacted")
        .await
        .into_iter()
        .filter(|e| e["reason"] == "manual")
        .collect();
    assert_eq!(
        manual.len(),
        usize::from(compacted),
        "a manual compaction is recorded exactly when it says it compacted: {}",
        pretty(&manual)
    );

    // Human output: the message itself, not JSON; exit 0 even with nothing to do.
    let out = env
        .run(&["compact", "c", "--instructions", "keep the door code"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout.trim();
    assert!(!text.is_empty() && !text.starts_with('{'), "{text:?}");

    let out = env.run(&["compact", "ghost"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("no session named \"ghost\""),
        "{}",
        out.stderr
    );
}
