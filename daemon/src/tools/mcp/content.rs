//! Turning a `tools/call` result into the text the model reads.

use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use tether_shared::event::ToolImage;

/// At most this many images of one result go to the model.
const MAX_IMAGES: usize = 8;
/// At most this much base64 image data of one result is kept (and stored in the log).
pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;

/// The `image` blocks of a result, for the model to see, up to [`MAX_IMAGES`] and
/// [`MAX_IMAGE_BYTES`] in all; the rest stay placeholders in the text only.
pub(super) fn result_images(result: &CallToolResult) -> Vec<ToolImage> {
    let mut out = Vec::new();
    let mut bytes = 0;
    for block in &result.content {
        if let ContentBlock::Image(image) = block
            && out.len() < MAX_IMAGES
            && bytes + image.data.len() <= MAX_IMAGE_BYTES
            && image.mime_type.starts_with("image/")
        {
            bytes += image.data.len();
            out.push(ToolImage {
                mime_type: image.mime_type.clone(),
                data: image.data.clone(),
            });
        }
    }
    out
}

/// Text content joined with newlines; binary content as a short placeholder;
/// `structuredContent` as pretty JSON when nothing else produced text.
pub(super) fn result_to_text(result: &CallToolResult) -> String {
    let mut parts: Vec<String> = Vec::with_capacity(result.content.len() + 1);
    let mut has_text = false;
    for block in &result.content {
        match block {
            ContentBlock::Text(text) => {
                has_text = true;
                parts.push(text.text.clone());
            }
            ContentBlock::Image(image) => parts.push(format!(
                "[image: {}, {} bytes base64]",
                image.mime_type,
                image.data.len()
            )),
            ContentBlock::Audio(audio) => parts.push(format!(
                "[audio: {}, {} bytes base64]",
                audio.mime_type,
                audio.data.len()
            )),
            ContentBlock::Resource(embedded) => match &embedded.resource {
                ResourceContents::TextResourceContents { text, .. } => {
                    has_text = true;
                    parts.push(text.clone());
                }
                ResourceContents::BlobResourceContents { uri, .. } => {
                    parts.push(format!("[resource: {uri}]"));
                }
                // Non-exhaustive upstream; no URI to show for an unknown kind.
                _ => parts.push("[resource]".to_string()),
            },
            ContentBlock::ResourceLink(link) => {
                parts.push(format!("[resource link: {}]", link.uri))
            }
            // `ContentBlock` is non-exhaustive: a newer kind still shows up.
            _ => parts.push("[unsupported content]".to_string()),
        }
    }
    if !has_text && let Some(structured) = &result.structured_content {
        let json =
            serde_json::to_string_pretty(structured).unwrap_or_else(|_| structured.to_string());
        parts.push(json);
    }
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result(content: serde_json::Value) -> CallToolResult {
        serde_json::from_value(content).unwrap()
    }

    #[test]
    fn text_blocks_are_joined_with_newlines() {
        let r = result(json!({"content": [
            {"type": "text", "text": "one"},
            {"type": "text", "text": "two"}
        ]}));
        assert_eq!(result_to_text(&r), "one\ntwo");
    }

    #[test]
    fn binary_content_becomes_placeholders() {
        let r = result(json!({"content": [
            {"type": "image", "data": "AAAA", "mimeType": "image/png"},
            {"type": "audio", "data": "BBBBBB", "mimeType": "audio/wav"},
            {"type": "resource", "resource": {"uri": "file:///a.bin", "blob": "CC"}},
            {"type": "resource", "resource": {"uri": "file:///a.txt", "text": "inside"}},
            {"type": "resource_link", "uri": "file:///b", "name": "b"}
        ]}));
        assert_eq!(
            result_to_text(&r),
            "[image: image/png, 4 bytes base64]\n[audio: audio/wav, 6 bytes base64]\n\
             [resource: file:///a.bin]\ninside\n[resource link: file:///b]"
        );
    }

    #[test]
    fn images_are_kept_within_the_caps() {
        let big = "A".repeat(MAX_IMAGE_BYTES - 3);
        let r = result(json!({"content": [
            {"type": "text", "text": "see"},
            {"type": "image", "data": "AAAA", "mimeType": "image/png"},
            {"type": "image", "data": big, "mimeType": "image/jpeg"},
            {"type": "image", "data": "BB", "mimeType": "text/plain"}
        ]}));
        let images = result_images(&r);
        assert_eq!(
            images.len(),
            1,
            "the second would pass the cap, the third is no image"
        );
        assert_eq!(images[0].mime_type, "image/png");
        assert_eq!(images[0].data, "AAAA");
    }

    #[test]
    fn structured_content_is_used_only_without_text() {
        let r = result(json!({"content": [], "structuredContent": {"answer": 42}}));
        assert_eq!(result_to_text(&r), "{\n  \"answer\": 42\n}");
        let r = result(json!({
            "content": [{"type": "text", "text": "{\"answer\":42}"}],
            "structuredContent": {"answer": 42}
        }));
        assert_eq!(result_to_text(&r), "{\"answer\":42}");
    }

    #[test]
    fn structured_content_follows_placeholders() {
        let r = result(json!({
            "content": [{"type": "image", "data": "AA", "mimeType": "image/png"}],
            "structuredContent": [1, 2]
        }));
        assert_eq!(
            result_to_text(&r),
            "[image: image/png, 2 bytes base64]\n[\n  1,\n  2\n]"
        );
    }
}
