//! The lifecycle client: submit (validated locally, idempotent by default), wait (deadline,
//! backoff, cancellation, progress), download (streamed, resumable, atomic), for any of the
//! three providers.
//!
//! [`Client`] is provider-neutral: it takes a [`VideoRequest`] and answers with
//! [`TaskSnapshot`]s, whichever provider it talks to. Underneath, each call goes through the
//! provider's generated transport ([`crate::generated`]), reachable with [`Client::transport`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use happyhorse::{
//!     client::{Client, Config, DownloadOptions, WaitOptions},
//!     request::VideoRequest,
//!     sandbox::{Config as SandboxConfig, Sandbox},
//!     values::Prompt,
//!     Provider,
//! };
//!
//! // A local emulator stands in for the provider; drop `with_base_url` (and set
//! // HIAPI_API_KEY, using `Config::from_env`) to talk to the real one.
//! let sandbox = Sandbox::start(SandboxConfig::default()).await?;
//! let client = Client::new(
//!     Config::new(Provider::HiApi)
//!         .with_api_key("sk-example")
//!         .with_base_url(sandbox.base_url(Provider::HiApi)),
//! )?;
//!
//! let request = VideoRequest::text_to_video(Prompt::new("A golden retriever running on a beach")?);
//! let submitted = client.submit(&request).await?;
//! let done = client.wait(&submitted.id, &WaitOptions::default(), |_| {}).await?;
//! let path = std::env::temp_dir().join(format!("{}.mp4", submitted.id));
//! let saved = client
//!     .download(&done.outputs[0], &path, &DownloadOptions::default().overwrite(true), |_, _| {})
//!     .await?;
//! assert!(saved.bytes > 0);
//! # std::fs::remove_file(&path)?;
//! # Ok(())
//! # }
//! ```

mod callbacks;
mod config;
mod download;
mod error;
mod retry;
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
pub(crate) use config::is_loopback;
pub use config::{ApiKey, Config};
pub use download::{DownloadOptions, Downloaded};
pub use error::Error;
pub use retry::RetryPolicy;
pub use task::{Output, TaskError, TaskSnapshot, TaskState};
pub use wait::WaitOptions;

use crate::{
    generated::{apiframe, hiapi, reapi},
    request::{VideoRequest, WireBody},
    validate::{validate_body, Issue},
    Provider,
};

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

/// A submitted task.
#[derive(Clone, Debug, PartialEq, Serialize)]
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

/// The lifecycle client for one provider. Cheap to clone; share one per provider.
#[derive(Clone, Debug)]
pub struct Client {
    config: Config,
    transport: Transport,
    /// Downloads go through a client without the API key: output URLs are third-party storage.
    files: reqwest::Client,
}

