//! What the sandbox observed, for benchmarks: per task ([`TaskObservation`]), in all
//! ([`SandboxStats`]), counted with relaxed atomics as requests are served, and every callback
//! delivery attempt ([`Delivery`]), kept in a bounded log and optionally appended to a JSON
//! Lines file.

use std::{
    collections::VecDeque,
    fs::File,
    io::Write,
    path::Path,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde_json::{json, Value};

use crate::Provider;

/// One task as the sandbox saw it: read with [`super::Sandbox::observations`].
///
/// Times are simulated (see [`super::SandboxConfig::time_scale`]): with a time scale of 60, a
/// task whose `duration` is 180 s ran for 3 real seconds.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TaskObservation {
    /// The provider the task was submitted to.
    pub provider: Provider,
    /// The task's id, as its provider's answers name it.
    pub id: String,
    /// How long the task takes from its creation to its terminal status: the duration it drew
    /// from [`super::SandboxConfig::task_seconds`].
    pub duration: Duration,
    /// How many status answers were served for it: `GET` of this task on its provider's status
    /// route (HiAPI `/v1/tasks/{id}`, reapi `/api/v1/tasks/{id}`, Apiframe `/v2/jobs/{id}`)
    /// that reached the task (a request refused before, by its key or an injected fault, is
    /// not counted; HiAPI's task list is not a poll).
    pub polls: u64,
    /// The time from the task's creation to the first of those answers that showed it
    /// terminal (succeeded or failed); `None` while no poll has. At least `duration`: the
    /// difference is how late the client noticed.
    pub first_terminal_poll_after: Option<Duration>,
    /// The wall-clock moment the task reaches (or will reach) its terminal status, in **real**
    /// time, not simulated: its creation plus `duration` scaled to real time (a 180 s task at a
    /// time scale of 60 finishes 3 real seconds after its submit). Comparable with other
    /// wall-clock readings, such as a file's modification time or [`Delivery::started_at`], to
    /// measure how long after a task finished its client noticed. Read on the sandbox's clock:
    /// the wall-clock time it started plus the monotonic time since, so a step of the system
    /// clock while it runs does not move it.
    pub finished_at: SystemTime,
}

/// Counts per provider.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProviderCounts([u64; 3]);

impl ProviderCounts {
    /// The count for `provider`.
    pub fn get(&self, provider: Provider) -> u64 {
        self.0[provider.index()]
    }

    /// The counts of the three providers added up.
    pub fn total(&self) -> u64 {
        self.0.iter().fold(0u64, |sum, n| sum.saturating_add(*n))
    }
}

/// What a sandbox served since it started: read with [`super::Sandbox::stats`]. Counted as
/// requests are answered (relaxed atomics: a read while requests are in flight may be a
/// moment behind).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SandboxStats {
    /// Requests to each provider's submit endpoint (HiAPI `POST /v1/tasks`, reapi
    /// `POST /api/v1/videos/generations`, Apiframe `POST /v2/videos/generate`), whatever their
    /// answer.
    pub submits: ProviderCounts,
    /// Tasks created (an idempotent replay creates none).
    pub tasks_created: ProviderCounts,
    /// Submits refused by [`super::SandboxConfig::rate_limit`] (not those an injected
    /// `rate_limit` fault refused).
    pub rate_limited: ProviderCounts,
    /// Status answers served for a task (see [`TaskObservation::polls`]).
    pub polls: ProviderCounts,
    /// Output downloads answered with the file, whole (200) or in part (206).
    pub downloads: u64,
}

/// What a callback delivery carried: a progress event (Apiframe's `progress` webhook event)
/// or the task's terminal status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeliveryEvent {
    /// A progress event, sent while the task runs (Apiframe, when subscribed).
    Progress,
    /// The terminal event: the task succeeded or failed (see [`Delivery::task_status`]).
    Terminal,
}

impl DeliveryEvent {
    /// `progress` or `terminal`, as the delivery log file writes it.
    pub fn name(self) -> &'static str {
        match self {
            DeliveryEvent::Progress => "progress",
            DeliveryEvent::Terminal => "terminal",
        }
    }
}

