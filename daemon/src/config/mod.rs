//! `config.toml`: providers, the default model, approvals, recovery, retries,
//! context, limits and notifications.
//!
//! The file is re-read when it changes (checked before each use, so a change applies
//! from the next model call). A file that does not parse changes nothing: the last
//! good config stays in force and the error, with file, line and column, is kept for
//! the user to see.
//!
//! `source` is the re-reading [`ConfigSource`]; `parse` turns the text into the
//! [`Config`] of `settings`, made of `providers`, `approvals`, `retry` and
//! `context` (`[context]` and `[models."provider/model"]`), `limits` and `notify`
//! (`[notify]`, the command run for notifying events) and `tools` (`[tools]`,
//! the media cap of tool results), `worktrees` (`[worktrees] dir`) and `store`
//! (`[store] url`, where the sessions are kept, issue 16); `error`
//! is [`ConfigError`]. `watch` notices when any config file (this one or a tool
//! config file) changes.

mod approvals;
mod context;
mod error;
pub(crate) mod fleet;
mod limits;
mod notify;
mod parse;
mod providers;
mod retry;
mod settings;
mod source;
mod store;
#[cfg(test)]
mod tests;
mod tools;
pub(crate) mod watch;
mod worktrees;

pub use approvals::Policy;
pub use context::ModelSettings;
pub use error::ConfigError;
pub(crate) use error::line_col;
// The daemon parses through `ConfigSource`; tests parse text directly.
#[cfg(test)]
pub(crate) use parse::parse;
pub use providers::{Provider, ProviderKind, ResolvedModel};
pub use retry::Retry;
pub use settings::{Config, Resume};
pub use source::ConfigSource;
pub use store::{STORE_URL_ENV, store_url};
