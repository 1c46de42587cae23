//! The cloneable [`SessionHandle`] callers hold on a session actor, and the
//! commands it sends: each a message on the actor's bounded channel with a
//! oneshot for the reply.

use std::time::Duration;

use tether_shared::protocol::{AlwaysAllow, DecideResult, PartialState, SendResult, SessionInfo};
use tether_shared::rules::ApprovalRule;
use tether_shared::{Decision, Delivery, SessionState};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::error::SessionError;
use super::live::LiveMsg;
use crate::store::KeyRecord;

/// What a client gets when it subscribes to a session.
pub struct Subscription {
    /// Live messages after `last_seq`, shared with every other subscriber.
    pub live: broadcast::Receiver<LiveMsg>,
    /// The last stored seq when subscribing.
    pub last_seq: u64,
    /// What is streaming now.
    pub partial: PartialState,
    /// The session's summary.
    pub info: SessionInfo,
    /// The inputs waiting for the agent, oldest first.
    pub queued: Vec<tether_shared::protocol::QueuedInput>,
}

pub(super) enum Command {
    Send {
        text: String,
        delivery: Delivery,
        key: Option<KeyRecord>,
        reply: oneshot::Sender<Result<SendResult, SessionError>>,
    },
    Interrupt {
        reply: oneshot::Sender<bool>,
    },
    Decide {
        call_id: Option<String>,
        all: bool,
        decision: Decision,
        reason: Option<String>,
        always: Option<AlwaysAllow>,
        reply: oneshot::Sender<Result<DecideResult, SessionError>>,
    },
    Answer {
        request_id: Option<String>,
        action: tether_shared::event::InputAction,
        content: Option<serde_json::Value>,
        reply: oneshot::Sender<Result<tether_shared::protocol::AnswerResult, SessionError>>,
    },
    RemoveRule {
        id: u64,
        reply: oneshot::Sender<Result<ApprovalRule, SessionError>>,
    },
    Subscribe {
        reply: oneshot::Sender<Subscription>,
    },
    Clients {
        delta: isize,
    },
    Stop {
        reply: oneshot::Sender<()>,
    },
    Compact {
        instructions: Option<String>,
        reply: super::turn::CompactReply,
    },
    Budget {
        budget: tether_shared::event::Budget,
        reply: oneshot::Sender<Result<SessionInfo, SessionError>>,
    },
    CancelInput {
        input_id: i64,
        reply: oneshot::Sender<Result<bool, SessionError>>,
    },
    Fire {
        firing: crate::store::Firing,
        reply: oneshot::Sender<Result<crate::store::Fired, SessionError>>,
    },
    /// Hand the session to this node at the next step boundary (issue 16).
    HandOver {
        to: String,
    },
    /// The lease is lost to this node: stop at once, writing nothing (issue 16).
    Moved {
        to: String,
    },
    /// Queued inputs as the store holds them: those another node stored are new
    /// to the actor (issue 16).
    Pickup {
        inputs: Vec<crate::store::QueuedInput>,
    },
}

/// A command handed back by an actor that fell asleep before serving it (or
/// that a sender found closed): the session's id, the command, and how many
/// times it was handed back already. The registry's waker wakes the session
/// and delivers it (`wake.rs`).
pub(super) struct Redelivery {
    pub(super) id: String,
    pub(super) command: Command,
    pub(super) hops: u8,
}

/// A cloneable handle on a session actor.
#[derive(Clone)]
pub struct SessionHandle {
    /// Stable id.
    pub id: String,
    /// Unique name.
    pub name: String,
    // Bounded: a flood of requests waits here instead of growing memory; every
    // command is small and the actor answers quickly because workers do the I/O.
    cmd: mpsc::Sender<Command>,
    // watch: clients want the latest summary, never a history of them.
    status: watch::Receiver<SessionInfo>,
    /// Which actor of the session this is (each wake starts a new one).
    epoch: u64,
    // Unbounded: a handed-back command is one the caller already waits on;
    // there are never more of them than callers.
    redeliver: mpsc::UnboundedSender<Redelivery>,
}

