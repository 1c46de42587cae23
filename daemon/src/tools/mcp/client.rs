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

mod content;
mod notices;
mod stdio;
mod tasks;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation,
    PaginatedRequestParams, ProgressNotificationParam, ProtocolVersion, Tool,
};
use rmcp::service::{
    ClientInitializeError, NotificationContext, RoleClient, RunningService, serve_client_with_ct,
};
use rmcp::transport::DynamicTransportError;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClientTransportConfig, StreamableHttpError,
};
use rmcp::{ClientHandler, Peer, ServiceError};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use notices::{Limiter, MAX_LOGGED_CHARS, ProgressRoutes, cut};
use stdio::{ServerProcess, StderrTail, Stopped};
use tasks::{Sniffed, TaskOnly};

/// How to reach a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// A child process speaking newline-delimited JSON-RPC on stdin/stdout.
    Stdio {
        /// The program, looked up in `PATH` unless it contains a `/`.
        command: String,
        /// Its arguments.
        args: Vec<String>,
        /// Added to (or overriding) the daemon's own environment.
        env: BTreeMap<String, String>,
        /// Working directory; the daemon's own when `None`.
        cwd: Option<PathBuf>,
    },
    /// A streamable HTTP endpoint.
    Http {
        /// The endpoint URL, e.g. `http://127.0.0.1:3001/mcp`.
        url: String,
        /// Sent with every request (e.g. `Authorization`).
        headers: BTreeMap<String, String>,
    },
}

/// One server definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    /// The name the user gave the server; used in every message about it.
    pub name: String,
    /// How to reach it.
    pub transport: Transport,
    /// Limit for each request (`tools/list` with all its pages, `tools/call`).
    /// Startup gets at least [`MIN_STARTUP_TIMEOUT`].
    pub timeout: Duration,
}

/// A tool a server offers.
#[derive(Debug, Clone, PartialEq)]
pub struct McpTool {
    /// The tool's name on the server.
    pub name: String,
    /// Its description (empty when the server gives none).
    pub description: String,
    /// JSON Schema of its arguments.
    pub input_schema: serde_json::Value,
}

/// What the client reports asynchronously.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// The server sent `notifications/tools/list_changed`.
    ToolsChanged,
    /// The connection ended (transport closed, process exited) other than by
    /// [`McpClient::shutdown`]. Sent once. `error` is `None` only when a stdio
    /// server exited with status 0.
    Closed {
        /// Why, in one line for users.
        error: Option<String>,
    },
}

/// Errors from connecting to or calling an MCP server. Each displays as one
/// line naming the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum McpError {
    /// The stdio command does not exist.
    #[error("cannot start server {server}: command `{command}` not found")]
    CommandNotFound {
        /// Server name.
        server: String,
        /// The command as configured.
        command: String,
    },
    /// A stdio server could not be started or failed during `initialize`.
    #[error("cannot start server {server}: {reason}{}", stderr_suffix(stderr))]
    Start {
        /// Server name.
        server: String,
        /// What went wrong.
        reason: String,
        /// The last lines it wrote to stderr (up to 20), oldest first.
        stderr: Vec<String>,
    },
    /// An HTTP server could not be reached or failed during `initialize`.
    #[error("cannot connect to server {server} at {url}: {reason}")]
    Connect {
        /// Server name.
        server: String,
        /// The configured URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The server definition cannot be used.
    #[error("invalid configuration for server {server}: {reason}")]
    InvalidConfig {
        /// Server name.
        server: String,
        /// What is wrong.
        reason: String,
    },
    /// No answer within the server's timeout; the request was cancelled.
    #[error("server {server} did not answer {request} within {timeout:?}")]
    Timeout {
        /// Server name.
        server: String,
        /// The request, e.g. "tools/call `echo`".
        request: String,
        /// The limit that passed.
        timeout: Duration,
    },
    /// The connection is gone (server exited, transport closed, or shut down).
    #[error("server {server} is not connected: its connection closed")]
    Closed {
        /// Server name.
        server: String,
    },
    /// The server answered with a JSON-RPC error.
    #[error("server {server} rejected {request}: {message} (error {code})")]
    Rpc {
        /// Server name.
        server: String,
        /// The request, e.g. "tools/call `echo`".
        request: String,
        /// The JSON-RPC error code.
        code: i32,
        /// The server's message.
        message: String,
    },
    /// The arguments cannot be sent as tool arguments.
    #[error("invalid arguments for tool `{tool}` of server {server}: {reason}")]
    InvalidArguments {
        /// Server name.
        server: String,
        /// Tool name.
        tool: String,
        /// What is wrong.
        reason: String,
    },
    /// The request could not be sent (the connection is broken).
    #[error("server {server}: {request} failed: {reason}")]
    Transport {
        /// Server name.
        server: String,
        /// The request, e.g. "tools/call `echo`".
        request: String,
        /// What went wrong.
        reason: String,
    },
    /// The server broke the protocol.
    #[error("server {server}: {request} failed: {reason}")]
    Protocol {
        /// Server name.
        server: String,
        /// The request, e.g. "tools/list".
        request: String,
        /// What went wrong.
        reason: String,
    },
}

