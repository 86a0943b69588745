//! Test-only: a deterministic corpus of request bodies per provider, valid and near-miss, to
//! hold the verdict-only walk ([`super::is_valid`]) to the full report ([`super::validate_body`])
//! on many bodies.
//!
//! Each body is a valid base for one mode plus zero to three edits at JSON pointers (boundary
//! durations, 0/1/9/10 media, unknown fields, wrong types and enums, long and marked prompts,
//! URLs of every kind, fields removed), drawn from a seeded generator so every run sees the
//! same bodies.

use serde_json::{json, Map, Value};

use crate::Provider;

const HTTPS_URLS: [&str; 6] = [
    "https://cdn.example.com/ref-1.jpg",
    "https://a.example:8443/x.png?size=large#top",
    "https://user:pw@a.example/x.jpg",
    "https://a.example/a%20b.jpg",
    "https://[::1]/x.jpg",
    "https://a.example",
];

const OTHER_URLS: [&str; 24] = [
    "http://cdn.example.com/x.jpg",
    "http://localhost:8787/cb",
    "http://127.0.0.1/cb?x=1",
    "http://[::1]:9000/hook",
    "http://localhost.example.com/x",
    "data:image/png;base64,iVBORw0KGgo=",
    "urn:isbn:0451450523",
    "ftp://a.example/x.jpg",
    "",
    "https://a.example/a b.jpg",
    "https://…/frame.jpg",
    "https://a.example/café.jpg",
    "/images/x.jpg",
    "//cdn.example.com/x.jpg",
    "HTTPS://A.EXAMPLE/X.JPG",
    "https://",
    "https://a.example/%zz",
    "https://a.example:port/x.jpg",
    "https://a.example/x#y#z",
    "https://[zz]/x.jpg",
    "https://[v1.fe]/x.jpg",
    "https://[1:2]/x.jpg",
    "https://a.example/x.jpg?q=a|b",
    "not a url",
];

fn prompts() -> Vec<Value> {
    vec![
        json!("A horse on a beach"),
        json!("The character in [Image 1] walks across the street in [Image 2]"),
        json!("[Image 3] only"),
        json!("[Image 0] and [Image 12] and [Image ] and [Image 99999999999999999999999]"),
        json!("[Image 1][Image 2][Image 3][Image 4][Image 5][Image 6][Image 7][Image 8][Image 9]"),
        json!("一匹马在海滩上奔跑 [Image 2]"),
        json!("🐎"),
        json!(""),
        json!(" "),
        json!("a".repeat(2500)),
        json!("a".repeat(2501)),
        json!("马".repeat(2500)),
        json!("马".repeat(2501)),
        json!("a".repeat(5001)),
        json!(7),
        Value::Null,
        json!(["a horse"]),
    ]
}

fn durations() -> Vec<Value> {
    vec![
        json!(2),
        json!(3),
        json!(15),
        json!(16),
        json!(-3),
        json!(5.5),
        json!(5.0),
        json!("5"),
        Value::Null,
        json!(u64::MAX),
        json!(i64::MIN),
        json!(true),
    ]
}

fn enums() -> Vec<Value> {
    vec![
        json!("720p"),
        json!("1080p"),
        json!("4k"),
        json!("16:9"),
        json!("21:9"),
        json!("4:5"),
        json!("2:1"),
        json!(""),
        json!(1080),
        Value::Null,
    ]
}

fn misc() -> Vec<Value> {
    vec![
        json!(1),
        json!(true),
        json!("x"),
        Value::Null,
        json!([]),
        json!({}),
        json!(-1),
        json!(2_147_483_648_i64),
    ]
}

