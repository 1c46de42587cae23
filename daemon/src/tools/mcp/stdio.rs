//! Stdio MCP servers as child processes: spawning one in its own process group,
//! draining its stderr into a small ring buffer, and stopping it (with anything
//! it started) so that no process is left behind.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

use super::error::McpError;

/// How many stderr lines are kept for error reports.
pub(super) const STDERR_LINES: usize = 20;
/// Longer stderr lines are cut here, so a server printing megabytes without a
/// newline cannot make the buffer grow.
const STDERR_LINE_MAX: usize = 2000;

/// The last lines a server wrote to stderr, shared between the drain task and
/// whoever reports errors.
#[derive(Debug, Clone, Default)]
pub(super) struct StderrTail(Arc<Mutex<VecDeque<String>>>);

impl StderrTail {
    fn push(&self, line: String) {
        // A poisoned lock only means a panic elsewhere; the lines are still valid.
        let mut lines = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if lines.len() == STDERR_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// A copy of the buffered lines, oldest first.
    pub(super) fn lines(&self) -> Vec<String> {
        let lines = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        lines.iter().cloned().collect()
    }
}

/// How [`ServerProcess::stop`] went.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stopped {
    /// The exit status, if the child could be reaped.
    pub(super) status: Option<ExitStatus>,
    /// Whether it had to be killed because it did not exit in time.
    pub(super) killed: bool,
}

/// A running stdio server. Dropping it kills the whole process group if the
/// server has not been seen to exit.
#[derive(Debug)]
pub(super) struct ServerProcess {
    server: String,
    child: Child,
    pid: u32,
    tail: StderrTail,
    drain: Option<JoinHandle<()>>,
    exit: Option<ExitStatus>,
}

impl ServerProcess {
    /// Starts `command` with piped stdio in a new process group (its pgid is its
    /// pid), with the parent's environment plus `env`, in `cwd` if given.
    pub(super) fn spawn(
        server: &str,
        command: &str,
        args: &[String],
        env: &BTreeMap<String, String>,
        cwd: Option<&Path>,
    ) -> Result<(ServerProcess, ChildStdout, ChildStdin), McpError> {
        let start_error = |reason: String| McpError::Start {
            server: server.to_string(),
            reason,
            stderr: Vec::new(),
        };
        if command.trim().is_empty() {
            return Err(McpError::InvalidConfig {
                server: server.to_string(),
                reason: "the command is empty".to_string(),
            });
        }
        let mut cmd = Command::new(command);
        cmd.args(args)
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own group, so stopping it also stops whatever it started
            // (npx wrappers, shells, helpers).
            .process_group(0);
        if let Some(dir) = cwd {
            // Checked here because a missing cwd makes spawn fail with NotFound,
            // which would otherwise read as "command not found".
            if !dir.is_dir() {
                return Err(start_error(format!(
                    "working directory `{}` does not exist",
                    dir.display()
                )));
            }
            cmd.current_dir(dir);
        }
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(McpError::CommandNotFound {
                    server: server.to_string(),
                    command: command.to_string(),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return Err(start_error(format!(
                    "command `{command}` is not executable (permission denied)"
                )));
            }
            Err(e) => return Err(start_error(format!("cannot run `{command}`: {e}"))),
        };
        let Some(pid) = child.id() else {
            return Err(start_error(format!("`{command}` exited at once")));
        };
        let tail = StderrTail::default();
        let drain = child
            .stderr
            .take()
            .map(|stderr| tokio::spawn(drain_stderr(stderr, tail.clone(), server.to_string())));
        let stdout = child.stdout.take();
        let stdin = child.stdin.take();
        let process = ServerProcess {
            server: server.to_string(),
            child,
            pid,
            tail,
            drain,
            exit: None,
        };
        // Both are always present because they were configured as piped; if not,
        // `process` is dropped here and the group is killed.
        match (stdout, stdin) {
            (Some(stdout), Some(stdin)) => Ok((process, stdout, stdin)),
            _ => Err(start_error("stdio pipes are missing".to_string())),
        }
    }

    /// The child's pid, which is also its process group id.
    pub(super) fn pid(&self) -> u32 {
        self.pid
    }

