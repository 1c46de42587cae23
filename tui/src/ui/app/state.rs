//! The TUI's state and everything that changes it: keys and daemon messages in,
//! requests for the daemon out (in `outbox`). Rendering only reads this.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;
use tether_shared::protocol::{
    AttachResult, CreateParams, LogsResult, SessionInfo, ToolServerInfo,
};
use tether_shared::{Delivery, Event, EventKind, Live};

use crate::ui::conn::{FromDaemon, ToDaemon};
use crate::ui::keymap::{Action, Context, Key, Keymap};
use crate::ui::transcript::{Transcript, partial_lines};

/// Events fetched when attaching (more are fetched when scrolling up).
pub const ATTACH_PAGE: u32 = 500;

/// How long a new approval prompt ignores the decision keys, so a key pressed
/// a moment before the prompt appeared cannot decide the call it did not see.
pub const ARM_DELAY: Duration = Duration::from_millis(750);

/// A decision key this soon after another key (or a paste) is taken as part of
/// a burst: a paste that the terminal did not mark as one arrives as keys a few
/// microseconds apart, and a control byte inside it must not decide a call.
/// People do not press a chord within 25 ms of the key before it.
pub const BURST_GAP: Duration = Duration::from_millis(25);

/// Where the app reads the time: the system clock, or one that tests move.
#[derive(Debug, Clone)]
pub enum Clock {
    /// `Instant::now()`.
    System,
    /// A start instant plus milliseconds that [`Clock::advance`] adds.
    Manual {
        /// The time at zero.
        base: Instant,
        /// Milliseconds since `base`.
        millis: Arc<AtomicU64>,
    },
}

impl Clock {
    /// A clock that moves only when told to.
    pub fn manual() -> Clock {
        Clock::Manual {
            base: Instant::now(),
            millis: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Now.
    pub fn now(&self) -> Instant {
        match self {
            Clock::System => Instant::now(),
            Clock::Manual { base, millis } => {
                *base + Duration::from_millis(millis.load(Ordering::SeqCst))
            }
        }
    }

    /// Moves a manual clock on (the system clock moves by itself).
    pub fn advance(&self, by: Duration) {
        if let Clock::Manual { millis, .. } = self {
            let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
            millis.fetch_add(ms, Ordering::SeqCst);
        }
    }
}

/// The approval prompt of the call at the head of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// The call it shows.
    pub call_id: String,
    /// When this call came to the head: decision keys count from `ARM_DELAY` later.
    pub since: Instant,
    /// Lines the call's text is scrolled down.
    pub scroll: usize,
}

/// The connection as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    /// Not yet connected.
    Connecting,
    /// Connected.
    Connected,
    /// Lost; trying again.
    Reconnecting(String),
}

/// Which screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// The session list.
    List,
    /// One session.
    Session,
}

/// The new-session form.
#[derive(Debug, Default)]
pub struct CreateForm {
    /// Name, directory, first message.
    pub fields: [String; 3],
    /// The focused field.
    pub focus: usize,
}

/// A dialog over the screen.
#[derive(Debug)]
pub enum Modal {
    /// The key help.
    Help,
    /// The new-session form.
    Create(CreateForm),
    /// Kill this session?
    ConfirmKill(String),
    /// Why deny this call?
    DenyReason {
        /// The call.
        call_id: String,
        /// The reason typed so far.
        reason: String,
    },
}

/// Transcript search.
#[derive(Debug, Default)]
pub struct Search {
    /// The query.
    pub query: String,
    /// Still typing it.
    pub editing: bool,
    /// Cell indices that match.
    pub matches: Vec<usize>,
    /// The current match.
    pub current: usize,
}

/// The session list screen.
#[derive(Debug, Default)]
pub struct ListState {
    /// All sessions.
    pub sessions: Vec<SessionInfo>,
    /// The selected row of the filtered list.
    pub selected: usize,
    /// The filter text.
    pub filter: String,
    /// Typing the filter.
    pub filtering: bool,
}

