//! The session screen: search or banner lines, the transcript (only its
//! visible part laid out, walking up from the bottom), the approval prompt, the
//! message box and the status line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::ui::app::{App, ConnState, SessionView};
use crate::ui::keymap::Action;
use crate::ui::view::chrome::{conn_banner, shown_state, state_style, warning_lines};

/// Where the parts of the session screen go in `area`.
pub struct Areas {
    /// The lines above the transcript (see [`top_lines`]).
    top: Vec<Line<'static>>,
    banner: Rect,
    /// The transcript.
    pub body: Rect,
    /// The approval prompt (no rows when no call waits).
    pub approval: Rect,
    /// The spinner and the queued messages (see `reading.rs`).
    activity: (Rect, Vec<Line<'static>>),
    input: Rect,
    status: Rect,
}

/// Lays the session screen out in `area`: a pure function of the state, used
/// to draw and, before drawing, to tell the key handlers the sizes they page
/// and scroll by.
pub fn layout(app: &App, v: &SessionView, area: Rect) -> Areas {
    // The box grows with its (wrapped) text up to a third of the screen, then
    // scrolls to keep the cursor in view.
    let input_h: u16 = if app.read_only {
        0
    } else {
        let rows = crate::ui::app::input_rows(&v.input, area.width);
        (u16::try_from(rows).unwrap_or(u16::MAX).saturating_add(2))
            .clamp(3, (area.height / 3).max(3))
    };
    let top = top_lines(app, v, area.width);
    let top_h = (top.len() as u16).min(area.height / 3);
    let activity = super::reading::activity_lines(app, v, area.width);
    // The transcript keeps at least half of what is left.
    let activity_h =
        (activity.len() as u16).min(area.height.saturating_sub(input_h + top_h + 1) / 2);
    // The prompt shows the whole call when it fits, leaving the transcript a
    // line; past that it scrolls.
    let approval_h: u16 = if app.read_only {
        0
    } else {
        crate::ui::modals::approval::wanted_height(app, v, area.width)
            .max(crate::ui::modals::question::wanted_height(
                app, v, area.width,
            ))
            .min(area.height.saturating_sub(input_h + top_h + activity_h + 2))
    };
    let [banner, body, activity_area, approval, input, status] = Layout::vertical([
        Constraint::Length(top_h),
        Constraint::Min(1),
        Constraint::Length(activity_h),
        Constraint::Length(approval_h),
        Constraint::Length(input_h),
        Constraint::Length(1),
    ])
    .areas(area);
    Areas {
        top,
        banner,
        body,
        approval,
        activity: (activity_area, activity),
        input,
        status,
    }
}

/// Draws the session screen in `area`.
pub fn draw(f: &mut Frame<'_>, app: &App, v: &SessionView, area: Rect) {
    let Areas {
        top,
        banner,
        body,
        approval,
        activity,
        input,
        status,
    } = layout(app, v, area);
    if banner.height > 0 {
        f.render_widget(Paragraph::new(top), banner);
    }
    super::reading::draw_transcript(f, v, body, app.live());
    if activity.0.height > 0 {
        f.render_widget(Paragraph::new(activity.1), activity.0);
    }
    if approval.height > 0 {
        crate::ui::modals::approval::draw(f, app, v, approval);
        crate::ui::modals::question::draw(f, app, v, approval);
    }
    if input.height > 0 {
        // The box itself, not a copy: it keeps the width it wraps at (for the
        // cursor's moves between wrapped rows) and how far it is scrolled.
        f.render_widget(&v.input, input);
    }
    draw_status(f, app, v, status);
}

/// The lines above the transcript: the search being typed, else the
/// connection's trouble, else a warning from the start (a bad `[keys]`).
fn top_lines(app: &App, v: &SessionView, width: u16) -> Vec<Line<'static>> {
    if let Some(line) = super::reading::search_line(v) {
        return vec![line];
    }
    match conn_banner(app) {
        Some(b) => vec![b],
        None => warning_lines(app, width),
    }
}

