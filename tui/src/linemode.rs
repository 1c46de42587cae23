//! Line mode: `tether attach` (and `tether new` without `-d`) when standard input
//! or output is not a terminal. Prints the transcript and streams it live; each
//! line read is a message, or a command when it starts with `/` (`/approve`,
//! `/deny REASON`, `/help`; `//` sends a literal `/`). When input ends, it waits
//! until the session settles (the turns it sent are over), prints what is left
//! and exits; Ctrl-C detaches at once. The agent goes on either way.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;

use serde_json::Value;
use tether_shared::diff;
use tether_shared::protocol::*;
use tether_shared::{Delivery, Event, EventKind, Live, SessionState};
use tokio::io::AsyncBufReadExt;

use crate::client::{Client, Stream};
use crate::render;
use crate::ui::widgets::visible::visible;

/// What the user is told about deciding a waiting call.
const DECIDE_HINT: &str = "type /approve to run it, or /deny REASON to refuse it";

const HELP: &str = "line mode: a line is sent as a message; /approve [CALL_ID] runs a waiting tool call, \
/deny [CALL_ID] [REASON] refuses it, //TEXT sends a message that starts with '/', \
/help shows this; end of input waits for the session to settle, then exits; Ctrl-C detaches";

/// Turns what the daemon streams into text, printing a streamed answer once:
/// the deltas as they come, then only what the stored message adds to them.
#[derive(Debug, Default)]
pub struct Printer {
    /// The assistant text streamed so far, while an answer streams.
    streamed: Option<String>,
    /// This client may not decide calls (no hint to).
    read_only: bool,
    /// Every call seen, by id: its tool and arguments, to show an approval whole.
    calls: HashMap<String, (String, Value)>,
    /// The daemon's diff of each call it asked approval for, by id.
    diffs: HashMap<String, Option<String>>,
    /// Calls whose approval was shown whole.
    shown: BTreeSet<String>,
}

impl Printer {
    /// A printer; a read-only one gives no hints to decide calls.
    pub fn new(read_only: bool) -> Self {
        Printer {
            read_only,
            ..Printer::default()
        }
    }

    /// Notes what an event says about calls without printing it (for events
    /// older than the page shown, read to show a waiting call whole).
    pub fn learn(&mut self, ev: &Event) {
        match &ev.kind {
            EventKind::ToolCall {
                call_id,
                tool,
                arguments,
                ..
            } => {
                self.calls
                    .insert(call_id.clone(), (tool.clone(), arguments.clone()));
            }
            EventKind::ApprovalRequested { call_id, diff, .. } => {
                self.diffs.insert(call_id.clone(), diff.clone());
            }
            _ => {}
        }
    }

    /// Whether the call's arguments were seen.
    pub fn knows(&self, call_id: &str) -> bool {
        self.calls.contains_key(call_id)
    }

    /// A waiting call shown whole, unless it was already: its tool, every
    /// argument and the hint to decide it.
    pub fn waiting(&mut self, call_id: &str) -> String {
        if self.shown.contains(call_id) {
            return String::new();
        }
        let tool = self
            .calls
            .get(call_id)
            .map_or("a tool", |(tool, _)| tool.as_str())
            .to_string();
        let mut out = format!("a call waits for approval: {tool} ({call_id})\n");
        out.push_str(&self.whole_call(call_id, &tool));
        out
    }

    /// The call's every part, indented, then the hint to decide it.
    fn whole_call(&mut self, call_id: &str, tool: &str) -> String {
        self.shown.insert(call_id.to_string());
        let diff = self.diffs.get(call_id).cloned().flatten();
        let mut out = match self.calls.get(call_id) {
            Some((_, args)) => call_text(tool, args, diff.as_deref()),
            None => format!(
                "    (its arguments are not in the session's log; `tether logs` shows what it has)\n{}",
                diff.map(|d| indent(&d, "    ", "    ")).unwrap_or_default()
            ),
        };
        if !self.read_only {
            out.push_str(&format!(
                "  a tool call waits for approval: {DECIDE_HINT}\n"
            ));
        }
        out
    }

    /// Streamed assistant text.
    pub fn delta(&mut self, text: &str) -> String {
        match &mut self.streamed {
            Some(s) => {
                s.push_str(text);
                text.to_string()
            }
            None => {
                self.streamed = Some(text.to_string());
                format!("assistant: {text}")
            }
        }
    }

