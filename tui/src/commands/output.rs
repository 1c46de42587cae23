//! Output shared by the command families.

/// `v` as one line of JSON on stdout.
pub(super) fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut line = serde_json::to_string(v)?;
    line.push('\n');
    print_out(&line)
}

/// Writes `text` to stdout in one write. A reader that went away (`tether ls |
/// head`) is not an error: what it did not read nobody wants.
pub(super) fn print_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
