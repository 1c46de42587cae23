//! The dialogs that show over a screen, and the state of those drawn beside
//! it (`picker.rs`, `review.rs`, `approval.rs` draw them).

use std::time::Instant;

use super::create::CreateForm;
use crate::ui::app::AlwaysDraft;
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

/// The picker's state.
#[derive(Debug, Default)]
pub struct Picker {
    /// The filter typed so far (matches names).
    pub filter: LineInput,
    /// The selected row.
    pub selected: usize,
}

/// The list's approval prompt.
#[derive(Debug)]
pub struct Review {
    /// The session's id.
    pub session: String,
    /// Its name.
    pub name: String,
    /// The call shown, once its details are known.
    pub call: Option<Call>,
    /// What shows while no call does (loading, or why it cannot show).
    pub note: String,
    /// When the call showed: decision keys count from `ARM_DELAY` later.
    pub since: Instant,
    /// Calls decided from here, skipped until the list drops them.
    pub decided: Vec<String>,
    /// The deny reason being typed.
    pub deny: Option<LineInput>,
    /// The call's lines in all and shown, in the frame drawn last.
    pub view: (usize, usize),
}

impl Review {
    /// A prompt for `name`'s waiting calls, loading.
    pub fn new(session: String, name: String, now: Instant) -> Review {
        Review {
            session,
            name,
            call: None,
            note: "loading the waiting call…".into(),
            since: now,
            decided: Vec::new(),
            deny: None,
            view: (0, 0),
        }
    }
}

/// A waiting call as the prompt shows it: the session view's head call, or
/// the one the session list reviews.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The call.
    pub call_id: String,
    /// Its tool.
    pub tool: String,
    /// Its arguments, compact JSON.
    pub args: String,
    /// The daemon's diff of the change, when it sent one.
    pub diff: Option<String>,
    /// Where it stands among the calls asked together: (its place from 1, how
    /// many), so a person reviewing them one after another sees `2 of 3`.
    pub position: (usize, usize),
    /// The session's name, when the prompt shows outside the session.
    pub session: Option<String>,
    /// The session's working directory (what a project rule covers).
    pub cwd: String,
    /// Lines the call's text is scrolled down.
    pub scroll: usize,
    /// The "always allow" step, while it is open.
    pub always: Option<AlwaysDraft>,
    /// A decision on it went to the daemon; its answer has not come yet.
    pub sent: bool,
}
