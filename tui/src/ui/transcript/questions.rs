//! The tool servers' questions and sampling requests of a session (issue 14), as
//! its events tell them: the ones still waiting for a person, for the form and
//! the sampling review, and the line each event shows in the transcript.

use serde_json::Value;
use tether_shared::event::{InputAction, SamplingText};
use tether_shared::{Decision, EventKind};

use super::cells::Tone;

/// A question or sampling request waiting for a person.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// Its id (`tether answer NAME ID`, `tether approve NAME ID`).
    pub request_id: String,
    /// The server asking.
    pub server: String,
    /// What it is.
    pub ask: Ask,
}

/// What a server asks.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    /// A question: a form (`url` absent) or a page to open.
    Input {
        /// The server's message.
        message: String,
        /// The form's schema.
        schema: Value,
        /// URL mode: the page.
        url: Option<String>,
    },
    /// A completion from the session's model.
    Sampling {
        /// The messages.
        messages: Vec<SamplingText>,
        /// The server's system prompt.
        system_prompt: Option<String>,
        /// The most tokens asked for.
        max_tokens: u32,
    },
}

/// The session's waiting questions, oldest first.
#[derive(Debug, Default)]
pub struct Questions {
    /// Waiting for a person.
    pub waiting: Vec<Pending>,
}

impl Questions {
    fn remove(&mut self, id: &str) {
        self.waiting.retain(|p| p.request_id != id);
    }

    /// Applies a question event; returns the transcript line it shows (`None`
    /// for other events).
    pub fn apply(&mut self, kind: &EventKind) -> Option<(String, Tone)> {
        Some(match kind {
            EventKind::InputRequested {
                request_id,
                server,
                message,
                schema,
                url,
                ..
            } => {
                self.waiting.push(Pending {
                    request_id: request_id.clone(),
                    server: server.clone(),
                    ask: Ask::Input {
                        message: message.clone(),
                        schema: schema.clone(),
                        url: url.clone(),
                    },
                });
                (format!("{server} asks: {message}"), Tone::Warn)
            }
            EventKind::InputAnswered {
                request_id,
                action,
                note,
                ..
            } => {
                self.remove(request_id);
                let what = match action {
                    InputAction::Accept => "answered",
                    InputAction::Decline => "declined",
                    _ => "cancelled",
                };
                match note {
                    Some(n) => (format!("question {request_id} {what}: {n}"), Tone::Warn),
                    None => (format!("question {request_id} {what}"), Tone::Dim),
                }
            }
            EventKind::SamplingRequested {
                request_id,
                server,
                messages,
                system_prompt,
                max_tokens,
                ..
            } => {
                self.waiting.push(Pending {
                    request_id: request_id.clone(),
                    server: server.clone(),
                    ask: Ask::Sampling {
                        messages: messages.clone(),
                        system_prompt: system_prompt.clone(),
                        max_tokens: *max_tokens,
                    },
                });
                (
                    format!("{server} asks the model for a completion ({request_id})"),
                    Tone::Warn,
                )
            }
            EventKind::SamplingDecided {
                request_id,
                decision,
                by_policy,
                ..
            } => {
                self.remove(request_id);
                let d = if *decision == Decision::Approved {
                    "approved"
                } else {
                    "denied"
                };
                let by = if *by_policy {
                    " by the approval policy"
                } else {
                    ""
                };
                (format!("sampling {request_id} {d}{by}"), Tone::Dim)
            }
            EventKind::SamplingAnswered {
                request_id, error, ..
            } => {
                self.remove(request_id);
                match error {
                    Some(e) => (format!("sampling {request_id}: {e}"), Tone::Warn),
                    None => (format!("sampling {request_id} answered"), Tone::Dim),
                }
            }
            _ => return None,
        })
    }
}
