//! The approval prompt: the whole call that waits, laid out for a person to
//! judge (a `shell` command as its text, wrapped; a file change as its path and
//! a unified diff; anything else as pretty JSON), scrollable when it is longer
//! than the room, and a last line that says which keys decide. Its "always
//! allow" step shows the rule about to be added in place of that line.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use serde_json::Value;
use tether_shared::diff;

use tether_shared::rules::{self, RuleScope};

use super::modal::Call;
use crate::ui::app::{AlwaysDraft, App, SessionView};
use crate::ui::keymap::{Action, Context};
use crate::ui::transcript::diffs::diff_style;
use crate::ui::transcript::wrap;
use crate::ui::widgets::visible::visible;

/// Text, split at newlines and wrapped to `width`, every line in `style`.
fn wrapped(text: &str, width: u16, style: Style, first: &str, indent: &str) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (i, raw) in visible(text).split('\n').enumerate() {
        let lead = if i == 0 { first } else { indent };
        let spans = vec![
            Span::styled(lead.to_string(), Style::new().fg(Color::DarkGray)),
            Span::styled(raw.to_string(), style),
        ];
        out.extend(wrap(spans, width, indent));
    }
    out
}

fn diff_lines(diff: &str, width: u16) -> Vec<Line<'static>> {
    diff.lines()
        .flat_map(|l| {
            let spans = vec![Span::styled(visible(l), diff_style(l))];
            wrap(spans, width, " ")
        })
        .collect()
}

/// The lines that show a call of `tool` with `args` (compact JSON), every part
/// of it, at `width`: the lines that stay on screen (a file's path) and the
/// lines that scroll. `daemon_diff` is the daemon's diff of a file change.
pub fn body(
    tool: &str,
    args: &str,
    daemon_diff: Option<&str>,
    width: u16,
) -> (Vec<Line<'static>>, Vec<Line<'static>>) {
    let width = width.max(8);
    let Ok(value) = serde_json::from_str::<Value>(args) else {
        return (Vec::new(), wrapped(args, width, Style::new(), "", ""));
    };
    let str_arg = |name: &str| value.get(name).and_then(Value::as_str);
    // The arguments the layout below does not show, as JSON, so nothing is hidden.
    let rest = |shown: &[&str]| -> Vec<Line<'static>> {
        other_arguments(&value, shown).map_or_else(Vec::new, |text| {
            wrapped(&text, width, Style::new().fg(Color::Gray), "", "")
        })
    };
    let bold = Style::new().add_modifier(Modifier::BOLD);
    match (tool, str_arg("command"), str_arg("path")) {
        ("shell", Some(command), _) => {
            let mut out = wrapped(command, width, bold, "$ ", "  ");
            out.extend(rest(&["command"]));
            (Vec::new(), out)
        }
        ("write_file" | "edit_file", _, Some(path)) => {
            let pinned = wrapped(path, width, bold, "file ", "     ");
            let mut out = Vec::new();
            let local;
            let shown = match daemon_diff {
                Some(d) => d,
                // No diff from the daemon (an older one): the change itself.
                None => {
                    local = diff::of_call(tool, &value, path);
                    &local
                }
            };
            out.extend(diff_lines(shown, width));
            out.extend(rest(&["path", "content", "old_string", "new_string"]));
            (pinned, out)
        }
        _ => {
            let text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| args.to_string());
            (Vec::new(), wrapped(&text, width, Style::new(), "", ""))
        }
    }
}

/// The call at the head of the session view's queue, while its prompt shows.
fn session_call(v: &SessionView) -> Option<Call> {
    let p = v.prompt.as_ref()?;
    let pending = v.pending();
    let (_, tool, args) = pending.iter().find(|(id, _, _)| *id == p.call_id)?;
    Some(Call {
        call_id: p.call_id.clone(),
        tool: tool.clone(),
        args: args.clone(),
        diff: v.approval_diff(&p.call_id).map(str::to_string),
        position: v.approval_position(&p.call_id),
        session: None,
        cwd: v.info.cwd.clone(),
        scroll: p.scroll,
        always: p.always.clone(),
        sent: p.sent,
    })
}

/// The whole prompt's lines at `width`: a header, the call, the keys.
struct Layout {
    header: Line<'static>,
    /// Lines that stay while the call scrolls (a file's path).
    pinned: Vec<Line<'static>>,
    body: Vec<Line<'static>>,
}

