//! A webhook receiver for HiAPI callbacks and Apiframe webhooks that records what they say in
//! a [`Ledger`], durably, before it answers (feature `receiver`; `happyhorse serve` runs it).
//!
//! Each delivery is checked on its raw body, as its provider signs it (see
//! [`crate::webhook`]): HiAPI with the signing secret of its console (`HIAPI_WEBHOOK_SECRET`),
//! Apiframe with the API key the jobs were submitted with (`APIFRAME_API_KEY`). A delivery that
//! fails the check (unsigned where a secret is set, forged, stale, malformed) gets a 4xx and
//! changes nothing. A verified one is recorded with [`Ledger::record`] and answered 2xx only
//! once the record is committed: a receiver that dies first earns a redelivery, not a loss.
//! Delivery is at least once, so the record is idempotent by task: a redelivery or a concurrent
//! duplicate is counted and changes nothing, and [`Receiver::on_applied`] runs once per event
//! (the batch's workers, which hold the jobs, save the videos: once per job, under their lease).
//!
//! | Answer | When |
//! |---|---|
//! | 200 | recorded, or a duplicate of what is recorded |
//! | 400 | malformed signature headers, or a body that is not the provider's task |
//! | 401 | no signature where one is required, a forged or stale one |
//! | 404 | no job in the ledger has this task (yet: the provider retries) |
//! | 503 | this receiver takes no deliveries of the provider, or the ledger failed (retried) |
//!
//! Nothing secret reaches the logs: no header, no body, no output URL.
//!
//! # Facing the internet
//!
//! [`Receiver::serve`] runs the receiver on a listener with the limits of [`ServeLimits`], for
//! a receiver behind a TLS proxy that anyone can reach. Everything a client can hold is timed
//! and counted before its signature can be checked:
//!
//! | Limit | Default | What happens |
//! |---|---|---|
//! | header timeout | 10 s | a connection that has not sent a whole request head 10 s after it opened, or after its last answer (an idle keep-alive connection), is closed |
//! | body timeout | 10 s | a body not wholly received 10 s after its head: `408`, connection closed; an answer the client takes none of for 10 s (it stopped reading): connection cut |
//! | body limit | 64 KiB | a `Content-Length` above it: `413` at once, nothing read (no `100 Continue`); a chunked body is cut there: `413`; connection closed |
//! | connections | 4096, or the open-file limit − 128 if lower | a connection beyond: `503` with `Retry-After: 5` and `Connection: close` written at once, then closed |
//! | requests in flight | 256 | a request beyond (head read, answer not yet given): the same `503` |
//!
//! The body limit is sized to the deliveries (the `Task` and `Job` schemas of
//! `openapi/hiapi.yaml` and `openapi/apiframe.yaml`): a HiAPI callback is its task object, a few
//! hundred bytes with one output URL; an Apiframe webhook is its job object, typically under
//! 2 KiB, whose largest possible part is the echoed `input`: a prompt of at most 2,500
//! characters (15 KB even if every one were `\uXXXX`-escaped) and up to nine image URLs (18 KB
//! more at 2 KB each, as long signed URLs are). Even that is under 40 KiB; 64 KiB leaves room
//! and keeps what bodies can hold before their signatures are checked to 64 KiB × 256 requests
//! in flight = 16 MiB. Request heads are limited to 16 KiB.
//!
//! A provider answered `503` (or nothing: a connection cut by a timeout) delivers again later,
//! so a receiver that refuses under load loses nothing; one that hangs loses the delivery's
//! timely answer. On shutdown, the receiver stops accepting, lets the requests in flight be
//! answered (for up to 10 s) and closes the other connections.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use happyhorse::{ledger::SqliteLedger, receiver::Receiver};
//!
//! # let dir = tempfile::tempdir()?;
//! let ledger = SqliteLedger::open(dir.path().join("happyhorse.db")).await?;
//! let receiver = Receiver::new(Arc::new(ledger))
//!     .with_hiapi_secret("whsec_example")
//!     .with_apiframe_key("af_example");
//! // Serve `/hiapi` and `/apiframe` (or nest the router under your own path).
//! let app = receiver.router();
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! Or serve it with the limits above, until a shutdown signal:
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::{sync::Arc, time::Duration};
//! use happyhorse::{ledger::SqliteLedger, receiver::{self, Receiver, ServeLimits}};
//!
//! let ledger = SqliteLedger::open("videos/happyhorse.db").await?;
//! let receiver = Arc::new(Receiver::new(Arc::new(ledger)).with_env());
//! // Optional: more connections before the cap (the soft open-file limit up to the hard one).
//! let _ = receiver::raise_open_files_limit();
//! let limits = ServeLimits::default().with_header_timeout(Duration::from_secs(5));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9000").await?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! # drop(stop);
//! // ... `stop.send(())` from elsewhere ends it.
//! let stats = receiver
//!     .serve(listener, limits, async {
//!         let _ = stopped.await;
//!     })
//!     .await;
//! println!("{} connections refused at the cap", stats.refused_connections);
//! # Ok(())
//! # }
//! ```

