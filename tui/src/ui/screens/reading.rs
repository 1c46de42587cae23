//! What the session screen draws for reading (issue 11): the transcript's
//! visible lines with a search's words and copy mode's selection and cursor
//! marked on them, the line of a search, the running turn's spinner and the
//! queued messages above the message box, and copy mode's status line.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use tether_shared::Delivery;

use crate::ui::app::{App, SessionView, elapsed, line_text, search_words};
use crate::ui::keymap::Action;
use crate::ui::transcript::view::{mark_words, restyle};

/// A search's words in a line.
pub fn match_style() -> Style {
    Style::new().fg(Color::Black).bg(Color::LightYellow)
}

/// The current match's words.
pub fn current_match_style() -> Style {
    Style::new()
        .fg(Color::Black)
        .bg(Color::LightRed)
        .add_modifier(Modifier::BOLD)
}

/// Copy mode's selection.
pub fn selection_style() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

/// Copy mode's cursor.
pub fn cursor_style() -> Style {
    Style::new().fg(Color::Black).bg(Color::Cyan)
}

/// Draws the transcript's visible part in `area`, walking up from the bottom
/// only as far as the view reaches.
pub fn draw_transcript(f: &mut Frame<'_>, v: &SessionView, area: Rect, live: bool) {
    let (w, h) = (area.width, area.height as usize);
    let want = h + v.scroll;
    let rows = v.tail(w, want, live);
    let n = rows.len();
    let scroll = v.scroll.min(n.saturating_sub(h));
    let end = n - scroll;
    let start = end.saturating_sub(h);
    let words = v
        .search
        .as_ref()
        .filter(|s| !s.editing)
        .map(|s| search_words(&s.asked))
        .unwrap_or_default();
    let current = v.current_match_cell();
    let mut visible: Vec<Line<'static>> = Vec::with_capacity(h);
    for (i, r) in rows[start..end].iter().enumerate() {
        let row = n - 1 - (start + i); // lines above the bottom
        let mut line = r.line.clone();
        if !words.is_empty() && r.cell.is_some() {
            let style = if r.cell == current {
                current_match_style()
            } else {
                match_style()
            };
            line = mark_words(line, &words, style);
        }
        if let Some(c) = v.copy.as_ref() {
            let len = line_text(&line).chars().count();
            if let Some((s, e)) = c.selected_on(row, len) {
                line = restyle(line, s, e, selection_style());
            }
            if c.cursor.row == row {
                line = restyle(line, c.cursor.col, c.cursor.col + 1, cursor_style());
            }
        }
        visible.push(line);
    }
    if v.more_before && n < want && visible.len() < h {
        // Asked for already (the rest of the first page, or a scroll up).
        let text = if v.backfilling {
            "── loading older events… ──"
        } else {
            "── older events: PgUp / Home to load ──"
        };
        visible.insert(
            0,
            Line::from(Span::styled(text, Style::new().fg(Color::DarkGray))),
        );
    }
    // A short transcript sits on the input, like a chat: the newest line is
    // always next to where you type.
    if visible.len() < h {
        let pad = h - visible.len();
        visible.splice(0..0, std::iter::repeat_n(Line::default(), pad));
    }
    f.render_widget(Paragraph::new(visible), area);
    if v.scroll > 0 && v.copy.is_none() {
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

/// The search's line: the query (with a cursor while typing), where the
/// current match is among them all, and what is still being done.
pub fn search_line(v: &SessionView) -> Option<Line<'static>> {
    let s = v.search.as_ref()?;
    let mut spans = vec![
        Span::styled(" / ", Style::new().fg(Color::Black).bg(Color::Yellow)),
        Span::raw(s.query.render(s.editing)),
    ];
    if s.editing {
        return Some(Line::from(spans));
    }
    if !s.matches.is_empty() {
        let more = if s.more { "+" } else { "" };
        spans.push(Span::raw(format!(
            " ({}/{}{more})",
            s.current + 1,
            s.matches.len()
        )));
    }
    let dim = Style::new().fg(Color::DarkGray);
    if v.jump.is_some() {
        spans.push(Span::styled("  loading the older events around it…", dim));
    } else if s.waiting {
        spans.push(Span::styled("  searching the whole history…", dim));
    } else if s.matches.is_empty() {
        spans.push(Span::styled(
            "  no match",
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ));
    }
    Some(Line::from(spans))
}

/// Queued messages shown at most; past them, a count.
const QUEUED_SHOWN: usize = 3;

/// The lines between the transcript and the message box: the spinner while
/// a turn runs, then the messages waiting for the agent (newest last).
pub fn activity_lines(app: &App, v: &SessionView, width: u16) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let dim = Style::new().fg(Color::DarkGray);
    if let Some((frame, run)) = app.spinner() {
        let mut spans = vec![
            Span::styled(format!(" {frame} "), Style::new().fg(Color::Cyan)),
            Span::styled("working", Style::new().fg(Color::Cyan)),
        ];
        if let Some(run) = run {
            spans.push(Span::raw(format!(" {}", elapsed(run))));
        }
        if !app.read_only {
            spans.push(Span::styled(
                format!(" · {} interrupts", app.keymap.hint(Action::Interrupt)),
                dim,
            ));
        }
        out.push(Line::from(crate::ui::transcript::fit(
            spans,
            width as usize,
        )));
    }
    if v.queued.is_empty() {
        return out;
    }
    let skipped = v.queued.len().saturating_sub(QUEUED_SHOWN);
    if skipped > 0 {
        out.push(Line::from(Span::styled(
            format!("   … {skipped} more queued before these"),
            dim,
        )));
    }
    let n = v.queued.len();
    for (i, q) in v.queued.iter().enumerate().skip(skipped) {
        let tag = match q.delivery {
            Delivery::Steer => "steer ",
            Delivery::Schedule => "sched ",
            _ => "queued",
        };
        let hint = if i + 1 == n && !app.read_only {
            format!("  {} edit", app.keymap.hint(Action::Unqueue))
        } else {
            String::new()
        };
        let room = (width as usize)
            .saturating_sub(12 + hint.chars().count())
            .max(4);
        let text = crate::render::one_line(&q.text, room);
        out.push(Line::from(vec![
            Span::styled(format!("   {tag} › "), Style::new().fg(Color::Cyan)),
            Span::styled(text, Style::new().fg(Color::Gray)),
            Span::styled(hint, dim),
        ]));
    }
    out
}

