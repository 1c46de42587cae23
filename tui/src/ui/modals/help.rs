//! The key help: every binding of the keymap, grouped, scrollable.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::ui::keymap::Keymap;
use crate::ui::widgets::centered::centered;

/// Draws the help over `area`, scrolled down `scroll` lines (at most to its end).
pub fn draw(f: &mut Frame<'_>, keymap: &Keymap, scroll: u16, area: Rect) {
    let r = centered(area, 76, area.height.saturating_sub(2).max(3));
    let inner_w = r.width.saturating_sub(2);
    let key_w = if inner_w >= 50 { 20 } else { 12 };
    let mut lines = Vec::new();
    for (title, rows) in keymap.help() {
        lines.push(Line::from(Span::styled(
            title,
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        )));
        for (keys, what) in rows {
            let spans = vec![
                Span::styled(
                    format!(" {keys:<w$}", w = key_w - 1),
                    Style::new().fg(Color::Yellow),
                ),
                Span::raw(what),
            ];
            lines.extend(crate::ui::transcript::wrap(
                spans,
                inner_w,
                &" ".repeat(key_w),
            ));
        }
    }
    let max = (lines.len() as u16).saturating_sub(r.height.saturating_sub(2));
    let scroll = scroll.min(max);
    f.render_widget(Clear, r);
    let title = if max > 0 {
        " keys (↑↓ scroll · Esc closes) "
    } else {
        " keys (Esc closes) "
    };
    let block = Block::default().borders(Borders::ALL).title(title);
    f.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), r);
}
