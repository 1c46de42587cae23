//! The builtin tools an agent can call without any MCP server: `shell`, `read_file`,
//! `write_file`, `edit_file` and `list_dir`.
//!
//! This module owns their JSON Schema specs (as offered to the model), argument parsing, and
//! execution. Every failure, including malformed arguments, becomes an `is_error` output that
//! tells the model what went wrong, because the model is the one who has to fix the call.

use std::collections::VecDeque;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Names of every builtin tool, in the order their specs are offered.
pub const BUILTIN_NAMES: [&str; 5] = ["shell", "read_file", "write_file", "edit_file", "list_dir"];

/// Shell timeout when the model does not ask for one.
const DEFAULT_SHELL_TIMEOUT_S: f64 = 120.0;
/// Longest shell timeout the model may ask for; larger requests are clamped.
const MAX_SHELL_TIMEOUT_S: f64 = 3600.0;
/// Bytes of shell output kept from the start; with the tail this caps what reaches the model.
const SHELL_HEAD_BYTES: usize = 15_000;
/// Bytes of shell output kept from the end: errors and summaries usually come last.
const SHELL_TAIL_BYTES: usize = 15_000;
/// How long to keep reading pipes after the shell exits. Background grandchildren can hold
/// the pipes open forever, so this bounds the wait before the group is killed.
const SHELL_DRAIN_AFTER_EXIT: Duration = Duration::from_millis(200);
/// How long to wait for a SIGKILLed shell to be reaped; `kill_on_drop` covers a straggler.
const SHELL_REAP_TIMEOUT: Duration = Duration::from_secs(5);
/// Cap on the text `read_file` returns in one call.
const READ_FILE_MAX_BYTES: usize = 100_000;
/// Cap on the entries `list_dir` returns in one call.
const LIST_DIR_MAX_ENTRIES: usize = 1000;

/// A tool as offered to the model (OpenAI function-calling shape).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// Name the model calls the tool by.
    pub name: String,
    /// What the tool does and when to use it, written for the model.
    pub description: String,
    /// JSON Schema (an object schema) of the tool's arguments.
    pub parameters: Value,
}

/// What a tool call produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// Text handed back to the model.
    pub output: String,
    /// Whether the call failed (bad arguments, I/O error, non-zero exit, timeout, interrupt).
    pub is_error: bool,
}

impl ToolOutput {
    fn ok(output: impl Into<String>) -> Self {
        Self {
            output: output.into(),
            is_error: false,
        }
    }

    fn error(output: impl Into<String>) -> Self {
        Self {
            output: output.into(),
            is_error: true,
        }
    }
}

/// Everything a builtin needs from the session that runs it.
#[derive(Debug, Clone)]
pub struct ToolContext {
    /// Session working directory; relative paths resolve against it.
    pub cwd: PathBuf,
    /// Cancelled on interrupt or shutdown; a running tool stops and reports `interrupted`.
    pub cancel: CancellationToken,
    /// Receives live output chunks (shell stdout/stderr as they arrive, lossy UTF-8).
    pub live: Option<mpsc::UnboundedSender<String>>,
    /// Receives the process group id of each process group a tool starts, so the
    /// daemon can record it and stop a group left running by a crash.
    pub spawned: Option<mpsc::UnboundedSender<u32>>,
}

/// Why a builtin call failed; its `Display` is the text the model sees.
#[derive(Debug, thiserror::Error)]
enum ToolError {
    #[error("invalid arguments for {tool}: {reason}")]
    InvalidArguments { tool: String, reason: String },
    #[error("no such file or directory: {}", path.display())]
    NotFound { path: PathBuf },
    #[error("{} is a directory, not a file (use list_dir to see its entries)", path.display())]
    IsDirectory { path: PathBuf },
    #[error("{} is not a directory", path.display())]
    NotDirectory { path: PathBuf },
    #[error("failed to {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{} is not valid UTF-8 text, so edit_file cannot change it safely", path.display())]
    NotUtf8 { path: PathBuf },
    #[error(
        "old_string was not found in {}; read the file and copy the text exactly, \
         including whitespace",
        path.display()
    )]
    EditNotFound { path: PathBuf },
    #[error(
        "old_string was found {count} times in {}; it must match exactly once, so include \
         more surrounding context",
        path.display()
    )]
    EditAmbiguous { path: PathBuf, count: usize },
    #[error("interrupted")]
    Interrupted,
}

