//! Valid bodies per provider and mode, and near misses of them.

use proptest::{
    collection::vec,
    option,
    prelude::*,
    sample::{select, subsequence},
};
use serde_json::{json, Value};

use super::{
    edits::{edited, insert_some, options, remove, set, set_from, unknown_field},
    pools::{
        aspect_ratios, durations, long, prompt, prompt_edits, resolutions, url_list_value,
        url_value, APIFRAME_RATIOS, HTTPS_URLS, HTTP_URLS, OTHER_URIS, RATIOS,
    },
    Kind,
};
use crate::{values::Seed, Provider};

/// HiAPI's model id for `kind` (its provider facts list one per mode, in `Kind` order).
fn hiapi_model(kind: Kind) -> &'static str {
    hiapi_models()
        .get(kind as usize)
        .copied()
        .unwrap_or_default()
}

fn hiapi_models() -> &'static [&'static str] {
    Provider::HiApi.facts().models
}

// ---------------------------------------------------------------------------------------------
// HiAPI: {model, input, callback?, route?}
// ---------------------------------------------------------------------------------------------

pub(crate) fn hiapi_base(kind: Kind) -> BoxedStrategy<Value> {
    let media: BoxedStrategy<Option<Value>> = match kind {
        Kind::Text => Just(None).boxed(),
        Kind::Image => select([HTTPS_URLS, HTTP_URLS].concat())
            .prop_map(|u| Some(json!([u])))
            .boxed(),
        Kind::Reference => vec(select(HTTPS_URLS.to_vec()), 1..=9)
            .prop_map(|u| Some(json!(u)))
            .boxed(),
    };
    let callback = option::of((select(HTTPS_URLS.to_vec()), any::<bool>()).prop_map(
        |(url, when)| match when {
            true => json!({"url": url, "when": "final"}),
            false => json!({"url": url}),
        },
    ));
    let route = option::of(select(vec!["ext", "default", "x y"]));
    let ratios: &'static [&'static str] = match kind {
        Kind::Image => &[],
        _ => RATIOS,
    };
    (
        prompt(),
        any::<bool>(),
        media,
        options(ratios),
        callback,
        route,
    )
        .prop_map(
            move |(prompt, with_prompt, media, (res, ratio, dur), callback, route)| {
                let mut input = serde_json::Map::new();
                if kind != Kind::Image || with_prompt {
                    input.insert("prompt".into(), json!(prompt));
                }
                match kind {
                    Kind::Text => {}
                    Kind::Image => insert_some(&mut input, "image_urls", media),
                    Kind::Reference => insert_some(&mut input, "reference_image", media),
                }
                insert_some(&mut input, "resolution", res);
                if kind != Kind::Image {
                    insert_some(&mut input, "aspect_ratio", ratio);
                }
                insert_some(&mut input, "duration", dur);
                let mut body = serde_json::Map::new();
                body.insert("model".into(), json!(hiapi_model(kind)));
                body.insert("input".into(), Value::Object(input));
                insert_some(&mut body, "callback", callback);
                insert_some(&mut body, "route", route.map(Value::from));
                Value::Object(body)
            },
        )
        .boxed()
}

pub(crate) fn hiapi_body(kind: Kind) -> BoxedStrategy<Value> {
    let mut models: Vec<Value> = hiapi_models().iter().map(|m| json!(m)).collect();
    models.extend([
        json!("happyhorse-1.1"),
        json!("happyhorse-1-1"),
        json!("happyhorse-1.1/text-to-video@ext"),
        json!("HappyHorse-1.1/text-to-video"),
        json!(""),
        Value::Null,
        json!(1),
    ]);
    let edits = vec![
        set("/model", models),
        set("/input/prompt", prompt_edits()),
        set("/input/resolution", resolutions()),
        set("/input/aspect_ratio", aspect_ratios()),
        set("/input/duration", durations()),
        set_from("/input/image_urls", url_list_value()),
        set_from("/input/image_urls/0", url_value()),
        set_from("/input/reference_image", url_list_value()),
        set_from("/input/reference_image/0", url_value()),
        set_from("/input/reference_image/1", url_value()),
        set(
            "/input",
            vec![Value::Null, json!("a horse"), json!({}), json!([])],
        ),
        set(
            "/callback",
            vec![
                json!({"url": "https://x.example/cb", "when": "final"}),
                json!({"url": "http://x.example/cb"}),
                json!({"url": "https://x.example/cb", "when": "always"}),
                json!({"when": "final"}),
                json!({}),
                json!("https://x.example/cb"),
                Value::Null,
            ],
        ),
        set_from("/callback/url", url_value()),
        set(
            "/callback/when",
            vec![json!("final"), json!("always"), json!(""), Value::Null],
        ),
        set(
            "/route",
            vec![json!("ext"), json!(""), json!(5), Value::Null],
        ),
        unknown_field(vec!["", "/input", "/callback"]),
        remove(vec![
            "/model",
            "/input",
            "/input/prompt",
            "/input/image_urls",
            "/input/reference_image",
            "/input/duration",
            "/callback/url",
        ]),
    ];
    edited(hiapi_base(kind), edits)
}

