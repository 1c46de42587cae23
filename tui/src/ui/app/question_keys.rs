//! The keys of a tool server's question form and following the questions of the
//! attached session (issue 14); the form itself is in `question`.
//!
//! Typing only ever edits the focused field. Deciding takes the approval keys
//! (submit is the approve key, decline the deny key, cancel its own key), on
//! their own and once the form is armed, as for a tool call.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tether_shared::event::InputAction;

use super::clock::ARM_DELAY;
use super::question::QuestionForm;
use super::state::App;
use crate::ui::conn::ToDaemon;
use crate::ui::keymap::{Action, Context, Key};
use crate::ui::transcript::questions::Ask;

impl App {
    /// Follows the questions waiting in the attached session: the oldest one
    /// gets a form (while no tool call waits: the call's prompt comes first);
    /// a form whose question was answered elsewhere closes.
    pub(super) fn sync_question(&mut self) {
        let now = self.clock.now();
        let read_only = self.read_only;
        let covered = self.modal.is_some();
        let Some(v) = self.session.as_mut() else {
            return;
        };
        let head = v
            .transcript
            .questions
            .waiting
            .iter()
            .find(|p| matches!(p.ask, Ask::Input { .. }))
            .cloned();
        match (head, &mut v.question) {
            (Some(h), Some(f)) if f.request_id == h.request_id => {
                if covered {
                    f.since = now;
                }
            }
            (Some(h), _) if !read_only => v.question = QuestionForm::new(&h, now),
            (None, Some(f)) => {
                if !f.sent {
                    self.flash = Some(format!(
                        "{} was answered elsewhere; nothing was sent from here",
                        f.request_id
                    ));
                }
                v.question = None;
            }
            _ => v.question = None,
        }
    }

    /// A key while a question's form shows (and no call waits); true when the
    /// form took it.
    pub(super) fn question_key(&mut self, ev: &KeyEvent, key: &Key, in_burst: bool) -> bool {
        let action = self.keymap.action(Context::Approval, key);
        let now = self.clock.now();
        let Some(v) = self.session.as_mut() else {
            return false;
        };
        if v.prompt.is_some() {
            return false;
        }
        let id = v.info.id.clone();
        let Some(f) = v.question.as_mut() else {
            return false;
        };
        let answer = match action {
            Some(Action::Approve) => InputAction::Accept,
            Some(Action::Deny) => InputAction::Decline,
            Some(Action::CancelQuestion) => InputAction::Cancel,
            // Ctrl and Alt chords the form does not use go on (Ctrl-c interrupts).
            _ if ev
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                return false;
            }
            // Enter never answers (nor sends the draft while the form shows).
            _ if ev.code == KeyCode::Enter => {
                self.flash = Some(format!(
                    "{} submits the answer; Enter does nothing here",
                    self.keymap.hint(Action::Approve)
                ));
                return true;
            }
            // Every other key edits the form (or does nothing): typing never
            // leaks into the message box while a question shows.
            _ => {
                f.edit(ev);
                return true;
            }
        };
        if now < f.since + ARM_DELAY {
            self.flash = Some(format!(
                "the question is arming: press {} again in a moment",
                key.label()
            ));
            return true;
        }
        if in_burst {
            self.flash = Some(format!(
                "{} came with other input (a paste?): nothing answered; press it on its own",
                key.label()
            ));
            return true;
        }
        if f.sent {
            self.flash = Some(format!("{} is answered already", f.request_id));
            return true;
        }
        let content = match answer {
            InputAction::Accept if f.url.is_none() => match f.content() {
                Ok(c) => Some(c),
                Err(e) => {
                    f.error = Some(e);
                    return true;
                }
            },
            _ => None,
        };
        f.sent = true;
        self.outbox.push(ToDaemon::Answer {
            session: id,
            request_id: f.request_id.clone(),
            action: answer,
            content,
        });
        true
    }
}
