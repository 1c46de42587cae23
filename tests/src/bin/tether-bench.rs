//! Benchmarks of the real daemon, run by hand (not in CI):
//!
//! ```sh
//! cargo run --release -p tether-tests --bin tether-bench [-- --store postgres] [--only store]
//! ```
//!
//! Prints attach latency for sessions of 10,000 and 100,000 events, event
//! throughput to one and to ten attached clients, the store's cost per agent
//! step, daemon memory with 1,000 idle sessions, and restore time with 1,000+
//! sessions after a restart. `--store postgres` runs the daemons on a private
//! PostgreSQL server (fsync on; `tether_tests::postgres`) instead of SQLite;
//! `--only store` runs just the throughput and per-step parts.
// A measuring tool: it fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tether_tests::measure::{grow, last_seq, ms, percentile, rss_kib};
use tether_tests::raw::Raw;
use tether_tests::{ModelServer, Reply, TestEnv};

async fn attach_latency(env: &TestEnv, session: &str, page: u32) -> (Duration, Duration) {
    let mut samples = Vec::new();
    for _ in 0..30 {
        let t0 = Instant::now();
        let mut raw = Raw::hello(&env.socket).await;
        let v = raw
            .request(
                1,
                "session.attach",
                json!({"session": session, "page_size": page}),
            )
            .await;
        samples.push(t0.elapsed());
        assert!(v["result"]["events"].is_array(), "{v}");
    }
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.95))
}

/// Events per second delivered to every one of `clients` attached clients.
async fn throughput(
    env: &TestEnv,
    model: &ModelServer,
    session: &str,
    clients: usize,
) -> (u64, Duration) {
    let mut raws = Vec::new();
    for _ in 0..clients {
        let mut r = Raw::hello(&env.socket).await;
        r.request(
            1,
            "session.attach",
            json!({"session": session, "page_size": 0}),
        )
        .await;
        raws.push(r);
    }
    let mut probe = Raw::hello(&env.socket).await;
    let start_seq = last_seq(&mut probe, session).await;
    let calls: Vec<(String, String, Value)> = (0..2000)
        .map(|i| {
            (
                format!("tp{clients}c{i}"),
                "list_dir".to_string(),
                json!({}),
            )
        })
        .collect();
    model.push(Reply::tool_calls(calls));
    model.push(Reply::text("done"));
    let t0 = Instant::now();
    env.ok(&["send", session, "burst"]).await;
    let mut tasks = Vec::new();
    for mut r in raws {
        tasks.push(tokio::spawn(async move {
            let mut last = 0;
            loop {
                let m = r.read().await.unwrap();
                let p = &m["params"];
                if p["kind"] == "event" {
                    last = p["event"]["seq"].as_u64().unwrap();
                    if p["event"]["type"] == "turn_completed" {
                        return last;
                    }
                }
                let _ = last;
            }
        }));
    }
    let mut end_seq = 0;
    for t in tasks {
        end_seq = t.await.unwrap();
    }
    let elapsed = t0.elapsed();
    env.wait_settled(session).await;
    (end_seq - start_seq, elapsed)
}

/// The time per agent step of a turn of `steps` steps, each one model call
/// with one tool call (`list_dir`): what the store adds to a step is in it
/// (each step stores its call, its result and the model's next reply).
async fn per_step(env: &TestEnv, model: &ModelServer, session: &str, steps: usize) -> Duration {
    for i in 0..steps {
        model.push(Reply::tool_call(format!("st{i}"), "list_dir", json!({})));
    }
    model.push(Reply::text("done"));
    let t0 = Instant::now();
    env.ok(&["send", session, "steps"]).await;
    env.wait_settled(session).await;
    t0.elapsed() / steps as u32
}

