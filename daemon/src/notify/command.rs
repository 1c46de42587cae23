//! Running the `[notify] command` once: the notice as one JSON line on its
//! standard input, a time limit after which its whole process group is killed,
//! and a log line when it fails (with its stderr's first line), does not start,
//! or hangs. Nothing here is ever awaited by a session.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tether_shared::notify::Notice;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

/// How much of the command's stderr is kept (the log shows its first line).
const STDERR_CAP: usize = 4096;
/// How long stderr may stay open after the command exits (something it left in
/// the background may hold it); its first line is usually there already.
const STDERR_AFTER_EXIT: Duration = Duration::from_millis(500);
/// How long to wait for a killed command to be reaped.
const REAP: Duration = Duration::from_secs(1);

/// How a run ended, for tests and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Exit status 0.
    Ok,
    /// Another exit status, or a signal; with stderr's first line.
    Failed(String),
    /// The program could not be started.
    NotStarted(String),
    /// Still running at the time limit: killed.
    TimedOut,
    /// The daemon is stopping: killed.
    Stopped,
}

/// Runs `argv` with `notice` on its stdin, for at most `timeout`.
pub async fn run(
    argv: &[String],
    notice: &Notice,
    timeout: Duration,
    cancel: &CancellationToken,
    tracker: &TaskTracker,
) -> Outcome {
    let outcome = run_inner(argv, notice, timeout, cancel, tracker).await;
    let program = argv.first().map_or("", String::as_str);
    let (session, event) = (&notice.name, notice.event);
    match &outcome {
        Outcome::Ok => debug!(%session, %event, program, "notify command ran"),
        Outcome::Failed(why) => {
            warn!(%session, %event, program, "notify command failed: {why}");
        }
        Outcome::NotStarted(why) => {
            warn!(%session, %event, program, "notify command could not start: {why}");
        }
        Outcome::TimedOut => warn!(
            %session, %event, program,
            "notify command still running after {:?} ([notify] timeout_s); killed its process group",
            timeout
        ),
        Outcome::Stopped => {
            debug!(%session, %event, program, "notify command killed: the daemon is stopping")
        }
    }
    outcome
}

