//! How a tether tool call looks to an ACP client: its kind, its title, the files
//! it touches, what it shows (a diff for file edits, the whole command or the
//! arguments otherwise), and the "always allow" rule a person may add for it.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tether_shared::protocol::AlwaysAllow;
use tether_shared::rules::{RuleScope, SHELL_TOOL, default_prefix, prefix_runs_anything};

use super::wire::{Location, ToolCallContent, ToolKind};

/// The longest title, in characters; the content shows the rest.
const TITLE_MAX: usize = 100;

fn str_arg<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    args.get(key).and_then(Value::as_str)
}

/// The part of an MCP tool's name after `<server>__`, or the whole name.
fn mcp_tool(tool: &str) -> Option<(&str, &str)> {
    tool.split_once("__")
}

/// The kind of a tool, from its name: the builtins by name, an MCP tool by
/// the words in its own name.
pub fn kind(tool: &str) -> ToolKind {
    match tool {
        "shell" => return ToolKind::Execute,
        "read_file" | "list_dir" | "history_read" => return ToolKind::Read,
        "write_file" | "edit_file" => return ToolKind::Edit,
        "history_search" => return ToolKind::Search,
        _ => {}
    }
    let name = mcp_tool(tool).map_or(tool, |(_, t)| t).to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
    if has(&["delete", "remove", "unlink"]) {
        ToolKind::Delete
    } else if has(&["search", "grep", "find", "query"]) {
        ToolKind::Search
    } else if has(&[
        "write", "edit", "create", "update", "patch", "move", "rename",
    ]) {
        ToolKind::Edit
    } else if has(&["exec", "run", "shell", "command", "terminal"]) {
        ToolKind::Execute
    } else if has(&["fetch", "http", "url", "download", "browse"]) {
        ToolKind::Fetch
    } else if has(&["read", "get", "list", "view", "show", "open", "cat"]) {
        ToolKind::Read
    } else {
        ToolKind::Other
    }
}

fn cut(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    let mut out: String = line.chars().take(TITLE_MAX).collect();
    if out.len() < text.trim_end().len() {
        out.push('…');
    }
    out
}

/// A title for people: the command of a `shell` call, the file of a file tool.
pub fn title(tool: &str, args: &Value) -> String {
    let path = str_arg(args, "path");
    match (tool, path) {
        ("shell", _) => match str_arg(args, "command") {
            Some(c) => cut(c),
            None => "shell".into(),
        },
        ("read_file", Some(p)) => cut(&format!("Read {p}")),
        ("write_file", Some(p)) => cut(&format!("Write {p}")),
        ("edit_file", Some(p)) => cut(&format!("Edit {p}")),
        ("list_dir", p) => cut(&format!("List {}", p.unwrap_or("."))),
        ("history_search", _) => cut(&format!(
            "Search the history: {}",
            str_arg(args, "query").unwrap_or("")
        )),
        ("history_read", _) => match args.get("seq") {
            Some(seq) => format!("Read history event {seq}"),
            None => "Read the history".into(),
        },
        _ => match mcp_tool(tool) {
            Some((server, t)) => format!("{server}: {t}"),
            None => tool.to_string(),
        },
    }
}

