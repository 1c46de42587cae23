//! Drawing: a pure function of [`App`]. Only the visible part of the transcript
//! is laid out, walking up from the bottom.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table, TableState, Wrap};
use tether_shared::SessionState;

use crate::ui::app::{App, ConnState, Modal, Screen, SessionView};
use crate::ui::keymap::Action;
use crate::ui::transcript::partial_lines;

fn state_style(s: SessionState) -> Style {
    match s {
        SessionState::Idle => Style::new().fg(Color::Green),
        SessionState::Running => Style::new().fg(Color::Blue),
        SessionState::AwaitingApproval => Style::new()
            .fg(Color::Black)
            .bg(Color::Magenta)
            .add_modifier(Modifier::BOLD),
        SessionState::Failed => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        SessionState::Unknown => Style::new().fg(Color::Gray),
    }
}

/// Whether what the daemon last said can be shown as live. While disconnected
/// nobody knows: a session may have finished, failed, or the daemon crashed
/// under it; states show as unknown, with no streaming cursor and no client count.
fn live(app: &App) -> bool {
    app.conn == ConnState::Connected
}

/// A session's state as it can be shown now.
fn shown_state(app: &App, s: SessionState) -> SessionState {
    if live(app) { s } else { SessionState::Unknown }
}

fn conn_banner(app: &App) -> Option<Line<'static>> {
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

/// Draws the whole UI.
pub fn draw(f: &mut Frame<'_>, app: &App) {
    let area = f.area();
    if area.width < 10 || area.height < 4 {
        f.render_widget(Paragraph::new("tether: window too small"), area);
        return;
    }
    match app.screen {
        Screen::List => draw_list(f, app, area),
        Screen::Session => match &app.session {
            Some(v) => draw_session(f, app, v, area),
            None => {
                let [top, rest] =
                    Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
                f.render_widget(
                    Paragraph::new(conn_banner(app).unwrap_or_else(|| Line::from(" attaching…"))),
                    top,
                );
                f.render_widget(Paragraph::new(app.flash.clone().unwrap_or_default()), rest);
            }
        },
    }
    if let Some(m) = &app.modal {
        draw_modal(f, app, m, area);
    }
}

fn hints(app: &App, actions: &[Action]) -> Line<'static> {
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
        _ => a.name(),
    }
}

