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
//! - `anthropic`: Anthropic's Messages API (`kind = "anthropic"`), with prompt-cache
//!   breakpoints and thinking blocks round-tripped.
//! - `audio`: the `input_audio` part both OpenAI APIs take.
//! - `modality`: models known to take no images ([`known_text_only`]).
//! - `window`: a model's context window from a built-in table ([`known_window`]) or
//!   from the endpoint ([`probe_window`]).

mod anthropic;
mod audio;
mod error;
mod factory;
mod http;
mod modality;
mod openai_chat;
mod openai_responses;
mod provider;
mod retry;
mod sse;
#[cfg(test)]
mod stub;
mod types;
mod window;

pub use error::{ModelError, ModelErrorKind};
pub use factory::provider_for;
pub use modality::known_text_only;
pub use provider::ModelProvider;
pub use retry::{Progress, complete_with_retries};
pub use types::{Audio, Image, Message, ModelReply, ModelRequest, Part, ProviderItem, Role};
pub use window::{known_window, probe_window};
