//! `kind = "openai-responses"` end to end: the real daemon against the scripted
//! Responses server. Stateless requests (`store: false`), context across tasks,
//! function calls and `function_call_output`, reasoning items replayed from the log
//! exactly as the model sent them, typed errors, usage with cached tokens, and a steady
//! session measured against the simulation of OpenAI's prompt cache.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::TestEnv;
use tether_tests::harness::{TEST_API_KEY, pretty};
use tether_tests::model::assert_steady;
use tether_tests::responses::{ResponsesReply, ResponsesServer, reasoning_item};

const T: Duration = Duration::from_secs(20);
/// What the steady session's tool calls read and run.
const NOTES: &str = "a line of notes, read again and again\n";
const ECHO: &str = "echo the steady session runs a command with a sentence of output";

async fn started(extra: &str) -> (ResponsesServer, TestEnv) {
    let server = ResponsesServer::start().await;
    let mut env = TestEnv::new();
    env.write_config(&format!(
        "default_model = \"r/test-model\"\n\n[providers.r]\nkind = \"openai-responses\"\n\
         base_url = \"{}\"\napi_key_env = \"TETHER_TEST_KEY\"\n{extra}\n\n[retry]\nmax_attempts = 3\n\
         initial_backoff_ms = 20\nmax_backoff_ms = 200\nstall_timeout_s = 3\n\n\
         [approvals]\ndefault = \"allow\"\n",
        server.base_url()
    ));
    env.start_daemon().await;
    (server, env)
}

