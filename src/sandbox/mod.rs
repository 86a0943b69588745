//! A local emulator of the three providers, over real HTTP on loopback.
//!
//! [`Sandbox::start`] serves HiAPI (`{base}/v1`), reapi (`{base}/api/v1`) and Apiframe
//! (`{base}`) on one ephemeral loopback port, built from the same `openapi/` documents as the
//! client: requests are validated with the documents' JSON Schemas (compiled with `jsonschema`,
//! independently of the hand-written layer), keys are checked the way each provider checks them,
//! and tasks move through each provider's statuses over [`SandboxConfig::task_seconds`], ending with a
//! real, playable MP4 served by the sandbox itself.
//!
//! Also emulated: `Idempotency-Key` on HiAPI and Apiframe (replay, 422 for another body, 409
//! with `Retry-After` while the first is in flight); signed callbacks and webhooks, retried on
//! non-2xx (delivered to loopback receivers only; plain `http://` is accepted for loopback
//! hosts); downloads with `Range`, optionally padded to any size with an MP4 `free` box; and
//! fault injection, per request with the [`FAULT_HEADER`] header or at random with
//! [`SandboxConfig::faults`] (see [`Fault`]).
//!
//! Every request served is logged with `tracing` at info level (method, path without its query,
//! status, milliseconds, provider; never a header), and one that no route matches at warn level,
//! with the route it probably meant: `happyhorse sandbox -v` shows them. Callback deliveries are
//! logged too, and retried with the same mechanism as the client's calls.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use happyhorse::{sandbox::{SandboxConfig, Sandbox}, Provider};
//!
//! let sandbox = Sandbox::start(SandboxConfig::default()).await?;
//! println!("HiAPI at {}", sandbox.base_url(Provider::HiApi)); // http://127.0.0.1:PORT/v1
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod callbacks;
mod faults;
mod output;
mod routes;
mod schema;

pub use faults::{Fault, FaultRates, UnknownFault, FAULT_HEADER, FAULT_NAMES};

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, AtomicU8, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::Value;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::Provider;

/// The MP4 every completed task returns: 3 s, H.264 video and AAC audio (see `assets/`).
pub const SAMPLE_MP4: &[u8] = include_bytes!("../../assets/sample.mp4");

/// How the sandbox behaves. `Debug` shows whether a key or secret is set, never its value.
#[derive(Clone)]
pub struct SandboxConfig {
    /// How long a task takes from submit to its terminal status; `0.0` finishes at once.
    pub task_seconds: f64,
    /// When set, only this exact key is accepted; otherwise any key with the provider's
    /// prefix (`sk-`, `rk_`, `afk_`) is.
    pub api_key: Option<String>,
    /// How long output URLs stay valid after the task completes.
    pub output_ttl: Duration,
    /// How long a submit takes before it answers; a second submit with the same
    /// `Idempotency-Key` arriving meanwhile gets 409 with `Retry-After`.
    pub submit_delay: Duration,
    /// HiAPI's callback signing secret (its console setting; `HIAPI_WEBHOOK_SECRET` on the
    /// receiving side). Unset, HiAPI callbacks go unsigned, as HiAPI's do.
    pub webhook_secret: Option<String>,
    /// Delivery attempts per callback event before it counts as failed.
    pub callback_attempts: u32,
    /// The longest wait before the second attempt; the ceiling doubles for each later one.
    /// Each wait is a random time up to its ceiling (full jitter), as the client's retries are.
    pub callback_backoff: Duration,
    /// Pads every output file to this many bytes with a trailing MP4 `free` box.
    pub pad_to: Option<u64>,
    /// Random faults, by rate.
    pub faults: FaultRates,
    /// How long a `slow` fault holds an answer.
    pub slow_delay: Duration,
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |set: bool| if set { "Some(<redacted>)" } else { "None" };
        f.debug_struct("SandboxConfig")
            .field("task_seconds", &self.task_seconds)
            .field(
                "api_key",
                &format_args!("{}", redacted(self.api_key.is_some())),
            )
            .field("output_ttl", &self.output_ttl)
            .field("submit_delay", &self.submit_delay)
            .field(
                "webhook_secret",
                &format_args!("{}", redacted(self.webhook_secret.is_some())),
            )
            .field("callback_attempts", &self.callback_attempts)
            .field("callback_backoff", &self.callback_backoff)
            .field("pad_to", &self.pad_to)
            .field("faults", &self.faults)
            .field("slow_delay", &self.slow_delay)
            .finish()
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            task_seconds: 0.0,
            api_key: None,
            output_ttl: Duration::from_secs(7 * 24 * 3600),
            submit_delay: Duration::ZERO,
            webhook_secret: None,
            callback_attempts: 5,
            callback_backoff: Duration::from_secs(1),
            pad_to: None,
            faults: FaultRates::none(),
            slow_delay: Duration::from_secs(2),
        }
    }
}