impl ToolError {
    /// Maps an I/O error to the clearest message for the model: a missing path is the common
    /// mistake and deserves a plain sentence rather than an errno string.
    fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::NotFound {
            Self::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            Self::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

/// The specs of every builtin tool, in [`BUILTIN_NAMES`] order.
pub fn builtin_specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "shell".to_owned(),
            description: "Run a command with `sh -c` in the session working directory and \
                return its combined stdout and stderr followed by its exit code. Stdin is \
                empty. Long output keeps only the beginning and the end. The command is \
                killed (with everything it started) when it times out."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "command": {
                        "type": "string",
                        "description": "The shell command to run."
                    },
                    "timeout_s": {
                        "type": "number",
                        "description": "Seconds until the command is killed (default 120, max 3600)."
                    }
                },
                "required": ["command"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "read_file".to_owned(),
            description: "Read a UTF-8 text file. Relative paths resolve against the session \
                working directory. Output is capped at 100000 bytes; use offset and limit to \
                read large files in parts."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "Path of the file to read."
                    },
                    "offset": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "First line to return, 1-based (default 1)."
                    },
                    "limit": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "Maximum number of lines to return (default: all)."
                    }
                },
                "required": ["path"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "write_file".to_owned(),
            description: "Write content to a file, replacing it if it exists and creating \
                missing parent directories."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "Path of the file to write."
                    },
                    "content": {
                        "type": "string",
                        "description": "The complete new content of the file."
                    }
                },
                "required": ["path", "content"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "edit_file".to_owned(),
            description: "Replace one exact occurrence of old_string with new_string in a \
                file. old_string must appear exactly once; include enough surrounding text \
                to make it unique."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "Path of the file to edit."
                    },
                    "old_string": {
                        "type": "string",
                        "description": "The exact text to replace, including whitespace."
                    },
                    "new_string": {
                        "type": "string",
                        "description": "The text to put in its place."
                    }
                },
                "required": ["path", "old_string", "new_string"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "list_dir".to_owned(),
            description: "List a directory's entries sorted by name; directories end with \
                `/`. At most 1000 entries are shown."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "Directory to list (default: the working directory)."
                    }
                },
                "additionalProperties": false
            }),
        },
    ]
}

/// Whether `name` is one of the builtin tools.
pub fn is_builtin(name: &str) -> bool {
    BUILTIN_NAMES.contains(&name)
}

/// Runs a builtin. Never panics; bad arguments give is_error output that tells the model what
/// was wrong.
pub async fn run_builtin(name: &str, arguments: &Value, ctx: &ToolContext) -> ToolOutput {
    if !is_builtin(name) {
        return ToolOutput::error(format!(
            "unknown tool `{name}`; builtin tools are: {}",
            BUILTIN_NAMES.join(", ")
        ));
    }
    if ctx.cancel.is_cancelled() {
        return ToolOutput::error(ToolError::Interrupted.to_string());
    }
    // Some models send the arguments as a JSON-encoded string rather than an object.
    let decoded;
    let arguments = match arguments {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(value) => {
                decoded = value;
                &decoded
            }
            Err(err) => {
                return ToolOutput::error(format!(
                    "invalid arguments for {name}: arguments are not a JSON object ({err})"
                ));
            }
        },
        other => other,
    };
    let args = match Args::new(name, arguments) {
        Ok(args) => args,
        Err(err) => return ToolOutput::error(err.to_string()),
    };

    if name == "shell" {
        return match ShellRequest::parse(&args) {
            Ok(request) => run_shell(request, ctx).await,
            Err(err) => ToolOutput::error(err.to_string()),
        };
    }

    // File tools are quick, but a read can still block (a FIFO, a hung network mount), so
    // they honour cancellation too.
    let result = tokio::select! {
        () = ctx.cancel.cancelled() => Err(ToolError::Interrupted),
        result = run_file_tool(name, &args, ctx) => result,
    };
    match result {
        Ok(output) => ToolOutput::ok(output),
        Err(err) => ToolOutput::error(err.to_string()),
    }
}

async fn run_file_tool(
    name: &str,
    args: &Args<'_>,
    ctx: &ToolContext,
) -> Result<String, ToolError> {
    match name {
        "read_file" => {
            let path = resolve(&ctx.cwd, args.required_str("path")?);
            let offset = args.optional_count("offset")?.unwrap_or(1);
            let limit = args.optional_count("limit")?;
            read_file(&path, offset, limit).await
        }
        "write_file" => {
            let path = resolve(&ctx.cwd, args.required_str("path")?);
            let content = args.required_str("content")?;
            write_file(&path, content).await
        }
        "edit_file" => {
            let path = resolve(&ctx.cwd, args.required_str("path")?);
            let old = args.required_str("old_string")?;
            let new = args.required_str("new_string")?;
            if old.is_empty() {
                return Err(args.invalid("`old_string` must not be empty"));
            }
            edit_file(&path, old, new).await
        }
        "list_dir" => {
            let path = resolve(&ctx.cwd, args.optional_str("path")?.unwrap_or("."));
            list_dir(&path).await
        }
        other => Err(ToolError::InvalidArguments {
            tool: other.to_owned(),
            reason: "not a file tool".to_owned(),
        }),
    }
}

/// Typed access to a call's argument object, producing errors that name the field.
struct Args<'a> {
    tool: &'a str,
    fields: Option<&'a Map<String, Value>>,
}

impl<'a> Args<'a> {
    fn new(tool: &'a str, arguments: &'a Value) -> Result<Self, ToolError> {
        let fields = match arguments {
            Value::Object(fields) => Some(fields),
            // A tool with no required arguments may be called with none at all.
            Value::Null => None,
            _ => {
                return Err(ToolError::InvalidArguments {
                    tool: tool.to_owned(),
                    reason: "arguments must be a JSON object".to_owned(),
                });
            }
        };
        Ok(Self { tool, fields })
    }

    fn invalid(&self, reason: impl Into<String>) -> ToolError {
        ToolError::InvalidArguments {
            tool: self.tool.to_owned(),
            reason: reason.into(),
        }
    }

