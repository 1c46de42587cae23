//! A failed model call: what kind of failure it is (so the session can act on a
//! context-length error differently from a network one), whether a retry may help, and
//! the human text the user sees.

use std::time::Duration;

/// What kind of failure a model call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelErrorKind {
    /// The request is longer than the model's context window.
    ContextLength,
    /// The endpoint asks us to slow down (HTTP 429).
    RateLimited,
    /// The endpoint refused the credentials (HTTP 401, 403).
    Auth,
    /// The endpoint refused the request (another 4xx).
    BadRequest,
    /// The endpoint failed (5xx) or answered with something that is not a usable answer.
    Server,
    /// The endpoint could not be reached, or the connection broke.
    Network,
    /// No progress within the stall timeout, or the whole call took too long.
    Stalled,
}

impl ModelErrorKind {
    /// The kind's name: `context_length`, `rate_limited`, `auth`, `bad_request`,
    /// `server`, `network`, `stalled`.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelErrorKind::ContextLength => "context_length",
            ModelErrorKind::RateLimited => "rate_limited",
            ModelErrorKind::Auth => "auth",
            ModelErrorKind::BadRequest => "bad_request",
            ModelErrorKind::Server => "server",
            ModelErrorKind::Network => "network",
            ModelErrorKind::Stalled => "stalled",
        }
    }
}

/// A failed model call. Its text is `message`, plus ` (after N attempts)` once retries
/// have run out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}{}", attempts_note(*attempts))]
pub struct ModelError {
    /// What kind of failure.
    pub kind: ModelErrorKind,
    /// What went wrong, for the user.
    pub message: String,
    /// Whether trying again may help.
    pub retryable: bool,
    /// The server's `Retry-After`, if it sent one.
    pub retry_after: Option<Duration>,
    /// The attempts made, once the retry policy gave up (1 before).
    pub attempts: u32,
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

impl ModelError {
    /// A failure that a retry may cure.
    pub fn retryable(kind: ModelErrorKind, message: impl Into<String>) -> Self {
        ModelError {
            kind,
            message: message.into(),
            retryable: true,
            retry_after: None,
            attempts: 1,
        }
    }

    /// A failure that a retry of the same request will meet again.
    pub fn fatal(kind: ModelErrorKind, message: impl Into<String>) -> Self {
        ModelError {
            retryable: false,
            ..ModelError::retryable(kind, message)
        }
    }

    /// An error in a stream (a chunk carrying an `error` object): a context-length
    /// complaint is told apart, anything else is the server's failure.
    pub fn in_stream(message: impl Into<String>) -> Self {
        let message = message.into();
        let kind = if mentions_context_length(&message) {
            ModelErrorKind::ContextLength
        } else {
            ModelErrorKind::Server
        };
        ModelError::retryable(kind, message)
    }
}

/// The kind of an HTTP error answer with `status` and response `body`.
pub fn http_error_kind(status: u16, body: &str) -> ModelErrorKind {
    match status {
        400 if mentions_context_length(body) => ModelErrorKind::ContextLength,
        429 => ModelErrorKind::RateLimited,
        401 | 403 => ModelErrorKind::Auth,
        500..=599 => ModelErrorKind::Server,
        _ => ModelErrorKind::BadRequest,
    }
}

/// Whether an HTTP error answer with `status` is worth retrying: 408 and 409 (a
/// conflict some gateways return for a request racing another; a retry of the same
/// request is what they ask for), 429 and 5xx.
pub fn http_status_retryable(status: u16) -> bool {
    matches!(status, 408 | 409 | 429 | 500..=599)
}

/// True when an endpoint's text says the request did not fit the context window, in
/// the words OpenAI, OpenAI-compatible servers and Anthropic use.
fn mentions_context_length(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    [
        "maximum context length",
        "context_length_exceeded",
        "prompt is too long",
    ]
    .iter()
    .any(|phrase| text.contains(phrase))
}

/// `3s`, `1.5s`, `10m`: a duration as a person writes it, for error texts.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 60.0 && d.subsec_nanos() == 0 && d.as_secs().is_multiple_of(60) {
        format!("{}m", d.as_secs() / 60)
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{secs:.1}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ModelErrorKind::*;

    #[test]
    fn http_errors_are_classified_by_status_and_body() {
        let openai = r#"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}"#;
        assert_eq!(http_error_kind(400, openai), ContextLength);
        assert_eq!(
            http_error_kind(400, r#"{"error":{"code":"context_length_exceeded"}}"#),
            ContextLength
        );
        assert_eq!(
            http_error_kind(400, "prompt is too long: 210000 tokens > 200000 maximum"),
            ContextLength
        );
        assert_eq!(
            http_error_kind(400, "Maximum Context Length exceeded"),
            ContextLength
        );
        assert_eq!(http_error_kind(400, "unknown field `tools`"), BadRequest);
        assert_eq!(http_error_kind(404, "no such model"), BadRequest);
        assert_eq!(
            http_error_kind(413, "maximum context length"),
            BadRequest,
            "only a 400 says the prompt is too long"
        );
        assert_eq!(http_error_kind(408, ""), BadRequest);
        assert_eq!(http_error_kind(429, "slow down"), RateLimited);
        assert_eq!(http_error_kind(401, "bad key"), Auth);
        assert_eq!(http_error_kind(403, "forbidden"), Auth);
        assert_eq!(http_error_kind(500, "maximum context length"), Server);
        assert_eq!(http_error_kind(503, ""), Server);
    }

    #[test]
    fn retryable_statuses_are_unchanged() {
        for s in [408, 409, 429, 500, 502, 503, 599] {
            assert!(http_status_retryable(s), "{s}");
        }
        for s in [400, 401, 403, 404, 413, 422] {
            assert!(!http_status_retryable(s), "{s}");
        }
    }

    #[test]
    fn a_stream_error_about_the_context_window_is_told_apart() {
        let e = ModelError::in_stream(
            "model stream carried an error: This model's maximum context length is 8192 tokens",
        );
        assert_eq!(e.kind, ContextLength);
        assert!(e.retryable, "retried as before");
        assert_eq!(
            ModelError::in_stream("model stream carried an error: overloaded").kind,
            Server
        );
    }

    #[test]
    fn the_text_gains_the_attempts_only_after_retries() {
        let mut e = ModelError::fatal(Auth, "model endpoint returned HTTP 401: bad key");
        assert!(!e.retryable);
        assert_eq!(e.to_string(), "model endpoint returned HTTP 401: bad key");
        e.attempts = 3;
        assert_eq!(
            e.to_string(),
            "model endpoint returned HTTP 401: bad key (after 3 attempts)"
        );
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human_duration(Duration::from_secs(3)), "3s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(Duration::from_secs(600)), "10m");
        assert_eq!(human_duration(Duration::from_secs(90)), "90s");
    }
}
