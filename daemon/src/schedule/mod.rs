//! Schedules and file triggers (issue 15): agents that work on their own.
//!
//! - `rule.rs`: durations, zones, and when a rule fires next;
//! - `cron.rs`: five-field cron expressions;
//! - `triggers.rs`: file triggers (a debounced recursive watch and a glob);
//! - `clock.rs`: the injectable clock;
//! - `scheduler.rs`: [`Scheduler`], the task that fires them.
//!
//! A firing goes through the session's actor (waking an asleep session only
//! then: a schedule is no reason to keep a session awake), which stores the
//! input and the schedule's next run in one transaction.

pub mod clock;
mod cron;
mod rule;
mod scheduler;
mod triggers;

#[cfg(test)]
mod tests;

pub use clock::SystemClock;
pub use scheduler::{ScheduleError, Scheduler};