impl SandboxConfig {
    /// Sets [`SandboxConfig::task_seconds`].
    pub fn with_task_seconds(mut self, seconds: f64) -> Self {
        self.task_seconds = seconds.max(0.0);
        self
    }

    /// Pins the one accepted API key.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets how long each submit takes to answer.
    pub fn with_submit_delay(mut self, delay: Duration) -> Self {
        self.submit_delay = delay;
        self
    }

    /// Sets how long output URLs stay valid.
    pub fn with_output_ttl(mut self, ttl: Duration) -> Self {
        self.output_ttl = ttl;
        self
    }

    /// Signs HiAPI callbacks with this secret.
    pub fn with_webhook_secret(mut self, secret: impl Into<String>) -> Self {
        self.webhook_secret = Some(secret.into());
        self
    }

    /// Sets the callback attempts per event and the longest wait before the first retry (see
    /// [`SandboxConfig::callback_backoff`]).
    pub fn with_callback_retries(mut self, attempts: u32, backoff: Duration) -> Self {
        self.callback_attempts = attempts.max(1);
        self.callback_backoff = backoff;
        self
    }

    /// Pads output files to `bytes` (see [`SandboxConfig::pad_to`]).
    pub fn with_pad_to(mut self, bytes: u64) -> Self {
        self.pad_to = Some(bytes);
        self
    }

    /// Sets the random fault rates.
    pub fn with_faults(mut self, faults: FaultRates) -> Self {
        self.faults = faults;
        self
    }

    /// Sets how long a `slow` fault holds an answer.
    pub fn with_slow_delay(mut self, delay: Duration) -> Self {
        self.slow_delay = delay;
        self
    }
}

/// A running sandbox. Dropping it stops the server.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Starts a sandbox on an ephemeral port of 127.0.0.1.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts a sandbox on `addr`.
    pub async fn bind(addr: SocketAddr, config: SandboxConfig) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::new(config, addr)?);
        let (stop, stopped) = oneshot::channel::<()>();
        let app = routes::router(state);
        let server = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            // Serving only ends with an accept error the OS reports; there is no caller left
            // to tell, so the task just ends.
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await;
        });
        Ok(Sandbox {
            addr,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// The address the sandbox listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to give a provider's client: `http://ADDR/v1` (HiAPI), `http://ADDR/api/v1`
    /// (reapi) or `http://ADDR` (Apiframe).
    pub fn base_url(&self, provider: Provider) -> String {
        base_url(self.addr, provider)
    }

    /// Stops accepting connections and waits for the server to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn base_url(addr: SocketAddr, provider: Provider) -> String {
    format!("http://{addr}{}", routes::base_path(provider))
}

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Queued,
    Running { progress: u8 },
    Succeeded,
    Failed,
}

impl Phase {
    /// The status name `provider` uses for this phase.
    pub fn status_name(self, provider: Provider) -> &'static str {
        let names = provider.facts().statuses;
        match self {
            Phase::Queued => names.queued,
            Phase::Running { .. } => names.running,
            Phase::Succeeded => names.succeeded,
            Phase::Failed => names.failed,
        }
    }
}

/// Why a task will fail, when a fault says it should.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub code: String,
    pub message: String,
}

/// Faults decided when the task was created.
#[derive(Clone, Debug, Default)]
pub(crate) struct TaskFaults {
    pub duplicate_callback: bool,
    pub drop_callback: bool,
    pub truncate_first_download: bool,
}

/// Where a task's webhook deliveries stand (Apiframe's `webhookStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum WebhookStatus {
    None = 0,
    Pending = 1,
    Delivered = 2,
    Failed = 3,
}

impl WebhookStatus {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => WebhookStatus::Pending,
            2 => WebhookStatus::Delivered,
            3 => WebhookStatus::Failed,
            _ => WebhookStatus::None,
        }
    }

    /// Apiframe's name for it.
    pub fn name(self) -> Option<&'static str> {
        match self {
            WebhookStatus::None => None,
            WebhookStatus::Pending => Some("pending"),
            WebhookStatus::Delivered => Some("delivered"),
            WebhookStatus::Failed => Some("failed"),
        }
    }
}

/// What a new task carries besides its body.
#[derive(Default)]
pub(crate) struct NewTask {
    pub failure: Option<Failure>,
    pub faults: TaskFaults,
    pub key_hash: [u8; 32],
    pub has_webhook: bool,
}

pub(crate) struct Task {
    pub provider: Provider,
    pub id: String,
    pub model: String,
    pub input: Value,
    pub started: Instant,
    pub created_unix: u64,
    pub failure: Option<Failure>,
    pub faults: TaskFaults,
    /// SHA-256 of the API key the task was submitted with: Apiframe's webhook signing key.
    pub key_hash: [u8; 32],
    pub webhook: AtomicU8,
    /// The next download of the output is cut short (a `truncate` fault at submit).
    pub truncate_pending: std::sync::atomic::AtomicBool,
}

