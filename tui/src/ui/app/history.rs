//! The input history: the messages sent before, walked from the message box.
//! `Up` on its first line and `Down` on its last walk the ones that start with
//! what was typed (as in fish and zsh); `Alt-p` / `Alt-n` walk all of them. Going
//! newer than the newest brings back the draft typed before the walk began.
//!
//! The entries are the session's own `user_message` events (so the history is
//! there after a restart, and holds what other clients sent) and what this TUI
//! sent in this run, to any session.

use tether_shared::{Event, EventKind};

/// Which way a step goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// To an older message.
    Older,
    /// To a newer message, and past the newest to the draft.
    Newer,
}

/// A walk through the history, from the draft in the box when it began.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryWalk {
    /// What was in the box when the walk began, restored past the newest entry.
    draft: String,
    /// Entries shown start with this (empty: every entry).
    prefix: String,
    /// The entry shown now; `None` while the draft shows.
    at: Option<usize>,
    /// What the walk last put in the box. When the box holds something else,
    /// the text was edited since, and the next step starts a new walk from it.
    shown: String,
}

impl HistoryWalk {
    /// One step through `entries` (oldest first) from the box's text `current`;
    /// `by_prefix` keeps to entries that start with the draft. Returns the text
    /// to put in the box, or `None` when there is nothing further that way.
    pub fn step(
        walk: &mut Option<HistoryWalk>,
        entries: &[String],
        current: &str,
        dir: Step,
        by_prefix: bool,
    ) -> Option<String> {
        let w = match walk {
            Some(w) if w.shown == current => w,
            _ => walk.insert(HistoryWalk {
                draft: current.to_string(),
                prefix: if by_prefix {
                    current.to_string()
                } else {
                    String::new()
                },
                at: None,
                shown: current.to_string(),
            }),
        };
        if !by_prefix {
            // Alt-p / Alt-n walk everything, even from inside a prefix walk.
            w.prefix.clear();
        }
        let fits = |e: &String| e.starts_with(&w.prefix) && *e != w.shown;
        let next = match dir {
            Step::Older => {
                let end = w.at.unwrap_or(entries.len()).min(entries.len());
                entries[..end].iter().rposition(fits)
            }
            Step::Newer => {
                let start = w.at? + 1;
                entries
                    .get(start..)
                    .and_then(|rest| rest.iter().position(fits))
                    .map(|i| start + i)
            }
        };
        let text = match (next, dir) {
            (Some(i), _) => {
                w.at = Some(i);
                entries[i].clone()
            }
            (None, Step::Older) => return None,
            (None, Step::Newer) => {
                w.at = None;
                w.draft.clone()
            }
        };
        w.shown.clone_from(&text);
        Some(text)
    }
}

