//! The system prompt of a session, rebuilt for every model call: the default prompt
//! (what the agent is, where it works, how its tools behave) or `[context]
//! system_prompt` in its place, then the project file of its directory (project.rs),
//! then its own `--instructions`. Also the `instructions_changed` event a session
//! records when its project file changes.
//!
//! The prompt is kept short: a small local model with a 2,048-token window must keep
//! most of it for the work. It names the date, not the time, so the prompt (the
//! start of every request, which providers cache) changes at most once a day.

use std::path::Path;
use std::sync::OnceLock;

use tether_shared::EventKind;
use tracing::info;

use super::actor::SessionActor;
use super::project::{MAX_PROJECT_FILE_BYTES, ProjectChange, ProjectFile};

/// What the system prompt is built from.
#[derive(Debug, Clone, Copy)]
pub struct PromptInputs<'a> {
    /// The session's working directory.
    pub cwd: &'a str,
    /// The operating system, e.g. `linux (Ubuntu 24.04 LTS)`.
    pub os: &'a str,
    /// Today's date, `YYYY-MM-DD` (UTC).
    pub date: &'a str,
    /// `[context] system_prompt`: replaces the default prompt when set.
    pub replacement: Option<&'a str>,
    /// The project file in force.
    pub project: Option<&'a ProjectFile>,
    /// The session's `--instructions`.
    pub session: Option<&'a str>,
}

/// The default prompt for a session working in `cwd`.
pub fn default_prompt(cwd: &str, os: &str, date: &str) -> String {
    format!(
        "You are a long-lived agent running in tether: your session lasts across many turns, \
         restarts and days, and people attach, leave and come back.\n\
         \n\
         - Working directory: {cwd} (relative paths resolve against it)\n\
         - OS: {os}\n\
         - Shell: commands run with `sh -c` (POSIX sh)\n\
         - Today's date: {date} (UTC)\n\
         \n\
         Your context may be compacted: older parts of the conversation are replaced by a \
         summary, old tool outputs by a stub. The full log is kept: `history_search` \
         {{query, limit}} finds earlier messages and tool results, `history_read` {{seq}} \
         returns one in full.\n\
         \n\
         A tool call may need a person's approval and may be denied with a reason: follow \
         the reason rather than retry the same call. Long outputs are cut; narrow the \
         command or read a file in parts."
    )
}

/// The system text: the default prompt (or its replacement), the project file, then
/// the session's instructions, each left out when empty.
pub fn build(inputs: &PromptInputs<'_>) -> String {
    let base = match inputs.replacement {
        Some(r) => r.to_string(),
        None => default_prompt(inputs.cwd, inputs.os, inputs.date),
    };
    let mut sections = vec![base];
    if let Some(f) = inputs.project.filter(|f| !f.text.trim().is_empty()) {
        let mut s = format!(
            "## Project instructions ({})\n\n{}",
            f.path.display(),
            f.text.trim_end()
        );
        if let Some(size) = f.cut_from {
            s.push_str(&format!(
                "\n\n[truncated: the file is {size} bytes; only the first \
                 {MAX_PROJECT_FILE_BYTES} are shown]"
            ));
        }
        sections.push(s);
    }
    if let Some(text) = inputs.session.filter(|t| !t.trim().is_empty()) {
        sections.push(format!("## Session instructions\n\n{}", text.trim_end()));
    }
    let sections: Vec<&str> = sections
        .iter()
        .map(|s| s.trim_end())
        .filter(|s| !s.is_empty())
        .collect();
    sections.join("\n\n")
}

/// The operating system, with the distribution's name where `/etc/os-release` gives
/// one; read once.
fn os_name() -> &'static str {
    static OS: OnceLock<String> = OnceLock::new();
    OS.get_or_init(|| {
        let pretty = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|t| {
                t.lines().find_map(|l| {
                    l.strip_prefix("PRETTY_NAME=")
                        .map(|v| v.trim_matches('"').to_string())
                })
            })
            .filter(|v| !v.is_empty());
        match pretty {
            Some(p) => format!("{} ({p})", std::env::consts::OS),
            None => std::env::consts::OS.to_string(),
        }
    })
}

