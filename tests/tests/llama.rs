//! Against a real model server with a real window: llama-cpp-python serving
//! SmolLM2-135M-Instruct with `--n_ctx 2048` (installed by `.ci/llama`; without it the test
//! fails, saying to run `.ci/run`). Its overflow is the hard kind: a streamed request past
//! the window gets a 200 event stream that just ends, with no finish_reason and no error.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tether_tests::harness::pretty;
use tether_tests::llama::LlamaServer;
use tether_tests::model::{Overflow, asks_for_summary};
use tether_tests::{ModelServer, Reply, TestEnv};

/// A real turn on the CPU (prompt, maybe a compaction, the answer): generous, since the
/// 135M model's answers run until it stops or the window is full, and a machine busy with
/// builds slows it tenfold.
const TURN: Duration = Duration::from_secs(600);

/// Note `i`: about 1.6 KB of plain prose (some 400 tokens), different in every note.
fn note(i: usize) -> String {
    let topics = [
        "the harbour",
        "the orchard",
        "the old mill",
        "the lighthouse",
        "the market",
        "the river ford",
    ];
    let topic = topics[i % topics.len()];
    let mut text = format!("Note {i}. Please keep this note about {topic}. ");
    let mut k = 0;
    while text.len() < 1600 {
        k += 1;
        text.push_str(&format!(
            "On day {k} of week {i} the keeper of {topic} counted {} crates, mended {} nets \
             and wrote that the weather was {}. ",
            i * 7 + k,
            (i + k) % 5 + 1,
            ["calm", "windy", "wet", "bright"][k % 4],
        ));
    }
    text.push_str("Reply with one short sentence.");
    text
}

/// `tether wait NAME` within [`TURN`]; returns the state it printed.
async fn settle(env: &TestEnv, name: &str) -> String {
    let limit = TURN.as_secs().to_string();
    let mut cmd = env.cli(&["wait", name, "--timeout", &limit]);
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    let out = tokio::time::timeout(TURN + Duration::from_secs(10), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("`tether wait {name}` did not return"))
        .expect("run tether wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "`tether wait {name}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn of_type<'a>(events: &'a [Value], ty: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == ty).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_fed_a_dozen_long_notes_never_fails_a_turn() {
    let started = Instant::now();
    let mut server = LlamaServer::start(2048).await;
    let mut env = TestEnv::new();
    env.write_config(&server.config(""));
    env.start_daemon().await;
    let ready = started.elapsed();

    env.ok(&["new", "-d", "-n", "notes", &note(1)]).await;
    let mut turns = Vec::new();
    for i in 1..=12 {
        if i > 1 {
            env.ok(&["send", "notes", &note(i)]).await;
        }
        let turn = Instant::now();
        let state = settle(&env, "notes").await;
        turns.push(turn.elapsed());
        let events = env.events("notes").await;
        let failed = of_type(&events, "turn_failed");
        assert!(
            failed.is_empty() && state == "idle",
            "turn {i} failed (state {state}):\n{}\n--- server {} ---\n--- server log (tail) ---\n{}",
            pretty(&events),
            server.status(),
            tail(&server.log(), 40)
        );
    }

    let events = env.events("notes").await;
    assert_eq!(events[0]["seq"], 1, "the log still starts at seq 1");
    let users = of_type(&events, "user_message");
    assert_eq!(users.len(), 12, "every note is in the log");
    assert!(
        users
            .iter()
            .any(|e| e["text"].as_str().is_some_and(|t| t.starts_with("Note 1."))),
        "the first note is still in the log"
    );
    assert_eq!(of_type(&events, "turn_completed").len(), 12);
    let compactions = of_type(&events, "context_compacted");
    assert!(
        !compactions.is_empty(),
        "a dozen notes of ~400 tokens cannot fit 2,048 tokens without a compaction:\n{}",
        pretty(&events)
    );
    eprintln!(
        "llama: server ready in {ready:?}; 12 turns in {:?} (longest {:?}); {} compaction(s) \
         ({}); {} overflow(s) in the server log",
        turns.iter().sum::<Duration>(),
        turns.iter().max().unwrap(),
        compactions.len(),
        compactions
            .iter()
            .map(|c| format!(
                "{}: {} -> {}",
                c["reason"], c["tokens_before"], c["tokens_after"]
            ))
            .collect::<Vec<_>>()
            .join(", "),
        server
            .log()
            .lines()
            .filter(|l| l.starts_with("ValueError: Requested tokens"))
            .count(),
    );
}

/// The same overflow against the scripted double (no real server needed): with no window
/// configured, the empty stream is asked again unstreamed, the 400 names the window, the
/// session learns it, compacts and goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_silent_overflow_of_llama_cpp_python_is_recovered_with_its_window_learned() {
    let model = ModelServer::start().await;
    model.context_window(2048);
    model.overflow_style(Overflow::SilentStream);
    model.omit_stream_usage();
    model.summarise_when(asks_for_summary);
    let mut env = TestEnv::with_model(&model, "");
    env.start_daemon().await;

    model.push(Reply::text("Noted."));
    env.ok(&["new", "-d", "-n", "silent", "REMEMBER alpha"])
        .await;
    assert_eq!(env.wait_settled("silent").await, "idle");
    for i in 2..=8 {
        model.push(Reply::text(format!("Noted {i}.")));
        env.ok(&["send", "silent", &note(i)]).await;
        let state = env.wait_settled("silent").await;
        let events = env.events("silent").await;
        assert!(
            state == "idle" && of_type(&events, "turn_failed").is_empty(),
            "note {i} failed (state {state}):\n{}",
            pretty(&events)
        );
    }
    assert!(model.overflows() > 0, "the double never saw an overflow");
    let events = env.events("silent").await;
    assert!(
        !of_type(&events, "context_compacted").is_empty(),
        "{}",
        pretty(&events)
    );
    // Every overflow was a streamed request asked again without streaming.
    let requests = model.requests();
    let unstreamed = requests
        .iter()
        .filter(|r| r.body["stream"].as_bool() == Some(false))
        .count();
    assert_eq!(
        unstreamed,
        model.overflows() / 2,
        "one unstreamed ask per empty stream"
    );
    let ls: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(
        ls[0]["context_window"], 2048,
        "the window was learned: {ls}"
    );
    let last = requests
        .iter()
        .rev()
        .find(|r| !asks_for_summary(r))
        .unwrap();
    assert!(last.prompt_tokens() <= 2048, "{}", last.prompt_tokens());
    assert!(last.request_text().contains("alpha"), "the fact survives");
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
