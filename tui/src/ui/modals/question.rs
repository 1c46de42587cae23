//! A tool server's question as a form, drawn where the approval prompt shows
//! (issue 14): who asks and what, every field with its value (defaults filled
//! in), why an answer was refused, and the keys that submit, decline or cancel.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use tether_shared::elicit::FieldKind;

use crate::ui::app::{App, FormField, Held, QuestionForm, SessionView};
use crate::ui::keymap::{Action, Context};
use crate::ui::transcript::wrap;
use crate::ui::widgets::visible::visible;

fn chip(text: String, bg: Color) -> Span<'static> {
    Span::styled(format!(" {text} "), Style::new().fg(Color::Black).bg(bg))
}

/// The form shown, when a question waits and no call does.
fn form(v: &SessionView) -> Option<&QuestionForm> {
    v.question.as_ref().filter(|_| v.prompt.is_none())
}

fn value_spans(f: &FormField, focused: bool) -> Vec<Span<'static>> {
    let on = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let cursor = if focused {
        on.add_modifier(Modifier::UNDERLINED)
    } else {
        on
    };
    match (&f.field.kind, &f.value) {
        (FieldKind::Number { whole }, Held::Typed(t)) => vec![
            Span::styled(format!("[{}]", visible(&t.render(focused))), Style::new()),
            Span::styled(
                if *whole { " whole number" } else { " number" },
                Style::new().fg(Color::DarkGray),
            ),
        ],
        (_, Held::Typed(t)) => vec![Span::raw(format!("[{}]", visible(&t.render(focused))))],
        (_, Held::Flag(b)) => vec![Span::styled(
            if *b { "[x] yes" } else { "[ ] no" },
            if focused { cursor } else { Style::new() },
        )],
        (FieldKind::Choice(c), Held::One(i)) => c
            .iter()
            .enumerate()
            .flat_map(|(j, (_, label))| {
                let s = if j == *i {
                    Span::styled(format!("(•) {}", visible(label)), cursor)
                } else {
                    Span::raw(format!("( ) {}", visible(label)))
                };
                [s, Span::raw("  ")]
            })
            .collect(),
        (FieldKind::Multi(c), Held::Many(set, at)) => c
            .iter()
            .enumerate()
            .flat_map(|(j, (_, label))| {
                let mark = if set.get(j).copied().unwrap_or(false) {
                    "[x]"
                } else {
                    "[ ]"
                };
                let text = format!("{mark} {}", visible(label));
                let s = if focused && j == *at {
                    Span::styled(text, cursor)
                } else {
                    Span::raw(text)
                };
                [s, Span::raw("  ")]
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Every line of the form at `width`.
fn lines(app: &App, q: &QuestionForm, width: u16) -> Vec<Line<'static>> {
    let width = width.max(8);
    let keys = |a| app.keymap.keys_for(Context::Approval, a).join("/");
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let dim = Style::new().fg(Color::DarkGray);
    let mut out = Vec::new();
    out.extend(wrap(
        vec![
            Span::styled(
                " question ",
                Style::new()
                    .fg(Color::Black)
                    .bg(Color::Cyan)
                    .add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!(" {}", visible(&q.server)),
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!(" asks · {}", q.request_id)),
        ],
        width,
        " ",
    ));
    for l in visible(&q.message).split('\n') {
        out.extend(wrap(vec![Span::styled(l.to_string(), bold)], width, ""));
    }
    if let Some(url) = &q.url {
        out.extend(wrap(
            vec![
                Span::raw("open "),
                Span::styled(visible(url), bold.fg(Color::Cyan)),
            ],
            width,
            "     ",
        ));
        out.push(Line::styled(
            "finish there, then submit here (nothing you type there passes through tether)",
            dim,
        ));
    }
    for (i, f) in q.fields.iter().enumerate() {
        let focused = i == q.focus;
        let mut spans = vec![
            Span::styled(
                if focused { "› " } else { "  " },
                Style::new().fg(Color::Cyan),
            ),
            Span::styled(visible(&f.field.label), bold),
            Span::styled(
                if f.field.required { "*" } else { "" },
                Style::new().fg(Color::Red),
            ),
            Span::raw(" "),
        ];
        spans.extend(value_spans(f, focused));
        out.extend(wrap(spans, width, "    "));
        if !f.field.description.is_empty() {
            out.extend(wrap(
                vec![Span::styled(
                    format!("    {}", visible(&f.field.description)),
                    dim,
                )],
                width,
                "    ",
            ));
        }
    }
    if let Some(e) = &q.error {
        out.extend(wrap(
            vec![Span::styled(
                format!("✗ {e}; nothing was sent"),
                Style::new().fg(Color::Red),
            )],
            width,
            "  ",
        ));
    }
    let mut spans = Vec::new();
    if app.clock.now() < q.since + crate::ui::app::ARM_DELAY {
        spans.push(chip("arming…".into(), Color::Yellow));
        spans.push(Span::raw(format!(
            " then {} submits, {} declines, {} cancels",
            keys(Action::Approve),
            keys(Action::Deny),
            keys(Action::CancelQuestion)
        )));
    } else if q.sent {
        spans.push(chip("sent".into(), Color::Gray));
        spans.push(Span::raw(" waiting for the daemon…"));
    } else {
        spans.push(chip(keys(Action::Approve), Color::Gray));
        spans.push(Span::raw(" submit "));
        spans.push(chip(keys(Action::Deny), Color::Gray));
        spans.push(Span::raw(" decline "));
        spans.push(chip(keys(Action::CancelQuestion), Color::Gray));
        spans.push(Span::raw(" cancel"));
    }
    if !q.fields.is_empty() {
        spans.push(Span::styled(
            "  · ↑/↓ field · type to edit · ←/→/space choose",
            dim,
        ));
    }
    out.extend(wrap(spans, width, " "));
    out
}

/// Rows the form wants at `width` (0 when none shows): a border and its lines.
pub fn wanted_height(app: &App, v: &SessionView, width: u16) -> u16 {
    form(v).map_or(0, |q| {
        u16::try_from(lines(app, q, width).len() + 1).unwrap_or(u16::MAX)
    })
}

/// Draws the form in `area`; when it is short of room the fields' top lines
/// give way first, the keys line stays.
pub fn draw(f: &mut Frame<'_>, app: &App, v: &SessionView, area: Rect) {
    let Some(q) = form(v) else {
        return;
    };
    let mut all = lines(app, q, area.width);
    let room = area.height.saturating_sub(1) as usize;
    if all.len() > room && room > 0 {
        let keys = all.pop();
        all.truncate(room - 1);
        all.extend(keys);
    }
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(Style::new().fg(Color::Cyan));
    f.render_widget(Paragraph::new(all).block(block), area);
}
