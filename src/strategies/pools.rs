//! The values the strategies draw from, public so that a team's own tests can reuse the edge
//! cases: URLs every rule accepts, URIs only some take, strings that are no URL at all,
//! prompts at the limits, durations, resolutions and ratios on and past their bounds.

use proptest::{collection::vec, prelude::*, sample::select};
use serde_json::{json, Value};

/// The nine aspect ratios HiAPI and reapi take.
pub const RATIOS: &[&str] = &[
    "16:9", "9:16", "3:4", "4:3", "4:5", "5:4", "1:1", "9:21", "21:9",
];
/// The five Apiframe takes.
pub const APIFRAME_RATIOS: &[&str] = &["16:9", "9:16", "1:1", "4:3", "3:4"];

/// HTTPS URLs every URL rule accepts.
pub const HTTPS_URLS: &[&str] = &[
    "https://cdn.example.com/ref-1.jpg",
    "https://static.hiapi.ai/example/first-frame.jpg",
    "https://a.example:8443/x.png?size=large#top",
    "https://user:pw@a.example/x.jpg",
    "https://a.example/a%20b.jpg",
    "https://127.0.0.1:8080/x.webp",
    "https://a.example",
    "https://[::1]/x.jpg",
];

/// Plain-HTTP URLs (HiAPI first frame, reapi media and Apiframe images take them).
pub const HTTP_URLS: &[&str] = &["http://cdn.example.com/x.jpg", "http://localhost:80/x.png"];

/// Absolute URIs that are not http(s) URLs (Apiframe's `format: uri` images take them).
pub const OTHER_URIS: &[&str] = &[
    "data:image/png;base64,iVBORw0KGgo=",
    "urn:isbn:0451450523",
    "ftp://a.example/x.jpg",
    "mailto:a@b.example",
];

/// Strings that are no URI at all, or that only reapi's scheme-only pattern accepts.
pub const BAD_URLS: &[&str] = &[
    "",
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
    "https://a.example/a b.jpg",
    " https://a.example/x.jpg",
    "https://a.example/x.jpg ",
    "https://a.example/café.jpg",
    "https://…/frame.jpg",
    "https://例子.测试/x.jpg",
    "/images/x.jpg",
    "images/x.jpg",
    "./x.jpg",
    "//cdn.example.com/x.jpg",
    "HTTPS://A.EXAMPLE/X.JPG",
    "https://",
    "https://a.example/%zz",
    "https://a.example:port/x.jpg",
    "https://a.example/x#y#z",
    "https://[zz]/x.jpg",
    "https:///x.jpg",
    "http:/x.jpg",
    "https://a.example/x.jpg?q=a|b",
    "https://a.example/{x}.jpg",
    "https://a@b@c.example/x.jpg",
    "https://a.example/x\n.jpg",
    "file:///tmp/x.jpg",
];

/// Bracketed hosts (RFC 3986 `IP-literal`): well-formed and malformed IPv6, and IPvFuture.
pub const IP_LITERAL_URLS: &[&str] = &[
    "https://[::1]:8080/x.jpg",
    "https://[::ffff:1.2.3.4]/x.jpg",
    "https://[1:2:3:4:5:6:7:8]/x.jpg",
    "https://[v1.fe]/x.jpg",
    "https://[1:2]/x.jpg",
    "https://[::1::]/x.jpg",
    "https://[12345::]/x.jpg",
    "https://[::1.2.3]/x.jpg",
];

/// Every URL-ish string above.
pub fn all_urls() -> Vec<&'static str> {
    [HTTPS_URLS, HTTP_URLS, OTHER_URIS, BAD_URLS, IP_LITERAL_URLS].concat()
}

/// Random URL-like strings around the edges of RFC 3986 (brackets, `%`, `@`, `:`, spaces,
/// non-ASCII), to hold the layer's URI check to the schema's `format: uri`.
pub fn fuzzed_url() -> impl Strategy<Value = String> {
    "(https?|HTTPS|data|ftp|x-1)://[a-z0-9.:@%\\[\\]_~!-]{0,10}(/[a-zA-Z0-9 ._~!$&'()*+,;=:@/?#%\\[\\]|{}é…-]{0,12})?"
}

/// Random bracketed hosts (RFC 3986 `IP-literal`): IPv6-like groups, colons, dots and embedded
/// IPv4, or IPvFuture-like `v…` literals, mostly malformed.
pub fn fuzzed_ip_literal_url() -> BoxedStrategy<String> {
    prop_oneof![
        "https://\\[(::)?([0-9a-fA-F]{1,5}(::?|\\.)){0,9}([0-9]{1,3}\\.){0,4}[0-9a-f]{0,4}\\](:[0-9]{0,3})?/x.jpg",
        "https://\\[[vV][0-9a-fA-F]{0,2}\\.?[a-zA-Z0-9._~!$&'()*+,;=:%\\[-]{0,6}\\]/x.jpg",
    ]
    .boxed()
}

