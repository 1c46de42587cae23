//! The store-heavy suites again, with every test daemon on PostgreSQL (issue
//! 16: "run the suite against both stores"): each suite is its own module
//! here, compiled from the same file as its SQLite run, and
//! `tether_tests::postgres::suite_on_postgres` is true in this binary (it goes
//! by the binary's name), so every `TestEnv` gets a fresh database of the
//! binary's private server. Cases that damage the SQLite file itself skip
//! here, printing why. `TETHER_TEST_STORE=postgres` does the same for any
//! other suite.

#[path = "agent.rs"]
mod agent;
#[path = "attach.rs"]
mod attach;
#[path = "budget.rs"]
mod budget;
#[path = "cli.rs"]
mod cli;
#[path = "compact_cli.rs"]
mod compact_cli;
#[path = "context.rs"]
mod context;
#[path = "daemon.rs"]
mod daemon;
#[path = "faults.rs"]
mod faults;
#[path = "fork.rs"]
mod fork;
#[path = "history.rs"]
mod history;
#[path = "instructions.rs"]
mod instructions;
#[path = "lazy.rs"]
mod lazy;
#[path = "list_deltas.rs"]
mod list_deltas;
#[path = "reading.rs"]
mod reading;
#[path = "recovery.rs"]
mod recovery;
#[path = "rules.rs"]
mod rules;
#[path = "schedule.rs"]
mod schedule;
#[path = "storage.rs"]
mod storage;
