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
