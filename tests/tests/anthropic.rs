//! `kind = "anthropic"` end to end: the real daemon against the scripted Messages API
//! (`tether_tests::anthropic`): context across tasks, the key, tool round trips
//! (parallel ones too), thinking sent back with its signature, overload retries and the
//! prompt cache in a steady session.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::TestEnv;
use tether_tests::anthropic::{AnthropicReply, AnthropicServer};
use tether_tests::harness::{TEST_API_KEY, pretty};

const T: Duration = Duration::from_secs(20);

/// A config whose default model is `claude/claude-sonnet-4-5` on `server`.
fn config(server: &AnthropicServer) -> String {
    format!(
        "default_model = \"claude/claude-sonnet-4-5\"\n\n[providers.claude]\nkind = \"anthropic\"\n\
         base_url = \"{}\"\napi_key_env = \"TETHER_TEST_KEY\"\n\n[retry]\nmax_attempts = 3\n\
         initial_backoff_ms = 20\nmax_backoff_ms = 200\nstall_timeout_s = 3\n\n\
         [approvals]\ndefault = \"allow\"\n",
        server.base_url()
    )
}

async fn started() -> (AnthropicServer, TestEnv) {
    let server = AnthropicServer::start().await;
    server.require_key(TEST_API_KEY);
    let mut env = TestEnv::new();
    env.write_config(&config(&server));
    env.start_daemon().await;
    (server, env)
}

