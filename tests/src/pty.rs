//! A pseudo-terminal for timing what a full-screen program draws first: the
//! program gets a new pty as its controlling terminal (through util-linux's
//! `setsid -c`, the same for every program timed), and the pty's output is read
//! until every marker of a complete frame has come.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::pty::{Winsize, openpty};

/// What a terminal answers to a cursor position query (`CSI 6n`): row 1, column 1.
const CURSOR_REPLY: &[u8] = b"\x1b[1;1R";

/// One timed start.
#[derive(Debug)]
pub struct Frame {
    /// From spawning the program to reading the last byte that completed the markers.
    pub elapsed: Duration,
    /// Cursor position queries the program sent before its frame (each one a
    /// round trip to the terminal).
    pub queries: usize,
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// Spawns `program args` (with `env` added, `TMUX` removed) on a `cols`x`rows`
/// pty and waits until all of `markers` were written to it; then ends the
/// program with SIGTERM. Cursor position queries are answered as a terminal
/// would. `Err` says what came instead, on timeout.
pub fn time_first_frame(
    program: &str,
    args: &[&str],
    env: &[(String, String)],
    (cols, rows): (u16, u16),
    markers: &[&str],
    timeout: Duration,
) -> Result<Frame, String> {
    let size = Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(&size, None).map_err(|e| format!("openpty: {e}"))?;
    let slave: OwnedFd = pty.slave;
    let stdio = |fd: &OwnedFd| -> Result<Stdio, String> {
        Ok(Stdio::from(fd.try_clone().map_err(|e| e.to_string())?))
    };
    let mut cmd = Command::new("setsid");
    cmd.arg("-c")
        .arg(program)
        .args(args)
        .env_remove("TMUX")
        .env("TERM", "xterm-256color")
        .stdin(stdio(&slave)?)
        .stdout(stdio(&slave)?)
        .stderr(stdio(&slave)?);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let master = std::fs::File::from(pty.master);
    let mut reader = master.try_clone().map_err(|e| e.to_string())?;
    let mut writer = master;
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let t0 = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("spawn {program}: {e}"))?;
    drop(cmd);
    drop(slave);
    // Reads until the pty closes (EIO once the program and its children are gone).
    let read_thread = std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen: Vec<u8> = Vec::new();
    let mut answered = 0;
    let deadline = t0 + timeout;
    let result = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => {
                let at = Instant::now();
                // A query split across two reads is found on the next one.
                let from = seen.len().saturating_sub(3);
                seen.extend_from_slice(&chunk);
                let queries = count(&seen[from..], b"\x1b[6n");
                for _ in 0..queries {
                    let _ = writer.write_all(CURSOR_REPLY);
                    answered += 1;
                }
                if markers.iter().all(|m| contains(&seen, m.as_bytes())) {
                    break Ok(Frame {
                        elapsed: at - t0,
                        queries: answered,
                    });
                }
            }
            Err(_) => {
                break Err(format!(
                    "{program} {args:?}: no complete frame within {timeout:?} (markers {markers:?}); it wrote:\n{}",
                    String::from_utf8_lossy(&seen)
                ));
            }
        }
    };
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(0));
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let _ = child.wait();
    // The reader ends by itself once the pty closes (a tmux client's pty
    // may stay open in its server a little longer): not waited for.
    drop(read_thread);
    result
}
