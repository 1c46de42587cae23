//! The session list as the TUI holds it: the sessions, the selection, the filter.

use tether_shared::protocol::SessionInfo;

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
}

impl ListState {
    /// Sessions matching the filter.
    pub fn visible(&self) -> Vec<&SessionInfo> {
        let f = self.filter.text().to_lowercase();
        self.sessions
            .iter()
            .filter(|s| {
                f.is_empty()
                    || s.name.to_lowercase().contains(&f)
                    || s.cwd.to_lowercase().contains(&f)
                    || s.model.to_lowercase().contains(&f)
            })
            .collect()
    }
}
