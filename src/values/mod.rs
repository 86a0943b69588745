//! Typed request values that cannot hold an invalid state.
//!
//! Each constructor checks the rule the sources state and fails with the providers' own
//! wording (`duration: minimum: got 0, want 3`). With the `schemars` feature the types derive `schemars::JsonSchema`, and a
//! test holds the bounds they emit to the bounds in `openapi/*.yaml`.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

pub(crate) mod text;
pub(crate) mod url;

use text::quoted;

use crate::Provider;

/// Why a value was refused. The message says what the rule is and what was given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct ValueError {
    /// The field the value was meant for (`duration`, `seed`, …).
    pub field: &'static str,
    /// The rule it broke, in the providers' wording.
    pub rule: String,
}

impl ValueError {
    fn new(field: &'static str, rule: impl Into<String>) -> Self {
        ValueError {
            field,
            rule: rule.into(),
        }
    }
}

/// Output resolution. HiAPI and Apiframe default to 1080p, reapi to 720p.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum Resolution {
    /// 720p: cheaper and faster.
    #[serde(rename = "720p")]
    P720,
    /// 1080p: the default on HiAPI and Apiframe.
    #[serde(rename = "1080p")]
    P1080,
}

impl Resolution {
    /// Both resolutions, in the order the documents list them.
    pub const ALL: [Resolution; 2] = [Resolution::P720, Resolution::P1080];
    /// Their wire names.
    pub const NAMES: [&'static str; 2] = ["720p", "1080p"];

    /// The wire name (`720p`, `1080p`).
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::P720 => "720p",
            Resolution::P1080 => "1080p",
        }
    }

    /// `provider`'s documented price per second of video at this resolution, where it
    /// documents one (Apiframe: 24 credits at 720p, 31 at 1080p).
    pub fn credits_per_second(self, provider: Provider) -> Option<u64> {
        let price = provider.facts().credits_per_second?;
        Some(match self {
            Resolution::P720 => price.p720,
            Resolution::P1080 => price.p1080,
        })
    }
}

/// Output aspect ratio. HiAPI and reapi take all nine; Apiframe takes five
/// (see [`AspectRatio::on_apiframe`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum AspectRatio {
    /// 16:9 landscape, the default everywhere.
    #[serde(rename = "16:9")]
    Landscape16x9,
    /// 9:16 vertical.
    #[serde(rename = "9:16")]
    Portrait9x16,
    /// 3:4.
    #[serde(rename = "3:4")]
    Portrait3x4,
    /// 4:3.
    #[serde(rename = "4:3")]
    Landscape4x3,
    /// 4:5 (not on Apiframe).
    #[serde(rename = "4:5")]
    Portrait4x5,
    /// 5:4 (not on Apiframe).
    #[serde(rename = "5:4")]
    Landscape5x4,
    /// 1:1 square.
    #[serde(rename = "1:1")]
    Square,
    /// 9:21 tall (not on Apiframe).
    #[serde(rename = "9:21")]
    Portrait9x21,
    /// 21:9 cinemascope (not on Apiframe).
    #[serde(rename = "21:9")]
    Cinema21x9,
}

