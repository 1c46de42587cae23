//! The TUI's link to the daemon: one task that owns the connection, turns app
//! commands into requests and daemon messages into app messages, and reconnects
//! (re-attaching from the last seq it saw) when the daemon goes away. A daemon
//! that crashed is started again; one that was stopped on purpose is waited for
//! (see [`Reconnect`]).

use std::collections::HashMap;
use std::time::Duration;

use tether_shared::protocol::*;
use tether_shared::{Delivery, Live};
use tokio::sync::mpsc;

use crate::client::{DaemonClient, Target};

/// The events fetched to find a session's waiting calls: the newest ones, where
/// a waiting call's `tool_call` and `approval_requested` are.
pub const CALLS_PAGE: u32 = 200;

/// What the app asks of the daemon.
#[derive(Debug, Clone, PartialEq)]
pub enum ToDaemon {
    /// Answer a tool server's question (issue 14).
    Answer {
        /// Name or id.
        session: String,
        /// The question.
        request_id: String,
        /// Accept, decline or cancel.
        action: tether_shared::event::InputAction,
        /// The values (accept in form mode).
        content: Option<serde_json::Value>,
    },
    /// Refresh the session list.
    ListSessions,
    /// Attach to a session (from the start, or from a seq on reconnect).
    Attach {
        /// Name or id.
        session: String,
        /// The newest events to fetch.
        page: u32,
        /// Watch only.
        read_only: bool,
    },
    /// The first connection is attached already (the command line asked for
    /// the first page on it): nothing is sent; a reconnect attaches again to
    /// `session`, from `last_seq` on.
    Adopt {
        /// Name or id.
        session: String,
        /// Watch only.
        read_only: bool,
        /// The attach reply's last seq.
        last_seq: u64,
    },
    /// Stop the live feed of the attached session.
    Detach,
    /// Send a message.
    Send {
        /// Name or id.
        session: String,
        /// The text.
        text: String,
        /// How.
        delivery: Delivery,
    },
    /// Interrupt the running turn.
    Interrupt {
        /// Name or id.
        session: String,
    },
    /// Approve a call.
    Approve {
        /// Name or id.
        session: String,
        /// The call.
        call_id: String,
        /// An "always allow" rule to add with it.
        always: Option<AlwaysAllow>,
    },
    /// Deny a call.
    Deny {
        /// Name or id.
        session: String,
        /// The call.
        call_id: String,
        /// Why.
        reason: Option<String>,
    },
    /// Create a session.
    Create(CreateParams),
    /// Kill a session.
    Kill {
        /// Name or id.
        session: String,
    },
    /// Older events, before a seq.
    Backfill {
        /// Name or id.
        session: String,
        /// Events before this seq.
        before: u64,
    },
    /// The attached session's summary.
    Refresh {
        /// Name or id.
        session: String,
    },
    /// The tool servers a session sees.
    Tools {
        /// Name or id.
        session: String,
    },
    /// The newest events of a session, where its waiting calls' details are
    /// (for the picker and the list's approval prompt).
    PendingCalls {
        /// The session's id.
        session: String,
        /// Events before this seq.
        before: u64,
    },
    /// Search the session's whole stored log.
    Search {
        /// Name or id.
        session: String,
        /// The words.
        query: String,
    },
    /// Older events, before a seq, in a page of `limit` (to reach a match).
    BackfillPage {
        /// Name or id.
        session: String,
        /// Events before this seq.
        before: u64,
        /// At most this many.
        limit: u32,
    },
    /// Cancel a queued input (to edit it again: `text` comes back with the answer).
    CancelInput {
        /// Name or id.
        session: String,
        /// The input.
        input_id: i64,
        /// Its text.
        text: String,
    },
}

