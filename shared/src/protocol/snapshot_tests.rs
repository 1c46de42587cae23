//! Snapshots of every wire message's JSON, built through the request table with
//! representative values: each request's params, each result, each notification,
//! the error object and the hello exchange. A change to the contract shows up as
//! a changed `.snap` file in review (`cargo insta review` accepts one).
//!
//! Each message is built the way the daemon and the clients build it (through a
//! `serde_json::Value`, so object members come out in name order) and printed
//! pretty; the wire carries the same JSON on one line.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::event::{Decision, Delivery, Event, EventKind, Live, SessionState, ToolCallSpec, Usage};

fn pretty(msg: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(msg).unwrap()
}

fn request<M: Method>(params: M::Params) -> String {
    pretty(&M::request(7, &params).unwrap())
}

fn result<M: Method>(result: M::Result) -> String {
    pretty(&Response::ok(
        Value::from(7),
        serde_json::to_value(result).unwrap(),
    ))
}

pub(super) fn notification<N: NotificationMethod>(params: N::Params) -> String {
    pretty(&N::notification(&params).unwrap())
}

fn info() -> SessionInfo {
    SessionInfo {
        id: "s-f77573dadff7".into(),
        name: "fix-tests".into(),
        state: SessionState::AwaitingApproval,
        model: "local/qwen3-coder".into(),
        cwd: "/home/ana/projects/tether".into(),
        created_at: "2026-11-30T09:12:44.120Z".into(),
        updated_at: "2026-11-30T09:14:02.518Z".into(),
        pending_approvals: vec!["call_3".into()],
        queued_inputs: 1,
        attached_clients: 2,
        last_seq: 9,
        usage: Usage {
            prompt_tokens: 1200,
            completion_tokens: 340,
            ..Default::default()
        },
        instructions: Some("Be brief.".into()),
        last_error: None,
        context_tokens: 4100,
        context_window: 32768,
        budget: crate::event::Budget {
            max_tokens: Some(200_000),
            max_cost_usd: None,
        },
        cost_usd: 0.0087,
        cost_basis: CostBasis::Estimate,
        waiting_since: Some("2026-11-30T09:14:02.518Z".into()),
        pending_inputs: vec!["in-41".into()],
        worktree: None,
        node: None,
        portable: false,
    }
}

fn events() -> Vec<Event> {
    vec![
        Event {
            seq: 8,
            ts: "2026-11-30T09:14:01.990Z".into(),
            kind: EventKind::AssistantMessage {
                text: "Running the tests.".into(),
                tool_calls: vec![ToolCallSpec {
                    call_id: "call_3".into(),
                    tool: "shell".into(),
                    arguments: json!({"command": "cargo test"}),
                }],
                provider_items: Vec::new(),
                usage: Some(Usage {
                    prompt_tokens: 600,
                    completion_tokens: 20,
                    ..Default::default()
                }),
                partial: false,
                finish_reason: Some("tool_calls".into()),
            },
        },
        Event {
            seq: 9,
            ts: "2026-11-30T09:14:02.518Z".into(),
            kind: EventKind::ApprovalRequested {
                call_id: "call_3".into(),
                tool: "shell".into(),
                diff: None,
            },
        },
    ]
}

fn session(name: &str) -> SessionRef {
    SessionRef {
        session: name.into(),
    }
}

fn rule() -> ApprovalRule {
    ApprovalRule {
        id: 3,
        scope: RuleScope::Session,
        tool: "shell".into(),
        prefix: Some("cargo test".into()),
        created_at: "2026-11-30T09:14:08.771Z".into(),
        session: Some("s-f77573dadff7".into()),
        project: None,
    }
}

fn project_rule() -> ApprovalRule {
    ApprovalRule {
        id: 4,
        scope: RuleScope::Project,
        tool: "read_file".into(),
        prefix: None,
        created_at: "2026-11-30T09:20:11.002Z".into(),
        session: None,
        project: Some("/home/ana/projects/tether".into()),
    }
}