impl AspectRatio {
    /// All nine, in the order HiAPI and reapi list them.
    pub const ALL: [AspectRatio; 9] = [
        AspectRatio::Landscape16x9,
        AspectRatio::Portrait9x16,
        AspectRatio::Portrait3x4,
        AspectRatio::Landscape4x3,
        AspectRatio::Portrait4x5,
        AspectRatio::Landscape5x4,
        AspectRatio::Square,
        AspectRatio::Portrait9x21,
        AspectRatio::Cinema21x9,
    ];
    /// The wire names of all nine (HiAPI and reapi).
    pub const NAMES: [&'static str; 9] = [
        "16:9", "9:16", "3:4", "4:3", "4:5", "5:4", "1:1", "9:21", "21:9",
    ];
    /// The wire names of the five Apiframe takes, in Apiframe's order.
    pub const APIFRAME_NAMES: [&'static str; 5] = ["16:9", "9:16", "1:1", "4:3", "3:4"];

    /// The wire name (`16:9`, …).
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Whether Apiframe accepts this ratio (it takes 16:9, 9:16, 1:1, 4:3 and 3:4).
    pub fn on_apiframe(self) -> bool {
        Self::APIFRAME_NAMES.contains(&self.as_str())
    }
}

macro_rules! named_from_str {
    ($ty:ty, $field:literal) => {
        impl FromStr for $ty {
            type Err = ValueError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s.trim())
                    .ok_or_else(|| {
                        let names: Vec<String> = Self::ALL
                            .iter()
                            .map(|v| format!("{:?}", v.as_str()))
                            .collect();
                        ValueError::new(
                            $field,
                            format!("value must be one of {}", names.join(", ")),
                        )
                    })
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_from_str!(Resolution, "resolution");
named_from_str!(AspectRatio, "aspect_ratio");

/// Clip length in whole seconds, 3 to 15 (every provider). The default is 5 where documented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct VideoDuration(#[cfg_attr(feature = "schemars", schemars(range(min = 3, max = 15)))] u8);

impl VideoDuration {
    /// The shortest clip, 3 s.
    pub const MIN: u8 = 3;
    /// The longest clip, 15 s.
    pub const MAX: u8 = 15;

    /// A duration of `seconds`, refused outside 3..=15 with the providers' wording.
    pub fn new(seconds: i64) -> Result<Self, ValueError> {
        if seconds < i64::from(Self::MIN) {
            return Err(ValueError::new(
                "duration",
                format!("minimum: got {seconds}, want {}", Self::MIN),
            ));
        }
        if seconds > i64::from(Self::MAX) {
            return Err(ValueError::new(
                "duration",
                format!("maximum: got {seconds}, want {}", Self::MAX),
            ));
        }
        // In range, so it fits in a u8.
        Ok(VideoDuration(seconds as u8))
    }

    /// The length in seconds.
    pub fn seconds(self) -> u8 {
        self.0
    }
}

impl FromStr for VideoDuration {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().trim_end_matches('s');
        let seconds: i64 = s.parse().map_err(|_| {
            ValueError::new(
                "duration",
                format!(
                    "got \"{}\", want a whole number of seconds from 3 to 15",
                    quoted(s)
                ),
            )
        })?;
        VideoDuration::new(seconds)
    }
}

impl<'de> Deserialize<'de> for VideoDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        VideoDuration::new(i64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A seed for reproducible output, 0 to 2147483647. Only Apiframe accepts one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Seed(
    #[cfg_attr(feature = "schemars", schemars(range(min = 0, max = 2_147_483_647)))] u32,
);

impl Seed {
    /// The largest seed Apiframe accepts.
    pub const MAX: u32 = 2_147_483_647;

    /// A seed, refused outside 0..=2147483647.
    pub fn new(value: i64) -> Result<Self, ValueError> {
        if value < 0 {
            return Err(ValueError::new(
                "seed",
                format!("minimum: got {value}, want 0"),
            ));
        }
        if value > i64::from(Self::MAX) {
            return Err(ValueError::new(
                "seed",
                format!("maximum: got {value}, want {}", Self::MAX),
            ));
        }
        Ok(Seed(value as u32))
    }

    /// The seed's value.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl FromStr for Seed {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value: i64 = s.trim().parse().map_err(|_| {
            ValueError::new(
                "seed",
                format!(
                    "got \"{}\", want a whole number from 0 to {}",
                    quoted(s),
                    Seed::MAX
                ),
            )
        })?;
        Seed::new(value)
    }
}

/// A non-empty prompt of at most [`Prompt::MAX_CHARS`] (5000) characters, the most any
/// provider takes. Tighter provider limits (Apiframe 2500 characters; reapi truncating past a
/// weight of 5000, a CJK character weighing two) are checked when the request is converted for
/// a provider.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Prompt(#[cfg_attr(feature = "schemars", schemars(length(min = 1, max = 5000)))] String);

impl Prompt {
    /// The longest prompt, in characters (Unicode scalar values): the most any provider takes,
    /// HiAPI's and reapi's `maxLength` in `openapi/*.yaml` (reapi reads no more, truncating
    /// the rest; HiAPI documents no bound, and serves the same model). Apiframe takes 2500.
    pub const MAX_CHARS: usize = 5000;

