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
