//! A private tether installation per test: directories, config, the daemon
//! process, the CLI, and waits that poll a condition with a timeout.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::model::ModelServer;

/// The API key tests give the daemon; it must never be written to disk.
pub const TEST_API_KEY: &str = "sk-tether-test-7f3e9a1c5b";

/// The `tether` binary, built once per test process so tests run the current code.
/// `TETHER_BENCH_BIN` names another one instead (a benchmark's "before" build).
pub fn tether_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("TETHER_BENCH_BIN") {
            return PathBuf::from(bin);
        }
        let exe = std::env::current_exe().expect("current_exe");
        // target/<profile>/deps/<test> or target/<profile>/<bin> -> target/<profile>
        let profile_dir = exe
            .ancestors()
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n == "debug" || n == "release")
            })
            .expect("running from a cargo target directory")
            .to_path_buf();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut cmd = std::process::Command::new(env!("CARGO"));
        // Both binaries: `tether` runs and starts `tether-daemon` beside it.
        cmd.args(["build", "-q", "-p", "tether", "--bins"]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p tether failed");
        let bin = profile_dir.join("tether");
        assert!(bin.exists(), "no tether binary at {}", bin.display());
        // The daemon it starts: this build's, beside it, never another on PATH.
        let daemon = bin.with_file_name("tether-daemon");
        assert!(daemon.exists(), "no tether-daemon at {}", daemon.display());
        bin
    })
}

/// What a CLI run printed.
#[derive(Debug, Clone)]
pub struct Out {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// One test's tether: temp dirs, config, the daemon.
pub struct TestEnv {
    /// Holds the temp tree.
    pub root: TempDir,
    /// The socket.
    pub socket: PathBuf,
    /// `TETHER_CONFIG_DIR`.
    pub config_dir: PathBuf,
    /// `TETHER_STATE_DIR`.
    pub state_dir: PathBuf,
    /// A working directory for sessions.
    pub work_dir: PathBuf,
    /// Extra environment for CLI and daemon.
    pub env: Vec<(String, String)>,
    /// The PostgreSQL database this test's daemon keeps its sessions in
    /// (`TETHER_STORE_URL`), when the suite runs on PostgreSQL
    /// (`TETHER_TEST_STORE=postgres`, see [`crate::postgres`]) or the test
    /// chose it ([`TestEnv::on_postgres`]); `None`: the SQLite store.
    pub store_url: Option<String>,
    daemon: Option<Child>,
}

impl TestEnv {
    /// Empty dirs, no config.
    pub fn new() -> TestEnv {
        let root = tempfile::Builder::new()
            .prefix("tether-e2e-")
            .tempdir()
            .expect("tempdir");
        let p = root.path().to_path_buf();
        let env = TestEnv {
            socket: p.join("run").join("tether.sock"),
            config_dir: p.join("config"),
            state_dir: p.join("state"),
            work_dir: p.join("work"),
            root,
            env: vec![("TETHER_TEST_KEY".into(), TEST_API_KEY.into())],
            store_url: None,
            daemon: None,
        };
        std::fs::create_dir_all(&env.config_dir).unwrap();
        std::fs::create_dir_all(&env.work_dir).unwrap();
        if crate::postgres::suite_on_postgres() {
            env.use_store(&crate::postgres::server().fresh_db())
        } else {
            env
        }
    }

    /// Empty dirs, no config, and a fresh database on the suite's PostgreSQL
    /// server for the store, whatever `TETHER_TEST_STORE` says.
    pub fn on_postgres() -> TestEnv {
        let env = TestEnv::new();
        if env.store_url.is_some() {
            return env;
        }
        env.use_store(&crate::postgres::server().fresh_db())
    }

    /// Keeps the sessions in the PostgreSQL database at `url` (`TETHER_STORE_URL`).
    pub fn use_store(mut self, url: &str) -> TestEnv {
        self.env.retain(|(k, _)| k != "TETHER_STORE_URL");
        self.env.push(("TETHER_STORE_URL".into(), url.to_string()));
        self.store_url = Some(url.to_string());
        self
    }

    /// Dirs plus a `config.toml` whose default model is served by `model`, with
    /// fast retries, approvals `allow`, and `extra` appended.
    pub fn with_model(model: &ModelServer, extra: &str) -> TestEnv {
        let env = TestEnv::new();
        env.write_config(&config_for(model, extra));
        env
    }

