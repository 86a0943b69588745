//! Apiframe's `POST /v2/videos/generate` body (`openapi/apiframe.yaml`, `GenerateVideoRequest`).

use serde_json::Value;

use super::report::{Flow, Path, Report, Sink};
use super::rules::{type_name, Field, Rule, Scan};
use crate::values::url::UrlRule;
use crate::{
    values::{AspectRatio, Resolution, Seed},
    Provider,
};

/// Apiframe's model id.
pub(crate) const MODEL: &str = Provider::Apiframe.facts().models[0];
/// The longest prompt Apiframe accepts, in characters.
pub(crate) const PROMPT_MAX_CHARS: usize = 2500;
/// The webhook events Apiframe knows.
pub(crate) const WEBHOOK_EVENTS: [&str; 3] = ["progress", "completed", "failed"];

const PARAMS: &[Field] = &[
    Field {
        name: "images",
        required: false,
        rule: Rule::List {
            min: 0,
            max: 9,
            item: &Rule::Str {
                min_chars: 0,
                max_chars: None,
                url: Some(UrlRule::Uri),
            },
        },
    },
    Field {
        name: "resolution",
        required: false,
        rule: Rule::Enum(&Resolution::NAMES),
    },
    Field {
        name: "aspect_ratio",
        required: false,
        rule: Rule::Enum(&AspectRatio::APIFRAME_NAMES),
    },
    Field {
        name: "duration",
        required: false,
        rule: Rule::Int { min: 3, max: 15 },
    },
    Field {
        name: "seed",
        required: false,
        rule: Rule::Int {
            min: 0,
            max: Seed::MAX as i64,
        },
    },
];

pub(super) const BODY: &[Field] = &[
    Field {
        name: "prompt",
        required: true,
        rule: Rule::Str {
            min_chars: 1,
            max_chars: Some(PROMPT_MAX_CHARS),
            url: None,
        },
    },
    Field {
        name: "model",
        required: true,
        rule: Rule::Enum(&[MODEL]),
    },
    Field {
        name: "happyhorse11Params",
        required: false,
        rule: Rule::Object(PARAMS),
    },
    Field {
        name: "webhookUrl",
        required: false,
        rule: Rule::Str {
            min_chars: 0,
            max_chars: None,
            url: Some(UrlRule::HttpsOrLoopback),
        },
    },
    Field {
        name: "webhookEvents",
        required: false,
        rule: Rule::List {
            min: 1,
            max: usize::MAX,
            item: &Rule::Enum(&WEBHOOK_EVENTS),
        },
    },
];

/// Gives every error in `body` to `sink` (until it breaks).
pub(crate) fn check_body<S: Sink>(body: &Value, sink: &mut S) -> Flow {
    let Some(map) = body.as_object() else {
        return sink.error(
            Path::Root,
            format_args!("got {}, want object", type_name(body)),
        );
    };
    let scan = Scan::new(map, BODY, Some("webhook_url"));
    if scan.skipped {
        sink.error(
            Path::Field(&Path::Root, "webhook_url"),
            format_args!(
                "Apiframe's API spells it webhookUrl (its model page's webhook_url is a typo)"
            ),
        )?;
    }
    // The rest is checked as if webhook_url were absent.
    scan.check(Path::Root, sink)
}

/// Adds the warnings for a body without errors.
pub(crate) fn warn(body: &Value, report: &mut Report) {
    let params = body.get("happyhorse11Params");
    let images = params
        .and_then(|p| p.get("images"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if images == 1 && params.is_some_and(|p| p.get("aspect_ratio").is_some()) {
        report.warn(
            "happyhorse11Params.aspect_ratio",
            "ignored with one image (image-to-video): the orientation comes from the image",
        );
    }
    if images >= 2 {
        if let Some(prompt) = body.get("prompt").and_then(Value::as_str) {
            super::check_image_markers(prompt, images, "prompt", report);
        }
    }
}
