//! The real TUI in tmux against a real daemon (issue 4's acceptance, as a person
//! would check it).
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::json;
use tether_tests::tmux::{self, Pane, TMUX_MISSING};
use tether_tests::{Reply, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_streams_an_answer_detaches_with_0_and_attach_brings_it_all_back() {
    tmux::require();
    let (model, env) = TestEnv::started("").await;
    let pane = Pane::start(&env, "new", &["new", "-n", "demo"], 120, 35);
    pane.wait_text("session created").await;
    let words: String = (0..60).map(|i| format!("streamed{i} ")).collect();
    model.push(Reply::text(words.trim()).slow(Duration::from_millis(40)));
    pane.type_text("hello from tmux");
    pane.keys(&["Enter"]);
    pane.wait_text("› hello from tmux").await;
    // Token by token: a partial answer is on screen before the turn completes.
    let mid = pane
        .wait_for("a partial answer", |s| {
            s.contains("streamed3") && !s.contains("turn completed")
        })
        .await;
    assert!(
        !mid.contains("streamed59"),
        "the whole answer arrived at once:\n{mid}"
    );
    pane.wait_text("streamed59").await;
    pane.wait_text("turn completed").await;

    pane.keys(&["C-b", "d"]);
    assert_eq!(pane.wait_exit().await, "exit=0");
    pane.wait_text("DETACHED-SHELL").await;

    // The agent goes on while nobody is attached.
    model.push(Reply::text("answer while detached"));
    env.ok(&["send", "demo", "message while detached"]).await;
    env.wait_settled("demo").await;
    let again = Pane::start(&env, "again", &["attach", "demo"], 120, 35);
    let screen = again.wait_text("answer while detached").await;
    assert!(
        screen.contains("message while detached") && screen.contains("hello from tmux"),
        "{screen}"
    );
    model.push(Reply::text("typing works"));
    again.type_text("still typing");
    again.keys(&["Enter"]);
    again.wait_text("› still typing").await;
    again.wait_text("typing works").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tuis_see_the_same_answer_and_approval_and_ctrl_y_in_one_decides_for_both() {
    tmux::require();
    let (model, env) = TestEnv::started("[approvals]\ndefault = \"ask\"\n").await;
    env.ok(&["new", "-d", "-n", "pair"]).await;
    let a = Pane::start(&env, "a", &["attach", "pair"], 100, 30);
    let b = Pane::start(&env, "b", &["attach", "pair"], 100, 30);
    a.wait_text("session created").await;
    b.wait_text("session created").await;
    model.push(Reply::text("answer seen by both"));
    a.type_text("from pane a");
    a.keys(&["Enter"]);
    for p in [&a, &b] {
        p.wait_text("› from pane a").await;
        p.wait_text("answer seen by both").await;
    }
    model.push(Reply::tool_call(
        "call_ok",
        "shell",
        json!({"command": "echo approved-and-ran"}),
    ));
    model.push(Reply::text("all done"));
    b.type_text("run something");
    b.keys(&["Enter"]);
    for p in [&a, &b] {
        // The chip shows once the prompt has armed.
        p.wait_text("Ctrl-y  approve").await;
    }
    a.keys(&["C-y"]);
    for p in [&a, &b] {
        p.wait_text("all done").await;
        let s = p
            .wait_for("the prompt to go away", |s| !s.contains("Ctrl-y  approve"))
            .await;
        assert!(
            s.contains("approved-and-ran"),
            "the result shows in both:\n{s}"
        );
    }
    let ls: serde_json::Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(ls[0]["pending_approvals"], json!([]));
    assert_eq!(env.events_of("pair", "approval_decided").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_of_the_daemon_under_the_tui_is_survived_without_duplicates() {
    tmux::require();
    let (model, mut env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "phoenix"]).await;
    let pane = Pane::start(&env, "p", &["attach", "phoenix"], 100, 30);
    pane.wait_text("session created").await;
    model.push(Reply::text("before the crash"));
    pane.type_text("first");
    pane.keys(&["Enter"]);
    pane.wait_text("before the crash").await;
    // Shown is not stored: the answer streams to the screen before the turn
    // is committed, and a kill before that resumes the turn (on PostgreSQL,
    // whose commits take longer, CI saw exactly that). The turn is over first.
    assert_eq!(env.wait_settled("phoenix").await, "idle");

    // The TUI starts a daemon again after a crash; holding the start lock keeps it
    // waiting, so the test's own daemon can take a message while the TUI is away.
    let lock = env.hold_spawn_lock();
    env.kill9().await;
    pane.wait_text("reconnecting").await;
    env.start_daemon().await;
    model.push(Reply::text("sent meanwhile answered"));
    env.ok(&["send", "phoenix", "while the tui was away"]).await;
    env.wait_settled("phoenix").await;
    drop(lock);
    pane.wait_text("sent meanwhile answered").await;
    let s = pane
        .wait_for("the banner to go", |s| !s.contains("reconnecting"))
        .await;
    assert_eq!(s.matches("› first").count(), 1, "no message twice:\n{s}");
    assert_eq!(
        s.matches("before the crash").count(),
        1,
        "no message twice:\n{s}"
    );
    assert_eq!(s.matches("› while the tui was away").count(), 1, "{s}");
    // And it still works.
    model.push(Reply::text("after the reconnect"));
    pane.type_text("second");
    pane.keys(&["Enter"]);
    pane.wait_text("after the reconnect").await;
}

/// The pid of the daemon serving the env's socket.
async fn daemon_pid(env: &TestEnv) -> u64 {
    let status: serde_json::Value =
        serde_json::from_str(&env.ok(&["daemon", "status", "--json"]).await).unwrap();
    status["pid"]
        .as_u64()
        .expect("a pid in `daemon status --json`")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_kill_9_the_tui_starts_a_daemon_again_and_shows_states_as_unknown_meanwhile() {
    tmux::require();
    let (model, mut env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "lazarus"]).await;
    let list = Pane::start(&env, "list", &[], 100, 30);
    let pane = Pane::start(&env, "s", &["attach", "lazarus"], 100, 30);
    pane.wait_text("session created").await;
    // An answer that streams for minutes (a word every 500 ms, under the stall timeout).
    let words: String = (0..400).map(|i| format!(" w{i}")).collect();
    model.push(
        Reply::text(format!("streaming-before-crash{words}")).slow(Duration::from_millis(500)),
    );
    pane.type_text("go");
    pane.keys(&["Enter"]);
    pane.wait_for("a streaming answer, running, 1 attached", |s| {
        s.contains("streaming-before-crash")
            && s.contains('▌')
            && s.contains(" running ")
            && s.contains("1 attached")
    })
    .await;
    list.wait_for("the session running in the list", |s| {
        s.contains("lazarus") && s.contains("running")
    })
    .await;
    let old_pid = daemon_pid(&env).await;

    // Hold the start lock so the disconnected screens can be looked at.
    let lock = env.hold_spawn_lock();
    env.kill9().await;
    let s = pane
        .wait_for("the session view to show the state as unknown", |s| {
            s.contains(" unknown ")
        })
        .await;
    assert!(
        s.contains("starting it again"),
        "the banner says what happens:\n{s}"
    );
    assert!(
        !s.contains(" running ") && !s.contains("attached") && !s.contains('▌'),
        "nothing is shown as live while disconnected:\n{s}"
    );
    assert!(
        s.contains("streaming-before-crash"),
        "the text so far stays:\n{s}"
    );
    let l = list
        .wait_for("the list to show the state as unknown", |s| {
            s.contains("lazarus") && s.contains("unknown")
        })
        .await;
    assert!(!l.contains("running"), "{l}");

    // Nobody else starts one: the TUIs do, exactly one of them.
    model.push(Reply::text("answered by the new daemon"));
    drop(lock);
    let s = pane
        .wait_for("the TUI to reconnect to a new daemon", |s| {
            !s.contains("reconnecting") && !s.contains(" unknown ")
        })
        .await;
    assert!(!s.contains("starting it again"), "{s}");
    list.wait_for("the list to be live again", |s| {
        s.contains("lazarus") && !s.contains("unknown") && !s.contains("reconnecting")
    })
    .await;
    let ls: serde_json::Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(ls[0]["name"], "lazarus", "{ls}");
    let new_pid = daemon_pid(&env).await;
    assert_ne!(new_pid, old_pid, "a new daemon serves the socket");
    // And it works: the interrupted turn resumes on the new daemon.
    pane.wait_text("answered by the new daemon").await;
    model.push(Reply::text("typed after the restart"));
    pane.type_text("again");
    pane.keys(&["Enter"]);
    pane.wait_text("typed after the restart").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_daemon_stop_the_tui_waits_for_a_daemon_and_does_not_start_one() {
    tmux::require();
    let (model, mut env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "calm"]).await;
    let pane = Pane::start(&env, "c", &["attach", "calm"], 100, 30);
    pane.wait_text("session created").await;
    env.ok(&["daemon", "stop"]).await;
    assert_eq!(env.wait_daemon_exit().await, 0);
    let s = pane.wait_text("waiting until one starts").await;
    assert!(s.contains(" unknown "), "{s}");
    // Had the TUI started a daemon, the test's own could not start now
    // (`start_daemon` checks that its child serves the socket).
    env.start_daemon().await;
    pane.wait_for("the TUI to reconnect", |s| !s.contains("reconnecting"))
        .await;
    model.push(Reply::text("back again"));
    pane.type_text("hello");
    pane.keys(&["Enter"]);
    pane.wait_text("back again").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_40x10_terminal_runs_the_list_and_session_and_detaches_cleanly() {
    tmux::require();
    let (model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "tiny"]).await;
    let pane = Pane::start(&env, "tiny", &[], 40, 10);
    pane.wait_text("tiny").await;
    pane.wait_text("sessions (1)").await;
    pane.keys(&["Enter"]);
    pane.wait_text("Type a message").await;
    model.push(Reply::text("small answer"));
    pane.type_text("hi");
    pane.keys(&["Enter"]);
    pane.wait_text("small answer").await;
    pane.keys(&["C-b", "d"]);
    assert_eq!(pane.wait_exit().await, "exit=0");
    let s = pane.wait_text("DETACHED-SHELL").await;
    assert!(
        !s.contains("Type a message"),
        "the terminal was restored:\n{s}"
    );
}

/// Without tmux a TUI test fails with a message saying to install it; it never
/// reports "passed" having run nothing. Runs one of this file's tests again in a
/// child test process whose PATH has no tmux.
#[test]
fn without_tmux_a_tui_test_fails_and_says_to_install_it() {
    let exe = std::env::current_exe().unwrap();
    let empty = tempfile::tempdir().unwrap();
    // The test's name in this binary: bare in tui.rs's own, under `tui::` in
    // on_postgres.rs, which compiles this file as a module.
    let module = module_path!()
        .split_once("::")
        .map(|(_, m)| format!("{m}::"))
        .unwrap_or_default();
    let name = format!("{module}a_40x10_terminal_runs_the_list_and_session_and_detaches_cleanly");
    let out = std::process::Command::new(exe)
        .args(["--exact", &name, "--test-threads=1"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "the test passed without tmux:\n{text}"
    );
    assert!(text.contains(TMUX_MISSING), "{text}");
    assert!(text.contains("1 failed"), "{text}");
}

/// `kill -TERM`, `-HUP` or `-INT` of the TUI leaves through the terminal guard:
/// the shell is back on the normal screen with the cursor shown and its title
/// back, and the exit status says which signal it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_to_the_tui_restores_the_terminal() {
    tmux::require();
    let (_model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "sig"]).await;
    for (name, signal, code) in [
        ("term", "TERM", 143),
        ("hup", "HUP", 129),
        ("int", "INT", 130),
    ] {
        let pane = Pane::start(&env, name, &["attach", "sig"], 100, 30);
        pane.wait_text("Type a message").await;
        assert_eq!(
            pane.format("#{alternate_on}"),
            "1",
            "the TUI runs in the alternate screen"
        );
        pane.wait_format("#{pane_title}", "tether: sig: idle").await;
        let pid = pane.tether_pid();
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(
            pane.wait_exit().await,
            format!("exit={code}"),
            "SIG{signal}"
        );
        let s = pane.wait_text("DETACHED-SHELL").await;
        assert!(
            !s.contains("Type a message"),
            "SIG{signal}: the TUI's screen is gone:\n{s}"
        );
        assert_eq!(
            pane.format("#{alternate_on}"),
            "0",
            "SIG{signal}: back on the normal screen"
        );
        assert_eq!(
            pane.format("#{cursor_flag}"),
            "1",
            "SIG{signal}: the cursor shows"
        );
        let title = pane.format("#{pane_title}");
        assert!(
            !title.starts_with("tether"),
            "SIG{signal}: the title from before is not back: {title}"
        );
    }
}

/// A multi-line paste whose lines end in CR (as tmux and xterm send them) keeps
/// its lines, and is sent as one message when Enter is pressed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paste_with_cr_line_ends_keeps_its_lines() {
    tmux::require();
    let (model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "paste"]).await;
    let pane = Pane::start(&env, "paste", &["attach", "paste"], 100, 30);
    pane.wait_text("Type a message").await;
    pane.paste("first pasted line\nsecond pasted line\nthird pasted line");
    let s = pane
        .wait_for("three lines in the message box", |s| {
            s.lines().any(|l| {
                l.trim_start_matches('│')
                    .trim_start()
                    .starts_with("third pasted line")
            }) && s.lines().any(|l| {
                l.trim_start_matches('│')
                    .trim_start()
                    .starts_with("second pasted line")
            })
        })
        .await;
    assert!(
        !s.contains("› first"),
        "a paste is not sent by itself:\n{s}"
    );
    model.push(Reply::text("got three lines"));
    pane.keys(&["Enter"]);
    pane.wait_text("got three lines").await;
    let sent = env.events_of("paste", "user_message").await;
    assert_eq!(sent.len(), 1, "one message");
    assert_eq!(
        sent[0]["text"],
        "first pasted line\nsecond pasted line\nthird pasted line"
    );
}

