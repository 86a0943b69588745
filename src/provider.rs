//! The three providers that serve HappyHorse 1.1.

use std::{fmt, str::FromStr};

/// An API provider serving HappyHorse 1.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
