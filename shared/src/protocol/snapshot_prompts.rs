//! The snapshot cases of the prompt methods (issue 14), kept apart so that
//! `snapshot_tests` stays under the file size limit; `snapshot_tests::methods`
//! takes them in with the others and snapshots them the same way.

use std::collections::BTreeMap;

use serde_json::Value;

use super::*;

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

/// `(method, params JSON, result JSON)` of each prompt method.
pub(super) fn cases() -> Vec<(&'static str, String, String)> {
    vec![
        (
            method::PROMPTS_LIST,
            request::<method::PromptsList>(PromptsParams {
                session: Some("fix-tests".into()),
            }),
            result::<method::PromptsList>(PromptsResult {
                prompts: vec![PromptInfo {
                    server: "everything".into(),
                    name: "args-prompt".into(),
                    title: Some("Arguments Prompt".into()),
                    description: Some("A prompt with two arguments, one required".into()),
                    arguments: vec![
                        PromptArgumentInfo {
                            name: "city".into(),
                            description: Some("Name of the city".into()),
                            required: true,
                        },
                        PromptArgumentInfo {
                            name: "state".into(),
                            description: None,
                            required: false,
                        },
                    ],
                }],
                errors: vec!["github: prompts/list failed: server github is not running".into()],
            }),
        ),
        (
            method::PROMPTS_GET,
            request::<method::PromptsGet>(PromptGetParams {
                session: "fix-tests".into(),
                server: "everything".into(),
                prompt: "args-prompt".into(),
                arguments: BTreeMap::from([("city".into(), "Lyon".into())]),
            }),
            result::<method::PromptsGet>(PromptGetResult {
                text: "What's weather in Lyon?".into(),
                description: None,
            }),
        ),
    ]
}
