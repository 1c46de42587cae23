//! A daemon on another machine, through `ssh HOST tether bridge`: the child's
//! stdio is the client's byte stream. ssh's standard error is kept (never shown
//! on the terminal, which the TUI may own), and when the link fails before the
//! daemon answered `hello`, the exit status and that text say which part
//! failed: ssh itself (255), the remote shell not finding tether (127), the
//! remote tether (its own one-line error), or the daemon (its refusal).

use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, BufReader, Join, ReadBuf};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::task::JoinHandle;

use super::connection::Client;
use super::error::{ClientError, daemon_speaks};
use super::remote::Remote;
use super::{DaemonClient, Stream};

/// The exit status of `tether bridge --no-start` when no daemon runs.
pub const EXIT_NOT_RUNNING: i32 = 3;

/// Lines of ssh's standard error kept for the error message.
const STDERR_LINES: usize = 50;

/// `tether bridge --no-start` found no daemon on the remote host.
#[derive(Debug, thiserror::Error)]
#[error("no tether daemon is running on {0}")]
pub struct NotRunning(pub String);

/// The ssh child, shared by the stream and whoever explains its failure.
struct Process {
    child: tokio::sync::Mutex<Child>,
    stderr: Arc<Mutex<Vec<String>>>,
    reader: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Process {
    fn drop(&mut self) {
        // The child itself is killed on drop (`kill_on_drop`).
        if let Ok(mut r) = self.reader.lock()
            && let Some(r) = r.take()
        {
            r.abort();
        }
    }
}

/// The ssh child's stdout and stdin as one stream; dropping it ends ssh.
struct SshStream {
    io: Join<ChildStdout, ChildStdin>,
    _process: Arc<Process>,
}

impl AsyncRead for SshStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for SshStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Runs ssh to `remote` and says hello through it; with `start` false the
/// remote bridge does not start a daemon ([`NotRunning`] when none runs). The
/// error names the part that failed.
pub async fn connect(remote: &Remote, start: bool) -> anyhow::Result<DaemonClient> {
    let argv = remote.argv(start);
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("no ssh program to run"))?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            let hint = match remote.ssh_from {
                "PATH" => {
                    "install OpenSSH's client, or name the program in TETHER_SSH or [remote] ssh"
                }
                _ => "check the program named there",
            };
            anyhow::anyhow!(
                "cannot run `{program}` (ssh, from {}) to reach {}: {e}; {hint}",
                remote.ssh_from,
                remote.name
            )
        })?;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        anyhow::bail!("ssh started without its standard streams");
    };
    let lines = Arc::new(Mutex::new(Vec::new()));
    let kept = lines.clone();
    // Read to its end, whatever it holds (not UTF-8 too), so ssh never blocks
    // on a full pipe.
    let reader = tokio::spawn(async move {
        let mut r = BufReader::new(stderr);
        let mut line = Vec::new();
        while let Ok(n) = r.read_until(b'\n', &mut line).await {
            if n == 0 {
                break;
            }
            if let Ok(mut k) = kept.lock()
                && k.len() < STDERR_LINES
            {
                let text = String::from_utf8_lossy(&line);
                k.push(text.trim_end_matches(['\n', '\r']).to_string());
            }
            line.clear();
        }
    });
    let process = Arc::new(Process {
        child: tokio::sync::Mutex::new(child),
        stderr: lines,
        reader: Mutex::new(Some(reader)),
    });
    let stream = SshStream {
        io: tokio::io::join(stdout, stdin),
        _process: process.clone(),
    };
    match Client::handshake(Box::new(stream) as Box<dyn Stream>).await {
        Ok(c) => Ok(c),
        Err(e) => Err(explain(remote, start, &process, e).await),
    }
}

/// Why the link to `remote` failed before the daemon answered.
async fn explain(remote: &Remote, start: bool, p: &Process, e: ClientError) -> anyhow::Error {
    let name = &remote.name;
    match e {
        ClientError::Version {
            ours,
            theirs,
            daemon_version,
        } => anyhow::anyhow!(version_mismatch(
            name,
            ours,
            theirs,
            daemon_version.as_deref()
        )),
        ClientError::Rpc(e) => {
            anyhow::anyhow!("the daemon on {name} refused the connection: {}", e.message)
        }
        ClientError::Protocol(e) => anyhow::anyhow!(
            "unexpected output through `{}`: {e} (does a login script on {name} print to standard output?)",
            remote.display(start)
        ),
        e @ ClientError::Encode(_) => anyhow::Error::new(e),
        ClientError::Io(io) => {
            // The link closed: the child is exiting, and its status and
            // standard error say why.
            let status = {
                let mut child = p.child.lock().await;
                tokio::time::timeout(Duration::from_secs(5), child.wait()).await
            };
            let reader = p.reader.lock().ok().and_then(|mut r| r.take());
            if let Some(reader) = reader {
                let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
            }
            let stderr = p.stderr.lock().map(|l| l.clone()).unwrap_or_default();
            let code = match status {
                Ok(Ok(s)) => Some(s.code()),
                _ => None,
            };
            match failure(remote, start, code, &stderr) {
                Failure::NotRunning => anyhow::Error::new(NotRunning(name.clone())),
                Failure::Said(text) => anyhow::anyhow!(text),
                Failure::Unknown => anyhow::anyhow!(
                    "lost the link to {name} before the daemon answered (`{}`): {io}",
                    remote.display(start)
                ),
            }
        }
    }
}

