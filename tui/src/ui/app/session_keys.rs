//! The session screen's keys: sending, the approval prompt's decisions,
//! scrolling, paging back through history, search, the input history and the
//! external editor.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::CursorMove;
use tether_shared::protocol::AlwaysAllow;
use tether_shared::rules::{RuleScope, check_prefix};
use tether_shared::{Delivery, SessionState};

use super::clock::ARM_DELAY;
use super::history::{self, HistoryWalk, Step};
use super::session::{AlwaysDraft, Search, SessionView, new_input, replace_text};
use super::state::{App, ConnState};
use crate::ui::conn::ToDaemon;
use crate::ui::keymap::{Action, Context, Key};
use crate::ui::modals::Modal;
use crate::ui::widgets::line_input::LineInput;

/// How many of this run's sent messages the input history keeps.
const SENT_KEPT: usize = 1000;

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
                KeyCode::Enter => self.run_search(),
                _ => {
                    s.query.on_key(&ev);
                }
            }
            return;
        }
        // Copy mode takes every key it knows; the others do nothing in it.
        if v.copy.is_some() {
            self.copy_key(ev, key);
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
        // A server's question: its form takes the keys (see `question`).
        if !read_only && self.question_key(&ev, &key, in_burst) {
            return;
        }
        let Some(v) = self.session.as_mut() else {
            return;
        };
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
            // Esc closes a search first, and interrupts only a running turn:
            // it never touches the draft.
            Some(Action::Interrupt) if ev.code == KeyCode::Esc && v.search.is_some() => {
                v.search = None;
            }
            Some(Action::Interrupt)
                if ev.code == KeyCode::Esc && v.info.state != SessionState::Running => {}
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
                self.sent.push((id.clone(), text.clone()));
                if self.sent.len() > SENT_KEPT {
                    self.sent.remove(0);
                }
                self.outbox.push(ToDaemon::Send {
                    session: id,
                    text,
                    delivery,
                });
                v.input = new_input(&self.keymap);
                v.history = None;
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
            Some(Action::Search) => {
                v.search = Some(Search {
                    editing: true,
                    ..Default::default()
                })
            }
            Some(Action::NextMatch) => self.goto_match(1),
            Some(Action::PrevMatch) => self.goto_match(-1),
            Some(Action::ToggleTools) => {
                // Every call the same way: one expanded alone is forgotten.
                v.expanded = !v.expanded;
                v.open.clear();
            }
            Some(Action::ScrollUp) if input_empty => self.scroll_lines(true, 1),
            Some(Action::ScrollDown) if input_empty => self.scroll_lines(false, 1),
            Some(Action::Unqueue) => self.unqueue(),
            Some(Action::Help) => self.toggle_help(),
            Some(Action::Redraw) => self.redraw = true,
            Some(Action::Editor) => {
                if read_only {
                    self.flash = Some("read-only: cannot write a message".into());
                } else {
                    self.editor = Some(v.input.lines().join("\n"));
                }
            }
            Some(a @ (Action::HistoryPrev | Action::HistoryNext)) if !read_only => {
                let dir = if a == Action::HistoryPrev {
                    Step::Older
                } else {
                    Step::Newer
                };
                walk_history(v, &self.sent, dir, false);
            }
            _ => {
                if ev.code == KeyCode::Esc {
                    // Esc, unbound: still closes a search, never clears the draft.
                    v.search = None;
                    return;
                }
                if read_only {
                    return;
                }
                let plain = !ev
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
                let dir = match ev.code {
                    KeyCode::Up if plain => Some((Step::Older, CursorMove::Up)),
                    KeyCode::Down if plain => Some((Step::Newer, CursorMove::Down)),
                    _ => None,
                };
                match dir {
                    // Up / Down with an empty box are the transcript's, not the
                    // history's: nothing to walk from.
                    Some(_) if input_empty => {}
                    // On the first line Up, and on the last line Down, walk the
                    // messages that start with the text; elsewhere they move the
                    // cursor.
                    Some((step, motion)) => {
                        let before = v.input.cursor();
                        v.input.move_cursor(motion);
                        if v.input.cursor() == before {
                            walk_history(v, &self.sent, step, true);
                        }
                    }
                    // Ctrl-u deletes to the start of the line, as in a shell
                    // (the text area's own binding would undo).
                    None if ev.code == KeyCode::Char('u')
                        && ev.modifiers == KeyModifiers::CONTROL =>
                    {
                        v.input.delete_line_by_head();
                    }
                    None => {
                        v.input.input(ev);
                    }
                }
            }
        }
    }

    /// What `$EDITOR` made of the draft (the event loop ran it): the text goes
    /// in the box, not sent; a failure leaves the draft and says why.
    pub fn edited(&mut self, result: Result<String, String>) {
        let Some(v) = self.session.as_mut() else {
            if result.is_ok() {
                self.flash = Some("the session is gone; the edited text was dropped".into());
            }
            return;
        };
        match result {
            Ok(text) => {
                replace_text(&mut v.input, &text, false);
                v.history = None;
            }
            Err(why) => self.flash = Some(why),
        }
    }
}