use std::{
    convert::Infallible,
    fmt,
    future::Future,
    io,
    pin::{pin, Pin},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    body::{Body, Bytes},
    extract::{DefaultBodyLimit, State},
    http::{header, HeaderMap, HeaderValue, Request, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use hyper::{body::Incoming, server::conn::http1, service::Service as _};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use serde_json::json;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
};
use tokio_util::sync::CancellationToken;

use crate::{
    client::{ApiKey, CallbackError, CallbackInbox, Finished, TaskSnapshot, TaskState},
    ledger::{Heard, HeardEvent, Job, Ledger, Recorded},
    webhook::SignatureError,
    Error, Provider,
};

/// The environment variable holding HiAPI's callback signing secret.
pub const HIAPI_SECRET_ENV: &str = "HIAPI_WEBHOOK_SECRET";

type OnApplied = Arc<dyn Fn(&Job) + Send + Sync>;

/// Receives deliveries into a ledger: see the [module docs](self).
pub struct Receiver {
    ledger: Arc<dyn Ledger>,
    hiapi: Option<CallbackInbox>,
    apiframe: Option<CallbackInbox>,
    on_applied: Option<OnApplied>,
    counts: Counts,
    metrics: Option<crate::metrics::Metrics>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("ledger", &self.ledger)
            .field("hiapi", &self.hiapi.is_some())
            .field("apiframe", &self.apiframe.is_some())
            .field("counts", &self.stats())
            .finish()
    }
}

/// What a receiver did with one delivery.
#[derive(Debug)]
#[non_exhaustive]
pub enum Received {
    /// Verified and recorded: the job moved on (its end, or newer progress).
    Applied(Box<Job>),
    /// Verified, and already recorded: a redelivery or a duplicate.
    Duplicate(Box<Job>),
    /// Verified, but no job in the ledger has this task.
    Unknown {
        /// The provider.
        provider: Provider,
        /// The task.
        task_id: String,
    },
    /// Not accepted: the signature or the body did not pass.
    Refused(CallbackError),
    /// This receiver was given no way to verify the provider's deliveries.
    NotConfigured(Provider),
    /// Verified, but the ledger could not record it.
    LedgerFailed(Error),
}

impl Received {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Received::Applied(_) | Received::Duplicate(_) => 200,
            Received::Refused(CallbackError::Signature(
                SignatureError::MissingHeader(_)
                | SignatureError::Mismatch
                | SignatureError::Stale { .. },
            )) => 401,
            Received::Refused(_) => 400,
            Received::Unknown { .. } => 404,
            Received::NotConfigured(_) | Received::LedgerFailed(_) => 503,
        }
    }

    /// One word for the outcome (`applied`, `duplicate`, `unknown`, `refused`,
    /// `not_configured`, `ledger_failed`).
    pub fn kind(&self) -> &'static str {
        match self {
            Received::Applied(_) => "applied",
            Received::Duplicate(_) => "duplicate",
            Received::Unknown { .. } => "unknown",
            Received::Refused(_) => "refused",
            Received::NotConfigured(_) => "not_configured",
            Received::LedgerFailed(_) => "ledger_failed",
        }
    }
}

/// Deliveries a receiver handled, by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceiverStats {
    /// Recorded as news.
    pub applied: u64,
    /// Duplicates of what was recorded.
    pub duplicates: u64,
    /// For tasks no job has.
    pub unknown: u64,
    /// Refused (signature or body).
    pub refused: u64,
    /// Not recorded: the provider is not configured, or the ledger failed.
    pub failed: u64,
}

#[derive(Default)]
struct Counts {
    applied: AtomicU64,
    duplicates: AtomicU64,
    unknown: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
}

impl Receiver {
    /// A receiver recording into `ledger`, taking no provider's deliveries until told how to
    /// verify them ([`Receiver::with_hiapi_secret`], [`Receiver::with_apiframe_key`],
    /// [`Receiver::with_env`]).
    pub fn new(ledger: Arc<dyn Ledger>) -> Receiver {
        Receiver {
            ledger,
            hiapi: None,
            apiframe: None,
            on_applied: None,
            counts: Counts::default(),
            metrics: None,
        }
    }

    /// Takes HiAPI callbacks signed with `secret` (the signing secret of HiAPI's console).
    pub fn with_hiapi_secret(mut self, secret: impl Into<ApiKey>) -> Receiver {
        self.hiapi = Some(CallbackInbox::hiapi(Some(secret.into())));
        self
    }