/// A URL-ish string from every pool, or a fuzzed one (one in four).
pub fn url_value() -> BoxedStrategy<Value> {
    prop_oneof![
        6 => select(all_urls()).prop_map(Value::from),
        1 => fuzzed_url().prop_map(Value::from),
        1 => fuzzed_ip_literal_url().prop_map(Value::from),
    ]
    .boxed()
}

/// A list of 0 to 10 URL-ish strings, or something that is not a list of strings.
pub fn url_list_value() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => vec(select(HTTPS_URLS.to_vec()), 0..=10).prop_map(Value::from),
        2 => vec(url_value(), 1..=3).prop_map(Value::from),
        1 => select(HTTPS_URLS.to_vec()).prop_map(Value::from),
        1 => select(vec![Value::Null, json!([1]), json!([null]), json!({}), json!([["https://a.example/x.jpg"]])]),
    ]
    .boxed()
}

/// `n` copies of `c`.
pub(crate) fn long(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

/// Non-empty prompts within every provider's limits (Apiframe's is 2500 characters).
pub fn good_prompts() -> Vec<String> {
    vec![
        "A horse on a beach".into(),
        "The character in [Image 1] walks across the street in [Image 2]".into(),
        "[Image 3] only".into(),
        "一匹马在海滩上奔跑".into(),
        "🐎 gallops at dawn".into(),
        "line one\nline two".into(),
        " leading and trailing spaces ".into(),
        "x".into(),
        long('a', 2500),
        long('马', 2500),
    ]
}

/// A prompt within every limit, or any short text without control characters.
pub fn prompt() -> BoxedStrategy<String> {
    prop_oneof![3 => select(good_prompts()), 1 => "\\PC{1,40}"].boxed()
}

/// Prompts next to the limits (Apiframe's 2500 characters; HiAPI's and reapi's 5000, and
/// reapi's truncation weight of 5000, a CJK character weighing two), and values that are not
/// prompts.
pub fn prompt_edits() -> Vec<Value> {
    vec![
        json!(""),
        json!(" "),
        json!(long('a', 2500)),
        json!(long('a', 2501)),
        json!(long('马', 2501)),
        json!(long('a', 5000)),
        json!(long('马', 5000)),
        json!(long('a', 5001)),
        json!(long('马', 5001)),
        json!(7),
        Value::Null,
        json!(["a horse"]),
        json!({"text": "a horse"}),
    ]
}

/// Durations on and past the bounds (3–15), and values that are not durations.
pub fn durations() -> Vec<Value> {
    vec![
        json!(2),
        json!(3),
        json!(15),
        json!(16),
        json!(0),
        json!(-3),
        json!(20),
        json!(5.5),
        json!(5.0),
        json!("5"),
        json!("5s"),
        Value::Null,
        json!(1e3),
        json!(u64::MAX),
        json!(i64::MIN),
        json!([5]),
        json!(true),
    ]
}

/// Resolutions, near misses and values that are not resolutions.
pub fn resolutions() -> Vec<Value> {
    vec![
        json!("720p"),
        json!("1080p"),
        json!("4k"),
        json!("2160p"),
        json!("1080P"),
        json!("1080"),
        json!(" 720p"),
        json!(""),
        json!(1080),
        Value::Null,
    ]
}

/// The nine aspect ratios, near misses and values that are not ratios.
pub fn aspect_ratios() -> Vec<Value> {
    let mut out: Vec<Value> = RATIOS.iter().map(|r| json!(r)).collect();
    out.extend([
        json!("2:1"),
        json!("16:10"),
        json!("16/9"),
        json!("1:1 "),
        json!(""),
        json!(1.78),
        Value::Null,
    ]);
    out
}

/// Fields no provider documents, as users try them.
pub const UNKNOWN_FIELDS: &[&str] = &[
    "seed",
    "audio",
    "negative_prompt",
    "fps",
    "cfg_scale",
    "steps",
    "webhook_url",
    "webhook",
    "callback_url",
    "image",
    "Prompt",
    "",
];

/// One value of each JSON type.
pub fn misc_values() -> Vec<Value> {
    vec![
        json!(1),
        json!(true),
        json!("x"),
        Value::Null,
        json!([]),
        json!({}),
    ]
}
