//! A private PostgreSQL server for the suite (issue 16): `initdb` into a temp
//! dir and `pg_ctl start` on a free loopback port, the socket in the temp dir,
//! one server per test binary ([`server`]) and a fresh database per use
//! ([`PgServer::fresh_db`]).
//!
//! PostgreSQL refuses to run as root: when the suite runs as root (CI does),
//! the server runs as the user `tether-pg` (created when missing), which owns
//! its temp dir. The server is stopped, and its dir removed, when the test
//! process ends however it ends: a watchdog shell holds the server and waits on
//! a pipe from the test process; the pipe closes at exit (even after
//! `kill -9`), and the watchdog stops the server. A leftover of an earlier run
//! cannot get in the way: every server has its own dir and port.
//!
//! With no PostgreSQL binaries on the machine, [`server`] fails the test with a
//! message that says what to install: a PostgreSQL test never passes by
//! skipping.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The user the server runs as when the suite runs as root.
pub const PG_USER: &str = "tether-pg";

/// The database role tests connect as (trust authentication on loopback only).
const ROLE: &str = "tether";

/// A running private server.
pub struct PgServer {
    /// The temp dir: `data/`, the socket, `server.log`.
    pub root: PathBuf,
    /// Its loopback port.
    pub port: u16,
    bin: PathBuf,
    /// The server's options (`pg_ctl -o`).
    opts: String,
    /// The watchdog; its stdin is the pipe whose end stops the server.
    watchdog: std::sync::Mutex<Option<Child>>,
}

/// The directory holding `initdb`, `pg_ctl` and `psql`: `TETHER_PG_BIN`, else
/// the newest `/usr/lib/postgresql/*/bin`, else `PATH`.
pub fn pg_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TETHER_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p).find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
    })
}

