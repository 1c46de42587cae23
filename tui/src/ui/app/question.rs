//! A tool server's question as a form on the session screen (issue 14): its
//! fields from the requested schema (text, number, yes/no, one of a list, some
//! of a list), the schema's defaults filled in, and the keys that edit them.
//! The keys that answer it are in `question_keys`.
//!
//! Typing only ever edits the focused field. Deciding takes the approval keys
//! (submit is the approve key, decline the deny key, cancel its own key), on
//! their own and once the form is armed, as for a tool call: no keystroke typed
//! as text answers a question, and the person sees the server, its message and
//! every field first.

use std::time::Instant;

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use serde_json::{Map, Value};
use tether_shared::elicit::{self, Field, FieldKind};

use crate::ui::transcript::questions::{Ask, Pending};
use crate::ui::widgets::line_input::LineInput;

/// What a field holds now.
#[derive(Debug, Clone, PartialEq)]
pub enum Held {
    /// Text or a number as typed.
    Typed(LineInput),
    /// Yes or no.
    Flag(bool),
    /// The index of the choice.
    One(usize),
    /// Which choices are on, and the one the cursor is on.
    Many(Vec<bool>, usize),
}

/// One field of the form.
#[derive(Debug, Clone, PartialEq)]
pub struct FormField {
    /// What the schema says of it.
    pub field: Field,
    /// What it holds.
    pub value: Held,
}

