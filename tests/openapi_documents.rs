//! Tests of the OpenAPI documents themselves: they parse as OpenAPI 3.0, every schema compiles
//! as JSON Schema, every example body of the seed pages validates, and every documented
//! rejection is rejected.

mod common;

use std::fs;

use common::{errors, request_validator, seed_example, seed_examples, validator, with, without};
use happyhorse::{contract, Provider};
use serde_json::{json, Value};

fn document_text(provider: Provider) -> String {
    let path = format!(
        "{}/openapi/{}.yaml",
        env!("CARGO_MANIFEST_DIR"),
        provider.name()
    );
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn each_document_parses_as_openapi_3_0_with_an_operation_id_everywhere() {
    for provider in Provider::ALL {
        let spec: openapiv3::OpenAPI = serde_norway::from_str(&document_text(provider))
            .unwrap_or_else(|e| panic!("{provider}: {e}"));
        assert!(
            spec.openapi.starts_with("3.0."),
            "{provider}: {}",
            spec.openapi
        );
        assert_eq!(
            spec.servers.first().map(|s| s.url.as_str()),
            Some(provider.default_base_url()),
            "{provider}: the first server is the production base URL"
        );
        for (path, item) in spec.paths.iter() {
            let item = item.as_item().expect("no path references");
            for (method, op) in item.iter() {
                assert!(op.operation_id.is_some(), "{provider} {method} {path}");
                assert!(op.description.is_some() || op.summary.is_some());
            }
        }
    }
}

#[test]
fn the_routes_are_the_documented_ones() {
    let routes = |p: Provider| -> Vec<String> {
        let spec: openapiv3::OpenAPI = serde_norway::from_str(&document_text(p)).unwrap();
        let mut out: Vec<String> = spec
            .paths
            .iter()
            .flat_map(|(path, item)| {
                let item = item.as_item().unwrap();
                item.iter()
                    .map(|(method, _)| format!("{} {path}", method.to_uppercase()))
                    .collect::<Vec<_>>()
            })
            .collect();
        out.sort();
        out
    };
    // Paths are relative to each provider's base URL (see each document's info.description).
    assert_eq!(
        routes(Provider::HiApi),
        ["GET /tasks", "GET /tasks/{id}", "POST /tasks"]
    );
    assert_eq!(
        routes(Provider::Reapi),
        ["GET /tasks/{id}", "POST /videos/generations"]
    );
    assert_eq!(
        routes(Provider::Apiframe),
        ["GET /v2/jobs/{id}", "POST /v2/videos/generate"]
    );
}

#[test]
fn every_component_schema_compiles_as_json_schema() {
    for provider in Provider::ALL {
        let names: Vec<String> = contract::openapi(provider)["components"]["schemas"]
            .as_object()
            .expect("components.schemas")
            .keys()
            .cloned()
            .collect();
        assert!(!names.is_empty());
        for name in names {
            validator(provider, &name);
        }
    }
}

/// Keywords that state a rule a reviewer must be able to trace to a source.
const CONSTRAINTS: [&str; 10] = [
    "enum",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "required",
    "default",
];

/// Words by which a description names its source, or says it is an assumption.
const SOURCES: [&str; 6] = [
    "page",
    "provider-facts",
    "OpenAPI",
    "ssumed",
    "see info",
    "(info",
];

fn check_sources(provider: Provider, path: &str, schema: &Value, missing: &mut Vec<String>) {
    let Some(map) = schema.as_object() else {
        return;
    };
    let constrained = CONSTRAINTS.iter().any(|k| map.contains_key(*k))
        || map.get("additionalProperties") == Some(&Value::Bool(false));
    let sourced = map
        .get("description")
        .and_then(Value::as_str)
        .is_some_and(|d| SOURCES.iter().any(|s| d.contains(s)));
    if constrained && !sourced {
        missing.push(format!("{provider}: {path}"));
    }
    if let Some(props) = map.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            check_sources(provider, &format!("{path}.{name}"), prop, missing);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = map.get(key) {
            // An item's rule is traced by its array's description.
            if !(key == "items" && sourced) {
                check_sources(provider, &format!("{path}[{key}]"), inner, missing);
            }
        }
    }
    if let Some(Value::Array(members)) = map.get("oneOf") {
        for (i, member) in members.iter().enumerate() {
            check_sources(provider, &format!("{path}.oneOf[{i}]"), member, missing);
        }
    }
}

