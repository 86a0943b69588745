//! The three providers that serve HappyHorse 1.1, and each one's facts.

mod apiframe;
mod hiapi;
mod reapi;

use std::{fmt, str::FromStr};

/// An API provider serving HappyHorse 1.1.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// HiAPI (`https://api.hiapi.ai/v1`): unified async tasks, one model id per mode.
    HiApi,
    /// reapi (`https://reapi.ai/api/v1`): one endpoint; the mode follows the media field sent.
    Reapi,
    /// Apiframe (`https://api.apiframe.ai`): v2 jobs; the mode follows the number of images.
    Apiframe,
}

impl Provider {
    /// Every provider, in a fixed order.
    pub const ALL: [Provider; 3] = [Provider::HiApi, Provider::Reapi, Provider::Apiframe];

    /// The provider's position in [`Provider::ALL`] (0, 1, 2), for per-provider tables.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Everything this crate knows about the provider, in one place.
    pub const fn facts(self) -> &'static Facts {
        match self {
            Provider::HiApi => &hiapi::FACTS,
            Provider::Reapi => &reapi::FACTS,
            Provider::Apiframe => &apiframe::FACTS,
        }
    }

    /// The lower-case name used on the command line and in file names (`hiapi`, `reapi`,
    /// `apiframe`).
    pub fn name(self) -> &'static str {
        self.facts().name
    }

    /// The production base URL; the paths of the provider's OpenAPI document are relative to it.
    pub fn default_base_url(self) -> &'static str {
        self.facts().base_url
    }

    /// The environment variable holding the provider's API key (`HIAPI_API_KEY`,
    /// `REAPI_API_KEY`, `APIFRAME_API_KEY`).
    pub fn api_key_env(self) -> &'static str {
        self.facts().api_key_env
    }

    /// The environment variable that overrides the base URL (`HIAPI_BASE_URL`, ...).
    pub fn base_url_env(self) -> &'static str {
        self.facts().base_url_env
    }

    /// How the provider's keys begin (`sk-`, `rk_`, `afk_`).
    pub fn key_prefix(self) -> &'static str {
        self.facts().key_prefix
    }
}

/// What one provider is, as its pages and SDKs state it. One constant per provider, in
/// `src/provider/<name>.rs`; everything else (client, validation, sandbox, CLI) reads it here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Facts {
    /// The lower-case name (`hiapi`).
    pub name: &'static str,
    /// The production base URL, which the OpenAPI document's paths are relative to.
    pub base_url: &'static str,
    /// The environment variable holding the API key.
    pub api_key_env: &'static str,
    /// The environment variable that overrides the base URL.
    pub base_url_env: &'static str,
    /// How the provider's keys begin.
    pub key_prefix: &'static str,
    /// How the key is sent.
    pub auth: Auth,
    /// The HappyHorse 1.1 model ids it takes (HiAPI: one per mode).
    pub models: &'static [&'static str],
    /// Its task status names.
    pub statuses: Statuses,
    /// Whether it honours an `Idempotency-Key` on submit.
    pub idempotency: bool,
    /// Whether it calls back when a task ends (HiAPI `callback.url`, Apiframe `webhookUrl`).
    pub callbacks: bool,
    /// Its documented price, where it documents one.
    pub credits_per_second: Option<CreditsPerSecond>,
    /// The resolution a request without one gets (its document's `default`).
    pub default_resolution: &'static str,
    /// The length in seconds a request without one gets, where documented.
    pub default_duration: Option<u8>,
}

/// How a provider takes the API key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// `Authorization: Bearer KEY`.
    Bearer,
    /// The key alone in this header.
    Header(&'static str),
}

/// A provider's task status names (matched without regard to case).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Statuses {
    /// A new task.
    pub queued: &'static str,
    /// Other names for a task not yet started.
    pub also_queued: &'static [&'static str],
    /// A running task (names the client does not know count as running too).
    pub running: &'static str,
    /// Done, with outputs.
    pub succeeded: &'static str,
    /// Ended without a video.
    pub failed: &'static str,
    /// Cancelled, where the provider has the status.
    pub cancelled: Option<&'static str>,
}

/// A documented price in credits per second of video.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditsPerSecond {
    /// At 720p.
    pub p720: u64,
    /// At 1080p.
    pub p1080: u64,
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a provider name that is not one of `hiapi`, `reapi` or `apiframe`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownProvider(pub String);

impl fmt::Display for UnknownProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown provider {:?}: use one of hiapi, reapi, apiframe",
            self.0
        )
    }
}

impl std::error::Error for UnknownProvider {}

impl FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownProvider(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_say_what_is_accepted() {
        for p in Provider::ALL {
            assert_eq!(p.name().parse::<Provider>(), Ok(p));
            assert_eq!(p.to_string().to_uppercase().parse::<Provider>(), Ok(p));
        }
        for (i, p) in Provider::ALL.into_iter().enumerate() {
            assert_eq!(p.index(), i, "ALL is in declaration order");
        }
        let err = "openai".parse::<Provider>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown provider \"openai\": use one of hiapi, reapi, apiframe"
        );
    }
}
