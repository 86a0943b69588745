//! Validation time per request: the hand-written layer (`validate_body`) and the compiled
//! JSON Schema of `openapi/*.yaml` (`jsonschema`, draft 4 with formats, compiled once outside
//! the timing loop), side by side on the same bodies, plus the neutral `VideoRequest::to_wire`.
//!
//! Run: `cargo bench --bench validation`. Groups are `<provider>/<body>`; in each, `layer` is
//! `validate_body` (a full report: every error and warning), `jsonschema` is
//! `Validator::is_valid` (stops at the first error) and `jsonschema_all_errors` counts
//! `Validator::iter_errors` (every error, like the layer).

use std::{fs, hint::black_box, path::PathBuf, time::Duration};

use criterion::{criterion_group, criterion_main, Criterion};
use happyhorse::{
    contract,
    request::VideoRequest,
    validate::validate_body,
    values::{self, AspectRatio, HttpUrl, Prompt, References, Resolution},
    Provider,
};
use serde_json::{json, Value};

/// A seed page's example body from `tests/fixtures/seed-examples/<provider>/<name>`.
fn seed_example(provider: Provider, name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seed-examples")
        .join(provider.name())
        .join(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn urls(n: usize, scheme: &str) -> Value {
    json!((1..=n)
        .map(|i| format!("{scheme}://cdn.example.com/ref-{i}.jpg"))
        .collect::<Vec<_>>())
}

/// A valid seed example and a body with several errors, per provider.
fn bodies(provider: Provider) -> [(&'static str, Value); 2] {
    match provider {
        Provider::HiApi => [
            ("valid", seed_example(provider, "r2v-callback.json")),
            (
                "invalid",
                json!({
                    "model": "happyhorse-1.1/reference-to-video",
                    "input": {
                        "prompt": "",
                        "reference_image": urls(10, "http"),
                        "resolution": "4k",
                        "duration": 20,
                        "seed": 7
                    },
                    "callback": {"url": "http://x.example/cb", "when": "always"}
                }),
            ),
        ],
        Provider::Reapi => [
            ("valid", seed_example(provider, "r2v-modes.json")),
            (
                "invalid",
                json!({
                    "model": "happyhorse-1.1",
                    "prompt": "",
                    "image_urls": ["data:image/png;base64,iVBORw0KGgo="],
                    "reference_image_urls": urls(10, "https"),
                    "aspect_ratio": "2:1",
                    "duration": 2,
                    "negative_prompt": "blur"
                }),
            ),
        ],
        Provider::Apiframe => [
            ("valid", seed_example(provider, "quick-start.json")),
            (
                "invalid",
                json!({
                    "prompt": "a".repeat(2501),
                    "model": "happyhorse-1.1",
                    "happyhorse11Params": {
                        "images": urls(10, "https"),
                        "aspect_ratio": "21:9",
                        "duration": 16,
                        "seed": -1,
                        "audio": true
                    },
                    "webhook_url": "https://x.example/hook",
                    "webhookEvents": []
                }),
            ),
        ],
    }
}

fn compiled(provider: Provider) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&contract::request_schema(provider))
        .unwrap_or_else(|e| panic!("{provider}: {e}"))
}

fn validation(c: &mut Criterion) {
    for provider in Provider::ALL {
        let validator = compiled(provider);
        for (label, body) in bodies(provider) {
            // Both judges must agree on what is being measured.
            let valid = label == "valid";
            assert_eq!(
                validate_body(provider, &body).is_valid(),
                valid,
                "{provider} {label}"
            );
            assert_eq!(validator.is_valid(&body), valid, "{provider} {label}");
            if !valid {
                assert!(validate_body(provider, &body).errors.len() >= 4);
                assert!(validator.iter_errors(&body).count() >= 1);
            }

            let mut group = c.benchmark_group(format!("{provider}/{label}"));
            group.bench_function("layer", |b| {
                b.iter(|| validate_body(provider, black_box(&body)))
            });
            group.bench_function("jsonschema", |b| {
                b.iter(|| validator.is_valid(black_box(&body)))
            });
            group.bench_function("jsonschema_all_errors", |b| {
                b.iter(|| validator.iter_errors(black_box(&body)).count())
            });
            group.finish();
        }
    }
}

/// A request every provider serves: reference-to-video with two references and options.
fn neutral_request() -> VideoRequest {
    let references = References::new(vec![
        HttpUrl::new("https://cdn.example.com/char.jpg").expect("valid URL"),
        HttpUrl::new("https://cdn.example.com/street.jpg").expect("valid URL"),
    ])
    .expect("two references");
    VideoRequest::reference_to_video(
        Prompt::new("The character in [Image 1] walks across the city street in [Image 2]")
            .expect("non-empty"),
        references,
    )
    .with_resolution(Resolution::P1080)
    .with_aspect_ratio(AspectRatio::Landscape16x9)
    .with_duration(values::VideoDuration::new(8).expect("3..=15"))
}

fn conversion(c: &mut Criterion) {
    let request = neutral_request();
    let mut group = c.benchmark_group("to_wire");
    for provider in Provider::ALL {
        assert!(request.to_wire(provider).is_ok(), "{provider}");
        group.bench_function(provider.name(), |b| {
            b.iter(|| black_box(&request).to_wire(provider))
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = validation, conversion
}
criterion_main!(benches);