/// What a failed link's exit status and standard error mean.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// `bridge --no-start`: no daemon runs there.
    NotRunning,
    /// The message for the user.
    Said(String),
    /// Nothing to say beyond the I/O error.
    Unknown,
}

/// `code`: `None` when the child had not exited in time, `Some(None)` when a
/// signal ended it.
fn failure(remote: &Remote, start: bool, code: Option<Option<i32>>, stderr: &[String]) -> Failure {
    let name = &remote.name;
    let said = |l: &String| !l.trim().is_empty();
    // ssh's own error comes first (after any host-key notice); a remote
    // program's comes last.
    let first = stderr
        .iter()
        .filter(|l| said(l) && !l.starts_with("Warning: Permanently added"))
        .map(|l| l.trim())
        .next();
    let last = stderr.iter().rev().find(|l| said(l)).map(|l| l.trim());
    let quote = |l: Option<&str>| l.map_or_else(String::new, |l| format!(": {l}"));
    match code {
        Some(Some(255)) => Failure::Said(format!(
            "ssh could not connect to {name}{}",
            quote(first).trim_end()
        )),
        Some(Some(127)) => Failure::Said(format!(
            "`{}` was not found on {name}{}: commands run over ssh get a non-interactive shell, whose PATH may lack tether's directory; \
             set `command = \"/full/path/to/tether\"` under [remote] (or [hosts.{name}]) in config.toml",
            remote.command,
            quote(last)
        )),
        Some(Some(EXIT_NOT_RUNNING)) if !start => Failure::NotRunning,
        Some(Some(2)) if stderr.iter().any(|l| l.contains("unrecognized subcommand")) => {
            Failure::Said(format!(
                "the tether on {name} is too old to have `tether bridge`: upgrade tether on {name}"
            ))
        }
        Some(Some(n)) if n != 0 && last.is_some() => {
            let line = last.unwrap_or_default();
            let line = line.strip_prefix("tether: ").unwrap_or(line);
            Failure::Said(format!("on {name}: {line}"))
        }
        Some(Some(n)) => Failure::Said(format!(
            "`{}` exited with status {n} before the daemon answered{}",
            remote.display(start),
            quote(last)
        )),
        Some(None) => Failure::Said(format!(
            "ssh to {name} was ended by a signal before the daemon answered{}",
            quote(last)
        )),
        None => Failure::Unknown,
    }
}

/// A remote of another protocol version: both versions, and which side to
/// upgrade.
pub fn version_mismatch(
    name: &str,
    ours: u32,
    theirs: Option<u32>,
    daemon_version: Option<&str>,
) -> String {
    let fix = match theirs {
        Some(t) if t > ours => "upgrade tether on this machine".to_string(),
        Some(_) => format!(
            "upgrade tether on {name}, then restart its daemon (`ssh {name} tether daemon stop`)"
        ),
        None => format!("install the same tether version here and on {name}"),
    };
    format!(
        "protocol version mismatch with {name}: this tether ({}) speaks protocol {ours}, the daemon on {name} speaks {}; {fix}",
        env!("CARGO_PKG_VERSION"),
        daemon_speaks(theirs, daemon_version)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::remote::resolve;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_failing_part_is_named() {
        let r = resolve("box", None, None).unwrap();
        let said = |code, err: &[&str]| match failure(&r, true, Some(Some(code)), &lines(err)) {
            Failure::Said(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            said(
                255,
                &[
                    "Warning: Permanently added 'box' (ED25519) to the list of known hosts.",
                    "ssh: connect to host box port 22: Connection refused"
                ]
            ),
            "ssh could not connect to box: ssh: connect to host box port 22: Connection refused"
        );
        let missing = said(127, &["sh: 1: tether: not found"]);
        assert!(
            missing.starts_with("`tether` was not found on box: sh: 1: tether: not found:"),
            "{missing}"
        );
        assert!(
            missing.contains("PATH") && missing.contains("[remote]"),
            "{missing}"
        );
        assert_eq!(
            said(
                1,
                &["tether: cannot connect to the daemon at /run/x.sock: denied"]
            ),
            "on box: cannot connect to the daemon at /run/x.sock: denied"
        );
        assert!(said(2, &["error: unrecognized subcommand 'bridge'"]).contains("too old"));
        assert_eq!(
            failure(&r, false, Some(Some(EXIT_NOT_RUNNING)), &[]),
            Failure::NotRunning
        );
        assert_eq!(failure(&r, true, None, &[]), Failure::Unknown);
    }

    #[test]
    fn a_version_mismatch_names_both_versions_and_the_side_to_upgrade() {
        let newer = version_mismatch("box", 1, Some(2), Some("9.9.9"));
        assert!(newer.contains("speaks protocol 1"), "{newer}");
        assert!(
            newer.contains("speaks protocol 2 (tether 9.9.9)"),
            "{newer}"
        );
        assert!(newer.ends_with("upgrade tether on this machine"), "{newer}");
        let older = version_mismatch("box", 2, Some(1), None);
        assert!(older.contains("upgrade tether on box"), "{older}");
    }
}
