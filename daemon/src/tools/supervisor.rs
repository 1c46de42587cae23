//! The supervisor task of one MCP server: connects it, lists its tools, restarts it
//! with backoff when it exits or its connection breaks, and announces changes of its
//! tool set to the sessions that see it; follows its resources (listed again when
//! they change, a subscribed one read again when it is updated).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tether_shared::protocol::ServerStatus;
use tokio::sync::{broadcast, mpsc};
use tracing::{info, warn};

use super::change::ToolChange;
use super::server::{Server, lock, spec_of};
use crate::tools::mcp::auth::ServerAuth;
use crate::tools::mcp::{McpClient, ServerEvent};
use tether_shared::protocol::LoginNeeded;

/// First restart delay of a server that exited or could not start.
const BACKOFF_START: Duration = Duration::from_secs(1);
/// Longest restart delay.
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// A server that ran this long before exiting restarts with the first delay again.
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// Publishes the difference between what was announced and `now`.
fn announce(
    server: &Server,
    changes: &broadcast::Sender<ToolChange>,
    now: BTreeSet<String>,
    error: Option<String>,
) {
    let mut st = lock(&server.state);
    let quiet = std::mem::replace(&mut st.quiet_start, false);
    let before = st.announced.replace(now.clone());
    if quiet && before.is_none() {
        // A first tool set is not news; a failure is reported by each session
        // as it starts (`ToolManager::failures_for`).
        return;
    }
    let before = before.unwrap_or_default();
    let added: Vec<String> = now.difference(&before).cloned().collect();
    let removed: Vec<String> = before.difference(&now).cloned().collect();
    let errors: Vec<String> = error.into_iter().collect();
    if added.is_empty() && removed.is_empty() && errors.is_empty() {
        return;
    }
    let _ = changes.send(ToolChange {
        scope: server.scope.clone(),
        added,
        removed,
        errors,
        fixed: vec![],
    });
}

/// Why an HTTP server cannot go on without a login: what it needs, or that
/// step-ups stopped helping.
fn blocked(auth: &ServerAuth) -> Option<Result<LoginNeeded, String>> {
    if let Some(gave_up) = auth.gave_up() {
        return Some(Err(gave_up));
    }
    auth.needs_login().map(Ok)
}

/// Shows a refusal in the server's state: `needs_login` with the command and
/// scope, or `failed` once step-ups stopped helping. Reported to sessions once.
fn show_refusal(
    server: &Server,
    auth: &ServerAuth,
    changes: &broadcast::Sender<ToolChange>,
    connect_error: Option<&str>,
) {
    let Some(why) = blocked(auth) else {
        return;
    };
    let mut news = false;
    server.set_status(|st| {
        let (status, login, error) = match why {
            Ok(login) => (
                ServerStatus::NeedsLogin,
                Some(login.clone()),
                format!("needs login: {}; run `{}`", login.reason, login.command),
            ),
            Err(gave_up) => (ServerStatus::Failed, None, gave_up),
        };
        news = st.error.as_deref() != Some(error.as_str());
        st.status = status;
        st.login = login;
        st.error = Some(error);
        if connect_error.is_some() {
            st.tools.clear();
        }
    });
    info!(error = ?lock(&server.state).error, "server refused: it needs a login");
    if news && connect_error.is_some() {
        let error = lock(&server.state).error.clone();
        announce(
            server,
            changes,
            BTreeSet::new(),
            error.map(|e| format!("{}: {e}", server.def.name)),
        );
    }
}

/// Waits on `n`; never, without one.
async fn notified(n: Option<&tokio::sync::Notify>) {
    match n {
        Some(n) => n.notified().await,
        None => std::future::pending().await,
    }
}

