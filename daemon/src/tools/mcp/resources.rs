//! The MCP client's resources and prompts: what a server declared it offers
//! (`initialize` capabilities), `resources/list`, `resources/templates/list`,
//! `resources/read`, `resources/subscribe`, `prompts/list` and `prompts/get`.
//! Each request is limited by the server's timeout, as tool calls are.

use std::future::Future;

use rmcp::ServiceError;
use rmcp::model::{
    GetPromptRequestParams, GetPromptResult, Prompt, ReadResourceRequestParams, ReadResourceResult,
    Resource, ResourceTemplate, SubscribeRequestParams,
};

use super::client::McpClient;
use super::error::McpError;

/// What a server said it offers besides tools.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offers {
    /// `resources`.
    pub resources: bool,
    /// `resources.subscribe`: it sends `notifications/resources/updated`.
    pub subscribe: bool,
    /// `prompts`.
    pub prompts: bool,
}

impl McpClient {
    /// What the server declared in `initialize`.
    pub fn offers(&self) -> Offers {
        let Some(info) = self.peer.peer_info() else {
            return Offers::default();
        };
        let caps = &info.capabilities;
        Offers {
            resources: caps.resources.is_some(),
            subscribe: caps
                .resources
                .as_ref()
                .and_then(|r| r.subscribe)
                .unwrap_or(false),
            prompts: caps.prompts.is_some(),
        }
    }

    /// Runs `request` within the server's timeout, naming it `what` in errors.
    async fn limited<T>(
        &self,
        what: &str,
        request: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, McpError> {
        match tokio::time::timeout(self.timeout, request).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.service_error(what, e)),
            Err(_elapsed) => Err(self.timeout_error(what.to_string())),
        }
    }

    /// `resources/list`, every page.
    pub async fn list_resources(&self) -> Result<Vec<Resource>, McpError> {
        self.limited("resources/list", self.peer.list_all_resources())
            .await
    }

    /// `resources/templates/list`, every page.
    pub async fn list_resource_templates(&self) -> Result<Vec<ResourceTemplate>, McpError> {
        self.limited(
            "resources/templates/list",
            self.peer.list_all_resource_templates(),
        )
        .await
    }

    /// `resources/read` of `uri`.
    pub async fn read_resource(&self, uri: &str) -> Result<ReadResourceResult, McpError> {
        let what = format!("resources/read `{uri}`");
        self.limited(
            &what,
            self.peer.read_resource(ReadResourceRequestParams::new(uri)),
        )
        .await
    }

    /// `resources/subscribe` to `uri`: the server then sends
    /// `notifications/resources/updated` when it changes.
    pub async fn subscribe(&self, uri: &str) -> Result<(), McpError> {
        let what = format!("resources/subscribe `{uri}`");
        // rmcp marks it legacy for a protocol revision newer than the one
        // tether pins (2025-11-25), in which it is the way to subscribe.
        #[allow(deprecated)]
        let request = self.peer.subscribe(SubscribeRequestParams::new(uri));
        self.limited(&what, request).await.map(|_| ())
    }

    /// `prompts/list`, every page.
    pub async fn list_prompts(&self) -> Result<Vec<Prompt>, McpError> {
        self.limited("prompts/list", self.peer.list_all_prompts())
            .await
    }

    /// `prompts/get` of `name` with `arguments` (strings, as the spec has them).
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: &std::collections::BTreeMap<String, String>,
    ) -> Result<GetPromptResult, McpError> {
        let what = format!("prompts/get `{name}`");
        let mut params = GetPromptRequestParams::new(name);
        if !arguments.is_empty() {
            params = params.with_arguments(
                arguments
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone())))
                    .collect(),
            );
        }
        self.limited(&what, self.peer.get_prompt(params)).await
    }
}