    /// A present, non-null field; JSON `null` counts as absent because models send it for
    /// optional fields they mean to omit.
    fn get(&self, field: &str) -> Option<&'a Value> {
        self.fields
            .and_then(|fields| fields.get(field))
            .filter(|value| !value.is_null())
    }

    fn required_str(&self, field: &str) -> Result<&'a str, ToolError> {
        self.optional_str(field)?
            .ok_or_else(|| self.invalid(format!("missing string field `{field}`")))
    }

    fn optional_str(&self, field: &str) -> Result<Option<&'a str>, ToolError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(self.invalid(format!(
                "field `{field}` must be a string, got {}",
                json_type(other)
            ))),
        }
    }

    fn optional_number(&self, field: &str) -> Result<Option<f64>, ToolError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(number)) => number
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.invalid(format!("field `{field}` is not a usable number"))),
            Some(other) => Err(self.invalid(format!(
                "field `{field}` must be a number, got {}",
                json_type(other)
            ))),
        }
    }

    /// A positive whole number (line numbers and counts); `3.0` is accepted as `3`.
    fn optional_count(&self, field: &str) -> Result<Option<usize>, ToolError> {
        let Some(value) = self.get(field) else {
            return Ok(None);
        };
        let must = || self.invalid(format!("field `{field}` must be a positive integer"));
        let count = match value {
            Value::Number(number) => match number.as_u64() {
                Some(n) => n,
                None => match number.as_f64() {
                    Some(f) if f.fract() == 0.0 && f >= 1.0 && f <= u64::MAX as f64 => f as u64,
                    _ => return Err(must()),
                },
            },
            _ => return Err(must()),
        };
        if count == 0 {
            return Err(must());
        }
        // Saturating is right: no file has more lines than usize::MAX anyway.
        Ok(Some(usize::try_from(count).unwrap_or(usize::MAX)))
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Absolute paths are used as-is; relative ones join `cwd`. `.` components are dropped so
/// messages show the path the model would expect (`/w/src`, not `/w/./src`).
fn resolve(cwd: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    joined.components().collect()
}

// ---------------------------------------------------------------------------------------
// shell
// ---------------------------------------------------------------------------------------

struct ShellRequest<'a> {
    command: &'a str,
    timeout_s: f64,
}

impl<'a> ShellRequest<'a> {
    fn parse(args: &Args<'a>) -> Result<Self, ToolError> {
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

async fn run_shell(request: ShellRequest<'_>, ctx: &ToolContext) -> ToolOutput {
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

/// `text` with a trailing newline if it is non-empty, so a status line starts on its own line.
fn with_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_owned()
    } else {
        format!("{text}\n")
    }
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

// ---------------------------------------------------------------------------------------
// file tools
// ---------------------------------------------------------------------------------------

/// How [`read_line`] stopped.
enum LineEnd {
    /// No bytes were left.
    Eof,
    /// A whole line (with its `\n`, unless it was the last line) was read.
    Line,
    /// The byte budget ran out mid-line.
    Capped,
}

/// Reads one line, appending at most `max - out.len()` bytes of it to `out` when `store` is
/// set. Reading through `fill_buf` means a huge line is never held in memory whole.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    out: &mut Vec<u8>,
    max: usize,
    store: bool,
) -> io::Result<LineEnd> {
    let mut read_any = false;
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok(if read_any {
                LineEnd::Line
            } else {
                LineEnd::Eof
            });
        }
        let (len, newline) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if store {
            let room = max.saturating_sub(out.len());
            if len > room {
                out.extend_from_slice(&buf[..room]);
                reader.consume(room);
                return Ok(LineEnd::Capped);
            }
            out.extend_from_slice(&buf[..len]);
        }
        reader.consume(len);
        read_any = true;
        if newline {
            return Ok(LineEnd::Line);
        }
    }
}

