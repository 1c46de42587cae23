//! The file tools, called as the model calls them.

use super::support::{assert_error, context, run};
use crate::tools::ToolOutput;
use crate::tools::builtin::files::{LIST_DIR_MAX_ENTRIES, READ_FILE_MAX_BYTES};
use serde_json::{Value, json};
use tempfile::tempdir;

// --- read_file ---

#[tokio::test]
async fn read_file_reads_whole_and_partial() {
    let dir = tempdir().unwrap();
    let ctx = context(&dir);
    std::fs::write(dir.path().join("f.txt"), "one\ntwo\nthree\nfour\n").unwrap();
    let out = run("read_file", json!({"path": "f.txt"}), &ctx).await;
    assert_eq!(out, ToolOutput::ok("one\ntwo\nthree\nfour\n"));
    let out = run(
        "read_file",
        json!({"path": "f.txt", "offset": 2, "limit": 2}),
        &ctx,
    )
    .await;
    assert_eq!(
        out,
        ToolOutput::ok("two\nthree\n[more lines follow; call read_file with offset=4 to continue]")
    );
    let out = run("read_file", json!({"path": "f.txt", "offset": 3}), &ctx).await;
    assert_eq!(out, ToolOutput::ok("three\nfour\n"));
    let out = run("read_file", json!({"path": "f.txt", "offset": 9}), &ctx).await;
    assert!(!out.is_error);
    assert!(out.output.contains("past the end"), "{}", out.output);
    assert!(out.output.contains("(4 lines)"), "{}", out.output);

    let absolute = dir.path().join("f.txt");
    let out = run(
        "read_file",
        json!({"path": absolute.to_str().unwrap(), "limit": 1.0}),
        &context(&tempdir().unwrap()),
    )
    .await;
    assert!(
        out.output.starts_with("one\n[more lines follow"),
        "{}",
        out.output
    );
}

#[tokio::test]
async fn read_file_handles_empty_and_non_utf8() {
    let dir = tempdir().unwrap();
    let ctx = context(&dir);
    std::fs::write(dir.path().join("empty"), "").unwrap();
    std::fs::write(dir.path().join("bin"), b"a\xffb").unwrap();
    let out = run("read_file", json!({"path": "empty"}), &ctx).await;
    assert_eq!(out, ToolOutput::ok("[empty file]"));
    let out = run("read_file", json!({"path": "bin"}), &ctx).await;
    assert_eq!(out, ToolOutput::ok("a\u{FFFD}b"));
}

#[tokio::test]
async fn read_file_caps_large_files() {
    let dir = tempdir().unwrap();
    let ctx = context(&dir);
    let line = format!("{}\n", "y".repeat(999));
    std::fs::write(dir.path().join("big"), line.repeat(250)).unwrap();
    let out = run("read_file", json!({"path": "big"}), &ctx).await;
    assert!(!out.is_error);
    // 100 whole lines fill the cap exactly.
    let (body, note) = out.output.split_at(READ_FILE_MAX_BYTES);
    assert_eq!(body, line.repeat(100));
    assert!(note.starts_with("[truncated"), "{note}");
    assert!(note.contains("offset=101"), "{note}");
    let out = run(
        "read_file",
        json!({"path": "big", "offset": 101, "limit": 1}),
        &ctx,
    )
    .await;
    assert!(out.output.starts_with(&line), "{}", &out.output[..50]);

    // Here the cap falls inside line 34 (a two-byte character at byte 99_999), so the
    // partial line is cut to whole characters and reading resumes at line 34.
    let long = format!("{}é{}\n", "z".repeat(999), "z".repeat(3000 - 999 - 3));
    std::fs::write(dir.path().join("long"), long.repeat(40)).unwrap();
    let out = run("read_file", json!({"path": "long"}), &ctx).await;
    assert!(!out.is_error);
    let (body, note) = out.output.rsplit_once('\n').unwrap();
    assert_eq!(body.len(), READ_FILE_MAX_BYTES - 1);
    assert!(body.starts_with(&long.repeat(33)));
    assert!(body.ends_with('z'));
    assert!(note.contains("offset=34"), "{note}");
}

#[tokio::test]
async fn read_file_errors_name_the_path() {
    let dir = tempdir().unwrap();
    let ctx = context(&dir);
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let out = run("read_file", json!({"path": "nope.txt"}), &ctx).await;
    assert!(out.is_error);
    let expected = dir.path().join("nope.txt");
    assert_eq!(
        out.output,
        format!("no such file or directory: {}", expected.display())
    );
    let out = run("read_file", json!({"path": "./sub"}), &ctx).await;
    assert!(out.is_error);
    let expected = dir.path().join("sub");
    assert!(
        out.output
            .starts_with(&format!("{} is a directory", expected.display())),
        "{}",
        out.output
    );
}

// --- write_file ---

#[tokio::test]
async fn write_file_creates_parents_and_overwrites() {
    let dir = tempdir().unwrap();
    let ctx = context(&dir);
    let out = run(
        "write_file",
        json!({"path": "a/b/c.txt", "content": "héllo"}),
        &ctx,
    )
    .await;
    let path = dir.path().join("a/b/c.txt");
    assert_eq!(
        out,
        ToolOutput::ok(format!("wrote 6 bytes to {}", path.display()))
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "héllo");
    let out = run(
        "write_file",
        json!({"path": "a/b/c.txt", "content": ""}),
        &ctx,
    )
    .await;
    assert!(!out.is_error);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
}

