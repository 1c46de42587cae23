//! The MCP client: one [`McpClient`] per configured server, over stdio (a child
//! process in its own process group) or streamable HTTP, built on rmcp.
//!
//! Lifecycle: [`McpClient::connect`] starts or reaches the server and runs
//! `initialize` (protocol pinned to `ProtocolVersion::LATEST_WITH_INITIALIZE`);
//! then any number of tasks call [`McpClient::list_tools`] and
//! [`McpClient::call_tool`] through a shared `&McpClient`; finally
//! [`McpClient::shutdown`] stops it. A supervisor task per client watches the
//! rmcp service loop and the child process and reports [`ServerEvent::Closed`]
//! once if the connection ends by itself.
//!
//! What this relies on in rmcp 3.11 (read in its source, checked by the tests):
//! - Responses are matched to callers by JSON-RPC id (a per-connection atomic
//!   counter and a map of pending responders), so concurrent calls through
//!   clones of one `Peer` never get each other's answers.
//! - `Peer::call_tool` / `Peer::list_tools` arm a guard that sends
//!   `notifications/cancelled` (reason "request abandoned by the caller") when
//!   the future is dropped before the answer arrives. Timeouts here are a
//!   `tokio::time::timeout` around that future, so a timeout and a caller that
//!   drops the future both cancel the request on the server.
//! - `notifications/tools/list_changed` reaches `ClientHandler::on_tool_list_changed`
//!   (after rmcp has invalidated its `tools/list` cache) as long as the
//!   connection uses a protocol version with `initialize`, which is why the
//!   version is pinned.
//! - On stdio, a stdout line that is not JSON is logged at debug level and
//!   skipped; well-formed JSON that is not a JSON-RPC message gets an
//!   "Invalid Request" error sent back to the server; a line over 16 MiB is
//!   dropped. None of these end the connection.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, PaginatedRequestParams};
use rmcp::service::{RoleClient, RunningService, serve_client_with_ct};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{Peer, ServiceError};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::asking::AskRoutes;

use super::error::{McpError, error_chain, init_error_reason, transport_error_text};
use super::handler::{Handler, client_info};
use super::notices::Limiter;
use super::progress::{InOrder, ProgressRoutes};
use super::stdio::{ServerProcess, StderrTail};
use super::supervisor::{Supervisor, startup_failure};
use super::tasks::{Sniffed, TaskOnly};
use super::types::{McpTool, ServerEvent, ServerSpec, Transport};

/// Startup (spawn + `initialize`) may take at least this long whatever the
/// per-request timeout: `npx`/`uvx` servers can take seconds to start.
pub const MIN_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Guard against a server whose cursors never end.
const MAX_TOOL_PAGES: usize = 1000;

