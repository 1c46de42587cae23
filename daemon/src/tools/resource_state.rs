//! What tether keeps of one server's resources: what it offers, its resource list
//! (refreshed on `notifications/resources/list_changed`), the resources it
//! subscribed to, who read each one, and the updates each session is still to be
//! told of.
//!
//! How an update reaches the model (issue 14): a session that reads a resource
//! with `mcp_read_resource` makes tether subscribe to it (when the server offers
//! subscriptions). On `notifications/resources/updated` the server's supervisor
//! reads it again, as the spec suggests; when the contents differ from what the
//! session was last given, the session is owed a note, which is appended to the
//! next tool result it gets (any tool), so it is in the log and in the model's
//! context at the next step, never as a message of its own in the middle of a
//! turn.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use rmcp::model::{ReadResourceResult, Resource};

use crate::tools::mcp::Offers;

/// One server's resources, as tether follows them.
#[derive(Debug, Default)]
pub(super) struct ResourceState {
    /// What the server declared in `initialize`.
    pub(super) offers: Offers,
    /// `resources/list` as last listed.
    pub(super) list: Vec<Resource>,
    /// URIs tether subscribed to.
    pub(super) subscribed: BTreeSet<String>,
    /// URI -> digest of the contents each session last read.
    pub(super) read: BTreeMap<String, BTreeMap<String, u64>>,
    /// Session -> the URIs whose update it is still to be told of.
    pub(super) owed: BTreeMap<String, BTreeSet<String>>,
}

impl ResourceState {
    /// Records that `session` read `uri` and was given `contents`; nothing is
    /// owed it for that resource any more.
    pub(super) fn read_by(&mut self, session: &str, uri: &str, contents: &ReadResourceResult) {
        self.read
            .entry(uri.to_string())
            .or_default()
            .insert(session.to_string(), digest(contents));
        if let Some(owed) = self.owed.get_mut(session) {
            owed.remove(uri);
        }
    }

    /// The resource changed to `contents`: every session that read something
    /// else is owed a note. Returns how many sessions are.
    pub(super) fn updated(&mut self, uri: &str, contents: &ReadResourceResult) -> usize {
        let now = digest(contents);
        let Some(readers) = self.read.get(uri) else {
            return 0;
        };
        let mut n = 0;
        for (session, seen) in readers {
            if *seen != now {
                self.owed
                    .entry(session.clone())
                    .or_default()
                    .insert(uri.to_string());
                n += 1;
            }
        }
        n
    }

    /// Takes the URIs `session` is owed a note of.
    pub(super) fn take_owed(&mut self, session: &str) -> BTreeSet<String> {
        self.owed.remove(session).unwrap_or_default()
    }

    /// Forgets a session (detached).
    pub(super) fn forget(&mut self, session: &str) {
        self.owed.remove(session);
        for readers in self.read.values_mut() {
            readers.remove(session);
        }
    }
}

/// A digest of a resource's contents, to tell a real change from a repeat.
fn digest(contents: &ReadResourceResult) -> u64 {
    let mut h = DefaultHasher::new();
    serde_json::to_string(&contents.contents)
        .unwrap_or_default()
        .hash(&mut h);
    h.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn contents(text: &str) -> ReadResourceResult {
        serde_json::from_value(serde_json::json!({
            "contents": [{"uri": "x://a", "text": text}]
        }))
        .unwrap()
    }

    #[test]
    fn only_sessions_that_saw_other_contents_are_owed_a_note() {
        let mut st = ResourceState::default();
        st.read_by("s1", "x://a", &contents("one"));
        st.read_by("s2", "x://a", &contents("two"));
        assert_eq!(st.updated("x://a", &contents("two")), 1);
        assert_eq!(st.take_owed("s1"), BTreeSet::from(["x://a".to_string()]));
        assert!(st.take_owed("s1").is_empty(), "a note is given once");
        assert!(st.take_owed("s2").is_empty());
        assert_eq!(st.updated("x://other", &contents("x")), 0);
    }

    #[test]
    fn reading_again_settles_what_was_owed() {
        let mut st = ResourceState::default();
        st.read_by("s1", "x://a", &contents("one"));
        st.updated("x://a", &contents("two"));
        st.read_by("s1", "x://a", &contents("two"));
        assert!(st.take_owed("s1").is_empty());
        st.updated("x://a", &contents("three"));
        st.forget("s1");
        assert!(st.take_owed("s1").is_empty());
        assert_eq!(st.updated("x://a", &contents("four")), 0);
    }
}
