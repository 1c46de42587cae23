//! Benchmarks of context management (issue 9), run by hand (not in CI):
//!
//! ```sh
//! cargo run --release -p tether-tests --bin context-bench
//! ```
//!
//! Prints the time and daemon memory of the first message after a restart to a
//! session of 10^4, 10^5 and 10^6 events (with compactions along the way, and
//! without any), the tokens sent per turn over a 500-turn session with and
//! without compaction, and how long a compaction takes.
// A measuring tool: it fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use tether_shared::event::CompactReason;
use tether_shared::{Delivery, Event, EventKind};
use tether_tests::measure::{ms, rss_kib};
use tether_tests::model::{asks_for_summary, count_tokens};
use tether_tests::{ModelServer, Reply, TestEnv};

fn event(seq: u64, kind: EventKind) -> Event {
    Event {
        seq,
        ts: "2026-12-01T10:00:00.000Z".into(),
        kind,
    }
}

/// Appends user/assistant pairs to `session` in its stopped daemon's store
/// until it holds `target` events, with a compaction every `every` events (0:
/// none), the way a long-lived session's log looks.
fn fill(env: &TestEnv, session: &str, target: u64, every: u64) {
    let mut db = rusqlite::Connection::open(env.state_dir.join("tether.db")).unwrap();
    let id: String = db
        .query_row("SELECT id FROM sessions WHERE name = ?1", [session], |r| {
            r.get(0)
        })
        .unwrap();
    let last: u64 = db
        .query_row("SELECT last_seq FROM sessions WHERE id = ?1", [&id], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap() as u64;
    let tx = db.transaction().unwrap();
    {
        let mut st = tx
            .prepare("INSERT INTO events (session_id, seq, type, body) VALUES (?1, ?2, ?3, ?4)")
            .unwrap();
        let mut seq = last + 1;
        while seq <= target {
            let kind = if every > 0 && seq.is_multiple_of(every) {
                EventKind::ContextCompacted {
                    summary: format!(
                        "Summary of the work up to event {seq}: notes 1 to {seq} were read."
                    ),
                    through_seq: seq - 200,
                    tool_outputs_through: seq - 100,
                    user_messages: vec!["REMEMBER alpha".into()],
                    tokens_before: 26_000,
                    tokens_after: 6_000,
                    reason: CompactReason::Auto,
                    usage: None,
                }
            } else {
                // An exchange as a session writes it: the message, the turn, the answer.
                match seq % 4 {
                    0 => EventKind::UserMessage {
                        text: format!("note {seq}: the build of module {} passed", seq % 97),
                        delivery: Delivery::Queue,
                    },
                    1 => EventKind::TurnStarted,
                    2 => EventKind::AssistantMessage {
                        text: format!("Noted {seq}. {}", "Details follow. ".repeat(8)),
                        tool_calls: vec![],
                        usage: None,
                        partial: false,
                        finish_reason: Some("stop".into()),
                        provider_items: vec![],
                    },
                    _ => EventKind::TurnCompleted,
                }
            };
            let ev = event(seq, kind);
            st.execute(rusqlite::params![
                id,
                seq as i64,
                ev.kind.type_name(),
                serde_json::to_string(&ev).unwrap()
            ])
            .unwrap();
            seq += 1;
        }
    }
    tx.execute(
        "UPDATE sessions SET last_seq = ?1 WHERE id = ?2",
        rusqlite::params![target as i64, id],
    )
    .unwrap();
    tx.commit().unwrap();
}

/// The first message after a restart to a session of `n` events.
async fn first_message(n: u64, every: u64) -> (u64, Duration, u64, u64) {
    let model = ModelServer::start().await;
    model.summarise_when(asks_for_summary);
    let mut env = TestEnv::with_model(
        &model,
        "[models.\"mock/test-model\"]\ncontext_window = 32768\n",
    );
    env.env.push(("TETHER_LOG".into(), "warn".into()));
    env.start_daemon().await;
    model.push(Reply::text("hello"));
    env.ok(&["new", "-d", "-n", "h", "hello"]).await;
    env.wait_settled("h").await;
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;
    fill(&env, "h", n, every);
    env.start_daemon().await;
    let pid = env.daemon_pid();
    let rss_before = rss_kib(pid);
    let seen = model.requests().len();
    model.push(Reply::text("ok"));
    let t0 = Instant::now();
    env.ok(&["send", "h", "what now?"]).await;
    let state = env.wait_settled("h").await;
    let elapsed = t0.elapsed();
    assert_eq!(state, "idle");
    let rss_after = rss_kib(pid);
    let reqs = model.requests();
    let last = reqs[seen..]
        .iter()
        .rev()
        .find(|r| !asks_for_summary(r))
        .unwrap();
    (count_tokens(&last.body), elapsed, rss_before, rss_after)
}

/// Tokens sent per turn over `turns` turns: each turn a short question and a 1 KiB
/// answer. Returns (tokens of each turn's request, summary requests).
async fn long_run(turns: usize, compaction: bool) -> (Vec<u64>, usize, Duration) {
    let model = ModelServer::start().await;
    model.summarise_when(asks_for_summary);
    let extra = if compaction {
        "[models.\"mock/test-model\"]\ncontext_window = 16384\n[context]\nkeep_recent_tokens = 4000\n"
    } else {
        "[context]\nauto = false\n"
    };
    let mut env = TestEnv::with_model(&model, extra);
    env.env.push(("TETHER_LOG".into(), "warn".into()));
    env.start_daemon().await;
    env.ok(&["new", "-n", "r"]).await;
    let answer = "All right. ".repeat(100);
    let t0 = Instant::now();
    for i in 0..turns {
        model.push(Reply::text(answer.clone()));
        env.ok(&["send", "r", &format!("REMEMBER note {i}: step {i} is done")])
            .await;
        env.wait_settled("r").await;
    }
    let elapsed = t0.elapsed();
    let reqs = model.requests();
    let sizes: Vec<u64> = reqs
        .iter()
        .filter(|r| !asks_for_summary(r))
        .map(|r| count_tokens(&r.body))
        .collect();
    let summaries = reqs.iter().filter(|r| asks_for_summary(r)).count();
    (sizes, summaries, elapsed)
}

/// `tether compact` on a session of `turns` long turns, `runs` times.
async fn compaction_time(turns: usize, runs: usize) -> Vec<Duration> {
    let mut out = Vec::new();
    for _ in 0..runs {
        let model = ModelServer::start().await;
        model.summarise_when(asks_for_summary);
        let mut env = TestEnv::with_model(
            &model,
            "[models.\"mock/test-model\"]\ncontext_window = 1000000\n",
        );
        env.env.push(("TETHER_LOG".into(), "warn".into()));
        env.start_daemon().await;
        env.ok(&["new", "-n", "c"]).await;
        for i in 0..turns {
            model.push(Reply::text("Done. ".repeat(200)));
            env.ok(&["send", "c", &format!("step {i}")]).await;
            env.wait_settled("c").await;
        }
        let t0 = Instant::now();
        let msg = env.ok(&["compact", "c"]).await;
        out.push(t0.elapsed());
        assert!(msg.contains("compacted"), "{msg}");
    }
    out.sort();
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("# tether context benchmarks\n");
    println!("binary: {}\n", tether_tests::tether_bin().display());
    println!("## First message after a restart (window 32768)\n");
    println!(
        "| session events | compactions in the log | request tokens | send to idle | daemon RSS before | after |"
    );
    println!("|---|---|---|---|---|---|");
    for n in [10_000u64, 100_000, 1_000_000] {
        for every in [1000u64, 0] {
            let (tokens, t, before, after) = first_message(n, every).await;
            println!(
                "| {n} | {} | {tokens} | {} | {} MiB | {} MiB |",
                if every > 0 {
                    format!("every {every}")
                } else {
                    "none".into()
                },
                ms(t),
                before / 1024,
                after / 1024
            );
        }
    }
    println!("\n## 500 turns: tokens sent per turn (question + 1 KiB answer each)\n");
    println!(
        "| compaction | summary requests | tokens, turn 1 | turn 250 | turn 500 | max | total | wall |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for compaction in [true, false] {
        let (sizes, summaries, wall) = long_run(500, compaction).await;
        let total: u64 = sizes.iter().sum();
        println!(
            "| {} | {summaries} | {} | {} | {} | {} | {total} | {:.1} s |",
            if compaction {
                "on (window 16384)"
            } else {
                "off"
            },
            sizes[0],
            sizes[sizes.len() / 2],
            sizes[sizes.len() - 1],
            sizes.iter().max().unwrap(),
            wall.as_secs_f64()
        );
    }
    println!(
        "\n## `tether compact` wall time (200 turns of 1.2 KiB answers, scripted summary), 5 runs\n"
    );
    let times = compaction_time(200, 5).await;
    println!(
        "p50 {}, min {}, max {}",
        ms(times[2]),
        ms(times[0]),
        ms(times[4])
    );
}