async fn run_inner(
    argv: &[String],
    notice: &Notice,
    timeout: Duration,
    cancel: &CancellationToken,
    tracker: &TaskTracker,
) -> Outcome {
    let Some((program, args)) = argv.split_first() else {
        return Outcome::NotStarted("no command".into());
    };
    let mut line = match serde_json::to_vec(notice) {
        Ok(v) => v,
        Err(e) => return Outcome::NotStarted(format!("the notice does not serialise: {e}")),
    };
    line.push(b'\n');
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // For scripts that want a field without parsing JSON.
        .env("TETHER_SESSION", &notice.session)
        .env("TETHER_NAME", &notice.name)
        .env("TETHER_EVENT", notice.event.as_str())
        .env("TETHER_SUMMARY", &notice.summary)
        // Its own process group, so a timeout kills everything it started.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return Outcome::NotStarted(e.to_string()),
    };
    // The group id equals the child's pid because of `process_group(0)`.
    let group = child
        .id()
        .and_then(|pid| i32::try_from(pid).ok())
        .map(Pid::from_raw);
    let kill = || {
        if let Some(g) = group {
            let _ = killpg(g, Signal::SIGKILL);
        }
    };
    let stdin = child.stdin.take();
    let stderr = child.stderr.take();
    // Read beside the command, so a chatty one never blocks on a full pipe.
    let reader = tracker.spawn(async move {
        let mut kept = Vec::new();
        if let Some(mut err) = stderr {
            let mut buf = [0u8; 1024];
            while let Ok(n) = err.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let room = STDERR_CAP.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
        kept
    });
    let write = async move {
        if let Some(mut stdin) = stdin {
            // A command that does not read its input is fine.
            let _ = stdin.write_all(&line).await;
            let _ = stdin.shutdown().await;
        }
    };
    let finished = async {
        let ((), status) = tokio::join!(write, child.wait());
        status
    };
    let status = tokio::select! {
        s = tokio::time::timeout(timeout, finished) => s,
        () = cancel.cancelled() => {
            kill();
            let _ = tokio::time::timeout(REAP, child.wait()).await;
            reader.abort();
            return Outcome::Stopped;
        }
    };
    let status = match status {
        Err(_) => {
            kill();
            let _ = tokio::time::timeout(REAP, child.wait()).await;
            reader.abort();
            return Outcome::TimedOut;
        }
        Ok(Err(e)) => {
            kill();
            reader.abort();
            return Outcome::Failed(format!("could not wait for it: {e}"));
        }
        Ok(Ok(status)) => status,
    };
    if status.success() {
        reader.abort();
        return Outcome::Ok;
    }
    let err = match tokio::time::timeout(STDERR_AFTER_EXIT, reader).await {
        Ok(Ok(bytes)) => bytes,
        _ => Vec::new(),
    };
    let first = String::from_utf8_lossy(&err)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string);
    let how = match (
        status.code(),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => "exit status unknown".to_string(),
    };
    Outcome::Failed(match first {
        Some(line) => format!("{how}: {line}"),
        None => format!("{how} (nothing on stderr)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_shared::SessionState;
    use tether_shared::notify::NotifyEvent;

    fn notice() -> Notice {
        Notice {
            session: "s-1".into(),
            name: "fix".into(),
            event: NotifyEvent::TurnFailed,
            state: SessionState::Failed,
            tool: None,
            call_id: None,
            calls: Vec::new(),
            summary: "turn failed: boom".into(),
            ts: "2026-11-30T09:00:00.000Z".into(),
            count: 1,
        }
    }

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    async fn go(argv: &[String], timeout: Duration) -> Outcome {
        run(
            argv,
            &notice(),
            timeout,
            &CancellationToken::new(),
            &TaskTracker::new(),
        )
        .await
    }

    #[tokio::test]
    async fn the_notice_arrives_on_stdin_and_in_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let script = format!(
            "cat > {0}; echo \"$TETHER_NAME $TETHER_EVENT\" >> {0}",
            out.display()
        );
        assert_eq!(go(&sh(&script), Duration::from_secs(10)).await, Outcome::Ok);
        let text = std::fs::read_to_string(&out).unwrap();
        let mut lines = text.lines();
        let got: Notice = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(got, notice());
        assert_eq!(lines.next(), Some("fix turn_failed"));
    }

    #[tokio::test]
    async fn failures_say_why_with_the_first_line_of_stderr() {
        let failed = go(
            &sh("echo 'no route to host' >&2; echo more >&2; exit 3"),
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(
            failed,
            Outcome::Failed("exit status 3: no route to host".into())
        );
        let missing = go(
            &["/nonexistent/notifier".to_string()],
            Duration::from_secs(10),
        )
        .await;
        assert!(
            matches!(&missing, Outcome::NotStarted(why) if why.contains("No such file")),
            "{missing:?}"
        );
        // A command that ignores its input and exits is fine.
        assert_eq!(
            go(&sh("exit 0"), Duration::from_secs(10)).await,
            Outcome::Ok
        );
    }

    #[tokio::test]
    async fn a_hanging_command_and_what_it_started_are_killed_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        // The background sleep is in the command's process group: it goes too.
        let script = format!("sleep 1000 & echo $! > {}; wait", pid_file.display());
        let t0 = std::time::Instant::now();
        assert_eq!(
            go(&sh(&script), Duration::from_millis(300)).await,
            Outcome::TimedOut
        );
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Killed, then reaped by its parent's death (it may linger as a zombie
        // for a moment): wait until it is gone or a zombie.
        let gone = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            })
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !gone() {
            assert!(
                std::time::Instant::now() < deadline,
                "the background sleep {pid} survived"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
