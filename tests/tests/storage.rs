//! A full state disk and a damaged store, as a user meets them: the daemon keeps
//! answering, says what failed and what to do, records how a cut turn ended, and
//! never serves a damaged log as if it were complete.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::harness::pretty;
use tether_tests::tmpfs::Tmpfs;
use tether_tests::{ModelServer, Reply, TestEnv};

const T: Duration = Duration::from_secs(20);

/// The schema version this build writes (the number of migrations in
/// `daemon/src/store/sqlite/migrations.rs`).
const SCHEMA_VERSION: u32 = 9;

async fn status_json(env: &TestEnv) -> Value {
    let out = env.ok(&["daemon", "status", "--json"]).await;
    serde_json::from_str(&out).unwrap()
}

async fn session_json(env: &TestEnv, name: &str) -> Value {
    let ls: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    ls.as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no session {name} in {ls}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_state_disk_refuses_sends_stops_cleanly_and_recovers_when_space_is_freed() {
    if tether_tests::postgres::sqlite_only(
        "it fills the state disk that holds tether.db; a PostgreSQL store is not on it",
    ) {
        return;
    }
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let disk = Tmpfs::mount(&env.state_dir, "2m");
    env.start_daemon().await;
    env.ok(&["new", "-d", "-n", "full", "hello"]).await;
    assert_eq!(env.wait_settled("full").await, "idle");

    // A turn is running a tool when the disk fills up.
    let go = env.work_dir.join("GO");
    model.push(Reply::tool_call(
        "c1",
        "shell",
        json!({"command": format!("while [ ! -f {} ]; do sleep 0.05; done; echo done", go.display())}),
    ));
    env.ok(&["send", "full", "run the tool"]).await;
    env.wait_event("full", "the tool call", |e| e["type"] == "tool_call")
        .await;
    let filler = env.state_dir.join("filler");
    disk.fill(&filler);
    std::fs::write(&go, "").unwrap();

    // Its result cannot be stored: the turn ends, failed, saying why.
    env.wait_until("the session to fail its turn", T, || async {
        session_json(&env, "full").await["state"] == "failed"
    })
    .await;
    let s = session_json(&env, "full").await;
    assert!(s["last_error"].as_str().unwrap().contains("is full"), "{s}");

    // `send` is refused with the storage error, and says what to do.
    let out = env.run(&["send", "full", "are you there"]).await;
    assert_eq!(out.code, 1, "send on a full disk: {out:?}");
    assert!(
        out.stderr.contains("disk holding") && out.stderr.contains("is full"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("free some space"), "{}", out.stderr);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    // The daemon still answers, and says the store cannot write.
    let st = status_json(&env).await;
    assert!(
        st["store_error"].as_str().unwrap_or("").contains("is full"),
        "{st}"
    );
    // Log lines that do not fit are dropped and counted (the log file's last page
    // may still hold a few: every status request logs some more).
    env.wait_until("daemon.log lines to be dropped", T, || async {
        status_json(&env).await["log_dropped"].as_u64().unwrap_or(0) > 0
    })
    .await;

    // Space comes back: the failed turn is recorded without any restart.
    std::fs::remove_file(&filler).unwrap();
    let failed = env
        .wait_event(
            "full",
            "turn_failed recorded once the disk has space",
            |e| e["type"] == "turn_failed",
        )
        .await;
    assert!(
        failed["error"].as_str().unwrap().contains("is full"),
        "{failed}"
    );
    let events = env.events("full").await;
    let last_start = events
        .iter()
        .rposition(|e| e["type"] == "turn_started")
        .unwrap();
    assert!(
        events[last_start..]
            .iter()
            .any(|e| e["type"] == "turn_failed"),
        "the cut turn has an end: {}",
        pretty(&events)
    );
    model.push(Reply::text("back again"));
    env.ok(&["send", "full", "again"]).await;
    assert_eq!(env.wait_settled("full").await, "idle");
    let answers = env.events_of("full", "assistant_message").await;
    assert_eq!(answers.last().unwrap()["text"], "back again");
    env.wait_until("status to clear the store error", T, || async {
        status_json(&env).await.get("store_error").is_none()
    })
    .await;
    // What could not be logged is counted in the log once it can write again.
    let log = std::fs::read_to_string(env.state_dir.join("daemon.log")).unwrap();
    assert!(log.contains("log lines were dropped"), "{log}");

    // With the disk full, `daemon stop` still works ...
    disk.fill(&filler);
    let out = env.run(&["daemon", "stop"]).await;
    assert_eq!(out.code, 0, "daemon stop on a full disk: {out:?}");
    assert_eq!(env.wait_daemon_exit().await, 0);
    // ... and a new daemon takes messages once there is space.
    std::fs::remove_file(&filler).unwrap();
    env.start_daemon().await;
    model.push(Reply::text("new daemon"));
    env.ok(&["send", "full", "after the restart"]).await;
    assert_eq!(env.wait_settled("full").await, "idle");
    assert_eq!(
        env.events_of("full", "assistant_message")
            .await
            .last()
            .unwrap()["text"],
        "new daemon"
    );
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_the_full_disk_cut_is_resumed_by_the_next_daemon_when_its_end_was_never_written() {
    if tether_tests::postgres::sqlite_only(
        "it fills the state disk that holds tether.db; a PostgreSQL store is not on it",
    ) {
        return;
    }
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let disk = Tmpfs::mount(&env.state_dir, "2m");
    env.start_daemon().await;
    let go = env.work_dir.join("GO");
    model.push(Reply::tool_call(
        "c1",
        "shell",
        json!({"command": format!("while [ ! -f {} ]; do sleep 0.05; done; echo done", go.display())}),
    ));
    env.ok(&["new", "-d", "-n", "cut", "run the tool"]).await;
    env.wait_event("cut", "the tool call", |e| e["type"] == "tool_call")
        .await;
    let filler = env.state_dir.join("filler");
    disk.fill(&filler);
    std::fs::write(&go, "").unwrap();
    env.wait_until("the session to fail its turn", T, || async {
        session_json(&env, "cut").await["state"] == "failed"
    })
    .await;
    // Stopped while the disk is still full: the turn's end is never written.
    let out = env.run(&["daemon", "stop"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(env.wait_daemon_exit().await, 0);
    std::fs::remove_file(&filler).unwrap();

    // The next daemon sees a turn without an end: recovery closes the call and resumes.
    model.push(Reply::text("resumed and done"));
    env.start_daemon().await;
    assert_eq!(env.wait_settled("cut").await, "idle");
    let events = env.events("cut").await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let result = events
        .iter()
        .find(|e| e["type"] == "tool_result")
        .unwrap_or_else(|| panic!("{}", pretty(&events)));
    let output = result["output"].as_str().unwrap_or_default();
    assert!(
        output.starts_with("interrupted: daemon restarted")
            && output.contains("may have completed"),
        "{}",
        pretty(&events)
    );
    assert!(types.contains(&"turn_resumed"), "{}", pretty(&events));
    assert_eq!(types.last(), Some(&"state"), "{types:?}");
    assert!(types.contains(&"turn_completed"), "{types:?}");
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;
}

/// Gives `name` a log of about 90 events: two turns of 40 tool calls each.
async fn busy_session(env: &TestEnv, model: &ModelServer, name: &str) -> usize {
    for turn in 0..2 {
        let calls: Vec<(String, &str, Value)> = (0..40)
            .map(|i| {
                (
                    format!("{name}-{turn}-{i}"),
                    "list_dir",
                    json!({"path": "."}),
                )
            })
            .collect();
        model.push(Reply::tool_calls(calls));
        model.push(Reply::text(format!("{name} turn {turn} done")));
        if turn == 0 {
            env.ok(&["new", "-d", "-n", name, "list it"]).await;
        } else {
            env.ok(&["send", name, "again"]).await;
        }
        assert_eq!(env.wait_settled(name).await, "idle");
    }
    env.events(name).await.len()
}

/// `logs NAME --json`: exit code, events, stderr.
async fn logs(env: &TestEnv, name: &str) -> (i32, Vec<Value>, String) {
    let out = env.run(&["logs", name, "--json"]).await;
    let events = out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (out.code, events, out.stderr)
}

fn assert_damage_message(stderr: &str, file: &str) {
    assert!(
        stderr.contains(file) && stderr.contains("is damaged"),
        "names the file: {stderr}"
    );
    assert!(
        stderr.contains(".recover") && stderr.contains("backup"),
        "says what to do: {stderr}"
    );
}

async fn wait_status_damage(env: &TestEnv) -> Value {
    env.wait_until("daemon status to report the damage", T, || async {
        status_json(env).await["store_damage"]
            .as_array()
            .is_some_and(|d| !d.is_empty())
    })
    .await;
    let last = status_json(env).await;
    assert!(
        last["store_damage_help"]
            .as_str()
            .unwrap()
            .contains(".recover"),
        "{last}"
    );
    let text = env.ok(&["daemon", "status"]).await;
    assert!(text.contains("store damaged:"), "{text}");
    last
}

/// Waits until the `n`th daemon of this test has finished its background store check.
async fn wait_check_finished(env: &TestEnv, n: usize) {
    let log = env.state_dir.join("daemon.log");
    env.wait_until("the store check to finish", T, || async {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("store check finished")
            .count()
            >= n
    })
    .await;
}

/// The page nearest the middle of the file that holds stored events.
fn middle_event_page(db: &[u8]) -> usize {
    let page = 4096;
    let pages = db.len() / page;
    let has = |bytes: &[u8], needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    let holds_events = |p: usize| {
        let bytes = &db[p * page..(p + 1) * page];
        has(bytes, b"\"seq\":") && has(bytes, b"tool_result")
    };
    let mid = pages / 2;
    (0..pages)
        .flat_map(|d| [mid + d, mid.wrapping_sub(d)])
        .find(|&p| p > 1 && p < pages && holds_events(p))
        .expect("a page of events in tether.db")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_overwritten_in_the_middle_of_the_store_are_reported_not_served() {
    if tether_tests::postgres::sqlite_only("it damages the bytes of the SQLite file tether.db") {
        return;
    }
    let (model, mut env) = TestEnv::started("").await;
    let a = busy_session(&env, &model, "alpha").await;
    let b = busy_session(&env, &model, "beta").await;
    assert!(a >= 170 && b >= 170, "{a} and {b} events");

    // A healthy store reports nothing, after a restart too. (Each daemon's check
    // is let finish first: its read snapshot would keep the WAL from being folded
    // into tether.db at the stop, and this test damages tether.db itself.)
    wait_check_finished(&env, 1).await;
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;
    env.start_daemon().await;
    for (name, n) in [("alpha", a), ("beta", b)] {
        let (code, events, stderr) = logs(&env, name).await;
        assert_eq!((code, events.len()), (0, n), "{stderr}");
    }
    wait_check_finished(&env, 2).await;
    let st = status_json(&env).await;
    assert!(st.get("store_damage").is_none(), "{st}");
    let text = env.ok(&["daemon", "status"]).await;
    assert!(!text.contains("damaged"), "{text}");
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;

    // A clean stop left everything in tether.db itself.
    let wal = env.state_dir.join("tether.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(0, |m| m.len()) == 0,
        "the WAL was folded into tether.db at the stop"
    );
    // Random bytes over a page of events in the middle of the file.
    let db_path = env.state_dir.join("tether.db");
    let mut db = std::fs::read(&db_path).unwrap();
    let page = middle_event_page(&db);
    let mut x: u32 = 0x9e37_79b9;
    for byte in &mut db[page * 4096..(page + 1) * 4096] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *byte = x as u8;
    }
    std::fs::write(&db_path, &db).unwrap();

    env.start_daemon().await;
    let mut refused = 0;
    for (name, n) in [("alpha", a), ("beta", b)] {
        let (code, events, stderr) = logs(&env, name).await;
        if code == 0 {
            assert_eq!(events.len(), n, "{name}: served, so it must be whole");
        } else {
            assert_eq!(code, 1, "{name}: {stderr}");
            assert_damage_message(&stderr, &db_path.display().to_string());
            // On the wire it is a storage error, not an internal one.
            let mut raw = tether_tests::raw::Raw::hello(&env.socket).await;
            let reply = raw
                .request(7, "session.logs", json!({"session": name}))
                .await;
            assert_eq!(reply["error"]["code"], -32020, "{reply}");
            refused += 1;
        }
    }
    assert!(refused >= 1, "the damaged session's log was refused");
    wait_status_damage(&env).await;
    let log = std::fs::read_to_string(env.state_dir.join("daemon.log")).unwrap();
    assert!(log.contains("the store is damaged"), "{log}");
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_silently_lost_events_is_reported_not_served() {
    if tether_tests::postgres::sqlite_only(
        "it edits the SQLite file tether.db behind the daemon's back",
    ) {
        return;
    }
    let (model, mut env) = TestEnv::started("").await;
    let n = busy_session(&env, &model, "short").await;
    wait_check_finished(&env, 1).await;
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;

    // A leaf page of events now claims to hold one cell: SQLite reads the rest of
    // the log without an error, just fewer events (the "7 of 181" case).
    let db_path = env.state_dir.join("tether.db");
    let mut db = std::fs::read(&db_path).unwrap();
    let page = middle_event_page(&db);
    let at = page * 4096;
    assert_eq!(db[at], 0x0a, "an index-leaf page (events is WITHOUT ROWID)");
    db[at + 3] = 0;
    db[at + 4] = 1;
    std::fs::write(&db_path, &db).unwrap();

    env.start_daemon().await;
    let (code, events, stderr) = logs(&env, "short").await;
    assert_eq!(code, 1, "served {} of {n} events: {stderr}", events.len());
    assert_damage_message(&stderr, &db_path.display().to_string());
    assert!(stderr.contains("is missing event"), "{stderr}");
    wait_status_damage(&env).await;
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_in_the_wal_of_a_crashed_daemon_is_reported_not_served() {
    if tether_tests::postgres::sqlite_only("it writes garbage into SQLite's WAL file") {
        return;
    }
    let (model, mut env) = TestEnv::started("").await;
    let n = busy_session(&env, &model, "walled").await;
    assert!(n >= 170, "{n} events");
    env.kill9().await;

    let wal_path = env.state_dir.join("tether.db-wal");
    let mut wal = std::fs::read(&wal_path).unwrap();
    assert!(
        wal.len() > 64 * 1024,
        "the WAL holds the log: {}",
        wal.len()
    );
    let mid = wal.len() / 2;
    for (i, byte) in wal[mid..mid + 4096].iter_mut().enumerate() {
        *byte = (i as u8).wrapping_mul(31) ^ 0xa5;
    }
    std::fs::write(&wal_path, &wal).unwrap();

    env.start_daemon().await;
    let (code, events, stderr) = logs(&env, "walled").await;
    assert_eq!(code, 1, "served {} of {n} events: {stderr}", events.len());
    assert_damage_message(
        &stderr,
        &env.state_dir.join("tether.db").display().to_string(),
    );
    assert!(stderr.contains("write-ahead log"), "{stderr}");
    let st = wait_status_damage(&env).await;
    assert!(
        st["store_damage"].to_string().contains("tether.db-wal"),
        "{st}"
    );

    // The finding outlives the WAL, which SQLite has since rewritten.
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;
    env.start_daemon().await;
    let (code, _, stderr) = logs(&env, "walled").await;
    assert_eq!(code, 1, "{stderr}");
    wait_status_damage(&env).await;
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;
}

/// `tether.db` as the release before schema versions left it (see
/// `tests/fixtures/store/README.md`).
fn previous_release_store() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/store/v0-tether.db")
}

/// `PRAGMA user_version`, read from the database header (offset 60, big-endian).
fn user_version(db: &std::path::Path) -> u32 {
    let bytes = std::fs::read(db).unwrap();
    u32::from_be_bytes([bytes[60], bytes[61], bytes[62], bytes[63]])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_made_by_the_previous_release_is_upgraded_and_its_sessions_read_back() {
    if tether_tests::postgres::sqlite_only(
        "it upgrades a SQLite file made by an older release (tests/tests/postgres.rs checks the PostgreSQL schema versions)",
    ) {
        return;
    }
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    std::fs::create_dir_all(&env.state_dir).unwrap();
    let db = env.state_dir.join("tether.db");
    std::fs::copy(previous_release_store(), &db).unwrap();
    assert_eq!(user_version(&db), 0);
    env.start_daemon().await;

    // `ls` and `logs` show what the previous release stored.
    let chat = session_json(&env, "old-chat").await;
    assert_eq!(chat["state"], "idle", "{chat}");
    session_json(&env, "old-tools").await;
    let (code, events, stderr) = logs(&env, "old-chat").await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(events.len(), 13, "{}", pretty(&events));
    let answers: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "assistant_message")
        .map(|e| &e["text"])
        .collect();
    assert_eq!(
        answers,
        ["hello from the previous release", "second answer"]
    );
    let (code, events, stderr) = logs(&env, "old-tools").await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "tool_result" && e.to_string().contains("stored by dcc47cf")),
        "{}",
        pretty(&events)
    );
    let text = env.ok(&["logs", "old-chat"]).await;
    assert!(text.contains("second answer"), "{text}");

    // The upgraded store takes new turns, and says it is healthy.
    model.push(Reply::text("answered after the upgrade"));
    env.ok(&["send", "old-chat", "still there?"]).await;
    assert_eq!(env.wait_settled("old-chat").await, "idle");
    let answers = env.events_of("old-chat", "assistant_message").await;
    assert_eq!(
        answers.last().unwrap()["text"],
        "answered after the upgrade"
    );
    // Its old events are searchable: the upgrade indexed them.
    model.push(Reply::tool_call(
        "c_search",
        "history_search",
        json!({"query": "previous release"}),
    ));
    model.push(Reply::text("found it"));
    env.ok(&["send", "old-chat", "what did you say first?"])
        .await;
    assert_eq!(env.wait_settled("old-chat").await, "idle");
    let found = env.events_of("old-chat", "tool_result").await;
    let found = found.last().unwrap()["output"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        found.contains("· assistant_message ·")
            && found.contains("hello from the previous release"),
        "{found}"
    );
    let st = status_json(&env).await;
    assert!(st.get("store_damage").is_none(), "{st}");
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;
    assert_eq!(
        user_version(&db),
        SCHEMA_VERSION,
        "stamped with the schema version"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_made_by_a_newer_tether_is_refused_in_one_line_naming_the_versions() {
    if tether_tests::postgres::sqlite_only(
        "it stamps the SQLite file's user_version (tests/tests/postgres.rs checks the PostgreSQL one)",
    ) {
        return;
    }
    let env = TestEnv::new();
    std::fs::create_dir_all(&env.state_dir).unwrap();
    let db = env.state_dir.join("tether.db");
    let mut bytes = std::fs::read(previous_release_store()).unwrap();
    let newer = SCHEMA_VERSION + 1;
    bytes[60..64].copy_from_slice(&newer.to_be_bytes());
    std::fs::write(&db, &bytes).unwrap();

    // The CLI starts a daemon, which refuses the store and says why.
    let out = env.run(&["ls"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    let err = out.stderr.trim();
    assert!(err.contains("made by a newer tether"), "{err}");
    assert!(err.contains(&format!("schema version {newer}")), "{err}");
    assert!(err.contains(&format!("up to {SCHEMA_VERSION}")), "{err}");
    assert!(err.ends_with("upgrade tether"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(user_version(&db), newer, "the store is left as it was");
    assert_eq!(std::fs::read(&db).unwrap(), bytes, "not a byte changed");
}
