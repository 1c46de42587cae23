//! The session's worker tasks: the model call and the tool calls of a turn, and
//! the report of tool servers that are broken as the session starts.
//!
//! Workers do the slow I/O the actor must not. Each runs on the session tracker
//! and reports back to the actor as [`Work`] on the work channel, tagged with the
//! turn's generation so the actor recognises and drops a report from an
//! interrupted or earlier turn. What a report means to the turn is decided in
//! `actor`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{Instrument, debug, info};

use super::actor::SessionActor;
use super::machine::StepCall;
use crate::config::Retry;
use crate::model::{self, ModelError, ModelProvider, ModelReply, ModelRequest, Progress};
use crate::procs::ProcessIdentity;
use crate::tools::{ToolContext, ToolOutput};

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
}

impl SessionActor {
    /// Once its tool servers have had a chance to start, records the ones that
    /// could not (and tool config files that do not parse) in the session's log.
    pub(super) fn report_tool_failures(&self) {
        let tools = self.shared.tools.clone();
        let id = self.row.id.clone();
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

    /// Spawns the model call of the current turn's step: it is offered the tools
    /// this session sees when it starts, and streams its progress back.
    pub(super) fn call_model(
        &self,
        request: ModelRequest,
        provider: Arc<dyn ModelProvider>,
        retry: Retry,
    ) {
        let Some(turn) = self.turn.as_ref() else {
            return;
        };
        let generation = turn.generation;
        let cancel = turn.cancel.clone();
        let work = self.work_tx.clone();
        let tools = self.shared.tools.clone();
        let session_id = self.row.id.clone();
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

    /// Spawns one tool call of the current turn: its output is streamed back as
    /// it comes, and the process groups it starts are recorded while it runs.
    pub(super) fn run_tool(&self, call: StepCall) {
        let Some(turn) = self.turn.as_ref() else {
            return;
        };
        let generation = turn.generation;
        let cancel = turn.cancel.clone();
        let tools = self.shared.tools.clone();
        let work = self.work_tx.clone();
        let cwd = self.row.cwd.clone().into();
        let store = self.shared.store.clone();
        let session_id = self.row.id.clone();
        info!(tool = %call.tool, call = %call.call_id, "tool call started");
        self.shared.tracker.spawn(
            async move {
                let (ltx, mut lrx) = mpsc::unbounded_channel::<String>();
                let (stx, mut srx) = mpsc::unbounded_channel::<u32>();
                let ctx = ToolContext { cwd, cancel: cancel.clone(), live: Some(ltx), spawned: Some(stx) };
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
