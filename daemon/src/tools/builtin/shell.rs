//! The builtin `shell` tool: runs a command with `sh -c` in its own process group, streams
//! its output live as lossy UTF-8, keeps only the head and tail of long output for the model,
//! and kills the whole group on timeout or interrupt.

use std::collections::VecDeque;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::time::Instant;

use super::args::{Args, with_newline};
use super::error::ToolError;
use crate::tools::types::{ToolContext, ToolOutput};

/// Shell timeout when the model does not ask for one.
const DEFAULT_SHELL_TIMEOUT_S: f64 = 120.0;
/// Longest shell timeout the model may ask for; larger requests are clamped.
const MAX_SHELL_TIMEOUT_S: f64 = 3600.0;
/// Bytes of shell output kept from the start; with the tail this caps what reaches the model.
pub(super) const SHELL_HEAD_BYTES: usize = 15_000;
/// Bytes of shell output kept from the end: errors and summaries usually come last.
pub(super) const SHELL_TAIL_BYTES: usize = 15_000;
/// How long to keep reading pipes after the shell exits. Background grandchildren can hold
/// the pipes open forever, so this bounds the wait before the group is killed.
const SHELL_DRAIN_AFTER_EXIT: Duration = Duration::from_millis(200);
/// How long to wait for a SIGKILLed shell to be reaped; `kill_on_drop` covers a straggler.
const SHELL_REAP_TIMEOUT: Duration = Duration::from_secs(5);

/// A `shell` call's validated arguments.
pub(super) struct ShellRequest<'a> {
    command: &'a str,
    timeout_s: f64,
}

impl<'a> ShellRequest<'a> {
    pub(super) fn parse(args: &Args<'a>) -> Result<Self, ToolError> {
        let command = args.required_str("command")?;
        let timeout_s = match args.optional_number("timeout_s")? {
            None => DEFAULT_SHELL_TIMEOUT_S,
            Some(t) if t.is_finite() && t > 0.0 => t.min(MAX_SHELL_TIMEOUT_S),
            Some(_) => return Err(args.invalid("field `timeout_s` must be a positive number")),
        };
        Ok(Self { command, timeout_s })
    }
}

/// How the shell run ended.
enum ShellEnd {
    Exited(ExitStatus),
    TimedOut,
    Interrupted,
}

