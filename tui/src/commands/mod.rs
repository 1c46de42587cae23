//! Each CLI command: talk to the daemon, print what DESIGN.md's contract says.
//! One file per command family; [`run`] picks the runtime and the family.

mod budget;
mod context;
mod daemon;
mod logs;
mod output;
mod rules;
mod sessions;
mod steer;
mod tools;

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use tether_shared::protocol::{AlwaysAllow, CompactParams, DecideParams, ForkParams, RuleScope};

use crate::cli::{Cli, Command, DaemonArgs};

pub use crate::errors::one_line;

/// Runs the parsed command line; returns the exit status.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let uid = nix::unistd::getuid().as_raw();
    let socket = tether_shared::paths::socket_path(cli.socket.clone(), uid);
    if let Some(Command::Daemon(args)) = &cli.command
        && args.action.is_none()
    {
        return daemon::run_daemon(socket, args);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start tokio")?;
    rt.block_on(client_command(cli.command, socket))
}

async fn client_command(command: Option<Command>, socket: PathBuf) -> anyhow::Result<u8> {
    let interactive = std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    let Some(command) = command else {
        if interactive {
            return crate::ui::run(socket, None, false).await;
        }
        return sessions::ls(&socket, false).await;
    };
    match command {
        Command::Daemon(DaemonArgs {
            action: Some(action),
            ..
        }) => daemon::daemon_action(action, &socket).await,
        Command::Daemon(_) => Ok(0),
        Command::New(args) => sessions::new(args, &socket).await,
        Command::Ls { json } => sessions::ls(&socket, json).await,
        Command::Attach { name, read_only } => {
            sessions::attach(&socket, name, read_only, interactive).await
        }
        Command::Send {
            name,
            steer,
            interrupt,
            key,
            text,
        } => steer::send(&socket, name, steer, interrupt, key, text).await,
        Command::Interrupt { name, key } => steer::interrupt(&socket, name, key).await,
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
            steer::approve(&socket, p, key).await
        }
        Command::Approvals { name, json, rm } => match rm {
            Some(id) => rules::remove(&socket, name, id).await,
            None => rules::list(&socket, name, json).await,
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
            steer::deny(&socket, p, key).await
        }
        Command::Wait {
            name,
            any,
            json,
            timeout,
        } => match name {
            Some(name) if !any => steer::wait(&socket, name, timeout).await,
            _ => steer::wait_any(&socket, json, timeout).await,
        },
        Command::Logs {
            name,
            json,
            follow,
            since,
        } => logs::logs(&socket, name, json, follow, since).await,
        Command::Kill { name, key } => sessions::kill(&socket, name, key).await,
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
            sessions::fork(&socket, p, json, key).await
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
            context::compact(&socket, p, json, key).await
        }
        Command::Tools { json } => tools::tools(&socket, json).await,
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
            budget::budget(&socket, p, json, key).await
        }
        Command::Usage { name, json } => budget::usage(&socket, name, json).await,
        Command::Acp => crate::acp::run(socket).await,
    }
}