fn url_value(rng: &mut fastrand::Rng) -> Value {
    match rng.usize(0..4) {
        0 => json!(HTTPS_URLS[rng.usize(0..HTTPS_URLS.len())]),
        1 => {
            // A random string around the edges of RFC 3986.
            const CHARS: &[char] = &[
                'a', 'z', '0', '.', ':', '@', '%', '[', ']', '/', '?', '#', ' ', 'é', '|', '-',
                '~', 'F',
            ];
            let scheme = ["https://", "http://", "data:", "x-1:", ""][rng.usize(0..5)];
            let tail: String = (0..rng.usize(0..14))
                .map(|_| CHARS[rng.usize(0..CHARS.len())])
                .collect();
            json!(format!("{scheme}{tail}"))
        }
        _ => json!(OTHER_URLS[rng.usize(0..OTHER_URLS.len())]),
    }
}

fn url_list(rng: &mut fastrand::Rng) -> Value {
    match rng.usize(0..5) {
        0 | 1 => {
            let n = [0, 1, 2, 9, 10][rng.usize(0..5)];
            json!((0..n)
                .map(|i| HTTPS_URLS[i % HTTPS_URLS.len()])
                .collect::<Vec<_>>())
        }
        2 => Value::Array((0..rng.usize(1..=3)).map(|_| url_value(rng)).collect()),
        3 => json!(HTTPS_URLS[0]),
        _ => misc()[rng.usize(0..misc().len())].clone(),
    }
}

fn pick(rng: &mut fastrand::Rng, values: &[Value]) -> Value {
    values[rng.usize(0..values.len())].clone()
}

/// The valid bases of one provider, one or more per mode.
fn bases(provider: Provider) -> Vec<Value> {
    let models = provider.facts().models;
    match provider {
        Provider::HiApi => vec![
            json!({"model": models[0], "input": {"prompt": "a horse", "duration": 5,
                   "resolution": "720p", "aspect_ratio": "9:16"}, "route": "ext"}),
            json!({"model": models[1], "input": {"image_urls": [HTTPS_URLS[1]],
                   "prompt": "runs"}, "callback": {"url": "http://localhost:8787/cb"}}),
            json!({"model": models[2], "input": {"prompt": "[Image 1] meets [Image 2]",
                   "reference_image": [HTTPS_URLS[0], HTTPS_URLS[4]], "duration": 15},
                   "callback": {"url": HTTPS_URLS[0], "when": "final"}}),
        ],
        Provider::Reapi => vec![
            json!({"model": models[0], "prompt": "a horse", "aspect_ratio": "1:1"}),
            json!({"model": models[0], "image_urls": ["https://…/a.jpg"], "aspect_ratio": "16:9",
                   "duration": 3}),
            json!({"model": models[0], "prompt": "[Image 1] and [Image 3]",
                   "reference_image_urls": [HTTPS_URLS[0], "http://x.example/b.jpg"],
                   "resolution": "1080p"}),
        ],
        Provider::Apiframe => vec![
            json!({"prompt": "a horse", "model": models[0]}),
            json!({"prompt": "a horse", "model": models[0], "happyhorse11Params":
                   {"images": [HTTPS_URLS[2]], "aspect_ratio": "4:3", "seed": 0}}),
            json!({"prompt": "no markers", "model": models[0], "happyhorse11Params":
                   {"images": [HTTPS_URLS[0], "urn:x:y"], "duration": 9, "resolution": "720p"},
                   "webhookUrl": "http://127.0.0.1:9000/h", "webhookEvents": ["failed"]}),
        ],
    }
}

/// The JSON pointers a provider's edits aim at (the parent must exist for an edit to apply).
fn pointers(provider: Provider) -> &'static [&'static str] {
    match provider {
        Provider::HiApi => &[
            "/model",
            "/input",
            "/input/prompt",
            "/input/image_urls",
            "/input/image_urls/0",
            "/input/reference_image",
            "/input/reference_image/1",
            "/input/resolution",
            "/input/aspect_ratio",
            "/input/duration",
            "/input/seed",
            "/callback",
            "/callback/url",
            "/callback/when",
            "/callback/extra",
            "/route",
            "/webhook",
        ],
        Provider::Reapi => &[
            "/model",
            "/prompt",
            "/image_urls",
            "/image_urls/0",
            "/reference_image_urls",
            "/reference_image_urls/0",
            "/resolution",
            "/aspect_ratio",
            "/duration",
            "/negative_prompt",
        ],
        Provider::Apiframe => &[
            "/model",
            "/prompt",
            "/happyhorse11Params",
            "/happyhorse11Params/images",
            "/happyhorse11Params/images/0",
            "/happyhorse11Params/aspect_ratio",
            "/happyhorse11Params/resolution",
            "/happyhorse11Params/duration",
            "/happyhorse11Params/seed",
            "/happyhorse11Params/audio",
            "/webhookUrl",
            "/webhookEvents",
            "/webhook_url",
        ],
    }
}

