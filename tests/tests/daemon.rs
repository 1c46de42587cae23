//! The daemon's lifecycle, its socket's security, and bad input of every kind.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::measure::rss_kib;
use tether_tests::raw::Raw;
use tether_tests::{Reply, TestEnv};

const T: Duration = Duration::from_secs(20);

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_commands_racing_start_exactly_one_daemon() {
    let env = TestEnv::new();
    // Spawn all four before waiting on any: they race for real.
    let children: Vec<_> = (0..4)
        .map(|_| {
            env.cli(&["ls", "--json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().await.unwrap();
        assert!(
            out.status.success(),
            "racing `tether ls` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    }
    let log = std::fs::read_to_string(env.state_dir.join("daemon.log")).unwrap();
    assert_eq!(
        log.matches("daemon ready").count(),
        1,
        "exactly one daemon started:\n{log}"
    );
    assert!(
        !log.contains("already running"),
        "no second daemon was even tried:\n{log}"
    );
    let status: Value =
        serde_json::from_str(&env.ok(&["daemon", "status", "--json"]).await).unwrap();
    assert!(status["pid"].as_u64().unwrap() > 0);
    env.ok(&["daemon", "stop"]).await;
    let out = env.run(&["daemon", "status"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("no tether daemon is running"),
        "{}",
        out.stderr
    );
}

/// A daemon that holds the socket's lock and does not listen (one still
/// starting, or one killed whose lock the kernel has not dropped yet): a
/// command that finds nobody listening waits it out and starts its own, where
/// it used to fail with "already running".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_waits_out_a_daemon_lock_held_by_one_that_does_not_listen() {
    let env = TestEnv::new();
    let held = env.hold_daemon_lock("4242");
    let child = env
        .cli(&["ls", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let start_log = env.state_dir.join("daemon-start.log");
    env.wait_until("the started daemon to find the lock held", T, || {
        let log = std::fs::read_to_string(&start_log).unwrap_or_default();
        async move { log.contains("already running") && log.contains("pid 4242") }
    })
    .await;
    drop(held);
    let out = tokio::time::timeout(T, child.wait_with_output())
        .await
        .expect("`tether ls` ends once the lock is free")
        .unwrap();
    assert!(
        out.status.success(),
        "`tether ls` waited and started the daemon: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    let status: Value =
        serde_json::from_str(&env.ok(&["daemon", "status", "--json"]).await).unwrap();
    assert!(status["pid"].as_u64().unwrap() > 0, "{status}");
    env.ok(&["daemon", "stop"]).await;
}

/// A lock held for good by a daemon that never listens: the command gives up
/// after its 15 s with a line that names the holder, never hangs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_gives_up_on_a_daemon_lock_held_for_good_and_names_the_holder() {
    let env = TestEnv::new();
    let _held = env.hold_daemon_lock("4242");
    let out = tokio::time::timeout(Duration::from_secs(40), env.run(&["ls"]))
        .await
        .expect("`tether ls` gives up in time");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("pid 4242") && out.stderr.contains("did not answer"),
        "names the holder: {}",
        out.stderr
    );
    assert_eq!(
        out.stderr.trim().lines().count(),
        1,
        "one line: {}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_is_private_and_a_second_daemon_refuses_to_start() {
    let mut env = TestEnv::new();
    env.start_daemon().await;
    assert_eq!(mode(env.socket.parent().unwrap()), 0o700);
    assert_eq!(mode(&env.socket), 0o600);
    let pid = env.daemon_pid();

    let out = env.run(&["daemon"]).await;
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("already running"), "{}", out.stderr);
    assert_eq!(
        out.stderr.matches("already running").count(),
        1,
        "the refusal is said once: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&pid.to_string()),
        "names the running daemon's pid: {}",
        out.stderr
    );
    let status: Value =
        serde_json::from_str(&env.ok(&["daemon", "status", "--json"]).await).unwrap();
    assert_eq!(status["pid"], pid, "the first daemon still serves");
}

/// One state directory takes one daemon: a second one started on another socket
/// (as when `XDG_RUNTIME_DIR` is set in one shell and not in another) refuses,
/// naming the first one's socket, and a command on that socket says why it has
/// no daemon; the first daemon and its sessions are untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_on_the_same_state_dir_refuses_to_start_and_names_the_first() {
    let (model, mut env) = TestEnv::started("").await;
    model.push(tether_tests::Reply::text("one"));
    env.ok(&["new", "-d", "-n", "s", "hello"]).await;
    assert_eq!(env.wait_settled("s").await, "idle");
    let pid = env.daemon_pid();
    let first = env.socket.display().to_string();
    let other = env.root.path().join("other-run").join("tether.sock");
    env.env
        .push(("TETHER_SOCKET".into(), other.display().to_string()));

    let out = env.run(&["daemon"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    let err = out.stderr.trim();
    assert!(err.contains("state directory"), "{err}");
    assert!(err.contains(&pid.to_string()), "names the pid: {err}");
    assert!(err.contains(&first), "names the first socket: {err}");
    // A command that would start a daemon on the other socket says the same.
    let out = env.run(&["ls"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("one state directory takes one daemon"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert!(
        !out.stderr.contains("): tether:"),
        "said once: {}",
        out.stderr
    );

    env.env.retain(|(k, _)| k != "TETHER_SOCKET");
    let status: Value =
        serde_json::from_str(&env.ok(&["daemon", "status", "--json"]).await).unwrap();
    assert_eq!(status["pid"], pid, "the first daemon still serves");
    model.push(tether_tests::Reply::text("two"));
    env.ok(&["send", "s", "again"]).await;
    assert_eq!(env.wait_settled("s").await, "idle");
    assert_eq!(env.events_of("s", "assistant_message").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_socket_is_reclaimed() {
    let mut env = TestEnv::new();
    env.start_daemon().await;
    env.kill9().await;
    assert!(env.socket.exists(), "kill -9 leaves the socket file behind");
    // A plain command finds nobody answering and starts a fresh daemon.
    assert_eq!(env.ok(&["ls", "--json"]).await.trim(), "[]");
    let log = std::fs::read_to_string(env.state_dir.join("daemon.log")).unwrap();
    assert!(log.contains("reclaimed a stale socket"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_user_cannot_connect() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: switching to another uid needs root");
        return;
    }
    let mut env = TestEnv::new();
    env.start_daemon().await;
    let as_nobody = |env: &TestEnv| {
        let mut c = env.cli(&["ls"]);
        c.uid(65534).gid(65534).env("HOME", "/nonexistent");
        c
    };
    let out = as_nobody(&env).output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.to_lowercase().contains("permission denied"), "{err}");

    // Even with the directory and socket opened up, the daemon checks the uid.
    for p in [env.root.path(), env.socket.parent().unwrap()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&env.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = as_nobody(&env).output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("serves only its owner"), "{err}");
    assert_eq!(err.trim().lines().count(), 1);
    env.ok(&["ls"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_socket_gets_json_rpc_errors_and_changes_nothing() {
    let mut env = TestEnv::new();
    env.start_daemon().await;
    let mut raw = Raw::connect(&env.socket).await;
    raw.send_raw(b"this is not json\n").await;
    let v = raw.response().await;
    assert_eq!(v["error"]["code"], -32700, "{v}");
    assert_eq!(v["id"], Value::Null);
    let v = raw.call(json!([1, 2, 3])).await;
    assert_eq!(v["error"]["code"], -32600, "{v}");
    let v = raw.request(5, "session.list", json!({})).await;
    assert_eq!(v["error"]["code"], -32008, "handshake first: {v}");
    assert_eq!(v["id"], 5);
    let v = raw
        .request(6, "hello", json!({"protocol_version": 1}))
        .await;
    assert_eq!(v["result"]["protocol_version"], 1);
    let v = raw.request(7, "no.such.method", json!({})).await;
    assert_eq!(v["error"]["code"], -32601);
    let v = raw.request(8, "session.send", json!({"session": 3})).await;
    assert_eq!(v["error"]["code"], -32602, "{v}");
    let v = raw
        .request(9, "session.send", json!({"session": "ghost", "text": "hi"}))
        .await;
    assert_eq!(v["error"]["code"], -32001);
    assert!(v["error"]["message"].as_str().unwrap().contains("ghost"));
    let v = raw.request(10, "session.list", json!({})).await;
    assert_eq!(v["result"], json!([]), "the connection still works");

    let mut old = Raw::connect(&env.socket).await;
    let v = old
        .request(1, "hello", json!({"protocol_version": 99}))
        .await;
    assert_eq!(v["error"]["code"], -32006);
    assert!(v["error"]["message"].as_str().unwrap().contains("99"));
    assert!(
        old.read().await.is_none(),
        "a mismatched client is disconnected"
    );
    env.ok(&["ls"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_line_is_refused_without_growing_the_daemon() {
    let mut env = TestEnv::new();
    env.start_daemon().await;
    let pid = env.daemon_pid();
    let mut raw = Raw::hello(&env.socket).await;
    let before = rss_kib(pid);
    let chunk = vec![b'x'; 1 << 20];
    for i in 0..64 {
        raw.send_raw(&chunk).await;
        if i == 32 {
            // Others are served while the flood goes on.
            assert_eq!(env.ok(&["ls", "--json"]).await.trim(), "[]");
        }
    }
    raw.send_raw(b"\n").await;
    let v = raw.response().await;
    assert_eq!(v["error"]["code"], -32005, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("67108864"),
        "{v}"
    );
    let after = rss_kib(pid);
    assert!(
        after < before + 16 * 1024,
        "daemon RSS grew from {before} KiB to {after} KiB"
    );
    let v = raw.request(2, "session.list", json!({})).await;
    assert_eq!(
        v["result"],
        json!([]),
        "the connection survives the oversized frame"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_errors_are_one_line_with_exit_1() {
    let (_model, env) = TestEnv::started("").await;

    let out = env.run(&["send", "ghost", "hello"]).await;
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("no session named \"ghost\""),
        "{}",
        out.stderr
    );
    for args in [
        &["logs", "ghost"][..],
        &["wait", "ghost"],
        &["kill", "ghost"],
        &["approve", "ghost"],
        &["interrupt", "ghost"],
        &["attach", "ghost"],
    ] {
        let out = env.run(args).await;
        assert_eq!(out.code, 1, "{args:?}");
        assert!(out.stderr.contains("ghost"), "{args:?}: {}", out.stderr);
    }

    env.write_config("default_model = \"mock/x\"\n\n[providers.mock]\nbase_url = \"http://127.0.0.1:9/v1\"\nbogus_key = 3\n");
    let out = env.run(&["new", "-d", "-n", "x", "hi"]).await;
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    let cfg = env.config_dir.join("config.toml");
    assert!(
        out.stderr.contains(&format!("{}:5:", cfg.display())),
        "names file and line: {}",
        out.stderr
    );
    assert!(out.stderr.contains("bogus_key"));

    env.write_config("default_model = \"openai/gpt-4.1-mini\"\n");
    let out = env.run(&["new", "-d", "hi"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("OPENAI_API_KEY"),
        "says what to set: {}",
        out.stderr
    );
    assert_eq!(out.stderr.trim().lines().count(), 1);
    assert_eq!(
        env.ok(&["ls", "--json"]).await.trim(),
        "[]",
        "nothing was created"
    );

    let out = env.run(&["send", "x"]).await;
    assert_eq!(out.code, 2, "bad usage exits 2");
    let out = env
        .run(&["new", "-d", "-n", "bad name!", "-m", "mock/x"])
        .await;
    assert_eq!(out.code, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ls_json_wait_timeout_logs_follow_and_kill() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::hang());
    env.ok(&[
        "new",
        "-d",
        "-n",
        "one",
        "-m",
        "mock/other-model",
        "--instructions",
        "be terse",
        "hello",
    ])
    .await;
    let ls: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    let s = &ls[0];
    for key in [
        "id",
        "name",
        "state",
        "model",
        "cwd",
        "created_at",
        "updated_at",
        "pending_approvals",
    ] {
        assert!(s.get(key).is_some(), "ls --json lacks {key}: {s}");
    }
    assert_eq!(s["model"], "mock/other-model");
    assert_eq!(s["state"], "running");
    assert_eq!(
        s["cwd"],
        env.work_dir.canonicalize().unwrap().display().to_string()
    );

    let out = env.run(&["wait", "one", "--timeout", "0.3"]).await;
    assert_eq!(out.code, 124);
    assert_eq!(out.stdout.trim(), "running");

    let mut follower = env
        .cli(&["logs", "one", "--json", "--follow"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = follower.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    env.ok(&["interrupt", "one"]).await;
    let mut seen = Vec::new();
    let found = tokio::time::timeout(T, async {
        while let Ok(Some(l)) = lines.next_line().await {
            let v: Value = serde_json::from_str(&l).unwrap();
            seen.push(v["type"].as_str().unwrap().to_string());
            if v["type"] == "turn_interrupted" {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        found,
        Ok(true),
        "logs --follow showed the interrupt; saw {seen:?}"
    );
    assert_eq!(
        seen[0], "session_created",
        "the follower starts from the beginning"
    );

    let reqs = model.wait_for_requests(1, T).await;
    assert_eq!(reqs[0].model().as_deref(), Some("other-model"));
    assert_eq!(reqs[0].messages()[0]["role"], "system");
    // The default system prompt and the project file come first (issue 9).
    let system = reqs[0].messages()[0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(system.ends_with("\n\nbe terse"), "{system}");

    env.ok(&["kill", "one"]).await;
    assert_eq!(env.ok(&["ls", "--json"]).await.trim(), "[]");
    let out = env.run(&["logs", "one"]).await;
    assert_eq!(out.code, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_pipelines_large_replies_without_reading_is_held_not_buffered() {
    // A model that cannot be reached: turns fail fast, the messages stay.
    let (_model, env) = TestEnv::started(
        "[providers.down]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\napi_key_env = \"TETHER_TEST_KEY\"\n",
    )
    .await;
    env.ok(&["new", "-d", "-n", "big", "-m", "down/x"]).await;
    let pid = env.daemon_pid();
    let text_len = 3 * 1024 * 1024 + 512 * 1024;
    let mut raw = Raw::hello(&env.socket).await;
    for i in 0..4 {
        let text = format!("{i}{}", "x".repeat(text_len - 1));
        let v = raw
            .request(
                1 + i,
                "session.send",
                json!({"session": "big", "text": text}),
            )
            .await;
        assert!(
            v["result"]["input_id"].is_number(),
            "{}",
            &v.to_string()[..200]
        );
    }
    env.wait_settled("big").await;

    // Each reply is about 14 MiB: 24 of them unread would be 336 MiB queued.
    let requests = 24u64;
    let mut pipelined = Vec::new();
    for id in 0..requests {
        let req = json!({"jsonrpc": "2.0", "id": 100 + id, "method": "session.logs",
                         "params": {"session": "big"}});
        pipelined.extend(serde_json::to_vec(&req).unwrap());
        pipelined.push(b'\n');
    }
    raw.send_raw(&pipelined).await;
    let log = env.state_dir.join("daemon.log");
    env.wait_until(
        "the daemon to hold the client that does not read",
        T,
        || async {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("client is not reading its replies")
        },
    )
    .await;
    let rss_mib = rss_kib(pid) / 1024;
    assert!(
        rss_mib < 400,
        "daemon RSS is {rss_mib} MiB with a client that does not read"
    );
    // Everyone else is served meanwhile.
    assert!(env.ok(&["ls"]).await.contains("big"));
    assert_eq!(env.wait_settled("big").await, "failed");

    // Nothing was dropped: every reply arrives, whole, in order.
    for id in 0..requests {
        let v = raw.response().await;
        assert_eq!(v["id"], 100 + id);
        let messages: Vec<&Value> = v["result"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "user_message")
            .collect();
        assert_eq!(messages.len(), 4, "reply {id} is complete");
        for (i, m) in messages.iter().enumerate() {
            let t = m["text"].as_str().unwrap();
            assert_eq!(t.len(), text_len);
            assert!(t.starts_with(&i.to_string()));
        }
    }
    assert!(
        rss_kib(pid) / 1024 < 400,
        "and stays bounded while it drains"
    );
}

/// `tether` starts the daemon from `tether-daemon` beside it (issue 13: the CLI
/// carries none of the daemon). A `tether` copied somewhere alone says what is
/// missing, in one line, for `tether daemon` and for a command that would
/// start one, and starts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tether_without_tether_daemon_beside_it_says_so_in_one_line() {
    let env = TestEnv::new();
    let lonely = env.root.path().join("lonely");
    std::fs::create_dir_all(&lonely).unwrap();
    let tether = lonely.join("tether");
    std::fs::copy(tether_tests::harness::tether_bin(), &tether).unwrap();
    for args in [&["daemon"][..], &["ls"][..]] {
        let out = tokio::process::Command::new(&tether)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", env.root.path())
            .env("TETHER_SOCKET", &env.socket)
            .env("TETHER_CONFIG_DIR", &env.config_dir)
            .env("TETHER_STATE_DIR", &env.state_dir)
            .output()
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "tether {args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains("tether-daemon is not beside"), "{err}");
        assert!(err.contains(&lonely.display().to_string()), "{err}");
        assert!(!env.socket.exists(), "no daemon was started");
    }
}
