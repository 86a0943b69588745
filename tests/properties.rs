//! Property tests: the hand-written validation layer against the OpenAPI documents.
//!
//! What a user relies on, checked on generated bodies for every provider and mode:
//! - `validate_body` says "valid" exactly when the provider's JSON Schema (`openapi/*.yaml`,
//!   draft 4 with formats) does, so a local verdict is the contract's verdict, and
//!   `is_valid` (the walk that stops at the first error) says the same;
//! - every valid body survives the generated wire types unchanged (one documented
//!   normalisation: Apiframe's `happyhorse11Params.images: []` is sent as absent, and both
//!   mean text-to-video);
//! - a provider-neutral `VideoRequest` either converts into a body both judges accept, in the
//!   mode asked for, or is refused with reasons, exactly when the capability matrix says so.
//!
//! Bodies and requests come from the crate's public strategies (`happyhorse::strategies`,
//! feature `proptest`): a valid base per provider and mode plus zero to three near-miss edits
//! (boundary durations, 0/1/9/10 media, unknown fields, wrong types, wrong enums, over-long
//! prompts, URLs of every kind); `generated_cases_mix_valid_and_invalid_ones` holds both
//! shares non-trivial, and `valid_bodies_are_valid` holds the valid ones valid.
//!
//! Case count: `PROPTEST_CASES` cases per test (default 10 000), one test per provider and
//! mode.
//!
//! Regression seeds: a failing case is saved to `tests/properties.proptest-regressions`, next
//! to this file (`FileFailurePersistence::WithSource`, set below; proptest's default
//! `SourceParallel` finds no `lib.rs` above `tests/` and falls back to the same path with a
//! warning). Commit that file: proptest replays its seeds before new cases on every run.

#![cfg(feature = "proptest")]

mod common;

use std::sync::LazyLock;

use common::{errors, request_validator};
use happyhorse::{
    request::{Mode, VideoRequest, WireBody},
    strategies::{body, pools::IP_LITERAL_URLS, valid_body, video_request, Kind},
    validate::{is_valid, validate_body},
    values::{AspectRatio, HttpUrl, Prompt, Resolution, Seed, VideoDuration},
    Provider,
};
use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{FileFailurePersistence, TestRunner},
};
use serde_json::{json, Value};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

/// The compiled request schemas, built once for the whole file (in `Provider::ALL` order).
static SCHEMAS: LazyLock<[jsonschema::Validator; 3]> =
    LazyLock::new(|| Provider::ALL.map(request_validator));

fn schema(provider: Provider) -> &'static jsonschema::Validator {
    &SCHEMAS[provider as usize]
}

// ---------------------------------------------------------------------------------------------
// The properties on bodies
// ---------------------------------------------------------------------------------------------

fn explain(provider: Provider, body: &Value) -> String {
    let layer = validate_body(provider, body);
    let layer: Vec<String> = layer.errors.iter().map(ToString::to_string).collect();
    format!(
        "{provider} body:\n{}\nlayer errors: {layer:#?}\nschema errors: {:#?}",
        serde_json::to_string_pretty(body).expect("serializable"),
        errors(schema(provider), body)
    )
}

/// What the generated types are expected to send for a valid body: the body itself, except
/// that Apiframe's empty `images` list is sent as absent (both mean text-to-video).
fn normalised(provider: Provider, body: &Value) -> Value {
    let mut body = body.clone();
    if provider == Provider::Apiframe {
        if let Some(params) = body
            .get_mut("happyhorse11Params")
            .and_then(Value::as_object_mut)
        {
            if params.get("images").is_some_and(|i| i == &json!([])) {
                params.remove("images");
            }
        }
    }
    body
}

