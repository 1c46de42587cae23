//! The provider for a resolved model, chosen by its provider's `kind`, and for OpenAI's
//! own API by the model too.

use std::sync::Arc;

use super::anthropic::AnthropicMessages;
use super::openai_chat::OpenAiChat;
use super::openai_responses::OpenAiResponses;
use super::provider::ModelProvider;
use crate::config::{ProviderKind, ResolvedModel, Retry};

/// OpenAI's own API, where `kind = "openai"` may mean Responses for some models.
const OPENAI_API: &str = "https://api.openai.com/v1";

/// Models that keep their reasoning across steps only through the Responses API:
/// OpenAI's reasoning models (o1, o3, o4-mini, gpt-5 and its codex variants).
const RESPONSES_MODELS: [&str; 5] = ["o1", "o3", "o4", "gpt-5", "codex-"];

/// The provider that speaks `resolved`'s API, with the stall and whole-call limits of
/// `retry`. Cheap: it holds a clone of the shared HTTP client and the resolved model.
pub fn provider_for(
    http: &reqwest::Client,
    resolved: &ResolvedModel,
    retry: &Retry,
) -> Arc<dyn ModelProvider> {
    let (http, resolved) = (http.clone(), resolved.clone());
    match speaks(&resolved) {
        ProviderKind::OpenAi => Arc::new(OpenAiChat::new(http, resolved, retry)),
        ProviderKind::OpenAiResponses => Arc::new(OpenAiResponses::new(http, resolved, retry)),
        ProviderKind::Anthropic => Arc::new(AnthropicMessages::new(http, resolved, retry)),
    }
}

/// The API a resolved model is spoken to in: its provider's `kind`, except that a
/// reasoning model at OpenAI's own API (`base_url = "https://api.openai.com/v1"`, as
/// the built-in `openai` provider has) is spoken to in Responses, so its reasoning is
/// kept across steps. Any other `kind = "openai"` endpoint (a proxy, a local server)
/// stays chat completions.
pub fn speaks(resolved: &ResolvedModel) -> ProviderKind {
    let p = &resolved.provider;
    let model = resolved.model.to_ascii_lowercase();
    if p.kind == ProviderKind::OpenAi
        && p.base_url == OPENAI_API
        && RESPONSES_MODELS.iter().any(|m| {
            model.strip_prefix(m).is_some_and(|rest| {
                m.ends_with('-') || rest.is_empty() || rest.starts_with(['-', '.'])
            })
        })
    {
        ProviderKind::OpenAiResponses
    } else {
        p.kind
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reasoning_models_at_openai_speak_responses_and_nothing_else_switches() {
        let openai = crate::config::Provider {
            name: "openai".into(),
            kind: ProviderKind::OpenAi,
            base_url: OPENAI_API.into(),
            api_key_env: None,
            headers: Default::default(),
            images: true,
            audio: false,
            prompt_cache_key: true,
        };
        let proxy = crate::config::Provider {
            name: "proxy".into(),
            base_url: "http://127.0.0.1:9/v1".into(),
            ..openai.clone()
        };
        let at = |model: &str| {
            let (p, m) = model.split_once('/').unwrap();
            let provider = if p == "openai" { &openai } else { &proxy };
            speaks(&ResolvedModel {
                provider: provider.clone(),
                model: m.into(),
                settings: Default::default(),
            })
        };
        for m in [
            "openai/o3",
            "openai/o4-mini",
            "openai/gpt-5",
            "openai/gpt-5.1-codex",
            "openai/codex-mini-latest",
            "openai/o3-pro",
            "openai/o1",
        ] {
            assert_eq!(at(m), ProviderKind::OpenAiResponses, "{m}");
        }
        for m in [
            "openai/gpt-4.1",
            "openai/gpt-4o",
            "openai/o30x",
            "proxy/o3",
            "proxy/gpt-5",
        ] {
            assert_eq!(at(m), ProviderKind::OpenAi, "{m}");
        }
    }

    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::*;
    use crate::model::ModelRequest;
    use crate::model::error::ModelErrorKind;

    #[tokio::test]
    async fn an_openai_kind_speaks_chat_completions_at_its_base_url() {
        // A port nobody listens on: the provider's first move shows where it posts.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = crate::config::parse(
            &format!(
                "[providers.t]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\n"
            ),
            std::path::Path::new("/c/config.toml"),
        )
        .unwrap();
        let resolved = config.resolve("t/m", std::path::Path::new("/c")).unwrap();
        assert_eq!(resolved.provider.kind, ProviderKind::OpenAi);
        let retry = Retry {
            stall_timeout: Duration::from_secs(5),
            ..config.retry
        };
        let provider = provider_for(&reqwest::Client::new(), &resolved, &retry);
        let request = ModelRequest {
            messages: Vec::new(),
            tools: Vec::new(),
            no_tool_calls: false,
            cache_key: None,
        };
        let (tx, _rx) = mpsc::unbounded_channel();
        let e = provider.stream(&request, &tx).await.unwrap_err();
        assert_eq!(e.kind, ModelErrorKind::Network);
        assert!(e.retryable);
        assert!(
            e.message.starts_with(&format!(
                "cannot reach http://127.0.0.1:{port}/v1/chat/completions: "
            )),
            "{e}"
        );
    }
}
