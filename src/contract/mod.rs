//! The OpenAPI documents in `openapi/`, embedded, and JSON Schemas derived from them.
//!
//! `build.rs` converts each YAML document to JSON at build time; this module embeds that JSON
//! and turns any component schema into a standalone JSON Schema (draft 4, the dialect OpenAPI
//! 3.0's Schema Object extends). OpenAPI's `nullable: true`, which plain JSON Schema does not
//! know, becomes an explicit `null` alternative. Use it to validate a body with any JSON Schema
//! validator exactly as the contract states it.

pub mod diff;
pub mod images;

use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::Provider;

const HIAPI: &str = include_str!(concat!(env!("OUT_DIR"), "/hiapi.openapi.json"));
const REAPI: &str = include_str!(concat!(env!("OUT_DIR"), "/reapi.openapi.json"));
const APIFRAME: &str = include_str!(concat!(env!("OUT_DIR"), "/apiframe.openapi.json"));

/// The provider's OpenAPI document, as the JSON text `build.rs` produced from its YAML.
pub fn openapi_json(provider: Provider) -> &'static str {
    match provider {
        Provider::HiApi => HIAPI,
        Provider::Reapi => REAPI,
        Provider::Apiframe => APIFRAME,
    }
}

/// The provider's OpenAPI document, parsed once.
pub fn openapi(provider: Provider) -> &'static Value {
    static DOCS: [OnceLock<Value>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    DOCS[provider.index()].get_or_init(|| {
        // build.rs wrote this text with serde_json from a document it parsed, so it is JSON.
        serde_json::from_str(openapi_json(provider))
            .unwrap_or_else(|err| unreachable!("build.rs wrote invalid JSON: {err}"))
    })
}

/// The name of the component schema that describes the provider's submit body.
pub fn request_component(provider: Provider) -> &'static str {
    match provider {
        Provider::HiApi => "CreateTaskRequest",
        Provider::Reapi => "GenerationRequest",
        Provider::Apiframe => "GenerateVideoRequest",
    }
}

/// A standalone JSON Schema (draft 4) for the named component of the provider's document, or
/// `None` when the document has no such component.
///
/// The result is `{"$ref": "#/components/schemas/NAME", "components": {...}}`: every
/// component travels along so that references resolve, with `nullable` translated.
pub fn component_schema(provider: Provider, name: &str) -> Option<Value> {
    component_schema_in(openapi(provider), name)
}

/// [`component_schema`] for any OpenAPI 3.0 document (an edited copy of a provider's, say).
pub fn component_schema_in(document: &Value, name: &str) -> Option<Value> {
    let components = document.get("components")?;
    components.get("schemas")?.get(name)?;
    let mut components = components.clone();
    translate_nullable(&mut components);
    let mut root = Map::new();
    root.insert(
        "$schema".into(),
        Value::from("http://json-schema.org/draft-04/schema#"),
    );
    root.insert(
        "$ref".into(),
        Value::from(format!("#/components/schemas/{name}")),
    );
    root.insert("components".into(), components);
    Some(Value::Object(root))
}

/// The JSON Schema of the provider's submit body (see [`request_component`]).
pub fn request_schema(provider: Provider) -> Value {
    component_schema(provider, request_component(provider))
        .unwrap_or_else(|| unreachable!("every document defines its request component"))
}

/// Rewrites OpenAPI 3.0 `nullable: true` into plain JSON Schema, in place and recursively.
///
/// A schema with a `type` gains `"null"` in it (and in its `enum`, if any); any other schema
/// (an `allOf` around a `$ref`, say) becomes `anyOf: [{"type": "null"}, <schema>]`.
pub fn translate_nullable(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(translate_nullable),
        Value::Object(map) => {
            map.values_mut().for_each(translate_nullable);
            if map.remove("nullable") != Some(Value::Bool(true)) {
                return;
            }
            if let Some(ty) = map.get("type").cloned() {
                map.insert("type".into(), Value::from(vec![ty, Value::from("null")]));
                if let Some(Value::Array(values)) = map.get_mut("enum") {
                    values.push(Value::Null);
                }
            } else {
                let inner = Value::Object(std::mem::take(map));
                map.insert(
                    "anyOf".into(),
                    Value::from(vec![serde_json::json!({"type": "null"}), inner]),
                );
            }
        }
        _ => {}
    }
}

/// A JSON Pointer segment for `text` (RFC 6901: `~` as `~0`, `/` as `~1`).
pub(crate) fn escape(text: &str) -> String {
    text.replace('~', "~0").replace('/', "~1")
}

/// The text a JSON Pointer segment stands for (the inverse of [`escape`]).
pub(crate) fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// Whether a key of an OpenAPI path item names an HTTP operation.
pub(crate) fn is_method(key: &str) -> bool {
    matches!(
        key,
        "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nullable_with_a_type_admits_null() {
        let mut schema = json!({"type": "integer", "nullable": true, "minimum": 0});
        translate_nullable(&mut schema);
        assert_eq!(schema, json!({"type": ["integer", "null"], "minimum": 0}));
    }

    #[test]
    fn nullable_around_a_reference_becomes_an_any_of() {
        let mut schema = json!({"nullable": true, "allOf": [{"$ref": "#/x"}]});
        translate_nullable(&mut schema);
        assert_eq!(
            schema,
            json!({"anyOf": [{"type": "null"}, {"allOf": [{"$ref": "#/x"}]}]})
        );
    }

    #[test]
    fn every_provider_has_its_request_component() {
        for p in Provider::ALL {
            let schema = request_schema(p);
            assert!(schema["components"]["schemas"][request_component(p)].is_object());
        }
        assert!(component_schema(Provider::HiApi, "NoSuchThing").is_none());
    }
}