/// A value for the field a pointer names, mostly plausible, sometimes anything.
fn value_for(provider: Provider, pointer: &str, rng: &mut fastrand::Rng) -> Option<Value> {
    if rng.usize(0..6) == 0 {
        return None; // remove the field
    }
    if rng.usize(0..8) == 0 {
        return Some(pick(rng, &misc()));
    }
    let last = pointer.rsplit('/').next().unwrap_or_default();
    Some(match last {
        "model" => {
            let mut models: Vec<Value> = Provider::ALL
                .iter()
                .flat_map(|p| p.facts().models.iter().map(|m| json!(m)))
                .collect();
            models.push(json!(""));
            pick(rng, &models)
        }
        "prompt" => pick(rng, &prompts()),
        "duration" | "seed" => pick(rng, &durations()),
        "resolution" | "aspect_ratio" | "when" => {
            let mut values = enums();
            values.push(json!("final"));
            pick(rng, &values)
        }
        "image_urls" | "reference_image" | "reference_image_urls" | "images" => url_list(rng),
        "0" | "1" | "url" | "webhookUrl" | "webhook_url" => url_value(rng),
        "webhookEvents" => pick(
            rng,
            &[
                json!([]),
                json!(["started"]),
                json!(["completed", "completed"]),
                json!(["progress"]),
                json!("completed"),
                json!([1]),
            ],
        ),
        "input" | "callback" | "happyhorse11Params" => pick(
            rng,
            &[
                json!({}),
                json!({"images": []}),
                json!({"url": HTTPS_URLS[0]}),
                json!({"prompt": "x"}),
            ],
        ),
        _ => {
            let _ = provider;
            pick(rng, &misc())
        }
    })
}

/// Sets (or removes, for `None`) the value at `pointer`; does nothing when the parent is absent.
fn apply(body: &mut Value, pointer: &str, value: Option<Value>) {
    let Some((parent, key)) = pointer.rsplit_once('/') else {
        return;
    };
    match (body.pointer_mut(parent), value) {
        (Some(Value::Object(map)), Some(value)) => {
            map.insert(key.to_owned(), value);
        }
        (Some(Value::Object(map)), None) => {
            map.remove(key);
        }
        (Some(Value::Array(items)), value) => {
            if let Some(i) = key.parse::<usize>().ok().filter(|i| *i < items.len()) {
                match value {
                    Some(value) => items[i] = value,
                    None => {
                        items.remove(i);
                    }
                }
            }
        }
        _ => {}
    }
}

/// `n` bodies for `provider`: the bases, the bodies that are not objects, then bases with one
/// to three random edits.
pub(crate) fn bodies(provider: Provider, n: usize) -> Vec<Value> {
    let mut rng = fastrand::Rng::with_seed(0x4861_7070_7948_6f72 ^ provider as u64);
    let mut out = bases(provider);
    out.extend([
        Value::Null,
        json!([]),
        json!("a horse"),
        json!(1),
        json!({}),
    ]);
    out.push(Value::Object(Map::new()));
    let bases = bases(provider);
    let pointers = pointers(provider);
    while out.len() < n {
        let mut body = bases[rng.usize(0..bases.len())].clone();
        for _ in 0..rng.usize(0..=3) {
            let pointer = pointers[rng.usize(0..pointers.len())];
            let value = value_for(provider, pointer, &mut rng);
            apply(&mut body, pointer, value);
        }
        out.push(body);
    }
    out
}