/// A connection to one MCP server. Share it (`&McpClient`, `Arc<McpClient>`)
/// between tasks: calls run concurrently and each gets its own answer.
///
/// Dropping it without [`McpClient::shutdown`] starts the same shutdown in the
/// background (no [`ServerEvent::Closed`] is sent); if the runtime is gone too,
/// the child's process group is killed.
pub struct McpClient {
    pub(super) name: String,
    pub(super) peer: Peer<RoleClient>,
    progress: ProgressRoutes,
    /// The ask channels of the calls running (see `asking`).
    asks: AskRoutes,
    /// Tools the server declared task-only (stdio servers; see `tasks`).
    task_only: TaskOnly,
    /// Cancellations sent for dropped calls.
    background: tokio_util::task::TaskTracker,
    pub(super) timeout: Duration,
    pid: Option<u32>,
    stderr: StderrTail,
    shutdown: CancellationToken,
    supervisor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for McpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpClient")
            .field("name", &self.name)
            .field("pid", &self.pid)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl McpClient {
    /// Starts (stdio) or connects (http), runs `initialize` with
    /// `ProtocolVersion::LATEST_WITH_INITIALIZE` pinned in the client info and
    /// client name "tether".
    ///
    /// `events` receives [`ServerEvent`]s; `Closed` is sent exactly once when
    /// the connection ends for any reason other than [`McpClient::shutdown`]
    /// (nothing is sent if `connect` fails). Startup is limited by the larger
    /// of `spec.timeout` and [`MIN_STARTUP_TIMEOUT`]. Dropping the returned
    /// future kills a half-started stdio server.
    // The supervisor uses `connect_with_auth`; the tests use this plain form.
    #[cfg_attr(not(test), allow(dead_code))]
    pub async fn connect(
        spec: &ServerSpec,
        events: UnboundedSender<ServerEvent>,
    ) -> Result<McpClient, McpError> {
        Self::connect_with_auth(spec, events, None).await
    }

    /// [`McpClient::connect`], with OAuth for an HTTP server: `auth` puts its
    /// bearer token on every request and records refusals (see `auth::http`).
    pub async fn connect_with_auth(
        spec: &ServerSpec,
        events: UnboundedSender<ServerEvent>,
        auth: Option<Arc<super::auth::ServerAuth>>,
    ) -> Result<McpClient, McpError> {
        let handler = Handler {
            server: spec.name.clone(),
            events: events.clone(),
            info: client_info(),
            limiter: Arc::new(Mutex::new(Limiter::new(Instant::now()))),
            asks: AskRoutes::default(),
        };
        let progress = ProgressRoutes::default();
        let startup_timeout = spec.timeout.max(MIN_STARTUP_TIMEOUT);
        let service_ct = CancellationToken::new();
        let (running, process) = match &spec.transport {
            Transport::Stdio {
                command,
                args,
                env,
                cwd,
            } => {
                let (mut process, stdout, stdin) =
                    ServerProcess::spawn(&spec.name, command, args, env, cwd.as_deref())?;
                let task_only = TaskOnly::default();
                let stdout = Sniffed::new(stdout, task_only.clone());
                let transport = InOrder::new(
                    AsyncRwTransport::new_client(stdout, stdin),
                    progress.clone(),
                );
                let init = tokio::time::timeout(
                    startup_timeout,
                    serve_client_with_ct(handler, transport, service_ct.clone()),
                )
                .await;
                let reason = match init {
                    Ok(Ok(running)) => {
                        tracing::info!(server = %spec.name, pid = process.pid(), "mcp server started");
                        let mut client =
                            Self::start(spec, running, Some(process), service_ct, events, progress);
                        client.task_only = task_only;
                        return Ok(client);
                    }
                    Ok(Err(e)) => init_error_reason(&e),
                    Err(_elapsed) => {
                        format!("no answer to initialize within {startup_timeout:?}")
                    }
                };
                return Err(startup_failure(&spec.name, &mut process, reason).await);
            }
            Transport::Http { url, headers } => {
                let config = StreamableHttpClientTransportConfig::with_uri(url.clone())
                    .custom_headers(http_headers(&spec.name, headers)?);
                let transport = InOrder::new(
                    StreamableHttpClientTransport::with_client(
                        super::auth::AuthHttp::new(auth),
                        config,
                    ),
                    progress.clone(),
                );
                let connect_error = |reason: String| McpError::Connect {
                    server: spec.name.clone(),
                    url: url.clone(),
                    reason,
                };
                match tokio::time::timeout(
                    startup_timeout,
                    serve_client_with_ct(handler, transport, service_ct.clone()),
                )
                .await
                {
                    Ok(Ok(running)) => {
                        tracing::info!(server = %spec.name, url = %url, "mcp server connected");
                        (running, None)
                    }
                    Ok(Err(e)) => return Err(connect_error(init_error_reason(&e))),
                    Err(_elapsed) => {
                        return Err(connect_error(format!(
                            "no answer to initialize within {startup_timeout:?}"
                        )));
                    }
                }
            }
        };
        Ok(Self::start(
            spec, running, process, service_ct, events, progress,
        ))
    }

    fn start(
        spec: &ServerSpec,
        running: RunningService<RoleClient, Handler>,
        process: Option<ServerProcess>,
        service_ct: CancellationToken,
        events: UnboundedSender<ServerEvent>,
        progress: ProgressRoutes,
    ) -> McpClient {
        let shutdown = CancellationToken::new();
        let peer = running.peer().clone();
        let asks = running.service().asks.clone();
        let limiter = running.service().limiter.clone();
        let pid = process.as_ref().map(ServerProcess::pid);
        let stderr = process
            .as_ref()
            .map(ServerProcess::tail)
            .unwrap_or_default();
        let supervisor = Supervisor {
            server: spec.name.clone(),
            running,
            service_ct,
            shutdown: shutdown.clone(),
            process,
            events,
            limiter,
        };
        McpClient {
            name: spec.name.clone(),
            peer,
            progress,
            asks,
            task_only: TaskOnly::default(),
            background: tokio_util::task::TaskTracker::new(),
            timeout: spec.timeout,
            pid,
            stderr,
            shutdown,
            supervisor: Some(tokio::spawn(supervisor.run())),
        }
    }

    /// `tools/list`, following `nextCursor` until the last page. The whole
    /// listing is limited by the server's timeout.
    pub async fn list_tools(&self) -> Result<Vec<McpTool>, McpError> {
        const REQUEST: &str = "tools/list";
        let all_pages = async {
            let mut tools = Vec::new();
            let mut seen_cursors = HashSet::new();
            let mut cursor: Option<String> = None;
            loop {
                let params = cursor
                    .take()
                    .map(|c| PaginatedRequestParams::default().with_cursor(Some(c)));
                let page = self
                    .peer
                    .list_tools(params)
                    .await
                    .map_err(|e| self.service_error(REQUEST, e))?;
                tools.extend(page.tools.into_iter().map(McpTool::from));
                let Some(next) = page.next_cursor else {
                    return Ok(self.without_task_only(tools));
                };
                if seen_cursors.len() >= MAX_TOOL_PAGES || !seen_cursors.insert(next.clone()) {
                    return Err(McpError::Protocol {
                        server: self.name.clone(),
                        request: REQUEST.to_string(),
                        reason: "the server's page cursors never end".to_string(),
                    });
                }
                cursor = Some(next);
            }
        };
        match tokio::time::timeout(self.timeout, all_pages).await {
            Ok(result) => result,
            Err(_elapsed) => Err(self.timeout_error(REQUEST.to_string())),
        }
    }

    /// Leaves out the tools that can only be called as tasks, which tether
    /// does not run (a call without a task gets an error by the spec).
    fn without_task_only(&self, tools: Vec<McpTool>) -> Vec<McpTool> {
        tools
            .into_iter()
            .filter(|t| {
                let only = self.task_only.contains(&t.name);
                if only {
                    tracing::info!(server = %self.name, tool = %t.name, "tool not offered: it can only be called as a task (execution.taskSupport \"required\"), which tether does not support");
                }
                !only
            })
            .collect()
    }

    /// `tools/call`, with the result as text for the model (see `content`) and
    /// its `isError`. `arguments` must be a JSON object (or null for none).
    ///
    /// Past the server's timeout the request is cancelled on the server
    /// (`notifications/cancelled`) and [`McpError::Timeout`] is returned.
    /// Dropping the future before the answer also sends
    /// `notifications/cancelled` (best effort: it is queued without waiting).
    // The daemon calls `call_tool_with_progress`; the tests use this plain form.
    #[cfg(test)]
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: serde_json::Value,
    ) -> Result<(String, bool), McpError> {
        self.call_tool_with_progress(name, arguments, None)
            .await
            .map(|r| {
                let text = super::content::convert_result(&self.name, &r, 1 << 20).text;
                (text, r.is_error.unwrap_or(false))
            })
    }

