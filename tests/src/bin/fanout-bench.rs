//! Fan-out benchmark (issue 13), run by hand (not in CI):
//!
//! ```sh
//! cargo run --release -p tether-tests --bin fanout-bench
//! # the same against another build of the daemon (e.g. main's, for "before"):
//! TETHER_BENCH_BIN=/path/to/tether cargo run --release -p tether-tests --bin fanout-bench
//! ```
//!
//! Events per second delivered to 0, 1, 10 and 100 clients attached to one busy
//! session, for two kinds of turn, each on a fresh session:
//!
//! - **stream**: the scripted model streams one very long answer of tiny chunks,
//!   written in one socket write, so each chunk is one `assistant_delta` live
//!   message and the model's speed is out of the picture;
//! - **tools**: one model reply with 2,000 parallel `list_dir` calls, about
//!   4,000 stored events (each committed before it is published).
//!
//! With 0 clients the run times the turn alone (`session.wait` until idle): the
//! most any client could be fed. Clients read with a light line reader (a
//! substring scan, no JSON parse) so the bench measures the daemon, and check
//! as they go that events arrive in order with no gap or duplicate.
// A measuring tool: it fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tether_tests::measure::ms;
use tether_tests::raw::Raw;
use tether_tests::{ModelServer, Reply, TestEnv};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// Deltas in the streamed answer.
const WORDS: usize = 100_000;
/// Parallel tool calls in the tool-heavy turn.
const CALLS: usize = 2_000;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Stream,
    Tools,
}

/// What one client received until the end of the turn.
#[derive(Default)]
struct Seen {
    deltas: u64,
    resets: u64,
    events: u64,
    lines: u64,
    bytes: u64,
    /// When the first delta arrived, and the turn's last event.
    first_delta: Option<Instant>,
    end: Option<Instant>,
}

