//! Budgets that pause, not kill (issue 10): before each model call of a turn the
//! session's spending is checked against its budget; a session that reached it
//! records `budget_exhausted`, goes to the state of that name and keeps its turn
//! open, waiting with nothing running. Raising the budget (`tether budget`)
//! continues the same turn with its next model call. These are `SessionActor`
//! methods.

use tether_shared::event::{Budget, Spent};
use tether_shared::protocol::SessionInfo;
use tether_shared::{EventKind, SessionState};
use tracing::info;

use super::actor::SessionActor;
use super::error::SessionError;
use super::turn::{Phase, Turn};

/// Refuses a budget that is not a positive amount.
pub(super) fn check(
    max_tokens: Option<u64>,
    max_cost_usd: Option<f64>,
) -> Result<(), SessionError> {
    if max_tokens == Some(0) {
        return Err(SessionError::BadBudget(
            "a token budget must be a positive number of tokens".into(),
        ));
    }
    if let Some(c) = max_cost_usd
        && !(c.is_finite() && c > 0.0)
    {
        return Err(SessionError::BadBudget(format!(
            "a cost budget must be a positive amount of US dollars, not {c}"
        )));
    }
    Ok(())
}

impl SessionActor {
    /// What the session has spent: input (cached included) and output tokens as
    /// reported, and their cost by the price table.
    pub(super) fn spent(&self) -> Spent {
        Spent {
            tokens: self.row.usage.prompt_tokens + self.row.usage.completion_tokens,
            cost_usd: self.row.cost_usd,
        }
    }

    fn stopped_on_budget(&self) -> bool {
        matches!(
            self.turn,
            Some(Turn {
                phase: Phase::Budget,
                ..
            })
        )
    }

    /// Called before a model call of the running turn: true (and the turn
    /// stopped, recorded once) when the session has reached its budget.
    pub(super) async fn stop_on_budget(&mut self) -> bool {
        let spent = self.spent();
        let limit = self.row.budget;
        if !limit.reached(&spent) {
            return false;
        }
        let Some(turn) = self.turn.as_mut() else {
            return false;
        };
        turn.phase = Phase::Budget;
        if self.state != SessionState::BudgetExhausted {
            info!(
                tokens = spent.tokens,
                cost_usd = spent.cost_usd,
                "budget reached; the turn waits"
            );
            let mut kinds = vec![EventKind::BudgetExhausted { spent, limit }];
            self.state_change(SessionState::BudgetExhausted, &mut kinds);
            self.persist(kinds, vec![], None).await;
        }
        true
    }

    /// A turn stopped on the budget goes on with its next model call, if the
    /// budget now allows it.
    pub(super) async fn go_on_if_budget_allows(&mut self) {
        if !self.stopped_on_budget() || self.row.budget.reached(&self.spent()) {
            return;
        }
        let mut kinds = Vec::new();
        self.state_change(SessionState::Running, &mut kinds);
        if !self.persist(kinds, vec![], None).await {
            return;
        }
        if let Some(t) = self.turn.as_mut() {
            t.phase = Phase::Model;
        }
        info!("budget raised; the turn goes on");
        self.model_step().await;
    }

    /// `tether budget`: stores the new budget, then lets a turn stopped on the
    /// old one go on if the new one allows.
    pub(super) async fn set_budget(&mut self, budget: Budget) -> Result<SessionInfo, SessionError> {
        check(budget.max_tokens, budget.max_cost_usd)?;
        self.shared
            .store
            .set_budget(&self.row.id, budget)
            .await
            .map_err(SessionError::BudgetNotStored)?;
        self.row.budget = budget;
        self.publish_status();
        self.go_on_if_budget_allows().await;
        Ok(self.info())
    }

    /// After a restart: a turn that was stopped on its budget stays stopped
    /// (nothing to resume, no call was cut short) until the budget allows it.
    /// False when the open turn was not stopped on the budget.
    pub(super) async fn recover_budget_stop(&mut self, open: &super::machine::OpenTurn) -> bool {
        if self.state != SessionState::BudgetExhausted
            || !super::machine::unfinished(&open.step).is_empty()
            || !open.step.pending().is_empty()
        {
            return false;
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        self.turn = Some(Turn::new(
            generation,
            self.cancel.child_token(),
            Phase::Budget,
        ));
        info!("the turn stays stopped on its budget after the restart");
        self.go_on_if_budget_allows().await;
        true
    }
}
