//! Running the TUI: the terminal guard, the signals that end it, the keymap
//! from config, and the one loop that owns the terminal and `select!`s over
//! terminal input, daemon messages and a tick, drawing only when something
//! changed.

use std::io::{BufWriter, Stdout, Write};
use std::time::Duration;

use anyhow::Context as _;
use futures::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, DisableMouseCapture, EnableBracketedPaste,
    EnableFocusChange, Event, EventStream, KeyEventKind,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::style::Print;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use tokio::sync::mpsc;

use super::app::App;
use super::keymap::{Key, Keymap};
use super::{conn, view};
use crate::client::{DaemonClient, Target};

/// Mouse reporting: button presses and releases (1000), drags (1002), in SGR
/// form (1006), which has no limit on the column.
const MOUSE_ON: &str = "\x1b[?1000h\x1b[?1002h\x1b[?1006h";

/// Restores the terminal when dropped, and on panic.
struct TerminalGuard;

/// Saves the terminal's title (and icon name) on its stack (xterm's
/// `CSI 22;0t`; terminals without a title stack ignore it).
const PUSH_TITLE: &str = "\x1b[22;0t";
/// Brings back the title saved by [`PUSH_TITLE`].
const POP_TITLE: &str = "\x1b[23;0t";

/// Sets the terminal's title and icon name (OSC 0, ended by ST rather than
/// BEL, so no terminal can take it for a bell).
fn set_title(out: &mut impl Write, title: &str) -> std::io::Result<()> {
    write!(out, "\x1b]0;{title}\x1b\\")?;
    out.flush()
}

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        DisableFocusChange,
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        ratatui::crossterm::cursor::Show,
        Print(POP_TITLE)
    );
}

/// Puts the terminal in the TUI's modes (undone by [`restore`]).
fn setup() -> anyhow::Result<()> {
    enable_raw_mode().context("cannot put the terminal in raw mode")?;
    execute!(
        std::io::stdout(),
        Print(PUSH_TITLE),
        EnterAlternateScreen,
        EnableBracketedPaste,
        // Tells the bell whether the person is looking at this terminal
        // (tmux passes these on with `focus-events on`).
        EnableFocusChange
    )
    .context("cannot set up the terminal")?;
    Ok(())
}

