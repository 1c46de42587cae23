//! Model providers behind one trait.
//!
//! - `types`: the provider-neutral conversation ([`Message`] of [`Part`]s) and the
//!   request and reply of one call.
//! - `provider`: the [`ModelProvider`] trait; `factory`: [`provider_for`], which picks the
//!   implementation by the provider's `kind` in config.
//! - `error`: [`ModelError`], a failure with a [`ModelErrorKind`] and its human text.
//! - `retry`: the retry policy shared by providers ([`complete_with_retries`]).
//! - `sse`: the Server-Sent Events parser shared by streaming providers.
//! - `http`: sending a request, typed HTTP errors, reading SSE with the stall clock.
//! - `openai_chat`: OpenAI-compatible chat completions (`kind = "openai"`).
//! - `openai_responses`: the OpenAI Responses API (`kind = "openai-responses"`),
//!   stateless, with reasoning items replayed from the log.

mod error;
mod factory;
mod http;
mod openai_chat;
mod openai_responses;
mod provider;
mod retry;
mod sse;
mod types;

pub use error::{ModelError, ModelErrorKind};
pub use factory::provider_for;
pub use provider::ModelProvider;
pub use retry::{Progress, complete_with_retries};
pub use types::{Image, Message, ModelReply, ModelRequest, Part, ProviderItem, Role};

/// The context window of a well-known model, by its name at the provider.
/// (A first table; the full one, with sources, replaces it in `window.rs`.)
pub fn known_window(model: &str) -> Option<u64> {
    let m = model.to_ascii_lowercase();
    let table: &[(&str, u64)] = &[
        ("gpt-4.1", 1_047_576),
        ("gpt-4o", 128_000),
        ("claude-", 200_000),
    ];
    table
        .iter()
        .find(|(prefix, _)| m.starts_with(prefix))
        .map(|(_, w)| *w)
}

/// What the endpoint says the model's window is; `None` when it says nothing.
/// (Asks nothing yet; the probes of vLLM, Ollama and llama.cpp replace it in
/// `window.rs`.)
pub async fn probe_window(
    _http: &reqwest::Client,
    _provider: &crate::config::Provider,
    _model: &str,
) -> Option<u64> {
    None
}
