//! The PostgreSQL store (issue 16), always on a real server the suite starts
//! itself (`tether_tests::postgres`): a daemon on PostgreSQL serves sessions
//! as it does on SQLite, keeps them across `kill -9`, and says clearly when the
//! server goes away without losing what it acknowledged.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::harness::{config_for, pretty};
use tether_tests::postgres::server;
use tether_tests::{ModelServer, Reply, TestEnv};

const T: Duration = Duration::from_secs(20);

async fn started_on_postgres(extra: &str) -> (ModelServer, TestEnv) {
    let model = ModelServer::start().await;
    let mut env = TestEnv::on_postgres();
    env.write_config(&config_for(&model, extra));
    env.start_daemon().await;
    (model, env)
}

/// Every case of the store contract (`daemon/src/store/contract`), each on a
/// fresh database: the cases the SQLite store passes in its unit tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_keeps_the_store_contract() {
    use tether_daemon::store_contract::{CASES, postgres};
    let pg = server();
    for (name, case) in CASES {
        eprintln!("store contract, postgres: {name}");
        case(postgres(pg.fresh_db())).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_on_postgres_serves_a_session_and_says_which_store_it_uses() {
    let (model, env) = started_on_postgres("").await;
    model.push(Reply::text("hello from pg"));
    env.ok(&["new", "-d", "-n", "one", "say hello"]).await;
    assert_eq!(env.wait_settled("one").await, "idle");
    let answer = env.events_of("one", "assistant_message").await;
    assert_eq!(answer.last().unwrap()["text"], "hello from pg");
    let status: Value =
        serde_json::from_str(&env.ok(&["daemon", "status", "--json"]).await).unwrap();
    let store = status["store"].as_str().unwrap();
    assert!(
        store.starts_with("postgres postgres://tether@127.0.0.1:"),
        "{store}"
    );
    let text = env.ok(&["daemon", "status"]).await;
    assert!(text.contains("store:   postgres postgres://"), "{text}");
    assert!(
        !env.state_dir.join("tether.db").exists(),
        "no SQLite file beside a PostgreSQL store"
    );
    let ls: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(ls[0]["name"], "one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_the_url_is_never_shown() {
    let pg = server();
    let db = tether_tests::postgres::unique("t_");
    pg.psql("postgres", &format!("CREATE DATABASE {db}"))
        .unwrap();
    let model = ModelServer::start().await;
    let url = format!(
        "postgres://tether:hunter2-secret@127.0.0.1:{}/{db}",
        pg.port
    );
    let mut env = TestEnv::new().use_store(&url);
    env.write_config(&config_for(&model, ""));
    env.start_daemon().await;
    let status = env.ok(&["daemon", "status", "--json"]).await;
    assert!(status.contains("postgres://tether@127.0.0.1"), "{status}");
    assert!(!status.contains("hunter2"), "{status}");
    let log = std::fs::read_to_string(env.state_dir.join("daemon.log")).unwrap_or_default();
    assert!(log.contains("store open"), "{log}");
    assert!(!log.contains("hunter2"), "the log never holds the password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_turn_on_postgres_records_the_cut_call_and_resumes() {
    let (model, mut env) = started_on_postgres("").await;
    model.push(Reply::tool_call(
        "call_slow",
        "shell",
        json!({"command": "echo run >> runs.txt; sleep 30"}),
    ));
    model.push(Reply::text("moving on"));
    env.ok(&["new", "-d", "-n", "crash", "run the slow thing"])
        .await;
    let runs = env.work_dir.join("runs.txt");
    env.wait_until("the shell command to start", T, || async { runs.exists() })
        .await;
    env.kill9().await;
    env.start_daemon().await;
    assert_eq!(env.wait_settled("crash").await, "idle");
    let results = env.events_of("crash", "tool_result").await;
    assert_eq!(results.len(), 1, "{}", pretty(&results));
    assert_eq!(results[0]["is_error"], true);
    assert!(
        results[0]["output"]
            .as_str()
            .unwrap()
            .starts_with("interrupted: daemon restarted")
    );
    assert_eq!(env.events_of("crash", "turn_resumed").await.len(), 1);
    let answer = env.events_of("crash", "assistant_message").await;
    assert_eq!(answer.last().unwrap()["text"], "moving on");
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "run\n");
}
