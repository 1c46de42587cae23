//! The builtin tools' names and their JSON Schema specs, as offered to the model.

use serde_json::json;

use super::history::{READ_DEFAULT_BYTES, READ_MAX_BYTES, SEARCH_DEFAULT_LIMIT, SEARCH_MAX_LIMIT};
use crate::tools::types::ToolSpec;

/// Names of every builtin tool, in the order their specs are offered.
pub const BUILTIN_NAMES: [&str; 7] = [
    "shell",
    "read_file",
    "write_file",
    "edit_file",
    "list_dir",
    "history_search",
    "history_read",
];

/// The specs of every builtin tool, in [`BUILTIN_NAMES`] order.
pub fn builtin_specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "shell".to_owned(),
            description: "Run a command with `sh -c` in the session working directory and \
                return its combined stdout and stderr followed by its exit code. Stdin is \
                empty. Long output keeps only the beginning and the end. The command is \
                killed (with everything it started) when it times out."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "command": {
                        "type": "string",
                        "description": "The shell command to run."
                    },
                    "timeout_s": {
                        "type": "number",
                        "description": "Seconds until the command is killed (default 120, max 3600)."
                    }
                },
                "required": ["command"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "read_file".to_owned(),
            description: "Read a UTF-8 text file. Relative paths resolve against the session \
                working directory. Output is capped at 100000 bytes; use offset and limit to \
                read large files in parts."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "Path of the file to read."
                    },
                    "offset": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "First line to return, 1-based (default 1)."
                    },
                    "limit": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "Maximum number of lines to return (default: all)."
                    }
                },
                "required": ["path"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "write_file".to_owned(),
            description: "Write content to a file, replacing it if it exists and creating \
                missing parent directories."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "Path of the file to write."
                    },
                    "content": {
                        "type": "string",
                        "description": "The complete new content of the file."
                    }
                },
                "required": ["path", "content"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "edit_file".to_owned(),
            description: "Replace one exact occurrence of old_string with new_string in a \
                file. old_string must appear exactly once; include enough surrounding text \
                to make it unique."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "Path of the file to edit."
                    },
                    "old_string": {
                        "type": "string",
                        "description": "The exact text to replace, including whitespace."
                    },
                    "new_string": {
                        "type": "string",
                        "description": "The text to put in its place."
                    }
                },
                "required": ["path", "old_string", "new_string"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "list_dir".to_owned(),
            description: "List a directory's entries sorted by name; directories end with \
                `/`. At most 1000 entries are shown."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "Directory to list (default: the working directory)."
                    }
                },
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "history_search".to_owned(),
            description: "Search this session's complete log (user and assistant messages, \
                tool calls and tool results, including what was cut from your context) for \
                words. Returns the best matches, each with its seq and an excerpt; \
                history_read shows one in full."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "query": {
                        "type": "string",
                        "description": "Words to look for; events holding all of them come first."
                    },
                    "limit": {
                        "type": "integer",
                        "minimum": 1,
                        "description": format!(
                            "Most matches to return (default {SEARCH_DEFAULT_LIMIT}, max {SEARCH_MAX_LIMIT})."
                        )
                    }
                },
                "required": ["query"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "history_read".to_owned(),
            description: format!(
                "Show one event of this session's log in full by its seq, such as a tool \
                 output cut from your context. Shows at most {READ_DEFAULT_BYTES} bytes unless \
                 `length` says otherwise; use offset to read on."
            ),
            parameters: json!({
                "type": "object",
                "properties": {
                    "seq": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "The event's seq (from history_search or a cut-output note)."
                    },
                    "offset": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "First byte of the content to show (default 0)."
                    },
                    "length": {
                        "type": "integer",
                        "minimum": 1,
                        "description": format!(
                            "Most bytes to show (default {READ_DEFAULT_BYTES}, max {READ_MAX_BYTES})."
                        )
                    }
                },
                "required": ["seq"],
                "additionalProperties": false
            }),
        },
    ]
}

/// Whether `name` is one of the builtin tools.
pub fn is_builtin(name: &str) -> bool {
    BUILTIN_NAMES.contains(&name)
}