fn draw_list(f: &mut Frame<'_>, app: &App, area: Rect) {
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
            format!(
                "  filter: {}{}",
                app.list.filter,
                if app.list.filtering { "▌" } else { "" }
            ),
            Style::new().fg(Color::Yellow),
        ));
    }
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
        let rows: Vec<Row<'_>> = visible
            .iter()
            .map(|s| {
                let state = shown_state(app, s.state);
                let mut cells = vec![
                    Span::styled(s.name.clone(), Style::new().add_modifier(Modifier::BOLD)),
                    Span::styled(state.to_string(), state_style(state)),
                ];
                if !narrow {
                    cells.push(Span::raw(s.model.clone()));
                    cells.push(Span::raw(s.cwd.clone()));
                    cells.push(Span::raw(
                        s.updated_at.get(5..16).unwrap_or("").replace('T', " "),
                    ));
                }
                let n = s.pending_approvals.len();
                cells.push(if n > 0 {
                    Span::styled(
                        format!("{n}!"),
                        Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
                    )
                } else {
                    Span::raw("0")
                });
                cells.push(Span::raw(if live(app) {
                    s.attached_clients.to_string()
                } else {
                    "?".to_string()
                }));
                Row::new(cells)
            })
            .collect();
        let (header, widths): (Vec<&str>, Vec<Constraint>) = if narrow {
            (
                vec!["NAME", "STATE", "APPR", "CL"],
                vec![
                    Constraint::Fill(2),
                    Constraint::Length(17),
                    Constraint::Length(4),
                    Constraint::Length(3),
                ],
            )
        } else {
            (
                vec![
                    "NAME",
                    "STATE",
                    "MODEL",
                    "DIRECTORY",
                    "ACTIVE",
                    "APPR",
                    "CL",
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
        let table = Table::new(rows, widths)
            .header(Row::new(header).style(Style::new().fg(Color::DarkGray)))
            .row_highlight_style(Style::new().bg(Color::DarkGray))
            .highlight_symbol("› ");
        let mut state = TableState::default().with_selected(Some(app.list.selected));
        f.render_stateful_widget(table, body, &mut state);
    }
    let foot = match &app.flash {
        Some(m) => Line::from(Span::styled(
            format!(" {m}"),
            Style::new().fg(Color::Yellow),
        )),
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

fn draw_session(f: &mut Frame<'_>, app: &App, v: &SessionView, area: Rect) {
    let input_h: u16 = if app.read_only {
        0
    } else {
        (v.input.lines().len() as u16 + 2).clamp(3, (area.height / 3).max(3))
    };
    let top = top_lines(app, v, area.width);
    let top_h = (top.len() as u16).min(area.height / 3);
    // The prompt shows the whole call when it fits, leaving the transcript a
    // line; past that it scrolls.
    let approval_h: u16 = if app.read_only {
        0
    } else {
        crate::ui::modals::approval::wanted_height(app, v, area.width)
            .min(area.height.saturating_sub(input_h + top_h + 2))
    };
    let [banner, body, approval, input, status] = Layout::vertical([
        Constraint::Length(top_h),
        Constraint::Min(1),
        Constraint::Length(approval_h),
        Constraint::Length(input_h),
        Constraint::Length(1),
    ])
    .areas(area);
    if top_h > 0 {
        f.render_widget(Paragraph::new(top), banner);
    }
    draw_transcript(f, v, body, live(app));
    if approval_h > 0 {
        crate::ui::modals::approval::draw(f, app, v, approval);
    }
    if input_h > 0 {
        let mut ta = v.input.clone();
        ta.set_block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(Style::new().fg(Color::DarkGray)),
        );
        f.render_widget(&ta, input);
    }
    draw_status(f, app, v, status);
}

/// The lines above the transcript: the search being typed, else the
/// connection's trouble, else a warning from the start (a bad `[keys]`).
fn top_lines(app: &App, v: &SessionView, width: u16) -> Vec<Line<'static>> {
    if let Some(s) = &v.search {
        let count = if s.matches.is_empty() {
            String::new()
        } else {
            format!(" ({}/{})", s.current + 1, s.matches.len())
        };
        return vec![Line::from(vec![
            Span::styled(" / ", Style::new().fg(Color::Black).bg(Color::Yellow)),
            Span::raw(format!(
                "{}{}{}",
                s.query,
                if s.editing { "▌" } else { "" },
                count
            )),
        ])];
    }
    match conn_banner(app) {
        Some(b) => vec![b],
        None => warning_lines(app, width),
    }
}

/// The start-up warning, wrapped whole (at most a third of the screen).
fn warning_lines(app: &App, width: u16) -> Vec<Line<'static>> {
    app.warning.as_ref().map_or_else(Vec::new, |w| {
        let span = Span::styled(
            format!(" {w} "),
            Style::new().fg(Color::Black).bg(Color::Yellow),
        );
        crate::ui::transcript::wrap(vec![span], width, "")
    })
}

