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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_whose_server_is_down_says_so_and_does_not_start() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Nothing listens there once the listener is dropped.
    let env = TestEnv::new().use_store(&format!("postgres://tether:pw@127.0.0.1:{port}/none"));
    let out = env.run(&["daemon"]).await;
    assert_ne!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot reach the PostgreSQL store")
            && out
                .stderr
                .contains(&format!("postgres://tether@127.0.0.1:{port}/none")),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("pw@"), "{}", out.stderr);
}

/// The server stops mid-run (a crash of the database): a command that needs
/// it gets a clear error, nothing acknowledged before is lost, and the daemon
/// works again once the server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_goes_away_gives_a_clear_error_and_loses_nothing_acknowledged() {
    // A server of this test's own, so stopping it stops no other test.
    let pg = tether_tests::postgres::PgServer::start().unwrap();
    let db = tether_tests::postgres::unique("t_");
    pg.psql("postgres", &format!("CREATE DATABASE {db}"))
        .unwrap();
    let model = ModelServer::start().await;
    let mut env = TestEnv::new().use_store(&pg.url(&db));
    env.write_config(&config_for(&model, ""));
    env.start_daemon().await;
    model.push(Reply::text("first answer"));
    env.ok(&["new", "-d", "-n", "one", "first"]).await;
    assert_eq!(env.wait_settled("one").await, "idle");
    let before = env.events("one").await;

    pg.stop();
    let out = env.run(&["send", "one", "while the server is down"]).await;
    assert_ne!(
        out.code, 0,
        "a send that could not be stored is not acknowledged"
    );
    assert!(
        out.stderr.contains("cannot reach the PostgreSQL store"),
        "{}",
        out.stderr
    );
    pg.restart();
    model.push(Reply::text("second answer"));
    // The pool reconnects on the next call.
    env.wait_until("a send to be stored again", T, || async {
        env.run(&["send", "one", "after the restart"]).await.code == 0
    })
    .await;
    assert_eq!(env.wait_settled("one").await, "idle");
    let after = env.events("one").await;
    assert_eq!(
        &after[..before.len()],
        &before[..],
        "everything acknowledged before the outage is there"
    );
    let texts: Vec<&str> = after
        .iter()
        .filter(|e| e["type"] == "assistant_message")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert_eq!(
        texts,
        ["first answer", "second answer"],
        "{}",
        pretty(&after)
    );
    assert!(
        !after
            .iter()
            .any(|e| e["text"] == "while the server is down"),
        "the refused send left nothing"
    );
    let status: Value =
        serde_json::from_str(&env.ok(&["daemon", "status", "--json"]).await).unwrap();
    assert!(status.get("store_error").is_none(), "{status}");
    pg.shut_down();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_versions_are_recorded_and_a_newer_one_is_refused() {
    let pg = server();
    let url = pg.fresh_db();
    let db = url.rsplit('/').next().unwrap().to_string();
    // Two daemons opening one new database at once: one migrates, the other
    // finds it done.
    let model = ModelServer::start().await;
    let mut a = TestEnv::new().use_store(&url);
    let mut b = TestEnv::new().use_store(&url);
    a.write_config(&config_for(&model, ""));
    b.write_config(&config_for(&model, ""));
    tokio::join!(a.start_daemon(), b.start_daemon());
    let versions = pg
        .psql(
            &db,
            "SELECT string_agg(version::text, ',' ORDER BY version) FROM tether_schema",
        )
        .unwrap();
    assert!(versions.starts_with("1,2,3,4,5,6"), "{versions}");
    a.ok(&["daemon", "stop"]).await;
    a.wait_daemon_exit().await;
    b.ok(&["daemon", "stop"]).await;
    b.wait_daemon_exit().await;

    pg.psql(&db, "INSERT INTO tether_schema (version) VALUES (999)")
        .unwrap();
    let out = a.run(&["daemon"]).await;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains("the store was made by a newer tether (schema version 999; this tether knows versions up to "),
        "{}",
        out.stderr
    );
}

/// A server that offers TLS with a certificate of a private CA: with
/// `sslmode=require` the daemon connects over TLS when `TETHER_STORE_CA` names
/// that CA, and refuses the server, saying why, when nothing vouches for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_the_server_is_verified_against_the_named_ca() {
    use std::os::unix::fs::PermissionsExt;
    let pg = tether_tests::postgres::PgServer::start().unwrap();
    let dir = pg.root.join("tls");
    std::fs::create_dir(&dir).unwrap();
    let sh = |script: &str| {
        let out = std::process::Command::new("sh")
            .args(["-c", script])
            .current_dir(&dir)
            .output()
            .expect("openssl (the TLS test makes its certificates with it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sh(
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
        -subj '/CN=tether test CA' && \
        openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
        -subj '/CN=localhost' && \
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf && \
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
        -out server.pem -days 2 -extfile ext.cnf",
    );
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    for f in ["", "server.key", "server.pem"] {
        tether_tests::postgres::give_to_server(&dir.join(f));
    }
    pg.stop();
    pg.restart_with(&format!(
        "-c ssl=on -c ssl_cert_file={0}/server.pem -c ssl_key_file={0}/server.key",
        dir.display()
    ));
    let db = tether_tests::postgres::unique("t_");
    pg.psql("postgres", &format!("CREATE DATABASE {db}"))
        .unwrap();
    let url = format!(
        "postgres://tether@127.0.0.1:{}/{db}?sslmode=require",
        pg.port
    );

    let refused = TestEnv::new().use_store(&url);
    let out = refused.run(&["daemon"]).await;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("cannot reach the PostgreSQL store")
            && out.stderr.contains("certificate"),
        "{}",
        out.stderr
    );

    let model = ModelServer::start().await;
    let mut env = TestEnv::new().use_store(&url);
    env.env.push((
        "TETHER_STORE_CA".into(),
        dir.join("ca.pem").display().to_string(),
    ));
    env.write_config(&config_for(&model, ""));
    env.start_daemon().await;
    model.push(Reply::text("over tls"));
    env.ok(&["new", "-d", "-n", "one", "hi"]).await;
    assert_eq!(env.wait_settled("one").await, "idle");
    let ssl = pg
        .psql(
            "postgres",
            &format!(
                "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a \
                 ON a.pid = s.pid WHERE a.datname = '{db}'"
            ),
        )
        .unwrap();
    assert_eq!(ssl, "t", "the daemon's connections use TLS");
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;
    pg.shut_down();
}