    /// Takes HiAPI callbacks without a signature: for an account whose signing is off. Anyone
    /// who can reach the receiver can then report a task's end (with an output URL of their
    /// choosing); prefer a secret.
    pub fn with_hiapi_unsigned(mut self) -> Receiver {
        self.hiapi = Some(CallbackInbox::hiapi(None));
        self
    }

    /// Takes Apiframe webhooks, verified with the API key the jobs were submitted with.
    pub fn with_apiframe_key(mut self, api_key: impl Into<ApiKey>) -> Receiver {
        self.apiframe = Some(CallbackInbox::apiframe(api_key.into()));
        self
    }

    /// Takes what the environment configures: HiAPI with `HIAPI_WEBHOOK_SECRET`, Apiframe with
    /// its API key's variable (`APIFRAME_API_KEY`). Empty values count as unset.
    pub fn with_env(self) -> Receiver {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut receiver = self;
        if let Some(secret) = var(HIAPI_SECRET_ENV) {
            receiver = receiver.with_hiapi_secret(secret);
        }
        if let Some(key) = var(Provider::Apiframe.api_key_env()) {
            receiver = receiver.with_apiframe_key(key);
        }
        receiver
    }

    /// Calls `f` with the job as recorded, once per event that changed it (a task's end, newer
    /// progress), after the record is committed; never for a duplicate. A receiver that dies
    /// between the commit and the call does not call it: drive effects that must not be missed
    /// from the ledger (as batches save videos), not from here.
    pub fn on_applied(mut self, f: impl Fn(&Job) + Send + Sync + 'static) -> Receiver {
        self.on_applied = Some(Arc::new(f));
        self
    }

    /// Counts deliveries into `metrics` (`happyhorse_callbacks_total{provider,outcome,reason}`),
    /// and serves them at `GET /metrics` beside the delivery routes (see [`crate::metrics`]).
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Receiver {
        self.metrics = Some(metrics);
        self
    }