impl TerminalGuard {
    fn enter() -> anyhow::Result<TerminalGuard> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        setup()?;
        Ok(TerminalGuard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// config.toml as a table, read once for the keys and `[tui]`; `None` when it
/// is missing or does not parse (the daemon reports config errors).
fn read_config() -> (std::path::PathBuf, Option<toml::Table>) {
    let path = tether_shared::paths::config_dir().join("config.toml");
    let table = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| toml::from_str(&text).ok());
    (path, table)
}

/// Reads `[keys]` from config.toml. A broken table falls back to the defaults,
/// with a warning the TUI shows from the start (and prints again on exit).
fn load_keymap(path: &std::path::Path, table: Option<&toml::Table>) -> (Keymap, Option<String>) {
    let Some(table) = table else {
        return (Keymap::default(), None);
    };
    match table.get("keys").and_then(|k| k.as_table()) {
        Some(keys) => match Keymap::with_overrides(keys) {
            Ok(m) => (m, None),
            Err(e) => (
                Keymap::default(),
                Some(format!(
                    "{}: {}; using the default keys",
                    path.display(),
                    e.0
                )),
            ),
        },
        None => (Keymap::default(), None),
    }
}

/// The prefix keys of the tmux we run inside (`$TMUX` set), which tmux takes
/// before we see them, asked of tmux itself (one `tmux` run for both options)
/// in the background from [`TmuxPrefixes::ask`] on, so the question overlaps
/// reaching the daemon; when tmux cannot say, its default `C-b`.
pub struct TmuxPrefixes(Option<tokio::task::JoinHandle<Vec<Key>>>);

impl TmuxPrefixes {
    /// Starts asking (nothing to ask outside tmux). Inside a tokio runtime.
    pub fn ask() -> TmuxPrefixes {
        if std::env::var_os("TMUX").is_none_or(|v| v.is_empty()) {
            return TmuxPrefixes(None);
        }
        TmuxPrefixes(Some(tokio::spawn(async {
            let out = tokio::process::Command::new("tmux")
                .args(["show-options", "-gv", "prefix", ";"])
                .args(["show-options", "-gv", "prefix2"])
                .stdin(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .output();
            // A tmux that hangs gets a second, then its default prefix is assumed.
            let out = tokio::time::timeout(Duration::from_secs(1), out).await;
            // One line per option; `None` (no second prefix) is no key.
            let mut keys: Vec<Key> = match out {
                Ok(Ok(out)) => String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter_map(|l| Key::parse(l.trim()))
                    .collect(),
                Ok(Err(_)) | Err(_) => Vec::new(),
            };
            if keys.is_empty() {
                keys.extend(Key::parse("C-b"));
            }
            keys
        })))
    }

    /// The keys, once tmux answered; never outside tmux or after the answer
    /// was taken (a `select!` branch on it stays pending).
    async fn keys(&mut self) -> Vec<Key> {
        let Some(task) = self.0.as_mut() else {
            return std::future::pending().await;
        };
        let keys = task
            .await
            .unwrap_or_else(|_| Key::parse("C-b").into_iter().collect());
        self.0 = None;
        keys
    }
}

/// How many events `tether attach` asks for first: enough to fill a screen of
/// this terminal's height (an event is one line or more), so the first frame
/// is drawn from them while the rest of the page loads.
pub fn first_page_size() -> u32 {
    let rows = screen_size().map_or(50, |s| s.height);
    (u32::from(rows) * 2).clamp(32, super::app::ATTACH_PAGE)
}

/// The terminal's size, asked of stdout (one `ioctl`): crossterm's `size()`
/// opens `/dev/tty` for each question, and ratatui asked it before every
/// frame. Failing that (stdout not the terminal), crossterm's answer.
fn screen_size() -> Option<Rect> {
    let (cols, rows) = match rustix::termios::tcgetwinsize(std::io::stdout()) {
        Ok(ws) if ws.ws_col > 0 && ws.ws_row > 0 => (ws.ws_col, ws.ws_row),
        _ => ratatui::crossterm::terminal::size().ok()?,
    };
    Some(Rect::new(0, 0, cols, rows))
}

/// What the TUI opens on.
enum Opening {
    /// The list, or the session named (attached once the link is up).
    Name(Option<String>),
    /// A session whose first page came on the connection given.
    Page(Box<tether_shared::protocol::AttachResult>),
}

/// How the event loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// Detach, quit, or the end of terminal input.
    Left,
    /// SIGTERM, SIGHUP or SIGINT (its number).
    Signal(i32),
}

/// The signals that end the TUI. In raw mode Ctrl-C is a key, not SIGINT, so a
/// SIGINT comes from `kill`; each of them leaves through the loop's normal exit,
/// so the terminal guard restores the screen (the default action would end the
/// process on the spot, in the alternate screen with the cursor hidden).
struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let make =
            |kind: SignalKind| signal(kind).context("cannot install the TUI's signal handlers");
        Ok(Signals {
            term: make(SignalKind::terminate())?,
            hup: make(SignalKind::hangup())?,
            int: make(SignalKind::interrupt())?,
        })
    }

    /// The next signal's number.
    async fn next(&mut self) -> i32 {
        tokio::select! {
            _ = self.term.recv() => nix::libc::SIGTERM,
            _ = self.hup.recv() => nix::libc::SIGHUP,
            _ = self.int.recv() => nix::libc::SIGINT,
        }
    }
}

/// Runs the TUI on `target` until the user detaches or quits; returns the exit
/// status: 0, or 128 + N after signal N (as a shell reports a process that a
/// signal ended). `first` is a connection the caller already made (used
/// first, so a command that checked its session does not connect twice).
pub async fn run(
    target: Target,
    first: Option<DaemonClient>,
    attach: Option<String>,
    read_only: bool,
) -> anyhow::Result<u8> {
    let prefixes = TmuxPrefixes::ask();
    // A remote daemon is reached before the terminal changes: ssh may ask for
    // a password or a host key, and a failure is said on the command line.
    let first = match (first, &target) {
        (Some(c), _) => Some(c),
        (None, Target::Remote(_)) => Some(target.connect_or_start().await?),
        (None, Target::Local(_)) => None,
    };
    open(
        target,
        first,
        Opening::Name(attach),
        read_only,
        prefixes,
        None,
    )
    .await
}