/// A real `shell` call printing colours, a CR progress line and a tab: the pane
/// shows colours (as tmux records them), the last overwrite, the tab expanded, and
/// never the escape sequences as text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coloured_cr_and_tab_output_of_a_tool_shows_as_a_terminal_would() {
    tmux::require();
    let (model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "paint"]).await;
    let pane = Pane::start(&env, "paint", &["attach", "paint"], 100, 30);
    pane.wait_text("Type a message").await;
    model.push(Reply::tool_call(
        "call_paint",
        "shell",
        json!({"command": "printf '\\033[31mred-word\\033[0m plain\\n10%%\\r55%%\\rdone-100%%\\ncol1\\tcol2\\n\\033]0;title\\007end\\n'"}),
    ));
    model.push(Reply::text("painted"));
    pane.type_text("paint");
    pane.keys(&["Enter"]);
    pane.wait_text("painted").await;
    pane.keys(&["C-o"]);
    let screen = pane.wait_text("│ end").await;
    // The output's lines (the command itself, in the arguments, has the escapes as text).
    let s: String = screen
        .lines()
        .filter(|l| l.starts_with("    │ "))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(s.contains("│ done-100%"), "{screen}");
    assert!(s.contains("red-word plain"), "{s}");
    assert!(
        s.contains("col1    col2"),
        "the tab expanded to column 8:\n{s}"
    );
    assert!(
        !s.contains("55%") && !s.contains("10%"),
        "the last overwrite wins:\n{s}"
    );
    assert!(
        !s.contains("[31m") && !s.contains("[0m") && !s.contains("title"),
        "{s}"
    );
    let styled = pane.screen_with_styles();
    let line = styled
        .lines()
        .find(|l| l.contains("│") && l.contains("red-word"))
        .expect("the red line");
    let at = line.find("red-word").unwrap();
    let before = &line[..at];
    assert!(
        before.ends_with("\u{1b}[31m") || before.ends_with("\u{1b}[38;5;1m"),
        "the word is red: {line:?}"
    );
    assert!(
        !line.contains("\u{1b}]"),
        "no OSC reached the terminal: {line:?}"
    );
}

