//! The small dialogs: kill this session?, and why deny this call?

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::ui::widgets::centered::centered;
use crate::ui::widgets::line_input::LineInput;

/// Asks whether to kill the session `name`.
pub fn draw_kill(f: &mut Frame<'_>, name: &str, area: Rect) {
    let r = centered(area, 44, 5);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" kill session ")
        .border_style(Style::new().fg(Color::Red));
    let text = vec![
        Line::from(format!("Kill {name} and delete its history?")),
        Line::from(" y: kill   any other key: keep"),
    ];
    f.render_widget(
        Paragraph::new(text).block(block).wrap(Wrap { trim: true }),
        r,
    );
}

/// Asks why `call_id` is denied, showing the `reason` typed so far.
pub fn draw_deny(f: &mut Frame<'_>, call_id: &str, reason: &LineInput, area: Rect) {
    let r = centered(area, 60, 5);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" deny {call_id} "))
        .border_style(Style::new().fg(Color::Red));
    let text = vec![
        Line::from("Reason (optional, told to the model):"),
        Line::from(reason.render(true)),
        Line::from(" Enter: deny   Esc: back"),
    ];
    f.render_widget(
        Paragraph::new(text).block(block).wrap(Wrap { trim: false }),
        r,
    );
}
