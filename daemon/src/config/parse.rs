//! Parsing `config.toml` into a [`Config`], with unknown keys refused and errors at the
//! line and column of what is wrong. The TUI's `[keys]` and `[tui]`
//! tables, and the CLI's `[remote]` and `[hosts.NAME]`, are accepted and left
//! to them.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::approvals::{Approvals, Policy};
use super::error::{ConfigError, line_col};
use super::providers::{Provider, ProviderKind};
use super::settings::{Config, Resume};

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
    #[serde(default)]
    context: RawContext,
    #[serde(default)]
    models: BTreeMap<String, toml::Spanned<RawModel>>,
    #[serde(default)]
    limits: super::limits::RawLimits,
    #[serde(default)]
    notify: super::notify::RawNotify,
    #[serde(default)]
    tools: super::tools::RawTools,
    #[serde(default)]
    sessions: RawSessions,
    #[serde(default)]
    worktrees: super::worktrees::RawWorktrees,
    #[serde(default)]
    store: super::store::RawStore,
    #[serde(default)]
    fleet: super::fleet::RawFleet,
    /// Key bindings, read by the TUI; accepted here so the file stays valid.
    #[serde(default)]
    #[allow(dead_code)]
    keys: Option<toml::Table>,
    /// The TUI's own settings (`bell`, ...), read by the TUI; accepted here so
    /// the file stays valid.
    #[serde(default)]
    #[allow(dead_code)]
    tui: Option<toml::Table>,
    /// How `tether --host` reaches other machines (`ssh`, `command`), read by
    /// the CLI; accepted here so the file stays valid.
    #[serde(default)]
    #[allow(dead_code)]
    remote: Option<toml::Table>,
    /// Named hosts for `tether --host NAME`, read by the CLI; accepted here so
    /// the file stays valid.
    #[serde(default)]
    #[allow(dead_code)]
    hosts: Option<toml::Table>,
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
    #[serde(default)]
    audio: bool,
    prompt_cache_key: Option<bool>,
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
struct RawSessions {
    sleep_after_s: Option<toml::Spanned<f64>>,
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

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawContext {
    compact_at: Option<toml::Spanned<f64>>,
    keep_recent_tokens: Option<toml::Spanned<i64>>,
    auto: Option<bool>,
    system_prompt: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawModel {
    context_window: Option<toml::Spanned<i64>>,
    max_tokens: Option<toml::Spanned<i64>>,
    thinking_budget: Option<toml::Spanned<i64>>,
    input_per_mtok: Option<toml::Spanned<f64>>,
    output_per_mtok: Option<toml::Spanned<f64>>,
    cache_read_per_mtok: Option<toml::Spanned<f64>>,
    cache_write_per_mtok: Option<toml::Spanned<f64>>,
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
                    "provider {name:?}: unknown kind {:?} (supported: \"openai\", \"openai-responses\", \"anthropic\")",
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
        let base_url = p.base_url.trim_end_matches('/').to_string();
        config.providers.insert(
            name.clone(),
            Provider {
                name,
                kind,
                prompt_cache_key: p
                    .prompt_cache_key
                    .unwrap_or_else(|| super::providers::default_prompt_cache_key(&base_url)),
                base_url,
                api_key_env: p.api_key_env.filter(|v| !v.is_empty()),
                headers: p.headers,
                images: p.images,
                audio: p.audio,
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
    let c = raw.context;
    if let Some(at) = c.compact_at {
        let v = *at.get_ref();
        if !(v.is_finite() && v > 0.0 && v <= 1.0) {
            return Err(err_at(
                Some(at.span()),
                format!(
                    "[context] compact_at = {v}: must be a share of the window, above 0 and at most 1"
                ),
            ));
        }
        config.context.compact_at = v;
    }
    if let Some(k) = c.keep_recent_tokens {
        let v = *k.get_ref();
        if v <= 0 {
            return Err(err_at(
                Some(k.span()),
                format!("[context] keep_recent_tokens = {v}: must be a positive number of tokens"),
            ));
        }
        config.context.keep_recent_tokens = v as u64;
    }
    if let Some(auto) = c.auto {
        config.context.auto = auto;
    }
    config.context.system_prompt = c.system_prompt;
    for (name, spanned) in raw.models {
        let span = spanned.span();
        if !name.contains('/') {
            return Err(err_at(
                Some(span),
                format!("[models.{name:?}]: the key must be \"PROVIDER/MODEL\""),
            ));
        }
        let m = spanned.into_inner();
        let mut settings = crate::config::ModelSettings::default();
        if let Some(w) = m.context_window {
            let v = *w.get_ref();
            if v <= 0 {
                return Err(err_at(
                    Some(w.span()),
                    format!(
                        "[models.{name:?}] context_window = {v}: must be a positive number of tokens"
                    ),
                ));
            }
            settings.context_window = Some(v as u64);
        }
        if let Some(t) = m.max_tokens {
            let v = *t.get_ref();
            if v <= 0 {
                return Err(err_at(
                    Some(t.span()),
                    format!(
                        "[models.{name:?}] max_tokens = {v}: must be a positive number of tokens"
                    ),
                ));
            }
            settings.max_tokens = Some(v as u64);
        }
        if let Some(b) = m.thinking_budget {
            let v = *b.get_ref();
            if v < 1024 {
                return Err(err_at(
                    Some(b.span()),
                    format!(
                        "[models.{name:?}] thinking_budget = {v}: must be at least 1024 tokens"
                    ),
                ));
            }
            if let Some(max) = settings.max_tokens.filter(|max| v as u64 >= *max) {
                return Err(err_at(
                    Some(b.span()),
                    format!(
                        "[models.{name:?}] thinking_budget = {v}: must be below max_tokens = {max}"
                    ),
                ));
            }
            settings.thinking_budget = Some(v as u64);
        }
        let price = super::limits::RawPrice {
            input_per_mtok: m.input_per_mtok,
            output_per_mtok: m.output_per_mtok,
            cache_read_per_mtok: m.cache_read_per_mtok,
            cache_write_per_mtok: m.cache_write_per_mtok,
        };
        settings.price = super::limits::price_of(&name, price, span, &err_at)?;
        config.models.insert(name, settings);
    }
    config.limits = super::limits::limits(raw.limits, &err_at)?;
    config.notify = super::notify::notify(raw.notify, &err_at)?;
    config.tools = super::tools::tools(raw.tools, &err_at)?;
    config.worktrees_dir = super::worktrees::dir(raw.worktrees, &err_at)?;
    config.store = super::store::store(raw.store, &err_at)?;
    config.fleet = super::fleet::fleet(raw.fleet, &err_at)?;
    if let Some(s) = raw.sessions.sleep_after_s {
        let v = *s.get_ref();
        if !(v.is_finite() && v >= 0.0) {
            return Err(err_at(
                Some(s.span()),
                format!(
                    "[sessions] sleep_after_s = {v}: must be a number of seconds, 0 or more (0: never)"
                ),
            ));
        }
        config.sleep_after = (v > 0.0).then(|| crate::util::secs(v));
    }
    Ok(config)
}
