//! The prompt cache of `kind = "anthropic"` over a long tool-heavy session (issue 10),
//! run by hand (not in CI):
//!
//! ```sh
//! cargo run --release -p tether-tests --bin anthropic-cache-bench [TURNS]
//! ```
//!
//! Drives the real daemon against the scripted Messages API (`tether_tests::anthropic`,
//! whose cache follows the API's documented rules) for TURNS turns (default 200), each
//! a `read_file` of a 2 KiB file and then an answer, and prints, per block of turns,
//! the share of input tokens read from the cache and the tokens billed per turn as
//! Anthropic prices them relative to base input (cache reads 0.1x, cache writes 1.25x).
// A measuring tool: it fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use tether_tests::TestEnv;
use tether_tests::anthropic::{AnthropicReply, AnthropicServer};
use tether_tests::harness::TEST_API_KEY;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let turns: usize = std::env::args()
        .nth(1)
        .map_or(200, |a| a.parse().expect("TURNS is a number"));
    let server = AnthropicServer::start().await;
    server.require_key(TEST_API_KEY);
    let mut env = TestEnv::new();
    env.write_config(&format!(
        "default_model = \"claude/claude-sonnet-4-5\"\n[providers.claude]\nkind = \"anthropic\"\n\
         base_url = \"{}\"\napi_key_env = \"TETHER_TEST_KEY\"\n[approvals]\ndefault = \"allow\"\n",
        server.base_url()
    ));
    for i in 0..turns {
        let text: String = (0..32)
            .map(|l| format!("file {i} line {l}: {}\n", "x".repeat(48)))
            .collect();
        std::fs::write(env.work_dir.join(format!("f{i}.txt")), text).unwrap();
    }
    env.start_daemon().await;
    for i in 0..turns {
        server.push(AnthropicReply::tool_use(
            format!("toolu_{i}"),
            "read_file",
            json!({"path": format!("f{i}.txt")}),
        ));
        server.push(AnthropicReply::text(format!("File {i} read.")));
        let msg = format!("turn {i}: read f{i}.txt");
        if i == 0 {
            env.ok(&["new", "-d", "-n", "bench", &msg]).await;
        } else {
            env.ok(&["send", "bench", &msg]).await;
        }
        assert_eq!(env.wait_settled("bench").await, "idle", "turn {i}");
    }
    let served = server.served();
    let per_turn = served.len() / turns;
    let block = (turns / 10).max(1);
    println!("| turns | cache hit share | input tokens/turn | billed (input-equivalent)/turn |");
    println!("|---|---|---|---|");
    let (mut all_read, mut all_in, mut all_billed) = (0u64, 0u64, 0.0f64);
    for (b, chunk) in served.chunks(block * per_turn).enumerate() {
        let (mut read, mut total, mut billed) = (0u64, 0u64, 0.0f64);
        for s in chunk {
            let u = s.usage.expect("every request answered");
            read += u.read;
            total += u.read + u.write + u.input;
            billed += u.input as f64 + 0.1 * u.read as f64 + 1.25 * u.write as f64;
        }
        all_read += read;
        all_in += total;
        all_billed += billed;
        let n = (chunk.len() / per_turn).max(1) as f64;
        println!(
            "| {}–{} | {:.1}% | {:.0} | {:.0} |",
            b * block + 1,
            b * block + chunk.len() / per_turn,
            100.0 * read as f64 / total as f64,
            total as f64 / n,
            billed / n
        );
    }
    println!(
        "\n{turns} turns, {} requests: {:.1}% of {all_in} input tokens read from the cache; \
         billed {:.0} input-equivalent tokens ({:.1}% of uncached)",
        served.len(),
        100.0 * all_read as f64 / all_in as f64,
        all_billed,
        100.0 * all_billed / all_in as f64
    );
}
