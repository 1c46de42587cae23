//! MCP tool servers from watched config files, applied live (issue 3).
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::harness::{bad_server, lines, mentions, npm_server, pretty, save_by_rename};
use tether_tests::{ModelServer, Reply, TestEnv};

const T: Duration = Duration::from_secs(30);

fn offered(req: &tether_tests::model::RecordedRequest) -> Vec<String> {
    req.tools()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn tools_json(env: &TestEnv) -> Vec<Value> {
    serde_json::from_str(&env.ok(&["tools", "--json"]).await).unwrap()
}

async fn server(env: &TestEnv, name: &str) -> Option<Value> {
    tools_json(env)
        .await
        .into_iter()
        .find(|s| s["name"] == name)
}

async fn wait_status(env: &TestEnv, name: &str, status: &str) -> Value {
    let what = format!("server {name} to be {status}");
    env.wait_until(&what, T, || async {
        server(env, name)
            .await
            .is_some_and(|s| s["status"] == status)
    })
    .await;
    server(env, name).await.unwrap()
}

/// A bad_server entry for tools.toml, counting its starts in `count`.
fn bad_entry(name: &str, count: &Path, extra_env: &str) -> String {
    format!(
        "[servers.{name}]\ncommand = \"python3\"\nargs = [\"{}\"]\nenv = {{ BAD_COUNT_FILE = \"{}\"{extra_env} }}\n",
        bad_server(),
        count.display()
    )
}

fn pid_alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

fn pids(count: &Path) -> Vec<i32> {
    lines(count)
        .iter()
        .filter_map(|l| l.strip_prefix("started "))
        .map(|p| p.trim().parse().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filesystem_server_from_tools_toml_serves_a_session() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let data = env.root.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("fact.txt"), "the capital of tether is Knotville").unwrap();
    let data = data.canonicalize().unwrap();
    std::fs::write(
        env.config_dir.join("tools.toml"),
        format!(
            "[servers.fs]\ncommand = \"{}\"\nargs = [\"{}\"]\n",
            npm_server("mcp-server-filesystem"),
            data.display()
        ),
    )
    .unwrap();
    env.start_daemon().await;
    let fs = wait_status(&env, "fs", "running").await;
    assert!(
        fs["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "fs__read_text_file"),
        "{fs}"
    );
    assert_eq!(
        fs["source"],
        env.config_dir.join("tools.toml").display().to_string()
    );

    let path = data.join("fact.txt").display().to_string();
    model.push(Reply::tool_call(
        "c1",
        "fs__read_text_file",
        json!({"path": path}),
    ));
    model.push(Reply::text("Knotville"));
    env.ok(&["new", "-d", "-n", "fs", "what is the capital?"])
        .await;
    assert_eq!(env.wait_settled("fs").await, "idle");
    let reqs = model.wait_for_requests(2, T).await;
    assert!(
        offered(&reqs[0]).contains(&"fs__read_text_file".to_string()),
        "{:?}",
        offered(&reqs[0])
    );
    let tool_msg = reqs[1]
        .messages()
        .into_iter()
        .find(|m| m["role"] == "tool")
        .unwrap();
    assert!(mentions(&tool_msg, "Knotville"), "{tool_msg}");
    let r = &env.events_of("fs", "tool_result").await[0];
    assert_eq!(r["is_error"], false, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_in_the_session_directory_mcp_json_works_too() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let memory_file = env.root.path().join("memory.json");
    std::fs::write(
        env.work_dir.join(".mcp.json"),
        json!({"mcpServers": {"mem": {"command": npm_server("mcp-server-memory"), "args": [],
            "env": {"MEMORY_FILE_PATH": memory_file.display().to_string()}}}})
        .to_string(),
    )
    .unwrap();
    env.start_daemon().await;
    env.ok(&["new", "-d", "-n", "proj"]).await;
    wait_status(&env, "mem", "running").await;
    model.push(Reply::tool_call(
        "c1",
        "mem__create_entities",
        json!({"entities": [{"name": "Biscuit", "entityType": "dog", "observations": ["likes socks"]}]}),
    ));
    model.push(Reply::tool_call("c2", "mem__read_graph", json!({})));
    model.push(Reply::text("Biscuit likes socks"));
    env.ok(&["send", "proj", "remember Biscuit"]).await;
    assert_eq!(env.wait_settled("proj").await, "idle");
    let reqs = model.wait_for_requests(3, T).await;
    assert!(offered(&reqs[0]).iter().any(|t| t == "mem__read_graph"));
    let last_tool = reqs[2]
        .messages()
        .into_iter()
        .rfind(|m| m["role"] == "tool")
        .unwrap();
    assert!(mentions(&last_tool, "likes socks"), "{last_tool}");
    // A session elsewhere does not see this directory's server.
    let other = env.root.path().join("elsewhere");
    std::fs::create_dir_all(&other).unwrap();
    env.ok(&[
        "new",
        "-d",
        "-n",
        "other",
        "-C",
        other.to_str().unwrap(),
        "hi",
    ])
    .await;
    env.wait_settled("other").await;
    let reqs = model.wait_for_requests(4, T).await;
    assert!(!offered(&reqs[3]).iter().any(|t| t.starts_with("mem__")));
    // tools.list for one session shows only what that session sees.
    let mut raw = tether_tests::raw::Raw::hello(&env.socket).await;
    let mine = raw
        .request(1, "tools.list", json!({"session": "proj"}))
        .await;
    assert!(mentions(&mine["result"], "mem__read_graph"), "{mine}");
    let theirs = raw
        .request(2, "tools.list", json!({"session": "other"}))
        .await;
    assert!(!mentions(&theirs["result"], "mem__"), "{theirs}");
    let bad = raw
        .request(3, "tools.list", json!({"session": "ghost"}))
        .await;
    assert_eq!(bad["error"]["code"], -32001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_and_removing_a_server_applies_live_and_leaves_others_running() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let keep_count = env.root.path().join("keep.count");
    let add_count = env.root.path().join("add.count");
    let tools_toml = env.config_dir.join("tools.toml");
    std::fs::write(
        &tools_toml,
        bad_entry("keep", &keep_count, ", BAD_TOOL_PREFIX = \"k_\""),
    )
    .unwrap();
    env.start_daemon().await;
    env.ok(&["new", "-d", "-n", "live", "hi"]).await;
    env.wait_settled("live").await;
    wait_status(&env, "keep", "running").await;
    assert_eq!(pids(&keep_count).len(), 1);

    let both = format!(
        "{}\n{}",
        bad_entry("keep", &keep_count, ", BAD_TOOL_PREFIX = \"k_\""),
        bad_entry("added", &add_count, "")
    );
    save_by_rename(&tools_toml, &both);
    let added = wait_status(&env, "added", "running").await;
    assert!(
        added["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "added__echo"),
        "{added}"
    );
    let change = env
        .wait_event("live", "tools_changed adding the server", |e| {
            e["type"] == "tools_changed" && mentions(&e["added"], "added__echo")
        })
        .await;
    assert_eq!(change["removed"], json!([]));
    model.push(Reply::text("ok"));
    env.ok(&["send", "live", "again"]).await;
    env.wait_settled("live").await;
    let reqs = model.requests();
    let last = offered(reqs.last().unwrap());
    assert!(
        last.contains(&"added__echo".to_string()) && last.contains(&"keep__k_echo".to_string()),
        "{last:?}"
    );
    assert_eq!(
        pids(&keep_count).len(),
        1,
        "the untouched server kept its process"
    );

    // Remove it: its tools go, its process exits.
    let added_pid = pids(&add_count)[0];
    save_by_rename(
        &tools_toml,
        &bad_entry("keep", &keep_count, ", BAD_TOOL_PREFIX = \"k_\""),
    );
    env.wait_event("live", "tools_changed removing the server", |e| {
        e["type"] == "tools_changed" && mentions(&e["removed"], "added__echo")
    })
    .await;
    env.wait_until("the removed server's process to exit", T, || async {
        !pid_alive(added_pid)
    })
    .await;
    assert!(server(&env, "added").await.is_none());
    model.push(Reply::text("ok"));
    env.ok(&["send", "live", "and again"]).await;
    env.wait_settled("live").await;
    let last = offered(model.requests().last().unwrap());
    assert!(!last.iter().any(|t| t.starts_with("added__")), "{last:?}");
    assert_eq!(pids(&keep_count).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_tools_toml_changes_nothing_and_says_where() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let count = env.root.path().join("s.count");
    let tools_toml = env.config_dir.join("tools.toml");
    let good = bad_entry("srv", &count, "");
    std::fs::write(&tools_toml, &good).unwrap();
    env.start_daemon().await;
    env.ok(&["new", "-d", "-n", "b", "hi"]).await;
    env.wait_settled("b").await;
    wait_status(&env, "srv", "running").await;

    save_by_rename(
        &tools_toml,
        &format!("{good}\n[servers.broken\ncommand = \"x\"\n"),
    );
    let err = wait_status(&env, "(config)", "failed").await;
    let msg = err["error"].as_str().unwrap();
    let line = good.lines().count() + 2;
    assert!(
        msg.contains(&format!("{}:{line}:", tools_toml.display())),
        "names file and line: {msg}"
    );
    let out = env.ok(&["tools"]).await;
    assert!(out.contains(&format!("tools.toml:{line}:")), "{out}");
    assert_eq!(
        server(&env, "srv").await.unwrap()["status"],
        "running",
        "nothing changed"
    );
    assert_eq!(pids(&count).len(), 1);
    let e = env
        .wait_event("b", "the config error in the session", |e| {
            e["type"] == "tools_changed" && !e["errors"].as_array().unwrap().is_empty()
        })
        .await;
    assert!(mentions(&e["errors"], &format!(":{line}:")), "{e}");

    // Fixing the file applies it (here: the server's env changes, so it restarts).
    save_by_rename(
        &tools_toml,
        &bad_entry("srv", &count, ", BAD_TOOL_PREFIX = \"v2_\""),
    );
    env.wait_until("the fixed config to apply", T, || async {
        server(&env, "srv")
            .await
            .is_some_and(|s| mentions(&s["tools"], "srv__v2_echo"))
            && server(&env, "(config)").await.is_none()
    })
    .await;
    assert_eq!(pids(&count).len(), 2, "the changed server restarted once");
    // The session that recorded the error records that it is fixed.
    let fixed = env
        .wait_event("b", "the fix in the session log", |e| {
            e["type"] == "tools_changed" && !e["fixed"].is_null()
        })
        .await;
    assert_eq!(
        fixed["fixed"],
        json!([tools_toml.display().to_string()]),
        "{fixed}"
    );
    assert_eq!(fixed["errors"], json!([]));
    let text = env.ok(&["logs", "b"]).await;
    assert!(text.contains("fixed: "), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_config_toml_is_recorded_as_fixed() {
    let (model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "c"]).await;
    let config = env.config_dir.join("config.toml");
    let good = tether_tests::harness::config_for(&model, "");
    save_by_rename(&config, &format!("{good}\n[approvals\n"));
    env.wait_event("c", "the config.toml error", |e| {
        e["type"] == "tools_changed" && mentions(&e["errors"], "config.toml:")
    })
    .await;
    save_by_rename(&config, &good);
    let e = env
        .wait_event("c", "config.toml recorded as fixed", |e| {
            e["type"] == "tools_changed" && !e["fixed"].is_null()
        })
        .await;
    assert_eq!(e["fixed"], json!([config.display().to_string()]), "{e}");
    // A save that was never broken records nothing more.
    let before = env.events_of("c", "tools_changed").await.len();
    save_by_rename(&config, &format!("{good}\n"));
    model.push(Reply::text("still fine"));
    env.ok(&["send", "c", "hi"]).await;
    env.wait_settled("c").await;
    assert_eq!(env.events_of("c", "tools_changed").await.len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_server_mid_call_fails_the_call_and_it_comes_back() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let count = env.root.path().join("s.count");
    std::fs::write(
        env.config_dir.join("tools.toml"),
        bad_entry("bad", &count, ""),
    )
    .unwrap();
    env.start_daemon().await;
    wait_status(&env, "bad", "running").await;
    model.push(Reply::tool_call("c1", "bad__hang", json!({})));
    model.push(Reply::tool_call(
        "c2",
        "bad__echo",
        json!({"text": "after the crash"}),
    ));
    model.push(Reply::text("done"));
    env.ok(&["new", "-d", "-n", "k", "go"]).await;
    env.wait_event("k", "the hanging call", |e| e["type"] == "tool_call")
        .await;
    let pid = pids(&count)[0];
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert_eq!(env.wait_settled("k").await, "idle");
    let results = env.events_of("k", "tool_result").await;
    assert_eq!(results.len(), 2, "{}", pretty(&results));
    assert_eq!(results[0]["is_error"], true);
    let why = results[0]["output"].as_str().unwrap();
    assert!(why.contains("bad"), "names the server: {why}");
    // The server came back and the next call worked.
    assert_eq!(results[1]["is_error"], false, "{}", pretty(&results));
    assert!(
        results[1]["output"]
            .as_str()
            .unwrap()
            .contains("echo: after the crash")
    );
    assert_eq!(pids(&count).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_sessions_share_one_process_per_server_unless_per_session() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let shared = env.root.path().join("shared.count");
    let own = env.root.path().join("own.count");
    std::fs::write(
        env.config_dir.join("tools.toml"),
        format!(
            "{}\n{}per_session = true\n",
            bad_entry("shared", &shared, ""),
            bad_entry("own", &own, "")
        ),
    )
    .unwrap();
    env.start_daemon().await;
    for i in 0..12 {
        env.ok(&["new", "-d", "-n", &format!("s{i}")]).await;
    }
    env.wait_until("12 per-session servers", T, || async {
        pids(&own).len() == 12
    })
    .await;
    env.wait_until("the shared server", T, || async {
        pids(&shared).len() == 1
    })
    .await;
    env.wait_until("all per-session servers running", T, || async {
        tools_json(&env)
            .await
            .iter()
            .filter(|s| s["name"].as_str().unwrap().starts_with("own") && s["status"] == "running")
            .count()
            == 12
    })
    .await;
    assert_eq!(
        pids(&shared).len(),
        1,
        "twelve sessions, one shared process"
    );
    // Killing a session stops its own server only.
    env.ok(&["kill", "s0"]).await;
    env.wait_until("s0's own server to stop", T, || async {
        tools_json(&env)
            .await
            .iter()
            .filter(|s| s["name"].as_str().unwrap().starts_with("own"))
            .count()
            == 11
    })
    .await;
    assert!(pids(&shared).iter().all(|p| pid_alive(*p)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_command_is_failed_with_its_error() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    std::fs::write(
        env.config_dir.join("tools.toml"),
        "[servers.ghost]\ncommand = \"/nonexistent/mcp-ghost\"\n",
    )
    .unwrap();
    env.start_daemon().await;
    let s = wait_status(&env, "ghost", "failed").await;
    let e = s["error"].as_str().unwrap();
    assert!(e.contains("mcp-ghost"), "{e}");
    let out = env.ok(&["tools"]).await;
    assert!(out.contains("ghost") && out.contains("failed"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_call_times_out_is_cancelled_and_fails() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let count = env.root.path().join("s.count");
    let cancels = env.root.path().join("cancel.log");
    std::fs::write(
        env.config_dir.join("tools.toml"),
        format!(
            "{}timeout_s = 1\n",
            bad_entry(
                "slowpoke",
                &count,
                &format!(", BAD_CANCEL_LOG = \"{}\"", cancels.display())
            )
        ),
    )
    .unwrap();
    env.start_daemon().await;
    wait_status(&env, "slowpoke", "running").await;
    model.push(Reply::tool_call("c1", "slowpoke__hang", json!({})));
    model.push(Reply::text("it timed out"));
    env.ok(&["new", "-d", "-n", "to", "go"]).await;
    assert_eq!(env.wait_settled("to").await, "idle");
    let r = &env.events_of("to", "tool_result").await[0];
    assert_eq!(r["is_error"], true);
    let out = r["output"].as_str().unwrap();
    assert!(
        out.contains("hang") && out.contains("within 1s"),
        "says it timed out: {out}"
    );
    env.wait_until(
        "the server to receive notifications/cancelled",
        T,
        || async { lines(&cancels).iter().any(|l| l.starts_with("cancelled")) },
    )
    .await;
    assert_eq!(
        pids(&count).len(),
        1,
        "a timeout does not restart the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_cover_mcp_tools_and_list_changed_refreshes() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(
        &model,
        "[approvals]\ndefault = \"allow\"\ndeny = [\"bad__crash\"]\n",
    );
    let count = env.root.path().join("s.count");
    std::fs::write(
        env.config_dir.join("tools.toml"),
        bad_entry("bad", &count, ", BAD_LIST_CHANGED_AFTER = \"1\""),
    )
    .unwrap();
    env.start_daemon().await;
    env.ok(&["new", "-d", "-n", "ap"]).await;
    let change = env
        .wait_event("ap", "tools_changed from list_changed", |e| {
            e["type"] == "tools_changed" && mentions(&e["added"], "bad__added_later")
        })
        .await;
    assert_eq!(change["errors"], json!([]));
    model.push(Reply::tool_call("c1", "bad__crash", json!({})));
    model.push(Reply::text("refused"));
    env.ok(&["send", "ap", "crash it"]).await;
    assert_eq!(env.wait_settled("ap").await, "idle");
    let r = &env.events_of("ap", "tool_result").await[0];
    assert!(
        r["output"]
            .as_str()
            .unwrap()
            .contains("denied by the approval policy"),
        "{r}"
    );
    assert_eq!(
        pids(&count).len(),
        1,
        "the denied call never reached the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_stop_stops_every_server_process() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let a = env.root.path().join("a.count");
    let b = env.root.path().join("b.count");
    std::fs::write(
        env.config_dir.join("tools.toml"),
        format!("{}\n{}", bad_entry("a", &a, ""), bad_entry("b", &b, "")),
    )
    .unwrap();
    env.start_daemon().await;
    wait_status(&env, "a", "running").await;
    wait_status(&env, "b", "running").await;
    let all: Vec<i32> = pids(&a).into_iter().chain(pids(&b)).collect();
    env.ok(&["daemon", "stop"]).await;
    assert_eq!(env.wait_daemon_exit().await, 0);
    for p in all {
        assert!(!pid_alive(p), "server process {p} outlived the daemon");
    }
}

/// Starts server-everything over streamable HTTP on `port`.
fn http_everything(port: u16) -> tokio::process::Child {
    tokio::process::Command::new(npm_server("mcp-server-everything"))
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_server_that_goes_away_is_reconnected() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut http = http_everything(port);
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    std::fs::write(
        env.config_dir.join("tools.toml"),
        format!("[servers.web]\nurl = \"http://127.0.0.1:{port}/mcp\"\ntimeout_s = 10\n"),
    )
    .unwrap();
    env.start_daemon().await;
    let s = wait_status(&env, "web", "running").await;
    assert!(mentions(&s["tools"], "web__echo"), "{s}");
    model.push(Reply::tool_call(
        "c1",
        "web__echo",
        json!({"message": "first"}),
    ));
    model.push(Reply::text("ok"));
    env.ok(&["new", "-d", "-n", "h", "go"]).await;
    env.wait_settled("h").await;
    assert!(
        env.events_of("h", "tool_result").await[0]["output"]
            .as_str()
            .unwrap()
            .contains("first")
    );

    // The server goes away and comes back: a failed call makes tether reconnect.
    http.kill().await.unwrap();
    model.push(Reply::tool_call(
        "c2",
        "web__echo",
        json!({"message": "while down"}),
    ));
    model.push(Reply::text("it was down"));
    env.ok(&["send", "h", "again"]).await;
    env.wait_settled("h").await;
    assert_eq!(env.events_of("h", "tool_result").await[1]["is_error"], true);
    let _http = http_everything(port);
    wait_status(&env, "web", "running").await;
    model.push(Reply::tool_call(
        "c3",
        "web__echo",
        json!({"message": "back"}),
    ));
    model.push(Reply::text("back"));
    env.ok(&["send", "h", "and again"]).await;
    env.wait_settled("h").await;
    let r = &env.events_of("h", "tool_result").await[2];
    assert_eq!(r["is_error"], false, "{r}");
    assert!(r["output"].as_str().unwrap().contains("back"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_save_of_tools_toml_applies() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    // The daemon starts with no tools.toml; each kind of save then changes it.
    env.start_daemon().await;
    let count = env.root.path().join("s.count");
    let tools_toml = env.config_dir.join("tools.toml");
    let entry = |prefix: &str| bad_entry("w", &count, &format!(", BAD_TOOL_PREFIX = \"{prefix}\""));
    let shows = |prefix: &'static str| {
        let env = &env;
        async move {
            server(env, "w").await.is_some_and(|s| {
                s["status"] == "running" && mentions(&s["tools"], &format!("w__{prefix}echo"))
            })
        }
    };

    // Created in place.
    std::fs::write(&tools_toml, entry("a_")).unwrap();
    env.wait_until("a new file to apply", T, || shows("a_"))
        .await;
    // Written in place.
    std::fs::write(&tools_toml, entry("b_")).unwrap();
    env.wait_until("an in-place write to apply", T, || shows("b_"))
        .await;
    // Saved by rename.
    save_by_rename(&tools_toml, &entry("c_"));
    env.wait_until("a save by rename to apply", T, || shows("c_"))
        .await;
    // vim: the original renamed to a backup, a new file written, the backup deleted.
    let backup = env.config_dir.join("tools.toml~");
    std::fs::rename(&tools_toml, &backup).unwrap();
    std::fs::write(&tools_toml, entry("d_")).unwrap();
    std::fs::remove_file(&backup).unwrap();
    env.wait_until("a vim-style save to apply", T, || shows("d_"))
        .await;
    // Deleted: the server goes; created again: it comes back.
    std::fs::remove_file(&tools_toml).unwrap();
    env.wait_until("a deleted file to remove the server", T, || async {
        server(&env, "w").await.is_none()
    })
    .await;
    std::fs::write(&tools_toml, entry("e_")).unwrap();
    env.wait_until("a re-created file to apply", T, || shows("e_"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_dir_that_appears_later_is_picked_up() {
    let mut env = TestEnv::new();
    // No config dir at all when the daemon starts.
    let later = env.root.path().join("later").join("config");
    env.config_dir = later.clone();
    env.start_daemon().await;
    assert!(!later.exists());
    let count = env.root.path().join("s.count");
    std::fs::create_dir_all(&later).unwrap();
    std::fs::write(later.join("tools.toml"), bad_entry("late", &count, "")).unwrap();
    wait_status(&env, "late", "running").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_toml_changes_apply_from_the_next_model_call() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::tool_call(
        "c1",
        "shell",
        json!({"command": "echo allowed"}),
    ));
    model.push(Reply::text("ran"));
    env.ok(&["new", "-d", "-n", "cfg", "first"]).await;
    assert_eq!(env.wait_settled("cfg").await, "idle");
    assert_eq!(
        env.events_of("cfg", "tool_result").await[0]["is_error"],
        false
    );

    // Approvals and the model name change in config.toml while the daemon runs.
    let cfg = tether_tests::harness::config_for(
        &model,
        "[approvals]\ndefault = \"allow\"\ndeny = [\"shell\"]\n",
    )
    .replace(
        "default_model = \"mock/test-model\"",
        "default_model = \"mock/other\"",
    );
    save_by_rename(&env.config_dir.join("config.toml"), &cfg);
    model.push(Reply::tool_call(
        "c2",
        "shell",
        json!({"command": "echo denied"}),
    ));
    model.push(Reply::text("refused"));
    env.ok(&["send", "cfg", "second"]).await;
    assert_eq!(env.wait_settled("cfg").await, "idle");
    let r = &env.events_of("cfg", "tool_result").await[1];
    assert!(
        r["output"]
            .as_str()
            .unwrap()
            .contains("denied by the approval policy"),
        "{r}"
    );
    // New sessions get the new default model.
    env.ok(&["new", "-d", "-n", "cfg2"]).await;
    let ls: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert!(
        ls.as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "cfg2" && s["model"] == "mock/other"),
        "{ls}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_mcp_json_is_reported_in_the_new_session_log() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    std::fs::write(
        env.work_dir.join(".mcp.json"),
        "{\"mcpServers\": {\n  \"x\": {\"command\": }\n}}",
    )
    .unwrap();
    env.start_daemon().await;
    env.ok(&["new", "-d", "-n", "broken"]).await;
    let e = env
        .wait_event("broken", "the .mcp.json error", |e| {
            e["type"] == "tools_changed" && !e["errors"].as_array().unwrap().is_empty()
        })
        .await;
    assert!(
        mentions(&e["errors"], ".mcp.json:2:"),
        "names the file and line: {e}"
    );
    let cfg = wait_status(&env, "(config)", "failed").await;
    assert!(
        cfg["error"].as_str().unwrap().contains(".mcp.json:2:"),
        "{cfg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_failing_at_daemon_start_is_reported_to_existing_sessions() {
    let (_model, mut env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "old"]).await;
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;
    std::fs::write(
        env.config_dir.join("tools.toml"),
        "[servers.ghost]\ncommand = \"/nonexistent/mcp-ghost\"\n",
    )
    .unwrap();
    env.start_daemon().await;
    // Asleep since the start (issue 13: it has no work): it hears of the failed
    // server when it wakes, as its actor starts.
    let mut raw = tether_tests::raw::Raw::hello(&env.socket).await;
    let r = raw
        .request(1, "session.attach", json!({"session": "old"}))
        .await;
    assert!(r.get("result").is_some(), "{r}");
    let e = env
        .wait_event("old", "the failed start", |e| {
            e["type"] == "tools_changed" && mentions(&e["errors"], "mcp-ghost")
        })
        .await;
    assert_eq!(e["added"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_during_a_changed_servers_restart_waits_for_it() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let count = env.root.path().join("s.count");
    let tools_toml = env.config_dir.join("tools.toml");
    std::fs::write(&tools_toml, bad_entry("w", &count, "")).unwrap();
    env.start_daemon().await;
    env.ok(&["new", "-d", "-n", "r"]).await;
    wait_status(&env, "w", "running").await;
    // The definition changes; its new process takes a while to answer initialize.
    save_by_rename(
        &tools_toml,
        &bad_entry("w", &count, ", BAD_STARTUP = \"slow:1.5\""),
    );
    wait_status(&env, "w", "starting").await;
    model.push(Reply::tool_call(
        "c1",
        "w__echo",
        json!({"text": "during the restart"}),
    ));
    model.push(Reply::text("done"));
    env.ok(&["send", "r", "call it now"]).await;
    assert_eq!(env.wait_settled("r").await, "idle");
    let r = &env.events_of("r", "tool_result").await[0];
    assert_eq!(r["is_error"], false, "{r}");
    assert!(
        r["output"]
            .as_str()
            .unwrap()
            .contains("echo: during the restart"),
        "{r}"
    );
    assert_eq!(pids(&count).len(), 2);
}

/// The `node` the tests run with, found in `PATH`.
fn node_bin() -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", "command -v node"])
        .output()
        .unwrap();
    let path = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(!path.is_empty(), "node is needed for the MCP tests");
    path
}

/// The memory server's script, run by `node` directly.
fn memory_js() -> String {
    tether_tests::harness::mcp_fixtures()
        .join("node_modules/@modelcontextprotocol/server-memory/dist/index.js")
        .display()
        .to_string()
}

/// The acceptance case of issue 7 item 11: `${VAR}` and `${VAR:-default}` in
/// `.mcp.json`, expanded from the daemon's environment.
fn expanding_mcp_json(memory_file: &Path) -> String {
    format!(
        "{{\n  \"mcpServers\": {{\n    \"mem\": {{\n      \"command\": \"${{NODE_BIN}}\",\n      \
         \"args\": [\"${{SERVER_JS:-missing}}\"],\n      \"env\": {{\"MEMORY_FILE_PATH\": \"{}\"}}\n    }}\n  }}\n}}\n",
        memory_file.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_in_mcp_json_come_from_the_daemons_environment() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let memory_file = env.root.path().join("memory.json");
    std::fs::write(
        env.work_dir.join(".mcp.json"),
        expanding_mcp_json(&memory_file),
    )
    .unwrap();
    env.env.push(("NODE_BIN".into(), node_bin()));
    env.env.push(("SERVER_JS".into(), memory_js()));
    env.start_daemon().await;
    env.ok(&["new", "-d", "-n", "vars"]).await;
    let mem = wait_status(&env, "mem", "running").await;
    assert!(mentions(&mem["tools"], "mem__read_graph"), "{mem}");
    model.push(Reply::tool_call(
        "c1",
        "mem__create_entities",
        json!({"entities": [{"name": "Biscuit", "entityType": "dog", "observations": ["likes socks"]}]}),
    ));
    model.push(Reply::text("stored"));
    env.ok(&["send", "vars", "remember Biscuit"]).await;
    assert_eq!(env.wait_settled("vars").await, "idle");
    let r = &env.events_of("vars", "tool_result").await[0];
    assert_eq!(r["is_error"], false, "{r}");
    // The server got the expanded env too: it wrote where MEMORY_FILE_PATH said.
    assert!(
        std::fs::read_to_string(&memory_file)
            .unwrap_or_default()
            .contains("Biscuit"),
        "the memory file holds the entity"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unset_variable_in_mcp_json_is_the_files_error_naming_it() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let mcp_json = env.work_dir.join(".mcp.json");
    std::fs::write(
        &mcp_json,
        expanding_mcp_json(&env.root.path().join("m.json")),
    )
    .unwrap();
    // SERVER_JS has a default; NODE_BIN has none and the harness does not set it.
    env.env.push(("SERVER_JS".into(), memory_js()));
    env.start_daemon().await;
    env.ok(&["new", "-d", "-n", "novar"]).await;
    let e = env
        .wait_event("novar", "the missing variable in the session log", |e| {
            e["type"] == "tools_changed" && mentions(&e["errors"], "NODE_BIN")
        })
        .await;
    let at = format!("{}:4:19:", mcp_json.display());
    assert!(mentions(&e["errors"], &at), "file, line and column: {e}");
    let cfg = wait_status(&env, "(config)", "failed").await;
    let msg = cfg["error"].as_str().unwrap();
    assert!(
        msg.contains(&at) && msg.contains("environment variable NODE_BIN is not set"),
        "{msg}"
    );
    assert!(server(&env, "mem").await.is_none(), "no server started");
    let out = env.ok(&["tools"]).await;
    assert!(out.contains("NODE_BIN is not set"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_whose_names_clash_are_both_offered_and_callable() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let count = env.root.path().join("s.count");
    std::fs::write(
        env.config_dir.join("tools.toml"),
        bad_entry("probe", &count, ", BAD_CLASH = \"1\""),
    )
    .unwrap();
    env.start_daemon().await;
    let probe = wait_status(&env, "probe", "running").await;
    let names: Vec<String> = probe["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    // The tool whose name needed no change keeps it; the other gets a suffix.
    assert!(
        names.contains(&"probe__weird_name_with_spaces".to_string()),
        "{names:?}"
    );
    let dotted = probe["renamed"]["weird.name/with spaces"]
        .as_str()
        .unwrap_or_else(|| panic!("tools --json maps the original name: {probe}"))
        .to_string();
    assert!(
        dotted.starts_with("probe__weird_name_with_spaces_") && names.contains(&dotted),
        "{probe}"
    );
    let text = env.ok(&["tools"]).await;
    assert!(
        text.contains(&format!(
            "\"weird.name/with spaces\" is offered to the model as {dotted}"
        )),
        "{text}"
    );

    model.push(Reply::tool_call("c1", &dotted, json!({})));
    model.push(Reply::tool_call(
        "c2",
        "probe__weird_name_with_spaces",
        json!({}),
    ));
    model.push(Reply::text("both ran"));
    env.ok(&["new", "-d", "-n", "clash", "call both"]).await;
    assert_eq!(env.wait_settled("clash").await, "idle");
    let reqs = model.wait_for_requests(3, T).await;
    let offered_names = offered(&reqs[0]);
    assert!(
        offered_names.contains(&dotted)
            && offered_names.contains(&"probe__weird_name_with_spaces".to_string()),
        "the model gets both: {offered_names:?}"
    );
    let results = env.events_of("clash", "tool_result").await;
    assert_eq!(results.len(), 2, "{}", pretty(&results));
    assert_eq!(results[0]["output"], "dotted", "{}", pretty(&results));
    assert_eq!(results[1]["output"], "plain", "{}", pretty(&results));

    // The names survive a restart of the daemon (and so of the server).
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;
    env.start_daemon().await;
    let again = wait_status(&env, "probe", "running").await;
    assert_eq!(again["renamed"]["weird.name/with spaces"], dotted.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vs_code_style_mcp_json_is_read() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    std::fs::write(
        env.work_dir.join(".mcp.json"),
        json!({"inputs": [], "servers": {"vs": {"type": "stdio", "command": "python3", "args": [bad_server()]}}})
            .to_string(),
    )
    .unwrap();
    env.start_daemon().await;
    model.push(Reply::tool_call(
        "c1",
        "vs__echo",
        json!({"text": "from vs code"}),
    ));
    model.push(Reply::text("ok"));
    env.ok(&["new", "-d", "-n", "vs"]).await;
    wait_status(&env, "vs", "running").await;
    env.ok(&["send", "vs", "go"]).await;
    assert_eq!(env.wait_settled("vs").await, "idle");
    let r = &env.events_of("vs", "tool_result").await[0];
    assert_eq!(r["output"], "echo: from vs code", "{r}");

    // A file in neither format is an error, never "no servers".
    let other = env.root.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(
        other.join(".mcp.json"),
        json!({"mcp_servers": {"x": {"command": "python3"}}}).to_string(),
    )
    .unwrap();
    env.ok(&["new", "-d", "-n", "neither", "-C", other.to_str().unwrap()])
        .await;
    let e = env
        .wait_event("neither", "the format error", |e| {
            e["type"] == "tools_changed" && !e["errors"].as_array().unwrap().is_empty()
        })
        .await;
    assert!(mentions(&e["errors"], "no \\\"mcpServers\\\""), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_results_reach_the_model_marked_as_errors() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let count = env.root.path().join("bad-count");
    std::fs::write(
        env.config_dir.join("tools.toml"),
        bad_entry("bad", &count, ""),
    )
    .unwrap();
    env.start_daemon().await;
    wait_status(&env, "bad", "running").await;
    model.push(Reply::tool_calls([
        ("c_mcp", "bad__fail", json!({})),
        ("c_builtin", "read_file", json!({"path": "missing.txt"})),
        ("c_ok", "list_dir", json!({})),
    ]));
    model.push(Reply::text("both failed"));
    env.ok(&["new", "-d", "-n", "err", "try"]).await;
    assert_eq!(env.wait_settled("err").await, "idle");
    let reqs = model.wait_for_requests(2, T).await;
    let content = |id: &str| {
        reqs[1]
            .messages()
            .into_iter()
            .find(|m| m["role"] == "tool" && m["tool_call_id"] == id)
            .unwrap_or_else(|| panic!("no tool message for {id}"))["content"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let mcp = content("c_mcp");
    assert_eq!(mcp, "error: it failed on purpose", "an MCP isError result");
    let builtin = content("c_builtin");
    assert!(
        builtin.starts_with("error: ") && builtin.contains("missing.txt"),
        "a builtin tool error: {builtin}"
    );
    assert!(
        !content("c_ok").starts_with("error"),
        "a success is not marked"
    );
    // The log keeps the tool's own words and the flag.
    let results = env.events_of("err", "tool_result").await;
    let mcp_event = results.iter().find(|r| r["call_id"] == "c_mcp").unwrap();
    assert_eq!(mcp_event["output"], "it failed on purpose");
    assert_eq!(mcp_event["is_error"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_flood_keeps_the_log_small_and_progress_reaches_live_output() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let count = env.root.path().join("s.count");
    std::fs::write(
        env.config_dir.join("tools.toml"),
        bad_entry("bad", &count, ", BAD_FLOOD = \"1\""),
    )
    .unwrap();
    env.start_daemon().await;
    wait_status(&env, "bad", "running").await;
    env.ok(&["new", "-d", "-n", "fl"]).await;
    let mut raw = tether_tests::raw::Raw::hello(&env.socket).await;
    let r = raw
        .request(1, "session.attach", json!({"session": "fl"}))
        .await;
    assert_eq!(r["result"]["info"]["name"], "fl", "{r}");
    model.push(Reply::tool_call(
        "c1",
        "bad__flood",
        json!({"count": 20000, "progress": 50, "interval": 0.02}),
    ));
    model.push(Reply::text("flooded"));
    let sent = raw
        .request(
            2,
            "session.send",
            json!({"session": "fl", "text": "flood it"}),
        )
        .await;
    assert!(sent["result"].is_object(), "{sent}");
    let mut live_output = String::new();
    loop {
        let msg = raw.read().await.expect("live messages until the turn ends");
        let p = &msg["params"];
        if p["kind"] == "tool_output" && p["call_id"] == "c1" {
            live_output.push_str(p["chunk"].as_str().unwrap());
        }
        if p["kind"] == "event" && p["event"]["type"] == "turn_completed" {
            break;
        }
    }
    // The server asked for progress by the call's token; the attached client saw it.
    assert!(
        live_output.contains("[progress 1/50] step 1 of 50")
            && live_output.contains("[progress 50/50] step 50 of 50"),
        "live output: {live_output:?}"
    );
    let r = &env.events_of("fl", "tool_result").await[0];
    assert_eq!(r["output"], "flooded 20000 50", "{r}");
    // The daemon still answers at once, and stops cleanly.
    env.ok(&["ls"]).await;
    env.ok(&["daemon", "stop"]).await;
    assert_eq!(env.wait_daemon_exit().await, 0);
    // 20,000 notifications of 500 characters were 11 MB of INFO lines; now a
    // few DEBUG lines (the harness runs the daemon with TETHER_LOG=debug) and a count.
    let log = std::fs::read_to_string(env.state_dir.join("daemon.log")).unwrap();
    assert!(
        log.len() < 512 * 1024,
        "daemon.log is {} bytes after the flood",
        log.len()
    );
    assert!(log.contains("mcp server log"), "some are logged");
    assert!(
        log.contains("notifications suppressed"),
        "the dropped ones are counted"
    );
    assert!(
        !log.contains(&"x".repeat(400)),
        "no message is logged whole"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_that_needs_a_task_is_not_offered() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let count = env.root.path().join("s.count");
    std::fs::write(
        env.config_dir.join("tools.toml"),
        bad_entry("bad", &count, ", BAD_TASK_TOOL = \"1\""),
    )
    .unwrap();
    env.start_daemon().await;
    let s = wait_status(&env, "bad", "running").await;
    assert!(mentions(&s["tools"], "bad__echo"), "{s}");
    assert!(!mentions(&s["tools"], "needs_task"), "{s}");
    model.push(Reply::text("ok"));
    env.ok(&["new", "-d", "-n", "task", "hi"]).await;
    env.wait_settled("task").await;
    let reqs = model.wait_for_requests(1, T).await;
    let names = offered(&reqs[0]);
    assert!(names.contains(&"bad__echo".to_string()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.contains("needs_task")),
        "a tool callable only as a task is not offered: {names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_from_an_mcp_tool_reaches_the_model_as_an_image_url() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    std::fs::write(
        env.config_dir.join("tools.toml"),
        format!(
            "[servers.ev]\ncommand = \"{}\"\nargs = [\"stdio\"]\n",
            npm_server("mcp-server-everything")
        ),
    )
    .unwrap();
    env.start_daemon().await;
    let ev = wait_status(&env, "ev", "running").await;
    assert!(mentions(&ev["tools"], "ev__get-tiny-image"), "{ev}");
    model.push(Reply::tool_call("c_img", "ev__get-tiny-image", json!({})));
    model.push(Reply::text("a tiny logo"));
    env.ok(&["new", "-d", "-n", "img", "show me the image"])
        .await;
    assert_eq!(env.wait_settled("img").await, "idle");
    let reqs = model.wait_for_requests(2, T).await;
    let msgs = reqs[1].messages();
    let tool_at = msgs
        .iter()
        .position(|m| m["role"] == "tool" && m["tool_call_id"] == "c_img")
        .expect("the tool message");
    let carrier = &msgs[tool_at + 1];
    assert_eq!(carrier["role"], "user", "{carrier}");
    let url = carrier["content"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|p| p["image_url"]["url"].as_str())
        .unwrap_or_else(|| panic!("no image_url part: {carrier}"));
    assert!(
        url.starts_with("data:image/png;base64,iVBORw0KGgo"),
        "{url:.60}"
    );
    // The log keeps the image for the context, and `tether logs` stays readable.
    let result = &env.events_of("img", "tool_result").await[0];
    assert_eq!(result["images"][0]["mime_type"], "image/png");
    let text = env.ok(&["logs", "img"]).await;
    assert!(!text.contains("iVBORw0KGgo"), "{text}");
    assert!(text.contains("[image: image/png"), "{text}");

    // An endpoint that rejects image input: the failure says why.
    model.push(Reply::status(400).with_error_message("image input is not supported"));
    env.ok(&["send", "img", "and now?"]).await;
    assert_eq!(env.wait_settled("img").await, "failed");
    let failed = &env.events_of("img", "turn_failed").await[0];
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("HTTP 400") && error.contains("may not accept image input"),
        "{error}"
    );

    // `images = false` on the provider: the model sees the placeholder only.
    let cfg = std::fs::read_to_string(env.config_dir.join("config.toml")).unwrap();
    env.write_config(&cfg.replace(
        "api_key_env = \"TETHER_TEST_KEY\"",
        "api_key_env = \"TETHER_TEST_KEY\"\nimages = false",
    ));
    model.push(Reply::text("text only"));
    env.ok(&["send", "img", "once more"]).await;
    assert_eq!(env.wait_settled("img").await, "idle");
    let reqs = model.wait_for_requests(4, T).await;
    let last = reqs[3].request_text();
    assert!(!last.contains("image_url"), "{last:.300}");
    assert!(last.contains("[image: image/png"), "{last:.300}");
}