#[test]
fn every_constraint_names_its_source_or_says_it_is_assumed() {
    let mut missing = Vec::new();
    for provider in Provider::ALL {
        let schemas = contract::openapi(provider)["components"]["schemas"]
            .as_object()
            .unwrap();
        for (name, schema) in schemas {
            check_sources(provider, name, schema, &mut missing);
        }
    }
    assert!(
        missing.is_empty(),
        "constraints without a source in their description:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_seed_example_validates_against_its_provider_schema() {
    let examples = seed_examples();
    assert_eq!(examples.len(), 15, "the seed pages print 15 example bodies");
    for (provider, name, body) in examples {
        let errs = errors(&request_validator(provider), &body);
        assert!(errs.is_empty(), "{provider}/{name}: {errs:#?}");
    }
}

#[test]
fn hiapi_seed_inputs_validate_against_their_own_component() {
    for (provider, name, body) in seed_examples() {
        if provider != Provider::HiApi {
            continue;
        }
        let component = match body["model"].as_str() {
            Some("happyhorse-1.1/text-to-video") => "TextToVideoInput",
            Some("happyhorse-1.1/image-to-video") => "ImageToVideoInput",
            Some("happyhorse-1.1/reference-to-video") => "ReferenceToVideoInput",
            other => panic!("{name}: unexpected model {other:?}"),
        };
        let errs = errors(&validator(provider, component), &body["input"]);
        assert!(errs.is_empty(), "{name}: {errs:#?}");
    }
}

fn reject(provider: Provider, label: &str, body: &Value) {
    assert!(
        !request_validator(provider).is_valid(body),
        "{provider}: {label} should be rejected: {body}"
    );
}

fn accept(provider: Provider, label: &str, body: &Value) {
    let errs = errors(&request_validator(provider), body);
    assert!(
        errs.is_empty(),
        "{provider}: {label} should be accepted: {errs:#?}"
    );
}

const BAD_DURATIONS: [f64; 6] = [0.0, 1.0, 2.0, 16.0, 20.0, 999.0];

fn bad_durations() -> Vec<Value> {
    let mut out: Vec<Value> = BAD_DURATIONS.iter().map(|d| json!(*d as i64)).collect();
    out.extend([json!(5.5), json!("5"), json!(null), json!(-3)]);
    out
}

fn urls(n: usize) -> Value {
    json!((1..=n)
        .map(|i| format!("https://cdn.example.com/ref-{i}.jpg"))
        .collect::<Vec<_>>())
}

#[test]
fn hiapi_documented_rejections_are_rejected() {
    let p = Provider::HiApi;
    let t2v = seed_example(p, "t2v-minimal.json");
    let i2v = seed_example(p, "i2v-push-in.json");
    let r2v = seed_example(p, "r2v-minimal.json");

    // No bound is documented; 5000 characters is assumed (info), in every mode.
    for (label, body) in [
        ("T2V", t2v.clone()),
        ("I2V", i2v.clone()),
        ("R2V", r2v.clone()),
    ] {
        accept(
            p,
            &format!("5000-character prompt on {label}"),
            &with(body.clone(), "/input/prompt", json!("马".repeat(5000))),
        );
        reject(
            p,
            &format!("5001-character prompt on {label}"),
            &with(body, "/input/prompt", json!("a".repeat(5001))),
        );
    }

    // T2V page: no seed, no audio toggle.
    reject(
        p,
        "seed on T2V",
        &with(t2v.clone(), "/input/seed", json!(1)),
    );
    reject(
        p,
        "audio on T2V",
        &with(t2v.clone(), "/input/audio", json!(true)),
    );
    for field in [
        "negative_prompt",
        "fps",
        "cfg_scale",
        "steps",
        "seed",
        "audio",
    ] {
        for base in [&t2v, &i2v, &r2v] {
            reject(
                p,
                field,
                &with(base.clone(), &format!("/input/{field}"), json!(1)),
            );
        }
    }
    for d in bad_durations() {
        for base in [&t2v, &i2v, &r2v] {
            reject(
                p,
                "duration",
                &with(base.clone(), "/input/duration", d.clone()),
            );
        }
    }
    // R2V page: 1-9 references, always an array, HTTPS.
    reject(
        p,
        "10 references",
        &with(r2v.clone(), "/input/reference_image", urls(10)),
    );
    reject(
        p,
        "0 references",
        &with(r2v.clone(), "/input/reference_image", urls(0)),
    );
    reject(
        p,
        "reference_image as a string",
        &with(
            r2v.clone(),
            "/input/reference_image",
            json!("https://a/b.jpg"),
        ),
    );
    reject(
        p,
        "http reference URL",
        &with(
            r2v.clone(),
            "/input/reference_image/0",
            json!("http://a.example/b.jpg"),
        ),
    );
    // I2V page: exactly one first frame; no aspect_ratio.
    reject(
        p,
        "2 first frames",
        &with(i2v.clone(), "/input/image_urls", urls(2)),
    );
    reject(
        p,
        "0 first frames",
        &with(i2v.clone(), "/input/image_urls", urls(0)),
    );
    reject(
        p,
        "aspect_ratio on I2V",
        &with(i2v.clone(), "/input/aspect_ratio", json!("16:9")),
    );
    reject(
        p,
        "I2V without image",
        &without(i2v.clone(), "/input/image_urls"),
    );
    // Required prompts, enums, the model id, the envelope.
    reject(
        p,
        "T2V without prompt",
        &without(t2v.clone(), "/input/prompt"),
    );
    reject(
        p,
        "R2V without prompt",
        &without(r2v.clone(), "/input/prompt"),
    );
    reject(
        p,
        "empty prompt",
        &with(t2v.clone(), "/input/prompt", json!("")),
    );
    reject(
        p,
        "4k",
        &with(t2v.clone(), "/input/resolution", json!("4k")),
    );
    reject(
        p,
        "2:1",
        &with(t2v.clone(), "/input/aspect_ratio", json!("2:1")),
    );
    reject(
        p,
        "unknown model",
        &with(t2v.clone(), "/model", json!("happyhorse-1.1")),
    );
    reject(
        p,
        "top-level unknown",
        &with(t2v.clone(), "/webhook", json!("x")),
    );
    reject(p, "no input", &without(t2v.clone(), "/input"));
    let callback = seed_example(p, "t2v-callback.json");
    reject(
        p,
        "http callback",
        &with(
            callback.clone(),
            "/callback/url",
            json!("http://x.example/cb"),
        ),
    );
    reject(
        p,
        "callback when",
        &with(callback.clone(), "/callback/when", json!("always")),
    );
    reject(
        p,
        "callback without url",
        &without(callback.clone(), "/callback/url"),
    );

    // And the boundaries that must pass.
    for d in [3, 15] {
        for base in [&t2v, &i2v, &r2v] {
            accept(
                p,
                "duration bound",
                &with(base.clone(), "/input/duration", json!(d)),
            );
        }
    }
    accept(
        p,
        "9 references",
        &with(r2v.clone(), "/input/reference_image", urls(9)),
    );
    accept(
        p,
        "1 reference",
        &with(r2v.clone(), "/input/reference_image", urls(1)),
    );
    accept(
        p,
        "I2V without prompt",
        &without(i2v.clone(), "/input/prompt"),
    );
    accept(p, "route", &with(t2v.clone(), "/route", json!("ext")));
    for ratio in [
        "16:9", "9:16", "3:4", "4:3", "4:5", "5:4", "1:1", "9:21", "21:9",
    ] {
        accept(
            p,
            ratio,
            &with(t2v.clone(), "/input/aspect_ratio", json!(ratio)),
        );
    }
}

#[test]
fn reapi_documented_rejections_are_rejected() {
    let p = Provider::Reapi;
    let t2v = seed_example(p, "t2v-curl.json");
    let i2v = seed_example(p, "i2v-modes.json");
    let r2v = seed_example(p, "r2v-modes.json");

    reject(
        p,
        "both media fields",
        &with(r2v.clone(), "/image_urls", urls(1)),
    );
    reject(
        p,
        "both media fields",
        &with(i2v.clone(), "/reference_image_urls", urls(2)),
    );
    reject(
        p,
        "2 first frames",
        &with(i2v.clone(), "/image_urls", urls(2)),
    );
    reject(
        p,
        "0 first frames",
        &with(i2v.clone(), "/image_urls", urls(0)),
    );
    reject(
        p,
        "10 references",
        &with(r2v.clone(), "/reference_image_urls", urls(10)),
    );
    reject(
        p,
        "0 references",
        &with(r2v.clone(), "/reference_image_urls", urls(0)),
    );
    reject(p, "T2V without prompt", &without(t2v.clone(), "/prompt"));
    reject(p, "R2V without prompt", &without(r2v.clone(), "/prompt"));
    reject(
        p,
        "data: URI",
        &with(
            i2v.clone(),
            "/image_urls/0",
            json!("data:image/png;base64,iVBORw0KGgo="),
        ),
    );
    reject(
        p,
        "base64",
        &with(
            r2v.clone(),
            "/reference_image_urls/0",
            json!("iVBORw0KGgo="),
        ),
    );
    for d in bad_durations() {
        for base in [&t2v, &i2v, &r2v] {
            reject(p, "duration", &with(base.clone(), "/duration", d.clone()));
        }
    }
    for field in [
        "negative_prompt",
        "fps",
        "cfg_scale",
        "steps",
        "seed",
        "audio",
    ] {
        for base in [&t2v, &i2v, &r2v] {
            reject(
                p,
                field,
                &with(base.clone(), &format!("/{field}"), json!(1)),
            );
        }
    }
    reject(
        p,
        "HiAPI's model id",
        &with(t2v.clone(), "/model", json!("happyhorse-1.1")),
    );
    reject(p, "no model", &without(t2v.clone(), "/model"));
    reject(p, "2:1", &with(t2v.clone(), "/aspect_ratio", json!("2:1")));

    accept(p, "I2V without prompt", &i2v);
    accept(
        p,
        "I2V with an ignored aspect_ratio",
        &with(i2v.clone(), "/aspect_ratio", json!("9:16")),
    );
    accept(
        p,
        "http media URL",
        &with(
            i2v.clone(),
            "/image_urls/0",
            json!("http://a.example/f.jpg"),
        ),
    );
    accept(
        p,
        "9 references",
        &with(r2v.clone(), "/reference_image_urls", urls(9)),
    );
    accept(
        p,
        "1 reference",
        &with(r2v.clone(), "/reference_image_urls", urls(1)),
    );
    accept(
        p,
        "21:9",
        &with(t2v.clone(), "/aspect_ratio", json!("21:9")),
    );
    // Past 5000 characters reapi truncates whatever the script: refused before it is paid
    // for. Over 2500 CJK characters within 5000 is truncated too, but a schema cannot weigh
    // characters: accepted (the crate warns).
    accept(
        p,
        "5000-character prompt",
        &with(t2v.clone(), "/prompt", json!("a".repeat(5000))),
    );
    accept(
        p,
        "CJK prompt weighing past 5000 (truncated upstream)",
        &with(t2v.clone(), "/prompt", json!("马".repeat(4000))),
    );
    for (label, body) in [
        ("T2V", t2v.clone()),
        ("I2V", i2v.clone()),
        ("R2V", r2v.clone()),
    ] {
        reject(
            p,
            &format!("5001-character prompt on {label}"),
            &with(body, "/prompt", json!("a".repeat(5001))),
        );
    }
}

#[test]
fn apiframe_documented_rejections_are_rejected() {
    let p = Provider::Apiframe;
    let base = seed_example(p, "quick-start.json");

    for ratio in ["21:9", "9:21", "4:5", "5:4", "2:1"] {
        reject(
            p,
            ratio,
            &with(
                base.clone(),
                "/happyhorse11Params/aspect_ratio",
                json!(ratio),
            ),
        );
    }
    for d in bad_durations() {
        reject(
            p,
            "duration",
            &with(base.clone(), "/happyhorse11Params/duration", d.clone()),
        );
    }
    reject(
        p,
        "10 images",
        &with(base.clone(), "/happyhorse11Params/images", urls(10)),
    );
    reject(
        p,
        "image not a URI",
        &with(
            base.clone(),
            "/happyhorse11Params/images/0",
            json!("not a url"),
        ),
    );
    for seed in [json!(-1), json!(2_147_483_648_i64), json!(1.5), json!("1")] {
        reject(
            p,
            "seed",
            &with(base.clone(), "/happyhorse11Params/seed", seed),
        );
    }
    reject(p, "empty prompt", &with(base.clone(), "/prompt", json!("")));
    reject(
        p,
        "2501-char prompt",
        &with(base.clone(), "/prompt", json!("a".repeat(2501))),
    );
    reject(p, "no prompt", &without(base.clone(), "/prompt"));
    reject(p, "no model", &without(base.clone(), "/model"));
    reject(
        p,
        "reapi's model id",
        &with(base.clone(), "/model", json!("happyhorse-1-1")),
    );
    reject(
        p,
        "the seed page's webhook_url",
        &with(base.clone(), "/webhook_url", json!("https://x.example/h")),
    );
    reject(
        p,
        "http webhookUrl",
        &with(base.clone(), "/webhookUrl", json!("http://x.example/h")),
    );
    reject(
        p,
        "empty webhookEvents",
        &with(base.clone(), "/webhookEvents", json!([])),
    );
    reject(
        p,
        "unknown event",
        &with(base.clone(), "/webhookEvents", json!(["started"])),
    );
    for field in ["negative_prompt", "fps", "cfg_scale", "steps", "audio"] {
        reject(
            p,
            field,
            &with(
                base.clone(),
                &format!("/happyhorse11Params/{field}"),
                json!(1),
            ),
        );
        reject(
            p,
            field,
            &with(base.clone(), &format!("/{field}"), json!(1)),
        );
    }

    accept(
        p,
        "no params (text-to-video)",
        &without(base.clone(), "/happyhorse11Params"),
    );
    accept(
        p,
        "0 images",
        &with(base.clone(), "/happyhorse11Params/images", urls(0)),
    );
    accept(
        p,
        "9 images",
        &with(base.clone(), "/happyhorse11Params/images", urls(9)),
    );
    for seed in [0_i64, 2_147_483_647] {
        accept(
            p,
            "seed bound",
            &with(base.clone(), "/happyhorse11Params/seed", json!(seed)),
        );
    }
    for d in [3, 15] {
        accept(
            p,
            "duration bound",
            &with(base.clone(), "/happyhorse11Params/duration", json!(d)),
        );
    }
    accept(
        p,
        "2500-char prompt",
        &with(base.clone(), "/prompt", json!("a".repeat(2500))),
    );
    let hooked = with(base.clone(), "/webhookUrl", json!("https://x.example/h"));
    accept(
        p,
        "webhook",
        &with(
            hooked,
            "/webhookEvents",
            json!(["progress", "completed", "failed"]),
        ),
    );
}
