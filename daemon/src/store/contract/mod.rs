//! The store contract: what every [`crate::store::Store`] must do, as cases run against any
//! of them (issue 16). The SQLite store runs them in its unit tests; the
//! PostgreSQL store in `tests/tests/postgres.rs`, on a real server, through the
//! `contract` feature that makes this module public. A case fails by panicking,
//! like any test.
//!
//! Each case gets an [`Opener`] for a new, empty store; calling it again opens
//! the same store afresh (what a restart sees).
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod basics;
mod fixtures;
mod fork;
mod search;

/// A plain session row, for the SQLite store's own tests too.
#[cfg(test)]
pub(crate) use fixtures::row;
pub use fixtures::{Case, Opener, postgres, sqlite};

macro_rules! case {
    ($m:ident :: $f:ident) => {
        (stringify!($f), |o| Box::pin($m::$f(o)))
    };
}

/// Every case, by name.
pub const CASES: &[(&str, Case)] = &[
    case!(basics::create_append_read_and_delete),
    case!(basics::a_failing_op_does_not_spoil_its_batch_neighbours),
    case!(basics::a_request_key_is_stored_with_its_input_and_pruned_when_old),
    case!(basics::concurrent_appends_all_commit_in_order),
    case!(basics::rules_apply_to_their_session_or_project_and_go_with_the_session),
    case!(basics::a_sessions_own_servers_are_kept_with_it),
    case!(basics::process_groups_are_kept_until_removed),
    case!(basics::the_index_keeps_what_a_list_shows),
    case!(search::search_finds_a_sessions_own_events_with_their_seq_and_an_excerpt),
    case!(search::a_query_with_quotes_and_operators_is_text_never_a_syntax_error),
    case!(search::a_person_s_search_is_newest_first_every_word_and_the_last_word_a_prefix),
    case!(search::an_append_that_rolls_back_leaves_nothing_in_the_index),
    case!(search::words_match_without_case_or_diacritics),
    case!(fork::a_fork_copies_the_source_events_verbatim_up_to_its_seq),
    case!(fork::a_fork_stores_nothing_when_its_name_is_taken_or_its_source_is_gone),
];

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_sqlite_store_keeps_the_contract() {
        for (name, case) in super::CASES {
            let dir = tempfile::tempdir().unwrap();
            eprintln!("store contract, sqlite: {name}");
            case(super::sqlite(dir.path().join("s.db"))).await;
        }
    }
}