/// `session.approve` with `always`, which adds a rule (issue 11).
#[test]
fn approving_with_always_allow() {
    let params = request::<method::SessionApprove>(DecideParams {
        session: "fix-tests".into(),
        call_id: Some("call_3".into()),
        all: false,
        reason: None,
        always: Some(AlwaysAllow {
            scope: RuleScope::Session,
            tool: Some("shell".into()),
            prefix: Some("cargo test".into()),
        }),
    });
    let result = result::<method::SessionApprove>(DecideResult {
        decided: vec!["call_3".into(), "call_4".into()],
        rule: Some(rule()),
        by_rule: vec!["call_4".into()],
    });
    insta::assert_snapshot!("session_approve_always__params", params);
    insta::assert_snapshot!("session_approve_always__result", result);
}

/// The rule events of issue 11, and the calls they decide or let run.
#[test]
fn the_rule_events() {
    let cases = [
        (
            "approval_rule_added",
            EventKind::ApprovalRuleAdded {
                rule: rule(),
                call_id: Some("call_3".into()),
            },
        ),
        (
            "approval_decided_by_rule",
            EventKind::ApprovalDecided {
                call_id: "call_4".into(),
                decision: Decision::Approved,
                reason: None,
                rule: Some(3),
            },
        ),
        (
            "tool_call_allowed_by_rule",
            EventKind::ToolCall {
                call_id: "call_5".into(),
                tool: "shell".into(),
                arguments: json!({"command": "cargo test -p tether"}),
                rule: Some(3),
            },
        ),
        (
            "approval_rule_removed",
            EventKind::ApprovalRuleRemoved { rule: rule() },
        ),
    ];
    for (i, (name, kind)) in cases.into_iter().enumerate() {
        let n = notification::<method::SessionLive>(LiveParams {
            session_id: "s-f77573dadff7".into(),
            live: Live::Event {
                event: Event {
                    seq: 20 + i as u64,
                    ts: "2026-11-30T09:14:08.790Z".into(),
                    kind,
                },
            },
        });
        insta::assert_snapshot!(format!("session_live__{name}"), n);
    }
}

