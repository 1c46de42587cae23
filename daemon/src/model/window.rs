//! A model's context window when the config does not state it: a built-in table of
//! well-known model families ([`known_window`]), and a probe of the endpoint for servers
//! that say what they serve ([`probe_window`]).
//!
//! The table holds the window a model was made with. A local server may serve less than
//! that (Ollama's `num_ctx`, llama.cpp's `--ctx-size`, vLLM's `--max-model-len`), so for a
//! provider that is not a cloud API the probe says more than the table.

use std::time::Duration;

use serde_json::{Value, json};

use crate::config::{Provider, ProviderKind};

/// The longest a probe may take, all its requests together.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Model families and their windows, checked in order (the first match wins, so a
/// narrower family comes before the wider one it is named like). Every needle of an entry
/// must be in the normalised name (see [`normalise`] and [`has_word`]).
const KNOWN: &[(&[&str], u64)] = &[
    // OpenAI, from the model pages of platform.openai.com/docs/models.
    (&["gpt5-chat"], 128_000),
    (&["gpt5"], 400_000),
    (&["gpt4.1"], 1_047_576),
    (&["gpt4o"], 128_000),
    (&["gpt4.5"], 128_000),
    (&["gpt4-turbo"], 128_000),
    (&["gpt4"], 8_192),
    (&["gpt3.5-turbo"], 16_385),
    (&["gpt-oss"], 131_072),
    (&["o4-mini"], 200_000),
    (&["o3"], 200_000),
    (&["o1-mini"], 128_000),
    (&["o1"], 200_000),
    // Anthropic: every Claude 3 and later model has 200K (docs.anthropic.com, "Context
    // windows"; the 1M window of some is a beta that must be asked for).
    (&["claude"], 200_000),
    // DeepSeek V3 and R1, and the deepseek-chat / deepseek-reasoner API names: 128K
    // (api-docs.deepseek.com, "Models & Pricing"). Before Llama and Qwen: the R1 distills
    // are named after them.
    (&["deepseek-v3"], 128_000),
    (&["deepseek-r1"], 128_000),
    (&["deepseek-chat"], 128_000),
    (&["deepseek-reasoner"], 128_000),
    // Meta Llama: 3.1, 3.2 and 3.3 have 128K, Llama 3 has 8K (the model cards on
    // github.com/meta-llama and huggingface.co/meta-llama).
    (&["llama3.1"], 131_072),
    (&["llama3.2"], 131_072),
    (&["llama3.3"], 131_072),
    (&["llama3"], 8_192),
    // Qwen: Qwen2.5 and Qwen3 are trained for 32,768 (128K only with YaRN turned on);
    // Qwen3-Coder and the 2507 updates of Qwen3 have 262,144 (the model cards on
    // huggingface.co/Qwen).
    (&["qwen3-coder"], 262_144),
    (&["qwen3", "2507"], 262_144),
    (&["qwen3"], 32_768),
    (&["qwen2.5"], 32_768),
    // Mistral (docs.mistral.ai, "Models"): Codestral 256K; Nemo, Large and Ministral
    // 128K; Mixtral 8x22B 64K; Mixtral 8x7B, Mistral 7B and Small (before 3.1) 32K.
    (&["codestral"], 256_000),
    (&["mixtral8x22b"], 65_536),
    (&["mixtral"], 32_768),
    (&["mistral-nemo"], 131_072),
    (&["mistral-large"], 131_072),
    (&["ministral"], 131_072),
    (&["mistral-small"], 32_768),
    (&["mistral"], 32_768),
    // Google Gemma: Gemma 3 has 128K except the 1B and 270M models and Gemma 3n, which
    // have 32K; Gemma 2 and Gemma have 8K (ai.google.dev/gemma/docs, model cards).
    (&["gemma3-1b"], 32_768),
    (&["gemma3-270m"], 32_768),
    (&["gemma3n"], 32_768),
    (&["gemma3"], 131_072),
    (&["gemma2"], 8_192),
    (&["gemma"], 8_192),
    // Hugging Face SmolLM2: 8,192 (`max_position_embeddings` in its config.json).
    (&["smollm2"], 8_192),
];

/// The context window of a well-known model, matched on its name after any provider or
/// organisation prefix (`openai/gpt-4o`, `meta-llama/Llama-3.1-8B-Instruct`), with any
/// tag or file suffix (`qwen2.5:7b`, `…-Q4_K_M.gguf`); `None` for a model not in the
/// table.
pub fn known_window(model: &str) -> Option<u64> {
    let name = normalise(model);
    KNOWN
        .iter()
        .find(|(needles, _)| needles.iter().all(|n| has_word(&name, n)))
        .map(|(_, window)| *window)
}

/// The name a model is matched on: lowercase, the part after the last `/`, `_` `:` and
/// spaces turned into `-`, and a `-` between a letter and a digit dropped, so that
/// `Llama-3.1`, `llama3.1` and `llama3.1:8b` all read `llama3.1…`, and `gpt-4o` reads
/// `gpt4o`.
fn normalise(model: &str) -> String {
    let last = model.rsplit('/').next().unwrap_or(model).to_lowercase();
    let chars: Vec<char> = last
        .chars()
        .map(|c| if matches!(c, '_' | ':' | ' ') { '-' } else { c })
        .collect();
    let mut out = String::with_capacity(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        let between = c == '-'
            && i > 0
            && chars[i - 1].is_ascii_alphabetic()
            && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if !between {
            out.push(c);
        }
    }
    out
}

