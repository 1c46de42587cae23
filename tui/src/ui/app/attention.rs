//! Who needs a person: the sessions that wait for an approval, failed, or ran
//! out of budget; since when each has (the order the jump key, the picker and
//! the list follow); the transitions that ring the bell; and the waiting
//! calls' details, fetched from the daemon's log, for the picker and the
//! list's approval prompt.
//!
//! Everything here follows the session list the daemon pushes
//! (`sessions.changed` applied to the list, or a whole `sessions.updated`), which
//! covers every session, the one on screen too.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use tether_shared::protocol::SessionInfo;
use tether_shared::{Event, EventKind, SessionState};

/// True for the states in which a session waits for a person.
pub fn needs_person(s: SessionState) -> bool {
    matches!(
        s,
        SessionState::AwaitingApproval | SessionState::Failed | SessionState::BudgetExhausted
    )
}

/// Whether sessions that `started` needing a person ring the bell: one that is
/// not on screen does; the one on screen does only while the terminal is not
/// focused (the person is looking elsewhere).
pub fn rings(started: &[String], on_screen: Option<&str>, focused: bool, enabled: bool) -> bool {
    enabled
        && started
            .iter()
            .any(|id| Some(id.as_str()) != on_screen || !focused)
}

/// A tool call that waits for approval, as its events describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCall {
    /// The call.
    pub call_id: String,
    /// Its tool.
    pub tool: String,
    /// Its arguments, compact JSON.
    pub args: String,
    /// The daemon's diff of the change, for file tools.
    pub diff: Option<String>,
}

impl PendingCall {
    /// The call in one line: `shell: rm -rf target`, `write_file: NOTES.md`,
    /// else the tool and its arguments. Control characters show as escapes.
    pub fn one_line(&self, max: usize) -> String {
        let value: Option<Value> = serde_json::from_str(&self.args).ok();
        let arg = |name: &str| {
            value
                .as_ref()
                .and_then(|v| v.get(name))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let what = match self.tool.as_str() {
            "shell" => arg("command"),
            "write_file" | "edit_file" | "read_file" | "list_dir" => arg("path"),
            _ => None,
        }
        .unwrap_or_else(|| self.args.clone());
        let text = format!("{}: {what}", self.tool);
        crate::render::one_line(&crate::ui::widgets::visible::visible(&text), max)
    }
}

/// What the TUI knows about who needs a person.
#[derive(Debug, Default)]
pub struct Attention {
    /// Each session's state and waiting calls in the last list; `None` before
    /// the first list.
    known: Option<HashMap<String, (SessionState, Vec<String>)>>,
    /// Since when each session that needs a person has: the daemon's
    /// `waiting_since`, else its `updated_at` when the list first showed it so
    /// (RFC 3339 UTC, so it sorts as text).
    since: HashMap<String, String>,
    /// Waiting calls by (session id, call id); `None` when the session's log
    /// did not have them.
    calls: HashMap<(String, String), Option<PendingCall>>,
    /// Sessions whose calls are being fetched, with the calls asked about.
    fetching: HashMap<String, Vec<String>>,
}

impl Attention {
    /// Takes a new session list. Returns the sessions that started needing a
    /// person with it: a state that changed into one that needs a person, or a
    /// new call that waits. The first list returns none: those sessions were
    /// waiting before the TUI came, and nothing says when they started.
    pub fn observe(&mut self, list: &[SessionInfo]) -> Vec<String> {
        let first = self.known.is_none();
        let known = self.known.get_or_insert_with(HashMap::new);
        let mut started = Vec::new();
        for s in list {
            let before = known.insert(s.id.clone(), (s.state, s.pending_approvals.clone()));
            if !needs_person(s.state) {
                self.since.remove(&s.id);
                continue;
            }
            let changed = match &before {
                None => true,
                Some((state, calls)) => {
                    *state != s.state || s.pending_approvals.iter().any(|c| !calls.contains(c))
                }
            };
            if changed && !first {
                started.push(s.id.clone());
            }
            // The daemon's own record when it has one (it survives restarts).
            if let Some(since) = &s.waiting_since {
                self.since.insert(s.id.clone(), since.clone());
            } else if changed || !self.since.contains_key(&s.id) {
                self.since.insert(s.id.clone(), s.updated_at.clone());
            }
        }
        let ids: HashSet<&str> = list.iter().map(|s| s.id.as_str()).collect();
        known.retain(|id, _| ids.contains(id.as_str()));
        self.since.retain(|id, _| ids.contains(id.as_str()));
        self.fetching.retain(|id, _| ids.contains(id.as_str()));
        self.calls.retain(|(sid, cid), _| {
            list.iter()
                .any(|s| s.id == *sid && s.pending_approvals.contains(cid))
        });
        started
    }

