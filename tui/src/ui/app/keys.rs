//! Key presses and pastes: the prefix key, dialogs and the session list; the
//! session screen's keys are in `session_keys.rs`.

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tether_shared::protocol::CreateParams;

use super::clock::BURST_GAP;
use super::state::{ATTACH_PAGE, App, Screen};
use crate::ui::conn::ToDaemon;
use crate::ui::keymap::{Action, Context, Key};
use crate::ui::modals::create::expand_dir;
use crate::ui::modals::create::{FOCUSES, WORKTREE};
use crate::ui::modals::{CreateForm, Modal};
use crate::ui::widgets::line_input::{Edit, LineInput};

impl App {
    /// Pasted text goes into the input.
    pub fn on_paste(&mut self, text: &str) {
        self.last_input = Some(self.clock.now());
        // Terminals (tmux, xterm) end pasted lines with CR.
        let text = &crate::ui::widgets::term_text::paste_text(text);
        match self.modal.as_mut() {
            Some(Modal::DenyReason { reason, .. }) => {
                reason.insert_str(text);
                return;
            }
            Some(Modal::Review(r)) => {
                // Text, never a decision: only a deny reason being typed, or
                // the "always allow" step's shell prefix (shown before anything
                // is added), takes it.
                if let Some(reason) = r.deny.as_mut() {
                    reason.insert_str(text);
                } else if let Some(prefix) = r
                    .call
                    .as_mut()
                    .and_then(|c| c.always.as_mut())
                    .and_then(|d| d.prefix.as_mut())
                {
                    prefix.insert_str(text);
                }
                return;
            }
            Some(Modal::Picker(p)) => {
                p.filter.insert_str(&text.replace('\n', " "));
                p.selected = 0;
                return;
            }
            _ => {}
        }
        // A paste is text: it goes into the message box, even while a call
        // waits, and never decides anything. In the "always allow" step it goes
        // into the shell prefix, shown before anything is added.
        if let (Screen::Session, Some(v)) = (self.screen, self.session.as_mut())
            && !self.read_only
        {
            // A server's question (issue 14): the paste goes into the field
            // being edited, never into an answer being sent.
            if v.prompt.is_none()
                && let Some(q) = v.question.as_mut()
            {
                q.paste(&text.replace(['\r', '\n'], " "));
                return;
            }
            match v.prompt.as_mut().and_then(|p| p.always.as_mut()) {
                Some(draft) => {
                    if let Some(prefix) = draft.prefix.as_mut() {
                        prefix.insert_str(text);
                    }
                }
                None => {
                    v.input.insert_str(text);
                }
            }
        }
    }

    /// A key press.
    pub fn on_key(&mut self, ev: KeyEvent) {
        self.sync_prompt();
        let now = self.clock.now();
        let in_burst = self
            .last_input
            .replace(now)
            .is_some_and(|before| now.saturating_duration_since(before) < BURST_GAP);
        let key = Key::from_event(&ev);
        if self.prefix && key == self.keymap.prefix {
            // Pressed again (inside tmux, which takes the first press, or by
            // habit): still waiting for the key after the prefix.
            return;
        }
        if self.prefix {
            self.prefix = false;
            match self.keymap.action(Context::Prefix, &key) {
                Some(Action::Detach) => self.exit = true,
                Some(Action::Help) => self.toggle_help(),
                Some(Action::SessionList) => self.back_to_list(),
                Some(Action::SessionPicker) => self.toggle_picker(),
                Some(Action::NextSession) => self.cycle_session(1),
                Some(Action::PrevSession) => self.cycle_session(-1),
                Some(Action::JumpWaiting) => self.jump_waiting(),
                Some(Action::CopyMode)
                    if self.screen == Screen::Session && self.modal.is_none() =>
                {
                    self.enter_copy_mode()
                }
                Some(Action::ToggleMouse) => self.toggle_mouse(),
                _ => {}
            }
            return;
        }
        if key == self.keymap.prefix {
            self.prefix = true;
            return;
        }
        match self.modal {
            Some(Modal::Picker(_)) => return self.picker_key(ev),
            Some(Modal::Review(_)) => return self.review_key(ev, key, in_burst),
            Some(_) => return self.modal_key(ev, key),
            None => {}
        }
        match self.screen {
            Screen::List => self.list_key(ev, key),
            Screen::Session => self.session_key(ev, key, in_burst),
        }
    }

    pub(super) fn toggle_help(&mut self) {
        self.help_scroll = 0;
        self.modal = match self.modal {
            Some(Modal::Help) => None,
            _ => Some(Modal::Help),
        };
    }