/// A fresh test environment on the store `--store` names.
fn env_on(store: &Option<tether_tests::postgres::PgServer>, model: &ModelServer) -> TestEnv {
    let mut env = TestEnv::with_model(model, "");
    if let Some(pg) = store {
        let db = tether_tests::postgres::unique("bench_");
        pg.psql("postgres", &format!("CREATE DATABASE {db}"))
            .unwrap();
        env = env.use_store(&pg.url(&db));
    }
    env.env.push((
        "TETHER_LOG".into(),
        "warn,tether_daemon::daemon=info".into(),
    ));
    env
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let store = match flag("--store").as_deref() {
        None | Some("sqlite") => None,
        Some("postgres") => Some(tether_tests::postgres::PgServer::start_with(true).unwrap()),
        Some(other) => panic!("--store {other}: sqlite or postgres"),
    };
    let only_store = flag("--only").as_deref() == Some("store");
    let model = ModelServer::start().await;
    let mut env = env_on(&store, &model);
    env.start_daemon().await;
    let pid = env.daemon_pid();
    println!("# tether benchmarks\n");
    println!("binary: {}", tether_tests::tether_bin().display());
    let on = if store.is_some() {
        "postgres (fsync on)"
    } else {
        "sqlite"
    };
    println!("store: {on}");
    if only_store {
        store_parts(&env, &model).await;
        return;
    }

    let mut raw = Raw::hello(&env.socket).await;
    let mut rows = Vec::new();
    for (name, target) in [("s10k", 10_000u64), ("s100k", 100_000)] {
        env.ok(&["new", "-d", "-n", name]).await;
        let t0 = Instant::now();
        grow(&env, &model, &mut raw, name, target, "ok").await;
        let n = last_seq(&mut raw, name).await;
        eprintln!(
            "built {name}: {n} events in {:.1}s",
            t0.elapsed().as_secs_f64()
        );
        let (p50, p95) = attach_latency(&env, name, 200).await;
        rows.push(format!(
            "| attach, page of 200 | {n} | {} | {} |",
            ms(p50),
            ms(p95)
        ));
        let (p50, p95) = attach_latency(&env, name, 10_000).await;
        rows.push(format!(
            "| attach, page of 10,000 | {n} | {} | {} |",
            ms(p50),
            ms(p95)
        ));
    }
    println!("\n## Attach latency (connect + hello + session.attach reply), 30 runs\n");
    println!("| what | session events | p50 | p95 |\n|---|---|---|---|");
    for r in &rows {
        println!("{r}");
    }

    store_parts(&env, &model).await;

    // Idle memory and restore time on a fresh daemon, so the figures are not
    // mixed with the big sessions above.
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;
    let _ = pid;
    let mut idle = env_on(&store, &model);
    idle.start_daemon().await;
    let pid = idle.daemon_pid();
    let mut raw = Raw::hello(&idle.socket).await;
    let before = rss_kib(pid) as f64 / 1024.0;
    let t0 = Instant::now();
    for i in 0..1000 {
        let v = raw
            .request(
                2,
                "session.create",
                json!({"name": format!("idle{i}"), "cwd": idle.work_dir.display().to_string()}),
            )
            .await;
        assert!(v["result"]["id"].is_string(), "{v}");
    }
    let created = t0.elapsed();
    let after = rss_kib(pid) as f64 / 1024.0;
    println!("\n## Memory with 1,000 idle sessions (fresh daemon)\n");
    println!(
        "| daemon RSS, no sessions | with 1,000 idle sessions | per session | create time per session |\n|---|---|---|---|"
    );
    println!(
        "| {before:.1} MiB | {after:.1} MiB | {:.1} KiB | {} |",
        (after - before) * 1024.0 / 1000.0,
        ms(created / 1000)
    );
    idle.ok(&["daemon", "stop"]).await;
    idle.wait_daemon_exit().await;
    let t0 = Instant::now();
    idle.start_daemon().await;
    let ready = t0.elapsed();
    let log = std::fs::read_to_string(idle.state_dir.join("daemon.log")).unwrap();
    let restore_ms = log
        .lines()
        .rev()
        .find(|l| l.contains("daemon ready"))
        .and_then(|l| l.split("restore_ms=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or("?")
        .to_string();
    println!("\n## Restore after a restart\n");
    println!(
        "| sessions | restore (daemon log) | start until first reply | RSS after restore |\n|---|---|---|---|"
    );
    println!(
        "| 1000 | {restore_ms} ms | {} | {:.1} MiB |",
        ms(ready),
        rss_kib(idle.daemon_pid()) as f64 / 1024.0
    );
}

/// Event throughput and the cost per step: the parts that measure the store.
async fn store_parts(env: &TestEnv, model: &ModelServer) {
    println!(
        "\n## Event throughput (a turn of 2,000 tool calls; all clients received turn_completed)\n"
    );
    println!("| attached clients | events | time | events/s per client |\n|---|---|---|---|");
    env.ok(&["new", "-d", "-n", "tp"]).await;
    for clients in [1usize, 10] {
        let (events, elapsed) = throughput(env, model, "tp", clients).await;
        println!(
            "| {clients} | {events} | {} | {:.0} |",
            ms(elapsed),
            events as f64 / elapsed.as_secs_f64()
        );
    }
    println!("\n## Per step (a turn of 200 steps, one tool call each)\n");
    println!("| steps | time per step |\n|---|---|");
    env.ok(&["new", "-d", "-n", "steps"]).await;
    // A warm-up turn, then the measured one.
    per_step(env, model, "steps", 20).await;
    let step = per_step(env, model, "steps", 200).await;
    println!("| 200 | {} |", ms(step));
}