/// Runs the TUI on the session whose first page `client` fetched (its attach
/// reply), as [`run`] does; the first frame is drawn from that page.
/// `prepared`: what [`prepare`] made while the page was on its way.
pub async fn run_from_page(
    target: Target,
    client: DaemonClient,
    page: tether_shared::protocol::AttachResult,
    read_only: bool,
    prefixes: TmuxPrefixes,
    prepared: Option<Prepared>,
) -> anyhow::Result<u8> {
    let opening = Opening::Page(Box::new(page));
    open(target, Some(client), opening, read_only, prefixes, prepared).await
}

/// The TUI's terminal: frames go out through one 64 KiB buffer.
type Term = Terminal<CrosstermBackend<BufWriter<Stdout>>>;

/// What the first frame needs besides the daemon's page, none of it shown:
/// the config and its keys, and the terminal with its two screen buffers
/// (their memory's first touch is a third of a millisecond). `tether attach`
/// makes it while the daemon makes the page (asked for right behind the
/// hello), so the frame waits for neither after the page comes.
pub struct Prepared {
    config_path: std::path::PathBuf,
    config: Option<toml::Table>,
    keymap: Keymap,
    key_warning: Option<String>,
    /// `None` when the size could not be told (the event loop says why).
    screen: Option<(Rect, Term)>,
}

/// Makes [`Prepared`]: reads the config, sizes the screen and makes the
/// terminal's buffers. Nothing is written to the terminal.
pub fn prepare() -> Prepared {
    let (config_path, config) = read_config();
    let (keymap, key_warning) = load_keymap(&config_path, config.as_ref());
    super::trace::mark("config read");
    let screen = screen_size().and_then(|area| Some((area, new_terminal(area).ok()?)));
    super::trace::mark("terminal made (two screen buffers)");
    Prepared {
        config_path,
        config,
        keymap,
        key_warning,
        screen,
    }
}

/// A terminal on stdout whose viewport is `area`; nothing is written.
fn new_terminal(area: Rect) -> std::io::Result<Term> {
    // A frame goes out in one write: `Stdout` alone writes through a 1 KiB
    // line buffer, so a full screen was a dozen writes (and a dozen wake-ups
    // of the terminal, which may show a frame half drawn). Every write of the
    // event loop flushes, as the draw does.
    //
    // The viewport is the screen, sized before each frame from
    // [`screen_size`] (a full-screen one would ask through `/dev/tty`).
    Terminal::with_options(
        CrosstermBackend::new(BufWriter::with_capacity(1 << 16, std::io::stdout())),
        TerminalOptions {
            viewport: Viewport::Fixed(area),
        },
    )
}

