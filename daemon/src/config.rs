//! `config.toml`: providers, the default model, approvals, recovery and retries.
//!
//! The file is re-read when it changes (checked before each use, so a change applies
//! from the next model call). A file that does not parse changes nothing: the last
//! good config stays in force and the error, with file, line and column, is kept for
//! the user to see.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

/// The default model when the config names none.
pub const DEFAULT_MODEL: &str = "openai/gpt-4.1-mini";

/// A config file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct ConfigError {
    /// The file.
    pub path: String,
    /// 1-based line (1 when unknown).
    pub line: usize,
    /// 1-based column (1 when unknown).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// What to do with a tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Ask a person.
    Ask,
    /// Run it.
    Allow,
    /// Refuse it; the model is told.
    Deny,
}

/// Whether an interrupted turn resumes after a daemon restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Resume {
    /// Continue the turn (at most 3 times per turn).
    #[default]
    Auto,
    /// Leave the session idle.
    Manual,
}

/// The wire API a provider speaks (`kind` in `[providers.X]`); the model factory picks
/// the implementation by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI-compatible chat completions (`kind = "openai"`, the default).
    OpenAi,
}

impl ProviderKind {
    /// The kind named `name` in config, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "openai" => Some(ProviderKind::OpenAi),
            _ => None,
        }
    }
}

/// One model provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// The provider's name (the part before `/` in a model).
    pub name: String,
    /// The wire API it speaks.
    pub kind: ProviderKind,
    /// Base URL of an OpenAI-compatible API (`.../v1`).
    pub base_url: String,
    /// The environment variable holding the API key, if the endpoint needs one.
    pub api_key_env: Option<String>,
    /// Extra HTTP headers.
    pub headers: BTreeMap<String, String>,
    /// Whether tool images are sent to this provider's models (`images = false` for
    /// text-only models: they then see only the placeholders).
    pub images: bool,
}

/// Approval rules: `deny` globs win over `allow` globs; the rest gets `default`.
///
/// Without an explicit `allow` list, the built-in rule lets `read_file` and `list_dir`
/// run without asking, but only on paths inside the session's working directory;
/// elsewhere they get `default` like any other tool.
#[derive(Debug, Clone)]
pub struct Approvals {
    /// For tools that no glob matches.
    pub default: Policy,
    allow: GlobSet,
    deny: GlobSet,
    /// True when `allow` was not given, so the built-in rule applies.
    builtin_allow: bool,
}

impl Approvals {
    /// Builds the rules from glob lists; `allow: None` means the built-in rule.
    pub fn new(default: Policy, allow: Option<&[String]>, deny: &[String]) -> Result<Self, String> {
        Ok(Approvals {
            default,
            allow: glob_set(allow.unwrap_or_default())?,
            deny: glob_set(deny)?,
            builtin_allow: allow.is_none(),
        })
    }

    /// The policy for a call of `tool` with `arguments` in a session working in `cwd`.
    /// It may look at the file system (to resolve a path), so call it off the actor's
    /// hot path for many calls.
    pub fn decide(&self, tool: &str, arguments: &serde_json::Value, cwd: &Path) -> Policy {
        if self.deny.is_match(tool) {
            Policy::Deny
        } else if self.allow.is_match(tool)
            || (self.builtin_allow
                && crate::tools::builtin::scope::read_only_call_inside(tool, arguments, cwd))
        {
            Policy::Allow
        } else {
            self.default
        }
    }
}

fn glob_set(patterns: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).map_err(|e| format!("bad glob {p:?}: {e}"))?);
    }
    b.build().map_err(|e| e.to_string())
}

/// Retry policy for model calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles each time.
    pub initial_backoff: Duration,
    /// Backoff ceiling (a server's `Retry-After` is honoured beyond it, up to 300 s).
    pub max_backoff: Duration,
    /// A stream that makes no progress for this long (keep-alives do not count) is cut
    /// and retried.
    pub stall_timeout: Duration,
    /// A whole model call (response and stream) is cut after this long and retried.
    pub request_timeout: Duration,
}

