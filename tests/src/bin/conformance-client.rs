//! tether as the client of the MCP conformance suite's scenarios
//! (`@modelcontextprotocol/conformance client --command ...`): the suite starts
//! a server and runs this with its URL as the last argument, then checks what
//! the server saw. This starts a real daemon on temp dirs with a scripted model,
//! points `tools.toml` at the URL, logs in through the real `tether mcp login`
//! (with `BROWSER` a script that fetches the authorization URL and follows the
//! redirect to the CLI's loopback port, as the suite's authorization server
//! approves at once), waits until the server's tools are offered, and has a
//! session call its first tool; a call refused for scope (step-up) logs in
//! again, as a person would when `tether tools` says `needs login`. The
//! machine-to-machine scenarios (client credentials, cross-app access) are
//! configured with their `grant` and need no login.
//!
//! Exit 0 when the tool call succeeded, 1 otherwise (with why on stderr).
// A test driver: it fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use serde_json::Value;
use tether_tests::{ModelServer, Reply, TestEnv};

const SERVER: &str = "conf";
/// The client ID metadata document URL the suite's `auth/basic-cimd` expects.
const CIMD_URL: &str = "https://conformance-test.local/client-metadata.json";
/// Logins the driver runs at most (the daemon's own step-up limit is lower).
const MAX_LOGINS: usize = 6;

async fn server_info(env: &TestEnv) -> Value {
    let out = env.run(&["tools", "--json"]).await;
    let list: Vec<Value> = serde_json::from_str(&out.stdout).unwrap_or_default();
    list.into_iter()
        .find(|s| s["name"] == SERVER)
        .unwrap_or(Value::Null)
}

/// Waits until the server is running or needs a login or failed (not starting).
async fn settled(env: &TestEnv) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = server_info(env).await;
        let status = s["status"].as_str().unwrap_or("");
        if matches!(status, "running" | "needs_login" | "failed") {
            return s;
        }
        if Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

#[tokio::main]
async fn main() {
    let code = run().await;
    std::process::exit(code);
}

/// Runs the scenario; the daemon is stopped (the env dropped) before the exit.
async fn run() -> i32 {
    let url = std::env::args().next_back().expect("the server URL");
    let context: Value = std::env::var("MCP_CONFORMANCE_CONTEXT")
        .ok()
        .and_then(|c| serde_json::from_str(&c).ok())
        .unwrap_or(Value::Null);
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let browser = env.root.path().join("browser.sh");
    std::fs::write(
        &browser,
        "#!/bin/sh\nexec curl -sS -L --max-time 10 -o /dev/null \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.env
        .push(("BROWSER".into(), browser.display().to_string()));
    let mut oauth = format!("client_metadata_url = {}\n", toml_str(CIMD_URL));
    if let Some(id) = context["client_id"].as_str() {
        oauth.push_str(&format!("client_id = {}\n", toml_str(id)));
    }
    if let Some(secret) = context["client_secret"].as_str() {
        oauth.push_str(&format!("client_secret = {}\n", toml_str(secret)));
    }
    // The machine-to-machine scenarios: a client configured for the client
    // credentials grant (no login), as a user would configure one.
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    if scenario.starts_with("auth/client-credentials") {
        oauth.push_str("grant = \"client_credentials\"\n");
    }
    // Enterprise-managed authorization: the suite's identity provider issued
    // the user's ID token; the daemon exchanges it for an ID-JAG there and
    // presents that to the authorization server (no login).
    if scenario.starts_with("auth/cross-app-access") {
        let token = env.root.path().join("id-token");
        std::fs::write(&token, context["idp_id_token"].as_str().unwrap_or("")).unwrap();
        oauth.push_str(&format!(
            "grant = \"cross_app_access\"\nidp_token_url = {}\nidp_client_id = {}\nid_token_file = {}\n",
            toml_str(context["idp_token_endpoint"].as_str().unwrap_or("")),
            toml_str(context["idp_client_id"].as_str().unwrap_or("")),
            toml_str(&token.display().to_string())
        ));
    }
    if let Some(pem) = context["private_key_pem"].as_str() {
        let key = env.root.path().join("client-key.pem");
        std::fs::write(&key, pem).unwrap();
        oauth.push_str(&format!(
            "private_key_file = {}\n",
            toml_str(&key.display().to_string())
        ));
    }
    std::fs::write(
        env.config_dir.join("tools.toml"),
        format!(
            "[servers.{SERVER}]\nurl = {}\ntimeout_s = 10\n\n[servers.{SERVER}.oauth]\n{oauth}",
            toml_str(&url)
        ),
    )
    .unwrap();
    env.start_daemon().await;

    let mut logins = 0;
    let mut turns = 0;
    let mut last = settled(&env).await;
    loop {
        match last["status"].as_str().unwrap_or("") {
            "needs_login" if logins < MAX_LOGINS => {
                logins += 1;
                eprintln!("needs login: {}", last["login"]);
                let out = env.run(&["mcp", "login", SERVER, "--timeout", "15"]).await;
                eprintln!(
                    "tether mcp login: exit {}\n{}{}",
                    out.code, out.stdout, out.stderr
                );
                if out.code != 0 {
                    return fail(&env, "tether mcp login failed").await;
                }
                // `mcp login` returns once the server reconnected with the token.
                last = settled(&env).await;
            }
            "running" => {
                let Some(tool) = last["tools"][0].as_str().map(String::from) else {
                    // Connected and listed (the `initialize` scenario has no tools).
                    eprintln!("the server offers no tool: nothing to call");
                    return 0;
                };
                turns += 1;
                model.push(Reply::tool_call(
                    format!("c{turns}"),
                    tool.clone(),
                    serde_json::json!({}),
                ));
                model.push(Reply::text("done"));
                let args = if turns == 1 {
                    vec!["new", "-d", "-n", "conf", "call the tool"]
                } else {
                    vec!["send", "conf", "call the tool again"]
                };
                let out = env.run(&args).await;
                assert_eq!(out.code, 0, "{}", out.stderr);
                let waited = env.run(&["wait", "conf", "--timeout", "20"]).await;
                assert_eq!(waited.code, 0, "{}", waited.stderr);
                let results = env.events_of("conf", "tool_result").await;
                let result = results.last().cloned().unwrap_or(Value::Null);
                eprintln!("tool result: {result}");
                if result["is_error"] == false {
                    return 0;
                }
                if turns >= MAX_LOGINS {
                    return fail(&env, "the tool call kept failing").await;
                }
                last = settled(&env).await;
                if last["status"] == "running" {
                    return fail(&env, "the tool call failed").await;
                }
            }
            _ => return fail(&env, &format!("the server is not usable: {last}")).await,
        }
    }
}

async fn fail(env: &TestEnv, why: &str) -> i32 {
    eprintln!("conformance-client: {why}");
    eprintln!("tether tools: {}", server_info(env).await);
    let log = std::fs::read_dir(env.root.path())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect::<Vec<_>>()
        .join("\n");
    let relevant: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("mcp") || l.contains("server") || l.contains("auth"))
        .collect();
    let tail = relevant.len().saturating_sub(40);
    eprintln!("daemon log (tail):\n{}", relevant[tail..].join("\n"));
    1
}
