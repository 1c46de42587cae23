//! Each CLI command: talk to the daemon, print what DESIGN.md's contract says.
//! One file per command family; [`run`] picks the runtime and the family.

mod bridge;
mod budget;
mod context;
mod daemon;
mod logs;
mod mcp;
mod output;
mod prompts;
mod rules;
mod schedule;
mod sessions;
mod steer;
mod tools;

use std::io::IsTerminal;

use anyhow::Context;
use tether_shared::protocol::{AlwaysAllow, CompactParams, DecideParams, ForkParams, RuleScope};

use crate::cli::{Cli, Command, DaemonArgs, McpAction};
use crate::client::Target;
use crate::client::remote::{self, RemoteError};

pub use crate::errors::one_line;
pub use daemon::host_daemon;

/// The environment variable that names the remote host when `--host` does not.
const ENV_HOST: &str = "TETHER_HOST";
/// The environment variable that names the ssh program (and its options).
const ENV_SSH: &str = "TETHER_SSH";

/// Runs the parsed command line; returns the exit status.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let uid = nix::unistd::getuid().as_raw();
    // An explicit --socket is a local daemon; TETHER_SOCKET is this machine's,
    // so TETHER_HOST wins over it. `tether daemon` and `tether bridge` are
    // always this machine's: TETHER_HOST (set in a profile shared with the
    // server, say) does not move them; only an explicit --host is refused.
    let local_only = match &cli.command {
        Some(Command::Daemon(args)) => args.action.is_none(),
        Some(Command::Bridge { .. }) => true,
        _ => false,
    };
    let host = cli.host.clone().or_else(|| {
        (cli.socket.is_none() && !local_only)
            .then(|| std::env::var(ENV_HOST).ok())
            .flatten()
            .filter(|h| !h.trim().is_empty())
    });
    let socket = tether_shared::paths::socket_path(cli.socket.clone(), uid);
    match (&cli.command, &host) {
        (Some(Command::Daemon(args)), Some(h)) if args.action.is_none() => {
            eprintln!(
                "tether: `tether daemon` runs a daemon on this machine; to run one on {h}, run `tether daemon` there (any `tether --host {h}` command starts one there)"
            );
            return Ok(2);
        }
        (Some(Command::Bridge { .. }), Some(_)) => {
            eprintln!(
                "tether: `tether bridge` relays to this machine's daemon; it does not take --host"
            );
            return Ok(2);
        }
        (Some(Command::Daemon(args)), None) if args.action.is_none() => {
            return daemon::run_daemon(socket, args);
        }
        (Some(Command::Bridge { no_start }), None) => return bridge::bridge(&socket, !no_start),
        _ => {}
    }
    let target = match host {
        None => Target::Local(socket),
        Some(h) => match remote_target(&h) {
            Ok(t) => t,
            Err(RemoteError::Usage(e)) => {
                eprintln!("tether: {e}");
                return Ok(2);
            }
            Err(e) => return Err(e.into()),
        },
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start tokio")?;
    rt.block_on(client_command(cli.command, target))
}

/// `--host HOST` with `TETHER_SSH` and config.toml's `[remote]` and `[hosts]`.
fn remote_target(host: &str) -> Result<Target, RemoteError> {
    let path = tether_shared::paths::config_dir().join("config.toml");
    let config = match std::fs::read_to_string(&path) {
        Ok(text) => Some(toml::from_str::<toml::Table>(&text).map_err(|e| {
            RemoteError::Config(format!(
                "cannot read [remote] and [hosts] in {}: {}",
                path.display(),
                e.message()
            ))
        })?),
        Err(_) => None,
    };
    let ssh = std::env::var(ENV_SSH).ok();
    remote::resolve(host, ssh.as_deref(), config.as_ref())
        .map(Target::Remote)
        .map_err(|e| match e {
            RemoteError::Config(m) => RemoteError::Config(format!("{}: {m}", path.display())),
            usage => usage,
        })
}

