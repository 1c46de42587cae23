//! Helpers the benchmark binaries and memory checks share: process memory,
//! percentiles, and growing a session through the real agent loop.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::TestEnv;
use crate::model::{ModelServer, Reply};
use crate::raw::Raw;

/// A process's resident memory in KiB, from `/proc/PID/status`.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The `p` percentile (0.0 to 1.0) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A duration as milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// A session's last stored seq.
pub async fn last_seq(raw: &mut Raw, session: &str) -> u64 {
    let v = raw
        .request(1, "session.get", json!({"session": session}))
        .await;
    v["result"]["last_seq"].as_u64().unwrap()
}

/// Grows a session to at least `target` events with turns of 500 cheap parallel
/// tool calls (about 1,000 events each), each turn ending with `answer`.
pub async fn grow(
    env: &TestEnv,
    model: &ModelServer,
    raw: &mut Raw,
    session: &str,
    target: u64,
    answer: &str,
) {
    let mut turn = 0;
    while last_seq(raw, session).await < target {
        turn += 1;
        let calls: Vec<(String, String, Value)> = (0..500)
            .map(|i| (format!("t{turn}c{i}"), "list_dir".to_string(), json!({})))
            .collect();
        model.push(Reply::tool_calls(calls));
        model.push(Reply::text(answer));
        env.ok(&["send", session, &format!("turn {turn}")]).await;
        env.wait_settled(session).await;
    }
}