impl Seen {
    /// Deltas per second from this client's first delta to the end: the rate
    /// of delivery once the stream flows, without the model server's time to
    /// render the reply (it renders all of it before its one write).
    fn flow_rate(&self) -> f64 {
        match (self.first_delta, self.end) {
            (Some(a), Some(b)) if b > a => self.deltas as f64 / (b - a).as_secs_f64(),
            _ => 0.0,
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn number_after(line: &[u8], key: &[u8]) -> Option<u64> {
    let at = find(line, key)? + key.len();
    let digits: Vec<u8> = line[at..]
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// An attached client: connects, says hello, attaches with no history.
async fn attach(env: &TestEnv, session: &str) -> BufReader<UnixStream> {
    let s = UnixStream::connect(&env.socket).await.unwrap();
    let mut r = BufReader::with_capacity(256 * 1024, s);
    let hello =
        json!({"jsonrpc": "2.0", "id": 0, "method": "hello", "params": {"protocol_version": 1}});
    let attach = json!({"jsonrpc": "2.0", "id": 1, "method": "session.attach",
        "params": {"session": session, "page_size": 0}});
    let mut out = format!("{hello}\n{attach}\n").into_bytes();
    r.get_mut().write_all(&out).await.unwrap();
    for id in [0, 1] {
        out.clear();
        r.read_until(b'\n', &mut out).await.unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["id"], id, "{v}");
        assert!(v.get("result").is_some(), "{v}");
    }
    r
}

/// Reads until the turn's last event, checking the seqs.
async fn read_turn(mut r: BufReader<UnixStream>, end: &'static [u8]) -> (Seen, Instant) {
    let mut seen = Seen::default();
    let mut line = Vec::with_capacity(1024);
    let mut last = 0u64;
    loop {
        line.clear();
        let n = tokio::time::timeout(Duration::from_secs(120), r.read_until(b'\n', &mut line))
            .await
            .expect("a line within 120 s")
            .unwrap();
        assert!(n > 0, "the daemon closed the connection");
        seen.lines += 1;
        seen.bytes += n as u64;
        let Some(k) = find(&line, b"\"kind\":\"") else {
            continue;
        };
        let kind = &line[k + 8..];
        if kind.starts_with(b"assistant_delta\"") {
            seen.deltas += 1;
            if seen.first_delta.is_none() {
                seen.first_delta = Some(Instant::now());
            }
        } else if kind.starts_with(b"assistant_reset\"") {
            seen.resets += 1;
        } else if kind.starts_with(b"event\"") {
            let seq = number_after(&line, b"\"seq\":").unwrap();
            assert!(last == 0 || seq == last + 1, "seq {seq} after {last}");
            last = seq;
            seen.events += 1;
            if find(&line, end).is_some() {
                let now = Instant::now();
                seen.end = Some(now);
                return (seen, now);
            }
        }
    }
}

/// The daemon's CPU time so far (user + system), from `/proc/PID/stat`.
fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted from the state field (3).
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

struct Run {
    produced: u64,
    elapsed: Duration,
    seen: Vec<Seen>,
    cpu: Duration,
}

async fn run(env: &TestEnv, model: &ModelServer, kind: Kind, clients: usize, n: usize) -> Run {
    let mut raw = Raw::hello(&env.socket).await;
    let name = format!(
        "{}{clients}x{n}",
        if kind == Kind::Stream { "s" } else { "t" }
    );
    let v = raw
        .request(
            1,
            "session.create",
            json!({"name": name, "cwd": env.work_dir.display().to_string()}),
        )
        .await;
    assert!(v["result"]["id"].is_string(), "{v}");
    let mut readers = Vec::new();
    for _ in 0..clients {
        readers.push(attach(env, &name).await);
    }
    let produced = match kind {
        Kind::Stream => {
            model.push(Reply::text(" w".repeat(WORDS)).in_one_write());
            WORDS as u64
        }
        Kind::Tools => {
            let calls: Vec<(String, String, Value)> = (0..CALLS)
                .map(|i| (format!("c{i}"), "list_dir".to_string(), json!({})))
                .collect();
            model.push(Reply::tool_calls(calls).in_one_write());
            model.push(Reply::text("done").in_one_write());
            0
        }
    };
    let end: &'static [u8] = match kind {
        Kind::Stream => b"\"type\":\"assistant_message\"",
        Kind::Tools => b"\"type\":\"turn_completed\"",
    };
    let pid = env.daemon_pid();
    let cpu0 = cpu(pid);
    let t0 = Instant::now();
    let tasks: Vec<_> = readers
        .into_iter()
        .map(|r| tokio::spawn(read_turn(r, end)))
        .collect();
    let v = raw
        .request(2, "session.send", json!({"session": name, "text": "go"}))
        .await;
    assert!(v["result"]["input_id"].is_number(), "{v}");
    let mut seen = Vec::new();
    let mut done = t0;
    for t in tasks {
        let (s, at) = t.await.unwrap();
        done = done.max(at);
        seen.push(s);
    }
    let v = raw
        .request(
            3,
            "session.wait",
            json!({"session": name, "timeout_s": 120}),
        )
        .await;
    assert_eq!(v["result"]["state"], "idle", "{v}");
    if clients == 0 {
        done = Instant::now();
    }
    let cpu = cpu(pid) - cpu0;
    let produced = if kind == Kind::Tools {
        let v = raw
            .request(4, "session.get", json!({"session": name}))
            .await;
        // The user message, turn start and state come before the clients' first line.
        v["result"]["last_seq"].as_u64().unwrap()
    } else {
        produced
    };
    Run {
        produced,
        elapsed: done - t0,
        seen,
        cpu,
    }
}

fn row(clients: usize, r: &Run, kind: Kind) {
    let secs = r.elapsed.as_secs_f64();
    if clients == 0 {
        println!(
            "| 0 (turn alone) | {} | {} | {:.0} | | | | {} |",
            r.produced,
            ms(r.elapsed),
            r.produced as f64 / secs,
            ms(r.cpu)
        );
        return;
    }
    let got: u64 = r
        .seen
        .iter()
        .map(|s| {
            if kind == Kind::Stream {
                s.deltas
            } else {
                s.events
            }
        })
        .sum();
    let resynced = r.seen.iter().filter(|s| s.resets > 0).count();
    let lines: u64 = r.seen.iter().map(|s| s.lines).sum();
    let bytes: u64 = r.seen.iter().map(|s| s.bytes).sum();
    let flow = if kind == Kind::Stream {
        // The slowest client's.
        let slowest = r.seen.iter().map(Seen::flow_rate).fold(f64::MAX, f64::min);
        format!("{slowest:.0}")
    } else {
        String::new()
    };
    println!(
        "| {clients} | {} | {} | {:.0} | {flow} | {:.0} | {resynced} | {} |",
        r.produced,
        ms(r.elapsed),
        got as f64 / clients as f64 / secs,
        got as f64 / secs,
        ms(r.cpu)
    );
    eprintln!(
        "  {clients} clients: {lines} lines, {:.1} MB, {:.0} lines/s in all",
        bytes as f64 / 1e6,
        lines as f64 / secs
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    env.env.push(("TETHER_LOG".into(), "warn".into()));
    env.start_daemon().await;
    println!("# fan-out benchmark\n");
    println!("binary: {}\n", tether_tests::tether_bin().display());
    let header = "| attached clients | events | time | events/s per client | per client from its first delta (slowest) | events/s, all clients | clients resynced | daemon CPU |\n|---|---|---|---|---|---|---|---|";
    println!("## Stream: one answer of {WORDS} tiny deltas\n");
    println!("{header}");
    for (i, clients) in [0usize, 1, 10, 100].into_iter().enumerate() {
        let r = run(&env, &model, Kind::Stream, clients, i).await;
        row(clients, &r, Kind::Stream);
    }
    println!("\n## Tools: one reply of {CALLS} parallel list_dir calls (stored events)\n");
    println!("{header}");
    for (i, clients) in [0usize, 1, 10, 100].into_iter().enumerate() {
        let r = run(&env, &model, Kind::Tools, clients, i).await;
        row(clients, &r, Kind::Tools);
    }
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;
}