impl Client {
    /// A client for `config`. Fails when there is no key or the base URL is not HTTPS (plain
    /// HTTP is allowed to loopback only).
    pub fn new(config: Config) -> Result<Client, Error> {
        let base = config.checked_base_url()?;
        let key = config.key()?;
        let (name, value) = match config.provider {
            Provider::HiApi | Provider::Reapi => (
                reqwest::header::AUTHORIZATION,
                format!("Bearer {}", key.expose()),
            ),
            Provider::Apiframe => (
                HeaderName::from_static("x-api-key"),
                key.expose().to_owned(),
            ),
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| Error::Config {
            message: format!(
                "the {} key contains characters a header cannot carry; check {}",
                config.provider,
                config.provider.api_key_env()
            ),
        })?;
        value.set_sensitive(true);
        let mut headers = HeaderMap::new();
        for (extra, text) in &config.headers {
            let bad = || Error::Config {
                message: format!("the extra header {extra:?} is not a valid header name and value"),
            };
            let extra = HeaderName::from_bytes(extra.as_bytes()).map_err(|_| bad())?;
            let text = HeaderValue::from_str(text).map_err(|_| bad())?;
            headers.insert(extra, text);
        }
        headers.insert(name, value);
        let user_agent = concat!("happyhorse/", env!("CARGO_PKG_VERSION"));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(user_agent)
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|err| Error::Config {
                message: format!("cannot build the HTTP client: {err}"),
            })?;
        let files = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.timeout)
            .build()
            .map_err(|err| Error::Config {
                message: format!("cannot build the HTTP client: {err}"),
            })?;
        let transport = match config.provider {
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
        })
    }

    /// A client configured from the environment (see [`Config::from_env`]).
    pub fn from_env(provider: Provider) -> Result<Client, Error> {
        Client::new(Config::from_env(provider))
    }

    /// The provider.
    pub fn provider(&self) -> Provider {
        self.config.provider
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
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
        self.submit_wire(body, Vec::new(), options).await
    }

    async fn submit_wire(
        &self,
        body: WireBody,
        mut warnings: Vec<String>,
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
        let json = body.to_json();
        let report = validate_body(provider, &json);
        if !report.errors.is_empty() {
            return Err(Error::InvalidRequest {
                provider,
                issues: report.errors,
            });
        }
        warnings.extend(report.warnings.iter().map(Issue::to_string));
        warnings.dedup();
        let key = match (&options.idempotency_key, provider) {
            (_, Provider::Reapi) | (IdempotencyKey::None, _) => None,
            (IdempotencyKey::Custom(key), _) => Some(key.clone()),
            (IdempotencyKey::Derived, _) => Some(derive_key(provider, &json)),
        };
        let with_key = key.is_some();
        // Retry only what cannot bill twice: 429/503 come before any task exists; anything
        // else only when the key makes the provider deduplicate.
        let retryable = |err: &Error| match err {
            Error::RateLimited { .. } => true,
            Error::Unavailable { status, .. } => {
                *status == StatusCode::SERVICE_UNAVAILABLE || with_key
            }
            Error::Network { .. } => with_key,
            _ => false,
        };
        let sent = self
            .config
            .retry
            .run(retryable, || self.send_submit(&body, key.as_deref()))
            .await;
        let (id, status, replayed) = match sent {
            Ok(sent) => sent,
            Err(Error::Network { source, .. }) => {
                return Err(Error::Network {
                    provider,
                    may_have_created_task: !with_key && !source.is_connect(),
                    source,
                })
            }
            Err(err) => return Err(err),
        };
        Ok(Submission {
            provider,
            id,
            status,
            idempotency_key: key,
            replayed,
            warnings,
        })
    }

    /// One submit attempt: (id, status, replayed).
    async fn send_submit(
        &self,
        body: &WireBody,
        key: Option<&str>,
    ) -> Result<(String, String, bool), Error> {
        let provider = self.provider();
        match (&self.transport, body) {
            (Transport::HiApi(client), WireBody::HiApi(body)) => {
                let mut call = client.create_task().body(body.clone());
                if let Some(key) = key {
                    call = call.idempotency_key(key);
                }
                let answer = match call.send().await {
                    Ok(answer) => answer,
                    Err(err) => return Err(transport_error(provider, err, None).await),
                };
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
                let status = data.status.map_or_else(|| "queued".into(), |s| s.0);
                Ok((data.task_id, status, replayed))
            }
            (Transport::Reapi(client), WireBody::Reapi(body)) => {
                match client.create_generation().body(body.clone()).send().await {
                    Ok(answer) => {
                        let task = answer.into_inner();
                        Ok((task.id, task.status.0, false))
                    }
                    Err(err) => Err(transport_error(provider, err, None).await),
                }
            }
            (Transport::Apiframe(client), WireBody::Apiframe(body)) => {
                let mut call = client.generate_video().body(body.clone());
                if let Some(key) = key {
                    call = call.idempotency_key(key);
                }
                match call.send().await {
                    Ok(answer) => {
                        let job = answer.into_inner();
                        // Apiframe documents no replay header; a replay may carry a later status.
                        Ok((job.job_id.to_string(), job.status.0, false))
                    }
                    Err(err) => Err(transport_error(provider, err, None).await),
                }
            }
            _ => Err(Error::Config {
                message: format!("a {} body cannot be sent to {provider}", body.provider()),
            }),
        }
    }

    /// The task's current state. Transient failures are retried per the policy.
    pub async fn status(&self, id: &str) -> Result<TaskSnapshot, Error> {
        self.config
            .retry
            .run(Error::is_transient, || self.poll_once(id))
            .await
    }

    async fn poll_once(&self, id: &str) -> Result<TaskSnapshot, Error> {
        let provider = self.provider();
        match &self.transport {
            Transport::HiApi(client) => match client.get_task().id(id).send().await {
                Ok(answer) => {
                    let answer = answer.into_inner();
                    if answer.code != 200 {
                        return Err(envelope_error(provider, answer.code, &answer, Some(id)));
                    }
                    let task = answer.data.ok_or_else(|| Error::UnexpectedResponse {
                        provider,
                        status: Some(StatusCode::OK),
                        detail: "code 200 without `data`".into(),
                    })?;
                    Ok(TaskSnapshot::from_hiapi(task))
                }
                Err(err) => Err(transport_error(provider, err, Some(id)).await),
            },
            Transport::Reapi(client) => match client.get_task().id(id).send().await {
                Ok(answer) => Ok(TaskSnapshot::from_reapi(answer.into_inner())),
                Err(err) => Err(transport_error(provider, err, Some(id)).await),
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
                    Ok(answer) => Ok(TaskSnapshot::from_apiframe(answer.into_inner())),
                    Err(err) => Err(transport_error(provider, err, Some(id)).await),
                }
            }
        }
    }
}

/// The deterministic `Idempotency-Key` of a body: `hh-` and 32 hex digits of the SHA-256 of
/// the provider's name and the body's canonical JSON (keys sorted, no spaces).
pub fn derive_key(provider: Provider, body: &Value) -> String {
    let mut hash = Sha256::new();
    hash.update(provider.name().as_bytes());
    hash.update(b"\n");
    hash.update(canonical(body).as_bytes());
    let digest = hash.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("hh-{hex}")
}

/// JSON with object keys sorted at every level, whatever map order serde_json was built with.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|key| format!("{}:{}", Value::from(key.as_str()), canonical(&map[key])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
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
    provider: Provider,
    err: progenitor_client::Error<E>,
    id: Option<&str>,
) -> Error {
    use progenitor_client::Error as T;
    match err {
        T::ErrorResponse(answer) => {
            let status = answer.status();
            let wait = retry::retry_after(answer.headers());
            let body = serde_json::to_value(answer.into_inner()).unwrap_or(Value::Null);
            Error::from_answer(provider, status, wait, &body, id)
        }
        T::UnexpectedResponse(answer) => {
            let status = answer.status();
            let wait = retry::retry_after(answer.headers());
            let text = answer.text().await.unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            if status.is_success() {
                return Error::UnexpectedResponse {
                    provider,
                    status: Some(status),
                    detail: error::snippet(&body),
                };
            }
            Error::from_answer(provider, status, wait, &body, id)
        }
        T::CommunicationError(source)
        | T::ResponseBodyError(source)
        | T::InvalidUpgrade(source) => Error::Network {
            provider,
            source,
            may_have_created_task: false,
        },
        T::InvalidResponsePayload(bytes, err) => Error::UnexpectedResponse {
            provider,
            status: None,
            detail: format!(
                "the answer does not match the contract ({err}): {}",
                error::snippet(&Value::String(String::from_utf8_lossy(&bytes).into_owned()))
            ),
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