/// What the daemon tells the app.
#[derive(Debug, Clone, PartialEq)]
pub enum FromDaemon {
    /// Connected (or reconnected).
    Connected,
    /// The connection is gone; reconnecting (the text says how and why).
    Disconnected(String),
    /// The session list.
    Sessions(Vec<SessionInfo>),
    /// What changed in the session list (`sessions.changed`): put these in
    /// place of the sessions with their ids (or add them); drop `removed`.
    SessionsChanged {
        /// Sessions created or changed, with their latest summaries.
        sessions: Vec<SessionInfo>,
        /// Ids of sessions that are gone.
        removed: Vec<String>,
    },
    /// An attach reply.
    Attached(Box<AttachResult>),
    /// Older events.
    Backfill(LogsResult),
    /// Live activity of the attached session.
    Live(Box<LiveParams>),
    /// The attached session's summary.
    Info(Box<SessionInfo>),
    /// A session was created.
    Created(Box<SessionInfo>),
    /// Creating a session failed (the daemon's message).
    CreateFailed(String),
    /// The attached session was killed, or (with why) moved to another node.
    SessionClosed(Option<String>),
    /// Tool servers.
    Tools(Vec<ToolServerInfo>),
    /// The events asked for by [`ToDaemon::PendingCalls`].
    PendingCalls {
        /// The session's id.
        session: String,
        /// Its newest events; `None` when the request failed.
        events: Option<Vec<tether_shared::Event>>,
    },
    /// What a search found.
    SearchHits {
        /// The query searched.
        query: String,
        /// The daemon's answer.
        result: SearchResult,
    },
    /// A search the daemon could not do.
    SearchFailed {
        /// The query.
        query: String,
        /// Why.
        message: String,
    },
    /// The answer to a [`ToDaemon::CancelInput`].
    Cancelled {
        /// The input.
        input_id: i64,
        /// Its text.
        text: String,
        /// False: it was not queued any more (the agent took it).
        cancelled: bool,
    },
    /// A request failed.
    Error(String),
}

#[derive(Debug, Clone)]
enum Pending {
    List,
    Attach,
    Backfill,
    Info,
    Created,
    Tools,
    /// Waiting calls of this session.
    Calls(String),
    Search(String),
    Cancel(i64, String),
    Other,
}

/// How the link gets a daemon back, decided by how the last one went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconnect {
    /// No daemon may be running (the TUI just started, or the daemon's connection
    /// dropped without its `daemon.shutdown` notice: a crash): start one exactly
    /// as any command does (`connect_or_start`, race-free), then connect.
    Start,
    /// The daemon said it was stopping (`daemon stop`, SIGTERM): someone stopped
    /// it on purpose, so do not start another; wait until one is started.
    Wait,
}

impl Reconnect {
    /// How to reconnect after a connection ended; `graceful` is whether the
    /// daemon sent `daemon.shutdown` before closing it.
    pub fn after_loss(graceful: bool) -> Reconnect {
        if graceful {
            Reconnect::Wait
        } else {
            Reconnect::Start
        }
    }

    /// What the banner says while disconnected from the daemon on `host`
    /// (`None`: this machine's).
    pub fn banner(self, host: Option<&str>) -> String {
        match (self, host) {
            (Reconnect::Start, None) => "the daemon went away; starting it again".into(),
            (Reconnect::Wait, None) => "the daemon was stopped; waiting until one starts".into(),
            (Reconnect::Start, Some(h)) => format!("the link to {h} dropped"),
            (Reconnect::Wait, Some(h)) => {
                format!("the daemon on {h} was stopped; waiting until one starts there")
            }
        }
    }

    /// The pause before the next attempt, after `failures` failed ones. A start
    /// that keeps failing (a broken config, say) is not retried in a tight loop.
    fn delay(self, failures: u32) -> Duration {
        match self {
            Reconnect::Wait => Duration::from_millis(500),
            Reconnect::Start => Duration::from_millis(500 * u64::from(failures.min(10))),
        }
    }
}

