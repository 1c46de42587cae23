//! A git worktree per session (issue 15): `session.create` with `worktree`
//! makes one on a new branch `tether/NAME` and the session works in it;
//! `session.kill` removes it again only when nothing in it would be lost.
//!
//! The daemon runs git (the real CLI, `git.rs`), since it owns the sessions:
//! a client on another machine gets the same. Where a worktree goes: under
//! `[worktrees] dir` when the config sets it (`DIR/REPO-BASENAME/NAME`), else
//! inside the repository (`REPO/.tether/worktrees/NAME`, with `/.tether/` added
//! to the repository's `info/exclude` so the repository's own `git status`
//! stays clean).

mod error;
mod git;

pub use error::WorktreeError;

use std::path::{Path, PathBuf};

use tether_shared::protocol::{WorktreeInfo, WorktreeOutcome};
use tracing::{info, warn};

/// The branch of session `name`'s worktree.
pub fn branch_of(name: &str) -> String {
    format!("tether/{name}")
}

/// Whether the repository that holds `dir` has the branch session `name`'s
/// worktree would get (false when `dir` is in no repository, or git is missing:
/// [`create`] says so then).
pub async fn branch_exists(dir: &Path, name: &str) -> bool {
    let full = format!("refs/heads/{}", branch_of(name));
    git::run(dir, &["rev-parse", "--verify", "--quiet", &full])
        .await
        .is_ok_and(|o| o.ok)
}

/// Makes the worktree of session `name` for the repository that holds `cwd`,
/// on a new branch `tether/NAME` from `base` (the repository's `HEAD` when
/// absent), under `dir` when given. Nothing is left behind when it fails.
pub async fn create(
    cwd: &Path,
    name: &str,
    base: Option<&str>,
    dir: Option<&Path>,
) -> Result<WorktreeInfo, WorktreeError> {
    let top = git::run(cwd, &["rev-parse", "--show-toplevel"]).await?;
    if !top.ok || top.stdout.is_empty() {
        return Err(WorktreeError::NotARepo(cwd.display().to_string()));
    }
    let repo = PathBuf::from(&top.stdout);
    let repo_s = repo.display().to_string();
    let branch = branch_of(name);
    let full = format!("refs/heads/{branch}");
    if !git::run(&repo, &["check-ref-format", &full]).await?.ok {
        return Err(WorktreeError::BadBranch(branch));
    }
    if git::run(&repo, &["rev-parse", "--verify", "--quiet", &full])
        .await?
        .ok
    {
        return Err(WorktreeError::BranchExists {
            branch,
            repo: repo_s,
        });
    }
    let base_name = base.unwrap_or("HEAD");
    // A leading '-' would be read as an option, never as a branch.
    let commit = if base_name.starts_with('-') {
        None
    } else {
        let spec = format!("{base_name}^{{commit}}");
        let out = git::run(&repo, &["rev-parse", "--verify", "--quiet", &spec]).await?;
        out.ok.then_some(out.stdout)
    };
    let Some(commit) = commit.filter(|c| !c.is_empty()) else {
        return Err(match base {
            None => WorktreeError::NoCommit(repo_s),
            Some(b) => WorktreeError::BaseNotFound {
                base: b.to_string(),
                repo: repo_s,
            },
        });
    };
    let path = match dir {
        Some(d) => {
            let repo_name = repo
                .file_name()
                .map_or_else(|| "repo".into(), |n| n.to_string_lossy().into_owned());
            d.join(repo_name).join(name)
        }
        None => repo.join(".tether").join("worktrees").join(name),
    };
    let path_s = path.display().to_string();
    if std::fs::symlink_metadata(&path).is_ok() {
        return Err(WorktreeError::PathExists(path_s));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| match dir {
            Some(d) => WorktreeError::BadDir(d.display().to_string(), e.to_string()),
            None => WorktreeError::Git(format!("cannot create {}: {e}", parent.display())),
        })?;
    }
    if dir.is_none() {
        exclude_tether_dir(&repo).await;
    }
    let out = git::run(&repo, &["worktree", "add", "-b", &branch, &path_s, &commit]).await?;
    if !out.ok {
        return Err(WorktreeError::Git(out.stderr_line));
    }
    // The path as the session and `ls` show it: without symbolic links, the
    // way `-C` is.
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    info!(branch = %branch, path = %path.display(), "worktree created");
    Ok(WorktreeInfo {
        path: path.display().to_string(),
        branch,
        repo: repo_s,
        base_commit: commit,
    })
}

/// Adds `/.tether/` to the repository's `info/exclude` (once), so worktrees
/// inside it are not untracked files of its own. A failure only costs that.
async fn exclude_tether_dir(repo: &Path) {
    let common = match git::ok(
        repo,
        &["rev-parse", "--path-format=absolute", "--git-common-dir"],
    )
    .await
    {
        Ok(c) => PathBuf::from(c),
        Err(e) => {
            warn!(error = %e, "cannot find the repository's git directory");
            return;
        }
    };
    let file = common.join("info").join("exclude");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    if text.lines().any(|l| l.trim() == "/.tether/") {
        return;
    }
    let mut new = text;
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str("# tether's worktrees (tether new --worktree)\n/.tether/\n");
    let written =
        std::fs::create_dir_all(common.join("info")).and_then(|_| std::fs::write(&file, new));
    if let Err(e) = written {
        warn!(file = %file.display(), error = %e, "cannot add /.tether/ to the exclude file");
    }
}

