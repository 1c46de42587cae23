//! The snapshot cases of the schedule methods (issue 15), kept apart so that
//! `snapshot_tests` stays under the file size limit; `snapshot_tests::methods`
//! takes them in with the others and snapshots them the same way. Also the
//! `user_message` event a firing records.

use serde_json::Value;

use super::*;
use crate::event::{Delivery, Event, EventKind};

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

fn every_hour() -> ScheduleInfo {
    ScheduleInfo {
        id: 3,
        session: "s-4f2a9c01d3e7".into(),
        session_name: "ci-watch".into(),
        rule: ScheduleRule::Every(3600),
        rule_text: "every 1h".into(),
        tz: None,
        text: "check CI and report failures".into(),
        delivery: Delivery::Queue,
        skip_missed: false,
        paused: false,
        created_at: "2026-12-01T09:00:00.000Z".into(),
        next_run: Some("2026-12-01T12:00:00.000Z".into()),
        last_run: Some("2026-12-01T11:00:00.120Z".into()),
        last_outcome: Some("delivered".into()),
        fired: 2,
    }
}

/// `(method, params JSON, result JSON)` of each schedule method.
pub(super) fn cases() -> Vec<(&'static str, String, String)> {
    let cron = ScheduleInfo {
        id: 4,
        rule: ScheduleRule::Cron("0 9 * * 1-5".into()),
        rule_text: "cron 0 9 * * 1-5".into(),
        tz: Some("Europe/Berlin".into()),
        text: "triage new issues".into(),
        delivery: Delivery::Steer,
        skip_missed: true,
        next_run: Some("2026-12-02T08:00:00.000Z".into()),
        last_run: None,
        last_outcome: None,
        fired: 0,
        ..every_hour()
    };
    let trigger = ScheduleInfo {
        id: 5,
        rule: ScheduleRule::OnChange("*.txt".into()),
        rule_text: "on change *.txt".into(),
        text: "summarise the new notes".into(),
        next_run: None,
        last_run: Some("2026-12-01T11:30:02.500Z".into()),
        last_outcome: Some("pending".into()),
        fired: 7,
        ..every_hour()
    };
    let paused = ScheduleInfo {
        paused: true,
        next_run: None,
        ..every_hour()
    };
    vec![
        (
            method::SCHEDULE_ADD,
            request::<method::ScheduleAdd>(ScheduleAddParams {
                session: "ci-watch".into(),
                rule: ScheduleRule::Cron("0 9 * * 1-5".into()),
                tz: Some("Europe/Berlin".into()),
                text: "triage new issues".into(),
                delivery: Delivery::Steer,
                skip_missed: true,
            }),
            result::<method::ScheduleAdd>(cron.clone()),
        ),
        (
            method::SCHEDULE_LIST,
            request::<method::ScheduleList>(ScheduleListParams {
                session: Some("ci-watch".into()),
            }),
            result::<method::ScheduleList>(vec![every_hour(), cron, trigger]),
        ),
        (
            method::SCHEDULE_REMOVE,
            request::<method::ScheduleRemove>(ScheduleRef { id: 3 }),
            result::<method::ScheduleRemove>(every_hour()),
        ),
        (
            method::SCHEDULE_PAUSE,
            request::<method::SchedulePause>(ScheduleRef { id: 3 }),
            result::<method::SchedulePause>(paused),
        ),
        (
            method::SCHEDULE_RESUME,
            request::<method::ScheduleResume>(ScheduleRef { id: 3 }),
            result::<method::ScheduleResume>(every_hour()),
        ),
    ]
}

#[test]
fn a_firing_is_a_user_message_with_delivery_schedule() {
    let ev = Event {
        seq: 12,
        ts: "2026-12-01T11:00:00.130Z".into(),
        kind: EventKind::UserMessage {
            text: "check CI and report failures".into(),
            delivery: Delivery::Schedule,
        },
    };
    insta::assert_snapshot!(pretty(&ev));
    let back: Event = serde_json::from_str(&pretty(&ev)).unwrap();
    assert_eq!(back, ev);
}

#[test]
fn rules_round_trip_and_read_as_a_person_says_them() {
    for rule in [
        ScheduleRule::Every(90),
        ScheduleRule::Cron("*/5 * * * *".into()),
        ScheduleRule::OnChange("src/**/*.rs".into()),
    ] {
        let back: ScheduleRule =
            serde_json::from_value(serde_json::to_value(&rule).unwrap()).unwrap();
        assert_eq!(back, rule);
    }
    assert_eq!(ScheduleRule::Every(90).describe(), "every 90s");
    assert_eq!(ScheduleRule::Every(900).describe(), "every 15m");
    assert_eq!(ScheduleRule::Every(7200).describe(), "every 2h");
    assert_eq!(ScheduleRule::Every(86_400).describe(), "every 1d");
    assert_eq!(ScheduleRule::Every(3_660).describe(), "every 61m");
    assert_eq!(
        ScheduleRule::OnChange("*.txt".into()).describe(),
        "on change *.txt"
    );
}
