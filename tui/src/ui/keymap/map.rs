//! [`Keymap`]: the tmux-like defaults, `[keys]` overrides, looking a key up
//! and the help text.

use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyModifiers};

use super::action::{Action, Context};
use super::key::Key;

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
                b(Approval, "ctrl-q", CancelQuestion),
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
            if matches!(
                action,
                Action::Approve | Action::Deny | Action::AlwaysAllow | Action::CancelQuestion
            ) && let Some(key) = parsed.iter().find(|k| !k.is_deliberate())
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
