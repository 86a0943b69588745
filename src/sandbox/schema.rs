//! The sandbox's request validation: the contract's JSON Schemas, compiled with `jsonschema`,
//! independent of the hand-written layer, with errors worded as the providers word them.

use jsonschema::{error::ValidationErrorKind, Validator};
use serde_json::Value;

use crate::{contract, validate::type_name, Provider};

/// Compiled validators: each provider's whole body, and HiAPI's three inputs.
pub(crate) struct Schemas {
    bodies: [Validator; 3],
    hiapi_inputs: [(&'static str, Validator); 3],
}

fn compile(provider: Provider, component: &str) -> Validator {
    let schema = contract::component_schema(provider, component)
        .unwrap_or_else(|| unreachable!("{provider} defines {component}"));
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        // The documents are compiled by the crate's own tests; a failure here is a bug in them.
        .unwrap_or_else(|err| unreachable!("{provider} {component} compiles: {err}"))
}

impl Schemas {
    pub(crate) fn new() -> Self {
        Schemas {
            bodies: Provider::ALL.map(|p| compile(p, contract::request_component(p))),
            hiapi_inputs: [
                ("happyhorse-1.1/text-to-video", "TextToVideoInput"),
                ("happyhorse-1.1/image-to-video", "ImageToVideoInput"),
                ("happyhorse-1.1/reference-to-video", "ReferenceToVideoInput"),
            ]
            .map(|(model, component)| (model, compile(Provider::HiApi, component))),
        }
    }

    /// Every problem with a submit body, as `(dotted path, message)`; empty when it is valid.
    pub(crate) fn problems(&self, provider: Provider, body: &Value) -> Vec<(String, String)> {
        let whole = &self.bodies[provider.index()];
        if whole.is_valid(body) {
            return Vec::new();
        }
        // HiAPI's `oneOf` says only "no branch matched"; its own input schema says what.
        if provider == Provider::HiApi {
            let model = body.get("model").and_then(Value::as_str);
            if let Some((_, input)) = self.hiapi_inputs.iter().find(|(m, _)| Some(*m) == model) {
                let found = describe(input, body.get("input").unwrap_or(&Value::Null), "input");
                if !found.is_empty() {
                    return found;
                }
            }
        }
        let found = describe(whole, body, "");
        if found.is_empty() {
            vec![(
                String::new(),
                "the body matches none of the request schemas".into(),
            )]
        } else {
            found
        }
    }
}

fn describe(validator: &Validator, instance: &Value, prefix: &str) -> Vec<(String, String)> {
    validator
        .iter_errors(instance)
        .map(|err| {
            let pointer = err.instance_path().to_string();
            let mut path = prefix.to_owned();
            for segment in pointer.split('/').filter(|s| !s.is_empty()) {
                if segment.bytes().all(|b| b.is_ascii_digit()) {
                    path = format!("{path}[{segment}]");
                } else if path.is_empty() {
                    path = segment.to_owned();
                } else {
                    path = format!("{path}.{segment}");
                }
            }
            (path, message(err.kind(), err.instance()))
        })
        .collect()
}

/// jsonschema's error, in the wording HiAPI's pages quote (`minimum: got 0, want 3`).
fn message(kind: &ValidationErrorKind, instance: &Value) -> String {
    let length = || match instance {
        Value::Array(items) => items.len(),
        Value::String(text) => text.chars().count(),
        _ => 0,
    };
    match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let names: Vec<String> = unexpected.iter().map(|n| format!("'{n}'")).collect();
            format!("additional properties {} not allowed", names.join(", "))
        }
        ValidationErrorKind::Required { property } => {
            format!(
                "missing property '{}'",
                property.as_str().unwrap_or_default()
            )
        }
        ValidationErrorKind::Minimum { limit } => format!("minimum: got {instance}, want {limit}"),
        ValidationErrorKind::Maximum { limit } => format!("maximum: got {instance}, want {limit}"),
        ValidationErrorKind::MinItems { limit } => {
            format!("minItems: got {}, want {limit}", length())
        }
        ValidationErrorKind::MaxItems { limit } => {
            format!("maxItems: got {}, want {limit}", length())
        }
        ValidationErrorKind::MinLength { limit } => {
            format!("minLength: got {}, want {limit}", length())
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!("maxLength: got {}, want {limit}", length())
        }
        ValidationErrorKind::Type { kind } => {
            let want = match kind {
                jsonschema::error::TypeKind::Single(t) => t.to_string(),
                jsonschema::error::TypeKind::Multiple(set) => format!("{set:?}"),
            };
            format!("got {}, want {want}", type_name(instance))
        }
        ValidationErrorKind::Enum { options } => {
            let values: Vec<String> = options
                .as_array()
                .map(|v| v.iter().map(ToString::to_string).collect())
                .unwrap_or_default();
            format!("value must be one of {}", values.join(", "))
        }
        ValidationErrorKind::Pattern { pattern } => {
            format!("{instance} does not match pattern '{pattern}'")
        }
        ValidationErrorKind::Format { format } => format!("{instance} is not valid {format}"),
        other => format!("{other:?}"),
    }
}
