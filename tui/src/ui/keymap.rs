//! Key bindings as data: an [`Action`] for every thing a key can do, tmux-like
//! defaults, overrides from `[keys]` in config.toml, and the help text.

use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Context {
    /// After the prefix key (`Ctrl-b` by default), anywhere.
    Prefix,
    /// The session list.
    List,
    /// The session view.
    Session,
    /// The session view while an approval waits (checked before `Session`).
    Approval,
    /// Copy mode over the transcript (`Ctrl-b [`), like tmux's.
    Copy,
}

impl Context {
    fn title(self) -> &'static str {
        match self {
            Context::Prefix => "after the prefix",
            Context::List => "session list",
            Context::Session => "session view",
            Context::Approval => "approval prompt (while a call waits)",
            Context::Copy => "copy mode (Ctrl-b [)",
        }
    }
}

/// Everything a key can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Leave the TUI; the agent keeps working.
    Detach,
    /// Show or hide the help.
    Help,
    /// Back to the session list.
    SessionList,
    /// Interrupt the running turn.
    Interrupt,
    /// Send the input (queue).
    Send,
    /// Send the input with `--steer`.
    SendSteer,
    /// Send the input with `--interrupt`.
    SendInterrupt,
    /// A newline in the input.
    Newline,
    /// Scroll up a page.
    PageUp,
    /// Scroll down a page.
    PageDown,
    /// Scroll to the top.
    Top,
    /// Scroll to the bottom and follow.
    Bottom,
    /// Search the transcript.
    Search,
    /// Next search match.
    NextMatch,
    /// Previous search match.
    PrevMatch,
    /// Expand or collapse tool calls and compactions.
    ToggleTools,
    /// Approve the pending call.
    Approve,
    /// Deny the pending call (asks for a reason).
    Deny,
    /// Always allow calls like the pending one: asks which rule, then the
    /// approve key adds it and approves the call.
    AlwaysAllow,
    /// Scroll the approval prompt's call up.
    PromptUp,
    /// Scroll the approval prompt's call down.
    PromptDown,
    /// Move up in a list.
    Up,
    /// Move down in a list.
    Down,
    /// Attach to the selected session.
    Attach,
    /// Create a session.
    New,
    /// Kill the selected session (asks first).
    Kill,
    /// Filter the session list.
    Filter,
    /// Quit the TUI.
    Quit,
    /// Clear the terminal and draw everything again (after another program
    /// wrote over the screen).
    Redraw,
    /// Open the session picker over the current view.
    SessionPicker,
    /// Switch to the next session (in list order).
    NextSession,
    /// Switch to the previous session (in list order).
    PrevSession,
    /// Switch to the session that has waited longest for a person.
    JumpWaiting,
    /// Open the approval prompt for the selected session's waiting call.
    Review,
    /// Edit the message in `$EDITOR`.
    Editor,
    /// The previous (older) message of the input history.
    HistoryPrev,
    /// The next (newer) message of the input history, then the draft.
    HistoryNext,
    /// Scroll the transcript up a line (input empty).
    ScrollUp,
    /// Scroll the transcript down a line (input empty).
    ScrollDown,
    /// Enter copy mode: a cursor over the transcript to select and copy text.
    CopyMode,
    /// Turn mouse capture off (the terminal selects text) or on (wheel scrolls).
    ToggleMouse,
    /// Take the last queued message back into the box (cancels it).
    Unqueue,
    /// Copy mode: cursor up a line.
    CursorUp,
    /// Copy mode: cursor down a line.
    CursorDown,
    /// Copy mode: cursor left.
    CursorLeft,
    /// Copy mode: cursor right.
    CursorRight,
    /// Copy mode: cursor to the next word.
    WordNext,
    /// Copy mode: cursor to the previous word.
    WordPrev,
    /// Copy mode: cursor to the line's start.
    LineStart,
    /// Copy mode: cursor to the line's end.
    LineEnd,
    /// Copy mode: cursor up a page.
    CursorPageUp,
    /// Copy mode: cursor down a page.
    CursorPageDown,
    /// Copy mode: cursor to the first line loaded (loads older ones).
    CursorTop,
    /// Copy mode: cursor to the last line.
    CursorBottom,
    /// Copy mode: start (or drop) a selection at the cursor.
    Select,
    /// Copy mode: start (or drop) a selection of whole lines.
    SelectLines,
    /// Copy mode: copy the selection to the clipboard and leave.
    Yank,
    /// Copy mode: expand or collapse the tool call under the cursor.
    ToggleCell,
    /// Copy mode: drop the selection, or leave when there is none.
    CopyCancel,
    /// Copy mode: leave.
    CopyLeave,
}

