//! `[limits]` (the budget a new session gets) and the price table of
//! `[models."provider/model"]` (issue 10): what a model call costs, from the
//! config or, for well-known models, from built-in estimates.

use serde::Deserialize;

use super::error::ConfigError;
use tether_shared::Usage;
use tether_shared::event::Budget;

/// `[limits]`: the budget of a session created without one of its own.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// `session_max_tokens`.
    pub session_max_tokens: Option<u64>,
    /// `session_max_cost_usd`.
    pub session_max_cost_usd: Option<f64>,
}

impl Limits {
    /// The budget of a new session: what it asked for, else these limits.
    pub fn budget(&self, max_tokens: Option<u64>, max_cost_usd: Option<f64>) -> Budget {
        Budget {
            max_tokens: max_tokens.or(self.session_max_tokens),
            max_cost_usd: max_cost_usd.or(self.session_max_cost_usd),
        }
    }
}

/// US dollars per million tokens of each kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// Input not read from or written to the cache.
    pub input_per_mtok: f64,
    /// Output (reasoning included).
    pub output_per_mtok: f64,
    /// Input read from the cache.
    pub cache_read_per_mtok: f64,
    /// Input written to the cache.
    pub cache_write_per_mtok: f64,
    /// True for a built-in price: an estimate, not what the provider bills.
    pub estimate: bool,
}

impl Price {
    /// What a call with `usage` costs.
    pub fn cost(&self, u: &Usage) -> f64 {
        let plain = u
            .prompt_tokens
            .saturating_sub(u.cached_tokens)
            .saturating_sub(u.cache_write_tokens);
        (plain as f64 * self.input_per_mtok
            + u.cached_tokens as f64 * self.cache_read_per_mtok
            + u.cache_write_tokens as f64 * self.cache_write_per_mtok
            + u.completion_tokens as f64 * self.output_per_mtok)
            / 1_000_000.0
    }
}

/// Built-in prices (USD per million tokens: input, output, cache read, cache
/// write) of well-known models, matched on the model part of `provider/model`.
/// Estimates from the providers' public price lists; the config overrides them.
const BUILTIN: &[(&str, [f64; 4])] = &[
    ("claude-opus-4", [15.0, 75.0, 1.5, 18.75]),
    ("claude-sonnet-4", [3.0, 15.0, 0.3, 3.75]),
    ("claude-haiku-4", [1.0, 5.0, 0.1, 1.25]),
    ("claude-3-5-haiku", [0.8, 4.0, 0.08, 1.0]),
    ("gpt-5-mini", [0.25, 2.0, 0.025, 0.25]),
    ("gpt-5-nano", [0.05, 0.4, 0.005, 0.05]),
    ("gpt-5", [1.25, 10.0, 0.125, 1.25]),
    ("gpt-4.1-mini", [0.4, 1.6, 0.1, 0.4]),
    ("gpt-4.1", [2.0, 8.0, 0.5, 2.0]),
    ("gpt-4o-mini", [0.15, 0.6, 0.075, 0.15]),
    ("gpt-4o", [2.5, 10.0, 1.25, 2.5]),
    ("o4-mini", [1.1, 4.4, 0.275, 1.1]),
    ("o3-mini", [1.1, 4.4, 0.55, 1.1]),
    ("o3", [2.0, 8.0, 0.5, 2.0]),
    ("deepseek-chat", [0.27, 1.1, 0.07, 0.27]),
    ("deepseek-reasoner", [0.55, 2.19, 0.14, 0.55]),
];

/// The built-in estimate for `model` (`provider/model`) when it is a well-known
/// model (longest matching prefix), else none (a local model costs nothing
/// tether knows of).
pub fn builtin_price(model: &str) -> Option<Price> {
    let name = model.split_once('/').map_or(model, |(_, m)| m);
    let name = name.rsplit('/').next().unwrap_or(name);
    BUILTIN
        .iter()
        .filter(|(prefix, _)| name.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, [i, o, r, w])| Price {
            input_per_mtok: *i,
            output_per_mtok: *o,
            cache_read_per_mtok: *r,
            cache_write_per_mtok: *w,
            estimate: true,
        })
}

/// `[limits]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    session_max_tokens: Option<toml::Spanned<i64>>,
    session_max_cost_usd: Option<toml::Spanned<f64>>,
}

