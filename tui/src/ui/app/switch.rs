//! Switching sessions without leaving: the picker (`Ctrl-b w`), next and
//! previous in list order (`Ctrl-b n` / `Ctrl-b p`), the jump to the session
//! that has waited longest (`Ctrl-b a`), and what the badge and the picker say
//! about the sessions that need a person.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tether_shared::SessionState;
use tether_shared::protocol::SessionInfo;

use super::state::{ATTACH_PAGE, App, Screen};
use crate::ui::conn::ToDaemon;
use crate::ui::modals::{Modal, Picker};
use crate::ui::widgets::line_input::{Edit, LineInput};

impl App {
    /// The id of the session on screen, or being switched to (none on the list).
    pub fn on_screen(&self) -> Option<&str> {
        match self.screen {
            Screen::Session => self
                .session
                .as_ref()
                .map(|v| v.info.id.as_str())
                .or(self.attaching.as_deref()),
            Screen::List => None,
        }
    }

    /// The sessions other than the one on screen that need a person, the one
    /// that has waited longest first: what the badge counts and `Ctrl-b a`
    /// jumps to.
    pub fn others_waiting(&self) -> Vec<&SessionInfo> {
        let here = self.on_screen();
        self.list
            .attention
            .waiting(&self.list.sessions)
            .into_iter()
            .filter(|s| Some(s.id.as_str()) != here)
            .collect()
    }

    /// The picker's rows for `filter`: every session whose name matches, those
    /// that need a person first.
    pub fn picker_rows(&self, filter: &LineInput) -> Vec<&SessionInfo> {
        let f = filter.text().to_lowercase();
        let mut rows: Vec<&SessionInfo> = self
            .list
            .sessions
            .iter()
            .filter(|s| f.is_empty() || s.name.to_lowercase().contains(&f))
            .collect();
        self.list.attention.sort(&mut rows);
        rows
    }

    /// What a session waits for, in one line: its waiting call, why it
    /// failed, or its budget; none when it needs nobody.
    pub fn waits_for(&self, s: &SessionInfo) -> Option<String> {
        match s.state {
            SessionState::AwaitingApproval => {
                let first = s.pending_approvals.first()?;
                let known = self.list.attention.call(&s.id, first).flatten();
                let mut text = match known {
                    Some(c) => c.one_line(400),
                    None => self
                        .session
                        .as_ref()
                        .filter(|v| v.info.id == s.id)
                        .and_then(|v| {
                            v.pending().into_iter().find(|(id, _, _)| id == first).map(
                                |(call_id, tool, args)| {
                                    super::attention::PendingCall {
                                        call_id,
                                        tool,
                                        args,
                                        diff: None,
                                    }
                                    .one_line(400)
                                },
                            )
                        })
                        .unwrap_or_else(|| format!("approval of {first}")),
                };
                if s.pending_approvals.len() > 1 {
                    text.push_str(&format!(" (+{} more)", s.pending_approvals.len() - 1));
                }
                Some(text)
            }
            SessionState::Failed => Some(s.last_error.as_deref().map_or_else(
                || "the last turn failed".to_string(),
                |e| crate::render::one_line(&crate::ui::widgets::visible::visible(e), 400),
            )),
            SessionState::BudgetExhausted => {
                let mut parts = Vec::new();
                if s.budget.max_tokens.is_some() {
                    parts.push(format!("{} tokens", crate::render::status_tokens(s)));
                }
                if s.budget.max_cost_usd.is_some()
                    && let Some(cost) = crate::render::status_cost(s)
                {
                    parts.push(cost);
                }
                Some(if parts.is_empty() {
                    "budget reached".to_string()
                } else {
                    format!("budget reached: {}", parts.join(", "))
                })
            }
            _ => None,
        }
    }

    /// Opens the picker (or closes it, when it is open).
    pub(super) fn toggle_picker(&mut self) {
        self.modal = match self.modal {
            Some(Modal::Picker(_)) => None,
            _ => Some(Modal::Picker(Picker::default())),
        };
    }

    /// A key in the picker: moving, filtering, switching, closing.
    pub(super) fn picker_key(&mut self, ev: KeyEvent) {
        let Some(Modal::Picker(p)) = self.modal.as_ref() else {
            return;
        };
        let ids: Vec<String> = self
            .picker_rows(&p.filter)
            .iter()
            .map(|s| s.id.clone())
            .collect();
        let Some(Modal::Picker(p)) = self.modal.as_mut() else {
            return;
        };
        let plain = !ev
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        // j and k move while nothing is typed; after that they are text.
        let up = ev.code == KeyCode::Up
            || (plain && ev.code == KeyCode::Char('k') && p.filter.is_empty());
        let down = ev.code == KeyCode::Down
            || (plain && ev.code == KeyCode::Char('j') && p.filter.is_empty());
        if up {
            p.selected = p.selected.saturating_sub(1);
        } else if down {
            p.selected = (p.selected + 1).min(ids.len().saturating_sub(1));
        } else {
            match ev.code {
                KeyCode::Esc => self.modal = None,
                KeyCode::Enter => {
                    let target = ids
                        .get(p.selected.min(ids.len().saturating_sub(1)))
                        .cloned();
                    self.modal = None;
                    if let Some(id) = target {
                        self.switch_to(id);
                    }
                }
                _ => {
                    if matches!(p.filter.on_key(&ev), Edit::Inserted | Edit::Deleted) {
                        p.selected = 0;
                    }
                }
            }
        }
    }

    /// Switches to the next (`step` 1) or previous (-1) session in list order,
    /// wrapping; from the list, counting from the selected row.
    pub(super) fn cycle_session(&mut self, step: isize) {
        let ids: Vec<String> = self.list.visible().iter().map(|s| s.id.clone()).collect();
        let here = match self.screen {
            Screen::Session => self.on_screen().map(str::to_string),
            Screen::List => ids.get(self.list.selected).cloned(),
        };
        let at = here.and_then(|h| ids.iter().position(|id| *id == h));
        let n = ids.len() as isize;
        let next = match at {
            Some(i) => (i as isize + step).rem_euclid(n.max(1)),
            None if step > 0 => 0,
            None => n - 1,
        };
        match usize::try_from(next).ok().and_then(|i| ids.get(i)) {
            Some(id) if Some(id.as_str()) != self.on_screen() => self.switch_to(id.clone()),
            _ => self.flash = Some("no other session".into()),
        }
    }

    /// Switches to the session that has waited longest for a person.
    pub(super) fn jump_waiting(&mut self) {
        match self.others_waiting().first().map(|s| s.id.clone()) {
            Some(id) => self.switch_to(id),
            None => self.flash = Some("no other session needs you".into()),
        }
    }

    /// Attaches to session `id` from wherever the TUI is, leaving the session
    /// on screen (its feed stops; the agent keeps working).
    pub(super) fn switch_to(&mut self, id: String) {
        if self.on_screen() == Some(id.as_str()) {
            return;
        }
        if self.screen == Screen::Session {
            // Also stops an attach still under way.
            self.session = None;
            self.outbox.push(ToDaemon::Detach);
        }
        self.modal = None;
        self.screen = Screen::Session;
        self.attaching = Some(id.clone());
        self.tools = None;
        self.outbox.push(ToDaemon::Attach {
            session: id.clone(),
            page: ATTACH_PAGE,
            read_only: self.read_only,
        });
        self.outbox.push(ToDaemon::Tools { session: id });
    }
}
