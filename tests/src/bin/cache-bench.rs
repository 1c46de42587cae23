//! The prompt cache over a long tool-heavy session, per API tether speaks (issue 10),
//! run by hand (not in CI):
//!
//! ```sh
//! cargo run --release -p tether-tests --bin cache-bench -- --api anthropic|chat|responses [TURNS]
//! ```
//!
//! Drives the real daemon for TURNS turns (default 200), each a `read_file` of a fresh
//! 2 KiB file and then an answer, against the scripted server of the API, whose prompt
//! cache follows that API's documented rules: the Messages API (`kind = "anthropic"`,
//! `tether_tests::anthropic`, model `claude-sonnet-4-5`), chat completions
//! (`kind = "openai"`, `tether_tests::model` with `simulate_cache`, model `gpt-4.1`) or
//! Responses (`kind = "openai-responses"`, `tether_tests::responses` with
//! `simulate_cache`, model `gpt-5`); the OpenAI providers send `prompt_cache_key`, as
//! they do to api.openai.com. It prints, per block of turns, the share of input tokens
//! read from the cache, the input tokens per turn and the tokens billed per turn relative
//! to base input: Anthropic bills cache reads 0.1x and cache writes 1.25x; OpenAI bills
//! cached input 0.25x for gpt-4.1 and 0.1x for gpt-5 (their price lists, as the daemon's
//! built-in prices have them), with no surcharge for writing the cache.
// A measuring tool: it fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use tether_tests::anthropic::{AnthropicReply, AnthropicServer};
use tether_tests::harness::TEST_API_KEY;
use tether_tests::responses::{ResponsesReply, ResponsesServer};
use tether_tests::{ModelServer, Reply, TestEnv};

/// One request's input as its API reports it, in tokens.
#[derive(Debug, Clone, Copy)]
struct Input {
    /// Read from the cache.
    read: u64,
    /// Written to the cache (Anthropic only: OpenAI fills its cache for free).
    write: u64,
    /// Neither.
    plain: u64,
}

/// The scripted server of one API.
enum Server {
    Anthropic(AnthropicServer),
    Chat(ModelServer),
    Responses(ResponsesServer),
}

impl Server {
    async fn start(api: &str) -> Self {
        match api {
            "anthropic" => {
                let s = AnthropicServer::start().await;
                s.require_key(TEST_API_KEY);
                Server::Anthropic(s)
            }
            "chat" => {
                let s = ModelServer::start().await;
                s.simulate_cache();
                Server::Chat(s)
            }
            "responses" => {
                let s = ResponsesServer::start().await;
                s.simulate_cache();
                Server::Responses(s)
            }
            other => panic!("--api is anthropic, chat or responses, not {other:?}"),
        }
    }

    /// The provider section of the config, and what a cached input token is billed at.
    fn provider(&self) -> (String, f64) {
        let (kind, model, url, extra, rate) = match self {
            Server::Anthropic(s) => ("anthropic", "claude-sonnet-4-5", s.base_url(), "", 0.1),
            Server::Chat(s) => (
                "openai",
                "gpt-4.1",
                s.base_url(),
                "prompt_cache_key = true\n",
                0.25,
            ),
            Server::Responses(s) => (
                "openai-responses",
                "gpt-5",
                s.base_url(),
                "prompt_cache_key = true\n",
                0.1,
            ),
        };
        let config = format!(
            "default_model = \"p/{model}\"\n[providers.p]\nkind = \"{kind}\"\n\
             base_url = \"{url}\"\napi_key_env = \"TETHER_TEST_KEY\"\n{extra}\
             [approvals]\ndefault = \"allow\"\n"
        );
        (config, rate)
    }

