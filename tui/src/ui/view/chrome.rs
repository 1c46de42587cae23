//! What the screens share: the state colours, the connection
//! banner, key hints and the start-up warning.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use tether_shared::SessionState;

use crate::ui::app::{App, ConnState};
use crate::ui::keymap::Action;

pub(crate) fn state_style(s: SessionState) -> Style {
    match s {
        SessionState::Idle => Style::new().fg(Color::Green),
        SessionState::Running => Style::new().fg(Color::Blue),
        SessionState::AwaitingApproval => Style::new()
            .fg(Color::Black)
            .bg(Color::Magenta)
            .add_modifier(Modifier::BOLD),
        SessionState::Failed => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        SessionState::BudgetExhausted => Style::new()
            .fg(Color::Black)
            .bg(Color::Yellow)
            .add_modifier(Modifier::BOLD),
        SessionState::Unknown => Style::new().fg(Color::Gray),
    }
}

/// A session's state as it can be shown now.
pub(crate) fn shown_state(app: &App, s: SessionState) -> SessionState {
    if app.live() { s } else { SessionState::Unknown }
}

pub(crate) fn conn_banner(app: &App) -> Option<Line<'static>> {
    match &app.conn {
        ConnState::Connected => None,
        ConnState::Connecting => Some(Line::from(Span::styled(
            " connecting to the daemon… ",
            Style::new().fg(Color::Yellow),
        ))),
        ConnState::Reconnecting(why) => Some(Line::from(Span::styled(
            format!(" reconnecting to the daemon… ({why}) "),
            Style::new().fg(Color::Black).bg(Color::Yellow),
        ))),
    }
}

pub(crate) fn hints(app: &App, actions: &[Action]) -> Line<'static> {
    let mut spans = Vec::new();
    for a in actions {
        spans.push(Span::styled(
            format!(" {} ", app.keymap.hint(*a)),
            Style::new().fg(Color::Black).bg(Color::Gray),
        ));
        spans.push(Span::raw(format!(" {} ", short(*a))));
    }
    Line::from(spans)
}

fn short(a: Action) -> &'static str {
    match a {
        Action::Attach => "attach",
        Action::New => "new",
        Action::Kill => "kill",
        Action::Filter => "filter",
        Action::Help => "help",
        Action::Quit => "quit",
        Action::Detach => "detach",
        Action::Interrupt => "interrupt",
        Action::SendSteer => "steer",
        Action::SendInterrupt => "send+interrupt",
        Action::Approve => "approve",
        Action::Deny => "deny",
        Action::Review => "review",
        Action::SessionPicker => "sessions",
        _ => a.name(),
    }
}

/// The badge that says how many other sessions need a person (`1 waiting`),
/// with the key that jumps to the longest waiting when `with_key`; nothing
/// when none does, or while disconnected (nobody knows then).
pub(crate) fn waiting_badge(app: &App, with_key: bool) -> Vec<Span<'static>> {
    let n = app.others_waiting().len();
    if n == 0 || !app.live() {
        return Vec::new();
    }
    let mut out = vec![
        Span::raw(" "),
        Span::styled(
            format!(" {n} waiting "),
            Style::new()
                .fg(Color::Black)
                .bg(Color::Magenta)
                .add_modifier(Modifier::BOLD),
        ),
    ];
    if with_key {
        out.push(Span::styled(
            format!(" {}", app.keymap.hint(Action::JumpWaiting)),
            Style::new().fg(Color::Magenta),
        ));
    }
    out
}

/// The start-up warning, wrapped whole (at most a third of the screen).
pub(crate) fn warning_lines(app: &App, width: u16) -> Vec<Line<'static>> {
    app.warning.as_ref().map_or_else(Vec::new, |w| {
        let span = Span::styled(
            format!(" {w} "),
            Style::new().fg(Color::Black).bg(Color::Yellow),
        );
        crate::ui::transcript::wrap(vec![span], width, "")
    })
}