/// The layer and the schema agree on `body` (the layer's verdict-only walk too); when valid,
/// it round-trips the generated types.
fn check_body(provider: Provider, body: &Value) -> Result<(), TestCaseError> {
    let layer = validate_body(provider, body).is_valid();
    prop_assert_eq!(
        is_valid(provider, body),
        layer,
        "the verdict-only walk and the report disagree\n{}",
        explain(provider, body)
    );
    let contract = schema(provider).is_valid(body);
    prop_assert_eq!(
        layer,
        contract,
        "layer and schema disagree (layer valid: {}, schema valid: {})\n{}",
        layer,
        contract,
        explain(provider, body)
    );
    if contract {
        let wire = WireBody::from_json(provider, body.clone());
        prop_assert!(
            wire.is_ok(),
            "the generated {} types refuse a valid body: {:?}\n{}",
            provider,
            wire.err(),
            body
        );
        let sent = wire.expect("checked").to_json();
        prop_assert_eq!(
            &sent,
            &normalised(provider, body),
            "the generated {} types change a valid body",
            provider
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn hiapi_text_to_video_bodies_get_the_schemas_verdict_and_round_trip(body in body(Provider::HiApi, Kind::Text)) {
        check_body(Provider::HiApi, &body)?;
    }

    #[test]
    fn hiapi_image_to_video_bodies_get_the_schemas_verdict_and_round_trip(body in body(Provider::HiApi, Kind::Image)) {
        check_body(Provider::HiApi, &body)?;
    }

    #[test]
    fn hiapi_reference_to_video_bodies_get_the_schemas_verdict_and_round_trip(body in body(Provider::HiApi, Kind::Reference)) {
        check_body(Provider::HiApi, &body)?;
    }

    #[test]
    fn reapi_text_to_video_bodies_get_the_schemas_verdict_and_round_trip(body in body(Provider::Reapi, Kind::Text)) {
        check_body(Provider::Reapi, &body)?;
    }

    #[test]
    fn reapi_image_to_video_bodies_get_the_schemas_verdict_and_round_trip(body in body(Provider::Reapi, Kind::Image)) {
        check_body(Provider::Reapi, &body)?;
    }

    #[test]
    fn reapi_reference_to_video_bodies_get_the_schemas_verdict_and_round_trip(body in body(Provider::Reapi, Kind::Reference)) {
        check_body(Provider::Reapi, &body)?;
    }

    #[test]
    fn apiframe_text_to_video_bodies_get_the_schemas_verdict_and_round_trip(body in body(Provider::Apiframe, Kind::Text)) {
        check_body(Provider::Apiframe, &body)?;
    }

    #[test]
    fn apiframe_image_to_video_bodies_get_the_schemas_verdict_and_round_trip(body in body(Provider::Apiframe, Kind::Image)) {
        check_body(Provider::Apiframe, &body)?;
    }

    #[test]
    fn apiframe_reference_to_video_bodies_get_the_schemas_verdict_and_round_trip(body in body(Provider::Apiframe, Kind::Reference)) {
        check_body(Provider::Apiframe, &body)?;
    }
}

// ---------------------------------------------------------------------------------------------
// The provider-neutral request
// ---------------------------------------------------------------------------------------------

fn kind_of(request: &VideoRequest) -> Kind {
    Kind::of(&request.mode)
}

fn prompt_of(request: &VideoRequest) -> Option<&str> {
    match &request.mode {
        Mode::TextToVideo { prompt } | Mode::ReferenceToVideo { prompt, .. } => {
            Some(prompt.as_str())
        }
        Mode::ImageToVideo { prompt, .. } => prompt.as_ref().map(Prompt::as_str),
    }
}

fn media_of(request: &VideoRequest) -> Vec<&str> {
    match &request.mode {
        Mode::TextToVideo { .. } => Vec::new(),
        Mode::ImageToVideo { first_frame, .. } => vec![first_frame.as_str()],
        Mode::ReferenceToVideo { references, .. } => {
            references.urls().iter().map(HttpUrl::as_str).collect()
        }
    }
}

/// The documents' callback URL pattern (HiAPI `Callback.url`, Apiframe `webhookUrl`): HTTPS,
/// or plain http to a loopback host.
fn documented_callback(url: &str) -> bool {
    let documents = [
        (
            Provider::HiApi,
            "/components/schemas/Callback/properties/url/pattern",
        ),
        (
            Provider::Apiframe,
            "/components/schemas/GenerateVideoRequest/properties/webhookUrl/pattern",
        ),
    ];
    let verdicts: Vec<bool> = documents
        .iter()
        .map(|(provider, pointer)| {
            let pattern = happyhorse::contract::openapi(*provider)
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{provider}: no pattern at {pointer}"));
            regress::Regex::new(pattern)
                .expect("the documents' pattern compiles")
                .find(url)
                .is_some()
        })
        .collect();
    assert!(
        verdicts.iter().all(|v| *v == verdicts[0]),
        "the documents disagree on {url}"
    );
    verdicts[0]
}

/// Whether HiAPI's document takes `url` as a reference image (HTTPS, or plain http to a
/// loopback host, as its callbacks: the pattern is the same, and so is the verdict).
fn documented_reference(url: &str) -> bool {
    let pointer =
        "/components/schemas/ReferenceToVideoInput/properties/reference_image/items/pattern";
    let pattern = happyhorse::contract::openapi(Provider::HiApi)
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("hiapi: no pattern at {pointer}"));
    let verdict = regress::Regex::new(pattern)
        .expect("the documents' pattern compiles")
        .find(url)
        .is_some();
    assert_eq!(verdict, documented_callback(url), "{url}");
    verdict
}

/// Why `provider` must refuse `request`, as the start of each expected reason: the capability
/// matrix of the three providers, stated independently of the crate's code.
fn expected_refusals(provider: Provider, request: &VideoRequest) -> Vec<&'static str> {
    let mut out = Vec::new();
    // No provider has an audio toggle; only Apiframe has seeds; reapi has no callbacks and
    // the others want HTTPS.
    if request.audio.is_some() {
        out.push("audio");
    }
    if request.seed.is_some() && provider != Provider::Apiframe {
        out.push("seed");
    }
    if let Some(url) = &request.callback_url {
        if provider == Provider::Reapi || !documented_callback(url.as_str()) {
            out.push("callback_url");
        }
    }
    match (provider, &request.mode) {
        (Provider::HiApi, Mode::ImageToVideo { .. }) if request.aspect_ratio.is_some() => {
            out.push("aspect_ratio")
        }
        (Provider::HiApi, Mode::ReferenceToVideo { references, .. })
            if references
                .urls()
                .iter()
                .any(|u| !documented_reference(u.as_str())) =>
        {
            out.push("input.reference_image")
        }
        (Provider::Apiframe, Mode::ReferenceToVideo { references, .. })
            if references.len() == 1 =>
        {
            out.push("references")
        }
        _ => {}
    }
    if provider == Provider::Apiframe {
        if request.aspect_ratio.is_some_and(|r| !r.on_apiframe()) {
            out.push("aspect_ratio");
        }
        match prompt_of(request) {
            None => out.push("prompt"),
            Some(p) if p.chars().count() > 2500 => out.push("prompt"),
            Some(_) => {}
        }
    }
    // HiAPI (assumed) and reapi take at most 5000 characters; a `Prompt` holds no more, so
    // this never fires, but the matrix says it.
    if prompt_of(request).is_some_and(|p| p.chars().count() > 5000) {
        match provider {
            Provider::HiApi => out.push("input.prompt"),
            Provider::Reapi => out.push("prompt"),
            Provider::Apiframe => {}
        }
    }
    out
}