/// Every request method with its params and its result, by name.
fn methods() -> Vec<(&'static str, String, String)> {
    let status = super::DaemonStatus {
        pid: 4242,
        version: "0.1.0".into(),
        socket: "/run/user/1000/tether/tether.sock".into(),
        state_dir: "/home/ana/.local/state/tether".into(),
        config_dir: "/home/ana/.config/tether".into(),
        sessions: 3,
        awake_sessions: Some(1),
        uptime_s: 5400,
        clients: 2,
        config_error: None,
        log_dropped: 0,
        store_damage: Vec::new(),
        store_damage_help: None,
        store: None,
        node: None,
        lease_s: None,
        store_error: None,
    };
    let decide = DecideParams {
        session: "fix-tests".into(),
        call_id: Some("call_3".into()),
        all: false,
        reason: None,
        always: None,
    };
    let decided = || DecideResult {
        decided: vec!["call_3".into()],
        rule: None,
        by_rule: Vec::new(),
    };
    let tools = vec![
        ToolServerInfo {
            name: "builtin".into(),
            source: "builtin".into(),
            status: ServerStatus::Running,
            tools: vec!["read_file".into(), "shell".into()],
            error: None,
            renamed: BTreeMap::new(),
            login: None,
        },
        ToolServerInfo {
            name: "github".into(),
            source: "/home/ana/.config/tether/tools/github.toml".into(),
            status: ServerStatus::Failed,
            tools: vec!["github__create_issue".into()],
            error: Some("exited with status 1".into()),
            renamed: BTreeMap::from([("create.issue".into(), "github__create_issue".into())]),
            login: None,
        },
        super::snapshot_mcp_auth::needs_login_server(),
    ];
    vec![
        (
            method::DAEMON_STATUS,
            request::<method::DaemonStatus>(Empty {}),
            result::<method::DaemonStatus>(status),
        ),
        (
            method::DAEMON_STOP,
            request::<method::DaemonStop>(Empty {}),
            result::<method::DaemonStop>(StopResult { stopping: true }),
        ),
        (
            method::SESSION_CREATE,
            request::<method::SessionCreate>(CreateParams {
                name: Some("fix-tests".into()),
                cwd: "/home/ana/projects/tether".into(),
                model: Some("local/qwen3-coder".into()),
                instructions: Some("Be brief.".into()),
                prompt: Some("Make the tests pass.".into()),
                max_tokens: Some(200_000),
                max_cost_usd: Some(5.0),
                mcp_servers: vec![
                    SessionServer {
                        name: "fs".into(),
                        command: Some("/usr/local/bin/mcp-server-filesystem".into()),
                        args: vec!["/home/ana/projects/tether".into()],
                        env: [("LOG_LEVEL".to_string(), "warn".to_string())].into(),
                        ..Default::default()
                    },
                    SessionServer {
                        name: "docs".into(),
                        url: Some("https://docs.example.com/mcp".into()),
                        headers: [("Authorization".to_string(), "Bearer t0k3n".to_string())].into(),
                        ..Default::default()
                    },
                ],
                worktree: None,
                node: None,
                portable: false,
            }),
            result::<method::SessionCreate>(info()),
        ),
        (
            method::SESSION_LIST,
            request::<method::SessionList>(Default::default()),
            result::<method::SessionList>(vec![info()]),
        ),
        (
            method::SESSIONS_SUBSCRIBE,
            request::<method::SessionsSubscribe>(SubscribeParams::default()),
            result::<method::SessionsSubscribe>(vec![info()]),
        ),
        (
            method::SESSION_GET,
            request::<method::SessionGet>(session("fix-tests")),
            result::<method::SessionGet>(info()),
        ),
        (
            method::SESSION_SEND,
            request::<method::SessionSend>(SendParams {
                session: "fix-tests".into(),
                text: "Also run clippy.".into(),
                delivery: Delivery::Steer,
            }),
            result::<method::SessionSend>(SendResult {
                input_id: 12,
                state: SessionState::Running,
            }),
        ),
        (
            method::SESSION_INTERRUPT,
            request::<method::SessionInterrupt>(session("fix-tests")),
            result::<method::SessionInterrupt>(InterruptResult { interrupted: true }),
        ),
        (
            method::SESSION_APPROVE,
            request::<method::SessionApprove>(decide.clone()),
            result::<method::SessionApprove>(decided()),
        ),
        (
            method::SESSION_DENY,
            request::<method::SessionDeny>(DecideParams {
                reason: Some("not on main".into()),
                ..decide
            }),
            result::<method::SessionDeny>(decided()),
        ),
        (
            method::SESSION_WAIT,
            request::<method::SessionWait>(WaitParams {
                session: "fix-tests".into(),
                timeout_s: Some(30.0),
            }),
            result::<method::SessionWait>(WaitResult {
                state: SessionState::Idle,
                timed_out: false,
            }),
        ),
        (
            method::SESSION_LOGS,
            request::<method::SessionLogs>(LogsParams {
                session: "fix-tests".into(),
                since: Some(7),
                before: None,
                limit: Some(500),
            }),
            result::<method::SessionLogs>(LogsResult {
                events: events(),
                last_seq: 9,
                more: false,
            }),
        ),
        (
            method::SESSION_ATTACH,
            request::<method::SessionAttach>(AttachParams {
                session: "fix-tests".into(),
                from_seq: Some(7),
                page_size: Some(200),
                read_only: false,
            }),
            result::<method::SessionAttach>(AttachResult {
                info: info(),
                events: events(),
                truncated: false,
                last_seq: 9,
                partial: PartialState {
                    assistant_text: "Run".into(),
                },
                queued: vec![QueuedInput {
                    input_id: 12,
                    text: "Also run clippy.".into(),
                    delivery: Delivery::Steer,
                }],
            }),
        ),
        (
            method::SESSION_DETACH,
            request::<method::SessionDetach>(session("fix-tests")),
            result::<method::SessionDetach>(Empty {}),
        ),
        (
            method::SESSION_KILL,
            request::<method::SessionKill>(session("fix-tests")),
            result::<method::SessionKill>(KillResult {
                id: "s-f77573dadff7".into(),
                worktree: None,
            }),
        ),
        (
            method::TOOLS_LIST,
            request::<method::ToolsList>(ToolsParams {
                session: Some("fix-tests".into()),
            }),
            result::<method::ToolsList>(tools),
        ),
        (
            method::SESSION_COMPACT,
            request::<method::SessionCompact>(CompactParams {
                session: "fix-tests".into(),
                instructions: Some("keep the failing test names".into()),
            }),
            result::<method::SessionCompact>(CompactResult {
                compacted: true,
                tokens_before: 27_300,
                tokens_after: 6_120,
                message: "compacted: 27300 -> 6120 tokens".into(),
            }),
        ),
        (
            method::SESSION_FORK,
            request::<method::SessionFork>(ForkParams {
                session: "fix-tests".into(),
                name: "fix-tests-b".into(),
                at: Some(7),
            }),
            result::<method::SessionFork>(info()),
        ),
        (
            method::SESSION_RULES,
            request::<method::SessionRules>(session("fix-tests")),
            result::<method::SessionRules>(vec![rule(), project_rule()]),
        ),
        (
            method::SESSION_RULE_REMOVE,
            request::<method::SessionRuleRemove>(RuleRemoveParams {
                session: "fix-tests".into(),
                id: 3,
            }),
            result::<method::SessionRuleRemove>(RuleRemoveResult { removed: rule() }),
        ),
        (
            method::SESSION_BUDGET,
            request::<method::SessionBudget>(BudgetParams {
                session: "fix-tests".into(),
                max_tokens: Some(400_000),
                ..Default::default()
            }),
            result::<method::SessionBudget>(info()),
        ),
        (
            method::SESSIONS_WAIT_ANY,
            request::<method::SessionsWaitAny>(WaitAnyParams {
                timeout_s: Some(600.0),
            }),
            result::<method::SessionsWaitAny>(WaitAnyResult {
                waiting: Some(WaitingSession {
                    session: "s-f77573dadff7".into(),
                    name: "fix-tests".into(),
                    state: SessionState::AwaitingApproval,
                    event: crate::notify::NotifyEvent::AwaitingApproval,
                    call_ids: vec!["call_3".into()],
                    since: "2026-11-30T09:14:02.518Z".into(),
                }),
                timed_out: false,
            }),
        ),
        (
            method::SESSION_SEARCH,
            request::<method::SessionSearch>(SearchParams {
                session: "fix-tests".into(),
                query: "linker err".into(),
                limit: Some(50),
            }),
            result::<method::SessionSearch>(SearchResult {
                hits: vec![
                    SearchHit {
                        seq: 41,
                        ts: "2026-11-30T10:02:11.300Z".into(),
                        kind: "tool_result".into(),
                        tool: Some("shell".into()),
                        excerpt: "…error: linker `cc` not found…".into(),
                    },
                    SearchHit {
                        seq: 3,
                        ts: "2026-11-30T09:12:50.008Z".into(),
                        kind: "user_message".into(),
                        tool: None,
                        excerpt: "the linker errors again".into(),
                    },
                ],
                more: false,
            }),
        ),
        (
            method::SESSION_CANCEL_INPUT,
            request::<method::SessionCancelInput>(CancelInputParams {
                session: "fix-tests".into(),
                input_id: 12,
            }),
            result::<method::SessionCancelInput>(CancelInputResult { cancelled: true }),
        ),
        (
            method::SESSION_ANSWER,
            request::<method::SessionAnswer>(AnswerParams {
                session: "fix-tests".into(),
                request_id: Some("in-41".into()),
                action: crate::event::InputAction::Accept,
                content: Some(serde_json::json!({"env": "staging", "confirm": true})),
            }),
            result::<method::SessionAnswer>(AnswerResult {
                request_id: "in-41".into(),
                action: crate::event::InputAction::Accept,
                content: Some(
                    serde_json::json!({"env": "staging", "confirm": true, "region": "eu"}),
                ),
            }),
        ),
    ]
    .into_iter()
    .chain(super::snapshot_prompts::cases())
    .chain(super::snapshot_schedule::cases())
    .chain(super::snapshot_fleet::cases())
    .collect()
}