/// The parsed config.
#[derive(Debug, Clone)]
pub struct Config {
    /// `provider/model` for new sessions.
    pub default_model: String,
    /// Providers by name.
    pub providers: BTreeMap<String, Provider>,
    /// Approval rules.
    pub approvals: Approvals,
    /// Recovery mode.
    pub resume: Resume,
    /// Retry policy.
    pub retry: Retry,
}

impl Default for Config {
    fn default() -> Self {
        let mut providers = BTreeMap::new();
        for p in builtin_providers() {
            providers.insert(p.name.clone(), p);
        }
        Config {
            default_model: DEFAULT_MODEL.into(),
            providers,
            approvals: default_approvals(),
            resume: Resume::Auto,
            retry: Retry {
                max_attempts: 5,
                initial_backoff: Duration::from_millis(500),
                max_backoff: Duration::from_secs(30),
                stall_timeout: Duration::from_secs(120),
                request_timeout: Duration::from_secs(600),
            },
        }
    }
}

fn builtin_providers() -> Vec<Provider> {
    vec![
        Provider {
            name: "openai".into(),
            kind: ProviderKind::OpenAi,
            base_url: "https://api.openai.com/v1".into(),
            api_key_env: Some("OPENAI_API_KEY".into()),
            headers: BTreeMap::new(),
            images: true,
        },
        Provider {
            name: "ollama".into(),
            kind: ProviderKind::OpenAi,
            base_url: "http://127.0.0.1:11434/v1".into(),
            api_key_env: None,
            headers: BTreeMap::new(),
            images: true,
        },
    ]
}

fn default_approvals() -> Approvals {
    Approvals {
        default: Policy::Ask,
        allow: GlobSet::empty(),
        deny: GlobSet::empty(),
        builtin_allow: true,
    }
}

/// A model name resolved to its provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedModel {
    /// The provider.
    pub provider: Provider,
    /// The model name sent to the provider.
    pub model: String,
}

