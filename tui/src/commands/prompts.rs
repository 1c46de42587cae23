//! `tether prompts [NAME] [--json]`: the tool servers' prompts; and the expansion
//! of `tether send NAME --prompt SERVER/PROMPT [--arg K=V]...` into a message.

use std::collections::BTreeMap;

use tether_shared::protocol::{PromptGetParams, PromptsParams, method};

use super::output::print_json;
use crate::client::Target;
use crate::render;

/// `tether prompts [NAME] [--json]`: with NAME, the prompts of the servers that
/// session sees (as `tether tools` would list them for it); else of every
/// running server.
pub(super) async fn prompts(
    target: &Target,
    session: Option<String>,
    json: bool,
) -> anyhow::Result<u8> {
    let r = target
        .request_once::<method::PromptsList>(&PromptsParams { session })
        .await?;
    if json {
        print_json(&r.prompts)?;
    } else {
        print!("{}", render::prompts(&r.prompts));
    }
    for e in &r.errors {
        eprintln!("tether: could not list the prompts of {e}");
    }
    Ok(0)
}

/// What `--prompt SERVER/PROMPT` and its `--arg K=V`s ask for, or the usage
/// error to print (exit 2).
pub(super) fn parse(
    spec: &str,
    args: &[String],
) -> Result<(String, String, BTreeMap<String, String>), String> {
    let Some((server, prompt)) = spec
        .split_once('/')
        .filter(|(s, p)| !s.is_empty() && !p.is_empty())
    else {
        return Err(format!(
            "--prompt {spec:?}: give SERVER/PROMPT, e.g. --prompt everything/simple-prompt \
             (`tether prompts` lists them)"
        ));
    };
    let mut arguments = BTreeMap::new();
    for a in args {
        let Some((k, v)) = a.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(format!("--arg {a:?}: give NAME=VALUE"));
        };
        if arguments.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("--arg {k}: given twice"));
        }
    }
    Ok((server.to_string(), prompt.to_string(), arguments))
}

/// The text of prompt `prompt` of `server`, expanded for session `session`.
pub(super) async fn expand(
    target: &Target,
    session: &str,
    server: String,
    prompt: String,
    arguments: BTreeMap<String, String>,
) -> anyhow::Result<String> {
    let params = PromptGetParams {
        session: session.to_string(),
        server,
        prompt,
        arguments,
    };
    Ok(target
        .request_once::<method::PromptsGet>(&params)
        .await?
        .text)
}