impl Action {
    /// The name used in `[keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Detach => "detach",
            Action::Help => "help",
            Action::SessionList => "session_list",
            Action::Interrupt => "interrupt",
            Action::Send => "send",
            Action::SendSteer => "send_steer",
            Action::SendInterrupt => "send_interrupt",
            Action::Newline => "newline",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Search => "search",
            Action::NextMatch => "next_match",
            Action::PrevMatch => "prev_match",
            Action::ToggleTools => "toggle_tools",
            Action::Approve => "approve",
            Action::Deny => "deny",
            Action::AlwaysAllow => "always_allow",
            Action::PromptUp => "prompt_up",
            Action::PromptDown => "prompt_down",
            Action::Up => "up",
            Action::Down => "down",
            Action::Attach => "attach",
            Action::New => "new",
            Action::Kill => "kill",
            Action::Filter => "filter",
            Action::Quit => "quit",
            Action::Redraw => "redraw",
            Action::SessionPicker => "session_picker",
            Action::NextSession => "next_session",
            Action::PrevSession => "prev_session",
            Action::JumpWaiting => "jump_waiting",
            Action::Review => "review",
            Action::Editor => "editor",
            Action::HistoryPrev => "history_prev",
            Action::HistoryNext => "history_next",
            Action::ScrollUp => "scroll_up",
            Action::ScrollDown => "scroll_down",
            Action::CopyMode => "copy_mode",
            Action::ToggleMouse => "toggle_mouse",
            Action::Unqueue => "unqueue",
            Action::CursorUp => "cursor_up",
            Action::CursorDown => "cursor_down",
            Action::CursorLeft => "cursor_left",
            Action::CursorRight => "cursor_right",
            Action::WordNext => "word_next",
            Action::WordPrev => "word_prev",
            Action::LineStart => "line_start",
            Action::LineEnd => "line_end",
            Action::CursorPageUp => "cursor_page_up",
            Action::CursorPageDown => "cursor_page_down",
            Action::CursorTop => "cursor_top",
            Action::CursorBottom => "cursor_bottom",
            Action::Select => "select",
            Action::SelectLines => "select_lines",
            Action::Yank => "yank",
            Action::ToggleCell => "toggle_cell",
            Action::CopyCancel => "copy_cancel",
            Action::CopyLeave => "copy_leave",
        }
    }

    /// What it does, for the help screen.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Detach => "detach (the agent keeps working)",
            Action::Help => "show / hide this help",
            Action::SessionList => "back to the session list",
            Action::Interrupt => "interrupt the running turn (Esc: only while one runs)",
            Action::Send => "send (queued after the running turn)",
            Action::SendSteer => "send with --steer (joins the running turn)",
            Action::SendInterrupt => "send with --interrupt (replaces the running turn)",
            Action::Newline => "new line in the message",
            Action::PageUp => "scroll up",
            Action::PageDown => "scroll down",
            Action::Top => "scroll to the top (input empty)",
            Action::Bottom => "scroll to the bottom and follow (input empty)",
            Action::Search => "search the whole history",
            Action::NextMatch => "next match",
            Action::PrevMatch => "previous match",
            Action::ToggleTools => "expand / collapse tool calls and compactions",
            Action::Approve => "approve the tool call (once the prompt is armed)",
            Action::Deny => "deny the tool call (asks for an optional reason)",
            Action::AlwaysAllow => "always allow calls like this one (asks which first)",
            Action::PromptUp => "scroll the call shown in the prompt up",
            Action::PromptDown => "scroll the call shown in the prompt down",
            Action::Up => "previous session",
            Action::Down => "next session",
            Action::Attach => "attach to the session",
            Action::New => "new session",
            Action::Kill => "kill the session (asks first)",
            Action::Filter => "filter sessions",
            Action::Quit => "quit",
            Action::Redraw => "redraw the screen (clears it first)",
            Action::SessionPicker => "pick a session to switch to (those that need you first)",
            Action::NextSession => "switch to the next session",
            Action::PrevSession => "switch to the previous session",
            Action::JumpWaiting => "switch to the session that has waited longest for you",
            Action::Review => "review the waiting call here: approve or deny it",
            Action::Editor => "edit the message in $EDITOR (not sent)",
            Action::HistoryPrev => "older sent message (Up on the first line: by its start)",
            Action::HistoryNext => "newer sent message, then the draft (Down on the last line)",
            Action::ScrollUp => "scroll up a line (input empty)",
            Action::ScrollDown => "scroll down a line (input empty)",
            Action::CopyMode => "copy mode: select transcript text and copy it",
            Action::ToggleMouse => "mouse capture off (terminal selection) / on (wheel scrolls)",
            Action::Unqueue => "take the last queued message back to edit (cancels it)",
            Action::CursorUp => "cursor up",
            Action::CursorDown => "cursor down",
            Action::CursorLeft => "cursor left",
            Action::CursorRight => "cursor right",
            Action::WordNext => "next word",
            Action::WordPrev => "previous word",
            Action::LineStart => "start of the line",
            Action::LineEnd => "end of the line",
            Action::CursorPageUp => "page up",
            Action::CursorPageDown => "page down",
            Action::CursorTop => "top (loads older events)",
            Action::CursorBottom => "bottom",
            Action::Select => "start a selection (again: drop it)",
            Action::SelectLines => "select whole lines",
            Action::Yank => {
                "copy the selection to the clipboard (OSC 52) and leave; on a tool call with no selection: expand / collapse it"
            }
            Action::ToggleCell => "expand / collapse the tool call under the cursor",
            Action::CopyCancel => "drop the selection, or leave copy mode",
            Action::CopyLeave => "leave copy mode",
        }
    }

    fn all() -> &'static [Action] {
        &[
            Action::Detach,
            Action::Help,
            Action::SessionList,
            Action::Interrupt,
            Action::Send,
            Action::SendSteer,
            Action::SendInterrupt,
            Action::Newline,
            Action::PageUp,
            Action::PageDown,
            Action::Top,
            Action::Bottom,
            Action::Search,
            Action::NextMatch,
            Action::PrevMatch,
            Action::ToggleTools,
            Action::Approve,
            Action::Deny,
            Action::AlwaysAllow,
            Action::PromptUp,
            Action::PromptDown,
            Action::Up,
            Action::Down,
            Action::Attach,
            Action::New,
            Action::Kill,
            Action::Filter,
            Action::Quit,
            Action::Redraw,
            Action::SessionPicker,
            Action::NextSession,
            Action::PrevSession,
            Action::JumpWaiting,
            Action::Review,
            Action::Editor,
            Action::HistoryPrev,
            Action::HistoryNext,
            Action::ScrollUp,
            Action::ScrollDown,
            Action::CopyMode,
            Action::ToggleMouse,
            Action::Unqueue,
            Action::CursorUp,
            Action::CursorDown,
            Action::CursorLeft,
            Action::CursorRight,
            Action::WordNext,
            Action::WordPrev,
            Action::LineStart,
            Action::LineEnd,
            Action::CursorPageUp,
            Action::CursorPageDown,
            Action::CursorTop,
            Action::CursorBottom,
            Action::Select,
            Action::SelectLines,
            Action::Yank,
            Action::ToggleCell,
            Action::CopyCancel,
            Action::CopyLeave,
        ]
    }
}

