//! The dialogs that show over a screen.

use super::create::CreateForm;
use super::picker::Picker;
use super::review::Review;
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
    /// The session picker (`Ctrl-b w`).
    Picker(Picker),
    /// A waiting call of the session selected in the list, to approve or deny
    /// (boxed: the largest by far, with its call and "always allow" step).
    Review(Box<Review>),
}