/// At most this many stderr lines go into an error's one-line message; the
/// `stderr` field keeps them all.
const STDERR_LINES_IN_MESSAGE: usize = 5;

fn stderr_suffix(stderr: &[String]) -> String {
    let shown: Vec<&str> = stderr
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    if shown.is_empty() {
        return String::new();
    }
    let from = shown.len().saturating_sub(STDERR_LINES_IN_MESSAGE);
    format!("; stderr: {}", shown[from..].join(" | "))
}

/// Startup (spawn + `initialize`) may take at least this long whatever the
/// per-request timeout: `npx`/`uvx` servers can take seconds to start.
pub const MIN_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// After the transport is closed, a stdio server gets this long to exit before
/// its process group is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// Bound on waiting for rmcp's service loop to finish after cancelling it.
const SERVICE_STOP_WAIT: Duration = Duration::from_secs(3);
/// Bound on waiting for the last stderr lines of a server that exited.
const STDERR_FLUSH_WAIT: Duration = Duration::from_secs(1);
/// A server that exits during startup has usually done so within this long
/// after its stdout closed.
const STARTUP_EXIT_WAIT: Duration = Duration::from_millis(500);
/// Guard against a server whose cursors never end.
const MAX_TOOL_PAGES: usize = 1000;

/// Receives server notifications from rmcp.
struct Handler {
    server: String,
    events: UnboundedSender<ServerEvent>,
    info: ClientConfig,
    /// Shared with the supervisor, which reports what it dropped.
    limiter: Arc<Mutex<Limiter>>,
    progress: ProgressRoutes,
}

/// How often the supervisor reports notifications the limiter dropped.
const SUPPRESSED_REPORT_EVERY: Duration = Duration::from_secs(10);

fn report_suppressed(server: &str, n: u64) {
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
        let token = params.progress_token.0.to_string();
        self.progress.forward(
            &token,
            params.progress,
            params.total,
            params.message.as_deref(),
            Instant::now(),
        );
        if self.admit() {
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

    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }
}

fn client_info() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("tether", env!("CARGO_PKG_VERSION")),
    )
    // The default offers a newer revision inside `initialize`, which strict
    // servers reject (see CRATES.md).
    .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
}

/// What a `tools/call` answered: its text for the model, its `isError`, and the images
/// it carried (see `content::result_images`).
#[derive(Debug, Clone, PartialEq)]
pub struct CallResult {
    /// The result as text (images as placeholders).
    pub text: String,
    /// The result's `isError`.
    pub is_error: bool,
    /// Its images, within the size caps.
    pub images: Vec<tether_shared::event::ToolImage>,
}

