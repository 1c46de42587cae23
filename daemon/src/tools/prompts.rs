//! The tool servers' prompts (issue 14): listed for `tether prompts` and expanded
//! (`prompts/get`) into the text of a message for `tether send --prompt`.
//!
//! A prompt's messages become one message: their text joined by blank lines,
//! each labelled `[user]` / `[assistant]` when the prompt has more than the
//! user's; an embedded text resource as its text under a `[resource: URI]` line.
//! A message holds only text, so a prompt that returns an image, audio or a
//! binary resource is refused with a clear error rather than sent without it.

use std::collections::BTreeMap;
use std::sync::Arc;

use rmcp::model::{ContentBlock, Prompt, ResourceContents, Role};
use tether_shared::protocol::{PromptArgumentInfo, PromptGetResult, PromptInfo, ServerStatus};

use super::manager::ToolManager;
use super::server::{Server, lock};
use crate::tools::mcp::{Converter, McpClient};

impl ToolManager {
    /// Running servers that declare prompts: those a session sees, else all.
    fn prompt_servers(&self, session_id: Option<&str>) -> Vec<(Arc<Server>, Arc<McpClient>)> {
        let servers: Vec<Arc<Server>> = match session_id {
            Some(id) => self.visible(id),
            None => lock(&self.inner).servers.values().cloned().collect(),
        };
        servers
            .into_iter()
            .filter_map(|s| {
                let st = lock(&s.state);
                let client = st.client.clone()?;
                (st.status == ServerStatus::Running && client.offers().prompts)
                    .then_some(client)
                    .map(|c| (s.clone(), c))
            })
            .collect()
    }

    /// Every prompt of the servers (those a session sees, else all), and a line
    /// for each server that could not list them.
    pub async fn prompts(&self, session_id: Option<&str>) -> (Vec<PromptInfo>, Vec<String>) {
        let mut prompts = Vec::new();
        let mut errors = Vec::new();
        for (server, client) in self.prompt_servers(session_id) {
            match client.list_prompts().await {
                Ok(list) => prompts.extend(list.iter().map(|p| info(&server.def.name, p))),
                Err(e) => errors.push(format!("{}: {e}", server.def.name)),
            }
        }
        (prompts, errors)
    }

    /// Expands prompt `name` of server `server_name` (as a session sees it)
    /// with `arguments`, checked against the prompt's own list first.
    pub async fn get_prompt(
        &self,
        session_id: &str,
        server_name: &str,
        name: &str,
        arguments: &BTreeMap<String, String>,
    ) -> Result<PromptGetResult, String> {
        let servers = self.prompt_servers(Some(session_id));
        let Some((_, client)) = servers.iter().find(|(s, _)| s.def.name == server_name) else {
            let known: Vec<&str> = servers.iter().map(|(s, _)| s.def.name.as_str()).collect();
            let known = if known.is_empty() {
                "no server this session sees offers prompts now".to_string()
            } else {
                format!("servers with prompts: {}", known.join(", "))
            };
            return Err(format!("no server {server_name:?} with prompts ({known})"));
        };
        let list = client.list_prompts().await.map_err(|e| e.to_string())?;
        let Some(prompt) = list.iter().find(|p| p.name == name) else {
            let known: Vec<&str> = list.iter().map(|p| p.name.as_str()).collect();
            return Err(format!(
                "server {server_name:?} has no prompt {name:?} (its prompts: {})",
                known.join(", ")
            ));
        };
        check_arguments(server_name, prompt, arguments)?;
        let got = client
            .get_prompt(name, arguments)
            .await
            .map_err(|e| e.to_string())?;
        let text = join_messages(server_name, name, &got.messages)?;
        Ok(PromptGetResult {
            text,
            description: got.description,
        })
    }
}

/// A prompt as `prompts.list` shows it.
fn info(server: &str, p: &Prompt) -> PromptInfo {
    PromptInfo {
        server: server.to_string(),
        name: p.name.clone(),
        title: p.title.clone(),
        description: p.description.clone(),
        arguments: p
            .arguments
            .iter()
            .flatten()
            .map(|a| PromptArgumentInfo {
                name: a.name.clone(),
                description: a.description.clone(),
                required: a.required.unwrap_or(false),
            })
            .collect(),
    }
}

/// Missing required arguments and unknown ones are errors that name them.
fn check_arguments(
    server: &str,
    prompt: &Prompt,
    given: &BTreeMap<String, String>,
) -> Result<(), String> {
    let declared = prompt.arguments.as_deref().unwrap_or_default();
    let missing: Vec<&str> = declared
        .iter()
        .filter(|a| a.required.unwrap_or(false) && !given.contains_key(&a.name))
        .map(|a| a.name.as_str())
        .collect();
    let full = format!("{server}/{}", prompt.name);
    if !missing.is_empty() {
        let args: Vec<String> = missing.iter().map(|m| format!("--arg {m}=VALUE")).collect();
        let s = if missing.len() == 1 { "" } else { "s" };
        return Err(format!(
            "prompt {full} needs the argument{s} {}: give {}",
            missing.join(", "),
            args.join(" ")
        ));
    }
    if let Some(unknown) = given
        .keys()
        .find(|k| !declared.iter().any(|a| &a.name == *k))
    {
        let takes: Vec<&str> = declared.iter().map(|a| a.name.as_str()).collect();
        let takes = if takes.is_empty() {
            "it takes none".to_string()
        } else {
            format!("it takes {}", takes.join(", "))
        };
        return Err(format!(
            "prompt {full} has no argument {unknown:?} ({takes})"
        ));
    }
    Ok(())
}

/// The messages as one text; content a message cannot hold is an error.
fn join_messages(
    server: &str,
    name: &str,
    messages: &[rmcp::model::PromptMessage],
) -> Result<String, String> {
    let labelled = messages.iter().any(|m| m.role == Role::Assistant);
    let mut parts = Vec::with_capacity(messages.len());
    for m in messages {
        let refuse = |what: &str| {
            Err(format!(
                "prompt {server}/{name} returns {what}, which a message sent with `send` cannot \
                 carry (it holds text only)"
            ))
        };
        match &m.content {
            ContentBlock::Image(_) => return refuse("an image"),
            ContentBlock::Audio(_) => return refuse("audio"),
            ContentBlock::Resource(r)
                if !matches!(r.resource, ResourceContents::TextResourceContents { .. }) =>
            {
                return refuse("a binary resource");
            }
            _ => {}
        }
        let mut c = Converter::new(server, 0);
        c.block(&m.content);
        let text = c.finish().text;
        parts.push(if labelled {
            let role = match m.role {
                Role::Assistant => "assistant",
                _ => "user",
            };
            format!("[{role}]\n{text}")
        } else {
            text
        });
    }
    Ok(parts.join("\n\n"))
}
