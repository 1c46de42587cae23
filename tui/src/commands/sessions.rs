//! The session commands: `new`, `fork`, `ls`, `attach` and `kill`. `new` and `attach`
//! open the TUI on a terminal and the line-mode client otherwise.

use std::io::IsTerminal;

use anyhow::{Context, bail};
use tether_shared::protocol::{
    AttachParams, CreateParams, ForkParams, ListParams, SessionRef, method,
};

use super::output::print_json;
use crate::cli::NewArgs;
use crate::client::Target;
use crate::render;
use crate::retry::{mutate, mutate_on};

/// `tether ls [--json]`.
pub(super) async fn ls(target: &Target, json: bool) -> anyhow::Result<u8> {
    // Parsed straight from the reply's bytes: every field for `--json`, only
    // the table's for the table.
    if json {
        let list: Vec<tether_shared::protocol::SessionInfo> = target
            .request_once_as::<method::SessionList, _>(&Default::default())
            .await?;
        print_json(&list)?;
    } else {
        // The table made by the daemon (issue 13); a daemon before that sends
        // each session as an array of the table's fields, made a table here.
        let table = target
            .request_once_read::<method::SessionList, _>(&ListParams::ls(), |line, id| {
                crate::client::answer_of(line, id, |t: render::LsReply<'_>| {
                    crate::ui::trace::mark("list read");
                    t.into_table()
                })
            })
            .await?;
        crate::ui::trace::mark("table made");
        super::output::print_out(&table)?;
        crate::ui::trace::mark("table printed");
        crate::ui::trace::write();
    }
    Ok(0)
}

/// `tether attach [NAME] [--read-only]`: without NAME, the session updated last.
pub(super) async fn attach(
    target: &Target,
    name: Option<String>,
    read_only: bool,
    interactive: bool,
) -> anyhow::Result<u8> {
    // Asked of tmux (when inside one) while the daemon is reached: its
    // answer changes the key hints, redrawn when it comes.
    let mut prefixes = interactive.then(crate::ui::TmuxPrefixes::ask);
    crate::ui::trace::mark("runtime started");
    if let (true, Some(session), Target::Local(socket)) = (interactive, &name, target) {
        // The first page, enough to fill the screen, asked for right behind the
        // hello (one round trip): the TUI's first frame is drawn from it before
        // anything else is fetched. A session that does not exist fails here,
        // on the command line (exit 1, one line on stderr), not inside a TUI
        // opened for nothing.
        let params = first_page(session.clone(), read_only);
        // No daemon, a dying one, another version: the way below starts one,
        // waits, or says what is wrong, as every command does.
        // While the daemon answers the hello and makes the page: the rest of
        // what the first frame needs.
        if let Ok((mut c, id, prepared)) =
            crate::client::connect_then::<method::SessionAttach, _>(socket, &params, || {
                crate::ui::prepare()
            })
            .await
        {
            let page = c.answer_to::<method::SessionAttach>(id).await?;
            crate::ui::trace::mark("first page received (with the hello)");
            if let Some(prefixes) = prefixes.take() {
                return crate::ui::run_from_page(
                    target.clone(),
                    c,
                    page,
                    read_only,
                    prefixes,
                    Some(prepared),
                )
                .await;
            }
        }
    }
    let mut c = target.connect_or_start().await?;
    crate::ui::trace::mark("connected (hello answered)");
    let name = match name {
        Some(n) => n,
        None => {
            let list = c.call::<method::SessionList>(&Default::default()).await?;
            match list.iter().max_by(|a, b| a.updated_at.cmp(&b.updated_at)) {
                Some(s) => s.name.clone(),
                None => bail!("no sessions to attach to; start one with `tether new`"),
            }
        }
    };
    if let Some(prefixes) = prefixes {
        // As above, after starting a daemon (or through ssh).
        let params = first_page(name, read_only);
        let page = c.call::<method::SessionAttach>(&params).await?;
        crate::ui::trace::mark("first page received");
        return crate::ui::run_from_page(target.clone(), c, page, read_only, prefixes, None).await;
    }
    crate::linemode::attach(c, &name, read_only).await
}

