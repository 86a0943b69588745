//! A local emulator of the three providers, over real HTTP on loopback.
//!
//! [`Sandbox::start`] serves HiAPI (`{base}/v1`), reapi (`{base}/api/v1`) and Apiframe
//! (`{base}`) on one ephemeral loopback port, built from the same `openapi/` documents as the
//! client: requests are validated with the documents' JSON Schemas (compiled with `jsonschema`,
//! independently of the hand-written layer), keys are checked the way each provider checks them,
//! and tasks move through each provider's statuses over [`SandboxConfig::task_seconds`] (a fixed
//! duration or a distribution, see [`TaskSeconds`]), on a clock that may run faster than real
//! time ([`SandboxConfig::time_scale`]), ending with a real, playable MP4 served by the sandbox
//! itself.
//!
//! Also emulated: `Idempotency-Key` on HiAPI and Apiframe (replay, 422 for another body, 409
//! with `Retry-After` while the first is in flight); signed callbacks and webhooks, retried on
//! non-2xx (delivered to loopback receivers only; plain `http://` is accepted for loopback
//! hosts); downloads with `Range`, optionally padded to any size with an MP4 `free` box; and
//! fault injection, per request with the [`FAULT_HEADER`] header or at random with
//! [`SandboxConfig::faults`] (see [`Fault`]); and a per-key rate limit on submits
//! ([`SandboxConfig::rate_limit`]).
//!
//! **Tasks belong to the key that created them**, always, as the providers scope tasks by
//! account: a poll, HiAPI's list, or an `Idempotency-Key` sent with another key sees none of
//! them. A poll of another key's task answers the provider's 404 for an unknown task (HiAPI
//! and Apiframe document 404 for "not found or not yours"); the list shows the key's own
//! tasks only; an `Idempotency-Key` is remembered per API key, so another key's submit with
//! the same one creates a task of its own (no replay, no 409 or 422 that would reveal the
//! first key's request). Scoping does not wait for `--allow-remote`: on loopback too, a
//! client is tested against what a provider would answer it, and a sandbox pinned to one key
//! ([`SandboxConfig::api_key`]) has one owner anyway. Keys are remembered as their SHA-256.
//!
//! **Ids and output URLs are unguessable and unique across sandboxes.** Each sandbox draws a
//! secret when it starts: task ids are derived from it (each provider's shape: HiAPI
//! `tk-sandbox-` and a ULID, reapi `task_sandbox_` and 32 hex digits, Apiframe a version-4
//! UUID), so two sandboxes, or one restarted, never hand out the same id (a ledger that
//! outlives a sandbox never sees an id twice); output URLs are signed with it
//! (`/files/{id}/0.mp4?expires=…&signature=…`, as object stores sign theirs), so a task id is
//! not enough to download an output, and a URL without a valid signature answers 403. The
//! query is never logged.
//!
//! For benchmarks, the sandbox reports what it served: [`Sandbox::stats`] (submits, tasks,
//! rate-limited submits, polls, downloads), [`Sandbox::observations`] (per task: its drawn
//! duration, when it finished in real time, its polls, when a poll first showed it terminal)
//! and [`Sandbox::deliveries`] (every callback delivery attempt: event, copy, attempt, timing
//! and outcome; also appended to a file with [`SandboxConfig::delivery_log`]), enough to prove
//! that a webhook receiver handled each task exactly once.
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
mod images;
mod limit;
mod mint;
mod output;
mod routes;
mod schema;
mod stats;
mod timing;

pub use faults::{Fault, FaultRates, UnknownFault, FAULT_HEADER, FAULT_NAMES, MAX_SLOW};
pub use stats::{
    Delivery, DeliveryEvent, DeliveryOutcome, ProviderCounts, SandboxStats, TaskObservation,
};
pub use timing::{InvalidTaskSeconds, TaskSeconds};

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, AtomicU8, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::Value;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::Provider;
pub(crate) use mint::{provider_of_task_id, Owner};

/// The MP4 every completed task returns: 3 s, H.264 video and AAC audio (see `assets/`).
pub const SAMPLE_MP4: &[u8] = include_bytes!("../../assets/sample.mp4");

