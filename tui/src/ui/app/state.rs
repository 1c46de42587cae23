//! The TUI's state: the screens, the dialog, the connection as the user sees
//! it, and what the event loop reads (the outbox, exit, redraw). Key handlers
//! and daemon messages change it (`keys.rs`, `daemon.rs`); views only read it.

use std::time::{Duration, Instant};

use tether_shared::protocol::{AttachResult, ToolServerInfo};

use super::clock::{ARM_DELAY, Clock, TimeZone};
use super::list::ListState;
use super::session::SessionView;
use crate::ui::conn::{FromDaemon, ToDaemon};
use crate::ui::keymap::Keymap;
use crate::ui::modals::Modal;

/// Events fetched when attaching (more are fetched when scrolling up).
pub const ATTACH_PAGE: u32 = 500;

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
    /// Tool servers, for the status bar (`None` until the daemon's answer for
    /// the attached session comes).
    pub tools: Option<Vec<ToolServerInfo>>,
    /// The directory a new session defaults to.
    pub cwd: String,
    /// The host the daemon is on, with `--host` (for the title).
    pub host: Option<String>,
    /// What `~` means in a new session's directory: the daemon's user's home
    /// (this machine's `$HOME`, or the remote one's with `--host`).
    pub home: Option<String>,
    /// Lines the help is scrolled down.
    pub help_scroll: u16,
    /// Clear the terminal before the next draw (Ctrl-l).
    pub redraw: bool,
    /// The time source (tests use a manual one).
    pub clock: Clock,
    /// The zone times show in (`[tui] time`).
    pub time_zone: TimeZone,
    /// A problem found at start (a bad `[keys]` entry), shown until the TUI exits.
    pub warning: Option<String>,
    /// When the last key or paste arrived (see [`BURST_GAP`]).
    pub(super) last_input: Option<Instant>,
    /// The terminal has the focus (as focus reports say; assumed until one
    /// says otherwise, since many terminals never send them).
    pub focused: bool,
    /// Ring the bell when a session starts needing a person (`[tui] bell`).
    pub bell: bool,
    /// A bell for the event loop to ring (it clears this).
    pub ring: bool,
    /// The session being switched to (by id), until its attach reply comes.
    pub attaching: Option<String>,
    /// What this TUI sent in this run, (session id, text) oldest first: part
    /// of the input history of every session.
    pub sent: Vec<(String, String)>,
    /// A draft to open in `$EDITOR` (`Ctrl-g`): the event loop gives the
    /// terminal to the editor, then hands the text back with [`App::edited`].
    pub editor: Option<String>,
    /// Text to put on the system clipboard: the event loop writes it as OSC 52.
    pub clipboard: Option<String>,
    /// Mouse capture wanted (`[tui] mouse`, toggled by `Ctrl-b m`): the event
    /// loop turns the terminal's mouse reporting on or off to match.
    pub mouse: bool,
    /// Where the left button went down in the transcript, and whether it has
    /// been dragged since.
    pub(super) mouse_press: Option<(super::selection::Point, bool)>,
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
            tools: None,
            cwd,
            host: None,
            home: std::env::var("HOME").ok().filter(|h| !h.is_empty()),
            help_scroll: 0,
            redraw: false,
            clock: Clock::System,
            time_zone: TimeZone::Local,
            warning: None,
            last_input: None,
            focused: true,
            bell: true,
            ring: false,
            attaching: None,
            sent: Vec::new(),
            editor: None,
            clipboard: None,
            mouse: true,
            mouse_press: None,
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

    /// A new app on a session whose first page the command line fetched, on
    /// the connection the daemon link goes on with (`tether attach`): the first
    /// frame is drawn from that page alone; the tools, the older events and the
    /// session list are asked for now and fill in as they come.
    pub fn from_page(keymap: Keymap, page: AttachResult, read_only: bool, cwd: String) -> App {
        let mut app = App::new(keymap, None, read_only, cwd);
        app.outbox.clear();
        app.conn = ConnState::Connected;
        let session = page.info.id.clone();
        app.outbox.push(ToDaemon::Adopt {
            session: session.clone(),
            read_only,
            last_seq: page.last_seq,
        });
        app.on_daemon(FromDaemon::Attached(Box::new(page)));
        app.outbox.push(ToDaemon::Tools {
            session: session.clone(),
        });
        // The rest of what an attach loads (ATTACH_PAGE events), older than
        // the first page.
        if let Some(v) = app.session.as_mut()
            && v.more_before
            && let Some(first) = v.events.first()
        {
            v.backfilling = true;
            app.outbox.push(ToDaemon::BackfillPage {
                session,
                before: first.seq,
                limit: ATTACH_PAGE,
            });
        }
        app
    }

    /// Whether what the daemon last said can be shown as live. While
    /// disconnected nobody knows: a session may have finished, failed, or the
    /// daemon crashed under it; states show as unknown, with no streaming
    /// cursor and no client count.
    pub fn live(&self) -> bool {
        self.conn == ConnState::Connected
    }

    pub(super) fn session_name(&self) -> Option<String> {
        self.session.as_ref().map(|s| s.info.id.clone())
    }

    /// How long until the prompt takes decision keys (zero once armed), or
    /// `None` when no call waits.
    pub fn arming_left(&self) -> Option<Duration> {
        if let Some(Modal::Review(r)) = &self.modal {
            // The list's prompt arms the same way, from when its call showed.
            r.call.as_ref()?;
            return Some((r.since + ARM_DELAY).saturating_duration_since(self.clock.now()));
        }
        let p = self.session.as_ref()?.prompt.as_ref()?;
        Some((p.since + ARM_DELAY).saturating_duration_since(self.clock.now()))
    }

    /// When the screen must be drawn again without any input: the moment the
    /// prompt arms, or the running turn's spinner's next frame.
    pub fn next_wake(&self) -> Option<Instant> {
        let arm = self
            .arming_left()
            .and_then(|left| (!left.is_zero()).then(|| self.clock.now() + left));
        match (arm, self.spinner_wake()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
