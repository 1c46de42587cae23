//! `[worktrees]` (issue 15): where `tether new --worktree` puts worktrees.

use std::path::PathBuf;

use serde::Deserialize;

use super::error::ConfigError;
use super::limits::ErrAt;

/// `[worktrees]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorktrees {
    dir: Option<toml::Spanned<String>>,
}

/// Reads `[worktrees] dir`: an absolute path, or one starting with `~/` (the
/// daemon's user's home). `None`: inside each repository.
pub(super) fn dir(raw: RawWorktrees, err_at: ErrAt) -> Result<Option<PathBuf>, ConfigError> {
    let Some(d) = raw.dir else {
        return Ok(None);
    };
    let text = d.get_ref().trim();
    let path = match text.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(rest)),
        None if text == "~" => std::env::var_os("HOME").map(PathBuf::from),
        None => Some(PathBuf::from(text)),
    };
    match path {
        Some(p) if p.is_absolute() => Ok(Some(p)),
        _ => Err(err_at(
            Some(d.span()),
            format!("[worktrees] dir = {text:?}: must be an absolute path (or start with ~/)"),
        )),
    }
}
