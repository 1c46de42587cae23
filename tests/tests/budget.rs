//! Issue 10, items 4 and 5: budgets that pause, not kill, and usage with cost,
//! against the real daemon and a scripted model.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::harness::pretty;
use tether_tests::{Reply, TestEnv};

const T: Duration = Duration::from_secs(20);

/// A price for the scripted model: $1 per million input tokens, $10 per million
/// output tokens.
const PRICE: &str = "[models.\"mock/test-model\"]\ninput_per_mtok = 1.0\noutput_per_mtok = 10.0\n";

async fn info(env: &TestEnv, name: &str) -> Value {
    let list: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no session {name} in {list}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_budget_stops_model_calls_and_raising_it_continues_the_same_turn() {
    let (model, mut env) = TestEnv::started(PRICE).await;
    std::fs::write(env.work_dir.join("notes.txt"), "hello").unwrap();
    // The first call spends 1100 tokens of a 1000-token budget: the tool runs
    // (the step had been decided), the next model call is not made.
    model.push(
        Reply::tool_call("call_1", "read_file", json!({"path": "notes.txt"})).usage(900, 200),
    );
    model.push(Reply::text("done reading").usage(1000, 10));
    env.ok(&[
        "new",
        "-d",
        "-n",
        "b",
        "--max-tokens",
        "1000",
        "read notes.txt",
    ])
    .await;
    assert_eq!(env.wait_settled("b").await, "budget_exhausted");

    let exhausted = env.events_of("b", "budget_exhausted").await;
    assert_eq!(exhausted.len(), 1, "{}", pretty(&env.events("b").await));
    assert_eq!(exhausted[0]["spent"]["tokens"], 1100);
    assert_eq!(exhausted[0]["limit"]["max_tokens"], 1000);
    assert_eq!(env.events_of("b", "tool_result").await.len(), 1);
    assert_eq!(model.requests().len(), 1, "no model call past the budget");
    assert_eq!(
        model.pending_replies(),
        1,
        "the second reply is still waiting"
    );
    let s = info(&env, "b").await;
    assert_eq!(s["state"], "budget_exhausted");
    assert_eq!(s["budget"]["max_tokens"], 1000);

    // Stopped on its budget, the session survives kill -9 as it was.
    env.kill9().await;
    env.start_daemon().await;
    assert_eq!(env.wait_settled("b").await, "budget_exhausted");
    assert_eq!(
        model.requests().len(),
        1,
        "a restart makes no model call either"
    );
    assert!(env.events_of("b", "turn_resumed").await.is_empty());
    assert_eq!(info(&env, "b").await["budget"]["max_tokens"], 1000);

    // Raising the budget continues the same turn with its next model call.
    let out = env.ok(&["budget", "b", "--tokens", "5000", "--json"]).await;
    let after: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(after["budget"]["max_tokens"], 5000);
    assert_ne!(after["state"], "budget_exhausted", "{after}");
    assert_eq!(env.wait_settled("b").await, "idle");
    let reqs = model.wait_for_requests(2, T).await;
    assert_eq!(reqs.len(), 2);
    let events = env.events("b").await;
    let count = |ty: &str| events.iter().filter(|e| e["type"] == ty).count();
    assert_eq!(count("turn_started"), 1, "{}", pretty(&events));
    assert_eq!(count("turn_completed"), 1, "{}", pretty(&events));
    let last = env.events_of("b", "assistant_message").await;
    assert_eq!(last.last().unwrap()["text"], "done reading");

    // Usage and cost: 1900 input, 210 output at the configured price.
    let usage: Value = serde_json::from_str(&env.ok(&["usage", "--json"]).await).unwrap();
    let total = &usage["total"];
    assert_eq!(total["usage"]["prompt_tokens"], 1900, "{usage}");
    assert_eq!(total["usage"]["completion_tokens"], 210, "{usage}");
    let cost = total["cost_usd"].as_f64().unwrap();
    let want = (1900.0 * 1.0 + 210.0 * 10.0) / 1e6;
    assert!((cost - want).abs() < 1e-12, "cost {cost}, want {want}");
    assert_eq!(usage["sessions"][0]["name"], "b");
    let s = info(&env, "b").await;
    assert!(
        (s["cost_usd"].as_f64().unwrap() - want).abs() < 1e-12,
        "{s}"
    );
    assert_eq!(s["cost_basis"], "config", "{s}");
    assert_eq!(usage["sessions"][0]["cost_basis"], "config", "{usage}");
    let table = env.ok(&["usage", "b"]).await;
    assert!(table.contains("$0.0040"), "{table}");
    assert!(!table.contains("estimate"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_limit_applies_to_new_sessions_and_bad_budgets_are_refused() {
    let (model, env) = TestEnv::started("[limits]\nsession_max_tokens = 50\n").await;
    model.push(Reply::text("one").usage(40, 20));
    model.push(Reply::text("two").usage(40, 20));
    env.ok(&["new", "-d", "-n", "c", "first"]).await;
    assert_eq!(env.wait_settled("c").await, "idle");
    assert_eq!(info(&env, "c").await["budget"]["max_tokens"], 50);
    // The next turn starts, and stops before its model call.
    env.ok(&["send", "c", "second"]).await;
    assert_eq!(env.wait_settled("c").await, "budget_exhausted");
    assert_eq!(model.requests().len(), 1);
    // A budget that still does not allow a call leaves the session stopped.
    let out = env.ok(&["budget", "c", "--tokens", "60"]).await;
    assert!(out.contains("budget_exhausted"), "{out}");
    assert_eq!(model.requests().len(), 1);
    let bad = env.run(&["budget", "c", "--tokens", "0"]).await;
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("positive"), "{}", bad.stderr);
    // No budget at all: the turn goes on.
    env.ok(&["budget", "c", "--none"]).await;
    assert_eq!(env.wait_settled("c").await, "idle");
    assert_eq!(model.requests().len(), 2);
    let s = info(&env, "c").await;
    assert!(s["budget"].get("max_tokens").is_none(), "{s}");
    // The scripted model has no price: its cost is unknown, not $0.
    assert_eq!(s["cost_basis"], "unknown", "{s}");
    let table = env.ok(&["usage"]).await;
    assert!(table.contains("no price known"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cost_budget_stops_at_the_estimated_price_and_interrupt_ends_the_stopped_turn() {
    // No price in config: the model's name matches a built-in estimate
    // (gpt-4.1-mini: $0.40 per million input tokens, $1.60 output).
    let model = tether_tests::ModelServer::start().await;
    let mut env = TestEnv::new();
    env.write_config(&format!(
        "default_model = \"mock/gpt-4.1-mini\"\n[providers.mock]\nkind = \"openai\"\n\
         base_url = \"{}\"\n",
        model.base_url()
    ));
    env.start_daemon().await;
    // 100,000 input and 10,000 output tokens: $0.056, past a $0.05 budget.
    model.push(Reply::text("first").usage(100_000, 10_000));
    env.ok(&["new", "-d", "-n", "c", "--max-cost", "0.05", "one"])
        .await;
    assert_eq!(env.wait_settled("c").await, "idle");
    let s = info(&env, "c").await;
    assert_eq!(s["cost_basis"], "estimate", "{s}");
    let cost = s["cost_usd"].as_f64().unwrap();
    assert!((cost - 0.056).abs() < 1e-9, "{s}");
    let table = env.ok(&["usage"]).await;
    assert!(table.contains("~$0.0560"), "{table}");
    assert!(table.contains("an estimate"), "{table}");

    // The next turn stops before its model call; interrupt ends it, and the next
    // message stops again: the budget holds across turns.
    env.ok(&["send", "c", "two"]).await;
    assert_eq!(env.wait_settled("c").await, "budget_exhausted");
    let stopped = env.events_of("c", "budget_exhausted").await;
    assert_eq!(stopped[0]["limit"]["max_cost_usd"], 0.05, "{stopped:?}");
    env.ok(&["interrupt", "c"]).await;
    assert_eq!(env.wait_settled("c").await, "idle");
    assert_eq!(env.events_of("c", "turn_interrupted").await.len(), 1);
    env.ok(&["send", "c", "three"]).await;
    assert_eq!(env.wait_settled("c").await, "budget_exhausted");
    assert_eq!(model.requests().len(), 1, "no model call past the budget");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compactions_summary_counts_in_the_sessions_usage_and_cost() {
    let (model, env) = TestEnv::started(PRICE).await;
    model.push(Reply::text("first answer").usage(100, 10));
    model.push(Reply::text("second answer").usage(200, 10));
    env.ok(&["new", "-d", "-n", "s", "first question"]).await;
    assert_eq!(env.wait_settled("s").await, "idle");
    env.ok(&["send", "s", "second question"]).await;
    assert_eq!(env.wait_settled("s").await, "idle");
    // The summary request's answer, with what it used.
    model.push(Reply::text("The user asked two questions.").usage(5000, 300));
    let out: Value = serde_json::from_str(&env.ok(&["compact", "s", "--json"]).await).unwrap();
    assert_eq!(out["compacted"], true, "{out}");

    let compacted = env.events_of("s", "context_compacted").await;
    assert_eq!(compacted.len(), 1, "{}", pretty(&env.events("s").await));
    assert_eq!(
        compacted[0]["usage"]["prompt_tokens"], 5000,
        "{compacted:?}"
    );
    assert_eq!(compacted[0]["usage"]["completion_tokens"], 300);
    let s = info(&env, "s").await;
    assert_eq!(s["usage"]["prompt_tokens"], 5300, "{s}");
    assert_eq!(s["usage"]["completion_tokens"], 320, "{s}");
    let want = (5300.0 * 1.0 + 320.0 * 10.0) / 1e6;
    assert!(
        (s["cost_usd"].as_f64().unwrap() - want).abs() < 1e-12,
        "{s}"
    );
}
