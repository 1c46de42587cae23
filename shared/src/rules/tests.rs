use serde_json::json;

use super::*;

fn rule(tool: &str, prefix: Option<&str>) -> ApprovalRule {
    ApprovalRule {
        id: 1,
        scope: RuleScope::Session,
        tool: tool.into(),
        prefix: prefix.map(str::to_string),
        created_at: "2026-01-01T00:00:00Z".into(),
        session: Some("s1".into()),
        project: None,
    }
}

fn sh(command: &str) -> Value {
    json!({ "command": command })
}

#[test]
fn a_prefix_rule_for_ls_allows_plain_ls_commands() {
    let ls = rule("shell", Some("ls"));
    for ok in [
        "ls",
        "ls -la",
        "ls src",
        "  ls   -la\tsrc  ",
        "ls 'my dir'",
        "ls \"my dir\"",
        "'ls' -la",
        "ls -la ''",
        "ls --color=auto",
    ] {
        assert!(ls.allows("shell", &sh(ok)), "{ok:?} should run");
    }
}

#[test]
fn a_prefix_rule_for_ls_never_allows_more_than_ls() {
    let ls = rule("shell", Some("ls"));
    for ask in [
        // other commands, and words that only start like it
        "rm -rf /",
        "rm x",
        "lsblk",
        "ls-files",
        "\"ls \"",
        "",
        "   ",
        // more commands
        "ls; rm -rf /",
        "ls;rm x",
        "ls && rm x",
        "ls || rm x",
        "ls & rm x",
        "ls | sh",
        "ls |& sh",
        "ls\nrm x",
        "ls\rrm x",
        // substitutions and expansions, quoted or not
        "ls $(rm x)",
        "ls \"$(rm x)\"",
        "ls `rm x`",
        "ls '`rm x`'",
        "ls ${HOME}",
        "ls $HOME",
        "ls \"$HOME\"",
        // redirections, groups, subshells
        "ls > /etc/passwd",
        "ls >> x",
        "ls < x",
        "ls 2>&1",
        "(ls)",
        "ls (x)",
        "{ ls; }",
        // globs and the home directory
        "ls *",
        "ls src/*.rs",
        "ls ?",
        "ls [ab]",
        "ls ~",
        // comments, escapes, negation
        "ls # rm",
        "l\\s",
        "ls \\; rm x",
        "! ls",
        "ls ^ sh",
        // leading assignments
        "FOO=1 ls",
        "LD_PRELOAD=/tmp/x.so ls",
        "PATH=. ls",
        // quotes that never close
        "ls 'a",
        "ls \"a",
        // characters that hide text
        "ls\u{200b} x",
        "ls \u{202e}x",
        "ls \u{1b}[2J",
        "ls\u{0}x",
    ] {
        assert!(!ls.allows("shell", &sh(ask)), "{ask:?} must still ask");
    }
}

#[test]
fn a_prefix_of_several_words_matches_whole_words() {
    let ct = rule("shell", Some("cargo test"));
    assert!(ct.allows("shell", &sh("cargo test")));
    assert!(ct.allows("shell", &sh("cargo test -p tether -- --nocapture")));
    assert!(ct.allows("shell", &sh("cargo   test")));
    assert!(!ct.allows("shell", &sh("cargo testx")));
    assert!(!ct.allows("shell", &sh("cargo")));
    assert!(!ct.allows("shell", &sh("cargo build")));
    assert!(!ct.allows("shell", &sh("cargo test; rm x")));
    // A quoted prefix word is one word.
    let q = rule("shell", Some("echo 'a b'"));
    assert!(q.allows("shell", &sh("echo \"a b\" c")));
    assert!(!q.allows("shell", &sh("echo a b")));
}

#[test]
fn a_rule_allows_only_its_tool() {
    let any_read = rule("read_file", None);
    assert!(any_read.allows("read_file", &json!({"path": "/etc/passwd"})));
    assert!(!any_read.allows("write_file", &json!({"path": "x"})));
    let ls = rule("shell", Some("ls"));
    assert!(!ls.allows("fs__shell", &sh("ls")));
    // A shell call whose arguments are not an object with a command string.
    assert!(!ls.allows("shell", &json!("ls")));
    assert!(!ls.allows("shell", &json!({"command": ["ls"]})));
    assert!(!ls.allows("shell", &json!({})));
    // A prefix on another tool allows nothing.
    assert!(!rule("read_file", Some("ls")).allows("read_file", &sh("ls")));
    // A whole-tool shell rule allows any command: what the person asked for.
    assert!(rule("shell", None).allows("shell", &sh("rm -rf x")));
    let mut unknown = rule("shell", None);
    unknown.scope = RuleScope::Unknown;
    assert!(!unknown.allows("shell", &sh("ls")));
}

#[test]
fn prefixes_are_checked_before_they_become_rules() {
    assert_eq!(check_prefix("cargo test").unwrap(), ["cargo", "test"]);
    assert!(check_prefix("").is_err());
    assert!(check_prefix("  ").is_err());
    assert!(check_prefix("ls;").unwrap_err().contains("';'"));
    assert!(check_prefix("FOO=1 ls").is_err());
    assert!(check_prefix("ls *").is_err());
    // A rule for `ls` is not a rule for `lsblk`; nor is one with a trailing space different.
    assert!(prefix_matches("ls ", "ls -l"));
}

#[test]
fn the_offered_prefix_is_the_first_word() {
    assert_eq!(default_prefix("ls -la"), "ls");
    assert_eq!(default_prefix("  cargo test -p x"), "cargo");
    assert_eq!(default_prefix("'ls' x"), "ls");
    assert_eq!(default_prefix("ls | head"), "ls");
    assert_eq!(default_prefix("ls; rm x"), "ls");
    assert_eq!(default_prefix("FOO=1 rm x"), "");
    assert_eq!(default_prefix("$(rm)"), "");
    assert_eq!(default_prefix(""), "");
}

#[test]
fn programs_that_run_anything_are_known() {
    assert!(prefix_runs_anything("bash"));
    assert!(prefix_runs_anything(" sudo "));
    assert!(!prefix_runs_anything("sudo ls"));
    assert!(!prefix_runs_anything("ls"));
}

#[test]
fn rules_round_trip_and_unknown_scopes_are_tolerated() {
    let r = rule("shell", Some("ls"));
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["scope"], "session");
    assert_eq!(v["prefix"], "ls");
    assert!(v.get("project").is_none());
    assert_eq!(serde_json::from_value::<ApprovalRule>(v).unwrap(), r);
    let s: RuleScope = serde_json::from_str("\"galaxy\"").unwrap();
    assert_eq!(s, RuleScope::Unknown);
}