    /// Queues turn `i`'s two answers: a `read_file` of `f{i}.txt`, then a short text.
    fn push_turn(&self, i: usize) {
        let path = format!("f{i}.txt");
        let answer = format!("File {i} read.");
        match self {
            Server::Anthropic(s) => {
                s.push(AnthropicReply::tool_use(
                    format!("toolu_{i}"),
                    "read_file",
                    json!({"path": path}),
                ));
                s.push(AnthropicReply::text(answer));
            }
            Server::Chat(s) => {
                s.push(Reply::tool_call(
                    format!("call_{i}"),
                    "read_file",
                    json!({"path": path}),
                ));
                s.push(Reply::text(answer));
            }
            Server::Responses(s) => {
                let args = json!({"path": path}).to_string();
                s.push(ResponsesReply::call(
                    &format!("call_{i}"),
                    "read_file",
                    &args,
                ));
                s.push(ResponsesReply::text(&answer));
            }
        }
    }

    /// Every request's input, in arrival order.
    fn inputs(&self) -> Vec<Input> {
        let openai = |c: tether_tests::model::CachedPrompt| Input {
            read: c.cached,
            write: 0,
            plain: c.prompt - c.cached,
        };
        match self {
            Server::Anthropic(s) => s
                .served()
                .into_iter()
                .map(|s| {
                    let u = s.usage.expect("every request answered");
                    Input {
                        read: u.read,
                        write: u.write,
                        plain: u.input,
                    }
                })
                .collect(),
            Server::Chat(s) => s.cache_usage().into_iter().map(openai).collect(),
            Server::Responses(s) => s.cache_usage().into_iter().map(openai).collect(),
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut api, mut turns) = ("anthropic".to_string(), 200usize);
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--api" => api = rest.next().expect("--api takes a value").clone(),
            n => turns = n.parse().expect("TURNS is a number"),
        }
    }
    let server = Server::start(&api).await;
    let (config, cached_rate) = server.provider();
    let mut env = TestEnv::new();
    env.write_config(&config);
    for i in 0..turns {
        let text: String = (0..32)
            .map(|l| format!("file {i} line {l}: {}\n", "x".repeat(48)))
            .collect();
        std::fs::write(env.work_dir.join(format!("f{i}.txt")), text).unwrap();
    }
    env.start_daemon().await;
    for i in 0..turns {
        server.push_turn(i);
        let msg = format!("turn {i}: read f{i}.txt");
        if i == 0 {
            env.ok(&["new", "-d", "-n", "bench", &msg]).await;
        } else {
            env.ok(&["send", "bench", &msg]).await;
        }
        assert_eq!(env.wait_settled("bench").await, "idle", "turn {i}");
    }
    let inputs = server.inputs();
    let per_turn = inputs.len() / turns;
    let block = (turns / 10).max(1);
    let billed = |u: &Input| u.plain as f64 + cached_rate * u.read as f64 + 1.25 * u.write as f64;
    println!("--api {api}, cached input billed {cached_rate}x");
    println!();
    println!("| turns | cache hit share | input tokens/turn | billed (input-equivalent)/turn |");
    println!("|---|---|---|---|");
    for (b, chunk) in inputs.chunks(block * per_turn).enumerate() {
        let read: u64 = chunk.iter().map(|u| u.read).sum();
        let total: u64 = chunk.iter().map(|u| u.read + u.write + u.plain).sum();
        let paid: f64 = chunk.iter().map(billed).sum();
        let n = (chunk.len() / per_turn).max(1) as f64;
        println!(
            "| {}–{} | {:.1}% | {:.0} | {:.0} |",
            b * block + 1,
            b * block + chunk.len() / per_turn,
            100.0 * read as f64 / total as f64,
            total as f64 / n,
            paid / n
        );
    }
    let read: u64 = inputs.iter().map(|u| u.read).sum();
    let total: u64 = inputs.iter().map(|u| u.read + u.write + u.plain).sum();
    let paid: f64 = inputs.iter().map(billed).sum();
    println!(
        "\n{turns} turns, {} requests: {:.1}% of {total} input tokens read from the cache; \
         billed {paid:.0} input-equivalent tokens ({:.1}% of uncached)",
        inputs.len(),
        100.0 * read as f64 / total as f64,
        100.0 * paid / total as f64
    );
}
