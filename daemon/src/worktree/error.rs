//! Why no worktree was made (issue 15).

/// Why no worktree was made. Each text is one line that says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorktreeError {
    /// `git` is not on the daemon's PATH.
    #[error("--worktree needs git, and git is not installed (or not on the daemon's PATH)")]
    GitMissing,
    /// The directory is not inside a git work tree.
    #[error("{0} is not inside a git repository; give -C a directory of one (or drop --worktree)")]
    NotARepo(String),
    /// The repository has no commit for a branch to start from.
    #[error("the repository {0} has no commit yet; commit once, or give --base")]
    NoCommit(String),
    /// The branch the session would get exists already.
    #[error(
        "branch {branch} already exists in {repo}; pick another session name with -n (`git worktree list` shows where it is checked out; `git branch -D {branch}` deletes it)"
    )]
    BranchExists {
        /// `tether/NAME`.
        branch: String,
        /// The repository.
        repo: String,
    },
    /// `tether/NAME` is not a name git accepts for a branch.
    #[error("{0} is not a valid git branch name; pick another session name with -n")]
    BadBranch(String),
    /// `--base` names nothing git knows.
    #[error("base branch {base:?} not found in {repo}; `git -C {repo} branch` lists the branches")]
    BaseNotFound {
        /// What was asked for.
        base: String,
        /// The repository.
        repo: String,
    },
    /// Something is in the way where the worktree would go.
    #[error("worktree path {0} already exists; remove it, or pick another session name with -n")]
    PathExists(String),
    /// `[worktrees] dir` cannot be used.
    #[error("[worktrees] dir {0}: cannot create it: {1}")]
    BadDir(String, String),
    /// git failed; its message.
    #[error("git: {0}")]
    Git(String),
}
