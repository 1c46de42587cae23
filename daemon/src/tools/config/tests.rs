//! Tests of the tool config formats: both files' servers, their errors' positions,
//! variables, and VS Code's `servers`.

use std::path::Path;
use std::time::Duration;

use super::def::DEFAULT_TIMEOUT;
use super::load::load;
use super::mcp_json::{parse_mcp_json, parse_mcp_json_with};
use super::tools_toml::{parse_tools_toml, parse_tools_toml_with};
use crate::tools::mcp::Transport;

#[test]
fn parses_tools_toml_servers() {
    let defs = parse_tools_toml(
        r#"
[servers.fs]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "/srv/data"]
env = { LOG_LEVEL = "warn" }

[servers.web]
url = "http://127.0.0.1:3001/mcp"
timeout_s = 5
per_session = true

[servers.off]
command = "x"
disabled = true
"#,
        Path::new("/c/tools.toml"),
    )
    .unwrap();
    assert_eq!(defs.len(), 2);
    assert_eq!(defs[0].name, "fs");
    assert!(
        matches!(&defs[0].transport, Transport::Stdio { command, args, env, .. }
        if command == "npx" && args.len() == 3 && env["LOG_LEVEL"] == "warn")
    );
    assert_eq!(defs[0].timeout, DEFAULT_TIMEOUT);
    assert_eq!(defs[1].timeout, Duration::from_secs(5));
    assert!(defs[1].per_session);
}

#[test]
fn tools_toml_errors_have_positions() {
    let e = parse_tools_toml(
        "[servers.a]\ncommand = \"x\"\n\n[servers.b\n",
        Path::new("/t.toml"),
    )
    .unwrap_err();
    assert_eq!(e.line, 4, "{e}");
    let e = parse_tools_toml(
        "[servers.a]\ncommand = \"x\"\nurl = \"http://h\"\n",
        Path::new("/t.toml"),
    )
    .unwrap_err();
    assert!(e.message.contains("not both"), "{e}");
    assert_eq!(e.line, 1);
    let e = parse_tools_toml("[servers.a]\ncomand = \"x\"\n", Path::new("/t.toml")).unwrap_err();
    assert!(e.message.contains("comand"), "{e}");
    assert_eq!(e.line, 2);
    let e =
        parse_tools_toml("[servers.\"a b\"]\ncommand = \"x\"\n", Path::new("/t.toml")).unwrap_err();
    assert!(e.message.contains("a b"));
}

#[test]
fn parses_mcp_json_and_defaults_cwd_to_its_directory() {
    let defs = parse_mcp_json(
        r#"{"mcpServers": {"mem": {"command": "mcp-server-memory", "args": [], "env": {"MEMORY_FILE_PATH": "/tmp/m.json"}},
            "remote": {"type": "http", "url": "http://127.0.0.1:9/mcp"}}}"#,
        Path::new("/proj/.mcp.json"),
    )
    .unwrap();
    assert_eq!(defs.len(), 2);
    let mem = defs.iter().find(|d| d.name == "mem").unwrap();
    assert!(
        matches!(&mem.transport, Transport::Stdio { cwd: Some(c), .. } if c == Path::new("/proj"))
    );
    assert!(matches!(
        &defs.iter().find(|d| d.name == "remote").unwrap().transport,
        Transport::Http { .. }
    ));
}

#[test]
fn mcp_json_errors_have_positions() {
    let e = parse_mcp_json(
        "{\"mcpServers\": {\n  \"a\": {\"command\": }\n}}",
        Path::new("/p/.mcp.json"),
    )
    .unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    assert!(e.column > 1);
    let e = parse_mcp_json(
        r#"{"mcpServers": {"a": {"type": "sse", "url": "http://h"}}}"#,
        Path::new("/p/.mcp.json"),
    )
    .unwrap_err();
    assert!(e.message.contains("SSE"));
    // Both formats go through the same checks.
    let e = parse_mcp_json(
        r#"{"mcpServers": {"a": {"command": "x", "url": "http://h"}}}"#,
        Path::new("/p/.mcp.json"),
    )
    .unwrap_err();
    assert!(e.message.contains("not both"), "{e}");
    let e = parse_mcp_json(
        r#"{"mcpServers": {"a": {"command": "x", "timeout_s": -1}}}"#,
        Path::new("/p/.mcp.json"),
    )
    .unwrap_err();
    assert!(e.message.contains("timeout_s"), "{e}");
}