#[test]
fn every_request_and_result_has_a_snapshot() {
    let mut cases = methods();
    cases.extend(super::snapshot_mcp_auth::methods());
    let mut named: Vec<&str> = cases.iter().map(|(name, _, _)| *name).collect();
    named.push(method::HELLO); // in `the_hello_exchange`
    named.sort_unstable();
    let mut table: Vec<&str> = METHODS.iter().map(|m| m.name).collect();
    table.sort_unstable();
    assert_eq!(
        named, table,
        "every method of the table has its snapshots here"
    );
    for (name, params, result) in cases {
        let file = name.replace('.', "_");
        insta::assert_snapshot!(format!("{file}__params"), params);
        insta::assert_snapshot!(format!("{file}__result"), result);
    }
}

#[test]
fn the_hello_exchange() {
    let hello = request::<method::Hello>(HelloParams {
        protocol_version: PROTOCOL_VERSION,
        client: "tether-cli".into(),
    });
    let reply = result::<method::Hello>(HelloResult {
        protocol_version: PROTOCOL_VERSION,
        daemon_version: "0.1.0".into(),
        pid: 4242,
        home: Some("/home/ana".into()),
    });
    insta::assert_snapshot!("hello__params", hello);
    insta::assert_snapshot!("hello__result", reply);
}

