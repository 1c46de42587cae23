//! The provider for a resolved model, chosen by its provider's `kind`.

use std::sync::Arc;

use super::openai_chat::OpenAiChat;
use super::provider::ModelProvider;
use crate::config::{ProviderKind, ResolvedModel, Retry};

/// The provider that speaks `resolved`'s API, with the stall and whole-call limits of
/// `retry`. Cheap: it holds a clone of the shared HTTP client and the resolved model.
pub fn provider_for(
    http: &reqwest::Client,
    resolved: &ResolvedModel,
    retry: &Retry,
) -> Arc<dyn ModelProvider> {
    match resolved.provider.kind {
        ProviderKind::OpenAi => Arc::new(OpenAiChat::new(http.clone(), resolved.clone(), retry)),
    }
}

#[cfg(test)]
mod tests {
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