/// A key with modifiers, as written in config (`ctrl-b`, `alt-enter`, `pgup`, `?`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Ctrl / Alt (Shift is folded into the character).
    pub mods: KeyModifiers,
}

impl Key {
    /// A key from a terminal event.
    pub fn from_event(ev: &KeyEvent) -> Key {
        let mut mods = ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match ev.code {
            KeyCode::Char(c) if ev.modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            KeyCode::BackTab => {
                mods |= KeyModifiers::SHIFT;
                KeyCode::Tab
            }
            other => other,
        };
        Key { code, mods }
    }

    /// Parses `ctrl-b`, `alt-enter`, `pgup`, `f1`, `?`, `d`.
    pub fn parse(s: &str) -> Option<Key> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower
                .strip_prefix("ctrl-")
                .or_else(|| lower.strip_prefix("c-"))
            {
                mods |= KeyModifiers::CONTROL;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower
                .strip_prefix("alt-")
                .or_else(|| lower.strip_prefix("m-"))
            {
                mods |= KeyModifiers::ALT;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backspace" => KeyCode::Backspace,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "space" => KeyCode::Char(' '),
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().ok()?)
            }
            _ => {
                let mut chars = rest.chars();
                let c = chars.next()?;
                if chars.next().is_some() {
                    return None;
                }
                KeyCode::Char(if mods.contains(KeyModifiers::CONTROL) {
                    c.to_ascii_lowercase()
                } else {
                    c
                })
            }
        };
        Some(Key { code, mods })
    }

    /// True when ordinary typing or a paste can never produce this key, so it
    /// may decide a tool call: a Ctrl- or Alt- chord or a function key. Ctrl-j,
    /// Ctrl-m, Ctrl-i and Ctrl-h are out: terminals send them for Enter, Tab and
    /// Backspace, and a paste without bracketed paste sends Ctrl-j and Ctrl-m.
    pub fn is_deliberate(&self) -> bool {
        if matches!(self.code, KeyCode::F(_)) {
            return true;
        }
        if self.mods.contains(KeyModifiers::CONTROL)
            && matches!(self.code, KeyCode::Char('j' | 'm' | 'i' | 'h' | '['))
        {
            return false;
        }
        self.mods
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
            && !matches!(self.code, KeyCode::Null)
    }

    /// How the help screen shows it.
    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            s.push_str("Ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            s.push_str("Alt-");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            s.push_str("Shift-");
        }
        match self.code {
            KeyCode::Char(' ') => s.push_str("Space"),
            KeyCode::Char(c) => s.push(c),
            KeyCode::Enter => s.push_str("Enter"),
            KeyCode::Esc => s.push_str("Esc"),
            KeyCode::Tab => s.push_str("Tab"),
            KeyCode::Backspace => s.push_str("Backspace"),
            KeyCode::Up => s.push_str("Up"),
            KeyCode::Down => s.push_str("Down"),
            KeyCode::Left => s.push_str("Left"),
            KeyCode::Right => s.push_str("Right"),
            KeyCode::PageUp => s.push_str("PgUp"),
            KeyCode::PageDown => s.push_str("PgDn"),
            KeyCode::Home => s.push_str("Home"),
            KeyCode::End => s.push_str("End"),
            KeyCode::F(n) => s.push_str(&format!("F{n}")),
            other => s.push_str(&format!("{other:?}")),
        }
        s
    }
}

