//! The keymap's tests: parsing keys, the defaults, overrides, the help, and
//! the decision keys typing never sends.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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
    let t: toml::Table =
        toml::from_str("prefix = \"ctrl-a\"\ndetach = \"q\"\nsend_steer = [\"ctrl-t\", \"f2\"]")
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