fn test_env(name: &str) -> Option<String> {
    match name {
        "NODE_BIN" => Some("/opt/node/bin/node".into()),
        "TOKEN" => Some("tok-123".into()),
        _ => None,
    }
}

#[test]
fn variables_are_expanded_in_mcp_json_values() {
    let defs = parse_mcp_json_with(
        r#"{"mcpServers": {
  "s": {"command": "${NODE_BIN}", "args": ["${SERVER_JS:-missing}", "$HOME", "$${TOKEN}"],
    "env": {"KEY": "${TOKEN}"}, "cwd": "${TOKEN}"},
  "h": {"type": "http", "url": "${BASE:-http://127.0.0.1:9}/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"}}
}}"#,
        Path::new("/p/.mcp.json"),
        &test_env,
    )
    .unwrap();
    let s = defs.iter().find(|d| d.name == "s").unwrap();
    let Transport::Stdio {
        command,
        args,
        env,
        cwd,
    } = &s.transport
    else {
        panic!("{s:?}")
    };
    assert_eq!(command, "/opt/node/bin/node");
    assert_eq!(args, &["missing", "$HOME", "${TOKEN}"]);
    assert_eq!(env["KEY"], "tok-123");
    // cwd is not one of the expanded fields.
    assert_eq!(cwd.as_deref(), Some(Path::new("/p/${TOKEN}")));
    let h = defs.iter().find(|d| d.name == "h").unwrap();
    assert!(
        matches!(&h.transport, Transport::Http { url, headers }
            if url == "http://127.0.0.1:9/mcp" && headers["Authorization"] == "Bearer tok-123"),
        "{h:?}"
    );
}

#[test]
fn a_missing_variable_names_itself_and_its_line() {
    let text = "{\"mcpServers\": {\n  \"s\": {\n    \"command\": \"node\",\n    \"args\": [\"${SERVER_JS}\"]\n  }\n}}";
    let e = parse_mcp_json_with(text, Path::new("/p/.mcp.json"), &test_env).unwrap_err();
    assert_eq!((e.line, e.column), (4, 15), "{e}");
    assert!(
        e.message.contains("SERVER_JS is not set") && e.message.contains("args[0]"),
        "{e}"
    );
    let e = parse_tools_toml_with(
        "[servers.a]\ncommand = \"x\"\n\n[servers.b]\ncommand = \"y\"\nheaders = {}\nenv = { K = \"${API_KEY}\" }\n",
        Path::new("/t.toml"),
        &test_env,
    )
    .unwrap_err();
    assert_eq!((e.line, e.column), (7, 14), "{e}");
    assert!(e.message.contains("API_KEY is not set"), "{e}");
    assert!(e.message.contains("\"b\""), "{e}");
    // A disabled entry is not expanded, so its variables need not be set.
    assert!(
        parse_tools_toml_with(
            "[servers.a]\ncommand = \"${NOPE}\"\ndisabled = true\n",
            Path::new("/t.toml"),
            &test_env
        )
        .unwrap()
        .is_empty()
    );
}

#[test]
fn tools_toml_expands_tokens_too() {
    let defs = parse_tools_toml_with(
        "[servers.web]\nurl = \"https://mcp.example.com/mcp\"\nheaders = { Authorization = \"Bearer ${TOKEN}\" }\n",
        Path::new("/t.toml"),
        &test_env,
    )
    .unwrap();
    assert!(matches!(&defs[0].transport, Transport::Http { headers, .. }
        if headers["Authorization"] == "Bearer tok-123"));
}

#[test]
fn vs_code_servers_are_read() {
    let defs = parse_mcp_json_with(
        r#"{"inputs": [], "servers": {
  "mem": {"type": "stdio", "command": "mcp-server-memory", "args": []},
  "web": {"type": "http", "url": "http://127.0.0.1:9/mcp"}
}}"#,
        Path::new("/p/.mcp.json"),
        &test_env,
    )
    .unwrap();
    assert_eq!(defs.len(), 2);
    assert!(matches!(defs[0].transport, Transport::Stdio { .. }));
    assert!(matches!(defs[1].transport, Transport::Http { .. }));
}