/// One step through the session's input history; `by_prefix` keeps to the
/// messages that start with the draft.
fn walk_history(v: &mut SessionView, sent: &[(String, String)], dir: Step, by_prefix: bool) {
    let entries = history::entries(&v.info.id, &v.events, sent);
    let current = v.input.lines().join("\n");
    if let Some(text) = HistoryWalk::step(&mut v.history, &entries, &current, dir, by_prefix) {
        // Older: the cursor on the first line, so the next Up goes on walking;
        // newer: on the last line, for Down.
        replace_text(&mut v.input, &text, dir == Step::Older);
    }
}

/// What a key in the "always allow" step comes to.
pub(super) enum DraftKey {
    /// Handled there (or ignored): nothing more to do.
    Done,
    /// Handled, with something to tell the person.
    Flash(String),
    /// The approve key, pressed on its own once armed: add this rule and
    /// approve the call (the step is closed).
    Add(AlwaysAllow),
}

/// A key in the "always allow" step (see [`AlwaysDraft`]) of a call of `tool`:
/// Esc leaves it, Tab switches the scope, the approve key (armed, on its own)
/// adds the rule and approves the call, and the other keys edit a `shell`
/// prefix. The session view and the list's prompt both use it.
#[allow(clippy::too_many_arguments)]
pub(super) fn draft_key(
    always: &mut Option<AlwaysDraft>,
    tool: &str,
    ev: &KeyEvent,
    action: Option<Action>,
    key: &Key,
    in_burst: bool,
    armed: bool,
    approve: &str,
) -> DraftKey {
    let Some(draft) = always.as_mut() else {
        return DraftKey::Done;
    };
    match (action, ev.code) {
        (Some(Action::Approve), _) => {
            if !armed {
                return DraftKey::Flash(format!(
                    "the prompt is arming: press {} again in a moment",
                    key.label()
                ));
            }
            if in_burst {
                return DraftKey::Flash(format!(
                    "{} came with other input (a paste?): no rule added; press it on its own",
                    key.label()
                ));
            }
            let prefix = draft.prefix.as_ref().map(|i| i.text().trim().to_string());
            if let Some(prefix) = &prefix
                && let Err(e) = check_prefix(prefix)
            {
                return DraftKey::Flash(e);
            }
            let rule = AlwaysAllow {
                scope: draft.scope,
                tool: Some(tool.to_string()),
                prefix,
            };
            *always = None;
            DraftKey::Add(rule)
        }
        (_, KeyCode::Esc) => {
            *always = None;
            DraftKey::Done
        }
        // Not from a paste: what the rule covers changes only by a key pressed.
        (_, KeyCode::Tab | KeyCode::BackTab) if !in_burst => {
            draft.scope = match draft.scope {
                RuleScope::Session => RuleScope::Project,
                _ => RuleScope::Session,
            };
            DraftKey::Done
        }
        (_, KeyCode::Enter) => DraftKey::Flash(format!(
            "Enter adds nothing: {approve} adds the rule and approves the call, Esc goes back"
        )),
        _ => {
            if let Some(prefix) = draft.prefix.as_mut() {
                prefix.on_key(ev);
            }
            DraftKey::Done
        }
    }
}

impl App {
    /// A key in the session view's "always allow" step (see [`draft_key`]).
    fn always_key(&mut self, ev: KeyEvent, action: Option<Action>, key: Key, in_burst: bool) {
        let approve = self.keymap.hint(Action::Approve);
        let now = self.clock.now();
        let Some(v) = self.session.as_mut() else {
            return;
        };
        let id = v.info.id.clone();
        let pending = v.pending();
        let Some(p) = v.prompt.as_mut() else { return };
        let Some((_, tool, _)) = pending.iter().find(|(c, _, _)| *c == p.call_id) else {
            return;
        };
        let armed = now >= p.since + ARM_DELAY;
        match draft_key(
            &mut p.always,
            tool,
            &ev,
            action,
            &key,
            in_burst,
            armed,
            &approve,
        ) {
            DraftKey::Done => {}
            DraftKey::Flash(text) => self.flash = Some(text),
            DraftKey::Add(always) => {
                p.sent = true;
                self.outbox.push(ToDaemon::Approve {
                    session: id,
                    call_id: p.call_id.clone(),
                    always: Some(always),
                });
            }
        }
    }
}

fn clamp_scroll(v: &mut SessionView, width: u16, height: u16) {
    let max = v.total_height(width).saturating_sub(height as usize);
    v.scroll = v.scroll.min(max);
}
