//! Approval rules: which tool calls run, which are refused and which ask a person.

use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

/// What to do with a tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Ask a person.
    Ask,
    /// Run it.
    Allow,
    /// Refuse it; the model is told.
    Deny,
}

/// Approval rules: `deny` globs win over `allow` globs; the rest gets `default`.
///
/// Without an explicit `allow` list, the built-in rule lets `read_file` and `list_dir`
/// run without asking, but only on paths inside the session's working directory
/// (elsewhere they get `default` like any other tool), and `history_search` and
/// `history_read`, which read only the session's own log.
#[derive(Debug, Clone)]
pub struct Approvals {
    /// For tools that no glob matches.
    pub default: Policy,
    allow: GlobSet,
    deny: GlobSet,
    /// True when `allow` was not given, so the built-in rule applies.
    builtin_allow: bool,
}

impl Approvals {
    /// Builds the rules from glob lists; `allow: None` means the built-in rule.
    pub fn new(default: Policy, allow: Option<&[String]>, deny: &[String]) -> Result<Self, String> {
        Ok(Approvals {
            default,
            allow: glob_set(allow.unwrap_or_default())?,
            deny: glob_set(deny)?,
            builtin_allow: allow.is_none(),
        })
    }

    /// The policy for a call of `tool` with `arguments` in a session working in `cwd`.
    /// It may look at the file system (to resolve a path), so call it off the actor's
    /// hot path for many calls.
    pub fn decide(&self, tool: &str, arguments: &serde_json::Value, cwd: &Path) -> Policy {
        if self.deny.is_match(tool) {
            Policy::Deny
        } else if self.allow.is_match(tool)
            || (self.builtin_allow
                && crate::tools::builtin::scope::read_only_call_inside(tool, arguments, cwd))
        {
            Policy::Allow
        } else {
            self.default
        }
    }
}

impl Approvals {
    /// The policy for a tool server's sampling request (issue 14), matched as
    /// `sampling:SERVER` against the globs. Unmatched, it asks whatever `default`
    /// says: it spends the session's budget on a prompt a server wrote.
    pub fn decide_sampling(&self, server: &str) -> Policy {
        let name = format!("sampling:{server}");
        if self.deny.is_match(&name) {
            Policy::Deny
        } else if self.allow.is_match(&name) {
            Policy::Allow
        } else {
            Policy::Ask
        }
    }
}

fn glob_set(patterns: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).map_err(|e| format!("bad glob {p:?}: {e}"))?);
    }
    b.build().map_err(|e| e.to_string())
}

/// The rules when the config gives none: ask, except for the built-in rule.
pub(super) fn default_approvals() -> Approvals {
    Approvals {
        default: Policy::Ask,
        allow: GlobSet::empty(),
        deny: GlobSet::empty(),
        builtin_allow: true,
    }
}