fn layout(c: &Call, width: u16) -> Layout {
    // Several calls asked together: which one this is, reviewed in turn.
    let (at, of) = c.position;
    let more = if of > 1 {
        format!(" · {at} of {of}")
    } else {
        String::new()
    };
    let mut header = vec![
        Span::styled(
            " approve? ",
            Style::new()
                .fg(Color::Black)
                .bg(Color::Magenta)
                .add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!(" {}", c.tool),
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(" {}{more}", c.call_id)),
    ];
    if let Some(name) = &c.session {
        header.push(Span::raw(" in "));
        header.push(Span::styled(
            visible(name),
            Style::new().add_modifier(Modifier::BOLD),
        ));
    }
    let (pinned, body) = body(&c.tool, &c.args, c.diff.as_deref(), width);
    Layout {
        header: Line::from(header),
        pinned,
        body,
    }
}

/// Rows the prompt wants at `width` (0 when no call waits): a border, the
/// header, the whole call and the key lines.
pub fn wanted_height(app: &App, v: &SessionView, width: u16) -> u16 {
    session_call(v).map_or(0, |c| call_height(app, &c, width))
}

/// Rows the prompt for `c` wants at `width`.
pub fn call_height(app: &App, c: &Call, width: u16) -> u16 {
    let l = layout(c, width);
    let keys = keys_lines(app, c, None, width).len();
    u16::try_from(l.body.len() + l.pinned.len() + 2 + keys).unwrap_or(u16::MAX)
}

fn chip(text: String) -> Span<'static> {
    Span::styled(
        format!(" {text} "),
        Style::new().fg(Color::Black).bg(Color::Gray),
    )
}

