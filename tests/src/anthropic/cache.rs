//! A simple, honest model of Anthropic's prompt cache, and the request checks the real
//! API makes that a client can get wrong.
//!
//! The cache, as the API documents it: a request is a sequence of blocks (each tool,
//! then each system block, then each message's content blocks, in order). A block
//! marked `cache_control` is a breakpoint: the prefix up to and including it is written
//! to the cache. A later request reads the longest prefix that an earlier request wrote,
//! found by looking back at most [`LOOKBACK`] blocks from each of its own breakpoints.
//! The usage reported is then: `cache_read_input_tokens` = that prefix,
//! `cache_creation_input_tokens` = the rest up to this request's last breakpoint,
//! `input_tokens` = what follows it. A token is 4 bytes of a block's JSON (its
//! `cache_control` left out, so moving a mark does not change the prefix); the cache
//! never expires and has no minimum length.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::Value;

/// How many blocks back from a breakpoint the API looks for a cached prefix.
pub const LOOKBACK: usize = 20;
/// The most breakpoints a request may carry.
pub const MAX_BREAKPOINTS: usize = 4;

/// What the cache made of one request, in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheUsage {
    /// `input_tokens`: after the last breakpoint, not cached.
    pub input: u64,
    /// `cache_read_input_tokens`.
    pub read: u64,
    /// `cache_creation_input_tokens`.
    pub write: u64,
}

/// The prefixes written so far, by hash.
#[derive(Debug, Default)]
pub struct PromptCache {
    written: HashSet<u64>,
}

/// One block: its tokens, whether it is a breakpoint, and the hash of the prefix it ends.
struct Block {
    tokens: u64,
    mark: bool,
    prefix: u64,
}

fn blocks(body: &Value) -> Vec<Block> {
    let mut raw: Vec<&Value> = Vec::new();
    raw.extend(body["tools"].as_array().into_iter().flatten());
    match &body["system"] {
        Value::Array(system) => raw.extend(system),
        Value::String(_) => raw.push(&body["system"]),
        _ => {}
    }
    for m in body["messages"].as_array().into_iter().flatten() {
        match &m["content"] {
            Value::Array(content) => raw.extend(content),
            other => raw.push(other),
        }
    }
    let mut hasher = DefaultHasher::new();
    raw.into_iter()
        .map(|b| {
            let mark = b.get("cache_control").is_some();
            let mut clean = b.clone();
            if let Some(o) = clean.as_object_mut() {
                o.remove("cache_control");
            }
            let text = clean.to_string();
            text.hash(&mut hasher);
            Block {
                tokens: (text.len() as u64).div_ceil(4),
                mark,
                prefix: hasher.finish(),
            }
        })
        .collect()
}

impl PromptCache {
    /// Serves `body` from the cache and writes its breakpoints' prefixes.
    pub fn serve(&mut self, body: &Value) -> CacheUsage {
        let blocks = blocks(body);
        let marks: Vec<usize> = (0..blocks.len()).filter(|&i| blocks[i].mark).collect();
        let hit = marks
            .iter()
            .filter_map(|&m| {
                (m.saturating_sub(LOOKBACK)..=m)
                    .rev()
                    .find(|&i| self.written.contains(&blocks[i].prefix))
            })
            .max();
        let tokens =
            |range: std::ops::Range<usize>| -> u64 { blocks[range].iter().map(|b| b.tokens).sum() };
        let read_end = hit.map_or(0, |i| i + 1);
        let last_mark_end = marks.last().map_or(0, |&m| m + 1).max(read_end);
        for &m in &marks {
            self.written.insert(blocks[m].prefix);
        }
        CacheUsage {
            read: tokens(0..read_end),
            write: tokens(read_end..last_mark_end),
            input: tokens(last_mark_end..blocks.len()),
        }
    }
}