    /// The providers this receiver takes deliveries from.
    pub fn providers(&self) -> Vec<Provider> {
        [
            self.hiapi.as_ref().map(|_| Provider::HiApi),
            self.apiframe.as_ref().map(|_| Provider::Apiframe),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Deliveries handled so far, by outcome.
    pub fn stats(&self) -> ReceiverStats {
        let read = |n: &AtomicU64| n.load(Ordering::Relaxed);
        ReceiverStats {
            applied: read(&self.counts.applied),
            duplicates: read(&self.counts.duplicates),
            unknown: read(&self.counts.unknown),
            refused: read(&self.counts.refused),
            failed: read(&self.counts.failed),
        }
    }

    /// Handles one delivery from `provider`: its headers and its raw body, exactly as
    /// received. Answer with [`Received::status`].
    pub async fn receive(&self, provider: Provider, headers: &HeaderMap, body: &[u8]) -> Received {
        let received = self.handle(provider, headers, body).await;
        let counter = match &received {
            Received::Applied(_) => &self.counts.applied,
            Received::Duplicate(_) => &self.counts.duplicates,
            Received::Unknown { .. } => &self.counts.unknown,
            Received::Refused(_) => &self.counts.refused,
            Received::NotConfigured(_) | Received::LedgerFailed(_) => &self.counts.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(metrics) = &self.metrics {
            count(metrics, provider, &received);
        }
        log(provider, &received);
        received
    }

    async fn handle(&self, provider: Provider, headers: &HeaderMap, body: &[u8]) -> Received {
        let inbox = match provider {
            Provider::HiApi => self.hiapi.as_ref(),
            Provider::Apiframe => self.apiframe.as_ref(),
            Provider::Reapi => None,
        };
        let Some(inbox) = inbox else {
            return Received::NotConfigured(provider);
        };
        let snapshot = match inbox.verify(headers, body) {
            Ok(snapshot) => snapshot,
            Err(err) => return Received::Refused(err),
        };
        let heard = heard(snapshot);
        match self.ledger.record(&heard).await {
            Ok(Recorded::Applied(job)) => {
                if let Some(f) = &self.on_applied {
                    f(&job);
                }
                Received::Applied(Box::new(job))
            }
            Ok(Recorded::Duplicate(job)) => Received::Duplicate(Box::new(job)),
            Ok(Recorded::Unknown) => Received::Unknown {
                provider,
                task_id: heard.task_id,
            },
            Err(err) => Received::LedgerFailed(err),
        }
    }

    /// An axum router serving `POST /hiapi` and `POST /apiframe`. A body above
    /// [`ServeLimits::DEFAULT_MAX_BODY`] (64 KiB) is refused with `413`. The router sets no
    /// timer and no cap: in a server of your own, give it those; [`Receiver::serve`] has them.
    pub fn router(self) -> Router {
        Arc::new(self).router_shared()
    }

    /// [`Receiver::router`] for a receiver shared with other code (to read its stats).
    pub fn router_shared(self: Arc<Self>) -> Router {
        self.routes(ServeLimits::DEFAULT_MAX_BODY)
    }

    fn routes(self: Arc<Self>, max_body: usize) -> Router {
        let mut router = Router::new()
            .route("/hiapi", post(hiapi))
            .route("/apiframe", post(apiframe));
        if self.metrics.is_some() {
            router = router.route("/metrics", get(scrape));
        }
        router
            .with_state(self)
            .layer(DefaultBodyLimit::max(max_body))
    }

    /// Serves [`Receiver::router`] on `listener` (HTTP/1.1) within `limits` until `shutdown`
    /// completes, then stops accepting, lets the requests in flight be answered (for up to
    /// 10 s), closes the other connections and returns what the limits refused. See
    /// [Facing the internet](self#facing-the-internet).
    ///
    /// It never fails: a connection's error ends that connection, and an accept error other
    /// than a client's (the process out of file descriptors or memory) is logged and retried
    /// every 100 ms, without spinning.
    ///
    /// Give `listener` a deep accept queue (`tokio::net::TcpSocket::listen(4096)`, as
    /// `happyhorse serve` does; `TcpListener::bind` queues 1024): slow clients cut off by the
    /// header timeout together reconnect together, and a delivery whose connection overflows
    /// the queue waits a second or more for its SYN to be retried.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        limits: ServeLimits,
        shutdown: impl Future<Output = ()>,
    ) -> ServeStats {
        let serving = Arc::new(Serving {
            router: TowerToHyperService::new(self.routes(limits.max_body)),
            requests: Semaphore::new(limits.max_requests),
            limits: limits.clone(),
            counts: ServeCounts::default(),
            warned_requests: Throttle::default(),
        });
        let connections = Arc::new(Semaphore::new(limits.max_connections));
        let lingering = Arc::new(Semaphore::new(LINGERING));
        let busy: Arc<[u8]> = busy_answer_bytes().into();
        let (warned_connections, warned_accept) = (Throttle::default(), Throttle::default());
        let closing = CancellationToken::new();
        let mut shutdown = pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                biased;
                () = &mut shutdown => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    match Arc::clone(&connections).try_acquire_owned() {
                        Ok(permit) => {
                            serving.counts.connections.fetch_add(1, Ordering::Relaxed);
                            tokio::spawn(connection(
                                Arc::clone(&serving),
                                stream,
                                permit,
                                closing.clone(),
                            ));
                        }
                        Err(_) => {
                            let refused = serving
                                .counts
                                .refused_connections
                                .fetch_add(1, Ordering::Relaxed);
                            if warned_connections.due() {
                                tracing::warn!(
                                    max_connections = limits.max_connections,
                                    refused = refused + 1,
                                    "connection cap reached: answering 503 until connections close"
                                );
                            }
                            refuse(stream, Arc::clone(&busy), &lingering);
                        }
                    }
                }
                Err(err) if is_connection_error(&err) => {}
                Err(err) => {
                    if warned_accept.due() {
                        tracing::error!(error = %err, "cannot accept a connection; retrying every 100 ms");
                    }
                    tokio::select! {
                        biased;
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                    }
                }
            }
        }
        drop(listener);
        closing.cancel();
        let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
        let _ =
            tokio::time::timeout(SHUTDOWN_GRACE + IDLE_GRACE, connections.acquire_many(all)).await;
        serving.counts.snapshot()
    }
}

/// The most a request head (request line and headers) may take: beyond, `431`.
const MAX_HEAD: usize = 16 * 1024;
/// The `Retry-After` of a `503` beyond a cap, in seconds.
const RETRY_AFTER_SECS: u64 = 5;
/// How long the requests in flight at shutdown may take to be answered.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long a connection with no request in flight is given at shutdown (to finish writing an
/// answer) before it is closed.
const IDLE_GRACE: Duration = Duration::from_millis(200);
/// Refused connections closed gracefully at a time (answer, FIN, the client's leftovers
/// drained); beyond, a refused connection is answered and closed at once.
const LINGERING: usize = 64;
/// How long a refused connection may take to be answered and drained.
const LINGER: Duration = Duration::from_secs(1);
/// The pause after an accept error that is not a client's (out of descriptors or memory).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// A warning of each kind at most this often (an attack must not flood the log).
const WARN_EVERY: Duration = Duration::from_secs(10);

/// What [`Receiver::serve`] lets clients hold: see [Facing the internet](self#facing-the-internet).
///
/// ```
/// use std::time::Duration;
/// use happyhorse::receiver::ServeLimits;
///
/// let limits = ServeLimits::default()
///     .with_header_timeout(Duration::from_secs(5))
///     .with_max_connections(1000);
/// assert_eq!(limits.max_body(), 64 * 1024);
/// assert_eq!(limits.max_connections(), 1000);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeLimits {
    header_timeout: Duration,
    body_timeout: Duration,
    max_body: usize,
    max_connections: usize,
    max_requests: usize,
}