impl ListState {
    /// Sessions matching the filter.
    pub fn visible(&self) -> Vec<&SessionInfo> {
        let f = self.filter.to_lowercase();
        self.sessions
            .iter()
            .filter(|s| {
                f.is_empty()
                    || s.name.to_lowercase().contains(&f)
                    || s.cwd.to_lowercase().contains(&f)
                    || s.model.to_lowercase().contains(&f)
            })
            .collect()
    }
}

/// An attached session.
pub struct SessionView {
    /// Its summary.
    pub info: SessionInfo,
    /// Every event loaded, in seq order.
    pub events: Vec<Event>,
    /// Its cells.
    pub transcript: Transcript,
    /// Older events exist that are not loaded.
    pub more_before: bool,
    /// A backfill request is in flight.
    pub backfilling: bool,
    /// The answer streaming now.
    pub partial: String,
    /// Live output of running tool calls.
    pub tool_live: HashMap<String, String>,
    /// The message being written.
    pub input: TextArea<'static>,
    /// Lines scrolled up from the bottom (0 = following).
    pub scroll: usize,
    /// Tool calls expanded.
    pub expanded: bool,
    /// Transcript search.
    pub search: Option<Search>,
    /// Transcript size at the last draw (for paging).
    pub viewport: std::cell::Cell<(u16, u16)>,
    /// The approval prompt, while a call waits.
    pub prompt: Option<Prompt>,
    /// The prompt's body at the last draw: (lines in all, lines shown).
    pub prompt_view: std::cell::Cell<(usize, usize)>,
}

impl SessionView {
    fn new(r: AttachResult) -> SessionView {
        let mut v = SessionView {
            info: r.info,
            events: Vec::new(),
            transcript: Transcript::default(),
            more_before: r.truncated,
            backfilling: false,
            partial: r.partial.assistant_text,
            tool_live: HashMap::new(),
            input: new_input(),
            scroll: 0,
            expanded: false,
            search: None,
            viewport: std::cell::Cell::new((80, 20)),
            prompt: None,
            prompt_view: std::cell::Cell::new((0, 0)),
        };
        for e in r.events {
            v.push_event(e);
        }
        v
    }

    /// The seq of the newest event loaded.
    pub fn last_seq(&self) -> u64 {
        self.events.last().map_or(0, |e| e.seq)
    }

    fn push_event(&mut self, e: Event) -> bool {
        if e.seq <= self.last_seq() {
            return false; // already have it (a reconnect overlaps)
        }
        let before = self.transcript.cells.len();
        match &e.kind {
            EventKind::State { state } => self.info.state = *state,
            EventKind::AssistantMessage { .. } => self.partial.clear(),
            EventKind::ToolResult { call_id, .. } => {
                self.tool_live.remove(call_id);
            }
            _ => {}
        }
        self.info.last_seq = e.seq;
        self.info.updated_at = e.ts.clone();
        self.transcript.apply(&e);
        self.events.push(e);
        if self.scroll > 0 {
            // Not following: keep the view where the reader left it.
            let (w, _) = self.viewport.get();
            let added: usize = self.transcript.cells[before..]
                .iter()
                .map(|c| c.height(w, self.expanded))
                .sum();
            self.scroll += added;
        }
        true
    }

    fn prepend(&mut self, mut older: Vec<Event>) {
        let first = self.events.first().map_or(u64::MAX, |e| e.seq);
        older.retain(|e| e.seq < first);
        older.append(&mut self.events);
        self.events = older;
        self.transcript = Transcript::default();
        for e in &self.events {
            self.transcript.apply(e);
        }
    }

    /// Calls waiting for approval.
    pub fn pending(&self) -> Vec<(String, String, String)> {
        self.transcript.pending_approvals()
    }

    /// The daemon's preview of what a waiting call changes (the `diff` of its
    /// `approval_requested` event), when it sent one.
    pub fn approval_diff(&self, call_id: &str) -> Option<&str> {
        self.events.iter().rev().find_map(|e| match &e.kind {
            EventKind::ApprovalRequested {
                call_id: id, diff, ..
            } if id == call_id => diff.as_deref(),
            _ => None,
        })
    }