/// What the real API would refuse with a 400 `invalid_request_error`, if anything.
pub fn invalid(body: &Value) -> Option<String> {
    if !body["model"].is_string() {
        return Some("model: Field required".into());
    }
    if body["max_tokens"].as_u64().is_none_or(|n| n == 0) {
        return Some("max_tokens: Field required".into());
    }
    let Some(messages) = body["messages"].as_array().filter(|m| !m.is_empty()) else {
        return Some("messages: at least one message is required".into());
    };
    let marks = blocks(body).iter().filter(|b| b.mark).count();
    if marks > MAX_BREAKPOINTS {
        return Some(format!(
            "A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {marks}."
        ));
    }
    let mut open_calls: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m["role"].as_str().unwrap_or("");
        let want = if i % 2 == 0 { "user" } else { "assistant" };
        if role != want {
            return Some(format!(
                "messages.{i}: roles must alternate between \"user\" and \"assistant\", starting with \"user\""
            ));
        }
        let content: Vec<Value> = match &m["content"] {
            Value::Array(c) => c.clone(),
            Value::String(s) => vec![serde_json::json!({"type": "text", "text": s})],
            _ => return Some(format!("messages.{i}.content: Field required")),
        };
        if content.is_empty() {
            return Some(format!(
                "messages.{i}: all messages must have non-empty content"
            ));
        }
        for (j, b) in content.iter().enumerate() {
            let ty = b["type"].as_str().unwrap_or("");
            if ty == "text" && b["text"].as_str().is_none_or(str::is_empty) {
                return Some(format!(
                    "messages.{i}.content.{j}: text content blocks must be non-empty"
                ));
            }
            if ty == "thinking" && b["signature"].as_str().is_none_or(str::is_empty) {
                return Some(format!(
                    "messages.{i}.content.{j}.thinking.signature: Field required"
                ));
            }
            if (ty == "thinking" || ty == "redacted_thinking") && b.get("cache_control").is_some() {
                return Some(format!(
                    "messages.{i}.content.{j}: thinking blocks cannot be marked with cache_control"
                ));
            }
            if ty == "tool_use" {
                if role != "assistant" || !b["input"].is_object() {
                    return Some(format!("messages.{i}.content.{j}: bad tool_use block"));
                }
                open_calls.push(b["id"].as_str().unwrap_or("").to_string());
            }
        }
        if role == "user" && !open_calls.is_empty() {
            // Every tool_use of the previous turn is answered, first thing, in this one.
            let results: Vec<&str> = content
                .iter()
                .take_while(|b| b["type"] == "tool_result")
                .filter_map(|b| b["tool_use_id"].as_str())
                .collect();
            for id in open_calls.drain(..) {
                if !results.contains(&id.as_str()) {
                    return Some(format!(
                        "messages.{i}: tool_use ids were found without tool_result blocks immediately after: {id}"
                    ));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(t: &str, mark: bool) -> Value {
        let mut b = json!({"type": "text", "text": t});
        if mark {
            b["cache_control"] = json!({"type": "ephemeral"});
        }
        b
    }

    #[test]
    fn a_prefix_written_at_a_mark_is_read_by_the_next_request() {
        let mut cache = PromptCache::default();
        let big = "x".repeat(400);
        let first = json!({"system": [text(&big, true)], "messages": [
            {"role": "user", "content": [text("hello there", true)]}]});
        let u = cache.serve(&first);
        assert_eq!(u.read, 0);
        assert!(u.write > 100 && u.input == 0, "{u:?}");
        let second = json!({"system": [text(&big, true)], "messages": [
            {"role": "user", "content": [text("hello there", false)]},
            {"role": "assistant", "content": [text("hi", false)]},
            {"role": "user", "content": [text("more", true)]}]});
        let v = cache.serve(&second);
        assert_eq!(v.read, u.write, "the whole first request is read: {v:?}");
        assert!(v.write > 0);
        // Without a mark nothing is written, so nothing can be read later.
        let mut cold = PromptCache::default();
        let unmarked = json!({"system": [text(&big, false)], "messages": []});
        assert_eq!(cold.serve(&unmarked).write, 0);
        assert_eq!(cold.serve(&first).read, 0);
    }

    #[test]
    fn the_lookback_is_bounded() {
        let mut cache = PromptCache::default();
        let mut content = vec![text("start", true)];
        cache.serve(&json!({"messages": [{"role": "user", "content": content.clone()}]}));
        content[0] = text("start", false);
        for i in 0..LOOKBACK + 1 {
            content.push(text(&format!("b{i}"), false));
        }
        content.last_mut().unwrap()["cache_control"] = json!({"type": "ephemeral"});
        let u = cache.serve(&json!({"messages": [{"role": "user", "content": content}]}));
        assert_eq!(
            u.read, 0,
            "the earlier mark is more than {LOOKBACK} blocks back"
        );
    }

    #[test]
    fn the_checks_of_the_real_api() {
        let ok = json!({"model": "m", "max_tokens": 5, "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]}]});
        assert_eq!(invalid(&ok), None);
        let mut bad = ok.clone();
        bad["messages"][2]["content"][0]["tool_use_id"] = json!("other");
        assert!(invalid(&bad).unwrap().contains("without tool_result"));
        let mut bad = ok.clone();
        bad["messages"][1]["role"] = json!("user");
        assert!(invalid(&bad).unwrap().contains("alternate"));
        let mut bad = ok;
        bad.as_object_mut().unwrap().remove("max_tokens");
        assert!(invalid(&bad).unwrap().contains("max_tokens"));
    }
}