impl Default for ServeLimits {
    /// The documented defaults, with the connection cap taken from this process's open-file
    /// limit as it is now ([`ServeLimits::DEFAULT_MAX_CONNECTIONS`], or the soft
    /// `RLIMIT_NOFILE` − [`ServeLimits::RESERVED_FILES`] if that is lower).
    fn default() -> Self {
        ServeLimits {
            header_timeout: Self::DEFAULT_HEADER_TIMEOUT,
            body_timeout: Self::DEFAULT_BODY_TIMEOUT,
            max_body: Self::DEFAULT_MAX_BODY,
            max_connections: connections_for(open_files_limit()),
            max_requests: Self::DEFAULT_MAX_REQUESTS,
        }
    }
}

impl ServeLimits {
    /// How long a connection may take to send a whole request head, from its opening or from
    /// its last answer (so also how long a kept-alive connection may stay idle): 10 s.
    pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    /// How long a request body may take to arrive, from the end of its head, and how long
    /// writing an answer may make no progress (a client that stopped reading): 10 s.
    pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
    /// The largest body taken before its signature is checked: 64 KiB (deliveries are a few
    /// KiB at most; see [the module docs](self#facing-the-internet)).
    pub const DEFAULT_MAX_BODY: usize = 64 * 1024;
    /// The most connections open at once, unless the open-file limit leaves fewer: 4096. A
    /// connection held by a slow client costs about 22–24 KiB (hyper's read and write buffers
    /// and the task; 4,000 of them: 100–108 MiB peak RSS in `benches/serve_attack.rs`), so
    /// the cap bounds slow clients near 100 MiB.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
    /// File descriptors the default connection cap leaves to the rest of the process (the
    /// listener, the ledger's files or sockets, the runtime, logs, refused connections being
    /// answered): 128. Under a soft limit of 256 or less, the cap is half the limit instead.
    pub const RESERVED_FILES: u64 = 128;
    /// The most requests in flight at once (head read, answer not yet given): 256, so at most
    /// 256 × 64 KiB = 16 MiB of bodies held before their signatures are checked.
    pub const DEFAULT_MAX_REQUESTS: usize = 256;

    /// The header timeout (see [`ServeLimits::DEFAULT_HEADER_TIMEOUT`]); at least 1 ms.
    pub fn with_header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The body timeout (see [`ServeLimits::DEFAULT_BODY_TIMEOUT`]); at least 1 ms.
    pub fn with_body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The body limit in bytes (see [`ServeLimits::DEFAULT_MAX_BODY`]).
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The connection cap (see [`ServeLimits::DEFAULT_MAX_CONNECTIONS`]); from 1 to
    /// 4,294,967,295. Keep it below the open-file limit, or accepting stalls when the process
    /// runs out of descriptors.
    pub fn with_max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.clamp(1, max_permits());
        self
    }

    /// The cap on requests in flight (see [`ServeLimits::DEFAULT_MAX_REQUESTS`]); at least 1.
    pub fn with_max_requests(mut self, requests: usize) -> Self {
        self.max_requests = requests.clamp(1, max_permits());
        self
    }

    /// The header timeout (also the idle keep-alive timeout).
    pub fn header_timeout(&self) -> Duration {
        self.header_timeout
    }

    /// The body timeout.
    pub fn body_timeout(&self) -> Duration {
        self.body_timeout
    }

    /// The body limit, in bytes.
    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// The connection cap.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// The cap on requests in flight.
    pub fn max_requests(&self) -> usize {
        self.max_requests
    }
}

fn max_permits() -> usize {
    Semaphore::MAX_PERMITS.min(u32::MAX as usize)
}

/// The default connection cap under a soft open-file limit of `files` (`None`: unlimited).
fn connections_for(files: Option<u64>) -> usize {
    let Some(files) = files else {
        return ServeLimits::DEFAULT_MAX_CONNECTIONS;
    };
    let usable = files
        .saturating_sub(ServeLimits::RESERVED_FILES)
        .max(files / 2)
        .max(1);
    usize::try_from(usable)
        .unwrap_or(usize::MAX)
        .min(ServeLimits::DEFAULT_MAX_CONNECTIONS)
}

/// This process's soft limit on open files (`RLIMIT_NOFILE`), or `None` when it is unlimited
/// or cannot be read.
pub fn open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let (soft, _) = rlimit_nofile().ok()?;
        (soft != libc::RLIM_INFINITY).then(|| files(soft))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Raises this process's soft limit on open files to its hard limit (a process may always do