async fn open(
    target: Target,
    first: Option<DaemonClient>,
    opening: Opening,
    read_only: bool,
    prefixes: TmuxPrefixes,
    prepared: Option<Prepared>,
) -> anyhow::Result<u8> {
    let Prepared {
        config_path,
        config,
        keymap,
        key_warning,
        screen,
    } = prepared.unwrap_or_else(prepare);
    // New sessions start where the daemon is: this directory, or the remote
    // user's home.
    let remote_home = match (&target, &first) {
        (Target::Remote(_), Some(c)) => Some(c.hello().home.clone()),
        _ => None,
    };
    let cwd = match &remote_home {
        Some(home) => home.clone().unwrap_or_else(|| "/".into()),
        None => std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| "/".into()),
    };
    let (settings, problems): (_, Vec<String>) = match &config {
        Some(t) => {
            let (s, problems) = super::settings::TuiSettings::from_config(t);
            let at = config_path.display();
            (
                s,
                problems.into_iter().map(|p| format!("{at}: {p}")).collect(),
            )
        }
        None => Default::default(),
    };
    let mut warnings: Vec<String> = key_warning.into_iter().collect();
    warnings.extend(problems);
    let key_warning = (!warnings.is_empty()).then(|| warnings.join("; "));
    let mut app = match opening {
        Opening::Name(attach) => App::new(keymap, attach, read_only, cwd),
        Opening::Page(page) => App::from_page(keymap, *page, read_only, cwd),
    };
    super::trace::mark("app built (transcript cells of the page)");
    if let Some(home) = remote_home {
        app.home = home;
    }
    app.host = target.remote().map(|r| r.name.clone());
    app.bell = settings.bell;
    app.mouse = settings.mouse;
    app.time_zone = settings.time;
    app.warning.clone_from(&key_warning);
    let (to_tx, to_rx) = mpsc::unbounded_channel();
    let (from_tx, mut from_rx) = mpsc::unbounded_channel();
    // Reconnects happen while the TUI owns the terminal: nobody can answer ssh.
    let link = tokio::spawn(conn::run(target.unattended(), first, to_rx, from_tx));

    // Installed before the terminal changes, so no window leaves it changed.
    let mut signals = Signals::install()?;
    let guard = TerminalGuard::enter()?;
    super::trace::mark("terminal set up (raw mode, alternate screen)");
    let result = event_loop(
        &mut app,
        &to_tx,
        &mut from_rx,
        &mut signals,
        prefixes,
        screen,
    )
    .await;
    drop(guard);
    drop(to_tx);
    link.abort();
    if let Some(w) = key_warning {
        eprintln!("tether: {w}");
    }
    match result? {
        Ended::Left => Ok(0),
        Ended::Signal(n) => Ok(u8::try_from(128 + n).unwrap_or(u8::MAX)),
    }
}

/// Gives the terminal to `$EDITOR` on `draft` and waits for it; `Err(N)` when
/// signal N came meanwhile to end the TUI. A SIGINT is the editor's too (a
/// Ctrl-C typed in it reaches the whole foreground group): the editor decides.
async fn run_editor(draft: &str, signals: &mut Signals) -> Result<Result<String, String>, i32> {
    restore();
    let editor = super::editor::from_env();
    let edit = super::editor::edit(&editor, draft);
    tokio::pin!(edit);
    loop {
        tokio::select! {
            result = &mut edit => return Ok(result),
            n = signals.next() => {
                if n != nix::libc::SIGINT {
                    return Err(n);
                }
            }
        }
    }
}

