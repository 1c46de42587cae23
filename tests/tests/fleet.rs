//! Fleets (issue 16): placement, moves and the node column. Off a fleet (no
//! `[store] url`: the store is the machine's own `tether.db`) everything is as
//! it was: no node in `ls`, and a request for another node says what to set.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use tether_tests::{Reply, TestEnv};

async fn ls(env: &TestEnv) -> Vec<Value> {
    serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_a_fleet_sessions_have_no_node_and_other_nodes_are_refused() {
    let (model, env) = TestEnv::started("[fleet]\nnode = \"solo\"\nlease_s = 2\n").await;
    model.push(Reply::text("hello"));
    env.ok(&["new", "-d", "-n", "one", "hi"]).await;
    assert_eq!(env.wait_settled("one").await, "idle");
    // Its own node is where a session goes anyway.
    env.ok(&["new", "-d", "-n", "two", "--node", "solo"]).await;

    let list = ls(&env).await;
    assert_eq!(list.len(), 2);
    for s in &list {
        assert!(s.get("node").is_none(), "no node off a fleet: {s}");
        assert!(s.get("portable").is_none(), "{s}");
    }
    let table = env.ok(&["ls"]).await;
    assert!(!table.contains("NODE"), "{table}");

    // Another node, or a portable session, needs a shared store.
    for args in [
        &["new", "-d", "-n", "three", "--node", "other"][..],
        &["new", "-d", "-n", "three", "--portable"][..],
        &["move", "one", "--node", "other"][..],
    ] {
        let out = env.run(args).await;
        assert_eq!(out.code, 1, "`tether {}`: {out:?}", args.join(" "));
        assert!(
            out.stderr.contains("not part of a fleet") && out.stderr.contains("[store] url"),
            "`tether {}` says what to set: {}",
            args.join(" "),
            out.stderr
        );
        assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    }
    assert_eq!(ls(&env).await.len(), 2, "nothing was created");

    // Moving to where it already runs changes nothing.
    let out = env.ok(&["move", "one", "--node", "solo"]).await;
    assert_eq!(out.trim(), "one already runs on solo");
    let out = env.run(&["move", "nope", "--node", "solo"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("no session named \"nope\""),
        "{}",
        out.stderr
    );

    // The session works as before.
    model.push(Reply::text("again"));
    env.ok(&["send", "one", "more"]).await;
    assert_eq!(env.wait_settled("one").await, "idle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_fleet_table_is_a_config_error_with_its_place() {
    let (_model, env) = TestEnv::started("").await;
    let model_cfg = std::fs::read_to_string(env.config_dir.join("config.toml")).unwrap();
    env.write_config(&format!("{model_cfg}\n[fleet]\nlease_s = 0\n"));
    let out = env.run(&["new", "-d", "-n", "x"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("[fleet] lease_s = 0: must be a number of seconds, 0.5 or more"),
        "{}",
        out.stderr
    );
    env.write_config(&format!("{model_cfg}\n[fleet]\nnode = \"has space\"\n"));
    let out = env.run(&["new", "-d", "-n", "x"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("[fleet] node = \"has space\""),
        "{}",
        out.stderr
    );
}
