//! The lifecycle client: submit (validated locally, idempotent by default), wait (deadline,
//! backoff, cancellation, progress), download (streamed, resumable, cancellable, atomic), and
//! all three in one call, for any of the three providers.
//!
//! [`Client`] is provider-neutral: it takes a [`VideoRequest`] and answers with
//! [`TaskSnapshot`]s, whichever provider it talks to. Underneath, each call goes through the
//! provider's generated transport ([`crate::generated`]), reachable with [`Client::transport`].
//!
//! The long calls are builders that run when awaited, so the defaults need no options and no
//! closures:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use happyhorse::{
//!     sandbox::{Sandbox, SandboxConfig},
//!     Client, ClientConfig, Prompt, Provider, VideoRequest,
//! };
//!
//! // A local emulator stands in for the provider; drop `with_base_url` (and set
//! // HIAPI_API_KEY, using `Client::from_env`) to talk to the real one.
//! let sandbox = Sandbox::start(SandboxConfig::default()).await?;
//! let client = Client::new(
//!     ClientConfig::new(Provider::HiApi)
//!         .with_api_key("sk-example")
//!         .with_base_url(sandbox.base_url(Provider::HiApi)),
//! )?;
//! let request = VideoRequest::text_to_video(Prompt::new("A golden retriever running on a beach")?);
//! let dir = tempfile::tempdir()?;
//!
//! // Step by step: each step's result serialises, so a caller can store it and resume.
//! let submitted = client.submit(&request).await?;
//! let finished = client.wait(&submitted).await?;
//! let saved = client.download(finished.output(), dir.path().join("step.mp4")).await?;
//! assert!(saved.bytes > 0);
//! # Ok(())
//! # }
//! ```

mod callbacks;
mod config;
mod download;
mod error;
mod generate;
mod limiter;
#[cfg(feature = "store")]
mod stream;
mod task;
mod wait;

use reqwest::{
    header::{HeaderMap, HeaderName, HeaderValue},
    StatusCode,
};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use callbacks::{CallbackError, CallbackInbox, Delivery};
pub use config::{ApiKey, ClientConfig};
pub use download::{Download, Downloaded};
pub(crate) use error::clean;
pub use error::Error;
pub use generate::{Generate, GenerateTo, Progress, Saved};
pub use task::{Finished, NotFinished, Output, TaskError, TaskHandle, TaskSnapshot, TaskState};
pub use wait::Wait;

pub use crate::retry::RetryPolicy;
use crate::{
    generated::{apiframe, hiapi, reapi},
    provider::Auth,
    request::{VideoRequest, WireBody},
    validate::{validate_body, Issue},
    Provider,
};
use tracing::Instrument;

/// The 503 code that says the moderation service is shedding load (a push-back, like 429).
const MODERATION_UNAVAILABLE: &str = "nsfw_moderation_unavailable";

/// A provider's generated transport client, configured with the key and base URL.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Transport {
    /// HiAPI.
    HiApi(hiapi::Client),
    /// reapi.
    Reapi(reapi::Client),
    /// Apiframe.
    Apiframe(apiframe::Client),
}

/// Which `Idempotency-Key` a submit carries (HiAPI and Apiframe; reapi has none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdempotencyKey {
    /// Derived from the provider and the exact wire body: the same request always carries the
    /// same key, so a batch that crashes and reruns gets its first tasks back instead of paying
    /// twice. To get a *second* video from an identical request, use [`IdempotencyKey::Custom`].
    #[default]
    Derived,
    /// This key (1 to 255 characters).
    Custom(String),
    /// No key: the submit is retried only on 429 and 503, which come before any task exists.
    None,
}

/// How to submit.
#[derive(Clone, Debug, Default)]
pub struct SubmitOptions {
    /// The `Idempotency-Key` policy.
    pub idempotency_key: IdempotencyKey,
}

/// A submitted task. Serialises (and deserialises), so a caller can store it and wait for the
/// task later, in another process.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Submission {
    /// The provider.
    pub provider: Provider,
    /// The task (job) id.
    pub id: String,
    /// The status in the submit answer.
    pub status: String,
    /// The `Idempotency-Key` sent, if any.
    pub idempotency_key: Option<String>,
    /// The provider returned the task an earlier submit with the same key created.
    pub replayed: bool,
    /// What the provider will ignore or truncate.
    pub warnings: Vec<String>,
}

