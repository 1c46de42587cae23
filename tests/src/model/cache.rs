//! A model of OpenAI's automatic prompt caching, shared by the two OpenAI doubles: chat
//! completions (this module's server, [`ModelServer::simulate_cache`]) and Responses
//! ([`ResponsesServer::simulate_cache`]).
//!
//! The rules, as OpenAI's prompt caching guide gives them: a request's prompt is matched
//! against the prompts of earlier requests (those sent with the same `prompt_cache_key`,
//! else every earlier request to the server); the cached part is the longest prefix it
//! shares with one of them, counted only in increments of [`INCREMENT`] tokens and only
//! for a prompt of at least [`MIN_TOKENS`]. The prompt is read as the API reads it: the
//! tools first, then the instructions (Responses) and the messages or input items, in
//! order, each serialised as JSON (keys sorted, so the order a client writes keys in does
//! not matter, as it does not to a real model, which never sees the JSON). A token is 4
//! bytes of that text, the estimate the Anthropic double uses. The cache never expires
//! and is never evicted: a real one's eviction after minutes idle only lowers the share
//! of a session that pauses.
//!
//! [`ModelServer::simulate_cache`]: super::ModelServer::simulate_cache
//! [`ResponsesServer::simulate_cache`]: crate::responses::ResponsesServer::simulate_cache

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hasher};

use serde_json::Value;

/// The shortest prompt that is cached at all, in tokens.
pub const MIN_TOKENS: u64 = 1024;
/// Cache hits grow in steps of this many tokens.
pub const INCREMENT: u64 = 128;
/// The token estimate: bytes of serialised prompt per token.
const BYTES_PER_TOKEN: u64 = 4;
/// One increment in bytes.
const CHUNK: usize = (INCREMENT * BYTES_PER_TOKEN) as usize;

/// What the cache made of one request, in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CachedPrompt {
    /// The whole prompt (`prompt_tokens` / `input_tokens`), the cached part included.
    pub prompt: u64,
    /// The part read from the cache (`cached_tokens`).
    pub cached: u64,
}

impl CachedPrompt {
    /// The share of the prompt read from the cache.
    pub fn share(&self) -> f64 {
        self.cached as f64 / self.prompt.max(1) as f64
    }
}

/// Asserts what a steady session gets from the cache: every request of `served` after
/// the first reads at least `min` of its prompt from it, and so does the session; and
/// `answers` (its `assistant_message` events, one a request) carry the usage reported.
pub fn assert_steady(served: &[CachedPrompt], answers: &[Value], min: f64) {
    for (i, c) in served.iter().enumerate().skip(1) {
        assert!(
            c.share() >= min,
            "request {i} read only {:.2} of its prompt from the cache: {c:?}",
            c.share()
        );
    }
    let cached: u64 = served.iter().map(|c| c.cached).sum();
    let prompt: u64 = served.iter().map(|c| c.prompt).sum();
    let share = cached as f64 / prompt.max(1) as f64;
    assert!(share >= min, "the session read {share:.2} from the cache");
    assert_eq!(answers.len(), served.len(), "one answer a request");
    for (a, c) in answers.iter().zip(served) {
        assert_eq!(a["usage"]["prompt_tokens"].as_u64(), Some(c.prompt), "{a}");
        assert_eq!(a["usage"]["cached_tokens"].as_u64().unwrap_or(0), c.cached);
    }
}

/// The prefixes seen so far, per `prompt_cache_key` (`None`: requests without one).
#[derive(Debug, Default)]
pub struct PrefixCache {
    /// For each key, the hash of every prompt prefix that ends on an increment.
    seen: HashMap<Option<String>, HashSet<u64>>,
}