impl SessionHandle {
    /// A handle on the actor that reads `cmd` and sends on `status`.
    pub(super) fn new(
        id: String,
        name: String,
        cmd: mpsc::Sender<Command>,
        status: watch::Receiver<SessionInfo>,
        epoch: u64,
        redeliver: mpsc::UnboundedSender<Redelivery>,
    ) -> Self {
        Self {
            id,
            name,
            cmd,
            status,
            epoch,
            redeliver,
        }
    }

    /// Which actor of the session this handle reaches.
    pub(super) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// True when its actor has ended (asleep, killed or stopped).
    pub(super) fn is_closed(&self) -> bool {
        self.cmd.is_closed()
    }

    /// Gives the actor a command; one it can no longer take (it fell asleep)
    /// goes to the registry, which wakes the session and delivers it there.
    pub(super) async fn deliver(&self, command: Command, hops: u8) {
        if let Err(mpsc::error::SendError(command)) = self.cmd.send(command).await {
            hand_back(&self.redeliver, &self.id, command, hops);
        }
    }

    /// The latest summary.
    pub fn info(&self) -> SessionInfo {
        self.status.borrow().clone()
    }

    /// Sends the actor a command built around a reply channel and waits for the
    /// reply; a stopped actor answers that the session has stopped.
    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SessionError> {
        let (reply, rx) = oneshot::channel();
        self.deliver(command(reply), 0).await;
        rx.await.map_err(|_| SessionError::Stopped)
    }

    /// Sends a message; durable when this returns Ok. A request key is stored in
    /// the same transaction as the input.
    pub async fn send(
        &self,
        text: String,
        delivery: Delivery,
        key: Option<KeyRecord>,
    ) -> Result<SendResult, SessionError> {
        self.ask(|reply| Command::Send {
            text,
            delivery,
            key,
            reply,
        })
        .await?
    }

    /// Interrupts the running turn; false when none was running.
    pub async fn interrupt(&self) -> Result<bool, SessionError> {
        self.ask(|reply| Command::Interrupt { reply }).await
    }

    /// Approves or denies pending calls, and with `always` adds a rule first;
    /// returns the call ids decided and the rule.
    pub async fn decide(
        &self,
        call_id: Option<String>,
        all: bool,
        decision: Decision,
        reason: Option<String>,
        always: Option<AlwaysAllow>,
    ) -> Result<DecideResult, SessionError> {
        self.ask(|reply| Command::Decide {
            call_id,
            all,
            decision,
            reason,
            always,
            reply,
        })
        .await?
    }

    /// Answers a tool server's question (issue 14): checked against its form,
    /// recorded, then sent to the server.
    pub async fn answer(
        &self,
        request_id: Option<String>,
        action: tether_shared::event::InputAction,
        content: Option<serde_json::Value>,
    ) -> Result<tether_shared::protocol::AnswerResult, SessionError> {
        self.ask(|reply| Command::Answer {
            request_id,
            action,
            content,
            reply,
        })
        .await?
    }

    /// Removes an "always allow" rule that applies to the session; returns it.
    pub async fn remove_rule(&self, id: u64) -> Result<ApprovalRule, SessionError> {
        self.ask(|reply| Command::RemoveRule { id, reply }).await?
    }

    /// Compacts the session's context now (or, during a turn, before its next
    /// model call); returns what it did.
    pub async fn compact(
        &self,
        instructions: Option<String>,
    ) -> Result<tether_shared::protocol::CompactResult, SessionError> {
        self.ask(|reply| Command::Compact {
            instructions,
            reply,
        })
        .await?
    }

    /// Sets the session's budget; a session stopped on its budget that the new
    /// one lets go on has made its next model call's start when this returns.
    pub async fn set_budget(
        &self,
        budget: tether_shared::event::Budget,
    ) -> Result<SessionInfo, SessionError> {
        self.ask(|reply| Command::Budget { budget, reply }).await?
    }

