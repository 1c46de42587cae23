//! Each CLI command: talk to the daemon, print what DESIGN.md's contract says.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tether_shared::protocol::*;
use tether_shared::{Delivery, Event, Live};
use tokio::io::AsyncBufReadExt;
use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command, DaemonAction, DaemonArgs, NewArgs};
use crate::client::{Client, ClientError, connect_or_start};
use crate::render;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Exit status of `wait` when the timeout passes.
const EXIT_TIMEOUT: u8 = 124;

/// An error as one line: the outermost context and the root cause.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain().map(|c| c.to_string()) {
        // Errors often repeat their source in their own message; say it once.
        if line.ends_with(&cause) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&cause);
    }
    line.replace('\n', " ")
}

/// Runs the parsed command line; returns the exit status.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let uid = nix::unistd::getuid().as_raw();
    let socket = tether_shared::paths::socket_path(cli.socket.clone(), uid);
    if let Some(Command::Daemon(args)) = &cli.command
        && args.action.is_none()
    {
        return run_daemon(socket, args);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start tokio")?;
    rt.block_on(client_command(cli.command, socket))
}

fn run_daemon(socket: PathBuf, args: &DaemonArgs) -> anyhow::Result<u8> {
    if args.background {
        // A new session: no controlling terminal, so closing the terminal that
        // started us (or losing SSH) cannot send us SIGHUP.
        let _ = nix::unistd::setsid();
    }
    let state_dir = tether_shared::paths::state_dir();
    tether_shared::paths::create_private_dir(&state_dir)
        .with_context(|| format!("failed to create {}", state_dir.display()))?;
    init_daemon_logging(&state_dir, !args.background)?;
    let options = tether_daemon::DaemonOptions {
        socket,
        config_dir: tether_shared::paths::config_dir(),
        state_dir,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start tokio")?;
    rt.block_on(async move {
        let shutdown = CancellationToken::new();
        let signals = shutdown.clone();
        tokio::spawn(async move { wait_for_signals(signals).await });
        tether_daemon::run(options, shutdown).await
    })
    .inspect_err(|e| tracing::error!(error = %one_line(e), "daemon failed"))?;
    Ok(0)
}

async fn wait_for_signals(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::warn!("cannot install signal handlers");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            // A headless daemon outlives its terminal.
            _ = hup.recv() => { tracing::info!("SIGHUP ignored"); continue; }
        }
    }
    tracing::info!("signal received");
    shutdown.cancel();
}

/// A log past this size is moved to `daemon.log.1` when the daemon starts.
const LOG_ROTATE_BYTES: u64 = 16 * 1024 * 1024;

/// Keeps the log from growing without bound: at start, a large `daemon.log`
/// becomes `daemon.log.1` (replacing an older one).
fn rotate_log(path: &Path) {
    if std::fs::metadata(path).is_ok_and(|m| m.len() > LOG_ROTATE_BYTES) {
        let mut old = path.as_os_str().to_owned();
        old.push(".1");
        let _ = std::fs::rename(path, PathBuf::from(old));
    }
}

fn init_daemon_logging(state_dir: &Path, to_stderr: bool) -> anyhow::Result<()> {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    let path = state_dir.join("daemon.log");
    rotate_log(&path);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("failed to open the log {}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::new(tether_daemon::log_filter(
        std::env::var("TETHER_LOG").ok().as_deref(),
    ));
    let file = std::sync::Mutex::new(file);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    if to_stderr {
        builder.with_writer(std::io::stderr.and(file)).init();
    } else {
        builder.with_writer(file).init();
    }
    Ok(())
}

fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}