/// Issue 7 items 1, 2 and 16, as a person meets them: a destructive `shell` call
/// waits; its long command shows whole; an ordinary sentence full of y and n,
/// and Enter, decide nothing; Ctrl-y approves; inside tmux the status bar says
/// to press the prefix twice, and doing so detaches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_with_a_call_waiting_decides_nothing_and_ctrl_y_approves_it() {
    tmux::require();
    let (model, env) = TestEnv::started("[approvals]\ndefault = \"ask\"\n").await;
    let victim = env.work_dir.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("keep.txt"), "precious").unwrap();
    env.ok(&["new", "-d", "-n", "guard"]).await;
    let pane = Pane::start(&env, "guard", &["attach", "guard"], 120, 35);
    pane.wait_text("session created").await;
    let steps: Vec<String> = (0..12).map(|i| format!("echo step-{i}")).collect();
    let command = format!("{} && rm -rf victim && echo gone", steps.join(" && "));
    model.push(Reply::tool_call(
        "call_rm",
        "shell",
        json!({"command": command}),
    ));
    model.push(Reply::text("the directory is gone"));
    model.push(Reply::text("read your message"));
    pane.type_text("clean up please");
    pane.keys(&["Enter"]);
    let s = pane.wait_text("Ctrl-y  approve").await;
    // The whole command, its tail included, not cut with an ellipsis.
    assert!(
        s.contains("rm -rf victim && echo gone"),
        "the command's tail is hidden:\n{s}"
    );
    assert!(
        s.contains("Ctrl-b Ctrl-b d detach"),
        "no tmux detach hint:\n{s}"
    );

    pane.type_text("hey, yes do it now: any y or n will do");
    pane.keys(&["Enter"]);
    pane.type_text("y");
    pane.keys(&["Enter"]);
    pane.wait_text("the model sees it once the waiting call")
        .await;
    // A paste the terminal does not mark arrives as keys: the Ctrl-y and Ctrl-d
    // bytes inside it are part of a burst and decide nothing.
    pane.paste_unmarked("line1\u{19}yes\u{4}no");
    let s = pane.wait_text("line1yesno").await;
    assert!(!s.contains("reason"), "a deny dialog opened:\n{s}");
    let ls: serde_json::Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(ls[0]["pending_approvals"], json!(["call_rm"]), "{ls}");
    assert!(env.events_of("guard", "approval_decided").await.is_empty());
    assert!(victim.join("keep.txt").exists(), "the call ran");

    pane.keys(&["C-y"]);
    env.wait_event("guard", "the approval", |e| {
        e["type"] == "approval_decided" && e["decision"] == "approved"
    })
    .await;
    pane.wait_text("the directory is gone").await;
    pane.wait_text("read your message").await;
    assert!(!victim.exists(), "approved, yet the call did not run");

    pane.keys(&["C-b", "C-b", "d"]);
    assert_eq!(pane.wait_exit().await, "exit=0");
}

