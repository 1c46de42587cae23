//! The session's worker tasks: the model call and the tool calls of a turn, and
//! the report of tool servers that are broken as the session starts.
//!
//! Workers do the slow I/O the actor must not. Each runs on the session tracker
//! and reports back to the actor as [`Work`] on the work channel, tagged with the
//! turn's generation so the actor recognises and drops a report from an
//! interrupted or earlier turn. What a report means to the turn is decided in
//! `actor` and `transitions`. Workers know nothing of the actor: only the session, the
//! daemon-wide context and the work channel.

use std::sync::Arc;
use std::time::Duration;

use tether_shared::Usage;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info};

use super::context::compact::SummaryJob;
use super::machine::StepCall;
use super::shared::SessionShared;
use super::turn::Turn;
use crate::config::Retry;
use crate::model::{self, ModelError, ModelProvider, ModelReply, ModelRequest, Progress};
use crate::os::procs::ProcessIdentity;
use crate::tools::{SessionLog, ToolContext, ToolOutput};

/// How long a model call waits for tool servers that are still starting.
const TOOLS_READY_WAIT: Duration = Duration::from_secs(15);

/// A worker's report to the actor.
pub(super) enum Work {
    /// Tool servers or config files that are broken as the session starts.
    ToolFailures(Vec<String>),
    Progress {
        generation: u64,
        progress: Progress,
    },
    ModelDone {
        generation: u64,
        result: Result<ModelReply, ModelError>,
    },
    ToolChunk {
        generation: u64,
        call_id: String,
        chunk: String,
    },
    ToolDone {
        generation: u64,
        call_id: String,
        tool: String,
        output: ToolOutput,
    },
    /// A tool server asked something during call `call_id` (issue 14).
    Ask {
        generation: u64,
        call_id: String,
        ask: crate::tools::ServerAsk,
    },
    /// A sampling request's completion, or the error its server gets.
    Sampled {
        generation: u64,
        request_id: String,
        result: Result<ModelReply, String>,
    },
    /// A compaction's summary, or why there is none, and what its requests used.
    Compacted {
        generation: u64,
        result: Result<String, String>,
        usage: Option<Usage>,
    },
}

/// How many times a compaction's summary requests may be split after the
/// model refused one as over its window.
const MAX_SPLITS: u32 = 8;

/// Runs a compaction's summary requests, adding what each used to `usage`
/// (also when a later one fails: those tokens were spent). A request the model
/// refuses as over its context window (the estimate of its size fell short of
/// the model's count) is split in two and each half summarised in turn, so a
/// compaction does not fail on its own request's size.
async fn summarise(
    job: &SummaryJob,
    provider: &dyn ModelProvider,
    retry: &Retry,
    tools: &crate::tools::ToolManager,
    session_id: &str,
    usage: &mut Option<Usage>,
) -> Result<String, String> {
    use super::context::compact::split_chunk;
    let mut summary = String::new();
    let mut queue: std::collections::VecDeque<Vec<Arc<model::Message>>> =
        job.chunks.iter().cloned().collect();
    let mut first = true;
    let mut splits = 0;
    while let Some(chunk) = queue.pop_front() {
        let request = ModelRequest {
            messages: job.messages_of(&chunk, &summary),
            // The same tools as the session's requests, for the shared prefix
            // (only while the first chunk is the session's whole prefix).
            tools: if first && splits == 0 && job.shares_prefix {
                tools.specs(session_id)
            } else {
                Vec::new()
            },
            no_tool_calls: true,
            cache_key: Some(session_id.to_string()),
        };
        // Nobody watches a summary being written: its deltas are dropped.
        let (ptx, _prx) = mpsc::unbounded_channel();
        let reply = match model::complete_with_retries(provider, &request, retry, &ptx).await {
            Ok(r) => r,
            Err(e) if e.kind == model::ModelErrorKind::ContextLength && splits < MAX_SPLITS => {
                let Some(parts) = split_chunk(&chunk) else {
                    return Err(e.to_string());
                };
                splits += 1;
                info!(
                    messages = chunk.len(),
                    parts = parts.len(),
                    "a summary request was over the model's window; summarising it in parts"
                );
                for part in parts.into_iter().rev() {
                    queue.push_front(part);
                }
                continue;
            }
            Err(e) => return Err(e.to_string()),
        };
        first = false;
        if let Some(u) = reply.usage {
            *usage.get_or_insert_default() += u;
        }
        summary = reply.text.trim().to_string();
        if summary.is_empty() {
            return Err("the model wrote an empty summary".into());
        }
    }
    Ok(summary)
}

