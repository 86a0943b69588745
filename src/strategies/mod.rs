//! Proptest strategies for HappyHorse requests (feature `proptest`): the generators behind the
//! crate's own property tests, public so that a team can fuzz its own code with them.
//!
//! - [`valid_body`]: provider-native bodies the provider's document accepts, for each provider
//!   and [`Kind`] of request (every optional field present or not, values across their ranges,
//!   URLs of every accepted kind, prompts up to the limits);
//! - [`body`]: those bodies with zero to three near-miss edits each (boundary durations, 0, 1, 9
//!   or 10 media, unknown fields, wrong types, wrong enum values, over-long prompts, URLs of
//!   every kind); between a quarter and three quarters are valid, held so by the crate's tests;
//! - [`video_request`]: provider-neutral [`VideoRequest`]s of each kind, including options some
//!   providers cannot serve (a seed, an audio toggle, Apiframe's missing ratios), so that both
//!   sides of `to_wire` are exercised; [`http_url`]: the [`HttpUrl`](crate::values::HttpUrl)s
//!   among the pooled URLs;
//! - [`pools`]: the edge cases they draw from, to reuse in tests of your own.
//!
//! The judge is yours to pick: [`crate::validate::validate_body`] (every error, in the
//! providers' words, offline) or the documents' JSON Schemas
//! ([`crate::contract::request_schema`]), which the crate's property tests hold equal.
//!
//! # Fuzzing your own request-building code
//!
//! Say your service builds HiAPI bodies from its own form and adds its callback URL. Fuzz the
//! step against the documents: whatever valid body comes in, what goes out must still be valid.
//!
//! ```
//! use happyhorse::{
//!     contract,
//!     strategies::{valid_body, Kind},
//!     validate::validate_body,
//!     Provider,
//! };
//! use proptest::{prelude::*, test_runner::TestRunner};
//! use serde_json::{json, Value};
//!
//! /// Your code: adds the service's callback to a body.
//! fn with_our_callback(mut body: Value) -> Value {
//!     body["callback"] = json!({"url": "https://hooks.example.com/hiapi", "when": "final"});
//!     body
//! }
//!
//! let schema = jsonschema::draft4::new(&contract::request_schema(Provider::HiApi))?;
//! let mut runner = TestRunner::default();
//! runner.run(&valid_body(Provider::HiApi, Kind::Reference), |body| {
//!     let sent = with_our_callback(body);
//!     let report = validate_body(Provider::HiApi, &sent);
//!     prop_assert!(report.is_valid(), "{report}");
//!     prop_assert!(schema.is_valid(&sent));
//!     Ok(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! In a test of your own, `proptest! { #[test] fn ...(body in valid_body(...)) { ... } }` does
//! the same, and `PROPTEST_CASES=100000` runs it longer.

mod bodies;
mod edits;
pub mod pools;
mod requests;

use proptest::strategy::BoxedStrategy;
use serde_json::Value;

use crate::{request::Mode, Provider, VideoRequest};

/// Which of the three kinds of request: text-, image- or reference-to-video.
///
/// The name of a [`Mode`] without its data ([`Kind::of`]); the strategies take one to know
/// what to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Text-to-video: a prompt alone.
    Text,
    /// Image-to-video: a first frame (and on most providers an optional prompt).
    Image,
    /// Reference-to-video: a prompt and 1 to 9 reference images (2 to 9 on Apiframe, where
    /// one image means image-to-video).
    Reference,
}

impl Kind {
    /// The three kinds.
    pub const ALL: [Kind; 3] = [Kind::Text, Kind::Image, Kind::Reference];

    /// The kind of a request's mode.
    pub fn of(mode: &Mode) -> Kind {
        match mode {
            Mode::TextToVideo { .. } => Kind::Text,
            Mode::ImageToVideo { .. } => Kind::Image,
            Mode::ReferenceToVideo { .. } => Kind::Reference,
        }
    }
}

/// Provider-native bodies of `kind` that `provider`'s document accepts: all of them valid, by
/// [`validate_body`](crate::validate::validate_body) and by the document's JSON Schema, with
/// every optional field present or not and the URLs and prompts of every accepted kind.
pub fn valid_body(provider: Provider, kind: Kind) -> BoxedStrategy<Value> {
    match provider {
        Provider::HiApi => bodies::hiapi_base(kind),
        Provider::Reapi => bodies::reapi_base(kind),
        Provider::Apiframe => bodies::apiframe_base(kind),
    }
}

/// [`valid_body`]s with zero to three near-miss edits each: about two in five unedited, and
/// between a quarter and three quarters valid in all.
pub fn body(provider: Provider, kind: Kind) -> BoxedStrategy<Value> {
    match provider {
        Provider::HiApi => bodies::hiapi_body(kind),
        Provider::Reapi => bodies::reapi_body(kind),
        Provider::Apiframe => bodies::apiframe_body(kind),
    }
}

/// Provider-neutral requests of `kind`, with every option set or not (audio toggles and seeds
/// included, which some providers refuse): every provider serves some and refuses others, so
/// both outcomes of [`VideoRequest::to_wire`] come up.
pub fn video_request(kind: Kind) -> BoxedStrategy<VideoRequest> {
    requests::request_strategy(kind)
}

/// An [`HttpUrl`](crate::values::HttpUrl) drawn from the pooled URLs it accepts (HTTPS and
/// plain HTTP, IP literals included); not every provider takes every one of them.
pub fn http_url() -> BoxedStrategy<crate::values::HttpUrl> {
    requests::http_url()
}
