//! Validation time per request: the hand-written layer and the compiled JSON Schema of
//! `openapi/*.yaml` (`jsonschema`, draft 4 with formats, compiled once outside the timing loop),
//! side by side on the same bodies (a valid seed example and a body with several errors, per
//! provider), plus the neutral `VideoRequest::to_wire`.
//!
//! Run: `cargo bench --bench validation`. Two kinds of work are compared, each against the
//! `jsonschema` call doing the same:
//!
//! - the verdict: `validate::is_valid` (stops at the first error, builds nothing) against
//!   `Validator::is_valid` (stops at the first error);
//! - the full report: `validate_body` (every error with its path and message, and for a valid
//!   body its warnings, which `jsonschema` has no counterpart for: the Apiframe seed example
//!   gets one) against `Validator::iter_errors` with each error's instance path and message
//!   rendered to strings (`jsonschema_errors`), and, as a floor, only counted
//!   (`jsonschema_errors_count`).
//!
//! Criterion's groups are `<provider>/<body>` with functions `layer_verdict`, `layer_report`,
//! `jsonschema_is_valid`, `jsonschema_errors` and `jsonschema_errors_count`. After them a
//! summary table prints, for each body and kind of work, the median time per call of the layer
//! and of `jsonschema`, measured in the same run by alternating samples of the two, and the
//! ratio layer / jsonschema (below 1: the layer is faster). A filter
//! (`cargo bench --bench validation -- hiapi/valid`) narrows criterion's groups; the summary
//! always runs in full (a few seconds). `-- --test` runs everything once, quickly.

use std::{
    fs,
    hint::black_box,
    path::PathBuf,
    time::{Duration, Instant},
};

use criterion::Criterion;
use happyhorse::{
    contract,
    request::VideoRequest,
    validate::{self, validate_body},
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

/// Every error `jsonschema` finds, rendered as a report holds it: instance path and message.
fn jsonschema_errors(validator: &jsonschema::Validator, body: &Value) -> Vec<(String, String)> {
    validator
        .iter_errors(body)
        .map(|e| (e.instance_path().to_string(), e.to_string()))
        .collect()
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
            assert_eq!(
                validate::is_valid(provider, &body),
                valid,
                "{provider} {label}"
            );
            assert_eq!(validator.is_valid(&body), valid, "{provider} {label}");
            if !valid {
                assert!(validate_body(provider, &body).errors.len() >= 4);
                assert!(validator.iter_errors(&body).count() >= 1);
            }

            let mut group = c.benchmark_group(format!("{provider}/{label}"));
            group.bench_function("layer_verdict", |b| {
                b.iter(|| validate::is_valid(provider, black_box(&body)))
            });
            group.bench_function("layer_report", |b| {
                b.iter(|| validate_body(provider, black_box(&body)))
            });
            group.bench_function("jsonschema_is_valid", |b| {
                b.iter(|| validator.is_valid(black_box(&body)))
            });
            group.bench_function("jsonschema_errors", |b| {
                b.iter(|| jsonschema_errors(&validator, black_box(&body)))
            });
            group.bench_function("jsonschema_errors_count", |b| {
                b.iter(|| validator.iter_errors(black_box(&body)).count())
            });
            group.finish();
        }
    }
}

/// Nanoseconds per call of `f`, over a sample of `iters` calls.
fn sample(iters: u64, f: &mut impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed().as_nanos() as f64 / iters as f64
}

/// How many calls of `f` take about `target`.
fn calibrate(target: Duration, f: &mut impl FnMut()) -> u64 {
    let mut iters = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        let elapsed = start.elapsed();
        if elapsed >= target / 10 || iters >= 1 << 30 {
            let per_call = elapsed.as_nanos().max(1) as f64 / iters as f64;
            return ((target.as_nanos() as f64 / per_call) as u64).max(1);
        }
        iters *= 10;
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// One line of the summary: the median nanoseconds per call of `layer` and of `schema`, from
/// `samples` samples of about 100 µs each, taken alternately (so drift in the machine's speed
/// falls on both alike), and their ratio.
fn row(
    samples: usize,
    body: &str,
    work: &str,
    (layer_name, mut layer): (&str, impl FnMut()),
    (schema_name, mut schema): (&str, impl FnMut()),
) {
    let target = Duration::from_micros(100);
    let (layer_iters, schema_iters) = (
        calibrate(target, &mut layer),
        calibrate(target, &mut schema),
    );
    let (mut layer_times, mut schema_times) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        layer_times.push(sample(layer_iters, &mut layer));
        schema_times.push(sample(schema_iters, &mut schema));
    }
    let (layer_ns, schema_ns) = (median(layer_times), median(schema_times));
    println!(
        "{body:<17} {work:<8} {layer_name:<19} {layer_ns:>9.1}   {schema_name:<30} {schema_ns:>9.1} \
         {:>6.2}",
        layer_ns / schema_ns
    );
}

/// The summary table: medians per call, the layer beside `jsonschema` doing the same work,
/// and their ratio. With `--test` (`cargo bench -- --test`), three samples each, to check it
/// runs.
fn summary() {
    let samples = if std::env::args().any(|a| a == "--test") {
        3
    } else {
        1001
    };
    println!();
    println!(
        "Validation summary: median ns per call over {samples} alternating samples of each; \
         ratio = layer / jsonschema (below 1: the layer is faster)."
    );
    println!(
        "{:<17} {:<8} {:<19} {:>9}   {:<30} {:>9} {:>6}",
        "body", "work", "layer", "ns", "jsonschema (same body)", "ns", "ratio"
    );
    for provider in Provider::ALL {
        let validator = compiled(provider);
        for (label, body) in bodies(provider) {
            let (body, name) = (&body, format!("{provider}/{label}"));
            row(
                samples,
                &name,
                "verdict",
                ("validate::is_valid", || {
                    black_box(validate::is_valid(provider, black_box(body)));
                }),
                ("is_valid", || {
                    black_box(validator.is_valid(black_box(body)));
                }),
            );
            row(
                samples,
                &name,
                "report",
                ("validate_body", || {
                    black_box(validate_body(provider, black_box(body)));
                }),
                ("iter_errors, paths + messages", || {
                    black_box(jsonschema_errors(&validator, black_box(body)));
                }),
            );
            row(
                samples,
                &name,
                "report",
                ("validate_body", || {
                    black_box(validate_body(provider, black_box(body)));
                }),
                ("iter_errors, counted", || {
                    black_box(validator.iter_errors(black_box(body)).count());
                }),
            );
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

fn main() {
    let mut c = config().configure_from_args();
    validation(&mut c);
    conversion(&mut c);
    c.final_summary();
    summary();
}
