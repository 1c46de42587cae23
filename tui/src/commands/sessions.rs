//! The session commands: `new`, `fork`, `ls`, `attach` and `kill`. `new` and `attach`
//! open the TUI on a terminal and the line-mode client otherwise.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, bail};
use tether_shared::protocol::{CreateParams, Empty, ForkParams, SessionRef, method};

use super::output::print_json;
use crate::cli::NewArgs;
use crate::client::{connect_or_start, request_once};
use crate::render;
use crate::retry::mutate;

/// `tether ls [--json]`.
pub(super) async fn ls(socket: &Path, json: bool) -> anyhow::Result<u8> {
    let list = request_once::<method::SessionList>(socket, &Empty {}).await?;
    if json {
        print_json(&list)?;
    } else {
        print!("{}", render::sessions(&list));
    }
    Ok(0)
}

/// `tether attach [NAME] [--read-only]`: without NAME, the session updated last.
pub(super) async fn attach(
    socket: &Path,
    name: Option<String>,
    read_only: bool,
    interactive: bool,
) -> anyhow::Result<u8> {
    let mut c = connect_or_start(socket).await?;
    let name = match name {
        Some(n) => n,
        None => {
            let list = c.call::<method::SessionList>(&Empty {}).await?;
            match list.iter().max_by(|a, b| a.updated_at.cmp(&b.updated_at)) {
                Some(s) => s.name.clone(),
                None => bail!("no sessions to attach to; start one with `tether new`"),
            }
        }
    };
    if interactive {
        // A session that does not exist fails here, on the command line (exit
        // 1, one line on stderr), not inside a TUI opened for nothing.
        let info = c
            .call::<method::SessionGet>(&SessionRef {
                session: name.clone(),
            })
            .await?;
        drop(c);
        return crate::ui::run(socket.to_path_buf(), Some(info.id), read_only).await;
    }
    crate::linemode::attach(c, &name, read_only).await
}

/// `tether new [NAME] [-d] ...`: creates a session, then attaches unless `-d`.
pub(super) async fn new(args: NewArgs, socket: &Path) -> anyhow::Result<u8> {
    let dir = match args.dir {
        Some(d) => d,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let cwd = std::fs::canonicalize(&dir)
        .with_context(|| format!("working directory {}", dir.display()))?;
    let prompt = (!args.prompt.is_empty()).then(|| args.prompt.join(" "));
    let params = CreateParams {
        name: args.name,
        cwd: cwd.display().to_string(),
        model: args.model,
        instructions: args.instructions,
        prompt,
        max_tokens: args.max_tokens,
        max_cost_usd: args.max_cost,
        mcp_servers: Vec::new(),
    };
    let (info, c) =
        mutate::<method::SessionCreate>(socket, &params, args.key, "`tether ls`").await?;
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

/// `tether fork NAME -n NEW [--at SEQ] [--json]`: prints the new session's name
/// (as `new -d` does), or its summary as JSON.
pub(super) async fn fork(
    socket: &Path,
    params: ForkParams,
    json: bool,
    key: Option<String>,
) -> anyhow::Result<u8> {
    let (info, _) = mutate::<method::SessionFork>(socket, &params, key, "`tether ls`").await?;
    if json {
        print_json(&info)?;
    } else {
        println!("{}", info.name);
    }
    Ok(0)
}

/// `tether kill NAME`.
pub(super) async fn kill(socket: &Path, name: String, key: Option<String>) -> anyhow::Result<u8> {
    let params = SessionRef { session: name };
    mutate::<method::SessionKill>(socket, &params, key, "`tether ls`").await?;
    Ok(0)
}