async fn client_command(command: Option<Command>, socket: PathBuf) -> anyhow::Result<u8> {
    let interactive = std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    let Some(command) = command else {
        if interactive {
            crate::ui::run(socket, None, false).await?;
            return Ok(0);
        }
        return Box::pin(client_command(Some(Command::Ls { json: false }), socket)).await;
    };
    match command {
        Command::Daemon(DaemonArgs {
            action: Some(action),
            ..
        }) => daemon_action(action, &socket).await,
        Command::Daemon(_) => Ok(0),
        Command::New(args) => new(args, &socket).await,
        Command::Ls { json } => {
            let list: Vec<SessionInfo> = call(&socket, method::SESSION_LIST, json!({})).await?;
            if json {
                print_json(&list)?;
            } else {
                print!("{}", render::sessions(&list));
            }
            Ok(0)
        }
        Command::Attach { name, read_only } => {
            let mut c = connect_or_start(&socket).await?;
            let name = match name {
                Some(n) => n,
                None => {
                    let list: Vec<SessionInfo> = c.request(method::SESSION_LIST, json!({})).await?;
                    match list.iter().max_by(|a, b| a.updated_at.cmp(&b.updated_at)) {
                        Some(s) => s.name.clone(),
                        None => bail!("no sessions to attach to; start one with `tether new`"),
                    }
                }
            };
            if interactive {
                drop(c);
                crate::ui::run(socket, Some(name), read_only).await?;
                return Ok(0);
            }
            attach(c, &name, read_only).await
        }
        Command::Send {
            name,
            steer,
            interrupt,
            text,
        } => {
            let delivery = if steer {
                Delivery::Steer
            } else if interrupt {
                Delivery::Interrupt
            } else {
                Delivery::Queue
            };
            let _: SendResult = call(
                &socket,
                method::SESSION_SEND,
                SendParams {
                    session: name,
                    text: text.join(" "),
                    delivery,
                },
            )
            .await?;
            Ok(0)
        }
        Command::Interrupt { name } => {
            let r: InterruptResult = call(
                &socket,
                method::SESSION_INTERRUPT,
                SessionRef { session: name },
            )
            .await?;
            if !r.interrupted {
                eprintln!("nothing was running");
            }
            Ok(0)
        }
        Command::Approve { name, call_id, all } => {
            decide(&socket, method::SESSION_APPROVE, name, call_id, all, None).await
        }
        Command::Deny {
            name,
            call_id,
            all,
            reason,
        } => decide(&socket, method::SESSION_DENY, name, call_id, all, reason).await,
        Command::Wait { name, timeout } => {
            if let Some(t) = timeout
                && !(t.is_finite() && t >= 0.0)
            {
                eprintln!("tether: --timeout must be a number of seconds >= 0");
                return Ok(2);
            }
            let r: WaitResult = call(
                &socket,
                method::SESSION_WAIT,
                WaitParams {
                    session: name,
                    timeout_s: timeout,
                },
            )
            .await?;
            println!("{}", r.state);
            Ok(if r.timed_out { EXIT_TIMEOUT } else { 0 })
        }
        Command::Logs {
            name,
            json,
            follow,
            since,
        } => logs(&socket, name, json, follow, since).await,
        Command::Kill { name } => {
            let _: KillResult =
                call(&socket, method::SESSION_KILL, SessionRef { session: name }).await?;
            Ok(0)
        }
        Command::Tools { json } => {
            let list: Vec<ToolServerInfo> = call(&socket, method::TOOLS_LIST, json!({})).await?;
            if json {
                print_json(&list)?;
            } else {
                print!("{}", render::tools(&list));
            }
            Ok(0)
        }
    }
}

/// Connects (starting the daemon when none runs) and makes one request.
async fn call<T: DeserializeOwned>(
    socket: &Path,
    method: &str,
    params: impl Serialize,
) -> anyhow::Result<T> {
    Ok(connect_or_start(socket)
        .await?
        .request(method, params)
        .await?)
}

