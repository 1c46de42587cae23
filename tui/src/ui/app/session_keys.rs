//! The session screen's keys: sending, the approval prompt's decisions,
//! scrolling, paging back through history, and search.

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tether_shared::Delivery;
use tether_shared::protocol::AlwaysAllow;
use tether_shared::rules::{RuleScope, check_prefix};

use super::clock::ARM_DELAY;
use super::session::{AlwaysDraft, Search, SessionView, new_input};
use super::state::{App, ConnState};
use crate::ui::conn::ToDaemon;
use crate::ui::keymap::{Action, Context, Key};
use crate::ui::modals::Modal;
use crate::ui::transcript::partial_lines;
use crate::ui::widgets::line_input::LineInput;

impl App {
    pub(super) fn session_key(&mut self, ev: KeyEvent, key: Key, in_burst: bool) {
        let read_only = self.read_only;
        let Some(v) = self.session.as_mut() else {
            if ev.code == KeyCode::Esc {
                self.back_to_list();
            }
            return;
        };
        let id = v.info.id.clone();
        // Typing a search query.
        if let Some(s) = v.search.as_mut()
            && s.editing
        {
            match ev.code {
                KeyCode::Esc => v.search = None,
                KeyCode::Enter => {
                    s.editing = false;
                    find(v, 0);
                }
                _ => {
                    s.query.on_key(&ev);
                }
            }
            return;
        }
        // The "always allow" step: keys edit the rule, never the message, and
        // only the approve key (armed, on its own) adds it.
        if !read_only && v.prompt.as_ref().is_some_and(|p| p.always.is_some()) {
            let action = self.keymap.action(Context::Approval, &key);
            if !matches!(
                action,
                Some(Action::Deny | Action::PromptUp | Action::PromptDown)
            ) {
                self.always_key(ev, action, key, in_burst);
                return;
            }
            // Deny (or scrolling the call) leaves the step for the prompt.
            if let (Some(Action::Deny), Some(p)) = (action, v.prompt.as_mut()) {
                p.always = None;
            }
        }
        // While a call waits, only its deliberate keys (never a printable key,
        // Enter or a paste) decide it, and only once the prompt is armed.
        // Everything else goes on to the message box as usual.
        if !read_only
            && let Some(p) = v.prompt.as_mut()
            && let Some(action) = self.keymap.action(Context::Approval, &key)
        {
            let call_id = p.call_id.clone();
            let armed = self.clock.now() >= p.since + ARM_DELAY;
            let (total, shown) = v.prompt_view;
            let deciding = matches!(action, Action::Approve | Action::Deny | Action::AlwaysAllow);
            match action {
                _ if deciding && !armed => {
                    self.flash = Some(format!(
                        "the prompt is arming: press {} again in a moment",
                        key.label()
                    ));
                }
                _ if deciding && in_burst => {
                    self.flash = Some(format!(
                        "{} came with other input (a paste?): nothing decided; press it on its own",
                        key.label()
                    ));
                }
                _ if deciding && p.sent => {
                    self.flash = Some(format!(
                        "{call_id} is decided already; waiting for the daemon to say so"
                    ));
                }
                Action::Approve => {
                    p.sent = true;
                    self.outbox.push(ToDaemon::Approve {
                        session: id,
                        call_id,
                        always: None,
                    })
                }
                Action::Deny => {
                    self.modal = Some(Modal::DenyReason {
                        call_id,
                        reason: LineInput::default(),
                    })
                }
                Action::AlwaysAllow => {
                    let call = v.pending().into_iter().find(|(c, _, _)| *c == call_id);
                    if let (Some((_, tool, args)), Some(p)) = (call, v.prompt.as_mut()) {
                        p.always = Some(AlwaysDraft::for_call(&tool, &args));
                    }
                }
                Action::PromptUp => p.scroll = p.scroll.saturating_sub(1),
                Action::PromptDown => {
                    p.scroll = (p.scroll + 1).min(total.saturating_sub(shown));
                }
                _ => {}
            }
            return;
        }
        let input_empty = v.input.is_empty();
        let (w, h) = v.viewport;
        let page = (h as usize).saturating_sub(2).max(1);
        match self.keymap.action(Context::Session, &key) {
            Some(Action::Interrupt) => {
                if read_only {
                    self.flash = Some("read-only: cannot interrupt".into());
                } else {
                    self.outbox.push(ToDaemon::Interrupt { session: id });
                }
            }
            Some(a @ (Action::Send | Action::SendSteer | Action::SendInterrupt)) => {
                if read_only {
                    self.flash = Some("read-only: cannot send".into());
                    return;
                }
                if self.conn != ConnState::Connected {
                    // Keep the text: nothing is lost while the daemon is away.
                    self.flash = Some("not connected to the daemon; the message is kept".into());
                    return;
                }
                let text = v.input.lines().join("\n");
                if text.trim().is_empty() {
                    return;
                }
                let delivery = match a {
                    Action::SendSteer => Delivery::Steer,
                    Action::SendInterrupt => Delivery::Interrupt,
                    _ => Delivery::Queue,
                };
                if v.prompt.is_some() && delivery != Delivery::Interrupt {
                    // Sent, not a decision: say where the message went.
                    self.flash = Some(format!(
                        "sent; the model sees it once the waiting call is decided ({} approves, {} denies)",
                        self.keymap.hint(Action::Approve),
                        self.keymap.hint(Action::Deny)
                    ));
                }
                self.outbox.push(ToDaemon::Send {
                    session: id,
                    text,
                    delivery,
                });
                v.input = new_input();
                v.scroll = 0;
            }
            Some(Action::Newline) => {
                if !read_only {
                    v.input.insert_newline();
                }
            }
            Some(Action::PageUp) => {
                v.scroll += page;
                clamp_scroll(v, w, h);
                if v.scroll + h as usize >= v.total_height(w) && v.more_before && !v.backfilling {
                    v.backfilling = true;
                    let before = v.events.first().map_or(1, |e| e.seq);
                    self.outbox.push(ToDaemon::Backfill {
                        session: id,
                        before,
                    });
                }
            }
            Some(Action::PageDown) => v.scroll = v.scroll.saturating_sub(page),
            Some(Action::Top) if input_empty => {
                v.scroll = usize::MAX;
                clamp_scroll(v, w, h);
                if v.more_before && !v.backfilling {
                    v.backfilling = true;
                    let before = v.events.first().map_or(1, |e| e.seq);
                    self.outbox.push(ToDaemon::Backfill {
                        session: id,
                        before,
                    });
                }
            }
            Some(Action::Bottom) if input_empty => v.scroll = 0,
            Some(Action::Search) if input_empty => {
                v.search = Some(Search {
                    editing: true,
                    ..Default::default()
                })
            }
            Some(Action::NextMatch) => find(v, 1),
            Some(Action::PrevMatch) => find(v, -1),
            Some(Action::ToggleTools) => v.expanded = !v.expanded,
            Some(Action::Help) if input_empty => self.toggle_help(),
            Some(Action::Redraw) => self.redraw = true,
            _ => {
                if ev.code == KeyCode::Esc {
                    if v.search.is_some() {
                        v.search = None;
                    } else if !input_empty {
                        v.input = new_input();
                    }
                    return;
                }
                if !read_only {
                    v.input.input(ev);
                }
            }
        }
    }
}

