//! Errors at the edge of the CLI and the TUI: one line for a person.

/// An error as one line: the outermost context and the root cause.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain().map(|c| c.to_string()) {
        // Errors often repeat their source in their own message; say it once.
        if line.ends_with(&cause) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&cause);
    }
    line.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_joined_once_on_one_line() {
        let root = anyhow::anyhow!("no such file\nor directory");
        let e = root.context("failed to open x: no such file\nor directory");
        assert_eq!(one_line(&e), "failed to open x: no such file or directory");
        let e = anyhow::anyhow!("disk full").context("cannot write");
        assert_eq!(one_line(&e), "cannot write: disk full");
    }
}
