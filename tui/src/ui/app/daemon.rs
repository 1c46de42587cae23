//! What daemon messages (and the tick) do to the app.

use tether_shared::protocol::{LogsResult, SessionInfo};
use tether_shared::{EventKind, Live};

use super::attention;
use super::session::{Prompt, SessionView};
use super::state::{ATTACH_PAGE, App, ConnState, Screen};
use crate::ui::conn::{FromDaemon, ToDaemon};
use crate::ui::modals::Modal;

impl App {
    /// A second passed: refresh what is not pushed.
    pub fn on_tick(&mut self) {
        if self.conn != ConnState::Connected {
            return;
        }
        match self.screen {
            // The list is pushed (`sessions.changed`, and a whole list should the
            // daemon resync us): polling it would cost the whole list each second,
            // megabytes with 10,000 sessions (issue 13).
            Screen::List => {}
            Screen::Session => {
                if let Some(id) = self.session_name() {
                    self.outbox.push(ToDaemon::Refresh { session: id });
                }
            }
        }
    }

    /// A message from the daemon link.
    pub fn on_daemon(&mut self, msg: FromDaemon) {
        self.daemon_message(msg);
        self.sync_prompt();
        self.sync_question();
        self.sync_review();
    }

    /// Follows the call at the head of the approval queue: a new head re-arms
    /// the prompt, and a deny dialog whose call was decided elsewhere (another
    /// client, `tether approve`) closes at once.
    pub(super) fn sync_prompt(&mut self) {
        let now = self.clock.now();
        let read_only = self.read_only;
        let covered = self.modal.is_some();
        let pending = match self.session.as_mut() {
            Some(v) => {
                let pending = v.pending();
                let head = pending.first().map(|(id, _, _)| id.clone());
                // An "always allow" step open on a call decided meanwhile.
                let drafted = v
                    .prompt
                    .as_ref()
                    .filter(|p| p.always.is_some() && Some(&p.call_id) != head.as_ref())
                    .map(|p| p.call_id.clone());
                match (head, &mut v.prompt) {
                    // A dialog hides the prompt: it arms again once it shows.
                    (Some(head), Some(p)) if p.call_id == head && covered => p.since = now,
                    (Some(head), Some(p)) if p.call_id == head => {}
                    (Some(head), _) if !read_only => v.prompt = Some(Prompt::new(head, now)),
                    _ => v.prompt = None,
                }
                if let Some(call_id) = drafted {
                    self.flash = Some(format!(
                        "{call_id} was decided elsewhere; no rule was added from here"
                    ));
                }
                pending
            }
            None => Vec::new(),
        };
        if let Some(Modal::DenyReason { call_id, .. }) = &self.modal
            && !pending.iter().any(|(id, _, _)| id == call_id)
        {
            self.flash = Some(format!(
                "{call_id} was decided elsewhere; nothing was sent from here"
            ));
            self.modal = None;
        }
    }