/// The bindings.
#[derive(Debug, Clone)]
pub struct Keymap {
    /// The prefix key (`Ctrl-b`).
    pub prefix: Key,
    /// The prefix is also the prefix of the tmux we run in, so tmux takes the
    /// first press: hints say to press it twice (tmux's default `send-prefix`
    /// passes the second one on, and a repeated prefix keeps it pending here).
    pub prefix_twice: bool,
    bindings: Vec<(Context, Key, Action)>,
}

fn k(s: &str) -> Key {
    Key::parse(s).unwrap_or(Key {
        code: KeyCode::Null,
        mods: KeyModifiers::NONE,
    })
}

impl Default for Keymap {
    fn default() -> Self {
        use Action::*;
        use Context::*;
        let b = |c, key: &str, a| (c, k(key), a);
        Keymap {
            prefix: k("ctrl-b"),
            prefix_twice: false,
            bindings: vec![
                b(Prefix, "d", Detach),
                b(Prefix, "?", Help),
                b(Prefix, "s", SessionList),
                b(Prefix, "w", SessionPicker),
                b(Prefix, "n", NextSession),
                b(Prefix, "p", PrevSession),
                b(Prefix, "a", JumpWaiting),
                b(Session, "ctrl-c", Interrupt),
                // Esc interrupts only while a turn runs, and closes a search first.
                b(Session, "esc", Interrupt),
                b(Session, "enter", Send),
                b(Session, "ctrl-s", SendSteer),
                b(Session, "ctrl-x", SendInterrupt),
                b(Session, "ctrl-j", Newline),
                b(Session, "alt-enter", Newline),
                b(Session, "pgup", PageUp),
                b(Session, "pgdn", PageDown),
                b(Session, "home", Top),
                b(Session, "end", Bottom),
                // `/` and `?` are text in the message box: search and help take
                // keys that cannot be typed.
                b(Session, "ctrl-f", Search),
                b(Session, "ctrl-n", NextMatch),
                b(Session, "ctrl-p", PrevMatch),
                b(Session, "ctrl-o", ToggleTools),
                b(Session, "f1", Help),
                b(Session, "ctrl-g", Editor),
                b(Session, "alt-p", HistoryPrev),
                b(Session, "alt-n", HistoryNext),
                // Deciding takes keys that typing and pastes never produce.
                b(Approval, "ctrl-y", Approve),
                b(Approval, "ctrl-d", Deny),
                // Not ctrl-a: GNU screen's prefix and a common tmux one, so often
                // never delivered; ctrl-t reaches the TUI in every terminal.
                b(Approval, "ctrl-t", AlwaysAllow),
                b(Approval, "alt-up", PromptUp),
                b(Approval, "alt-down", PromptDown),
                b(List, "up", Up),
                b(List, "k", Up),
                b(List, "down", Down),
                b(List, "j", Down),
                b(List, "enter", Attach),
                b(List, "a", Review),
                b(List, "n", New),
                b(List, "x", Kill),
                b(List, "/", Filter),
                b(List, "?", Help),
                b(List, "q", Quit),
                b(Session, "ctrl-l", Redraw),
                b(List, "ctrl-l", Redraw),
                // Reading (issue 11).
                b(Prefix, "[", CopyMode),
                b(Prefix, "m", ToggleMouse),
                b(Session, "up", ScrollUp),
                b(Session, "down", ScrollDown),
                b(Session, "alt-e", Unqueue),
                b(Copy, "up", CursorUp),
                b(Copy, "k", CursorUp),
                b(Copy, "down", CursorDown),
                b(Copy, "j", CursorDown),
                b(Copy, "left", CursorLeft),
                b(Copy, "h", CursorLeft),
                b(Copy, "right", CursorRight),
                b(Copy, "l", CursorRight),
                b(Copy, "w", WordNext),
                b(Copy, "b", WordPrev),
                b(Copy, "0", LineStart),
                b(Copy, "home", LineStart),
                b(Copy, "$", LineEnd),
                b(Copy, "end", LineEnd),
                b(Copy, "pgup", CursorPageUp),
                b(Copy, "ctrl-u", CursorPageUp),
                b(Copy, "pgdn", CursorPageDown),
                b(Copy, "ctrl-d", CursorPageDown),
                b(Copy, "g", CursorTop),
                b(Copy, "G", CursorBottom),
                b(Copy, "v", Select),
                b(Copy, "space", Select),
                b(Copy, "V", SelectLines),
                b(Copy, "y", Yank),
                b(Copy, "enter", Yank),
                b(Copy, "o", ToggleCell),
                b(Copy, "tab", ToggleCell),
                b(Copy, "/", Search),
                b(Copy, "n", NextMatch),
                b(Copy, "N", PrevMatch),
                b(Copy, "esc", CopyCancel),
                b(Copy, "q", CopyLeave),
            ],
        }
    }
}