    fn modal_key(&mut self, ev: KeyEvent, _key: Key) {
        let Some(modal) = self.modal.as_mut() else {
            return;
        };
        match modal {
            Modal::Help => match ev.code {
                KeyCode::Down | KeyCode::Char('j') => {
                    self.help_scroll = self.help_scroll.saturating_add(1)
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    self.help_scroll = self.help_scroll.saturating_sub(1)
                }
                KeyCode::PageDown | KeyCode::Char(' ') => {
                    self.help_scroll = self.help_scroll.saturating_add(8)
                }
                KeyCode::PageUp => self.help_scroll = self.help_scroll.saturating_sub(8),
                _ => self.modal = None,
            },
            Modal::ConfirmKill(name) => {
                if matches!(ev.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    let session = name.clone();
                    self.outbox.push(ToDaemon::Kill { session });
                    self.outbox.push(ToDaemon::ListSessions);
                }
                self.modal = None;
            }
            Modal::DenyReason { call_id, reason } => match ev.code {
                KeyCode::Esc => self.modal = None,
                KeyCode::Enter => {
                    let call_id = call_id.clone();
                    let reason = Some(reason.text().trim().to_string()).filter(|r| !r.is_empty());
                    if let Some(session) = self.session_name() {
                        self.outbox.push(ToDaemon::Deny {
                            session,
                            call_id,
                            reason,
                        });
                    }
                    if let Some(p) = self.session.as_mut().and_then(|v| v.prompt.as_mut()) {
                        p.sent = true;
                    }
                    self.modal = None;
                }
                _ => {
                    reason.on_key(&ev);
                }
            },
            Modal::Create(form) => match ev.code {
                KeyCode::Esc => self.modal = None,
                KeyCode::Tab | KeyCode::Down => form.focus = (form.focus + 1) % FOCUSES,
                KeyCode::BackTab | KeyCode::Up => {
                    form.focus = (form.focus + FOCUSES - 1) % FOCUSES;
                }
                // One request at a time: the form waits for its answer.
                KeyCode::Enter if form.creating => {}
                KeyCode::Enter => {
                    // The fields stay until the session exists: a failure
                    // leaves them to correct.
                    let [name, dir, prompt] = form.fields.each_ref().map(LineInput::text);
                    let p = CreateParams {
                        name: Some(name.trim().to_string()).filter(|n| !n.is_empty()),
                        cwd: expand_dir(dir, self.home.as_deref(), &self.cwd),
                        model: None,
                        instructions: None,
                        prompt: Some(prompt.to_string()).filter(|p| !p.trim().is_empty()),
                        max_tokens: None,
                        max_cost_usd: None,
                        mcp_servers: Vec::new(),
                        worktree: form
                            .worktree
                            .then(tether_shared::protocol::WorktreeParams::default),
                        node: None,
                        portable: false,
                    };
                    self.outbox.push(ToDaemon::Create(p));
                    form.creating = true;
                    form.error = None;
                }
                KeyCode::Char(' ') if form.focus == WORKTREE => form.worktree = !form.worktree,
                _ => {
                    if let Some(field) = form.fields.get_mut(form.focus) {
                        field.on_key(&ev);
                    }
                }
            },
            // Their keys are in `switch.rs` and `review.rs`.
            Modal::Picker(_) | Modal::Review(_) => {}
        }
    }

    fn list_key(&mut self, ev: KeyEvent, key: Key) {
        if self.list.filtering {
            match ev.code {
                KeyCode::Esc => {
                    self.list.filtering = false;
                    self.list.filter.clear();
                }
                KeyCode::Enter => self.list.filtering = false,
                _ => {
                    // A longer filter matches fewer sessions: start at the top.
                    if self.list.filter.on_key(&ev) == Edit::Inserted {
                        self.list.selected = 0;
                    }
                }
            }
            return;
        }
        let n = self.list.visible().len();
        match self.keymap.action(Context::List, &key) {
            Some(Action::Up) => self.list.selected = self.list.selected.saturating_sub(1),
            Some(Action::Down) => {
                self.list.selected = (self.list.selected + 1).min(n.saturating_sub(1))
            }
            Some(Action::Attach) => {
                if let Some(s) = self.list.visible().get(self.list.selected) {
                    let session = s.id.clone();
                    self.screen = Screen::Session;
                    self.outbox.push(ToDaemon::Attach {
                        session: session.clone(),
                        page: ATTACH_PAGE,
                        read_only: self.read_only,
                    });
                    self.outbox.push(ToDaemon::Tools { session });
                }
            }
            Some(Action::New | Action::Kill) if self.read_only => {
                self.flash = Some("read-only: cannot create or kill sessions".into());
            }
            Some(Action::New) => self.modal = Some(Modal::Create(CreateForm::default())),
            Some(Action::Kill) => {
                if let Some(s) = self.list.visible().get(self.list.selected) {
                    self.modal = Some(Modal::ConfirmKill(s.name.clone()));
                }
            }
            Some(Action::Review) => self.open_review(),
            Some(Action::Filter) => {
                // A fresh filter, not more typed onto the last one.
                self.list.filter.clear();
                self.list.selected = 0;
                self.list.filtering = true;
            }
            Some(Action::Help) => self.toggle_help(),
            Some(Action::Quit) => self.exit = true,
            Some(Action::Redraw) => self.redraw = true,
            _ => {
                if ev.code == KeyCode::Esc && !self.list.filter.is_empty() {
                    self.list.filter.clear();
                }
            }
        }
    }
}
