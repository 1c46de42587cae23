//! The parsed config: the default model, providers, approvals, recovery and retries,
//! and the resolution of a model name to its provider.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::approvals::{Approvals, default_approvals};
use super::context::{ContextSettings, ModelSettings};
use super::providers::{Provider, ResolvedModel, builtin_providers};
use super::retry::Retry;

/// The default model when the config names none.
pub const DEFAULT_MODEL: &str = "openai/gpt-4.1-mini";

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
    /// `[context]`.
    pub context: ContextSettings,
    /// `[models."provider/model"]`, by `provider/model`.
    pub models: BTreeMap<String, ModelSettings>,
    /// `[limits]`.
    pub limits: super::limits::Limits,
    /// `[notify]`.
    pub notify: super::notify::Notify,
    /// `[tools]`.
    pub tools: super::tools::ToolSettings,
    /// `[store]` (issue 16): read at daemon start only.
    pub store: super::store::StoreSettings,
    /// `[sessions] sleep_after_s`: how long a settled session nobody watches
    /// keeps its actor before it falls asleep (issue 13); `None`: never.
    pub sleep_after: Option<std::time::Duration>,
    /// `[worktrees] dir`: where `new --worktree` puts worktrees
    /// (`DIR/REPO-BASENAME/NAME`); `None`: `REPO/.tether/worktrees/NAME`.
    pub worktrees_dir: Option<std::path::PathBuf>,
    /// `[fleet]` (issue 16): read when the daemon starts.
    pub fleet: super::fleet::Fleet,
}

/// `[sessions] sleep_after_s` when the file does not set it.
pub const DEFAULT_SLEEP_AFTER: std::time::Duration = std::time::Duration::from_secs(300);

impl Config {
    /// The price of `model`'s tokens: `[models."p/m"]`'s, else a built-in
    /// estimate for a well-known model, else none.
    pub fn price(&self, model: &str) -> Option<super::limits::Price> {
        self.models
            .get(model)
            .and_then(|m| m.price)
            .or_else(|| super::limits::builtin_price(model))
    }

    /// Where the price of `model` comes from.
    pub fn cost_basis(&self, model: &str) -> tether_shared::protocol::CostBasis {
        use tether_shared::protocol::CostBasis;
        match self.price(model) {
            Some(p) if p.estimate => CostBasis::Estimate,
            Some(_) => CostBasis::Config,
            None => CostBasis::Unknown,
        }
    }

    /// What a call of `model` with `usage` cost in US dollars; 0 when its price
    /// is unknown.
    pub fn cost(&self, model: &str, usage: &tether_shared::Usage) -> f64 {
        self.price(model).map_or(0.0, |p| p.cost(usage))
    }
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
            retry: Retry::default(),
            context: ContextSettings::default(),
            models: BTreeMap::new(),
            limits: Default::default(),
            notify: Default::default(),
            tools: Default::default(),
            store: Default::default(),
            sleep_after: Some(DEFAULT_SLEEP_AFTER),
            worktrees_dir: None,
            fleet: Default::default(),
        }
    }
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
            settings: self.models.get(model).cloned().unwrap_or_default(),
        })
    }
}
