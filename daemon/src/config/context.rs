//! `[context]` and `[models."provider/model"]`: how much of a model's window a
//! session uses before it compacts, what it keeps verbatim, and the windows the
//! config states (issue 9).

/// Share of the window a request may reach before the session compacts.
pub const DEFAULT_COMPACT_AT: f64 = 0.8;

/// Recent conversation kept verbatim by a compaction, in tokens (at most a quarter
/// of the window: see [`ContextSettings::keep_recent`]).
pub const DEFAULT_KEEP_RECENT_TOKENS: u64 = 20_000;

/// `[context]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextSettings {
    /// Compact when a request would pass this share of the window.
    pub compact_at: f64,
    /// Recent conversation kept verbatim, in tokens.
    pub keep_recent_tokens: u64,
    /// Compact automatically; when false an overflow fails the turn and says to
    /// run `tether compact`.
    pub auto: bool,
    /// Replaces the default system prompt when set.
    pub system_prompt: Option<String>,
}

impl Default for ContextSettings {
    fn default() -> Self {
        ContextSettings {
            compact_at: DEFAULT_COMPACT_AT,
            keep_recent_tokens: DEFAULT_KEEP_RECENT_TOKENS,
            auto: true,
            system_prompt: None,
        }
    }
}

impl ContextSettings {
    /// The tokens a compaction keeps verbatim for a model of `window` tokens.
    pub fn keep_recent(&self, window: u64) -> u64 {
        self.keep_recent_tokens.min(window / 4).max(1)
    }

    /// The request size, in tokens, past which a model of `window` tokens compacts.
    pub fn threshold(&self, window: u64) -> u64 {
        ((window as f64) * self.compact_at) as u64
    }
}

/// `[models."provider/model"]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelSettings {
    /// The context window in tokens, when the config says.
    pub context_window: Option<u64>,
    /// The most tokens one answer may have (Anthropic's required `max_tokens`), when
    /// the config says; else the provider's default for the model.
    pub max_tokens: Option<u64>,
    /// Extended thinking's budget in tokens (Anthropic: `thinking.budget_tokens`, at
    /// least 1024 and below `max_tokens`); no thinking when unset.
    pub thinking_budget: Option<u64>,
    /// The price of its tokens, when the config says (issue 10).
    pub price: Option<super::limits::Price>,
}
