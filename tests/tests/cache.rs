//! Chat completions, cache-friendly: every request of a session starts with the
//! previous request's messages byte for byte and offers the same tools, so a
//! provider's prompt cache covers everything but the newest messages. Compared on the
//! raw request bodies, through a recording proxy in front of the scripted model, and
//! measured against the scripted model's simulation of OpenAI's prompt cache.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::json;
use tether_tests::harness::config_for;
use tether_tests::model::assert_steady;
use tether_tests::proxy::RecordingProxy;
use tether_tests::{ModelServer, Reply, TestEnv};

const T: Duration = Duration::from_secs(20);
const CHAT: &str = "/v1/chat/completions";
/// What the steady session's tool calls read and run.
const NOTES: &str = "a line of notes, read again and again\n";
const ECHO: &str = "echo the steady session runs a command with a sentence of output";

/// The raw text of the top-level `"key": …` value of a JSON object, as written.
fn raw_field<'a>(body: &'a str, key: &str) -> &'a str {
    let bytes = body.as_bytes();
    let (mut depth, mut i, mut in_str) = (0usize, 0usize, false);
    let needle = format!("\"{key}\":");
    while i < bytes.len() {
        let b = bytes[i];
        if in_str {
            match b {
                b'\\' => i += 1,
                b'"' => in_str = false,
                _ => {}
            }
        } else if b == b'"' {
            if depth == 1 && body[i..].starts_with(&needle) {
                return value_at(body, i + needle.len());
            }
            in_str = true;
        } else if b == b'{' || b == b'[' {
            depth += 1;
        } else if b == b'}' || b == b']' {
            depth -= 1;
        }
        i += 1;
    }
    panic!("no top-level {key:?} in {body}");
}

/// The JSON value starting at `start` (an array or object here), as written.
fn value_at(body: &str, start: usize) -> &str {
    let bytes = body.as_bytes();
    let (mut depth, mut i, mut in_str) = (0usize, start, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_str {
            match b {
                b'\\' => i += 1,
                b'"' => in_str = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        return &body[start..=i];
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    panic!("unterminated value at {start} in {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_starts_with_the_previous_requests_messages_byte_for_byte() {
    let model = ModelServer::start().await;
    let proxy = RecordingProxy::start(model.addr()).await;
    let mut config = config_for(&model, "");
    config = config.replace(&model.base_url(), &proxy.base_url());
    let mut env = TestEnv::new();
    env.write_config(&config);
    std::fs::write(env.work_dir.join("a.txt"), "alpha \"quoted\" \u{e9}\n").unwrap();
    env.start_daemon().await;

    model.push(Reply::tool_call(
        "c1",
        "read_file",
        json!({"path": "a.txt"}),
    ));
    model.push(Reply::tool_call("c2", "list_dir", json!({})));
    model.push(Reply::text("Read it."));
    env.ok(&["new", "-d", "-n", "cache", "Read a.txt, then list."])
        .await;
    assert_eq!(env.wait_settled("cache").await, "idle");
    model.push(Reply::text("Sure."));
    env.ok(&["send", "cache", "And again?"]).await;
    assert_eq!(env.wait_settled("cache").await, "idle");

    let bodies = proxy.wait_for(CHAT, 4, T).await;
    assert_eq!(bodies.len(), 4, "one request per step");
    for (i, w) in bodies.windows(2).enumerate() {
        let (prev, next) = (raw_field(&w[0], "messages"), raw_field(&w[1], "messages"));
        let open = &prev[..prev.len() - 1];
        assert!(
            next.starts_with(open) && next[open.len()..].starts_with(','),
            "request {} does not start with request {i}'s messages:\n{prev}\n{next}",
            i + 1
        );
        assert!(next.len() > prev.len());
        assert_eq!(
            raw_field(&w[0], "tools"),
            raw_field(&w[1], "tools"),
            "the same tools in the same order"
        );
    }
    // A local endpoint is not sent prompt_cache_key by default.
    assert!(!bodies.iter().any(|b| b.contains("prompt_cache_key")));
    assert_eq!(proxy.bodies(CHAT).len(), 4, "{bodies:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_session_reads_at_least_80_percent_of_its_input_from_the_simulated_cache() {
    let (model, env) = TestEnv::started("").await;
    model.simulate_cache();
    std::fs::write(env.work_dir.join("notes.txt"), NOTES.repeat(8)).unwrap();
    model.push(Reply::tool_call("c0", "list_dir", json!({"path": "."})));
    model.push(Reply::text("Listed."));
    env.ok(&["new", "-d", "-n", "steady", "turn 0: list the directory"])
        .await;
    assert_eq!(env.wait_settled("steady").await, "idle");
    for turn in 1..10 {
        // Each turn adds a few hundred bytes: at the end the conversation outweighs the
        // tools and system prompt, so a prefix broken early reads well under 80%.
        let id = format!("c{turn}");
        model.push(match turn % 3 {
            // A call after some text, and one that fails: other ways to write a step.
            1 => Reply::tool_call(id, "shell", json!({"command": ECHO}))
                .with_text_prefix("Running it."),
            2 => Reply::tool_call(id, "read_file", json!({"path": "missing.txt"})),
            _ => Reply::tool_call(id, "read_file", json!({"path": "notes.txt"})),
        });
        model.push(Reply::text(format!("Answer {turn}.")));
        env.ok(&["send", "steady", &format!("turn {turn}: go on")])
            .await;
        assert_eq!(env.wait_settled("steady").await, "idle");
    }

    let served = model.cache_usage();
    assert_eq!(served.len(), model.requests().len());
    assert!(served.len() >= 16, "{}", served.len());
    let answers = env.events_of("steady", "assistant_message").await;
    assert_steady(&served, &answers, 0.8);
}