    /// The streamed text is void: the model call is retried.
    pub fn reset(&mut self) -> String {
        match self.streamed.take() {
            Some(_) => " [retrying]\n".into(),
            None => String::new(),
        }
    }

    /// A stored event, as lines ending in a newline.
    pub fn event(&mut self, ev: &Event) -> String {
        self.learn(ev);
        let full = render::event(ev);
        let mut out = String::new();
        if let Some(streamed) = self.streamed.take() {
            if matches!(ev.kind, EventKind::AssistantMessage { .. }) {
                // The answer is on screen already: add only what it lacks.
                let shown = format!("assistant: {streamed}");
                if let Some(pos) = full.find(&shown) {
                    out.push_str(&full[pos + shown.len()..]);
                    out.push('\n');
                    return out;
                }
            }
            out.push('\n');
        }
        out.push_str(&full);
        out.push('\n');
        if let EventKind::ApprovalRequested { call_id, tool, .. } = &ev.kind {
            out.push_str(&self.whole_call(call_id, tool));
        }
        out
    }
}

/// Text made safe to show (control characters and invisible marks as escapes,
/// tabs as spaces), each line after the first led by `indent`.
fn indent(text: &str, first: &str, indent: &str) -> String {
    let mut out = String::new();
    for (i, line) in visible(text).split('\n').enumerate() {
        out.push_str(if i == 0 { first } else { indent });
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A call of `tool` with `args`, every part of it, as indented lines: a `shell`
/// command as its text, a file change as its path and unified diff (the
/// daemon's `diff` when it sent one), anything else as pretty JSON; arguments
/// the layout does not show follow as JSON, so nothing is left out.
pub fn call_text(tool: &str, args: &Value, diff: Option<&str>) -> String {
    let str_arg = |name: &str| args.get(name).and_then(Value::as_str);
    let rest = |shown: &[&str]| -> String {
        crate::ui::modals::approval::other_arguments(args, shown)
            .map_or_else(String::new, |text| indent(&text, "    ", "    "))
    };
    match (tool, str_arg("command"), str_arg("path")) {
        ("shell", Some(command), _) => {
            let mut out = indent(command, "    $ ", "      ");
            out.push_str(&rest(&["command"]));
            out
        }
        ("write_file" | "edit_file", _, Some(path)) => {
            let mut out = indent(path, "    file ", "         ");
            let local;
            let shown = match diff {
                Some(d) => d,
                // No diff from the daemon (an older one): the change itself.
                None => {
                    local = diff::of_call(tool, args, path);
                    &local
                }
            };
            out.push_str(&indent(shown.trim_end_matches('\n'), "    ", "    "));
            out.push_str(&rest(&["path", "content", "old_string", "new_string"]));
            out
        }
        _ => {
            let text = serde_json::to_string_pretty(args).unwrap_or_else(|_| args.to_string());
            indent(&text, "    ", "    ")
        }
    }
}

/// What a line typed in line mode asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum LineAction {
    /// Send this message.
    Send(String),
    /// Approve a call (the only waiting one without an id).
    Approve(Option<String>),
    /// Deny a call (the only waiting one without an id), telling the model why.
    Deny {
        /// The call.
        call_id: Option<String>,
        /// Why.
        reason: Option<String>,
    },
    /// Show the commands.
    Help,
    /// Do nothing but tell the user this.
    Tell(String),
    /// An empty line.
    Nothing,
}

/// Reads one line of line mode; `pending` are the calls waiting for approval.
pub fn parse_line(line: &str, pending: &BTreeSet<String>) -> LineAction {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return LineAction::Nothing;
    }
    if let Some(rest) = trimmed.strip_prefix("//") {
        return LineAction::Send(format!("/{rest}"));
    }
    if let Some(cmd) = trimmed.strip_prefix('/') {
        let (word, rest) = cmd.split_once(char::is_whitespace).unwrap_or((cmd, ""));
        let rest = rest.trim();
        // A first word naming a waiting call picks that call.
        let (call_id, rest) = match rest.split_once(char::is_whitespace) {
            Some((id, more)) if pending.contains(id) => (Some(id.to_string()), more.trim()),
            _ if pending.contains(rest) => (Some(rest.to_string()), ""),
            _ => (None, rest),
        };
        return match word {
            "approve" if rest.is_empty() => LineAction::Approve(call_id),
            "approve" => LineAction::Tell(format!(
                "no call {rest:?} waits for approval; /approve alone approves the only waiting call"
            )),
            "deny" => LineAction::Deny {
                call_id,
                reason: (!rest.is_empty()).then(|| rest.to_string()),
            },
            "help" => LineAction::Help,
            other => LineAction::Tell(format!(
                "unknown command /{other}; /help lists the commands, and a line starting with // sends a message that starts with /"
            )),
        };
    }
    let answer = trimmed.to_ascii_lowercase();
    if !pending.is_empty() && matches!(answer.as_str(), "y" | "n" | "yes" | "no") {
        return LineAction::Tell(format!(
            "not sent: a tool call waits for approval, and {trimmed:?} is not an answer to it; {DECIDE_HINT} \
             (or send //{trimmed} to say it to the model)"
        ));
    }
    LineAction::Send(line.to_string())
}

