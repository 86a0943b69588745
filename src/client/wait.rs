//! Waiting for a task: a builder with a deadline, cancellation, a poll schedule that starts
//! quick and backs off, and a callback on every change. Deadlines run on tokio's clock, so a
//! test can pause it (`#[tokio::test(start_paused = true)]`) instead of sleeping.

use std::{
    future::{Future, IntoFuture},
    pin::Pin,
    time::Duration,
};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{Client, Error, Finished, TaskHandle, TaskSnapshot, TaskState};
use crate::retry::scale;

/// The poll schedule of a wait.
///
/// The defaults: one poll at once, the next after 2 s, then each interval ×1.5 up to 10 s,
/// ±10 % jitter, for at most 10 minutes. The seed pages poll every 5 s; a HappyHorse job takes
/// about three minutes and most early failures (an unreachable image, a moderation hit) show
/// within seconds, so the first polls come sooner than 5 s and later ones less often: a
/// 3-minute job costs about 22 polls instead of 36, and a quick failure is seen in 2 s rather
/// than 5. 10 minutes matches the providers' SDK budgets (600 s); the jitter spreads a batch's
/// polls apart.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Schedule {
    pub max_wait: Duration,
    pub first_poll: Duration,
    pub multiplier: f64,
    pub max_interval: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            max_wait: Duration::from_secs(600),
            first_poll: Duration::from_secs(2),
            multiplier: 1.5,
            max_interval: Duration::from_secs(10),
        }
    }
}

impl Schedule {
    /// The interval after `interval`.
    fn next(&self, interval: Duration) -> Duration {
        scale(interval.min(self.max_interval), self.multiplier).min(self.max_interval)
    }
}

fn jitter(interval: Duration) -> Duration {
    scale(interval, 0.9 + 0.2 * fastrand::f64())
}

type OnChange<'a> = Box<dyn FnMut(&TaskSnapshot) + Send + 'a>;

/// A wait for a task to end, built by [`Client::wait`]; `.await` it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use happyhorse::{sandbox::{Sandbox, SandboxConfig}, Client, ClientConfig, Prompt, Provider, VideoRequest};
/// # let sandbox = Sandbox::start(SandboxConfig::default()).await?;
/// # let client = Client::new(ClientConfig::new(Provider::Reapi).with_api_key("rk_example")
/// #     .with_base_url(sandbox.base_url(Provider::Reapi)))?;
/// # let request = VideoRequest::text_to_video(Prompt::new("A horse")?);
/// use std::time::Duration;
///
/// let submitted = client.submit(&request).await?;
/// let finished = client
///     .wait(&submitted)
///     .max_wait(Duration::from_secs(900))
///     .on_change(|task| println!("{} {}", task.id, task.status))
///     .await?;
/// println!("video at {}", finished.output().url);
/// # Ok(())
/// # }
/// ```
#[must_use = "a wait does nothing until it is awaited"]
pub struct Wait<'a> {
    client: &'a Client,
    task: TaskHandle,
    schedule: Schedule,
    cancel: Option<CancellationToken>,
    on_change: Option<OnChange<'a>>,
}

impl std::fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wait")
            .field("task", &self.task)
            .field("schedule", &self.schedule)
            .field("cancellable", &self.cancel.is_some())
            .finish()
    }
}

impl<'a> Wait<'a> {
    pub(crate) fn new(client: &'a Client, task: TaskHandle) -> Self {
        Wait {
            client,
            task,
            schedule: Schedule::default(),
            cancel: None,
            on_change: None,
        }
    }

