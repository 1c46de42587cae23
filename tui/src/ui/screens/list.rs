//! The session list screen: a title with the filter and the connection, the
//! sessions as a table (fewer columns when narrow; those that need a person
//! first, each with a second line that says why), and a hint or flash line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};
use tether_shared::protocol::SessionInfo;

use crate::ui::app::App;
use crate::ui::app::attention::needs_person;
use crate::ui::keymap::Action;
use crate::ui::modals::Modal;
use crate::ui::modals::picker::reason_style;
use crate::ui::view::chrome::{
    conn_banner, hints, shown_state, state_style, waiting_badge, warning_lines,
};
use crate::ui::widgets::ellipsis::{cut_end, cut_path};

pub fn draw(f: &mut Frame<'_>, app: &App, area: Rect) {
    let warning = warning_lines(app, area.width);
    let [warn, title, body, footer] = Layout::vertical([
        Constraint::Length((warning.len() as u16).min(area.height / 3)),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut t = vec![Span::styled(
        " tether ",
        Style::new()
            .fg(Color::Black)
            .bg(Color::Cyan)
            .add_modifier(Modifier::BOLD),
    )];
    t.push(Span::raw(format!(
        " sessions ({})",
        app.list.sessions.len()
    )));
    if app.list.filtering || !app.list.filter.is_empty() {
        t.push(Span::styled(
            format!("  filter: {}", app.list.filter.render(app.list.filtering)),
            Style::new().fg(Color::Yellow),
        ));
    }
    t.extend(waiting_badge(app, area.width >= 60));
    if let Some(b) = conn_banner(app) {
        t.extend(b.spans);
    }
    f.render_widget(Paragraph::new(Line::from(t)), title);
    if !warning.is_empty() {
        f.render_widget(Paragraph::new(warning), warn);
    }
    let visible = app.list.visible();
    if visible.is_empty() {
        let msg = if app.list.sessions.is_empty() {
            format!(
                "No sessions yet. Press {} to create one.",
                app.keymap.hint(Action::New)
            )
        } else {
            "No session matches the filter.".to_string()
        };
        f.render_widget(
            Paragraph::new(msg)
                .wrap(Wrap { trim: true })
                .style(Style::new().fg(Color::DarkGray)),
            body,
        );
    } else {
        let narrow = body.width < 70;
        let (header, widths): (Vec<String>, Vec<Constraint>) = if narrow {
            (
                ["NAME", "STATE", "APPR", "CL"].map(String::from).to_vec(),
                vec![
                    Constraint::Fill(2),
                    Constraint::Length(17),
                    Constraint::Length(4),
                    Constraint::Length(3),
                ],
            )
        } else {
            let active = match app.time_zone.label() {
                Some(zone) => format!("ACTIVE {zone}"),
                None => "ACTIVE".to_string(),
            };
            (
                vec![
                    "NAME".into(),
                    "STATE".into(),
                    "MODEL".into(),
                    "DIRECTORY".into(),
                    active,
                    "APPR".into(),
                    "CL".into(),
                ],
                vec![
                    Constraint::Fill(3),
                    Constraint::Length(17),
                    Constraint::Fill(2),
                    Constraint::Fill(3),
                    Constraint::Length(11),
                    Constraint::Length(4),
                    Constraint::Length(3),
                ],
            )
        };
        // The columns' widths as the table lays them out (after the selection
        // mark), so what does not fit is cut here, with an ellipsis, and not
        // silently by the table.
        let mark = "› ";
        let cols: Vec<usize> = Layout::horizontal(widths.clone())
            .flex(Flex::Start)
            .spacing(1)
            .split(Rect::new(
                0,
                0,
                body.width.saturating_sub(Span::raw(mark).width() as u16),
                1,
            ))
            .iter()
            .map(|r| r.width as usize)
            .collect();
        let col = |i: usize| cols.get(i).copied().unwrap_or(0);
        let rows: Vec<Row<'_>> = visible
            .iter()
            .map(|s| {
                let state = shown_state(app, s.state);
                let mut cells: Vec<Line<'static>> = vec![
                    Span::styled(
                        cut_end(&s.name, col(0)),
                        Style::new().add_modifier(Modifier::BOLD),
                    )
                    .into(),
                    Span::styled(state.to_string(), state_style(state)).into(),
                ];
                if !narrow {
                    cells.push(Line::raw(cut_end(&s.model, col(2))));
                    cells.push(directory_cell(s, col(3)));
                    cells.push(Line::raw(app.time_zone.short(&s.updated_at)));
                }
                let n = s.pending_approvals.len();
                cells.push(if n > 0 {
                    Span::styled(
                        format!("{n}!"),
                        Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
                    )
                    .into()
                } else {
                    Line::raw("0")
                });
                cells.push(Line::raw(if app.live() {
                    s.attached_clients.to_string()
                } else {
                    "?".to_string()
                }));
                // A second line says why the session needs you (drawn below).
                Row::new(cells).height(if why(app, s).is_some() { 2 } else { 1 })
            })
            .collect();
        let table = Table::new(rows, widths)
            .header(Row::new(header).style(Style::new().fg(Color::DarkGray)))
            .row_highlight_style(Style::new().bg(Color::DarkGray))
            .highlight_symbol(mark);
        let mut state = TableState::default().with_selected(Some(app.list.selected));
        f.render_stateful_widget(table, body, &mut state);
        draw_reasons(f, app, &visible, state.offset(), body);
    }
    let waits = visible
        .get(app.list.selected)
        .is_some_and(|s| !s.pending_approvals.is_empty());
    let foot = match &app.flash {
        Some(m) => Line::from(Span::styled(
            format!(" {m}"),
            Style::new().fg(Color::Yellow),
        )),
        // The prompt over the list says its own keys; this line is for messages.
        None if matches!(app.modal, Some(Modal::Review(_))) => Line::default(),
        None if waits => hints(
            app,
            &[
                Action::Attach,
                Action::Review,
                Action::New,
                Action::Kill,
                Action::Filter,
                Action::Help,
                Action::Quit,
            ],
        ),
        None => hints(
            app,
            &[
                Action::Attach,
                Action::New,
                Action::Kill,
                Action::Filter,
                Action::Help,
                Action::Quit,
            ],
        ),
    };
    f.render_widget(Paragraph::new(foot), footer);
}

/// Why a session needs a person, for its second line; none when it does not
/// (or while disconnected, when nobody knows).
fn why(app: &App, s: &SessionInfo) -> Option<String> {
    if !app.live() || !needs_person(s.state) {
        return None;
    }
    app.waits_for(s)
}

/// Draws the second line of each row that has one, under its name and across
/// the row, cut with an ellipsis: the table cannot span columns itself.
fn draw_reasons(f: &mut Frame<'_>, app: &App, rows: &[&SessionInfo], offset: usize, body: Rect) {
    // Under the header and the highlight symbol's column.
    let x = body.x + 2;
    let width = body.width.saturating_sub(2);
    let bottom = body.y + body.height;
    let mut y = body.y + 1;
    for s in rows.iter().skip(offset) {
        if y >= bottom {
            break;
        }
        let Some(text) = why(app, s) else {
            y += 1;
            continue;
        };
        if y + 1 < bottom {
            let line = Line::from(vec![
                Span::styled("└ ", Style::new().fg(Color::DarkGray)),
                Span::styled(
                    crate::render::one_line(&text, width.saturating_sub(2) as usize),
                    reason_style(s.state),
                ),
            ]);
            f.render_widget(Paragraph::new(line), Rect::new(x, y + 1, width, 1));
        }
        y += 2;
    }
}

/// The DIRECTORY cell: the working directory, or for a session in a git
/// worktree (issue 15) its branch and then the repository it belongs to.
fn directory_cell(s: &tether_shared::protocol::SessionInfo, width: usize) -> Line<'static> {
    match &s.worktree {
        None => Line::raw(cut_path(&s.cwd, width)),
        Some(w) => {
            let branch = cut_end(&w.branch, width);
            let room = width.saturating_sub(Span::raw(&branch).width() + 1);
            let mut spans = vec![Span::styled(branch, Style::new().fg(Color::Cyan))];
            if room > 0 {
                spans.push(Span::raw(format!(" {}", cut_path(&w.repo, room))));
            }
            Line::from(spans)
        }
    }
}