#[test]
fn a_file_without_servers_is_refused_unless_empty() {
    let p = Path::new("/p/.mcp.json");
    assert!(parse_mcp_json_with("{}", p, &test_env).unwrap().is_empty());
    assert!(
        parse_mcp_json_with(r#"{"mcpServers": {}}"#, p, &test_env)
            .unwrap()
            .is_empty()
    );
    let e = parse_mcp_json_with(r#"{"mcp_servers": {"a": {"command": "x"}}}"#, p, &test_env)
        .unwrap_err();
    assert!(
        e.message.contains("no \"mcpServers\"") && e.message.contains("mcp_servers"),
        "{e}"
    );
    let e = parse_mcp_json_with(r#"{"mcpServers": {}, "servers": {}}"#, p, &test_env).unwrap_err();
    assert!(e.message.contains("not both"), "{e}");
    let e = parse_mcp_json_with("[]", p, &test_env).unwrap_err();
    assert!(e.message.contains("JSON object"), "{e}");
    let e = parse_mcp_json_with(
        r#"{"servers": {"a": {"type": "stdio", "command": "x", "envFile": ".env"}}}"#,
        p,
        &test_env,
    )
    .unwrap_err();
    assert!(e.message.contains("envFile"), "{e}");
}

#[test]
fn load_picks_the_format_by_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("tools.toml");
    assert!(load(&missing).unwrap().is_empty());
    std::fs::write(&missing, "[servers.a]\ncommand = \"x\"\n").unwrap();
    let defs = load(&missing).unwrap();
    assert_eq!(
        (defs.len(), defs[0].source.as_path()),
        (1, missing.as_path())
    );
    let json = dir.path().join(".mcp.json");
    std::fs::write(
        &json,
        r#"{"servers": {"b": {"type": "http", "url": "http://h"}}}"#,
    )
    .unwrap();
    let defs = load(&json).unwrap();
    assert!(
        matches!(&defs[0].transport, Transport::Http { .. }),
        "{defs:?}"
    );
    // The same text under the other name is read as the other format, and refused.
    std::fs::write(&missing, r#"{"servers": {}}"#).unwrap();
    assert!(load(&missing).is_err());
}

#[test]
fn a_sessions_own_servers_are_checked_like_mcp_json_entries() {
    use tether_shared::protocol::SessionServer;
    let cwd = std::path::Path::new("/home/ana/proj");
    let stdio = SessionServer {
        name: "fs".into(),
        command: Some("/bin/fs-server".into()),
        args: vec!["--stdio".into()],
        ..Default::default()
    };
    let http = SessionServer {
        name: "docs".into(),
        url: Some("https://docs.example.com/mcp".into()),
        headers: [("Authorization".to_string(), "Bearer x".to_string())].into(),
        ..Default::default()
    };
    let defs = super::session_defs(&[stdio.clone(), http.clone()], cwd).unwrap();
    assert_eq!(defs.len(), 2);
    assert!(defs.iter().all(|d| d.per_session));
    assert_eq!(defs[0].source, std::path::Path::new(super::SESSION_SOURCE));
    match &defs[0].transport {
        Transport::Stdio {
            command, cwd: dir, ..
        } => {
            assert_eq!(command, "/bin/fs-server");
            assert_eq!(
                dir.as_deref(),
                Some(cwd),
                "stdio servers run in the session's directory"
            );
        }
        other => panic!("expected stdio, got {other:?}"),
    }
    assert!(
        matches!(&defs[1].transport, Transport::Http { url, .. } if url == "https://docs.example.com/mcp")
    );

    let err = |servers: &[SessionServer]| super::session_defs(servers, cwd).unwrap_err();
    assert!(err(&[stdio.clone(), stdio.clone()]).contains("two servers are named \"fs\""));
    let bad_name = SessionServer {
        name: "my server".into(),
        ..stdio.clone()
    };
    assert!(err(&[bad_name]).contains("may only use letters"));
    let neither = SessionServer {
        name: "x".into(),
        ..Default::default()
    };
    assert!(err(&[neither]).contains("needs a command (stdio) or a url"));
    let both = SessionServer {
        url: Some("http://h/mcp".into()),
        ..stdio
    };
    assert!(err(&[both]).contains("either command or url"));
    let ftp = SessionServer {
        url: Some("ftp://h".into()),
        ..http
    };
    assert!(err(&[ftp]).contains("must start with http://"));
}