/// HiAPI's model ids, one per mode in `Kind` order.
fn hiapi_models() -> &'static [&'static str] {
    Provider::HiApi.facts().models
}

/// The mode a wire body asks for, read the way each provider reads it.
fn kind_of_body(provider: Provider, body: &Value) -> Option<Kind> {
    match provider {
        Provider::HiApi => {
            let model = body["model"].as_str()?;
            let i = hiapi_models().iter().position(|m| *m == model)?;
            Some([Kind::Text, Kind::Image, Kind::Reference][i])
        }
        Provider::Reapi => Some(
            match (body.get("image_urls"), body.get("reference_image_urls")) {
                (None, None) => Kind::Text,
                (Some(_), None) => Kind::Image,
                (None, Some(_)) => Kind::Reference,
                (Some(_), Some(_)) => return None,
            },
        ),
        Provider::Apiframe => {
            let images = body["happyhorse11Params"]["images"]
                .as_array()
                .map_or(0, Vec::len);
            Some(match images {
                0 => Kind::Text,
                1 => Kind::Image,
                _ => Kind::Reference,
            })
        }
    }
}

/// Where each provider keeps the prompt, the media and the options.
fn wire_field<'a>(provider: Provider, body: &'a Value, field: &str) -> &'a Value {
    let (container, name) = match (provider, field) {
        (Provider::HiApi, "media") => (&body["input"], media_field(body)),
        (Provider::HiApi, "callback") => (&body["callback"], "url"),
        (Provider::HiApi, _) => (&body["input"], field),
        (Provider::Reapi, "media") => (body, media_field(body)),
        (Provider::Reapi, _) => (body, field),
        (Provider::Apiframe, "media") => (&body["happyhorse11Params"], "images"),
        (Provider::Apiframe, "callback") => (body, "webhookUrl"),
        (Provider::Apiframe, "prompt") => (body, "prompt"),
        (Provider::Apiframe, _) => (&body["happyhorse11Params"], field),
    };
    &container[name]
}