/// that) and returns the soft limit now in force, so that [`ServeLimits::default`] can allow
/// more connections. `happyhorse serve` calls it at start. On a system without `RLIMIT_NOFILE`
/// the error is [`io::ErrorKind::Unsupported`].
pub fn raise_open_files_limit() -> io::Result<u64> {
    #[cfg(unix)]
    {
        let (soft, hard) = rlimit_nofile()?;
        if soft < hard {
            let raised = libc::rlimit {
                rlim_cur: hard,
                rlim_max: hard,
            };
            // SAFETY: setrlimit reads the struct it is given, which lives across the call.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        let (soft, _) = rlimit_nofile()?;
        Ok(files(soft))
    }
    #[cfg(not(unix))]
    {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no open-file limit to raise on this system",
        ))
    }
}

/// A count of files as `u64` (`rlim_t` is narrower on some 32-bit systems).
#[cfg(unix)]
#[allow(clippy::useless_conversion)]
fn files(n: libc::rlim_t) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(unix)]
fn rlimit_nofile() -> io::Result<(libc::rlim_t, libc::rlim_t)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given, which lives across the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((limit.rlim_cur, limit.rlim_max))
}

/// What [`Receiver::serve`]'s limits did, over its run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeStats {
    /// Connections accepted and served.
    pub connections: u64,
    /// Connections answered `503` at once because the connection cap was reached.
    pub refused_connections: u64,
    /// Requests answered `503` because the cap on requests in flight was reached.
    pub refused_requests: u64,
    /// Connections closed by the header timeout: a request head too slow, or a kept-alive
    /// connection idle too long.
    pub header_timeouts: u64,
    /// Requests answered `408`: the body did not arrive within the body timeout.
    pub body_timeouts: u64,
    /// Requests answered `413`: the body was above the body limit.
    pub too_large: u64,
    /// Connections cut because the client took no answer (its buffers full, writing made no
    /// progress) for the body timeout.
    pub answers_not_taken: u64,
}

#[derive(Default)]
struct ServeCounts {
    connections: AtomicU64,
    refused_connections: AtomicU64,
    refused_requests: AtomicU64,
    header_timeouts: AtomicU64,
    body_timeouts: AtomicU64,
    too_large: AtomicU64,
    answers_not_taken: AtomicU64,
}

impl ServeCounts {
    fn snapshot(&self) -> ServeStats {
        let read = |n: &AtomicU64| n.load(Ordering::Relaxed);
        ServeStats {
            connections: read(&self.connections),
            refused_connections: read(&self.refused_connections),
            refused_requests: read(&self.refused_requests),
            header_timeouts: read(&self.header_timeouts),
            body_timeouts: read(&self.body_timeouts),
            too_large: read(&self.too_large),
            answers_not_taken: read(&self.answers_not_taken),
        }
    }
}

/// True at most once per [`WARN_EVERY`].
#[derive(Default)]
struct Throttle(Mutex<Option<Instant>>);

impl Throttle {
    fn due(&self) -> bool {
        let Ok(mut last) = self.0.lock() else {
            return false;
        };
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < WARN_EVERY) {
            return false;
        }
        *last = Some(now);
        true
    }
}

/// What every connection of one [`Receiver::serve`] shares.
struct Serving {
    router: TowerToHyperService<Router>,
    limits: ServeLimits,
    requests: Semaphore,
    counts: ServeCounts,
    warned_requests: Throttle,
}

/// Marks a connection as answering a request while it lives.
struct InFlight(Arc<AtomicBool>);