/// The position of the first `input` item equal to `item`.
fn position(input: &[Value], item: &Value) -> Option<usize> {
    input.iter().position(|i| i == item)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_is_kept_across_tasks_with_reasoning_replayed_statelessly() {
    let (server, env) = started("").await;
    server.push(
        ResponsesReply::text("Noted, your dog is called Biscuit.")
            .after_reasoning("rs_1", "enc-one")
            .usage(1200, 1000, 40, 25),
    );
    env.ok(&["new", "-d", "-n", "ctx", "My dog is called Biscuit."])
        .await;
    assert_eq!(env.wait_settled("ctx").await, "idle");
    server.push(ResponsesReply::text("It is Biscuit."));
    env.ok(&["send", "ctx", "What is my dog called?"]).await;
    assert_eq!(env.wait_settled("ctx").await, "idle");

    let reqs = server.wait_for_requests(2, T).await;
    for r in &reqs {
        assert_eq!(r.path, "/v1/responses");
        assert_eq!(r.body["store"], false, "stateless: {}", r.raw);
        assert_eq!(r.body["stream"], true);
        assert_eq!(r.body["include"], json!(["reasoning.encrypted_content"]));
        assert!(r.body.get("previous_response_id").is_none());
        assert_eq!(r.body["model"], "test-model");
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TEST_API_KEY}").as_str())
        );
        // A local endpoint is not sent prompt_cache_key unless configured.
        assert!(r.body.get("prompt_cache_key").is_none(), "{}", r.raw);
    }
    let input = reqs[1].input();
    let texts = |role: &str| -> Vec<String> {
        input
            .iter()
            .filter(|i| i["type"] == "message" && i["role"] == role)
            .map(|i| i["content"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(
        texts("user"),
        ["My dog is called Biscuit.", "What is my dog called?"],
        "{}",
        reqs[1].raw
    );
    assert_eq!(texts("assistant"), ["Noted, your dog is called Biscuit."]);
    // The reasoning item comes back as the model sent it, just before its answer.
    let reasoning = reasoning_item("rs_1", "enc-one");
    let at = position(&input, &reasoning).expect("reasoning item replayed");
    assert_eq!(input[at + 1]["role"], "assistant", "{}", reqs[1].raw);
    assert_eq!(reqs[1].items_of("reasoning").len(), 1);

    let answers = env.events_of("ctx", "assistant_message").await;
    assert_eq!(answers.len(), 2, "{}", pretty(&answers));
    assert_eq!(
        answers[0]["provider_items"],
        json!([{"kind": "openai-responses", "item": reasoning}])
    );
    assert_eq!(answers[0]["usage"]["cached_tokens"], 1000);
    assert_eq!(answers[0]["usage"]["reasoning_tokens"], 25);
    assert_eq!(answers[0]["usage"]["prompt_tokens"], 1200);
    assert!(answers[1].get("provider_items").is_none(), "{}", answers[1]);
    // The key is sent, never stored.
    for (path, bytes) in env.state_files() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(TEST_API_KEY),
            "API key written to {}",
            path.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_round_trip_uses_function_call_output_and_keeps_reasoning_in_place() {
    let (server, env) = started("prompt_cache_key = true").await;
    std::fs::write(
        env.work_dir.join("notes.txt"),
        "the secret word is pumpernickel\n",
    )
    .unwrap();
    server.push(
        ResponsesReply::call("call_read", "read_file", r#"{"path": "notes.txt"}"#)
            .after_reasoning("rs_a", "enc-a"),
    );
    server.push(ResponsesReply::text("The word is pumpernickel.").after_reasoning("rs_b", "enc-b"));
    env.ok(&["new", "-d", "-n", "tools", "What is the secret word?"])
        .await;
    assert_eq!(env.wait_settled("tools").await, "idle");
    server.push(ResponsesReply::text("Done."));
    env.ok(&["send", "tools", "Thanks."]).await;
    assert_eq!(env.wait_settled("tools").await, "idle");

    let calls = env.events_of("tools", "tool_call").await;
    assert_eq!(calls.len(), 1, "{}", pretty(&calls));
    assert_eq!(calls[0]["call_id"], "call_read");
    assert_eq!(calls[0]["arguments"], json!({"path": "notes.txt"}));

    let reqs = server.wait_for_requests(3, T).await;
    let tools: Vec<&str> = reqs[0].body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["type"], "function");
            assert_eq!(t["strict"], false);
            t["name"].as_str().unwrap()
        })
        .collect();
    assert!(tools.contains(&"read_file"), "{tools:?}");

    let input = reqs[1].input();
    let a = position(&input, &reasoning_item("rs_a", "enc-a")).expect("reasoning a replayed");
    let call = &input[a + 1];
    assert_eq!(call["type"], "function_call", "{}", reqs[1].raw);
    assert_eq!(call["call_id"], "call_read");
    assert_eq!(call["name"], "read_file");
    let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"path": "notes.txt"}));
    let output = &input[a + 2];
    assert_eq!(output["type"], "function_call_output");
    assert_eq!(output["call_id"], "call_read");
    assert!(output["output"].as_str().unwrap().contains("pumpernickel"));

    // Every later request replays both reasoning items, in place.
    let later = reqs[2].input();
    let a = position(&later, &reasoning_item("rs_a", "enc-a")).expect("rs_a in the next task");
    let b = position(&later, &reasoning_item("rs_b", "enc-b")).expect("rs_b in the next task");
    assert_eq!(later[a + 1]["type"], "function_call");
    assert_eq!(later[b - 1]["type"], "function_call_output");
    assert_eq!(later[b + 1]["content"], "The word is pumpernickel.");
    // Each request starts with the previous one's input, so the prompt cache hits.
    for w in reqs.windows(2) {
        let (prev, next) = (w[0].input(), w[1].input());
        assert_eq!(next[..prev.len()], prev[..], "prefix changed: {}", w[1].raw);
        assert_eq!(w[0].body["tools"], w[1].body["tools"]);
    }

    let ls: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    let id = ls[0]["id"].as_str().expect("a session id in ls --json");
    for r in &reqs {
        assert_eq!(r.body["prompt_cache_key"], id, "configured: the session id");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_response_is_retried_and_a_refusal_fails_the_turn_with_its_message() {
    let (server, env) = started("").await;
    server.push(ResponsesReply::failed(
        "server_error",
        "The server had an error",
    ));
    server.push(ResponsesReply::text("Recovered."));
    env.ok(&["new", "-d", "-n", "flaky", "hello"]).await;
    assert_eq!(env.wait_settled("flaky").await, "idle");
    assert_eq!(server.wait_for_requests(2, T).await.len(), 2);
    let answers = env.events_of("flaky", "assistant_message").await;
    assert_eq!(answers.last().unwrap()["text"], "Recovered.");

    server.push(ResponsesReply::http_error(
        401,
        "Incorrect API key provided",
    ));
    env.ok(&["send", "flaky", "again"]).await;
    env.wait_event("flaky", "a turn_failed naming the refusal", |e| {
        e["type"] == "turn_failed" && e.to_string().contains("Incorrect API key provided")
    })
    .await;
    assert_eq!(server.requests().len(), 3, "an auth error is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_session_reads_at_least_80_percent_of_its_input_from_the_simulated_cache() {
    let (server, env) = started("prompt_cache_key = true").await;
    server.simulate_cache();
    std::fs::write(env.work_dir.join("notes.txt"), NOTES.repeat(8)).unwrap();
    server.push(ResponsesReply::call(
        "call_0",
        "list_dir",
        r#"{"path": "."}"#,
    ));
    server.push(ResponsesReply::text("Listed."));
    env.ok(&["new", "-d", "-n", "steady", "turn 0: list the directory"])
        .await;
    assert_eq!(env.wait_settled("steady").await, "idle");
    for turn in 1..10 {
        // Each turn adds a few hundred bytes: at the end the conversation outweighs the
        // tools and system prompt, so a prefix broken early reads well under 80%.
        let id = format!("call_{turn}");
        server.push(match turn % 3 {
            // Reasoning replayed, and a call that fails: other ways to write a step.
            1 => ResponsesReply::call(&id, "shell", &json!({"command": ECHO}).to_string())
                .after_reasoning(&format!("rs_{turn}"), &format!("enc-{turn}")),
            2 => ResponsesReply::call(&id, "read_file", r#"{"path": "missing.txt"}"#),
            _ => ResponsesReply::call(&id, "read_file", r#"{"path": "notes.txt"}"#),
        });
        server.push(ResponsesReply::text(&format!("Answer {turn}.")));
        env.ok(&["send", "steady", &format!("turn {turn}: go on")])
            .await;
        assert_eq!(env.wait_settled("steady").await, "idle");
    }

    let served = server.cache_usage();
    assert_eq!(served.len(), server.requests().len());
    assert!(served.len() >= 16, "{}", served.len());
    let answers = env.events_of("steady", "assistant_message").await;
    assert_steady(&served, &answers, 0.8);
}
