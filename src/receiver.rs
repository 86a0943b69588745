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

use std::{
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use serde_json::json;

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

    /// An axum router serving `POST /hiapi` and `POST /apiframe`.
    pub fn router(self) -> Router {
        Arc::new(self).router_shared()
    }

    /// [`Receiver::router`] for a receiver shared with other code (to read its stats).
    pub fn router_shared(self: Arc<Self>) -> Router {
        Router::new()
            .route("/hiapi", post(hiapi))
            .route("/apiframe", post(apiframe))
            .with_state(self)
    }
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
