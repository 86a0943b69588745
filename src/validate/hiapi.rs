//! HiAPI's `POST /v1/tasks` body (`openapi/hiapi.yaml`, `CreateTaskRequest`).

use serde_json::Value;

use super::report::{Flow, Path, Report, Sink};
use super::rules::{
    check, check_object, same, text, type_name, url, Field, Rule, DURATION, RESOLUTION,
};
use crate::values::url::UrlRule;
use crate::{values::AspectRatio, Provider};

/// The three model ids, in the document's order.
const MODELS: &[&str] = Provider::HiApi.facts().models;

const ASPECT_RATIO: Rule = Rule::Enum(&AspectRatio::NAMES);
/// The longest prompt, in characters: assumed, HiAPI's pages give no bound (see
/// `openapi/hiapi.yaml`: the most the same model reads on reapi).
pub(crate) const PROMPT_MAX_CHARS: usize = 5000;
const REQUIRED_PROMPT: Rule = text(1, Some(PROMPT_MAX_CHARS));

const T2V: &[Field] = &[
    Field::required("prompt", REQUIRED_PROMPT),
    Field::optional("resolution", RESOLUTION),
    Field::optional("aspect_ratio", ASPECT_RATIO),
    Field::optional("duration", DURATION),
];

const I2V: &[Field] = &[
    Field::required(
        "image_urls",
        Rule::List {
            min: 1,
            max: 1,
            item: &url(UrlRule::HttpOrHttps),
        },
    ),
    Field::optional("prompt", text(0, Some(PROMPT_MAX_CHARS))),
    Field::optional("resolution", RESOLUTION),
    Field::optional("duration", DURATION),
];

const R2V: &[Field] = &[
    Field::required("prompt", REQUIRED_PROMPT),
    Field::required(
        "reference_image",
        Rule::List {
            min: 1,
            max: 9,
            item: &url(UrlRule::HttpsOrLoopback),
        },
    ),
    Field::optional("resolution", RESOLUTION),
    Field::optional("aspect_ratio", ASPECT_RATIO),
    Field::optional("duration", DURATION),
];

const CALLBACK: &[Field] = &[
    Field::required("url", url(UrlRule::HttpsOrLoopback)),
    Field::optional("when", Rule::Enum(&["final"])),
];

/// The envelope for one model: `model`, `input`, `callback`, `route`.
const fn envelope(input: &'static [Field]) -> [Field; 4] {
    [
        Field::required("model", Rule::Enum(MODELS)),
        Field::required("input", Rule::Object(input)),
        Field::optional("callback", Rule::Object(CALLBACK)),
        Field::optional("route", text(1, None)),
    ]
}

pub(super) const T2V_BODY: [Field; 4] = envelope(T2V);
pub(super) const I2V_BODY: [Field; 4] = envelope(I2V);
pub(super) const R2V_BODY: [Field; 4] = envelope(R2V);

/// Gives every error in `body` to `sink` (until it breaks).
pub(crate) fn check_body<S: Sink>(body: &Value, sink: &mut S) -> Flow {
    let Some(map) = body.as_object() else {
        return sink.error(
            Path::Root,
            format_args!("got {}, want object", type_name(body)),
        );
    };
    let fields = match map.get("model").and_then(Value::as_str) {
        Some(m) if same(m, MODELS[0]) => &T2V_BODY,
        Some(m) if same(m, MODELS[1]) => &I2V_BODY,
        Some(m) if same(m, MODELS[2]) => &R2V_BODY,
        // Without a known model there is no input schema to check against.
        Some(_) | None => {
            return match map.get("model") {
                Some(model) => check(
                    model,
                    &Rule::Enum(MODELS),
                    Path::Field(&Path::Root, "model"),
                    sink,
                ),
                None => sink.error(Path::Root, format_args!("missing property 'model'")),
            };
        }
    };
    check_object(map, fields, None, Path::Root, sink)
}

/// Adds the warnings for a body without errors.
pub(crate) fn warn(body: &Value, report: &mut Report) {
    if body.get("model").and_then(Value::as_str) != Some(MODELS[2]) {
        return;
    }
    let input = body.get("input");
    if let (Some(prompt), Some(refs)) = (
        input.and_then(|i| i.get("prompt")).and_then(Value::as_str),
        input
            .and_then(|i| i.get("reference_image"))
            .and_then(Value::as_array),
    ) {
        super::check_image_markers(prompt, refs.len(), "input.prompt", report);
    }
}
