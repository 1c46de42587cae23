//! Model providers: the wire API each speaks, where it is, and a model name resolved
//! to one.

use std::collections::BTreeMap;

use super::context::ModelSettings;

/// The wire API a provider speaks (`kind` in `[providers.X]`); the model factory picks
/// the implementation by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI-compatible chat completions (`kind = "openai"`, the default).
    OpenAi,
    /// The OpenAI Responses API (`kind = "openai-responses"`), stateless: reasoning
    /// items come back encrypted and are replayed from the log.
    OpenAiResponses,
    /// Anthropic's Messages API (`kind = "anthropic"`): `POST {base_url}/v1/messages`.
    Anthropic,
}

impl ProviderKind {
    /// The kind named `name` in config, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "openai" => Some(ProviderKind::OpenAi),
            "openai-responses" => Some(ProviderKind::OpenAiResponses),
            "anthropic" => Some(ProviderKind::Anthropic),
            _ => None,
        }
    }

    /// The kind's name as written in config; provider items in the log carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::OpenAiResponses => "openai-responses",
            ProviderKind::Anthropic => "anthropic",
        }
    }
}

/// One model provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// The provider's name (the part before `/` in a model).
    pub name: String,
    /// The wire API it speaks.
    pub kind: ProviderKind,
    /// Base URL of the API: for `openai`, the OpenAI-compatible root with its version
    /// (`.../v1`, requests go to `{base_url}/chat/completions`); for `anthropic`, the
    /// host root without it (`https://api.anthropic.com`, requests go to
    /// `{base_url}/v1/messages`).
    pub base_url: String,
    /// The environment variable holding the API key, if the endpoint needs one.
    pub api_key_env: Option<String>,
    /// Extra HTTP headers.
    pub headers: BTreeMap<String, String>,
    /// Whether tool images are sent to this provider's models (`images = false` for
    /// text-only models: they then see only the placeholders).
    pub images: bool,
    /// Whether tool audio (wav, mp3) is sent to this provider's models as
    /// `input_audio` parts (`audio = true`, for audio models; off by default, as
    /// most models refuse it). Never for `anthropic`, whose API takes no audio.
    pub audio: bool,
    /// Whether requests carry `prompt_cache_key` (the session id), which routes a
    /// session's requests to the same prompt cache. Config `prompt_cache_key`; by
    /// default only for `api.openai.com`, since strict servers refuse unknown fields.
    pub prompt_cache_key: bool,
}

impl Provider {
    /// Whether it is OpenAI's own API (`https://api.openai.com/...`), which
    /// takes a few fields other OpenAI-compatible servers do not.
    pub fn is_openai_api(&self) -> bool {
        default_prompt_cache_key(&self.base_url)
    }
}

/// The default of `prompt_cache_key` for a base URL: on for OpenAI's own API only.
pub(super) fn default_prompt_cache_key(base_url: &str) -> bool {
    base_url
        .strip_prefix("https://")
        .is_some_and(|rest| rest == "api.openai.com" || rest.starts_with("api.openai.com/"))
}

/// The providers known without any config.
pub(super) fn builtin_providers() -> Vec<Provider> {
    vec![
        Provider {
            name: "openai".into(),
            kind: ProviderKind::OpenAi,
            base_url: "https://api.openai.com/v1".into(),
            api_key_env: Some("OPENAI_API_KEY".into()),
            headers: BTreeMap::new(),
            images: true,
            audio: false,
            prompt_cache_key: true,
        },
        Provider {
            name: "ollama".into(),
            kind: ProviderKind::OpenAi,
            base_url: "http://127.0.0.1:11434/v1".into(),
            api_key_env: None,
            headers: BTreeMap::new(),
            images: true,
            audio: false,
            prompt_cache_key: false,
        },
        Provider {
            name: "anthropic".into(),
            kind: ProviderKind::Anthropic,
            base_url: "https://api.anthropic.com".into(),
            api_key_env: Some("ANTHROPIC_API_KEY".into()),
            headers: BTreeMap::new(),
            images: true,
            audio: false,
            prompt_cache_key: false,
        },
    ]
}

/// A model name resolved to its provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedModel {
    /// The provider.
    pub provider: Provider,
    /// The model name sent to the provider.
    pub model: String,
    /// `[models."provider/model"]` for it (its `max_tokens`, `thinking_budget`).
    pub settings: ModelSettings,
}