    /// A scripted model and a running daemon configured for it (see
    /// [`TestEnv::with_model`]): how most end-to-end tests begin.
    pub async fn started(extra: &str) -> (ModelServer, TestEnv) {
        let model = ModelServer::start().await;
        let mut env = TestEnv::with_model(&model, extra);
        env.start_daemon().await;
        (model, env)
    }

    /// Writes `config.toml`.
    pub fn write_config(&self, text: &str) {
        std::fs::write(self.config_dir.join("config.toml"), text).unwrap();
    }

    fn command(&self) -> Command {
        let mut c = Command::new(tether_bin());
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.root.path())
            .env("TETHER_SOCKET", &self.socket)
            .env("TETHER_CONFIG_DIR", &self.config_dir)
            .env("TETHER_STATE_DIR", &self.state_dir)
            .env("TETHER_LOG", "debug")
            .current_dir(&self.work_dir);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs the CLI with a 30 s limit.
    pub async fn run(&self, args: &[&str]) -> Out {
        let mut c = self.command();
        c.args(args).stdin(Stdio::null()).kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(30), c.output())
            .await
            .unwrap_or_else(|_| panic!("`tether {}` did not finish within 30 s", args.join(" ")))
            .expect("run tether");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs the CLI and asserts exit 0; returns stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert_eq!(
            out.code,
            0,
            "`tether {}` failed: {}",
            args.join(" "),
            out.stderr
        );
        out.stdout
    }

    /// A CLI command, ready to spawn (for races and followers).
    pub fn cli(&self, args: &[&str]) -> Command {
        let mut c = self.command();
        c.args(args);
        c
    }

    /// Starts `tether daemon` in the foreground as a child and waits until it serves.
    pub async fn start_daemon(&mut self) {
        self.spawn_daemon().await;
        let pid = self.daemon_pid();
        self.wait_until(
            "the daemon to serve its socket",
            Duration::from_secs(20),
            || async {
                let out = self.run(&["daemon", "status", "--json"]).await;
                out.code == 0
                    && serde_json::from_str::<Value>(&out.stdout).is_ok_and(|v| v["pid"] == pid)
            },
        )
        .await;
    }

    /// Starts the daemon and waits only for its socket to appear, asking it
    /// nothing (every request but `session.list` waits for the start-up's
    /// restore): the next request is the first it serves.
    pub async fn spawn_daemon(&mut self) {
        assert!(self.daemon.is_none(), "daemon already started by this test");
        let log = std::fs::File::create(self.root.path().join(format!(
            "daemon-{}.stderr",
            Instant::now().elapsed().as_nanos()
        )))
        .unwrap();
        let child = self
            .command()
            .arg("daemon")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn daemon");
        self.daemon = Some(child);
        // Connectable, not only there: one left by a daemon killed before is
        // refused until this one binds its own.
        let socket = self.socket.clone();
        self.wait_until("the daemon's socket", Duration::from_secs(20), || {
            let bound = std::os::unix::net::UnixStream::connect(&socket).is_ok();
            async move { bound }
        })
        .await;
    }

    /// The pid of the daemon this test started.
    pub fn daemon_pid(&self) -> u32 {
        self.daemon
            .as_ref()
            .and_then(Child::id)
            .expect("daemon running")
    }

    /// `kill -9` of the daemon.
    pub async fn kill9(&mut self) {
        let mut child = self.daemon.take().expect("a daemon to kill");
        child.start_kill().unwrap();
        child.wait().await.unwrap();
    }

    /// Takes the lock that a CLI or TUI holds while it starts a daemon, so none
    /// can start one until the returned file is dropped (to see what a client
    /// shows while no daemon runs, or to start the test's own daemon first).
    pub fn hold_spawn_lock(&self) -> std::fs::File {
        locked(&PathBuf::from(format!("{}.spawn", self.socket.display())))
    }

    /// Takes the daemon's own lock (`<socket>.lock`) with `holder` written in
    /// it, as a daemon does: one that holds it and does not serve (still
    /// starting, or dying) until the returned file is dropped.
    pub fn hold_daemon_lock(&self, holder: &str) -> std::fs::File {
        use std::io::Write;
        let dir = self.socket.parent().expect("the socket's directory");
        std::fs::create_dir_all(dir).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut file = locked(&PathBuf::from(format!("{}.lock", self.socket.display())));
        // Locked first, then written, as the daemon does.
        file.set_len(0).unwrap();
        file.write_all(holder.as_bytes()).unwrap();
        file
    }