/// How the sandbox behaves. `Debug` shows whether a key or secret is set, never its value.
///
/// Out-of-range values never make the sandbox panic: `task_seconds` are brought into range as
/// [`TaskSeconds::clamped`] says (NaN or negative seconds count as 0, seconds above
/// [`SandboxConfig::MAX_TASK_SECONDS`], infinity included, as that maximum), a `time_scale` and
/// a `rate_limit` as their setters say, and an `output_ttl` or `forget_after` above
/// [`SandboxConfig::MAX_RETENTION`] as that. The setters clamp the same way.
///
/// **Clocks.** A task's life runs on the sandbox's simulated clock, [`SandboxConfig::time_scale`]
/// times as fast as real time: its duration, its queued and running phases and progress, and its
/// output's expiry ([`SandboxConfig::output_ttl`]). The timestamps the providers' answers carry
/// are read on that clock, which starts at the wall-clock time the sandbox started: a task's
/// `created` time is the simulated time of its submit, its `completed` time `created` plus its
/// duration (rounded up to a whole second), its output's expiry `completed + output_ttl`. With
/// the default scale of 1 they are wall-clock times. Everything else is real time:
/// `submit_delay`, `slow` faults, callback retries, the rate limit, and how long the sandbox
/// remembers (its memory holds each task for its duration and `output_ttl`, scaled to real
/// time, then `forget_after` of real time).
#[derive(Clone)]
pub struct SandboxConfig {
    /// How long a task takes from submit to its terminal status, in simulated seconds: fixed
    /// (`0.0` finishes at once) or drawn by each task from a distribution when it is created.
    pub task_seconds: TaskSeconds,
    /// Simulated seconds per real second: 60 runs a 180 s task in 3 real seconds. Default 1;
    /// NaN, zero and negative count as 1, and the rest is brought within
    /// [`SandboxConfig::MIN_TIME_SCALE`]`..=`[`SandboxConfig::MAX_TIME_SCALE`].
    pub time_scale: f64,
    /// Submits per second accepted per (provider, API key), `None` (the default) for no limit.
    /// A token bucket per key holds one second's worth of submits (at least one) and refills
    /// continuously, in real time. Only requests to a provider's submit endpoint count (HiAPI
    /// `POST /v1/tasks`, reapi `POST /api/v1/videos/generations`, Apiframe
    /// `POST /v2/videos/generate`) once their key is accepted, whatever the body, idempotent
    /// replays included; polls, lists and downloads are never limited. A submit beyond the
    /// limit is answered as the `rate_limit` fault answers (429, each provider's body, reapi
    /// code 50001), with `Retry-After` the whole seconds until the bucket holds a token again
    /// (at least 1), and is not processed further (no fault is drawn for it). NaN and infinity
    /// count as no limit, and a rate below [`SandboxConfig::MIN_RATE_LIMIT`] (zero and negative
    /// included) as that minimum.
    pub rate_limit: Option<f64>,
    /// When set, only this exact key is accepted; otherwise any key with the provider's
    /// prefix (`sk-`, `rk_`, `afk_`) is.
    pub api_key: Option<String>,
    /// How long output URLs stay valid after the task completes.
    pub output_ttl: Duration,
    /// How long a task is still remembered once its output expired (its output answers 410
    /// meanwhile). After that the task is forgotten, and answers the provider's 404, and so
    /// are its `Idempotency-Key` and any `X-Sandbox-Fault` counter last used that long ago:
    /// the sandbox's memory holds at most `(longest task + output_ttl) / time_scale +
    /// forget_after` of traffic. Real time.
    pub forget_after: Duration,
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
    /// Pads every output file to this many bytes with a trailing MP4 `free` box (at most
    /// [`SandboxConfig::MAX_PAD_TO`]; a larger size counts as that).
    pub pad_to: Option<u64>,
    /// Random faults, by rate.
    pub faults: FaultRates,
    /// How long a `slow` fault holds an answer.
    pub slow_delay: Duration,
    /// A file to append every callback delivery attempt to, one JSON object per line, as each
    /// is recorded (see [`Sandbox::deliveries`]); created if missing, never truncated. Fields:
    /// `provider`, `task_id`, `event` (`progress` or `terminal`), `task_status` (the
    /// provider's status name), `copy`, `attempt` (0 when none was made), `concurrent`,
    /// `started_at` (RFC 3339, UTC, microseconds), `started_unix_ms` (the same instant in
    /// Unix milliseconds), `duration_ms` (a decimal number of milliseconds), `outcome`
    /// (`status`, `timed_out`, `no_answer`, `not_deliverable` or `dropped`) and `http_status`
    /// (the receiver's status, or `null`). Never the callback URL or a header. A file that
    /// cannot be opened makes [`Sandbox::start`] fail; a write that fails later is logged
    /// (`tracing` warning) and the sandbox goes on.
    pub delivery_log: Option<PathBuf>,
    /// The OpenAPI document each provider's submit bodies are judged by, in
    /// [`Provider::ALL`] order; `None` (the default) is the crate's own (`openapi/*.yaml`).
    /// Only the request schemas are read from a given one; answers keep their documented
    /// shapes. A team tries an edited document here before the provider changes, or makes
    /// the sandbox drift from the contract, as a probe's test does (see
    /// [`SandboxConfig::with_document`]).
    pub documents: [Option<Arc<serde_json::Value>>; 3],
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |set: bool| if set { "Some(<redacted>)" } else { "None" };
        f.debug_struct("SandboxConfig")
            .field("task_seconds", &self.task_seconds)
            .field("time_scale", &self.time_scale)
            .field("rate_limit", &self.rate_limit)
            .field(
                "api_key",
                &format_args!("{}", redacted(self.api_key.is_some())),
            )
            .field("output_ttl", &self.output_ttl)
            .field("forget_after", &self.forget_after)
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
            .field("delivery_log", &self.delivery_log)
            .field(
                "documents",
                &Provider::ALL.map(|p| {
                    if self.documents[p.index()].is_some() {
                        "given"
                    } else {
                        "the crate's"
                    }
                }),
            )
            .finish()
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            task_seconds: TaskSeconds::Fixed(0.0),
            time_scale: timing::DEFAULT_TIME_SCALE,
            rate_limit: None,
            api_key: None,
            output_ttl: Duration::from_secs(7 * 24 * 3600),
            forget_after: Duration::from_secs(3600),
            submit_delay: Duration::ZERO,
            webhook_secret: None,
            callback_attempts: 5,
            callback_backoff: Duration::from_secs(1),
            pad_to: None,
            faults: FaultRates::none(),
            slow_delay: Duration::from_secs(2),
            delivery_log: None,
            documents: [None, None, None],
        }
    }
}

impl SandboxConfig {
    /// The longest task the sandbox runs, in simulated seconds: a year. A longer (or infinite)
    /// `task_seconds` counts as this.
    pub const MAX_TASK_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

    /// The slowest [`SandboxConfig::time_scale`]: a simulated second per 1000 real ones.
    pub const MIN_TIME_SCALE: f64 = 0.001;

