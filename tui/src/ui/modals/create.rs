//! The new-session form: a name, a directory and a first message.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::ui::widgets::centered::centered;
use crate::ui::widgets::line_input::LineInput;

/// The new-session form.
#[derive(Debug, Default)]
pub struct CreateForm {
    /// Name, directory, first message.
    pub fields: [LineInput; 3],
    /// The focused field.
    pub focus: usize,
}

/// Draws the form over `area`; an empty directory shows `cwd`, where the
/// session starts then.
pub fn draw(f: &mut Frame<'_>, form: &CreateForm, cwd: &str, area: Rect) {
    let r = centered(area, 64, 9);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" new session ");
    let labels = ["name     ", "directory", "message  "];
    let placeholders = ["(from the directory)", cwd, "(optional first message)"];
    let mut lines = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        let focused = form.focus == i;
        let value = if form.fields[i].is_empty() && !focused {
            Span::styled(
                placeholders[i].to_string(),
                Style::new().fg(Color::DarkGray),
            )
        } else {
            Span::raw(form.fields[i].render(focused))
        };
        let style = if focused {
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{label} "), style),
            value,
        ]));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        " Tab: next field   Enter: create   Esc: cancel",
        Style::new().fg(Color::DarkGray),
    )));
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        r,
    );
}