/// The attach of `tether attach`: its first page fills the screen.
fn first_page(session: String, read_only: bool) -> AttachParams {
    AttachParams {
        session,
        from_seq: None,
        page_size: Some(crate::ui::first_page_size()),
        read_only,
    }
}

/// `tether new [NAME] [-d] ...`: creates a session, then attaches unless `-d`.
/// With `--host`, `-C DIR` names a directory on that host (relative to the
/// remote user's home, as `~/` is), and the default is that home: this
/// machine's directories mean nothing there.
pub(super) async fn new(args: NewArgs, target: &Target) -> anyhow::Result<u8> {
    let (cwd, first) = match target.remote() {
        None => {
            let dir = match args.dir {
                Some(d) => d,
                None => std::env::current_dir().context("cannot read the current directory")?,
            };
            let cwd = std::fs::canonicalize(&dir)
                .with_context(|| format!("working directory {}", dir.display()))?;
            (cwd.display().to_string(), None)
        }
        Some(remote) => {
            let c = target.connect_or_start().await?;
            let Some(home) = c.hello().home.clone() else {
                bail!(
                    "the daemon on {} does not say its home directory (an older tether); name the directory there with -C /absolute/path",
                    remote.name
                );
            };
            let dir = args
                .dir
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            let cwd = crate::ui::modals::create::expand_dir(&dir, Some(&home), &home);
            (cwd, Some(c))
        }
    };
    let prompt = (!args.prompt.is_empty()).then(|| args.prompt.join(" "));
    let params = CreateParams {
        name: args.name,
        cwd,
        model: args.model,
        instructions: args.instructions,
        prompt,
        max_tokens: args.max_tokens,
        max_cost_usd: args.max_cost,
        mcp_servers: Vec::new(),
        node: args.node,
        portable: args.portable,
        worktree: args
            .worktree
            .then_some(tether_shared::protocol::WorktreeParams { base: args.base }),
    };
    let (info, c) =
        mutate_on::<method::SessionCreate>(target, first, &params, args.key, "`tether ls`").await?;
    if args.detach {
        println!("{}", info.name);
        return Ok(0);
    }
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        return crate::ui::run(target.clone(), Some(c), Some(info.id), false).await;
    }
    crate::linemode::attach(c, &info.name, false).await
}

/// `tether fork NAME -n NEW [--at SEQ] [--json]`: prints the new session's name
/// (as `new -d` does), or its summary as JSON.
pub(super) async fn fork(
    target: &Target,
    params: ForkParams,
    json: bool,
    key: Option<String>,
) -> anyhow::Result<u8> {
    let (info, _) = mutate::<method::SessionFork>(target, &params, key, "`tether ls`").await?;
    if json {
        print_json(&info)?;
    } else {
        println!("{}", info.name);
    }
    Ok(0)
}

/// `tether move NAME --node NODE`: prints where the session goes.
pub(super) async fn move_to(target: &Target, name: String, node: String) -> anyhow::Result<u8> {
    let params = tether_shared::protocol::MoveParams {
        session: name.clone(),
        node,
    };
    let (r, _) = mutate::<method::SessionMove>(target, &params, None, "`tether ls`").await?;
    if r.already {
        println!("{name} already runs on {}", r.to);
    } else {
        println!("{name}: {} -> {} (at its next step boundary)", r.from, r.to);
    }
    Ok(0)
}

/// `tether kill NAME`: prints nothing, or what became of the session's worktree.
pub(super) async fn kill(target: &Target, name: String, key: Option<String>) -> anyhow::Result<u8> {
    let params = SessionRef { session: name };
    let (done, _) = mutate::<method::SessionKill>(target, &params, key, "`tether ls`").await?;
    if let Some(w) = &done.worktree {
        super::output::print_out(&render::worktree_outcome(w))?;
    }
    Ok(0)
}