/// The price keys of a `[models."provider/model"]` table as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrice {
    pub(super) input_per_mtok: Option<toml::Spanned<f64>>,
    pub(super) output_per_mtok: Option<toml::Spanned<f64>>,
    pub(super) cache_read_per_mtok: Option<toml::Spanned<f64>>,
    pub(super) cache_write_per_mtok: Option<toml::Spanned<f64>>,
}

/// Builds an error at a span of the file.
pub(super) type ErrAt<'a> = &'a dyn Fn(Option<std::ops::Range<usize>>, String) -> ConfigError;

/// Reads `[limits]`.
pub(super) fn limits(raw: RawLimits, err_at: ErrAt) -> Result<Limits, ConfigError> {
    let mut out = Limits::default();
    if let Some(t) = raw.session_max_tokens {
        let v = *t.get_ref();
        if v <= 0 {
            return Err(err_at(
                Some(t.span()),
                format!("[limits] session_max_tokens = {v}: must be a positive number of tokens"),
            ));
        }
        out.session_max_tokens = Some(v as u64);
    }
    if let Some(c) = raw.session_max_cost_usd {
        let v = *c.get_ref();
        if !(v.is_finite() && v > 0.0) {
            return Err(err_at(
                Some(c.span()),
                format!(
                    "[limits] session_max_cost_usd = {v}: must be a positive amount of US dollars"
                ),
            ));
        }
        out.session_max_cost_usd = Some(v);
    }
    Ok(out)
}

/// Reads the price of `[models.NAME]`: none when no price key is set; input and
/// output are required when any is; the cache prices default to the input price.
pub(super) fn price_of(
    name: &str,
    raw: RawPrice,
    span: std::ops::Range<usize>,
    err_at: ErrAt,
) -> Result<Option<Price>, ConfigError> {
    let check = |v: Option<toml::Spanned<f64>>, key: &str| -> Result<Option<f64>, ConfigError> {
        match v {
            None => Ok(None),
            Some(s) if s.get_ref().is_finite() && *s.get_ref() >= 0.0 => Ok(Some(*s.get_ref())),
            Some(s) => Err(err_at(
                Some(s.span()),
                format!(
                    "[models.{name:?}] {key} = {}: must be US dollars per million tokens, 0 or more",
                    s.get_ref()
                ),
            )),
        }
    };
    let input = check(raw.input_per_mtok, "input_per_mtok")?;
    let output = check(raw.output_per_mtok, "output_per_mtok")?;
    let read = check(raw.cache_read_per_mtok, "cache_read_per_mtok")?;
    let write = check(raw.cache_write_per_mtok, "cache_write_per_mtok")?;
    if input.is_none() && output.is_none() && read.is_none() && write.is_none() {
        return Ok(None);
    }
    let (Some(input), Some(output)) = (input, output) else {
        return Err(err_at(
            Some(span),
            format!("[models.{name:?}]: a price needs both input_per_mtok and output_per_mtok"),
        ));
    };
    Ok(Some(Price {
        input_per_mtok: input,
        output_per_mtok: output,
        cache_read_per_mtok: read.unwrap_or(input),
        cache_write_per_mtok: write.unwrap_or(input),
        estimate: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_counts_each_kind_of_token_at_its_price() {
        let p = Price {
            input_per_mtok: 3.0,
            output_per_mtok: 15.0,
            cache_read_per_mtok: 0.3,
            cache_write_per_mtok: 3.75,
            estimate: false,
        };
        let u = Usage {
            prompt_tokens: 1_000_000,
            completion_tokens: 100_000,
            cached_tokens: 800_000,
            cache_write_tokens: 100_000,
            reasoning_tokens: 0,
        };
        // 100k plain * 3 + 800k * 0.3 + 100k * 3.75 + 100k * 15, per million.
        let want = 0.3 + 0.24 + 0.375 + 1.5;
        assert!((p.cost(&u) - want).abs() < 1e-9, "{}", p.cost(&u));
    }

    #[test]
    fn a_well_known_model_has_an_estimate_and_a_local_one_none() {
        let p = builtin_price("anthropic/claude-sonnet-4-5").unwrap();
        assert!(p.estimate);
        assert_eq!(p.input_per_mtok, 3.0);
        let mini = builtin_price("openai/gpt-4o-mini").unwrap();
        assert_eq!(mini.input_per_mtok, 0.15);
        let routed = builtin_price("openrouter/anthropic/claude-opus-4.1").unwrap();
        assert_eq!(routed.output_per_mtok, 75.0);
        assert!(builtin_price("local/qwen3-coder").is_none());
    }
}
