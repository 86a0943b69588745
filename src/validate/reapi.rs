//! reapi's `POST /api/v1/videos/generations` body (`openapi/reapi.yaml`, `GenerationRequest`).
//!
//! The mode follows the media field present: none → text-to-video, `image_urls` →
//! image-to-video, `reference_image_urls` → reference-to-video; both at once is an error.

use serde_json::Value;

use super::report::{Flow, Path, Report, Sink};
use super::rules::{check_object, type_name, Field, Rule};
use crate::values::url::UrlRule;
use crate::values::{AspectRatio, Resolution};
use crate::Provider;

/// reapi's model id.
pub(crate) const MODEL: &str = Provider::Reapi.facts().models[0];

/// Past this weight reapi truncates a prompt: 5000 non-CJK characters, or 2500 CJK ones (a CJK
/// character weighs two).
pub(crate) const PROMPT_WEIGHT_LIMIT: usize = 5000;
/// The longest prompt, in characters: past 5000 reapi truncates whatever the script, so a
/// longer one is refused (`openapi/reapi.yaml`); between a weight of 5000 and 5000 characters
/// (CJK) it is a warning.
pub(crate) const PROMPT_MAX_CHARS: usize = 5000;

const MEDIA_URL: Rule = Rule::Str {
    min_chars: 0,
    max_chars: None,
    url: Some(UrlRule::HttpPattern),
};

const fn fields(prompt_required: bool, media: Field) -> [Field; 6] {
    [
        Field {
            name: "model",
            required: true,
            rule: Rule::Enum(&[MODEL]),
        },
        Field {
            name: "prompt",
            required: prompt_required,
            rule: Rule::Str {
                min_chars: if prompt_required { 1 } else { 0 },
                max_chars: Some(PROMPT_MAX_CHARS),
                url: None,
            },
        },
        media,
        Field {
            name: "resolution",
            required: false,
            rule: Rule::Enum(&Resolution::NAMES),
        },
        Field {
            name: "aspect_ratio",
            required: false,
            rule: Rule::Enum(&AspectRatio::NAMES),
        },
        Field {
            name: "duration",
            required: false,
            rule: Rule::Int { min: 3, max: 15 },
        },
    ]
}

pub(super) const T2V: [Field; 5] = {
    let [model, prompt, _, resolution, aspect_ratio, duration] = fields(true, IMAGE);
    [model, prompt, resolution, aspect_ratio, duration]
};
const IMAGE: Field = Field {
    name: "image_urls",
    required: true,
    rule: Rule::List {
        min: 1,
        max: 1,
        item: &MEDIA_URL,
    },
};
const REFERENCES: Field = Field {
    name: "reference_image_urls",
    required: true,
    rule: Rule::List {
        min: 1,
        max: 9,
        item: &MEDIA_URL,
    },
};
pub(super) const I2V: [Field; 6] = fields(false, IMAGE);
pub(super) const R2V: [Field; 6] = fields(true, REFERENCES);

/// Every field of reference-to-video plus the first frame: what a body sending both media is
/// checked against, besides the error for sending both.
pub(super) const BOTH: [Field; 7] = {
    let [model, prompt, references, resolution, aspect_ratio, duration] = R2V;
    [
        model,
        prompt,
        references,
        resolution,
        aspect_ratio,
        duration,
        IMAGE,
    ]
};

/// Gives every error in `body` to `sink` (until it breaks).
pub(crate) fn check_body<S: Sink>(body: &Value, sink: &mut S) -> Flow {
    let Some(map) = body.as_object() else {
        return sink.error(
            Path::Root,
            format_args!("got {}, want object", type_name(body)),
        );
    };
    let image = map.contains_key("image_urls");
    let references = map.contains_key("reference_image_urls");
    match (image, references) {
        (true, true) => {
            sink.error(
                Path::Root,
                format_args!(
                    "image_urls and reference_image_urls are mutually exclusive: send \
                     image_urls (exactly 1) for image-to-video or reference_image_urls (1-9) \
                     for reference-to-video"
                ),
            )?;
            // Check everything else too, as reference-to-video plus the first frame.
            check_object(map, &BOTH, None, Path::Root, sink)
        }
        (true, false) => check_object(map, &I2V, None, Path::Root, sink),
        (false, true) => check_object(map, &R2V, None, Path::Root, sink),
        (false, false) => check_object(map, &T2V, None, Path::Root, sink),
    }
}

/// Adds the warnings for a body without errors.
pub(crate) fn warn(body: &Value, report: &mut Report) {
    let Some(map) = body.as_object() else {
        return;
    };
    let image = map.contains_key("image_urls");
    let references = map.contains_key("reference_image_urls");
    if image && !references && map.contains_key("aspect_ratio") {
        report.warn(
            "aspect_ratio",
            "ignored in image-to-video: the orientation comes from the image; crop the image \
             instead",
        );
    }
    if let Some(prompt) = map.get("prompt").and_then(Value::as_str) {
        // A character weighs at most its UTF-8 length (a CJK one takes three or four bytes
        // and weighs two), so a prompt this short in bytes is within the limit.
        if prompt.len() > PROMPT_WEIGHT_LIMIT {
            let weight = prompt_weight(prompt);
            if weight > PROMPT_WEIGHT_LIMIT {
                report.warn(
                    "prompt",
                    format!(
                        "reapi truncates prompts past 5000 characters (2500 CJK); this one \
                         weighs {weight} (CJK characters count double), so its end will be cut"
                    ),
                );
            }
        }
        if let Some(refs) = map.get("reference_image_urls").and_then(Value::as_array) {
            super::check_image_markers(prompt, refs.len(), "prompt", report);
        }
    }
}

/// A prompt's weight against reapi's limit: one per character, two per CJK character.
pub(crate) fn prompt_weight(prompt: &str) -> usize {
    prompt.chars().map(|c| if is_cjk(c) { 2 } else { 1 }).sum()
}

/// CJK ideographs, kana, hangul, and CJK punctuation and full-width forms.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF
        | 0x2E80..=0x2FDF
        | 0x3000..=0x30FF
        | 0x3100..=0x31FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF
        | 0xFF00..=0xFFEF
        | 0x20000..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_characters_weigh_double() {
        assert_eq!(prompt_weight("horse"), 5);
        assert_eq!(prompt_weight("一匹马"), 6);
        assert_eq!(prompt_weight(&"马".repeat(2500)), PROMPT_WEIGHT_LIMIT);
    }
}
