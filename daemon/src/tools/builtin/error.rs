//! Why a builtin call failed, as the model is told it.

use std::io;
use std::path::{Path, PathBuf};

/// Why a builtin call failed; its `Display` is the text the model sees.
#[derive(Debug, thiserror::Error)]
pub(super) enum ToolError {
    #[error("invalid arguments for {tool}: {reason}")]
    InvalidArguments { tool: String, reason: String },
    #[error("no such file or directory: {}", path.display())]
    NotFound { path: PathBuf },
    #[error("{} is a directory, not a file (use list_dir to see its entries)", path.display())]
    IsDirectory { path: PathBuf },
    #[error("{} is not a directory", path.display())]
    NotDirectory { path: PathBuf },
    #[error("failed to {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{} is not valid UTF-8 text, so edit_file cannot change it safely", path.display())]
    NotUtf8 { path: PathBuf },
    #[error(
        "old_string was not found in {}; read the file and copy the text exactly, \
         including whitespace",
        path.display()
    )]
    EditNotFound { path: PathBuf },
    #[error(
        "old_string was found {count} times in {}; it must match exactly once, so include \
         more surrounding context",
        path.display()
    )]
    EditAmbiguous { path: PathBuf, count: usize },
    #[error("interrupted")]
    Interrupted,
    #[error("{tool} reads the session's log, which this call has no access to")]
    NoLog { tool: String },
    #[error("{tool} could not read the session's log: {reason}")]
    Log { tool: String, reason: String },
}

impl ToolError {
    /// Maps an I/O error to the clearest message for the model: a missing path is the common
    /// mistake and deserves a plain sentence rather than an errno string.
    pub(super) fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::NotFound {
            Self::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            Self::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        }
    }
}
