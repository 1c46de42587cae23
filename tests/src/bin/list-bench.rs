//! Benchmark of session-list pushes (issue 13), run by hand (not in CI):
//!
//! ```sh
//! cargo build --release -p tether -p tether-tests
//! cargo run --release -p tether-tests --bin list-bench [SESSIONS] [TURNS]
//! ```
//!
//! With SESSIONS stored sessions (10,000 by default) it prints, side by side in
//! one run: the bytes one change to one session costs a list subscriber with
//! deltas (`sessions.subscribe {"deltas": true}`) and with whole lists, and the
//! time and daemon CPU of a busy session's turns with no list subscriber, 100
//! delta subscribers and 100 whole-list subscribers. Subscribers only count the
//! bytes they read, so the figures are the daemon's cost, not a client's.
// A measuring tool: it fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tether_tests::measure::rss_kib;
use tether_tests::raw::Raw;
use tether_tests::{ModelServer, Reply, TestEnv};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// A subscriber that reads and counts: bytes and lines after its subscribe reply.
struct Subscriber {
    bytes: Arc<AtomicU64>,
    pushes: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Subscriber {
    async fn start(socket: &std::path::Path, deltas: bool) -> Subscriber {
        let mut s = UnixStream::connect(socket).await.unwrap();
        let hello = json!({"jsonrpc": "2.0", "id": 0, "method": "hello", "params": {"protocol_version": 1}});
        let params = if deltas {
            json!({"deltas": true})
        } else {
            json!({})
        };
        let sub =
            json!({"jsonrpc": "2.0", "id": 1, "method": "sessions.subscribe", "params": params});
        let mut out = Vec::new();
        for m in [hello, sub] {
            out.extend(serde_json::to_vec(&m).unwrap());
            out.push(b'\n');
        }
        s.write_all(&out).await.unwrap();
        let bytes = Arc::new(AtomicU64::new(0));
        let pushes = Arc::new(AtomicU64::new(0));
        let (b, p) = (bytes.clone(), pushes.clone());
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 1 << 20];
            // The hello reply and the subscribe reply come first.
            let mut replies = 0;
            let mut ready = Some(ready_tx);
            loop {
                let n = match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let mut counted = &buf[..n];
                while replies < 2 {
                    match counted.iter().position(|c| *c == b'\n') {
                        Some(i) => {
                            replies += 1;
                            counted = &counted[i + 1..];
                        }
                        None => {
                            counted = &[];
                            break;
                        }
                    }
                }
                if replies == 2
                    && let Some(r) = ready.take()
                {
                    let _ = r.send(());
                }
                b.fetch_add(counted.len() as u64, Ordering::Relaxed);
                p.fetch_add(
                    counted.iter().filter(|c| **c == b'\n').count() as u64,
                    Ordering::Relaxed,
                );
            }
        });
        ready_rx.await.expect("the subscribe reply");
        Subscriber {
            bytes,
            pushes,
            task,
        }
    }

    fn counts(&self) -> (u64, u64) {
        (
            self.bytes.load(Ordering::Relaxed),
            self.pushes.load(Ordering::Relaxed),
        )
    }
}