impl Submission {
    /// The handle that names this task at its provider.
    pub fn handle(&self) -> TaskHandle {
        TaskHandle::new(self.provider, self.id.clone())
    }
}

impl From<&Submission> for TaskHandle {
    fn from(submission: &Submission) -> Self {
        submission.handle()
    }
}

/// The lifecycle client for one provider. Cheap to clone; share one per provider.
#[derive(Clone, Debug)]
pub struct Client {
    config: ClientConfig,
    transport: Transport,
    /// Downloads go through a client without the API key: output URLs are third-party storage.
    files: reqwest::Client,
    /// Paces submits once the provider pushed back; shared by clones.
    limiter: std::sync::Arc<limiter::SubmitLimiter>,
}

impl Client {
    /// A client for `config`. Fails when there is no key or the base URL is not HTTPS (plain
    /// HTTP is allowed to loopback only).
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        let provider = config.provider();
        let base = config.checked_base_url()?;
        let (name, value) = auth_header(provider, config.key()?.expose())?;
        let mut headers = HeaderMap::new();
        for (extra, text) in config.headers() {
            let bad = || Error::Config {
                message: format!("the extra header {extra:?} is not a valid header name and value"),
            };
            let extra = HeaderName::from_bytes(extra.as_bytes()).map_err(|_| bad())?;
            let mut text = HeaderValue::from_str(text).map_err(|_| bad())?;
            text.set_sensitive(true);
            headers.insert(extra, text);
        }
        headers.insert(name, value);
        let user_agent = concat!("happyhorse/", env!("CARGO_PKG_VERSION"));
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(crate::tls::shared_config().map_err(|message| {
                Error::Config {
                    message: format!("cannot set up TLS: {message}"),
                }
            })?)
            .default_headers(headers)
            .user_agent(user_agent)
            .timeout(config.timeout())
            .connect_timeout(config.connect_timeout())
            .build()
            .map_err(|err| Error::Config {
                message: format!("cannot build the HTTP client: {err}"),
            })?;
        let files = files_client(config.connect_timeout(), config.timeout())?;
        let transport = match provider {
            Provider::HiApi => Transport::HiApi(hiapi::Client::new_with_client(&base, http)),
            Provider::Reapi => Transport::Reapi(reapi::Client::new_with_client(&base, http)),
            Provider::Apiframe => {
                Transport::Apiframe(apiframe::Client::new_with_client(&base, http))
            }
        };
        Ok(Client {
            config,
            transport,
            files,
            limiter: std::sync::Arc::default(),
        })
    }

    /// A client configured from the environment (see [`ClientConfig::from_env`]).
    pub fn from_env(provider: Provider) -> Result<Client, Error> {
        Client::new(ClientConfig::from_env(provider))
    }

    /// The provider.
    pub fn provider(&self) -> Provider {
        self.config.provider()
    }

    /// The submit pace this client (and its clones) keeps, in submits per second: learnt
    /// from the provider's 429s; `None` until the provider pushed back (no pace is kept).
    pub fn submit_pace(&self) -> Option<f64> {
        self.limiter.rate()
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Refuses a handle of another provider's task.
    pub(crate) fn owns(&self, task: &TaskHandle) -> Result<(), Error> {
        if task.provider == self.provider() {
            Ok(())
        } else {
            Err(Error::WrongProvider {
                task: task.clone(),
                client: self.provider(),
            })
        }
    }

    /// The generated transport, for calls this client does not wrap.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Submits `request` with the default options (a derived `Idempotency-Key`).
    pub async fn submit(&self, request: &VideoRequest) -> Result<Submission, Error> {
        self.submit_with(request, &SubmitOptions::default()).await
    }

    /// Converts `request` into the provider's body, validates it locally (an invalid request
    /// makes no network call), and submits it.
    pub async fn submit_with(
        &self,
        request: &VideoRequest,
        options: &SubmitOptions,
    ) -> Result<Submission, Error> {
        // `to_wire` validates the body it builds: its warnings are the only ones.
        let wire = request.to_wire(self.provider())?;
        let warnings = wire.warnings.iter().map(ToString::to_string).collect();
        self.submit_wire(wire.body, warnings, options).await
    }

    /// Submits a provider-native body (as `happyhorse validate` checks it), validated locally
    /// first.
    pub async fn submit_body(
        &self,
        body: WireBody,
        options: &SubmitOptions,
    ) -> Result<Submission, Error> {
        let provider = self.provider();
        if body.provider() != provider {
            return Err(Error::Config {
                message: format!(
                    "a {} body cannot be sent to {provider}; build it for {provider}",
                    body.provider()
                ),
            });
        }
        let report = validate_body(provider, &body.to_json());
        if !report.errors.is_empty() {
            return Err(Error::InvalidRequest {
                provider,
                issues: report.errors,
            });
        }
        let warnings = report.warnings.iter().map(Issue::to_string).collect();
        self.submit_wire(body, warnings, options).await
    }

    async fn submit_wire(
        &self,
        body: WireBody,
        warnings: Vec<String>,
        options: &SubmitOptions,
    ) -> Result<Submission, Error> {
        let provider = self.provider();
        let key = match (&options.idempotency_key, provider.facts().idempotency) {
            (_, false) | (IdempotencyKey::None, _) => None,
            (IdempotencyKey::Custom(key), true) => Some(key.clone()),
            (IdempotencyKey::Derived, true) => Some(derive_key(provider, &body.to_json())),
        };
        let with_key = key.is_some();
        // Retry only what cannot bill twice: 429/503 come before any task exists; anything
        // else only when the key makes the provider deduplicate.
        let classify = |err: &Error| {
            let safe = match err {
                Error::RateLimited { .. } => true,
                Error::Unavailable { status, .. } => {
                    *status == StatusCode::SERVICE_UNAVAILABLE || with_key
                }
                Error::Network { .. } => with_key,
                _ => false,
            };
            if !safe && err.retry().is_some() {
                tracing::debug!(%provider, error = %err, "not retrying: without an Idempotency-Key a retry could create a second task");
            }
            safe.then(|| err.retry()).flatten()
        };
        let span = tracing::debug_span!("submit", %provider, idempotency_key = with_key);
        // The first attempt that may have created a task, whatever the later ones say.
        let lost: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
        let sent = self
            .config
            .retry()
            .run("submit", classify, |attempt| {
                let (lost, body, key) = (&lost, &body, key.as_deref());
                async move {
                    self.limiter.acquire().await;
                    let result = self.send_submit(body, key, attempt).await;
                    match &result {
                        Ok(_) => self.limiter.succeeded(),
                        Err(Error::RateLimited { retry_after, .. }) => {
                            self.limiter.pushed_back(*retry_after)
                        }
                        Err(Error::Unavailable {
                            code: Some(code),
                            retry_after,
                            ..
                        }) if code == MODERATION_UNAVAILABLE => {
                            self.limiter.pushed_back(*retry_after)
                        }
                        Err(_) => {}
                    }
                    if let Err(why) = result.as_ref().map_err(Error::may_have_reached_provider) {
                        let mut lost = lost.lock().unwrap_or_else(|p| p.into_inner());
                        if lost.is_none() {
                            *lost = why;
                        }
                    }
                    result
                }
            })
            .instrument(span)
            .await;
        let lost = lost.into_inner().unwrap_or_else(|p| p.into_inner());
        let (id, status, replayed) = match (sent, lost) {
            (Ok(sent), _) => sent,
            (Err(last), Some(lost)) => {
                tracing::warn!(%provider, %lost, "a submit's answer was lost: a task may exist");
                return Err(Error::SubmitUncertain {
                    provider,
                    idempotency_key: key,
                    lost,
                    last: Box::new(last),
                });
            }
            (Err(err), None) => return Err(err),
        };
        tracing::info!(%provider, id = %id, status = %status, replayed, "submitted");
        Ok(Submission {
            provider,
            id,
            status,
            idempotency_key: key,
            replayed,
            warnings,
        })
    }

    /// One submit attempt: (id, status, replayed), logged.
    async fn send_submit(
        &self,
        body: &WireBody,
        key: Option<&str>,
        attempt: u32,
    ) -> Result<(String, String, bool), Error> {
        let started = tokio::time::Instant::now();
        let result = self.submit_call(body, key).await;
        log_call(
            self.provider(),
            "submit",
            attempt,
            started,
            result.as_ref().map(|(_, status)| *status),
        );
        result.map(|(answer, _)| answer)
    }

    /// One submit request: ((id, status, replayed), HTTP status).
    async fn submit_call(
        &self,
        body: &WireBody,
        key: Option<&str>,
    ) -> Result<((String, String, bool), StatusCode), Error> {
        let provider = self.provider();
        match (&self.transport, body) {
            (Transport::HiApi(client), WireBody::HiApi(body)) => {
                let mut call = client.create_task().body(body.clone());
                if let Some(key) = key {
                    call = call.idempotency_key(key);
                }
                let answer = match call.send().await {
                    Ok(answer) => answer,
                    Err(err) => return Err(transport_error(&self.config, err, None).await),
                };
                let http = answer.status();
                let replayed = answer
                    .headers()
                    .get("idempotent-replay")
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
                let answer = answer.into_inner();
                // HiAPI can answer HTTP 200 with a non-200 `code`: that is an error.
                if answer.code != 200 {
                    return Err(envelope_error(provider, answer.code, &answer, None));
                }
                let data = answer.data.ok_or_else(|| Error::UnexpectedResponse {
                    provider,
                    status: Some(StatusCode::OK),
                    detail: "code 200 without `data`".into(),
                })?;
                let status = data
                    .status
                    .map_or_else(|| provider.facts().statuses.queued.to_owned(), |s| s.0);
                Ok(((data.task_id, status, replayed), http))
            }
            (Transport::Reapi(client), WireBody::Reapi(body)) => {
                match client.create_generation().body(body.clone()).send().await {
                    Ok(answer) => {
                        let http = answer.status();
                        let task = answer.into_inner();
                        Ok(((task.id, task.status.0, false), http))
                    }
                    Err(err) => Err(transport_error(&self.config, err, None).await),
                }
            }
            (Transport::Apiframe(client), WireBody::Apiframe(body)) => {
                let mut call = client.generate_video().body(body.clone());
                if let Some(key) = key {
                    call = call.idempotency_key(key);
                }
                match call.send().await {
                    Ok(answer) => {
                        let http = answer.status();
                        let job = answer.into_inner();
                        // Apiframe documents no replay header; a replay may carry a later status.
                        Ok(((job.job_id.to_string(), job.status.0, false), http))
                    }
                    Err(err) => Err(transport_error(&self.config, err, None).await),
                }
            }
            _ => Err(Error::Config {
                message: format!("a {} body cannot be sent to {provider}", body.provider()),
            }),
        }
    }

    /// The task's current state. Transient failures (429, 5xx, network) are retried per the
    /// policy; drop the future to stop early.
    pub async fn status(&self, task: impl Into<TaskHandle>) -> Result<TaskSnapshot, Error> {
        let task = task.into();
        self.owns(&task)?;
        let span = tracing::debug_span!("status", provider = %task.provider, id = %task.id);
        self.config
            .retry()
            .run("poll", Error::retry, |attempt| {
                self.poll_once(&task.id, attempt)
            })
            .instrument(span)
            .await
    }

    /// One poll, logged.
    pub(crate) async fn poll_once(&self, id: &str, attempt: u32) -> Result<TaskSnapshot, Error> {
        let started = tokio::time::Instant::now();
        let result = self.poll_call(id).await;
        log_call(
            self.provider(),
            "poll",
            attempt,
            started,
            result.as_ref().map(|(_, status)| *status),
        );
        result.map(|(snapshot, _)| snapshot)
    }

    async fn poll_call(&self, id: &str) -> Result<(TaskSnapshot, StatusCode), Error> {
        let provider = self.provider();
        match &self.transport {
            Transport::HiApi(client) => match client.get_task().id(id).send().await {
                Ok(answer) => {
                    let http = answer.status();
                    let answer = answer.into_inner();
                    if answer.code != 200 {
                        return Err(envelope_error(provider, answer.code, &answer, Some(id)));
                    }
                    let task = answer.data.ok_or_else(|| Error::UnexpectedResponse {
                        provider,
                        status: Some(StatusCode::OK),
                        detail: "code 200 without `data`".into(),
                    })?;
                    Ok((TaskSnapshot::from_hiapi(task), http))
                }
                Err(err) => Err(transport_error(&self.config, err, Some(id)).await),
            },
            Transport::Reapi(client) => match client.get_task().id(id).send().await {
                Ok(answer) => Ok((answer.status(), answer.into_inner()))
                    .map(|(http, task)| (TaskSnapshot::from_reapi(task), http)),
                Err(err) => Err(transport_error(&self.config, err, Some(id)).await),
            },
            Transport::Apiframe(client) => {
                let Ok(uuid) = uuid::Uuid::parse_str(id.trim()) else {
                    return Err(Error::InvalidRequest {
                        provider,
                        issues: vec![Issue::new(
                            "id",
                            format!("{id:?} is not an Apiframe job id (a UUID such as b2c3d4e5-f6a7-8901-bcde-f23456789012)"),
                        )],
                    });
                };
                match client.get_job().id(uuid).send().await {
                    Ok(answer) => Ok((answer.status(), answer.into_inner()))
                        .map(|(http, job)| (TaskSnapshot::from_apiframe(job), http)),
                    Err(err) => Err(transport_error(&self.config, err, Some(id)).await),
                }
            }
        }
    }
}