/// The form of the question waiting.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionForm {
    /// The question.
    pub request_id: String,
    /// The server asking.
    pub server: String,
    /// Its message.
    pub message: String,
    /// URL mode: the page to open (no fields then).
    pub url: Option<String>,
    /// The fields, in the schema's (name) order.
    pub fields: Vec<FormField>,
    /// The focused field.
    pub focus: usize,
    /// When it showed: its keys decide from `ARM_DELAY` later.
    pub since: Instant,
    /// An answer went to the daemon; its reply has not come yet.
    pub sent: bool,
    /// Why the last submit was refused here (nothing was sent).
    pub error: Option<String>,
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl QuestionForm {
    /// The form of a waiting question; `None` for a sampling request.
    pub fn new(p: &Pending, now: Instant) -> Option<QuestionForm> {
        let Ask::Input {
            message,
            schema,
            url,
        } = &p.ask
        else {
            return None;
        };
        let fields = elicit::fields(schema)
            .into_iter()
            .map(|field| {
                let d = field.default.clone();
                let value = match &field.kind {
                    FieldKind::Boolean => Held::Flag(d.and_then(|d| d.as_bool()).unwrap_or(false)),
                    FieldKind::Choice(c) => Held::One(
                        d.and_then(|d| c.iter().position(|(v, _)| Some(v.as_str()) == d.as_str()))
                            .unwrap_or(0),
                    ),
                    FieldKind::Multi(c) => {
                        let on: Vec<&str> = d
                            .as_ref()
                            .and_then(Value::as_array)
                            .map(|a| a.iter().filter_map(Value::as_str).collect())
                            .unwrap_or_default();
                        Held::Many(c.iter().map(|(v, _)| on.contains(&v.as_str())).collect(), 0)
                    }
                    FieldKind::Text | FieldKind::Number { .. } => {
                        let mut input = LineInput::default();
                        input.insert_str(&d.as_ref().map(text_of).unwrap_or_default());
                        Held::Typed(input)
                    }
                };
                FormField { field, value }
            })
            .collect();
        Some(QuestionForm {
            request_id: p.request_id.clone(),
            server: p.server.clone(),
            message: message.clone(),
            url: url.clone(),
            fields,
            focus: 0,
            since: now,
            sent: false,
            error: None,
        })
    }

    /// The answer the fields make, checked against the schema as the daemon
    /// will check it; the error names the field.
    pub fn content(&self) -> Result<Value, String> {
        let mut out = Map::new();
        for f in &self.fields {
            let name = &f.field.name;
            let v = match (&f.field.kind, &f.value) {
                (_, Held::Flag(b)) => Value::Bool(*b),
                (FieldKind::Choice(c), Held::One(i)) => match c.get(*i) {
                    Some((v, _)) => Value::String(v.clone()),
                    None => continue,
                },
                (FieldKind::Multi(c), Held::Many(on, _)) => Value::Array(
                    c.iter()
                        .zip(on)
                        .filter(|(_, on)| **on)
                        .map(|((v, _), _)| Value::String(v.clone()))
                        .collect(),
                ),
                (FieldKind::Number { whole }, Held::Typed(t)) => {
                    let s = t.text().trim();
                    if s.is_empty() {
                        continue;
                    }
                    let n: Option<Value> = if *whole {
                        s.parse::<i64>().ok().map(Value::from)
                    } else {
                        s.parse::<f64>()
                            .ok()
                            .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
                    };
                    n.ok_or_else(|| format!("field {name:?} must be a number, not {s:?}"))?
                }
                (_, Held::Typed(t)) if t.text().is_empty() => continue,
                (_, Held::Typed(t)) => Value::String(t.text().to_string()),
                _ => continue,
            };
            out.insert(name.clone(), v);
        }
        let content = Value::Object(out);
        if self.url.is_none() {
            elicit::validate(&self.schema(), &content)?;
        }
        Ok(content)
    }

    /// The schema the fields came from, rebuilt enough for the checks.
    fn schema(&self) -> Value {
        let mut props = Map::new();
        let mut required = Vec::new();
        for f in &self.fields {
            let p = match &f.field.kind {
                FieldKind::Text => serde_json::json!({"type": "string"}),
                FieldKind::Number { whole: true } => serde_json::json!({"type": "integer"}),
                FieldKind::Number { whole: false } => serde_json::json!({"type": "number"}),
                FieldKind::Boolean => serde_json::json!({"type": "boolean"}),
                FieldKind::Choice(c) => {
                    serde_json::json!({"type": "string", "enum": c.iter().map(|(v, _)| v).collect::<Vec<_>>()})
                }
                FieldKind::Multi(c) => {
                    serde_json::json!({"type": "array", "items": {"enum": c.iter().map(|(v, _)| v).collect::<Vec<_>>()}})
                }
            };
            props.insert(f.field.name.clone(), p);
            if f.field.required {
                required.push(f.field.name.clone());
            }
        }
        serde_json::json!({"type": "object", "properties": props, "required": required})
    }

    /// Pasted text goes into the focused text or number field (elsewhere it
    /// does nothing).
    pub fn paste(&mut self, text: &str) {
        if let Some(FormField {
            value: Held::Typed(t),
            ..
        }) = self.fields.get_mut(self.focus)
        {
            t.insert_str(text);
            self.error = None;
        }
    }

    /// Edits the focused field with a key that decides nothing; true when the
    /// key was the form's.
    pub(super) fn edit(&mut self, ev: &KeyEvent) -> bool {
        let n = self.fields.len();
        match ev.code {
            KeyCode::Up | KeyCode::BackTab if n > 0 => {
                self.focus = (self.focus + n - 1) % n;
                return true;
            }
            KeyCode::Down | KeyCode::Tab if n > 0 => {
                self.focus = (self.focus + 1) % n;
                return true;
            }
            _ => {}
        }
        let Some(f) = self.fields.get_mut(self.focus) else {
            return false;
        };
        let choices = match &f.field.kind {
            FieldKind::Choice(c) | FieldKind::Multi(c) => c.len(),
            _ => 0,
        };
        self.error = None;
        match (&mut f.value, ev.code) {
            (Held::Flag(b), KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right) => *b = !*b,
            (Held::One(i), KeyCode::Left) if choices > 0 => *i = (*i + choices - 1) % choices,
            (Held::One(i), KeyCode::Right | KeyCode::Char(' ')) if choices > 0 => {
                *i = (*i + 1) % choices
            }
            (Held::Many(_, at), KeyCode::Left) if choices > 0 => {
                *at = (*at + choices - 1) % choices
            }
            (Held::Many(_, at), KeyCode::Right) if choices > 0 => *at = (*at + 1) % choices,
            (Held::Many(on, at), KeyCode::Char(' ')) => {
                if let Some(b) = on.get_mut(*at) {
                    *b = !*b;
                }
            }
            (Held::Typed(t), _) => {
                t.on_key(ev);
            }
            _ => return false,
        }
        true
    }
}
