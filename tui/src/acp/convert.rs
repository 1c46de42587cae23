//! What the client gives, in tether's terms: its MCP servers as a session's own
//! servers (`session.create`'s `mcp_servers`), and a prompt's content blocks as
//! the text of one message.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use tether_shared::protocol::SessionServer;

use super::wire::ContentBlock;

/// A `name` / `value` pair (an environment variable, an HTTP header).
#[derive(Deserialize)]
struct Pair {
    name: String,
    value: String,
}

/// An ACP MCP server: stdio without `type`, else `http` (or `sse`).
#[derive(Deserialize)]
struct AcpServer {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: String,
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: Vec<Pair>,
    url: Option<String>,
    #[serde(default)]
    headers: Vec<Pair>,
}

fn pairs(list: Vec<Pair>) -> BTreeMap<String, String> {
    list.into_iter().map(|p| (p.name, p.value)).collect()
}

/// The client's MCP servers as tether session servers, or why one cannot be.
pub fn servers(list: &[Value]) -> Result<Vec<SessionServer>, String> {
    list.iter()
        .map(|v| {
            let s = AcpServer::deserialize(v)
                .map_err(|e| format!("an MCP server tether cannot read ({e}): {v}"))?;
            match s.kind.as_deref() {
                None | Some("stdio") => {
                    let Some(command) = s.command else {
                        return Err(format!("MCP server {:?} has no command", s.name));
                    };
                    Ok(SessionServer {
                        name: s.name,
                        command: Some(command),
                        args: s.args,
                        env: pairs(s.env),
                        ..Default::default()
                    })
                }
                Some("http") => {
                    let Some(url) = s.url else {
                        return Err(format!("MCP server {:?} has no url", s.name));
                    };
                    Ok(SessionServer {
                        name: s.name,
                        url: Some(url),
                        headers: pairs(s.headers),
                        ..Default::default()
                    })
                }
                Some(other) => Err(format!(
                    "MCP server {:?}: tether does not support the {other:?} transport (stdio and http only)",
                    s.name
                )),
            }
        })
        .collect()
}

/// A prompt as the text of one tether message. Text comes as it is; a resource
/// link as a Markdown link to its URI; an embedded text resource as its text in
/// a `<context uri="...">` element; what tether cannot pass to the model
/// (images, audio, binary resources) as a line saying what was left out.
pub fn prompt_text(blocks: &[ContentBlock]) -> String {
    let mut out = String::new();
    let paragraph = |out: &mut String, text: &str| {
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push_str(if out.ends_with('\n') { "\n" } else { "\n\n" });
        }
        out.push_str(text);
        out.push_str("\n\n");
    };
    for block in blocks {
        match block {
            ContentBlock::Text { text } => out.push_str(text),
            ContentBlock::ResourceLink { uri, name } => {
                if !out.is_empty() && !out.ends_with(char::is_whitespace) {
                    out.push(' ');
                }
                let name = if name.is_empty() { uri } else { name };
                out.push_str(&format!("[{name}]({uri})"));
            }
            ContentBlock::Resource { resource } => match (&resource.text, &resource.blob) {
                (Some(text), _) => {
                    let body = text.strip_suffix('\n').unwrap_or(text);
                    paragraph(
                        &mut out,
                        &format!("<context uri=\"{}\">\n{body}\n</context>", resource.uri),
                    );
                }
                (None, _) => paragraph(
                    &mut out,
                    &format!(
                        "[the binary resource {} ({}) was attached here; tether passes only text to the model]",
                        resource.uri,
                        resource.mime_type.as_deref().unwrap_or("no MIME type")
                    ),
                ),
            },
            ContentBlock::Image { mime_type, uri } => {
                let what = match uri {
                    Some(u) => format!("an image ({mime_type}, {u})"),
                    None => format!("an image ({mime_type})"),
                };
                paragraph(
                    &mut out,
                    &format!(
                        "[{what} was attached here; tether cannot pass images in a message to the model yet]"
                    ),
                );
            }
            ContentBlock::Audio { mime_type } => paragraph(
                &mut out,
                &format!(
                    "[audio ({mime_type}) was attached here; tether cannot pass audio to the model]"
                ),
            ),
            ContentBlock::Unknown => paragraph(
                &mut out,
                "[a kind of content tether does not know was attached here]",
            ),
        }
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn blocks(v: Value) -> Vec<ContentBlock> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn stdio_and_http_servers_become_session_servers_and_sse_is_refused() {
        let got = servers(&[
            json!({"name": "fs", "command": "/bin/fs", "args": ["--stdio"], "env": [{"name": "TOKEN", "value": "t"}]}),
            json!({"type": "http", "name": "docs", "url": "https://d/mcp", "headers": [{"name": "Authorization", "value": "Bearer x"}]}),
        ])
        .unwrap();
        assert_eq!(got[0].command.as_deref(), Some("/bin/fs"));
        assert_eq!(got[0].args, ["--stdio"]);
        assert_eq!(got[0].env["TOKEN"], "t");
        assert_eq!(got[1].url.as_deref(), Some("https://d/mcp"));
        assert_eq!(got[1].headers["Authorization"], "Bearer x");
        let err = servers(&[
            json!({"type": "sse", "name": "old", "url": "https://d/sse", "headers": []}),
        ])
        .unwrap_err();
        assert!(err.contains("\"sse\" transport"), "{err}");
        let err = servers(&[json!({"name": "x", "args": []})]).unwrap_err();
        assert!(err.contains("has no command"), "{err}");
    }

    #[test]
    fn a_prompt_keeps_its_text_and_says_what_the_model_cannot_get() {
        let text = prompt_text(&blocks(json!([
            {"type": "text", "text": "Look at"},
            {"type": "resource_link", "uri": "file:///p/a.rs", "name": "a.rs"},
            {"type": "text", "text": " please."},
            {"type": "resource", "resource": {"uri": "file:///p/b.rs", "text": "fn b() {}\n", "mimeType": "text/x-rust"}},
            {"type": "image", "mimeType": "image/png", "data": "iVBOR"},
            {"type": "resource", "resource": {"uri": "file:///p/c.bin", "blob": "AAEC", "mimeType": "application/octet-stream"}},
            {"type": "from_the_future", "x": 1},
        ])));
        assert_eq!(
            text,
            "Look at [a.rs](file:///p/a.rs) please.\n\n\
             <context uri=\"file:///p/b.rs\">\nfn b() {}\n</context>\n\n\
             [an image (image/png) was attached here; tether cannot pass images in a message to the model yet]\n\n\
             [the binary resource file:///p/c.bin (application/octet-stream) was attached here; tether passes only text to the model]\n\n\
             [a kind of content tether does not know was attached here]"
        );
    }
}