/// Removes a worktree and its branch, changes and all: undoes [`create`] when
/// the session it was made for could not be.
pub async fn discard(w: &WorktreeInfo) {
    let repo = Path::new(&w.repo);
    for args in [
        &["worktree", "remove", "--force", &w.path][..],
        &["branch", "-D", &w.branch][..],
    ] {
        match git::ok(repo, args).await {
            Ok(_) => {}
            Err(e) => warn!(path = %w.path, error = %e, "could not undo a worktree"),
        }
    }
}

/// What to do with a killed session's worktree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing in it would be lost: remove it and its branch.
    Remove,
    /// Keep it, for this reason.
    Keep(String),
}

/// Whether removing `w` would lose anything: uncommitted changes (untracked
/// files count), or commits that are on no other branch (nor a remote one, nor
/// where the branch started).
pub async fn verdict(w: &WorktreeInfo) -> Verdict {
    match inspect(w).await {
        Ok(v) => v,
        Err(e) => Verdict::Keep(format!("could not check it ({e})")),
    }
}

async fn inspect(w: &WorktreeInfo) -> Result<Verdict, WorktreeError> {
    let path = Path::new(&w.path);
    let repo = Path::new(&w.repo);
    let here = if path.is_dir() {
        let status = git::ok(
            path,
            &[
                "status",
                "--porcelain",
                "--untracked-files=all",
                "--ignore-submodules=none",
            ],
        )
        .await?;
        let changed = status.lines().filter(|l| !l.trim().is_empty()).count();
        if changed > 0 {
            return Ok(Verdict::Keep(format!(
                "it has uncommitted changes ({changed} {})",
                if changed == 1 { "file" } else { "files" }
            )));
        }
        path
    } else {
        repo
    };
    // What the worktree's HEAD and its branch reach that nothing else does.
    let full = format!("refs/heads/{}", w.branch);
    let mut args: Vec<&str> = vec!["rev-list", "--count"];
    if here == path {
        args.push("HEAD");
    }
    let has_branch = git::run(repo, &["rev-parse", "--verify", "--quiet", &full])
        .await?
        .ok;
    if has_branch {
        args.push(&full);
    }
    if args.len() == 2 {
        return Ok(Verdict::Remove);
    }
    let exclude = format!("--exclude={}", w.branch);
    args.extend(["--not", &exclude, "--branches", "--remotes"]);
    if !w.base_commit.is_empty() {
        args.push(&w.base_commit);
    }
    args.push("--");
    let count: u64 = git::ok(here, &args).await?.parse().unwrap_or(1);
    if count > 0 {
        return Ok(Verdict::Keep(format!(
            "it has {count} {} on no other branch",
            if count == 1 { "commit" } else { "commits" }
        )));
    }
    Ok(Verdict::Remove)
}

/// What [`finish`] will say for `verdict`, should removing go as planned (what
/// a retried kill is told).
pub fn foreseen(w: &WorktreeInfo, verdict: &Verdict) -> WorktreeOutcome {
    match verdict {
        Verdict::Remove => WorktreeOutcome {
            path: w.path.clone(),
            branch: w.branch.clone(),
            removed: true,
            reason: None,
            remove_command: None,
        },
        Verdict::Keep(r) => WorktreeOutcome {
            path: w.path.clone(),
            branch: w.branch.clone(),
            removed: false,
            reason: Some(r.clone()),
            remove_command: Some(remove_command(w)),
        },
    }
}

/// Acts on a killed session's worktree: removes it and its branch when the
/// verdict says so (git itself refuses an unclean worktree, a second check),
/// else keeps both; either way says what it did.
pub async fn finish(w: &WorktreeInfo, verdict: Verdict) -> WorktreeOutcome {
    let kept = |reason: String| WorktreeOutcome {
        path: w.path.clone(),
        branch: w.branch.clone(),
        removed: false,
        reason: Some(reason),
        remove_command: Some(remove_command(w)),
    };
    let reason = match verdict {
        Verdict::Keep(r) => return kept(r),
        Verdict::Remove => match remove(w).await {
            Ok(()) => {
                info!(branch = %w.branch, path = %w.path, "worktree removed");
                return WorktreeOutcome {
                    path: w.path.clone(),
                    branch: w.branch.clone(),
                    removed: true,
                    reason: None,
                    remove_command: None,
                };
            }
            Err(e) => format!("removing it failed ({e})"),
        },
    };
    kept(reason)
}

async fn remove(w: &WorktreeInfo) -> Result<(), WorktreeError> {
    let repo = Path::new(&w.repo);
    if Path::new(&w.path).exists() {
        git::ok(repo, &["worktree", "remove", &w.path]).await?;
    } else {
        git::ok(repo, &["worktree", "prune"]).await?;
    }
    let full = format!("refs/heads/{}", w.branch);
    if git::run(repo, &["rev-parse", "--verify", "--quiet", &full])
        .await?
        .ok
    {
        git::ok(repo, &["branch", "-D", &w.branch]).await?;
    }
    Ok(())
}

/// The command that removes a kept worktree and its branch, changes and all.
pub fn remove_command(w: &WorktreeInfo) -> String {
    let repo = git::shell_quote(&w.repo);
    format!(
        "git -C {repo} worktree remove --force {} && git -C {repo} branch -D {}",
        git::shell_quote(&w.path),
        git::shell_quote(&w.branch)
    )
}

#[cfg(test)]
mod tests;
