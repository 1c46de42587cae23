//! Turning what an MCP server returns (a `tools/call` result, a `resources/read`
//! result, a prompt's messages) into what the model reads: text, plus the images
//! it may see.
//!
//! Each block becomes text in order: text as it is; an image as a short
//! placeholder, the image itself kept for the model unless it would pass the
//! media cap (`[tools] max_image_bytes`, for all the media of one result), in
//! which case the placeholder says it was dropped and why; audio the same way
//! (the provider decides later whether its model takes it); an
//! embedded text resource as its text under a `[resource: URI]` line; an
//! embedded blob as an image when it is one, else described; a resource link
//! as its URI with how to read it (`mcp_read_resource`). `structuredContent`
//! follows as JSON, unless a text block already holds the same JSON.

use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use tether_shared::event::ToolImage;

/// At most this many images of one result go to the model.
const MAX_IMAGES: usize = 8;

/// What the model is given of one result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Converted {
    /// The text, blocks joined with newlines.
    pub text: String,
    /// The images and sound clips kept for the model (each also named in
    /// `text`); a clip is told apart by its `audio/` MIME type.
    pub images: Vec<ToolImage>,
}

/// Builds a [`Converted`], keeping count of the media against the cap.
pub struct Converter<'a> {
    server: &'a str,
    cap: usize,
    bytes: usize,
    lines: Vec<String>,
    images: Vec<ToolImage>,
}

impl<'a> Converter<'a> {
    /// For a result of `server`, with `cap` bytes of base64 media in all.
    pub fn new(server: &'a str, cap: usize) -> Self {
        Converter {
            server,
            cap,
            bytes: 0,
            lines: Vec::new(),
            images: Vec::new(),
        }
    }

    /// Adds a line of text.
    pub fn text(&mut self, text: impl Into<String>) {
        self.lines.push(text.into());
    }

    /// Adds one content block.
    pub fn block(&mut self, block: &ContentBlock) {
        match block {
            ContentBlock::Text(text) => self.text(text.text.clone()),
            ContentBlock::Image(image) => {
                let label = format!("image: {}", image.mime_type);
                self.media("image/", label, &image.mime_type, &image.data);
            }
            ContentBlock::Audio(audio) => {
                let label = format!("audio: {}", audio.mime_type);
                self.media("audio/", label, &audio.mime_type, &audio.data);
            }
            ContentBlock::Resource(embedded) => self.resource(&embedded.resource),
            ContentBlock::ResourceLink(link) => {
                let mut about = Vec::new();
                if !link.name.is_empty() && link.name != link.uri {
                    about.push(format!("name {:?}", link.name));
                }
                if let Some(m) = &link.mime_type {
                    about.push(m.clone());
                }
                if let Some(s) = link.size {
                    about.push(format!("{s} bytes"));
                }
                if let Some(d) = link.description.as_deref().filter(|d| !d.is_empty()) {
                    about.push(format!("{d:?}"));
                }
                let about = if about.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", about.join(", "))
                };
                let read = serde_json::json!({"server": self.server, "uri": link.uri});
                self.text(format!(
                    "[resource link: {}{about}; read it with mcp_read_resource {read}]",
                    link.uri
                ));
            }
            // `ContentBlock` is non-exhaustive: a newer kind still shows up.
            _ => self.text("[unsupported content]"),
        }
    }

    /// Adds the contents of a resource (embedded in a result, or read).
    pub fn resource(&mut self, contents: &ResourceContents) {
        match contents {
            ResourceContents::TextResourceContents {
                uri,
                mime_type,
                text,
                ..
            } => {
                let mime = mime_type
                    .as_deref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default();
                self.text(format!("[resource: {uri}{mime}]\n{text}"));
            }
            ResourceContents::BlobResourceContents {
                uri,
                mime_type,
                blob,
                ..
            } => {
                let mime = mime_type.as_deref().unwrap_or("application/octet-stream");
                if let Some(kind) = ["image/", "audio/"]
                    .into_iter()
                    .find(|k| mime.starts_with(k))
                {
                    self.media(kind, format!("resource: {uri}, {mime}"), mime, blob);
                } else {
                    self.text(format!(
                        "[resource: {uri}, {mime}, {} bytes base64; binary content, not shown]",
                        blob.len()
                    ));
                }
            }
            // Non-exhaustive upstream; no URI to show for an unknown kind.
            _ => self.text("[resource]"),
        }
    }

    /// An image or (`kind` `audio/`) a sound clip: kept within the caps, else
    /// named with why it was dropped.
    fn media(&mut self, kind: &str, label: String, mime: &str, data: &str) {
        let size = data.len();
        let why = if !mime.starts_with(kind) {
            let what = if kind == "audio/" {
                "an audio"
            } else {
                "an image"
            };
            Some(format!("{mime:?} is not {what} type"))
        } else if self.images.len() >= MAX_IMAGES {
            Some(format!(
                "only the first {MAX_IMAGES} images and clips of a result are shown"
            ))
        } else if self.bytes + size > self.cap {
            Some(format!(
                "the media of one result may take at most {} bytes ([tools] max_image_bytes)",
                self.cap
            ))
        } else {
            None
        };
        match why {
            Some(why) => self.text(format!("[{label}, {size} bytes base64; dropped: {why}]")),
            None => {
                self.bytes += size;
                self.images.push(ToolImage {
                    mime_type: mime.to_string(),
                    data: data.to_string(),
                });
                self.text(format!("[{label}, {size} bytes base64]"));
            }
        }
    }

    /// The result.
    pub fn finish(self) -> Converted {
        Converted {
            text: self.lines.join("\n"),
            images: self.images,
        }
    }
}