/// Runs the command to its end (exit, timeout or interrupt) and reports its capped output.
pub(super) async fn run_shell(request: ShellRequest<'_>, ctx: &ToolContext) -> ToolOutput {
    let mut child = match Command::new("sh")
        .arg("-c")
        .arg(request.command)
        .current_dir(&ctx.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout or interrupt can kill everything it started.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(err) => {
            return ToolOutput::error(format!(
                "failed to start shell in {}: {err}",
                ctx.cwd.display()
            ));
        }
    };
    // The group id equals the child's pid because of `process_group(0)`.
    let group = child
        .id()
        .and_then(|pid| i32::try_from(pid).ok())
        .map(Pid::from_raw);
    if let (Some(tx), Some(pid)) = (&ctx.spawned, child.id()) {
        let _ = tx.send(pid);
    }
    let (Some(group), Some(mut stdout), Some(mut stderr)) =
        (group, child.stdout.take(), child.stderr.take())
    else {
        // Unreachable in practice (fresh child, both pipes requested); dropping the child
        // kills it.
        return ToolOutput::error("failed to start shell: no pid or pipes for the child");
    };

    let mut collected = CappedOutput::new(SHELL_HEAD_BYTES, SHELL_TAIL_BYTES);
    let mut out_text = Utf8Chunker::default();
    let mut err_text = Utf8Chunker::default();
    let mut emit = |text: String| {
        if text.is_empty() {
            return;
        }
        collected.push(&text);
        if let Some(live) = &ctx.live {
            // A viewer that went away must not stop the command.
            let _ = live.send(text);
        }
    };

    let mut out_buf = vec![0u8; 8192];
    let mut err_buf = vec![0u8; 8192];
    let mut out_open = true;
    let mut err_open = true;
    let mut status: Option<ExitStatus> = None;
    // `Duration::try_from_secs_f64` cannot fail for a finite positive value, but a fallback
    // beats a panic.
    let timeout = Duration::try_from_secs_f64(request.timeout_s)
        .unwrap_or(Duration::from_secs(DEFAULT_SHELL_TIMEOUT_S as u64));
    let deadline = tokio::time::sleep(timeout);
    // Armed once the child exits; until then it sits at the (later) deadline, disabled.
    let drain = tokio::time::sleep(timeout);
    let wait = child.wait();
    tokio::pin!(deadline, drain, wait);

    let end = loop {
        if let Some(status) = status
            && !out_open
            && !err_open
        {
            break ShellEnd::Exited(status);
        }
        // Checked up front because the select below is deliberately unbiased (so a flood on
        // one pipe cannot starve the other) and could otherwise pick a ready read first.
        if ctx.cancel.is_cancelled() {
            kill_group(group);
            break ShellEnd::Interrupted;
        }
        if status.is_none() && deadline.is_elapsed() {
            kill_group(group);
            break ShellEnd::TimedOut;
        }
        tokio::select! {
            () = ctx.cancel.cancelled() => {
                kill_group(group);
                break ShellEnd::Interrupted;
            }
            () = &mut deadline, if status.is_none() => {
                kill_group(group);
                break ShellEnd::TimedOut;
            }
            read = stdout.read(&mut out_buf), if out_open => match read {
                Ok(n) if n > 0 => emit(out_text.push(&out_buf[..n])),
                _ => out_open = false,
            },
            read = stderr.read(&mut err_buf), if err_open => match read {
                Ok(n) if n > 0 => emit(err_text.push(&err_buf[..n])),
                _ => err_open = false,
            },
            waited = &mut wait, if status.is_none() => match waited {
                Ok(exit) => {
                    status = Some(exit);
                    drain.as_mut().reset(Instant::now() + SHELL_DRAIN_AFTER_EXIT);
                }
                Err(err) => {
                    kill_group(group);
                    emit(out_text.finish());
                    emit(err_text.finish());
                    let text = collected.finish();
                    return ToolOutput::error(format!(
                        "{}failed to wait for shell: {err}",
                        with_newline(&text)
                    ));
                }
            },
            () = &mut drain, if status.is_some() => {
                // Something the command left in the background still holds the pipes.
                kill_group(group);
                if let Some(status) = status {
                    break ShellEnd::Exited(status);
                }
            }
        }
    };

    if status.is_none() {
        // Reap the killed shell so no zombie outlives the call; a child stuck beyond SIGKILL
        // is left to `kill_on_drop` and tokio's orphan reaper.
        let _ = tokio::time::timeout(SHELL_REAP_TIMEOUT, &mut wait).await;
    }
    emit(out_text.finish());
    emit(err_text.finish());
    let text = collected.finish();
    let text = with_newline(&text);
    match end {
        ShellEnd::Exited(status) => {
            let summary = match (status.code(), status.signal()) {
                (Some(code), _) => format!("[exit code: {code}]"),
                (None, Some(signal)) => format!("[killed by signal {signal}]"),
                (None, None) => "[exit status unknown]".to_owned(),
            };
            ToolOutput {
                output: format!("{text}{summary}"),
                is_error: !status.success(),
                images: Vec::new(),
            }
        }
        ShellEnd::TimedOut => ToolOutput::error(format!(
            "{text}[timed out after {} s; the command and its process group were killed]",
            request.timeout_s
        )),
        ShellEnd::Interrupted => ToolOutput::error(format!("{text}[interrupted]")),
    }
}

/// SIGKILLs a whole process group.
fn kill_group(group: Pid) {
    // The only expected failure is ESRCH (every member already exited), which is the goal.
    let _ = killpg(group, Signal::SIGKILL);
}

/// Turns a byte stream into UTF-8 text chunk by chunk, holding back a multi-byte character
/// split across reads so it is not mangled into replacement characters.
#[derive(Default)]
struct Utf8Chunker {
    pending: Vec<u8>,
}