/// Starts a session's workers. It knows only what they need, not the actor: the
/// session, the daemon-wide context, and where to report.
pub(super) struct Workers {
    shared: Arc<SessionShared>,
    session_id: String,
    cwd: String,
    /// The session's own token: it ends the workers that outlive turns.
    cancel: CancellationToken,
    work_tx: mpsc::UnboundedSender<Work>,
}

impl Workers {
    /// Workers for the session `session_id` working in `cwd`, reporting on `work_tx`.
    pub(super) fn new(
        shared: Arc<SessionShared>,
        session_id: String,
        cwd: String,
        cancel: CancellationToken,
        work_tx: mpsc::UnboundedSender<Work>,
    ) -> Self {
        Workers {
            shared,
            session_id,
            cwd,
            cancel,
            work_tx,
        }
    }

    /// Once its tool servers have had a chance to start, records the ones that
    /// could not (and tool config files that do not parse) in the session's log.
    pub(super) fn report_tool_failures(&self) {
        let tools = self.shared.tools.clone();
        let id = self.session_id.clone();
        let work = self.work_tx.clone();
        let cancel = self.cancel.clone();
        self.shared.tracker.spawn(
            async move {
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    _ = tools.wait_ready(&id, TOOLS_READY_WAIT) => {
                        let failures = tools.failures_for(&id);
                        if !failures.is_empty() {
                            let _ = work.send(Work::ToolFailures(failures));
                        }
                    }
                }
            }
            .in_current_span(),
        );
    }

    /// Spawns the model call of `turn`'s step: it is offered the tools this session
    /// sees when it starts, and streams its progress back.
    pub(super) fn call_model(
        &self,
        turn: &Turn,
        request: ModelRequest,
        provider: Arc<dyn ModelProvider>,
        retry: Retry,
    ) {
        let generation = turn.generation;
        let cancel = turn.cancel.clone();
        let work = self.work_tx.clone();
        let tools = self.shared.tools.clone();
        let session_id = self.session_id.clone();
        debug!(messages = request.messages.len(), "model call");
        self.shared.tracker.spawn(
            async move {
                // Servers still starting for the first time get a moment, so a
                // first turn right after a start is offered their tools.
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tools.wait_ready(&session_id, TOOLS_READY_WAIT) => {}
                }
                let mut request = request;
                request.tools = tools.specs(&session_id);
                request.cache_key = Some(session_id.clone());
                let (ptx, mut prx) = mpsc::unbounded_channel();
                let call = model::complete_with_retries(&*provider, &request, &retry, &ptx);
                tokio::pin!(call);
                let result = loop {
                    tokio::select! {
                        biased;
                        _ = cancel.cancelled() => return,
                        Some(progress) = prx.recv() => {
                            let _ = work.send(Work::Progress { generation, progress });
                        }
                        r = &mut call => break r,
                    }
                };
                while let Ok(progress) = prx.try_recv() {
                    let _ = work.send(Work::Progress {
                        generation,
                        progress,
                    });
                }
                if let Err(e) = &result {
                    debug!(
                        kind = e.kind.as_str(),
                        attempts = e.attempts,
                        "model call failed"
                    );
                }
                let _ = work.send(Work::ModelDone { generation, result });
            }
            .in_current_span(),
        );
    }

    /// Spawns the summary requests of a compaction, one after another, each given
    /// the summary so far; reports the last summary (or why there is none), also
    /// when cancelled, so whoever waits for it hears.
    pub(super) fn compact(
        &self,
        generation: u64,
        cancel: CancellationToken,
        job: SummaryJob,
        provider: Arc<dyn ModelProvider>,
        retry: Retry,
    ) {
        let work = self.work_tx.clone();
        let tools = self.shared.tools.clone();
        let session_id = self.session_id.clone();
        debug!(
            chunks = job.chunks.len(),
            shares_prefix = job.shares_prefix,
            "summary requests"
        );
        self.shared.tracker.spawn(
            async move {
                let mut usage = None;
                let result = tokio::select! {
                    _ = cancel.cancelled() => Err("interrupted".to_string()),
                    r = summarise(&job, &*provider, &retry, &tools, &session_id, &mut usage) => r,
                };
                let _ = work.send(Work::Compacted {
                    generation,
                    result,
                    usage,
                });
            }
            .in_current_span(),
        );
    }

    /// Spawns the model call of an approved sampling request (issue 14); its
    /// deltas are not shown (the completion is recorded whole).
    pub(super) fn sample(
        &self,
        turn: &Turn,
        request_id: String,
        request: ModelRequest,
        provider: Arc<dyn ModelProvider>,
        retry: Retry,
    ) {
        let generation = turn.generation;
        let cancel = turn.cancel.clone();
        let work = self.work_tx.clone();
        self.shared.tracker.spawn(
            async move {
                let (ptx, _prx) = mpsc::unbounded_channel();
                let result = tokio::select! {
                    _ = cancel.cancelled() => return,
                    r = model::complete_with_retries(&*provider, &request, &retry, &ptx) => r,
                };
                let result = result.map_err(|e| format!("the session's model failed: {e}"));
                let _ = work.send(Work::Sampled {
                    generation,
                    request_id,
                    result,
                });
            }
            .in_current_span(),
        );
    }

    /// Spawns one tool call of `turn`: its output is streamed back as it comes, and
    /// the process groups it starts are recorded while it runs.
    pub(super) fn run_tool(&self, turn: &Turn, call: StepCall) {
        let generation = turn.generation;
        let cancel = turn.cancel.clone();
        let tools = self.shared.tools.clone();
        let work = self.work_tx.clone();
        let cwd = self.cwd.clone().into();
        let store = self.shared.store.clone();
        let session_id = self.session_id.clone();
        info!(tool = %call.tool, call = %call.call_id, "tool call started");
        self.shared.tracker.spawn(
            async move {
                let (ltx, mut lrx) = mpsc::unbounded_channel::<String>();
                let (stx, mut srx) = mpsc::unbounded_channel::<u32>();
                let (atx, mut arx) = mpsc::unbounded_channel::<crate::tools::ServerAsk>();
                // The history tools read this session's log, and only this one's.
                let log = SessionLog { session_id: session_id.clone(), store: store.clone() };
                let ctx = ToolContext { cwd, cancel: cancel.clone(), live: Some(ltx), spawned: Some(stx), log: Some(log), asks: Some(atx) };
                let run = tools.call(&session_id, &call.tool, &call.arguments, &ctx);
                tokio::pin!(run);
                let mut recorded = false;
                let output = loop {
                    tokio::select! {
                        Some(chunk) = lrx.recv() => {
                            let _ = work.send(Work::ToolChunk { generation, call_id: call.call_id.clone(), chunk });
                        }
                        // Remember the process group, so a restart after a crash can stop it.
                        Some(pid) = srx.recv() => {
                            if let Some(identity) = ProcessIdentity::of(pid)
                                && store.add_process(&session_id, &call.call_id, identity).await.is_ok()
                            {
                                recorded = true;
                                debug!(call = %call.call_id, pid, "tool process group recorded");
                            }
                        }
                        // A server's question or sampling request: the actor answers it.
                        Some(ask) = arx.recv() => {
                            let _ = work.send(Work::Ask { generation, call_id: call.call_id.clone(), ask });
                        }
                        out = &mut run => break out,
                    }
                };
                // Output sent just before the call ended still belongs to it.
                while let Ok(chunk) = lrx.try_recv() {
                    let _ = work.send(Work::ToolChunk { generation, call_id: call.call_id.clone(), chunk });
                }
                if recorded {
                    let _ = store.remove_processes(&session_id, Some(&call.call_id)).await;
                }
                let _ = work.send(Work::ToolDone {
                    generation,
                    call_id: call.call_id.clone(),
                    tool: call.tool.clone(),
                    output,
                });
            }
            .in_current_span(),
        );
    }
}