impl PrefixCache {
    /// Reads the prompt of `body` (`tools`, then each of `fields` in order: a string or
    /// an array's items) from the cache under its `prompt_cache_key`, then remembers it.
    pub fn serve(&mut self, body: &Value, fields: &[&str]) -> CachedPrompt {
        let text = prompt_text(body, fields);
        let key = body["prompt_cache_key"].as_str().map(str::to_owned);
        let seen = self.seen.entry(key).or_default();
        let mut hasher = DefaultHasher::new();
        let mut hit = 0u64;
        let mut missed = false;
        for chunk in text.as_bytes().chunks_exact(CHUNK) {
            // A chained hash: each one names the whole prefix up to this chunk's end.
            hasher.write(chunk);
            let prefix = hasher.finish();
            if !missed && seen.contains(&prefix) {
                hit += INCREMENT;
            } else {
                missed = true;
            }
            seen.insert(prefix);
        }
        let prompt = (text.len() as u64).div_ceil(BYTES_PER_TOKEN);
        let cached = if prompt >= MIN_TOKENS && hit >= MIN_TOKENS {
            hit
        } else {
            0
        };
        CachedPrompt { prompt, cached }
    }
}

/// The prompt as the API reads it: the JSON of each tool, then of each item of `fields`.
fn prompt_text(body: &Value, fields: &[&str]) -> String {
    let mut text = String::new();
    for field in std::iter::once("tools").chain(fields.iter().copied()) {
        match &body[field] {
            Value::Array(items) => items.iter().for_each(|i| text.push_str(&i.to_string())),
            Value::Null => {}
            other => text.push_str(&other.to_string()),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(messages: &[&str], key: Option<&str>) -> Value {
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| json!({"role": "user", "content": m}))
            .collect();
        let mut b = json!({"tools": [{"name": "t"}], "messages": messages});
        if let Some(key) = key {
            b["prompt_cache_key"] = json!(key);
        }
        b
    }

    #[test]
    fn the_shared_prefix_is_read_in_increments_from_1024_tokens() {
        let mut cache = PrefixCache::default();
        let big = "x".repeat(5000);
        let first = cache.serve(&body(&[&big], None), &["messages"]);
        assert_eq!(first.cached, 0, "nothing seen yet");
        assert!(first.prompt > 1250, "{first:?}");
        let second = cache.serve(&body(&[&big, "more"], None), &["messages"]);
        // The first prompt's text is a prefix of the second's, but for its last chunk.
        let shared = first.prompt * 4 / CHUNK as u64 * INCREMENT;
        assert_eq!(second.cached, shared, "{second:?}");
        assert_eq!(second.cached % INCREMENT, 0);
        assert!(second.prompt > second.cached);
    }

    #[test]
    fn a_short_prompt_or_a_changed_start_is_not_cached() {
        let mut cache = PrefixCache::default();
        let small = "y".repeat(3000);
        cache.serve(&body(&[&small], None), &["messages"]);
        let again = cache.serve(&body(&[&small], None), &["messages"]);
        assert!(again.prompt < MIN_TOKENS);
        assert_eq!(again.cached, 0, "under 1,024 tokens nothing is cached");
        let big = "x".repeat(8000);
        cache.serve(&body(&[&big], None), &["messages"]);
        let changed = cache.serve(&body(&["z", &big], None), &["messages"]);
        assert_eq!(changed.cached, 0, "a prefix match starts at the first byte");
    }

    #[test]
    fn a_prompt_cache_key_keeps_its_own_prefixes() {
        let mut cache = PrefixCache::default();
        let big = "x".repeat(8000);
        cache.serve(&body(&[&big], Some("a")), &["messages"]);
        assert_eq!(
            cache.serve(&body(&[&big], Some("b")), &["messages"]).cached,
            0
        );
        assert_eq!(cache.serve(&body(&[&big], None), &["messages"]).cached, 0);
        assert!(cache.serve(&body(&[&big], Some("a")), &["messages"]).cached >= MIN_TOKENS);
    }

    #[test]
    fn tools_are_read_first_and_must_not_change() {
        let mut cache = PrefixCache::default();
        let big = "x".repeat(8000);
        cache.serve(&body(&[&big], None), &["messages"]);
        let mut other = body(&[&big], None);
        other["tools"] = json!([{"name": "u"}]);
        assert_eq!(cache.serve(&other, &["messages"]).cached, 0);
    }
}
