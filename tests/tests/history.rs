//! Recall beyond the window: the builtin `history_search` and `history_read`
//! against the real daemon, with a scripted model calling them.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use serde_json::{Value, json};
use tether_tests::harness::pretty;
use tether_tests::{ModelServer, Reply, TestEnv};

/// The tool results of session `name`, by call id.
async fn results(env: &TestEnv, name: &str) -> HashMap<String, Value> {
    env.events_of(name, "tool_result")
        .await
        .into_iter()
        .map(|e| (e["call_id"].as_str().unwrap().to_string(), e))
        .collect()
}

/// The chat requests the model got (not a probe of the endpoint's models).
fn chats(model: &ModelServer) -> Vec<tether_tests::model::RecordedRequest> {
    model
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/chat/completions"))
        .collect()
}

fn output(results: &HashMap<String, Value>, call: &str) -> (String, bool) {
    let r = results
        .get(call)
        .unwrap_or_else(|| panic!("no result for {call}"));
    (
        r["output"].as_str().unwrap().to_string(),
        r["is_error"].as_bool().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_search_finds_an_earlier_tool_output_and_history_read_shows_it_whole() {
    let model = ModelServer::start().await;
    // Ask for everything: the history tools must still run without asking.
    let mut env = TestEnv::with_model(&model, "[approvals]\ndefault = \"ask\"\n");
    let filler = "filler line of the report\n".repeat(1500);
    let report = format!("{filler}the launch code is 7341-zeta\n{filler}");
    std::fs::write(env.work_dir.join("report.txt"), &report).unwrap();
    env.start_daemon().await;

    // Another session with words of its own: never found from `h`.
    model.push(Reply::text("noted"));
    env.ok(&["new", "-d", "-n", "other", "the vault word is hunter2"])
        .await;
    assert_eq!(env.wait_settled("other").await, "idle");

    model.push(Reply::tool_call(
        "c_read",
        "read_file",
        json!({"path": "report.txt"}),
    ));
    model.push(Reply::text("I read the report."));
    env.ok(&["new", "-d", "-n", "h", "read the report"]).await;
    assert_eq!(env.wait_settled("h").await, "idle");
    let first = results(&env, "h").await["c_read"].clone();
    let seq = first["seq"].as_u64().unwrap();
    let full = first["output"].as_str().unwrap();
    assert!(full.contains("7341-zeta") && full.len() > 70_000, "{first}");

    model.push(Reply::tool_calls([
        (
            "c_search",
            "history_search",
            json!({"query": "launch code"}),
        ),
        (
            "c_quoted",
            "history_search",
            json!({"query": "\"launch AND code* (\""}),
        ),
        ("c_theirs", "history_search", json!({"query": "hunter2"})),
        ("c_empty", "history_search", json!({"query": "  "})),
        ("c_marks", "history_search", json!({"query": "\" ( * -"})),
    ]));
    model.push(Reply::tool_calls([
        (
            "c_whole",
            "history_read",
            json!({"seq": seq, "length": 100000}),
        ),
        ("c_part", "history_read", json!({"seq": seq})),
        ("c_none", "history_read", json!({"seq": 9999})),
        ("c_zero", "history_read", json!({"seq": 0})),
    ]));
    model.push(Reply::text("The launch code is 7341-zeta."));
    env.ok(&["send", "h", "what was the launch code?"]).await;
    assert_eq!(env.wait_settled("h").await, "idle");
    let asked = env.events_of("h", "approval_requested").await;
    assert!(asked.is_empty(), "no approval asked: {}", pretty(&asked));

    let got = results(&env, "h").await;
    let (search, err) = output(&got, "c_search");
    assert!(!err, "{search}");
    assert!(
        search.contains(&format!("seq {seq} · tool_result of read_file · ")),
        "the excerpt names the earlier output's seq: {search}"
    );
    assert!(search.contains("the launch code is 7341-zeta"), "{search}");
    assert!(search.len() < 2_000, "an excerpt, not the output: {search}");
    let (quoted, err) = output(&got, "c_quoted");
    assert!(!err, "quotes and operators are words: {quoted}");
    assert!(quoted.contains(&format!("seq {seq} ·")), "{quoted}");
    let (theirs, err) = output(&got, "c_theirs");
    assert!(!err && !theirs.contains("hunter2 "), "{theirs}");
    assert!(
        theirs.starts_with("no event in this session's log matches"),
        "another session's words are not found: {theirs}"
    );
    let (empty, err) = output(&got, "c_empty");
    assert!(err && empty.contains("`query` is empty"), "{empty}");
    let (marks, err) = output(&got, "c_marks");
    assert!(err && marks.contains("no words to look for"), "{marks}");

    let (whole, err) = output(&got, "c_whole");
    assert!(!err);
    let header = format!(
        "seq {seq} · tool_result of read_file (call c_read) · {}\n",
        first["ts"].as_str().unwrap()
    );
    assert_eq!(
        whole,
        format!("{header}{full}"),
        "the whole output, as stored"
    );
    let (part, err) = output(&got, "c_part");
    assert!(!err && part.starts_with(&header), "{}", &part[..200]);
    assert!(
        part.ends_with(&format!(
            "[bytes 0..30000 of {}; history_read {{\"seq\": {seq}, \"offset\": 30000}} shows the rest]",
            full.len()
        )),
        "{}",
        &part[part.len() - 200..]
    );
    let (none, err) = output(&got, "c_none");
    assert!(err && none.contains("there is no event 9999"), "{none}");
    let (zero, err) = output(&got, "c_zero");
    assert!(
        err && zero.contains("`seq` must be a positive integer"),
        "{zero}"
    );

    // The model was offered both tools and saw the excerpt.
    let reqs = chats(&model);
    assert_eq!(reqs.len(), 6, "one for `other`, five for `h`");
    let offered: Vec<String> = reqs[0]
        .tools()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap_or("").to_string())
        .collect();
    for t in ["history_search", "history_read"] {
        assert!(
            offered.iter().any(|o| o == t),
            "{t} not offered: {offered:?}"
        );
    }
    let tool_msgs = reqs[4].messages();
    assert!(
        tool_msgs
            .iter()
            .any(|m| m["role"] == "tool"
                && m["content"].as_str().unwrap_or("").contains("7341-zeta")),
        "the search result reached the model"
    );
}

/// What a compaction cut from the model's view is recalled: after `session.compact`
/// the tool output is no longer in the request, and `history_search` finds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_output_compacted_away_is_found_again() {
    let (model, env) = TestEnv::started("").await;
    let filler = "nothing to see on this line\n".repeat(400);
    let report = format!("{filler}the launch code is 7341-zeta\n{filler}");
    std::fs::write(env.work_dir.join("report.txt"), &report).unwrap();
    model.push(Reply::tool_call(
        "c_read",
        "read_file",
        json!({"path": "report.txt"}),
    ));
    model.push(Reply::text("I read the report."));
    env.ok(&["new", "-d", "-n", "h", "read the report"]).await;
    assert_eq!(env.wait_settled("h").await, "idle");
    model.push(Reply::text("You are welcome."));
    env.ok(&["send", "h", "thanks"]).await;
    assert_eq!(env.wait_settled("h").await, "idle");
    let seq = results(&env, "h").await["c_read"]["seq"].as_u64().unwrap();

    // The summary request gets a summary that does not hold the code.
    model.push(Reply::text("The assistant read a report for the user."));
    let mut raw = tether_tests::raw::Raw::hello(&env.socket).await;
    let compacted = raw
        .request(1, "session.compact", json!({"session": "h"}))
        .await;
    assert_eq!(compacted["result"]["compacted"], true, "{compacted}");
    // (Reading the report may have compacted already: the default window is small.)
    let compactions = env.events_of("h", "context_compacted").await;
    assert!(
        compactions.iter().any(|c| c["reason"] == "manual"),
        "{}",
        pretty(&compactions)
    );

    model.push(Reply::tool_call(
        "c_search",
        "history_search",
        json!({"query": "launch code"}),
    ));
    model.push(Reply::text("The launch code is 7341-zeta."));
    env.ok(&["send", "h", "what was the launch code?"]).await;
    assert_eq!(env.wait_settled("h").await, "idle");
    let reqs = chats(&model);
    let asked = &reqs[reqs.len() - 2];
    assert!(
        !asked.request_text().contains("7341-zeta"),
        "the output is still in view, so this proves nothing: {}",
        asked.request_text()
    );
    let (search, err) = output(&results(&env, "h").await, "c_search");
    assert!(!err, "{search}");
    assert!(
        search.contains(&format!("seq {seq} · tool_result of read_file · ")),
        "{search}"
    );
    assert!(search.contains("the launch code is 7341-zeta"), "{search}");
    assert!(
        reqs[reqs.len() - 1].request_text().contains("7341-zeta"),
        "the model saw what the search found"
    );
}