impl SessionActor {
    /// The system prompt of this session's next model call, under the config in
    /// force. Reads only memory: the project file comes from the watched cache.
    pub(super) fn system_prompt(&self) -> String {
        let (config, _) = self.shared.config.load();
        let project = self.shared.project.current(Path::new(&self.row.cwd));
        let now = crate::util::now_rfc3339();
        build(&PromptInputs {
            cwd: &self.row.cwd,
            os: os_name(),
            date: now.get(..10).unwrap_or(&now),
            replacement: config.context.system_prompt.as_deref(),
            project: project.as_ref(),
            session: self.row.instructions.as_deref(),
        })
    }

    /// Records a change of the project file of this session's directory; the next
    /// model call has the new text already (the cache changed first).
    pub(super) async fn instructions_changed(&mut self, change: ProjectChange) {
        if change.dir != Path::new(&self.row.cwd) {
            return;
        }
        info!(file = %change.path.display(), removed = change.removed, "instructions changed");
        let kind = EventKind::InstructionsChanged {
            path: change.path.display().to_string(),
            removed: change.removed,
        };
        self.persist(vec![kind], vec![], None).await;
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use super::*;

    fn inputs<'a>() -> PromptInputs<'a> {
        PromptInputs {
            cwd: "/home/ada/proj",
            os: "linux (Debian GNU/Linux 12)",
            date: "2026-12-01",
            replacement: None,
            project: None,
            session: None,
        }
    }

    #[test]
    fn the_default_prompt_says_where_when_and_how() {
        let p = build(&inputs());
        for needle in [
            "long-lived agent running in tether",
            "Working directory: /home/ada/proj",
            "OS: linux (Debian GNU/Linux 12)",
            "sh -c",
            "Today's date: 2026-12-01",
            "compacted",
            "`history_search` {query, limit}",
            "`history_read` {seq}",
            "approval",
            "denied with a reason",
            "cut",
        ] {
            assert!(p.contains(needle), "{needle:?} missing from:\n{p}");
        }
        // A few hundred tokens at most (4 bytes a token is the usual estimate).
        assert!(p.len() / 4 < 300, "{} bytes", p.len());
    }

    #[test]
    fn sections_come_in_order_and_empty_ones_are_left_out() {
        let file = ProjectFile {
            path: PathBuf::from("/home/ada/proj/AGENTS.md"),
            text: Arc::from("Run `make check` before committing.\n"),
            cut_from: None,
        };
        let p = build(&PromptInputs {
            project: Some(&file),
            session: Some("be terse\n"),
            ..inputs()
        });
        let default = p.find("long-lived agent").unwrap();
        let project = p
            .find("## Project instructions (/home/ada/proj/AGENTS.md)\n\nRun `make check`")
            .unwrap();
        let session = p.find("## Session instructions\n\nbe terse").unwrap();
        assert!(default < project && project < session, "{p}");
        assert!(p.ends_with("be terse"), "{p:?}");
        assert!(!p.contains("truncated"));

        let blank = ProjectFile {
            text: Arc::from(" \n"),
            ..file.clone()
        };
        let p = build(&PromptInputs {
            project: Some(&blank),
            session: Some("  "),
            ..inputs()
        });
        assert!(!p.contains("##"), "{p}");

        let cut = ProjectFile {
            cut_from: Some(100_000),
            ..file
        };
        let p = build(&PromptInputs {
            project: Some(&cut),
            ..inputs()
        });
        assert!(
            p.ends_with("[truncated: the file is 100000 bytes; only the first 32768 are shown]"),
            "{p}"
        );
    }

    #[test]
    fn the_configured_prompt_replaces_the_default_only() {
        let file = ProjectFile {
            path: PathBuf::from("/p/CLAUDE.md"),
            text: Arc::from("use tabs"),
            cut_from: None,
        };
        let p = build(&PromptInputs {
            replacement: Some("You are Rusty."),
            project: Some(&file),
            session: Some("be terse"),
            ..inputs()
        });
        assert_eq!(
            p,
            "You are Rusty.\n\n## Project instructions (/p/CLAUDE.md)\n\nuse tabs\n\n\
             ## Session instructions\n\nbe terse"
        );
        // An empty replacement leaves no default at all.
        let p = build(&PromptInputs {
            replacement: Some(""),
            ..inputs()
        });
        assert_eq!(p, "");
    }
}
