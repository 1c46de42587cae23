//! `tether --host` and `tether bridge` (issue 12): every command against a
//! second daemon ("the remote", another TestEnv) through a fake `ssh` on PATH
//! that runs the remote command here (tests/src/fakessh.rs), the bridge on its
//! own, the errors that name the failing part, and the TUI reconnecting
//! through a new ssh after the link drops.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::fakessh::{self, FakeSsh};
use tether_tests::tmux::{self, Pane};
use tether_tests::{Out, Reply, TestEnv};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

const T: Duration = Duration::from_secs(20);

/// Session names in `ls --json` output.
fn names(out: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"));
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// An error said as one line on stderr, exit 1, nothing on stdout.
fn one_line_error(out: &Out) -> String {
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    let text = out.stderr.trim_end();
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(text.starts_with("tether: "), "{text}");
    text.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ls_send_wait_and_logs_run_on_the_remote_daemon() {
    let (_here_model, mut here) = TestEnv::started("").await;
    let (model, there) = TestEnv::started("").await;
    here.ok(&["new", "-d", "-n", "local-one"]).await;
    there.ok(&["new", "-d", "-n", "far"]).await;
    let ssh = FakeSsh::to(&mut here, &there);

    let ls = here.ok(&["--host", "box", "ls", "--json"]).await;
    assert_eq!(
        names(&ls),
        ["far"],
        "the remote's sessions, not this machine's"
    );
    assert_eq!(names(&here.ok(&["ls", "--json"]).await), ["local-one"]);
    assert_eq!(ssh.calls(), ["-T box tether bridge"]);

    model.push(Reply::text("hello from far away"));
    here.ok(&["--host", "me@box:2222", "send", "far", "hi"])
        .await;
    let state = here
        .ok(&["--host", "box", "wait", "far", "--timeout", "20"])
        .await;
    assert_eq!(state.trim(), "idle");
    assert!(
        ssh.calls()
            .contains(&"-T -p 2222 me@box tether bridge".to_string()),
        "{:?}",
        ssh.calls()
    );
    let said = there.events_of("far", "assistant_message").await;
    assert_eq!(said[0]["text"], "hello from far away");

    // logs --json reads the same log through the link.
    let remote_logs = here.ok(&["--host", "box", "logs", "far", "--json"]).await;
    let direct = there.ok(&["logs", "far", "--json"]).await;
    assert_eq!(remote_logs, direct);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tether_host_and_named_hosts_with_remote_settings_from_config() {
    let (_model, there) = TestEnv::started("").await;
    there.ok(&["new", "-d", "-n", "far"]).await;
    let mut here = TestEnv::new();
    let ssh = FakeSsh::to(&mut here, &there);
    here.write_config(
        "[remote]\nssh = [\"ssh\", \"-o\", \"ConnectTimeout=7\"]\n\n\
         [hosts.build]\nssh = \"me@build.example\"\nport = 2200\ncommand = \"tether\"\n",
    );

    here.env.push(("TETHER_HOST".into(), "box".into()));
    assert_eq!(names(&here.ok(&["ls", "--json"]).await), ["far"]);
    assert_eq!(
        ssh.calls().last().unwrap(),
        "-o ConnectTimeout=7 -T box tether bridge"
    );
    // --host wins over TETHER_HOST; a named host brings its user, port and command.
    assert_eq!(
        names(&here.ok(&["--host", "build", "ls", "--json"]).await),
        ["far"]
    );
    assert_eq!(
        ssh.calls().last().unwrap(),
        "-o ConnectTimeout=7 -T -p 2200 me@build.example tether bridge"
    );
    // TETHER_SSH wins over [remote] ssh, split like a shell.
    here.env
        .push(("TETHER_SSH".into(), "ssh -o 'SendEnv=A B'".into()));
    here.ok(&["ls", "--json"]).await;
    assert_eq!(
        ssh.calls().last().unwrap(),
        "-o SendEnv=A B -T box tether bridge"
    );
    // An explicit --socket is this machine's daemon, even with TETHER_HOST set:
    // none runs here, and `daemon status` starts none.
    let socket = here.socket.display().to_string();
    let status = here.run(&["--socket", &socket, "daemon", "status"]).await;
    assert_eq!(status.code, 1, "{status:?}");
    assert!(
        status.stderr.contains("no tether daemon is running"),
        "{status:?}"
    );
    // A bad host is bad usage.
    let bad = here.run(&["--host", "box:ssh", "ls"]).await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("not a TCP port"), "{bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_daemon_is_started_here_and_the_remote_one_is_started_there() {
    let (_model, there) = {
        let model = tether_tests::ModelServer::start().await;
        let env = TestEnv::with_model(&model, "");
        (model, env)
    };
    let mut here = TestEnv::new();
    let _ssh = FakeSsh::to(&mut here, &there);
    assert!(!there.socket.exists());
    let name = here.ok(&["--host", "box", "new", "-d", "-n", "made"]).await;
    assert_eq!(name.trim(), "made");
    assert!(
        !here.socket.exists(),
        "a daemon was started on this machine"
    );
    assert_eq!(names(&there.ok(&["ls", "--json"]).await), ["made"]);

    // Without -C, the remote user's home; a relative -C starts there too.
    let ls: Value = serde_json::from_str(&there.ok(&["ls", "--json"]).await).unwrap();
    let home = std::fs::canonicalize(there.root.path()).unwrap();
    let cwd = std::fs::canonicalize(ls[0]["cwd"].as_str().unwrap()).unwrap();
    assert_eq!(cwd, home);
    here.ok(&["--host", "box", "new", "-d", "-n", "sub", "-C", "work"])
        .await;
    let info: Value = serde_json::from_str(&there.ok(&["ls", "--json"]).await).unwrap();
    let sub = info
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "sub")
        .unwrap();
    assert_eq!(
        std::fs::canonicalize(sub["cwd"].as_str().unwrap()).unwrap(),
        home.join("work")
    );

    // daemon status / stop act there, and status starts none.
    let status: Value = serde_json::from_str(
        &here
            .ok(&["--host", "box", "daemon", "status", "--json"])
            .await,
    )
    .unwrap();
    assert_eq!(status["socket"], there.socket.display().to_string());
    here.ok(&["--host", "box", "daemon", "stop"]).await;
    let after = here.run(&["--host", "box", "daemon", "status"]).await;
    assert_eq!(
        one_line_error(&after),
        "tether: no tether daemon is running on box"
    );
    here.wait_until("the remote daemon's socket to go", T, || async {
        !there.socket.exists()
    })
    .await;
    let again = here.run(&["--host", "box", "daemon", "status"]).await;
    assert_eq!(again.code, 1, "status started a daemon there: {again:?}");
    assert!(!there.socket.exists(), "status started a daemon there");
    assert!(!here.socket.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_and_logs_follow_work_through_the_link() {
    let (model, there) = TestEnv::started("[approvals]\ndefault = \"ask\"\n").await;
    there.ok(&["new", "-d", "-n", "far"]).await;
    let mut here = TestEnv::new();
    let _ssh = FakeSsh::to(&mut here, &there);
    let mut follow = here
        .cli(&["--host", "box", "logs", "far", "--follow", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(follow.stdout.take().unwrap()).lines();

    model.push(Reply::tool_call(
        "call_far",
        "shell",
        json!({"command": "echo ran-over-ssh"}),
    ));
    model.push(Reply::text("done remotely"));
    here.ok(&["--host", "box", "send", "far", "run it"]).await;
    let state = here
        .ok(&["--host", "box", "wait", "far", "--timeout", "20"])
        .await;
    assert_eq!(state.trim(), "awaiting_approval");
    let approved = here.ok(&["--host", "box", "approve", "far", "--all"]).await;
    assert_eq!(approved.trim(), "call_far");
    let state = here
        .ok(&["--host", "box", "wait", "far", "--timeout", "20"])
        .await;
    assert_eq!(state.trim(), "idle");

    // The follower printed it all as it happened, through its own ssh.
    let mut seen = Vec::new();
    tokio::time::timeout(T, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.contains("done remotely");
            seen.push(serde_json::from_str::<Value>(&line).unwrap());
            if done {
                break;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the follower did not print the answer: {seen:?}"));
    let result = seen
        .iter()
        .find(|e| e["type"] == "tool_result")
        .expect("the tool result");
    assert!(
        result["output"].as_str().unwrap().contains("ran-over-ssh"),
        "{result}"
    );
    assert!(seen.iter().any(|e| e["type"] == "approval_decided"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_answers_a_hello_and_exits_when_stdin_closes() {
    // No daemon yet: the bridge starts one, as any command does.
    let model = tether_tests::ModelServer::start().await;
    let env = TestEnv::with_model(&model, "");
    let mut bridge = env
        .cli(&["bridge"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = bridge.stdin.take().unwrap();
    // In two pieces, as a slow link may deliver it.
    stdin
        .write_all(br#"{"jsonrpc":"2.0","id":1,"method":"hel"#)
        .await
        .unwrap();
    stdin.flush().await.unwrap();
    stdin
        .write_all(b"lo\",\"params\":{\"protocol_version\":1}}\n")
        .await
        .unwrap();
    drop(stdin);
    let out = tokio::time::timeout(T, bridge.wait_with_output())
        .await
        .expect("the bridge exits when its stdin closes")
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "only the daemon's answer: {stdout}");
    let hello: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(hello["id"], 1);
    assert_eq!(hello["result"]["protocol_version"], 1);
    assert_eq!(out.stderr, b"");
    assert!(env.socket.exists(), "the bridge started the daemon");

    // No daemon to reach: one line on stderr, exit 1, nothing on stdout.
    let mut broken = TestEnv::new();
    broken
        .env
        .push(("TETHER_SOCKET".into(), "/dev/null/tether.sock".into()));
    let out = broken.run(&["bridge"]).await;
    let e = one_line_error(&out);
    assert!(e.contains("/dev/null"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_mismatch_through_the_bridge_is_one_line_naming_both_versions() {
    let there = TestEnv::new();
    let mut here = TestEnv::new();
    let ssh = FakeSsh::to(&mut here, &there);
    // Remote tethers that answer the hello with canned lines: a newer one,
    // and an older daemon that refuses ours.
    let newer = ssh.dir().join("newer-tether");
    fakessh::script(
        &newer,
        "read line\necho '{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocol_version\":2,\"daemon_version\":\"9.0.0\",\"pid\":1}}'\n",
    );
    let older = ssh.dir().join("older-tether");
    fakessh::script(
        &older,
        "read line\necho '{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32006,\"message\":\"protocol version mismatch: the client speaks 1, the daemon speaks 0; restart the daemon\"}}'\n",
    );
    here.write_config(&format!(
        "[hosts.new]\nssh = \"box\"\ncommand = \"{}\"\n\n[hosts.old]\nssh = \"box\"\ncommand = \"{}\"\n",
        newer.display(),
        older.display()
    ));
    let e = one_line_error(&here.run(&["--host", "new", "ls"]).await);
    assert!(
        e.contains("this tether (0.1.0) speaks protocol 1")
            && e.contains("the daemon on new speaks protocol 2 (tether 9.0.0)")
            && e.ends_with("upgrade tether on this machine"),
        "{e}"
    );
    let e = one_line_error(&here.run(&["--host", "old", "ls"]).await);
    assert!(
        e.contains("speaks protocol 1")
            && e.contains("speaks protocol 0")
            && e.contains("upgrade tether on old"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_ssh_the_remote_shell_the_remote_tether_or_the_daemon() {
    let there = TestEnv::new();
    // ssh itself cannot connect (exit 255).
    let mut here = TestEnv::new();
    let _ssh = FakeSsh::scripted(
        &mut here,
        "echo 'ssh: connect to host box port 22: Connection refused' >&2\nexit 255\n",
    );
    let e = one_line_error(&here.run(&["--host", "box", "ls"]).await);
    assert_eq!(
        e,
        "tether: ssh could not connect to box: ssh: connect to host box port 22: Connection refused"
    );

    // No tether on the remote PATH (exit 127 from the remote shell).
    let mut here = TestEnv::new();
    let _ssh = FakeSsh::without_tether(&mut here, &there);
    let e = one_line_error(&here.run(&["--host", "box", "ls"]).await);
    assert!(
        e.starts_with("tether: `tether` was not found on box"),
        "{e}"
    );
    assert!(
        e.contains("non-interactive") && e.contains("PATH") && e.contains("[remote]"),
        "{e}"
    );

    // The remote tether cannot reach its daemon: its own message, from there.
    let mut here = TestEnv::new();
    let _ssh = FakeSsh::with_remote_env(&mut here, &there, "TETHER_SOCKET=/dev/null/tether.sock");
    let e = one_line_error(&here.run(&["--host", "box", "ls"]).await);
    assert!(e.starts_with("tether: on box: "), "{e}");
    assert!(e.contains("/dev/null/tether.sock"), "{e}");

    // The daemon refuses (as it refuses another user).
    let mut here = TestEnv::new();
    let ssh = FakeSsh::to(&mut here, &there);
    let refusing = ssh.dir().join("refusing-tether");
    fakessh::script(
        &refusing,
        "read line\necho '{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32012,\"message\":\"permission denied: this daemon serves only its owner (your uid: 1234)\"}}'\n",
    );
    here.write_config(&format!("[remote]\ncommand = \"{}\"\n", refusing.display()));
    let e = one_line_error(&here.run(&["--host", "box", "ls"]).await);
    assert_eq!(
        e,
        "tether: the daemon on box refused the connection: permission denied: this daemon serves only its owner (your uid: 1234)"
    );

    // No ssh to run at all.
    let mut here = TestEnv::new();
    here.env
        .push(("TETHER_SSH".into(), "/nonexistent/ssh -v".into()));
    let e = one_line_error(&here.run(&["--host", "box", "ls"]).await);
    assert!(
        e.starts_with("tether: cannot run `/nonexistent/ssh` (ssh, from TETHER_SSH)"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tui_attaches_through_ssh_and_reconnects_through_a_new_one_when_the_link_drops() {
    tmux::require();
    let (model, there) = TestEnv::started("").await;
    there.ok(&["new", "-d", "-n", "far"]).await;
    let mut here = TestEnv::new();
    let ssh = FakeSsh::to(&mut here, &there);
    let pane = Pane::start(
        &here,
        "remote",
        &["--host", "box", "attach", "far"],
        100,
        30,
    );
    pane.wait_text("session created").await;
    model.push(Reply::text("answer over ssh"));
    pane.type_text("typed on the laptop");
    pane.keys(&["Enter"]);
    pane.wait_text("answer over ssh").await;
    pane.wait_format("#{pane_title}", "tether@box: far: idle")
        .await;
    assert_eq!(ssh.pids().len(), 1, "one ssh: {:?}", ssh.calls());

    // The link drops (ssh dies) and the host is unreachable for a while: the
    // TUI says so, naming ssh, and keeps trying.
    ssh.set_down(true);
    let first = ssh.pids()[0];
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let down = pane.wait_text("ssh could not connect to box").await;
    assert!(down.contains("reconnecting"), "{down}");
    here.wait_until("a second ssh", T, || async { ssh.pids().len() >= 2 })
        .await;
    let calls = ssh.calls();
    assert!(
        calls[1].contains("BatchMode=yes"),
        "a reconnect asks nothing: {calls:?}"
    );
    // Back up: a new ssh, and the TUI resumes from its last seq.
    ssh.set_down(false);
    model.push(Reply::text("new output after the drop"));
    there.ok(&["send", "far", "sent while reconnecting"]).await;
    let screen = pane.wait_text("new output after the drop").await;
    assert!(screen.contains("answer over ssh"), "{screen}");
    assert_eq!(
        screen.matches("answer over ssh").count(),
        1,
        "resumed from its last seq, nothing twice:\n{screen}"
    );
    // And it still sends through the new link.
    model.push(Reply::text("typing still works"));
    pane.type_text("again");
    pane.keys(&["Enter"]);
    pane.wait_text("typing still works").await;
    assert!(
        !here.socket.exists(),
        "a daemon was started on this machine"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tui_list_shows_the_remote_sessions_and_creates_them_in_the_remote_home() {
    tmux::require();
    let (_model, there) = TestEnv::started("").await;
    there.ok(&["new", "-d", "-n", "far"]).await;
    let mut here = TestEnv::new();
    let _ssh = FakeSsh::to(&mut here, &there);
    let pane = Pane::start(&here, "list", &["--host", "box"], 110, 30);
    pane.wait_text("far").await;
    pane.wait_format("#{pane_title}", "tether@box").await;
    // The form offers the remote user's home, not this machine's directory.
    pane.keys(&["n"]);
    let home = there.root.path().display().to_string();
    let form = pane.wait_text("new session").await;
    assert!(form.contains(&home), "{form}");
    assert!(
        !form.contains(&here.work_dir.display().to_string()),
        "{form}"
    );
    pane.type_text("made-in-tui");
    pane.keys(&["Enter"]);
    pane.wait_text("session created").await;
    let ls: Value = serde_json::from_str(&there.ok(&["ls", "--json"]).await).unwrap();
    let made = ls
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "made-in-tui")
        .unwrap_or_else(|| panic!("not created there: {ls}"));
    assert_eq!(made["cwd"], home);
    assert!(
        !here.socket.exists(),
        "a daemon was started on this machine"
    );
}