async fn daemon_action(action: DaemonAction, socket: &Path) -> anyhow::Result<u8> {
    let mut c = match Client::connect(socket).await {
        Ok(c) => c,
        Err(ClientError::Io(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return match action {
                DaemonAction::Stop => {
                    eprintln!("no tether daemon is running on {}", socket.display());
                    Ok(0)
                }
                DaemonAction::Status { .. } => {
                    bail!("no tether daemon is running on {}", socket.display())
                }
            };
        }
        Err(e) => {
            return Err(anyhow::Error::new(e))
                .context(format!("cannot connect to {}", socket.display()));
        }
    };
    match action {
        DaemonAction::Status { json } => {
            let s: DaemonStatus = c.request(method::DAEMON_STATUS, json!({})).await?;
            if json {
                print_json(&s)?;
            } else {
                println!(
                    "running: pid {}, version {}, up {}s",
                    s.pid, s.version, s.uptime_s
                );
                println!("socket:  {}", s.socket);
                println!("state:   {}", s.state_dir);
                println!("config:  {}", s.config_dir);
                println!("sessions: {}, clients: {}", s.sessions, s.clients);
                if let Some(e) = s.config_error {
                    println!("config error: {e}");
                }
            }
            Ok(0)
        }
        DaemonAction::Stop => {
            let s: DaemonStatus = c.request(method::DAEMON_STATUS, json!({})).await?;
            let _: Value = c.request(method::DAEMON_STOP, json!({})).await?;
            // Stopped means the process is gone, not just that it said it would go:
            // its lock is released only when it exits (even before it is reaped).
            let lock_path = tether_daemon::server::lock_path(socket);
            let lock = std::fs::File::open(&lock_path)
                .with_context(|| format!("cannot open {}", lock_path.display()))?;
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            loop {
                match lock.try_lock() {
                    Ok(()) => {
                        // Release at once: a daemon starting right now must get it.
                        let _ = lock.unlock();
                        break;
                    }
                    Err(std::fs::TryLockError::WouldBlock) => {}
                    Err(std::fs::TryLockError::Error(e)) => {
                        return Err(e).context("cannot check the daemon lock");
                    }
                }
                if std::time::Instant::now() > deadline {
                    bail!("the daemon (pid {}) did not stop within 20 s", s.pid);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(0)
        }
    }
}

async fn new(args: NewArgs, socket: &Path) -> anyhow::Result<u8> {
    let dir = match args.dir {
        Some(d) => d,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let cwd = std::fs::canonicalize(&dir)
        .with_context(|| format!("working directory {}", dir.display()))?;
    let prompt = (!args.prompt.is_empty()).then(|| args.prompt.join(" "));
    let mut c = connect_or_start(socket).await?;
    let info: SessionInfo = c
        .request(
            method::SESSION_CREATE,
            CreateParams {
                name: args.name,
                cwd: cwd.display().to_string(),
                model: args.model,
                instructions: args.instructions,
                prompt,
            },
        )
        .await?;
    if args.detach {
        println!("{}", info.name);
        return Ok(0);
    }
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        drop(c);
        crate::ui::run(socket.to_path_buf(), Some(info.id), false).await?;
        return Ok(0);
    }
    attach(c, &info.name, false).await
}

async fn decide(
    socket: &Path,
    method_name: &str,
    session: String,
    call_id: Option<String>,
    all: bool,
    reason: Option<String>,
) -> anyhow::Result<u8> {
    let r: DecideResult = call(
        socket,
        method_name,
        DecideParams {
            session,
            call_id,
            all,
            reason,
        },
    )
    .await?;
    for id in r.decided {
        println!("{id}");
    }
    Ok(0)
}

fn print_event(ev: &Event, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, ev)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", render::event(ev))?;
    }
    out.flush()?;
    Ok(())
}

async fn logs(
    socket: &Path,
    session: String,
    json: bool,
    follow: bool,
    since: Option<u64>,
) -> anyhow::Result<u8> {
    let mut c = connect_or_start(socket).await?;
    let mut last = since.unwrap_or(0);
    loop {
        let page: LogsResult = c
            .request(
                method::SESSION_LOGS,
                LogsParams {
                    session: session.clone(),
                    since: Some(last),
                    before: None,
                    limit: Some(5000),
                },
            )
            .await?;
        for ev in &page.events {
            print_event(ev, json)?;
            last = ev.seq;
        }
        if !page.more {
            break;
        }
    }
    if !follow {
        return Ok(0);
    }
    let r: AttachResult = c
        .request(
            method::SESSION_ATTACH,
            AttachParams {
                session,
                from_seq: Some(last),
                page_size: Some(10_000),
                read_only: true,
            },
        )
        .await?;
    for ev in &r.events {
        print_event(ev, json)?;
        last = ev.seq;
    }
    while let Some(n) = c.next_notification().await? {
        if n.method == method::DAEMON_SHUTDOWN {
            eprintln!("the daemon stopped");
            return Ok(1);
        }
        if n.method == method::SESSION_CLOSED {
            eprintln!("the session was killed");
            return Ok(0);
        }
        if n.method != method::SESSION_LIVE {
            continue;
        }
        if let Ok(LiveParams {
            live: Live::Event { event },
            ..
        }) = serde_json::from_value::<LiveParams>(n.params)
            && event.seq > last
        {
            last = event.seq;
            print_event(&event, json)?;
        }
    }
    Ok(0)
}

/// A line-mode attach: prints the transcript and streams it live; lines typed
/// are sent as messages. Ctrl-C or end of input detaches; the agent goes on.
async fn attach(mut c: Client, session: &str, read_only: bool) -> anyhow::Result<u8> {
    let r: AttachResult = c
        .request(
            method::SESSION_ATTACH,
            AttachParams {
                session: session.to_string(),
                from_seq: None,
                page_size: Some(200),
                read_only,
            },
        )
        .await?;
    let id = r.info.id.clone();
    eprintln!(
        "attached to {} ({}, {}){}; type a message and Enter to send, Ctrl-C to detach",
        r.info.name,
        r.info.state,
        r.info.model,
        if read_only { ", read-only" } else { "" }
    );
    for ev in &r.events {
        print_event(ev, false)?;
    }
    let mut streaming = !r.partial.assistant_text.is_empty();
    if streaming {
        print!("{}", r.partial.assistant_text);
    }
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = !read_only;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            line = stdin.next_line(), if stdin_open => match line {
                Ok(Some(text)) if !text.trim().is_empty() => {
                    c.send_only(method::SESSION_SEND, SendParams { session: id.clone(), text, delivery: Delivery::Queue }).await?;
                }
                Ok(Some(_)) => {}
                _ => stdin_open = false,
            },
            msg = c.next_message() => match msg? {
                None => {
                    eprintln!("\nthe daemon closed the connection");
                    return Ok(1);
                }
                Some(ServerMessage::Response(resp)) => {
                    if let Some(e) = resp.error {
                        eprintln!("tether: {}", e.message);
                    }
                }
                Some(ServerMessage::Notification(n)) => {
                                        if n.method == method::DAEMON_SHUTDOWN {
                        eprintln!("\nthe daemon stopped");
                        return Ok(1);
                    }
                    if n.method == method::SESSION_CLOSED {
                        eprintln!("\nthe session was killed");
                        return Ok(0);
                    }
                    let Ok(p) = serde_json::from_value::<LiveParams>(n.params) else { continue };
                    match p.live {
                        Live::AssistantDelta { text } => {
                            streaming = true;
                            print!("{text}");
                            std::io::stdout().flush()?;
                        }
                        Live::AssistantReset => {
                            if streaming {
                                println!(" [retrying]");
                            }
                            streaming = false;
                        }
                        Live::Event { event } => {
                            if streaming {
                                println!();
                                streaming = false;
                            }
                            print_event(&event, false)?;
                        }
                        Live::ToolOutput { .. } | Live::Unknown => {}
                    }
                }
            }
        }
    }
    eprintln!(
        "\ndetached from {session}; it keeps working (`tether attach {session}` to come back)"
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_log_is_rotated_and_a_small_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("daemon.log");
        std::fs::write(&log, "small").unwrap();
        rotate_log(&log);
        assert!(log.exists());
        let f = std::fs::File::create(&log).unwrap();
        f.set_len(LOG_ROTATE_BYTES + 1).unwrap();
        rotate_log(&log);
        assert!(!log.exists());
        assert!(dir.path().join("daemon.log.1").exists());
    }
}
