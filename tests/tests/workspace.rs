//! The workspace itself: what `cargo build --release` (the README's run command) builds.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read source dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// A file a reader can hold in their head: no source file of the three
/// product crates is over 800 lines (tests included; big test modules live in
/// their own file).
#[test]
fn no_source_file_is_over_800_lines() {
    let mut files = Vec::new();
    for krate in ["daemon/src", "tui/src", "shared/src"] {
        rust_files(&root().join(krate), &mut files);
    }
    let mut long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f)
                .expect("read source")
                .lines()
                .count();
            (n > 800).then(|| {
                format!(
                    "{} ({n} lines)",
                    f.strip_prefix(root()).unwrap_or(f).display()
                )
            })
        })
        .collect();
    long.sort();
    assert!(long.is_empty(), "files over 800 lines: {long:#?}");
}

/// No file imports from a file that imports from it, in any product crate.
#[test]
fn no_import_cycle_between_files() {
    let mut found = Vec::new();
    for krate in [
        "daemon/src/lib.rs",
        "tui/src/lib.rs",
        "tui/src/main.rs",
        "shared/src/lib.rs",
    ] {
        let graph = tether_tests::modgraph::ModGraph::of_crate(&root().join(krate))
            .expect("read crate sources");
        assert!(
            graph.edges.len() > 1 || krate.ends_with("main.rs"),
            "{krate}: no modules found"
        );
        for cycle in graph.cycles() {
            found.push(format!("{krate}: {}", cycle.join(" <-> ")));
        }
    }
    assert!(
        found.is_empty(),
        "import cycles between files:\n{}",
        found.join("\n")
    );
}

/// `daemon/src` reads like the architecture: the session, the model seam and
/// the store seam are folders, and few files sit at the root.
#[test]
fn the_daemon_source_tree_shows_the_architecture() {
    let src = root().join("daemon/src");
    for dir in ["session", "model", "store"] {
        assert!(src.join(dir).is_dir(), "daemon/src/{dir}/ is not a folder");
    }
    let mut loose = Vec::new();
    for entry in std::fs::read_dir(&src).expect("read daemon/src").flatten() {
        let p = entry.path();
        let Some(stem) = p.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if p.is_file() && stem != "lib" && !src.join(stem).is_dir() {
            loose.push(stem.to_string());
        }
    }
    loose.sort();
    assert!(
        loose.len() <= 6,
        "{} loose files at the root of daemon/src: {loose:?}",
        loose.len()
    );
    let model = all_text(&src.join("model"));
    assert!(
        model.contains("trait ModelProvider"),
        "no provider trait in daemon/src/model/"
    );
    let store = all_text(&src.join("store"));
    assert!(
        store.contains("pub trait Store"),
        "no store trait in daemon/src/store/"
    );
    assert!(
        store.contains("user_version"),
        "no user_version migrations in daemon/src/store/"
    );
}

/// The session speaks to models only through the provider trait: no file in
/// `daemon/src/session/` names a type that implements it, or its module.
#[test]
fn the_session_names_no_concrete_model_provider() {
    let src = root().join("daemon/src");
    let mut model_files = Vec::new();
    rust_files(&src.join("model"), &mut model_files);
    let mut providers = Vec::new();
    for f in &model_files {
        let text = std::fs::read_to_string(f).expect("read model source");
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("impl ModelProvider for ") {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let module = f
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_string();
                providers.push((name, module));
            }
        }
    }
    assert!(
        !providers.is_empty(),
        "no `impl ModelProvider for` found in daemon/src/model/"
    );
    let mut session_files = Vec::new();
    rust_files(&src.join("session"), &mut session_files);
    let mut named = Vec::new();
    for f in &session_files {
        let text = std::fs::read_to_string(f).expect("read session source");
        for (name, module) in &providers {
            if text.contains(name.as_str()) || text.contains(&format!("model::{module}")) {
                named.push(format!("{} names {name}", f.display()));
            }
        }
    }
    assert!(named.is_empty(), "{named:#?}");
}

fn all_text(dir: &Path) -> String {
    let mut files = Vec::new();
    if dir.is_dir() {
        rust_files(dir, &mut files);
    }
    files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .collect()
}
