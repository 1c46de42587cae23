//! The rmcp client handler: receives a server's notifications (log messages, progress,
//! tool and resource list changes, resource updates) and logs them rate-limited (the
//! transport has already routed progress to its call: see `progress`); passes its
//! questions and sampling requests to `asking`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rmcp::ClientHandler;
use rmcp::model::{
    ClientCapabilities, ClientConfig, ElicitationCapability, FormElicitationCapability,
    Implementation, ProgressNotificationParam, ProtocolVersion, SamplingCapability,
    UrlElicitationCapability,
};
use rmcp::service::{NotificationContext, RoleClient};
use tokio::sync::mpsc::UnboundedSender;

use super::asking::{self, AskRoutes};
use super::notices::{Limiter, MAX_LOGGED_CHARS, cut};
use super::types::ServerEvent;

/// Receives server notifications from rmcp.
pub(super) struct Handler {
    pub(super) server: String,
    pub(super) events: UnboundedSender<ServerEvent>,
    pub(super) info: ClientConfig,
    /// Shared with the supervisor, which reports what it dropped.
    pub(super) limiter: Arc<Mutex<Limiter>>,
    /// Where the server's questions and sampling requests go (see `asking`).
    pub(super) asks: AskRoutes,
}

/// How often the supervisor reports notifications the limiter dropped.
pub(super) const SUPPRESSED_REPORT_EVERY: Duration = Duration::from_secs(10);

pub(super) fn report_suppressed(server: &str, n: u64) {
    if n > 0 {
        tracing::debug!(server = %server, suppressed = n, "mcp server notifications suppressed (rate limit)");
    }
}

impl Handler {
    /// Whether a notification may be logged now (see `notices`).
    fn admit(&self) -> bool {
        let admitted = self
            .limiter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(Instant::now());
        match admitted {
            Some(dropped) => {
                report_suppressed(&self.server, dropped);
                true
            }
            None => false,
        }
    }
}

impl ClientHandler for Handler {
    // Logging is deprecated in newer MCP revisions (SEP-2577), but servers on
    // the pinned 2025-11-25 revision send it.
    #[allow(deprecated)]
    async fn on_logging_message(
        &self,
        params: rmcp::model::LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        if self.admit() {
            let data = match &params.data {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            tracing::debug!(
                server = %self.server,
                level = ?params.level,
                logger = params.logger.as_deref().unwrap_or(""),
                data = %cut(&data, MAX_LOGGED_CHARS),
                "mcp server log"
            );
        }
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        if self.admit() {
            let token = params.progress_token.0.to_string();
            tracing::debug!(
                server = %self.server,
                token = %token,
                progress = params.progress,
                total = ?params.total,
                message = %cut(params.message.as_deref().unwrap_or(""), MAX_LOGGED_CHARS),
                "mcp server progress"
            );
        }
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        tracing::debug!(server = %self.server, "mcp server tool list changed");
        // The receiver being gone only means nobody is listening any more.
        let _ = self.events.send(ServerEvent::ToolsChanged);
    }

    async fn create_elicitation(
        &self,
        request: rmcp::model::ElicitRequestParams,
        _context: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::ElicitResult, rmcp::ErrorData> {
        asking::elicit(&self.asks, &self.server, request).await
    }

    // Sampling: deprecated by SEP-2577, used on the pinned revision.
    #[allow(deprecated)]
    async fn create_message(
        &self,
        params: rmcp::model::CreateMessageRequestParams,
        _context: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::CreateMessageResult, rmcp::ErrorData> {
        asking::sample(&self.asks, &self.server, params).await
    }

    async fn on_resource_list_changed(&self, _context: NotificationContext<RoleClient>) {
        tracing::debug!(server = %self.server, "mcp server resource list changed");
        let _ = self.events.send(ServerEvent::ResourcesChanged);
    }

    async fn on_resource_updated(
        &self,
        params: rmcp::model::ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        tracing::debug!(server = %self.server, uri = %params.uri, "mcp server resource updated");
        let _ = self
            .events
            .send(ServerEvent::ResourceUpdated { uri: params.uri });
    }

    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }
}

#[allow(deprecated)] // the sampling capability, see `create_message`
pub(super) fn client_info() -> ClientConfig {
    // Questions (form and URL mode) and sampling are served (issue 14).
    let mut capabilities = ClientCapabilities::default();
    let mut elicitation = ElicitationCapability::new();
    elicitation.form = Some(FormElicitationCapability::default());
    elicitation.url = Some(UrlElicitationCapability::default());
    capabilities.elicitation = Some(elicitation);
    capabilities.sampling = Some(SamplingCapability::default());
    ClientConfig::new(
        capabilities,
        Implementation::new("tether", env!("CARGO_PKG_VERSION")),
    )
    // The default offers a newer revision inside `initialize`, which strict
    // servers reject (see CRATES.md).
    .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
}

#[cfg(test)]
mod tests {
    #[test]
    fn initialize_advertises_questions_in_both_modes_and_sampling() {
        let caps = serde_json::to_value(&super::client_info().capabilities).unwrap();
        assert_eq!(caps["elicitation"]["form"], serde_json::json!({}));
        assert_eq!(caps["elicitation"]["url"], serde_json::json!({}));
        assert_eq!(caps["sampling"], serde_json::json!({}));
    }
}