/// A connection to one MCP server. Share it (`&McpClient`, `Arc<McpClient>`)
/// between tasks: calls run concurrently and each gets its own answer.
///
/// Dropping it without [`McpClient::shutdown`] starts the same shutdown in the
/// background (no [`ServerEvent::Closed`] is sent); if the runtime is gone too,
/// the child's process group is killed.
pub struct McpClient {
    name: String,
    peer: Peer<RoleClient>,
    progress: ProgressRoutes,
    /// Tools the server declared task-only (stdio servers; see `tasks`).
    task_only: TaskOnly,
    /// Cancellations sent for dropped calls.
    background: tokio_util::task::TaskTracker,
    timeout: Duration,
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
    pub async fn connect(
        spec: &ServerSpec,
        events: UnboundedSender<ServerEvent>,
    ) -> Result<McpClient, McpError> {
        let handler = Handler {
            server: spec.name.clone(),
            events: events.clone(),
            info: client_info(),
            limiter: Arc::new(Mutex::new(Limiter::new(Instant::now()))),
            progress: ProgressRoutes::default(),
        };
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
                let init = tokio::time::timeout(
                    startup_timeout,
                    serve_client_with_ct(handler, (stdout, stdin), service_ct.clone()),
                )
                .await;
                let reason = match init {
                    Ok(Ok(running)) => {
                        tracing::info!(server = %spec.name, pid = process.pid(), "mcp server started");
                        let mut client =
                            Self::start(spec, running, Some(process), service_ct, events);
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
                let transport = StreamableHttpClientTransport::from_config(config);
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
        Ok(Self::start(spec, running, process, service_ct, events))
    }

    fn start(
        spec: &ServerSpec,
        running: RunningService<RoleClient, Handler>,
        process: Option<ServerProcess>,
        service_ct: CancellationToken,
        events: UnboundedSender<ServerEvent>,
    ) -> McpClient {
        let shutdown = CancellationToken::new();
        let peer = running.peer().clone();
        let progress = running.service().progress.clone();
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

    /// `tools/call`, with the result as text for the model and its `isError`.
    ///
    /// Text content is joined with "\n"; images and audio become
    /// "[image: MIME, N bytes base64]"; an embedded resource gives its text or
    /// "[resource: URI]"; a resource link "[resource link: URI]";
    /// `structuredContent` is appended as pretty JSON when there is no text.
    /// `arguments` must be a JSON object (or null for none).
    ///
    /// Past the server's timeout the request is cancelled on the server
    /// (`notifications/cancelled`) and [`McpError::Timeout`] is returned.
    /// Dropping the future before the answer also sends
    /// `notifications/cancelled` (best effort: it is queued without waiting).
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: serde_json::Value,
    ) -> Result<(String, bool), McpError> {
        self.call_tool_with_progress(name, arguments, None)
            .await
            .map(|r| (r.text, r.is_error))
    }

    /// [`McpClient::call_tool`], keeping the result's images for the model and
    /// asking the server for progress: the request carries a `progressToken`,
    /// and each `notifications/progress` for it becomes a line
    /// `[progress N/TOTAL] MESSAGE` sent to `live` (at most every 100 ms, and
    /// always the last one) until the call ends.
    pub async fn call_tool_with_progress(
        &self,
        name: &str,
        arguments: serde_json::Value,
        live: Option<UnboundedSender<String>>,
    ) -> Result<CallResult, McpError> {
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
            Ok(Ok(result)) => Ok(CallResult {
                text: content::result_to_text(&result),
                is_error: result.is_error.unwrap_or(false),
                images: content::result_images(&result),
            }),
            Ok(Err(e)) => Err(self.service_error(&request, e)),
            Err(_elapsed) => {
                tracing::info!(server = %self.name, tool = %name, timeout = ?self.timeout, "mcp tool call timed out; cancelled");
                Err(self.timeout_error(request))
            }
        }
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

    fn timeout_error(&self, request: String) -> McpError {
        McpError::Timeout {
            server: self.name.clone(),
            request,
            timeout: self.timeout,
        }
    }

    fn service_error(&self, request: &str, error: ServiceError) -> McpError {
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

impl From<Tool> for McpTool {
    fn from(tool: Tool) -> Self {
        McpTool {
            name: tool.name.into_owned(),
            description: tool.description.map(|d| d.into_owned()).unwrap_or_default(),
            input_schema: serde_json::Value::Object((*tool.input_schema).clone()),
        }
    }
}

/// Owns the rmcp service and the child; turns the connection ending into one
/// [`ServerEvent::Closed`], or into an orderly stop on shutdown.
struct Supervisor {
    server: String,
    running: RunningService<RoleClient, Handler>,
    service_ct: CancellationToken,
    shutdown: CancellationToken,
    process: Option<ServerProcess>,
    events: UnboundedSender<ServerEvent>,
    limiter: Arc<Mutex<Limiter>>,
}

/// Why the supervisor woke up.
enum End {
    /// rmcp's service loop finished on its own (stdout EOF, HTTP worker gone).
    Transport,
    /// The child exited (its stdout may still be held open by a descendant).
    Exited,
    /// `shutdown()` was called or the client was dropped.
    Shutdown,
}

impl Supervisor {
    async fn run(self) {
        let Supervisor {
            server,
            running,
            service_ct,
            shutdown,
            mut process,
            events,
            limiter,
        } = self;
        let waiting = running.waiting();
        tokio::pin!(waiting);
        let suppressed = || {
            let n = limiter
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take_suppressed();
            report_suppressed(&server, n);
        };
        let mut report = tokio::time::interval(SUPPRESSED_REPORT_EVERY);
        let end = loop {
            tokio::select! {
                result = &mut waiting => {
                    if let Err(e) = result {
                        tracing::warn!(server = %server, error = %e, "mcp service task failed");
                    }
                    break End::Transport;
                }
                _ = wait_child(process.as_mut()) => break End::Exited,
                () = shutdown.cancelled() => break End::Shutdown,
                _ = report.tick() => suppressed(),
            }
        };
        suppressed();
        if !matches!(end, End::Transport) {
            // Ends the loop; rmcp then closes the transport (drops the child's
            // stdin, or ends the HTTP session).
            service_ct.cancel();
            if tokio::time::timeout(SERVICE_STOP_WAIT, &mut waiting)
                .await
                .is_err()
            {
                tracing::warn!(server = %server, "mcp service loop did not stop in time");
            }
        }
        let stopped = match process.as_mut() {
            Some(process) => Some(process.stop(EXIT_GRACE).await),
            None => None,
        };
        if matches!(end, End::Shutdown) || shutdown.is_cancelled() {
            return;
        }
        let error = match (process.as_mut(), stopped) {
            (Some(_), Some(Stopped { killed: true, .. })) => {
                Some("server closed its output but did not exit; it was killed".to_string())
            }
            (
                Some(process),
                Some(Stopped {
                    status: Some(status),
                    ..
                }),
            ) => {
                process.flush_stderr(STDERR_FLUSH_WAIT).await;
                let last = process.tail().lines().pop().unwrap_or_default();
                let last = if last.trim().is_empty() {
                    String::new()
                } else {
                    format!("; stderr: {}", last.trim())
                };
                (!status.success()).then(|| format!("server exited ({status}){last}"))
            }
            (Some(_), _) => Some("server closed its connection".to_string()),
            (None, _) => Some("the HTTP connection ended".to_string()),
        };
        tracing::warn!(server = %server, error = ?error, "mcp server connection closed");
        // The receiver being gone only means nobody is listening any more.
        let _ = events.send(ServerEvent::Closed { error });
    }
}

/// Waits for the child to exit; never completes without a child or if waiting
/// fails (the transport ending will then wake the supervisor).
async fn wait_child(process: Option<&mut ServerProcess>) {
    match process {
        Some(process) => match process.wait().await {
            Ok(_) => {}
            Err(_) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// After a failed start: let a dying server finish, kill what is left, and
/// build the error with its exit status and stderr tail.
async fn startup_failure(server: &str, process: &mut ServerProcess, reason: String) -> McpError {
    let reason = match process.wait_for_exit(STARTUP_EXIT_WAIT).await {
        Some(status) => format!("the server exited during startup ({status})"),
        None => reason,
    };
    process.kill_group();
    process.stop(EXIT_GRACE).await;
    process.flush_stderr(STDERR_FLUSH_WAIT).await;
    McpError::Start {
        server: server.to_string(),
        reason,
        stderr: process.tail().lines(),
    }
}

fn init_error_reason(error: &ClientInitializeError) -> String {
    match error {
        ClientInitializeError::ConnectionClosed(_) => {
            "the server closed the connection during initialize".to_string()
        }
        ClientInitializeError::JsonRpcError(data) => format!(
            "initialize was rejected: {} (error {})",
            data.message, data.code.0
        ),
        ClientInitializeError::TransportError { error, context } => {
            format!("cannot {context}: {}", transport_error_text(error))
        }
        other => error_chain(other),
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

/// A transport error for users: without rmcp's wrapper (which names the
/// transport's Rust type) and with the HTTP client's causes, which rmcp does
/// not chain as sources (e.g. "Connection refused").
fn transport_error_text(error: &DynamicTransportError) -> String {
    match error
        .error
        .downcast_ref::<StreamableHttpError<reqwest::Error>>()
    {
        Some(StreamableHttpError::Client(e)) => error_chain(e),
        _ => error_chain(&*error.error),
    }
}

/// An error and its sources in one line, skipping a source whose text the
/// previous message already contains.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
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