    /// The fastest [`SandboxConfig::time_scale`]: 100,000 simulated seconds (27.7 hours) per
    /// real second.
    pub const MAX_TIME_SCALE: f64 = 100_000.0;

    /// The lowest [`SandboxConfig::rate_limit`]: one submit per 1000 seconds.
    pub const MIN_RATE_LIMIT: f64 = 0.001;

    /// The largest output file, in bytes: `i64::MAX` (8 EiB), the largest `Content-Length`
    /// HTTP clients take (hyper refuses `u64::MAX`; Go and Java count in signed 64 bits).
    pub const MAX_PAD_TO: u64 = u64::MAX >> 1;

    /// The longest `output_ttl` and `forget_after`: a hundred years. A longer one counts as
    /// this.
    pub const MAX_RETENTION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

    /// Sets [`SandboxConfig::task_seconds`]: a number of seconds (`with_task_seconds(3.0)`) or
    /// any [`TaskSeconds`], brought into range as [`TaskSeconds::clamped`] says (NaN and
    /// negative seconds count as 0, anything above [`SandboxConfig::MAX_TASK_SECONDS`],
    /// infinity included, as that).
    pub fn with_task_seconds(mut self, seconds: impl Into<TaskSeconds>) -> Self {
        self.task_seconds = seconds.into().clamped();
        self
    }

    /// Sets [`SandboxConfig::time_scale`], simulated seconds per real second: NaN, zero and
    /// negative count as 1; the rest is brought within
    /// [`SandboxConfig::MIN_TIME_SCALE`]`..=`[`SandboxConfig::MAX_TIME_SCALE`].
    pub fn with_time_scale(mut self, scale: f64) -> Self {
        self.time_scale = self.effective_time_scale_of(scale);
        self
    }

    /// Sets [`SandboxConfig::rate_limit`] to `per_second` submits per second per key: NaN and
    /// infinity mean no limit; a rate below [`SandboxConfig::MIN_RATE_LIMIT`] (zero and
    /// negative included) counts as that minimum.
    pub fn with_rate_limit(mut self, per_second: f64) -> Self {
        self.rate_limit = clamp_rate_limit(Some(per_second));
        self
    }

    fn effective_time_scale_of(&self, scale: f64) -> f64 {
        timing::clamp_time_scale(scale, Self::MIN_TIME_SCALE, Self::MAX_TIME_SCALE)
    }

    /// [`SandboxConfig::time_scale`] brought into range.
    fn effective_time_scale(&self) -> f64 {
        self.effective_time_scale_of(self.time_scale)
    }

    /// The longest a task can take, in simulated time: the fixed duration, or the largest a
    /// distribution draws (see [`TaskSeconds::max_seconds`]).
    pub fn longest_task(&self) -> Duration {
        Duration::try_from_secs_f64(self.task_seconds.max_seconds()).unwrap_or_default()
    }

