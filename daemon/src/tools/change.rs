//! What the tool manager tells sessions: a change in the tools they see, and which
//! sessions it concerns.

use std::path::{Path, PathBuf};

/// Which sessions a tool change concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every session.
    All,
    /// Sessions working in this directory.
    Dir(PathBuf),
    /// One session.
    Session(String),
}

/// A change in the tools some sessions see, for their `tools_changed` event.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolChange {
    /// Who is concerned.
    pub scope: Scope,
    /// Tool names (as the model sees them) that appeared.
    pub added: Vec<String>,
    /// Tool names that went away.
    pub removed: Vec<String>,
    /// Config or server errors to show.
    pub errors: Vec<String>,
    /// Config files whose error was reported and that parse again.
    pub fixed: Vec<String>,
}

impl Scope {
    /// Whether a session with this id and working directory is concerned.
    pub fn covers(&self, session_id: &str, cwd: &Path) -> bool {
        match self {
            Scope::All => true,
            Scope::Dir(d) => d == cwd,
            Scope::Session(s) => s == session_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_covers_its_sessions() {
        let cwd = Path::new("/w");
        assert!(Scope::All.covers("s-1", cwd));
        assert!(Scope::Dir(PathBuf::from("/w")).covers("s-1", cwd));
        assert!(!Scope::Dir(PathBuf::from("/other")).covers("s-1", cwd));
        assert!(Scope::Session("s-1".into()).covers("s-1", cwd));
        assert!(!Scope::Session("s-2".into()).covers("s-1", cwd));
    }
}
