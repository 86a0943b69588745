#[allow(unused_imports)]
pub use progenitor_client::{ByteStream, ClientInfo, Error, ResponseValue};
#[allow(unused_imports)]
use progenitor_client::{encode_path, ClientHooks, OperationInfo, RequestBuilderExt};
/// Types used as operation parameters and responses.
#[allow(clippy::all)]
pub mod types {
    ///Nine ratios, default 16:9; T2V / R2V only, ignored in I2V (reapi page).
    #[derive(
        ::serde::Deserialize,
        ::serde::Serialize,
        Clone,
        Copy,
        Debug,
        Eq,
        Hash,
        Ord,
        PartialEq,
        PartialOrd
    )]
    pub enum AspectRatio {
        #[serde(rename = "16:9")]
        X169,
        #[serde(rename = "9:16")]
        X916,
        #[serde(rename = "3:4")]
        X34,
        #[serde(rename = "4:3")]
        X43,
        #[serde(rename = "4:5")]
        X45,
        #[serde(rename = "5:4")]
        X54,
        #[serde(rename = "1:1")]
        X11,
        #[serde(rename = "9:21")]
        X921,
        #[serde(rename = "21:9")]
        X219,
    }
    impl ::std::fmt::Display for AspectRatio {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            match *self {
                Self::X169 => f.write_str("16:9"),
                Self::X916 => f.write_str("9:16"),
                Self::X34 => f.write_str("3:4"),
                Self::X43 => f.write_str("4:3"),
                Self::X45 => f.write_str("4:5"),
                Self::X54 => f.write_str("5:4"),
                Self::X11 => f.write_str("1:1"),
                Self::X921 => f.write_str("9:21"),
                Self::X219 => f.write_str("21:9"),
            }
        }
    }
    impl ::std::str::FromStr for AspectRatio {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            match value {
                "16:9" => Ok(Self::X169),
                "9:16" => Ok(Self::X916),
                "3:4" => Ok(Self::X34),
                "4:3" => Ok(Self::X43),
                "4:5" => Ok(Self::X45),
                "5:4" => Ok(Self::X54),
                "1:1" => Ok(Self::X11),
                "9:21" => Ok(Self::X921),
                "21:9" => Ok(Self::X219),
                _ => Err("invalid value".into()),
            }
        }
    }
    impl ::std::convert::TryFrom<&str> for AspectRatio {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for AspectRatio {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::default::Default for AspectRatio {
        fn default() -> Self {
            AspectRatio::X169
        }
    }
    ///Output length in whole seconds, 3–15, default 5; scales the bill linearly (reapi page).
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    #[serde(transparent)]
    pub struct Duration(pub i64);
    impl ::std::ops::Deref for Duration {
        type Target = i64;
        fn deref(&self) -> &i64 {
            &self.0
        }
    }
    impl ::std::convert::From<Duration> for i64 {
        fn from(value: Duration) -> Self {
            value.0
        }
    }
    impl ::std::convert::From<i64> for Duration {
        fn from(value: i64) -> Self {
            Self(value)
        }
    }
    impl ::std::fmt::Display for Duration {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            self.0.fmt(f)
        }
    }
    impl ::std::str::FromStr for Duration {
        type Err = <i64 as ::std::str::FromStr>::Err;
        fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
            Ok(Self(value.parse()?))
        }
    }
    impl ::std::convert::TryFrom<&str> for Duration {
        type Error = <i64 as ::std::str::FromStr>::Err;
        fn try_from(value: &str) -> ::std::result::Result<Self, Self::Error> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<String> for Duration {
        type Error = <i64 as ::std::str::FromStr>::Err;
        fn try_from(value: String) -> ::std::result::Result<Self, Self::Error> {
            value.parse()
        }
    }
    /**A failure: on a failed task (reapi page: "Failed generations are surfaced under error")
and, by assumption, inside every error response. Codes (reapi page): 20002 invalid
parameter (400), 10001–10005 auth (401), 30001 insufficient credits (402), 50001 rate
limited (429).
*/
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct ErrorDetail {
        ///reapi's numeric error code.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub code: ::std::option::Option<i64>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub message: ::std::option::Option<::std::string::String>,
    }
    impl ErrorDetail {
        pub fn builder() -> builder::ErrorDetail {
            Default::default()
        }
    }
    ///Error body. Assumed shape: `{"error": {"code": 20002, "message": "…"}}` (undocumented).
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct ErrorResponse {
        pub error: ErrorDetail,
    }
    impl ErrorResponse {
        pub fn builder() -> builder::ErrorResponse {
            Default::default()
        }
    }
    /**`POST /api/v1/videos/generations` body. Exactly one of the three modes; which one is
decided by the media field present: none → text-to-video, `image_urls` →
image-to-video, `reference_image_urls` → reference-to-video. Both media fields at once
match no mode (reapi page: "mutually exclusive").
*/
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    #[serde(untagged)]
    pub enum GenerationRequest {
        TextToVideoRequest(TextToVideoRequest),
        ImageToVideoRequest(ImageToVideoRequest),
        ReferenceToVideoRequest(ReferenceToVideoRequest),
    }
    impl ::std::convert::From<TextToVideoRequest> for GenerationRequest {
        fn from(value: TextToVideoRequest) -> Self {
            Self::TextToVideoRequest(value)
        }
    }
    impl ::std::convert::From<ImageToVideoRequest> for GenerationRequest {
        fn from(value: ImageToVideoRequest) -> Self {
            Self::ImageToVideoRequest(value)
        }
    }
    impl ::std::convert::From<ReferenceToVideoRequest> for GenerationRequest {
        fn from(value: ReferenceToVideoRequest) -> Self {
            Self::ReferenceToVideoRequest(value)
        }
    }
    ///`GetTaskId`
    #[derive(::serde::Serialize, Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
    #[serde(transparent)]
    pub struct GetTaskId(::std::string::String);
    impl ::std::ops::Deref for GetTaskId {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<GetTaskId> for ::std::string::String {
        fn from(value: GetTaskId) -> Self {
            value.0
        }
    }
    impl ::std::str::FromStr for GetTaskId {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            if value.chars().count() < 1usize {
                return Err("shorter than 1 characters".into());
            }
            Ok(Self(value.to_string()))
        }
    }
    impl ::std::convert::TryFrom<&str> for GetTaskId {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for GetTaskId {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl<'de> ::serde::Deserialize<'de> for GetTaskId {
        fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
        where
            D: ::serde::Deserializer<'de>,
        {
            ::std::string::String::deserialize(deserializer)?
                .parse()
                .map_err(|e: self::error::ConversionError| {
                    <D::Error as ::serde::de::Error>::custom(e.to_string())
                })
        }
    }
    /**Image-to-video, triggered by `image_urls` (reapi page, Modes table). `prompt` is
optional; `aspect_ratio` is accepted but ignored, the orientation coming from the image
(reapi page: "aspect_ratio is ignored in I2V").
*/
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    pub struct ImageToVideoRequest {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub aspect_ratio: ::std::option::Option<AspectRatio>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub duration: ::std::option::Option<Duration>,
        /**First-frame image, exactly 1 public URL; presence selects image-to-video.
JPEG/PNG/WEBP, short side ≥300px, ratio 1:2.5–2.5:1, ≤20MB (reapi page; checked by
reapi on fetch, not by the schema).
*/
        pub image_urls: [MediaUrl; 1usize],
        pub model: Model,
        /**Optional in I2V (reapi page). At most 5000 characters, the same length rule as
`RequiredPrompt` (reapi page; see info).
*/
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub prompt: ::std::option::Option<ImageToVideoRequestPrompt>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub resolution: ::std::option::Option<Resolution>,
    }
    impl ImageToVideoRequest {
        pub fn builder() -> builder::ImageToVideoRequest {
            Default::default()
        }
    }
    /**Optional in I2V (reapi page). At most 5000 characters, the same length rule as
`RequiredPrompt` (reapi page; see info).
*/
    #[derive(::serde::Serialize, Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
    #[serde(transparent)]
    pub struct ImageToVideoRequestPrompt(::std::string::String);
    impl ::std::ops::Deref for ImageToVideoRequestPrompt {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<ImageToVideoRequestPrompt> for ::std::string::String {
        fn from(value: ImageToVideoRequestPrompt) -> Self {
            value.0
        }
    }
    impl ::std::str::FromStr for ImageToVideoRequestPrompt {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            if value.chars().count() > 5000usize {
                return Err("longer than 5000 characters".into());
            }
            Ok(Self(value.to_string()))
        }
    }
    impl ::std::convert::TryFrom<&str> for ImageToVideoRequestPrompt {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for ImageToVideoRequestPrompt {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl<'de> ::serde::Deserialize<'de> for ImageToVideoRequestPrompt {
        fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
        where
            D: ::serde::Deserializer<'de>,
        {
            ::std::string::String::deserialize(deserializer)?
                .parse()
                .map_err(|e: self::error::ConversionError| {
                    <D::Error as ::serde::de::Error>::custom(e.to_string())
                })
        }
    }
    /**A public HTTP(S) URL; base64 and `data:` URIs are rejected (reapi page: "All media
inputs must be public HTTP(S) URLs").
*/
    #[derive(::serde::Serialize, Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
    #[serde(transparent)]
    pub struct MediaUrl(::std::string::String);
    impl ::std::ops::Deref for MediaUrl {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<MediaUrl> for ::std::string::String {
        fn from(value: MediaUrl) -> Self {
            value.0
        }
    }
    impl ::std::str::FromStr for MediaUrl {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            static PATTERN: ::std::sync::LazyLock<::regress::Regex> = ::std::sync::LazyLock::new(||
            { ::regress::Regex::new("^https?://").unwrap() });
            if PATTERN.find(value).is_none() {
                return Err("doesn't match pattern \"^https?://\"".into());
            }
            Ok(Self(value.to_string()))
        }
    }
    impl ::std::convert::TryFrom<&str> for MediaUrl {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for MediaUrl {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl<'de> ::serde::Deserialize<'de> for MediaUrl {
        fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
        where
            D: ::serde::Deserializer<'de>,
        {
            ::std::string::String::deserialize(deserializer)?
                .parse()
                .map_err(|e: self::error::ConversionError| {
                    <D::Error as ::serde::de::Error>::custom(e.to_string())
                })
        }
    }
    ///`happyhorse-1-1` (reapi page). Note the hyphens: not `happyhorse-1.1`.
    #[derive(
        ::serde::Deserialize,
        ::serde::Serialize,
        Clone,
        Copy,
        Debug,
        Eq,
        Hash,
        Ord,
        PartialEq,
        PartialOrd
    )]
    pub enum Model {
        #[serde(rename = "happyhorse-1-1")]
        Happyhorse11,
    }
    impl ::std::fmt::Display for Model {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            match *self {
                Self::Happyhorse11 => f.write_str("happyhorse-1-1"),
            }
        }
    }
    impl ::std::str::FromStr for Model {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            match value {
                "happyhorse-1-1" => Ok(Self::Happyhorse11),
                _ => Err("invalid value".into()),
            }
        }
    }
    impl ::std::convert::TryFrom<&str> for Model {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for Model {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    ///Reference-to-video, triggered by `reference_image_urls` (reapi page, Modes table).
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    pub struct ReferenceToVideoRequest {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub aspect_ratio: ::std::option::Option<AspectRatio>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub duration: ::std::option::Option<Duration>,
        pub model: Model,
        pub prompt: RequiredPrompt,
        /**1–9 reference image URLs; presence selects reference-to-video. JPEG/PNG/WEBP, short
side ≥400px, ≤20MB (reapi page; checked by reapi on fetch). Name each subject as
[Image N] in the prompt, matching the array order (reapi page, Tips).
*/
        pub reference_image_urls: ::std::vec::Vec<MediaUrl>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub resolution: ::std::option::Option<Resolution>,
    }
    impl ReferenceToVideoRequest {
        pub fn builder() -> builder::ReferenceToVideoRequest {
            Default::default()
        }
    }
    /**Required in T2V and R2V (reapi page). Any language. ≤5000 non-CJK / ≤2500 CJK
characters; over-length is auto-truncated upstream (reapi page). More than 5000
characters is refused (truncated whatever the script); over 2500 CJK characters within
5000 is a warning, as a schema cannot weigh characters (see info). In R2V, reference
images as [Image 1], [Image 2], … Non-empty is assumed.
*/
    #[derive(::serde::Serialize, Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
    #[serde(transparent)]
    pub struct RequiredPrompt(::std::string::String);
    impl ::std::ops::Deref for RequiredPrompt {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<RequiredPrompt> for ::std::string::String {
        fn from(value: RequiredPrompt) -> Self {
            value.0
        }
    }
    impl ::std::str::FromStr for RequiredPrompt {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            if value.chars().count() > 5000usize {
                return Err("longer than 5000 characters".into());
            }
            if value.chars().count() < 1usize {
                return Err("shorter than 1 characters".into());
            }
            Ok(Self(value.to_string()))
        }
    }
    impl ::std::convert::TryFrom<&str> for RequiredPrompt {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for RequiredPrompt {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl<'de> ::serde::Deserialize<'de> for RequiredPrompt {
        fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
        where
            D: ::serde::Deserializer<'de>,
        {
            ::std::string::String::deserialize(deserializer)?
                .parse()
                .map_err(|e: self::error::ConversionError| {
                    <D::Error as ::serde::de::Error>::custom(e.to_string())
                })
        }
    }
    ///Default 720p on reapi (reapi page; provider-facts: HiAPI and Apiframe default to 1080p).
    #[derive(
        ::serde::Deserialize,
        ::serde::Serialize,
        Clone,
        Copy,
        Debug,
        Eq,
        Hash,
        Ord,
        PartialEq,
        PartialOrd
    )]
    pub enum Resolution {
        #[serde(rename = "720p")]
        X720p,
        #[serde(rename = "1080p")]
        X1080p,
    }
    impl ::std::fmt::Display for Resolution {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            match *self {
                Self::X720p => f.write_str("720p"),
                Self::X1080p => f.write_str("1080p"),
            }
        }
    }
    impl ::std::str::FromStr for Resolution {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            match value {
                "720p" => Ok(Self::X720p),
                "1080p" => Ok(Self::X1080p),
                _ => Err("invalid value".into()),
            }
        }
    }
    impl ::std::convert::TryFrom<&str> for Resolution {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for Resolution {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::default::Default for Resolution {
        fn default() -> Self {
            Resolution::X720p
        }
    }
    /**The task (reapi page, Output: `{"id", "model", "status", "output": {"video_urls":
[...]}, "error": null}`). Also the assumed submit response.
*/
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct Task {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub error: ::std::option::Option<ErrorDetail>,
        ///Task id, e.g. `task_…` (reapi page).
        pub id: ::std::string::String,
        ///`happyhorse-1-1`.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub model: ::std::option::Option<::std::string::String>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub output: ::std::option::Option<TaskOutput>,
        pub status: TaskStatus,
    }
    impl Task {
        pub fn builder() -> builder::Task {
            Default::default()
        }
    }
    ///Set when `status` is `completed` (reapi page).
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct TaskOutput {
        ///The generated videos, e.g. `https://cdn.reapi.ai/media/tasks/…/0.mp4` (reapi page). No expiry is documented.
        #[serde(default, skip_serializing_if = "::std::vec::Vec::is_empty")]
        pub video_urls: ::std::vec::Vec<::std::string::String>,
    }
    impl TaskOutput {
        pub fn builder() -> builder::TaskOutput {
            Default::default()
        }
    }
    /**Open set. `completed` is success (reapi page). Assumed (undocumented): `pending` and
`processing` while running, `failed` when a generation failed (with `error` set). Treat
any other value as still running.
*/
    #[derive(
        ::serde::Deserialize,
        ::serde::Serialize,
        Clone,
        Debug,
        Eq,
        Hash,
        Ord,
        PartialEq,
        PartialOrd
    )]
    #[serde(transparent)]
    pub struct TaskStatus(pub ::std::string::String);
    impl ::std::ops::Deref for TaskStatus {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<TaskStatus> for ::std::string::String {
        fn from(value: TaskStatus) -> Self {
            value.0
        }
    }
    impl ::std::convert::From<::std::string::String> for TaskStatus {
        fn from(value: ::std::string::String) -> Self {
            Self(value)
        }
    }
    impl ::std::fmt::Display for TaskStatus {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            self.0.fmt(f)
        }
    }
    impl ::std::str::FromStr for TaskStatus {
        type Err = ::std::convert::Infallible;
        fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
            Ok(Self(value.to_string()))
        }
    }
    ///Text-to-video, triggered by no media field (reapi page, Modes table).
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    pub struct TextToVideoRequest {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub aspect_ratio: ::std::option::Option<AspectRatio>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub duration: ::std::option::Option<Duration>,
        pub model: Model,
        pub prompt: RequiredPrompt,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub resolution: ::std::option::Option<Resolution>,
    }
    impl TextToVideoRequest {
        pub fn builder() -> builder::TextToVideoRequest {
            Default::default()
        }
    }
    /// Types for composing complex structures.
    pub mod builder {
        #[derive(Clone, Debug)]
        pub struct ErrorDetail {
            code: ::std::result::Result<
                ::std::option::Option<i64>,
                ::std::string::String,
            >,
            message: ::std::result::Result<
                ::std::option::Option<::std::string::String>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for ErrorDetail {
            fn default() -> Self {
                Self {
                    code: Ok(Default::default()),
                    message: Ok(Default::default()),
                }
            }
        }
        impl ErrorDetail {
            pub fn code<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<i64>>,
                T::Error: ::std::fmt::Display,
            {
                self.code = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for code: {e}")
                    });
                self
            }
            pub fn message<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<::std::string::String>>,
                T::Error: ::std::fmt::Display,
            {
                self.message = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for message: {e}")
                    });
                self
            }
        }
        impl ::std::convert::TryFrom<ErrorDetail> for super::ErrorDetail {
            type Error = super::error::ConversionError;
            fn try_from(
                value: ErrorDetail,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    code: value.code?,
                    message: value.message?,
                })
            }
        }
        impl ::std::convert::From<super::ErrorDetail> for ErrorDetail {
            fn from(value: super::ErrorDetail) -> Self {
                Self {
                    code: Ok(value.code),
                    message: Ok(value.message),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct ErrorResponse {
            error: ::std::result::Result<super::ErrorDetail, ::std::string::String>,
        }
        impl ::std::default::Default for ErrorResponse {
            fn default() -> Self {
                Self {
                    error: Err("no value supplied for error".to_string()),
                }
            }
        }
        impl ErrorResponse {
            pub fn error<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<super::ErrorDetail>,
                T::Error: ::std::fmt::Display,
            {
                self.error = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for error: {e}")
                    });
                self
            }
        }
        impl ::std::convert::TryFrom<ErrorResponse> for super::ErrorResponse {
            type Error = super::error::ConversionError;
            fn try_from(
                value: ErrorResponse,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self { error: value.error? })
            }
        }
        impl ::std::convert::From<super::ErrorResponse> for ErrorResponse {
            fn from(value: super::ErrorResponse) -> Self {
                Self { error: Ok(value.error) }
            }
        }
        #[derive(Clone, Debug)]
        pub struct ImageToVideoRequest {
            aspect_ratio: ::std::result::Result<
                ::std::option::Option<super::AspectRatio>,
                ::std::string::String,
            >,
            duration: ::std::result::Result<
                ::std::option::Option<super::Duration>,
                ::std::string::String,
            >,
            image_urls: ::std::result::Result<
                [super::MediaUrl; 1usize],
                ::std::string::String,
            >,
            model: ::std::result::Result<super::Model, ::std::string::String>,
            prompt: ::std::result::Result<
                ::std::option::Option<super::ImageToVideoRequestPrompt>,
                ::std::string::String,
            >,
            resolution: ::std::result::Result<
                ::std::option::Option<super::Resolution>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for ImageToVideoRequest {
            fn default() -> Self {
                Self {
                    aspect_ratio: Ok(Default::default()),
                    duration: Ok(Default::default()),
                    image_urls: Err("no value supplied for image_urls".to_string()),
                    model: Err("no value supplied for model".to_string()),
                    prompt: Ok(Default::default()),
                    resolution: Ok(Default::default()),
                }
            }
        }
        impl ImageToVideoRequest {
            pub fn aspect_ratio<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::AspectRatio>>,
                T::Error: ::std::fmt::Display,
            {
                self.aspect_ratio = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for aspect_ratio: {e}")
                    });
                self
            }
            pub fn duration<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::Duration>>,
                T::Error: ::std::fmt::Display,
            {
                self.duration = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for duration: {e}")
                    });
                self
            }
            pub fn image_urls<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<[super::MediaUrl; 1usize]>,
                T::Error: ::std::fmt::Display,
            {
                self.image_urls = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for image_urls: {e}")
                    });
                self
            }
            pub fn model<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<super::Model>,
                T::Error: ::std::fmt::Display,
            {
                self.model = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for model: {e}")
                    });
                self
            }
            pub fn prompt<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<
                    ::std::option::Option<super::ImageToVideoRequestPrompt>,
                >,
                T::Error: ::std::fmt::Display,
            {
                self.prompt = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for prompt: {e}")
                    });
                self
            }
            pub fn resolution<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::Resolution>>,
                T::Error: ::std::fmt::Display,
            {
                self.resolution = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for resolution: {e}")
                    });
                self
            }
        }
        impl ::std::convert::TryFrom<ImageToVideoRequest>
        for super::ImageToVideoRequest {
            type Error = super::error::ConversionError;
            fn try_from(
                value: ImageToVideoRequest,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    aspect_ratio: value.aspect_ratio?,
                    duration: value.duration?,
                    image_urls: value.image_urls?,
                    model: value.model?,
                    prompt: value.prompt?,
                    resolution: value.resolution?,
                })
            }
        }
        impl ::std::convert::From<super::ImageToVideoRequest> for ImageToVideoRequest {
            fn from(value: super::ImageToVideoRequest) -> Self {
                Self {
                    aspect_ratio: Ok(value.aspect_ratio),
                    duration: Ok(value.duration),
                    image_urls: Ok(value.image_urls),
                    model: Ok(value.model),
                    prompt: Ok(value.prompt),
                    resolution: Ok(value.resolution),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct ReferenceToVideoRequest {
            aspect_ratio: ::std::result::Result<
                ::std::option::Option<super::AspectRatio>,
                ::std::string::String,
            >,
            duration: ::std::result::Result<
                ::std::option::Option<super::Duration>,
                ::std::string::String,
            >,
            model: ::std::result::Result<super::Model, ::std::string::String>,
            prompt: ::std::result::Result<super::RequiredPrompt, ::std::string::String>,
            reference_image_urls: ::std::result::Result<
                ::std::vec::Vec<super::MediaUrl>,
                ::std::string::String,
            >,
            resolution: ::std::result::Result<
                ::std::option::Option<super::Resolution>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for ReferenceToVideoRequest {
            fn default() -> Self {
                Self {
                    aspect_ratio: Ok(Default::default()),
                    duration: Ok(Default::default()),
                    model: Err("no value supplied for model".to_string()),
                    prompt: Err("no value supplied for prompt".to_string()),
                    reference_image_urls: Err(
                        "no value supplied for reference_image_urls".to_string(),
                    ),
                    resolution: Ok(Default::default()),
                }
            }
        }
        impl ReferenceToVideoRequest {
            pub fn aspect_ratio<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::AspectRatio>>,
                T::Error: ::std::fmt::Display,
            {
                self.aspect_ratio = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for aspect_ratio: {e}")
                    });
                self
            }
            pub fn duration<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::Duration>>,
                T::Error: ::std::fmt::Display,
            {
                self.duration = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for duration: {e}")
                    });
                self
            }
            pub fn model<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<super::Model>,
                T::Error: ::std::fmt::Display,
            {
                self.model = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for model: {e}")
                    });
                self
            }
            pub fn prompt<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<super::RequiredPrompt>,
                T::Error: ::std::fmt::Display,
            {
                self.prompt = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for prompt: {e}")
                    });
                self
            }
            pub fn reference_image_urls<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::vec::Vec<super::MediaUrl>>,
                T::Error: ::std::fmt::Display,
            {
                self.reference_image_urls = value
                    .try_into()
                    .map_err(|e| {
                        format!(
                            "error converting supplied value for reference_image_urls: {e}"
                        )
                    });
                self
            }
            pub fn resolution<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::Resolution>>,
                T::Error: ::std::fmt::Display,
            {
                self.resolution = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for resolution: {e}")
                    });
                self
            }
        }
        impl ::std::convert::TryFrom<ReferenceToVideoRequest>
        for super::ReferenceToVideoRequest {
            type Error = super::error::ConversionError;
            fn try_from(
                value: ReferenceToVideoRequest,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    aspect_ratio: value.aspect_ratio?,
                    duration: value.duration?,
                    model: value.model?,
                    prompt: value.prompt?,
                    reference_image_urls: value.reference_image_urls?,
                    resolution: value.resolution?,
                })
            }
        }
        impl ::std::convert::From<super::ReferenceToVideoRequest>
        for ReferenceToVideoRequest {
            fn from(value: super::ReferenceToVideoRequest) -> Self {
                Self {
                    aspect_ratio: Ok(value.aspect_ratio),
                    duration: Ok(value.duration),
                    model: Ok(value.model),
                    prompt: Ok(value.prompt),
                    reference_image_urls: Ok(value.reference_image_urls),
                    resolution: Ok(value.resolution),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct Task {
            error: ::std::result::Result<
                ::std::option::Option<super::ErrorDetail>,
                ::std::string::String,
            >,
            id: ::std::result::Result<::std::string::String, ::std::string::String>,
            model: ::std::result::Result<
                ::std::option::Option<::std::string::String>,
                ::std::string::String,
            >,
            output: ::std::result::Result<
                ::std::option::Option<super::TaskOutput>,
                ::std::string::String,
            >,
            status: ::std::result::Result<super::TaskStatus, ::std::string::String>,
        }
        impl ::std::default::Default for Task {
            fn default() -> Self {
                Self {
                    error: Ok(Default::default()),
                    id: Err("no value supplied for id".to_string()),
                    model: Ok(Default::default()),
                    output: Ok(Default::default()),
                    status: Err("no value supplied for status".to_string()),
                }
            }
        }
        impl Task {
            pub fn error<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::ErrorDetail>>,
                T::Error: ::std::fmt::Display,
            {
                self.error = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for error: {e}")
                    });
                self
            }
            pub fn id<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::string::String>,
                T::Error: ::std::fmt::Display,
            {
                self.id = value
                    .try_into()
                    .map_err(|e| format!("error converting supplied value for id: {e}"));
                self
            }
            pub fn model<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<::std::string::String>>,
                T::Error: ::std::fmt::Display,
            {
                self.model = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for model: {e}")
                    });
                self
            }
            pub fn output<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::TaskOutput>>,
                T::Error: ::std::fmt::Display,
            {
                self.output = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for output: {e}")
                    });
                self
            }
            pub fn status<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<super::TaskStatus>,
                T::Error: ::std::fmt::Display,
            {
                self.status = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for status: {e}")
                    });
                self
            }
        }
        impl ::std::convert::TryFrom<Task> for super::Task {
            type Error = super::error::ConversionError;
            fn try_from(
                value: Task,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    error: value.error?,
                    id: value.id?,
                    model: value.model?,
                    output: value.output?,
                    status: value.status?,
                })
            }
        }
        impl ::std::convert::From<super::Task> for Task {
            fn from(value: super::Task) -> Self {
                Self {
                    error: Ok(value.error),
                    id: Ok(value.id),
                    model: Ok(value.model),
                    output: Ok(value.output),
                    status: Ok(value.status),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct TaskOutput {
            video_urls: ::std::result::Result<
                ::std::vec::Vec<::std::string::String>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for TaskOutput {
            fn default() -> Self {
                Self {
                    video_urls: Ok(Default::default()),
                }
            }
        }
        impl TaskOutput {
            pub fn video_urls<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::vec::Vec<::std::string::String>>,
                T::Error: ::std::fmt::Display,
            {
                self.video_urls = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for video_urls: {e}")
                    });
                self
            }
        }
        impl ::std::convert::TryFrom<TaskOutput> for super::TaskOutput {
            type Error = super::error::ConversionError;
            fn try_from(
                value: TaskOutput,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    video_urls: value.video_urls?,
                })
            }
        }
        impl ::std::convert::From<super::TaskOutput> for TaskOutput {
            fn from(value: super::TaskOutput) -> Self {
                Self {
                    video_urls: Ok(value.video_urls),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct TextToVideoRequest {
            aspect_ratio: ::std::result::Result<
                ::std::option::Option<super::AspectRatio>,
                ::std::string::String,
            >,
            duration: ::std::result::Result<
                ::std::option::Option<super::Duration>,
                ::std::string::String,
            >,
            model: ::std::result::Result<super::Model, ::std::string::String>,
            prompt: ::std::result::Result<super::RequiredPrompt, ::std::string::String>,
            resolution: ::std::result::Result<
                ::std::option::Option<super::Resolution>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for TextToVideoRequest {
            fn default() -> Self {
                Self {
                    aspect_ratio: Ok(Default::default()),
                    duration: Ok(Default::default()),
                    model: Err("no value supplied for model".to_string()),
                    prompt: Err("no value supplied for prompt".to_string()),
                    resolution: Ok(Default::default()),
                }
            }
        }
        impl TextToVideoRequest {
            pub fn aspect_ratio<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::AspectRatio>>,
                T::Error: ::std::fmt::Display,
            {
                self.aspect_ratio = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for aspect_ratio: {e}")
                    });
                self
            }
            pub fn duration<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::Duration>>,
                T::Error: ::std::fmt::Display,
            {
                self.duration = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for duration: {e}")
                    });
                self
            }
            pub fn model<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<super::Model>,
                T::Error: ::std::fmt::Display,
            {
                self.model = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for model: {e}")
                    });
                self
            }
            pub fn prompt<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<super::RequiredPrompt>,
                T::Error: ::std::fmt::Display,
            {
                self.prompt = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for prompt: {e}")
                    });
                self
            }
            pub fn resolution<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::Resolution>>,
                T::Error: ::std::fmt::Display,
            {
                self.resolution = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for resolution: {e}")
                    });
                self
            }
        }
        impl ::std::convert::TryFrom<TextToVideoRequest> for super::TextToVideoRequest {
            type Error = super::error::ConversionError;
            fn try_from(
                value: TextToVideoRequest,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    aspect_ratio: value.aspect_ratio?,
                    duration: value.duration?,
                    model: value.model?,
                    prompt: value.prompt?,
                    resolution: value.resolution?,
                })
            }
        }
        impl ::std::convert::From<super::TextToVideoRequest> for TextToVideoRequest {
            fn from(value: super::TextToVideoRequest) -> Self {
                Self {
                    aspect_ratio: Ok(value.aspect_ratio),
                    duration: Ok(value.duration),
                    model: Ok(value.model),
                    prompt: Ok(value.prompt),
                    resolution: Ok(value.resolution),
                }
            }
        }
    }
    /// Error types.
    pub mod error {
        /// Error from a `TryFrom` or `FromStr` implementation.
        pub struct ConversionError(::std::borrow::Cow<'static, str>);
        impl ::std::error::Error for ConversionError {}
        impl ::std::fmt::Display for ConversionError {
            fn fmt(
                &self,
                f: &mut ::std::fmt::Formatter<'_>,
            ) -> Result<(), ::std::fmt::Error> {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }
        impl ::std::fmt::Debug for ConversionError {
            fn fmt(
                &self,
                f: &mut ::std::fmt::Formatter<'_>,
            ) -> Result<(), ::std::fmt::Error> {
                ::std::fmt::Debug::fmt(&self.0, f)
            }
        }
        impl From<&'static str> for ConversionError {
            fn from(value: &'static str) -> Self {
                Self(value.into())
            }
        }
        impl From<String> for ConversionError {
            fn from(value: String) -> Self {
                Self(value.into())
            }
        }
    }
}
#[derive(Clone, Debug)]
/**Client for reapi video generations — HappyHorse 1.1

HappyHorse 1.1 as reapi serves it: one async endpoint that picks text-to-video,
image-to-video or reference-to-video by which media field the request carries.
Hand-maintained; the single source of truth for the `happyhorse` crate's reapi transport,
validation and sandbox.

Sources, named in each constraint's description:
- `seeds/reapi-happyhorse-1-1.txt` (reapi page): the whole published contract.
- `reference/provider-facts.md` (reapi section): "No official SDK beyond the seed page".

Decisions where the sources are silent (each repeated where it applies):
- Paths are relative to the base URL `https://reapi.ai/api/v1`, so `POST
  /videos/generations` here is `POST /api/v1/videos/generations` on the wire.
- The body is modelled as `oneOf` the three modes. The page says the mode is "selected by
  which inputs you send", that `image_urls` and `reference_image_urls` "are mutually
  exclusive", and that `prompt` is required in T2V and R2V but optional in I2V; one schema
  per mode states all three rules exactly, and a body carrying both media fields matches
  none of them.
- Unknown fields are rejected (`additionalProperties: false`). The page does not say;
  we follow the other two providers, which both reject unknown properties, so that a typo
  (`seed`, `negative_prompt`) is caught before it is silently dropped.
- A required `prompt` must be non-empty (assumed). Its length limit (≤5000 non-CJK / ≤2500
  CJK characters) is enforced as far as a schema can count: every `prompt` is at most 5000
  characters (`maxLength: 5000`). The page says over-length prompts are "auto-truncated
  upstream": reapi takes them, bills the video, and reads at most 5000 characters of any
  script, so a longer prompt is refused before it is paid for, as unknown fields are
  rather than dropped. A CJK character weighs two, which a schema cannot count: a prompt of
  5000 characters or fewer that weighs more than 5000 (over 2500 CJK characters) is
  accepted with a warning that its end will be cut. At four UTF-8 bytes a character (twelve
  as JSON `\u` escapes), a 5000-character prompt is at most 60 KB, far inside the 2 MiB
  request body limit of the sandbox (axum's default).
- `aspect_ratio` is accepted in I2V and ignored there (page: "aspect_ratio is ignored in
  I2V"), so I2V bodies may carry it; the crate warns.
- Submit response (undocumented): assumed to be the task object, the same shape `GET
  /tasks/{id}` returns, with a non-terminal status. The page says only "Submitting returns
  a task id".
- Non-terminal status names (undocumented): assumed `pending` and `processing`; a failed
  generation is assumed to read `failed` with `error` set. `status` is an open string, and
  only `completed` and `failed` are treated as terminal.
- Error body (undocumented): assumed `{"error": {"code": <int>, "message": <string>}}`, the
  same `error` object the task carries when a generation fails, so one shape serves both.
- The page's error table (20002 invalid parameter → 400, 10001–10005 → 401, 30001 → 402,
  50001 → 429) is not tied to an endpoint, so 400 is listed on the poll as on the submit.
  A 404 for an unknown task and 5xx answers are assumed (not in the table).
- The output files behind `output.video_urls` are described in `storage.yaml` (ranges,
  416, 404, and 410 or 403 once expired).
- A submit body must be sent as `application/json` (the request body's only media type);
  any other `Content-Type` is refused with the 400 of an invalid body, as a JSON-only API
  server does not parse it.


Version: 1.1.0*/
pub struct Client {
    pub(crate) baseurl: String,
    pub(crate) client: reqwest::Client,
}
impl Client {
    /// Create a new client.
    ///
    /// `baseurl` is the base URL provided to the internal
    /// `reqwest::Client`, and should include a scheme and hostname,
    /// as well as port and a path stem if applicable.
    pub fn new(baseurl: &str) -> Self {
        #[cfg(not(target_arch = "wasm32"))]
        let client = {
            let dur = ::std::time::Duration::from_secs(15u64);
            reqwest::ClientBuilder::new().connect_timeout(dur).timeout(dur)
        };
        #[cfg(target_arch = "wasm32")]
        let client = reqwest::ClientBuilder::new();
        Self::new_with_client(baseurl, client.build().unwrap())
    }
    /// Construct a new client with an existing `reqwest::Client`,
    /// allowing more control over its configuration.
    ///
    /// `baseurl` is the base URL provided to the internal
    /// `reqwest::Client`, and should include a scheme and hostname,
    /// as well as port and a path stem if applicable.
    pub fn new_with_client(baseurl: &str, client: reqwest::Client) -> Self {
        Self {
            baseurl: baseurl.to_string(),
            client,
        }
    }
}
impl ClientInfo<()> for Client {
    fn api_version() -> &'static str {
        "1.1.0"
    }
    fn baseurl(&self) -> &str {
        self.baseurl.as_str()
    }
    fn client(&self) -> &reqwest::Client {
        &self.client
    }
    fn inner(&self) -> &() {
        &()
    }
}
impl ClientHooks<()> for &Client {}
impl Client {
    /**Submit a HappyHorse 1.1 generation; the mode follows the media field present

Generation is asynchronous: the POST returns a task id, then poll `GET
/api/v1/tasks/{id}` until status is `completed` (reapi page). Billed by resolution ×
duration whatever the mode (reapi page: `credits = ceil(per_second_usd × duration ×
1000)`, 1 credit = $0.001). reapi documents no idempotency key: a network-failed submit
must not be retried blindly.


Sends a `POST` request to `/videos/generations`

```ignore
let response = client.create_generation()
    .body(body)
    .send()
    .await;
```*/
    pub fn create_generation(&self) -> builder::CreateGeneration<'_> {
        builder::CreateGeneration::new(self)
    }
    /**Get a task (the universal polling endpoint). Polling does not consume credits

Poll until `status` is `completed` (reapi page). Failed generations are surfaced under
`error` and refunded automatically (reapi page).


Sends a `GET` request to `/tasks/{id}`

Arguments:
- `id`: The task id returned by the submit call.
```ignore
let response = client.get_task()
    .id(id)
    .send()
    .await;
```*/
    pub fn get_task(&self) -> builder::GetTask<'_> {
        builder::GetTask::new(self)
    }
}
/// Types for composing operation parameters.
#[allow(clippy::all)]
pub mod builder {
    use super::types;
    #[allow(unused_imports)]
    use super::{
        encode_path, ByteStream, ClientInfo, ClientHooks, Error, OperationInfo,
        RequestBuilderExt, ResponseValue,
    };
    /**Builder for [`Client::create_generation`]

[`Client::create_generation`]: super::Client::create_generation*/
    #[derive(Debug, Clone)]
    pub struct CreateGeneration<'a> {
        client: &'a super::Client,
        body: Result<types::GenerationRequest, String>,
    }
    impl<'a> CreateGeneration<'a> {
        pub fn new(client: &'a super::Client) -> Self {
            Self {
                client: client,
                body: Err("body was not initialized".to_string()),
            }
        }
        pub fn body<V>(mut self, value: V) -> Self
        where
            V: std::convert::TryInto<types::GenerationRequest>,
        {
            self.body = value
                .try_into()
                .map_err(|_| {
                    "conversion to `GenerationRequest` for body failed".to_string()
                });
            self
        }
        ///Sends a `POST` request to `/videos/generations`
        pub async fn send(
            self,
        ) -> Result<ResponseValue<types::Task>, Error<types::ErrorResponse>> {
            let Self { client, body } = self;
            let body = body.map_err(Error::InvalidRequest)?;
            let url = format!("{}/videos/generations", client.baseurl,);
            let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
            header_map
                .append(
                    ::reqwest::header::HeaderName::from_static("api-version"),
                    ::reqwest::header::HeaderValue::from_static(
                        super::Client::api_version(),
                    ),
                );
            #[allow(unused_mut)]
            let mut request = client
                .client
                .post(url)
                .header(
                    ::reqwest::header::ACCEPT,
                    ::reqwest::header::HeaderValue::from_static("application/json"),
                )
                .json(&body)
                .headers(header_map)
                .build()?;
            let info = OperationInfo {
                operation_id: "create_generation",
            };
            client.pre(&mut request, &info).await?;
            let result = client.exec(request, &info).await;
            client.post(&result, &info).await?;
            let response = result?;
            match response.status().as_u16() {
                200u16 => ResponseValue::from_response(response).await,
                400u16 => {
                    Err(
                        Error::ErrorResponse(
                            ResponseValue::from_response(response).await?,
                        ),
                    )
                }
                401u16 => {
                    Err(
                        Error::ErrorResponse(
                            ResponseValue::from_response(response).await?,
                        ),
                    )
                }
                402u16 => {
                    Err(
                        Error::ErrorResponse(
                            ResponseValue::from_response(response).await?,
                        ),
                    )
                }
                429u16 => {
                    Err(
                        Error::ErrorResponse(
                            ResponseValue::from_response(response).await?,
                        ),
                    )
                }
                500u16 => {
                    Err(
                        Error::ErrorResponse(
                            ResponseValue::from_response(response).await?,
                        ),
                    )
                }
                503u16 => {
                    Err(
                        Error::ErrorResponse(
                            ResponseValue::from_response(response).await?,
                        ),
                    )
                }
                _ => Err(Error::UnexpectedResponse(response)),
            }
        }
    }
    /**Builder for [`Client::get_task`]

[`Client::get_task`]: super::Client::get_task*/
    #[derive(Debug, Clone)]
    pub struct GetTask<'a> {
        client: &'a super::Client,
        id: Result<types::GetTaskId, String>,
    }
    impl<'a> GetTask<'a> {
        pub fn new(client: &'a super::Client) -> Self {
            Self {
                client: client,
                id: Err("id was not initialized".to_string()),
            }
        }
        pub fn id<V>(mut self, value: V) -> Self
        where
            V: std::convert::TryInto<types::GetTaskId>,
        {
            self.id = value
                .try_into()
                .map_err(|_| "conversion to `GetTaskId` for id failed".to_string());
            self
        }
        ///Sends a `GET` request to `/tasks/{id}`
        pub async fn send(
            self,
        ) -> Result<ResponseValue<types::Task>, Error<types::ErrorResponse>> {
            let Self { client, id } = self;
            let id = id.map_err(Error::InvalidRequest)?;
            let url = format!(
                "{}/tasks/{}", client.baseurl, encode_path(& id.to_string()),
            );
            let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
            header_map
                .append(
                    ::reqwest::header::HeaderName::from_static("api-version"),
                    ::reqwest::header::HeaderValue::from_static(
                        super::Client::api_version(),
                    ),
                );
            #[allow(unused_mut)]
            let mut request = client
                .client
                .get(url)
                .header(
                    ::reqwest::header::ACCEPT,
                    ::reqwest::header::HeaderValue::from_static("application/json"),
                )
                .headers(header_map)
                .build()?;
            let info = OperationInfo {
                operation_id: "get_task",
            };
            client.pre(&mut request, &info).await?;
            let result = client.exec(request, &info).await;
            client.post(&result, &info).await?;
            let response = result?;
            match response.status().as_u16() {
                200u16 => ResponseValue::from_response(response).await,
                400u16 => {
                    Err(
                        Error::ErrorResponse(
                            ResponseValue::from_response(response).await?,
                        ),
                    )
                }
                401u16 => {
                    Err(
                        Error::ErrorResponse(
                            ResponseValue::from_response(response).await?,
                        ),
                    )
                }
                404u16 => {
                    Err(
                        Error::ErrorResponse(
                            ResponseValue::from_response(response).await?,
                        ),
                    )
                }
                429u16 => {
                    Err(
                        Error::ErrorResponse(
                            ResponseValue::from_response(response).await?,
                        ),
                    )
                }
                500u16 => {
                    Err(
                        Error::ErrorResponse(
                            ResponseValue::from_response(response).await?,
                        ),
                    )
                }
                503u16 => {
                    Err(
                        Error::ErrorResponse(
                            ResponseValue::from_response(response).await?,
                        ),
                    )
                }
                _ => Err(Error::UnexpectedResponse(response)),
            }
        }
    }
}
/// Items consumers will typically use such as the Client.
pub mod prelude {
    pub use self::super::Client;
}
