//! Prometheus metrics of a batch worker and of a webhook receiver, in the text exposition
//! format (`text/plain; version=0.0.4`), written by hand: a few counters, gauges and two
//! histograms need no client library (and no crate to compile).
//!
//! One [`Metrics`] is shared (it is a cheap clone) by what it measures:
//! [`crate::batch::Batch::with_metrics`] counts submits, polls, downloads, retries and task
//! timings; `Receiver::with_metrics` (feature `receiver`) counts callbacks and serves
//! `GET /metrics`. [`Metrics::with_ledger`] adds the jobs per state, read from the ledger at
//! scrape time (at most once a second). [`Metrics::encode`] writes the text.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `happyhorse_submits_total` | counter | `provider`, `outcome` (`accepted`, `rate_limited`, `unavailable`, `network`, `uncertain`, `refused`, `authentication`, `credits`, `error`) |
//! | `happyhorse_polls_total` | counter | `provider` |
//! | `happyhorse_callbacks_total` | counter | `provider`, `outcome` (`accepted`, `duplicate`, `unknown`, `refused`, `not_configured`, `ledger_failed`), `reason` for refusals (`signature_missing`, `signature_malformed`, `signature_stale`, `signature_mismatch`, `body`) |
//! | `happyhorse_downloads_total` | counter | |
//! | `happyhorse_download_bytes_total` | counter | |
//! | `happyhorse_retries_total` | counter | `operation` (`submit`, `poll`, `download`: the client's own retries; `job_submit`, `job_download`: the batch's later tries), `reason` |
//! | `happyhorse_submit_pace_per_second` | gauge | `provider`: the submit pace learnt from the provider's 429s (absent until it pushed back) |
//! | `happyhorse_jobs` | gauge | `state` |
//! | `happyhorse_task_duration_seconds` | histogram | the task's time from submit to end (batch clock) |
//! | `happyhorse_completion_to_file_seconds` | histogram | from the poll or callback that saw the task succeed to its video saved |
//!
//! No label holds a key, a task id, a URL or a prompt.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::{
    ledger::{JobState, Ledger},
    Client, Error, Provider,
};

/// The content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How long the ledger's jobs per state are reused between scrapes.
const SUMMARY_FOR: Duration = Duration::from_secs(1);

/// Buckets of `happyhorse_task_duration_seconds`: tasks take a minute or several.
const TASK_BUCKETS: &[f64] = &[
    10.0, 30.0, 60.0, 90.0, 120.0, 180.0, 240.0, 300.0, 450.0, 600.0, 900.0, 1800.0,
];
/// Buckets of `happyhorse_completion_to_file_seconds`: a download of some MB.
const FILE_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
];

/// Jobs per state, as the ledger's summary gives them.
type States = Vec<(JobState, u64)>;

/// Labels of one series, in order: (name, value).
type Labels = Vec<(&'static str, String)>;

/// Prometheus metrics shared by a batch and a receiver: see the [module docs](self).
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    counters: Mutex<BTreeMap<(&'static str, Labels), u64>>,
    histograms: Mutex<BTreeMap<&'static str, Histogram>>,
    clients: Mutex<Vec<Client>>,
    ledger: std::sync::OnceLock<Arc<dyn Ledger>>,
    /// The last jobs per state read, and when.
    summary: tokio::sync::Mutex<Option<(Instant, States)>>,
}

struct Histogram {
    bounds: &'static [f64],
    /// Per bound, observations at most it (not cumulative).
    counts: Vec<u64>,
    count: u64,
    sum: f64,
}

/// What one family is.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
}

const COUNTERS: &[Family] = &[
    Family {
        name: "happyhorse_submits_total",
        kind: "counter",
        help: "Submits sent to a provider, by outcome.",
    },
    Family {
        name: "happyhorse_polls_total",
        kind: "counter",
        help: "Task status polls sent to a provider.",
    },
    Family {
        name: "happyhorse_callbacks_total",
        kind: "counter",
        help: "Callback deliveries received, by outcome (and reason, for refusals).",
    },
    Family {
        name: "happyhorse_downloads_total",
        kind: "counter",
        help: "Videos saved (downloaded or uploaded to the store).",
    },
    Family {
        name: "happyhorse_download_bytes_total",
        kind: "counter",
        help: "Bytes of the videos saved.",
    },
    Family {
        name: "happyhorse_retries_total",
        kind: "counter",
        help: "Retries, by operation and reason.",
    },
];

const TASK_DURATION: &str = "happyhorse_task_duration_seconds";
const COMPLETION_TO_FILE: &str = "happyhorse_completion_to_file_seconds";