/// A `tools/call` result for the model, media capped at `cap` bytes.
pub fn convert_result(server: &str, result: &CallToolResult, cap: usize) -> Converted {
    let mut c = Converter::new(server, cap);
    for block in &result.content {
        c.block(block);
    }
    if let Some(structured) = &result.structured_content {
        // Servers are told to repeat structured content as text for older
        // clients: the same JSON twice would only cost tokens.
        let repeated = result.content.iter().any(|b| {
            matches!(b, ContentBlock::Text(t)
                if serde_json::from_str::<serde_json::Value>(&t.text).is_ok_and(|v| &v == structured))
        });
        if !repeated {
            let json =
                serde_json::to_string_pretty(structured).unwrap_or_else(|_| structured.to_string());
            c.text(json);
        }
    }
    c.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const CAP: usize = 1000;

    fn result(content: serde_json::Value) -> CallToolResult {
        serde_json::from_value(content).unwrap()
    }

    fn text(r: &CallToolResult) -> String {
        convert_result("srv", r, CAP).text
    }

    #[test]
    fn text_blocks_are_joined_with_newlines() {
        let r = result(json!({"content": [
            {"type": "text", "text": "one"},
            {"type": "text", "text": "two"}
        ]}));
        assert_eq!(text(&r), "one\ntwo");
    }

    #[test]
    fn every_kind_of_block_is_named_in_the_text() {
        let r = result(json!({"content": [
            {"type": "image", "data": "AAAA", "mimeType": "image/png"},
            {"type": "audio", "data": "BBBBBB", "mimeType": "audio/wav"},
            {"type": "resource", "resource": {"uri": "file:///a.bin", "blob": "CC", "mimeType": "application/pdf"}},
            {"type": "resource", "resource": {"uri": "file:///a.txt", "text": "inside", "mimeType": "text/plain"}},
            {"type": "resource_link", "uri": "file:///b", "name": "b", "mimeType": "text/markdown", "description": "the b file"}
        ]}));
        let c = convert_result("srv", &r, CAP);
        assert_eq!(
            c.text,
            "[image: image/png, 4 bytes base64]\n\
             [audio: audio/wav, 6 bytes base64]\n\
             [resource: file:///a.bin, application/pdf, 2 bytes base64; binary content, not shown]\n\
             [resource: file:///a.txt (text/plain)]\ninside\n\
             [resource link: file:///b (name \"b\", text/markdown, \"the b file\"); read it with \
             mcp_read_resource {\"server\":\"srv\",\"uri\":\"file:///b\"}]"
        );
        assert_eq!(c.images.len(), 2, "the image and the clip");
        assert_eq!(c.images[0].data, "AAAA");
        assert_eq!(c.images[1].mime_type, "audio/wav");
    }

    #[test]
    fn an_embedded_image_blob_is_an_image() {
        let r = result(json!({"content": [
            {"type": "resource", "resource": {"uri": "x://pic", "blob": "QUJD", "mimeType": "image/gif"}}
        ]}));
        let c = convert_result("srv", &r, CAP);
        assert_eq!(c.text, "[resource: x://pic, image/gif, 4 bytes base64]");
        assert_eq!(
            c.images,
            vec![ToolImage {
                mime_type: "image/gif".into(),
                data: "QUJD".into()
            }]
        );
    }

    #[test]
    fn images_past_the_cap_are_dropped_with_a_note() {
        let big = "A".repeat(CAP - 3);
        let r = result(json!({"content": [
            {"type": "text", "text": "see"},
            {"type": "image", "data": "AAAA", "mimeType": "image/png"},
            {"type": "image", "data": big, "mimeType": "image/jpeg"},
            {"type": "image", "data": "BB", "mimeType": "text/plain"}
        ]}));
        let c = convert_result("srv", &r, CAP);
        assert_eq!(
            c.images.len(),
            1,
            "the second passes the cap, the third is no image"
        );
        assert_eq!(c.images[0].mime_type, "image/png");
        let lines: Vec<&str> = c.text.lines().collect();
        assert_eq!(
            lines[2],
            "[image: image/jpeg, 997 bytes base64; dropped: the media of one result may take at \
             most 1000 bytes ([tools] max_image_bytes)]"
        );
        assert_eq!(
            lines[3],
            "[image: text/plain, 2 bytes base64; dropped: \"text/plain\" is not an image type]"
        );
    }

    #[test]
    fn at_most_eight_images_are_kept() {
        let blocks: Vec<_> = (0..10)
            .map(|_| json!({"type": "image", "data": "AA", "mimeType": "image/png"}))
            .collect();
        let c = convert_result("srv", &result(json!({ "content": blocks })), CAP);
        assert_eq!(c.images.len(), 8);
        assert!(
            c.text
                .ends_with("dropped: only the first 8 images and clips of a result are shown]")
        );
    }

    #[test]
    fn structured_content_is_added_unless_a_text_block_repeats_it() {
        let r = result(json!({"content": [], "structuredContent": {"answer": 42}}));
        assert_eq!(text(&r), "{\n  \"answer\": 42\n}");
        let r = result(json!({
            "content": [{"type": "text", "text": "{\"answer\": 42}"}],
            "structuredContent": {"answer": 42}
        }));
        assert_eq!(
            text(&r),
            "{\"answer\": 42}",
            "the same JSON is not repeated"
        );
        let r = result(json!({
            "content": [{"type": "text", "text": "the answer is 42"}],
            "structuredContent": {"answer": 42}
        }));
        assert_eq!(
            text(&r),
            "the answer is 42\n{\n  \"answer\": 42\n}",
            "prose does not stand for the JSON"
        );
    }

    #[test]
    fn structured_content_follows_placeholders() {
        let r = result(json!({
            "content": [{"type": "image", "data": "AA", "mimeType": "image/png"}],
            "structuredContent": [1, 2]
        }));
        assert_eq!(
            text(&r),
            "[image: image/png, 2 bytes base64]\n[\n  1,\n  2\n]"
        );
    }
}
