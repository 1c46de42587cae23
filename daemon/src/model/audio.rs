//! The `input_audio` content part, which chat completions and the Responses API
//! write the same way: `{"type": "input_audio", "input_audio": {"data", "format"}}`.
//! Only wav and mp3 exist on that wire; other clips are dropped before a request
//! is built (`Message::without_audio`), so [`InputAudio::new`] of one is `None`.

use serde::Serialize;

use super::types::Audio;

/// One `input_audio` part.
#[derive(Serialize)]
pub(super) struct InputAudio<'a> {
    input_audio: Clip<'a>,
    r#type: &'static str,
}

#[derive(Serialize)]
struct Clip<'a> {
    data: &'a str,
    format: &'static str,
}

impl<'a> InputAudio<'a> {
    /// The part for `audio`, when its type is one the wire has.
    pub(super) fn new(audio: &'a Audio) -> Option<Self> {
        Some(InputAudio {
            input_audio: Clip {
                data: &audio.data,
                format: audio.format()?,
            },
            r#type: "input_audio",
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn wav_and_mp3_have_a_part_and_nothing_else_does() {
        let clip = |mime: &str| Audio {
            mime_type: mime.into(),
            data: "UklGRg==".into(),
        };
        let wav = clip("audio/wav");
        assert_eq!(
            serde_json::to_value(InputAudio::new(&wav).unwrap()).unwrap(),
            serde_json::json!({"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}})
        );
        assert_eq!(clip("audio/mpeg").format(), Some("mp3"));
        assert!(InputAudio::new(&clip("audio/ogg")).is_none());
    }
}