/// The history of a session, oldest first, each text once (at its newest place):
/// what this TUI sent to other sessions, then the session's own messages, then
/// what this TUI sent it that its log does not show yet.
pub fn entries(session_id: &str, events: &[Event], sent: &[(String, String)]) -> Vec<String> {
    let logged: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::UserMessage { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let elsewhere = sent
        .iter()
        .filter(|(s, _)| s != session_id)
        .map(|(_, t)| t.as_str());
    let unlogged = sent
        .iter()
        .filter(|(s, t)| s == session_id && !logged.contains(&t.as_str()))
        .map(|(_, t)| t.as_str());
    let all: Vec<&str> = elsewhere
        .chain(logged.iter().copied())
        .chain(unlogged)
        .filter(|t| !t.trim().is_empty())
        .collect();
    let mut out: Vec<String> = Vec::with_capacity(all.len());
    for (i, t) in all.iter().enumerate() {
        if !all[i + 1..].contains(t) {
            out.push((*t).to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_shared::Delivery;

    fn hist(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Steps from `current`, updating it as the box would.
    fn walk(
        w: &mut Option<HistoryWalk>,
        e: &[String],
        current: &mut String,
        dir: Step,
        by_prefix: bool,
    ) -> bool {
        match HistoryWalk::step(w, e, current, dir, by_prefix) {
            Some(t) => {
                *current = t;
                true
            }
            None => false,
        }
    }

    #[test]
    fn a_prefix_walk_shows_only_entries_that_start_with_the_draft() {
        let e = hist(&[
            "git status",
            "cargo test",
            "git log",
            "cargo build",
            "git diff",
        ]);
        let mut w = None;
        let mut box_text = "git".to_string();
        assert!(walk(&mut w, &e, &mut box_text, Step::Older, true));
        assert_eq!(box_text, "git diff");
        walk(&mut w, &e, &mut box_text, Step::Older, true);
        assert_eq!(box_text, "git log");
        walk(&mut w, &e, &mut box_text, Step::Older, true);
        assert_eq!(box_text, "git status");
        assert!(
            !walk(&mut w, &e, &mut box_text, Step::Older, true),
            "nothing older"
        );
        assert_eq!(box_text, "git status");
        walk(&mut w, &e, &mut box_text, Step::Newer, true);
        assert_eq!(box_text, "git log");
        walk(&mut w, &e, &mut box_text, Step::Newer, true);
        assert_eq!(box_text, "git diff");
        // Past the newest: the draft as it was typed.
        walk(&mut w, &e, &mut box_text, Step::Newer, true);
        assert_eq!(box_text, "git");
        assert!(
            !walk(&mut w, &e, &mut box_text, Step::Newer, true),
            "already at the draft"
        );
    }

    #[test]
    fn no_match_changes_nothing() {
        let e = hist(&["hello", "world"]);
        let mut w = None;
        let mut box_text = "zzz".to_string();
        assert!(!walk(&mut w, &e, &mut box_text, Step::Older, true));
        assert_eq!(box_text, "zzz");
        assert!(!walk(&mut w, &e, &mut box_text, Step::Newer, true));
    }

    #[test]
    fn the_whole_walk_ignores_the_text_and_starts_from_an_empty_box() {
        let e = hist(&["one", "two", "three"]);
        let mut w = None;
        let mut box_text = String::new();
        walk(&mut w, &e, &mut box_text, Step::Older, false);
        assert_eq!(box_text, "three");
        walk(&mut w, &e, &mut box_text, Step::Older, false);
        assert_eq!(box_text, "two");
        // Up continues the same walk: the text is what the walk put there.
        walk(&mut w, &e, &mut box_text, Step::Older, true);
        assert_eq!(box_text, "one");
        walk(&mut w, &e, &mut box_text, Step::Newer, false);
        walk(&mut w, &e, &mut box_text, Step::Newer, false);
        walk(&mut w, &e, &mut box_text, Step::Newer, false);
        assert_eq!(box_text, "", "back to the empty draft");
    }

    #[test]
    fn alt_p_inside_a_prefix_walk_widens_it() {
        let e = hist(&["abc", "xyz", "abd"]);
        let mut w = None;
        let mut box_text = "ab".to_string();
        walk(&mut w, &e, &mut box_text, Step::Older, true);
        assert_eq!(box_text, "abd");
        walk(&mut w, &e, &mut box_text, Step::Older, false);
        assert_eq!(box_text, "xyz");
        walk(&mut w, &e, &mut box_text, Step::Newer, false);
        walk(&mut w, &e, &mut box_text, Step::Newer, false);
        assert_eq!(box_text, "ab", "the draft of the walk comes back");
    }

    #[test]
    fn an_edit_starts_a_new_walk_from_the_edited_text() {
        let e = hist(&["make test", "make build", "cargo run"]);
        let mut w = None;
        let mut box_text = "make".to_string();
        walk(&mut w, &e, &mut box_text, Step::Older, true);
        assert_eq!(box_text, "make build");
        box_text = "make t".to_string(); // edited
        walk(&mut w, &e, &mut box_text, Step::Older, true);
        assert_eq!(box_text, "make test");
        walk(&mut w, &e, &mut box_text, Step::Newer, true);
        assert_eq!(box_text, "make t", "the new draft");
    }

    #[test]
    fn the_draft_itself_is_skipped() {
        // The newest entry equals what is typed: the step shows the one before.
        let e = hist(&["fix it", "fix"]);
        let mut w = None;
        let mut box_text = "fix".to_string();
        walk(&mut w, &e, &mut box_text, Step::Older, true);
        assert_eq!(box_text, "fix it");
    }

    fn user(seq: u64, text: &str) -> Event {
        Event {
            seq,
            ts: String::new(),
            kind: EventKind::UserMessage {
                text: text.into(),
                delivery: Delivery::Queue,
            },
        }
    }

    #[test]
    fn entries_merge_the_log_and_this_run_each_once() {
        let events = vec![
            user(1, "from the log"),
            Event {
                seq: 2,
                ts: String::new(),
                kind: EventKind::TurnCompleted,
            },
            user(3, "again"),
            user(4, "from another client"),
            user(5, "again"),
        ];
        let sent = vec![
            ("other".to_string(), "to another session".to_string()),
            ("me".to_string(), "from the log".to_string()),
            ("me".to_string(), "not echoed yet".to_string()),
            ("me".to_string(), "  ".to_string()),
        ];
        assert_eq!(
            entries("me", &events, &sent),
            hist(&[
                "to another session",
                "from the log",
                "from another client",
                "again",
                "not echoed yet",
            ])
        );
    }
}