// ---------------------------------------------------------------------------------------------
// reapi: {model, prompt, image_urls | reference_image_urls, ...}; the mode follows the media
// ---------------------------------------------------------------------------------------------

pub(crate) fn reapi_base(kind: Kind) -> BoxedStrategy<Value> {
    // reapi states only a scheme pattern; its own seed examples carry a literal '…'.
    let urls: Vec<&str> = [HTTPS_URLS, HTTP_URLS, &["https://…/frame.jpg"]].concat();
    let media: BoxedStrategy<Option<Value>> = match kind {
        Kind::Text => Just(None).boxed(),
        Kind::Image => select(urls).prop_map(|u| Some(json!([u]))).boxed(),
        Kind::Reference => vec(select(urls), 1..=9)
            .prop_map(|u| Some(json!(u)))
            .boxed(),
    };
    // Long but valid: at the 5000-character bound, and CJK characters (weighing two) past
    // reapi's truncation weight of 5000 within it (a warning).
    let prompts = prop_oneof![
        4 => prompt(),
        1 => select(vec![long('a', 5000), long('马', 2600), long('马', 5000)]),
    ];
    (prompts, any::<bool>(), media, options(RATIOS))
        .prop_map(move |(prompt, with_prompt, media, (res, ratio, dur))| {
            let mut body = serde_json::Map::new();
            body.insert("model".into(), json!("happyhorse-1-1"));
            if kind != Kind::Image || with_prompt {
                body.insert("prompt".into(), json!(prompt));
            }
            match kind {
                Kind::Text => {}
                Kind::Image => insert_some(&mut body, "image_urls", media),
                Kind::Reference => insert_some(&mut body, "reference_image_urls", media),
            }
            insert_some(&mut body, "resolution", res);
            insert_some(&mut body, "aspect_ratio", ratio);
            insert_some(&mut body, "duration", dur);
            Value::Object(body)
        })
        .boxed()
}

pub(crate) fn reapi_body(kind: Kind) -> BoxedStrategy<Value> {
    let edits = vec![
        set(
            "/model",
            vec![
                json!("happyhorse-1-1"),
                json!("happyhorse-1.1"),
                json!("happyhorse-1.1/text-to-video"),
                json!(""),
                Value::Null,
            ],
        ),
        set("/prompt", prompt_edits()),
        set("/resolution", resolutions()),
        set("/aspect_ratio", aspect_ratios()),
        set("/duration", durations()),
        set_from("/image_urls", url_list_value()),
        set_from("/image_urls/0", url_value()),
        set_from("/reference_image_urls", url_list_value()),
        set_from("/reference_image_urls/0", url_value()),
        set_from("/reference_image_urls/1", url_value()),
        unknown_field(vec![""]),
        remove(vec![
            "/model",
            "/prompt",
            "/image_urls",
            "/reference_image_urls",
            "/aspect_ratio",
        ]),
    ];
    edited(reapi_base(kind), edits)
}

// ---------------------------------------------------------------------------------------------
// Apiframe: {prompt, model, happyhorse11Params?, webhookUrl?, webhookEvents?}; 0 images = T2V,
// 1 = I2V, 2-9 = R2V
// ---------------------------------------------------------------------------------------------