/// Runs the link to `target` until `to_rx` closes, on `first` to begin with
/// when given. Through ssh, each reconnect is a new ssh.
pub async fn run(
    target: Target,
    mut first: Option<DaemonClient>,
    mut to_rx: mpsc::UnboundedReceiver<ToDaemon>,
    from: mpsc::UnboundedSender<FromDaemon>,
) {
    let mut attached: Option<(String, bool)> = None;
    let mut last_seq: u64 = 0;
    let mut how = Reconnect::Start;
    let mut failures: u32 = 0;
    let host = target.remote().map(|r| r.name.clone());
    let host = host.as_deref();
    loop {
        // Through ssh, the error alone says it (it names ssh, the host or the
        // remote tether), and the banner has one line for it.
        let failed = |e: anyhow::Error| match host {
            Some(_) => crate::errors::one_line(&e),
            None => format!("{}: {}", how.banner(host), crate::errors::one_line(&e)),
        };
        let client = match (first.take(), how) {
            (Some(c), _) => Ok(c),
            (None, Reconnect::Start) => target.connect_or_start().await.map_err(failed),
            (None, Reconnect::Wait) => match target.connect().await {
                Ok(Some(c)) => Ok(c),
                // Through ssh, why the link failed matters (ssh cannot connect?).
                Err(e) if host.is_some() => Err(failed(e)),
                _ => Err(how.banner(host)),
            },
        };
        let mut client = match client {
            Ok(c) => {
                failures = 0;
                c
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let _ = from.send(FromDaemon::Disconnected(e));
                tokio::select! {
                    _ = tokio::time::sleep(how.delay(failures)) => continue,
                    cmd = to_rx.recv() => match cmd {
                        None => return,
                        // Commands while disconnected cannot be sent; say so.
                        Some(ToDaemon::Attach { session, read_only, .. }) => {
                            attached = Some((session, read_only));
                            last_seq = 0;
                            continue;
                        }
                        Some(ToDaemon::Adopt { session, read_only, last_seq: seq }) => {
                            attached = Some((session, read_only));
                            last_seq = last_seq.max(seq);
                            continue;
                        }
                        Some(ToDaemon::Detach) => {
                            // Left the session while away: do not re-attach to it.
                            attached = None;
                            continue;
                        }
                        // The app asks again once connected.
                        Some(ToDaemon::PendingCalls { .. }) => continue,
                        Some(ToDaemon::Create(_)) => {
                            let _ = from.send(FromDaemon::CreateFailed("not connected to the daemon".into()));
                            continue;
                        }
                        Some(_) => {
                            let _ = from.send(FromDaemon::Error("not connected to the daemon".into()));
                            continue;
                        }
                    },
                }
            }
        };
        let _ = from.send(FromDaemon::Connected);
        let mut pending: HashMap<u64, Pending> = HashMap::new();
        // The session list is pushed from now on: what changed (sessions.changed),
        // or the whole list when the daemon resyncs us (sessions.updated).
        if let Ok(id) = client
            .send::<method::SessionsSubscribe>(&SubscribeParams { deltas: true })
            .await
        {
            pending.insert(id, Pending::List);
        }
        // Re-attach after a reconnect, from the last event the app has.
        if let Some((session, read_only)) = &attached {
            let params = AttachParams {
                session: session.clone(),
                from_seq: Some(last_seq),
                page_size: Some(5000),
                read_only: *read_only,
            };
            if let Ok(id) = client.send::<method::SessionAttach>(&params).await {
                pending.insert(id, Pending::Attach);
            }
        }
        let lost = loop {
            tokio::select! {
                cmd = to_rx.recv() => {
                    let Some(cmd) = cmd else { return };
                    let (sent, kind) = match cmd {
                        ToDaemon::ListSessions => (client.send::<method::SessionList>(&Default::default()).await, Pending::List),
                        ToDaemon::Attach { session, page, read_only } => {
                            attached = Some((session.clone(), read_only));
                            last_seq = 0;
                            let p = AttachParams { session, from_seq: None, page_size: Some(page), read_only };
                            (client.send::<method::SessionAttach>(&p).await, Pending::Attach)
                        }
                        ToDaemon::Adopt { session, read_only, last_seq: seq } => {
                            attached = Some((session, read_only));
                            last_seq = last_seq.max(seq);
                            continue;
                        }
                        ToDaemon::Detach => match attached.take() {
                            Some((session, _)) => (client.send::<method::SessionDetach>(&SessionRef { session }).await, Pending::Other),
                            None => continue,
                        },
                        ToDaemon::Send { session, text, delivery } => {
                            (client.send::<method::SessionSend>(&SendParams { session, text, delivery }).await, Pending::Other)
                        }
                        ToDaemon::Answer { session, request_id, action, content } => {
                            let p = AnswerParams { session, request_id: Some(request_id), action, content };
                            (client.send::<method::SessionAnswer>(&p).await, Pending::Other)
                        }
                        ToDaemon::Interrupt { session } => (client.send::<method::SessionInterrupt>(&SessionRef { session }).await, Pending::Other),
                        ToDaemon::Approve { session, call_id, always } => {
                            let p = DecideParams { session, call_id: Some(call_id), all: false, reason: None, always };
                            (client.send::<method::SessionApprove>(&p).await, Pending::Other)
                        }
                        ToDaemon::Deny { session, call_id, reason } => {
                            let p = DecideParams { session, call_id: Some(call_id), all: false, reason, always: None };
                            (client.send::<method::SessionDeny>(&p).await, Pending::Other)
                        }
                        ToDaemon::Create(p) => (client.send::<method::SessionCreate>(&p).await, Pending::Created),
                        ToDaemon::Kill { session } => (client.send::<method::SessionKill>(&SessionRef { session }).await, Pending::Other),
                        ToDaemon::Backfill { session, before } => {
                            let p = LogsParams { session, since: None, before: Some(before), limit: Some(500) };
                            (client.send::<method::SessionLogs>(&p).await, Pending::Backfill)
                        }
                        ToDaemon::Refresh { session } => (client.send::<method::SessionGet>(&SessionRef { session }).await, Pending::Info),
                        ToDaemon::Tools { session } => {
                            (client.send::<method::ToolsList>(&ToolsParams { session: Some(session) }).await, Pending::Tools)
                        }
                        ToDaemon::PendingCalls { session, before } => {
                            let p = LogsParams {
                                session: session.clone(),
                                since: None,
                                before: Some(before),
                                limit: Some(CALLS_PAGE),
                            };
                            (client.send::<method::SessionLogs>(&p).await, Pending::Calls(session))
                        }
                        ToDaemon::Search { session, query } => {
                            let p = SearchParams { session, query: query.clone(), limit: None };
                            (client.send::<method::SessionSearch>(&p).await, Pending::Search(query))
                        }
                        ToDaemon::BackfillPage { session, before, limit } => {
                            let p = LogsParams { session, since: None, before: Some(before), limit: Some(limit) };
                            (client.send::<method::SessionLogs>(&p).await, Pending::Backfill)
                        }
                        ToDaemon::CancelInput { session, input_id, text } => {
                            let p = CancelInputParams { session, input_id };
                            (client.send::<method::SessionCancelInput>(&p).await, Pending::Cancel(input_id, text))
                        }
                    };
                    match sent {
                        Ok(id) => {
                            pending.insert(id, kind);
                        }
                        Err(e) => break Some(e.to_string()),
                    }
                }
                msg = client.next_message() => match msg {
                    Ok(None) => break Some(String::new()),
                    Err(e) => break Some(e.to_string()),
                    Ok(Some(ServerMessage::Response(r))) => {
                        let kind = r.id.as_u64().and_then(|id| pending.remove(&id)).unwrap_or(Pending::Other);
                        if let Some(e) = r.error {
                            let msg = match kind {
                                // Not the user's request: say nothing, but let
                                // the app know the answer will not come.
                                Pending::Calls(session) => FromDaemon::PendingCalls { session, events: None },
                                Pending::Created => FromDaemon::CreateFailed(e.message),
                                Pending::Search(query) => FromDaemon::SearchFailed { query, message: e.message },
                                _ => FromDaemon::Error(e.message),
                            };
                            let _ = from.send(msg);
                            continue;
                        }
                        let v = r.result;
                        let out = match kind {
                            Pending::List => method::SessionList::result(v).ok().map(FromDaemon::Sessions),
                            Pending::Attach => method::SessionAttach::result(v).ok().map(|a| {
                                last_seq = last_seq.max(a.last_seq);
                                FromDaemon::Attached(Box::new(a))
                            }),
                            Pending::Backfill => method::SessionLogs::result(v).ok().map(FromDaemon::Backfill),
                            Pending::Info => method::SessionGet::result(v).ok().map(|i| FromDaemon::Info(Box::new(i))),
                            Pending::Created => method::SessionCreate::result(v).ok().map(|i| FromDaemon::Created(Box::new(i))),
                            Pending::Tools => method::ToolsList::result(v).ok().map(FromDaemon::Tools),
                            Pending::Calls(session) => Some(FromDaemon::PendingCalls {
                                session,
                                events: method::SessionLogs::result(v).ok().map(|l| l.events),
                            }),
                            Pending::Search(query) => method::SessionSearch::result(v)
                                .ok()
                                .map(|result| FromDaemon::SearchHits { query, result }),
                            Pending::Cancel(input_id, text) => method::SessionCancelInput::result(v)
                                .ok()
                                .map(|r| FromDaemon::Cancelled { input_id, text, cancelled: r.cancelled }),
                            Pending::Other => None,
                        };
                        if let Some(o) = out {
                            let _ = from.send(o);
                        }
                    }
                    Ok(Some(ServerMessage::Notification(n))) => {
                        if let Some(live) = method::SessionLive::params_of(&n) {
                            if let Ok(p) = live {
                                if let Live::Event { event } = &p.live {
                                    last_seq = last_seq.max(event.seq);
                                }
                                let _ = from.send(FromDaemon::Live(Box::new(p)));
                            }
                        } else if let Some(updated) = method::SessionsUpdated::params_of(&n) {
                            if let Ok(u) = updated {
                                let _ = from.send(FromDaemon::Sessions(u.sessions));
                            }
                        } else if let Some(changed) = method::SessionsChanged::params_of(&n) {
                            if let Ok(c) = changed {
                                let _ = from.send(FromDaemon::SessionsChanged {
                                    sessions: c.sessions,
                                    removed: c.removed,
                                });
                            }
                        } else if let Some(closed) = method::SessionClosed::params_of(&n) {
                            attached = None;
                            let reason = closed.ok().and_then(|c| c.reason);
                            let _ = from.send(FromDaemon::SessionClosed(reason));
                        } else if method::DaemonShutdown::params_of(&n).is_some() {
                            break None;
                        }
                    }
                },
            }
        };
        // A connection that ends without the daemon's stop notice is a crash.
        how = Reconnect::after_loss(lost.is_none());
        let why = match lost {
            Some(e) if !e.is_empty() => format!("{}: {e}", how.banner(host)),
            _ => how.banner(host),
        };
        let _ = from.send(FromDaemon::Disconnected(why));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_starts_a_daemon_and_a_graceful_stop_waits_for_one() {
        assert_eq!(Reconnect::after_loss(false), Reconnect::Start);
        assert_eq!(Reconnect::after_loss(true), Reconnect::Wait);
        // A start that keeps failing backs off, to at most 5 s.
        assert!(Reconnect::Start.delay(1) < Reconnect::Start.delay(3));
        assert_eq!(Reconnect::Start.delay(100), Duration::from_secs(5));
        assert_eq!(Reconnect::Wait.delay(100), Duration::from_millis(500));
    }
}
