//! The validation layer: the providers' own wording, every error at once, warnings apart from
//! errors, the neutral request's capability checks, and the typed values' bounds against the
//! OpenAPI documents.

mod common;

use common::{request_validator, seed_example, seed_examples, with, without};
use happyhorse::{
    request::VideoRequest,
    validate::validate_body,
    values::{AspectRatio, HttpUrl, Prompt, References, Resolution, Seed, VideoDuration},
    Provider,
};
use serde_json::{json, Value};

fn provider_messages(provider: Provider, body: &Value) -> Vec<String> {
    validate_body(provider, body)
        .errors
        .iter()
        .map(|e| e.provider_message())
        .collect()
}

fn lines(provider: Provider, body: &Value) -> Vec<String> {
    validate_body(provider, body)
        .errors
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_messages_the_seed_pages_quote_are_reproduced_word_for_word() {
    let t2v = seed_example(Provider::HiApi, "t2v-minimal.json");
    let r2v = seed_example(Provider::HiApi, "r2v-minimal.json");
    let refs: Vec<String> = (1..=10)
        .map(|i| format!("https://a.example/{i}.jpg"))
        .collect();
    let cases = [
        (
            with(t2v.clone(), "/input/seed", json!(1)),
            "additional properties 'seed' not allowed",
        ),
        (
            with(t2v.clone(), "/input/audio", json!(true)),
            "additional properties 'audio' not allowed",
        ),
        (
            with(t2v.clone(), "/input/duration", json!(0)),
            "duration: minimum: got 0, want 3",
        ),
        (
            with(t2v.clone(), "/input/duration", json!(20)),
            "duration: maximum: got 20, want 15",
        ),
        (
            with(
                r2v.clone(),
                "/input/reference_image",
                json!("https://a.example/1.jpg"),
            ),
            "reference_image: got string, want array",
        ),
        (
            with(r2v.clone(), "/input/reference_image", json!(refs)),
            "reference_image: maxItems: got 10, want 9",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(provider_messages(Provider::HiApi, &body), [expected]);
    }
    // The R2V page's enum message starts the same way.
    let bad_ratio = with(r2v, "/input/aspect_ratio", json!("2:1"));
    assert!(provider_messages(Provider::HiApi, &bad_ratio)[0]
        .starts_with("aspect_ratio: value must be one of \"16:9\", \"9:16\""));
}

#[test]
fn every_error_in_a_body_is_reported_at_once_with_its_path() {
    let body = json!({
        "model": "happyhorse-1.1/reference-to-video",
        "input": {
            "reference_image": ["http://a.example/1.jpg", 7],
            "duration": 5.5,
            "resolution": "4k",
            "fps": 24
        },
        "callback": {"url": "https://me.example/cb", "when": "always"}
    });
    assert_eq!(
        lines(Provider::HiApi, &body),
        [
            "input: missing property 'prompt'",
            "input: additional properties 'fps' not allowed",
            "input.reference_image[0]: 'http://a.example/1.jpg' must be an https:// URL (plain http:// only to localhost, 127.x.x.x or [::1])",
            "input.reference_image[1]: got integer, want string",
            "input.resolution: value must be one of \"720p\", \"1080p\"",
            "input.duration: got number, want integer",
            "callback.when: value must be one of \"final\"",
        ]
    );
}

#[test]
fn decimals_and_strings_are_refused_where_integers_belong() {
    for (provider, name, pointer) in [
        (Provider::HiApi, "t2v-minimal.json", "/input/duration"),
        (Provider::Reapi, "t2v-curl.json", "/duration"),
        (
            Provider::Apiframe,
            "quick-start.json",
            "/happyhorse11Params/duration",
        ),
        (
            Provider::Apiframe,
            "quick-start.json",
            "/happyhorse11Params/seed",
        ),
    ] {
        for (value, got) in [(json!(5.5), "number"), (json!("5"), "string")] {
            let body = with(seed_example(provider, name), pointer, value);
            let report = validate_body(provider, &body);
            assert_eq!(report.errors.len(), 1, "{provider} {pointer}");
            assert_eq!(report.errors[0].message, format!("got {got}, want integer"));
        }
    }
}

#[test]
fn every_seed_example_is_valid_and_agrees_with_the_schema() {
    for (provider, name, body) in seed_examples() {
        let report = validate_body(provider, &body);
        assert!(report.is_valid(), "{provider}/{name}: {report}");
        assert!(request_validator(provider).is_valid(&body));
    }
}

#[test]
fn reapi_mode_rules_are_enforced_by_media_field() {
    let r2v = seed_example(Provider::Reapi, "r2v-modes.json");
    let both = with(
        r2v.clone(),
        "/image_urls",
        json!(["https://a.example/f.jpg"]),
    );
    let errors = lines(Provider::Reapi, &both);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("$: image_urls and reference_image_urls are mutually exclusive"));

    assert_eq!(
        lines(Provider::Reapi, &without(r2v, "/prompt")),
        ["$: missing property 'prompt'"]
    );
    let i2v = seed_example(Provider::Reapi, "i2v-modes.json");
    let data = with(
        i2v.clone(),
        "/image_urls",
        json!(["data:image/png;base64,AAAA"]),
    );
    assert!(lines(Provider::Reapi, &data)[0].contains("data: URIs and base64 are not accepted"));
    let two = with(
        i2v,
        "/image_urls",
        json!(["https://a/1.jpg", "https://a/2.jpg"]),
    );
    assert_eq!(
        lines(Provider::Reapi, &two),
        ["image_urls: maxItems: got 2, want 1"]
    );
}

#[test]
fn ignored_and_truncated_fields_are_warnings_not_errors() {
    let i2v = with(
        seed_example(Provider::Reapi, "i2v-modes.json"),
        "/aspect_ratio",
        json!("9:16"),
    );
    let report = validate_body(Provider::Reapi, &i2v);
    assert!(report.is_valid());
    assert_eq!(report.warnings[0].path, "aspect_ratio");

    // Within 5000 characters but past a weight of 5000 (a CJK character weighs two): reapi
    // truncates it, and a schema cannot weigh characters, so it is a warning.
    let cjk = with(
        seed_example(Provider::Reapi, "t2v-curl.json"),
        "/prompt",
        json!("马".repeat(2501)),
    );
    let report = validate_body(Provider::Reapi, &cjk);
    assert!(report.is_valid());
    assert_eq!(report.warnings.len(), 1);
    assert!(report.warnings[0].message.contains("truncates"));
    // Past 5000 characters it is truncated whatever the script: refused.
    let long = with(
        seed_example(Provider::Reapi, "t2v-curl.json"),
        "/prompt",
        json!("a".repeat(5001)),
    );
    assert_eq!(
        lines(Provider::Reapi, &long),
        ["prompt: maxLength: got 5001, want 5000"]
    );
    let fits = with(
        seed_example(Provider::Reapi, "t2v-curl.json"),
        "/prompt",
        json!("马".repeat(2500)),
    );
    assert!(validate_body(Provider::Reapi, &fits).warnings.is_empty());

    // Apiframe's quick-start sends an aspect ratio with one image: accepted, but ignored.
    let report = validate_body(
        Provider::Apiframe,
        &seed_example(Provider::Apiframe, "quick-start.json"),
    );
    assert!(report.is_valid());
    assert_eq!(report.warnings[0].path, "happyhorse11Params.aspect_ratio");

    let unnamed = with(
        seed_example(Provider::HiApi, "r2v-minimal.json"),
        "/input/prompt",
        json!("a dance"),
    );
    let report = validate_body(Provider::HiApi, &unnamed);
    assert!(report.is_valid());
    assert!(report.warnings[0].message.contains("[Image 1]"));
}

fn url(s: &str) -> HttpUrl {
    HttpUrl::new(s).unwrap()
}

fn prompt(s: &str) -> Prompt {
    Prompt::new(s).unwrap()
}

fn refused(request: &VideoRequest, provider: Provider) -> String {
    request
        .to_wire(provider)
        .expect_err("the provider cannot serve this request")
        .to_string()
}

#[test]
fn capability_checks_say_exactly_why_a_provider_cannot_serve_a_request() {
    let t2v = VideoRequest::text_to_video(prompt("A horse"));

    let wide = t2v.clone().with_aspect_ratio(AspectRatio::Cinema21x9);
    assert!(refused(&wide, Provider::Apiframe).contains("Apiframe does not offer 21:9"));
    assert!(wide.to_wire(Provider::HiApi).is_ok() && wide.to_wire(Provider::Reapi).is_ok());

    let seeded = t2v.clone().with_seed(Seed::new(42).unwrap());
    assert!(refused(&seeded, Provider::HiApi).contains("seed: hiapi has no seed"));
    assert!(refused(&seeded, Provider::Reapi).contains("seed: reapi has no seed"));
    let wire = seeded.to_wire(Provider::Apiframe).unwrap();
    assert_eq!(wire.body.to_json()["happyhorse11Params"]["seed"], 42);

    let one_ref = VideoRequest::reference_to_video(
        prompt("[Image 1] dances"),
        References::new(vec![url("https://a.example/1.jpg")]).unwrap(),
    );
    assert!(refused(&one_ref, Provider::Apiframe).contains("one image as image-to-video"));
    assert!(one_ref.to_wire(Provider::HiApi).is_ok());

    let i2v = VideoRequest::image_to_video(url("https://a.example/f.jpg"), None)
        .with_aspect_ratio(AspectRatio::Portrait9x16);
    assert!(refused(&i2v, Provider::HiApi).contains("HiAPI image-to-video takes no aspect_ratio"));
    let reapi = i2v.to_wire(Provider::Reapi).unwrap();
    assert_eq!(reapi.warnings[0].path, "aspect_ratio");
    assert!(refused(&i2v, Provider::Apiframe).contains("Apiframe requires a prompt"));

    let mut loud = t2v.clone();
    loud.audio = Some(true);
    for provider in Provider::ALL {
        assert!(refused(&loud, provider).contains("no provider has an audio toggle"));
    }

    let hooked = t2v.clone().with_callback_url(url("https://me.example/cb"));
    assert!(refused(&hooked, Provider::Reapi).contains("reapi has no callbacks"));
    let plain = t2v.with_callback_url(url("http://me.example/cb"));
    assert!(refused(&plain, Provider::HiApi).contains("requires an HTTPS callback URL"));
}

#[test]
fn every_reason_is_given_at_once() {
    let mut request = VideoRequest::reference_to_video(
        prompt("[Image 1]"),
        References::new(vec![url("https://a.example/1.jpg")]).unwrap(),
    )
    .with_aspect_ratio(AspectRatio::Portrait9x21)
    .with_callback_url(url("http://me.example/cb"));
    request.audio = Some(false);
    let err = request.to_wire(Provider::Apiframe).unwrap_err();
    assert_eq!(err.reasons.len(), 4, "{err}");
}

#[test]
fn neutral_requests_become_each_providers_own_body() {
    let refs = References::new(vec![
        url("https://a.example/1.jpg"),
        url("https://a.example/2.jpg"),
    ])
    .unwrap();
    let request = VideoRequest::reference_to_video(prompt("[Image 1] meets [Image 2]"), refs)
        .with_resolution(Resolution::P720)
        .with_duration(VideoDuration::new(8).unwrap())
        .with_callback_url(url("https://me.example/cb"));
    assert_eq!(
        request.to_wire(Provider::HiApi).unwrap().body.to_json(),
        json!({
            "model": "happyhorse-1.1/reference-to-video",
            "input": {
                "prompt": "[Image 1] meets [Image 2]",
                "reference_image": ["https://a.example/1.jpg", "https://a.example/2.jpg"],
                "resolution": "720p",
                "duration": 8
            },
            "callback": {"url": "https://me.example/cb", "when": "final"}
        })
    );
    assert_eq!(
        request
            .clone()
            .to_wire(Provider::Apiframe)
            .unwrap()
            .body
            .to_json(),
        json!({
            "model": "happyhorse-1.1",
            "prompt": "[Image 1] meets [Image 2]",
            "happyhorse11Params": {
                "images": ["https://a.example/1.jpg", "https://a.example/2.jpg"],
                "resolution": "720p",
                "duration": 8
            },
            "webhookUrl": "https://me.example/cb"
        })
    );
    let mut no_callback = request;
    no_callback.callback_url = None;
    assert_eq!(
        no_callback.to_wire(Provider::Reapi).unwrap().body.to_json(),
        json!({
            "model": "happyhorse-1-1",
            "prompt": "[Image 1] meets [Image 2]",
            "reference_image_urls": ["https://a.example/1.jpg", "https://a.example/2.jpg"],
            "resolution": "720p",
            "duration": 8
        })
    );
}

#[cfg(feature = "schemars")]
/// The values of a schemars enum schema: `enum`, or the `const` of each `oneOf` member.
fn enum_values(schema: &Value) -> Vec<String> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
    }
    schema["oneOf"]
        .as_array()
        .expect("enum or oneOf")
        .iter()
        .map(|m| {
            m["const"]
                .as_str()
                .or(m["enum"][0].as_str())
                .expect("const")
                .to_owned()
        })
        .collect()
}