pub(crate) fn apiframe_base(kind: Kind) -> BoxedStrategy<Value> {
    let uris: Vec<&str> = [HTTPS_URLS, HTTP_URLS, OTHER_URIS].concat();
    let images: BoxedStrategy<Option<Value>> = match kind {
        // No images: the list absent, or empty (both mean text-to-video).
        Kind::Text => option::of(Just(json!([]))).boxed(),
        Kind::Image => select(uris).prop_map(|u| Some(json!([u]))).boxed(),
        Kind::Reference => vec(select(uris), 2..=9)
            .prop_map(|u| Some(json!(u)))
            .boxed(),
    };
    let seed = option::of(prop_oneof![
        Just(0i64),
        Just(i64::from(Seed::MAX)),
        0..=i64::from(Seed::MAX)
    ]);
    let webhook = option::of(select(HTTPS_URLS.to_vec()));
    let events = option::of(subsequence(vec!["progress", "completed", "failed"], 1..=3));
    (
        prompt(),
        images,
        options(APIFRAME_RATIOS),
        seed,
        any::<bool>(),
        webhook,
        events,
    )
        .prop_map(
            move |(prompt, images, (res, ratio, dur), seed, with_params, webhook, events)| {
                let mut params = serde_json::Map::new();
                insert_some(&mut params, "images", images);
                insert_some(&mut params, "resolution", res);
                insert_some(&mut params, "aspect_ratio", ratio);
                insert_some(&mut params, "duration", dur);
                insert_some(&mut params, "seed", seed.map(Value::from));
                let mut body = serde_json::Map::new();
                body.insert("prompt".into(), json!(prompt));
                body.insert("model".into(), json!("happyhorse-1.1"));
                if with_params || !params.is_empty() {
                    body.insert("happyhorse11Params".into(), Value::Object(params));
                }
                insert_some(&mut body, "webhookUrl", webhook.map(Value::from));
                insert_some(&mut body, "webhookEvents", events.map(Value::from));
                Value::Object(body)
            },
        )
        .boxed()
}

pub(crate) fn apiframe_body(kind: Kind) -> BoxedStrategy<Value> {
    let mut ratios = aspect_ratios();
    ratios.push(json!("4:5"));
    let edits = vec![
        set("/prompt", prompt_edits()),
        set(
            "/model",
            vec![
                json!("happyhorse-1.1"),
                json!("happyhorse-1-1"),
                json!("happyhorse-1.1/text-to-video"),
                json!("happyhorse"),
                Value::Null,
            ],
        ),
        set(
            "/happyhorse11Params",
            vec![
                json!({}),
                json!({"images": []}),
                Value::Null,
                json!("1080p"),
                json!([]),
            ],
        ),
        set_from("/happyhorse11Params/images", url_list_value()),
        set_from("/happyhorse11Params/images/0", url_value()),
        set_from("/happyhorse11Params/images/1", url_value()),
        set("/happyhorse11Params/resolution", resolutions()),
        set("/happyhorse11Params/aspect_ratio", ratios),
        set("/happyhorse11Params/duration", durations()),
        set(
            "/happyhorse11Params/seed",
            vec![
                json!(-1),
                json!(0),
                json!(1),
                json!(2_147_483_647_i64),
                json!(2_147_483_648_i64),
                json!(1.5),
                json!("1"),
                Value::Null,
                json!(u64::MAX),
            ],
        ),
        set_from("/webhookUrl", url_value()),
        set(
            "/webhookEvents",
            vec![
                json!([]),
                json!(["started"]),
                json!(["completed", "completed"]),
                json!(["progress"]),
                json!("completed"),
                json!([1]),
                Value::Null,
            ],
        ),
        set(
            "/webhook_url",
            vec![json!("https://x.example/h"), json!("http://x.example/h")],
        ),
        unknown_field(vec!["", "/happyhorse11Params"]),
        remove(vec![
            "/prompt",
            "/model",
            "/happyhorse11Params",
            "/happyhorse11Params/images",
            "/webhookUrl",
        ]),
    ];
    edited(apiframe_base(kind), edits)
}
