//! The workspace itself: what `cargo build --release` (the README's run command) builds.

use std::path::Path;

/// The release build the README runs builds tether, not the test harness and its
/// benchmark binaries (about 100 MB that a user never runs).
#[test]
fn release_build_leaves_out_the_test_harness() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(&root)
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "cargo metadata failed");
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let defaults: Vec<&str> = meta["workspace_default_members"]
        .as_array()
        .expect("workspace_default_members")
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    assert!(
        defaults.iter().any(|m| m.contains("#tether@")),
        "the tether binary's package is built by default: {defaults:?}"
    );
    assert!(
        !defaults.iter().any(|m| m.contains("tether-tests")),
        "cargo build --release would build the benchmarks too: {defaults:?}"
    );
}

/// Cargo.toml says `MIT OR Apache-2.0`; the texts are at the root.
#[test]
fn license_files_are_at_the_root() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for f in ["LICENSE", "LICENSE-MIT", "LICENSE-APACHE"] {
        let text = std::fs::read_to_string(root.join(f)).unwrap_or_default();
        assert!(text.len() > 200, "{f} is missing or empty");
    }
}
