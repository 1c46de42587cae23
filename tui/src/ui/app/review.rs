//! Deciding a waiting call from the session list: opening the prompt for the
//! selected session, following its waiting calls as the list changes (the next
//! one shows, re-armed, once one is decided), and its keys, which are the
//! session view's: deliberate chords only, armed, never in a burst, and the
//! same "always allow" step.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::clock::ARM_DELAY;
use super::session::AlwaysDraft;
use super::session_keys::{DraftKey, draft_key};
use super::state::App;
use crate::ui::conn::ToDaemon;
use crate::ui::keymap::{Action, Context, Key};
use crate::ui::modals::Call;
use crate::ui::modals::{Modal, Review};
use crate::ui::widgets::line_input::LineInput;

impl App {
    /// Opens the prompt for the selected session's waiting call.
    pub(super) fn open_review(&mut self) {
        let Some(s) = self.list.visible().get(self.list.selected).copied() else {
            return;
        };
        if self.read_only {
            self.flash = Some("read-only: cannot approve or deny".into());
            return;
        }
        if s.pending_approvals.is_empty() && !s.pending_inputs.is_empty() {
            self.flash = Some(format!(
                "a tool server of {} waits for an answer: attach to answer it, or `tether answer {}`",
                s.name, s.name
            ));
            return;
        }
        if s.pending_approvals.is_empty() {
            self.flash = Some(format!("no call of {} waits for approval", s.name));
            return;
        }
        let review = Review::new(s.id.clone(), s.name.clone(), self.clock.now());
        self.modal = Some(Modal::Review(Box::new(review)));
        self.sync_review();
    }

    /// Follows the reviewed session's waiting calls: the first one not decided
    /// from here shows (armed anew when it changes); when none is left, or the
    /// session is gone, the prompt closes and says why.
    pub(super) fn sync_review(&mut self) {
        let now = self.clock.now();
        let Some(Modal::Review(r)) = self.modal.as_mut() else {
            return;
        };
        let Some(s) = self.list.sessions.iter().find(|s| s.id == r.session) else {
            self.flash = Some(format!("{} is gone", r.name));
            self.modal = None;
            return;
        };
        let waiting: Vec<&String> = s
            .pending_approvals
            .iter()
            .filter(|c| !r.decided.contains(c))
            .collect();
        let shown = r.call.as_ref().map(|c| c.call_id.clone());
        if let Some(old) = &shown
            && r.deny.is_some()
            && waiting.first().copied() != Some(old)
        {
            // Decided elsewhere while the reason was being typed.
            self.flash = Some(format!(
                "{old} was decided elsewhere; nothing was sent from here"
            ));
            r.deny = None;
        }
        if let Some(c) = &r.call
            && c.always.is_some()
            && waiting.first().copied() != Some(&c.call_id)
        {
            // Decided elsewhere while the rule was being drafted.
            self.flash = Some(format!(
                "{} was decided elsewhere; no rule was added from here",
                c.call_id
            ));
        }
        let Some(head) = waiting.first().copied() else {
            if r.decided.is_empty() {
                self.flash = Some(format!("nothing waits in {} any more", r.name));
            } else if self.flash.is_none() {
                // (After an approval, its own message stays.)
                self.flash = Some(format!("nothing else waits in {}", r.name));
            }
            self.modal = None;
            return;
        };
        // Which call of those asked together this is, as seen from here: the
        // ones decided from this prompt came first.
        let position = (r.decided.len() + 1, r.decided.len() + waiting.len());
        match self.list.attention.call(&s.id, head) {
            Some(Some(pc)) if shown.as_ref() != Some(head) => {
                r.call = Some(Call {
                    call_id: pc.call_id.clone(),
                    tool: pc.tool.clone(),
                    args: pc.args.clone(),
                    diff: pc.diff.clone(),
                    position,
                    session: Some(r.name.clone()),
                    cwd: s.cwd.clone(),
                    scroll: 0,
                    always: None,
                    sent: false,
                });
                r.since = now;
            }
            Some(Some(_)) => {
                if let Some(c) = r.call.as_mut() {
                    c.position = position;
                }
            }
            Some(None) => {
                r.call = None;
                r.note = format!(
                    "cannot show {head}: its events were not found; attach to {} to decide it",
                    r.name
                );
            }
            None => {
                r.call = None;
                r.note = "loading the waiting call…".into();
            }
        }
    }