/// A `[keys]` entry that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub String);

impl Keymap {
    /// The defaults with `[keys]` overrides: `prefix = "ctrl-a"`, or
    /// `ACTION = "KEY"` / `ACTION = ["KEY", ...]` to replace an action's keys.
    pub fn with_overrides(table: &toml::Table) -> Result<Keymap, KeyError> {
        let mut map = Keymap::default();
        let mut overrides: Vec<(Context, Key, Action)> = Vec::new();
        let by_name: BTreeMap<&str, Action> =
            Action::all().iter().map(|a| (a.name(), *a)).collect();
        for (name, value) in table {
            let keys: Vec<String> = match value {
                toml::Value::String(s) => vec![s.clone()],
                toml::Value::Array(a) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                _ => {
                    return Err(KeyError(format!(
                        "[keys] {name}: expected a key like \"ctrl-b\" or a list of them"
                    )));
                }
            };
            let parsed: Vec<Key> = keys
                .iter()
                .map(|s| {
                    Key::parse(s)
                        .ok_or_else(|| KeyError(format!("[keys] {name}: cannot read key {s:?}")))
                })
                .collect::<Result<_, _>>()?;
            if name == "prefix" {
                map.prefix = *parsed
                    .first()
                    .ok_or_else(|| KeyError("[keys] prefix: no key given".into()))?;
                continue;
            }
            let action = *by_name.get(name.as_str()).ok_or_else(|| {
                KeyError(format!(
                    "[keys] unknown action {name:?} (known: prefix, {})",
                    by_name.keys().copied().collect::<Vec<_>>().join(", ")
                ))
            })?;
            if matches!(action, Action::Approve | Action::Deny | Action::AlwaysAllow)
                && let Some(key) = parsed.iter().find(|k| !k.is_deliberate())
            {
                return Err(KeyError(format!(
                    "[keys] {name}: {} can be typed or pasted; a decision takes \
                     a ctrl-, alt- or function key, like \"ctrl-y\"",
                    key.label()
                )));
            }
            let mut contexts: Vec<Context> = map
                .bindings
                .iter()
                .filter(|(_, _, a)| *a == action)
                .map(|(c, _, _)| *c)
                .collect();
            contexts.dedup();
            if contexts.is_empty() {
                contexts.push(Context::Session);
            }
            map.bindings.retain(|(_, _, a)| *a != action);
            // Overrides go first: where a key is bound twice in a context, the
            // user's binding wins over a default.
            for context in contexts {
                for key in &parsed {
                    overrides.push((context, *key, action));
                }
            }
        }
        overrides.append(&mut map.bindings);
        map.bindings = overrides;
        Ok(map)
    }