fn draw_status(f: &mut Frame<'_>, app: &App, v: &SessionView, area: Rect) {
    if let Some(line) = super::reading::copy_status(app, v, area.width) {
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    let i = &v.info;
    // Until the daemon's answer comes, the count is not known: it says so.
    let tools = app.tools.as_ref().map_or_else(
        || " · tools …".to_string(),
        |servers| {
            let n: usize = servers
                .iter()
                .filter(|t| t.status == tether_shared::protocol::ServerStatus::Running)
                .map(|t| t.tools.len())
                .sum();
            format!(" · {n} tools")
        },
    );
    let conn = match app.conn {
        ConnState::Connected => Span::styled("● ", Style::new().fg(Color::Green)),
        _ => Span::styled("○ ", Style::new().fg(Color::Yellow)),
    };
    let tokens = crate::render::status_tokens(i);
    let mut spans = vec![
        conn,
        // A long name is cut (with `…`) to leave room for the state and more.
        Span::styled(
            format!(
                "{} ",
                crate::ui::widgets::ellipsis::cut_end(&i.name, (area.width as usize / 2).max(4))
            ),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!(" {} ", shown_state(app, i.state)),
            state_style(shown_state(app, i.state)),
        ),
    ];
    spans.extend(crate::ui::view::chrome::waiting_badge(
        app,
        area.width >= 60,
    ));
    if let Some(m) = &app.flash {
        spans.push(Span::styled(
            format!(" {m}"),
            Style::new().fg(Color::Yellow),
        ));
    } else {
        // Segments in order of importance (the lower the number, the more
        // important); the least important drop first when the terminal is
        // narrow, so what matters is never cut mid-word. A git worktree's
        // branch (issue 15) counts for more than the model.
        let gray = Style::new().fg(Color::Gray);
        let mut segments: Vec<(u8, Span<'static>)> = vec![
            (
                0,
                Span::styled(
                    format!(" · {} detach", app.keymap.hint(Action::Detach)),
                    Style::new().fg(Color::DarkGray),
                ),
            ),
            (60, Span::styled(format!(" · {}", i.model), gray)),
            (70, Span::styled(format!(" · {tokens} tok"), gray)),
            (90, Span::styled(tools, gray)),
        ];
        if let Some(w) = &i.worktree {
            segments.push((
                45,
                Span::styled(format!(" · {}", w.branch), Style::new().fg(Color::Cyan)),
            ));
        }
        // What the session spends: the cache's share of its input, and its cost
        // (against the budget when it has one).
        if i.usage.prompt_tokens > 0 {
            let pct = (crate::render::cache_hit_share(&i.usage) * 100.0).round();
            segments.push((80, Span::styled(format!(" · cache {pct}%"), gray)));
        }
        if let Some(cost) = crate::render::status_cost(i) {
            let style = if i.state == tether_shared::SessionState::BudgetExhausted {
                Style::new().fg(Color::Yellow)
            } else {
                gray
            };
            segments.push((40, Span::styled(format!(" · {cost}"), style)));
        }
        // How full the model's window is: what decides when the context compacts.
        if let Some(pct) = crate::render::context_percent(i) {
            let style = match pct {
                0..80 => gray,
                80..95 => Style::new().fg(Color::Yellow),
                _ => Style::new().fg(Color::Red),
            };
            segments.push((30, Span::styled(format!(" · ctx {pct}%"), style)));
        }
        if app.live() {
            segments.push((
                50,
                Span::styled(format!(" · {} attached", i.attached_clients), gray),
            ));
        }
        if i.queued_inputs > 0 {
            segments.push((
                20,
                Span::styled(
                    format!(" · {} queued", i.queued_inputs),
                    Style::new().fg(Color::Cyan),
                ),
            ));
        }
        if app.read_only {
            segments.push((
                10,
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
        let order = [60usize, 45, 30, 70, 80, 40, 90, 50, 20, 10, 0];
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
