//! The [`VideoRequest`] a line's fields make: its kind (text-, image- or reference-to-video,
//! from `prompt`, `image` and `references`), then its options (`resolution`, `aspect_ratio`,
//! `duration`, `seed`, `callback_url`).

use std::{path::Path, str::FromStr};

use serde_json::{Map, Value};

use super::field_values::{image_url, string_field, url, whole, wrong_type};
use crate::{
    values::{AspectRatio, HttpUrl, References, Resolution, Seed, VideoDuration},
    Prompt, VideoRequest,
};

/// A field's value: `Ok(None)` when absent or null, `Err(())` when present but refused (the
/// problem noted).
type Field<T> = Result<Option<T>, ()>;

/// A change to the request, or the problem with the value that would make it.
type Apply = Result<Box<dyn FnOnce(VideoRequest) -> VideoRequest>, String>;

/// The request a line's fields make, or `None` when they make none; every problem is noted in
/// `problems`, in the order of the fields: `prompt`, `image`, `references`, their combination,
/// then the options. With `local`, `image` and `references` may name local files, relative
/// to `local` ([`image_url`]).
pub(super) fn request_of(
    object: &Map<String, Value>,
    local: Option<&Path>,
    problems: &mut Vec<String>,
) -> Option<VideoRequest> {
    let prompt = prompt_of(object, problems);
    let image = image_of(object, local, problems);
    let references = references_of(object, local, problems);
    let request = kind_of(image, references, prompt, problems);
    with_options(object, request, problems)
}

/// The line's `prompt`.
fn prompt_of(object: &Map<String, Value>, problems: &mut Vec<String>) -> Field<Prompt> {
    string_field(object, "prompt", problems).and_then(|text| {
        text.map(Prompt::new).transpose().map_err(|err| {
            problems.push(format!("prompt: {}", err.rule));
        })
    })
}

/// The line's `image`.
fn image_of(
    object: &Map<String, Value>,
    local: Option<&Path>,
    problems: &mut Vec<String>,
) -> Field<HttpUrl> {
    string_field(object, "image", problems).and_then(|text| {
        text.map(|u| image_url(u, "image", local))
            .transpose()
            .map_err(|message| problems.push(message))
    })
}

/// The line's `references`: an array of URLs, each checked.
fn references_of(
    object: &Map<String, Value>,
    local: Option<&Path>,
    problems: &mut Vec<String>,
) -> Field<References> {
    match object.get("references") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => {
            let urls = reference_urls(items, local, problems)?;
            References::new(urls)
                .map(Some)
                .map_err(|e| problems.push(format!("references: {}", e.rule)))
        }
        Some(other) => {
            problems.push(wrong_type("references", "an array of URLs", other));
            Err(())
        }
    }
}

/// Each item of `references` as a URL; `Err(())` when any is not one (every such problem
/// noted).
fn reference_urls(
    items: &[Value],
    local: Option<&Path>,
    problems: &mut Vec<String>,
) -> Result<Vec<HttpUrl>, ()> {
    let mut urls = Vec::new();
    let mut bad = false;
    for (i, item) in items.iter().enumerate() {
        let field = format!("references[{i}]");
        match item {
            Value::String(text) => match image_url(text, &field, local) {
                Ok(u) => urls.push(u),
                Err(message) => {
                    problems.push(message);
                    bad = true;
                }
            },
            other => {
                problems.push(wrong_type(&field, "a URL string", other));
                bad = true;
            }
        }
    }
    if bad {
        Err(())
    } else {
        Ok(urls)
    }
}

/// The request that `image`, `references` and `prompt` make together, or `None` when one was
/// refused or they do not combine (the problem noted).
fn kind_of(
    image: Field<HttpUrl>,
    references: Field<References>,
    prompt: Field<Prompt>,
    problems: &mut Vec<String>,
) -> Option<VideoRequest> {
    match (image, references, prompt) {
        (Err(()), _, _) | (_, Err(()), _) => None,
        (Ok(Some(_)), Ok(Some(_)), _) => {
            problems.push(
                "give `image` (image-to-video) or `references` (reference-to-video), not both"
                    .into(),
            );
            None
        }
        (Ok(Some(image)), Ok(None), Ok(prompt)) => {
            Some(VideoRequest::image_to_video(image, prompt))
        }
        (Ok(Some(_)), Ok(None), Err(())) => None,
        (Ok(None), Ok(Some(references)), Ok(Some(prompt))) => {
            Some(VideoRequest::reference_to_video(prompt, references))
        }
        (Ok(None), Ok(Some(_)), Ok(None)) => {
            problems.push("`prompt` is required with `references`".into());
            None
        }
        (Ok(None), Ok(None), Ok(Some(prompt))) => Some(VideoRequest::text_to_video(prompt)),
        (Ok(None), Ok(None), Ok(None)) => {
            problems.push("`prompt` is required (or `image` for image-to-video)".into());
            None
        }
        (Ok(None), _, Err(())) => None,
    }
}

/// `request` with the line's options set; every option is checked, and its problem noted,
/// even when there is no request to set it on.
fn with_options(
    object: &Map<String, Value>,
    mut request: Option<VideoRequest>,
    problems: &mut Vec<String>,
) -> Option<VideoRequest> {
    let resolution = string_field(object, "resolution", problems);
    let aspect_ratio = string_field(object, "aspect_ratio", problems);
    let callback_url = string_field(object, "callback_url", problems);
    let mut set = |apply: Apply| match apply {
        Ok(apply) => request = request.take().map(apply),
        Err(message) => problems.push(message),
    };
    if let Ok(Some(text)) = resolution {
        set(Resolution::from_str(text)
            .map(|r| Box::new(move |q: VideoRequest| q.with_resolution(r)) as _)
            .map_err(|e| format!("resolution: {}", e.rule)));
    }
    if let Ok(Some(text)) = aspect_ratio {
        set(AspectRatio::from_str(text)
            .map(|r| Box::new(move |q: VideoRequest| q.with_aspect_ratio(r)) as _)
            .map_err(|e| format!("aspect_ratio: {}", e.rule)));
    }
    if let Some(value) = object.get("duration").filter(|v| !v.is_null()) {
        set(whole(value, "duration").and_then(|n| {
            VideoDuration::new(n)
                .map(|d| Box::new(move |q: VideoRequest| q.with_duration(d)) as _)
                .map_err(|e| format!("duration: {}", e.rule))
        }));
    }
    if let Some(value) = object.get("seed").filter(|v| !v.is_null()) {
        set(whole(value, "seed").and_then(|n| {
            Seed::new(n)
                .map(|s| Box::new(move |q: VideoRequest| q.with_seed(s)) as _)
                .map_err(|e| format!("seed: {}", e.rule))
        }));
    }
    if let Ok(Some(text)) = callback_url {
        set(url(text, "callback_url")
            .map(|u| Box::new(move |q: VideoRequest| q.with_callback_url(u)) as _));
    }
    request
}