/// The last lines: which keys decide (or that the prompt is still arming), and
/// how to scroll a call longer than the room; in the "always allow" step, the
/// rule about to be added instead.
fn keys_lines(
    app: &App,
    c: &Call,
    scroll: Option<(usize, usize, usize)>,
    width: u16,
) -> Vec<Line<'static>> {
    let keys = |a| app.keymap.keys_for(Context::Approval, a).join("/");
    if let Some(draft) = &c.always {
        return fit_draft(always_lines(app, c, draft, scroll, width), usize::MAX);
    }
    let mut spans = Vec::new();
    if app.arming_left().is_some_and(|left| !left.is_zero()) {
        spans.push(Span::styled(
            " arming… ",
            Style::new().fg(Color::Black).bg(Color::Yellow),
        ));
        spans.push(Span::raw(format!(
            " then {} approves, {} denies",
            keys(Action::Approve),
            keys(Action::Deny)
        )));
    } else if c.sent {
        spans.push(Span::styled(
            " sent ",
            Style::new().fg(Color::Black).bg(Color::Gray),
        ));
        spans.push(Span::raw(" waiting for the daemon…"));
    } else {
        spans.push(chip(keys(Action::Approve)));
        spans.push(Span::raw(" approve "));
        spans.push(chip(keys(Action::Deny)));
        spans.push(Span::raw(" deny "));
        spans.push(chip(keys(Action::AlwaysAllow)));
        spans.push(Span::raw(" always"));
    }
    if let Some((first, last, total)) = scroll {
        spans.push(Span::styled(
            format!(
                "  {}/{} scroll · {first}-{last}/{total}",
                keys(Action::PromptUp),
                keys(Action::PromptDown)
            ),
            Style::new().fg(Color::Cyan),
        ));
    } else {
        // On the list (`review`) there is no message box to type into.
        let note = if matches!(app.modal, Some(super::Modal::Review(_))) {
            "  · Esc closes"
        } else {
            "  · typing goes to your message"
        };
        spans.push(Span::styled(note, Style::new().fg(Color::DarkGray)));
    }
    wrap(spans, width, " ")
}
/// The "always allow" step: what the rule allows (for `shell`, the prefix as
/// typed, escapes shown, with the cursor), where it applies, and the keys; then
/// whether this call is one it matches. Each group of lines says whether it must
/// show (see [`fit_draft`]).
fn always_lines(
    app: &App,
    c: &Call,
    draft: &AlwaysDraft,
    scroll: Option<(usize, usize, usize)>,
    width: u16,
) -> Vec<(Vec<Line<'static>>, bool)> {
    let keys = |a| app.keymap.keys_for(Context::Approval, a).join("/");
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let dim = Style::new().fg(Color::DarkGray);
    let tool = c.tool.as_str();
    let mut out = Vec::new();
    let title = Span::styled(
        " always allow ",
        Style::new()
            .fg(Color::Black)
            .bg(Color::Yellow)
            .add_modifier(Modifier::BOLD),
    );
    match &draft.prefix {
        Some(prefix) => {
            out.push((
                wrap(
                    vec![
                        title,
                        Span::raw(format!(" {tool} ")),
                        Span::styled(visible(&prefix.render(true)), bold.fg(Color::Yellow)),
                        Span::raw(" + any arguments"),
                    ],
                    width,
                    "   ",
                ),
                true,
            ));
            let command = serde_json::from_str::<Value>(&c.args)
                .ok()
                .and_then(|a| a.get("command").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            let text = prefix.text().trim();
            if rules::prefix_runs_anything(text) {
                out.push((
                    wrap(
                        vec![Span::styled(
                            format!(
                                "  ⚠ {text} runs any command it is given: this allows everything"
                            ),
                            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
                        )],
                        width,
                        "    ",
                    ),
                    true,
                ));
            }
            let (mark, note) = match (rules::check_prefix(text), rules::plain_words(&command)) {
                (Err(_), _) if text.is_empty() => (
                    Span::styled("  ✗ ", Style::new().fg(Color::Red)),
                    "type the words a command must start with".to_string(),
                ),
                (Err(e), _) => (Span::styled("  ✗ ", Style::new().fg(Color::Red)), e),
                (Ok(_), _) if rules::prefix_matches(text, &command) => (
                    Span::styled("  ✓ ", Style::new().fg(Color::Green)),
                    "this command matches; so will later ones that start with these words \
                     (none with ; | & $ ` < > ( ) * ~ or a leading VAR=)"
                        .to_string(),
                ),
                (Ok(_), Err(why)) => (
                    Span::styled("  ! ", Style::new().fg(Color::Yellow)),
                    format!("approved once: this command never matches a rule ({why})"),
                ),
                (Ok(_), Ok(_)) => (
                    Span::styled("  ! ", Style::new().fg(Color::Yellow)),
                    "approved once: this command does not start with these words".to_string(),
                ),
            };
            out.push((wrap(vec![mark, Span::raw(note)], width, "    "), false));
        }
        None => out.push((
            wrap(
                vec![
                    title,
                    Span::styled(format!(" every {tool} call"), bold),
                    Span::raw(", whatever its arguments"),
                ],
                width,
                "   ",
            ),
            true,
        )),
    }
    let radio = |on: bool, label: &str| {
        let style = if on {
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        Span::styled(format!("({}) {label}", if on { "•" } else { " " }), style)
    };
    let project = draft.scope == RuleScope::Project;
    out.push((
        wrap(
            vec![
                Span::raw("  for "),
                radio(!project, "this session"),
                Span::raw("  "),
                radio(project, "the project"),
                Span::styled("  (Tab switches)", dim),
            ],
            width,
            "    ",
        ),
        true,
    ));
    if project {
        out.push((
            wrap(
                vec![Span::styled(
                    format!(
                        "  every session working in the git work tree of {} (or in it), now and later",
                        visible(&c.cwd)
                    ),
                    dim,
                )],
                width,
                "    ",
            ),
            false,
        ));
    }
    let keys_line = vec![
        chip(keys(Action::Approve)),
        Span::raw(if project {
            " allow in the project  "
        } else {
            " allow in this session  "
        }),
        chip("Esc".into()),
        Span::raw(" back"),
    ];
    out.push((wrap(keys_line, width, " "), true));
    if let Some((first, last, total)) = scroll {
        out.push((
            wrap(
                vec![Span::styled(
                    format!(
                        "  {}/{} scroll the call · {first}-{last}/{total}",
                        keys(Action::PromptUp),
                        keys(Action::PromptDown)
                    ),
                    Style::new().fg(Color::Cyan),
                )],
                width,
                "    ",
            ),
            false,
        ));
    }
    out
}

/// The step's lines in at most `room` rows. The optional groups go first; then
/// each of the others keeps only its first line; then only the rule's and the
/// keys' first lines stay.
fn fit_draft(groups: Vec<(Vec<Line<'static>>, bool)>, room: usize) -> Vec<Line<'static>> {
    let count = |g: &[(Vec<Line<'static>>, bool)]| g.iter().map(|(l, _)| l.len()).sum::<usize>();
    if count(&groups) <= room {
        return groups.into_iter().flat_map(|(l, _)| l).collect();
    }
    let must: Vec<Vec<Line<'static>>> = groups
        .into_iter()
        .filter(|(_, must)| *must)
        .map(|(l, _)| l)
        .collect();
    if must.iter().map(Vec::len).sum::<usize>() <= room {
        return must.into_iter().flatten().collect();
    }
    let firsts: Vec<Line<'static>> = must
        .into_iter()
        .filter_map(|l| l.into_iter().next())
        .collect();
    if firsts.len() <= room {
        return firsts;
    }
    let last = firsts.last().cloned();
    let mut out: Vec<Line<'static>> = firsts.into_iter().take(room.saturating_sub(1)).collect();
    out.extend(last.filter(|_| room > 0));
    out
}

/// How many of the call's lines fit in `area`: the key lines matter most, then
/// the header and the path, then the call.
struct Rows {
    /// The call's lines in all.
    total: usize,
    /// The key lines (or the "always allow" step's) shown.
    keys: usize,
    /// Header and path lines shown.
    head: usize,
    /// The call's lines shown.
    shown: usize,
}

fn rows(app: &App, c: &Call, l: &Layout, area: Rect) -> Rows {
    let rows = area.height.saturating_sub(1) as usize; // under the border
    let total = l.body.len();
    // The key lines matter most, then the header and the path, then the call.
    let fixed = 1 + l.pinned.len();
    let fit = |keys_h: usize| {
        // Tight on room: a line of the call before the header and path.
        let avail = rows.saturating_sub(keys_h);
        let head = fixed.min(avail.saturating_sub(total.min(1)));
        (head, total.min(avail - head))
    };
    let mut keys_h = keys_lines(app, c, None, area.width).len();
    if c.always.is_some() {
        // The step gives way to the call's first line and the header: the
        // person adding the rule still sees the call (and can scroll it).
        keys_h = keys_h.min(rows.saturating_sub(1 + total.min(1)).max(2));
    } else if total > rows.saturating_sub(keys_h + fixed) {
        // The key lines grow when the call scrolls (they say how), by as much as
        // the numbers they show take: room for the longest, then for those shown
        // when they take a line less (and still do with the call's line more).
        let lines = |shown: usize| {
            let start = c.scroll.min(total - shown);
            keys_lines(app, c, Some((start + 1, start + shown, total)), area.width).len()
        };
        keys_h = keys_lines(app, c, Some((total, total, total)), area.width).len();
        let fewer = lines(fit(keys_h).1);
        if fewer < keys_h && lines(fit(fewer).1) <= fewer {
            keys_h = fewer;
        }
    }
    let (head, shown) = fit(keys_h);
    Rows {
        total,
        keys: keys_h,
        head,
        shown,
    }
}

/// The call's lines in all and the lines shown, when the prompt is drawn in
/// `area`: how far the call scrolls.
pub fn shown_rows(app: &App, v: &SessionView, area: Rect) -> Option<(usize, usize)> {
    session_call(v).map(|c| call_rows(app, &c, area))
}

/// The call's lines in all and the lines shown, for `c` drawn in `area`.
pub fn call_rows(app: &App, c: &Call, area: Rect) -> (usize, usize) {
    let r = rows(app, c, &layout(c, area.width), area);
    (r.total, r.shown)
}

/// Draws the prompt in `area` (as tall as the layout could give it).
pub fn draw(f: &mut Frame<'_>, app: &App, v: &SessionView, area: Rect) {
    if let Some(c) = session_call(v) {
        draw_call(f, app, &c, area);
    }
}

/// Draws the prompt for `c` in `area`.
pub fn draw_call(f: &mut Frame<'_>, app: &App, c: &Call, area: Rect) {
    let l = layout(c, area.width);
    let Rows {
        total,
        keys,
        head: head_n,
        shown,
    } = rows(app, c, &l, area);
    let start = c.scroll.min(total - shown);
    let scroll = (shown < total).then(|| (start + 1, start + shown, total));
    let mut lines = Vec::new();
    let mut head = vec![l.header];
    head.extend(l.pinned);
    lines.extend(head.into_iter().take(head_n));
    lines.extend(l.body.into_iter().skip(start).take(shown));
    match &c.always {
        Some(draft) => lines.extend(fit_draft(
            always_lines(app, c, draft, scroll, area.width),
            keys,
        )),
        None => lines.extend(keys_lines(app, c, scroll, area.width)),
    }
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(Style::new().fg(Color::Magenta));
    f.render_widget(Paragraph::new(lines).block(block), area);
}

/// The arguments of a call other than `shown`, as pretty JSON (None when there
/// are none): a view that lays out some arguments itself shows these after
/// them, so nothing is hidden.
pub(crate) fn other_arguments(args: &Value, shown: &[&str]) -> Option<String> {
    let others: serde_json::Map<String, Value> = args
        .as_object()?
        .iter()
        .filter(|(k, _)| !shown.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if others.is_empty() {
        return None;
    }
    serde_json::to_string_pretty(&Value::Object(others)).ok()
}
