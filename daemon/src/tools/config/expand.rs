//! `${VAR}` and `${VAR:-default}` in tool config values, expanded from the
//! daemon's environment the way Claude Code expands them in `.mcp.json`.
//!
//! Rules (the README's "Variables" paragraph says the same):
//! - `${NAME}` is the variable's value; unset is an error, never "".
//! - `${NAME:-default}` is the value, or `default` when unset or empty. The
//!   default is taken as written up to the first `}` (no expansion inside it).
//! - `${env:NAME}` (VS Code's spelling) is the same as `${NAME}`.
//! - `$${` is a literal `${`; a `$` not followed by `{` is kept as it is, so
//!   `$HOME` or a shell's `$$` in an argument pass through untouched.
//! - NAME is `[A-Za-z_][A-Za-z0-9_]*`; anything else inside `${...}` is an error.

/// Why a value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ExpandError {
    /// `${NAME}` with NAME unset and no default.
    Missing {
        /// The variable.
        name: String,
        /// The reference as written, to find it in the file.
        written: String,
    },
    /// `${...}` that is not a variable reference.
    Invalid {
        /// The reference as written.
        written: String,
    },
    /// `${` with no closing `}`.
    Unterminated {
        /// From `${` to the end of the value.
        written: String,
    },
}

impl ExpandError {
    /// The text as it appears in the file, to point at its line.
    pub(super) fn written(&self) -> &str {
        match self {
            ExpandError::Missing { written, .. }
            | ExpandError::Invalid { written }
            | ExpandError::Unterminated { written } => written,
        }
    }

    /// One line for users; `field` says which value (e.g. "args[1]").
    pub(super) fn message(&self, server: &str, field: &str) -> String {
        match self {
            ExpandError::Missing { name, .. } => format!(
                "server {server:?}: environment variable {name} is not set (used in {field}); \
                 set it in the daemon's environment or give a default: ${{{name}:-VALUE}}"
            ),
            ExpandError::Invalid { written } => format!(
                "server {server:?}: `{written}` in {field} is not a variable reference; \
                 use ${{NAME}} or ${{NAME:-default}}, or $${{ for a literal ${{"
            ),
            ExpandError::Unterminated { written } => {
                format!("server {server:?}: `{written}` in {field} has no closing `}}`")
            }
        }
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Expands every reference in `value`, looking variables up with `env`.
pub(super) fn expand(
    value: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
            continue;
        }
        let Some(inner_start) = tail.strip_prefix("${") else {
            out.push('$');
            rest = &tail[1..];
            continue;
        };
        let Some(close) = inner_start.find('}') else {
            return Err(ExpandError::Unterminated {
                written: tail.to_string(),
            });
        };
        let inner = &inner_start[..close];
        let written = &tail[..close + 3];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        let name = name.strip_prefix("env:").unwrap_or(name);
        if !valid_name(name) {
            return Err(ExpandError::Invalid {
                written: written.to_string(),
            });
        }
        match (env(name), default) {
            (Some(v), Some(d)) if v.is_empty() => out.push_str(d),
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(ExpandError::Missing {
                    name: name.to_string(),
                    written: written.to_string(),
                });
            }
        }
        rest = &inner_start[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_values_and_defaults() {
        assert_eq!(expand("Bearer ${TOKEN}", &env).unwrap(), "Bearer s3cret");
        assert_eq!(
            expand("${NODE:-/usr/bin/node}", &env).unwrap(),
            "/usr/bin/node"
        );
        assert_eq!(expand("${TOKEN:-x}", &env).unwrap(), "s3cret");
        assert_eq!(expand("${EMPTY:-dflt}", &env).unwrap(), "dflt");
        assert_eq!(expand("${EMPTY}", &env).unwrap(), "");
        assert_eq!(expand("${NOPE:-}", &env).unwrap(), "");
        assert_eq!(expand("${env:TOKEN}", &env).unwrap(), "s3cret");
        assert_eq!(
            expand("a${TOKEN}b${TOKEN}c", &env).unwrap(),
            "as3cretbs3cretc"
        );
        assert_eq!(expand("${X:-a:-b}", &env).unwrap(), "a:-b");
    }

    #[test]
    fn dollars_without_a_brace_and_escapes_are_literal() {
        assert_eq!(expand("echo $$ $HOME $", &env).unwrap(), "echo $$ $HOME $");
        assert_eq!(expand("$${TOKEN}", &env).unwrap(), "${TOKEN}");
        assert_eq!(expand("$$${TOKEN}", &env).unwrap(), "$${TOKEN}");
        assert_eq!(expand("€${TOKEN}é", &env).unwrap(), "€s3creté");
    }

    #[test]
    fn an_unset_variable_without_default_is_an_error() {
        let e = expand("--key=${API_KEY}", &env).unwrap_err();
        assert_eq!(
            e,
            ExpandError::Missing {
                name: "API_KEY".into(),
                written: "${API_KEY}".into()
            }
        );
        assert!(e.message("srv", "args[0]").contains("API_KEY is not set"));
        assert!(matches!(
            expand("${1X}", &env),
            Err(ExpandError::Invalid { .. })
        ));
        assert!(matches!(
            expand("${A B}", &env),
            Err(ExpandError::Invalid { .. })
        ));
        assert!(matches!(
            expand("${input:tok}", &env),
            Err(ExpandError::Invalid { .. })
        ));
        assert_eq!(
            expand("x ${TOKEN", &env),
            Err(ExpandError::Unterminated {
                written: "${TOKEN".into()
            })
        );
    }
}