    /// `tools/call`, the result as the server sent it (`content::convert_result`
    /// makes it the model's), asking the server for progress: the request carries a `progressToken`,
    /// and each `notifications/progress` for it becomes a line
    /// `[progress N/TOTAL] MESSAGE` sent to `live` (at most every 100 ms, and
    /// always the last one) until the call ends.
    pub async fn call_tool_with_progress(
        &self,
        name: &str,
        arguments: serde_json::Value,
        live: Option<UnboundedSender<String>>,
    ) -> Result<rmcp::model::CallToolResult, McpError> {
        let request = format!("tools/call `{name}`");
        let mut params = CallToolRequestParams::new(name.to_string());
        match arguments {
            serde_json::Value::Null => {}
            serde_json::Value::Object(map) => params = params.with_arguments(map),
            other => {
                return Err(McpError::InvalidArguments {
                    server: self.name.clone(),
                    tool: name.to_string(),
                    reason: format!("expected a JSON object, got {}", json_kind(&other)),
                });
            }
        }
        let call = async {
            match live {
                None => self.peer.call_tool(params).await,
                Some(live) => self.call_with_progress(params, live).await,
            }
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(e)) => Err(self.service_error(&request, e)),
            Err(_elapsed) => {
                tracing::info!(server = %self.name, tool = %name, timeout = ?self.timeout, "mcp tool call timed out; cancelled");
                Err(self.timeout_error(request))
            }
        }
    }

    /// [`McpClient::call_tool_with_progress`], with what the server asks while it
    /// runs (questions, sampling) sent to `asks` (see `asking`).
    pub async fn call_tool_asking(
        &self,
        name: &str,
        arguments: serde_json::Value,
        live: Option<UnboundedSender<String>>,
        asks: Option<UnboundedSender<crate::tools::ServerAsk>>,
    ) -> Result<rmcp::model::CallToolResult, McpError> {
        let _route = asks.map(|tx| self.asks.add(tx));
        self.call_tool_with_progress(name, arguments, live).await
    }

    /// `tools/call` through rmcp's request handle, which tells the progress
    /// token rmcp put in the request (rmcp gives every request one and
    /// overwrites any set by the caller), so the server's progress for it can
    /// be routed to `live`. Dropped before the answer, it sends
    /// `notifications/cancelled`, as `Peer::call_tool` does.
    async fn call_with_progress(
        &self,
        params: CallToolRequestParams,
        live: UnboundedSender<String>,
    ) -> Result<rmcp::model::CallToolResult, ServiceError> {
        let request =
            rmcp::model::ClientRequest::CallToolRequest(rmcp::model::CallToolRequest::new(params));
        let handle = self
            .peer
            .send_request_with_option(request, rmcp::service::PeerRequestOptions::no_options())
            .await?;
        let token = handle.progress_token.0.to_string();
        self.progress.add(token.clone(), live);
        let mut guard = CallGuard {
            routes: self.progress.clone(),
            token,
            cancel: Some((self.peer.clone(), handle.id.clone())),
            tracker: self.background.clone(),
        };
        let result = handle.await_response().await;
        guard.cancel = None;
        match result? {
            rmcp::model::ServerResult::CallToolResult(r) => Ok(r),
            // A server that answers a call with `{}`: no content, no error.
            rmcp::model::ServerResult::EmptyResult(_) => {
                Ok(rmcp::model::CallToolResult::success(Vec::new()))
            }
            _ => Err(ServiceError::UnexpectedResponse),
        }
    }

    /// The last lines (up to 20) a stdio server wrote to stderr, oldest first;
    /// empty for HTTP servers.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.stderr.lines()
    }

    /// The child's pid (also its process group id) for stdio servers.
    #[cfg(test)]
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Graceful stop: closes the transport (stdin for stdio; the HTTP session),
    /// then kills the process group if the server does not exit within 2 s.
    /// Returns once the process has been reaped; in-flight calls fail with
    /// [`McpError::Closed`]. No [`ServerEvent::Closed`] is sent.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if let Some(supervisor) = self.supervisor.take()
            && let Err(e) = supervisor.await
        {
            tracing::warn!(server = %self.name, error = %e, "mcp supervisor task failed");
        }
        tracing::info!(server = %self.name, "mcp server stopped");
    }

    pub(super) fn timeout_error(&self, request: String) -> McpError {
        McpError::Timeout {
            server: self.name.clone(),
            request,
            timeout: self.timeout,
        }
    }

    pub(super) fn service_error(&self, request: &str, error: ServiceError) -> McpError {
        let server = self.name.clone();
        let request = request.to_string();
        let protocol = |reason: String| McpError::Protocol {
            server: server.clone(),
            request: request.clone(),
            reason,
        };
        match error {
            ServiceError::McpError(data) => McpError::Rpc {
                server: server.clone(),
                request: request.clone(),
                code: data.code.0,
                message: data.message.to_string(),
            },
            ServiceError::TransportClosed => McpError::Closed {
                server: server.clone(),
            },
            ServiceError::Timeout { timeout } => McpError::Timeout {
                server: server.clone(),
                request: request.clone(),
                timeout,
            },
            ServiceError::TransportSend(e) => McpError::Transport {
                server: server.clone(),
                request: request.clone(),
                reason: transport_error_text(&e),
            },
            ServiceError::Cancelled { reason } => protocol(format!(
                "the request was cancelled ({})",
                reason.as_deref().unwrap_or("no reason given")
            )),
            ServiceError::UnexpectedResponse => {
                protocol("the server sent an unexpected kind of response".to_string())
            }
            other => protocol(error_chain(&other)),
        }
    }
}

