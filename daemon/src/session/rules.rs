//! "Always allow" rules in a session (issue 11): the project a session works in,
//! the approval policy of a step's calls with the stored rules consulted, and the
//! rule a person adds while approving a call.
//!
//! Order of the policy: `[approvals] deny` globs (and a `deny` default) refuse a
//! call whatever the rules say; `allow` globs and the built-in rule let it run;
//! only a call that would ask is matched against the rules, and runs without
//! asking when one allows it. What a rule matches is `tether_shared::rules`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use tether_shared::event::ToolCallSpec;
use tether_shared::protocol::AlwaysAllow;
use tether_shared::rules::{ApprovalRule, RuleScope, SHELL_TOOL, check_prefix};
use tracing::warn;

use super::error::SessionError;
use crate::config::{Config, Policy};
use crate::store::{NewRule, Store};

/// The project of a session working in `cwd`: the root of the git work tree that
/// holds it (the nearest directory with a `.git` entry, which a linked worktree
/// or a submodule has as a file), else `cwd` itself; symlinks resolved, so two
/// paths to one directory are one project.
pub fn project_of(cwd: &Path) -> PathBuf {
    let dir = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    dir.ancestors()
        .find(|d| d.join(".git").symlink_metadata().is_ok())
        .map_or_else(|| dir.clone(), Path::to_path_buf)
}

/// [`project_of`] on the blocking pool (it reads the file system), as a string.
pub async fn project_string(cwd: &str) -> String {
    let cwd = PathBuf::from(cwd);
    let fallback = cwd.display().to_string();
    tokio::task::spawn_blocking(move || project_of(&cwd).display().to_string())
        .await
        .unwrap_or(fallback)
}

