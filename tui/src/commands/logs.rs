//! `tether logs NAME [--since SEQ] [--json] [--follow]`: the event log, paged,
//! then (with `--follow`) the live events, reconnecting when the daemon dies.

use std::io::Write;

use tether_shared::protocol::{AttachParams, LiveParams, LogsParams, NotificationMethod, method};
use tether_shared::{Event, Live};

use crate::client::{Client, ClientError, Stream, Target};
use crate::render;

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

pub(super) async fn logs(
    target: &Target,
    session: String,
    json: bool,
    follow: bool,
    since: Option<u64>,
) -> anyhow::Result<u8> {
    let mut last = since.unwrap_or(0);
    loop {
        let mut c = target.connect_or_start().await?;
        loop {
            let params = LogsParams {
                session: session.clone(),
                since: Some(last),
                before: None,
                limit: Some(5000),
            };
            let page = c.call::<method::SessionLogs>(&params).await?;
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
async fn follow_live<S: Stream>(
    c: &mut Client<S>,
    session: &str,
    json: bool,
    last: &mut u64,
) -> anyhow::Result<Option<u8>> {
    let lost = |e: ClientError| match e {
        ClientError::Io(_) => Ok(None),
        e => Err(anyhow::Error::new(e)),
    };
    let params = AttachParams {
        session: session.to_string(),
        from_seq: Some(*last),
        page_size: Some(10_000),
        read_only: true,
    };
    let r = match c.call::<method::SessionAttach>(&params).await {
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
        if method::DaemonShutdown::params_of(&n).is_some() {
            eprintln!("the daemon stopped (`tether logs {session} --follow` again once it runs)");
            return Ok(Some(1));
        }
        if let Some(closed) = method::SessionClosed::params_of(&n) {
            // Moved to another node of the fleet (issue 16): its log goes on there.
            if let Some(reason) = closed.ok().and_then(|c| c.reason) {
                eprintln!("{reason}");
                return Ok(Some(1));
            }
            eprintln!("the session was killed");
            return Ok(Some(0));
        }
        if let Some(Ok(LiveParams {
            live: Live::Event { event },
            ..
        })) = method::SessionLive::params_of(&n)
            && event.seq > *last
        {
            *last = event.seq;
            print_event(&event, json)?;
        }
    }
}
