//! The dialogs that show over a screen.

use super::create::CreateForm;
use crate::ui::widgets::line_input::LineInput;

/// A dialog over the screen.
#[derive(Debug)]
pub enum Modal {
    /// The key help.
    Help,
    /// The new-session form.
    Create(CreateForm),
    /// Kill this session?
    ConfirmKill(String),
    /// Why deny this call?
    DenyReason {
        /// The call.
        call_id: String,
        /// The reason typed so far.
        reason: LineInput,
    },
}