    /// Sessions that need a person, the one that has waited longest first.
    pub fn waiting<'a>(&self, list: &'a [SessionInfo]) -> Vec<&'a SessionInfo> {
        let mut out: Vec<&SessionInfo> = list.iter().filter(|s| needs_person(s.state)).collect();
        out.sort_by(|a, b| self.since_of(a).cmp(self.since_of(b)));
        out
    }

    /// Orders sessions the way the list and the picker show them: those that
    /// need a person first, the longest waiting first; the others after them,
    /// in the order given.
    pub fn sort(&self, sessions: &mut [&SessionInfo]) {
        sessions.sort_by(
            |a, b| match (needs_person(a.state), needs_person(b.state)) {
                (true, true) => self.since_of(a).cmp(self.since_of(b)),
                (true, false) => std::cmp::Ordering::Less,
                (false, true) => std::cmp::Ordering::Greater,
                (false, false) => std::cmp::Ordering::Equal,
            },
        );
    }

    fn since_of<'a>(&'a self, s: &'a SessionInfo) -> &'a str {
        self.since.get(&s.id).unwrap_or(&s.updated_at)
    }

    /// The sessions whose waiting calls the app should fetch now, with the seq
    /// to read back from: those with a call not known yet and no fetch under way.
    pub fn to_fetch(&mut self, list: &[SessionInfo]) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for s in list {
            if self.fetching.contains_key(&s.id) {
                continue;
            }
            let unknown: Vec<String> = s
                .pending_approvals
                .iter()
                .filter(|c| !self.calls.contains_key(&(s.id.clone(), (*c).clone())))
                .cloned()
                .collect();
            if unknown.is_empty() {
                continue;
            }
            self.fetching.insert(s.id.clone(), unknown);
            out.push((s.id.clone(), s.last_seq + 1));
        }
        out
    }

    /// The events fetched for `session`'s waiting calls arrived: the calls
    /// asked about are known from now on, found or not. `None`: the request
    /// failed, and the next list asks again.
    pub fn fetched(&mut self, session: &str, events: Option<&[Event]>) {
        let Some(asked) = self.fetching.remove(session) else {
            return;
        };
        let Some(events) = events else {
            return;
        };
        for call_id in asked {
            let mut call: Option<PendingCall> = None;
            for e in events {
                match &e.kind {
                    EventKind::ToolCall {
                        call_id: id,
                        tool,
                        arguments,
                        ..
                    } if *id == call_id => {
                        call = Some(PendingCall {
                            call_id: id.clone(),
                            tool: tool.clone(),
                            args: arguments.to_string(),
                            diff: None,
                        });
                    }
                    EventKind::ApprovalRequested {
                        call_id: id, diff, ..
                    } if *id == call_id => {
                        if let Some(c) = call.as_mut() {
                            c.diff.clone_from(diff);
                        }
                    }
                    _ => {}
                }
            }
            self.calls.insert((session.to_string(), call_id), call);
        }
    }

    /// A waiting call's details: `None` while unknown, `Some(None)` when the
    /// session's log did not have them.
    pub fn call(&self, session: &str, call_id: &str) -> Option<Option<&PendingCall>> {
        self.calls
            .get(&(session.to_string(), call_id.to_string()))
            .map(Option::as_ref)
    }

    /// The connection was (re)made: requests under way are lost.
    pub fn reconnected(&mut self) {
        self.fetching.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_shared::Usage;

    fn s(id: &str, state: SessionState, updated: &str, calls: &[&str]) -> SessionInfo {
        SessionInfo {
            id: id.into(),
            name: id.into(),
            state,
            model: "m/m".into(),
            cwd: "/".into(),
            created_at: "2026-03-01T09:00:00.000Z".into(),
            updated_at: updated.into(),
            pending_approvals: calls.iter().map(|c| c.to_string()).collect(),
            queued_inputs: 0,
            attached_clients: 0,
            last_seq: 10,
            usage: Usage::default(),
            instructions: None,
            last_error: None,
            context_tokens: 0,
            context_window: 0,
            budget: Default::default(),
            cost_usd: 0.0,
            cost_basis: Default::default(),
            waiting_since: None,
            pending_inputs: Vec::new(),
            worktree: None,
            node: None,
            portable: false,
        }
    }

    const T1: &str = "2026-03-01T10:00:01.000Z";
    const T2: &str = "2026-03-01T10:00:02.000Z";
    const T3: &str = "2026-03-01T10:00:03.000Z";

    use SessionState::{AwaitingApproval, BudgetExhausted, Failed, Idle, Running};

    #[test]
    fn the_first_list_starts_nothing_and_a_transition_starts_once() {
        let mut a = Attention::default();
        let started = a.observe(&[s("a", AwaitingApproval, T1, &["c1"]), s("b", Idle, T1, &[])]);
        assert!(
            started.is_empty(),
            "waiting before the TUI came: {started:?}"
        );
        assert!(
            a.observe(&[
                s("a", AwaitingApproval, T1, &["c1"]),
                s("b", Running, T2, &[])
            ])
            .is_empty()
        );
        let started = a.observe(&[
            s("a", AwaitingApproval, T1, &["c1"]),
            s("b", AwaitingApproval, T3, &["c2"]),
        ]);
        assert_eq!(started, ["b"]);
        // The same state again (another client attached, tokens moved): no transition.
        assert!(
            a.observe(&[
                s("a", AwaitingApproval, T1, &["c1"]),
                s("b", AwaitingApproval, T3, &["c2"])
            ])
            .is_empty()
        );
        // Every state that needs a person counts.
        for state in [Failed, BudgetExhausted] {
            a.observe(&[s("b", Running, T1, &[])]);
            assert_eq!(a.observe(&[s("b", state, T2, &[])]), ["b"], "{state:?}");
        }
        assert!(a.observe(&[s("b", Idle, T3, &[])]).is_empty());
    }

    #[test]
    fn a_new_waiting_call_is_a_new_wait_and_a_decided_one_is_not() {
        let mut a = Attention::default();
        a.observe(&[s("a", Running, T1, &[])]);
        assert_eq!(
            a.observe(&[s("a", AwaitingApproval, T1, &["c1", "c2"])]),
            ["a"]
        );
        // One of two decided: still waiting, for a call it already asked about.
        assert!(
            a.observe(&[s("a", AwaitingApproval, T2, &["c2"])])
                .is_empty()
        );
        // Approved and the next call asked within one coalesced update.
        assert_eq!(a.observe(&[s("a", AwaitingApproval, T3, &["c3"])]), ["a"]);
    }

    #[test]
    fn a_session_that_appears_waiting_after_the_first_list_started_waiting() {
        let mut a = Attention::default();
        a.observe(&[]);
        assert_eq!(
            a.observe(&[s("new", AwaitingApproval, T1, &["c"])]),
            ["new"]
        );
    }

    #[test]
    fn the_bell_rings_for_another_session_or_for_this_one_unfocused() {
        let b = vec!["b".to_string()];
        // Another session starts waiting: bell, focused or not.
        assert!(rings(&b, Some("a"), true, true));
        assert!(rings(&b, Some("a"), false, true));
        assert!(
            rings(&b, None, true, true),
            "on the list, any session rings"
        );
        // The session on screen, with the terminal focused: the person sees it.
        assert!(!rings(&b, Some("b"), true, true));
        // Not focused: the person is elsewhere.
        assert!(rings(&b, Some("b"), false, true));
        // `[tui] bell = false`: never.
        assert!(!rings(&b, Some("a"), false, false));
        assert!(!rings(&b, Some("b"), false, false));
        // No transition: no bell.
        assert!(!rings(&[], Some("a"), false, true));
    }

    #[test]
    fn the_longest_waiting_comes_first_in_waiting_and_in_the_sorted_list() {
        let mut a = Attention::default();
        let idle = s("idle", Idle, T1, &[]);
        let list = vec![
            idle.clone(),
            s("late", Running, T1, &[]),
            s("early", Running, T1, &[]),
        ];
        a.observe(&list);
        let list = vec![
            idle.clone(),
            s("late", Running, T1, &[]),
            s("early", Failed, T2, &[]),
        ];
        a.observe(&list);
        // Later updates of a waiting session do not make it younger.
        let list = vec![
            idle.clone(),
            s("late", AwaitingApproval, T3, &["c"]),
            s("early", Failed, T3, &[]),
        ];
        a.observe(&list);
        let names: Vec<&str> = a.waiting(&list).iter().map(|s| s.id.as_str()).collect();
        assert_eq!(names, ["early", "late"]);
        let mut all: Vec<&SessionInfo> = list.iter().collect();
        a.sort(&mut all);
        let names: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(names, ["early", "late", "idle"]);
    }

    #[test]
    fn waiting_calls_are_fetched_once_and_found_in_the_events() {
        let mut a = Attention::default();
        let list = vec![s("a", AwaitingApproval, T1, &["c1"])];
        a.observe(&list);
        assert_eq!(a.to_fetch(&list), [("a".to_string(), 11)]);
        assert!(a.to_fetch(&list).is_empty(), "one fetch at a time");
        assert_eq!(a.call("a", "c1"), None);
        let events = vec![
            Event {
                seq: 8,
                ts: T1.into(),
                kind: EventKind::ToolCall {
                    call_id: "c1".into(),
                    tool: "shell".into(),
                    arguments: serde_json::json!({"command": "rm -rf\ttarget"}),
                    rule: None,
                },
            },
            Event {
                seq: 9,
                ts: T1.into(),
                kind: EventKind::ApprovalRequested {
                    call_id: "c1".into(),
                    tool: "shell".into(),
                    diff: None,
                },
            },
        ];
        a.fetched("a", Some(&events));
        let call = a.call("a", "c1").flatten().expect("found");
        assert_eq!(call.tool, "shell");
        assert_eq!(call.one_line(40), "shell: rm -rf target");
        assert!(a.to_fetch(&list).is_empty(), "known now");
        // A call the log does not have is known as missing, not asked again.
        let list = vec![s("a", AwaitingApproval, T2, &["c1", "c9"])];
        a.observe(&list);
        assert_eq!(a.to_fetch(&list).len(), 1);
        a.fetched("a", None);
        assert_eq!(a.call("a", "c9"), None, "a failed fetch is asked again");
        assert_eq!(a.to_fetch(&list).len(), 1);
        a.fetched("a", Some(&[]));
        assert_eq!(a.call("a", "c9"), Some(None));
        assert!(a.to_fetch(&list).is_empty());
        // Decided calls are forgotten.
        a.observe(&[s("a", Running, T3, &[])]);
        assert_eq!(a.call("a", "c1"), None);
    }
}