/// The approval policy of each call of a step, and the rule that let a call run
/// when one did. Deciding may resolve paths on disk (the built-in rule holds only
/// inside the session directory), so it runs on the blocking pool; if that
/// fails, every call asks, the safe reading. Rules are read only when a call
/// would ask; a store that cannot be read leaves it asking.
pub async fn decide_policies(
    config: Arc<Config>,
    store: &Arc<dyn Store>,
    session_id: &str,
    calls: &[ToolCallSpec],
    cwd: &str,
) -> Vec<(Policy, Option<u64>)> {
    let owned: Vec<(String, Value)> = calls
        .iter()
        .map(|c| (c.tool.clone(), c.arguments.clone()))
        .collect();
    let n = owned.len();
    let cwd = PathBuf::from(cwd);
    let decided = tokio::task::spawn_blocking(move || {
        let policies: Vec<Policy> = owned
            .iter()
            .map(|(tool, args)| config.approvals.decide(tool, args, &cwd))
            .collect();
        let project = policies
            .contains(&Policy::Ask)
            .then(|| project_of(&cwd).display().to_string());
        (policies, project)
    })
    .await;
    let Ok((policies, project)) = decided else {
        return vec![(Policy::Ask, None); n];
    };
    let rules = match project {
        Some(project) => match store.rules(session_id, &project).await {
            Ok(rules) => rules,
            Err(e) => {
                warn!(error = %e, "could not read the approval rules; the calls ask");
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    policies
        .into_iter()
        .zip(calls)
        .map(|(policy, call)| match policy {
            Policy::Ask => match rules.iter().find(|r| r.allows(&call.tool, &call.arguments)) {
                Some(rule) => (Policy::Allow, Some(rule.id)),
                None => (Policy::Ask, None),
            },
            other => (other, None),
        })
        .collect()
}

/// The rule a person asks for while approving calls of `tools` (the tools of the
/// calls approved), checked: its tool is theirs, a prefix only for `shell` and
/// only of plain words. Returns the rule to store, less its scope's owner.
pub fn rule_asked(always: &AlwaysAllow, tools: &[&str]) -> Result<NewRule, SessionError> {
    let bad = |m: String| Err(SessionError::BadRule(m));
    let scope = match always.scope {
        RuleScope::Unknown => {
            return bad("the rule's scope must be \"session\" or \"project\"".into());
        }
        s => s,
    };
    let tool = match (&always.tool, tools) {
        (Some(t), _) if t.trim().is_empty() => return bad("the rule's tool is empty".into()),
        (Some(t), _) => t.clone(),
        (None, [first, rest @ ..]) if rest.iter().all(|t| t == first) => (*first).to_string(),
        (None, _) => {
            return bad(
                "the calls approved are of several tools: say which tool the rule is for".into(),
            );
        }
    };
    if let Some(other) = tools.iter().find(|t| **t != tool) {
        return bad(format!(
            "the rule is for {tool:?} but a call approved with it is a {other:?} call"
        ));
    }
    let prefix = match &always.prefix {
        None => None,
        Some(_) if tool != SHELL_TOOL => {
            return bad(format!(
                "a prefix applies only to {SHELL_TOOL:?} rules, not to {tool:?}"
            ));
        }
        Some(p) => {
            check_prefix(p).map_err(SessionError::BadRule)?;
            Some(p.trim().to_string())
        }
    };
    Ok(NewRule {
        scope,
        session_id: None,
        project: None,
        tool,
        prefix,
        created_at: crate::util::now_rfc3339(),
    })
}

/// Stores `rule` for the session `session_id` working in `cwd`: a session rule
/// names the session, a project rule the session's project.
pub async fn add_rule(
    store: &Arc<dyn Store>,
    mut rule: NewRule,
    session_id: &str,
    cwd: &str,
) -> Result<ApprovalRule, SessionError> {
    match rule.scope {
        RuleScope::Project => rule.project = Some(project_string(cwd).await),
        _ => rule.session_id = Some(session_id.to_string()),
    }
    store
        .add_rule(rule)
        .await
        .map_err(SessionError::RuleNotStored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn always(scope: RuleScope, tool: Option<&str>, prefix: Option<&str>) -> AlwaysAllow {
        AlwaysAllow {
            scope,
            tool: tool.map(str::to_string),
            prefix: prefix.map(str::to_string),
        }
    }

    #[test]
    fn the_rule_asked_is_checked() {
        let r = rule_asked(&always(RuleScope::Session, None, Some(" ls ")), &["shell"]).unwrap();
        assert_eq!(
            (r.tool.as_str(), r.prefix.as_deref()),
            ("shell", Some("ls"))
        );
        let r = rule_asked(
            &always(RuleScope::Project, None, None),
            &["read_file", "read_file"],
        )
        .unwrap();
        assert_eq!((r.tool.as_str(), r.prefix), ("read_file", None));
        let err = |a: AlwaysAllow, tools: &[&str]| rule_asked(&a, tools).unwrap_err().to_string();
        assert!(
            err(
                always(RuleScope::Session, None, None),
                &["shell", "read_file"]
            )
            .contains("several tools")
        );
        assert!(
            err(
                always(RuleScope::Session, Some("read_file"), None),
                &["shell"]
            )
            .contains("\"shell\" call")
        );
        assert!(
            err(always(RuleScope::Session, None, Some("ls")), &["read_file"]).contains("only to")
        );
        assert!(
            err(always(RuleScope::Session, None, Some("ls; rm")), &["shell"])
                .contains("plain words")
        );
        assert!(
            err(always(RuleScope::Session, None, Some("")), &["shell"]).contains("plain words")
        );
        assert!(err(always(RuleScope::Unknown, None, None), &["shell"]).contains("scope"));
    }

    /// Deny globs (and a deny default) win over every rule; allow globs need
    /// none; only a call that would ask is matched against the rules.
    #[tokio::test]
    async fn rules_are_consulted_after_deny_and_before_asking() {
        use tether_shared::event::ToolCallSpec;

        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(crate::store::SqliteStore::open(&dir.path().join("s.db")).unwrap());
        let cwd = dir.path().display().to_string();
        let project = project_string(&cwd).await;
        for (tool, prefix) in [
            ("shell", Some("ls")),
            ("fs__delete", None),
            ("write_file", None),
        ] {
            store
                .add_rule(NewRule {
                    scope: RuleScope::Project,
                    session_id: None,
                    project: Some(project.clone()),
                    tool: tool.into(),
                    prefix: prefix.map(str::to_string),
                    created_at: "t".into(),
                })
                .await
                .unwrap();
        }
        let calls = |list: &[(&str, Value)]| -> Vec<ToolCallSpec> {
            list.iter()
                .map(|(tool, args)| ToolCallSpec {
                    call_id: format!("c-{tool}"),
                    tool: (*tool).into(),
                    arguments: args.clone(),
                })
                .collect()
        };
        let step = calls(&[
            ("shell", serde_json::json!({"command": "ls -la"})),
            ("shell", serde_json::json!({"command": "ls; rm -rf /"})),
            ("fs__delete", serde_json::json!({"path": "x"})),
            (
                "write_file",
                serde_json::json!({"path": "x", "content": ""}),
            ),
            ("read_file", serde_json::json!({"path": "x"})),
        ]);
        let config =
            |text: &str| Arc::new(crate::config::parse(text, Path::new("/c/config.toml")).unwrap());
        let decide = |config: Arc<Config>| {
            let store = Arc::clone(&store);
            let step = step.clone();
            let cwd = cwd.clone();
            async move { decide_policies(config, &store, "s1", &step, &cwd).await }
        };
        let asked = decide(config(
            "[approvals]\ndefault = \"ask\"\nallow = [\"read_file\"]\ndeny = [\"fs__*\"]\n",
        ))
        .await;
        assert_eq!(
            asked,
            [
                (Policy::Allow, Some(1)),
                (Policy::Ask, None),
                (Policy::Deny, None),
                (Policy::Allow, Some(3)),
                (Policy::Allow, None),
            ]
        );
        // A deny default refuses what no allow glob names, rules or not.
        let denied = decide(config(
            "[approvals]\ndefault = \"deny\"\nallow = [\"read_file\"]\n",
        ))
        .await;
        assert!(
            denied[..4].iter().all(|p| *p == (Policy::Deny, None)),
            "{denied:?}"
        );
    }

    #[test]
    fn the_project_is_the_git_work_tree_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let repo = root.join("repo");
        let deep = repo.join("src").join("deep");
        std::fs::create_dir_all(&deep).unwrap();
        // No repository: the directory itself.
        assert_eq!(project_of(&deep), deep);
        std::fs::create_dir(repo.join(".git")).unwrap();
        assert_eq!(project_of(&deep), repo);
        assert_eq!(project_of(&repo), repo);
        // A linked worktree has a `.git` file: its own root.
        let wt = root.join("wt");
        std::fs::create_dir_all(wt.join("x")).unwrap();
        std::fs::write(wt.join(".git"), "gitdir: ../repo/.git/worktrees/wt\n").unwrap();
        assert_eq!(project_of(&wt.join("x")), wt);
        // A symlink to a directory in the repository is the same project.
        std::os::unix::fs::symlink(&deep, root.join("link")).unwrap();
        assert_eq!(project_of(&root.join("link")), repo);
        // Outside, another project.
        let other = root.join("other");
        std::fs::create_dir(&other).unwrap();
        assert_eq!(project_of(&other), other);
    }
}