/// `path` as the builtins resolve it: relative to the session's directory.
pub fn absolute(cwd: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

/// The file a builtin file tool touches.
pub fn locations(tool: &str, args: &Value, cwd: &Path) -> Vec<Location> {
    let path = match tool {
        "read_file" | "write_file" | "edit_file" => str_arg(args, "path"),
        "list_dir" => Some(str_arg(args, "path").unwrap_or(".")),
        _ => None,
    };
    path.map(|p| Location {
        path: absolute(cwd, p).display().to_string(),
    })
    .into_iter()
    .collect()
}

/// The diff of a file edit: `edit_file`'s replacement, or `write_file`'s new
/// content (against `old`, the file as it was, when tether read it).
pub fn diff(tool: &str, args: &Value, cwd: &Path, old: Option<&str>) -> Option<ToolCallContent> {
    let path = absolute(cwd, str_arg(args, "path")?).display().to_string();
    match tool {
        "edit_file" => Some(ToolCallContent::Diff {
            path,
            old_text: Some(str_arg(args, "old_string")?.to_string()),
            new_text: str_arg(args, "new_string")?.to_string(),
        }),
        "write_file" => Some(ToolCallContent::Diff {
            path,
            old_text: old.map(str::to_string),
            new_text: str_arg(args, "content")?.to_string(),
        }),
        _ => None,
    }
}

/// What a call waiting for approval shows, so that the person deciding sees all
/// of it: the diff of a file edit, the whole command of `shell`, else the
/// arguments.
pub fn approval_content(
    tool: &str,
    args: &Value,
    cwd: &Path,
    old: Option<&str>,
) -> Vec<ToolCallContent> {
    if let Some(d) = diff(tool, args, cwd, old) {
        return vec![d];
    }
    let text = match (tool, str_arg(args, "command")) {
        ("shell", Some(c)) => format!("```sh\n{c}\n```"),
        _ => format!(
            "```json\n{}\n```",
            serde_json::to_string_pretty(args).unwrap_or_else(|_| args.to_string())
        ),
    };
    vec![ToolCallContent::text(text)]
}

/// The "always allow" rule a person may add while approving a call, with what
/// it allows in words: every call of its tool, or for `shell` the commands that
/// start with the command's first word. None for a command whose first word
/// could run anything (`sh`, `sudo`, ...) or is not a plain word.
pub fn always_rule(tool: &str, args: &Value) -> Option<(AlwaysAllow, String)> {
    if tool != SHELL_TOOL {
        return Some((
            AlwaysAllow {
                scope: RuleScope::Session,
                tool: None,
                prefix: None,
            },
            format!("every {tool} call"),
        ));
    }
    let prefix = default_prefix(str_arg(args, "command")?);
    if prefix.is_empty() || prefix_runs_anything(&prefix) {
        return None;
    }
    let words = format!("shell commands starting with {prefix:?}");
    Some((
        AlwaysAllow {
            scope: RuleScope::Session,
            tool: None,
            prefix: Some(prefix),
        },
        words,
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn kinds_come_from_the_tool_name() {
        assert_eq!(kind("shell"), ToolKind::Execute);
        assert_eq!(kind("read_file"), ToolKind::Read);
        assert_eq!(kind("list_dir"), ToolKind::Read);
        assert_eq!(kind("edit_file"), ToolKind::Edit);
        assert_eq!(kind("write_file"), ToolKind::Edit);
        assert_eq!(kind("history_search"), ToolKind::Search);
        assert_eq!(kind("fs__read_text_file"), ToolKind::Read);
        assert_eq!(kind("fs__write_file"), ToolKind::Edit);
        assert_eq!(kind("fs__search_files"), ToolKind::Search);
        assert_eq!(kind("web__fetch"), ToolKind::Fetch);
        assert_eq!(kind("mem__delete_entities"), ToolKind::Delete);
        assert_eq!(kind("everything__echo"), ToolKind::Other);
    }

    #[test]
    fn titles_name_the_command_or_the_file() {
        assert_eq!(
            title("shell", &json!({"command": "cargo test"})),
            "cargo test"
        );
        assert_eq!(
            title("shell", &json!({"command": "echo a\necho b"})),
            "echo a…",
            "a multi-line command shows its first line"
        );
        assert_eq!(
            title("read_file", &json!({"path": "src/a.rs"})),
            "Read src/a.rs"
        );
        assert_eq!(title("list_dir", &json!({})), "List .");
        assert_eq!(
            title("fs__read_text_file", &json!({})),
            "fs: read_text_file"
        );
        let long = "x".repeat(300);
        assert_eq!(
            title("shell", &json!({ "command": long })).chars().count(),
            101
        );
    }

    #[test]
    fn file_tools_have_locations_and_edits_have_diffs() {
        let cwd = Path::new("/p");
        assert_eq!(
            locations("edit_file", &json!({"path": "a.rs"}), cwd),
            [Location {
                path: "/p/a.rs".into()
            }]
        );
        assert!(locations("shell", &json!({"command": "ls"}), cwd).is_empty());
        assert_eq!(
            diff(
                "edit_file",
                &json!({"path": "/q/b.rs", "old_string": "a", "new_string": "b"}),
                cwd,
                None
            ),
            Some(ToolCallContent::Diff {
                path: "/q/b.rs".into(),
                old_text: Some("a".into()),
                new_text: "b".into()
            })
        );
        assert_eq!(
            diff(
                "write_file",
                &json!({"path": "n.txt", "content": "new"}),
                cwd,
                Some("old")
            ),
            Some(ToolCallContent::Diff {
                path: "/p/n.txt".into(),
                old_text: Some("old".into()),
                new_text: "new".into()
            })
        );
        assert_eq!(diff("read_file", &json!({"path": "a"}), cwd, None), None);
        let shown = approval_content("shell", &json!({"command": "rm -rf build\nls"}), cwd, None);
        assert_eq!(
            shown,
            [ToolCallContent::text("```sh\nrm -rf build\nls\n```")]
        );
    }

    #[test]
    fn an_always_rule_is_the_tool_or_a_safe_shell_prefix() {
        let (rule, words) = always_rule("read_file", &json!({"path": "a"})).unwrap();
        assert_eq!((rule.tool, rule.prefix), (None, None));
        assert_eq!(words, "every read_file call");
        let (rule, words) = always_rule("shell", &json!({"command": "cargo test -q"})).unwrap();
        assert_eq!(rule.prefix.as_deref(), Some("cargo"));
        assert_eq!(words, "shell commands starting with \"cargo\"");
        assert!(always_rule("shell", &json!({"command": "sudo rm x"})).is_none());
        assert!(always_rule("shell", &json!({"command": "$(x)"})).is_none());
    }
}