impl Config {
    /// Resolves `provider/model` to a usable provider, or says exactly what to set.
    pub fn resolve(&self, model: &str, config_path: &Path) -> Result<ResolvedModel, String> {
        let Some((provider, name)) = model
            .split_once('/')
            .filter(|(p, m)| !p.is_empty() && !m.is_empty())
        else {
            return Err(format!(
                "model {model:?} is not of the form PROVIDER/MODEL (for example {DEFAULT_MODEL})"
            ));
        };
        let Some(p) = self.providers.get(provider) else {
            let known: Vec<&str> = self.providers.keys().map(String::as_str).collect();
            return Err(format!(
                "no provider named {provider:?} (known: {}); add [providers.{provider}] to {}",
                known.join(", "),
                config_path.display()
            ));
        };
        if let Some(var) = &p.api_key_env
            && std::env::var_os(var).is_none_or(|v| v.is_empty())
        {
            return Err(format!(
                "no usable model provider: {var} is not set in the daemon's environment; \
                 set {var} (then `tether daemon stop`), or pick another provider with -m, \
                 or configure one in {}",
                config_path.display()
            ));
        }
        Ok(ResolvedModel {
            provider: p.clone(),
            model: name.into(),
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    default_model: Option<toml::Spanned<String>>,
    #[serde(default)]
    providers: BTreeMap<String, toml::Spanned<RawProvider>>,
    #[serde(default)]
    approvals: RawApprovals,
    #[serde(default)]
    recovery: RawRecovery,
    #[serde(default)]
    retry: RawRetry,
    /// Key bindings, read by the TUI; accepted here so the file stays valid.
    #[serde(default)]
    #[allow(dead_code)]
    keys: Option<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    #[serde(default = "default_kind")]
    kind: toml::Spanned<String>,
    base_url: String,
    api_key_env: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default = "yes")]
    images: bool,
}

fn yes() -> bool {
    true
}

fn default_kind() -> toml::Spanned<String> {
    toml::Spanned::new(0..0, "openai".into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApprovals {
    #[serde(default = "default_policy")]
    default: Policy,
    /// `None`: the built-in rule (read-only builtins inside the session directory).
    #[serde(default)]
    allow: Option<Vec<String>>,
    #[serde(default)]
    deny: Vec<String>,
}

impl Default for RawApprovals {
    fn default() -> Self {
        RawApprovals {
            default: Policy::Ask,
            allow: None,
            deny: Vec::new(),
        }
    }
}

fn default_policy() -> Policy {
    Policy::Ask
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRecovery {
    #[serde(default)]
    resume: Resume,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    max_attempts: Option<u32>,
    initial_backoff_ms: Option<u64>,
    max_backoff_ms: Option<u64>,
    stall_timeout_s: Option<f64>,
    request_timeout_s: Option<f64>,
}

pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// Parses config text; `path` is used in errors.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let err_at = |span: Option<std::ops::Range<usize>>, message: String| {
        let (line, column) = span.map_or((1, 1), |s| line_col(text, s.start));
        ConfigError {
            path: path.display().to_string(),
            line,
            column,
            message,
        }
    };
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let message = e.message().trim().to_string();
        err_at(e.span(), message)
    })?;
    let mut config = Config::default();
    for (name, spanned) in raw.providers {
        let span = spanned.span();
        let p = spanned.into_inner();
        let Some(kind) = ProviderKind::from_name(p.kind.get_ref()) else {
            let kspan = if p.kind.span().is_empty() {
                span
            } else {
                p.kind.span()
            };
            return Err(err_at(
                Some(kspan),
                format!(
                    "provider {name:?}: unknown kind {:?} (supported: \"openai\")",
                    p.kind.get_ref()
                ),
            ));
        };
        if !(p.base_url.starts_with("http://") || p.base_url.starts_with("https://")) {
            return Err(err_at(
                Some(span),
                format!("provider {name:?}: base_url must start with http:// or https://"),
            ));
        }
        config.providers.insert(
            name.clone(),
            Provider {
                name,
                kind,
                base_url: p.base_url.trim_end_matches('/').to_string(),
                api_key_env: p.api_key_env.filter(|v| !v.is_empty()),
                headers: p.headers,
                images: p.images,
            },
        );
    }
    if let Some(m) = raw.default_model {
        if !m.get_ref().contains('/') {
            return Err(err_at(
                Some(m.span()),
                format!("default_model {:?} must be PROVIDER/MODEL", m.get_ref()),
            ));
        }
        config.default_model = m.into_inner();
    }
    config.approvals = Approvals::new(
        raw.approvals.default,
        raw.approvals.allow.as_deref(),
        &raw.approvals.deny,
    )
    .map_err(|e| err_at(None, format!("[approvals]: {e}")))?;
    config.resume = raw.recovery.resume;
    let r = raw.retry;
    if let Some(n) = r.max_attempts {
        config.retry.max_attempts = n.max(1);
    }
    if let Some(ms) = r.initial_backoff_ms {
        config.retry.initial_backoff = Duration::from_millis(ms);
    }
    if let Some(ms) = r.max_backoff_ms {
        config.retry.max_backoff = Duration::from_millis(ms);
    }
    if let Some(s) = r.stall_timeout_s.filter(|s| s.is_finite() && *s > 0.0) {
        config.retry.stall_timeout = crate::util::secs(s);
    }
    if let Some(s) = r.request_timeout_s.filter(|s| s.is_finite() && *s > 0.0) {
        config.retry.request_timeout = crate::util::secs(s);
    }
    Ok(config)
}

#[derive(Default)]
struct Cached {
    stamp: Option<(SystemTime, u64)>,
    good: Option<Arc<Config>>,
    error: Option<ConfigError>,
}

/// The config file, re-read when it changes.
pub struct ConfigSource {
    path: PathBuf,
    cached: Mutex<Cached>,
}

