//! Approving or denying from the session list: the waiting call of the
//! selected session, in the same prompt the session view shows (the whole
//! call, the same deliberate keys, the same arming), over the bottom of the
//! list. The call's details come from the daemon's log (see `attention`).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::approval;
use super::modal::Review;
use crate::ui::app::App;

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