#[test]
fn a_keyed_request() {
    let params = with_key(session("fix-tests"), "3f9c2a7e").unwrap();
    let req = Request::new(7, method::SESSION_KILL, params).unwrap();
    insta::assert_snapshot!("keyed_request", pretty(&req));
}

#[test]
fn the_error_object() {
    let err = Response::err(
        Value::from(7),
        RpcError::new(code::SESSION_NOT_FOUND, "no session named \"fix-tsts\""),
    );
    insta::assert_snapshot!("error", pretty(&err));
    let unread = Response::err(
        Value::Null,
        RpcError::new(
            code::PARSE_ERROR,
            "not valid JSON: expected value at line 1 column 1",
        ),
    );
    insta::assert_snapshot!("error_without_id", pretty(&unread));
}

#[test]
fn every_notification_has_a_snapshot() {
    let live = |live: Live| LiveParams {
        session_id: "s-f77573dadff7".into(),
        live,
    };
    let [first, _] = <[Event; 2]>::try_from(events()).unwrap();
    let decided = Event {
        seq: 10,
        ts: "2026-11-30T09:14:09.004Z".into(),
        kind: EventKind::ApprovalDecided {
            call_id: "call_3".into(),
            decision: Decision::Approved,
            reason: None,
            rule: None,
        },
    };
    let cases = [
        (
            "session_live__event",
            notification::<method::SessionLive>(live(Live::Event { event: decided })),
        ),
        (
            "session_live__event_with_tool_calls",
            notification::<method::SessionLive>(live(Live::Event { event: first })),
        ),
        (
            "session_live__assistant_delta",
            notification::<method::SessionLive>(live(Live::AssistantDelta {
                text: "Running".into(),
            })),
        ),
        (
            "session_live__assistant_reset",
            notification::<method::SessionLive>(live(Live::AssistantReset)),
        ),
        (
            "session_live__tool_output",
            notification::<method::SessionLive>(live(Live::ToolOutput {
                call_id: "call_3".into(),
                chunk: "test result: ok. 12 passed\n".into(),
            })),
        ),
        (
            "session_live__queued",
            notification::<method::SessionLive>(live(Live::Queued {
                inputs: vec![
                    QueuedInput {
                        input_id: 12,
                        text: "Also run clippy.".into(),
                        delivery: Delivery::Steer,
                    },
                    QueuedInput {
                        input_id: 13,
                        text: "then update the changelog".into(),
                        delivery: Delivery::Queue,
                    },
                ],
            })),
        ),
        (
            "session_closed",
            notification::<method::SessionClosed>(SessionClosedParams {
                session_id: "s-f77573dadff7".into(),
                name: "fix-tests".into(),
                reason: None,
                node: None,
            }),
        ),
        (
            "sessions_updated",
            notification::<method::SessionsUpdated>(SessionsUpdatedParams {
                sessions: vec![info()],
            }),
        ),
        (
            "daemon_shutdown",
            notification::<method::DaemonShutdown>(Empty {}),
        ),
    ];
    for (name, json) in cases {
        insta::assert_snapshot!(name, json);
    }
}