#[tokio::test]
async fn write_file_errors() {
    let dir = tempdir().unwrap();
    let ctx = context(&dir);
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("file"), "x").unwrap();
    let out = run("write_file", json!({"path": "sub", "content": "x"}), &ctx).await;
    assert_error(&out, "is a directory");
    let out = run(
        "write_file",
        json!({"path": "file/inner", "content": "x"}),
        &ctx,
    )
    .await;
    assert_error(&out, "failed to create directory");
}

// --- edit_file ---

#[tokio::test]
async fn edit_file_replaces_a_unique_match() {
    let dir = tempdir().unwrap();
    let ctx = context(&dir);
    let path = dir.path().join("code.rs");
    std::fs::write(&path, "fn a() {}\nfn b() {}\n").unwrap();
    let out = run(
        "edit_file",
        json!({"path": "code.rs", "old_string": "fn b()", "new_string": "fn c()"}),
        &ctx,
    )
    .await;
    assert_eq!(
        out,
        ToolOutput::ok(format!("replaced 1 occurrence in {}", path.display()))
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "fn a() {}\nfn c() {}\n"
    );
}

#[tokio::test]
async fn edit_file_requires_exactly_one_match() {
    let dir = tempdir().unwrap();
    let ctx = context(&dir);
    let path = dir.path().join("f.txt");
    std::fs::write(&path, "x = 1\nx = 1\nx = 1\n").unwrap();
    let out = run(
        "edit_file",
        json!({"path": "f.txt", "old_string": "x = 1", "new_string": "x = 2"}),
        &ctx,
    )
    .await;
    assert_error(&out, "found 3 times");
    let out = run(
        "edit_file",
        json!({"path": "f.txt", "old_string": "y = 1", "new_string": "y = 2"}),
        &ctx,
    )
    .await;
    assert_error(&out, "was not found");
    let out = run(
        "edit_file",
        json!({"path": "f.txt", "old_string": "", "new_string": "z"}),
        &ctx,
    )
    .await;
    assert_error(&out, "must not be empty");
    // A failed edit leaves the file alone.
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "x = 1\nx = 1\nx = 1\n"
    );
}

#[tokio::test]
async fn edit_file_errors_on_missing_or_binary_files() {
    let dir = tempdir().unwrap();
    let ctx = context(&dir);
    std::fs::write(dir.path().join("bin"), b"a\xffb").unwrap();
    let args = |path: &str| json!({"path": path, "old_string": "a", "new_string": "b"});
    let out = run("edit_file", args("missing"), &ctx).await;
    assert!(out.is_error);
    assert!(out.output.starts_with("no such file"), "{}", out.output);
    let out = run("edit_file", args("bin"), &ctx).await;
    assert_error(&out, "not valid UTF-8");
    assert_eq!(std::fs::read(dir.path().join("bin")).unwrap(), b"a\xffb");
}

// --- list_dir ---

#[tokio::test]
async fn list_dir_sorts_and_marks_directories() {
    let dir = tempdir().unwrap();
    let ctx = context(&dir);
    std::fs::create_dir(dir.path().join("zdir")).unwrap();
    std::fs::create_dir(dir.path().join("adir")).unwrap();
    std::fs::write(dir.path().join("b.txt"), "").unwrap();
    std::os::unix::fs::symlink(dir.path().join("adir"), dir.path().join("link")).unwrap();
    let out = run("list_dir", json!({}), &ctx).await;
    assert_eq!(out, ToolOutput::ok("adir/\nb.txt\nlink/\nzdir/"));
    let out = run("list_dir", Value::Null, &ctx).await;
    assert_eq!(out, ToolOutput::ok("adir/\nb.txt\nlink/\nzdir/"));
    let out = run("list_dir", json!({"path": "adir"}), &ctx).await;
    assert_eq!(out, ToolOutput::ok("[empty directory]"));
}

#[tokio::test]
async fn list_dir_caps_entries() {
    let dir = tempdir().unwrap();
    for i in 0..1005 {
        std::fs::write(dir.path().join(format!("f{i:04}")), "").unwrap();
    }
    let out = run("list_dir", json!({"path": "."}), &context(&dir)).await;
    assert!(!out.is_error);
    let lines: Vec<&str> = out.output.lines().collect();
    assert_eq!(lines.len(), LIST_DIR_MAX_ENTRIES + 1);
    assert_eq!(lines[0], "f0000");
    assert_eq!(lines[999], "f0999");
    assert_eq!(lines[1000], "[... 5 more entries not shown]");
}

#[tokio::test]
async fn list_dir_errors() {
    let dir = tempdir().unwrap();
    let ctx = context(&dir);
    std::fs::write(dir.path().join("file"), "").unwrap();
    let out = run("list_dir", json!({"path": "file"}), &ctx).await;
    assert!(out.is_error);
    assert!(
        out.output.ends_with("file is not a directory"),
        "{}",
        out.output
    );
    let out = run("list_dir", json!({"path": "/definitely/not/here"}), &ctx).await;
    assert_eq!(
        out,
        ToolOutput::error("no such file or directory: /definitely/not/here")
    );
}