/// The header that carries `key` to `provider` (where its facts say), marked sensitive so that
/// no `Debug` shows it.
pub(crate) fn auth_header(
    provider: Provider,
    key: &str,
) -> Result<(HeaderName, HeaderValue), Error> {
    let (name, text) = match provider.facts().auth {
        Auth::Bearer => (reqwest::header::AUTHORIZATION, format!("Bearer {key}")),
        Auth::Header(name) => (HeaderName::from_static(name), key.to_owned()),
    };
    let mut value = HeaderValue::from_str(&text).map_err(|_| Error::Config {
        message: format!(
            "the {provider} key contains characters a header cannot carry; check {}",
            provider.api_key_env()
        ),
    })?;
    value.set_sensitive(true);
    Ok((name, value))
}

/// The client for output files (no API key: they live in third-party storage), one per process
/// and pair of timeouts, so that every [`Client`] shares its connections and TLS set-up.
fn files_client(
    connect: std::time::Duration,
    read: std::time::Duration,
) -> Result<reqwest::Client, Error> {
    static FILES: std::sync::Mutex<
        Vec<((std::time::Duration, std::time::Duration), reqwest::Client)>,
    > = std::sync::Mutex::new(Vec::new());
    let mut cache = FILES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, client)) = cache.iter().find(|(key, _)| *key == (connect, read)) {
        return Ok(client.clone());
    }
    let tls = crate::tls::shared_config().map_err(|message| Error::Config {
        message: format!("cannot set up TLS: {message}"),
    })?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(concat!("happyhorse/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(connect)
        .read_timeout(read)
        .build()
        .map_err(|err| Error::Config {
            message: format!("cannot build the HTTP client: {err}"),
        })?;
    cache.push(((connect, read), client.clone()));
    Ok(client)
}

/// Logs one HTTP call: provider, operation, attempt, status (or the error), duration. Never
/// a key or a URL.
pub(crate) fn log_call(
    provider: Provider,
    operation: &'static str,
    attempt: u32,
    started: tokio::time::Instant,
    outcome: Result<StatusCode, &Error>,
) {
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(status) => tracing::debug!(
            %provider, operation, attempt, status = status.as_u16(), elapsed_ms, "http call"
        ),
        Err(err) => tracing::debug!(
            %provider, operation, attempt, status = err.http_status(), elapsed_ms,
            error = %err, "http call failed"
        ),
    }
}

