//! Steering a session from the command line: `send`, `interrupt`, `approve`,
//! `deny`, `wait` and `wait --any`.

use anyhow::Context;
use tether_shared::Delivery;
use tether_shared::protocol::{
    DecideParams, DecideResult, Method, SendParams, SessionRef, WaitAnyParams, WaitParams, method,
};

use crate::client::Target;
use crate::retry::mutate;

/// Exit status of `wait` when the timeout passes.
const EXIT_TIMEOUT: u8 = 124;

/// `tether send NAME [--steer|--interrupt] [--key K] TEXT...` (`-` reads stdin).
pub(super) async fn send(
    target: &Target,
    name: String,
    steer: bool,
    interrupt: bool,
    key: Option<String>,
    text: Vec<String>,
) -> anyhow::Result<u8> {
    let delivery = if steer {
        Delivery::Steer
    } else if interrupt {
        Delivery::Interrupt
    } else {
        Delivery::Queue
    };
    let text = if text == ["-"] {
        message_from_stdin()?
    } else {
        text.join(" ")
    };
    let check = format!("`tether logs {name}`");
    let params = SendParams {
        session: name,
        text,
        delivery,
    };
    mutate::<method::SessionSend>(target, &params, key, &check).await?;
    Ok(0)
}

/// The message of `tether send NAME -`: standard input, less its final newline.
fn message_from_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
        .context("failed to read the message from standard input")?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    Ok(text.to_string())
}

/// `tether interrupt NAME`.
pub(super) async fn interrupt(
    target: &Target,
    name: String,
    key: Option<String>,
) -> anyhow::Result<u8> {
    let check = format!("`tether logs {name}`");
    let params = SessionRef { session: name };
    let (r, _) = mutate::<method::SessionInterrupt>(target, &params, key, &check).await?;
    if !r.interrupted {
        eprintln!("nothing was running");
    }
    Ok(0)
}

/// `tether approve NAME [CALL_ID|--all] [--always [--project] [--prefix WORDS]]`.
pub(super) async fn approve(
    target: &Target,
    params: DecideParams,
    key: Option<String>,
) -> anyhow::Result<u8> {
    decide::<method::SessionApprove>(target, params, key).await
}

/// `tether deny NAME [CALL_ID|--all] [--reason R]`.
pub(super) async fn deny(
    target: &Target,
    params: DecideParams,
    key: Option<String>,
) -> anyhow::Result<u8> {
    decide::<method::SessionDeny>(target, params, key).await
}

async fn decide<M: Method<Params = DecideParams, Result = DecideResult>>(
    target: &Target,
    params: DecideParams,
    key: Option<String>,
) -> anyhow::Result<u8> {
    let check = format!(
        "`tether ls` (its pending approvals) or `tether logs {}`",
        params.session
    );
    let (r, _) = mutate::<M>(target, &params, key, &check).await?;
    for id in &r.decided {
        println!("{id}");
    }
    // Said on stderr: stdout stays the call ids, as scripts read it.
    if let Some(rule) = &r.rule {
        eprintln!("{}", crate::render::rule_added(rule, &r.by_rule));
    }
    Ok(0)
}

/// `tether answer NAME [REQUEST_ID] (--json JSON | --decline | --cancel)`.
pub(super) async fn answer(
    target: &Target,
    name: String,
    request_id: Option<String>,
    json: Option<String>,
    decline: bool,
    cancel: bool,
    key: Option<String>,
) -> anyhow::Result<u8> {
    use tether_shared::event::InputAction;
    let (action, content) = match json {
        Some(text) => match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v @ serde_json::Value::Object(_)) => (InputAction::Accept, Some(v)),
            Ok(_) => {
                eprintln!(
                    "tether: --json must be a JSON object of field values, like '{{\"name\": \"x\"}}'"
                );
                return Ok(2);
            }
            Err(e) => {
                eprintln!("tether: --json is not valid JSON: {e}");
                return Ok(2);
            }
        },
        None if decline => (InputAction::Decline, None),
        None if cancel => (InputAction::Cancel, None),
        None => {
            eprintln!("tether: give --json JSON, --decline or --cancel");
            return Ok(2);
        }
    };
    let check = format!("`tether logs {name}` (its input_answered)");
    let params = tether_shared::protocol::AnswerParams {
        session: name,
        request_id,
        action,
        content,
    };
    let (r, _) = mutate::<method::SessionAnswer>(target, &params, key, &check).await?;
    println!("{} {}", r.request_id, r.action.as_str());
    Ok(0)
}

/// A `--timeout` that is not a number of seconds, said on stderr.
fn bad_timeout(timeout: Option<f64>) -> bool {
    let bad = timeout.is_some_and(|t| !(t.is_finite() && t >= 0.0));
    if bad {
        eprintln!("tether: --timeout must be a number of seconds >= 0");
    }
    bad
}

/// `tether wait NAME [--timeout S]`: prints the state it settled in.
pub(super) async fn wait(
    target: &Target,
    name: String,
    timeout: Option<f64>,
) -> anyhow::Result<u8> {
    if bad_timeout(timeout) {
        return Ok(2);
    }
    let params = WaitParams {
        session: name,
        timeout_s: timeout,
    };
    let r = target.request_once::<method::SessionWait>(&params).await?;
    println!("{}", r.state);
    Ok(if r.timed_out { EXIT_TIMEOUT } else { 0 })
}

/// `tether wait --any [--json] [--timeout S]`: prints `NAME STATE` of the
/// session that needs a person (with --json, the whole object); nothing on a
/// timeout (exit 124).
pub(super) async fn wait_any(
    target: &Target,
    json: bool,
    timeout: Option<f64>,
) -> anyhow::Result<u8> {
    if bad_timeout(timeout) {
        return Ok(2);
    }
    let params = WaitAnyParams { timeout_s: timeout };
    let r = target
        .request_once::<method::SessionsWaitAny>(&params)
        .await?;
    let Some(w) = r.waiting else {
        return Ok(EXIT_TIMEOUT);
    };
    if json {
        println!(
            "{}",
            serde_json::to_string(&w).context("failed to print the session as JSON")?
        );
    } else {
        println!("{} {}", w.name, w.state);
    }
    Ok(0)
}