/// How one delivery attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// The receiver answered with this HTTP status: delivered when it is 2xx, otherwise the
    /// attempt failed (and is retried while attempts remain).
    Status(u16),
    /// The receiver did not answer within the attempt's timeout (10 s).
    TimedOut,
    /// No answer: the connection could not be made or broke before an answer.
    NoAnswer,
    /// Not attempted: the callback URL is not on a loopback host, and the sandbox delivers
    /// only there. One record, with [`Delivery::attempt`] 0.
    NotDeliverable,
    /// Not attempted: a `drop_callback` fault dropped the task's terminal event. One record,
    /// with [`Delivery::attempt`] 0.
    Dropped,
}

impl DeliveryOutcome {
    /// Whether the receiver took the delivery (answered 2xx).
    pub fn is_delivered(self) -> bool {
        matches!(self, DeliveryOutcome::Status(status) if (200..300).contains(&status))
    }

    /// `status`, `timed_out`, `no_answer`, `not_deliverable` or `dropped`, as the delivery log
    /// file writes it.
    pub fn name(self) -> &'static str {
        match self {
            DeliveryOutcome::Status(_) => "status",
            DeliveryOutcome::TimedOut => "timed_out",
            DeliveryOutcome::NoAnswer => "no_answer",
            DeliveryOutcome::NotDeliverable => "not_deliverable",
            DeliveryOutcome::Dropped => "dropped",
        }
    }
}

/// One callback (HiAPI) or webhook (Apiframe) delivery attempt, as the sandbox made it: read
/// with [`super::Sandbox::deliveries`], or appended to [`super::SandboxConfig::delivery_log`].
///
/// Neither the callback URL (its query may carry a token) nor any header (signatures) is
/// recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// The provider whose delivery it was.
    pub provider: Provider,
    /// The task's id, as its provider's answers name it.
    pub task_id: String,
    /// A progress event or the terminal one.
    pub event: DeliveryEvent,
    /// The task's status as the delivered body names it, in its provider's words: e.g.
    /// HiAPI `success` or `fail`, Apiframe `PROCESSING` (progress), `COMPLETED` or `FAILED`.
    pub task_status: &'static str,
    /// Which copy of the event: 1, or 1 to 3 when a `duplicate_callback` fault repeats the
    /// terminal event. Each copy is a delivery of its own, with its own attempts.
    pub copy: u8,
    /// The attempt within the copy, from 1 (retries follow
    /// [`super::SandboxConfig::callback_attempts`]); 0 when no attempt was made
    /// ([`DeliveryOutcome::NotDeliverable`], [`DeliveryOutcome::Dropped`]).
    pub attempt: u32,
    /// Whether this copy was sent at the same moment as another copy of the same event (a
    /// `duplicate_callback` fault's concurrent pair).
    pub concurrent: bool,
    /// When the attempt started, wall-clock time read on the sandbox's clock (as
    /// [`TaskObservation::finished_at`] is).
    pub started_at: SystemTime,
    /// How long the attempt took, until its answer, timeout or failure (zero when none was
    /// made).
    pub duration: Duration,
    /// How the attempt ended.
    pub outcome: DeliveryOutcome,
}

impl Delivery {
    /// The delivery as one line of the delivery log file (see
    /// [`super::SandboxConfig::delivery_log`]).
    fn to_json(&self) -> Value {
        let since_epoch = self
            .started_at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let started_at = i64::try_from(since_epoch.as_secs())
            .ok()
            .and_then(|secs| chrono::DateTime::from_timestamp(secs, since_epoch.subsec_nanos()))
            .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
        let http_status = match self.outcome {
            DeliveryOutcome::Status(status) => Some(status),
            _ => None,
        };
        json!({
            "provider": self.provider.name(),
            "task_id": self.task_id,
            "event": self.event.name(),
            "task_status": self.task_status,
            "copy": self.copy,
            "attempt": self.attempt,
            "concurrent": self.concurrent,
            "started_at": started_at,
            "started_unix_ms": u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX),
            "duration_ms": self.duration.as_secs_f64() * 1000.0,
            "outcome": self.outcome.name(),
            "http_status": http_status,
        })
    }
}

/// The delivery log behind [`super::Sandbox::deliveries`]: the last `cap` attempts in memory,
/// and each appended to a file as it is recorded, when one is set.
#[derive(Debug)]
pub(crate) struct DeliveryLog {
    cap: usize,
    inner: Mutex<LogInner>,
}