    fn daemon_message(&mut self, msg: FromDaemon) {
        match msg {
            FromDaemon::Connected => {
                self.conn = ConnState::Connected;
                self.list.attention.reconnected();
                if self.screen == Screen::List {
                    self.outbox.push(ToDaemon::ListSessions);
                }
            }
            FromDaemon::Disconnected(e) => {
                self.conn = ConnState::Reconnecting(e);
                if let Some(Modal::Create(form)) = self.modal.as_mut()
                    && form.creating
                {
                    // Its answer went with the connection.
                    form.creating = false;
                    form.error = Some(
                        "the connection to the daemon was lost; see the list before trying again"
                            .into(),
                    );
                }
            }
            FromDaemon::SessionsChanged { sessions, removed } => {
                let list = self.list.with_changes(sessions, &removed);
                self.daemon_message(FromDaemon::Sessions(list));
            }
            FromDaemon::Sessions(list) => {
                // The attached session's summary rides along with the list.
                if let Some(v) = self.session.as_mut()
                    && let Some(s) = list.iter().find(|s| s.id == v.info.id)
                {
                    v.info.attached_clients = s.attached_clients;
                    v.info.usage = s.usage;
                    v.info.queued_inputs = s.queued_inputs;
                    v.info.context_tokens = s.context_tokens;
                    v.info.context_window = s.context_window;
                }
                // The selection follows its session, wherever the new list puts it.
                let selected = self.list.selected_id();
                let started = self.list.attention.observe(&list);
                if attention::rings(&started, self.on_screen(), self.focused, self.bell) {
                    self.ring = true;
                }
                for (session, before) in self.list.attention.to_fetch(&list) {
                    self.outbox.push(ToDaemon::PendingCalls { session, before });
                }
                self.list.sessions = list;
                self.list.select_id(selected.as_deref());
            }
            FromDaemon::Attached(r) => {
                if let Some(target) = &self.attaching {
                    if *target != r.info.id {
                        // The reply to an attach the user has since switched away from.
                        return;
                    }
                    self.attaching = None;
                }
                self.screen = Screen::Session;
                match self.session.as_mut() {
                    Some(v)
                        if v.info.id == r.info.id
                            && !(r.truncated
                                && r.events.first().is_some_and(|e| e.seq > v.last_seq() + 1)) =>
                    {
                        // A reconnect: add what we missed, no duplicates, no gaps.
                        v.partial = r.partial.assistant_text;
                        v.queued = r.queued;
                        v.info = SessionInfo {
                            state: r.info.state,
                            ..r.info
                        };
                        for e in r.events {
                            v.push_event(e);
                        }
                    }
                    _ => {
                        // A new attach, or a reconnect that missed more than a
                        // page: start from this page (older events load on scroll).
                        let kept = self
                            .session
                            .take()
                            .filter(|v| v.info.id == r.info.id)
                            .map(|v| v.input);
                        let mut view =
                            SessionView::new(*r, &self.keymap).with_clock(self.clock.clone());
                        if let Some(input) = kept {
                            view.input = input;
                        }
                        self.session = Some(view);
                    }
                }
            }
            FromDaemon::Backfill(LogsResult { events, more, .. }) => {
                if let Some(v) = self.session.as_mut() {
                    v.backfilling = false;
                    v.more_before = more;
                    v.prepend(events);
                }
                self.after_backfill();
            }
            FromDaemon::Live(p) => {
                let Some(v) = self.session.as_mut() else {
                    return;
                };
                if p.session_id != v.info.id {
                    return;
                }
                match p.live {
                    Live::Event { event } => {
                        if matches!(event.kind, EventKind::ToolsChanged { .. }) {
                            self.outbox.push(ToDaemon::Tools {
                                session: v.info.id.clone(),
                            });
                        }
                        v.push_event(event);
                    }
                    Live::AssistantDelta { text } => v.keep_view(|v| v.partial.push_str(&text)),
                    Live::AssistantReset => v.keep_view(|v| v.partial.clear()),
                    Live::ToolOutput { call_id, chunk } => v.keep_view(|v| {
                        let buf = v.tool_live.entry(call_id).or_default();
                        buf.push_str(&chunk);
                        if buf.len() > 4096 {
                            // Cut at a line start, so no half of an escape
                            // sequence is left to show as text.
                            let cut = buf.len() - 4096;
                            let cut = buf[..]
                                .char_indices()
                                .find(|(i, c)| *i >= cut && *c == '\n')
                                .map_or(cut, |(i, _)| i + 1);
                            let cut = (cut..buf.len())
                                .find(|i| buf.is_char_boundary(*i))
                                .unwrap_or(buf.len());
                            buf.drain(..cut);
                        }
                    }),
                    Live::Queued { inputs } => v.queued = inputs,
                    Live::Unknown => {}
                }
            }
            FromDaemon::Info(info) => {
                if let Some(v) = self.session.as_mut()
                    && v.info.id == info.id
                {
                    v.info.attached_clients = info.attached_clients;
                    v.info.usage = info.usage;
                    v.info.queued_inputs = info.queued_inputs;
                    v.info.context_tokens = info.context_tokens;
                    v.info.context_window = info.context_window;
                    v.info.budget = info.budget;
                    v.info.cost_usd = info.cost_usd;
                    v.info.cost_basis = info.cost_basis;
                    v.info.state = info.state;
                }
            }
            FromDaemon::Created(info) => {
                if matches!(self.modal, Some(Modal::Create(_))) {
                    self.modal = None;
                }
                self.outbox.push(ToDaemon::Attach {
                    session: info.id.clone(),
                    page: ATTACH_PAGE,
                    read_only: false,
                });
                self.outbox.push(ToDaemon::Tools { session: info.id });
            }
            FromDaemon::SessionClosed(reason) => {
                // A session that moved to another node says where (issue 16).
                self.flash = Some(reason.unwrap_or_else(|| "the session was killed".into()));
                self.back_to_list();
            }
            FromDaemon::PendingCalls { session, events } => {
                self.list.attention.fetched(&session, events.as_deref());
            }
            FromDaemon::Tools(t) => self.tools = Some(t),
            FromDaemon::CreateFailed(e) => match self.modal.as_mut() {
                Some(Modal::Create(form)) => {
                    form.creating = false;
                    form.error = Some(e);
                }
                _ => self.flash = Some(format!("cannot create the session: {e}")),
            },
            FromDaemon::SearchHits { query, result } => self.on_search_hits(query, result),
            FromDaemon::SearchFailed { query, message } => self.on_search_failed(query, message),
            FromDaemon::Cancelled {
                input_id,
                text,
                cancelled,
            } => self.on_cancelled(input_id, text, cancelled),
            FromDaemon::Error(e) => {
                // A decision the daemon refused may be made again.
                if let Some(p) = self.session.as_mut().and_then(|v| v.prompt.as_mut()) {
                    p.sent = false;
                }
                self.flash = Some(e);
            }
        }
    }

    pub(super) fn back_to_list(&mut self) {
        // Back on the list, the session just left is the one selected.
        let left = self.session.as_ref().map(|v| v.info.id.clone());
        if self.session.take().is_some() || self.attaching.take().is_some() {
            self.outbox.push(ToDaemon::Detach);
        }
        self.list.select_id(left.as_deref());
        self.screen = Screen::List;
        self.outbox.push(ToDaemon::ListSessions);
    }
}
