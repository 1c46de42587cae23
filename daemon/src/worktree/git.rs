//! Running the real `git` CLI for the worktree module: one command at a time,
//! with no terminal, no prompt, nothing inherited that points git elsewhere,
//! and a time limit.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use super::error::WorktreeError;

/// Long enough for `git worktree add` to check out a large tree.
const LIMIT: Duration = Duration::from_secs(300);

/// What a git command printed, and whether it succeeded.
#[derive(Debug)]
pub(super) struct Output {
    /// Exit status 0.
    pub ok: bool,
    /// Standard output, trimmed.
    pub stdout: String,
    /// The first line of standard error (git's message, for the user).
    pub stderr_line: String,
}

/// Runs `git -C dir ARGS...`. Fails only when git cannot be run at all (or
/// hangs); a git that ran and failed is `Output { ok: false, .. }`.
pub(super) async fn run(dir: &Path, args: &[&str]) -> Result<Output, WorktreeError> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    // Variables that would aim git at another repository or index than `dir`'s
    // (a daemon started from inside a git hook has them).
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_COMMON_DIR",
        "GIT_OBJECT_DIRECTORY",
        "GIT_NAMESPACE",
        "GIT_CEILING_DIRECTORIES",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => WorktreeError::GitMissing,
        _ => WorktreeError::Git(format!("cannot run git: {e}")),
    })?;
    let out = tokio::time::timeout(LIMIT, child.wait_with_output())
        .await
        .map_err(|_| {
            WorktreeError::Git(format!(
                "git {} took longer than {}s",
                args.first().copied().unwrap_or_default(),
                LIMIT.as_secs()
            ))
        })?
        .map_err(|e| WorktreeError::Git(format!("cannot run git: {e}")))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    Ok(Output {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        stderr_line: stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("git failed without saying why")
            .to_string(),
    })
}

/// Runs git and returns its output, or its message as the error.
pub(super) async fn ok(dir: &Path, args: &[&str]) -> Result<String, WorktreeError> {
    let out = run(dir, args).await?;
    if out.ok {
        Ok(out.stdout)
    } else {
        Err(WorktreeError::Git(out.stderr_line))
    }
}

/// `s` quoted for a POSIX shell when it needs it (for a command shown to the user).
pub(super) fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | ':' | '@' | '+' | ',')
        });
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