/// Keeps one server running until its token is cancelled.
pub(super) async fn supervise(server: Arc<Server>, changes: broadcast::Sender<ToolChange>) {
    let spec = spec_of(&server.def);
    let mut backoff = BACKOFF_START;
    loop {
        server.set_status(|st| {
            st.status = if st.error.is_some() && st.status == ServerStatus::Failed {
                ServerStatus::Failed
            } else {
                ServerStatus::Starting
            };
        });
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
        let connected = tokio::select! {
            _ = server.cancel.cancelled() => break,
            c = McpClient::connect_with_auth(&spec, ev_tx, server.auth.clone()) => c,
        };
        let listed = match connected {
            Ok(client) => match client.list_tools().await {
                Ok(tools) => Ok((client, tools)),
                Err(e) => {
                    client.shutdown().await;
                    Err(format!("tools/list failed: {e}"))
                }
            },
            Err(e) => Err(e.to_string()),
        };
        match listed {
            Ok((client, tools)) => {
                let client = Arc::new(client);
                let names = Server::model_names(&tools, &server.def.name);
                info!(tools = tools.len(), "server running");
                server.set_status(|st| {
                    st.status = ServerStatus::Running;
                    st.tools = tools;
                    st.error = None;
                    st.login = None;
                    st.client = Some(client.clone());
                });
                announce(&server, &changes, names, None);
                list_resources(&server, &client).await;
                let started = Instant::now();
                let exit = loop {
                    tokio::select! {
                        _ = server.cancel.cancelled() => break None,
                        _ = server.kick.notified() => break Some(Some("the connection to the server failed".into())),
                        _ = notified(server.auth.as_ref().map(|a| &a.refused)) => {
                            if let Some(auth) = &server.auth {
                                show_refusal(&server, auth, &changes, None);
                            }
                        }
                        _ = notified(server.auth.as_ref().map(|a| &a.changed)) => {
                            // A login (or logout) while running: new tokens apply to
                            // the next request; the tool list may say more now.
                            let was_blocked = lock(&server.state).login.is_some();
                            server.set_status(|st| {
                                st.status = ServerStatus::Running;
                                st.login = None;
                                st.error = None;
                            });
                            if was_blocked && let Ok(tools) = client.list_tools().await {
                                let names = Server::model_names(&tools, &server.def.name);
                                lock(&server.state).tools = tools;
                                announce(&server, &changes, names, None);
                            }
                        }
                        ev = ev_rx.recv() => match ev {
                            Some(ServerEvent::ToolsChanged) => match client.list_tools().await {
                                Ok(tools) => {
                                    let names = Server::model_names(&tools, &server.def.name);
                                    lock(&server.state).tools = tools;
                                    info!("server's tool list changed");
                                    announce(&server, &changes, names, None);
                                }
                                Err(e) => warn!(error = %e, "tools/list after list_changed failed"),
                            },
                            Some(ServerEvent::ResourcesChanged) => list_resources(&server, &client).await,
                            Some(ServerEvent::ResourceUpdated { uri }) => reread(&server, &client, &uri).await,
                            Some(ServerEvent::Closed { error }) => break Some(error),
                            None => break Some(Some("the connection ended".into())),
                        },
                    }
                };
                if exit.is_none() {
                    server.set_status(|st| st.client = None);
                }
                match exit {
                    None => {
                        // Stopped on purpose: end the process and say so.
                        if let Ok(c) = Arc::try_unwrap(client) {
                            c.shutdown().await;
                        }
                        break;
                    }
                    Some(error) => {
                        let mut msg = error.unwrap_or_else(|| "the server exited".into());
                        if !msg.contains("stderr")
                            && let Some(last) = client.stderr_tail().last()
                        {
                            msg.push_str(&format!(" (stderr: {last})"));
                        }
                        warn!(error = %msg, "server exited; restarting");
                        server.set_status(|st| {
                            st.status = ServerStatus::Starting;
                            st.error = Some(msg);
                            st.client = None;
                            // A new connection has no subscriptions.
                            st.resources.subscribed.clear();
                        });
                        if let Ok(c) = Arc::try_unwrap(client) {
                            c.shutdown().await;
                        }
                        if started.elapsed() >= STABLE_AFTER {
                            backoff = BACKOFF_START;
                        }
                    }
                }
            }
            Err(error) if server.auth.as_ref().is_some_and(|a| blocked(a).is_some()) => {
                // Retrying cannot help until someone logs in: wait for that.
                if let Some(auth) = &server.auth {
                    let woken = auth.changed.notified();
                    tokio::pin!(woken);
                    woken.as_mut().enable();
                    show_refusal(&server, auth, &changes, Some(&error));
                    tokio::select! {
                        _ = server.cancel.cancelled() => break,
                        _ = &mut woken => {}
                    }
                }
                backoff = BACKOFF_START;
                continue;
            }
            Err(error) => {
                warn!(%error, "server failed to start");
                let mut first_failure = false;
                server.set_status(|st| {
                    st.status = ServerStatus::Failed;
                    st.tools.clear();
                    first_failure = st.error.as_deref() != Some(error.as_str());
                    st.error = Some(error.clone());
                });
                if first_failure {
                    // Report the failure once; its tools (if it had any) are gone.
                    announce(
                        &server,
                        &changes,
                        BTreeSet::new(),
                        Some(format!("{}: {error}", server.def.name)),
                    );
                }
            }
        }
        tokio::select! {
            _ = server.cancel.cancelled() => break,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
    server.set_status(|st| {
        st.status = ServerStatus::Stopped;
        st.client = None;
    });
}

/// Records what the server offers and, when it has resources, lists them (at
/// start and on `notifications/resources/list_changed`).
async fn list_resources(server: &Server, client: &McpClient) {
    let offers = client.offers();
    lock(&server.state).resources.offers = offers;
    if !offers.resources {
        return;
    }
    match client.list_resources().await {
        Ok(list) => {
            info!(resources = list.len(), "server's resources listed");
            lock(&server.state).resources.list = list;
        }
        Err(e) => warn!(error = %e, "resources/list failed"),
    }
    if !offers.subscribe {
        return;
    }
    // A new connection has no subscriptions: those sessions read before stand.
    let again: Vec<String> = {
        let st = lock(&server.state);
        let r = &st.resources;
        r.read
            .keys()
            .filter(|u| !r.subscribed.contains(*u))
            .cloned()
            .collect()
    };
    for uri in again {
        match client.subscribe(&uri).await {
            Ok(()) => {
                lock(&server.state).resources.subscribed.insert(uri);
            }
            Err(e) => warn!(%uri, error = %e, "resources/subscribe failed"),
        }
    }
}

/// `notifications/resources/updated`: reads the resource again and owes a note
/// to each session that was given other contents (see `resource_state`).
async fn reread(server: &Server, client: &McpClient, uri: &str) {
    match client.read_resource(uri).await {
        Ok(contents) => {
            let owed = lock(&server.state).resources.updated(uri, &contents);
            info!(%uri, sessions = owed, "subscribed resource updated");
        }
        Err(e) => warn!(%uri, error = %e, "resources/read after an update failed"),
    }
}
