//! The `tether schedule ls` table (issue 15).

use tether_shared::protocol::ScheduleInfo;

use super::{one_line, table};

/// A schedule time (RFC 3339, UTC) as the table shows it: `2026-12-01 09:00:00Z`.
pub fn schedule_time(t: &str) -> String {
    format!("{}Z", t.get(..19).unwrap_or(t).replace('T', " "))
}

/// Schedules as a table, oldest first; a line that says how to add one when
/// there is none.
pub fn schedules(list: &[ScheduleInfo]) -> String {
    if list.is_empty() {
        return "no schedules (`tether schedule add NAME --every 1h TEXT...` adds one)\n".into();
    }
    let mut rows = vec![
        [
            "ID", "SESSION", "RULE", "NEXT RUN", "LAST RUN", "OUTCOME", "TEXT",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for s in list {
        let mut rule = s.rule_text.clone();
        if let Some(tz) = &s.tz {
            rule.push_str(&format!(" ({tz})"));
        }
        if s.delivery == tether_shared::Delivery::Steer {
            rule.push_str(" steer");
        }
        if s.skip_missed {
            rule.push_str(" skip-missed");
        }
        let next = if s.paused {
            "paused".to_string()
        } else {
            s.next_run
                .as_deref()
                .map_or_else(|| "-".to_string(), schedule_time)
        };
        rows.push(vec![
            s.id.to_string(),
            s.session_name.clone(),
            rule,
            next,
            s.last_run
                .as_deref()
                .map_or_else(|| "never".to_string(), schedule_time),
            s.last_outcome.clone().unwrap_or_else(|| "-".into()),
            one_line(&s.text, 40),
        ]);
    }
    table(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_shared::Delivery;
    use tether_shared::protocol::ScheduleRule;

    #[test]
    fn the_table_shows_rule_next_and_last_run() {
        let s = ScheduleInfo {
            id: 3,
            session: "s-1".into(),
            session_name: "ci".into(),
            rule: ScheduleRule::Every(3600),
            rule_text: "every 1h".into(),
            tz: None,
            text: "check CI\nand report".into(),
            delivery: Delivery::Queue,
            skip_missed: false,
            paused: false,
            created_at: "2026-12-01T09:00:00.000Z".into(),
            next_run: Some("2026-12-01T12:00:00.000Z".into()),
            last_run: Some("2026-12-01T11:00:00.120Z".into()),
            last_outcome: Some("delivered".into()),
            fired: 2,
        };
        let paused = ScheduleInfo {
            id: 4,
            rule: ScheduleRule::Cron("0 9 * * 1-5".into()),
            rule_text: "cron 0 9 * * 1-5".into(),
            tz: Some("Europe/Berlin".into()),
            paused: true,
            skip_missed: true,
            last_run: None,
            last_outcome: None,
            ..s.clone()
        };
        let out = schedules(&[s, paused]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(lines[0].starts_with("ID"), "{out}");
        assert!(lines[1].contains("every 1h"), "{out}");
        assert!(lines[1].contains("2026-12-01 12:00:00Z"), "{out}");
        assert!(lines[1].contains("2026-12-01 11:00:00Z"), "{out}");
        assert!(lines[1].contains("delivered"), "{out}");
        assert!(lines[1].contains("check CI and report"), "{out}");
        assert!(
            lines[2].contains("cron 0 9 * * 1-5 (Europe/Berlin) skip-missed"),
            "{out}"
        );
        assert!(
            lines[2].contains("paused") && lines[2].contains("never"),
            "{out}"
        );
        assert!(schedules(&[]).starts_with("no schedules"));
    }
}