    /// The action bound to a key in a context.
    pub fn action(&self, context: Context, key: &Key) -> Option<Action> {
        self.bindings
            .iter()
            .find(|(c, k, _)| *c == context && k == key)
            .map(|(_, _, a)| *a)
    }

    /// Marks the prefix as shared with tmux when it is one of tmux's own
    /// prefix keys (`tmux_prefixes`, read from the tmux we run inside).
    pub fn inside_tmux(&mut self, tmux_prefixes: &[Key]) {
        self.prefix_twice = tmux_prefixes.contains(&self.prefix);
    }

    /// How the prefix is pressed: `Ctrl-b`, or `Ctrl-b Ctrl-b` inside a tmux
    /// whose prefix it is.
    pub fn prefix_label(&self) -> String {
        let p = self.prefix.label();
        if self.prefix_twice {
            format!("{p} {p}")
        } else {
            p
        }
    }

    /// A hint like `Ctrl-b d` for prefix actions.
    pub fn hint(&self, action: Action) -> String {
        match self.bindings.iter().find(|(_, _, a)| *a == action) {
            Some((Context::Prefix, k, _)) => format!("{} {}", self.prefix_label(), k.label()),
            Some((_, k, _)) => k.label(),
            None => "unbound".into(),
        }
    }

    /// Every key bound to an action in a context, as labels (`Ctrl-y`).
    pub fn keys_for(&self, context: Context, action: Action) -> Vec<String> {
        self.bindings
            .iter()
            .filter(|(c, _, a)| *c == context && *a == action)
            .map(|(_, k, _)| k.label())
            .collect()
    }

