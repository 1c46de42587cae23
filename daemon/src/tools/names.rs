//! The names the model knows MCP servers' tools by: `<server>__<tool>`, made safe for
//! OpenAI-compatible APIs and unique within a server.

use std::collections::BTreeMap;

/// The longest tool name OpenAI-compatible APIs accept.
pub const MAX_TOOL_NAME: usize = 64;

/// The name the model sees for a server's tool: `<server>__<tool>`, characters
/// outside `[A-Za-z0-9_-]` replaced by `_`, at most 64 long. Two tools of one
/// server can end up with the same name this way: [`model_tool_names`] makes
/// them unique.
pub fn model_tool_name(server: &str, tool: &str) -> String {
    let raw = format!("{server}__{tool}");
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    clean.chars().take(MAX_TOOL_NAME).collect()
}

/// FNV-1a: a hash that, unlike std's, is the same in every build and run, so a
/// suffix made from it is stable across daemon restarts.
fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn with_suffix(base: &str, suffix: &str) -> String {
    let keep = MAX_TOOL_NAME.saturating_sub(suffix.len() + 1);
    format!("{}_{suffix}", &base[..keep.min(base.len())])
}

/// The model names of a server's tools, in the order given, unique within the
/// server. A tool keeps [`model_tool_name`] unless another tool of the server
/// has the same one; then every tool of that clash whose name was changed to
/// fit (characters replaced, or cut at 64) gets `_` and 6 hex digits of a hash
/// of its original name instead (cut so the whole stays within 64). A tool
/// whose name was used as it is keeps it. The result depends only on the set
/// of names, never on their order.
pub fn model_tool_names(server: &str, tools: &[&str]) -> Vec<String> {
    let base: Vec<String> = tools.iter().map(|t| model_tool_name(server, t)).collect();
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for b in &base {
        *count.entry(b.as_str()).or_default() += 1;
    }
    let mut taken: std::collections::BTreeSet<String> = base
        .iter()
        .zip(tools)
        .filter(|(b, t)| count[b.as_str()] == 1 || **b == format!("{server}__{t}"))
        .map(|(b, _)| b.clone())
        .collect();
    base.iter()
        .zip(tools)
        .map(|(b, t)| {
            if count[b.as_str()] == 1 || *b == format!("{server}__{t}") {
                return b.clone();
            }
            let hash = stable_hash(t);
            let short = with_suffix(b, &format!("{:06x}", hash >> 40));
            let name = if taken.contains(&short) {
                with_suffix(b, &format!("{hash:016x}"))
            } else {
                short
            };
            taken.insert(name.clone());
            name
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_are_sanitised_and_capped() {
        assert_eq!(
            model_tool_name("fs", "read_text_file"),
            "fs__read_text_file"
        );
        assert_eq!(model_tool_name("my.srv", "do it!"), "my_srv__do_it_");
        assert_eq!(model_tool_name("s", &"x".repeat(100)).len(), 64);
    }

    #[test]
    fn clashing_model_names_get_stable_suffixes() {
        let names = model_tool_names(
            "probe",
            &["weird.name/with spaces", "weird_name_with_spaces", "echo"],
        );
        assert_eq!(names[1], "probe__weird_name_with_spaces");
        assert_eq!(names[2], "probe__echo");
        assert!(
            names[0].starts_with("probe__weird_name_with_spaces_") && names[0].len() == 36,
            "{names:?}"
        );
        // The same in any order, and across runs (the hash is fixed).
        let reversed = model_tool_names(
            "probe",
            &["echo", "weird_name_with_spaces", "weird.name/with spaces"],
        );
        assert_eq!(reversed[2], names[0]);
        assert_eq!(
            names[0],
            format!(
                "probe__weird_name_with_spaces_{:06x}",
                stable_hash("weird.name/with spaces") >> 40
            )
        );
        // Two changed names that clash both get suffixes; long ones stay within 64.
        let long = "y".repeat(80);
        let long_a = format!("{long}a");
        let long_b = format!("{long}b");
        let n = model_tool_names("s", &["a b", "a/b", &long_a, &long_b]);
        assert!(
            n[0] != n[1] && n[0].starts_with("s__a_b_") && n[1].starts_with("s__a_b_"),
            "{n:?}"
        );
        assert!(
            n[2] != n[3] && n[2].len() == 64 && n[3].len() == 64,
            "{n:?}"
        );
        let unique: std::collections::BTreeSet<&String> = n.iter().collect();
        assert_eq!(unique.len(), 4);
    }
}