#[cfg(feature = "schemars")]
fn component(provider: Provider, name: &str) -> Value {
    happyhorse::contract::openapi(provider)["components"]["schemas"][name].clone()
}

#[cfg(feature = "schemars")]
fn derived<T: schemars::JsonSchema>() -> Value {
    schemars::schema_for!(T).as_value().clone()
}

#[cfg(feature = "schemars")]
#[test]
fn typed_values_emit_the_same_bounds_as_the_openapi_documents() {
    let duration = derived::<VideoDuration>();
    let apiframe_duration =
        component(Provider::Apiframe, "Happyhorse11Params")["properties"]["duration"].clone();
    for doc in [
        component(Provider::HiApi, "Duration"),
        component(Provider::Reapi, "Duration"),
        apiframe_duration,
    ] {
        assert_eq!(duration["minimum"], doc["minimum"]);
        assert_eq!(duration["maximum"], doc["maximum"]);
    }

    let seed = derived::<Seed>();
    let doc_seed =
        component(Provider::Apiframe, "Happyhorse11Params")["properties"]["seed"].clone();
    assert_eq!(
        (&seed["minimum"], &seed["maximum"]),
        (&doc_seed["minimum"], &doc_seed["maximum"])
    );

    let refs = derived::<References>();
    for doc in [
        component(Provider::HiApi, "ReferenceToVideoInput")["properties"]["reference_image"]
            .clone(),
        component(Provider::Reapi, "ReferenceToVideoRequest")["properties"]["reference_image_urls"]
            .clone(),
    ] {
        assert_eq!(refs["minItems"], doc["minItems"]);
        assert_eq!(refs["maxItems"], doc["maxItems"]);
    }
    let apiframe_images =
        component(Provider::Apiframe, "Happyhorse11Params")["properties"]["images"].clone();
    assert_eq!(refs["maxItems"], apiframe_images["maxItems"]);

    let prompt = derived::<Prompt>();
    assert_eq!(
        prompt["minLength"],
        component(Provider::Reapi, "RequiredPrompt")["minLength"]
    );
    assert_eq!(
        prompt["minLength"],
        component(Provider::HiApi, "TextToVideoInput")["properties"]["prompt"]["minLength"]
    );
    // A `Prompt` holds at most the longest prompt any provider takes: HiAPI's and reapi's
    // 5000 characters, in every mode (Apiframe takes 2500).
    assert_eq!(prompt["maxLength"], json!(Prompt::MAX_CHARS));
    for doc in [
        component(Provider::Reapi, "RequiredPrompt"),
        component(Provider::Reapi, "ImageToVideoRequest")["properties"]["prompt"].clone(),
        component(Provider::HiApi, "TextToVideoInput")["properties"]["prompt"].clone(),
        component(Provider::HiApi, "ImageToVideoInput")["properties"]["prompt"].clone(),
        component(Provider::HiApi, "ReferenceToVideoInput")["properties"]["prompt"].clone(),
    ] {
        assert_eq!(prompt["maxLength"], doc["maxLength"], "{doc}");
    }
    assert_eq!(
        component(Provider::Apiframe, "GenerateVideoRequest")["properties"]["prompt"]["maxLength"],
        json!(2500)
    );

    let resolutions = enum_values(&derived::<Resolution>());
    let ratios = enum_values(&derived::<AspectRatio>());
    for provider in Provider::ALL {
        let doc: Vec<String> =
            serde_json::from_value(component(provider, "Resolution")["enum"].clone()).unwrap();
        assert_eq!(resolutions, doc, "{provider}");
    }
    for provider in [Provider::HiApi, Provider::Reapi] {
        let doc: Vec<String> =
            serde_json::from_value(component(provider, "AspectRatio")["enum"].clone()).unwrap();
        assert_eq!(ratios, doc, "{provider}");
    }
    let apiframe: Vec<String> =
        serde_json::from_value(component(Provider::Apiframe, "AspectRatio")["enum"].clone())
            .unwrap();
    assert_eq!(apiframe, AspectRatio::APIFRAME_NAMES);
    assert!(apiframe.iter().all(|r| ratios.contains(r)));
}