impl InFlight {
    fn new(flag: &Arc<AtomicBool>) -> InFlight {
        flag.store(true, Ordering::Relaxed);
        InFlight(Arc::clone(flag))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// One accepted connection, served until it ends, a timeout cuts it, or shutdown.
async fn connection(
    serving: Arc<Serving>,
    stream: TcpStream,
    permit: OwnedSemaphorePermit,
    closing: CancellationToken,
) {
    let in_flight = Arc::new(AtomicBool::new(false));
    let service = {
        let (serving, in_flight) = (Arc::clone(&serving), Arc::clone(&in_flight));
        hyper::service::service_fn(move |request| {
            let (serving, in_flight) = (Arc::clone(&serving), Arc::clone(&in_flight));
            async move {
                let _in_flight = InFlight::new(&in_flight);
                Ok::<_, Infallible>(serving.request(request).await)
            }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(serving.limits.header_timeout)
        .max_buf_size(MAX_HEAD)
        .keep_alive(true);
    let stream = WriteDeadline {
        stream,
        stall: serving.limits.body_timeout,
        stalled: None,
    };
    let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), service));
    let ended = tokio::select! {
        ended = conn.as_mut() => ended,
        () = closing.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let grace = if in_flight.load(Ordering::Relaxed) { SHUTDOWN_GRACE } else { IDLE_GRACE };
            tokio::time::timeout(grace, conn.as_mut()).await.unwrap_or(Ok(()))
        }
    };
    if let Err(err) = ended {
        if err.is_timeout() {
            serving
                .counts
                .header_timeouts
                .fetch_add(1, Ordering::Relaxed);
        } else if answer_not_taken(&err) {
            serving
                .counts
                .answers_not_taken
                .fetch_add(1, Ordering::Relaxed);
        } else {
            tracing::debug!(error = %err, "connection ended with an error");
        }
    }
    drop(permit);
}

/// Whether `err` is [`WriteDeadline`]'s: the client took no answer for the body timeout.
fn answer_not_taken(err: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(err) = source {
        if err
            .downcast_ref::<io::Error>()
            .is_some_and(|err| err.kind() == io::ErrorKind::TimedOut)
        {
            return true;
        }
        source = err.source();
    }
    false
}

/// A connection's stream whose writes fail once they have made no progress for `stall`: a
/// client that stops reading its answers (its buffers full) must not hold its connection for
/// ever, and hyper has no write timeout.
struct WriteDeadline {
    stream: TcpStream,
    stall: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl WriteDeadline {
    /// `polled`, or a `TimedOut` error once writing has been pending for `stall`.
    fn waited<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let stall = self.stall;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took no answer",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.waited(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.waited(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_flush(cx);
        this.waited(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_shutdown(cx);
        this.waited(cx, polled)
    }
}

/// Why a body was not read whole.
enum BodyRead {
    TooLarge,
    Broken,
}

impl Serving {
    /// One request: refused if too many are in flight or its body is too large or too slow,
    /// else read whole and handed to the router.
    async fn request(&self, request: Request<Incoming>) -> Response {
        let Ok(_permit) = self.requests.try_acquire() else {
            let refused = self.counts.refused_requests.fetch_add(1, Ordering::Relaxed);
            if self.warned_requests.due() {
                tracing::warn!(
                    max_requests = self.limits.max_requests,
                    refused = refused + 1,
                    "cap on requests in flight reached: answering 503"
                );
            }
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many requests in flight; retry later".into(),
                true,
            );
        };
        let max = self.limits.max_body;
        let announced = hyper::body::Body::size_hint(request.body()).lower();
        if announced > u64::try_from(max).unwrap_or(u64::MAX) {
            return self.too_large();
        }
        let (parts, body) = request.into_parts();
        let body = match tokio::time::timeout(self.limits.body_timeout, read_body(body, max)).await
        {
            Ok(Ok(body)) => body,
            Ok(Err(BodyRead::TooLarge)) => return self.too_large(),
            Ok(Err(BodyRead::Broken)) => {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    "unreadable",
                    "the body could not be read".into(),
                    false,
                )
            }
            Err(_) => {
                self.counts.body_timeouts.fetch_add(1, Ordering::Relaxed);
                return refusal(
                    StatusCode::REQUEST_TIMEOUT,
                    "timeout",
                    format!(
                        "the body did not arrive within {} ms",
                        self.limits.body_timeout.as_millis()
                    ),
                    false,
                );
            }
        };
        match self
            .router
            .call(Request::from_parts(parts, Body::from(body)))
            .await
        {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    fn too_large(&self) -> Response {
        self.counts.too_large.fetch_add(1, Ordering::Relaxed);
        refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "a delivery's body is at most {} bytes",
                self.limits.max_body
            ),
            false,
        )
    }
}