impl Utf8Chunker {
    fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut text = String::new();
        let mut consumed = 0;
        loop {
            let rest = &self.pending[consumed..];
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    text.push_str(valid);
                    consumed = self.pending.len();
                    break;
                }
                Err(err) => {
                    let valid = err.valid_up_to();
                    text.push_str(&String::from_utf8_lossy(&rest[..valid]));
                    match err.error_len() {
                        Some(bad) => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            consumed += valid + bad;
                        }
                        // An incomplete character at the end: wait for the next read.
                        None => {
                            consumed += valid;
                            break;
                        }
                    }
                }
            }
        }
        self.pending.drain(..consumed);
        text
    }

    /// Whatever is still held back, decoded lossily (the stream ended mid-character).
    fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        text
    }
}

/// Collects text up to `head + tail` bytes, keeping the first `head` and the last `tail`
/// bytes and counting what was dropped in between.
struct CappedOutput {
    head: String,
    head_cap: usize,
    head_full: bool,
    tail: VecDeque<u8>,
    tail_cap: usize,
    omitted: usize,
}

impl CappedOutput {
    fn new(head_cap: usize, tail_cap: usize) -> Self {
        Self {
            head: String::new(),
            head_cap,
            head_full: false,
            tail: VecDeque::new(),
            tail_cap,
            omitted: 0,
        }
    }

    fn push(&mut self, mut text: &str) {
        if !self.head_full {
            let room = self.head_cap.saturating_sub(self.head.len());
            let take = floor_char_boundary(text, room);
            self.head.push_str(&text[..take]);
            text = &text[take..];
            if text.is_empty() {
                return;
            }
            self.head_full = true;
        }
        let bytes = text.as_bytes();
        if bytes.len() >= self.tail_cap {
            self.omitted += self.tail.len() + (bytes.len() - self.tail_cap);
            self.tail.clear();
            self.tail.extend(&bytes[bytes.len() - self.tail_cap..]);
        } else {
            self.tail.extend(bytes);
            let excess = self.tail.len().saturating_sub(self.tail_cap);
            self.tail.drain(..excess);
            self.omitted += excess;
        }
    }

    fn finish(self) -> String {
        let mut tail: Vec<u8> = self.tail.into();
        let mut omitted = self.omitted;
        if omitted > 0 {
            // The cut may have split a character; drop its continuation bytes.
            let partial = tail.iter().take_while(|b| (**b & 0xC0) == 0x80).count();
            tail.drain(..partial);
            omitted += partial;
        }
        let tail = String::from_utf8_lossy(&tail);
        if omitted > 0 {
            format!("{}\n[... {omitted} bytes omitted ...]\n{tail}", self.head)
        } else {
            format!("{}{tail}", self.head)
        }
    }
}

/// The largest index `<= max` that is a char boundary of `text`.
fn floor_char_boundary(text: &str, max: usize) -> usize {
    if max >= text.len() {
        return text.len();
    }
    (0..=max)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_output_under_the_cap_is_unchanged() {
        let mut capped = CappedOutput::new(4, 4);
        capped.push("abc");
        capped.push("defgh");
        assert_eq!(capped.finish(), "abcdefgh");
    }

    #[test]
    fn capped_output_keeps_head_and_tail() {
        let mut capped = CappedOutput::new(4, 4);
        for chunk in ["ab", "cdef", "ghij", "k", "lmnopqrstuvwxyz"] {
            capped.push(chunk);
        }
        assert_eq!(capped.finish(), "abcd\n[... 18 bytes omitted ...]\nwxyz");
    }

    #[test]
    fn capped_output_never_splits_characters() {
        let mut capped = CappedOutput::new(4, 4);
        // "é" is two bytes: the head stops before it, the tail cut drops a lone half.
        capped.push("abcé");
        capped.push("éééé");
        let text = capped.finish();
        assert_eq!(text, "abc\n[... 6 bytes omitted ...]\néé");
    }

    #[test]
    fn utf8_chunker_joins_split_characters() {
        let mut chunker = Utf8Chunker::default();
        let bytes = "né€".as_bytes();
        assert_eq!(chunker.push(&bytes[..2]), "n");
        assert_eq!(chunker.push(&bytes[2..4]), "é");
        assert_eq!(chunker.push(&bytes[4..]), "€");
        assert_eq!(chunker.push(b"a\xffb"), "a\u{FFFD}b");
        assert_eq!(chunker.push(&[0xE2, 0x82]), "");
        assert_eq!(chunker.finish(), "\u{FFFD}");
        assert_eq!(chunker.finish(), "");
    }
}