    /// The shared stderr ring buffer.
    pub(super) fn tail(&self) -> StderrTail {
        self.tail.clone()
    }

    /// Waits until the child exits. Cancel-safe.
    pub(super) async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.exit {
            return Ok(status);
        }
        let status = self.child.wait().await?;
        self.exit = Some(status);
        Ok(status)
    }

    /// Waits up to `within` for the child to exit.
    pub(super) async fn wait_for_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        match tokio::time::timeout(within, self.wait()).await {
            Ok(Ok(status)) => Some(status),
            Ok(Err(e)) => {
                tracing::warn!(server = %self.server, error = %e, "cannot wait for mcp server");
                None
            }
            Err(_elapsed) => None,
        }
    }

    /// Gives the child `grace` to exit on its own (its stdin should be closed
    /// by now), then kills its process group. Afterwards the group is killed
    /// again to catch anything the server left running in it.
    pub(super) async fn stop(&mut self, grace: Duration) -> Stopped {
        let mut status = self.wait_for_exit(grace).await;
        let killed = status.is_none();
        if killed {
            tracing::info!(server = %self.server, pid = self.pid, "mcp server did not exit in time; killing its process group");
            self.kill_group();
            status = self.wait_for_exit(grace).await;
        }
        if status.is_some() {
            // The leader is gone; whatever remains in its group is an orphan.
            self.kill_group();
        }
        Stopped { status, killed }
    }

    /// Waits up to `within` for the stderr drain to reach end of file, so the
    /// tail holds the last words of a server that just exited.
    pub(super) async fn flush_stderr(&mut self, within: Duration) {
        if let Some(drain) = self.drain.as_mut()
            && tokio::time::timeout(within, drain).await.is_ok()
        {
            self.drain = None;
        }
    }

    /// Sends SIGKILL to the whole process group; a group that is already gone
    /// is fine.
    pub(super) fn kill_group(&self) {
        let Ok(pgid) = i32::try_from(self.pid) else {
            return;
        };
        match killpg(Pid::from_raw(pgid), Signal::SIGKILL) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => {
                tracing::warn!(server = %self.server, pid = self.pid, error = %e, "cannot kill mcp server process group");
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Not seen to exit (connect abandoned, client dropped while the runtime
        // shuts down): kill the group, not just the leader `kill_on_drop` covers.
        if self.exit.is_none() && !matches!(self.child.try_wait(), Ok(Some(_))) {
            self.kill_group();
        }
        if let Some(drain) = self.drain.take() {
            drain.abort();
        }
    }
}

/// Reads stderr until end of file, keeping the last lines. Never stops reading
/// early, so the server can never block on a full stderr pipe.
async fn drain_stderr(mut stderr: ChildStderr, tail: StderrTail, server: String) {
    let mut chunk = vec![0u8; 8192];
    let mut line: Vec<u8> = Vec::new();
    let mut cut = false;
    let finish = |line: &mut Vec<u8>, cut: &mut bool| {
        let mut text = String::from_utf8_lossy(line)
            .trim_end_matches('\r')
            .to_string();
        if *cut {
            text.push_str(" [...]");
        }
        tracing::debug!(server = %server, line = %text, "mcp server stderr");
        tail.push(text);
        line.clear();
        *cut = false;
    };
    loop {
        let n = match stderr.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &byte in chunk.iter().take(n) {
            if byte == b'\n' {
                finish(&mut line, &mut cut);
            } else if line.len() < STDERR_LINE_MAX {
                line.push(byte);
            } else {
                cut = true;
            }
        }
    }
    if !line.is_empty() {
        finish(&mut line, &mut cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        let tail = StderrTail::default();
        for i in 0..(STDERR_LINES + 5) {
            tail.push(format!("line {i}"));
        }
        let lines = tail.lines();
        assert_eq!(lines.len(), STDERR_LINES);
        assert_eq!(lines.first().map(String::as_str), Some("line 5"));
        assert_eq!(
            lines.last().cloned(),
            Some(format!("line {}", STDERR_LINES + 4))
        );
    }
}