/// Sleeps until `at` (never, for `None`: the branch is disabled then anyway).
async fn sleep_until(at: Option<std::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

async fn event_loop(
    app: &mut App,
    to: &mpsc::UnboundedSender<conn::ToDaemon>,
    from: &mut mpsc::UnboundedReceiver<conn::FromDaemon>,
    signals: &mut Signals,
    mut prefixes: TmuxPrefixes,
    screen: Option<(Rect, Term)>,
) -> anyhow::Result<Ended> {
    let (mut area, mut terminal) = match screen {
        Some(made) => made,
        None => {
            let area = screen_size().context("cannot tell the terminal's size")?;
            let terminal = new_terminal(area).context("cannot open the terminal")?;
            (area, terminal)
        }
    };
    // The alternate screen starts blank, as the terminal's buffer does: no
    // `terminal.clear()`, whose cursor query waits for the terminal's answer
    // before the first frame.
    ratatui::backend::Backend::clear(terminal.backend_mut())?;
    super::trace::mark("screen cleared");
    // Made once the first frame is out: the reader's thread and the
    // terminal's input wait for it (typed keys wait in the terminal).
    let mut input: Option<EventStream> = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut dirty = true;
    let mut title = String::new();
    // What the terminal was told about the mouse (off at start).
    let mut mouse_on = false;
    loop {
        for cmd in app.outbox.drain(..) {
            let _ = to.send(cmd);
        }
        if app.mouse != mouse_on {
            mouse_on = app.mouse;
            if mouse_on {
                // Presses, drags and the wheel, in SGR coordinates; not every
                // motion (crossterm's EnableMouseCapture asks for that too),
                // which would wake the loop on each move for nothing.
                use std::io::Write;
                let out = terminal.backend_mut();
                out.write_all(MOUSE_ON.as_bytes())?;
                out.flush()?;
            } else {
                execute!(terminal.backend_mut(), DisableMouseCapture)?;
            }
        }
        if let Some(text) = app.clipboard.take() {
            let route = super::clipboard::current_route().await;
            let in_buffer = route == super::clipboard::Route::TmuxBuffer
                && super::clipboard::tmux_load_buffer(&text).await;
            if !in_buffer && let Some(seq) = super::widgets::osc52::sequence(&text) {
                // Straight to the terminal, between frames: it draws nothing.
                use std::io::Write;
                let out = terminal.backend_mut();
                out.write_all(seq.as_bytes())?;
                out.flush()?;
            }
        }
        if app.exit {
            return Ok(Ended::Left);
        }
        if let Some(draft) = app.editor.take() {
            // Nothing may read the terminal while the editor has it: the input
            // stream goes, and a fresh one is made when the loop next reads keys.
            drop(input.take());
            // Dropping the stream wakes crossterm's reader; a wake-up nobody
            // took is left for the next poll, and would cut short the cursor
            // query of `terminal.clear()` below. Take it now.
            let _ = ratatui::crossterm::event::poll(Duration::ZERO);
            let edited = run_editor(&draft, signals).await;
            setup()?;
            terminal.clear()?;
            // The editor's exit brought the saved title back: set ours again.
            title.clear();
            match edited {
                Ok(result) => app.edited(result),
                Err(n) => return Ok(Ended::Signal(n)),
            }
            dirty = true;
        }
        if app.redraw {
            // Forget what the screen shows: the next draw repaints every cell.
            app.redraw = false;
            terminal.clear()?;
            dirty = true;
        }
        // Before the frame that shows why: once the screen shows it, the
        // terminal has had the bell too.
        if std::mem::take(&mut app.ring) {
            let out = terminal.backend_mut();
            out.write_all(b"\x07")?;
            out.flush()?;
        }
        if let Some(now) = screen_size()
            && now != area
        {
            // Resized (asked on every wake-up, the tick's too: a resize
            // before the input stream was made sent no event): every cell is
            // drawn again at the new size.
            area = now;
            terminal.resize(area)?;
            dirty = true;
        }
        if dirty {
            terminal.draw(|f| {
                app.fit(f.area());
                view::draw(f, app);
                super::trace::mark("frame laid out");
            })?;
            dirty = false;
            super::trace::mark("frame drawn (written to the terminal)");
            super::trace::write();
            let now = view::title(app);
            if now != title {
                set_title(terminal.backend_mut(), &now)?;
                title = now;
            }
        }

        tokio::select! {
            // Inside tmux, whether our prefix is also tmux's decides how it is
            // shown (pressed twice): the first frame does not wait for tmux's
            // answer (a process to start), it is drawn again once it came.
            // Keys need not wait: a prefix pressed twice is taken either way.
            keys = prefixes.keys() => {
                app.keymap.inside_tmux(&keys);
                dirty = true;
            }
            ev = input.get_or_insert_with(EventStream::new).next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    app.flash = None;
                    app.on_key(k);
                    dirty = true;
                }
                Some(Ok(Event::Paste(text))) => {
                    app.on_paste(&text);
                    dirty = true;
                }
                Some(Ok(Event::Resize(..))) => dirty = true,
                Some(Ok(Event::FocusGained)) => app.focused = true,
                Some(Ok(Event::FocusLost)) => app.focused = false,
                Some(Ok(Event::Mouse(m))) => {
                    app.on_mouse(m);
                    dirty = true;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e).context("terminal input failed"),
                None => return Ok(Ended::Left),
            },
            msg = from.recv() => match msg {
                Some(m) => {
                    app.on_daemon(m);
                    // Drain a burst (a streaming answer) before drawing once.
                    while let Ok(m) = from.try_recv() {
                        app.on_daemon(m);
                    }
                    dirty = true;
                }
                None => return Ok(Ended::Left),
            },
            n = signals.next() => return Ok(Ended::Signal(n)),
            _ = tick.tick() => {
                app.on_tick();
            }
            // The approval prompt arms, or the spinner's next frame is due.
            _ = sleep_until(app.next_wake()), if app.next_wake().is_some() => dirty = true,
        }
    }
}
