//! A git worktree per session (issue 15): what `session.create` asks for, what a
//! session's summary shows of it, and what `session.kill` did with it.

use serde::{Deserialize, Serialize};

/// `session.create`'s `worktree`: give the session a git worktree of the
/// repository that holds `cwd`, on a new branch `tether/NAME`, and make that
/// worktree its working directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorktreeParams {
    /// The branch (or any commit git can name) the new branch starts from; the
    /// repository's current `HEAD` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
}

/// A session's git worktree, in its summary (`ls --json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorktreeInfo {
    /// The worktree's directory: the session's `cwd`.
    pub path: String,
    /// Its branch, `tether/NAME`.
    pub branch: String,
    /// The top directory of the repository it was made from.
    pub repo: String,
    /// The commit the branch started from (full hex id).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub base_commit: String,
}

/// What `session.kill` did with the session's worktree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorktreeOutcome {
    /// The worktree's directory.
    pub path: String,
    /// Its branch.
    pub branch: String,
    /// True when the worktree and its branch were removed; false when they were
    /// kept (see `reason`).
    pub removed: bool,
    /// Why they were kept: uncommitted changes, commits on no other branch, or
    /// what git said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When kept: the shell command that removes both, changes and all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_command: Option<String>,
}