fn draw_transcript(f: &mut Frame<'_>, v: &SessionView, area: Rect, live: bool) {
    let (w, h) = (area.width, area.height);
    v.viewport.set((w, h));
    let want = h as usize + v.scroll;
    // Walk up from the bottom until the view (plus the scroll offset) is full.
    let mut tail: Vec<Line<'static>> = Vec::new();
    if !v.partial.is_empty() {
        tail.extend(partial_lines(&v.partial, w));
        if !live && let Some(last) = tail.last_mut() {
            // Nothing streams while disconnected: no cursor that says it does.
            last.spans.pop();
        }
    }
    let mut chunks: Vec<Vec<Line<'static>>> = vec![tail];
    let mut have: usize = chunks[0].len();
    for cell in v.transcript.cells.iter().rev() {
        if have >= want {
            break;
        }
        let mut lines = cell.lines(w, v.expanded).clone();
        // A running call shows the tail of its live output under its own line.
        if let crate::ui::transcript::CellKind::Tool { call_id, .. } = &cell.kind
            && let Some(out) = v.tool_live.get(call_id)
        {
            // As a terminal shows it: colours kept, a progress bar's CRs overwriting.
            let shown = crate::ui::widgets::term_text::terminal_lines(
                out,
                Style::new().fg(Color::DarkGray),
            );
            let skip = shown.len().saturating_sub(3);
            let at = lines.len().saturating_sub(1); // before the blank separator
            for (k, l) in shown.into_iter().skip(skip).enumerate() {
                let mut spans = vec![Span::styled("    ┆ ", Style::new().fg(Color::DarkGray))];
                spans.extend(crate::ui::transcript::fit(
                    l.spans,
                    (w as usize).saturating_sub(6),
                ));
                lines.insert(at + k, Line::from(spans));
            }
        }
        have += lines.len();
        chunks.push(lines);
    }
    let mut all: Vec<Line<'static>> = chunks.into_iter().rev().flatten().collect();
    if v.more_before && have < want {
        all.insert(
            0,
            Line::from(Span::styled(
                "── older events: PgUp / Home to load ──",
                Style::new().fg(Color::DarkGray),
            )),
        );
    }
    let scroll = v.scroll.min(all.len().saturating_sub(h as usize));
    let end = all.len() - scroll;
    let start = end.saturating_sub(h as usize);
    let mut visible: Vec<Line<'static>> = all[start..end].to_vec();
    // A short transcript sits on the input, like a chat: the newest line is
    // always next to where you type.
    if visible.len() < h as usize {
        let pad = h as usize - visible.len();
        visible.splice(0..0, std::iter::repeat_n(Line::default(), pad));
    }
    f.render_widget(Paragraph::new(visible), area);
    if v.scroll > 0 {
        let tag = " ↓ more below (End) ";
        let tag_w = Span::raw(tag).width() as u16;
        let x = area.x + area.width.saturating_sub(tag_w);
        let r = Rect {
            x,
            y: area.y + area.height.saturating_sub(1),
            width: tag_w.min(area.width),
            height: 1,
        };
        f.render_widget(
            Paragraph::new(Span::styled(
                tag,
                Style::new().fg(Color::Black).bg(Color::Yellow),
            )),
            r,
        );
    }
}