/// Whether `needle` is in `name` at the start of a word (the start, or after `-` or `.`);
/// a needle that starts with a digit (a date like `2507`) may be anywhere.
fn has_word(name: &str, needle: &str) -> bool {
    if needle.starts_with(|c: char| c.is_ascii_digit()) {
        return name.contains(needle);
    }
    name.match_indices(needle)
        .any(|(at, _)| at == 0 || name[..at].ends_with(['-', '.']))
}

/// The window `model` is served with, asked of the endpoint itself, or `None` when it
/// does not say (or does not answer within [`PROBE_TIMEOUT`]). It tries, in order:
///
/// - `GET {base_url}/models`: the entry for `model` (or the only entry) with vLLM's
///   `max_model_len`, or the `context_length` / `context_window` / `max_context_length`
///   some providers give (OpenRouter, Groq, Mistral);
/// - `GET {root}/props` (llama.cpp's `llama-server`): `default_generation_settings.n_ctx`,
///   the window of one slot;
/// - Ollama: `GET {root}/api/ps` (the `context_length` of the model as loaded, what it
///   serves now), then `POST {root}/api/show` (a `num_ctx` in its parameters, else the
///   `*.context_length` of its model info, what it was trained for);
///
/// where `root` is `base_url` without a trailing `/v1`. llama-cpp-python's server says
/// nothing of its window in any of them. Never fails loudly: every failure is `None`.
pub async fn probe_window(http: &reqwest::Client, provider: &Provider, model: &str) -> Option<u64> {
    // Only OpenAI-compatible servers serve these routes: Anthropic's API has none of
    // them and would be sent the key as a bearer token for nothing.
    if provider.kind == ProviderKind::Anthropic {
        return None;
    }
    tokio::time::timeout(PROBE_TIMEOUT, probe(http, provider, model))
        .await
        .ok()
        .flatten()
}

async fn probe(http: &reqwest::Client, provider: &Provider, model: &str) -> Option<u64> {
    let base = provider.base_url.trim_end_matches('/');
    let root = base.strip_suffix("/v1").unwrap_or(base);
    let get = |url: String| fetch(http, provider, url, None);

    if let Some(w) = get(format!("{base}/models"))
        .await
        .and_then(|v| from_models(&v, model))
    {
        return Some(w);
    }
    if let Some(w) = get(format!("{root}/props"))
        .await
        .and_then(|v| from_props(&v))
    {
        return Some(w);
    }
    if let Some(w) = get(format!("{root}/api/ps"))
        .await
        .and_then(|v| from_ollama_ps(&v, model))
    {
        return Some(w);
    }
    let show = json!({"model": model});
    fetch(http, provider, format!("{root}/api/show"), Some(show))
        .await
        .and_then(|v| from_ollama_show(&v))
}

/// A GET (or a POST of `body`) with the provider's key and headers; the JSON answer of
/// a 2xx, else `None`.
async fn fetch(
    http: &reqwest::Client,
    provider: &Provider,
    url: String,
    body: Option<Value>,
) -> Option<Value> {
    let mut req = match body {
        Some(body) => http.post(&url).json(&body),
        None => http.get(&url),
    }
    .timeout(PROBE_TIMEOUT);
    if let Some(var) = &provider.api_key_env
        && let Ok(key) = std::env::var(var)
    {
        req = req.bearer_auth(key);
    }
    for (k, v) in &provider.headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json().await.ok()
}

/// A positive integer (a JSON number, or a string of digits).
fn positive(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .filter(|n| *n > 0)
}

/// `/models`: the entry whose `id` is `model`, or the only entry.
fn from_models(v: &Value, model: &str) -> Option<u64> {
    let data = v.get("data")?.as_array()?;
    let entry = data
        .iter()
        .find(|e| e["id"].as_str() == Some(model))
        .or_else(|| (data.len() == 1).then(|| &data[0]))?;
    [
        "max_model_len",
        "context_length",
        "context_window",
        "max_context_length",
    ]
    .iter()
    .find_map(|k| entry.get(*k).and_then(positive))
}

/// llama.cpp's `/props`.
fn from_props(v: &Value) -> Option<u64> {
    positive(&v["default_generation_settings"]["n_ctx"])
}

/// Ollama's `/api/ps`: the loaded model named `model` (`name` or `model`, with or without
/// the `:latest` tag).
fn from_ollama_ps(v: &Value, model: &str) -> Option<u64> {
    let same = |name: &str| {
        name == model
            || name.strip_suffix(":latest") == Some(model)
            || model.strip_suffix(":latest") == Some(name)
    };
    v["models"]
        .as_array()?
        .iter()
        .find(|m| {
            [&m["name"], &m["model"]]
                .iter()
                .any(|n| n.as_str().is_some_and(same))
        })
        .and_then(|m| positive(&m["context_length"]))
}

/// Ollama's `/api/show`: `num_ctx` in `parameters` (a text of `name value` lines), else
/// the `<arch>.context_length` of `model_info`.
fn from_ollama_show(v: &Value) -> Option<u64> {
    let num_ctx = v["parameters"].as_str().and_then(|params| {
        params.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("num_ctx"))
                .then(|| words.next().and_then(|n| n.parse().ok()))
                .flatten()
        })
    });
    num_ctx.filter(|n| *n > 0).or_else(|| {
        v["model_info"]
            .as_object()?
            .iter()
            .find(|(k, _)| k.ends_with(".context_length"))
            .and_then(|(_, n)| positive(n))
    })
}

#[cfg(test)]
mod tests;
