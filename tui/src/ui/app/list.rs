//! The session list as the TUI holds it: the sessions, the selection, the
//! filter, and who among them needs a person.

use tether_shared::protocol::SessionInfo;

use super::attention::Attention;
use crate::ui::widgets::line_input::LineInput;

/// The session list screen.
#[derive(Debug, Default)]
pub struct ListState {
    /// All sessions.
    pub sessions: Vec<SessionInfo>,
    /// The selected row of the filtered list.
    pub selected: usize,
    /// The filter text.
    pub filter: LineInput,
    /// Typing the filter.
    pub filtering: bool,
    /// Who needs a person, and since when.
    pub attention: Attention,
}

impl ListState {
    /// Sessions matching the filter, those that need a person first (the
    /// longest waiting first), then the others in the daemon's order.
    pub fn visible(&self) -> Vec<&SessionInfo> {
        let f = self.filter.text().to_lowercase();
        let mut out: Vec<&SessionInfo> = self
            .sessions
            .iter()
            .filter(|s| {
                f.is_empty()
                    || s.name.to_lowercase().contains(&f)
                    || s.cwd.to_lowercase().contains(&f)
                    || s.model.to_lowercase().contains(&f)
            })
            .collect();
        self.attention.sort(&mut out);
        out
    }

    /// The list with a `sessions.changed` applied: each changed session in
    /// place of the one with its id (or added), the removed ones gone, in the
    /// daemon's order (oldest first, then by name).
    pub fn with_changes(&self, changed: Vec<SessionInfo>, removed: &[String]) -> Vec<SessionInfo> {
        let mut list: Vec<SessionInfo> = self
            .sessions
            .iter()
            .filter(|s| !removed.contains(&s.id))
            .cloned()
            .collect();
        for info in changed {
            if removed.contains(&info.id) {
                continue;
            }
            match list.iter_mut().find(|s| s.id == info.id) {
                Some(s) => *s = info,
                None => list.push(info),
            }
        }
        list.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.name.cmp(&b.name)));
        list
    }

    /// The id of the selected session, if one is selected.
    pub fn selected_id(&self) -> Option<String> {
        self.visible().get(self.selected).map(|s| s.id.clone())
    }

    /// Selects session `id` where it is now listed, so the selection follows a
    /// session that moved (the list sorts those that need you first); else
    /// keeps the row, within the list.
    pub fn select_id(&mut self, id: Option<&str>) {
        let visible = self.visible();
        let n = visible.len();
        match id.and_then(|id| visible.iter().position(|s| s.id == id)) {
            Some(i) => self.selected = i,
            None => self.selected = self.selected.min(n.saturating_sub(1)),
        }
    }
}
