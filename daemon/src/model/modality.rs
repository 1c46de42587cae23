//! What well-known models take besides text: a short table of models known to
//! refuse images, so their sessions get the text placeholders without
//! `images = false` in config (a request with images would fail with HTTP 400).

/// Name prefixes (after any `vendor/` part) of models known to take no images.
const TEXT_ONLY: [&str; 7] = [
    "gpt-3.5-turbo",
    "o1-mini",
    "o3-mini",
    "deepseek-chat",
    "deepseek-reasoner",
    "deepseek-coder",
    "codestral",
];

/// True for a model known to take no image input.
pub fn known_text_only(model: &str) -> bool {
    let name = model.rsplit('/').next().unwrap_or(model);
    TEXT_ONLY.iter().any(|p| name.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_only_models_are_known_by_their_name() {
        assert!(known_text_only("deepseek-chat"));
        assert!(known_text_only("deepseek/deepseek-reasoner"));
        assert!(known_text_only("o3-mini-2025-01-31"));
        assert!(!known_text_only("gpt-4.1-mini"));
        assert!(!known_text_only("claude-sonnet-4-5"));
    }
}