    /// The help screen: one section per context, generated from the bindings.
    pub fn help(&self) -> Vec<(String, Vec<(String, String)>)> {
        let mut out = Vec::new();
        for ctx in [
            Context::Session,
            Context::Approval,
            Context::Copy,
            Context::List,
            Context::Prefix,
        ] {
            let mut rows: Vec<(String, String)> = Vec::new();
            for (c, key, action) in &self.bindings {
                if *c != ctx {
                    continue;
                }
                let label = if ctx == Context::Prefix {
                    format!("{} {}", self.prefix_label(), key.label())
                } else {
                    key.label()
                };
                match rows.iter_mut().find(|(_, d)| d == action.describe()) {
                    Some(row) => row.0.push_str(&format!(", {label}")),
                    None => rows.push((label, action.describe().to_string())),
                }
            }
            let title = if ctx == Context::Prefix && self.prefix_twice {
                format!(
                    "{} (inside tmux: press {} twice, tmux takes the first)",
                    ctx.title(),
                    self.prefix.label()
                )
            } else {
                ctx.title().to_string()
            };
            out.push((title, rows));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn parses_keys() {
        assert_eq!(
            Key::parse("ctrl-b"),
            Some(Key {
                code: KeyCode::Char('b'),
                mods: KeyModifiers::CONTROL
            })
        );
        assert_eq!(
            Key::parse("C-a"),
            Some(Key {
                code: KeyCode::Char('a'),
                mods: KeyModifiers::CONTROL
            })
        );
        assert_eq!(
            Key::parse("alt-enter"),
            Some(Key {
                code: KeyCode::Enter,
                mods: KeyModifiers::ALT
            })
        );
        assert_eq!(Key::parse("PgUp").unwrap().code, KeyCode::PageUp);
        assert_eq!(Key::parse("f5").unwrap().code, KeyCode::F(5));
        assert_eq!(Key::parse("?").unwrap().code, KeyCode::Char('?'));
        assert_eq!(Key::parse("nonsense"), None);
    }

    #[test]
    fn defaults_are_tmux_like() {
        let m = Keymap::default();
        assert_eq!(m.prefix, Key::parse("ctrl-b").unwrap());
        let d = Key::from_event(&ev(KeyCode::Char('d'), KeyModifiers::NONE));
        assert_eq!(m.action(Context::Prefix, &d), Some(Action::Detach));
        let cc = Key::from_event(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(m.action(Context::Session, &cc), Some(Action::Interrupt));
        assert_eq!(m.hint(Action::Detach), "Ctrl-b d");
    }

    #[test]
    fn overrides_replace_keys_and_reject_nonsense() {
        let t: toml::Table = toml::from_str(
            "prefix = \"ctrl-a\"\ndetach = \"q\"\nsend_steer = [\"ctrl-t\", \"f2\"]",
        )
        .unwrap();
        let m = Keymap::with_overrides(&t).unwrap();
        assert_eq!(m.hint(Action::Detach), "Ctrl-a q");
        let f2 = Key::parse("f2").unwrap();
        assert_eq!(m.action(Context::Session, &f2), Some(Action::SendSteer));
        assert_eq!(
            m.action(Context::Session, &Key::parse("ctrl-s").unwrap()),
            None
        );
        let bad: toml::Table = toml::from_str("explode = \"x\"").unwrap();
        assert!(
            Keymap::with_overrides(&bad)
                .unwrap_err()
                .0
                .contains("explode")
        );
        let bad: toml::Table = toml::from_str("detach = \"ctrl-\"").unwrap();
        assert!(Keymap::with_overrides(&bad).is_err());
    }

    #[test]
    fn an_override_applies_everywhere_its_action_was_and_wins_a_clash() {
        let t: toml::Table = toml::from_str("help = \"f1\"\ndetach = \"s\"").unwrap();
        let m = Keymap::with_overrides(&t).unwrap();
        let f1 = Key::parse("f1").unwrap();
        for ctx in [Context::Prefix, Context::Session, Context::List] {
            assert_eq!(m.action(ctx, &f1), Some(Action::Help), "{ctx:?}");
        }
        // `s` was the prefix's session-list key; the user's detach wins.
        assert_eq!(
            m.action(Context::Prefix, &Key::parse("s").unwrap()),
            Some(Action::Detach)
        );
    }

    #[test]
    fn help_lists_every_bound_action() {
        let m = Keymap::default();
        let help = m.help();
        let all: Vec<&String> = help
            .iter()
            .flat_map(|(_, rows)| rows.iter().map(|(_, d)| d))
            .collect();
        for a in Action::all() {
            assert!(
                all.iter().any(|d| *d == a.describe()),
                "{a:?} missing from help"
            );
        }
    }

    #[test]
    fn decisions_take_keys_that_typing_never_sends() {
        let m = Keymap::default();
        for c in (' '..='~').chain(['é', 'ß']) {
            let typed = Key::from_event(&ev(KeyCode::Char(c), KeyModifiers::NONE));
            assert_eq!(m.action(Context::Approval, &typed), None, "{c:?} decides");
            let shifted = Key::from_event(&ev(KeyCode::Char(c), KeyModifiers::SHIFT));
            assert_eq!(m.action(Context::Approval, &shifted), None, "{c:?} decides");
        }
        for code in [
            KeyCode::Enter,
            KeyCode::Tab,
            KeyCode::Backspace,
            KeyCode::Esc,
        ] {
            let k = Key::from_event(&ev(code, KeyModifiers::NONE));
            assert_eq!(m.action(Context::Approval, &k), None, "{code:?} decides");
        }
        assert_eq!(
            m.action(Context::Approval, &Key::parse("ctrl-y").unwrap()),
            Some(Action::Approve)
        );
        assert_eq!(
            m.action(Context::Approval, &Key::parse("ctrl-d").unwrap()),
            Some(Action::Deny)
        );
    }

    #[test]
    fn a_typed_key_cannot_be_bound_to_a_decision() {
        for bad in ["y", "enter", "ctrl-j", "ctrl-m", "tab", "space", "pgup"] {
            let t: toml::Table = toml::from_str(&format!("approve = \"{bad}\"")).unwrap();
            let e = Keymap::with_overrides(&t).unwrap_err().0;
            assert!(e.contains("approve") && e.contains("ctrl-"), "{bad}: {e}");
        }
        let t: toml::Table = toml::from_str("deny = [\"alt-n\", \"n\"]").unwrap();
        assert!(Keymap::with_overrides(&t).is_err());
        let t: toml::Table = toml::from_str("approve = \"alt-a\"\ndeny = \"f9\"").unwrap();
        let m = Keymap::with_overrides(&t).unwrap();
        assert_eq!(m.keys_for(Context::Approval, Action::Approve), ["Alt-a"]);
        assert_eq!(m.keys_for(Context::Approval, Action::Deny), ["F9"]);
    }

    #[test]
    fn inside_a_tmux_with_the_same_prefix_the_hints_say_press_it_twice() {
        let mut m = Keymap::default();
        m.inside_tmux(&[Key::parse("C-a").unwrap()]);
        assert_eq!(m.hint(Action::Detach), "Ctrl-b d");
        m.inside_tmux(&[Key::parse("C-b").unwrap()]);
        assert_eq!(m.hint(Action::Detach), "Ctrl-b Ctrl-b d");
        let help = m.help();
        let (title, rows) = help.iter().find(|(t, _)| t.contains("prefix")).unwrap();
        assert!(title.contains("inside tmux"), "{title}");
        assert!(rows.iter().any(|(k, _)| k == "Ctrl-b Ctrl-b d"), "{rows:?}");
    }
}