/// Copy mode's status line: `COPY`, the cursor's place, what is selected and the keys.
pub fn copy_status(app: &App, v: &SessionView, width: u16) -> Option<Line<'static>> {
    let c = v.copy.as_ref()?;
    let total = v.total_height(v.viewport.0);
    let line = total.saturating_sub(c.cursor.row);
    let mut spans = vec![
        Span::styled(
            " COPY ",
            Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(" line {line}/{total}")),
    ];
    if let Some((top, bottom, _)) = c.selection() {
        let n = top.row - bottom.row + 1;
        spans.push(Span::styled(
            format!(" · {n} line{} selected", if n == 1 { "" } else { "s" }),
            Style::new().fg(Color::Cyan),
        ));
    }
    let keys = |a: Action| {
        app.keymap
            .keys_for(crate::ui::keymap::Context::Copy, a)
            .join("/")
    };
    let hint = if c.anchor.is_some() {
        format!(
            " · {} copy · {} drop · {} leave",
            keys(Action::Yank),
            keys(Action::CopyCancel),
            keys(Action::CopyLeave)
        )
    } else {
        format!(
            " · ↑↓ hjkl move · {} select · {} expand · {} leave",
            keys(Action::Select),
            keys(Action::ToggleCell),
            keys(Action::CopyLeave)
        )
    };
    spans.push(Span::styled(hint, Style::new().fg(Color::DarkGray)));
    Some(Line::from(crate::ui::transcript::fit(
        spans,
        width as usize,
    )))
}