async fn read_file(path: &Path, offset: usize, limit: Option<usize>) -> Result<String, ToolError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|err| ToolError::io("read", path, err))?;
    if meta.is_dir() {
        return Err(ToolError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|err| ToolError::io("open", path, err))?;
    let mut reader = BufReader::new(file);
    let io_err = |err| ToolError::io("read", path, err);

    let mut skipped = 0usize;
    while skipped + 1 < offset {
        let mut unused = Vec::new();
        match read_line(&mut reader, &mut unused, 0, false)
            .await
            .map_err(io_err)?
        {
            LineEnd::Eof => {
                return Ok(format!(
                    "[offset {offset} is past the end of {} ({skipped} lines)]",
                    path.display()
                ));
            }
            LineEnd::Line | LineEnd::Capped => skipped += 1,
        }
    }

    let mut bytes = Vec::new();
    let mut shown = 0usize;
    let mut capped = false;
    let mut hit_eof = false;
    while limit.is_none_or(|limit| shown < limit) {
        match read_line(&mut reader, &mut bytes, READ_FILE_MAX_BYTES, true)
            .await
            .map_err(io_err)?
        {
            LineEnd::Eof => {
                hit_eof = true;
                break;
            }
            LineEnd::Line => shown += 1,
            LineEnd::Capped => {
                capped = true;
                break;
            }
        }
        if bytes.len() >= READ_FILE_MAX_BYTES {
            // Exactly at the cap: truncated only if anything is left.
            capped = !reader.fill_buf().await.map_err(io_err)?.is_empty();
            break;
        }
    }

    if capped {
        // The byte cap may have split a character; keep only whole ones.
        if let Err(err) = std::str::from_utf8(&bytes)
            && err.error_len().is_none()
        {
            bytes.truncate(err.valid_up_to());
        }
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if skipped == 0 && shown == 0 && !capped && hit_eof {
        return Ok("[empty file]".to_owned());
    }
    let last_whole_line = skipped + shown;
    if capped {
        return Ok(format!(
            "{}[truncated: output is capped at {READ_FILE_MAX_BYTES} bytes; call read_file \
             with offset={} to continue]",
            with_newline(&text),
            last_whole_line + 1
        ));
    }
    if !hit_eof && !reader.fill_buf().await.map_err(io_err)?.is_empty() {
        return Ok(format!(
            "{}[more lines follow; call read_file with offset={} to continue]",
            with_newline(&text),
            last_whole_line + 1
        ));
    }
    Ok(text)
}

async fn write_file(path: &Path, content: &str) -> Result<String, ToolError> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|err| ToolError::Io {
                action: "create directory",
                path: parent.to_path_buf(),
                source: err,
            })?;
    }
    if tokio::fs::metadata(path)
        .await
        .is_ok_and(|meta| meta.is_dir())
    {
        return Err(ToolError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    tokio::fs::write(path, content)
        .await
        .map_err(|err| ToolError::io("write", path, err))?;
    Ok(format!(
        "wrote {} bytes to {}",
        content.len(),
        path.display()
    ))
}

async fn edit_file(path: &Path, old: &str, new: &str) -> Result<String, ToolError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|err| ToolError::io("read", path, err))?;
    if meta.is_dir() {
        return Err(ToolError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|err| ToolError::io("read", path, err))?;
    // Lossy decoding would silently rewrite every invalid byte on save, so refuse instead.
    let text = String::from_utf8(bytes).map_err(|_| ToolError::NotUtf8 {
        path: path.to_path_buf(),
    })?;
    match text.matches(old).count() {
        0 => Err(ToolError::EditNotFound {
            path: path.to_path_buf(),
        }),
        1 => {
            let edited = text.replacen(old, new, 1);
            tokio::fs::write(path, &edited)
                .await
                .map_err(|err| ToolError::io("write", path, err))?;
            Ok(format!("replaced 1 occurrence in {}", path.display()))
        }
        count => Err(ToolError::EditAmbiguous {
            path: path.to_path_buf(),
            count,
        }),
    }
}