/// The text of every text block of a request's messages, in order.
fn texts(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for m in body["messages"].as_array().unwrap() {
        for b in m["content"].as_array().unwrap() {
            if let Some(t) = b["text"].as_str() {
                out.push(t.to_string());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_is_kept_across_tasks_and_the_key_goes_only_in_x_api_key() {
    let (server, env) = started().await;
    server.push(AnthropicReply::text("Noted, your dog is called Biscuit."));
    env.ok(&["new", "-d", "-n", "ctx", "My dog is called Biscuit."])
        .await;
    assert_eq!(env.wait_settled("ctx").await, "idle");
    server.push(AnthropicReply::text("It is Biscuit."));
    env.ok(&["send", "ctx", "What is my dog called?"]).await;
    assert_eq!(env.wait_settled("ctx").await, "idle");

    let reqs = server.wait_for_requests(2, T).await;
    let second = &reqs[1];
    assert_eq!(second.path, "/v1/messages");
    assert_eq!(second.header("x-api-key"), Some(TEST_API_KEY));
    assert_eq!(second.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(second.authorization(), None, "no bearer token");
    assert_eq!(second.model().as_deref(), Some("claude-sonnet-4-5"));
    assert!(second.body["max_tokens"].as_u64().unwrap() > 0);
    assert_eq!(second.body["stream"], true);
    assert_eq!(
        texts(&second.body),
        [
            "My dog is called Biscuit.",
            "Noted, your dog is called Biscuit.",
            "What is my dog called?"
        ]
    );
    let roles: Vec<&str> = second.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    let answers = env.events_of("ctx", "assistant_message").await;
    assert_eq!(answers[1]["text"], "It is Biscuit.");

    for (path, bytes) in env.state_files() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(TEST_API_KEY),
            "API key written to {}",
            path.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_round_trip_sends_the_result_as_a_tool_result_block() {
    let server = AnthropicServer::start().await;
    let mut env = TestEnv::new();
    env.write_config(&config(&server));
    std::fs::write(
        env.work_dir.join("notes.txt"),
        "the secret word is pumpernickel\n",
    )
    .unwrap();
    env.start_daemon().await;
    server.push(
        AnthropicReply::tool_use("toolu_read", "read_file", json!({"path": "notes.txt"}))
            .with_text_prefix("Let me read it."),
    );
    server.push(AnthropicReply::text("The word is pumpernickel."));
    env.ok(&["new", "-d", "-n", "tools", "What is the secret word?"])
        .await;
    assert_eq!(env.wait_settled("tools").await, "idle");

    let calls = env.events_of("tools", "tool_call").await;
    assert_eq!(calls.len(), 1, "{}", pretty(&calls));
    assert_eq!(calls[0]["call_id"], "toolu_read");
    assert_eq!(
        calls[0]["arguments"],
        json!({"path": "notes.txt"}),
        "input reassembled from split input_json_delta pieces"
    );
    let reqs = server.wait_for_requests(2, T).await;
    let tools: Vec<&str> = reqs[0].body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(tools.contains(&"read_file"), "{tools:?}");
    assert!(reqs[0].body["tools"][0]["input_schema"].is_object());
    let m = reqs[1].body["messages"].as_array().unwrap();
    assert_eq!(m.len(), 3, "{m:#?}");
    assert_eq!(
        m[1]["content"][0],
        json!({"type": "text", "text": "Let me read it."})
    );
    assert_eq!(
        m[1]["content"][1],
        json!({"type": "tool_use", "id": "toolu_read", "name": "read_file", "input": {"path": "notes.txt"}})
    );
    let result = &m[2]["content"][0];
    assert_eq!(result["type"], "tool_result");
    assert_eq!(result["tool_use_id"], "toolu_read");
    assert!(result.get("is_error").is_none());
    assert!(result.to_string().contains("pumpernickel"), "{result}");
    let answers = env.events_of("tools", "assistant_message").await;
    assert_eq!(answers.last().unwrap()["text"], "The word is pumpernickel.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_tool_calls_come_back_in_one_user_message_and_a_failure_is_marked() {
    let (server, env) = started().await;
    server.push(AnthropicReply::tool_uses([
        ("toolu_1", "shell", json!({"command": "echo one"})),
        ("toolu_2", "read_file", json!({"path": "missing.txt"})),
    ]));
    server.push(AnthropicReply::text("both done"));
    env.ok(&["new", "-d", "-n", "par", "do both"]).await;
    assert_eq!(env.wait_settled("par").await, "idle");

    let reqs = server.wait_for_requests(2, T).await;
    let m = reqs[1].body["messages"].as_array().unwrap();
    assert_eq!(m.len(), 3, "{m:#?}");
    let ids: Vec<&str> = m[1]["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["id"].as_str())
        .collect();
    assert_eq!(ids, ["toolu_1", "toolu_2"]);
    let results = m[2]["content"].as_array().unwrap();
    assert_eq!(results.len(), 2, "both results in one user turn: {m:#?}");
    // In the order the calls finished, as the log has them.
    let result = |id: &str| {
        results
            .iter()
            .find(|r| r["type"] == "tool_result" && r["tool_use_id"] == id)
            .unwrap_or_else(|| panic!("no tool_result for {id}: {m:#?}"))
    };
    assert!(
        result("toolu_1")["content"]
            .as_str()
            .unwrap()
            .contains("one")
    );
    assert!(result("toolu_1").get("is_error").is_none());
    assert_eq!(result("toolu_2")["is_error"], true, "{}", result("toolu_2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thinking_goes_back_with_its_signature_even_after_a_restart() {
    let (server, mut env) = started().await;
    server.push(
        AnthropicReply::tool_use("toolu_ls", "list_dir", json!({"path": "."}))
            .with_thinking("I should look at the directory first.", "c2lnbmF0dXJl-1"),
    );
    server.push(AnthropicReply::text("It is empty.").with_thinking("Nothing there.", "sig-2"));
    env.ok(&["new", "-d", "-n", "think", "what is here?"]).await;
    assert_eq!(env.wait_settled("think").await, "idle");

    let thinking = json!({"type": "thinking", "thinking": "I should look at the directory first.",
                          "signature": "c2lnbmF0dXJl-1"});
    let reqs = server.wait_for_requests(2, T).await;
    let assistant = &reqs[1].body["messages"][1]["content"];
    assert_eq!(
        assistant[0], thinking,
        "thinking first, verbatim: {assistant}"
    );
    assert_eq!(assistant[1]["type"], "tool_use");
    let stored = env.events_of("think", "assistant_message").await;
    assert_eq!(stored[0]["provider_items"][0]["kind"], "anthropic");
    assert_eq!(stored[0]["provider_items"][0]["item"], thinking);
    assert!(stored[0]["text"].as_str().unwrap().is_empty());

    // From the log after a restart, too.
    env.kill9().await;
    env.start_daemon().await;
    env.ok(&["send", "think", "and now?"]).await;
    assert_eq!(env.wait_settled("think").await, "idle");
    let reqs = server.wait_for_requests(3, T).await;
    let m = reqs[2].body["messages"].as_array().unwrap();
    assert_eq!(m[1]["content"][0], thinking);
    assert_eq!(m[3]["content"][0]["signature"], "sig-2", "{m:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overloaded_answers_are_retried_honouring_retry_after() {
    let (server, env) = started().await;
    server.push(AnthropicReply::overloaded().retry_after(1));
    server.push(AnthropicReply::stream_error(
        "overloaded_error",
        "Overloaded",
    ));
    server.push(AnthropicReply::text("made it"));
    env.ok(&["new", "-d", "-n", "busy", "hi"]).await;
    assert_eq!(env.wait_settled("busy").await, "idle");
    let errors = env.events_of("busy", "error").await;
    assert_eq!(errors.len(), 2, "{}", pretty(&errors));
    let first = errors[0]["message"].as_str().unwrap();
    assert!(
        first.contains("529")
            && first.contains("overloaded_error")
            && first.contains("retrying in 1.0s"),
        "{first}"
    );
    assert!(
        errors[1]["message"]
            .as_str()
            .unwrap()
            .contains("overloaded_error")
    );
    let answers = env.events_of("busy", "assistant_message").await;
    assert_eq!(answers.last().unwrap()["text"], "made it");
    assert_eq!(server.requests().len(), 3);

    // A prompt that does not fit is a context-length failure, not retried as is: the
    // session compacts (here nothing is left to compact, so the turn fails at once).
    server.push(AnthropicReply::prompt_too_long());
    env.ok(&["send", "busy", "more"]).await;
    assert_eq!(env.wait_settled("busy").await, "failed");
    let failed = env.events_of("busy", "turn_failed").await;
    let error = failed[0]["error"].as_str().unwrap();
    assert!(
        error.contains("HTTP 400") && error.contains("prompt is too long"),
        "{error}"
    );
    assert_eq!(
        server.requests().len(),
        4,
        "the overflow is not retried as is"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_session_reads_at_least_80_percent_of_its_input_from_the_cache() {
    let (server, env) = started().await;
    server.push(AnthropicReply::tool_use(
        "toolu_0",
        "list_dir",
        json!({"path": "."}),
    ));
    server.push(AnthropicReply::text("Listed."));
    env.ok(&["new", "-d", "-n", "steady", "turn 0: list the directory"])
        .await;
    assert_eq!(env.wait_settled("steady").await, "idle");
    for turn in 1..10 {
        if turn % 3 == 0 {
            server.push(AnthropicReply::tool_use(
                format!("toolu_{turn}"),
                "shell",
                json!({"command": format!("echo turn {turn}")}),
            ));
        }
        server.push(AnthropicReply::text(format!("Answer {turn}.")));
        env.ok(&["send", "steady", &format!("turn {turn}: go on")])
            .await;
        assert_eq!(env.wait_settled("steady").await, "idle");
    }

    let served = server.served();
    assert!(served.len() >= 13, "{}", served.len());
    let (mut total, mut read) = (0, 0);
    for (i, s) in served.iter().enumerate() {
        let u = s.usage.unwrap();
        if i > 0 {
            let share = u.read as f64 / (u.read + u.write + u.input) as f64;
            assert!(
                share >= 0.8,
                "request {i} read only {share:.2} of its input from the cache: {u:?}"
            );
        }
        total += u.read + u.write + u.input;
        read += u.read;
    }
    let share = read as f64 / total as f64;
    assert!(share >= 0.8, "the session read {share:.2} from the cache");

    // The events carry the usage the server reported.
    let answers = env.events_of("steady", "assistant_message").await;
    assert_eq!(answers.len(), served.len());
    let (mut prompt, mut cached) = (0, 0);
    for (a, s) in answers.iter().zip(&served) {
        let u = s.usage.unwrap();
        assert_eq!(a["usage"]["cached_tokens"].as_u64().unwrap_or(0), u.read);
        assert_eq!(
            a["usage"]["cache_write_tokens"].as_u64().unwrap_or(0),
            u.write
        );
        prompt += a["usage"]["prompt_tokens"].as_u64().unwrap();
        cached += a["usage"]["cached_tokens"].as_u64().unwrap_or(0);
    }
    assert_eq!(
        prompt, total,
        "prompt tokens = input + cache read + cache write"
    );
    assert_eq!(cached, read);
    let ls: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(ls[0]["usage"]["prompt_tokens"].as_u64().unwrap(), total);
}