    /// Total transcript height at a width (partial answer included).
    pub fn total_height(&self, width: u16) -> usize {
        let cells: usize = self
            .transcript
            .cells
            .iter()
            .map(|c| c.height(width, self.expanded))
            .sum();
        cells
            + if self.partial.is_empty() {
                0
            } else {
                partial_lines(&self.partial, width).len()
            }
    }
}

fn new_input() -> TextArea<'static> {
    let mut t = TextArea::default();
    t.set_placeholder_text("Type a message…  Enter sends · ? help");
    t.set_cursor_line_style(ratatui::style::Style::default());
    t
}

/// The whole TUI state.
pub struct App {
    /// Key bindings.
    pub keymap: Keymap,
    /// The screen.
    pub screen: Screen,
    /// The session list.
    pub list: ListState,
    /// The attached session.
    pub session: Option<SessionView>,
    /// A dialog.
    pub modal: Option<Modal>,
    /// The connection.
    pub conn: ConnState,
    /// The prefix key was pressed.
    pub prefix: bool,
    /// Attached read-only.
    pub read_only: bool,
    /// Leave the loop.
    pub exit: bool,
    /// Requests for the daemon.
    pub outbox: Vec<ToDaemon>,
    /// A short message for the status line.
    pub flash: Option<String>,
    /// Tool servers, for the status bar.
    pub tools: Vec<ToolServerInfo>,
    /// The directory a new session defaults to.
    pub cwd: String,
    /// Lines the help is scrolled down.
    pub help_scroll: u16,
    /// Clear the terminal before the next draw (Ctrl-l).
    pub redraw: bool,
    /// The time source (tests use a manual one).
    pub clock: Clock,
    /// A problem found at start (a bad `[keys]` entry), shown until the TUI exits.
    pub warning: Option<String>,
    /// When the last key or paste arrived (see [`BURST_GAP`]).
    last_input: Option<Instant>,
}

impl App {
    /// A new app on the list, or attaching to `attach`.
    pub fn new(keymap: Keymap, attach: Option<String>, read_only: bool, cwd: String) -> App {
        let mut app = App {
            keymap,
            screen: Screen::List,
            list: ListState::default(),
            session: None,
            modal: None,
            conn: ConnState::Connecting,
            prefix: false,
            read_only,
            exit: false,
            outbox: Vec::new(),
            flash: None,
            tools: Vec::new(),
            cwd,
            help_scroll: 0,
            redraw: false,
            clock: Clock::System,
            warning: None,
            last_input: None,
        };
        match attach {
            Some(name) => {
                app.screen = Screen::Session;
                app.outbox.push(ToDaemon::Attach {
                    session: name.clone(),
                    page: ATTACH_PAGE,
                    read_only,
                });
                app.outbox.push(ToDaemon::Tools { session: name });
            }
            None => app.outbox.push(ToDaemon::ListSessions),
        }
        app
    }

    fn session_name(&self) -> Option<String> {
        self.session.as_ref().map(|s| s.info.id.clone())
    }