fn media_field(body: &Value) -> &'static str {
    let input = body.get("input").unwrap_or(body);
    ["image_urls", "reference_image", "reference_image_urls"]
        .into_iter()
        .find(|f| input.get(*f).is_some())
        .unwrap_or("image_urls")
}

fn prompt_weight(prompt: &str) -> usize {
    prompt
        .chars()
        .map(|c| {
            if ('\u{4E00}'..='\u{9FFF}').contains(&c) {
                2
            } else {
                1
            }
        })
        .sum()
}

/// A request converts exactly when the matrix allows, into a body both judges accept that
/// says what was asked; otherwise it is refused with every expected reason.
fn check_request(request: &VideoRequest) -> Result<(), TestCaseError> {
    for provider in Provider::ALL {
        let expected = expected_refusals(provider, request);
        match request.to_wire(provider) {
            Ok(wire) => {
                prop_assert!(
                    expected.is_empty(),
                    "{} served a request it cannot serve ({:?}): {:?}",
                    provider,
                    expected,
                    request
                );
                let body = wire.body.to_json();
                prop_assert!(
                    schema(provider).is_valid(&body),
                    "to_wire built a body the schema refuses\n{}",
                    explain(provider, &body)
                );
                prop_assert!(
                    validate_body(provider, &body).is_valid(),
                    "to_wire built a body the layer refuses\n{}",
                    explain(provider, &body)
                );
                prop_assert_eq!(kind_of_body(provider, &body), Some(kind_of(request)));
                let field = |name: &str| wire_field(provider, &body, name).clone();
                prop_assert_eq!(field("prompt"), json!(prompt_of(request)));
                let media = media_of(request);
                prop_assert_eq!(
                    field("media"),
                    if media.is_empty() {
                        Value::Null
                    } else {
                        json!(media)
                    }
                );
                prop_assert_eq!(
                    field("duration"),
                    json!(request.duration.map(VideoDuration::seconds))
                );
                prop_assert_eq!(
                    field("resolution"),
                    json!(request.resolution.map(Resolution::as_str))
                );
                prop_assert_eq!(
                    field("aspect_ratio"),
                    json!(request.aspect_ratio.map(AspectRatio::as_str))
                );
                prop_assert_eq!(field("seed"), json!(request.seed.map(Seed::get)));
                if provider != Provider::Reapi {
                    prop_assert_eq!(
                        field("callback"),
                        json!(request.callback_url.as_ref().map(HttpUrl::as_str))
                    );
                }
                let truncated = provider == Provider::Reapi
                    && prompt_of(request).is_some_and(|p| prompt_weight(p) > 5000);
                prop_assert_eq!(
                    wire.warnings
                        .iter()
                        .any(|w| w.path == "prompt" && w.message.contains("truncates")),
                    truncated,
                    "reapi warns exactly when it will truncate the prompt: {:?}",
                    wire.warnings
                );
            }
            Err(unsupported) => {
                prop_assert_eq!(unsupported.provider, provider);
                prop_assert!(!unsupported.reasons.is_empty(), "refused without a reason");
                prop_assert!(
                    !expected.is_empty(),
                    "{} refused a request it can serve: {:?}\n{:?}",
                    provider,
                    unsupported.reasons,
                    request
                );
                for reason in &expected {
                    prop_assert!(
                        unsupported.reasons.iter().any(|r| r.starts_with(reason)),
                        "{} did not say `{}`: {:?}",
                        provider,
                        reason,
                        unsupported.reasons
                    );
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// A prompt is refused exactly when it is blank or past 5000 characters, whatever their
    /// width in bytes, and the refusal says the bound.
    #[test]
    fn prompts_are_refused_exactly_past_5000_characters(
        chars in prop_oneof![4990usize..=5010, 0usize..=20, 10_000usize..=10_010],
        c in proptest::sample::select(vec!['a', ' ', '马', '🐎', 'é']),
    ) {
        let text: String = std::iter::repeat_n(c, chars).collect();
        let blank = c == ' ' || chars == 0;
        match Prompt::new(text) {
            Ok(prompt) => {
                prop_assert!(chars <= 5000 && !blank, "{} accepted", chars);
                prop_assert_eq!(prompt.chars(), chars);
            }
            Err(err) if chars > 5000 => {
                let want = format!("maxLength: got {chars}, want 5000:");
                prop_assert!(err.rule.starts_with(&want), "{}", err.rule);
            }
            Err(_) => prop_assert!(blank, "{} refused", chars),
        }
    }

    #[test]
    fn neutral_text_to_video_requests_convert_exactly_where_a_provider_can_serve_them(request in video_request(Kind::Text)) {
        check_request(&request)?;
    }

    #[test]
    fn neutral_image_to_video_requests_convert_exactly_where_a_provider_can_serve_them(request in video_request(Kind::Image)) {
        check_request(&request)?;
    }

    #[test]
    fn neutral_reference_to_video_requests_convert_exactly_where_a_provider_can_serve_them(request in video_request(Kind::Reference)) {
        check_request(&request)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic checks on top
// ---------------------------------------------------------------------------------------------

const KINDS: [Kind; 3] = Kind::ALL;

fn sample<T: std::fmt::Debug>(strategy: &BoxedStrategy<T>, runner: &mut TestRunner) -> T {
    strategy.new_tree(runner).expect("no rejections").current()
}

#[test]
fn generated_cases_mix_valid_and_invalid_ones() {
    // A fixed seed, so the shares are the same on every run.
    let mut runner = TestRunner::deterministic();
    for provider in Provider::ALL {
        for kind in KINDS {
            let strategy = body(provider, kind);
            let valid = (0..400)
                .filter(|_| schema(provider).is_valid(&sample(&strategy, &mut runner)))
                .count();
            assert!(
                (100..=300).contains(&valid),
                "{provider} {kind:?}: {valid} of 400 generated bodies are valid; want 25-75 %"
            );
        }
    }
    for kind in KINDS {
        let strategy = video_request(kind);
        let requests: Vec<VideoRequest> =
            (0..400).map(|_| sample(&strategy, &mut runner)).collect();
        for provider in Provider::ALL {
            let served = requests
                .iter()
                .filter(|r| r.to_wire(provider).is_ok())
                .count();
            assert!(
                (40..=360).contains(&served),
                "{provider} serves {served} of 400 generated {kind:?} requests; want both outcomes"
            );
        }
    }
}

/// What `strategies::valid_body` promises a downstream user: every body is valid, by the
/// layer and by the document's schema, for every provider and kind.
#[test]
fn valid_bodies_are_valid() {
    let mut runner = TestRunner::deterministic();
    for provider in Provider::ALL {
        for kind in KINDS {
            let strategy = valid_body(provider, kind);
            for _ in 0..500 {
                let body = sample(&strategy, &mut runner);
                assert!(
                    schema(provider).is_valid(&body) && validate_body(provider, &body).is_valid(),
                    "{provider} {kind:?}: {}",
                    explain(provider, &body)
                );
            }
        }
    }
}

fn servable_everywhere() -> VideoRequest {
    VideoRequest::text_to_video(Prompt::new("A horse on a beach").unwrap())
        .with_resolution(Resolution::P720)
        .with_aspect_ratio(AspectRatio::Landscape16x9)
        .with_duration(VideoDuration::new(5).unwrap())
}

#[test]
fn an_audio_toggle_is_refused_by_every_provider() {
    for provider in Provider::ALL {
        assert!(
            servable_everywhere().to_wire(provider).is_ok(),
            "{provider}"
        );
        for audio in [true, false] {
            let mut request = servable_everywhere();
            request.audio = Some(audio);
            let refusal = request.to_wire(provider).unwrap_err();
            assert!(
                refusal.reasons.iter().any(|r| r.starts_with("audio:")),
                "{provider}: {refusal}"
            );
        }
    }
}

#[test]
fn a_seed_is_sent_by_apiframe_and_refused_by_hiapi_and_reapi() {
    let request = servable_everywhere().with_seed(Seed::new(42).unwrap());
    for provider in [Provider::HiApi, Provider::Reapi] {
        let refusal = request.to_wire(provider).unwrap_err();
        assert!(
            refusal.reasons.iter().any(|r| r.starts_with("seed:")),
            "{provider}: {refusal}"
        );
    }
    let body = request.to_wire(Provider::Apiframe).unwrap().body.to_json();
    assert_eq!(body["happyhorse11Params"]["seed"], 42);
}

#[test]
fn apiframe_sends_an_empty_image_list_as_absent() {
    let with_empty = json!({
        "prompt": "A horse on a beach",
        "model": "happyhorse-1.1",
        "happyhorse11Params": {"images": [], "duration": 5}
    });
    let sent = WireBody::from_json(Provider::Apiframe, with_empty.clone())
        .unwrap()
        .to_json();
    assert_eq!(sent, normalised(Provider::Apiframe, &with_empty));
    assert_eq!(sent["happyhorse11Params"], json!({"duration": 5}));
    // Both forms are text-to-video, and both judges accept both.
    for body in [&with_empty, &sent] {
        assert!(schema(Provider::Apiframe).is_valid(body));
        assert!(validate_body(Provider::Apiframe, body).is_valid());
    }
}

// Minimal reproductions of disagreements the properties above found between the layer and the
// schema, kept as regression tests.

#[test]
fn a_reference_to_video_body_without_input_is_reported_like_the_other_models() {
    let schema_verdict = schema(Provider::HiApi).is_valid(&json!({"model": hiapi_models()[2]}));
    assert!(!schema_verdict, "the schema requires `input`");
    let expected = validate_body(Provider::HiApi, &json!({"model": hiapi_models()[0]}));
    // At d8eeac8 `validate_body` panics here (`map["input"]` on a body without `input`).
    let report = std::panic::catch_unwind(|| {
        validate_body(Provider::HiApi, &json!({"model": hiapi_models()[2]}))
    })
    .expect("validate_body must report a missing input, not panic");
    assert_eq!(report.errors, expected.errors);
}

/// Found by the properties: the layer refused `https://[v1.fe]/x.jpg` (IPvFuture) and accepted
/// `https://[1:2]/x.jpg`; fixed in d8eeac8.
#[test]
fn ip_literal_hosts_get_the_schemas_verdict() {
    let mut disagreements = Vec::new();
    for url in IP_LITERAL_URLS {
        let bodies = [
            (
                Provider::HiApi,
                json!({"model": hiapi_models()[0], "input": {"prompt": "p"}, "callback": {"url": url}}),
            ),
            (
                Provider::Apiframe,
                json!({"prompt": "p", "model": "happyhorse-1.1", "happyhorse11Params": {"images": [url]}}),
            ),
        ];
        for (provider, body) in bodies {
            let layer = validate_body(provider, &body).is_valid();
            let contract = schema(provider).is_valid(&body);
            if layer != contract {
                disagreements.push(format!(
                    "{provider} {url}: layer {layer}, schema {contract}"
                ));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "RFC 3986 IP-literal hosts:\n{}",
        disagreements.join("\n")
    );
}
