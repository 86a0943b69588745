//! The sandbox's request validation: the contract's JSON Schemas, compiled with `jsonschema`,
//! independent of the hand-written layer, with errors worded as the providers word them.

use std::sync::Arc;

use jsonschema::{error::ValidationErrorKind, Validator};
use serde_json::Value;

use crate::{contract, issue::type_name, Provider};

/// Compiled validators: each provider's whole body, and each branch of HiAPI's `oneOf`, by
/// model.
pub(crate) struct Schemas {
    bodies: [Validator; 3],
    hiapi_branches: Vec<(String, Validator)>,
}

/// The validator of `component` in `document`, whose request component is `request`.
fn compile(document: &Value, request: &str, component: &str) -> Result<Validator, String> {
    let mut schema = contract::component_schema_in(document, request)
        .ok_or_else(|| format!("no component schema {request}"))?;
    schema["$ref"] = Value::from(format!("#/components/schemas/{component}"));
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|err| format!("{component} does not compile: {err}"))
}

impl Schemas {
    /// Each provider's request schemas, from `documents` where one is given, else from the
    /// crate's own; the problem with a given document that does not serve.
    pub(crate) fn new(documents: &[Option<Arc<Value>>; 3]) -> Result<Self, String> {
        let document = |p: Provider| match &documents[p.index()] {
            Some(given) => given.as_ref(),
            None => contract::openapi(p),
        };
        let mut bodies = Vec::new();
        for provider in Provider::ALL {
            let request = contract::request_component(provider);
            bodies.push(
                compile(document(provider), request, request)
                    .map_err(|err| format!("the {provider} document: {err}"))?,
            );
        }
        let bodies: [Validator; 3] = bodies
            .try_into()
            .map_err(|_| "three providers, three schemas".to_owned())?;
        let hiapi = document(Provider::HiApi);
        let request = contract::request_component(Provider::HiApi);
        let mut hiapi_branches = Vec::new();
        for (model, pointer) in hiapi_branches_in(hiapi) {
            let branch = compile(hiapi, request, &pointer)
                .map_err(|err| format!("the hiapi document: {err}"))?;
            hiapi_branches.push((model, branch));
        }
        Ok(Schemas {
            bodies,
            hiapi_branches,
        })
    }

    /// Every problem with a submit body, as `(dotted path, message)`; empty when it is valid.
    pub(crate) fn problems(&self, provider: Provider, body: &Value) -> Vec<(String, String)> {
        let whole = &self.bodies[provider.index()];
        if whole.is_valid(body) {
            return Vec::new();
        }
        // HiAPI's `oneOf` says only "no branch matched"; the model's own branch says what.
        if provider == Provider::HiApi {
            let model = body.get("model").and_then(Value::as_str);
            if let Some((_, branch)) = self
                .hiapi_branches
                .iter()
                .find(|(m, _)| Some(m.as_str()) == model)
            {
                let found = describe(branch, body, "");
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

/// HiAPI's request branches in `document`: each one's model and its path below
/// `components/schemas`.
fn hiapi_branches_in(document: &Value) -> Vec<(String, String)> {
    let request = contract::request_component(Provider::HiApi);
    let branches = document["components"]["schemas"][request]["oneOf"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    branches
        .iter()
        .enumerate()
        .filter_map(|(i, branch)| {
            let model = branch["properties"]["model"]["enum"][0].as_str()?;
            Some((model.to_owned(), format!("{request}/oneOf/{i}")))
        })
        .collect()
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