/// Reads `body` whole, refusing it as soon as it passes `max` bytes.
async fn read_body(body: Incoming, max: usize) -> Result<Bytes, BodyRead> {
    use hyper::body::Body as _;
    let mut body = pin!(body);
    let expected = usize::try_from(body.size_hint().lower()).unwrap_or(max);
    let mut bytes = Vec::with_capacity(expected.min(max));
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|_| BodyRead::Broken)?;
        if let Ok(data) = frame.into_data() {
            if data.len() > max - bytes.len() {
                return Err(BodyRead::TooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(bytes))
}

/// An answer that closes the connection: `{"outcome", "error"}`, and `Retry-After` for a
/// `503`.
fn refusal(status: StatusCode, outcome: &str, error: String, retry_after: bool) -> Response {
    let mut response = (status, Json(json!({"outcome": outcome, "error": error}))).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    if retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    response
}

/// The `503` written to a connection beyond the cap, as bytes on the wire.
fn busy_answer_bytes() -> Vec<u8> {
    let body = json!({"outcome": "busy", "error": "too many connections; retry later"}).to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: {RETRY_AFTER_SECS}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Answers a connection beyond the cap with `busy` and closes it: gracefully (FIN, then what
/// the client still sends drained for up to a second, so that its request does not turn the
/// close into a reset that could destroy the answer) while fewer than [`LINGERING`] are being
/// closed so, at once otherwise.
fn refuse(mut stream: TcpStream, busy: Arc<[u8]>, lingering: &Arc<Semaphore>) {
    let Ok(permit) = Arc::clone(lingering).try_acquire_owned() else {
        let _ = stream.try_write(&busy);
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        let _ = tokio::time::timeout(LINGER, async {
            stream.write_all(&busy).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 4096];
            let mut drained = 0;
            while drained < 4 * MAX_HEAD {
                match stream.read(&mut sink).await? {
                    0 => break,
                    n => drained += n,
                }
            }
            io::Result::Ok(())
        })
        .await;
    });
}

/// An accept error that is the client's doing (it went away): nothing to wait for.
fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Counts one delivery in `metrics`: its outcome, and a refusal's reason (never a value from
/// the delivery).
fn count(metrics: &crate::metrics::Metrics, provider: Provider, received: &Received) {
    let outcome = match received {
        Received::Applied(_) => "accepted",
        other => other.kind(),
    };
    let reason = match received {
        Received::Refused(CallbackError::Signature(SignatureError::MissingHeader(_))) => {
            Some("signature_missing")
        }
        Received::Refused(CallbackError::Signature(SignatureError::Malformed(_))) => {
            Some("signature_malformed")
        }
        Received::Refused(CallbackError::Signature(SignatureError::Stale { .. })) => {
            Some("signature_stale")
        }
        Received::Refused(CallbackError::Signature(SignatureError::Mismatch)) => {
            Some("signature_mismatch")
        }
        Received::Refused(CallbackError::Body { .. }) => Some("body"),
        _ => None,
    };
    let name = "happyhorse_callbacks_total";
    let provider = provider.name();
    match reason {
        Some(reason) => metrics.count(
            name,
            &[
                ("provider", provider),
                ("outcome", outcome),
                ("reason", reason),
            ],
            1,
        ),
        None => metrics.count(name, &[("provider", provider), ("outcome", outcome)], 1),
    }
}

/// `GET /metrics`: the receiver's metrics in the Prometheus text format.
async fn scrape(State(receiver): State<Arc<Receiver>>) -> Response {
    let text = match &receiver.metrics {
        Some(metrics) => metrics.encode().await,
        None => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
        )],
        text,
    )
        .into_response()
}

async fn hiapi(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> Response {
    answer(r.receive(Provider::HiApi, &headers, &body).await)
}

async fn apiframe(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> Response {
    answer(r.receive(Provider::Apiframe, &headers, &body).await)
}

fn answer(received: Received) -> Response {
    let status = StatusCode::from_u16(received.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let detail = match &received {
        Received::Applied(_) | Received::Duplicate(_) => None,
        Received::Unknown { provider, task_id } => Some(format!(
            "no job in this receiver's ledger has {provider} task {task_id}"
        )),
        Received::Refused(err) => Some(err.to_string()),
        Received::NotConfigured(provider) => Some(format!(
            "this receiver takes no {provider} deliveries (no way to verify them is configured)"
        )),
        // The ledger's message may name its location; the log has it, the sender does not.
        Received::LedgerFailed(_) => Some("the delivery could not be recorded; retry".into()),
    };
    let body = match detail {
        Some(error) => json!({"outcome": received.kind(), "error": error}),
        None => json!({"outcome": received.kind()}),
    };
    (status, Json(body)).into_response()
}

fn log(provider: Provider, received: &Received) {
    let kind = received.kind();
    match received {
        Received::Applied(job) | Received::Duplicate(job) => tracing::info!(
            %provider, task = job.task_id.as_deref().unwrap_or(""), job = %job.id,
            state = %job.state, outcome = kind, "delivery"
        ),
        Received::Unknown { task_id, .. } => {
            tracing::warn!(%provider, task = %task_id, outcome = kind, "delivery for a task no job has")
        }
        Received::Refused(err) => {
            tracing::warn!(%provider, outcome = kind, error = %err, "delivery refused")
        }
        Received::NotConfigured(_) => tracing::warn!(
            %provider, outcome = kind,
            "delivery for a provider this receiver cannot verify"
        ),
        Received::LedgerFailed(err) => {
            tracing::error!(%provider, outcome = kind, error = %err, "delivery not recorded")
        }
    }
}

/// What a verified delivery says, in the ledger's terms.
fn heard(snapshot: TaskSnapshot) -> Heard {
    let (provider, task_id, status) = (
        snapshot.provider,
        snapshot.id.clone(),
        snapshot.status.clone(),
    );
    let event = match snapshot.state {
        TaskState::Succeeded => match Finished::try_from(snapshot) {
            Ok(finished) => HeardEvent::Succeeded(finished.output().clone()),
            Err(not) => HeardEvent::Failed(Error::from(not).to_string()),
        },
        TaskState::Failed | TaskState::Cancelled => HeardEvent::Failed(snapshot.failure()),
        _ => HeardEvent::Progress(snapshot.progress),
    };
    Heard {
        provider,
        task_id,
        status,
        event,
    }
}
