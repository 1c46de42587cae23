//! `[tools]` (issue 14): how much of what a tool returns the model is given. Today
//! the cap on the media (images, audio) one result may carry.

use serde::Deserialize;

use super::error::ConfigError;
use super::limits::ErrAt;

/// The media cap when `[tools] max_image_bytes` is not set: 4 MiB of base64, in
/// line with what the model APIs accept per image.
pub const DEFAULT_MAX_IMAGE_BYTES: usize = 4 * 1024 * 1024;

/// `[tools]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolSettings {
    /// The most base64 media (images and audio, in all) one tool result gives the
    /// model; what would pass it is dropped with a note saying so.
    pub max_image_bytes: usize,
}

impl Default for ToolSettings {
    fn default() -> Self {
        ToolSettings {
            max_image_bytes: DEFAULT_MAX_IMAGE_BYTES,
        }
    }
}

/// `[tools]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTools {
    max_image_bytes: Option<toml::Spanned<i64>>,
}

/// Reads `[tools]`.
pub(super) fn tools(raw: RawTools, err_at: ErrAt) -> Result<ToolSettings, ConfigError> {
    let mut out = ToolSettings::default();
    if let Some(b) = raw.max_image_bytes {
        let v = *b.get_ref();
        if v < 0 {
            return Err(err_at(
                Some(b.span()),
                format!("[tools] max_image_bytes = {v}: must be 0 (no media) or more bytes"),
            ));
        }
        out.max_image_bytes = usize::try_from(v).unwrap_or(usize::MAX);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::parse;

    #[test]
    fn the_media_cap_and_provider_audio_are_read_and_checked() {
        let c = parse("", Path::new("/c/config.toml")).unwrap();
        assert_eq!(c.tools.max_image_bytes, DEFAULT_MAX_IMAGE_BYTES);
        assert!(!c.providers["openai"].audio, "audio is off unless turned on");
        let c = parse(
            "[tools]\nmax_image_bytes = 1000\n\n[providers.a]\nbase_url = \"http://h/v1\"\naudio = true\n",
            Path::new("/c/config.toml"),
        )
        .unwrap();
        assert_eq!(c.tools.max_image_bytes, 1000);
        assert!(c.providers["a"].audio);
        let e = parse("[tools]\nmax_image_bytes = -1\n", Path::new("/c/config.toml")).unwrap_err();
        assert!(e.to_string().contains("max_image_bytes = -1"), "{e}");
        let e = parse("[tools]\nmax_images = 1\n", Path::new("/c/config.toml")).unwrap_err();
        assert!(e.to_string().contains("max_images"), "{e}");
    }
}