async fn client_command(command: Option<Command>, target: Target) -> anyhow::Result<u8> {
    let interactive = std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    let Some(command) = command else {
        if interactive {
            return crate::ui::run(target, None, None, false).await;
        }
        return sessions::ls(&target, false).await;
    };
    match command {
        Command::Daemon(DaemonArgs {
            action: Some(action),
            ..
        }) => daemon::daemon_action(action, &target).await,
        // Both ran above, before the runtime.
        Command::Daemon(_) | Command::Bridge { .. } => Ok(0),
        Command::New(args) => sessions::new(args, &target).await,
        Command::Ls { json } => sessions::ls(&target, json).await,
        Command::Attach { name, read_only } => {
            sessions::attach(&target, name, read_only, interactive).await
        }
        Command::Send {
            name,
            steer,
            interrupt,
            key,
            prompt,
            args,
            text,
        } => {
            let text = match prompt {
                Some(spec) => {
                    let (server, prompt, arguments) = match prompts::parse(&spec, &args) {
                        Ok(p) => p,
                        Err(e) => {
                            eprintln!("tether: {e}");
                            return Ok(2);
                        }
                    };
                    vec![prompts::expand(&target, &name, server, prompt, arguments).await?]
                }
                None => text,
            };
            steer::send(&target, name, steer, interrupt, key, text).await
        }
        Command::Interrupt { name, key } => steer::interrupt(&target, name, key).await,
        Command::Approve {
            name,
            call_id,
            all,
            always,
            project,
            prefix,
            key,
        } => {
            let always = always.then_some(AlwaysAllow {
                scope: if project {
                    RuleScope::Project
                } else {
                    RuleScope::Session
                },
                tool: None,
                prefix,
            });
            let p = DecideParams {
                session: name,
                call_id,
                all,
                reason: None,
                always,
            };
            steer::approve(&target, p, key).await
        }
        Command::Approvals { name, json, rm } => match rm {
            Some(id) => rules::remove(&target, name, id).await,
            None => rules::list(&target, name, json).await,
        },
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
                always: None,
            };
            steer::deny(&target, p, key).await
        }
        Command::Answer {
            name,
            request_id,
            json,
            decline,
            cancel,
            key,
        } => steer::answer(&target, name, request_id, json, decline, cancel, key).await,
        Command::Wait {
            name,
            any,
            json,
            timeout,
        } => match name {
            Some(name) if !any => steer::wait(&target, name, timeout).await,
            _ => steer::wait_any(&target, json, timeout).await,
        },
        Command::Logs {
            name,
            json,
            follow,
            since,
        } => logs::logs(&target, name, json, follow, since).await,
        Command::Kill { name, key } => sessions::kill(&target, name, key).await,
        Command::Schedule { action } => schedule::run(&target, action).await,
        Command::Move { name, node } => sessions::move_to(&target, name, node).await,
        Command::Fork {
            name,
            new,
            at,
            json,
            key,
        } => {
            let p = ForkParams {
                session: name,
                name: new,
                at,
            };
            sessions::fork(&target, p, json, key).await
        }
        Command::Compact {
            name,
            instructions,
            json,
            key,
        } => {
            let p = CompactParams {
                session: name,
                instructions,
            };
            context::compact(&target, p, json, key).await
        }
        Command::Tools { json } => tools::tools(&target, json).await,
        Command::Prompts { name, json } => prompts::prompts(&target, name, json).await,
        Command::Mcp { action } => match action {
            McpAction::Login {
                server,
                port,
                no_browser,
                timeout,
            } => {
                let timeout = std::time::Duration::from_secs(timeout);
                mcp::login(&target, server, port, no_browser, timeout).await
            }
            McpAction::Logout { server } => mcp::logout(&target, server).await,
        },
        Command::Budget {
            name,
            cost,
            tokens,
            none,
            json,
            key,
        } => {
            let p = tether_shared::protocol::BudgetParams {
                session: name,
                max_tokens: tokens,
                max_cost_usd: cost,
                none,
            };
            budget::budget(&target, p, json, key).await
        }
        Command::Usage { name, json } => budget::usage(&target, name, json).await,
        Command::Acp => crate::acp::run(target).await,
    }
}