#[test]
fn the_new_types_keep_the_json_that_was_built_by_hand() {
    // These five messages were `json!` literals before they had a type.
    let same = |typed: Value, by_hand: Value| assert_eq!(typed, by_hand);
    same(
        serde_json::to_value(StopResult { stopping: true }).unwrap(),
        json!({"stopping": true}),
    );
    same(serde_json::to_value(Empty {}).unwrap(), json!({}));
    same(
        serde_json::to_value(SessionsUpdatedParams {
            sessions: vec![info()],
        })
        .unwrap(),
        json!({"sessions": [info()]}),
    );
    same(
        serde_json::to_value(SessionClosedParams {
            session_id: "s-1".into(),
            name: "a".into(),
            reason: None,
            node: None,
        })
        .unwrap(),
        json!({"session_id": "s-1", "name": "a"}),
    );
}

#[test]
fn params_of_a_method_that_takes_none_are_ignored_whatever_they_are() {
    for v in [
        json!({}),
        json!(null),
        json!([1, 2]),
        json!({"key": "k"}),
        json!(3),
    ] {
        assert_eq!(method::DaemonStatus::params(v.clone()).unwrap(), Empty {});
        // Nor is anything but a `fields` list for `session.list` (issue 13).
        assert_eq!(method::SessionList::params(v).unwrap(), Default::default());
    }
    // Absent params read as `{}`, so a method with required params says what is missing.
    let e = method::SessionGet::params(Value::Null).unwrap_err();
    assert!(e.to_string().contains("missing field `session`"), "{e}");
}

#[test]
fn a_notification_is_recognised_by_its_name() {
    let n = method::SessionClosed::notification(&SessionClosedParams {
        session_id: "s-1".into(),
        name: "a".into(),
        reason: None,
        node: None,
    })
    .unwrap();
    assert!(method::SessionLive::params_of(&n).is_none());
    let p = method::SessionClosed::params_of(&n).unwrap().unwrap();
    assert_eq!(p.name, "a");
}

#[test]
fn a_serialisation_failure_is_an_error_not_an_empty_value() {
    // A map with non-string keys cannot be JSON.
    let bad: BTreeMap<(u8, u8), u8> = BTreeMap::from([((1, 2), 3)]);
    assert!(Request::new(1, method::SESSION_SEND, &bad).is_err());
    assert!(Notification::new(method::SESSION_LIVE, &bad).is_err());
    assert!(with_key(&bad, "k").is_err());
}

#[test]
fn the_mutating_methods_come_from_the_table() {
    let mutating: Vec<&str> = METHODS
        .iter()
        .filter(|m| m.mutating)
        .map(|m| m.name)
        .collect();
    assert_eq!(
        mutating,
        [
            "daemon.stop",
            "session.create",
            "session.send",
            "session.interrupt",
            "session.approve",
            "session.deny",
            "session.kill",
            "session.compact",
            "session.fork",
            "session.budget",
            "session.rule_remove",
            "session.cancel_input",
            "session.answer",
            "mcp.login_start",
            "mcp.login_finish",
            "mcp.logout",
            "schedule.add",
            "schedule.remove",
            "schedule.pause",
            "schedule.resume",
            "session.move"
        ]
    );
    assert!(is_mutating(method::SessionSend::NAME) && !is_mutating(method::SessionWait::NAME));
    assert!(!is_mutating("no.such.method"));
}