fn draw_status(f: &mut Frame<'_>, app: &App, v: &SessionView, area: Rect) {
    let i = &v.info;
    let tools: usize = app
        .tools
        .iter()
        .filter(|t| t.status == tether_shared::protocol::ServerStatus::Running)
        .map(|t| t.tools.len())
        .sum();
    let conn = match app.conn {
        ConnState::Connected => Span::styled("● ", Style::new().fg(Color::Green)),
        _ => Span::styled("○ ", Style::new().fg(Color::Yellow)),
    };
    let tokens = i.usage.prompt_tokens + i.usage.completion_tokens;
    let mut spans = vec![
        conn,
        Span::styled(
            format!("{} ", i.name),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!(" {} ", shown_state(app, i.state)),
            state_style(shown_state(app, i.state)),
        ),
    ];
    if let Some(m) = &app.flash {
        spans.push(Span::styled(
            format!(" {m}"),
            Style::new().fg(Color::Yellow),
        ));
    } else {
        // Segments in order of importance; the least important drop first when
        // the terminal is narrow, so what matters is never cut mid-word.
        let gray = Style::new().fg(Color::Gray);
        let mut segments: Vec<(u8, Span<'static>)> = vec![
            (
                0,
                Span::styled(
                    format!(" · {} detach", app.keymap.hint(Action::Detach)),
                    Style::new().fg(Color::DarkGray),
                ),
            ),
            (4, Span::styled(format!(" · {}", i.model), gray)),
            (5, Span::styled(format!(" · {tokens} tok"), gray)),
            (6, Span::styled(format!(" · {tools} tools"), gray)),
        ];
        if live(app) {
            segments.push((
                3,
                Span::styled(format!(" · {} attached", i.attached_clients), gray),
            ));
        }
        if i.queued_inputs > 0 {
            segments.push((
                2,
                Span::styled(
                    format!(" · {} queued", i.queued_inputs),
                    Style::new().fg(Color::Cyan),
                ),
            ));
        }
        if app.read_only {
            segments.push((
                1,
                Span::styled(" · read-only", Style::new().fg(Color::Yellow)),
            ));
        }
        let used: usize = spans.iter().map(|s| s.width()).sum();
        let mut room = (area.width as usize).saturating_sub(used);
        let mut by_priority: Vec<usize> = (0..segments.len()).collect();
        by_priority.sort_by_key(|&k| segments[k].0);
        let mut keep = vec![false; segments.len()];
        for k in by_priority {
            let w = segments[k].1.width();
            if w <= room {
                room -= w;
                keep[k] = true;
            }
        }
        // Shown in a fixed order: details first, the detach hint last.
        let order = [4usize, 5, 6, 3, 2, 1, 0];
        for k in order {
            if let Some(pos) = segments.iter().position(|(p, _)| *p as usize == k)
                && keep[pos]
            {
                spans.push(segments[pos].1.clone());
            }
        }
    }
    if app.prefix {
        spans.insert(
            0,
            Span::styled(
                format!(" {} ", app.keymap.prefix.label()),
                Style::new().fg(Color::Black).bg(Color::Yellow),
            ),
        );
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn draw_modal(f: &mut Frame<'_>, app: &App, m: &Modal, area: Rect) {
    match m {
        Modal::Help => {
            let r = centered(area, 76, area.height.saturating_sub(2).max(3));
            let inner_w = r.width.saturating_sub(2);
            let key_w = if inner_w >= 50 { 20 } else { 12 };
            let mut lines = Vec::new();
            for (title, rows) in app.keymap.help() {
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
            let scroll = app.help_scroll.min(max);
            f.render_widget(Clear, r);
            let title = if max > 0 {
                " keys (↑↓ scroll · Esc closes) "
            } else {
                " keys (Esc closes) "
            };
            let block = Block::default().borders(Borders::ALL).title(title);
            f.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), r);
        }
        Modal::ConfirmKill(name) => {
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
        Modal::DenyReason { call_id, reason } => {
            let r = centered(area, 60, 5);
            f.render_widget(Clear, r);
            let block = Block::default()
                .borders(Borders::ALL)
                .title(format!(" deny {call_id} "))
                .border_style(Style::new().fg(Color::Red));
            let text = vec![
                Line::from("Reason (optional, told to the model):"),
                Line::from(format!("{reason}▌")),
                Line::from(" Enter: deny   Esc: back"),
            ];
            f.render_widget(
                Paragraph::new(text).block(block).wrap(Wrap { trim: false }),
                r,
            );
        }
        Modal::Create(form) => {
            let r = centered(area, 64, 9);
            f.render_widget(Clear, r);
            let block = Block::default()
                .borders(Borders::ALL)
                .title(" new session ");
            let labels = ["name     ", "directory", "message  "];
            let placeholders = [
                "(from the directory)",
                app.cwd.as_str(),
                "(optional first message)",
            ];
            let mut lines = Vec::new();
            for (i, label) in labels.iter().enumerate() {
                let focused = form.focus == i;
                let value = if form.fields[i].is_empty() && !focused {
                    Span::styled(
                        placeholders[i].to_string(),
                        Style::new().fg(Color::DarkGray),
                    )
                } else {
                    Span::raw(format!(
                        "{}{}",
                        form.fields[i],
                        if focused { "▌" } else { "" }
                    ))
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
    }
}