    /// How long a task is remembered from its submit, in real time: its longest duration and
    /// its output's TTL, both scaled by [`SandboxConfig::time_scale`], then
    /// [`SandboxConfig::forget_after`].
    pub fn retention(&self) -> Duration {
        let simulated = self
            .longest_task()
            .saturating_add(self.output_ttl.min(Self::MAX_RETENTION));
        let real = simulated.as_secs_f64() / self.effective_time_scale();
        Duration::try_from_secs_f64(real)
            .unwrap_or(Duration::MAX)
            .saturating_add(self.forget_after.min(Self::MAX_RETENTION))
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

    /// Sets how long output URLs stay valid (at most [`SandboxConfig::MAX_RETENTION`]).
    pub fn with_output_ttl(mut self, ttl: Duration) -> Self {
        self.output_ttl = ttl.min(Self::MAX_RETENTION);
        self
    }

    /// Sets how long a task is remembered once its output expired (see
    /// [`SandboxConfig::forget_after`]; at most [`SandboxConfig::MAX_RETENTION`]).
    pub fn with_forget_after(mut self, grace: Duration) -> Self {
        self.forget_after = grace.min(Self::MAX_RETENTION);
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

    /// Pads output files to `bytes` (see [`SandboxConfig::pad_to`]; at most
    /// [`SandboxConfig::MAX_PAD_TO`]).
    pub fn with_pad_to(mut self, bytes: u64) -> Self {
        self.pad_to = Some(bytes.min(Self::MAX_PAD_TO));
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

    /// Judges `provider`'s submit bodies by `document` (an OpenAPI 3.0 document as JSON)
    /// instead of the crate's own; [`Sandbox::start`] fails when its request schema does not
    /// compile.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use happyhorse::{contract, sandbox::{Sandbox, SandboxConfig}, Provider};
    ///
    /// // A reapi that takes 16-second clips, which its document does not allow.
    /// let mut drifted = contract::openapi(Provider::Reapi).clone();
    /// drifted["components"]["schemas"]["Duration"]["maximum"] = 16.into();
    /// let sandbox =
    ///     Sandbox::start(SandboxConfig::default().with_document(Provider::Reapi, drifted)).await?;
    /// happyhorse::install_crypto_provider(); // reqwest is built without one of its own
    /// let answer = reqwest::Client::new()
    ///     .post(format!("{}/videos/generations", sandbox.base_url(Provider::Reapi)))
    ///     .bearer_auth("rk_example")
    ///     .json(&serde_json::json!({"model": "happyhorse-1-1", "prompt": "A horse", "duration": 16}))
    ///     .send()
    ///     .await?;
    /// assert_eq!(answer.status(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_document(mut self, provider: Provider, document: serde_json::Value) -> Self {
        self.documents[provider.index()] = Some(Arc::new(document));
        self
    }

    /// Appends every callback delivery attempt to the file at `path`, one JSON line each (see
    /// [`SandboxConfig::delivery_log`]).
    pub fn with_delivery_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.delivery_log = Some(path.into());
        self
    }
}

/// A rate limit the sandbox can use: NaN and infinity are none, anything below the minimum
/// (zero and negative included) is the minimum.
fn clamp_rate_limit(rate: Option<f64>) -> Option<f64> {
    rate.filter(|rate| rate.is_finite() || *rate == f64::NEG_INFINITY)
        .map(|rate| rate.max(SandboxConfig::MIN_RATE_LIMIT))
}

/// A running sandbox. Dropping it stops the server and its callback deliveries.
pub struct Sandbox {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    state: Arc<State>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .field("config", &self.state.config)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// How many delivery attempts [`Sandbox::deliveries`] keeps: the latest million (some
    /// 150 bytes each); older ones are dropped from memory (not from
    /// [`SandboxConfig::delivery_log`]'s file).
    pub const MAX_DELIVERIES: usize = 1_000_000;

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
        let app = routes::router(state.clone());
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
            state,
        })
    }

    /// The configuration the sandbox runs with, its values brought into range (see
    /// [`SandboxConfig`]).
    pub fn config(&self) -> &SandboxConfig {
        &self.state.config
    }

    /// What the sandbox served since it started (see [`SandboxStats`]).
    pub fn stats(&self) -> SandboxStats {
        self.state.counters.snapshot()
    }

    /// Every task the sandbox still remembers (see [`SandboxConfig::forget_after`]), in the
    /// order they were created, as its own records show it: drawn duration, polls served, and
    /// when a poll first showed it terminal (see [`TaskObservation`]).
    pub fn observations(&self) -> Vec<TaskObservation> {
        let now = Instant::now();
        let mut tasks: Vec<Arc<Task>> = self
            .state
            .tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .values()
            .filter(|task| !self.state.forgotten(task.started, now))
            .cloned()
            .collect();
        tasks.sort_unstable_by_key(|task| task.seq);
        tasks
            .iter()
            .map(|task| TaskObservation {
                provider: task.provider,
                id: task.id.clone(),
                duration: Duration::try_from_secs_f64(task.seconds).unwrap_or_default(),
                polls: task.polls.count(),
                first_terminal_poll_after: task.polls.first_terminal(),
                finished_at: self.state.finished_at(task),
            })
            .collect()
    }

    /// Every callback and webhook delivery attempt so far (the latest
    /// [`Sandbox::MAX_DELIVERIES`]), in the order they were recorded: an attempt when it ends
    /// (answered, timed out or failed), a dropped or undeliverable event when its task ends.
    /// One record per attempt (see [`Delivery`]): a receiver that answered 500 then 200 shows
    /// attempts 1 and 2 of the same copy; a `duplicate_callback` fault shows copies 1 to 3; a
    /// `drop_callback` fault one [`DeliveryOutcome::Dropped`] record. Kept for the sandbox's
    /// life, whatever [`SandboxConfig::forget_after`] says.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state.deliveries.snapshot()
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

    /// The URL of a grey PNG `width` x `height` pixels (each 1 to 4096) that the sandbox
    /// serves: an input image for image- and reference-to-video on loopback, fetched and
    /// checked by the sandbox as a provider would.
    pub fn sample_image_url(&self, width: u32, height: u32) -> String {
        format!("http://{}/images/{width}x{height}.png", self.addr)
    }

    /// The bytes of a grey PNG `width` x `height` pixels, as [`Sandbox::sample_image_url`]
    /// serves it (each side 1 to 4096; larger sides are served as 404s, not made here).
    pub fn sample_png(width: u32, height: u32) -> Vec<u8> {
        images::grey_png(width.clamp(1, 4096), height.clamp(1, 4096))
    }

    /// Stops: no callback delivery is attempted once this returns (those under way are
    /// stopped), waits in progress (`slow` faults, `submit_delay`) end at once, downloads in
    /// progress are cut, and the server stops accepting connections and finishes.
    pub async fn shutdown(mut self) {
        for delivery in self.state.background.close() {
            delivery.abort();
            let _ = delivery.await;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for Sandbox {
    /// Stops as [`Sandbox::shutdown`] does, without waiting: deliveries under way are aborted
    /// and stop at their next step.
    fn drop(&mut self) {
        for delivery in self.state.background.close() {
            delivery.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The sandbox's work besides answering requests: callback deliveries, each a tokio task, and
/// the signal that the sandbox is closing (which waits and downloads watch).
#[derive(Debug, Default)]
pub(crate) struct Background {
    closing: CancellationToken,
    deliveries: Mutex<Deliveries>,
}

#[derive(Debug, Default)]
struct Deliveries {
    next: u64,
    running: HashMap<u64, JoinHandle<()>>,
}

impl Background {
    /// Cancelled once the sandbox shuts down.
    pub fn closing(&self) -> &CancellationToken {
        &self.closing
    }

    /// Runs `delivery` as a task of its own, unless the sandbox is closing. A finished one
    /// forgets itself.
    pub fn spawn(
        self: &Arc<Self>,
        delivery: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let mut deliveries = self.lock();
        // Checked under the lock `close` takes: nothing starts after it.
        if self.closing.is_cancelled() {
            return;
        }
        let id = deliveries.next;
        deliveries.next = deliveries.next.wrapping_add(1);
        let background = Arc::downgrade(self);
        let handle = tokio::spawn(async move {
            delivery.await;
            if let Some(background) = background.upgrade() {
                background.lock().running.remove(&id);
            }
        });
        deliveries.running.insert(id, handle);
    }

    /// Marks the sandbox closing and hands over the deliveries still running, to abort.
    fn close(&self) -> Vec<JoinHandle<()>> {
        let mut deliveries = self.lock();
        self.closing.cancel();
        deliveries
            .running
            .drain()
            .map(|(_, handle)| handle)
            .collect()
    }

    /// How many deliveries are running.
    #[cfg(test)]
    fn running(&self) -> usize {
        self.lock().running.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Deliveries> {
        self.deliveries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Sleeps for `delay`, or less if the sandbox closes meanwhile.
pub(crate) async fn sleep_unless_closing(closing: &CancellationToken, delay: Duration) {
    tokio::select! {
        () = tokio::time::sleep(delay) => {}
        () = closing.cancelled() => {}
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
    /// How a `duplicate_callback` fault repeats the terminal event.
    pub duplicate_callback: Option<callbacks::Duplicates>,
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
    /// The key it is submitted with: only that key sees it.
    pub owner: Owner,
    pub failure: Option<Failure>,
    pub faults: TaskFaults,
    pub key_hash: [u8; 32],
    pub has_webhook: bool,
}

pub(crate) struct Task {
    pub provider: Provider,
    /// The key it was submitted with: only that key sees it.
    pub owner: Owner,
    /// The order of creation.
    pub seq: u64,
    pub id: String,
    pub model: String,
    pub input: Value,
    pub started: Instant,
    /// The simulated Unix time of its creation (see [`State::simulated_unix`]).
    pub created_unix: u64,
    /// How long it takes, in simulated seconds (drawn from `task_seconds`).
    pub seconds: f64,
    /// The status answers served for it.
    pub polls: stats::PollRecord,
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
    /// When the key was first seen.
    pub at: Instant,
}

/// How many requests used one `NAME*N` fault item, and when one last did.
pub(crate) struct FaultUse {
    pub count: u64,
    pub last: Instant,
}

pub(crate) struct State {
    pub config: SandboxConfig,
    pub addr: SocketAddr,
    pub schemas: schema::Schemas,
    pub tasks: Mutex<HashMap<String, Arc<Task>>>,
    /// The `Idempotency-Key`s seen, per provider and API key.
    pub keys: Mutex<HashMap<(Provider, Owner, String), Remembered>>,
    /// How many requests used each `NAME*N` fault item so far.
    pub fault_uses: Mutex<HashMap<String, FaultUse>>,
    /// The client callbacks are delivered with.
    pub http: reqwest::Client,
    /// The client input images are fetched with: loopback only, redirects included.
    pub image_http: reqwest::Client,
    pub output: output::OutputFile,
    pub background: Arc<Background>,
    /// What the sandbox served, for [`Sandbox::stats`].
    pub counters: stats::Counters,
    /// Every delivery attempt, for [`Sandbox::deliveries`].
    pub deliveries: stats::DeliveryLog,
    /// The per-key submit limit, when [`SandboxConfig::rate_limit`] sets one.
    pub limiter: Option<limit::Limiter>,
    /// [`SandboxConfig::retention`], worked out once.
    retention: Duration,
    /// [`SandboxConfig::time_scale`], in range.
    scale: f64,
    /// When the sandbox started; the clock [`State::last_sweep`] counts on, and the start of
    /// the simulated clock.
    epoch: Instant,
    /// The wall-clock time at `epoch`, since the Unix epoch: the simulated clock's start.
    epoch_unix: Duration,
    /// Milliseconds from `epoch` to the last sweep of forgotten tasks, keys and counters.
    last_sweep: AtomicU64,
    next_id: AtomicU64,
    /// The sandbox's secret: task ids, signed output URLs.
    mint: mint::Mint,
}

impl State {
    fn new(mut config: SandboxConfig, addr: SocketAddr) -> std::io::Result<Self> {
        // The fields are public: bring whatever they hold into range once.
        config.task_seconds = config.task_seconds.clamped();
        config.time_scale = config.effective_time_scale();
        config.rate_limit = clamp_rate_limit(config.rate_limit);
        config.output_ttl = config.output_ttl.min(SandboxConfig::MAX_RETENTION);
        config.forget_after = config.forget_after.min(SandboxConfig::MAX_RETENTION);
        let log_file = match &config.delivery_log {
            Some(path) => Some(stats::DeliveryLog::open(path)?),
            None => None,
        };
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(crate::tls::shared_config().map_err(std::io::Error::other)?)
            .no_proxy()
            .build()
            .map_err(std::io::Error::other)?;
        let image_http = reqwest::Client::builder()
            .tls_backend_preconfigured(crate::tls::shared_config().map_err(std::io::Error::other)?)
            .no_proxy()
            .timeout(Duration::from_secs(images::FETCH_SECONDS))
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                if attempt.previous().len() > images::MAX_REDIRECTS
                    || !crate::net::is_loopback(attempt.url())
                {
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .map_err(std::io::Error::other)?;
        let schemas = schema::Schemas::new(&config.documents).map_err(std::io::Error::other)?;
        Ok(State {
            output: output::OutputFile::new(config.pad_to),
            retention: config.retention(),
            scale: config.time_scale,
            limiter: config.rate_limit.map(limit::Limiter::new),
            counters: stats::Counters::default(),
            deliveries: stats::DeliveryLog::new(Sandbox::MAX_DELIVERIES, log_file),
            config,
            addr,
            schemas,
            tasks: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
            fault_uses: Mutex::new(HashMap::new()),
            http,
            image_http,
            background: Arc::default(),
            epoch: Instant::now(),
            epoch_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
            last_sweep: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            mint: mint::Mint::new()?,
        })
    }

    /// The document `provider`'s requests are judged by: the one the config gives, else the
    /// crate's own.
    pub fn document(&self, provider: Provider) -> &serde_json::Value {
        match &self.config.documents[provider.index()] {
            Some(given) => given.as_ref(),
            None => crate::contract::openapi(provider),
        }
    }

    /// Whether something last touched at `since` is forgotten by `now` (older than
    /// [`SandboxConfig::retention`]).
    pub fn forgotten(&self, since: Instant, now: Instant) -> bool {
        now.saturating_duration_since(since) > self.retention
    }

    /// How often [`State::sweep`] runs: a quarter of the retention, from 10 ms to a minute.
    fn sweep_every(&self) -> Duration {
        (self.retention / 4).clamp(Duration::from_millis(10), Duration::from_secs(60))
    }

    /// Sweeps when the last sweep is [`State::sweep_every`] old (called on each request; a
    /// sandbox that gets none holds no more than it did).
    pub fn sweep_if_due(&self) {
        let now = Instant::now();
        let now_ms = u64::try_from(now.saturating_duration_since(self.epoch).as_millis())
            .unwrap_or(u64::MAX);
        let every = u64::try_from(self.sweep_every().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) < every {
            return;
        }
        // One request sweeps; the others go on.
        if self
            .last_sweep
            .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            self.sweep(now);
        }
    }

    /// Drops the tasks, idempotency keys and fault counters forgotten by `now`.
    pub fn sweep(&self, now: Instant) {
        self.tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, task| !self.forgotten(task.started, now));
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, seen| !self.forgotten(seen.at, now));
        self.fault_uses
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, used| !self.forgotten(used.last, now));
        if let Some(limiter) = &self.limiter {
            limiter.sweep(now);
        }
    }

    /// Records a new task and returns it.
    pub fn create(&self, provider: Provider, model: &str, input: Value, new: NewTask) -> Arc<Task> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        // Each provider's id shape, unique across sandboxes (see `mint`).
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let id = self.mint.task_id(provider, n, unix_ms);
        let started = Instant::now();
        let task = Arc::new(Task {
            provider,
            owner: new.owner,
            seq: n,
            id: id.clone(),
            model: model.to_owned(),
            input,
            started,
            created_unix: self.simulated_unix(started),
            seconds: self.config.task_seconds.draw(),
            polls: stats::PollRecord::default(),
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
        self.counters.task_created(provider);
        task
    }

    /// The task with this id, if it was created on this provider with `owner`'s key and is
    /// not forgotten.
    pub fn task(&self, provider: Provider, id: &str, owner: Owner) -> Option<Arc<Task>> {
        self.any_task(id)
            .filter(|t| t.provider == provider && t.owner == owner)
    }

    /// The task with this id, on any provider, unless it is forgotten.
    pub fn any_task(&self, id: &str) -> Option<Arc<Task>> {
        let now = Instant::now();
        self.tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(id)
            .filter(|t| !self.forgotten(t.started, now))
            .cloned()
    }

    /// The provider's tasks created with `owner`'s key that are not forgotten.
    pub fn tasks_of(&self, provider: Provider, owner: Owner) -> Vec<Arc<Task>> {
        let now = Instant::now();
        self.tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .values()
            .filter(|t| {
                t.provider == provider && t.owner == owner && !self.forgotten(t.started, now)
            })
            .cloned()
            .collect()
    }

    /// Where the task is now (see [`State::phase_after`]).
    pub fn phase(&self, task: &Task) -> Phase {
        self.phase_after(task, task.started.elapsed())
    }

    /// Where the task is `elapsed` (real time) after its creation: the first quarter of its
    /// duration queued, the rest running, then it succeeds (or fails, when a fault says so).
    pub fn phase_after(&self, task: &Task, elapsed: Duration) -> Phase {
        let total = task.seconds;
        let elapsed = elapsed.as_secs_f64() * self.scale;
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

    /// Counts a status answer served `elapsed` (real time) after the task's creation, that
    /// showed it in `phase`.
    pub fn record_poll(&self, task: &Task, elapsed: Duration, phase: Phase) {
        self.counters.poll(task.provider);
        let terminal = matches!(phase, Phase::Succeeded | Phase::Failed);
        task.polls.record(self.simulated(elapsed), terminal);
    }

    /// The simulated time that passes in `real` time.
    pub fn simulated(&self, real: Duration) -> Duration {
        Duration::try_from_secs_f64(real.as_secs_f64() * self.scale).unwrap_or(Duration::MAX)
    }

    /// The real time in which `seconds` of simulated time pass.
    pub fn real(&self, seconds: f64) -> Duration {
        Duration::try_from_secs_f64(seconds / self.scale).unwrap_or(Duration::MAX)
    }

    /// The simulated Unix time (whole seconds) at `at`: the wall-clock time the sandbox
    /// started, plus the time since, scaled.
    pub fn simulated_unix(&self, at: Instant) -> u64 {
        self.epoch_unix
            .saturating_add(self.simulated(at.saturating_duration_since(self.epoch)))
            .as_secs()
    }

    /// The wall-clock time at `at`: the wall-clock time the sandbox started plus the real
    /// (monotonic) time since.
    pub fn wall_clock(&self, at: Instant) -> SystemTime {
        let since_start = at.saturating_duration_since(self.epoch);
        UNIX_EPOCH
            .checked_add(self.epoch_unix.saturating_add(since_start))
            .unwrap_or(UNIX_EPOCH)
    }

    /// The wall-clock time at which the task reaches (or will reach) its terminal status, in
    /// real time: its creation plus its duration scaled.
    pub fn finished_at(&self, task: &Task) -> SystemTime {
        let at = self.wall_clock(task.started);
        at.checked_add(self.real(task.seconds)).unwrap_or(at)
    }

    /// The simulated Unix time now.
    pub fn simulated_unix_now(&self) -> u64 {
        self.simulated_unix(Instant::now())
    }

    /// Simulated Unix time at which the task completed (or will): its creation plus its
    /// duration, rounded up to a whole second.
    pub fn completed_unix(&self, task: &Task) -> u64 {
        // `seconds` lies within 0..=MAX_TASK_SECONDS: the cast is exact or saturates.
        let seconds = task.seconds.ceil() as u64;
        task.created_unix.saturating_add(seconds)
    }

    /// Simulated Unix time after which the task's output URL stops working.
    pub fn expires_unix(&self, task: &Task) -> u64 {
        let ttl = self.config.output_ttl.min(SandboxConfig::MAX_RETENTION);
        self.completed_unix(task).saturating_add(ttl.as_secs())
    }

    /// The URL of a task's output, served by the sandbox, signed: `expires` is when the
    /// output expires (simulated Unix seconds), `signature` the sandbox's HMAC of the id and
    /// `expires` (see [`State::signed_output`]). The same for every answer about the task.
    pub fn output_url(&self, task: &Task) -> String {
        let expires = self.expires_unix(task);
        let signature = self.mint.sign(&task.id, expires);
        format!(
            "http://{}/files/{}/0.mp4?expires={expires}&signature={signature}",
            self.addr, task.id
        )
    }

    /// Whether `expires` and `signature` are those [`State::output_url`] gives the task `id`.
    pub fn signed_output(&self, id: &str, expires: u64, signature: &str) -> bool {
        self.mint.verify(id, expires, signature)
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setters_clamp_what_would_panic_and_the_sandbox_copes_with_raw_fields() {
        for (seconds, want) in [
            (f64::INFINITY, SandboxConfig::MAX_TASK_SECONDS),
            (f64::NAN, 0.0),
            (-5.0, 0.0),
            (f64::NEG_INFINITY, 0.0),
            (1e300, SandboxConfig::MAX_TASK_SECONDS),
            (2.5, 2.5),
        ] {
            let config = SandboxConfig::default().with_task_seconds(seconds);
            assert_eq!(config.task_seconds, TaskSeconds::Fixed(want), "{seconds}");
            assert_eq!(config.longest_task().as_secs_f64(), want, "{seconds}");
        }
        let config = SandboxConfig::default()
            .with_output_ttl(Duration::MAX)
            .with_forget_after(Duration::MAX);
        assert_eq!(config.output_ttl, SandboxConfig::MAX_RETENTION);
        assert_eq!(config.forget_after, SandboxConfig::MAX_RETENTION);
        // The fields are public: whatever they hold, nothing the sandbox works out panics.
        let raw = SandboxConfig {
            task_seconds: TaskSeconds::Fixed(f64::INFINITY),
            time_scale: f64::NAN,
            rate_limit: Some(f64::NAN),
            output_ttl: Duration::MAX,
            forget_after: Duration::MAX,
            ..SandboxConfig::default()
        };
        assert!(raw.retention() >= SandboxConfig::MAX_RETENTION);
        let state = State::new(raw, SocketAddr::from(([127, 0, 0, 1], 1))).unwrap();
        assert_eq!(state.config.time_scale, 1.0);
        assert_eq!(state.config.rate_limit, None);
        assert!(state.limiter.is_none());
        let task = state.create(Provider::HiApi, "m", Value::Null, NewTask::default());
        assert_eq!(state.phase(&task), Phase::Queued);
        assert!(state.expires_unix(&task) > state.completed_unix(&task));
        let nan = SandboxConfig {
            task_seconds: TaskSeconds::Fixed(f64::NAN),
            time_scale: -1.0,
            rate_limit: Some(-1.0),
            ..SandboxConfig::default()
        };
        let state = State::new(nan, SocketAddr::from(([127, 0, 0, 1], 1))).unwrap();
        assert_eq!(state.config.time_scale, 1.0);
        assert_eq!(state.config.rate_limit, Some(SandboxConfig::MIN_RATE_LIMIT));
        let task = state.create(Provider::HiApi, "m", Value::Null, NewTask::default());
        assert_eq!(state.phase(&task), Phase::Succeeded);
        state.sweep(Instant::now());
        state.sweep_if_due();
    }

    #[test]
    fn time_scales_and_rate_limits_are_brought_into_range() {
        for (scale, want) in [
            (f64::NAN, 1.0),
            (0.0, 1.0),
            (-2.0, 1.0),
            (f64::INFINITY, SandboxConfig::MAX_TIME_SCALE),
            (1e-12, SandboxConfig::MIN_TIME_SCALE),
            (60.0, 60.0),
        ] {
            let config = SandboxConfig::default().with_time_scale(scale);
            assert_eq!(config.time_scale, want, "{scale}");
        }
        for (rate, want) in [
            (f64::NAN, None),
            (f64::INFINITY, None),
            (0.0, Some(SandboxConfig::MIN_RATE_LIMIT)),
            (-5.0, Some(SandboxConfig::MIN_RATE_LIMIT)),
            (f64::NEG_INFINITY, Some(SandboxConfig::MIN_RATE_LIMIT)),
            (20.0, Some(20.0)),
        ] {
            let config = SandboxConfig::default().with_rate_limit(rate);
            assert_eq!(config.rate_limit, want, "{rate}");
        }
    }

    #[test]
    fn a_tasks_life_and_its_timestamps_run_on_the_scaled_clock() {
        let config = SandboxConfig::default()
            .with_task_seconds(180.0)
            .with_time_scale(60.0)
            .with_output_ttl(Duration::from_secs(600))
            .with_forget_after(Duration::from_secs(5));
        // (180 s + 600 s) / 60 + 5 s of real time.
        assert_eq!(config.retention(), Duration::from_secs(18));
        let state = State::new(config, SocketAddr::from(([127, 0, 0, 1], 1))).unwrap();
        let task = state.create(Provider::HiApi, "m", Value::Null, NewTask::default());
        assert_eq!(task.seconds, 180.0);
        let real = |ms| Duration::from_millis(ms);
        assert_eq!(state.phase_after(&task, real(0)), Phase::Queued);
        assert_eq!(state.phase_after(&task, real(700)), Phase::Queued);
        // 1.5 s real = 90 s simulated: a third of the running time (45..180 s).
        assert_eq!(
            state.phase_after(&task, real(1500)),
            Phase::Running { progress: 33 }
        );
        assert_eq!(state.phase_after(&task, real(3000)), Phase::Succeeded);
        assert_eq!(state.real(180.0), Duration::from_secs(3));
        assert_eq!(state.simulated(real(3000)), Duration::from_secs(180));
        assert_eq!(state.completed_unix(&task), task.created_unix + 180);
        // It finishes 3 real seconds after its creation, on the wall clock.
        assert_eq!(
            state
                .finished_at(&task)
                .duration_since(state.wall_clock(task.started))
                .unwrap(),
            Duration::from_secs(3)
        );
        let wall = state.wall_clock(state.epoch);
        assert_eq!(wall.duration_since(UNIX_EPOCH).unwrap(), state.epoch_unix);
        assert_eq!(state.expires_unix(&task), task.created_unix + 780);
        // The simulated clock starts at the wall clock and runs 60 times as fast.
        let start = state.simulated_unix(state.epoch);
        assert!(start.abs_diff(unix_now()) <= 2, "{start}");
        assert_eq!(
            state.simulated_unix(state.epoch + Duration::from_secs(10)),
            state.epoch_unix.as_secs() + 600
        );
        // Polls are counted, and the first terminal one kept, in simulated time.
        state.record_poll(&task, real(1000), Phase::Queued);
        state.record_poll(&task, real(3500), Phase::Succeeded);
        state.record_poll(&task, real(4000), Phase::Succeeded);
        assert_eq!(task.polls.count(), 3);
        assert_eq!(task.polls.first_terminal(), Some(Duration::from_secs(210)));
        assert_eq!(state.counters.snapshot().polls.get(Provider::HiApi), 3);
        assert_eq!(state.counters.snapshot().tasks_created.total(), 1);
    }

    #[test]
    fn debug_never_shows_the_key_or_the_secret() {
        let config = SandboxConfig::default()
            .with_api_key("sk-do-not-print")
            .with_webhook_secret("whsec-do-not-print");
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains("do-not-print"), "{shown}");
        assert!(shown.contains("Some(<redacted>)"), "{shown}");
        assert!(format!("{:?}", SandboxConfig::default()).contains("api_key: None"));
    }

    #[test]
    fn a_sweep_forgets_tasks_keys_and_counters_older_than_the_retention() {
        let config = SandboxConfig::default()
            .with_task_seconds(1.0)
            .with_output_ttl(Duration::from_secs(2))
            .with_forget_after(Duration::from_secs(3));
        let state = State::new(config, SocketAddr::from(([127, 0, 0, 1], 1))).unwrap();
        assert_eq!(state.retention, Duration::from_secs(6));
        let task = state.create(Provider::HiApi, "m", Value::Null, NewTask::default());
        let at = task.started;
        state.keys.lock().unwrap().insert(
            (Provider::HiApi, Owner::default(), "key".into()),
            Remembered {
                body: Value::Null,
                task: Some(task.id.clone()),
                at,
            },
        );
        state
            .fault_uses
            .lock()
            .unwrap()
            .insert("rate_limit*1".into(), FaultUse { count: 1, last: at });
        let sizes = |state: &State| {
            (
                state.tasks.lock().unwrap().len(),
                state.keys.lock().unwrap().len(),
                state.fault_uses.lock().unwrap().len(),
            )
        };
        state.sweep(at + Duration::from_secs(6));
        assert_eq!(sizes(&state), (1, 1, 1));
        state.sweep(at + Duration::from_millis(6001));
        assert_eq!(sizes(&state), (0, 0, 0));
        // A sweep with a clock behind the task's start forgets nothing.
        let again = state.create(Provider::HiApi, "m", Value::Null, NewTask::default());
        state.sweep(at);
        assert_eq!(sizes(&state), (1, 0, 0));
        assert!(state.forgotten(again.started, again.started + Duration::from_secs(7)));
        assert!(!state.forgotten(again.started, at));
    }

    #[tokio::test]
    async fn closing_aborts_deliveries_and_refuses_new_ones() {
        let background = Arc::new(Background::default());
        background.spawn(async {});
        background.spawn(std::future::pending());
        // The finished one forgets itself.
        tokio::time::timeout(Duration::from_secs(5), async {
            while background.running() > 1 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        let running = background.close();
        assert_eq!(running.len(), 1);
        for handle in running {
            handle.abort();
            assert!(handle.await.unwrap_err().is_cancelled());
        }
        assert!(background.closing().is_cancelled());
        background.spawn(std::future::pending());
        assert_eq!(background.running(), 0);
    }
}
