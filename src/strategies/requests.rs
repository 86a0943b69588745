//! Provider-neutral requests of each mode, servable by some providers and not others.

use proptest::{collection::vec, option, prelude::*, sample::select};

use super::{
    pools::{all_urls, good_prompts, long},
    Kind,
};
use crate::{
    values::{AspectRatio, HttpUrl, Prompt, References, Resolution, Seed, VideoDuration},
    VideoRequest,
};

/// Prompts for `VideoRequest`: within every limit, past Apiframe's 2500 characters, past
/// reapi's truncation weight (5000; a CJK character weighs two), and at the 5000 characters
/// every `Prompt` is held to (`Prompt::MAX_CHARS`, HiAPI's and reapi's bound).
pub(crate) fn request_prompts() -> Vec<String> {
    let mut out = good_prompts();
    out.extend([
        long('a', 2501),
        long('马', 2600),
        long('a', Prompt::MAX_CHARS),
        long('马', Prompt::MAX_CHARS),
    ]);
    out
}

/// Every pooled URL that `HttpUrl::new` accepts.
pub(crate) fn request_urls() -> Vec<HttpUrl> {
    all_urls()
        .into_iter()
        .filter_map(|u| HttpUrl::new(u).ok())
        .collect()
}

pub(crate) fn http_url() -> BoxedStrategy<HttpUrl> {
    select(request_urls()).boxed()
}

pub(crate) fn request_strategy(kind: Kind) -> BoxedStrategy<VideoRequest> {
    let prompts: Vec<Prompt> = request_prompts()
        .into_iter()
        .filter_map(|t| Prompt::new(t).ok())
        .collect();
    let prompt = select(prompts);
    let base = match kind {
        Kind::Text => prompt.prop_map(VideoRequest::text_to_video).boxed(),
        Kind::Image => (http_url(), option::of(prompt))
            .prop_map(|(frame, prompt)| VideoRequest::image_to_video(frame, prompt))
            .boxed(),
        Kind::Reference => (prompt, vec(http_url(), 1..=9))
            .prop_filter_map("1 to 9 references", |(prompt, urls)| {
                let references = References::new(urls).ok()?;
                Some(VideoRequest::reference_to_video(prompt, references))
            })
            .boxed(),
    };
    let seed = prop_oneof![
        Just(0i64),
        Just(i64::from(Seed::MAX)),
        0..=i64::from(Seed::MAX)
    ]
    .prop_filter_map("a seed in range", |s| Seed::new(s).ok());
    (
        base,
        option::of(select(Resolution::ALL.to_vec())),
        option::of(select(AspectRatio::ALL.to_vec())),
        option::of((3i64..=15).prop_filter_map("3 to 15 s", |d| VideoDuration::new(d).ok())),
        option::weighted(0.3, seed),
        option::weighted(0.15, any::<bool>()),
        option::weighted(0.3, http_url()),
    )
        .prop_map(
            |(mut request, resolution, ratio, duration, seed, audio, callback)| {
                if let Some(r) = resolution {
                    request = request.with_resolution(r);
                }
                if let Some(r) = ratio {
                    request = request.with_aspect_ratio(r);
                }
                if let Some(d) = duration {
                    request = request.with_duration(d);
                }
                if let Some(s) = seed {
                    request = request.with_seed(s);
                }
                if let Some(url) = callback {
                    request = request.with_callback_url(url);
                }
                // No setter on purpose: no provider has an audio toggle.
                request.audio = audio;
                request
            },
        )
        .boxed()
}
