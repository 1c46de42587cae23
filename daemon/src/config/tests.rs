//! Tests of `config.toml`: parsing, errors, approvals, model resolution, retries and the
//! re-reading source.

use std::path::Path;
use std::time::Duration;

use super::approvals::Approvals;
use super::*;

fn p(text: &str) -> Result<Config, ConfigError> {
    parse(text, Path::new("/c/config.toml"))
}

#[test]
fn parses_the_design_example() {
    let c = p(r#"
default_model = "openai/gpt-4.1-mini"

[providers.openai]
kind = "openai"
base_url = "https://api.openai.com/v1"
api_key_env = "OPENAI_API_KEY"

[providers.local]
kind = "openai"
base_url = "http://127.0.0.1:11434/v1/"

[approvals]
default = "ask"
allow = ["read_file", "list_dir"]
deny = []

[recovery]
resume = "auto"
"#)
    .unwrap();
    assert_eq!(c.default_model, "openai/gpt-4.1-mini");
    assert_eq!(c.providers["local"].base_url, "http://127.0.0.1:11434/v1");
    assert_eq!(c.providers["local"].api_key_env, None);
    assert_eq!(c.providers["local"].kind, ProviderKind::OpenAi);
    assert!(
        c.providers["local"].images,
        "images are sent unless turned off"
    );
    let c2 = p("[providers.t]\nbase_url = \"http://h/v1\"\nimages = false\n").unwrap();
    assert!(!c2.providers["t"].images);
    assert!(
        c.providers.contains_key("ollama"),
        "builtin providers stay available"
    );
    let cwd = Path::new("/nonexistent-session-dir");
    let outside = serde_json::json!({"path": "/etc/hostname"});
    assert_eq!(
        c.approvals.decide("read_file", &outside, cwd),
        Policy::Allow,
        "an explicit allow keeps its meaning: the tool runs anywhere"
    );
    assert_eq!(c.approvals.decide("shell", &outside, cwd), Policy::Ask);
    assert_eq!(c.resume, Resume::Auto);
}

#[test]
fn approvals_deny_wins_and_globs_match() {
    let a = Approvals::new(
        Policy::Allow,
        Some(&["fs__*".into()]),
        &["fs__write*".into(), "shell".into()],
    )
    .unwrap();
    let (args, cwd) = (serde_json::json!({}), Path::new("/"));
    assert_eq!(a.decide("fs__read_text_file", &args, cwd), Policy::Allow);
    assert_eq!(a.decide("fs__write_file", &args, cwd), Policy::Deny);
    assert_eq!(a.decide("shell", &args, cwd), Policy::Deny);
    assert_eq!(a.decide("other", &args, cwd), Policy::Allow);
}

#[test]
fn without_allow_read_only_builtins_run_only_inside_the_session_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.txt"), "x").unwrap();
    let inside = serde_json::json!({"path": "in.txt"});
    let outside = serde_json::json!({"path": "/etc/hostname"});
    for c in [
        p("[approvals]\ndefault = \"ask\"\n").unwrap(),
        p("").unwrap(),
        Config::default(),
    ] {
        let a = &c.approvals;
        assert_eq!(a.decide("read_file", &inside, dir.path()), Policy::Allow);
        assert_eq!(
            a.decide("list_dir", &serde_json::json!({}), dir.path()),
            Policy::Allow
        );
        assert_eq!(a.decide("read_file", &outside, dir.path()), Policy::Ask);
        assert_eq!(
            a.decide(
                "list_dir",
                &serde_json::json!({"path": "/root"}),
                dir.path()
            ),
            Policy::Ask
        );
        assert_eq!(a.decide("write_file", &inside, dir.path()), Policy::Ask);
        // The history tools read only the session's own log.
        let query = serde_json::json!({"query": "x"});
        assert_eq!(
            a.decide("history_search", &query, dir.path()),
            Policy::Allow
        );
        let seq = serde_json::json!({"seq": 3});
        assert_eq!(a.decide("history_read", &seq, dir.path()), Policy::Allow);
    }
    let c = p("[approvals]\ndefault = \"deny\"\n").unwrap();
    assert_eq!(
        c.approvals.decide("read_file", &inside, dir.path()),
        Policy::Allow
    );
    assert_eq!(
        c.approvals.decide("read_file", &outside, dir.path()),
        Policy::Deny
    );
    let c = p("[approvals]\nallow = []\n").unwrap();
    assert_eq!(
        c.approvals.decide("read_file", &inside, dir.path()),
        Policy::Ask,
        "an explicit empty allow list replaces the built-in rule"
    );
}