#[derive(Debug)]
struct LogInner {
    entries: VecDeque<Delivery>,
    file: Option<File>,
    /// A write to the file failed and was reported; reported again only after one succeeds.
    failing: bool,
}

impl DeliveryLog {
    /// A log that keeps the last `cap` records in memory and appends each to `file`.
    pub fn new(cap: usize, file: Option<File>) -> Self {
        DeliveryLog {
            cap: cap.max(1),
            inner: Mutex::new(LogInner {
                entries: VecDeque::new(),
                file,
                failing: false,
            }),
        }
    }

    /// Opens (creating it if need be) the file a log appends to.
    pub fn open(path: &Path) -> std::io::Result<File> {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|err| {
                std::io::Error::new(
                    err.kind(),
                    format!("cannot open the delivery log {}: {err}", path.display()),
                )
            })
    }

    /// Records one attempt: in memory (dropping the oldest beyond the cap) and as one line of
    /// the file, written whole with one `write` under the log's lock, so lines never mix and
    /// the file holds every record [`DeliveryLog::snapshot`] shows. A failed write is logged,
    /// once until a write succeeds again.
    pub fn record(&self, delivery: Delivery) {
        let line = {
            let mut line = delivery.to_json().to_string();
            line.push('\n');
            line
        };
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(file) = &mut inner.file {
            match file.write_all(line.as_bytes()) {
                Ok(()) => inner.failing = false,
                Err(err) => {
                    if !inner.failing {
                        tracing::warn!("cannot append to the delivery log: {err}");
                    }
                    inner.failing = true;
                }
            }
        }
        if inner.entries.len() >= self.cap {
            inner.entries.pop_front();
        }
        inner.entries.push_back(delivery);
    }

    /// The records in memory, oldest first.
    pub fn snapshot(&self) -> Vec<Delivery> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entries
            .iter()
            .cloned()
            .collect()
    }
}

/// The counters behind [`SandboxStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    submits: [AtomicU64; 3],
    tasks_created: [AtomicU64; 3],
    rate_limited: [AtomicU64; 3],
    polls: [AtomicU64; 3],
    downloads: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn read(counters: &[AtomicU64; 3]) -> ProviderCounts {
    ProviderCounts(counters.each_ref().map(|n| n.load(Ordering::Relaxed)))
}

impl Counters {
    pub fn submit(&self, provider: Provider) {
        bump(&self.submits[provider.index()]);
    }

    pub fn task_created(&self, provider: Provider) {
        bump(&self.tasks_created[provider.index()]);
    }

    pub fn rate_limited(&self, provider: Provider) {
        bump(&self.rate_limited[provider.index()]);
    }

    pub fn poll(&self, provider: Provider) {
        bump(&self.polls[provider.index()]);
    }

    pub fn download(&self) {
        bump(&self.downloads);
    }

    pub fn snapshot(&self) -> SandboxStats {
        SandboxStats {
            submits: read(&self.submits),
            tasks_created: read(&self.tasks_created),
            rate_limited: read(&self.rate_limited),
            polls: read(&self.polls),
            downloads: self.downloads.load(Ordering::Relaxed),
        }
    }
}

/// Marks "no terminal poll yet" in [`PollRecord::first_terminal_nanos`].
const NONE_YET: u64 = u64::MAX;

/// A task's polls: how many, and the simulated nanoseconds from its creation to the first that
/// showed it terminal.
#[derive(Debug)]
pub(crate) struct PollRecord {
    count: AtomicU64,
    first_terminal_nanos: AtomicU64,
}

impl Default for PollRecord {
    fn default() -> Self {
        PollRecord {
            count: AtomicU64::new(0),
            first_terminal_nanos: AtomicU64::new(NONE_YET),
        }
    }
}