    /// A key while the list's prompt shows.
    pub(super) fn review_key(&mut self, ev: KeyEvent, key: Key, in_burst: bool) {
        let armed_at = |r: &Review| r.since + ARM_DELAY;
        let now = self.clock.now();
        let Some(Modal::Review(r)) = self.modal.as_mut() else {
            return;
        };
        if let Some(reason) = r.deny.as_mut() {
            match ev.code {
                KeyCode::Esc => r.deny = None,
                KeyCode::Enter => {
                    let reason = Some(reason.text().trim().to_string()).filter(|t| !t.is_empty());
                    r.deny = None;
                    if let Some(c) = r.call.take() {
                        self.outbox.push(ToDaemon::Deny {
                            session: r.session.clone(),
                            call_id: c.call_id.clone(),
                            reason,
                        });
                        self.outbox.push(ToDaemon::ListSessions);
                        r.decided.push(c.call_id);
                    }
                    self.sync_review();
                }
                _ => {
                    reason.on_key(&ev);
                }
            }
            return;
        }
        let armed = now >= armed_at(r);
        let action = self.keymap.action(Context::Approval, &key);
        // The "always allow" step: keys edit the rule, Esc goes back to the
        // prompt, and only the approve key (armed, on its own) adds it. Deny
        // leaves the step for the prompt's deny; scrolling scrolls the call.
        if let Some(c) = r.call.as_mut()
            && c.always.is_some()
        {
            if action == Some(Action::Deny) {
                c.always = None;
            } else if !matches!(action, Some(Action::PromptUp | Action::PromptDown)) {
                let approve = self.keymap.hint(Action::Approve);
                let tool = c.tool.clone();
                match draft_key(
                    &mut c.always,
                    &tool,
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
                        let call_id = c.call_id.clone();
                        self.outbox.push(ToDaemon::Approve {
                            session: r.session.clone(),
                            call_id: call_id.clone(),
                            always: Some(always),
                        });
                        self.outbox.push(ToDaemon::ListSessions);
                        self.flash = Some(format!(
                            "approved {call_id} in {} and added the rule",
                            r.name
                        ));
                        r.decided.push(call_id);
                        r.call = None;
                        self.sync_review();
                    }
                }
                return;
            }
        }
        if ev.code == KeyCode::Esc {
            self.modal = None;
            return;
        }
        let (total, shown) = r.view;
        let Some(c) = r.call.as_mut() else {
            return;
        };
        match action {
            Some(Action::Approve | Action::Deny | Action::AlwaysAllow) if !armed => {
                self.flash = Some(format!(
                    "the prompt is arming: press {} again in a moment",
                    key.label()
                ));
            }
            Some(Action::Approve | Action::Deny | Action::AlwaysAllow) if in_burst => {
                self.flash = Some(format!(
                    "{} came with other input (a paste?): nothing decided; press it on its own",
                    key.label()
                ));
            }
            Some(Action::Approve) => {
                let call_id = c.call_id.clone();
                self.outbox.push(ToDaemon::Approve {
                    session: r.session.clone(),
                    call_id: call_id.clone(),
                    always: None,
                });
                self.outbox.push(ToDaemon::ListSessions);
                self.flash = Some(format!("approved {call_id} in {}", r.name));
                r.decided.push(call_id);
                r.call = None;
                self.sync_review();
            }
            Some(Action::Deny) => r.deny = Some(LineInput::default()),
            Some(Action::AlwaysAllow) => c.always = Some(AlwaysDraft::for_call(&c.tool, &c.args)),
            Some(Action::PromptUp) => c.scroll = c.scroll.saturating_sub(1),
            Some(Action::PromptDown) => c.scroll = (c.scroll + 1).min(total.saturating_sub(shown)),
            _ => {}
        }
    }
}