/// The suite's server, started on first use; fails the test with a clear
/// message when PostgreSQL is not installed or does not start.
pub fn server() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(|| PgServer::start().unwrap_or_else(|e| panic!("{e}")))
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Makes sure the unprivileged user exists (as root only).
fn ensure_user() -> Result<(), String> {
    let exists = Command::new("id")
        .arg(PG_USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if exists {
        return Ok(());
    }
    let out = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/bin/sh",
            PG_USER,
        ])
        .output()
        .map_err(|e| format!("cannot run useradd to create {PG_USER}: {e}"))?;
    // Another test binary may have created it meanwhile.
    if !out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("already exists") {
        return Err(format!(
            "useradd {PG_USER} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// A command run as the server's user (through `runuser` when root).
fn as_pg_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", PG_USER, "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A free loopback port (the kernel's pick; released for the server to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// A name no other run or test picks.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl PgServer {
    /// `initdb`s a new cluster in a temp dir and starts it, without fsync (a
    /// test server: the tests kill daemons, not the machine).
    pub fn start() -> Result<PgServer, String> {
        Self::start_with(false)
    }

    /// [`PgServer::start`], with `fsync` and full-page writes on when `durable`
    /// (what a benchmark measures against).
    pub fn start_with(durable: bool) -> Result<PgServer, String> {
        let bin = pg_bin_dir().ok_or(
            "the PostgreSQL tests need a PostgreSQL server's binaries (initdb, pg_ctl, psql): \
             install them (`apt-get install postgresql`) or set TETHER_PG_BIN to their directory",
        )?;
        if is_root() {
            ensure_user()?;
        }
        let root = std::env::temp_dir().join(unique("tether-pg-"));
        std::fs::create_dir_all(&root)
            .map_err(|e| format!("cannot create {}: {e}", root.display()))?;
        if is_root() {
            let out = Command::new("chown")
                .arg(format!("{PG_USER}:"))
                .arg(&root)
                .output()
                .map_err(|e| format!("cannot run chown: {e}"))?;
            if !out.status.success() {
                return Err(format!("chown {} failed", root.display()));
            }
        }
        let data = root.join("data");
        let out = as_pg_user(&bin.join("initdb"))
            .args(["-D"])
            .arg(&data)
            .args([
                "-U",
                ROLE,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ])
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb {} failed: {}",
                data.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut opts = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=400 \
                 -c shared_buffers=64MB",
                root.display()
            );
            if !durable {
                opts.push_str(" -c fsync=off -c full_page_writes=off");
            }
            match Self::launch(&bin, &root, port, &opts) {
                Ok(child) => {
                    return Ok(PgServer {
                        root,
                        port,
                        bin,
                        opts,
                        watchdog: std::sync::Mutex::new(Some(child)),
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Starts the server under its watchdog and waits until it serves.
    fn launch(bin: &Path, root: &Path, port: u16, opts: &str) -> Result<Child, String> {
        let pg_ctl = bin.join("pg_ctl").display().to_string();
        let data = root.join("data").display().to_string();
        let log = root.join("server.log").display().to_string();
        // Starts the server, says so, then waits for the test process's end
        // (its stdin closing) to stop it and remove the dir.
        let script = format!(
            "'{pg_ctl}' -D '{data}' -o '{opts}' -l '{log}' -w -t 60 start >/dev/null || exit 1; \
             echo ready; read _; '{pg_ctl}' -D '{data}' -m immediate -w stop >/dev/null 2>&1; \
             rm -rf '{}'",
            root.display()
        );
        let mut child = as_pg_user(Path::new("/bin/sh"))
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the PostgreSQL server: {e}"))?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        if line.trim() == "ready" {
            return Ok(child);
        }
        let _ = child.wait();
        let log = std::fs::read_to_string(root.join("server.log")).unwrap_or_default();
        Err(format!(
            "the PostgreSQL server did not start on port {port}; its log:\n{log}"
        ))
    }

    /// The URL of database `db` (trust authentication: no password).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs SQL through `psql` on database `db`; returns its output.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(self.url(db))
            .args(["-c", sql])
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// A new, empty database; returns its URL.
    pub fn fresh_db(&self) -> String {
        let db = unique("t_");
        self.psql("postgres", &format!("CREATE DATABASE {db}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {db} failed: {e}"));
        self.url(&db)
    }

    /// Stops the server now (`pg_ctl stop -m immediate`: what a crash of the
    /// database server looks like to its clients). [`PgServer::restart`]
    /// starts it again on the same port with the same data.
    pub fn stop(&self) {
        let out = as_pg_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.root.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .output()
            .expect("run pg_ctl stop");
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server again after [`PgServer::stop`].
    pub fn restart(&self) {
        self.restart_with("");
    }

    /// [`PgServer::restart`] with more server options (`-c ssl=on ...`).
    pub fn restart_with(&self, extra: &str) {
        let opts = format!("{} {extra}", self.opts);
        let out = as_pg_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.root.join("data"))
            .args(["-o", &opts, "-l"])
            .arg(self.root.join("server.log"))
            .args(["-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .output()
            .expect("run pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops the server and removes its dir now (a server of a test's own;
    /// the suite's stops at exit).
    pub fn shut_down(&self) {
        if let Some(mut child) = self.watchdog.lock().ok().and_then(|mut w| w.take()) {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Gives `path` to the server's user (for files it must read: a certificate).
pub fn give_to_server(path: &Path) {
    if is_root() {
        let ok = Command::new("chown")
            .arg(format!("{PG_USER}:"))
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "chown {}", path.display());
    }
}

/// Whether the suite runs against PostgreSQL: in the `on_postgres` test
/// binary (`tests/tests/on_postgres.rs`, the store-heavy suites compiled again),
/// or with `TETHER_TEST_STORE=postgres` for any suite.
pub fn suite_on_postgres() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        let by_env = std::env::var("TETHER_TEST_STORE").is_ok_and(|v| v == "postgres" || v == "pg");
        // Cargo names an integration test's binary after its file: on_postgres-HASH.
        let by_binary = std::env::current_exe().is_ok_and(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("on_postgres-") || n == "on_postgres")
        });
        by_env || by_binary
    })
}

/// Skips the rest of a test that cannot apply to a PostgreSQL store (it damages
/// the SQLite file, say), saying why; returns whether it was skipped.
pub fn sqlite_only(why: &str) -> bool {
    if suite_on_postgres() {
        eprintln!("skipped on PostgreSQL: {why}");
        return true;
    }
    false
}