/// The daemon's CPU time so far (user + system), from `/proc/PID/stat`.
fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces), from field 3 on.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// One change to one idle session (its token budget), `n` times: the bytes each
/// subscriber read per change, once its push arrived and 300 ms passed quiet.
async fn bytes_per_change(ctl: &mut Raw, subs: &[&Subscriber], n: u64) -> Vec<f64> {
    let before: Vec<u64> = subs.iter().map(|s| s.counts().0).collect();
    for i in 0..n {
        let pushes: Vec<u64> = subs.iter().map(|s| s.counts().1).collect();
        let r = ctl
            .request(
                10 + i,
                "session.budget",
                json!({"session": format!("s{i}"), "max_tokens": 1_000_000 + i}),
            )
            .await;
        assert!(r.get("result").is_some(), "{r}");
        let t0 = Instant::now();
        while subs.iter().zip(&pushes).any(|(s, p)| s.counts().1 == *p) {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "no push for a change"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    subs.iter()
        .zip(before)
        .map(|(s, b)| (s.counts().0 - b) as f64 / n as f64)
        .collect()
}

/// `turns` turns of the busy session (20 tool calls and an answer each): the
/// median wall time of a turn and the daemon's mean CPU per turn.
async fn busy_turns(
    model: &ModelServer,
    ctl: &mut Raw,
    pid: u32,
    turns: u64,
) -> (Duration, Duration) {
    let cpu0 = cpu(pid);
    let mut walls = Vec::new();
    for t in 0..turns {
        let t0 = Instant::now();
        let calls: Vec<(String, String, Value)> = (0..20)
            .map(|i| (format!("b{t}c{i}"), "list_dir".to_string(), json!({})))
            .collect();
        model.push(Reply::tool_calls(calls));
        model.push(Reply::text("ok"));
        let r = ctl
            .request(
                1,
                "session.send",
                json!({"session": "busy", "text": format!("turn {t}")}),
            )
            .await;
        assert!(r.get("result").is_some(), "{r}");
        let r = ctl
            .request(
                2,
                "session.wait",
                json!({"session": "busy", "timeout_s": 120}),
            )
            .await;
        assert_eq!(r["result"]["state"], "idle", "{r}");
        walls.push(t0.elapsed());
    }
    // The median: the machine is shared, and a turn that another process
    // delayed says nothing of the subscribers.
    walls.sort();
    let wall = walls[walls.len() / 2];
    let cpu = (cpu(pid) - cpu0) / turns as u32;
    (wall, cpu)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let sessions: usize = args.next().map_or(10_000, |a| a.parse().unwrap());
    let turns: u64 = args.next().map_or(20, |a| a.parse().unwrap());
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    env.env.push(("TETHER_LOG".into(), "warn".into()));
    env.start_daemon().await;
    let pid = env.daemon_pid();
    println!("# list-push benchmark\n");
    println!("binary: {}", tether_tests::tether_bin().display());
    let mut ctl = Raw::hello(&env.socket).await;
    let cwd = env.work_dir.display().to_string();
    let t0 = Instant::now();
    for i in 0..sessions {
        let v = ctl
            .request(
                3,
                "session.create",
                json!({"name": format!("s{i}"), "cwd": cwd}),
            )
            .await;
        assert!(v["result"]["id"].is_string(), "{v}");
    }
    let v = ctl
        .request(3, "session.create", json!({"name": "busy", "cwd": cwd}))
        .await;
    assert!(v["result"]["id"].is_string(), "{v}");
    eprintln!(
        "created {} sessions in {:.1}s",
        sessions + 1,
        t0.elapsed().as_secs_f64()
    );

    let delta = Subscriber::start(&env.socket, true).await;
    let whole = Subscriber::start(&env.socket, false).await;
    let per = bytes_per_change(&mut ctl, &[&delta, &whole], 10).await;
    delta.task.abort();
    whole.task.abort();
    println!(
        "\n## Bytes per change per subscriber ({} sessions, one session's budget changed, mean of 10)\n",
        sessions + 1
    );
    println!("| subscriber | bytes per change |\n|---|---|");
    println!("| deltas (`sessions.changed`) | {:.0} |", per[0]);
    println!("| whole lists (`sessions.updated`) | {:.0} |", per[1]);

    // Warm up the busy session (first model call, tool set).
    busy_turns(&model, &mut ctl, pid, 2).await;
    let mut rows = Vec::new();
    for (what, n, deltas) in [
        ("none", 0usize, true),
        ("100 with deltas", 100, true),
        ("none", 0, true),
        ("100 with deltas", 100, true),
        ("100 with whole lists", 100, false),
        ("none", 0, true),
        ("100 with deltas", 100, true),
    ] {
        let mut subs = Vec::new();
        for _ in 0..n {
            subs.push(Subscriber::start(&env.socket, deltas).await);
        }
        let before: u64 = subs.iter().map(|s| s.counts().0).sum();
        let (wall, cpu) = busy_turns(&model, &mut ctl, pid, turns).await;
        let read: u64 = subs.iter().map(|s| s.counts().0).sum::<u64>() - before;
        eprintln!("{what}: {wall:?} per turn");
        rows.push(format!(
            "| {what} | {:.1} ms | {:.1} ms | {:.1} MB | {:.0} MiB |",
            wall.as_secs_f64() * 1000.0,
            cpu.as_secs_f64() * 1000.0,
            read as f64 / 1e6,
            rss_kib(pid) as f64 / 1024.0
        ));
        for s in subs {
            s.task.abort();
        }
        // Let the daemon see the connections go.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "\n## A busy session's turns with list subscribers ({} sessions; {turns} turns of 20 tool calls each)\n",
        sessions + 1
    );
    println!(
        "| list subscribers | wall time per turn (median) | daemon CPU per turn (mean) | pushed to all subscribers | daemon RSS after |\n|---|---|---|---|---|"
    );
    for r in &rows {
        println!("{r}");
    }
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;
}
