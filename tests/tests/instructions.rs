//! What a session's model is told before the conversation: the default system prompt
//! (or `[context] system_prompt`), the project's `AGENTS.md` / `CLAUDE.md`, watched
//! and applied from the next model call, then `--instructions` (issue 9, item 7).
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tether_tests::harness::save_by_rename;
use tether_tests::model::RecordedRequest;
use tether_tests::{ModelServer, Reply, TestEnv};

const T: Duration = Duration::from_secs(20);

/// The system message of a request: the first message, whose content is a plain
/// string (what every OpenAI-compatible server accepts).
fn system(req: &RecordedRequest) -> String {
    let messages = req.messages();
    let first = messages.first().expect("a message");
    assert_eq!(first["role"], "system", "{first}");
    first["content"]
        .as_str()
        .unwrap_or_else(|| panic!("the system content is not a plain string: {first}"))
        .to_string()
}

/// Today's date in UTC, `YYYY-MM-DD`.
fn today() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%F"])
        .output()
        .expect("run date");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn canonical(p: &Path) -> String {
    p.canonicalize().unwrap().display().to_string()
}

/// Waits for an `instructions_changed` event of `name` for `file` with this `removed`.
async fn changed(env: &TestEnv, name: &str, file: &str, removed: bool) -> Value {
    env.wait_event(name, &format!("instructions_changed for {file}"), |e| {
        e["type"] == "instructions_changed"
            && e["path"] == file
            && e.get("removed").and_then(Value::as_bool).unwrap_or(false) == removed
    })
    .await
}

/// Sends `text`, waits for the turn to end, returns the request it made (the `n`th).
async fn turn(env: &TestEnv, model: &ModelServer, name: &str, text: &str, n: usize) -> String {
    model.push(Reply::text("ok"));
    env.ok(&["send", name, text]).await;
    assert_eq!(env.wait_settled(name).await, "idle");
    let reqs = model.wait_for_requests(n, T).await;
    system(&reqs[n - 1])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_md_is_in_the_system_message_and_an_edit_applies_to_the_next_call() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let agents = env.work_dir.join("AGENTS.md");
    std::fs::write(&agents, "Run `make check` before committing. MARKER-ONE\n").unwrap();
    env.start_daemon().await;
    let pid = env.daemon_pid();
    let elsewhere = env.root.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    env.ok(&[
        "new",
        "-d",
        "-n",
        "other",
        "-C",
        elsewhere.to_str().unwrap(),
    ])
    .await;

    let before = today();
    model.push(Reply::text("ok"));
    env.ok(&["new", "-d", "-n", "proj", "hello"]).await;
    assert_eq!(env.wait_settled("proj").await, "idle");
    let reqs = model.wait_for_requests(1, T).await;
    let sys = system(&reqs[0]);
    let after = today();
    let cwd = canonical(&env.work_dir);
    let file = format!("{cwd}/AGENTS.md");

    // The default prompt: what the agent is, where it works, the date, then the file.
    assert!(sys.contains("long-lived agent running in tether"), "{sys}");
    assert!(sys.contains(&format!("Working directory: {cwd}")), "{sys}");
    assert!(
        sys.contains(&format!("Today's date: {before}"))
            || sys.contains(&format!("Today's date: {after}")),
        "no date {before} in:\n{sys}"
    );
    assert!(sys.contains("history_search"), "{sys}");
    let project = format!("## Project instructions ({file})\n\nRun `make check`");
    let at = sys.find(&project).unwrap_or_else(|| panic!("{sys}"));
    assert!(
        sys.find("long-lived agent").unwrap() < at,
        "the default comes first"
    );
    assert!(sys.contains("MARKER-ONE"), "{sys}");
    let user = &reqs[0].messages()[1];
    assert_eq!(
        user["content"], "hello",
        "a text message stays a string: {user}"
    );

    // An editor's save (a rename over the file) reaches the next call.
    save_by_rename(&agents, "Use tabs. MARKER-TWO\n");
    changed(&env, "proj", &file, false).await;
    let sys = turn(&env, &model, "proj", "again", 2).await;
    assert!(sys.contains("Use tabs. MARKER-TWO"), "{sys}");
    assert!(!sys.contains("MARKER-ONE"), "the old text is gone: {sys}");
    assert_eq!(env.daemon_pid(), pid, "nothing restarted");

    // A session in another directory records nothing.
    let other = env.events_of("other", "instructions_changed").await;
    assert!(other.is_empty(), "{other:?}");
    assert_eq!(env.events_of("proj", "instructions_changed").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_md_is_used_when_there_is_no_agents_md() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let claude = env.work_dir.join("CLAUDE.md");
    let agents = env.work_dir.join("AGENTS.md");
    std::fs::write(&claude, "MARKER-CLAUDE\n").unwrap();
    env.start_daemon().await;
    env.ok(&["new", "-d", "-n", "c"]).await;
    let cwd = canonical(&env.work_dir);

    let sys = turn(&env, &model, "c", "hi", 1).await;
    assert!(
        sys.contains(&format!(
            "## Project instructions ({cwd}/CLAUDE.md)\n\nMARKER-CLAUDE"
        )),
        "{sys}"
    );

    // AGENTS.md, once it exists, is the one in force.
    std::fs::write(&agents, "MARKER-AGENTS\n").unwrap();
    changed(&env, "c", &format!("{cwd}/AGENTS.md"), false).await;
    let sys = turn(&env, &model, "c", "and now?", 2).await;
    assert!(sys.contains("MARKER-AGENTS"), "{sys}");
    assert!(!sys.contains("MARKER-CLAUDE"), "{sys}");

    // With neither, the system message is the default prompt alone.
    std::fs::remove_file(&agents).unwrap();
    std::fs::remove_file(&claude).unwrap();
    env.wait_event("c", "instructions_changed with removed", |e| {
        e["type"] == "instructions_changed" && e["removed"] == true
    })
    .await;
    let sys = turn(&env, &model, "c", "and now?", 3).await;
    assert!(!sys.contains("Project instructions"), "{sys}");
    assert!(sys.contains("long-lived agent"), "{sys}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_system_prompt_replaces_the_default_and_the_rest_follows() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(
        &model,
        "[context]\nsystem_prompt = \"You are Rusty, a test agent.\"\n",
    );
    std::fs::write(env.work_dir.join("AGENTS.md"), "MARKER-P\n").unwrap();
    env.start_daemon().await;
    model.push(Reply::text("ok"));
    env.ok(&["new", "-d", "-n", "r", "--instructions", "be terse", "hi"])
        .await;
    assert_eq!(env.wait_settled("r").await, "idle");
    let reqs = model.wait_for_requests(1, T).await;
    let cwd = canonical(&env.work_dir);
    assert_eq!(
        system(&reqs[0]),
        format!(
            "You are Rusty, a test agent.\n\n## Project instructions ({cwd}/AGENTS.md)\n\n\
             MARKER-P\n\n## Session instructions\n\nbe terse"
        )
    );
}
