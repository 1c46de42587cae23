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
    /// The context window the endpoint named in a context-length error, in tokens, when
    /// it named one (see [`window_hint`]).
    pub window: Option<u64>,
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
            window: None,
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
    /// complaint is told apart (not retryable, with the window it names), anything else
    /// is the server's failure.
    pub fn in_stream(message: impl Into<String>) -> Self {
        let message = message.into();
        if mentions_context_length(&message) {
            ModelError::context_length(message.clone(), &message)
        } else {
            ModelError::retryable(ModelErrorKind::Server, message)
        }
    }

    /// A context-length error with the human `message`, the window read from the
    /// endpoint's `text`. Never retryable: the same request meets the same window; the
    /// session compacts instead.
    pub fn context_length(message: impl Into<String>, text: &str) -> Self {
        ModelError {
            window: window_hint(text),
            ..ModelError::fatal(ModelErrorKind::ContextLength, message)
        }
    }
}

/// The kind of an HTTP error answer with `status` and response `body`. A context-length
/// complaint is told apart in a 400 (OpenAI, vLLM, llama.cpp, Anthropic, Ollama with
/// `truncate: false`), a 422 (Hugging Face TGI's validation error) and a 5xx (llama.cpp's
/// `Context size has been exceeded.`, Ollama's `the input length exceeds the context
/// length`), never in a 401/403/404/413/429.
pub fn http_error_kind(status: u16, body: &str) -> ModelErrorKind {
    match status {
        400 | 422 | 500..=599 if mentions_context_length(body) => ModelErrorKind::ContextLength,
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

/// Phrases that say a request did not fit the context window, lowercase, each with the
/// servers that use it (the texts are in the tests).
const CONTEXT_LENGTH_PHRASES: &[&str] = &[
    // OpenAI's error code, also sent by llama-cpp-python, OpenAI's Responses API, Azure.
    "context_length_exceeded",
    // OpenAI, vLLM, llama-cpp-python, DeepSeek, Groq, OpenRouter, Mistral ("too large
    // for model with N maximum context length").
    "maximum context length",
    // vLLM's engine: "The decoder prompt (length M) is longer than the maximum model
    // length of N", "Prompt length of M is longer than the maximum model length of N".
    "longer than the maximum model length",
    // Anthropic: "prompt is too long: M tokens > N maximum"; "input length and
    // `max_tokens` exceed context limit: A + B > N".
    "prompt is too long",
    "exceed context limit",
    // llama.cpp's llama-server (also behind Ollama with `truncate: false`): the error type
    // `exceed_context_size_error`, "the request exceeds the available context size",
    // "request (M tokens) exceeds the available context size (N tokens)", and its older
    // HTTP 500 "Context size has been exceeded."
    "exceed_context_size_error",
    "exceeds the available context size",
    "context size has been exceeded",
    // llama-cpp-python's ValueError: "Requested tokens (M) exceed context window of N".
    "exceed context window",
    // OpenAI's Responses API: "Your input exceeds the context window of this model."
    "exceeds the context window",
    // Ollama: "the input length exceeds the context length"; with `shift: false`, "the
    // prompt is longer than the context length currently available to the model".
    "exceeds the context length",
    "longer than the context length",
    // Google Gemini: "The input token count (M) exceeds the maximum number of tokens
    // allowed (N)."
    "exceeds the maximum number of tokens allowed",
    // Hugging Face TGI (HTTP 422): "`inputs` tokens + `max_new_tokens` must be <= N".
    "`inputs` tokens + `max_new_tokens`",
    // LM Studio: "… the model is loaded with context length of only N tokens".
    "context length of only",
    // AWS Bedrock: "Input is too long for requested model."
    "input is too long for requested model",
];

/// True when an endpoint's text says the request did not fit the context window, in the
/// words of any server in [`CONTEXT_LENGTH_PHRASES`].
fn mentions_context_length(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    CONTEXT_LENGTH_PHRASES
        .iter()
        .any(|phrase| text.contains(phrase))
}

/// The context window (in tokens) that an endpoint's context-length error names, when it
/// names one: the `N` of the texts in [`CONTEXT_LENGTH_PHRASES`] ("maximum context length
/// is N tokens", "maximum model length of N", "exceed context window of N", "available
/// context size (N tokens)", `"n_ctx": N`, "M tokens > N maximum", "with N maximum context
/// length", "tokens allowed (N)", "must be <= N", "context length of only N"). Numbers may
/// carry thousands separators (`128,000`).
pub fn window_hint(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    const AFTER: &[&str] = &[
        "maximum context length is ",
        "maximum context length of ",
        "maximum model length of ",
        "exceed context window of ",
        "available context size (",
        "\"n_ctx\":",
        "too large for model with ",
        "maximum number of tokens allowed (",
        "context length of only ",
        "must be <= ",
    ];
    if let Some(n) = AFTER.iter().find_map(|p| number_after(&lower, p)) {
        return Some(n);
    }
    // Anthropic: "prompt is too long: 210000 tokens > 200000 maximum", "exceed context
    // limit: 195000 + 10000 > 200000".
    ["prompt is too long", "exceed context limit"]
        .iter()
        .filter_map(|p| lower.find(p).map(|at| &lower[at..]))
        .find_map(|rest| number_after(rest, "> "))
}

/// The number right after the first `prefix` in `text` (spaces and one quote skipped),
/// ignoring `,` and `_` between digits; `None` when there is none or it is 0.
fn number_after(text: &str, prefix: &str) -> Option<u64> {
    let at = text.find(prefix)? + prefix.len();
    let rest = text[at..].trim_start_matches([' ', '"']);
    let mut n: u64 = 0;
    let mut digits = 0;
    for c in rest.chars() {
        match c {
            '0'..='9' => {
                n = n.checked_mul(10)?.checked_add(u64::from(c as u8 - b'0'))?;
                digits += 1;
            }
            ',' | '_' if digits > 0 => {}
            _ => break,
        }
    }
    (digits > 0 && n > 0).then_some(n)
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
        assert_eq!(
            http_error_kind(500, "maximum context length"),
            ContextLength
        );
        assert_eq!(http_error_kind(500, "model crashed"), Server);
        assert_eq!(http_error_kind(503, ""), Server);
        assert_eq!(http_error_kind(429, "maximum context length"), RateLimited);
        assert_eq!(http_error_kind(401, "prompt is too long"), Auth);
    }

    /// Real error texts, as the servers send them (from their issue trackers and docs),
    /// with the window each names.
    const REAL: &[(u16, &str, Option<u64>)] = &[
        // OpenAI chat completions.
        (
            400,
            r#"{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130542 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
            Some(128_000),
        ),
        // OpenAI Responses API.
        (
            400,
            r#"{"error":{"message":"Your input exceeds the context window of this model. Please adjust your input and try again.","type":"invalid_request_error","param":"input","code":"context_length_exceeded"}}"#,
            None,
        ),
        // vLLM, older and newer.
        (
            400,
            r#"{"object":"error","message":"This model's maximum context length is 16384 tokens. However, you requested 122946 tokens (112946 in the messages, 10000 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400}"#,
            Some(16_384),
        ),
        (
            400,
            r#"{"error":{"message":"This model's maximum context length is 2048 tokens. However, your request has 8 input tokens plus 2045 'max_tokens'. Please reduce one or the other. (parameter=input_tokens, max_tokens, value=(8, 2045))","type":"BadRequestError","param":"input_tokens, max_tokens","code":400}}"#,
            Some(2048),
        ),
        (
            400,
            r#"{"error":{"message":"The decoder prompt (length 17772) is longer than the maximum model length of 16384. Make sure that `max_model_len` is no smaller than the number of text tokens.","type":"BadRequestError","code":400}}"#,
            Some(16_384),
        ),
        (
            400,
            "ValueError: Prompt length of 5016 is longer than the maximum model length of 4096.",
            Some(4096),
        ),
        // llama.cpp's llama-server, newer (with the counts) and older (HTTP 500).
        (
            400,
            r#"{"error":{"code":400,"message":"request (4390 tokens) exceeds the available context size (4096 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":4390,"n_ctx":4096}}"#,
            Some(4096),
        ),
        (
            400,
            r#"{"error":{"code":400,"message":"the request exceeds the available context size. try increasing the context size or enable context shift","type":"exceed_context_size_error","n_prompt_tokens":14429,"n_ctx":8192}}"#,
            Some(8192),
        ),
        (
            500,
            r#"{"error":{"code":500,"message":"Context size has been exceeded.","type":"server_error"}}"#,
            None,
        ),
        // llama-cpp-python's server log / exception.
        (
            400,
            "Requested tokens (2285) exceed context window of 2048",
            Some(2048),
        ),
        // Ollama: native API with truncate:false (llama-server's error inside), embed, shift:false.
        (
            400,
            r#"{"error":"{"error":{"code":400,"message":"request (8889 tokens) exceeds the available context size (4096 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":8889,"n_ctx":4096}}"}"#,
            Some(4096),
        ),
        (
            500,
            r#"{"error":"the input length exceeds the context length"}"#,
            None,
        ),
        (
            400,
            r#"{"error":"the prompt is longer than the context length currently available to the model"}"#,
            None,
        ),
        // Anthropic.
        (
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210384 tokens > 200000 maximum"}}"#,
            Some(200_000),
        ),
        (
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"input length and `max_tokens` exceed context limit: 195000 + 10000 > 200000, decrease input length or `max_tokens` and try again"}}"#,
            Some(200_000),
        ),
        // Mistral, Gemini, TGI (422), LM Studio, Bedrock.
        (
            400,
            r#"{"object":"error","message":"Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length","type":"invalid_request_message_error","code":"3051"}"#,
            Some(32_768),
        ),
        (
            400,
            r#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1,048,576).","status":"INVALID_ARGUMENT"}}"#,
            Some(1_048_576),
        ),
        (
            422,
            r#"{"error":"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 200 `max_new_tokens`","error_type":"validation"}"#,
            Some(4096),
        ),
        (
            400,
            r#"{"error":"Trying to keep the first 5000 tokens when context the overflows. However, the model is loaded with context length of only 4096 tokens, which is not enough."}"#,
            Some(4096),
        ),
        (
            400,
            r#"{"message":"Input is too long for requested model."}"#,
            None,
        ),
    ];

    #[test]
    fn real_context_length_texts_are_told_apart_with_their_window() {
        for (status, text, window) in REAL {
            assert_eq!(http_error_kind(*status, text), ContextLength, "{text}");
            assert_eq!(window_hint(text), *window, "{text}");
            let e = ModelError::context_length("m", text);
            assert!(!e.retryable, "{text}");
            assert_eq!(e.window, *window);
        }
    }

    #[test]
    fn other_errors_are_not_context_length_and_name_no_window() {
        for text in [
            r#"{"error":{"message":"Invalid 'messages[1].content': string too long. Expected a string with maximum length 10485760","type":"invalid_request_error","code":"string_above_max_length"}}"#,
            r#"{"error":{"message":"The model `gpt-9` does not exist","type":"invalid_request_error","code":"model_not_found"}}"#,
            r#"{"error":"model requires more system memory (8.0 GiB) than is available (4.0 GiB)"}"#,
            "unknown field `tools`",
        ] {
            assert_eq!(http_error_kind(400, text), BadRequest, "{text}");
            assert_eq!(window_hint(text), None, "{text}");
        }
        assert_eq!(window_hint("maximum context length is 0 tokens"), None);
        assert_eq!(window_hint("maximum context length is tokens"), None);
        assert_eq!(
            window_hint("maximum context length is 99999999999999999999999 tokens"),
            None,
            "an overflowing number is no window"
        );
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
        assert!(!e.retryable, "the same request meets the same window");
        assert_eq!(e.window, Some(8192));
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