impl PollRecord {
    /// Counts a poll answered `simulated` after the task's creation, terminal or not.
    pub fn record(&self, simulated: Duration, terminal: bool) {
        bump(&self.count);
        if terminal && self.first_terminal_nanos.load(Ordering::Relaxed) == NONE_YET {
            let nanos = u64::try_from(simulated.as_nanos())
                .unwrap_or(NONE_YET)
                .min(NONE_YET - 1);
            // The first to record wins; a later poll changes nothing.
            let _ = self.first_terminal_nanos.compare_exchange(
                NONE_YET,
                nanos,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// How many polls were counted.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The simulated time to the first terminal poll, if any.
    pub fn first_terminal(&self) -> Option<Duration> {
        match self.first_terminal_nanos.load(Ordering::Relaxed) {
            NONE_YET => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_count_per_provider() {
        let counters = Counters::default();
        counters.submit(Provider::HiApi);
        counters.submit(Provider::HiApi);
        counters.submit(Provider::Apiframe);
        counters.rate_limited(Provider::HiApi);
        counters.download();
        let stats = counters.snapshot();
        assert_eq!(stats.submits.get(Provider::HiApi), 2);
        assert_eq!(stats.submits.get(Provider::Reapi), 0);
        assert_eq!(stats.submits.total(), 3);
        assert_eq!(stats.rate_limited.total(), 1);
        assert_eq!(stats.tasks_created.total(), 0);
        assert_eq!(stats.downloads, 1);
    }

    fn attempt(id: &str, attempt: u32, outcome: DeliveryOutcome) -> Delivery {
        Delivery {
            provider: Provider::HiApi,
            task_id: id.to_owned(),
            event: DeliveryEvent::Terminal,
            task_status: "success",
            copy: 2,
            attempt,
            concurrent: true,
            started_at: UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456),
            duration: Duration::from_micros(1500),
            outcome,
        }
    }

    #[test]
    fn the_delivery_log_keeps_the_latest_records_and_writes_each_as_a_json_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let log = DeliveryLog::new(2, Some(DeliveryLog::open(&path).unwrap()));
        log.record(attempt("a", 1, DeliveryOutcome::Status(500)));
        log.record(attempt("a", 2, DeliveryOutcome::Status(200)));
        log.record(attempt("b", 0, DeliveryOutcome::Dropped));
        let kept: Vec<(String, u32)> = log
            .snapshot()
            .into_iter()
            .map(|d| (d.task_id, d.attempt))
            .collect();
        assert_eq!(kept, [("a".to_owned(), 2), ("b".to_owned(), 0)]);
        // The file keeps every record, the oldest too.
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(
            lines[0],
            json!({
                "provider": "hiapi", "task_id": "a", "event": "terminal",
                "task_status": "success", "copy": 2, "attempt": 1, "concurrent": true,
                "started_at": "2023-11-14T22:13:20.123456Z",
                "started_unix_ms": 1_700_000_000_123u64, "duration_ms": 1.5,
                "outcome": "status", "http_status": 500,
            })
        );
        assert_eq!(lines[2]["outcome"], "dropped");
        assert_eq!(lines[2]["http_status"], Value::Null);
        assert!(DeliveryOutcome::Status(204).is_delivered());
        assert!(!DeliveryOutcome::Status(500).is_delivered());
        assert!(!DeliveryOutcome::TimedOut.is_delivered());
    }

    #[test]
    fn a_delivery_log_that_cannot_be_written_is_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("read-only.jsonl");
        std::fs::write(&path, "").unwrap();
        // Opened for reading: every write fails.
        let log = DeliveryLog::new(10, Some(File::open(&path).unwrap()));
        log.record(attempt("a", 1, DeliveryOutcome::NoAnswer));
        log.record(attempt("a", 2, DeliveryOutcome::TimedOut));
        assert_eq!(log.snapshot().len(), 2);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        let err = DeliveryLog::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("cannot open the delivery log"), "{err}");
    }

    #[test]
    fn the_first_terminal_poll_is_kept() {
        let record = PollRecord::default();
        assert_eq!(record.first_terminal(), None);
        record.record(Duration::from_secs(1), false);
        record.record(Duration::from_secs(3), true);
        record.record(Duration::from_secs(5), true);
        assert_eq!(record.count(), 3);
        assert_eq!(record.first_terminal(), Some(Duration::from_secs(3)));
        let far = PollRecord::default();
        far.record(Duration::MAX, true);
        assert_eq!(
            far.first_terminal(),
            Some(Duration::from_nanos(u64::MAX - 1))
        );
    }
}
