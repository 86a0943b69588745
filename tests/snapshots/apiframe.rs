#[allow(unused_imports)]
pub use progenitor_client::{ByteStream, ClientInfo, Error, ResponseValue};
#[allow(unused_imports)]
use progenitor_client::{encode_path, ClientHooks, OperationInfo, RequestBuilderExt};
/// Types used as operation parameters and responses.
#[allow(clippy::all)]
pub mod types {
    /**Every error body (see info for why the three are merged):
- 401/403/404/429/503 and 400 on `GET /v2/jobs/{id}`: `{error}` (`ErrorResponse`).
- 400 on submit: `{error, details}` (`ValidationError`, "failed Zod validation").
- 402: `{error: "Insufficient credits", creditsRequired, creditsAvailable}`.
*/
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct ApiError {
        ///Credits the team has, in the API's smallest credit unit; 402 only (Apiframe OpenAPI `InsufficientCredits`).
        #[serde(
            rename = "creditsAvailable",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub credits_available: ::std::option::Option<u64>,
        ///Credits the job needs, in the API's smallest credit unit; 402 only (Apiframe OpenAPI `InsufficientCredits`).
        #[serde(
            rename = "creditsRequired",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub credits_required: ::std::option::Option<u64>,
        ///Per-field validation errors keyed by JSON path (400 on submit only).
        #[serde(
            default,
            skip_serializing_if = ":: std :: collections :: HashMap::is_empty"
        )]
        pub details: ::std::collections::HashMap<
            ::std::string::String,
            ::std::vec::Vec<::std::string::String>,
        >,
        pub error: ::std::string::String,
    }
    impl ApiError {
        pub fn builder() -> builder::ApiError {
            Default::default()
        }
    }
    /**Five ratios, default 16:9 (Apiframe page). Used for text-to-video and
reference-to-video; ignored when animating one image (Apiframe page).
*/
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
        #[serde(rename = "1:1")]
        X11,
        #[serde(rename = "4:3")]
        X43,
        #[serde(rename = "3:4")]
        X34,
    }
    impl ::std::fmt::Display for AspectRatio {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            match *self {
                Self::X169 => f.write_str("16:9"),
                Self::X916 => f.write_str("9:16"),
                Self::X11 => f.write_str("1:1"),
                Self::X43 => f.write_str("4:3"),
                Self::X34 => f.write_str("3:4"),
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
                "1:1" => Ok(Self::X11),
                "4:3" => Ok(Self::X43),
                "3:4" => Ok(Self::X34),
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
    ///`GenerateVideoIdempotencyKey`
    #[derive(::serde::Serialize, Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
    #[serde(transparent)]
    pub struct GenerateVideoIdempotencyKey(::std::string::String);
    impl ::std::ops::Deref for GenerateVideoIdempotencyKey {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<GenerateVideoIdempotencyKey> for ::std::string::String {
        fn from(value: GenerateVideoIdempotencyKey) -> Self {
            value.0
        }
    }
    impl ::std::str::FromStr for GenerateVideoIdempotencyKey {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            if value.chars().count() > 255usize {
                return Err("longer than 255 characters".into());
            }
            if value.chars().count() < 1usize {
                return Err("shorter than 1 characters".into());
            }
            Ok(Self(value.to_string()))
        }
    }
    impl ::std::convert::TryFrom<&str> for GenerateVideoIdempotencyKey {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for GenerateVideoIdempotencyKey {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl<'de> ::serde::Deserialize<'de> for GenerateVideoIdempotencyKey {
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
    /**The happyhorse-1.1 branch of `GenerateVideoRequest` (Apiframe OpenAPI). Unknown
properties are rejected (Apiframe OpenAPI `additionalProperties: false`;
provider-facts).
*/
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    pub struct GenerateVideoRequest {
        #[serde(
            rename = "happyhorse11Params",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub happyhorse11_params: ::std::option::Option<Happyhorse11Params>,
        ///The model identifier for this endpoint (Apiframe page, Apiframe OpenAPI).
        pub model: GenerateVideoRequestModel,
        /**Text description of what to generate; 1..2500 characters (Apiframe OpenAPI, Apiframe
page). At four UTF-8 bytes a character (twelve as JSON `\u` escapes), a 2500-character
prompt is at most 30 KB, far inside the 2 MiB request body limit of the sandbox
(axum's default), so no prompt within the bound is refused for its size.
*/
        pub prompt: GenerateVideoRequestPrompt,
        ///Non-empty subset of `progress`, `completed`, `failed` (Apiframe OpenAPI, provider-facts).
        #[serde(
            rename = "webhookEvents",
            default,
            skip_serializing_if = "::std::vec::Vec::is_empty"
        )]
        pub webhook_events: ::std::vec::Vec<WebhookEvent>,
        /**Where Apiframe POSTs job events (Apiframe OpenAPI; the page's prose writes
`webhook_url`, the document `webhookUrl`, which wins). Deliveries carry
`X-Webhook-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body keyed by the
raw 32-byte SHA-256 of the API key; no timestamp is signed, so deduplicate to
resist replays (provider-facts). HTTPS required: our decision (see info), except
plain `http://` to a loopback host (`localhost`, 127.x.x.x, `[::1]`), accepted so
a receiver and a sandbox on one machine can be tested end to end (Apiframe cannot
reach a loopback URL).
*/
        #[serde(
            rename = "webhookUrl",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub webhook_url: ::std::option::Option<GenerateVideoRequestWebhookUrl>,
    }
    impl GenerateVideoRequest {
        pub fn builder() -> builder::GenerateVideoRequest {
            Default::default()
        }
    }
    ///The model identifier for this endpoint (Apiframe page, Apiframe OpenAPI).
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
    pub enum GenerateVideoRequestModel {
        #[serde(rename = "happyhorse-1.1")]
        Happyhorse11,
    }
    impl ::std::fmt::Display for GenerateVideoRequestModel {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            match *self {
                Self::Happyhorse11 => f.write_str("happyhorse-1.1"),
            }
        }
    }
    impl ::std::str::FromStr for GenerateVideoRequestModel {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            match value {
                "happyhorse-1.1" => Ok(Self::Happyhorse11),
                _ => Err("invalid value".into()),
            }
        }
    }
    impl ::std::convert::TryFrom<&str> for GenerateVideoRequestModel {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for GenerateVideoRequestModel {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    /**Text description of what to generate; 1..2500 characters (Apiframe OpenAPI, Apiframe
page). At four UTF-8 bytes a character (twelve as JSON `\u` escapes), a 2500-character
prompt is at most 30 KB, far inside the 2 MiB request body limit of the sandbox
(axum's default), so no prompt within the bound is refused for its size.
*/
    #[derive(::serde::Serialize, Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
    #[serde(transparent)]
    pub struct GenerateVideoRequestPrompt(::std::string::String);
    impl ::std::ops::Deref for GenerateVideoRequestPrompt {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<GenerateVideoRequestPrompt> for ::std::string::String {
        fn from(value: GenerateVideoRequestPrompt) -> Self {
            value.0
        }
    }
    impl ::std::str::FromStr for GenerateVideoRequestPrompt {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            if value.chars().count() > 2500usize {
                return Err("longer than 2500 characters".into());
            }
            if value.chars().count() < 1usize {
                return Err("shorter than 1 characters".into());
            }
            Ok(Self(value.to_string()))
        }
    }
    impl ::std::convert::TryFrom<&str> for GenerateVideoRequestPrompt {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for GenerateVideoRequestPrompt {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl<'de> ::serde::Deserialize<'de> for GenerateVideoRequestPrompt {
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
    /**Where Apiframe POSTs job events (Apiframe OpenAPI; the page's prose writes
`webhook_url`, the document `webhookUrl`, which wins). Deliveries carry
`X-Webhook-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body keyed by the
raw 32-byte SHA-256 of the API key; no timestamp is signed, so deduplicate to
resist replays (provider-facts). HTTPS required: our decision (see info), except
plain `http://` to a loopback host (`localhost`, 127.x.x.x, `[::1]`), accepted so
a receiver and a sandbox on one machine can be tested end to end (Apiframe cannot
reach a loopback URL).
*/
    #[derive(::serde::Serialize, Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
    #[serde(transparent)]
    pub struct GenerateVideoRequestWebhookUrl(::std::string::String);
    impl ::std::ops::Deref for GenerateVideoRequestWebhookUrl {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<GenerateVideoRequestWebhookUrl> for ::std::string::String {
        fn from(value: GenerateVideoRequestWebhookUrl) -> Self {
            value.0
        }
    }
    impl ::std::str::FromStr for GenerateVideoRequestWebhookUrl {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            static PATTERN: ::std::sync::LazyLock<::regress::Regex> = ::std::sync::LazyLock::new(||
            {
                ::regress::Regex::new(
                        "^(https://|http://(localhost|127\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}|\\[::1\\])(:[0-9]{1,5})?(/|\\?|$))",
                    )
                    .unwrap()
            });
            if PATTERN.find(value).is_none() {
                return Err(
                    "doesn't match pattern \"^(https://|http://(localhost|127\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}|\\[::1\\])(:[0-9]{1,5})?(/|\\?|$))\""
                        .into(),
                );
            }
            Ok(Self(value.to_string()))
        }
    }
    impl ::std::convert::TryFrom<&str> for GenerateVideoRequestWebhookUrl {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String>
    for GenerateVideoRequestWebhookUrl {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl<'de> ::serde::Deserialize<'de> for GenerateVideoRequestWebhookUrl {
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
    ///Model-specific options (Apiframe page, Apiframe OpenAPI). Unknown properties are rejected.
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    #[serde(deny_unknown_fields)]
    pub struct Happyhorse11Params {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub aspect_ratio: ::std::option::Option<AspectRatio>,
        /**Whole seconds, 3..15 (Apiframe OpenAPI; the page lists 3s … 15s). Default
undocumented (see info).
*/
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub duration: ::std::option::Option<i64>,
        /**0–9 image URLs. None = text-to-video, one = image-to-video, two to nine =
reference-to-video (Apiframe page). Refer to them in the prompt as [Image 1],
[Image 2], … (Apiframe page).
*/
        #[serde(default, skip_serializing_if = "::std::vec::Vec::is_empty")]
        pub images: ::std::vec::Vec<::std::string::String>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub resolution: ::std::option::Option<Resolution>,
        ///Reuse a number to reproduce the same result; 0..2147483647 (Apiframe OpenAPI, Apiframe page).
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub seed: ::std::option::Option<i64>,
    }
    impl Happyhorse11Params {
        pub fn builder() -> builder::Happyhorse11Params {
            Default::default()
        }
    }
    ///Generation job returned by `GET /v2/jobs/{id}` (Apiframe OpenAPI); also the assumed webhook body.
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct Job {
        #[serde(
            rename = "completedAt",
            deserialize_with = "::std::option::Option::deserialize"
        )]
        pub completed_at: ::std::option::Option<
            ::chrono::DateTime<::chrono::offset::Utc>,
        >,
        #[serde(rename = "createdAt")]
        pub created_at: ::chrono::DateTime<::chrono::offset::Utc>,
        ///Credits charged, or null.
        #[serde(
            rename = "creditCost",
            deserialize_with = "::std::option::Option::deserialize"
        )]
        pub credit_cost: ::std::option::Option<i64>,
        ///Why the job failed, or null.
        #[serde(deserialize_with = "::std::option::Option::deserialize")]
        pub error: ::std::option::Option<::std::string::String>,
        /**`true` once a COMPLETED job's CDN assets have been purged (default 24h retention);
`result` URLs may 404 (Apiframe OpenAPI).
*/
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub expired: ::std::option::Option<bool>,
        pub id: ::uuid::Uuid,
        ///The submitted input, echoed (Apiframe OpenAPI).
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub input: ::std::option::Option<
            ::serde_json::Map<::std::string::String, ::serde_json::Value>,
        >,
        pub model: ::std::string::String,
        ///0..100 while processing, or null (Apiframe OpenAPI).
        #[serde(deserialize_with = "::std::option::Option::deserialize")]
        pub progress: ::std::option::Option<i64>,
        /**Holds the output URL(s) once `COMPLETED` (Apiframe page). Its shape is not
documented: any JSON value is accepted, and the crate takes every http(s) URL
string in it, in document order.
*/
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub result: ::std::option::Option<::serde_json::Value>,
        pub status: JobStatus,
        ///Open set. Known: `pending`, `delivered`, `failed`, or null (Apiframe OpenAPI).
        #[serde(
            rename = "webhookStatus",
            deserialize_with = "::std::option::Option::deserialize"
        )]
        pub webhook_status: ::std::option::Option<::std::string::String>,
    }
    impl Job {
        pub fn builder() -> builder::Job {
            Default::default()
        }
    }
    ///Returned by every successful job submission (Apiframe OpenAPI), e.g. `{"jobId": "b2c3d4e5-…", "status": "QUEUED"}` (Apiframe page).
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct JobAccepted {
        #[serde(rename = "jobId")]
        pub job_id: ::uuid::Uuid,
        pub status: JobStatus,
    }
    impl JobAccepted {
        pub fn builder() -> builder::JobAccepted {
            Default::default()
        }
    }
    /**Open set. Known: `QUEUED`, `PROCESSING`, `COMPLETED`, `FAILED`, `CANCELLED` (Apiframe
OpenAPI). Terminal: `COMPLETED`, `FAILED`, `CANCELLED`. A submission is "almost always
`QUEUED`; idempotent replays may return the original status" (Apiframe OpenAPI).
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
    pub struct JobStatus(pub ::std::string::String);
    impl ::std::ops::Deref for JobStatus {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<JobStatus> for ::std::string::String {
        fn from(value: JobStatus) -> Self {
            value.0
        }
    }
    impl ::std::convert::From<::std::string::String> for JobStatus {
        fn from(value: ::std::string::String) -> Self {
            Self(value)
        }
    }
    impl ::std::fmt::Display for JobStatus {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            self.0.fmt(f)
        }
    }
    impl ::std::str::FromStr for JobStatus {
        type Err = ::std::convert::Infallible;
        fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
            Ok(Self(value.to_string()))
        }
    }
    ///Resolution, default 1080p (Apiframe page, Apiframe OpenAPI).
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
            Resolution::X1080p
        }
    }
    ///A job event a webhook can subscribe to (Apiframe OpenAPI).
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
    pub enum WebhookEvent {
        #[serde(rename = "progress")]
        Progress,
        #[serde(rename = "completed")]
        Completed,
        #[serde(rename = "failed")]
        Failed,
    }
    impl ::std::fmt::Display for WebhookEvent {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            match *self {
                Self::Progress => f.write_str("progress"),
                Self::Completed => f.write_str("completed"),
                Self::Failed => f.write_str("failed"),
            }
        }
    }
    impl ::std::str::FromStr for WebhookEvent {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            match value {
                "progress" => Ok(Self::Progress),
                "completed" => Ok(Self::Completed),
                "failed" => Ok(Self::Failed),
                _ => Err("invalid value".into()),
            }
        }
    }
    impl ::std::convert::TryFrom<&str> for WebhookEvent {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for WebhookEvent {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    /// Types for composing complex structures.
    pub mod builder {
        #[derive(Clone, Debug)]
        pub struct ApiError {
            credits_available: ::std::result::Result<
                ::std::option::Option<u64>,
                ::std::string::String,
            >,
            credits_required: ::std::result::Result<
                ::std::option::Option<u64>,
                ::std::string::String,
            >,
            details: ::std::result::Result<
                ::std::collections::HashMap<
                    ::std::string::String,
                    ::std::vec::Vec<::std::string::String>,
                >,
                ::std::string::String,
            >,
            error: ::std::result::Result<::std::string::String, ::std::string::String>,
        }
        impl ::std::default::Default for ApiError {
            fn default() -> Self {
                Self {
                    credits_available: Ok(Default::default()),
                    credits_required: Ok(Default::default()),
                    details: Ok(Default::default()),
                    error: Err("no value supplied for error".to_string()),
                }
            }
        }
        impl ApiError {
            pub fn credits_available<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<u64>>,
                T::Error: ::std::fmt::Display,
            {
                self.credits_available = value
                    .try_into()
                    .map_err(|e| {
                        format!(
                            "error converting supplied value for credits_available: {e}"
                        )
                    });
                self
            }
            pub fn credits_required<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<u64>>,
                T::Error: ::std::fmt::Display,
            {
                self.credits_required = value
                    .try_into()
                    .map_err(|e| {
                        format!(
                            "error converting supplied value for credits_required: {e}"
                        )
                    });
                self
            }
            pub fn details<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<
                    ::std::collections::HashMap<
                        ::std::string::String,
                        ::std::vec::Vec<::std::string::String>,
                    >,
                >,
                T::Error: ::std::fmt::Display,
            {
                self.details = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for details: {e}")
                    });
                self
            }
            pub fn error<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::string::String>,
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
        impl ::std::convert::TryFrom<ApiError> for super::ApiError {
            type Error = super::error::ConversionError;
            fn try_from(
                value: ApiError,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    credits_available: value.credits_available?,
                    credits_required: value.credits_required?,
                    details: value.details?,
                    error: value.error?,
                })
            }
        }
        impl ::std::convert::From<super::ApiError> for ApiError {
            fn from(value: super::ApiError) -> Self {
                Self {
                    credits_available: Ok(value.credits_available),
                    credits_required: Ok(value.credits_required),
                    details: Ok(value.details),
                    error: Ok(value.error),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct GenerateVideoRequest {
            happyhorse11_params: ::std::result::Result<
                ::std::option::Option<super::Happyhorse11Params>,
                ::std::string::String,
            >,
            model: ::std::result::Result<
                super::GenerateVideoRequestModel,
                ::std::string::String,
            >,
            prompt: ::std::result::Result<
                super::GenerateVideoRequestPrompt,
                ::std::string::String,
            >,
            webhook_events: ::std::result::Result<
                ::std::vec::Vec<super::WebhookEvent>,
                ::std::string::String,
            >,
            webhook_url: ::std::result::Result<
                ::std::option::Option<super::GenerateVideoRequestWebhookUrl>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for GenerateVideoRequest {
            fn default() -> Self {
                Self {
                    happyhorse11_params: Ok(Default::default()),
                    model: Err("no value supplied for model".to_string()),
                    prompt: Err("no value supplied for prompt".to_string()),
                    webhook_events: Ok(Default::default()),
                    webhook_url: Ok(Default::default()),
                }
            }
        }
        impl GenerateVideoRequest {
            pub fn happyhorse11_params<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<
                    ::std::option::Option<super::Happyhorse11Params>,
                >,
                T::Error: ::std::fmt::Display,
            {
                self.happyhorse11_params = value
                    .try_into()
                    .map_err(|e| {
                        format!(
                            "error converting supplied value for happyhorse11_params: {e}"
                        )
                    });
                self
            }
            pub fn model<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<super::GenerateVideoRequestModel>,
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
                T: ::std::convert::TryInto<super::GenerateVideoRequestPrompt>,
                T::Error: ::std::fmt::Display,
            {
                self.prompt = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for prompt: {e}")
                    });
                self
            }
            pub fn webhook_events<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::vec::Vec<super::WebhookEvent>>,
                T::Error: ::std::fmt::Display,
            {
                self.webhook_events = value
                    .try_into()
                    .map_err(|e| {
                        format!(
                            "error converting supplied value for webhook_events: {e}"
                        )
                    });
                self
            }
            pub fn webhook_url<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<
                    ::std::option::Option<super::GenerateVideoRequestWebhookUrl>,
                >,
                T::Error: ::std::fmt::Display,
            {
                self.webhook_url = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for webhook_url: {e}")
                    });
                self
            }
        }
        impl ::std::convert::TryFrom<GenerateVideoRequest>
        for super::GenerateVideoRequest {
            type Error = super::error::ConversionError;
            fn try_from(
                value: GenerateVideoRequest,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    happyhorse11_params: value.happyhorse11_params?,
                    model: value.model?,
                    prompt: value.prompt?,
                    webhook_events: value.webhook_events?,
                    webhook_url: value.webhook_url?,
                })
            }
        }
        impl ::std::convert::From<super::GenerateVideoRequest> for GenerateVideoRequest {
            fn from(value: super::GenerateVideoRequest) -> Self {
                Self {
                    happyhorse11_params: Ok(value.happyhorse11_params),
                    model: Ok(value.model),
                    prompt: Ok(value.prompt),
                    webhook_events: Ok(value.webhook_events),
                    webhook_url: Ok(value.webhook_url),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct Happyhorse11Params {
            aspect_ratio: ::std::result::Result<
                ::std::option::Option<super::AspectRatio>,
                ::std::string::String,
            >,
            duration: ::std::result::Result<
                ::std::option::Option<i64>,
                ::std::string::String,
            >,
            images: ::std::result::Result<
                ::std::vec::Vec<::std::string::String>,
                ::std::string::String,
            >,
            resolution: ::std::result::Result<
                ::std::option::Option<super::Resolution>,
                ::std::string::String,
            >,
            seed: ::std::result::Result<
                ::std::option::Option<i64>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for Happyhorse11Params {
            fn default() -> Self {
                Self {
                    aspect_ratio: Ok(Default::default()),
                    duration: Ok(Default::default()),
                    images: Ok(Default::default()),
                    resolution: Ok(Default::default()),
                    seed: Ok(Default::default()),
                }
            }
        }
        impl Happyhorse11Params {
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
                T: ::std::convert::TryInto<::std::option::Option<i64>>,
                T::Error: ::std::fmt::Display,
            {
                self.duration = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for duration: {e}")
                    });
                self
            }
            pub fn images<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::vec::Vec<::std::string::String>>,
                T::Error: ::std::fmt::Display,
            {
                self.images = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for images: {e}")
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
            pub fn seed<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<i64>>,
                T::Error: ::std::fmt::Display,
            {
                self.seed = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for seed: {e}")
                    });
                self
            }
        }
        impl ::std::convert::TryFrom<Happyhorse11Params> for super::Happyhorse11Params {
            type Error = super::error::ConversionError;
            fn try_from(
                value: Happyhorse11Params,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    aspect_ratio: value.aspect_ratio?,
                    duration: value.duration?,
                    images: value.images?,
                    resolution: value.resolution?,
                    seed: value.seed?,
                })
            }
        }
        impl ::std::convert::From<super::Happyhorse11Params> for Happyhorse11Params {
            fn from(value: super::Happyhorse11Params) -> Self {
                Self {
                    aspect_ratio: Ok(value.aspect_ratio),
                    duration: Ok(value.duration),
                    images: Ok(value.images),
                    resolution: Ok(value.resolution),
                    seed: Ok(value.seed),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct Job {
            completed_at: ::std::result::Result<
                ::std::option::Option<::chrono::DateTime<::chrono::offset::Utc>>,
                ::std::string::String,
            >,
            created_at: ::std::result::Result<
                ::chrono::DateTime<::chrono::offset::Utc>,
                ::std::string::String,
            >,
            credit_cost: ::std::result::Result<
                ::std::option::Option<i64>,
                ::std::string::String,
            >,
            error: ::std::result::Result<
                ::std::option::Option<::std::string::String>,
                ::std::string::String,
            >,
            expired: ::std::result::Result<
                ::std::option::Option<bool>,
                ::std::string::String,
            >,
            id: ::std::result::Result<::uuid::Uuid, ::std::string::String>,
            input: ::std::result::Result<
                ::std::option::Option<
                    ::serde_json::Map<::std::string::String, ::serde_json::Value>,
                >,
                ::std::string::String,
            >,
            model: ::std::result::Result<::std::string::String, ::std::string::String>,
            progress: ::std::result::Result<
                ::std::option::Option<i64>,
                ::std::string::String,
            >,
            result: ::std::result::Result<
                ::std::option::Option<::serde_json::Value>,
                ::std::string::String,
            >,
            status: ::std::result::Result<super::JobStatus, ::std::string::String>,
            webhook_status: ::std::result::Result<
                ::std::option::Option<::std::string::String>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for Job {
            fn default() -> Self {
                Self {
                    completed_at: Err("no value supplied for completed_at".to_string()),
                    created_at: Err("no value supplied for created_at".to_string()),
                    credit_cost: Err("no value supplied for credit_cost".to_string()),
                    error: Err("no value supplied for error".to_string()),
                    expired: Ok(Default::default()),
                    id: Err("no value supplied for id".to_string()),
                    input: Ok(Default::default()),
                    model: Err("no value supplied for model".to_string()),
                    progress: Err("no value supplied for progress".to_string()),
                    result: Ok(Default::default()),
                    status: Err("no value supplied for status".to_string()),
                    webhook_status: Err(
                        "no value supplied for webhook_status".to_string(),
                    ),
                }
            }
        }
        impl Job {
            pub fn completed_at<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<
                    ::std::option::Option<::chrono::DateTime<::chrono::offset::Utc>>,
                >,
                T::Error: ::std::fmt::Display,
            {
                self.completed_at = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for completed_at: {e}")
                    });
                self
            }
            pub fn created_at<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::chrono::DateTime<::chrono::offset::Utc>>,
                T::Error: ::std::fmt::Display,
            {
                self.created_at = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for created_at: {e}")
                    });
                self
            }
            pub fn credit_cost<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<i64>>,
                T::Error: ::std::fmt::Display,
            {
                self.credit_cost = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for credit_cost: {e}")
                    });
                self
            }
            pub fn error<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<::std::string::String>>,
                T::Error: ::std::fmt::Display,
            {
                self.error = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for error: {e}")
                    });
                self
            }
            pub fn expired<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<bool>>,
                T::Error: ::std::fmt::Display,
            {
                self.expired = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for expired: {e}")
                    });
                self
            }
            pub fn id<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::uuid::Uuid>,
                T::Error: ::std::fmt::Display,
            {
                self.id = value
                    .try_into()
                    .map_err(|e| format!("error converting supplied value for id: {e}"));
                self
            }
            pub fn input<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<
                    ::std::option::Option<
                        ::serde_json::Map<::std::string::String, ::serde_json::Value>,
                    >,
                >,
                T::Error: ::std::fmt::Display,
            {
                self.input = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for input: {e}")
                    });
                self
            }
            pub fn model<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::string::String>,
                T::Error: ::std::fmt::Display,
            {
                self.model = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for model: {e}")
                    });
                self
            }
            pub fn progress<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<i64>>,
                T::Error: ::std::fmt::Display,
            {
                self.progress = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for progress: {e}")
                    });
                self
            }
            pub fn result<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<::serde_json::Value>>,
                T::Error: ::std::fmt::Display,
            {
                self.result = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for result: {e}")
                    });
                self
            }
            pub fn status<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<super::JobStatus>,
                T::Error: ::std::fmt::Display,
            {
                self.status = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for status: {e}")
                    });
                self
            }
            pub fn webhook_status<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<::std::string::String>>,
                T::Error: ::std::fmt::Display,
            {
                self.webhook_status = value
                    .try_into()
                    .map_err(|e| {
                        format!(
                            "error converting supplied value for webhook_status: {e}"
                        )
                    });
                self
            }
        }
        impl ::std::convert::TryFrom<Job> for super::Job {
            type Error = super::error::ConversionError;
            fn try_from(
                value: Job,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    completed_at: value.completed_at?,
                    created_at: value.created_at?,
                    credit_cost: value.credit_cost?,
                    error: value.error?,
                    expired: value.expired?,
                    id: value.id?,
                    input: value.input?,
                    model: value.model?,
                    progress: value.progress?,
                    result: value.result?,
                    status: value.status?,
                    webhook_status: value.webhook_status?,
                })
            }
        }
        impl ::std::convert::From<super::Job> for Job {
            fn from(value: super::Job) -> Self {
                Self {
                    completed_at: Ok(value.completed_at),
                    created_at: Ok(value.created_at),
                    credit_cost: Ok(value.credit_cost),
                    error: Ok(value.error),
                    expired: Ok(value.expired),
                    id: Ok(value.id),
                    input: Ok(value.input),
                    model: Ok(value.model),
                    progress: Ok(value.progress),
                    result: Ok(value.result),
                    status: Ok(value.status),
                    webhook_status: Ok(value.webhook_status),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct JobAccepted {
            job_id: ::std::result::Result<::uuid::Uuid, ::std::string::String>,
            status: ::std::result::Result<super::JobStatus, ::std::string::String>,
        }
        impl ::std::default::Default for JobAccepted {
            fn default() -> Self {
                Self {
                    job_id: Err("no value supplied for job_id".to_string()),
                    status: Err("no value supplied for status".to_string()),
                }
            }
        }
        impl JobAccepted {
            pub fn job_id<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::uuid::Uuid>,
                T::Error: ::std::fmt::Display,
            {
                self.job_id = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for job_id: {e}")
                    });
                self
            }
            pub fn status<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<super::JobStatus>,
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
        impl ::std::convert::TryFrom<JobAccepted> for super::JobAccepted {
            type Error = super::error::ConversionError;
            fn try_from(
                value: JobAccepted,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    job_id: value.job_id?,
                    status: value.status?,
                })
            }
        }
        impl ::std::convert::From<super::JobAccepted> for JobAccepted {
            fn from(value: super::JobAccepted) -> Self {
                Self {
                    job_id: Ok(value.job_id),
                    status: Ok(value.status),
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
/**Client for Apiframe v2 — HappyHorse 1.1

HappyHorse 1.1 as Apiframe serves it (`model: "happyhorse-1.1"`, parameters under
`happyhorse11Params`). Hand-maintained in OpenAPI 3.0 from Apiframe's own OpenAPI 3.1
document; the single source of truth for the `happyhorse` crate's Apiframe transport,
validation and sandbox.

Sources, named in each constraint's description:
- `seeds/apiframe-happyhorse-1.1.txt` (Apiframe page): the model page.
- `reference/apiframe-v2-happyhorse-1.1.json` (Apiframe OpenAPI): an excerpt of Apiframe's
  public v2 document (info.version 2.0.0).
- `reference/provider-facts.md` (Apiframe section): facts from the v2 document and the
  Node SDK.

Where the sources disagree, the provider's own OpenAPI document wins (provider-facts):
- The page's prose says `webhook_url`; the document spells it `webhookUrl`. We use
  `webhookUrl`; `webhook_url` is an unknown property and is rejected.
- The page's table lists no `duration`; the document has `duration` (integer 3..15) and the
  page's capabilities list "3s … 15s". We include it. Its default is undocumented; the
  crate assumes 5, like the other two providers, and omits the field when unset.
- The page's table says `seed` is a number with step 1; the document says integer
  0..2147483647. We use the document's bounds.

Other decisions:
- OpenAPI 3.1 `type: [X, "null"]` is written as 3.0 `nullable: true`.
- The three documented error bodies (`ErrorResponse`, `ValidationError`,
  `InsufficientCredits`) are merged into one `ApiError` with optional `details`,
  `creditsRequired` and `creditsAvailable`, because one operation's error responses must
  share one schema for the generator. Each field says which status carries it.
- Response enums (`status`, `webhookStatus`) are open strings here, so a value Apiframe
  adds later never fails a whole response; their known values are listed.
- `webhookUrl` must be HTTPS. Apiframe's document says only `format: uri`; we require HTTPS
  as HiAPI does, since a webhook body carries signed job results and output URLs. Plain
  `http://` is accepted only to a loopback host, for a receiver tested on one machine.
- `result` is any JSON value: the page says only that it "holds the output URL(s)". The
  crate takes every http(s) URL string found in it, in document order.
- Answers Apiframe's documents leave out, assumed so that a client and the sandbox agree
  (the sandbox gives each, and its conformance test holds every answer to this document):
  - `Idempotency-Key` reused with a different body: 422; while the first request with
    the key is still in flight: 409 with `Retry-After`. Apiframe documents only that a
    replay returns the original job; these follow HiAPI's documented semantics
    (provider-facts), so that a client never creates a second billable job either way.
  - 500 on both operations and 503 on the poll: the Node SDK retries any 5xx and network
    error on idempotent calls (provider-facts), so the server answers them; the body is
    assumed to be `{error}` like the documented 503.
  - The output files behind `result` are described in `storage.yaml` (ranges, 416, 404,
    and 410 or 403 once expired).
- A submit body must be sent as `application/json` (the request body's only media type);
  any other `Content-Type` is refused with the 400 of an invalid body, as a JSON-only API
  server does not parse it.


Version: 2.0.0*/
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
        "2.0.0"
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
    /**Submit a HappyHorse 1.1 video generation job

Returns 202 with a `jobId`; poll `GET /v2/jobs/{id}` or supply `webhookUrl` until the
status is `COMPLETED`, then `result` holds the output URL(s) (Apiframe page). Average
completion ~180 s. Pricing per second of output: 24 credits/s at 720p, 31 credits/s at
1080p (Apiframe page).

Retries (provider-facts, Node SDK): 429 always; 5xx and network errors only for
idempotent calls (POST with an `Idempotency-Key`); full-jitter backoff capped at 8 s.


Sends a `POST` request to `/v2/videos/generate`

Arguments:
- `idempotency_key`: Optional client-supplied key (max 255 chars). Replaying the same key within 24 hours
returns the original job rather than creating a duplicate (Apiframe OpenAPI).

- `body`
```ignore
let response = client.generate_video()
    .idempotency_key(idempotency_key)
    .body(body)
    .send()
    .await;
```*/
    pub fn generate_video(&self) -> builder::GenerateVideo<'_> {
        builder::GenerateVideo::new(self)
    }
    /**Get a job

Poll until `COMPLETED` or `FAILED` (Apiframe page); `CANCELLED` is terminal too
(Apiframe OpenAPI). Official SDK waiting (provider-facts): first poll after 2 s, ×1.5
per poll up to 5 s, 600 s budget.


Sends a `GET` request to `/v2/jobs/{id}`

Arguments:
- `id`: The `jobId`. 400 when it is not a UUID (Apiframe OpenAPI).
```ignore
let response = client.get_job()
    .id(id)
    .send()
    .await;
```*/
    pub fn get_job(&self) -> builder::GetJob<'_> {
        builder::GetJob::new(self)
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
    /**Builder for [`Client::generate_video`]

[`Client::generate_video`]: super::Client::generate_video*/
    #[derive(Debug, Clone)]
    pub struct GenerateVideo<'a> {
        client: &'a super::Client,
        idempotency_key: Result<Option<types::GenerateVideoIdempotencyKey>, String>,
        body: Result<types::builder::GenerateVideoRequest, String>,
    }
    impl<'a> GenerateVideo<'a> {
        pub fn new(client: &'a super::Client) -> Self {
            Self {
                client: client,
                idempotency_key: Ok(None),
                body: Ok(::std::default::Default::default()),
            }
        }
        pub fn idempotency_key<V>(mut self, value: V) -> Self
        where
            V: std::convert::TryInto<types::GenerateVideoIdempotencyKey>,
        {
            self.idempotency_key = value
                .try_into()
                .map(Some)
                .map_err(|_| {
                    "conversion to `GenerateVideoIdempotencyKey` for idempotency_key failed"
                        .to_string()
                });
            self
        }
        pub fn body<V>(mut self, value: V) -> Self
        where
            V: std::convert::TryInto<types::GenerateVideoRequest>,
            <V as std::convert::TryInto<
                types::GenerateVideoRequest,
            >>::Error: std::fmt::Display,
        {
            self.body = value
                .try_into()
                .map(From::from)
                .map_err(|s| {
                    format!(
                        "conversion to `GenerateVideoRequest` for body failed: {}", s
                    )
                });
            self
        }
        pub fn body_map<F>(mut self, f: F) -> Self
        where
            F: std::ops::FnOnce(
                types::builder::GenerateVideoRequest,
            ) -> types::builder::GenerateVideoRequest,
        {
            self.body = self.body.map(f);
            self
        }
        ///Sends a `POST` request to `/v2/videos/generate`
        pub async fn send(
            self,
        ) -> Result<ResponseValue<types::JobAccepted>, Error<types::ApiError>> {
            let Self { client, idempotency_key, body } = self;
            let idempotency_key = idempotency_key.map_err(Error::InvalidRequest)?;
            let body = body
                .and_then(|v| {
                    types::GenerateVideoRequest::try_from(v).map_err(|e| e.to_string())
                })
                .map_err(Error::InvalidRequest)?;
            let url = format!("{}/v2/videos/generate", client.baseurl,);
            let mut header_map = ::reqwest::header::HeaderMap::with_capacity(2usize);
            header_map
                .append(
                    ::reqwest::header::HeaderName::from_static("api-version"),
                    ::reqwest::header::HeaderValue::from_static(
                        super::Client::api_version(),
                    ),
                );
            if let Some(value) = idempotency_key {
                header_map.append("Idempotency-Key", value.to_string().try_into()?);
            }
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
                operation_id: "generate_video",
            };
            client.pre(&mut request, &info).await?;
            let result = client.exec(request, &info).await;
            client.post(&result, &info).await?;
            let response = result?;
            match response.status().as_u16() {
                202u16 => ResponseValue::from_response(response).await,
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
                403u16 => {
                    Err(
                        Error::ErrorResponse(
                            ResponseValue::from_response(response).await?,
                        ),
                    )
                }
                409u16 => {
                    Err(
                        Error::ErrorResponse(
                            ResponseValue::from_response(response).await?,
                        ),
                    )
                }
                422u16 => {
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
    /**Builder for [`Client::get_job`]

[`Client::get_job`]: super::Client::get_job*/
    #[derive(Debug, Clone)]
    pub struct GetJob<'a> {
        client: &'a super::Client,
        id: Result<::uuid::Uuid, String>,
    }
    impl<'a> GetJob<'a> {
        pub fn new(client: &'a super::Client) -> Self {
            Self {
                client: client,
                id: Err("id was not initialized".to_string()),
            }
        }
        pub fn id<V>(mut self, value: V) -> Self
        where
            V: std::convert::TryInto<::uuid::Uuid>,
        {
            self.id = value
                .try_into()
                .map_err(|_| {
                    "conversion to `:: uuid :: Uuid` for id failed".to_string()
                });
            self
        }
        ///Sends a `GET` request to `/v2/jobs/{id}`
        pub async fn send(
            self,
        ) -> Result<ResponseValue<types::Job>, Error<types::ApiError>> {
            let Self { client, id } = self;
            let id = id.map_err(Error::InvalidRequest)?;
            let url = format!(
                "{}/v2/jobs/{}", client.baseurl, encode_path(& id.to_string()),
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
                operation_id: "get_job",
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
                403u16 => {
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