    /// A prompt; refused when empty, only white space, or longer than [`Prompt::MAX_CHARS`]
    /// characters (`prompt: maxLength: got 5001, want 5000`).
    pub fn new(text: impl Into<String>) -> Result<Self, ValueError> {
        let text = text.into();
        // A character takes at least one byte: count them only when the bytes leave it in doubt.
        if text.len() > Self::MAX_CHARS {
            let chars = text.chars().count();
            if chars > Self::MAX_CHARS {
                return Err(ValueError::new(
                    "prompt",
                    format!(
                        "maxLength: got {chars}, want {}: the longest prompt any provider takes \
                         (Apiframe takes 2500); shorten it",
                        Self::MAX_CHARS
                    ),
                ));
            }
        }
        if text.trim().is_empty() {
            return Err(ValueError::new(
                "prompt",
                "must not be empty or only white space: describe the clip",
            ));
        }
        Ok(Prompt(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The length in characters (Unicode scalar values), as the providers count it.
    pub fn chars(&self) -> usize {
        self.0.chars().count()
    }
}

/// An absolute `http://` or `https://` URL of a media file or callback endpoint. Whether plain
/// HTTP is allowed depends on the provider and the field, and is checked on conversion.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct HttpUrl(#[cfg_attr(feature = "schemars", schemars(url))] String);

/// Whether `text` reads as a file path rather than a URL: no `scheme:` and a path shape
/// (`./a.png`, `/tmp/a.png`, `~/a.png`, `C:\a.png`, `photos/a.png`, `a.png`).
fn looks_like_a_local_path(text: &str) -> bool {
    let text = text.trim();
    let has_scheme = text.split_once(':').is_some_and(|(scheme, rest)| {
        scheme.len() > 1
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && !rest.starts_with('\\')
    });
    if has_scheme || text.is_empty() {
        return false;
    }
    let image_like = [".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".heic"]
        .iter()
        .any(|ext| text.to_ascii_lowercase().ends_with(ext));
    text.starts_with(['.', '/', '~', '\\']) || text.get(1..3) == Some(":\\") || image_like
}

impl HttpUrl {
    /// A URL; refused unless it is an absolute RFC 3986 URI with an http or https scheme.
    /// `data:` URIs and bare base64 are refused: no provider fetches them.
    pub fn new(text: impl Into<String>) -> Result<Self, ValueError> {
        let text = text.into();
        if looks_like_a_local_path(&text) {
            return Err(ValueError::new(
                "url",
                format!(
                    "'{}' looks like a local file; the providers fetch images themselves, \
                     from a public http(s) URL: upload it somewhere they can reach and pass that URL",
                    quoted(&text)
                ),
            ));
        }
        if let Some(problem) = url::UrlRule::HttpOrHttps.check(&text) {
            return Err(ValueError::new("url", problem));
        }
        Ok(HttpUrl(text))
    }

    /// The URL text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// Whether this is plain `http` to a loopback host (`localhost`, 127.0.0.0/8, `[::1]`):
    /// the one plain-HTTP callback URL accepted, for a receiver on the same machine (a
    /// sandbox's, or a test's).
    pub fn is_loopback_http(&self) -> bool {
        url::is_loopback_http(&self.0)
    }
}

impl fmt::Debug for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for HttpUrl {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HttpUrl::new(s.trim())
    }
}

/// One to nine reference images for reference-to-video, referred to in the prompt as
/// `[Image 1]`, `[Image 2]`, … in this order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct References(
    #[cfg_attr(feature = "schemars", schemars(length(min = 1, max = 9)))] Vec<HttpUrl>,
);

impl References {
    /// The most references any provider takes.
    pub const MAX: usize = 9;

    /// A reference list; refused when empty or longer than nine.
    pub fn new(urls: Vec<HttpUrl>) -> Result<Self, ValueError> {
        match urls.len() {
            0 => Err(ValueError::new(
                "reference_image",
                "minItems: got 0, want 1: pass at least one reference image",
            )),
            n if n > Self::MAX => Err(ValueError::new(
                "reference_image",
                format!(
                    "maxItems: got {n}, want 9: compose several references into one grid image"
                ),
            )),
            _ => Ok(References(urls)),
        }
    }

    /// The URLs, in prompt order.
    pub fn urls(&self) -> &[HttpUrl] {
        &self.0
    }

    /// How many references there are (1..=9).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: a reference list holds at least one URL.
    pub fn is_empty(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod local_paths {
    use super::*;

    #[test]
    fn local_files_are_named_as_such() {
        for path in [
            "./horse.png",
            "/tmp/horse.jpg",
            "~/Pictures/horse.jpeg",
            "photos/horse.webp",
            "horse.PNG",
            "C:\\horse.png",
        ] {
            let err = HttpUrl::new(path).unwrap_err().to_string();
            assert!(
                err.contains("local file") && err.contains("public"),
                "{path}: {err}"
            );
        }
        for not_a_path in [
            "https://example.com/a.png",
            "ftp://example.com/a.png",
            "data:image/png;base64,AAAA",
        ] {
            let err = HttpUrl::new(not_a_path)
                .map(|_| String::new())
                .unwrap_or_else(|e| e.to_string());
            assert!(!err.contains("local file"), "{not_a_path}: {err}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_outside_3_to_15_are_refused_in_the_providers_words() {
        assert_eq!(
            VideoDuration::new(0).unwrap_err().to_string(),
            "duration: minimum: got 0, want 3"
        );
        assert_eq!(
            VideoDuration::new(20).unwrap_err().to_string(),
            "duration: maximum: got 20, want 15"
        );
        assert_eq!(VideoDuration::new(3).unwrap().seconds(), 3);
        assert_eq!("15s".parse::<VideoDuration>().unwrap().seconds(), 15);
        assert!("5.5".parse::<VideoDuration>().is_err());
        assert!(serde_json::from_str::<VideoDuration>("5.5").is_err());
        assert!(serde_json::from_str::<VideoDuration>("16").is_err());
    }

    #[test]
    fn aspect_ratios_know_which_five_apiframe_takes() {
        let on_apiframe: Vec<_> = AspectRatio::ALL
            .into_iter()
            .filter(|r| r.on_apiframe())
            .map(AspectRatio::as_str)
            .collect();
        assert_eq!(on_apiframe, ["16:9", "9:16", "3:4", "4:3", "1:1"]);
        for (ratio, name) in AspectRatio::ALL.iter().zip(AspectRatio::NAMES) {
            assert_eq!(serde_json::to_value(ratio).unwrap(), name);
            assert_eq!(name.parse::<AspectRatio>().unwrap(), *ratio);
        }
        assert!("2:1"
            .parse::<AspectRatio>()
            .unwrap_err()
            .rule
            .contains("\"21:9\""));
    }

    #[test]
    fn seeds_prompts_urls_and_references_hold_their_rules() {
        assert!(Seed::new(-1).is_err() && Seed::new(2_147_483_648).is_err());
        assert_eq!(Seed::new(2_147_483_647).unwrap().get(), Seed::MAX);
        assert!(Prompt::new("  ").is_err());
        assert_eq!(
            Prompt::new("马".repeat(5000)).unwrap().chars(),
            Prompt::MAX_CHARS
        );
        assert_eq!(
            Prompt::new("马".repeat(5001)).unwrap_err().to_string(),
            "prompt: maxLength: got 5001, want 5000: the longest prompt any provider takes \
             (Apiframe takes 2500); shorten it"
        );
        let huge = format!("./{}.png", "x".repeat(1 << 20));
        assert!(HttpUrl::new(huge).unwrap_err().to_string().len() < 400);
        assert!(
            "x".repeat(1 << 20)
                .parse::<Seed>()
                .unwrap_err()
                .to_string()
                .len()
                < 400
        );
        let duration = "x".repeat(1 << 20).parse::<VideoDuration>().unwrap_err();
        assert!(duration.to_string().len() < 400);
        assert!(HttpUrl::new("data:image/png;base64,AAAA").is_err());
        assert!(HttpUrl::new("ftp://a.example/x.jpg").is_err());
        assert!(!HttpUrl::new("http://a.example/x.jpg").unwrap().is_https());
        let url = HttpUrl::new("https://a.example/x.jpg").unwrap();
        assert!(References::new(vec![]).is_err());
        assert!(References::new(vec![url.clone(); 10]).is_err());
        assert_eq!(References::new(vec![url; 9]).unwrap().len(), 9);
    }
}