    /// Cancels a queued input the agent has not taken; false (and nothing
    /// changed) when it is not queued any more.
    pub async fn cancel_input(&self, input_id: i64) -> Result<bool, SessionError> {
        self.ask(|reply| Command::CancelInput { input_id, reply })
            .await?
    }

    /// Fires a schedule (issue 15): its input and the schedule's new state are
    /// stored in one transaction (see [`crate::store::Store::fire_schedule`]),
    /// then the input waits (or joins a turn) like a sent one.
    pub async fn fire(
        &self,
        firing: crate::store::Firing,
    ) -> Result<crate::store::Fired, SessionError> {
        self.ask(|reply| Command::Fire { firing, reply }).await?
    }

    /// Subscribes to live messages.
    pub async fn subscribe(&self) -> Result<Subscription, SessionError> {
        self.ask(|reply| Command::Subscribe { reply }).await
    }

    /// Counts an attached client in or out.
    pub async fn clients(&self, delta: isize) {
        self.deliver(Command::Clients { delta }, 0).await;
    }

    /// Waits until the session settles: idle or failed with nothing queued, or
    /// awaiting approval. Returns the state and whether the timeout passed first;
    /// a session that stops meanwhile (killed) is an error, never a state.
    pub async fn wait(
        &self,
        timeout: Option<Duration>,
    ) -> Result<(SessionState, bool), SessionError> {
        let mut rx = self.status.clone();
        let settled = |i: &SessionInfo| {
            matches!(
                i.state,
                SessionState::AwaitingApproval | SessionState::BudgetExhausted
            ) || (i.state.is_settled() && i.queued_inputs == 0)
        };
        let name = self.name.clone();
        let fut = async move {
            match rx.wait_for(settled).await {
                Ok(info) => Ok(info.state),
                Err(_) => Err(SessionError::StoppedWhileWaiting(name)),
            }
        };
        match timeout {
            Some(t) => match tokio::time::timeout(t, fut).await {
                Ok(state) => Ok((state?, false)),
                Err(_) => Ok((self.info().state, true)),
            },
            None => Ok((fut.await?, false)),
        }
    }

    /// Asks the actor to hand the session to node `to` at its next step
    /// boundary (issue 16).
    pub(super) async fn hand_over(&self, to: String) {
        let _ = self.cmd.send(Command::HandOver { to }).await;
    }

    /// Gives the actor the session's queued inputs as stored; it takes those it
    /// has not seen (stored through another node).
    pub(super) async fn pick_up(&self, inputs: Vec<crate::store::QueuedInput>) {
        self.deliver(Command::Pickup { inputs }, 0).await;
    }

    /// Tells the actor its lease is lost to node `to`: it stops without writing.
    pub(super) async fn moved(&self, to: String) {
        let _ = self.cmd.send(Command::Moved { to }).await;
    }

    /// Stops the actor after it persists what it has; a running turn is left to
    /// resume when the daemon starts again.
    pub async fn stop(&self) {
        let _ = self.ask(|reply| Command::Stop { reply }).await;
    }
}

/// Hands a command an asleep actor cannot serve to the registry, except those
/// that mean nothing to an asleep session: a stop (it is stopped already) and a
/// client leaving (none is attached to an asleep session).
pub(super) fn hand_back(
    redeliver: &mpsc::UnboundedSender<Redelivery>,
    id: &str,
    command: Command,
    hops: u8,
) {
    match command {
        Command::Stop { reply } => {
            let _ = reply.send(());
        }
        Command::Clients { delta } if delta <= 0 => {}
        // Meant for the actor that ended; the next one's lease decides anew.
        Command::HandOver { .. } | Command::Moved { .. } => {}
        command => {
            // Refused only once the registry is gone: the reply is dropped,
            // and the caller hears that the session stopped.
            let _ = redeliver.send(Redelivery {
                id: id.to_string(),
                command,
                hops,
            });
        }
    }
}
