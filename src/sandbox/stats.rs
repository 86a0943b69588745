//! What the sandbox observed, for benchmarks: per task ([`TaskObservation`]) and in all
//! ([`SandboxStats`]), counted with relaxed atomics as requests are served.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

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