/// Stops routing a call's progress when the call ends, however it ends, and
/// cancels it on the server if it is dropped before its answer.
struct CallGuard {
    routes: ProgressRoutes,
    token: String,
    /// Set until the answer arrives.
    cancel: Option<(Peer<RoleClient>, rmcp::model::RequestId)>,
    tracker: tokio_util::task::TaskTracker,
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.routes.remove(&self.token);
        let Some((peer, id)) = self.cancel.take() else {
            return;
        };
        // Drop cannot await: the notification is sent from a task the client
        // tracks. Without a runtime (the daemon is exiting) the transport is
        // closing anyway.
        if tokio::runtime::Handle::try_current().is_ok() {
            self.tracker.spawn(async move {
                let params = rmcp::model::CancelledNotificationParam::new(
                    Some(id),
                    Some("request abandoned by the caller".to_string()),
                );
                if let Err(e) = peer.notify_cancelled(params).await {
                    tracing::debug!(error = %e, "could not send notifications/cancelled");
                }
            });
        }
    }
}

impl Drop for McpClient {
    fn drop(&mut self) {
        // Makes the supervisor stop the server; see the type's docs.
        self.shutdown.cancel();
    }
}

/// Converts configured headers, rejecting those the transport manages itself.
fn http_headers(
    server: &str,
    headers: &BTreeMap<String, String>,
) -> Result<HashMap<reqwest::header::HeaderName, reqwest::header::HeaderValue>, McpError> {
    const RESERVED: [&str; 3] = ["accept", "mcp-session-id", "last-event-id"];
    let invalid = |reason: String| McpError::InvalidConfig {
        server: server.to_string(),
        reason,
    };
    headers
        .iter()
        .map(|(name, value)| {
            if RESERVED.iter().any(|r| name.eq_ignore_ascii_case(r)) {
                return Err(invalid(format!(
                    "header `{name}` is set by the MCP transport and cannot be configured"
                )));
            }
            let header_name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("`{name}` is not a valid HTTP header name")))?;
            let header_value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| invalid(format!("the value of header `{name}` is not valid")))?;
            Ok((header_name, header_value))
        })
        .collect()
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
