//! Schedules and file triggers (issue 15) with the real daemon and CLI:
//! timed firings that survive `kill -9`, a missed firing that runs once (or
//! is skipped), pause and resume, at most one waiting while a turn runs,
//! kill removing a session's schedules, file triggers, and the errors.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tether_tests::harness::pretty;
use tether_tests::{Reply, TestEnv};

async fn schedules(env: &TestEnv, name: Option<&str>) -> Vec<Value> {
    let mut args = vec!["schedule", "ls", "--json"];
    args.extend(name);
    serde_json::from_str(&env.ok(&args).await).unwrap()
}

async fn schedule(env: &TestEnv, id: u64) -> Value {
    schedules(env, None)
        .await
        .into_iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("schedule {id} is listed"))
}

/// The scheduled messages in a session's log.
async fn scheduled(env: &TestEnv, name: &str) -> Vec<Value> {
    env.events_of(name, "user_message")
        .await
        .into_iter()
        .filter(|e| e["delivery"] == "schedule")
        .collect()
}

/// `schedule add ... --json`; returns the schedule's id.
async fn add(env: &TestEnv, args: &[&str]) -> u64 {
    // Before the text, which takes every word after it.
    let mut all = vec!["schedule", "add", "--json"];
    all.extend(args);
    let v: Value = serde_json::from_str(&env.ok(&all).await).unwrap();
    v["id"].as_u64().unwrap()
}

async fn session_info(env: &TestEnv, name: &str) -> Value {
    let ls: Vec<Value> = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    ls.into_iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("session {name} is listed"))
}

/// Waits until schedule `id` has fired (delivered) at least `n` times.
async fn until_fired(env: &TestEnv, id: u64, n: u64, within: Duration) {
    env.wait_until(
        &format!("schedule {id} to fire {n} times"),
        within,
        || async { schedule(env, id).await["fired"].as_u64().unwrap() >= n },
    )
    .await;
}