/// What a request sent from the loop was, to read its response.
enum Sent {
    Message,
    Decision,
    Wait,
    Logs,
}

/// Tracks the calls waiting for approval from the events.
fn track(pending: &mut BTreeSet<String>, ev: &Event) {
    match &ev.kind {
        EventKind::ApprovalRequested { call_id, .. } => {
            pending.insert(call_id.clone());
        }
        EventKind::ApprovalDecided { call_id, .. } | EventKind::ToolResult { call_id, .. } => {
            pending.remove(call_id);
        }
        EventKind::State { state } if *state != SessionState::AwaitingApproval => pending.clear(),
        _ => {}
    }
}

fn out(text: &str) -> anyhow::Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_bytes())?;
    o.flush()?;
    Ok(())
}

/// Attaches in line mode and runs until input ends and the session settles,
/// Ctrl-C, the session is killed or the daemon goes away; returns the exit code.
pub async fn attach<S: Stream>(
    mut c: Client<S>,
    session: &str,
    read_only: bool,
) -> anyhow::Result<u8> {
    let params = AttachParams {
        session: session.to_string(),
        from_seq: None,
        page_size: Some(200),
        read_only,
    };
    let r = c.call::<method::SessionAttach>(&params).await?;
    let id = r.info.id.clone();
    eprintln!(
        "attached to {} ({}, {}){}; type a message and Enter to send, /help for commands, Ctrl-C to detach",
        r.info.name,
        r.info.state,
        r.info.model,
        if read_only { ", read-only" } else { "" }
    );
    let mut printer = Printer::new(read_only);
    let mut pending: BTreeSet<String> = r.info.pending_approvals.iter().cloned().collect();
    let mut last = r.last_seq;
    // A call waiting for approval is shown whole, so its arguments are read
    // from older events when the page starts after them.
    for ev in &r.events {
        printer.learn(ev);
    }
    let mut unknown: BTreeSet<String> = pending.clone();
    unknown.extend(r.events.iter().filter_map(|e| match &e.kind {
        EventKind::ApprovalRequested { call_id, .. } => Some(call_id.clone()),
        _ => None,
    }));
    unknown.retain(|c| !printer.knows(c));
    let mut before = r.events.first().map_or(last + 1, |e| e.seq);
    while !unknown.is_empty() && before > 1 {
        let params = LogsParams {
            session: id.clone(),
            before: Some(before),
            limit: Some(1000),
            ..Default::default()
        };
        let page = c.call::<method::SessionLogs>(&params).await?;
        let Some(first) = page.events.first() else {
            break;
        };
        before = first.seq;
        for ev in &page.events {
            printer.learn(ev);
        }
        unknown.retain(|c| !printer.knows(c));
    }
    for ev in &r.events {
        out(&printer.event(ev))?;
    }
    for call_id in &pending {
        out(&printer.waiting(call_id))?;
    }
    if !pending.is_empty() && !read_only {
        eprintln!(
            "{} tool call(s) wait for approval ({}): {DECIDE_HINT}",
            pending.len(),
            pending.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    if !r.partial.assistant_text.is_empty() {
        out(&printer.delta(&r.partial.assistant_text))?;
    }
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = !read_only;
    let mut sent: HashMap<u64, Sent> = HashMap::new();
    // Set once input ended and the wait for the session to settle was asked.
    let mut settled: Option<SessionState> = None;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            line = stdin.next_line(), if stdin_open => match line {
                Ok(Some(text)) => match parse_line(&text, &pending) {
                    LineAction::Send(text) => {
                        let n = c.send_keyed::<method::SessionSend>(&SendParams { session: id.clone(), text, delivery: Delivery::Queue }, &crate::retry::new_key()).await?;
                        sent.insert(n, Sent::Message);
                    }
                    LineAction::Approve(call_id) => {
                        let n = c.send::<method::SessionApprove>(&DecideParams { session: id.clone(), call_id, ..Default::default() }).await?;
                        sent.insert(n, Sent::Decision);
                    }
                    LineAction::Deny { call_id, reason } => {
                        let n = c.send::<method::SessionDeny>(&DecideParams { session: id.clone(), call_id, reason, ..Default::default() }).await?;
                        sent.insert(n, Sent::Decision);
                    }
                    LineAction::Help => eprintln!("{HELP}"),
                    LineAction::Tell(msg) => eprintln!("tether: {msg}"),
                    LineAction::Nothing => {}
                },
                _ => {
                    stdin_open = false;
                    // Asked after every message sent: the daemon runs requests in
                    // order, so the wait counts them all.
                    let n = c.send::<method::SessionWait>(&WaitParams { session: id.clone(), timeout_s: None }).await?;
                    sent.insert(n, Sent::Wait);
                }
            },
            msg = c.next_message() => match msg? {
                None => {
                    eprintln!("\nthe daemon closed the connection");
                    return Ok(1);
                }
                Some(ServerMessage::Response(resp)) => {
                    let kind = resp.id.as_u64().and_then(|n| sent.remove(&n));
                    if let Some(e) = resp.error {
                        eprintln!("tether: {}", e.message);
                        if matches!(kind, Some(Sent::Wait | Sent::Logs)) {
                            return Ok(1);
                        }
                        continue;
                    }
                    match kind {
                        Some(Sent::Wait) => {
                            let w = method::SessionWait::result(resp.result)?;
                            settled = Some(w.state);
                            // Live events may still be on their way: read the rest
                            // from the log, then stop.
                            let n = c.send::<method::SessionLogs>(&LogsParams { session: id.clone(), since: Some(last), ..Default::default() }).await?;
                            sent.insert(n, Sent::Logs);
                        }
                        Some(Sent::Logs) => {
                            let page = method::SessionLogs::result(resp.result)?;
                            for ev in &page.events {
                                if ev.seq <= last {
                                    continue;
                                }
                                last = ev.seq;
                                track(&mut pending, ev);
                                out(&printer.event(ev))?;
                            }
                            if page.more {
                                let n = c.send::<method::SessionLogs>(&LogsParams { session: id.clone(), since: Some(last), ..Default::default() }).await?;
                                sent.insert(n, Sent::Logs);
                                continue;
                            }
                            return Ok(finish(settled.unwrap_or(SessionState::Unknown), session, &pending));
                        }
                        Some(Sent::Message | Sent::Decision) | None => {}
                    }
                }
                Some(ServerMessage::Notification(n)) => {
                    if method::DaemonShutdown::params_of(&n).is_some() {
                        eprintln!("\nthe daemon stopped");
                        return Ok(1);
                    }
                    if let Some(closed) = method::SessionClosed::params_of(&n) {
                        // Moved to another node of the fleet (issue 16): not an end.
                        if let Some(reason) = closed.ok().and_then(|c| c.reason) {
                            eprintln!("\n{reason}");
                            return Ok(1);
                        }
                        eprintln!("\nthe session was killed");
                        return Ok(if stdin_open { 0 } else { 1 });
                    }
                    let Some(Ok(p)) = method::SessionLive::params_of(&n) else { continue };
                    match p.live {
                        Live::AssistantDelta { text } => out(&printer.delta(&text))?,
                        Live::AssistantReset => out(&printer.reset())?,
                        Live::Event { event } => {
                            if event.seq <= last {
                                continue;
                            }
                            last = event.seq;
                            track(&mut pending, &event);
                            out(&printer.event(&event))?;
                        }
                        Live::ToolOutput { .. } | Live::Queued { .. } | Live::Unknown => {}
                    }
                }
            }
        }
    }
    eprintln!(
        "\ndetached from {session}; it keeps working (`tether attach {session}` to come back)"
    );
    Ok(0)
}

