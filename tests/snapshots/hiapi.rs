#[allow(unused_imports)]
pub use progenitor_client::{ByteStream, ClientInfo, Error, ResponseValue};
#[allow(unused_imports)]
use progenitor_client::{encode_path, ClientHooks, OperationInfo, RequestBuilderExt};
/// Types used as operation parameters and responses.
#[allow(clippy::all)]
pub mod types {
    /**Nine ratios, default 16:9 (T2V page FAQ, R2V table). Not accepted on image-to-video,
whose I2V page lists no aspect ratio.
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
    /**Optional. HiAPI POSTs the terminal task to `url` once the task reaches `success` or
`fail` (T2V, I2V, R2V pages). The sources disagree on how often: the T2V page says
"exactly once per task"; the R2V page says a retry "will repost the same taskId" and
provider-facts (official SDK) says delivery is at least once and may be concurrent. We
follow the SDK: at least once, so deduplicate by `taskId`. When a signing key is set in the
console, deliveries carry `X-HiAPI-Timestamp` (unix seconds) and `X-HiAPI-Signature` =
hex(HMAC-SHA256(secret, timestamp + "." + raw_body)), tolerance 300 s; non-2xx answers
are redelivered (provider-facts). The secret's environment variable is
`HIAPI_WEBHOOK_SECRET` (provider-facts). The body is the task object (`Task`). Unknown fields
are rejected (assumed, as for `input`).
*/
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    pub struct Callback {
        /**HTTPS URL that receives terminal task notifications; required when callback is set
(I2V page). Decision: plain `http://` is also accepted to a loopback host
(`localhost`, 127.x.x.x, `[::1]`), so a receiver and a sandbox on one machine can
be tested end to end; HiAPI itself cannot reach a loopback URL, so nothing sent to
the real provider changes meaning.
*/
        pub url: CallbackUrl,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub when: ::std::option::Option<CallbackWhen>,
    }
    impl Callback {
        pub fn builder() -> builder::Callback {
            Default::default()
        }
    }
    /**HTTPS URL that receives terminal task notifications; required when callback is set
(I2V page). Decision: plain `http://` is also accepted to a loopback host
(`localhost`, 127.x.x.x, `[::1]`), so a receiver and a sandbox on one machine can
be tested end to end; HiAPI itself cannot reach a loopback URL, so nothing sent to
the real provider changes meaning.
*/
    #[derive(::serde::Serialize, Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
    #[serde(transparent)]
    pub struct CallbackUrl(::std::string::String);
    impl ::std::ops::Deref for CallbackUrl {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<CallbackUrl> for ::std::string::String {
        fn from(value: CallbackUrl) -> Self {
            value.0
        }
    }
    impl ::std::str::FromStr for CallbackUrl {
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
    impl ::std::convert::TryFrom<&str> for CallbackUrl {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for CallbackUrl {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl<'de> ::serde::Deserialize<'de> for CallbackUrl {
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
    ///Callback trigger timing; `final` is the only value today (R2V page table; I2V page).
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
    pub enum CallbackWhen {
        #[serde(rename = "final")]
        Final,
    }
    impl ::std::fmt::Display for CallbackWhen {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            match *self {
                Self::Final => f.write_str("final"),
            }
        }
    }
    impl ::std::str::FromStr for CallbackWhen {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            match value {
                "final" => Ok(Self::Final),
                _ => Err("invalid value".into()),
            }
        }
    }
    impl ::std::convert::TryFrom<&str> for CallbackWhen {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for CallbackWhen {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::default::Default for CallbackWhen {
        fn default() -> Self {
            CallbackWhen::Final
        }
    }
    ///`CreateTaskIdempotencyKey`
    #[derive(::serde::Serialize, Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
    #[serde(transparent)]
    pub struct CreateTaskIdempotencyKey(::std::string::String);
    impl ::std::ops::Deref for CreateTaskIdempotencyKey {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<CreateTaskIdempotencyKey> for ::std::string::String {
        fn from(value: CreateTaskIdempotencyKey) -> Self {
            value.0
        }
    }
    impl ::std::str::FromStr for CreateTaskIdempotencyKey {
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
    impl ::std::convert::TryFrom<&str> for CreateTaskIdempotencyKey {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for CreateTaskIdempotencyKey {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl<'de> ::serde::Deserialize<'de> for CreateTaskIdempotencyKey {
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
    /**The body of `POST /v1/tasks`: `model`, `input`, optional `callback` (T2V page: "The body
has three top-level keys"), plus the optional `route` (provider-facts). The `model` value
selects which `input` schema applies.
*/
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    #[serde(tag = "model", deny_unknown_fields)]
    pub enum CreateTaskRequest {
        /**TextToVideo

`happyhorse-1.1/text-to-video` (T2V page).*/
        #[serde(rename = "happyhorse-1.1/text-to-video")]
        Happyhorse11TextToVideo {
            #[serde(skip_serializing_if = "::std::option::Option::is_none")]
            callback: ::std::option::Option<Callback>,
            input: TextToVideoInput,
            #[serde(skip_serializing_if = "::std::option::Option::is_none")]
            route: ::std::option::Option<Route>,
        },
        /**ImageToVideo

`happyhorse-1.1/image-to-video` (I2V page).*/
        #[serde(rename = "happyhorse-1.1/image-to-video")]
        Happyhorse11ImageToVideo {
            #[serde(skip_serializing_if = "::std::option::Option::is_none")]
            callback: ::std::option::Option<Callback>,
            input: ImageToVideoInput,
            #[serde(skip_serializing_if = "::std::option::Option::is_none")]
            route: ::std::option::Option<Route>,
        },
        /**ReferenceToVideo

`happyhorse-1.1/reference-to-video` (R2V page).*/
        #[serde(rename = "happyhorse-1.1/reference-to-video")]
        Happyhorse11ReferenceToVideo {
            #[serde(skip_serializing_if = "::std::option::Option::is_none")]
            callback: ::std::option::Option<Callback>,
            input: ReferenceToVideoInput,
            #[serde(skip_serializing_if = "::std::option::Option::is_none")]
            route: ::std::option::Option<Route>,
        },
    }
    /**Envelope of `POST /v1/tasks` (T2V page: `{"code":200,"data":{"taskId":"tk-hiapi-01KW3..."},
"message":"success"}`; R2V page adds `"status": "queued"` inside `data`). A `code` other
than 200 is an error even under HTTP 200 (T2V page).
*/
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct CreateTaskResponse {
        ///200 on success; anything else is an error (T2V page).
        pub code: i64,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub data: ::std::option::Option<CreatedTask>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub error_code: ::std::option::Option<ErrorCode>,
        ///`success`, or the error message (e.g. `permission_denied`).
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub message: ::std::option::Option<::std::string::String>,
    }
    impl CreateTaskResponse {
        pub fn builder() -> builder::CreateTaskResponse {
            Default::default()
        }
    }
    ///The created task's id and, on some answers, its first status (R2V page).
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct CreatedTask {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub status: ::std::option::Option<TaskStatus>,
        ///Task id, e.g. `tk-hiapi-01KW3...` (T2V page) or `task_xxx` (R2V page).
        #[serde(rename = "taskId")]
        pub task_id: ::std::string::String,
    }
    impl CreatedTask {
        pub fn builder() -> builder::CreatedTask {
            Default::default()
        }
    }
    /**Clip length in whole seconds, 3-15, default 5; cost scales with it (T2V, I2V, R2V
pages). Out of range: `duration: minimum: got 0, want 3` / `duration: maximum: got 20,
want 15`; decimals are rejected because the field is typed integer (T2V page FAQ).
*/
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
    /**Open set. Known values (provider-facts): `INVALID_REQUEST` (fix, don't retry),
`MODEL_UNAVAILABLE`, `TASK_FAILED` (synchronous rejection), `TASK_TIMEOUT` (retryable),
`STORAGE_UNAVAILABLE` (retryable), `IDEMPOTENCY_KEY_PROCESSING` (409, retryable,
honours `Retry-After`), `IDEMPOTENCY_KEY_MISMATCH` (422, not retryable). Moderation
outages carry `nsfw_moderation_unavailable` (R2V page).
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
    pub struct ErrorCode(pub ::std::string::String);
    impl ::std::ops::Deref for ErrorCode {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<ErrorCode> for ::std::string::String {
        fn from(value: ErrorCode) -> Self {
            value.0
        }
    }
    impl ::std::convert::From<::std::string::String> for ErrorCode {
        fn from(value: ::std::string::String) -> Self {
            Self(value)
        }
    }
    impl ::std::fmt::Display for ErrorCode {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            self.0.fmt(f)
        }
    }
    impl ::std::str::FromStr for ErrorCode {
        type Err = ::std::convert::Infallible;
        fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
            Ok(Self(value.to_string()))
        }
    }
    /**Error body: `error_code` (string) and `message` (provider-facts). Assumed: the envelope's
integer `code` may also be present, mirroring the HTTP status, as on 200 answers.
*/
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct ErrorResponse {
        ///Assumed to mirror the HTTP status when present.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub code: ::std::option::Option<i64>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub error_code: ::std::option::Option<ErrorCode>,
        /**What failed; for `INVALID_REQUEST` the field path and the rule, e.g.
`duration: maximum: got 20, want 15` (T2V page).
*/
        pub message: ::std::string::String,
    }
    impl ErrorResponse {
        pub fn builder() -> builder::ErrorResponse {
            Default::default()
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
    /**HappyHorse 1.1 I2V input (I2V page): one first-frame image, optional prompt. The page
lists no `aspect_ratio` (the orientation comes from the image), no `seed` and no `audio`;
as on the other HiAPI models, unknown fields are rejected.
*/
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    pub struct ImageToVideoInput {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub duration: ::std::option::Option<Duration>,
        /**First-frame image URL, exactly 1 (I2V page: "image_urls takes exactly 1 first-frame
image"). JPEG/PNG/WEBP, shortest side >= 300px, <= 20MB (I2V page; checked by HiAPI
on fetch, not by the schema). The page does not require HTTPS here, unlike R2V.
*/
        pub image_urls: [ImageToVideoInputImageUrlsItem; 1usize],
        /**Optional text prompt to guide the generated motion and style (I2V page). At most
5000 characters is assumed (no bound documented; see info).
*/
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub prompt: ::std::option::Option<ImageToVideoInputPrompt>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub resolution: ::std::option::Option<Resolution>,
    }
    impl ImageToVideoInput {
        pub fn builder() -> builder::ImageToVideoInput {
            Default::default()
        }
    }
    ///`ImageToVideoInputImageUrlsItem`
    #[derive(::serde::Serialize, Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
    #[serde(transparent)]
    pub struct ImageToVideoInputImageUrlsItem(::std::string::String);
    impl ::std::ops::Deref for ImageToVideoInputImageUrlsItem {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<ImageToVideoInputImageUrlsItem> for ::std::string::String {
        fn from(value: ImageToVideoInputImageUrlsItem) -> Self {
            value.0
        }
    }
    impl ::std::str::FromStr for ImageToVideoInputImageUrlsItem {
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
    impl ::std::convert::TryFrom<&str> for ImageToVideoInputImageUrlsItem {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String>
    for ImageToVideoInputImageUrlsItem {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl<'de> ::serde::Deserialize<'de> for ImageToVideoInputImageUrlsItem {
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
    /**Optional text prompt to guide the generated motion and style (I2V page). At most
5000 characters is assumed (no bound documented; see info).
*/
    #[derive(::serde::Serialize, Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
    #[serde(transparent)]
    pub struct ImageToVideoInputPrompt(::std::string::String);
    impl ::std::ops::Deref for ImageToVideoInputPrompt {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<ImageToVideoInputPrompt> for ::std::string::String {
        fn from(value: ImageToVideoInputPrompt) -> Self {
            value.0
        }
    }
    impl ::std::str::FromStr for ImageToVideoInputPrompt {
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
    impl ::std::convert::TryFrom<&str> for ImageToVideoInputPrompt {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for ImageToVideoInputPrompt {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl<'de> ::serde::Deserialize<'de> for ImageToVideoInputPrompt {
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
    /**HappyHorse 1.1 R2V input (R2V page, table "verified live against POST /v1/tasks").
Unknown fields such as `seed`, `negative_prompt`, `fps`, `cfg_scale` or `steps` are
rejected (R2V page).
*/
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    pub struct ReferenceToVideoInput {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub aspect_ratio: ::std::option::Option<AspectRatio>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub duration: ::std::option::Option<Duration>,
        /**Required (R2V page). Refer to the images as [Image 1], [Image 2], … in the same order
as `reference_image`; a prompt that names no image is legal (R2V page FAQ).
Non-empty and at most 5000 characters are assumed (see info).
*/
        pub prompt: ReferenceToVideoInputPrompt,
        /**1-9 HTTPS URLs, JPEG/PNG/WEBP, shortest side >= 400px, <= 20MB each (R2V page).
Plain `http://` to a loopback host (`localhost`, 127.x.x.x, `[::1]`) is accepted too:
our decision, as for the callback URL, so that images served on one machine can be
fetched by the sandbox in tests (HiAPI cannot reach a loopback URL).
Always an array, even for one URL: a bare string is `reference_image: got string,
want array`; ten items is `reference_image: maxItems: got 10, want 9` (R2V page).
*/
        pub reference_image: ::std::vec::Vec<ReferenceToVideoInputReferenceImageItem>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub resolution: ::std::option::Option<Resolution>,
    }
    impl ReferenceToVideoInput {
        pub fn builder() -> builder::ReferenceToVideoInput {
            Default::default()
        }
    }
    /**Required (R2V page). Refer to the images as [Image 1], [Image 2], … in the same order
as `reference_image`; a prompt that names no image is legal (R2V page FAQ).
Non-empty and at most 5000 characters are assumed (see info).
*/
    #[derive(::serde::Serialize, Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
    #[serde(transparent)]
    pub struct ReferenceToVideoInputPrompt(::std::string::String);
    impl ::std::ops::Deref for ReferenceToVideoInputPrompt {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<ReferenceToVideoInputPrompt> for ::std::string::String {
        fn from(value: ReferenceToVideoInputPrompt) -> Self {
            value.0
        }
    }
    impl ::std::str::FromStr for ReferenceToVideoInputPrompt {
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
    impl ::std::convert::TryFrom<&str> for ReferenceToVideoInputPrompt {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for ReferenceToVideoInputPrompt {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl<'de> ::serde::Deserialize<'de> for ReferenceToVideoInputPrompt {
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
    ///`ReferenceToVideoInputReferenceImageItem`
    #[derive(::serde::Serialize, Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
    #[serde(transparent)]
    pub struct ReferenceToVideoInputReferenceImageItem(::std::string::String);
    impl ::std::ops::Deref for ReferenceToVideoInputReferenceImageItem {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<ReferenceToVideoInputReferenceImageItem>
    for ::std::string::String {
        fn from(value: ReferenceToVideoInputReferenceImageItem) -> Self {
            value.0
        }
    }
    impl ::std::str::FromStr for ReferenceToVideoInputReferenceImageItem {
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
    impl ::std::convert::TryFrom<&str> for ReferenceToVideoInputReferenceImageItem {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String>
    for ReferenceToVideoInputReferenceImageItem {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl<'de> ::serde::Deserialize<'de> for ReferenceToVideoInputReferenceImageItem {
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
    ///Output resolution; default 1080p; higher costs more (T2V, I2V, R2V pages).
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
    /**Optional model route, e.g. `ext` (provider-facts). Not on the seed pages; values other
than the example are not documented.
*/
    #[derive(::serde::Serialize, Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
    #[serde(transparent)]
    pub struct Route(::std::string::String);
    impl ::std::ops::Deref for Route {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<Route> for ::std::string::String {
        fn from(value: Route) -> Self {
            value.0
        }
    }
    impl ::std::str::FromStr for Route {
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
    impl ::std::convert::TryFrom<&str> for Route {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for Route {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl<'de> ::serde::Deserialize<'de> for Route {
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
    /**The task object (provider-facts: `taskId`, `model`, `status`, `created`, `completed`,
`storage`, `route`, `output`, `error`). It is also the body of a callback delivery.
*/
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct Task {
        ///Completion time, unix seconds; `0` while not terminal (provider-facts).
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub completed: ::std::option::Option<i64>,
        ///Creation time, unix seconds (provider-facts).
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub created: ::std::option::Option<i64>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub error: ::std::option::Option<TaskError>,
        ///The model id the task was created with, e.g. `happyhorse-1.1/text-to-video`.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub model: ::std::option::Option<::std::string::String>,
        ///Outputs once `status` is `success` (T2V page).
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub output: ::std::option::Option<::std::vec::Vec<TaskOutput>>,
        ///The route the task ran on, if any (provider-facts).
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub route: ::std::option::Option<::std::string::String>,
        pub status: TaskStatus,
        /**Where the outputs are stored (provider-facts names the field; its shape is not
documented, so any JSON value is accepted). See the Output Storage docs (T2V page).
*/
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub storage: ::std::option::Option<::serde_json::Value>,
        #[serde(rename = "taskId")]
        pub task_id: ::std::string::String,
    }
    impl Task {
        pub fn builder() -> builder::Task {
            Default::default()
        }
    }
    /**Why a task failed (`status: fail`): `error.code` and `error.message` (R2V page). Common
causes: an unfetchable reference URL, an NSFW moderation hit, images below the
shortest-side threshold (R2V page). The type of `code` is not documented, so any JSON
value is accepted.
*/
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct TaskError {
        ///Failure code (type undocumented; a string in the sandbox).
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub code: ::std::option::Option<::serde_json::Value>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub message: ::std::option::Option<::std::string::String>,
    }
    impl TaskError {
        pub fn builder() -> builder::TaskError {
            Default::default()
        }
    }
    ///Envelope of `GET /v1/tasks` (provider-facts).
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct TaskListResponse {
        pub code: i64,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub data: ::std::option::Option<TaskPage>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub error_code: ::std::option::Option<ErrorCode>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub message: ::std::option::Option<::std::string::String>,
    }
    impl TaskListResponse {
        pub fn builder() -> builder::TaskListResponse {
            Default::default()
        }
    }
    ///One output file (T2V page).
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct TaskOutput {
        ///Unix timestamp after which `url` stops working, about 7 days out (T2V page).
        #[serde(
            rename = "expireAt",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub expire_at: ::std::option::Option<i64>,
        ///`video` for HappyHorse (T2V page).
        #[serde(rename = "type", skip_serializing_if = "::std::option::Option::is_none")]
        pub type_: ::std::option::Option<::std::string::String>,
        /**Temporary URL, e.g. `https://temp.hiapi.ai/.../...-0.mp4` (T2V page). Download it as
soon as the task succeeds; do not hot-link (T2V and R2V pages).
*/
        pub url: ::std::string::String,
    }
    impl TaskOutput {
        pub fn builder() -> builder::TaskOutput {
            Default::default()
        }
    }
    ///One page of tasks, newest first (provider-facts). Fields besides `tasks` are not documented.
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct TaskPage {
        pub tasks: ::std::vec::Vec<Task>,
    }
    impl TaskPage {
        pub fn builder() -> builder::TaskPage {
            Default::default()
        }
    }
    ///Envelope of `GET /v1/tasks/{id}`; the task is under `data` (T2V and R2V pages).
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct TaskResponse {
        ///200 on success; anything else is an error (T2V page).
        pub code: i64,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub data: ::std::option::Option<Task>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub error_code: ::std::option::Option<ErrorCode>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub message: ::std::option::Option<::std::string::String>,
    }
    impl TaskResponse {
        pub fn builder() -> builder::TaskResponse {
            Default::default()
        }
    }
    /**Open set. Seen: `queued`, `handling`, `archiving`, `success`, `fail` (provider-facts;
`queued` and `processing` on the R2V page, `handling` on the T2V page). Only `success` and `fail` are
terminal; treat any other value, including one not listed, as still running (T2V page).
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
    /**HappyHorse 1.1 T2V input (T2V page). Unknown fields are rejected with
`additional properties '<name>' not allowed`; in particular there is no `seed` and no
`audio` toggle: audio is generated natively (T2V page, "Two things that look like they
should work but don't").
*/
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    pub struct TextToVideoInput {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub aspect_ratio: ::std::option::Option<AspectRatio>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub duration: ::std::option::Option<Duration>,
        /**Describe the clip. Required (T2V page). Non-empty and at most 5000 characters are
assumed (no bounds documented; see info: the most the model reads on reapi).
*/
        pub prompt: TextToVideoInputPrompt,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub resolution: ::std::option::Option<Resolution>,
    }
    impl TextToVideoInput {
        pub fn builder() -> builder::TextToVideoInput {
            Default::default()
        }
    }
    /**Describe the clip. Required (T2V page). Non-empty and at most 5000 characters are
assumed (no bounds documented; see info: the most the model reads on reapi).
*/
    #[derive(::serde::Serialize, Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
    #[serde(transparent)]
    pub struct TextToVideoInputPrompt(::std::string::String);
    impl ::std::ops::Deref for TextToVideoInputPrompt {
        type Target = ::std::string::String;
        fn deref(&self) -> &::std::string::String {
            &self.0
        }
    }
    impl ::std::convert::From<TextToVideoInputPrompt> for ::std::string::String {
        fn from(value: TextToVideoInputPrompt) -> Self {
            value.0
        }
    }
    impl ::std::str::FromStr for TextToVideoInputPrompt {
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
    impl ::std::convert::TryFrom<&str> for TextToVideoInputPrompt {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for TextToVideoInputPrompt {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl<'de> ::serde::Deserialize<'de> for TextToVideoInputPrompt {
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
    /// Types for composing complex structures.
    pub mod builder {
        #[derive(Clone, Debug)]
        pub struct Callback {
            url: ::std::result::Result<super::CallbackUrl, ::std::string::String>,
            when: ::std::result::Result<
                ::std::option::Option<super::CallbackWhen>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for Callback {
            fn default() -> Self {
                Self {
                    url: Err("no value supplied for url".to_string()),
                    when: Ok(Default::default()),
                }
            }
        }
        impl Callback {
            pub fn url<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<super::CallbackUrl>,
                T::Error: ::std::fmt::Display,
            {
                self.url = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for url: {e}")
                    });
                self
            }
            pub fn when<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::CallbackWhen>>,
                T::Error: ::std::fmt::Display,
            {
                self.when = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for when: {e}")
                    });
                self
            }
        }
        impl ::std::convert::TryFrom<Callback> for super::Callback {
            type Error = super::error::ConversionError;
            fn try_from(
                value: Callback,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    url: value.url?,
                    when: value.when?,
                })
            }
        }
        impl ::std::convert::From<super::Callback> for Callback {
            fn from(value: super::Callback) -> Self {
                Self {
                    url: Ok(value.url),
                    when: Ok(value.when),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct CreateTaskResponse {
            code: ::std::result::Result<i64, ::std::string::String>,
            data: ::std::result::Result<
                ::std::option::Option<super::CreatedTask>,
                ::std::string::String,
            >,
            error_code: ::std::result::Result<
                ::std::option::Option<super::ErrorCode>,
                ::std::string::String,
            >,
            message: ::std::result::Result<
                ::std::option::Option<::std::string::String>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for CreateTaskResponse {
            fn default() -> Self {
                Self {
                    code: Err("no value supplied for code".to_string()),
                    data: Ok(Default::default()),
                    error_code: Ok(Default::default()),
                    message: Ok(Default::default()),
                }
            }
        }
        impl CreateTaskResponse {
            pub fn code<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<i64>,
                T::Error: ::std::fmt::Display,
            {
                self.code = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for code: {e}")
                    });
                self
            }
            pub fn data<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::CreatedTask>>,
                T::Error: ::std::fmt::Display,
            {
                self.data = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for data: {e}")
                    });
                self
            }
            pub fn error_code<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::ErrorCode>>,
                T::Error: ::std::fmt::Display,
            {
                self.error_code = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for error_code: {e}")
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
        impl ::std::convert::TryFrom<CreateTaskResponse> for super::CreateTaskResponse {
            type Error = super::error::ConversionError;
            fn try_from(
                value: CreateTaskResponse,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    code: value.code?,
                    data: value.data?,
                    error_code: value.error_code?,
                    message: value.message?,
                })
            }
        }
        impl ::std::convert::From<super::CreateTaskResponse> for CreateTaskResponse {
            fn from(value: super::CreateTaskResponse) -> Self {
                Self {
                    code: Ok(value.code),
                    data: Ok(value.data),
                    error_code: Ok(value.error_code),
                    message: Ok(value.message),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct CreatedTask {
            status: ::std::result::Result<
                ::std::option::Option<super::TaskStatus>,
                ::std::string::String,
            >,
            task_id: ::std::result::Result<::std::string::String, ::std::string::String>,
        }
        impl ::std::default::Default for CreatedTask {
            fn default() -> Self {
                Self {
                    status: Ok(Default::default()),
                    task_id: Err("no value supplied for task_id".to_string()),
                }
            }
        }
        impl CreatedTask {
            pub fn status<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::TaskStatus>>,
                T::Error: ::std::fmt::Display,
            {
                self.status = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for status: {e}")
                    });
                self
            }
            pub fn task_id<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::string::String>,
                T::Error: ::std::fmt::Display,
            {
                self.task_id = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for task_id: {e}")
                    });
                self
            }
        }
        impl ::std::convert::TryFrom<CreatedTask> for super::CreatedTask {
            type Error = super::error::ConversionError;
            fn try_from(
                value: CreatedTask,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    status: value.status?,
                    task_id: value.task_id?,
                })
            }
        }
        impl ::std::convert::From<super::CreatedTask> for CreatedTask {
            fn from(value: super::CreatedTask) -> Self {
                Self {
                    status: Ok(value.status),
                    task_id: Ok(value.task_id),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct ErrorResponse {
            code: ::std::result::Result<
                ::std::option::Option<i64>,
                ::std::string::String,
            >,
            error_code: ::std::result::Result<
                ::std::option::Option<super::ErrorCode>,
                ::std::string::String,
            >,
            message: ::std::result::Result<::std::string::String, ::std::string::String>,
        }
        impl ::std::default::Default for ErrorResponse {
            fn default() -> Self {
                Self {
                    code: Ok(Default::default()),
                    error_code: Ok(Default::default()),
                    message: Err("no value supplied for message".to_string()),
                }
            }
        }
        impl ErrorResponse {
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
            pub fn error_code<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::ErrorCode>>,
                T::Error: ::std::fmt::Display,
            {
                self.error_code = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for error_code: {e}")
                    });
                self
            }
            pub fn message<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::string::String>,
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
        impl ::std::convert::TryFrom<ErrorResponse> for super::ErrorResponse {
            type Error = super::error::ConversionError;
            fn try_from(
                value: ErrorResponse,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    code: value.code?,
                    error_code: value.error_code?,
                    message: value.message?,
                })
            }
        }
        impl ::std::convert::From<super::ErrorResponse> for ErrorResponse {
            fn from(value: super::ErrorResponse) -> Self {
                Self {
                    code: Ok(value.code),
                    error_code: Ok(value.error_code),
                    message: Ok(value.message),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct ImageToVideoInput {
            duration: ::std::result::Result<
                ::std::option::Option<super::Duration>,
                ::std::string::String,
            >,
            image_urls: ::std::result::Result<
                [super::ImageToVideoInputImageUrlsItem; 1usize],
                ::std::string::String,
            >,
            prompt: ::std::result::Result<
                ::std::option::Option<super::ImageToVideoInputPrompt>,
                ::std::string::String,
            >,
            resolution: ::std::result::Result<
                ::std::option::Option<super::Resolution>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for ImageToVideoInput {
            fn default() -> Self {
                Self {
                    duration: Ok(Default::default()),
                    image_urls: Err("no value supplied for image_urls".to_string()),
                    prompt: Ok(Default::default()),
                    resolution: Ok(Default::default()),
                }
            }
        }
        impl ImageToVideoInput {
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
                T: ::std::convert::TryInto<
                    [super::ImageToVideoInputImageUrlsItem; 1usize],
                >,
                T::Error: ::std::fmt::Display,
            {
                self.image_urls = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for image_urls: {e}")
                    });
                self
            }
            pub fn prompt<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<
                    ::std::option::Option<super::ImageToVideoInputPrompt>,
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
        impl ::std::convert::TryFrom<ImageToVideoInput> for super::ImageToVideoInput {
            type Error = super::error::ConversionError;
            fn try_from(
                value: ImageToVideoInput,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    duration: value.duration?,
                    image_urls: value.image_urls?,
                    prompt: value.prompt?,
                    resolution: value.resolution?,
                })
            }
        }
        impl ::std::convert::From<super::ImageToVideoInput> for ImageToVideoInput {
            fn from(value: super::ImageToVideoInput) -> Self {
                Self {
                    duration: Ok(value.duration),
                    image_urls: Ok(value.image_urls),
                    prompt: Ok(value.prompt),
                    resolution: Ok(value.resolution),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct ReferenceToVideoInput {
            aspect_ratio: ::std::result::Result<
                ::std::option::Option<super::AspectRatio>,
                ::std::string::String,
            >,
            duration: ::std::result::Result<
                ::std::option::Option<super::Duration>,
                ::std::string::String,
            >,
            prompt: ::std::result::Result<
                super::ReferenceToVideoInputPrompt,
                ::std::string::String,
            >,
            reference_image: ::std::result::Result<
                ::std::vec::Vec<super::ReferenceToVideoInputReferenceImageItem>,
                ::std::string::String,
            >,
            resolution: ::std::result::Result<
                ::std::option::Option<super::Resolution>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for ReferenceToVideoInput {
            fn default() -> Self {
                Self {
                    aspect_ratio: Ok(Default::default()),
                    duration: Ok(Default::default()),
                    prompt: Err("no value supplied for prompt".to_string()),
                    reference_image: Err(
                        "no value supplied for reference_image".to_string(),
                    ),
                    resolution: Ok(Default::default()),
                }
            }
        }
        impl ReferenceToVideoInput {
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
            pub fn prompt<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<super::ReferenceToVideoInputPrompt>,
                T::Error: ::std::fmt::Display,
            {
                self.prompt = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for prompt: {e}")
                    });
                self
            }
            pub fn reference_image<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<
                    ::std::vec::Vec<super::ReferenceToVideoInputReferenceImageItem>,
                >,
                T::Error: ::std::fmt::Display,
            {
                self.reference_image = value
                    .try_into()
                    .map_err(|e| {
                        format!(
                            "error converting supplied value for reference_image: {e}"
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
        impl ::std::convert::TryFrom<ReferenceToVideoInput>
        for super::ReferenceToVideoInput {
            type Error = super::error::ConversionError;
            fn try_from(
                value: ReferenceToVideoInput,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    aspect_ratio: value.aspect_ratio?,
                    duration: value.duration?,
                    prompt: value.prompt?,
                    reference_image: value.reference_image?,
                    resolution: value.resolution?,
                })
            }
        }
        impl ::std::convert::From<super::ReferenceToVideoInput>
        for ReferenceToVideoInput {
            fn from(value: super::ReferenceToVideoInput) -> Self {
                Self {
                    aspect_ratio: Ok(value.aspect_ratio),
                    duration: Ok(value.duration),
                    prompt: Ok(value.prompt),
                    reference_image: Ok(value.reference_image),
                    resolution: Ok(value.resolution),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct Task {
            completed: ::std::result::Result<
                ::std::option::Option<i64>,
                ::std::string::String,
            >,
            created: ::std::result::Result<
                ::std::option::Option<i64>,
                ::std::string::String,
            >,
            error: ::std::result::Result<
                ::std::option::Option<super::TaskError>,
                ::std::string::String,
            >,
            model: ::std::result::Result<
                ::std::option::Option<::std::string::String>,
                ::std::string::String,
            >,
            output: ::std::result::Result<
                ::std::option::Option<::std::vec::Vec<super::TaskOutput>>,
                ::std::string::String,
            >,
            route: ::std::result::Result<
                ::std::option::Option<::std::string::String>,
                ::std::string::String,
            >,
            status: ::std::result::Result<super::TaskStatus, ::std::string::String>,
            storage: ::std::result::Result<
                ::std::option::Option<::serde_json::Value>,
                ::std::string::String,
            >,
            task_id: ::std::result::Result<::std::string::String, ::std::string::String>,
        }
        impl ::std::default::Default for Task {
            fn default() -> Self {
                Self {
                    completed: Ok(Default::default()),
                    created: Ok(Default::default()),
                    error: Ok(Default::default()),
                    model: Ok(Default::default()),
                    output: Ok(Default::default()),
                    route: Ok(Default::default()),
                    status: Err("no value supplied for status".to_string()),
                    storage: Ok(Default::default()),
                    task_id: Err("no value supplied for task_id".to_string()),
                }
            }
        }
        impl Task {
            pub fn completed<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<i64>>,
                T::Error: ::std::fmt::Display,
            {
                self.completed = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for completed: {e}")
                    });
                self
            }
            pub fn created<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<i64>>,
                T::Error: ::std::fmt::Display,
            {
                self.created = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for created: {e}")
                    });
                self
            }
            pub fn error<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::TaskError>>,
                T::Error: ::std::fmt::Display,
            {
                self.error = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for error: {e}")
                    });
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
                T: ::std::convert::TryInto<
                    ::std::option::Option<::std::vec::Vec<super::TaskOutput>>,
                >,
                T::Error: ::std::fmt::Display,
            {
                self.output = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for output: {e}")
                    });
                self
            }
            pub fn route<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<::std::string::String>>,
                T::Error: ::std::fmt::Display,
            {
                self.route = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for route: {e}")
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
            pub fn storage<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<::serde_json::Value>>,
                T::Error: ::std::fmt::Display,
            {
                self.storage = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for storage: {e}")
                    });
                self
            }
            pub fn task_id<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::string::String>,
                T::Error: ::std::fmt::Display,
            {
                self.task_id = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for task_id: {e}")
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
                    completed: value.completed?,
                    created: value.created?,
                    error: value.error?,
                    model: value.model?,
                    output: value.output?,
                    route: value.route?,
                    status: value.status?,
                    storage: value.storage?,
                    task_id: value.task_id?,
                })
            }
        }
        impl ::std::convert::From<super::Task> for Task {
            fn from(value: super::Task) -> Self {
                Self {
                    completed: Ok(value.completed),
                    created: Ok(value.created),
                    error: Ok(value.error),
                    model: Ok(value.model),
                    output: Ok(value.output),
                    route: Ok(value.route),
                    status: Ok(value.status),
                    storage: Ok(value.storage),
                    task_id: Ok(value.task_id),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct TaskError {
            code: ::std::result::Result<
                ::std::option::Option<::serde_json::Value>,
                ::std::string::String,
            >,
            message: ::std::result::Result<
                ::std::option::Option<::std::string::String>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for TaskError {
            fn default() -> Self {
                Self {
                    code: Ok(Default::default()),
                    message: Ok(Default::default()),
                }
            }
        }
        impl TaskError {
            pub fn code<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<::serde_json::Value>>,
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
        impl ::std::convert::TryFrom<TaskError> for super::TaskError {
            type Error = super::error::ConversionError;
            fn try_from(
                value: TaskError,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    code: value.code?,
                    message: value.message?,
                })
            }
        }
        impl ::std::convert::From<super::TaskError> for TaskError {
            fn from(value: super::TaskError) -> Self {
                Self {
                    code: Ok(value.code),
                    message: Ok(value.message),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct TaskListResponse {
            code: ::std::result::Result<i64, ::std::string::String>,
            data: ::std::result::Result<
                ::std::option::Option<super::TaskPage>,
                ::std::string::String,
            >,
            error_code: ::std::result::Result<
                ::std::option::Option<super::ErrorCode>,
                ::std::string::String,
            >,
            message: ::std::result::Result<
                ::std::option::Option<::std::string::String>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for TaskListResponse {
            fn default() -> Self {
                Self {
                    code: Err("no value supplied for code".to_string()),
                    data: Ok(Default::default()),
                    error_code: Ok(Default::default()),
                    message: Ok(Default::default()),
                }
            }
        }
        impl TaskListResponse {
            pub fn code<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<i64>,
                T::Error: ::std::fmt::Display,
            {
                self.code = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for code: {e}")
                    });
                self
            }
            pub fn data<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::TaskPage>>,
                T::Error: ::std::fmt::Display,
            {
                self.data = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for data: {e}")
                    });
                self
            }
            pub fn error_code<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::ErrorCode>>,
                T::Error: ::std::fmt::Display,
            {
                self.error_code = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for error_code: {e}")
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
        impl ::std::convert::TryFrom<TaskListResponse> for super::TaskListResponse {
            type Error = super::error::ConversionError;
            fn try_from(
                value: TaskListResponse,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    code: value.code?,
                    data: value.data?,
                    error_code: value.error_code?,
                    message: value.message?,
                })
            }
        }
        impl ::std::convert::From<super::TaskListResponse> for TaskListResponse {
            fn from(value: super::TaskListResponse) -> Self {
                Self {
                    code: Ok(value.code),
                    data: Ok(value.data),
                    error_code: Ok(value.error_code),
                    message: Ok(value.message),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct TaskOutput {
            expire_at: ::std::result::Result<
                ::std::option::Option<i64>,
                ::std::string::String,
            >,
            type_: ::std::result::Result<
                ::std::option::Option<::std::string::String>,
                ::std::string::String,
            >,
            url: ::std::result::Result<::std::string::String, ::std::string::String>,
        }
        impl ::std::default::Default for TaskOutput {
            fn default() -> Self {
                Self {
                    expire_at: Ok(Default::default()),
                    type_: Ok(Default::default()),
                    url: Err("no value supplied for url".to_string()),
                }
            }
        }
        impl TaskOutput {
            pub fn expire_at<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<i64>>,
                T::Error: ::std::fmt::Display,
            {
                self.expire_at = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for expire_at: {e}")
                    });
                self
            }
            pub fn type_<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<::std::string::String>>,
                T::Error: ::std::fmt::Display,
            {
                self.type_ = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for type_: {e}")
                    });
                self
            }
            pub fn url<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::string::String>,
                T::Error: ::std::fmt::Display,
            {
                self.url = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for url: {e}")
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
                    expire_at: value.expire_at?,
                    type_: value.type_?,
                    url: value.url?,
                })
            }
        }
        impl ::std::convert::From<super::TaskOutput> for TaskOutput {
            fn from(value: super::TaskOutput) -> Self {
                Self {
                    expire_at: Ok(value.expire_at),
                    type_: Ok(value.type_),
                    url: Ok(value.url),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct TaskPage {
            tasks: ::std::result::Result<
                ::std::vec::Vec<super::Task>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for TaskPage {
            fn default() -> Self {
                Self {
                    tasks: Err("no value supplied for tasks".to_string()),
                }
            }
        }
        impl TaskPage {
            pub fn tasks<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::vec::Vec<super::Task>>,
                T::Error: ::std::fmt::Display,
            {
                self.tasks = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for tasks: {e}")
                    });
                self
            }
        }
        impl ::std::convert::TryFrom<TaskPage> for super::TaskPage {
            type Error = super::error::ConversionError;
            fn try_from(
                value: TaskPage,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self { tasks: value.tasks? })
            }
        }
        impl ::std::convert::From<super::TaskPage> for TaskPage {
            fn from(value: super::TaskPage) -> Self {
                Self { tasks: Ok(value.tasks) }
            }
        }
        #[derive(Clone, Debug)]
        pub struct TaskResponse {
            code: ::std::result::Result<i64, ::std::string::String>,
            data: ::std::result::Result<
                ::std::option::Option<super::Task>,
                ::std::string::String,
            >,
            error_code: ::std::result::Result<
                ::std::option::Option<super::ErrorCode>,
                ::std::string::String,
            >,
            message: ::std::result::Result<
                ::std::option::Option<::std::string::String>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for TaskResponse {
            fn default() -> Self {
                Self {
                    code: Err("no value supplied for code".to_string()),
                    data: Ok(Default::default()),
                    error_code: Ok(Default::default()),
                    message: Ok(Default::default()),
                }
            }
        }
        impl TaskResponse {
            pub fn code<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<i64>,
                T::Error: ::std::fmt::Display,
            {
                self.code = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for code: {e}")
                    });
                self
            }
            pub fn data<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::Task>>,
                T::Error: ::std::fmt::Display,
            {
                self.data = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for data: {e}")
                    });
                self
            }
            pub fn error_code<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<::std::option::Option<super::ErrorCode>>,
                T::Error: ::std::fmt::Display,
            {
                self.error_code = value
                    .try_into()
                    .map_err(|e| {
                        format!("error converting supplied value for error_code: {e}")
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
        impl ::std::convert::TryFrom<TaskResponse> for super::TaskResponse {
            type Error = super::error::ConversionError;
            fn try_from(
                value: TaskResponse,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    code: value.code?,
                    data: value.data?,
                    error_code: value.error_code?,
                    message: value.message?,
                })
            }
        }
        impl ::std::convert::From<super::TaskResponse> for TaskResponse {
            fn from(value: super::TaskResponse) -> Self {
                Self {
                    code: Ok(value.code),
                    data: Ok(value.data),
                    error_code: Ok(value.error_code),
                    message: Ok(value.message),
                }
            }
        }
        #[derive(Clone, Debug)]
        pub struct TextToVideoInput {
            aspect_ratio: ::std::result::Result<
                ::std::option::Option<super::AspectRatio>,
                ::std::string::String,
            >,
            duration: ::std::result::Result<
                ::std::option::Option<super::Duration>,
                ::std::string::String,
            >,
            prompt: ::std::result::Result<
                super::TextToVideoInputPrompt,
                ::std::string::String,
            >,
            resolution: ::std::result::Result<
                ::std::option::Option<super::Resolution>,
                ::std::string::String,
            >,
        }
        impl ::std::default::Default for TextToVideoInput {
            fn default() -> Self {
                Self {
                    aspect_ratio: Ok(Default::default()),
                    duration: Ok(Default::default()),
                    prompt: Err("no value supplied for prompt".to_string()),
                    resolution: Ok(Default::default()),
                }
            }
        }
        impl TextToVideoInput {
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
            pub fn prompt<T>(mut self, value: T) -> Self
            where
                T: ::std::convert::TryInto<super::TextToVideoInputPrompt>,
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
        impl ::std::convert::TryFrom<TextToVideoInput> for super::TextToVideoInput {
            type Error = super::error::ConversionError;
            fn try_from(
                value: TextToVideoInput,
            ) -> ::std::result::Result<Self, super::error::ConversionError> {
                Ok(Self {
                    aspect_ratio: value.aspect_ratio?,
                    duration: value.duration?,
                    prompt: value.prompt?,
                    resolution: value.resolution?,
                })
            }
        }
        impl ::std::convert::From<super::TextToVideoInput> for TextToVideoInput {
            fn from(value: super::TextToVideoInput) -> Self {
                Self {
                    aspect_ratio: Ok(value.aspect_ratio),
                    duration: Ok(value.duration),
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
/**Client for HiAPI unified async tasks — HappyHorse 1.1

HappyHorse 1.1 (text-to-video, image-to-video, reference-to-video) as HiAPI serves it through
its unified async task endpoint. Hand-maintained; the single source of truth for the
`happyhorse` crate's HiAPI transport, validation and sandbox.

Sources, named in each constraint's description:
- `seeds/hiapi-text-to-video.txt` (T2V page), `seeds/hiapi-image-to-video.txt` (I2V page),
  `seeds/hiapi-reference-to-video.txt` (R2V page): HiAPI's own pages, the primary contract.
- `reference/provider-facts.md` (HiAPI section): facts from HiAPI's official Python SDK
  (PyPI `hiapi` 0.2.1) that the pages leave out.

Decisions where the sources are silent or loose (each repeated where it applies):
- Paths are relative to the base URL `https://api.hiapi.ai/v1` (provider-facts: "Base URL
  includes /v1"), so `POST /tasks` here is `POST /v1/tasks` on the wire.
- Unknown properties are rejected at every level of the request (`additionalProperties:
  false`): the pages say unknown input fields return 400 INVALID_REQUEST ("additional
  properties 'seed' not allowed"); we apply the same strictness to the envelope and the
  callback object, since a typo there would otherwise be silently lost.
- A required `prompt` must be non-empty (`minLength: 1`). Assumed: the pages say "required"
  and give no length bounds; an empty prompt cannot describe a clip.
- Every `prompt` is at most 5000 characters (`maxLength: 5000`). Assumed: the pages give no
  upper bound, and a prompt is sent (and paid for) whole, so one must be set before paying.
  5000 is the most the same model reads where a provider documents it (reapi page: "≤5000
  non-CJK / ≤2500 CJK characters", the rest truncated; Apiframe takes 2500). At four UTF-8
  bytes a character (twelve as JSON `\u` escapes), a 5000-character prompt is at most 60 KB,
  far inside the 2 MiB request body limit of the sandbox (axum's default), so no prompt
  within the bound is refused for its size.
- Response fields whose values the sources list but do not close (task `status`,
  `error_code`) are open strings, so that a new value from HiAPI never breaks parsing.
- HiAPI may answer HTTP 200 with a non-200 `code` (T2V page, "raise_for_status is not
  enough"). Every 200 body is therefore an envelope whose `code` must be checked; `data` is
  absent or null in that case.
- The legacy `model@route` suffix (provider-facts) is not modelled: `model` is a closed
  enum of the three HappyHorse ids; use the top-level `route` field instead.
- `GET /tasks` paging (provider-facts names `page` and `size` only): `page` from 1, `size`
  1 to 100 (default 20); values outside, or not whole numbers, are refused with
  `INVALID_REQUEST` rather than clamped.
- A submit body must be sent as `application/json` (the request body's only media type);
  any other `Content-Type` is refused with `INVALID_REQUEST`, as a JSON-only API server
  does not parse it.
- The output files behind `output[].url` are described in `storage.yaml` (ranges, 416,
  404, and 410 or 403 once expired).


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
    /**List the caller's tasks, newest first

provider-facts: `GET /v1/tasks?page=&size=`, newest first; the page array is under
`data.tasks`. The bounds and defaults of `page` and `size` are not documented; the
ones below are assumed (see info) and enforced, by the sandbox too.


Sends a `GET` request to `/tasks`

Arguments:
- `page`: Page number, from 1 (assumed; provider-facts names the parameter only). Absent means 1.
A value that is not a whole number from 1 is refused with `INVALID_REQUEST` (assumed).

- `size`: Tasks per page, 1 to 100; absent means 20 (assumed: provider-facts names the
parameter only, and the bounds are the usual ones of paged APIs). A value outside is
refused with `INVALID_REQUEST` rather than brought inside, so that a client tested
on the sandbox never depends on clamping a provider may not do.

```ignore
let response = client.list_tasks()
    .page(page)
    .size(size)
    .send()
    .await;
```*/
    pub fn list_tasks(&self) -> builder::ListTasks<'_> {
        builder::ListTasks::new(self)
    }
    /**Create a HappyHorse 1.1 task (text-, image- or reference-to-video)

Returns immediately with a `taskId` (T2V page: "the response is immediate and just
contains a taskId"; R2V page shows `{"code": 200, "data": {"taskId": "task_xxx",
"status": "queued"}}`). Check `code` as well as the HTTP status: HiAPI can answer HTTP
200 with a non-200 `code` (T2V page).

Idempotency (provider-facts): with an `Idempotency-Key`, the same key and the same body
within about 24 h returns the first task with response header `Idempotent-Replay: true`;
the same key with a different body is 422 `IDEMPOTENCY_KEY_MISMATCH`; a request racing
the first is 409 `IDEMPOTENCY_KEY_PROCESSING` with `Retry-After`.

Retry rules (provider-facts, from the official SDK): 429 and 503 are safe to retry even
for this POST (rejected before processing); a POST that failed on the network is retried
only when it carries an `Idempotency-Key`. Backoff 0.5 s × 2^n capped at 8 s;
`Retry-After` (seconds or HTTP-date) honoured, capped at 60 s.


Sends a `POST` request to `/tasks`

Arguments:
- `idempotency_key`: Optional client-supplied key, at most 255 bytes (provider-facts). Same key and same body
within about 24 h returns the first task (`Idempotent-Replay: true`); same key with a
different body is 422; while the first request is in flight, 409 with `Retry-After`.

- `body`
```ignore
let response = client.create_task()
    .idempotency_key(idempotency_key)
    .body(body)
    .send()
    .await;
```*/
    pub fn create_task(&self) -> builder::CreateTask<'_> {
        builder::CreateTask::new(self)
    }
    /**Get one task (poll until `success` or `fail`)

Polling does not create work. Only `success` and `fail` are terminal; every other
status (`queued`, `handling`, `archiving`, or one not seen yet) means still running
(provider-facts; T2V page "treat anything that is not success or fail as in-progress").
404 means not found or not yours (provider-facts). The seed pages poll every 5 s with a
600 s deadline; the official SDK polls every 3 s, waits 600 s, and uses a 60 s request
timeout with 2 retries (provider-facts).


Sends a `GET` request to `/tasks/{id}`

Arguments:
- `id`: The `taskId` returned by `create_task`.
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
    /**Builder for [`Client::list_tasks`]

[`Client::list_tasks`]: super::Client::list_tasks*/
    #[derive(Debug, Clone)]
    pub struct ListTasks<'a> {
        client: &'a super::Client,
        page: Result<Option<::std::num::NonZeroU64>, String>,
        size: Result<Option<::std::num::NonZeroU64>, String>,
    }
    impl<'a> ListTasks<'a> {
        pub fn new(client: &'a super::Client) -> Self {
            Self {
                client: client,
                page: Ok(None),
                size: Ok(None),
            }
        }
        pub fn page<V>(mut self, value: V) -> Self
        where
            V: std::convert::TryInto<::std::num::NonZeroU64>,
        {
            self.page = value
                .try_into()
                .map(Some)
                .map_err(|_| {
                    "conversion to `:: std :: num :: NonZeroU64` for page failed"
                        .to_string()
                });
            self
        }
        pub fn size<V>(mut self, value: V) -> Self
        where
            V: std::convert::TryInto<::std::num::NonZeroU64>,
        {
            self.size = value
                .try_into()
                .map(Some)
                .map_err(|_| {
                    "conversion to `:: std :: num :: NonZeroU64` for size failed"
                        .to_string()
                });
            self
        }
        ///Sends a `GET` request to `/tasks`
        pub async fn send(
            self,
        ) -> Result<
            ResponseValue<types::TaskListResponse>,
            Error<types::ErrorResponse>,
        > {
            let Self { client, page, size } = self;
            let page = page.map_err(Error::InvalidRequest)?;
            let size = size.map_err(Error::InvalidRequest)?;
            let url = format!("{}/tasks", client.baseurl,);
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
                .query(&progenitor_client::QueryParam::new("page", &page))
                .query(&progenitor_client::QueryParam::new("size", &size))
                .headers(header_map)
                .build()?;
            let info = OperationInfo {
                operation_id: "list_tasks",
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
    /**Builder for [`Client::create_task`]

[`Client::create_task`]: super::Client::create_task*/
    #[derive(Debug, Clone)]
    pub struct CreateTask<'a> {
        client: &'a super::Client,
        idempotency_key: Result<Option<types::CreateTaskIdempotencyKey>, String>,
        body: Result<types::CreateTaskRequest, String>,
    }
    impl<'a> CreateTask<'a> {
        pub fn new(client: &'a super::Client) -> Self {
            Self {
                client: client,
                idempotency_key: Ok(None),
                body: Err("body was not initialized".to_string()),
            }
        }
        pub fn idempotency_key<V>(mut self, value: V) -> Self
        where
            V: std::convert::TryInto<types::CreateTaskIdempotencyKey>,
        {
            self.idempotency_key = value
                .try_into()
                .map(Some)
                .map_err(|_| {
                    "conversion to `CreateTaskIdempotencyKey` for idempotency_key failed"
                        .to_string()
                });
            self
        }
        pub fn body<V>(mut self, value: V) -> Self
        where
            V: std::convert::TryInto<types::CreateTaskRequest>,
        {
            self.body = value
                .try_into()
                .map_err(|_| {
                    "conversion to `CreateTaskRequest` for body failed".to_string()
                });
            self
        }
        ///Sends a `POST` request to `/tasks`
        pub async fn send(
            self,
        ) -> Result<
            ResponseValue<types::CreateTaskResponse>,
            Error<types::ErrorResponse>,
        > {
            let Self { client, idempotency_key, body } = self;
            let idempotency_key = idempotency_key.map_err(Error::InvalidRequest)?;
            let body = body.map_err(Error::InvalidRequest)?;
            let url = format!("{}/tasks", client.baseurl,);
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
                operation_id: "create_task",
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
        ) -> Result<ResponseValue<types::TaskResponse>, Error<types::ErrorResponse>> {
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