#[test]
fn syntax_error_names_file_line_and_column() {
    let e = p("default_model = \"a/b\"\n[providers.x\nbase_url = 1\n").unwrap_err();
    assert_eq!(e.path, "/c/config.toml");
    assert_eq!(e.line, 2, "{e}");
    assert!(e.to_string().starts_with("/c/config.toml:2:"), "{e}");
}

#[test]
fn unknown_field_and_bad_values_are_errors_with_lines() {
    let e = p("[providers.x]\nbase_url = \"http://h\"\napi_key_evn = \"K\"\n").unwrap_err();
    assert!(e.message.contains("api_key_evn"), "{e}");
    let e = p("\n[approvals]\ndefault = \"maybe\"\n").unwrap_err();
    assert_eq!(e.line, 3, "{e}");
    let e = p("[providers.x]\nkind = \"gemini\"\nbase_url = \"http://h\"\n").unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    let e = p("default_model = \"nomodel\"\n").unwrap_err();
    assert_eq!(e.line, 1, "{e}");
}

#[test]
fn resolve_says_what_to_set() {
    let c = p("[providers.t]\nbase_url = \"http://h/v1\"\napi_key_env = \"TETHER_TEST_SURELY_UNSET_KEY\"\n").unwrap();
    let e = c.resolve("t/m", Path::new("/c/config.toml")).unwrap_err();
    assert!(e.contains("TETHER_TEST_SURELY_UNSET_KEY"), "{e}");
    let e = c
        .resolve("nope/m", Path::new("/c/config.toml"))
        .unwrap_err();
    assert!(e.contains("[providers.nope]"), "{e}");
    assert!(c.resolve("justmodel", Path::new("/c")).is_err());
    let r = c.resolve("ollama/llama3.2:3b", Path::new("/c")).unwrap();
    assert_eq!(r.model, "llama3.2:3b");
    let r = c.resolve("ollama/org/model", Path::new("/c")).unwrap();
    assert_eq!(r.model, "org/model");
}

#[test]
fn retry_settings_parse() {
    let c =
        p("[retry]\nmax_attempts = 2\ninitial_backoff_ms = 10\nstall_timeout_s = 0.5\n").unwrap();
    assert_eq!(
        c.retry.request_timeout,
        Duration::from_secs(600),
        "the default"
    );
    let c2 = p("[retry]\nrequest_timeout_s = 4.5\n").unwrap();
    assert_eq!(c2.retry.request_timeout, Duration::from_millis(4500));
    assert_eq!(c.retry.max_attempts, 2);
    assert_eq!(c.retry.initial_backoff, Duration::from_millis(10));
    assert_eq!(c.retry.stall_timeout, Duration::from_millis(500));
}

#[test]
fn source_keeps_last_good_config_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let src = ConfigSource::new(path.clone());
    assert!(src.load().1.is_none(), "missing file means defaults");
    std::fs::write(&path, "default_model = \"ollama/a\"\n").unwrap();
    assert_eq!(src.load().0.default_model, "ollama/a");
    std::fs::write(&path, "default_model = \n").unwrap();
    let (c, e) = src.load();
    assert_eq!(c.default_model, "ollama/a");
    assert_eq!(e.unwrap().line, 1);
}

#[test]
fn context_and_model_windows_parse_and_bad_values_name_their_line() {
    let c = p(r#"
[models."local/qwen3-32b"]
context_window = 32768
[context]
compact_at = 0.7
keep_recent_tokens = 9000
auto = false
system_prompt = "You are terse."
"#)
    .unwrap();
    assert_eq!(c.models["local/qwen3-32b"].context_window, Some(32768));
    assert_eq!(c.context.compact_at, 0.7);
    assert_eq!(c.context.keep_recent_tokens, 9000);
    assert!(!c.context.auto);
    assert_eq!(c.context.system_prompt.as_deref(), Some("You are terse."));
    assert_eq!(
        c.context.keep_recent(6000),
        1500,
        "at most a quarter of the window"
    );
    assert_eq!(c.context.threshold(10_000), 7000);
    let d = p("").unwrap();
    assert!(d.context.auto && d.context.compact_at == 0.8 && d.models.is_empty());
    let e = p("[context]\ncompact_at = 1.5\n").unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("compact_at"), "{e}");
    let e = p("[models.\"a/b\"]\ncontext_window = 0\n").unwrap_err();
    assert!(e.message.contains("context_window"), "{e}");
    let e = p("[models.nope]\ncontext_window = 10\n").unwrap_err();
    assert!(e.message.contains("PROVIDER/MODEL"), "{e}");
    assert!(
        p("[context]\ncompact = 1\n").is_err(),
        "unknown keys are refused"
    );
}

