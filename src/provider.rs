//! The three providers that serve HappyHorse 1.1.

use std::{fmt, str::FromStr};

/// An API provider serving HappyHorse 1.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
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

    /// The lower-case name used on the command line and in file names (`hiapi`, `reapi`,
    /// `apiframe`).
    pub fn name(self) -> &'static str {
        match self {
            Provider::HiApi => "hiapi",
            Provider::Reapi => "reapi",
            Provider::Apiframe => "apiframe",
        }
    }

    /// The production base URL; the paths of the provider's OpenAPI document are relative to it.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Provider::HiApi => "https://api.hiapi.ai/v1",
            Provider::Reapi => "https://reapi.ai/api/v1",
            Provider::Apiframe => "https://api.apiframe.ai",
        }
    }

    /// The environment variable holding the provider's API key (`HIAPI_API_KEY`,
    /// `REAPI_API_KEY`, `APIFRAME_API_KEY`).
    pub fn api_key_env(self) -> &'static str {
        match self {
            Provider::HiApi => "HIAPI_API_KEY",
            Provider::Reapi => "REAPI_API_KEY",
            Provider::Apiframe => "APIFRAME_API_KEY",
        }
    }

    /// The environment variable that overrides the base URL (`HIAPI_BASE_URL`, ...).
    pub fn base_url_env(self) -> &'static str {
        match self {
            Provider::HiApi => "HIAPI_BASE_URL",
            Provider::Reapi => "REAPI_BASE_URL",
            Provider::Apiframe => "APIFRAME_BASE_URL",
        }
    }

    /// How the provider's keys begin (`sk-`, `rk_`, `afk_`).
    pub fn key_prefix(self) -> &'static str {
        match self {
            Provider::HiApi => "sk-",
            Provider::Reapi => "rk_",
            Provider::Apiframe => "afk_",
        }
    }
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