    /// Waits for the daemon child to exit (after `daemon stop`); returns its code.
    pub async fn wait_daemon_exit(&mut self) -> i32 {
        let mut child = self.daemon.take().expect("a daemon");
        let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .expect("daemon exits within 20 s")
            .unwrap();
        status.code().unwrap_or(-1)
    }

    /// `logs NAME --json` as values.
    pub async fn events(&self, name: &str) -> Vec<Value> {
        let out = self.ok(&["logs", name, "--json"]).await;
        out.lines()
            .map(|l| serde_json::from_str(l).expect("logs --json line"))
            .collect()
    }

    /// Events of one type.
    pub async fn events_of(&self, name: &str, ty: &str) -> Vec<Value> {
        self.events(name)
            .await
            .into_iter()
            .filter(|e| e["type"] == ty)
            .collect()
    }

    /// Polls `cond` every 25 ms until it holds, or panics after `timeout` saying what it waited for.
    pub async fn wait_until<F, Fut>(&self, what: &str, timeout: Duration, mut cond: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            if cond().await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until the session's log has an event matching `pred`; returns it.
    pub async fn wait_event(&self, name: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(e) = self.events(name).await.into_iter().find(|e| pred(e)) {
                return e;
            }
            if Instant::now() > deadline {
                let all = self.events(name).await;
                panic!(
                    "timed out waiting for {what} in session {name}; log:\n{}",
                    pretty(&all)
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// `tether wait NAME --timeout 20`; returns the state printed.
    pub async fn wait_settled(&self, name: &str) -> String {
        let out = self.run(&["wait", name, "--timeout", "20"]).await;
        assert_eq!(
            out.code, 0,
            "wait {name} timed out or failed: {}{}",
            out.stdout, out.stderr
        );
        out.stdout.trim().to_string()
    }

    /// Every file under the state dir, read as bytes (for "never on disk" checks).
    pub fn state_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.state_dir.clone(), self.config_dir.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(bytes) = std::fs::read(&p) {
                    out.push((p, bytes));
                }
            }
        }
        out
    }
}

/// `path` (made if missing, its content kept), opened and exclusively locked.
fn locked(path: &Path) -> std::fs::File {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
    file
}

impl Drop for TestEnv {
    /// A daemon the CLI auto-started is detached from the test: stop it too.
    fn drop(&mut self) {
        if self.socket.exists() {
            let _ = std::process::Command::new(tether_bin())
                .args(["daemon", "stop"])
                .env("TETHER_SOCKET", &self.socket)
                .env("TETHER_CONFIG_DIR", &self.config_dir)
                .env("TETHER_STATE_DIR", &self.state_dir)
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

/// A `config.toml` for a scripted model.
pub fn config_for(model: &ModelServer, extra: &str) -> String {
    let approvals = if extra.contains("[approvals]") {
        ""
    } else {
        "[approvals]\ndefault = \"allow\"\n"
    };
    format!(
        "default_model = \"mock/test-model\"\n\n[providers.mock]\nkind = \"openai\"\nbase_url = \"{}\"\n\
         api_key_env = \"TETHER_TEST_KEY\"\n\n[retry]\nmax_attempts = 3\ninitial_backoff_ms = 20\n\
         max_backoff_ms = 200\nstall_timeout_s = 3\n\n{approvals}{extra}\n",
        model.base_url()
    )
}

/// Events as text, for failure messages.
pub fn pretty(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Serialised request bodies contain `needle`?
pub fn mentions(v: &Value, needle: &str) -> bool {
    v.to_string().contains(needle)
}

/// The MCP fixture directory (`tests/fixtures/mcp`), with its npm servers
/// installed (`npm ci` once, when `node_modules` is missing).
pub fn mcp_fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join("mcp");
        if !dir
            .join("node_modules")
            .join(".bin")
            .join("mcp-server-everything")
            .exists()
        {
            let status = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .status()
                .expect("run npm (Node.js and npm are needed for the MCP tests)");
            assert!(status.success(), "npm ci in {} failed", dir.display());
        }
        dir
    })
}

/// An npm MCP server's executable, e.g. `mcp-server-filesystem`.
pub fn npm_server(name: &str) -> String {
    mcp_fixtures()
        .join("node_modules")
        .join(".bin")
        .join(name)
        .display()
        .to_string()
}

/// The misbehaving fixture server.
pub fn bad_server() -> String {
    mcp_fixtures().join("bad_server.py").display().to_string()
}

/// Writes `text` to `path` the way most editors save: a temp file renamed over it.
pub fn save_by_rename(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp-save");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Lines of a file (empty when missing).
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}
