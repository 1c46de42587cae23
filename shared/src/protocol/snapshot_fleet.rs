//! The snapshot cases of the fleet additions (issue 16): `session.move`, and
//! `session.create` with a node; `snapshot_tests::methods` takes them in with
//! the others. A summary with its node is snapshotted here too.

use serde_json::Value;

use super::*;

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

/// `(method, params JSON, result JSON)` of each fleet method.
pub(super) fn cases() -> Vec<(&'static str, String, String)> {
    vec![(
        method::SESSION_MOVE,
        request::<method::SessionMove>(MoveParams {
            session: "fix-tests".into(),
            node: "build-2".into(),
        }),
        result::<method::SessionMove>(MoveResult {
            id: "s-f77573dadff7".into(),
            from: "build-1".into(),
            to: "build-2".into(),
            already: false,
        }),
    )]
}

#[test]
fn a_create_placed_on_a_node_and_a_summary_with_its_node() {
    let create = request::<method::SessionCreate>(CreateParams {
        name: Some("fix-tests".into()),
        cwd: "/srv/work/tether".into(),
        node: Some("build-2".into()),
        portable: true,
        ..Default::default()
    });
    insta::assert_snapshot!("session_create_on_a_node__params", create);
    let mut info: SessionInfo = serde_json::from_value(serde_json::json!({
        "id": "s-f77573dadff7", "name": "fix-tests", "state": "running",
        "model": "local/qwen3-coder", "cwd": "/srv/work/tether",
        "created_at": "2026-11-30T09:12:44.120Z", "updated_at": "2026-11-30T09:14:02.518Z",
        "pending_approvals": [], "last_seq": 9,
    }))
    .unwrap();
    info.node = Some("build-2".into());
    info.portable = true;
    insta::assert_snapshot!("session_info_with_node", pretty(&info));
    // A summary from a daemon that knows no fleet reads as one on no node.
    let old: SessionInfo = serde_json::from_value(serde_json::json!({
        "id": "s-1", "name": "a", "state": "idle", "model": "p/m", "cwd": "/w",
        "created_at": "", "updated_at": "", "pending_approvals": [],
    }))
    .unwrap();
    assert_eq!((old.node, old.portable), (None, false));
    let moved = method::SessionClosed::notification(&SessionClosedParams {
        session_id: "s-f77573dadff7".into(),
        name: "fix-tests".into(),
        reason: Some("session \"fix-tests\" moved to node \"build-2\"; attach again".into()),
        node: Some("build-2".into()),
    })
    .unwrap();
    insta::assert_snapshot!("session_closed_moved", pretty(&moved));
}