impl Task {
    pub fn webhook_status(&self) -> WebhookStatus {
        WebhookStatus::from_u8(self.webhook.load(Ordering::Relaxed))
    }
}

/// What the sandbox remembers of an `Idempotency-Key`: the body it came with, and the task it
/// created once the first request finished (`None` while that request is in flight).
pub(crate) struct Remembered {
    pub body: Value,
    pub task: Option<String>,
}

pub(crate) struct State {
    pub config: SandboxConfig,
    pub addr: SocketAddr,
    pub schemas: schema::Schemas,
    pub tasks: Mutex<HashMap<String, Arc<Task>>>,
    pub keys: Mutex<HashMap<(Provider, String), Remembered>>,
    /// How many requests used each `NAME*N` fault item so far.
    pub fault_uses: Mutex<HashMap<String, u32>>,
    /// The client callbacks are delivered with.
    pub http: reqwest::Client,
    pub output: output::OutputFile,
    next_id: AtomicU64,
}

impl State {
    fn new(config: SandboxConfig, addr: SocketAddr) -> std::io::Result<Self> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(std::io::Error::other)?;
        Ok(State {
            output: output::OutputFile::new(config.pad_to),
            config,
            addr,
            schemas: schema::Schemas::new(),
            tasks: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
            fault_uses: Mutex::new(HashMap::new()),
            http,
            next_id: AtomicU64::new(1),
        })
    }

    /// Records a new task and returns it.
    pub fn create(&self, provider: Provider, model: &str, input: Value, new: NewTask) -> Arc<Task> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        // Each provider's id shape (see `provider_of_task_id`).
        let id = match provider {
            Provider::HiApi => format!("{HIAPI_ID_PREFIX}{n:012}"),
            Provider::Reapi => format!("{REAPI_ID_PREFIX}{n:012}"),
            // Apiframe ids are UUIDs; this one encodes the counter, so it is unique per sandbox.
            Provider::Apiframe => format!("00000000-0000-4000-8000-{n:012x}"),
        };
        let task = Arc::new(Task {
            provider,
            id: id.clone(),
            model: model.to_owned(),
            input,
            started: Instant::now(),
            created_unix: unix_now(),
            failure: new.failure,
            truncate_pending: std::sync::atomic::AtomicBool::new(
                new.faults.truncate_first_download,
            ),
            faults: new.faults,
            key_hash: new.key_hash,
            webhook: AtomicU8::new(if new.has_webhook {
                WebhookStatus::Pending as u8
            } else {
                WebhookStatus::None as u8
            }),
        });
        self.tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id, task.clone());
        task
    }

    /// The task with this id, if it was created on this provider.
    pub fn task(&self, provider: Provider, id: &str) -> Option<Arc<Task>> {
        self.tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(id)
            .filter(|t| t.provider == provider)
            .cloned()
    }

    /// The first quarter of a task's time is queued, the rest running, then it succeeds (or
    /// fails, when a fault says so).
    pub fn phase(&self, task: &Task) -> Phase {
        let total = self.config.task_seconds;
        let elapsed = task.started.elapsed().as_secs_f64();
        if elapsed >= total {
            if task.failure.is_some() {
                Phase::Failed
            } else {
                Phase::Succeeded
            }
        } else if elapsed < total / 4.0 {
            Phase::Queued
        } else {
            let progress = ((elapsed - total / 4.0) / (total * 0.75) * 100.0) as u8;
            Phase::Running {
                progress: progress.min(99),
            }
        }
    }

    /// Unix time at which the task completed (or will).
    pub fn completed_unix(&self, task: &Task) -> u64 {
        task.created_unix + self.config.task_seconds.ceil() as u64
    }

    /// Unix time after which the task's output URL stops working.
    pub fn expires_unix(&self, task: &Task) -> u64 {
        self.completed_unix(task) + self.config.output_ttl.as_secs()
    }

    /// The URL of a task's output, served by the sandbox.
    pub fn output_url(&self, task: &Task) -> String {
        format!("http://{}/files/{}/0.mp4", self.addr, task.id)
    }
}

/// How the sandbox's HiAPI task ids begin.
const HIAPI_ID_PREFIX: &str = "tk-sandbox-";
/// How the sandbox's reapi task ids begin.
const REAPI_ID_PREFIX: &str = "task_sandbox";

/// The provider of a task id the sandbox minted, by its shape; `None` for any other id.
pub(crate) fn provider_of_task_id(id: &str) -> Option<Provider> {
    if id.starts_with(HIAPI_ID_PREFIX) {
        Some(Provider::HiApi)
    } else if id.starts_with(REAPI_ID_PREFIX) {
        Some(Provider::Reapi)
    } else if uuid::Uuid::parse_str(id).is_ok() {
        Some(Provider::Apiframe)
    } else {
        None
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
