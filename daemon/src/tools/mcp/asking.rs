//! A server's requests to tether while it serves a call (issue 14): routing
//! `elicitation/create` and `sampling/createMessage` to the session whose call
//! is running, and turning them and their answers between rmcp's types and the
//! tools' own ([`ServerAsk`]).
//!
//! Routing: a call made with an ask channel registers it for as long as the call
//! runs ([`AskRoutes::add`]); a server's request goes to the latest call still
//! running on that connection. MCP gives a server's request no link to the call
//! it serves on stdio, so with several calls running at once on one server the
//! newest one is asked; with none running, a question is declined and sampling
//! refused, as before this existed.

// Sampling is deprecated in newer MCP revisions (SEP-2577), but servers on the
// pinned 2025-11-25 revision use it.
#![allow(deprecated)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rmcp::model::{
    CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams, ElicitResult,
    ElicitationAction, ErrorCode,
};
use serde_json::{Value, json};
use tether_shared::event::{InputAction, SamplingText};
use tokio::sync::{mpsc::UnboundedSender, oneshot};

use crate::tools::{AskKind, AskReply, ServerAsk};

type Route = (u64, UnboundedSender<ServerAsk>);

/// The ask channels of the calls running on one connection.
#[derive(Clone, Default)]
pub(super) struct AskRoutes {
    routes: Arc<Mutex<Vec<Route>>>,
    next: Arc<AtomicU64>,
}

/// Removes its call's route when the call ends, however it ends.
pub(super) struct RouteGuard {
    routes: AskRoutes,
    id: u64,
}

impl Drop for RouteGuard {
    fn drop(&mut self) {
        self.routes.lock().retain(|(id, _)| *id != self.id);
    }
}

impl AskRoutes {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Route>> {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Routes the server's requests to `tx` while the guard lives.
    pub(super) fn add(&self, tx: UnboundedSender<ServerAsk>) -> RouteGuard {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().push((id, tx));
        RouteGuard {
            routes: self.clone(),
            id,
        }
    }