impl App {
    /// A key in the "always allow" step (see [`AlwaysDraft`]): Esc leaves it,
    /// Tab switches the scope, the approve key adds the rule and approves the
    /// call, and the other keys edit a `shell` prefix.
    fn always_key(&mut self, ev: KeyEvent, action: Option<Action>, key: Key, in_burst: bool) {
        let approve = self.keymap.hint(Action::Approve);
        let Some(v) = self.session.as_mut() else {
            return;
        };
        let id = v.info.id.clone();
        let pending = v.pending();
        let Some(p) = v.prompt.as_mut() else { return };
        let Some(draft) = p.always.as_mut() else {
            return;
        };
        let armed = self.clock.now() >= p.since + ARM_DELAY;
        match (action, ev.code) {
            (Some(Action::Approve), _) => {
                if !armed || in_burst {
                    self.flash = Some(format!(
                        "{} came with other input (a paste?): no rule added; press it on its own",
                        key.label()
                    ));
                    return;
                }
                let Some((_, tool, _)) = pending.iter().find(|(c, _, _)| *c == p.call_id) else {
                    return;
                };
                let prefix = draft.prefix.as_ref().map(|i| i.text().trim().to_string());
                if let Some(prefix) = &prefix
                    && let Err(e) = check_prefix(prefix)
                {
                    self.flash = Some(e);
                    return;
                }
                let always = AlwaysAllow {
                    scope: draft.scope,
                    tool: Some(tool.clone()),
                    prefix,
                };
                p.always = None;
                p.sent = true;
                self.outbox.push(ToDaemon::Approve {
                    session: id,
                    call_id: p.call_id.clone(),
                    always: Some(always),
                });
            }
            (_, KeyCode::Esc) => p.always = None,
            // Not from a paste: what the rule covers changes only by a key pressed.
            (_, KeyCode::Tab | KeyCode::BackTab) if !in_burst => {
                draft.scope = match draft.scope {
                    RuleScope::Session => RuleScope::Project,
                    _ => RuleScope::Session,
                }
            }
            (_, KeyCode::Enter) => {
                self.flash = Some(format!(
                    "Enter adds nothing: {approve} adds the rule and approves the call, Esc goes back"
                ));
            }
            _ => {
                if let Some(prefix) = draft.prefix.as_mut() {
                    prefix.on_key(&ev);
                }
            }
        }
    }
}

fn clamp_scroll(v: &mut SessionView, width: u16, height: u16) {
    let max = v.total_height(width).saturating_sub(height as usize);
    v.scroll = v.scroll.min(max);
}

/// Moves to the next (`dir` 1), previous (-1) or first (0) match and scrolls it into view.
fn find(v: &mut SessionView, dir: i32) {
    let Some(s) = v.search.as_mut() else { return };
    let q = s.query.text().to_lowercase();
    if q.is_empty() {
        return;
    }
    s.matches = v
        .transcript
        .cells
        .iter()
        .enumerate()
        .filter(|(_, c)| c.plain().to_lowercase().contains(&q))
        .map(|(i, _)| i)
        .collect();
    if s.matches.is_empty() {
        return;
    }
    let n = s.matches.len();
    s.current = match dir {
        0 => n - 1, // the newest match first, like searching back from the bottom
        1 => (s.current + 1) % n,
        _ => (s.current + n - 1) % n,
    };
    let target = s.matches[s.current];
    let (w, h) = v.viewport;
    // Put the matching cell at the top of the view: everything below it counts.
    let below: usize = v.transcript.cells[target..]
        .iter()
        .map(|c| c.height(w, v.expanded))
        .sum::<usize>()
        + if v.partial.is_empty() {
            0
        } else {
            partial_lines(&v.partial, w).len()
        };
    v.scroll = below.saturating_sub(h as usize);
}
