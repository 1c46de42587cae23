//! Approving or denying from the session list: the waiting call of the
//! selected session, in the same prompt the session view shows (the whole
//! call, the same deliberate keys, the same arming), over the bottom of the
//! list. The call's details come from the daemon's log (see `attention`).

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::approval::{self, Call};
use crate::ui::app::App;
use crate::ui::widgets::line_input::LineInput;

/// The list's approval prompt.
#[derive(Debug)]
pub struct Review {
    /// The session's id.
    pub session: String,
    /// Its name.
    pub name: String,
    /// The call shown, once its details are known.
    pub call: Option<Call>,
    /// What shows while no call does (loading, or why it cannot show).
    pub note: String,
    /// When the call showed: decision keys count from `ARM_DELAY` later.
    pub since: Instant,
    /// Calls decided from here, skipped until the list drops them.
    pub decided: Vec<String>,
    /// The deny reason being typed.
    pub deny: Option<LineInput>,
    /// The call's lines in all and shown, in the frame drawn last.
    pub view: (usize, usize),
}

impl Review {
    /// A prompt for `name`'s waiting calls, loading.
    pub fn new(session: String, name: String, now: Instant) -> Review {
        Review {
            session,
            name,
            call: None,
            note: "loading the waiting call…".into(),
            since: now,
            decided: Vec::new(),
            deny: None,
            view: (0, 0),
        }
    }
}

/// Where the prompt goes in `area`: above the list's last line (where
/// messages like "the prompt is arming" show), as tall as the call wants,
/// leaving the list's title and a row of it.
pub fn area_for(app: &App, r: &Review, area: Rect) -> Rect {
    let want = match &r.call {
        Some(c) => approval::call_height(app, c, area.width),
        None => 3,
    };
    let room = area.height.saturating_sub(1);
    let h = want.min(room.saturating_sub(3)).max(room.min(3));
    Rect {
        x: area.x,
        y: area.y + room - h,
        width: area.width,
        height: h,
    }
}

/// Draws the prompt over the bottom of `area`, and the deny dialog over it.
pub fn draw(f: &mut Frame<'_>, app: &App, r: &Review, area: Rect) {
    let at = area_for(app, r, area);
    f.render_widget(Clear, at);
    match &r.call {
        Some(c) => approval::draw_call(f, app, c, at),
        None => {
            let block = Block::default()
                .borders(Borders::TOP)
                .border_style(Style::new().fg(Color::Magenta));
            let text = vec![
                Line::from(vec![
                    Span::styled(
                        format!(" {} ", r.name),
                        Style::new().fg(Color::Black).bg(Color::Magenta),
                    ),
                    Span::raw(format!(" {}", r.note)),
                ]),
                Line::from(Span::styled(
                    " Esc closes",
                    Style::new().fg(Color::DarkGray),
                )),
            ];
            f.render_widget(
                Paragraph::new(text).block(block).wrap(Wrap { trim: false }),
                at,
            );
        }
    }
    if let (Some(reason), Some(c)) = (&r.deny, &r.call) {
        super::dialogs::draw_deny(f, &c.call_id, reason, area);
    }
}