/// Issue 7 item 16: a bad `[keys]` entry is on screen from the start, not only
/// printed after the TUI exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_keys_entry_shows_at_start() {
    tmux::require();
    let (_model, env) = TestEnv::started("[keys]\napprove = \"y\"\n").await;
    let pane = Pane::start(&env, "keys", &[], 120, 30);
    let s = pane.wait_text("sessions (0)").await;
    assert!(
        s.contains("[keys] approve: y can be typed or pasted"),
        "no warning at start:\n{s}"
    );
    pane.keys(&["q"]);
    assert_eq!(pane.wait_exit().await, "exit=0");
}

/// Issue 11 item 3, as a person does it: `Ctrl-t` on a waiting `ls -la` offers
/// the rule `ls` for this session; `Ctrl-y` adds it and approves the call; the
/// next `ls src` runs without a prompt, and `rm x` still asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn always_allow_ls_from_the_tui_lets_ls_run_and_rm_still_asks() {
    tmux::require();
    let (model, env) = TestEnv::started("[approvals]\ndefault = \"ask\"\n").await;
    std::fs::create_dir_all(env.work_dir.join("src")).unwrap();
    std::fs::write(env.work_dir.join("src").join("lib.rs"), "").unwrap();
    std::fs::write(env.work_dir.join("x"), "keep").unwrap();
    env.ok(&["new", "-d", "-n", "always"]).await;
    let pane = Pane::start(&env, "always", &["attach", "always"], 100, 30);
    pane.wait_text("session created").await;
    model.push(Reply::tool_call(
        "c1",
        "shell",
        json!({"command": "ls -la"}),
    ));
    model.push(Reply::tool_call(
        "c2",
        "shell",
        json!({"command": "ls src"}),
    ));
    model.push(Reply::tool_call("c3", "shell", json!({"command": "rm x"})));
    model.push(Reply::text("all listed"));
    pane.type_text("list the files");
    pane.keys(&["Enter"]);
    pane.wait_text("Ctrl-t  always").await;
    pane.keys(&["C-t"]);
    // The whole step, not a capture taken while the frame is being drawn.
    let s = pane
        .wait_for("the always-allow step", |s| {
            s.contains("always allow  shell ls") && s.contains("(•) this session")
        })
        .await;
    assert!(s.contains("$ ls -la"), "the call stays on screen:\n{s}");
    assert!(env.events_of("always", "approval_decided").await.is_empty());
    // Not a wait for a condition: a person's pause between two keys, longer than
    // the 25 ms in which the TUI takes a key for part of an unmarked paste.
    tokio::time::sleep(Duration::from_millis(150)).await;
    pane.keys(&["C-y"]);
    pane.wait_for("the next call and the rule in the transcript", |s| {
        s.contains("$ rm x") && s.contains("always allow: shell \"ls\"")
    })
    .await;
    let asked: Vec<String> = env
        .events_of("always", "approval_requested")
        .await
        .iter()
        .map(|e| e["call_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(asked, ["c1", "c3"], "ls src ran without asking");
    let rules: serde_json::Value =
        serde_json::from_str(&env.ok(&["approvals", "always", "--json"]).await).unwrap();
    assert_eq!(rules[0]["prefix"], "ls", "{rules}");
    assert_eq!(rules[0]["scope"], "session", "{rules}");
    assert!(env.work_dir.join("x").exists(), "rm ran without asking");
    env.ok(&["deny", "always", "c3"]).await;
    pane.wait_text("all listed").await;
    assert!(env.work_dir.join("x").exists());
    pane.keys(&["C-b", "C-b", "d"]);
    assert_eq!(pane.wait_exit().await, "exit=0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_g_edits_the_draft_in_editor_and_the_text_comes_back_unsent() {
    tmux::require();
    let (model, mut env) = TestEnv::started("").await;
    // The editor: it notes what the terminal was like (cooked, the normal
    // screen), then adds a line to the file it was given.
    let seen = env.root.path().join("editor-saw.txt");
    let editor = env.root.path().join("editor.sh");
    tether_tests::fakessh::script(
        &editor,
        &format!(
            "{{ stty -a; echo \"alternate=$(tmux display-message -p '#{{alternate_on}}')\"; }} > '{}'\n\
             printf '\\nwritten by the editor\\n' >> \"$1\"",
            seen.display()
        ),
    );
    env.env
        .push(("EDITOR".into(), editor.display().to_string()));
    env.env.push(("VISUAL".into(), "false".into()));
    env.ok(&["new", "-d", "-n", "ed"]).await;
    let pane = Pane::start(&env, "ed", &["attach", "ed"], 100, 30);
    pane.wait_text("session created").await;
    pane.type_text("typed first");
    pane.keys(&["C-g"]);
    let s = pane.wait_text("written by the editor").await;
    assert!(
        s.lines().any(|l| l.starts_with("│typed first ")),
        "the draft kept its text, on a line of its own:\n{s}"
    );
    assert_eq!(
        pane.format("#{alternate_on}"),
        "1",
        "back in the TUI's screen"
    );
    let saw = std::fs::read_to_string(&seen).expect("the editor ran");
    assert!(
        saw.contains("alternate=0"),
        "the editor had the normal screen: {saw}"
    );
    assert!(
        saw.split_whitespace().any(|w| w == "icanon"),
        "and a cooked terminal, not raw mode: {saw}"
    );
    assert!(
        env.events_of("ed", "user_message").await.is_empty(),
        "nothing was sent"
    );
    // Enter sends the edited text, both lines.
    model.push(Reply::text("got both lines"));
    pane.keys(&["Enter"]);
    pane.wait_text("got both lines").await;
    let sent = env.events_of("ed", "user_message").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["text"], "typed first\nwritten by the editor");
    // The TUI still takes keys as before.
    pane.type_text("still typing");
    pane.wait_text("│still typing").await;

    // An editor that fails leaves the draft and says why.
    env.env.retain(|(k, _)| k != "EDITOR");
    env.env.push(("EDITOR".into(), "exit 3;".into()));
    let failing = Pane::start(&env, "fail", &["attach", "ed"], 100, 30);
    failing.wait_text("got both lines").await;
    failing.type_text("my draft");
    failing.keys(&["C-g"]);
    let s = failing.wait_text("exited with status 3").await;
    assert!(s.contains("the message is unchanged"), "{s}");
    assert!(s.contains("│my draft"), "{s}");
}