const HISTOGRAMS: &[(Family, &[f64])] = &[
    (
        Family {
            name: TASK_DURATION,
            kind: "histogram",
            help: "Task time from the submit to its end (batch clock).",
        },
        TASK_BUCKETS,
    ),
    (
        Family {
            name: COMPLETION_TO_FILE,
            kind: "histogram",
            help: "Time from the poll or callback that saw a task succeed to its video saved.",
        },
        FILE_BUCKETS,
    ),
];

impl Metrics {
    /// Empty metrics, reading no ledger.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Reports the jobs per state of `ledger` (`happyhorse_jobs{state}`), read at scrape
    /// time, at most once a second. The first ledger given is the one read.
    pub fn with_ledger(self, ledger: Arc<dyn Ledger>) -> Metrics {
        // Set once: a second ledger is ignored.
        let _ = self.inner.ledger.set(ledger);
        self
    }

    /// Adds `by` to the counter `name` with `labels`.
    pub(crate) fn count(&self, name: &'static str, labels: &[(&'static str, &str)], by: u64) {
        let labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let mut counters = lock(&self.inner.counters);
        let n = counters.entry((name, labels)).or_insert(0);
        *n = n.saturating_add(by);
    }

    /// A task's time from submit to end, in seconds (ignored unless finite and not negative).
    pub(crate) fn task_duration(&self, seconds: f64) {
        self.observe(TASK_DURATION, seconds);
    }

    /// The time from a task's end seen to its video saved.
    pub(crate) fn completion_to_file(&self, seconds: f64) {
        self.observe(COMPLETION_TO_FILE, seconds);
    }

    fn observe(&self, name: &'static str, value: f64) {
        if !(value.is_finite() && value >= 0.0) {
            return;
        }
        let Some(bounds) = HISTOGRAMS
            .iter()
            .find(|(family, _)| family.name == name)
            .map(|(_, bounds)| *bounds)
        else {
            return;
        };
        let mut histograms = lock(&self.inner.histograms);
        let h = histograms.entry(name).or_insert_with(|| Histogram {
            bounds,
            counts: vec![0; bounds.len()],
            count: 0,
            sum: 0.0,
        });
        if let Some(i) = h.bounds.iter().position(|b| value <= *b) {
            if let Some(n) = h.counts.get_mut(i) {
                *n = n.saturating_add(1);
            }
        }
        h.count = h.count.saturating_add(1);
        h.sum += value;
    }

    /// Reports the submit pace of `clients` (`happyhorse_submit_pace_per_second`).
    pub(crate) fn watch_clients(&self, clients: impl IntoIterator<Item = Client>) {
        lock(&self.inner.clients).extend(clients);
    }

    /// The metrics in the text exposition format ([`CONTENT_TYPE`]). Reads the ledger's jobs
    /// per state when the last read is more than a second old; a ledger that fails leaves
    /// `happyhorse_jobs` out and says so in `happyhorse_ledger_up`.
    pub async fn encode(&self) -> String {
        let states = self.states().await;
        let mut out = String::with_capacity(4096);
        let mut counters = lock(&self.inner.counters).clone();
        // The clients' own retries, counted process-wide where they happen.
        for ((operation, reason), n) in crate::retry::counted() {
            let labels = vec![
                ("operation", operation.to_owned()),
                ("reason", reason.to_owned()),
            ];
            let total = counters
                .entry(("happyhorse_retries_total", labels))
                .or_insert(0);
            *total = total.saturating_add(n);
        }
        for family in COUNTERS {
            header(&mut out, family);
            let mut any = false;
            for ((name, labels), value) in &counters {
                if *name == family.name {
                    any = true;
                    let _ = writeln!(out, "{}{} {value}", family.name, label_text(labels));
                }
            }
            // A family without labels is shown at zero from the start.
            if !any
                && matches!(
                    family.name,
                    "happyhorse_downloads_total" | "happyhorse_download_bytes_total"
                )
            {
                let _ = writeln!(out, "{} 0", family.name);
            }
        }
        header(
            &mut out,
            &Family {
                name: "happyhorse_submit_pace_per_second",
                kind: "gauge",
                help: "Submits per second allowed by the pace learnt from the provider's push-backs (absent while unlimited).",
            },
        );
        let clients = lock(&self.inner.clients).clone();
        let mut paces: BTreeMap<Provider, f64> = BTreeMap::new();
        for client in &clients {
            if let Some(rate) = client.submit_pace() {
                paces.insert(client.provider(), rate);
            }
        }
        for (provider, rate) in paces {
            let labels = vec![("provider", provider.name().to_owned())];
            let _ = writeln!(
                out,
                "happyhorse_submit_pace_per_second{} {}",
                label_text(&labels),
                number(rate)
            );
        }
        if self.inner.ledger.get().is_some() {
            header(
                &mut out,
                &Family {
                    name: "happyhorse_ledger_up",
                    kind: "gauge",
                    help: "1 when the last read of the ledger's jobs per state succeeded.",
                },
            );
            let _ = writeln!(out, "happyhorse_ledger_up {}", u8::from(states.is_some()));
        }
        if let Some(states) = states {
            header(
                &mut out,
                &Family {
                    name: "happyhorse_jobs",
                    kind: "gauge",
                    help: "Jobs in the ledger, by state.",
                },
            );
            for state in JobState::ALL {
                let n = states
                    .iter()
                    .find(|(s, _)| *s == state)
                    .map_or(0, |(_, n)| *n);
                let _ = writeln!(out, "happyhorse_jobs{{state=\"{}\"}} {n}", state.name());
            }
        }
        let histograms = lock(&self.inner.histograms);
        for (family, bounds) in HISTOGRAMS {
            header(&mut out, family);
            let (counts, count, sum) = match histograms.get(family.name) {
                Some(h) => (h.counts.clone(), h.count, h.sum),
                None => (vec![0; bounds.len()], 0, 0.0),
            };
            let mut cumulative: u64 = 0;
            for (bound, n) in bounds.iter().zip(&counts) {
                cumulative = cumulative.saturating_add(*n);
                let _ = writeln!(
                    out,
                    "{}_bucket{{le=\"{}\"}} {cumulative}",
                    family.name,
                    number(*bound)
                );
            }
            let _ = writeln!(out, "{}_bucket{{le=\"+Inf\"}} {count}", family.name);
            let _ = writeln!(out, "{}_sum {}", family.name, number(sum));
            let _ = writeln!(out, "{}_count {count}", family.name);
        }
        out
    }

    /// The ledger's jobs per state, read again when the last read is a second old.
    async fn states(&self) -> Option<States> {
        let ledger = self.inner.ledger.get()?;
        let mut cached = self.inner.summary.lock().await;
        if let Some((at, states)) = cached.as_ref() {
            if at.elapsed() < SUMMARY_FOR {
                return Some(states.clone());
            }
        }
        match ledger.summary().await {
            Ok(summary) => {
                *cached = Some((Instant::now(), summary.states.clone()));
                Some(summary.states)
            }
            Err(err) => {
                tracing::warn!(error = %err, "metrics: cannot read the ledger's jobs per state");
                *cached = None;
                None
            }
        }
    }
}

