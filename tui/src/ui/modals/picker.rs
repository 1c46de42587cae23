//! The session picker (`Ctrl-b w`): every session over the current view, those
//! that need a person first, each with its state and what it waits for; typing
//! filters, Enter switches to the selected one.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table, TableState};
use tether_shared::SessionState;

use super::modal::Picker;
use crate::ui::app::App;
use crate::ui::view::chrome::{shown_state, state_style};
use crate::ui::widgets::centered::centered;

/// Draws the picker over `area`.
pub fn draw(f: &mut Frame<'_>, app: &App, p: &Picker, area: Rect) {
    let rows = app.picker_rows(&p.filter);
    let want_h = u16::try_from(rows.len())
        .unwrap_or(u16::MAX)
        .saturating_add(3);
    let r = centered(
        area,
        area.width.saturating_sub(4).clamp(20, 96),
        want_h.clamp(4, area.height.saturating_sub(2).max(4)),
    );
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(Color::Cyan))
        .title(" switch to a session ")
        .title_bottom(" Enter switches · Esc closes ");
    let inner = block.inner(r);
    f.render_widget(block, r);
    let [filter, table] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let line = if p.filter.is_empty() {
        Line::from(Span::styled(
            " type to filter · ↑↓ (j/k) move",
            Style::new().fg(Color::DarkGray),
        ))
    } else {
        Line::from(vec![
            Span::styled(" filter: ", Style::new().fg(Color::Yellow)),
            Span::raw(p.filter.render(true)),
        ])
    };
    f.render_widget(Paragraph::new(line), filter);
    if rows.is_empty() {
        f.render_widget(
            Paragraph::new(Span::styled(
                " no session matches",
                Style::new().fg(Color::DarkGray),
            )),
            table,
        );
        return;
    }
    let here = app.on_screen();
    // Room for the state word; what is left goes to the name and the reason.
    let state_w: u16 = 17;
    let usable = table.width.saturating_sub(2 + state_w + 2);
    let wide = usable >= 36;
    let name_w = if wide {
        let longest = rows
            .iter()
            .map(|s| s.name.chars().count() + if here == Some(s.id.as_str()) { 7 } else { 0 })
            .max()
            .unwrap_or(0);
        u16::try_from(longest)
            .unwrap_or(u16::MAX)
            .min(usable / 2)
            .max(8)
    } else {
        usable
    };
    let why_w = usable.saturating_sub(name_w) as usize;
    let body: Vec<Row<'_>> = rows
        .iter()
        .map(|s| {
            let mut name = vec![Span::styled(
                crate::render::one_line(&s.name, name_w as usize),
                Style::new().add_modifier(Modifier::BOLD),
            )];
            if here == Some(s.id.as_str()) && s.name.chars().count() + 7 <= name_w as usize {
                name.push(Span::styled(" (here)", Style::new().fg(Color::DarkGray)));
            }
            let state = shown_state(app, s.state);
            let mut cells = vec![
                Line::from(name),
                Line::from(Span::styled(state.to_string(), state_style(state))),
            ];
            if wide {
                let why = app.waits_for(s).unwrap_or_default();
                cells.push(Line::from(Span::styled(
                    crate::render::one_line(&why, why_w),
                    reason_style(s.state),
                )));
            }
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![Constraint::Length(name_w), Constraint::Length(state_w)];
    if wide {
        widths.push(Constraint::Fill(1));
    }
    let t = Table::new(body, widths)
        .row_highlight_style(Style::new().bg(Color::DarkGray))
        .highlight_symbol("› ");
    let mut state = TableState::default().with_selected(Some(p.selected.min(rows.len() - 1)));
    f.render_stateful_widget(t, table, &mut state);
}

/// How the reason a session needs a person shows: a failure in red, a budget
/// in yellow, a waiting call in magenta.
pub(crate) fn reason_style(s: SessionState) -> Style {
    match s {
        SessionState::Failed => Style::new().fg(Color::Red),
        SessionState::BudgetExhausted => Style::new().fg(Color::Yellow),
        SessionState::AwaitingApproval => Style::new().fg(Color::Magenta),
        _ => Style::new().fg(Color::DarkGray),
    }
}
