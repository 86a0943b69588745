//! HiAPI's `POST /v1/tasks` body (`openapi/hiapi.yaml`, `CreateTaskRequest`).

use serde_json::Value;

use super::report::{child, Report};
use super::rules::{check, check_object, type_name, Field, Rule};
use super::url::UrlRule;
use crate::values::{AspectRatio, Resolution};

/// The three model ids, in the document's order.
pub(crate) const MODELS: [&str; 3] = [
    "happyhorse-1.1/text-to-video",
    "happyhorse-1.1/image-to-video",
    "happyhorse-1.1/reference-to-video",
];

const RESOLUTION: Rule = Rule::Enum(&Resolution::NAMES);
const ASPECT_RATIO: Rule = Rule::Enum(&AspectRatio::NAMES);
const DURATION: Rule = Rule::Int { min: 3, max: 15 };
const REQUIRED_PROMPT: Rule = Rule::Str {
    min_chars: 1,
    max_chars: None,
    url: None,
};

const T2V: &[Field] = &[
    Field {
        name: "prompt",
        required: true,
        rule: REQUIRED_PROMPT,
    },
    Field {
        name: "resolution",
        required: false,
        rule: RESOLUTION,
    },
    Field {
        name: "aspect_ratio",
        required: false,
        rule: ASPECT_RATIO,
    },
    Field {
        name: "duration",
        required: false,
        rule: DURATION,
    },
];

const I2V: &[Field] = &[
    Field {
        name: "image_urls",
        required: true,
        rule: Rule::List {
            min: 1,
            max: 1,
            item: &Rule::Str {
                min_chars: 0,
                max_chars: None,
                url: Some(UrlRule::HttpOrHttps),
            },
        },
    },
    Field {
        name: "prompt",
        required: false,
        rule: Rule::Str {
            min_chars: 0,
            max_chars: None,
            url: None,
        },
    },
    Field {
        name: "resolution",
        required: false,
        rule: RESOLUTION,
    },
    Field {
        name: "duration",
        required: false,
        rule: DURATION,
    },
];

const R2V: &[Field] = &[
    Field {
        name: "prompt",
        required: true,
        rule: REQUIRED_PROMPT,
    },
    Field {
        name: "reference_image",
        required: true,
        rule: Rule::List {
            min: 1,
            max: 9,
            item: &Rule::Str {
                min_chars: 0,
                max_chars: None,
                url: Some(UrlRule::Https),
            },
        },
    },
    Field {
        name: "resolution",
        required: false,
        rule: RESOLUTION,
    },
    Field {
        name: "aspect_ratio",
        required: false,
        rule: ASPECT_RATIO,
    },
    Field {
        name: "duration",
        required: false,
        rule: DURATION,
    },
];

const CALLBACK: &[Field] = &[
    Field {
        name: "url",
        required: true,
        rule: Rule::Str {
            min_chars: 0,
            max_chars: None,
            url: Some(UrlRule::Https),
        },
    },
    Field {
        name: "when",
        required: false,
        rule: Rule::Enum(&["final"]),
    },
];

/// The envelope for one model: `model`, `input`, `callback`, `route`.
const fn envelope(input: &'static [Field]) -> [Field; 4] {
    [
        Field {
            name: "model",
            required: true,
            rule: Rule::Enum(&MODELS),
        },
        Field {
            name: "input",
            required: true,
            rule: Rule::Object(input),
        },
        Field {
            name: "callback",
            required: false,
            rule: Rule::Object(CALLBACK),
        },
        Field {
            name: "route",
            required: false,
            rule: Rule::Str {
                min_chars: 1,
                max_chars: None,
                url: None,
            },
        },
    ]
}

const T2V_BODY: [Field; 4] = envelope(T2V);
const I2V_BODY: [Field; 4] = envelope(I2V);
const R2V_BODY: [Field; 4] = envelope(R2V);

pub(crate) fn validate(body: &Value, report: &mut Report) {
    let Some(map) = body.as_object() else {
        return report.error("$", format!("got {}, want object", type_name(body)));
    };
    let fields = match map.get("model").and_then(Value::as_str) {
        Some(m) if m == MODELS[0] => &T2V_BODY,
        Some(m) if m == MODELS[1] => &I2V_BODY,
        Some(m) if m == MODELS[2] => &R2V_BODY,
        // Without a known model there is no input schema to check against.
        Some(_) | None => {
            return match map.get("model") {
                Some(model) => check(model, &Rule::Enum(&MODELS), "model", report),
                None => report.error("$", "missing property 'model'"),
            };
        }
    };
    check_object(map, fields, "$", report);
    if map.get("model").and_then(Value::as_str) == Some(MODELS[2]) {
        let input = &map["input"];
        if let (Some(prompt), Some(refs)) = (
            input.get("prompt").and_then(Value::as_str),
            input.get("reference_image").and_then(Value::as_array),
        ) {
            if report.is_valid() {
                super::check_image_markers(prompt, refs.len(), &child("input", "prompt"), report);
            }
        }
    }
}