/// The outcome label of a submit that failed.
pub(crate) fn submit_outcome(err: &Error) -> &'static str {
    match err {
        Error::RateLimited { .. } => "rate_limited",
        Error::Unavailable { .. } => "unavailable",
        Error::Network { .. } => "network",
        Error::SubmitUncertain { .. } => "uncertain",
        Error::InvalidRequest { .. } | Error::Unsupported(_) => "refused",
        Error::Authentication { .. } => "authentication",
        Error::InsufficientCredits { .. } => "credits",
        _ => "error",
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn header(out: &mut String, family: &Family) {
    let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
    let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind);
}

/// `{a="x",b="y"}` (empty without labels), values escaped.
fn label_text(labels: &[(&'static str, String)]) -> String {
    let parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A sample value or bound: Rust's shortest round-trip form (`0.5`, `10`), `NaN`, `+Inf`.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value == f64::INFINITY {
        "+Inf".into()
    } else if value == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn encodes_counters_and_cumulative_buckets() {
        let metrics = Metrics::new();
        metrics.count("happyhorse_polls_total", &[("provider", "hiapi")], 2);
        metrics.count(
            "happyhorse_callbacks_total",
            &[
                ("provider", "hiapi"),
                ("outcome", "refused"),
                ("reason", "a\"b"),
            ],
            1,
        );
        metrics.task_duration(45.0);
        metrics.task_duration(45.0);
        metrics.task_duration(5000.0);
        metrics.task_duration(f64::NAN);
        let text = metrics.encode().await;
        assert!(
            text.contains("happyhorse_polls_total{provider=\"hiapi\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("reason=\"a\\\"b\"} 1\n"), "{text}");
        assert!(text.contains("happyhorse_task_duration_seconds_bucket{le=\"30\"} 0\n"));
        assert!(text.contains("happyhorse_task_duration_seconds_bucket{le=\"60\"} 2\n"));
        assert!(text.contains("happyhorse_task_duration_seconds_bucket{le=\"1800\"} 2\n"));
        assert!(text.contains("happyhorse_task_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("happyhorse_task_duration_seconds_count 3\n"));
        assert!(text.contains("happyhorse_task_duration_seconds_sum 5090\n"));
        assert!(text.contains("happyhorse_downloads_total 0\n"));
        assert!(!text.contains("happyhorse_jobs"), "no ledger, no jobs");
    }
}