async fn list_dir(path: &Path) -> Result<String, ToolError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|err| ToolError::io("list", path, err))?;
    if !meta.is_dir() {
        return Err(ToolError::NotDirectory {
            path: path.to_path_buf(),
        });
    }
    let mut dir = tokio::fs::read_dir(path)
        .await
        .map_err(|err| ToolError::io("list", path, err))?;
    let mut entries = Vec::new();
    while let Some(entry) = dir
        .next_entry()
        .await
        .map_err(|err| ToolError::io("list", path, err))?
    {
        entries.push(entry);
    }
    entries.sort_by_key(|entry| entry.file_name());
    let total = entries.len();
    if total == 0 {
        return Ok("[empty directory]".to_owned());
    }

    let mut lines = Vec::with_capacity(total.min(LIST_DIR_MAX_ENTRIES) + 1);
    for entry in entries.iter().take(LIST_DIR_MAX_ENTRIES) {
        let mut name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = match entry.file_type().await {
            // Follow symlinks so a link to a directory reads as one.
            Ok(kind) if kind.is_symlink() => tokio::fs::metadata(entry.path())
                .await
                .is_ok_and(|meta| meta.is_dir()),
            Ok(kind) => kind.is_dir(),
            Err(_) => false,
        };
        if is_dir {
            name.push('/');
        }
        lines.push(name);
    }
    if total > LIST_DIR_MAX_ENTRIES {
        lines.push(format!(
            "[... {} more entries not shown]",
            total - LIST_DIR_MAX_ENTRIES
        ));
    }
    Ok(lines.join("\n"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::future::Future;
    use tempfile::{TempDir, tempdir};

    const WAIT: Duration = Duration::from_secs(10);

    fn context(dir: &TempDir) -> ToolContext {
        ToolContext {
            cwd: dir.path().to_path_buf(),
            cancel: CancellationToken::new(),
            live: None,
            spawned: None,
        }
    }

    /// Runs a tool, failing the test if it does not return within [`WAIT`].
    async fn run(name: &str, args: Value, ctx: &ToolContext) -> ToolOutput {
        within(&format!("{name} to return"), run_builtin(name, &args, ctx)).await
    }

    async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
        tokio::time::timeout(WAIT, future)
            .await
            .unwrap_or_else(|_| panic!("timed out after {WAIT:?} waiting for {what}"))
    }

    /// Polls `check` until it yields a value, failing the test after [`WAIT`].
    async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
        within(what, async {
            loop {
                if let Some(value) = check() {
                    return value;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
    }

    fn read_pid(path: &Path) -> Option<i32> {
        std::fs::read_to_string(path).ok()?.trim().parse().ok()
    }

    /// Gone, or a zombie nobody reaped yet (a container's pid 1 may never reap): either way
    /// it can no longer run.
    fn process_is_dead(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => {
                let state = stat.rsplit(')').next().unwrap_or("").trim_start();
                state.starts_with('Z') || state.starts_with('X')
            }
        }
    }

    // --- arguments and dispatch ---

    #[test]
    fn specs_match_names() {
        let specs = builtin_specs();
        let names: Vec<&str> = specs.iter().map(|spec| spec.name.as_str()).collect();
        assert_eq!(names, BUILTIN_NAMES);
        for spec in &specs {
            assert_eq!(spec.parameters["type"], "object", "{}", spec.name);
            assert!(!spec.description.is_empty());
        }
        assert!(is_builtin("shell"));
        assert!(is_builtin("list_dir"));
        assert!(!is_builtin("Shell"));
        assert!(!is_builtin("mcp__x"));
    }

    #[tokio::test]
    async fn unknown_tool_is_an_error() {
        let dir = tempdir().unwrap();
        let out = run("rm_rf", json!({}), &context(&dir)).await;
        assert!(out.is_error);
        assert!(
            out.output.contains("unknown tool `rm_rf`"),
            "{}",
            out.output
        );
    }

    #[tokio::test]
    async fn missing_and_mistyped_arguments_name_the_field() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        let out = run("shell", json!({}), &ctx).await;
        assert_eq!(
            out,
            ToolOutput::error("invalid arguments for shell: missing string field `command`")
        );
        let out = run("shell", json!({"command": 5}), &ctx).await;
        assert!(out.is_error);
        assert!(
            out.output
                .contains("field `command` must be a string, got a number"),
            "{}",
            out.output
        );
        let out = run("shell", json!({"command": "true", "timeout_s": -1}), &ctx).await;
        assert!(out.is_error);
        assert!(out.output.contains("`timeout_s`"), "{}", out.output);
        let out = run("read_file", json!({"path": "x", "offset": 0}), &ctx).await;
        assert!(out.is_error);
        assert!(out.output.contains("`offset`"), "{}", out.output);
        let out = run("write_file", json!({"path": "x"}), &ctx).await;
        assert!(out.is_error);
        assert!(out.output.contains("`content`"), "{}", out.output);
        let out = run("list_dir", json!([1, 2]), &ctx).await;
        assert!(out.is_error);
        assert!(
            out.output.contains("must be a JSON object"),
            "{}",
            out.output
        );
    }

    #[tokio::test]
    async fn arguments_sent_as_a_json_string_are_decoded() {
        let dir = tempdir().unwrap();
        let out = run(
            "shell",
            Value::String(r#"{"command": "echo hi"}"#.to_owned()),
            &context(&dir),
        )
        .await;
        assert_eq!(out, ToolOutput::ok("hi\n[exit code: 0]"));
    }

    #[tokio::test]
    async fn cancelled_before_start_runs_nothing() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        ctx.cancel.cancel();
        let out = run("shell", json!({"command": "touch ran"}), &ctx).await;
        assert!(out.is_error);
        assert!(out.output.contains("interrupted"));
        assert!(!dir.path().join("ran").exists());
    }

    // --- shell ---

    #[tokio::test]
    async fn shell_reports_exit_codes() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        let out = run("shell", json!({"command": "echo hello"}), &ctx).await;
        assert_eq!(out, ToolOutput::ok("hello\n[exit code: 0]"));
        let out = run("shell", json!({"command": "exit 3"}), &ctx).await;
        assert_eq!(out, ToolOutput::error("[exit code: 3]"));
        let out = run("shell", json!({"command": "printf partial; exit 1"}), &ctx).await;
        assert_eq!(out, ToolOutput::error("partial\n[exit code: 1]"));
        let out = run("shell", json!({"command": "kill -9 $$"}), &ctx).await;
        assert_eq!(out, ToolOutput::error("[killed by signal 9]"));
    }

    #[tokio::test]
    async fn shell_runs_in_cwd_with_empty_stdin() {
        let dir = tempdir().unwrap();
        std::fs::write(dir.path().join("marker.txt"), "x").unwrap();
        let ctx = context(&dir);
        let out = run("shell", json!({"command": "ls; wc -c"}), &ctx).await;
        assert_eq!(out, ToolOutput::ok("marker.txt\n0\n[exit code: 0]"));
    }

    #[tokio::test]
    async fn shell_interleaves_streams_in_arrival_order() {
        let dir = tempdir().unwrap();
        let mut ctx = context(&dir);
        let (tx, mut rx) = mpsc::unbounded_channel();
        ctx.live = Some(tx);
        let made = std::process::Command::new("mkfifo")
            .args(["go1", "go2"])
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(made.success());
        // The command blocks on a FIFO after each write, and the test releases it only once
        // that write has been seen, so the arrival order is fixed without timing anything.
        let command = "echo out; read x < go1; echo err >&2; read x < go2; echo out2";
        let args = json!({ "command": command });
        let running = run_builtin("shell", &args, &ctx);
        let script = async {
            let mut seen = String::new();
            for (expected, fifo) in [("out\n", "go1"), ("out\nerr\n", "go2")] {
                while seen.len() < expected.len() {
                    seen.push_str(&rx.recv().await.unwrap());
                }
                assert_eq!(seen, expected);
                tokio::fs::write(dir.path().join(fifo), "\n").await.unwrap();
            }
        };
        // Joined rather than raced: once go2 is released the shell may finish before the
        // write to the FIFO returns.
        let (out, ()) = within("each write to arrive and the shell to return", async {
            tokio::join!(running, script)
        })
        .await;
        assert_eq!(out, ToolOutput::ok("out\nerr\nout2\n[exit code: 0]"));
    }

    #[tokio::test]
    async fn shell_start_failure_is_an_error() {
        let dir = tempdir().unwrap();
        let mut ctx = context(&dir);
        ctx.cwd = dir.path().join("missing");
        let out = run("shell", json!({"command": "true"}), &ctx).await;
        assert!(out.is_error);
        assert!(
            out.output.contains("failed to start shell"),
            "{}",
            out.output
        );
    }

    #[tokio::test]
    async fn shell_forwards_live_chunks() {
        let dir = tempdir().unwrap();
        let mut ctx = context(&dir);
        let (tx, mut rx) = mpsc::unbounded_channel();
        ctx.live = Some(tx);
        let out = run(
            "shell",
            json!({"command": "echo one; printf 'caf\\303\\251'; echo two >&2"}),
            &ctx,
        )
        .await;
        assert!(!out.is_error);
        let mut live = String::new();
        while let Ok(chunk) = rx.try_recv() {
            assert!(!chunk.is_empty());
            live.push_str(&chunk);
        }
        // The two pipes race, so only each stream's own order is fixed.
        assert!(live.contains("one\ncafé"), "{live:?}");
        assert!(live.contains("two\n"), "{live:?}");
        assert_eq!(out.output, format!("{}[exit code: 0]", with_newline(&live)));
    }

    #[tokio::test]
    async fn shell_output_keeps_head_and_tail() {
        let dir = tempdir().unwrap();
        let out = run(
            "shell",
            json!({"command": "printf START; head -c 50000 /dev/zero | tr '\\000' x; printf END"}),
            &context(&dir),
        )
        .await;
        assert!(!out.is_error);
        assert!(out.output.starts_with("STARTxxx"), "{}", &out.output[..20]);
        assert!(out.output.ends_with("xxEND\n[exit code: 0]"));
        assert!(out.output.contains("\n[... 20008 bytes omitted ...]\n"));
        let body = out.output.trim_end_matches("\n[exit code: 0]");
        let kept = body.matches('x').count() + "STARTEND".len();
        assert_eq!(kept, SHELL_HEAD_BYTES + SHELL_TAIL_BYTES);
    }

    #[tokio::test]
    async fn shell_times_out_and_kills_the_group() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        let out = run(
            "shell",
            json!({
                "command": "sh -c 'echo $$ > gc.pid; exec sleep 60' & echo begin; wait",
                "timeout_s": 0.5
            }),
            &ctx,
        )
        .await;
        assert!(out.is_error);
        assert!(out.output.starts_with("begin\n"), "{}", out.output);
        assert!(
            out.output.contains("timed out after 0.5 s"),
            "{}",
            out.output
        );
        let pid = wait_for("grandchild pid file", || {
            read_pid(&dir.path().join("gc.pid"))
        })
        .await;
        wait_for("grandchild to die", || process_is_dead(pid).then_some(())).await;
    }

    #[tokio::test]
    async fn shell_interrupt_kills_grandchildren() {
        let dir = tempdir().unwrap();
        let mut ctx = context(&dir);
        let (tx, mut rx) = mpsc::unbounded_channel();
        ctx.live = Some(tx);
        let pid_file = dir.path().join("gc.pid");
        let marker = dir.path().join("marker");
        // The grandchild would create `marker` after 2 s unless it is killed first.
        let command = "sh -c 'echo $$ > gc.pid; sleep 2; touch marker' & \
                       sleep 100 & echo started; wait";
        let args = json!({ "command": command });
        let running = run_builtin("shell", &args, &ctx);
        tokio::pin!(running);

        let ready = async {
            let mut seen = String::new();
            while !seen.contains("started") {
                seen.push_str(&rx.recv().await.unwrap());
            }
            wait_for("grandchild pid file", || read_pid(&pid_file)).await
        };
        let pid = tokio::select! {
            out = &mut running => panic!("shell returned before the interrupt: {out:?}"),
            pid = within("the command to start", ready) => pid,
        };
        ctx.cancel.cancel();
        let out = within("shell to return after the interrupt", running).await;
        assert!(out.is_error);
        assert_eq!(out.output, "started\n[interrupted]");
        wait_for("grandchild to die", || process_is_dead(pid).then_some(())).await;
        // Dead processes write nothing, so the check below cannot turn true later.
        assert!(!marker.exists(), "grandchild outlived the interrupt");
    }

    #[tokio::test]
    async fn shell_does_not_hang_on_pipes_held_by_background_jobs() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        let command = "sh -c 'echo $$ > bg.pid; exec sleep 60' & \
                       while [ ! -s bg.pid ]; do sleep 0.01; done; echo done";
        let out = run("shell", json!({ "command": command }), &ctx).await;
        assert_eq!(out, ToolOutput::ok("done\n[exit code: 0]"));
        let pid = read_pid(&dir.path().join("bg.pid")).unwrap();
        wait_for("background job to be killed", || {
            process_is_dead(pid).then_some(())
        })
        .await;
    }

    // --- output helpers ---

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

    // --- read_file ---

    #[tokio::test]
    async fn read_file_reads_whole_and_partial() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        std::fs::write(dir.path().join("f.txt"), "one\ntwo\nthree\nfour\n").unwrap();
        let out = run("read_file", json!({"path": "f.txt"}), &ctx).await;
        assert_eq!(out, ToolOutput::ok("one\ntwo\nthree\nfour\n"));
        let out = run(
            "read_file",
            json!({"path": "f.txt", "offset": 2, "limit": 2}),
            &ctx,
        )
        .await;
        assert_eq!(
            out,
            ToolOutput::ok(
                "two\nthree\n[more lines follow; call read_file with offset=4 to continue]"
            )
        );
        let out = run("read_file", json!({"path": "f.txt", "offset": 3}), &ctx).await;
        assert_eq!(out, ToolOutput::ok("three\nfour\n"));
        let out = run("read_file", json!({"path": "f.txt", "offset": 9}), &ctx).await;
        assert!(!out.is_error);
        assert!(out.output.contains("past the end"), "{}", out.output);
        assert!(out.output.contains("(4 lines)"), "{}", out.output);

        let absolute = dir.path().join("f.txt");
        let out = run(
            "read_file",
            json!({"path": absolute.to_str().unwrap(), "limit": 1.0}),
            &context(&tempdir().unwrap()),
        )
        .await;
        assert!(
            out.output.starts_with("one\n[more lines follow"),
            "{}",
            out.output
        );
    }

    #[tokio::test]
    async fn read_file_handles_empty_and_non_utf8() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        std::fs::write(dir.path().join("empty"), "").unwrap();
        std::fs::write(dir.path().join("bin"), b"a\xffb").unwrap();
        let out = run("read_file", json!({"path": "empty"}), &ctx).await;
        assert_eq!(out, ToolOutput::ok("[empty file]"));
        let out = run("read_file", json!({"path": "bin"}), &ctx).await;
        assert_eq!(out, ToolOutput::ok("a\u{FFFD}b"));
    }

    #[tokio::test]
    async fn read_file_caps_large_files() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        let line = format!("{}\n", "y".repeat(999));
        std::fs::write(dir.path().join("big"), line.repeat(250)).unwrap();
        let out = run("read_file", json!({"path": "big"}), &ctx).await;
        assert!(!out.is_error);
        // 100 whole lines fill the cap exactly.
        let (body, note) = out.output.split_at(READ_FILE_MAX_BYTES);
        assert_eq!(body, line.repeat(100));
        assert!(note.starts_with("[truncated"), "{note}");
        assert!(note.contains("offset=101"), "{note}");
        let out = run(
            "read_file",
            json!({"path": "big", "offset": 101, "limit": 1}),
            &ctx,
        )
        .await;
        assert!(out.output.starts_with(&line), "{}", &out.output[..50]);

        // Here the cap falls inside line 34 (a two-byte character at byte 99_999), so the
        // partial line is cut to whole characters and reading resumes at line 34.
        let long = format!("{}é{}\n", "z".repeat(999), "z".repeat(3000 - 999 - 3));
        std::fs::write(dir.path().join("long"), long.repeat(40)).unwrap();
        let out = run("read_file", json!({"path": "long"}), &ctx).await;
        assert!(!out.is_error);
        let (body, note) = out.output.rsplit_once('\n').unwrap();
        assert_eq!(body.len(), READ_FILE_MAX_BYTES - 1);
        assert!(body.starts_with(&long.repeat(33)));
        assert!(body.ends_with('z'));
        assert!(note.contains("offset=34"), "{note}");
    }

    #[tokio::test]
    async fn read_file_errors_name_the_path() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let out = run("read_file", json!({"path": "nope.txt"}), &ctx).await;
        assert!(out.is_error);
        let expected = dir.path().join("nope.txt");
        assert_eq!(
            out.output,
            format!("no such file or directory: {}", expected.display())
        );
        let out = run("read_file", json!({"path": "./sub"}), &ctx).await;
        assert!(out.is_error);
        let expected = dir.path().join("sub");
        assert!(
            out.output
                .starts_with(&format!("{} is a directory", expected.display())),
            "{}",
            out.output
        );
    }

    // --- write_file ---

    #[tokio::test]
    async fn write_file_creates_parents_and_overwrites() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        let out = run(
            "write_file",
            json!({"path": "a/b/c.txt", "content": "héllo"}),
            &ctx,
        )
        .await;
        let path = dir.path().join("a/b/c.txt");
        assert_eq!(
            out,
            ToolOutput::ok(format!("wrote 6 bytes to {}", path.display()))
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "héllo");
        let out = run(
            "write_file",
            json!({"path": "a/b/c.txt", "content": ""}),
            &ctx,
        )
        .await;
        assert!(!out.is_error);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    }

    #[tokio::test]
    async fn write_file_errors() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("file"), "x").unwrap();
        let out = run("write_file", json!({"path": "sub", "content": "x"}), &ctx).await;
        assert!(out.is_error);
        assert!(out.output.contains("is a directory"), "{}", out.output);
        let out = run(
            "write_file",
            json!({"path": "file/inner", "content": "x"}),
            &ctx,
        )
        .await;
        assert!(out.is_error);
        assert!(
            out.output.contains("failed to create directory"),
            "{}",
            out.output
        );
    }

    // --- edit_file ---

    #[tokio::test]
    async fn edit_file_replaces_a_unique_match() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        let path = dir.path().join("code.rs");
        std::fs::write(&path, "fn a() {}\nfn b() {}\n").unwrap();
        let out = run(
            "edit_file",
            json!({"path": "code.rs", "old_string": "fn b()", "new_string": "fn c()"}),
            &ctx,
        )
        .await;
        assert_eq!(
            out,
            ToolOutput::ok(format!("replaced 1 occurrence in {}", path.display()))
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "fn a() {}\nfn c() {}\n"
        );
    }

    #[tokio::test]
    async fn edit_file_requires_exactly_one_match() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        let path = dir.path().join("f.txt");
        std::fs::write(&path, "x = 1\nx = 1\nx = 1\n").unwrap();
        let out = run(
            "edit_file",
            json!({"path": "f.txt", "old_string": "x = 1", "new_string": "x = 2"}),
            &ctx,
        )
        .await;
        assert!(out.is_error);
        assert!(out.output.contains("found 3 times"), "{}", out.output);
        let out = run(
            "edit_file",
            json!({"path": "f.txt", "old_string": "y = 1", "new_string": "y = 2"}),
            &ctx,
        )
        .await;
        assert!(out.is_error);
        assert!(out.output.contains("was not found"), "{}", out.output);
        let out = run(
            "edit_file",
            json!({"path": "f.txt", "old_string": "", "new_string": "z"}),
            &ctx,
        )
        .await;
        assert!(out.is_error);
        assert!(out.output.contains("must not be empty"), "{}", out.output);
        // A failed edit leaves the file alone.
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "x = 1\nx = 1\nx = 1\n"
        );
    }

    #[tokio::test]
    async fn edit_file_errors_on_missing_or_binary_files() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        std::fs::write(dir.path().join("bin"), b"a\xffb").unwrap();
        let args = |path: &str| json!({"path": path, "old_string": "a", "new_string": "b"});
        let out = run("edit_file", args("missing"), &ctx).await;
        assert!(out.is_error);
        assert!(out.output.starts_with("no such file"), "{}", out.output);
        let out = run("edit_file", args("bin"), &ctx).await;
        assert!(out.is_error);
        assert!(out.output.contains("not valid UTF-8"), "{}", out.output);
        assert_eq!(std::fs::read(dir.path().join("bin")).unwrap(), b"a\xffb");
    }

    // --- list_dir ---

    #[tokio::test]
    async fn list_dir_sorts_and_marks_directories() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        std::fs::create_dir(dir.path().join("zdir")).unwrap();
        std::fs::create_dir(dir.path().join("adir")).unwrap();
        std::fs::write(dir.path().join("b.txt"), "").unwrap();
        std::os::unix::fs::symlink(dir.path().join("adir"), dir.path().join("link")).unwrap();
        let out = run("list_dir", json!({}), &ctx).await;
        assert_eq!(out, ToolOutput::ok("adir/\nb.txt\nlink/\nzdir/"));
        let out = run("list_dir", Value::Null, &ctx).await;
        assert_eq!(out, ToolOutput::ok("adir/\nb.txt\nlink/\nzdir/"));
        let out = run("list_dir", json!({"path": "adir"}), &ctx).await;
        assert_eq!(out, ToolOutput::ok("[empty directory]"));
    }

    #[tokio::test]
    async fn list_dir_caps_entries() {
        let dir = tempdir().unwrap();
        for i in 0..1005 {
            std::fs::write(dir.path().join(format!("f{i:04}")), "").unwrap();
        }
        let out = run("list_dir", json!({"path": "."}), &context(&dir)).await;
        assert!(!out.is_error);
        let lines: Vec<&str> = out.output.lines().collect();
        assert_eq!(lines.len(), LIST_DIR_MAX_ENTRIES + 1);
        assert_eq!(lines[0], "f0000");
        assert_eq!(lines[999], "f0999");
        assert_eq!(lines[1000], "[... 5 more entries not shown]");
    }

    #[tokio::test]
    async fn list_dir_errors() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        std::fs::write(dir.path().join("file"), "").unwrap();
        let out = run("list_dir", json!({"path": "file"}), &ctx).await;
        assert!(out.is_error);
        assert!(
            out.output.ends_with("file is not a directory"),
            "{}",
            out.output
        );
        let out = run("list_dir", json!({"path": "/definitely/not/here"}), &ctx).await;
        assert_eq!(
            out,
            ToolOutput::error("no such file or directory: /definitely/not/here")
        );
    }
}
