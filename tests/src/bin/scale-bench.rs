//! Scale benchmarks of issue 13, run by hand (not in CI):
//!
//! ```sh
//! cargo build --release -p tether-tests --bin scale-bench
//! target/release/scale-bench --part startup [--before OLD_TETHER_BINARY] [--keep]
//! ```
//!
//! `--part startup`: the time from `tether daemon` starting until `tether ls`
//! answers, with 1,000, 10,000 and 100,000 stored sessions, and the daemon's
//! RSS then (all sessions idle). Each store is seeded once: 1,000 sessions with
//! one real turn each are made through the daemon, then their rows and logs are
//! copied in SQL under new ids until the store holds N. With `--before`, the
//! same is measured for another build (say, the last release: its own seeded
//! store, at its own schema version), and that store is then opened by this
//! build once, which upgrades it (migration 6 fills the list columns from the
//! logs): the one-time cost of the upgrade.
// A measuring tool: it fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use tether_tests::measure::rss_kib;
use tether_tests::raw::Raw;
use tether_tests::{ModelServer, Reply};
use tokio::process::{Child, Command};

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
const TEMPLATE: usize = 1_000;
/// Starts measured per size and build; the median is reported.
const RUNS: usize = 3;

/// One daemon's directories.
struct Dirs {
    socket: PathBuf,
    config: PathBuf,
    state: PathBuf,
    work: PathBuf,
}

impl Dirs {
    fn new(root: &Path, name: &str, config_text: &str) -> Dirs {
        let base = root.join(name);
        let d = Dirs {
            socket: base.join("run").join("tether.sock"),
            config: base.join("config"),
            state: base.join("state"),
            work: base.join("work"),
        };
        for p in [&d.config, &d.state, &d.work] {
            std::fs::create_dir_all(p).unwrap();
        }
        std::fs::write(d.config.join("config.toml"), config_text).unwrap();
        d
    }