#[test]
fn responses_kind_and_prompt_cache_key_defaults() {
    let c = p(r#"
[providers.oai]
kind = "openai-responses"
base_url = "https://api.openai.com/v1/"

[providers.local]
base_url = "http://127.0.0.1:8000/v1"

[providers.gw]
base_url = "https://gateway.example/v1"
prompt_cache_key = true

[providers.off]
base_url = "https://api.openai.com/v1"
prompt_cache_key = false
"#)
    .unwrap();
    assert_eq!(c.providers["oai"].kind, ProviderKind::OpenAiResponses);
    assert!(c.providers["oai"].prompt_cache_key, "on for api.openai.com");
    assert!(!c.providers["local"].prompt_cache_key, "off elsewhere");
    assert!(c.providers["gw"].prompt_cache_key);
    assert!(!c.providers["off"].prompt_cache_key);
    assert!(
        c.providers["openai"].prompt_cache_key,
        "the built-in openai"
    );
    assert!(!c.providers["ollama"].prompt_cache_key);
    let e = p("[providers.x]\nkind = \"anthropicx\"\nbase_url = \"http://h\"\n").unwrap_err();
    assert!(e.message.contains("\"openai-responses\""), "{e}");
}

#[test]
fn anthropic_kind_max_tokens_and_thinking_budget_parse_and_resolve() {
    let c = p(r#"
[providers.claude]
kind = "anthropic"
base_url = "https://api.anthropic.com/"
[models."claude/claude-sonnet-4-5"]
max_tokens = 20000
thinking_budget = 4096
"#)
    .unwrap();
    let claude = &c.providers["claude"];
    assert_eq!(claude.kind, ProviderKind::Anthropic);
    assert_eq!(claude.base_url, "https://api.anthropic.com");
    let builtin = &c.providers["anthropic"];
    assert_eq!(builtin.kind, ProviderKind::Anthropic);
    assert_eq!(builtin.api_key_env.as_deref(), Some("ANTHROPIC_API_KEY"));
    let r = c
        .resolve("claude/claude-sonnet-4-5", Path::new("/c"))
        .unwrap();
    assert_eq!(r.settings.max_tokens, Some(20000));
    assert_eq!(r.settings.thinking_budget, Some(4096));
    let r = c.resolve("claude/other", Path::new("/c")).unwrap();
    assert_eq!(r.settings, crate::config::ModelSettings::default());

    let e = p("[models.\"a/b\"]\nmax_tokens = 0\n").unwrap_err();
    assert!(e.message.contains("max_tokens = 0"), "{e}");
    assert_eq!(e.line, 2, "{e}");
    let e = p("[models.\"a/b\"]\nthinking_budget = 100\n").unwrap_err();
    assert!(e.message.contains("at least 1024"), "{e}");
    let e = p("[models.\"a/b\"]\nmax_tokens = 2000\nthinking_budget = 4000\n").unwrap_err();
    assert!(e.message.contains("below max_tokens = 2000"), "{e}");
    let e = p("[providers.x]\nkind = \"gemini\"\nbase_url = \"http://h\"\n").unwrap_err();
    assert!(e.message.contains("\"anthropic\""), "{e}");
}

#[test]
fn limits_and_prices_parse_and_bad_values_are_refused() {
    let c = p(r#"
[limits]
session_max_tokens = 200000
session_max_cost_usd = 2.5

[models."anthropic/claude-sonnet-4-5"]
input_per_mtok = 3.0
output_per_mtok = 15.0
cache_read_per_mtok = 0.3
cache_write_per_mtok = 3.75

[models."local/m"]
input_per_mtok = 0.5
output_per_mtok = 1.0
"#)
    .unwrap();
    assert_eq!(c.limits.session_max_tokens, Some(200_000));
    assert_eq!(c.limits.session_max_cost_usd, Some(2.5));
    let b = c.limits.budget(Some(10), None);
    assert_eq!((b.max_tokens, b.max_cost_usd), (Some(10), Some(2.5)));
    let sonnet = c.price("anthropic/claude-sonnet-4-5").unwrap();
    assert!(!sonnet.estimate, "the config's price is not an estimate");
    assert_eq!(sonnet.cache_write_per_mtok, 3.75);
    // Cache prices default to the input price.
    assert_eq!(c.price("local/m").unwrap().cache_read_per_mtok, 0.5);
    assert!(c.price("local/other").is_none());
    assert_eq!(
        Config::default().cost("local/other", &Default::default()),
        0.0
    );

    let e = p("[limits]\nsession_max_tokens = 0\n").unwrap_err();
    assert!(
        e.message.contains("session_max_tokens") && e.line == 2,
        "{e}"
    );
    let e = p("[limits]\nsession_max_cost_usd = -1.0\n").unwrap_err();
    assert!(e.message.contains("session_max_cost_usd"), "{e}");
    let e = p("[limits]\nmax_tokens = 5\n").unwrap_err();
    assert!(e.message.contains("unknown field"), "{e}");
    let e = p("[models.\"a/b\"]\ninput_per_mtok = 1.0\n").unwrap_err();
    assert!(e.message.contains("output_per_mtok"), "{e}");
    let e = p("[models.\"a/b\"]\ninput_per_mtok = -1.0\noutput_per_mtok = 1.0\n").unwrap_err();
    assert!(e.message.contains("input_per_mtok") && e.line == 2, "{e}");
}

#[test]
fn the_tuis_tables_are_accepted_and_left_to_it() {
    let c = p("[keys]\nhelp = \"f1\"\n\n[tui]\ntime = \"utc\"\nbell = false\n");
    assert!(c.is_ok(), "{:?}", c.err());
}

#[test]
fn the_clis_remote_tables_are_accepted_and_left_to_it() {
    let c = p(
        "[remote]\nssh = [\"ssh\", \"-o\", \"ConnectTimeout=5\"]\ncommand = \"~/.cargo/bin/tether\"\n\n\
         [hosts.build]\nssh = \"me@build.example\"\nport = 2222\n",
    );
    assert!(c.is_ok(), "{:?}", c.err());
}

#[test]
fn notify_parses_with_defaults_and_bad_values_are_refused_at_their_place() {
    use tether_shared::notify::NotifyEvent;
    let c = p("").unwrap();
    assert!(c.notify.command.is_empty());
    assert!(
        !c.notify.wants(NotifyEvent::TurnFailed),
        "no command: nothing runs"
    );
    assert_eq!(c.notify.on.len(), 4, "all four events by default");
    assert_eq!(c.notify.debounce, Duration::from_millis(1000));
    assert_eq!(c.notify.timeout, Duration::from_secs(10));

    let c = p(r#"
[notify]
command = ["notify-send", "tether"]
on = ["turn_failed", "awaiting_approval"]
debounce_ms = 0
timeout_s = 2.5
"#)
    .unwrap();
    assert_eq!(c.notify.command, ["notify-send", "tether"]);
    assert!(c.notify.wants(NotifyEvent::TurnFailed));
    assert!(c.notify.wants(NotifyEvent::AwaitingApproval));
    assert!(!c.notify.wants(NotifyEvent::TurnCompleted));
    assert_eq!(c.notify.debounce, Duration::ZERO);
    assert_eq!(c.notify.timeout, Duration::from_millis(2500));
    let c = p("[notify]\ncommand = [\"x\"]\ntimeout_s = 1\n").unwrap();
    assert_eq!(c.notify.timeout, Duration::from_secs(1));

    let e = p("[notify]\ncommand = [\"x\"]\non = [\"turn_failed\", \"bogus\"]\n").unwrap_err();
    assert_eq!((e.line, e.column), (3, 22), "{e}");
    assert!(e.message.contains("unknown event \"bogus\""), "{e}");
    for valid in [
        "awaiting_approval",
        "turn_failed",
        "turn_completed",
        "budget_exhausted",
    ] {
        assert!(e.message.contains(valid), "{e}");
    }
    let e = p("[notify]\ncommand = []\n").unwrap_err();
    assert!(e.message.contains("program") && e.line == 2, "{e}");
    let e = p("[notify]\ndebounce_ms = -5\n").unwrap_err();
    assert!(e.message.contains("debounce_ms") && e.line == 2, "{e}");
    let e = p("[notify]\ntimeout_s = 0\n").unwrap_err();
    assert!(e.message.contains("timeout_s") && e.line == 2, "{e}");
    let e = p("[notify]\ncommand = \"notify-send\"\n").unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    let e = p("[notify]\nevents = []\n").unwrap_err();
    assert!(e.message.contains("unknown field"), "{e}");
}

#[test]
fn sampling_asks_unless_a_sampling_glob_decides() {
    let a = Approvals::new(
        Policy::Allow,
        Some(&["sampling:docs".to_string()]),
        &["sampling:evil*".to_string()],
    )
    .unwrap();
    assert_eq!(a.decide_sampling("docs"), Policy::Allow);
    assert_eq!(a.decide_sampling("evil-twin"), Policy::Deny);
    // `default = "allow"` is for tool calls: a sampling request still asks.
    assert_eq!(a.decide_sampling("other"), Policy::Ask);
}

#[test]
fn the_media_cap_and_provider_audio_are_read_and_checked() {
    let c = super::parse::parse("", Path::new("/c/config.toml")).unwrap();
    assert_eq!(
        c.tools.max_image_bytes,
        super::tools::DEFAULT_MAX_IMAGE_BYTES
    );
    assert!(
        !c.providers["openai"].audio,
        "audio is off unless turned on"
    );
    let c = super::parse::parse(
        "[tools]\nmax_image_bytes = 1000\n\n[providers.a]\nbase_url = \"http://h/v1\"\naudio = true\n",
        Path::new("/c/config.toml"),
    )
    .unwrap();
    assert_eq!(c.tools.max_image_bytes, 1000);
    assert!(c.providers["a"].audio);
    let e = super::parse::parse(
        "[tools]\nmax_image_bytes = -1\n",
        Path::new("/c/config.toml"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("max_image_bytes = -1"), "{e}");
    let e =
        super::parse::parse("[tools]\nmax_images = 1\n", Path::new("/c/config.toml")).unwrap_err();
    assert!(e.to_string().contains("max_images"), "{e}");
}

#[test]
fn a_file_without_a_sessions_table_loads() {
    let c = p("default_model = \"ollama/llama3.2:3b\"\n").unwrap();
    assert!(c.resolve("ollama/llama3.2:3b", Path::new("/c")).is_ok());
}

#[test]
fn worktrees_dir_is_absolute_or_from_home_and_a_relative_one_is_refused() {
    assert_eq!(p("").unwrap().worktrees_dir, None);
    let c = p("[worktrees]\ndir = \"/srv/trees\"\n").unwrap();
    assert_eq!(
        c.worktrees_dir,
        Some(std::path::PathBuf::from("/srv/trees"))
    );
    if let Some(home) = std::env::var_os("HOME") {
        let c = p("[worktrees]\ndir = \"~/trees\"\n").unwrap();
        assert_eq!(
            c.worktrees_dir,
            Some(std::path::PathBuf::from(home).join("trees"))
        );
    }
    let e = p("[worktrees]\ndir = \"trees\"\n").unwrap_err();
    assert!(e.message.contains("must be an absolute path"), "{e}");
    assert_eq!(e.line, 2, "{e}");
    let e = p("[worktrees]\nfolder = \"/x\"\n").unwrap_err();
    assert!(e.message.contains("folder"), "{e}");
}

#[test]
fn the_fleet_table_names_the_node_and_its_lease() {
    let c = p("").unwrap();
    assert_eq!(c.fleet.lease, Duration::from_secs(10));
    assert_eq!(c.fleet.node(), super::fleet::host_name());
    assert!(!c.fleet.node().is_empty());
    let c = p("[fleet]\nnode = \"build-1\"\nlease_s = 2.5\n").unwrap();
    assert_eq!(c.fleet.node(), "build-1");
    assert_eq!(c.fleet.lease, Duration::from_millis(2500));
    let e = p("[fleet]\nlease_s = 0.1\n").unwrap_err().to_string();
    assert!(
        e.contains("[fleet] lease_s = 0.1: must be a number of seconds, 0.5 or more"),
        "{e}"
    );
    assert!(e.contains(":2:"), "at its line: {e}");
    let e = p("[fleet]\nnode = \"a b\"\n").unwrap_err().to_string();
    assert!(e.contains("[fleet] node = \"a b\""), "{e}");
    let e = p("[fleet]\nnodes = \"a\"\n").unwrap_err().to_string();
    assert!(e.contains("nodes"), "unknown keys are refused: {e}");
}