/// Finding 1: every provider bounds the prompt (HiAPI 5000 characters, assumed; reapi 5000;
/// Apiframe 2500), in every mode, in the providers' wording; a `Prompt` holds at most 5000,
/// and a request converts for a provider only within its bound.
#[test]
fn over_long_prompts_are_refused_on_every_provider_before_any_submit() {
    let hiapi = [
        ("t2v-minimal.json", "input.prompt"),
        ("i2v-push-in.json", "input.prompt"),
        ("r2v-minimal.json", "input.prompt"),
    ];
    for (example, path) in hiapi {
        let body = seed_example(Provider::HiApi, example);
        let at = with(body.clone(), "/input/prompt", json!("🐎".repeat(5000)));
        assert!(validate_body(Provider::HiApi, &at).is_valid(), "{example}");
        let past = with(body, "/input/prompt", json!("🐎".repeat(5001)));
        assert_eq!(
            lines(Provider::HiApi, &past),
            [format!("{path}: maxLength: got 5001, want 5000")],
            "{example}"
        );
    }
    for example in ["t2v-curl.json", "i2v-modes.json", "r2v-modes.json"] {
        let past = with(
            seed_example(Provider::Reapi, example),
            "/prompt",
            json!("a".repeat(5001)),
        );
        assert_eq!(
            lines(Provider::Reapi, &past),
            ["prompt: maxLength: got 5001, want 5000"],
            "{example}"
        );
    }

    let too_long = Prompt::new("a".repeat(5001)).unwrap_err();
    assert!(too_long
        .to_string()
        .contains("maxLength: got 5001, want 5000"));
    let longest = VideoRequest::text_to_video(prompt(&"a".repeat(5000)));
    assert!(longest.to_wire(Provider::HiApi).is_ok());
    assert!(longest.to_wire(Provider::Reapi).is_ok());
    let refusal = longest.to_wire(Provider::Apiframe).unwrap_err();
    assert!(
        refusal
            .reasons
            .iter()
            .any(|r| r == "prompt: maxLength: got 5000, want 2500"),
        "{refusal}"
    );
}

