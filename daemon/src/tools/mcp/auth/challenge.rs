//! The `WWW-Authenticate: Bearer ...` challenge of a 401 or 403 (RFC 6750 §3,
//! RFC 9728 §5.1): its `resource_metadata`, `scope` and `error`.

use std::collections::BTreeMap;

/// What a challenge says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    /// URL of the protected resource metadata (RFC 9728), when given.
    pub resource_metadata: Option<String>,
    /// The scope the request needs (space-separated), when given.
    pub scope: Option<String>,
    /// `invalid_token`, `insufficient_scope`, ...
    pub error: Option<String>,
}

impl Challenge {
    /// Reads the `Bearer` challenge of a header value; parameters of other
    /// schemes are ignored, a header without one gives an empty challenge.
    pub fn parse(header: &str) -> Challenge {
        let params = bearer_params(header);
        let get = |k: &str| params.get(k).filter(|v| !v.is_empty()).cloned();
        Challenge {
            resource_metadata: get("resource_metadata"),
            scope: get("scope"),
            error: get("error"),
        }
    }
}

/// The `key=value` parameters following `Bearer` (values quoted or bare).
fn bearer_params(header: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(start) = find_scheme(header, "bearer") else {
        return out;
    };
    let mut rest = header[start..].chars().peekable();
    loop {
        while rest.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            rest.next();
        }
        let mut key = String::new();
        while let Some(&c) = rest.peek() {
            if c == '=' || c.is_whitespace() || c == ',' {
                break;
            }
            key.push(c);
            rest.next();
        }
        if key.is_empty() {
            break;
        }
        while rest.peek().is_some_and(|c| c.is_whitespace()) {
            rest.next();
        }
        if rest.peek() != Some(&'=') {
            // Another scheme starts here (`Bearer a="b", Basic realm=...`).
            break;
        }
        rest.next();
        while rest.peek().is_some_and(|c| c.is_whitespace()) {
            rest.next();
        }
        let mut value = String::new();
        if rest.peek() == Some(&'"') {
            rest.next();
            while let Some(c) = rest.next() {
                match c {
                    '\\' => {
                        if let Some(n) = rest.next() {
                            value.push(n);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = rest.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                value.push(c);
                rest.next();
            }
        }
        out.insert(key.to_ascii_lowercase(), value);
    }
    out
}

/// Where the parameters of `scheme` begin (just after its name).
fn find_scheme(header: &str, scheme: &str) -> Option<usize> {
    let lower = header.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(scheme) {
        let at = from + i;
        let before_ok = at == 0
            || lower[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_whitespace() || c == ',');
        let end = at + scheme.len();
        let after_ok = lower[end..]
            .chars()
            .next()
            .is_none_or(|c| c.is_whitespace());
        if before_ok && after_ok {
            return Some(end);
        }
        from = end;
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_challenge_gives_its_parameters() {
        let c = Challenge::parse(
            r#"Bearer error="insufficient_scope", scope="mcp:basic mcp:write", resource_metadata="http://localhost:1/.well-known/oauth-protected-resource/mcp""#,
        );
        assert_eq!(c.scope.as_deref(), Some("mcp:basic mcp:write"));
        assert_eq!(c.error.as_deref(), Some("insufficient_scope"));
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("http://localhost:1/.well-known/oauth-protected-resource/mcp")
        );
    }

    #[test]
    fn bare_values_other_schemes_and_nothing() {
        let c = Challenge::parse(r#"Basic realm="x", Bearer error=invalid_token, scope="a""#);
        assert_eq!(c.error.as_deref(), Some("invalid_token"));
        assert_eq!(c.scope.as_deref(), Some("a"));
        assert_eq!(Challenge::parse("Basic realm=\"x\""), Challenge::default());
        assert_eq!(Challenge::parse("Bearer"), Challenge::default());
    }
}