/// Says how the session settled after input ended; the exit code.
fn finish(state: SessionState, session: &str, pending: &BTreeSet<String>) -> u8 {
    match state {
        SessionState::AwaitingApproval => {
            eprintln!(
                "input ended; {session} waits for approval of {} (`tether approve {session}` or `tether deny {session}`)",
                pending.iter().cloned().collect::<Vec<_>>().join(", ")
            );
            0
        }
        SessionState::Failed => {
            eprintln!(
                "input ended; the last turn of {session} failed (`tether logs {session}` says why)"
            );
            1
        }
        SessionState::BudgetExhausted => {
            eprintln!(
                "input ended; {session} is stopped on its budget (`tether budget {session} --tokens N` or `--cost USD` lets it go on)"
            );
            0
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64, kind: EventKind) -> Event {
        Event {
            seq,
            ts: "2026-12-01T10:00:00.000Z".into(),
            kind,
        }
    }

    fn answer(text: &str) -> EventKind {
        serde_json::from_value(serde_json::json!({"type": "assistant_message", "text": text}))
            .unwrap()
    }

    #[test]
    fn a_streamed_answer_is_printed_once() {
        let mut p = Printer::new(false);
        let mut shown = p.delta("Hello");
        shown += &p.delta(", world");
        shown += &p.event(&ev(5, answer("Hello, world")));
        assert_eq!(shown, "assistant: Hello, world\n");
        assert_eq!(shown.matches("Hello").count(), 1);
        // Not streamed (attached after it): printed whole.
        let whole = p.event(&ev(6, answer("Bye")));
        assert!(whole.contains("assistant: Bye"), "{whole}");
    }

    #[test]
    fn a_retried_stream_is_marked_and_the_answer_printed_whole() {
        let mut p = Printer::new(false);
        let mut shown = p.delta("Hel");
        shown += &p.reset();
        shown += &p.event(&ev(5, answer("Hello")));
        assert!(shown.starts_with("assistant: Hel [retrying]\n"), "{shown}");
        assert!(shown.ends_with("assistant: Hello\n"), "{shown}");
    }

    #[test]
    fn an_approval_says_how_to_decide_it_unless_read_only() {
        let kind = EventKind::ApprovalRequested {
            call_id: "c1".into(),
            tool: "shell".into(),
            diff: None,
        };
        assert!(
            Printer::new(false)
                .event(&ev(3, kind.clone()))
                .contains("/approve")
        );
        assert!(!Printer::new(true).event(&ev(3, kind)).contains("/approve"));
    }

    fn call(id: &str, tool: &str, arguments: serde_json::Value) -> EventKind {
        EventKind::ToolCall {
            call_id: id.into(),
            tool: tool.into(),
            arguments,
            rule: None,
        }
    }

    fn asked(id: &str, tool: &str, diff: Option<&str>) -> EventKind {
        EventKind::ApprovalRequested {
            call_id: id.into(),
            tool: tool.into(),
            diff: diff.map(str::to_string),
        }
    }

    #[test]
    fn an_approval_shows_a_shell_command_whole_before_the_hint() {
        let mut p = Printer::new(false);
        let long = format!(
            "cd /srv/app && {} && rm -rf /home/me/precious",
            "echo step; ".repeat(40)
        );
        let mut shown = p.event(&ev(
            3,
            call(
                "c1",
                "shell",
                serde_json::json!({"command": format!("{long}\nrm -rf /tmp/second\tline\u{1b}[2K"), "timeout_s": 5}),
            ),
        ));
        shown += &p.event(&ev(4, asked("c1", "shell", None)));
        let block = &shown[shown.find("approval requested").unwrap()..];
        assert!(block.contains(&format!("    $ {long}\n")), "{block}");
        assert!(
            block.contains("      rm -rf /tmp/second    line\\x1b[2K\n"),
            "second line whole, the escape visible: {block}"
        );
        assert!(block.contains("\"timeout_s\": 5"), "{block}");
        assert!(!block.contains('…'), "nothing cut: {block}");
        let hint = block.find("/approve").unwrap();
        assert!(block.find("precious").unwrap() < hint, "{block}");
        assert!(block.find("timeout_s").unwrap() < hint, "{block}");
    }

    #[test]
    fn an_approval_of_a_file_change_shows_its_path_and_the_daemons_diff() {
        let mut p = Printer::new(false);
        let diff = "--- a/src/deep/path/lib.rs\n+++ b/src/deep/path/lib.rs\n@@ -1,2 +1,2 @@\n fn main() {\n-    old();\n+    new(); // and a long tail that must not be cut at any width at all\n";
        p.event(&ev(
            3,
            call(
                "c2",
                "edit_file",
                serde_json::json!({"path": "src/deep/path/lib.rs", "old_string": "    old();", "new_string": "    new();", "replace_all": true}),
            ),
        ));
        let shown = p.event(&ev(4, asked("c2", "edit_file", Some(diff))));
        assert!(shown.contains("    file src/deep/path/lib.rs\n"), "{shown}");
        for line in diff.lines() {
            assert!(
                shown.contains(&format!("    {line}\n")),
                "{line:?} in {shown}"
            );
        }
        assert!(shown.contains("\"replace_all\": true"), "{shown}");
        assert!(shown.find("replace_all").unwrap() < shown.find("/approve").unwrap());
        // No diff from the daemon (an older one): the change is diffed here.
        let mut p = Printer::new(true);
        p.event(&ev(
            5,
            call(
                "c3",
                "write_file",
                serde_json::json!({"path": "notes.txt", "content": "one\ntwo\n"}),
            ),
        ));
        let shown = p.event(&ev(6, asked("c3", "write_file", None)));
        assert!(shown.contains("    +one\n    +two\n"), "{shown}");
        assert!(!shown.contains("/approve"), "read-only: no hint: {shown}");
    }

    #[test]
    fn a_waiting_call_from_older_events_is_shown_whole_once() {
        let mut p = Printer::new(false);
        let args = serde_json::json!({"query": "x".repeat(500), "limit": 3});
        p.learn(&ev(3, call("c4", "search__find", args.clone())));
        p.learn(&ev(4, asked("c4", "search__find", None)));
        let shown = p.waiting("c4");
        assert!(shown.starts_with("a call waits for approval: search__find (c4)\n"));
        assert!(shown.contains(&"x".repeat(500)), "{shown}");
        assert!(shown.contains("\"limit\": 3"), "{shown}");
        assert!(shown.contains("/approve"), "{shown}");
        assert_eq!(p.waiting("c4"), "", "shown once");
    }

    #[test]
    fn lines_are_messages_or_commands_and_a_bare_yes_never_decides() {
        let none = BTreeSet::new();
        let waiting: BTreeSet<String> = ["c1".to_string()].into();
        assert_eq!(parse_line("hello", &none), LineAction::Send("hello".into()));
        assert_eq!(parse_line("y", &none), LineAction::Send("y".into()));
        assert!(matches!(parse_line("y", &waiting), LineAction::Tell(m) if m.contains("/approve")));
        assert!(matches!(parse_line(" No ", &waiting), LineAction::Tell(_)));
        assert_eq!(
            parse_line("yes please, go on", &waiting),
            LineAction::Send("yes please, go on".into())
        );
        assert_eq!(parse_line("/approve", &waiting), LineAction::Approve(None));
        assert_eq!(
            parse_line("/approve c1", &waiting),
            LineAction::Approve(Some("c1".into()))
        );
        assert!(matches!(
            parse_line("/approve c9", &waiting),
            LineAction::Tell(_)
        ));
        assert_eq!(
            parse_line("/deny too risky", &waiting),
            LineAction::Deny {
                call_id: None,
                reason: Some("too risky".into())
            }
        );
        assert_eq!(
            parse_line("/deny c1 no", &waiting),
            LineAction::Deny {
                call_id: Some("c1".into()),
                reason: Some("no".into())
            }
        );
        assert_eq!(
            parse_line("//approve", &waiting),
            LineAction::Send("/approve".into())
        );
        assert!(
            matches!(parse_line("/frobnicate", &none), LineAction::Tell(m) if m.contains("//"))
        );
        assert_eq!(parse_line("   ", &none), LineAction::Nothing);
    }
}
