//! Each CLI command: talk to the daemon, print what DESIGN.md's contract says.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tether_shared::protocol::*;
use tether_shared::{Delivery, Event, Live};
use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command, DaemonAction, DaemonArgs, NewArgs};
use crate::client::{Client, ClientError, connect_or_start};
use crate::render;
use crate::retry::mutate;
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
    let log = init_daemon_logging(&state_dir, !args.background)?;
    let options = tether_daemon::DaemonOptions {
        socket,
        log: Some(log),
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
    // In the foreground the log also goes to stderr, where `main` prints the
    // error anyway: log it only when running in the background, so it is said once.
    .inspect_err(|e| {
        if args.background {
            tracing::error!(error = %one_line(e), "daemon failed");
        }
    })?;
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

/// Sends the daemon's log to `daemon.log` in the state dir through a writer that
/// drops (and counts) what it cannot write instead of failing: a full disk must
/// never turn logging into a panic (see `tether_daemon::logfile`).
fn init_daemon_logging(
    state_dir: &Path,
    to_stderr: bool,
) -> anyhow::Result<tether_daemon::logfile::LogFile> {
    let path = state_dir.join("daemon.log");
    let log = tether_daemon::logfile::LogFile::open(&path, to_stderr)
        .with_context(|| format!("failed to open the log {}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::new(tether_daemon::log_filter(
        std::env::var("TETHER_LOG").ok().as_deref(),
    ));
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .log_internal_errors(false)
        .with_writer(move || writer.writer())
        .init();
    Ok(log)
}

fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}

async fn client_command(command: Option<Command>, socket: PathBuf) -> anyhow::Result<u8> {
    let interactive = std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    let Some(command) = command else {
        if interactive {
            return crate::ui::run(socket, None, false).await;
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
                return crate::ui::run(socket, Some(name), read_only).await;
            }
            crate::linemode::attach(c, &name, read_only).await
        }
        Command::Send {
            name,
            steer,
            interrupt,
            key,
            text,
        } => {
            let delivery = if steer {
                Delivery::Steer
            } else if interrupt {
                Delivery::Interrupt
            } else {
                Delivery::Queue
            };
            let text = if text == ["-"] {
                message_from_stdin()?
            } else {
                text.join(" ")
            };
            let check = format!("`tether logs {name}`");
            let _: (SendResult, _) = mutate(
                &socket,
                method::SESSION_SEND,
                SendParams {
                    session: name,
                    text,
                    delivery,
                },
                key,
                &check,
            )
            .await?;
            Ok(0)
        }
        Command::Interrupt { name, key } => {
            let check = format!("`tether logs {name}`");
            let (r, _): (InterruptResult, _) = mutate(
                &socket,
                method::SESSION_INTERRUPT,
                SessionRef { session: name },
                key,
                &check,
            )
            .await?;
            if !r.interrupted {
                eprintln!("nothing was running");
            }
            Ok(0)
        }
        Command::Approve {
            name,
            call_id,
            all,
            key,
        } => {
            let p = DecideParams {
                session: name,
                call_id,
                all,
                reason: None,
            };
            decide(&socket, method::SESSION_APPROVE, p, key).await
        }
        Command::Deny {
            name,
            call_id,
            all,
            reason,
            key,
        } => {
            let p = DecideParams {
                session: name,
                call_id,
                all,
                reason,
            };
            decide(&socket, method::SESSION_DENY, p, key).await
        }
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
        Command::Kill { name, key } => {
            let _: (KillResult, _) = mutate(
                &socket,
                method::SESSION_KILL,
                SessionRef { session: name },
                key,
                "`tether ls`",
            )
            .await?;
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

/// The message of `tether send NAME -`: standard input, less its final newline.
fn message_from_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
        .context("failed to read the message from standard input")?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    Ok(text.to_string())
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
                for d in &s.store_damage {
                    println!("store damaged: {d}");
                }
                if let Some(help) = &s.store_damage_help {
                    println!("  what to do: {help}");
                }
                if let Some(e) = s.store_error {
                    println!("store writes failing: {e}");
                }
                if s.log_dropped > 0 {
                    println!(
                        "log: {} lines could not be written (a full or failing disk?)",
                        s.log_dropped
                    );
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
    let (info, c): (SessionInfo, _) = mutate(
        socket,
        method::SESSION_CREATE,
        CreateParams {
            name: args.name,
            cwd: cwd.display().to_string(),
            model: args.model,
            instructions: args.instructions,
            prompt,
        },
        args.key,
        "`tether ls`",
    )
    .await?;
    if args.detach {
        println!("{}", info.name);
        return Ok(0);
    }
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        drop(c);
        return crate::ui::run(socket.to_path_buf(), Some(info.id), false).await;
    }
    crate::linemode::attach(c, &info.name, false).await
}

async fn decide(
    socket: &Path,
    method_name: &str,
    params: DecideParams,
    key: Option<String>,
) -> anyhow::Result<u8> {
    let check = format!(
        "`tether ls` (its pending approvals) or `tether logs {}`",
        params.session
    );
    let (r, _): (DecideResult, _) = mutate(socket, method_name, params, key, &check).await?;
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
    let mut last = since.unwrap_or(0);
    loop {
        let mut c = connect_or_start(socket).await?;
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
        match follow_live(&mut c, &session, json, &mut last).await? {
            Some(code) => return Ok(code),
            None => {
                // Not a stop (that is announced): the daemon died under us. Start
                // one again, like any command, and go on after the last event
                // printed, so nothing is shown twice or skipped.
                eprintln!("tether: lost the daemon; reconnecting, continuing after seq {last}");
            }
        }
    }
}

/// Prints a session's live events after `last` until the daemon stops (exit 1)
/// or the session is killed (exit 0); `None` when the connection was lost.
async fn follow_live(
    c: &mut Client,
    session: &str,
    json: bool,
    last: &mut u64,
) -> anyhow::Result<Option<u8>> {
    let lost = |e: ClientError| match e {
        ClientError::Io(_) => Ok(None),
        e => Err(anyhow::Error::new(e)),
    };
    let r: AttachResult = match c
        .request(
            method::SESSION_ATTACH,
            AttachParams {
                session: session.to_string(),
                from_seq: Some(*last),
                page_size: Some(10_000),
                read_only: true,
            },
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return lost(e),
    };
    for ev in &r.events {
        if ev.seq > *last {
            print_event(ev, json)?;
            *last = ev.seq;
        }
    }
    loop {
        let n = match c.next_notification().await {
            Ok(Some(n)) => n,
            Ok(None) => return Ok(None),
            Err(e) => return lost(e),
        };
        if n.method == method::DAEMON_SHUTDOWN {
            eprintln!("the daemon stopped (`tether logs {session} --follow` again once it runs)");
            return Ok(Some(1));
        }
        if n.method == method::SESSION_CLOSED {
            eprintln!("the session was killed");
            return Ok(Some(0));
        }
        if n.method != method::SESSION_LIVE {
            continue;
        }
        if let Ok(LiveParams {
            live: Live::Event { event },
            ..
        }) = serde_json::from_value::<LiveParams>(n.params)
            && event.seq > *last
        {
            *last = event.seq;
            print_event(&event, json)?;
        }
    }
}