    /// Asks the newest running call's session; `None` when no call can be asked.
    async fn ask(&self, server: &str, kind: AskKind) -> Option<Result<AskReply, ()>> {
        let (reply, rx) = oneshot::channel();
        let mut ask = ServerAsk {
            server: server.to_string(),
            kind,
            reply,
        };
        let routes: Vec<UnboundedSender<ServerAsk>> =
            self.lock().iter().rev().map(|(_, t)| t.clone()).collect();
        let mut sent = false;
        for tx in routes {
            match tx.send(ask) {
                Ok(()) => {
                    sent = true;
                    break;
                }
                Err(e) => ask = e.0,
            }
        }
        if !sent {
            return None;
        }
        Some(rx.await.map_err(|_| ()))
    }
}

/// `elicitation/create`: the person's answer, `cancel` when the session dropped
/// the question (interrupt, restart), `decline` when no call can be asked.
pub(super) async fn elicit(
    routes: &AskRoutes,
    server: &str,
    request: ElicitRequestParams,
) -> Result<ElicitResult, rmcp::ErrorData> {
    let kind = match request {
        ElicitRequestParams::FormElicitationParams {
            message,
            requested_schema,
            ..
        } => AskKind::Input {
            message,
            schema: serde_json::to_value(&requested_schema).unwrap_or_else(|_| json!({})),
            url: None,
        },
        ElicitRequestParams::UrlElicitationParams { message, url, .. } => AskKind::Input {
            message,
            schema: json!({}),
            url: Some(url),
        },
        _ => {
            return Err(rmcp::ErrorData::invalid_params(
                "tether supports elicitation in form and url mode only",
                None,
            ));
        }
    };
    match routes.ask(server, kind).await {
        None => {
            tracing::info!(server = %server, "mcp server asked a question outside any tool call; declined");
            Ok(ElicitResult::new(ElicitationAction::Decline))
        }
        Some(Ok(AskReply::Input { action, content })) => {
            let action = match action {
                InputAction::Accept => ElicitationAction::Accept,
                InputAction::Decline => ElicitationAction::Decline,
                InputAction::Cancel | InputAction::Unknown => ElicitationAction::Cancel,
            };
            let mut result = ElicitResult::new(action);
            if let Some(c) = content {
                result = result.with_content(c);
            }
            Ok(result)
        }
        Some(_) => Ok(ElicitResult::new(ElicitationAction::Cancel)),
    }
}

/// The text of one content block of a sampling message, as a person reads it.
fn block_text(block: &Value) -> String {
    match block.get("type").and_then(Value::as_str) {
        Some("text") => block
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        Some(kind) => format!(
            "[{kind}: {}]",
            block.get("mimeType").and_then(Value::as_str).unwrap_or("?")
        ),
        None => String::new(),
    }
}

/// The request's messages as text, read through their JSON (rmcp marks the
/// sampling content types deprecated).
pub(super) fn sampling_texts(params: &CreateMessageRequestParams) -> Vec<SamplingText> {
    let messages = serde_json::to_value(&params.messages).unwrap_or_default();
    messages
        .as_array()
        .map(|list| {
            list.iter()
                .map(|m| {
                    let text = match m.get("content") {
                        Some(Value::Array(blocks)) => {
                            blocks.iter().map(block_text).collect::<Vec<_>>().join("\n")
                        }
                        Some(block) => block_text(block),
                        None => String::new(),
                    };
                    SamplingText {
                        role: m
                            .get("role")
                            .and_then(Value::as_str)
                            .unwrap_or("user")
                            .to_string(),
                        text,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `sampling/createMessage`: the session's model's reply after a person (or the
/// policy) approved it; an error when it was refused or could not be asked.
pub(super) async fn sample(
    routes: &AskRoutes,
    server: &str,
    params: CreateMessageRequestParams,
) -> Result<CreateMessageResult, rmcp::ErrorData> {
    let kind = AskKind::Sampling {
        messages: sampling_texts(&params),
        system_prompt: params.system_prompt.clone(),
        max_tokens: params.max_tokens,
    };
    // -1 is what the spec's examples use for a refused sampling request.
    let refused = |message: String| rmcp::ErrorData::new(ErrorCode(-1), message, None);
    match routes.ask(server, kind).await {
        None => Err(refused(
            "tether serves sampling only during one of its own tool calls".into(),
        )),
        Some(Ok(AskReply::Sampling(Ok(s)))) => serde_json::from_value(json!({
            "role": "assistant",
            "content": {"type": "text", "text": s.text},
            "model": s.model,
            "stopReason": s.stop_reason,
        }))
        .map_err(|e| {
            rmcp::ErrorData::internal_error(format!("could not build the result: {e}"), None)
        }),
        Some(Ok(AskReply::Sampling(Err(e)))) => Err(refused(e)),
        Some(_) => Err(refused("the sampling request was cancelled".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    fn form() -> ElicitRequestParams {
        serde_json::from_value(json!({
            "mode": "form",
            "message": "name?",
            "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn the_newest_running_call_is_asked_and_none_means_decline() {
        let routes = AskRoutes::default();
        let r = elicit(&routes, "s", form()).await.unwrap();
        assert_eq!(r.action, ElicitationAction::Decline);

        let (old_tx, mut old_rx) = mpsc::unbounded_channel();
        let (new_tx, mut new_rx) = mpsc::unbounded_channel();
        let _old = routes.add(old_tx);
        let newer = routes.add(new_tx);
        let answering = tokio::spawn(async move {
            let ask: ServerAsk = new_rx.recv().await.unwrap();
            assert_eq!(ask.server, "s");
            assert!(
                matches!(&ask.kind, AskKind::Input { message, url: None, .. } if message == "name?")
            );
            ask.reply
                .send(AskReply::Input {
                    action: InputAction::Accept,
                    content: Some(json!({"name": "Ana"})),
                })
                .unwrap();
        });
        let r = elicit(&routes, "s", form()).await.unwrap();
        answering.await.unwrap();
        assert_eq!(r.action, ElicitationAction::Accept);
        assert_eq!(r.content, Some(json!({"name": "Ana"})));
        assert!(old_rx.try_recv().is_err(), "the older call was not asked");

        // The newer call ended: the older one is asked; a dropped reply is cancel.
        drop(newer);
        let answering = tokio::spawn(async move {
            let ask: ServerAsk = old_rx.recv().await.unwrap();
            drop(ask.reply);
        });
        let r = elicit(&routes, "s", form()).await.unwrap();
        answering.await.unwrap();
        assert_eq!(r.action, ElicitationAction::Cancel);
    }

    #[test]
    fn sampling_messages_read_as_text() {
        let params: CreateMessageRequestParams = serde_json::from_value(json!({
            "messages": [
                {"role": "user", "content": {"type": "text", "text": "hi"}},
                {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "image", "data": "AA==", "mimeType": "image/png"}]}
            ],
            "maxTokens": 10
        }))
        .unwrap();
        assert_eq!(
            sampling_texts(&params),
            vec![
                SamplingText {
                    role: "user".into(),
                    text: "hi".into()
                },
                SamplingText {
                    role: "assistant".into(),
                    text: "a\n[image: image/png]".into()
                },
            ]
        );
    }
}