/// The deterministic `Idempotency-Key` of a body: `hh-` and 32 hex digits of the SHA-256 of
/// the provider's name and the body's canonical JSON (keys sorted, no spaces).
pub fn derive_key(provider: Provider, body: &Value) -> String {
    let mut hash = Sha256::new();
    hash.update(provider.name().as_bytes());
    hash.update(b"\n");
    hash.update(canonical_json(body).as_bytes());
    let digest = hash.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("hh-{hex}")
}

/// JSON with object keys sorted at every level, whatever map order serde_json was built with:
/// equal values always give equal text (idempotency keys, job ids, the ledger's bodies).
pub(crate) fn canonical_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|key| {
                    format!(
                        "{}:{}",
                        Value::from(key.as_str()),
                        canonical_json(&map[key])
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// The error for a HiAPI envelope whose `code` is not 200.
fn envelope_error(
    provider: Provider,
    code: i64,
    envelope: &impl Serialize,
    id: Option<&str>,
) -> Error {
    let status = u16::try_from(code)
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::BAD_REQUEST);
    let body = serde_json::to_value(envelope).unwrap_or(Value::Null);
    Error::from_answer(provider, status, None, &body, id)
}

/// Maps a generated transport's error into [`Error`].
async fn transport_error<E: Serialize>(
    config: &ClientConfig,
    err: progenitor_client::Error<E>,
    id: Option<&str>,
) -> Error {
    use progenitor_client::Error as T;
    let provider = config.provider();
    // A 404 for a submit, or one whose body is not the provider's JSON, comes from no route at
    // all: the base URL is wrong (most often it lacks its `/v1` or `/api/v1`).
    let wrong_base = |status: StatusCode, body: &Value| Error::UnexpectedResponse {
        provider,
        status: Some(status),
        detail: format!(
            "no such route under the base URL {} ({}): check it (set {}); {provider}'s is {}",
            crate::net::redacted(config.base_url()),
            if body.is_object() {
                error::snippet(body)
            } else {
                "not the provider's JSON".to_owned()
            },
            provider.base_url_env(),
            provider.default_base_url()
        ),
    };
    match err {
        T::ErrorResponse(answer) => {
            let status = answer.status();
            let wait = crate::retry::retry_after(answer.headers());
            let body = serde_json::to_value(answer.into_inner()).unwrap_or(Value::Null);
            if status == StatusCode::NOT_FOUND && id.is_none() {
                return wrong_base(status, &body);
            }
            Error::from_answer(provider, status, wait, &body, id)
        }
        T::UnexpectedResponse(answer) => {
            let status = answer.status();
            let wait = crate::retry::retry_after(answer.headers());
            let text = answer.text().await.unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            if status.is_success() {
                return Error::UnexpectedResponse {
                    provider,
                    status: Some(status),
                    detail: error::snippet(&body),
                };
            }
            if status == StatusCode::NOT_FOUND && (id.is_none() || !body.is_object()) {
                return wrong_base(status, &body);
            }
            Error::from_answer(provider, status, wait, &body, id)
        }
        T::CommunicationError(source)
        | T::ResponseBodyError(source)
        | T::InvalidUpgrade(source) => Error::Network {
            provider,
            source: source.without_url(),
        },
        T::InvalidResponsePayload(bytes, err) => Error::UnexpectedResponse {
            provider,
            status: None,
            detail: if bytes.trim_ascii().is_empty() {
                format!(
                    "an empty answer where {provider} answers JSON: check the base URL {} (set {}); {provider}'s is {}",
                    crate::net::redacted(config.base_url()),
                    provider.base_url_env(),
                    provider.default_base_url()
                )
            } else {
                format!(
                    "the answer does not match the contract ({err}): {}",
                    error::snippet(&Value::String(String::from_utf8_lossy(&bytes).into_owned()))
                )
            },
        },
        T::InvalidRequest(message) => Error::InvalidRequest {
            provider,
            issues: vec![Issue::new(String::new(), message)],
        },
        T::Custom(message) => Error::UnexpectedResponse {
            provider,
            status: None,
            detail: message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn derived_keys_are_stable_and_key_order_blind() {
        let a = json!({"model": "m", "input": {"prompt": "p", "duration": 5}});
        let b = json!({"input": {"duration": 5, "prompt": "p"}, "model": "m"});
        assert_eq!(
            derive_key(Provider::HiApi, &a),
            derive_key(Provider::HiApi, &b)
        );
        assert_ne!(
            derive_key(Provider::HiApi, &a),
            derive_key(Provider::Apiframe, &a)
        );
        let other = json!({"model": "m", "input": {"prompt": "p", "duration": 6}});
        assert_ne!(
            derive_key(Provider::HiApi, &a),
            derive_key(Provider::HiApi, &other)
        );
        assert_eq!(derive_key(Provider::HiApi, &a).len(), 35);
    }
}