/// Finding 2: what a message quotes from a body is capped and escaped, however long the key
/// or value: unknown keys (at most eight named), URLs, strings.
#[test]
fn messages_quote_outside_keys_and_values_capped() {
    let huge = "x".repeat(200_000);
    let mut body = seed_example(Provider::HiApi, "t2v-minimal.json");
    body["input"][huge.as_str()] = json!(1);
    let errors = lines(Provider::HiApi, &body);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].len() < 400 && errors[0].contains('…'),
        "{}",
        errors[0]
    );

    let mut body = seed_example(Provider::Reapi, "t2v-curl.json");
    for i in 0..20 {
        body[format!("extra{i}")] = json!(1);
    }
    body["bidi\u{202e}key"] = json!(1);
    let errors = lines(Provider::Reapi, &body);
    assert!(
        errors[0].ends_with("and 13 more not allowed"),
        "{}",
        errors[0]
    );
    assert!(!errors[0].contains('\u{202e}'), "{}", errors[0]);

    let image = with(
        seed_example(Provider::HiApi, "r2v-minimal.json"),
        "/input/reference_image/0",
        json!(format!("http://a.example/{huge}")),
    );
    let errors = lines(Provider::HiApi, &image);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].len() < 400, "{}", errors[0]);

    let url = HttpUrl::new(format!("https://a b/{huge}")).unwrap_err();
    assert!(url.to_string().len() < 400, "{url}");
    let callback = VideoRequest::text_to_video(prompt("a"))
        .with_callback_url(HttpUrl::new(format!("http://a.example/{huge}")).unwrap());
    let refusal = callback.to_wire(Provider::HiApi).unwrap_err().to_string();
    assert!(refusal.len() < 1_000, "{} bytes", refusal.len());
}