/// A window of time in which a stopped schedule could fire twice: a witness
/// schedule on another session fires twice (a condition, not a sleep).
async fn two_seconds_pass(env: &TestEnv) {
    let witness = format!(
        "witness-{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    env.ok(&["new", "-d", "-n", &witness]).await;
    let id = add(env, &[&witness, "--every", "1s", "witness"]).await;
    until_fired(env, id, 2, Duration::from_secs(10)).await;
    env.ok(&["kill", &witness]).await;
}

/// Moves a stored schedule's next run `ago_ms` into the past (with the
/// daemon down): the firing that a daemon down for that long missed.
fn miss(env: &TestEnv, id: u64, ago_ms: i64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    if let Some(url) = &env.store_url {
        // The suite on PostgreSQL: the same update in the daemon's database.
        let db = url.rsplit('/').next().unwrap();
        let out = tether_tests::postgres::server()
            .psql(
                db,
                &format!(
                    "UPDATE schedules SET next_run = {} WHERE id = {id} RETURNING id",
                    now - ago_ms
                ),
            )
            .unwrap();
        assert_eq!(out, id.to_string());
        return;
    }
    let db = rusqlite::Connection::open(env.state_dir.join("tether.db")).unwrap();
    let n = db
        .execute(
            "UPDATE schedules SET next_run = ?1 WHERE id = ?2",
            rusqlite::params![now - ago_ms, id as i64],
        )
        .unwrap();
    assert_eq!(n, 1);
}

fn ms(rfc3339: &Value) -> i64 {
    let s = rfc3339.as_str().unwrap();
    // 2026-12-01T12:00:00.000Z: compare as seconds of the day is not enough
    // across midnight, so through the days since the epoch.
    let (date, time) = s.split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let t: Vec<f64> = time
        .trim_end_matches('Z')
        .split(':')
        .map(|p| p.parse().unwrap())
        .collect();
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400_000 + ((t[0] * 3600.0 + t[1] * 60.0 + t[2]) * 1000.0) as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_2s_fires_survives_kill_9_and_rm_stops_it() {
    let (_model, mut env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "S"]).await;
    let out = env
        .ok(&["schedule", "add", "S", "--every", "2s", "tick"])
        .await;
    assert!(out.starts_with("schedule 1: every 2s for S"), "{out}");
    env.wait_until(
        "3 scheduled user messages",
        Duration::from_secs(8),
        || async { scheduled(&env, "S").await.len() >= 3 },
    )
    .await;
    for m in scheduled(&env, "S").await {
        assert_eq!(m["text"], "tick", "{m}");
    }
    env.kill9().await;
    env.start_daemon().await;
    let listed = schedules(&env, Some("S")).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], 1);
    let before = scheduled(&env, "S").await.len();
    env.wait_until(
        "the schedule to fire again after the restart",
        Duration::from_secs(6),
        || async { scheduled(&env, "S").await.len() > before },
    )
    .await;
    let out = env.ok(&["schedule", "rm", "1"]).await;
    assert!(
        out.starts_with("removed schedule 1: every 2s for S, next run "),
        "{out}"
    );
    env.wait_settled("S").await;
    let after = scheduled(&env, "S").await.len();
    two_seconds_pass(&env).await;
    assert_eq!(scheduled(&env, "S").await.len(), after, "rm stopped it");
    assert!(schedules(&env, Some("S")).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_trigger_names_the_changed_file_and_survives_a_restart() {
    let (_model, mut env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "W"]).await;
    add(&env, &["W", "--on-change", "*.txt", "new", "notes"]).await;
    std::fs::create_dir_all(env.work_dir.join(".git")).unwrap();
    std::fs::write(env.work_dir.join(".git").join("ignored.txt"), "x").unwrap();
    std::fs::write(env.work_dir.join("a.md"), "not matched").unwrap();
    std::fs::write(env.work_dir.join("a.txt"), "hello").unwrap();
    env.wait_until(
        "a scheduled message naming a.txt",
        Duration::from_secs(3),
        || async {
            scheduled(&env, "W")
                .await
                .iter()
                .any(|m| m["text"].as_str().unwrap().contains("a.txt"))
        },
    )
    .await;
    let msgs = scheduled(&env, "W").await;
    let text = msgs[0]["text"].as_str().unwrap();
    assert!(text.starts_with("new notes\n\nChanged files: "), "{text}");
    assert!(
        !text.contains("a.md") && !text.contains("ignored"),
        "{text}"
    );
    env.wait_settled("W").await;
    // Made before the restart: a file written into a directory the instant
    // it appears can come before the watch of that directory does.
    std::fs::create_dir_all(env.work_dir.join("sub")).unwrap();
    env.kill9().await;
    env.start_daemon().await;
    std::fs::write(env.work_dir.join("sub").join("b.txt"), "again").unwrap();
    env.wait_until(
        "a scheduled message naming sub/b.txt after the restart",
        Duration::from_secs(5),
        || async {
            scheduled(&env, "W")
                .await
                .iter()
                .any(|m| m["text"].as_str().unwrap().contains("sub/b.txt"))
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_firing_missed_while_down_runs_once_or_is_skipped() {
    let (_model, mut env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "once"]).await;
    env.ok(&["new", "-d", "-n", "skip"]).await;
    let once = add(&env, &["once", "--every", "1h", "hourly"]).await;
    let skip = add(&env, &["skip", "--every", "1h", "--skip-missed", "hourly"]).await;
    env.kill9().await;
    // Down for three hours and a bit: three firings missed.
    let ago = 3 * 3_600_000 + 60_000;
    miss(&env, once, ago);
    miss(&env, skip, ago);
    env.start_daemon().await;
    until_fired(&env, once, 1, Duration::from_secs(5)).await;
    env.wait_settled("once").await;
    let s = schedule(&env, once).await;
    assert_eq!(s["fired"], 1, "once, not once per missed period: {s}");
    assert_eq!(s["last_outcome"], "delivered");
    assert_eq!(scheduled(&env, "once").await.len(), 1);
    // The next run keeps the phase: 4 periods after the missed one, in the future.
    let next = ms(&s["next_run"]) - ms(&s["last_run"]);
    assert!((3_500_000..3_600_000).contains(&next), "{s}");
    let s = schedule(&env, skip).await;
    assert_eq!(s["fired"], 0, "{s}");
    assert_eq!(s["last_outcome"], "skipped_missed", "{s}");
    assert!(scheduled(&env, "skip").await.is_empty());
    let next = ms(&s["next_run"]) - ms(&s["last_run"]);
    assert!((3_500_000..3_600_000).contains(&next), "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_stops_firing_and_resume_starts_it_again() {
    let (_model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "P"]).await;
    let id = add(&env, &["P", "--every", "1s", "tick"]).await;
    until_fired(&env, id, 1, Duration::from_secs(5)).await;
    let out = env.ok(&["schedule", "pause", &id.to_string()]).await;
    assert_eq!(
        out.trim(),
        format!("paused schedule {id}: every 1s for P"),
        "no next run"
    );
    let s = schedule(&env, id).await;
    assert_eq!(s["paused"], true);
    assert!(s.get("next_run").is_none(), "{s}");
    let fired = s["fired"].as_u64().unwrap();
    two_seconds_pass(&env).await;
    assert_eq!(schedule(&env, id).await["fired"], fired, "paused");
    let out = env.ok(&["schedule", "resume", &id.to_string()]).await;
    assert!(
        out.starts_with(&format!("resumed schedule {id}: every 1s for P, next run ")),
        "{out}"
    );
    until_fired(&env, id, fired + 1, Duration::from_secs(5)).await;
    assert_eq!(schedule(&env, id).await["paused"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_a_turn_runs_at_most_one_firing_waits() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::hang());
    env.ok(&["new", "-d", "-n", "Q"]).await;
    let id = add(&env, &["Q", "--every", "1s", "tick"]).await;
    // The first firing starts the turn that hangs, the second waits, the
    // third and later find it waiting.
    env.wait_until(
        "a firing that found one waiting",
        Duration::from_secs(8),
        || async { schedule(&env, id).await["last_outcome"] == "pending" },
    )
    .await;
    let s = schedule(&env, id).await;
    assert_eq!(s["fired"], 2, "{s}");
    let info = session_info(&env, "Q").await;
    assert_eq!(info["state"], "running", "{info}");
    assert_eq!(info["queued_inputs"], 1, "{info}");
    assert_eq!(scheduled(&env, "Q").await.len(), 1);
    // The turn ends: the waiting one runs.
    env.ok(&["schedule", "rm", &id.to_string()]).await;
    env.ok(&["interrupt", "Q"]).await;
    env.wait_settled("Q").await;
    assert_eq!(scheduled(&env, "Q").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_session_removes_its_schedules() {
    let (_model, mut env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "K"]).await;
    env.ok(&["new", "-d", "-n", "keep"]).await;
    add(&env, &["K", "--every", "1h", "a"]).await;
    add(
        &env,
        &["K", "--cron", "0 9 * * 1-5", "--tz", "Europe/Berlin", "b"],
    )
    .await;
    let kept = add(&env, &["keep", "--every", "1h", "c"]).await;
    assert_eq!(schedules(&env, None).await.len(), 3);
    env.ok(&["kill", "K"]).await;
    let left = schedules(&env, None).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["id"], kept);
    env.kill9().await;
    env.start_daemon().await;
    assert_eq!(schedules(&env, None).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_firings_neither_loses_nor_doubles_one() {
    let (_model, mut env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "crash"]).await;
    let id = add(&env, &["crash", "--every", "1s", "tick"]).await;
    for round in 1..=3 {
        let fired = schedule(&env, id).await["fired"].as_u64().unwrap();
        until_fired(&env, id, fired + 1, Duration::from_secs(6)).await;
        // Right as a firing lands (its turn starting, the next one due).
        env.kill9().await;
        env.start_daemon().await;
        assert_eq!(schedules(&env, None).await.len(), 1, "round {round}");
    }
    // Removed, so no firing comes after the count is read.
    let out = env.ok(&["schedule", "rm", &id.to_string(), "--json"]).await;
    let removed: Value = serde_json::from_str(&out).unwrap();
    let fired = removed["fired"].as_u64().unwrap();
    env.wait_settled("crash").await;
    let msgs = scheduled(&env, "crash").await;
    assert_eq!(
        msgs.len() as u64,
        fired,
        "every recorded firing is one message, no more, no less:\n{}",
        pretty(&msgs)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_one_line_and_exit_1_bad_usage_exit_2() {
    let (_model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "S"]).await;
    for (args, says) in [
        (
            vec!["schedule", "add", "S", "--every", "5x", "tick"],
            "bad duration \"5x\"",
        ),
        (
            vec!["schedule", "add", "S", "--cron", "61 * * * *", "tick"],
            "bad cron expression \"61 * * * *\": minute: 61 is out of range 0-59",
        ),
        (
            vec![
                "schedule",
                "add",
                "S",
                "--cron",
                "0 9 * * *",
                "--tz",
                "Mars/Base",
                "x",
            ],
            "unknown time zone \"Mars/Base\"",
        ),
        (
            vec!["schedule", "add", "nosuch", "--every", "1m", "tick"],
            "nosuch",
        ),
        (vec!["schedule", "rm", "999"], "no schedule 999"),
        (vec!["schedule", "pause", "999"], "no schedule 999"),
        (vec!["schedule", "resume", "999"], "no schedule 999"),
        (vec!["schedule", "ls", "nosuch"], "nosuch"),
    ] {
        let out = env.run(&args).await;
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert_eq!(out.stderr.trim().lines().count(), 1, "{args:?}: {out:?}");
        assert!(out.stderr.starts_with("tether: "), "{args:?}: {out:?}");
        assert!(out.stderr.contains(says), "{args:?}: {out:?}");
    }
    for args in [
        vec!["schedule", "add", "S", "tick"],
        vec![
            "schedule",
            "add",
            "S",
            "--every",
            "1m",
            "--cron",
            "* * * * *",
            "x",
        ],
        vec!["schedule", "add", "S", "--every", "1m", "--tz", "UTC", "x"],
        vec!["schedule", "add", "S", "--every", "1m"],
        vec![
            "schedule",
            "add",
            "S",
            "--every",
            "1m",
            "--delivery",
            "interrupt",
            "x",
        ],
        vec!["schedule", "rm", "not-a-number"],
    ] {
        let out = env.run(&args).await;
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
    }
    assert!(schedules(&env, None).await.is_empty(), "nothing was added");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_ls_json_shape() {
    let (_model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "J"]).await;
    let every = add(&env, &["J", "--every", "1s", "--delivery", "steer", "tick"]).await;
    add(&env, &["J", "--cron", "0 4 1 1 *", "--skip-missed", "cron"]).await;
    add(&env, &["J", "--on-change", "src/**/*.rs", "files"]).await;
    until_fired(&env, every, 1, Duration::from_secs(5)).await;
    let list = schedules(&env, Some("J")).await;
    assert_eq!(list.len(), 3);
    let id = session_info(&env, "J").await["id"].clone();
    for s in &list {
        for key in [
            "id",
            "session",
            "session_name",
            "rule",
            "rule_text",
            "text",
            "delivery",
            "skip_missed",
            "paused",
            "created_at",
            "fired",
        ] {
            assert!(s.get(key).is_some(), "{key} in {s}");
        }
        assert_eq!(s["session"], id);
        assert_eq!(s["session_name"], "J");
    }
    assert_eq!(list[0]["rule"], serde_json::json!({"every": 1}));
    assert_eq!(list[0]["rule_text"], "every 1s");
    assert_eq!(list[0]["delivery"], "steer");
    assert!(list[0]["last_run"].is_string() && list[0]["next_run"].is_string());
    assert_eq!(list[0]["last_outcome"], "delivered");
    assert_eq!(list[1]["rule"], serde_json::json!({"cron": "0 4 1 1 *"}));
    assert_eq!(list[1]["skip_missed"], true);
    assert!(list[1].get("last_run").is_none());
    assert_eq!(
        list[2]["rule"],
        serde_json::json!({"on_change": "src/**/*.rs"})
    );
    assert!(list[2].get("next_run").is_none());
    // And the table.
    let table = env.ok(&["schedule", "ls"]).await;
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains("every 1s steer") && table.contains("on change src/**/*.rs"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_session_sleeps_between_firings_and_wakes_to_fire() {
    let (_model, env) = TestEnv::started("[sessions]\nsleep_after_s = 0.2\n").await;
    env.ok(&["new", "-d", "-n", "napper"]).await;
    let awake = || async {
        let st: Value =
            serde_json::from_str(&env.ok(&["daemon", "status", "--json"]).await).unwrap();
        st["awake_sessions"].as_u64().unwrap()
    };
    env.wait_until(
        "the session to fall asleep",
        Duration::from_secs(10),
        || async { awake().await == 0 },
    )
    .await;
    let id = add(&env, &["napper", "--every", "3s", "tick"]).await;
    assert_eq!(awake().await, 0, "adding a schedule does not wake it");
    until_fired(&env, id, 1, Duration::from_secs(6)).await;
    env.wait_until(
        "the session to sleep again",
        Duration::from_secs(10),
        || async { awake().await == 0 },
    )
    .await;
    let fired = schedule(&env, id).await["fired"].as_u64().unwrap();
    until_fired(&env, id, fired + 1, Duration::from_secs(6)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tui_shows_a_scheduled_message_as_scheduled() {
    tether_tests::tmux::require();
    let (model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "T"]).await;
    let pane = tether_tests::tmux::Pane::start(&env, "watch", &["attach", "T"], 100, 30);
    pane.wait_text("session created").await;
    model.push(Reply::text("looked around: all quiet"));
    let id = add(&env, &["T", "--every", "1s", "look around"]).await;
    pane.wait_text("› (scheduled) look around").await;
    pane.wait_text("looked around: all quiet").await;
    env.ok(&["schedule", "rm", &id.to_string()]).await;
    // In its own colour (magenta: SGR 35, or palette colour 5), not a typed
    // message's cyan.
    let styled = pane.screen_with_styles();
    let line = styled
        .lines()
        .find(|l| l.contains("(scheduled)"))
        .unwrap_or_else(|| panic!("a scheduled line:\n{styled}"));
    assert!(
        line.contains("\u{1b}[35m› (scheduled)") || line.contains("38;5;5m› (scheduled)"),
        "{line:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_add_retried_with_its_key_adds_one_schedule() {
    let (_model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "R"]).await;
    let args = ["R", "--every", "1h", "--key", "add-once", "tick"];
    let first = add(&env, &args).await;
    let again = add(&env, &args).await;
    assert_eq!(first, again);
    assert_eq!(schedules(&env, Some("R")).await.len(), 1);
}