impl ConfigSource {
    /// A source for `path` (which need not exist).
    pub fn new(path: PathBuf) -> Self {
        ConfigSource {
            path,
            cached: Mutex::new(Cached::default()),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The config in force and the current error, re-reading the file if it changed.
    /// With an error, the config is the last good one (or the defaults).
    pub fn load(&self) -> (Arc<Config>, Option<ConfigError>) {
        let stamp = std::fs::metadata(&self.path)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
        let mut cached = match self.cached.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        if cached.good.is_none() && cached.error.is_none() || cached.stamp != stamp {
            cached.stamp = stamp;
            match stamp {
                None => {
                    cached.good = Some(Arc::new(Config::default()));
                    cached.error = None;
                }
                Some(_) => match std::fs::read_to_string(&self.path) {
                    Ok(text) => match parse(&text, &self.path) {
                        Ok(c) => {
                            cached.good = Some(Arc::new(c));
                            cached.error = None;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "config file does not parse; keeping the last good config");
                            cached.error = Some(e);
                        }
                    },
                    Err(e) => {
                        cached.error = Some(ConfigError {
                            path: self.path.display().to_string(),
                            line: 1,
                            column: 1,
                            message: format!("cannot read: {e}"),
                        })
                    }
                },
            }
        }
        let good = cached
            .good
            .clone()
            .unwrap_or_else(|| Arc::new(Config::default()));
        (good, cached.error.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Config, ConfigError> {
        parse(text, Path::new("/c/config.toml"))
    }

    #[test]
    fn parses_the_design_example() {
        let c = p(r#"
default_model = "openai/gpt-4.1-mini"

[providers.openai]
kind = "openai"
base_url = "https://api.openai.com/v1"
api_key_env = "OPENAI_API_KEY"

[providers.local]
kind = "openai"
base_url = "http://127.0.0.1:11434/v1/"

[approvals]
default = "ask"
allow = ["read_file", "list_dir"]
deny = []

[recovery]
resume = "auto"
"#)
        .unwrap();
        assert_eq!(c.default_model, "openai/gpt-4.1-mini");
        assert_eq!(c.providers["local"].base_url, "http://127.0.0.1:11434/v1");
        assert_eq!(c.providers["local"].api_key_env, None);
        assert_eq!(c.providers["local"].kind, ProviderKind::OpenAi);
        assert!(
            c.providers["local"].images,
            "images are sent unless turned off"
        );
        let c2 = p("[providers.t]\nbase_url = \"http://h/v1\"\nimages = false\n").unwrap();
        assert!(!c2.providers["t"].images);
        assert!(
            c.providers.contains_key("ollama"),
            "builtin providers stay available"
        );
        let cwd = Path::new("/nonexistent-session-dir");
        let outside = serde_json::json!({"path": "/etc/hostname"});
        assert_eq!(
            c.approvals.decide("read_file", &outside, cwd),
            Policy::Allow,
            "an explicit allow keeps its meaning: the tool runs anywhere"
        );
        assert_eq!(c.approvals.decide("shell", &outside, cwd), Policy::Ask);
        assert_eq!(c.resume, Resume::Auto);
    }

    #[test]
    fn approvals_deny_wins_and_globs_match() {
        let a = Approvals::new(
            Policy::Allow,
            Some(&["fs__*".into()]),
            &["fs__write*".into(), "shell".into()],
        )
        .unwrap();
        let (args, cwd) = (serde_json::json!({}), Path::new("/"));
        assert_eq!(a.decide("fs__read_text_file", &args, cwd), Policy::Allow);
        assert_eq!(a.decide("fs__write_file", &args, cwd), Policy::Deny);
        assert_eq!(a.decide("shell", &args, cwd), Policy::Deny);
        assert_eq!(a.decide("other", &args, cwd), Policy::Allow);
    }

    #[test]
    fn without_allow_read_only_builtins_run_only_inside_the_session_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("in.txt"), "x").unwrap();
        let inside = serde_json::json!({"path": "in.txt"});
        let outside = serde_json::json!({"path": "/etc/hostname"});
        for c in [
            p("[approvals]\ndefault = \"ask\"\n").unwrap(),
            p("").unwrap(),
            Config::default(),
        ] {
            let a = &c.approvals;
            assert_eq!(a.decide("read_file", &inside, dir.path()), Policy::Allow);
            assert_eq!(
                a.decide("list_dir", &serde_json::json!({}), dir.path()),
                Policy::Allow
            );
            assert_eq!(a.decide("read_file", &outside, dir.path()), Policy::Ask);
            assert_eq!(
                a.decide(
                    "list_dir",
                    &serde_json::json!({"path": "/root"}),
                    dir.path()
                ),
                Policy::Ask
            );
            assert_eq!(a.decide("write_file", &inside, dir.path()), Policy::Ask);
        }
        let c = p("[approvals]\ndefault = \"deny\"\n").unwrap();
        assert_eq!(
            c.approvals.decide("read_file", &inside, dir.path()),
            Policy::Allow
        );
        assert_eq!(
            c.approvals.decide("read_file", &outside, dir.path()),
            Policy::Deny
        );
        let c = p("[approvals]\nallow = []\n").unwrap();
        assert_eq!(
            c.approvals.decide("read_file", &inside, dir.path()),
            Policy::Ask,
            "an explicit empty allow list replaces the built-in rule"
        );
    }

    #[test]
    fn syntax_error_names_file_line_and_column() {
        let e = p("default_model = \"a/b\"\n[providers.x\nbase_url = 1\n").unwrap_err();
        assert_eq!(e.path, "/c/config.toml");
        assert_eq!(e.line, 2, "{e}");
        assert!(e.to_string().starts_with("/c/config.toml:2:"), "{e}");
    }

    #[test]
    fn unknown_field_and_bad_values_are_errors_with_lines() {
        let e = p("[providers.x]\nbase_url = \"http://h\"\napi_key_evn = \"K\"\n").unwrap_err();
        assert!(e.message.contains("api_key_evn"), "{e}");
        let e = p("\n[approvals]\ndefault = \"maybe\"\n").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        let e = p("[providers.x]\nkind = \"anthropic\"\nbase_url = \"http://h\"\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = p("default_model = \"nomodel\"\n").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn resolve_says_what_to_set() {
        let c = p("[providers.t]\nbase_url = \"http://h/v1\"\napi_key_env = \"TETHER_TEST_SURELY_UNSET_KEY\"\n").unwrap();
        let e = c.resolve("t/m", Path::new("/c/config.toml")).unwrap_err();
        assert!(e.contains("TETHER_TEST_SURELY_UNSET_KEY"), "{e}");
        let e = c
            .resolve("nope/m", Path::new("/c/config.toml"))
            .unwrap_err();
        assert!(e.contains("[providers.nope]"), "{e}");
        assert!(c.resolve("justmodel", Path::new("/c")).is_err());
        let r = c.resolve("ollama/llama3.2:3b", Path::new("/c")).unwrap();
        assert_eq!(r.model, "llama3.2:3b");
        let r = c.resolve("ollama/org/model", Path::new("/c")).unwrap();
        assert_eq!(r.model, "org/model");
    }

    #[test]
    fn retry_settings_parse() {
        let c = p("[retry]\nmax_attempts = 2\ninitial_backoff_ms = 10\nstall_timeout_s = 0.5\n")
            .unwrap();
        assert_eq!(
            c.retry.request_timeout,
            Duration::from_secs(600),
            "the default"
        );
        let c2 = p("[retry]\nrequest_timeout_s = 4.5\n").unwrap();
        assert_eq!(c2.retry.request_timeout, Duration::from_millis(4500));
        assert_eq!(c.retry.max_attempts, 2);
        assert_eq!(c.retry.initial_backoff, Duration::from_millis(10));
        assert_eq!(c.retry.stall_timeout, Duration::from_millis(500));
    }

    #[test]
    fn source_keeps_last_good_config_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let src = ConfigSource::new(path.clone());
        assert!(src.load().1.is_none(), "missing file means defaults");
        std::fs::write(&path, "default_model = \"ollama/a\"\n").unwrap();
        assert_eq!(src.load().0.default_model, "ollama/a");
        std::fs::write(&path, "default_model = \n").unwrap();
        let (c, e) = src.load();
        assert_eq!(c.default_model, "ollama/a");
        assert_eq!(e.unwrap().line, 1);
    }
}
