//! Output shared by the command families.

/// `v` as one line of JSON on stdout.
pub(super) fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}