    fn command(&self, bin: &Path) -> Command {
        let mut c = Command::new(bin);
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.state.parent().unwrap())
            .env("TETHER_SOCKET", &self.socket)
            .env("TETHER_CONFIG_DIR", &self.config)
            .env("TETHER_STATE_DIR", &self.state)
            .env("TETHER_TEST_KEY", "k")
            .env("TETHER_LOG", "warn,tether_daemon::daemon=info")
            .current_dir(&self.work)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    fn daemon(&self, bin: &Path) -> Child {
        let _ = std::fs::remove_file(&self.socket);
        self.command(bin)
            .arg("daemon")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    async fn cli(&self, bin: &Path, args: &[&str]) -> String {
        let out = self.command(bin).args(args).output().await.unwrap();
        assert!(
            out.status.success(),
            "tether {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    async fn wait_socket(&self) {
        let t0 = Instant::now();
        while !self.socket.exists() {
            assert!(t0.elapsed() < Duration::from_secs(60), "no socket");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    async fn stop(&self, bin: &Path, mut child: Child) {
        self.cli(bin, &["daemon", "stop"]).await;
        child.wait().await.unwrap();
    }

    fn db(&self) -> PathBuf {
        self.state.join("tether.db")
    }
}

/// Makes `TEMPLATE` sessions with one turn each through the daemon `bin`.
async fn seed_template(bin: &Path, dirs: &Dirs, model: &ModelServer) {
    for i in 0..TEMPLATE {
        model.push(Reply::text(format!("answer number {i}, a few words long")));
    }
    let child = dirs.daemon(bin);
    dirs.wait_socket().await;
    let mut tasks = Vec::new();
    for part in 0..4 {
        let socket = dirs.socket.clone();
        let cwd = dirs.work.display().to_string();
        tasks.push(tokio::spawn(async move {
            let mut raw = Raw::hello(&socket).await;
            for i in (part..TEMPLATE).step_by(4) {
                let v = raw
                    .request(
                        2,
                        "session.create",
                        json!({"name": format!("s{i}"), "cwd": cwd, "prompt": format!("question {i}")}),
                    )
                    .await;
                assert!(v["result"]["id"].is_string(), "{v}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut raw = Raw::hello(&dirs.socket).await;
    let t0 = Instant::now();
    loop {
        let v = raw.request(3, "session.list", json!({})).await;
        let list = v["result"].as_array().unwrap();
        if list.len() == TEMPLATE && list.iter().all(|s| s["state"] == "idle") {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(300), "seeding stalled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    dirs.stop(bin, child).await;
}

/// Copies the template's sessions (rows and logs) under new ids until the
/// store at `db` holds `n`.
fn grow_store(db: &Path, n: usize) {
    let c = rusqlite::Connection::open(db).unwrap();
    let cols: Vec<String> = c
        .prepare("SELECT name FROM pragma_table_info('sessions')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let select: Vec<String> = cols
        .iter()
        .map(|col| match col.as_str() {
            "id" => "id || ?1".to_string(),
            "name" => "name || ?1".to_string(),
            other => other.to_string(),
        })
        .collect();
    let insert_sessions = format!(
        "INSERT INTO sessions ({}) SELECT {} FROM sessions WHERE id NOT LIKE '%.%'",
        cols.join(", "),
        select.join(", ")
    );
    c.execute_batch("BEGIN").unwrap();
    for copy in 1..n / TEMPLATE {
        // Ids and template names have no dot: the copies are told apart by theirs.
        let suffix = format!(".c{copy}");
        c.execute(&insert_sessions, [&suffix]).unwrap();
        c.execute(
            "INSERT INTO events (session_id, seq, type, body) SELECT session_id || ?1, seq, type, body \
             FROM events WHERE session_id NOT LIKE '%.%'",
            [&suffix],
        )
        .unwrap();
    }
    c.execute_batch("COMMIT").unwrap();
    let count: i64 = c
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count as usize, n);
}

/// One start: (until `tether ls` answered, restore_ms from the log, RSS MiB
/// once the daemon serves, before any list was asked for, RSS MiB after `ls`).
async fn start_once(bin: &Path, dirs: &Dirs, n: usize) -> (Duration, String, f64, f64) {
    let t0 = Instant::now();
    let child = dirs.daemon(bin);
    dirs.wait_socket().await;
    let out = dirs.cli(bin, &["ls"]).await;
    let took = t0.elapsed();
    assert!(out.lines().count() >= n, "a line per session");
    let after_ls = rss_kib(child.id().unwrap()) as f64 / 1024.0;
    dirs.stop(bin, child).await;
    let log = std::fs::read_to_string(dirs.state.join("daemon.log")).unwrap();
    let restore = log
        .lines()
        .rev()
        .find(|l| l.contains("daemon ready"))
        .and_then(|l| l.split("restore_ms=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or("?")
        .to_string();
    // Again, idle: the first request is a cheap one, so no list is built.
    let child = dirs.daemon(bin);
    dirs.wait_socket().await;
    dirs.cli(bin, &["daemon", "status"]).await;
    let idle = rss_kib(child.id().unwrap()) as f64 / 1024.0;
    dirs.stop(bin, child).await;
    (took, restore, idle, after_ls)
}

/// Seeds stores of every size for `bin` and measures its starts; returns one
/// table row per size, and leaves the stores in `root/<label>-<n>`.
async fn measure(
    bin: &Path,
    label: &str,
    root: &Path,
    config: &str,
    model: &ModelServer,
) -> Vec<String> {
    let template = Dirs::new(root, &format!("{label}-template"), config);
    let t0 = Instant::now();
    seed_template(bin, &template, model).await;
    eprintln!(
        "{label}: template of {TEMPLATE} seeded in {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    let mut rows = Vec::new();
    for n in SIZES {
        let dirs = Dirs::new(root, &format!("{label}-{n}"), config);
        std::fs::copy(template.db(), dirs.db()).unwrap();
        grow_store(&dirs.db(), n);
        let mut runs = Vec::new();
        for _ in 0..RUNS {
            runs.push(start_once(bin, &dirs, n).await);
        }
        runs.sort_by_key(|r| r.0);
        let (took, restore, idle, after_ls) = &runs[RUNS / 2];
        eprintln!("{label} {n}: {runs:?}");
        rows.push(format!(
            "| {label} | {n} | {:.0} ms | {restore} ms | {idle:.1} MiB | {after_ls:.1} MiB |",
            took.as_secs_f64() * 1000.0
        ));
    }
    rows
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let part = args
        .iter()
        .position(|a| a == "--part")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str);
    assert_eq!(
        part,
        Some("startup"),
        "usage: scale-bench --part startup [--before BIN]"
    );
    let before = args
        .iter()
        .position(|a| a == "--before")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let model = ModelServer::start().await;
    let config = tether_tests::harness::config_for(&model, "");
    let root = tempfile::Builder::new()
        .prefix("tether-scale-")
        .tempdir()
        .unwrap();
    // `--keep`: leave the seeded stores for measuring by hand.
    let keep = args.iter().any(|a| a == "--keep");
    let this = tether_tests::tether_bin().to_path_buf();
    println!("# Start-up and memory\n");
    println!("this build: {}", this.display());
    let mut rows = Vec::new();
    if let Some(old) = &before {
        println!("before: {}", old.display());
        rows.extend(measure(old, "before", root.path(), &config, &model).await);
    }
    rows.extend(measure(&this, "after", root.path(), &config, &model).await);
    println!(
        "\nmedian of {RUNS} starts; \"until ls\": from spawning `tether daemon` until `tether ls` \
         exited with every session listed\n"
    );
    println!(
        "| build | sessions | until `tether ls` answered | restore (daemon log) | daemon RSS, idle | daemon RSS after `ls` |"
    );
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        println!("{r}");
    }
    if before.is_some() {
        // The old build's biggest store, opened by this one: the upgrade.
        let n = SIZES[SIZES.len() - 1];
        let dirs = Dirs {
            socket: root.path().join(format!("before-{n}/run/tether.sock")),
            config: root.path().join(format!("before-{n}/config")),
            state: root.path().join(format!("before-{n}/state")),
            work: root.path().join(format!("before-{n}/work")),
        };
        let (first, restore, _, rss) = start_once(&this, &dirs, n).await;
        let (second, restore2, _, _) = start_once(&this, &dirs, n).await;
        println!(
            "\nthe before build's store of {n} sessions opened by this build: first start (runs \
             migration 6) {:.0} ms until ls (restore {restore} ms, RSS {rss:.1} MiB); next start {:.0} ms (restore {restore2} ms)",
            first.as_secs_f64() * 1000.0,
            second.as_secs_f64() * 1000.0
        );
    }
    if keep {
        eprintln!("stores kept in {}", root.keep().display());
    }
}