    /// Gives up after `max_wait` (default 10 minutes) with [`Error::DeadlineExceeded`]; the
    /// task goes on at the provider. Any length is accepted: one too long for the clock means
    /// no deadline.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.schedule.max_wait = max_wait;
        self
    }

    /// Sets the poll schedule: the pause before the second poll, the growth factor per poll
    /// (at least 1; anything else, NaN included, counts as 1), the longest pause.
    pub fn schedule(mut self, first: Duration, multiplier: f64, max: Duration) -> Self {
        self.schedule.first_poll = first;
        self.schedule.multiplier = if multiplier.is_finite() && multiplier >= 1.0 {
            multiplier.min(1e6)
        } else {
            1.0
        };
        self.schedule.max_interval = max.max(first);
        self
    }

    /// Stops the wait with [`Error::Cancelled`] as soon as `token` is cancelled.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Calls `on_change` with each snapshot whose status or progress differs from the last
    /// one (the first included).
    pub fn on_change(mut self, on_change: impl FnMut(&TaskSnapshot) + Send + 'a) -> Self {
        self.on_change = Some(Box::new(on_change));
        self
    }

    async fn run(mut self) -> Result<Finished, Error> {
        let client = self.client;
        client.owns(&self.task)?;
        let provider = self.task.provider;
        let id = self.task.id.as_str();
        let started = Instant::now();
        let deadline = started.checked_add(self.schedule.max_wait);
        let mut interval = self.schedule.first_poll;
        let mut last: Option<TaskSnapshot> = None;
        loop {
            // The first poll is immediate: a resumed wait may find the task done already.
            match client.poll_once(id, 1).await {
                Ok(snapshot) => {
                    let changed = last.as_ref().is_none_or(|seen| {
                        seen.status != snapshot.status || seen.progress != snapshot.progress
                    });
                    if changed {
                        tracing::debug!(
                            %provider, id, status = %snapshot.status, progress = snapshot.progress,
                            "task changed"
                        );
                        if let Some(on_change) = self.on_change.as_mut() {
                            on_change(&snapshot);
                        }
                    }
                    match snapshot.state {
                        TaskState::Succeeded => {
                            return Finished::try_from(snapshot).map_err(Error::from)
                        }
                        TaskState::Failed | TaskState::Cancelled => {
                            return Err(failed(provider, id, snapshot))
                        }
                        _ => last = Some(snapshot),
                    }
                }
                // Keep waiting through transient trouble, honouring any Retry-After.
                Err(err) if err.is_transient() => {
                    if let Some(wait) = err.retry_after() {
                        let cap = client.config().retry().max_retry_after;
                        interval = interval.max(wait.min(cap));
                    }
                    tracing::info!(
                        %provider, id, error = %err, next_poll_ms = interval.as_millis() as u64,
                        "poll failed; still waiting"
                    );
                }
                Err(err) => return Err(err),
            }
            let now = Instant::now();
            let pause = jitter(interval);
            let pause = match deadline {
                Some(deadline) if now >= deadline => {
                    return Err(Error::DeadlineExceeded {
                        provider,
                        id: id.to_owned(),
                        status: last.map_or_else(|| "unknown".into(), |s| s.status),
                        waited: now.saturating_duration_since(started),
                    })
                }
                Some(deadline) => pause.min(deadline.saturating_duration_since(now)),
                None => pause,
            };
            let cancelled = match &self.cancel {
                Some(token) => tokio::select! {
                    _ = token.cancelled() => true,
                    _ = tokio::time::sleep(pause) => false,
                },
                None => {
                    tokio::time::sleep(pause).await;
                    false
                }
            };
            if cancelled {
                tracing::debug!(%provider, id, "wait cancelled");
                return Err(Error::Cancelled {
                    provider,
                    id: Some(id.to_owned()),
                });
            }
            interval = self.schedule.next(interval);
        }
    }
}

/// The error for a task that ended without a video.
fn failed(provider: crate::Provider, id: &str, snapshot: TaskSnapshot) -> Error {
    let (code, message) = match snapshot.error {
        Some(error) => (error.code, error.message),
        None if snapshot.state == TaskState::Cancelled => {
            (None, "the task was cancelled at the provider".into())
        }
        None => (None, "the provider gave no reason".into()),
    };
    Error::TaskFailed {
        provider,
        id: id.to_owned(),
        status: snapshot.status,
        code,
        message,
    }
}

impl<'a> IntoFuture for Wait<'a> {
    type Output = Result<Finished, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        let span = tracing::debug_span!("wait", provider = %self.task.provider, id = %self.task.id);
        Box::pin(self.run().instrument(span))
    }
}

impl Client {
    /// Waits for `task` (a [`Submission`](super::Submission), a [`TaskSnapshot`], a
    /// [`TaskHandle`]) to end: polls until it succeeds, fails, or the wait stops.
    ///
    /// Resolves to the [`Finished`] task (which always has an output);
    /// [`Error::TaskFailed`] when it fails or is cancelled at the provider;
    /// [`Error::DeadlineExceeded`] or [`Error::Cancelled`] when the wait stops first (the task
    /// goes on, and a later wait can resume it by its handle); [`Error::WrongProvider`] for
    /// another provider's task. Transient errors while polling (429, 5xx, network) do not end
    /// the wait; authentication and not-found errors do.
    pub fn wait(&self, task: impl Into<TaskHandle>) -> Wait<'_> {
        Wait::new(self, task.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_grows_to_its_cap() {
        let schedule = Schedule::default();
        let mut interval = schedule.first_poll;
        let mut seen = vec![interval];
        for _ in 0..6 {
            interval = schedule.next(interval);
            seen.push(interval);
        }
        let seconds: Vec<f64> = seen.iter().map(Duration::as_secs_f64).collect();
        assert_eq!(seconds, [2.0, 3.0, 4.5, 6.75, 10.0, 10.0, 10.0]);
        // A three-minute job: how many polls the default schedule makes.
        let (mut at, mut polls, mut interval) = (0.0, 1, schedule.first_poll.as_secs_f64());
        while at < 180.0 {
            at += interval;
            polls += 1;
            interval = (interval * 1.5).min(10.0);
        }
        assert_eq!(polls, 22);
    }

    #[test]
    fn extreme_schedules_neither_panic_nor_overflow() {
        let mut schedule = Schedule {
            max_wait: Duration::MAX,
            first_poll: Duration::MAX,
            multiplier: 1e6,
            max_interval: Duration::MAX,
        };
        assert_eq!(schedule.next(Duration::MAX), Duration::MAX);
        schedule.multiplier = 1.0;
        assert_eq!(
            schedule.next(Duration::from_secs(3)),
            Duration::from_secs(3)
        );
        assert!(Instant::now().checked_add(Duration::MAX).is_none());
    }
}
