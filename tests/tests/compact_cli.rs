//! `tether compact` (issue 9, item 5) as a script sees it: exit 0 and the daemon's
//! message, also when there is nothing to compact; JSON with `--json`; clear errors.
//! And a fork after a compaction (item 8): its model sees what the original's sees.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::Value;
use tether_tests::harness::pretty;
use tether_tests::{ModelServer, Reply, TestEnv};

const T: Duration = Duration::from_secs(20);

/// The messages of the `n`th chat request, without the system prompt (it may
/// name the session), once it came.
async fn last_chat(model: &ModelServer, n: usize) -> Vec<Value> {
    model.wait_for_requests(n, T).await[n - 1]
        .messages()
        .into_iter()
        .filter(|m| m["role"] != "system")
        .collect()
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_after_a_compaction_sees_what_the_original_sees() {
    // A small window, so a manual compaction has an older part to summarise. Every
    // model call (answers, summaries) gets the scripted default answer.
    let (model, mut env) =
        TestEnv::started("[models.\"mock/test-model\"]\ncontext_window = 4000\n").await;
    env.ok(&[
        "new",
        "-d",
        "-n",
        "orig",
        "REMEMBER alpha: the door code is 4711.",
    ])
    .await;
    assert_eq!(env.wait_settled("orig").await, "idle");
    for n in 1..=4 {
        let note = format!(
            "note {n}: {}",
            "the quick brown fox jumps over the lazy dog. ".repeat(30)
        );
        env.ok(&["send", "orig", &note]).await;
        assert_eq!(env.wait_settled("orig").await, "idle");
    }
    let out = env.run(&["compact", "orig", "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let compactions = env.events_of("orig", "context_compacted").await;
    assert!(
        !compactions.is_empty(),
        "the test needs a compaction before the fork: {}",
        out.stdout
    );

    env.ok(&["fork", "orig", "-n", "twin"]).await;
    let question = "What is the door code?";
    let n = model.requests().len();
    env.ok(&["send", "orig", question]).await;
    assert_eq!(env.wait_settled("orig").await, "idle");
    let from_orig = last_chat(&model, n + 1).await;
    env.ok(&["send", "twin", question]).await;
    assert_eq!(env.wait_settled("twin").await, "idle");
    let from_twin = last_chat(&model, n + 2).await;
    assert_eq!(
        from_twin, from_orig,
        "the fork replays the compaction: the same context as the original"
    );

    // After a restart both are loaded from the log: still the same context.
    env.kill9().await;
    env.start_daemon().await;
    let again = "And the door code once more?";
    for (i, name) in ["orig", "twin"].into_iter().enumerate() {
        env.ok(&["send", name, again]).await;
        assert_eq!(env.wait_settled(name).await, "idle");
        last_chat(&model, n + 3 + i).await;
    }
    let from_orig = last_chat(&model, n + 3).await;
    let from_twin = last_chat(&model, n + 4).await;
    assert_eq!(from_twin, from_orig, "the same after a restart");
    assert!(
        mentions_all(&from_orig, &["note 4", question, again]),
        "the part kept verbatim survives the restart: {from_orig:?}"
    );
}

fn mentions_all(messages: &[Value], needles: &[&str]) -> bool {
    let text = serde_json::to_string(messages).unwrap();
    needles.iter().all(|n| text.contains(n))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_summary_request_over_the_model_s_window_is_summarised_in_parts() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::text("Noted one."));
    env.ok(&[
        "new",
        "-d",
        "-n",
        "p",
        "REMEMBER one: the door code is 4711.",
    ])
    .await;
    assert_eq!(env.wait_settled("p").await, "idle");
    for (i, text) in [
        "two: the boat is blue.",
        "three: the key is under the mat.",
        "four: lunch at noon.",
    ]
    .iter()
    .enumerate()
    {
        model.push(Reply::text(format!("Noted {}.", i + 2)));
        env.ok(&["send", "p", &format!("REMEMBER {text}")]).await;
        assert_eq!(env.wait_settled("p").await, "idle");
    }
    let before = model.requests().len();
    // The model counts the first summary request as over its window (as a
    // small local model may, when the estimate falls short of its count); the
    // halves then fit.
    model.push(Reply::status(400).with_error_message(
        "This model's maximum context length is 2048 tokens. However, you requested 2227 tokens.",
    ));
    model.push(Reply::text(
        "Summary of the first part: the door code is 4711.",
    ));
    model.push(Reply::text(
        "Summary of it all: code 4711, blue boat, key under the mat.",
    ));
    let out = env.run(&["compact", "p", "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r: Value = serde_json::from_str(out.stdout.trim()).expect("one JSON object");
    assert_eq!(r["compacted"], true, "{r}");
    let reqs = model.wait_for_requests(before + 3, T).await;
    assert_eq!(
        reqs.len(),
        before + 3,
        "one refused request, then its two halves"
    );
    let compacted = env.events_of("p", "context_compacted").await;
    assert_eq!(compacted.len(), 1, "{}", pretty(&compacted));
    assert!(
        compacted[0]["summary"]
            .as_str()
            .unwrap()
            .contains("code 4711, blue boat"),
        "the last part's summary, which carries the first's: {}",
        pretty(&compacted)
    );
    assert!(env.events_of("p", "turn_failed").await.is_empty());
}
