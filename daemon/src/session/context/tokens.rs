//! Token estimates, for deciding when to compact before the endpoint has said how
//! big a request is.
//!
//! The rule is the usual rough one (a token per 4 bytes of text, a few tokens of
//! framing per message, a fixed cost per image); the session corrects it with the
//! endpoint's reported usage through a [`Calibration`], so the estimate only has to
//! be close, not exact.

use crate::model::{Message, Part};
use crate::tools::ToolSpec;

/// Bytes per token of the rough rule.
const BYTES_PER_TOKEN: u64 = 4;

/// Framing tokens per message (role, separators).
const PER_MESSAGE: u64 = 4;

/// What an image costs, whatever its size: a tile or two for most providers.
const PER_IMAGE: u64 = 800;

/// Tokens of a text.
pub fn text(s: &str) -> u64 {
    (s.len() as u64).div_ceil(BYTES_PER_TOKEN)
}

/// Tokens of one message.
pub fn message(m: &Message) -> u64 {
    PER_MESSAGE
        + m.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => text(t),
                Part::ToolCall {
                    call_id,
                    tool,
                    arguments,
                } => text(call_id) + text(tool) + text(&arguments.to_string()) + PER_MESSAGE,
                Part::ToolResult {
                    call_id, output, ..
                } => text(call_id) + text(output),
                Part::Image(_) => PER_IMAGE,
                // About a minute of speech, as the audio models count it.
                Part::Audio(_) => PER_IMAGE,
                Part::Provider(item) => text(&item.item.to_string()),
            })
            .sum::<u64>()
}

/// Tokens of the tool definitions offered with a request.
pub fn tools(specs: &[ToolSpec]) -> u64 {
    specs
        .iter()
        .map(|t| {
            PER_MESSAGE + text(&t.name) + text(&t.description) + text(&t.parameters.to_string())
        })
        .sum()
}

/// How the endpoint's counts compare with the estimate: the ratio of the last
/// reported prompt size to the estimate of that same request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    ratio: f64,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration { ratio: 1.0 }
    }
}

impl Calibration {
    /// Learns from one request: `estimated` tokens by the rule, `reported` by the
    /// endpoint. Kept within 0.5 to 4 so one odd report cannot make it absurd.
    pub fn learn(&mut self, estimated: u64, reported: u64) {
        if estimated >= 64 && reported > 0 {
            self.ratio = (reported as f64 / estimated as f64).clamp(0.5, 4.0);
        }
    }

    /// The estimate that corresponds to `tokens` of the endpoint's.
    pub fn to_estimate(self, tokens: u64) -> u64 {
        (tokens as f64 / self.ratio) as u64
    }

    /// An estimate corrected by what the endpoint reported.
    pub fn apply(&self, estimated: u64) -> u64 {
        (estimated as f64 * self.ratio).ceil() as u64
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Role;

    #[test]
    fn estimates_grow_with_the_text_and_calibration_corrects_them() {
        assert_eq!(text(""), 0);
        assert_eq!(text("abcd"), 1);
        assert_eq!(text("abcde"), 2);
        let small = message(&Message::text(Role::User, "hi"));
        let big = message(&Message::text(Role::User, "x".repeat(4000)));
        assert_eq!(small, 5);
        assert_eq!(big, 1004);
        let call = Message {
            role: Role::Assistant,
            parts: vec![Part::ToolCall {
                call_id: "c1".into(),
                tool: "shell".into(),
                arguments: json!({"command": "ls"}),
            }],
        };
        assert!(message(&call) > PER_MESSAGE * 2);
        let mut c = Calibration::default();
        assert_eq!(c.apply(1000), 1000);
        c.learn(1000, 1300);
        assert_eq!(c.apply(1000), 1300);
        c.learn(1000, 100_000);
        assert_eq!(c.apply(1000), 4000, "clamped");
        c.learn(10, 5000);
        assert_eq!(c.apply(1000), 4000, "too small a sample to learn from");
    }
}