    /// A second passed: refresh what is not pushed.
    pub fn on_tick(&mut self) {
        if self.conn != ConnState::Connected {
            return;
        }
        match self.screen {
            Screen::List => self.outbox.push(ToDaemon::ListSessions),
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
    }

    /// Follows the call at the head of the approval queue: a new head re-arms
    /// the prompt, and a deny dialog whose call was decided elsewhere (another
    /// client, `tether approve`) closes at once.
    fn sync_prompt(&mut self) {
        let now = self.clock.now();
        let read_only = self.read_only;
        let covered = self.modal.is_some();
        let pending = match self.session.as_mut() {
            Some(v) => {
                let pending = v.pending();
                let head = pending.first().map(|(id, _, _)| id.clone());
                match (head, &mut v.prompt) {
                    // A dialog hides the prompt: it arms again once it shows.
                    (Some(head), Some(p)) if p.call_id == head && covered => p.since = now,
                    (Some(head), Some(p)) if p.call_id == head => {}
                    (Some(head), _) if !read_only => {
                        v.prompt = Some(Prompt {
                            call_id: head,
                            since: now,
                            scroll: 0,
                        })
                    }
                    _ => v.prompt = None,
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

    /// How long until the prompt takes decision keys (zero once armed), or
    /// `None` when no call waits.
    pub fn arming_left(&self) -> Option<Duration> {
        let p = self.session.as_ref()?.prompt.as_ref()?;
        Some((p.since + ARM_DELAY).saturating_duration_since(self.clock.now()))
    }

    /// When the screen must be drawn again without any input: the moment the
    /// prompt arms.
    pub fn next_wake(&self) -> Option<Instant> {
        let left = self.arming_left()?;
        (!left.is_zero()).then(|| self.clock.now() + left)
    }

    fn daemon_message(&mut self, msg: FromDaemon) {
        match msg {
            FromDaemon::Connected => {
                self.conn = ConnState::Connected;
                if self.screen == Screen::List {
                    self.outbox.push(ToDaemon::ListSessions);
                }
            }
            FromDaemon::Disconnected(e) => self.conn = ConnState::Reconnecting(e),
            FromDaemon::Sessions(list) => {
                // The attached session's summary rides along with the list.
                if let Some(v) = self.session.as_mut()
                    && let Some(s) = list.iter().find(|s| s.id == v.info.id)
                {
                    v.info.attached_clients = s.attached_clients;
                    v.info.usage = s.usage;
                    v.info.queued_inputs = s.queued_inputs;
                }
                self.list.sessions = list;
                let n = self.list.visible().len();
                self.list.selected = self.list.selected.min(n.saturating_sub(1));
            }
            FromDaemon::Attached(r) => {
                self.screen = Screen::Session;
                match self.session.as_mut() {
                    Some(v)
                        if v.info.id == r.info.id
                            && !(r.truncated
                                && r.events.first().is_some_and(|e| e.seq > v.last_seq() + 1)) =>
                    {
                        // A reconnect: add what we missed, no duplicates, no gaps.
                        v.partial = r.partial.assistant_text;
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
                        let mut view = SessionView::new(*r);
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
                    Live::AssistantDelta { text } => v.partial.push_str(&text),
                    Live::AssistantReset => v.partial.clear(),
                    Live::ToolOutput { call_id, chunk } => {
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
                    }
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
                    v.info.state = info.state;
                }
            }
            FromDaemon::Created(info) => {
                self.outbox.push(ToDaemon::Attach {
                    session: info.id.clone(),
                    page: ATTACH_PAGE,
                    read_only: false,
                });
                self.outbox.push(ToDaemon::Tools { session: info.id });
            }
            FromDaemon::SessionClosed => {
                self.flash = Some("the session was killed".into());
                self.back_to_list();
            }
            FromDaemon::Tools(t) => self.tools = t,
            FromDaemon::Error(e) => self.flash = Some(e),
        }
    }

    fn back_to_list(&mut self) {
        if self.session.take().is_some() {
            self.outbox.push(ToDaemon::Detach);
        }
        self.screen = Screen::List;
        self.outbox.push(ToDaemon::ListSessions);
    }

    /// Pasted text goes into the input.
    pub fn on_paste(&mut self, text: &str) {
        self.last_input = Some(self.clock.now());
        // Terminals (tmux, xterm) end pasted lines with CR.
        let text = &crate::ui::widgets::term_text::paste_text(text);
        if let Some(Modal::DenyReason { reason, .. }) = self.modal.as_mut() {
            reason.push_str(text);
            return;
        }
        // A paste is text: it goes into the message box, even while a call
        // waits, and never decides anything.
        if let (Screen::Session, Some(v)) = (self.screen, self.session.as_mut())
            && !self.read_only
        {
            v.input.insert_str(text);
        }
    }

    /// A key press.
    pub fn on_key(&mut self, ev: KeyEvent) {
        self.sync_prompt();
        let now = self.clock.now();
        let in_burst = self
            .last_input
            .replace(now)
            .is_some_and(|before| now.saturating_duration_since(before) < BURST_GAP);
        let key = Key::from_event(&ev);
        if self.prefix && key == self.keymap.prefix {
            // Pressed again (inside tmux, which takes the first press, or by
            // habit): still waiting for the key after the prefix.
            return;
        }
        if self.prefix {
            self.prefix = false;
            match self.keymap.action(Context::Prefix, &key) {
                Some(Action::Detach) => self.exit = true,
                Some(Action::Help) => self.toggle_help(),
                Some(Action::SessionList) => self.back_to_list(),
                _ => {}
            }
            return;
        }
        if key == self.keymap.prefix {
            self.prefix = true;
            return;
        }
        if self.modal.is_some() {
            self.modal_key(ev, key);
            return;
        }
        match self.screen {
            Screen::List => self.list_key(ev, key),
            Screen::Session => self.session_key(ev, key, in_burst),
        }
    }

    fn toggle_help(&mut self) {
        self.help_scroll = 0;
        self.modal = match self.modal {
            Some(Modal::Help) => None,
            _ => Some(Modal::Help),
        };
    }

    fn modal_key(&mut self, ev: KeyEvent, _key: Key) {
        let Some(modal) = self.modal.as_mut() else {
            return;
        };
        match modal {
            Modal::Help => match ev.code {
                KeyCode::Down | KeyCode::Char('j') => {
                    self.help_scroll = self.help_scroll.saturating_add(1)
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    self.help_scroll = self.help_scroll.saturating_sub(1)
                }
                KeyCode::PageDown | KeyCode::Char(' ') => {
                    self.help_scroll = self.help_scroll.saturating_add(8)
                }
                KeyCode::PageUp => self.help_scroll = self.help_scroll.saturating_sub(8),
                _ => self.modal = None,
            },
            Modal::ConfirmKill(name) => {
                if matches!(ev.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    let session = name.clone();
                    self.outbox.push(ToDaemon::Kill { session });
                    self.outbox.push(ToDaemon::ListSessions);
                }
                self.modal = None;
            }
            Modal::DenyReason { call_id, reason } => match ev.code {
                KeyCode::Esc => self.modal = None,
                KeyCode::Enter => {
                    let call_id = call_id.clone();
                    let reason = Some(reason.trim().to_string()).filter(|r| !r.is_empty());
                    if let Some(session) = self.session_name() {
                        self.outbox.push(ToDaemon::Deny {
                            session,
                            call_id,
                            reason,
                        });
                    }
                    self.modal = None;
                }
                KeyCode::Backspace => {
                    reason.pop();
                }
                KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => reason.push(c),
                _ => {}
            },
            Modal::Create(form) => match ev.code {
                KeyCode::Esc => self.modal = None,
                KeyCode::Tab | KeyCode::Down => form.focus = (form.focus + 1) % 3,
                KeyCode::BackTab | KeyCode::Up => form.focus = (form.focus + 2) % 3,
                KeyCode::Backspace => {
                    form.fields[form.focus].pop();
                }
                KeyCode::Enter => {
                    let [name, dir, prompt] = std::mem::take(&mut form.fields);
                    let p = CreateParams {
                        name: Some(name.trim().to_string()).filter(|n| !n.is_empty()),
                        cwd: if dir.trim().is_empty() {
                            self.cwd.clone()
                        } else {
                            dir.trim().to_string()
                        },
                        model: None,
                        instructions: None,
                        prompt: Some(prompt).filter(|p| !p.trim().is_empty()),
                    };
                    self.outbox.push(ToDaemon::Create(p));
                    self.modal = None;
                }
                KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => {
                    form.fields[form.focus].push(c)
                }
                _ => {}
            },
        }
    }

    fn list_key(&mut self, ev: KeyEvent, key: Key) {
        if self.list.filtering {
            match ev.code {
                KeyCode::Esc => {
                    self.list.filtering = false;
                    self.list.filter.clear();
                }
                KeyCode::Enter => self.list.filtering = false,
                KeyCode::Backspace => {
                    self.list.filter.pop();
                }
                KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => {
                    self.list.filter.push(c);
                    self.list.selected = 0;
                }
                _ => {}
            }
            return;
        }
        let n = self.list.visible().len();
        match self.keymap.action(Context::List, &key) {
            Some(Action::Up) => self.list.selected = self.list.selected.saturating_sub(1),
            Some(Action::Down) => {
                self.list.selected = (self.list.selected + 1).min(n.saturating_sub(1))
            }
            Some(Action::Attach) => {
                if let Some(s) = self.list.visible().get(self.list.selected) {
                    let session = s.id.clone();
                    self.screen = Screen::Session;
                    self.outbox.push(ToDaemon::Attach {
                        session: session.clone(),
                        page: ATTACH_PAGE,
                        read_only: self.read_only,
                    });
                    self.outbox.push(ToDaemon::Tools { session });
                }
            }
            Some(Action::New | Action::Kill) if self.read_only => {
                self.flash = Some("read-only: cannot create or kill sessions".into());
            }
            Some(Action::New) => self.modal = Some(Modal::Create(CreateForm::default())),
            Some(Action::Kill) => {
                if let Some(s) = self.list.visible().get(self.list.selected) {
                    self.modal = Some(Modal::ConfirmKill(s.name.clone()));
                }
            }
            Some(Action::Filter) => self.list.filtering = true,
            Some(Action::Help) => self.toggle_help(),
            Some(Action::Quit) => self.exit = true,
            Some(Action::Redraw) => self.redraw = true,
            _ => {
                if ev.code == KeyCode::Esc && !self.list.filter.is_empty() {
                    self.list.filter.clear();
                }
            }
        }
    }

    fn session_key(&mut self, ev: KeyEvent, key: Key, in_burst: bool) {
        let read_only = self.read_only;
        let Some(v) = self.session.as_mut() else {
            if ev.code == KeyCode::Esc {
                self.back_to_list();
            }
            return;
        };
        let id = v.info.id.clone();
        // Typing a search query.
        if let Some(s) = v.search.as_mut()
            && s.editing
        {
            match ev.code {
                KeyCode::Esc => v.search = None,
                KeyCode::Enter => {
                    s.editing = false;
                    find(v, 0);
                }
                KeyCode::Backspace => {
                    s.query.pop();
                }
                KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => {
                    s.query.push(c)
                }
                _ => {}
            }
            return;
        }
        // While a call waits, only its deliberate keys (never a printable key,
        // Enter or a paste) decide it, and only once the prompt is armed.
        // Everything else goes on to the message box as usual.
        if !read_only
            && let Some(p) = v.prompt.as_mut()
            && let Some(action) = self.keymap.action(Context::Approval, &key)
        {
            let call_id = p.call_id.clone();
            let armed = self.clock.now() >= p.since + ARM_DELAY;
            let (total, shown) = v.prompt_view.get();
            match action {
                Action::Approve | Action::Deny if !armed => {
                    self.flash = Some(format!(
                        "the prompt is arming: press {} again in a moment",
                        key.label()
                    ));
                }
                Action::Approve | Action::Deny if in_burst => {
                    self.flash = Some(format!(
                        "{} came with other input (a paste?): nothing decided; press it on its own",
                        key.label()
                    ));
                }
                Action::Approve => self.outbox.push(ToDaemon::Approve {
                    session: id,
                    call_id,
                }),
                Action::Deny => {
                    self.modal = Some(Modal::DenyReason {
                        call_id,
                        reason: String::new(),
                    })
                }
                Action::PromptUp => p.scroll = p.scroll.saturating_sub(1),
                Action::PromptDown => {
                    p.scroll = (p.scroll + 1).min(total.saturating_sub(shown));
                }
                _ => {}
            }
            return;
        }
        let input_empty = v.input.is_empty();
        let (w, h) = v.viewport.get();
        let page = (h as usize).saturating_sub(2).max(1);
        match self.keymap.action(Context::Session, &key) {
            Some(Action::Interrupt) => {
                if read_only {
                    self.flash = Some("read-only: cannot interrupt".into());
                } else {
                    self.outbox.push(ToDaemon::Interrupt { session: id });
                }
            }
            Some(a @ (Action::Send | Action::SendSteer | Action::SendInterrupt)) => {
                if read_only {
                    self.flash = Some("read-only: cannot send".into());
                    return;
                }
                if self.conn != ConnState::Connected {
                    // Keep the text: nothing is lost while the daemon is away.
                    self.flash = Some("not connected to the daemon; the message is kept".into());
                    return;
                }
                let text = v.input.lines().join("\n");
                if text.trim().is_empty() {
                    return;
                }
                let delivery = match a {
                    Action::SendSteer => Delivery::Steer,
                    Action::SendInterrupt => Delivery::Interrupt,
                    _ => Delivery::Queue,
                };
                if v.prompt.is_some() && delivery != Delivery::Interrupt {
                    // Sent, not a decision: say where the message went.
                    self.flash = Some(format!(
                        "sent; the model sees it once the waiting call is decided ({} approves, {} denies)",
                        self.keymap.hint(Action::Approve),
                        self.keymap.hint(Action::Deny)
                    ));
                }
                self.outbox.push(ToDaemon::Send {
                    session: id,
                    text,
                    delivery,
                });
                v.input = new_input();
                v.scroll = 0;
            }
            Some(Action::Newline) => {
                if !read_only {
                    v.input.insert_newline();
                }
            }
            Some(Action::PageUp) => {
                v.scroll += page;
                clamp_scroll(v, w, h);
                if v.scroll + h as usize >= v.total_height(w) && v.more_before && !v.backfilling {
                    v.backfilling = true;
                    let before = v.events.first().map_or(1, |e| e.seq);
                    self.outbox.push(ToDaemon::Backfill {
                        session: id,
                        before,
                    });
                }
            }
            Some(Action::PageDown) => v.scroll = v.scroll.saturating_sub(page),
            Some(Action::Top) if input_empty => {
                v.scroll = usize::MAX;
                clamp_scroll(v, w, h);
                if v.more_before && !v.backfilling {
                    v.backfilling = true;
                    let before = v.events.first().map_or(1, |e| e.seq);
                    self.outbox.push(ToDaemon::Backfill {
                        session: id,
                        before,
                    });
                }
            }
            Some(Action::Bottom) if input_empty => v.scroll = 0,
            Some(Action::Search) if input_empty => {
                v.search = Some(Search {
                    editing: true,
                    ..Default::default()
                })
            }
            Some(Action::NextMatch) => find(v, 1),
            Some(Action::PrevMatch) => find(v, -1),
            Some(Action::ToggleTools) => v.expanded = !v.expanded,
            Some(Action::Help) if input_empty => self.toggle_help(),
            Some(Action::Redraw) => self.redraw = true,
            _ => {
                if ev.code == KeyCode::Esc {
                    if v.search.is_some() {
                        v.search = None;
                    } else if !input_empty {
                        v.input = new_input();
                    }
                    return;
                }
                if !read_only {
                    v.input.input(ev);
                }
            }
        }
    }
}

fn clamp_scroll(v: &mut SessionView, width: u16, height: u16) {
    let max = v.total_height(width).saturating_sub(height as usize);
    v.scroll = v.scroll.min(max);
}

/// Moves to the next (`dir` 1), previous (-1) or first (0) match and scrolls it into view.
fn find(v: &mut SessionView, dir: i32) {
    let Some(s) = v.search.as_mut() else { return };
    let q = s.query.to_lowercase();
    if q.is_empty() {
        return;
    }
    s.matches = v
        .transcript
        .cells
        .iter()
        .enumerate()
        .filter(|(_, c)| c.plain().to_lowercase().contains(&q))
        .map(|(i, _)| i)
        .collect();
    if s.matches.is_empty() {
        return;
    }
    let n = s.matches.len();
    s.current = match dir {
        0 => n - 1, // the newest match first, like searching back from the bottom
        1 => (s.current + 1) % n,
        _ => (s.current + n - 1) % n,
    };
    let target = s.matches[s.current];
    let (w, h) = v.viewport.get();
    // Put the matching cell at the top of the view: everything below it counts.
    let below: usize = v.transcript.cells[target..]
        .iter()
        .map(|c| c.height(w, v.expanded))
        .sum::<usize>()
        + if v.partial.is_empty() {
            0
        } else {
            partial_lines(&v.partial, w).len()
        };
    v.scroll = below.saturating_sub(h as usize);
}
