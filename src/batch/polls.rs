//! When to poll a task, from how long past tasks of the same kind took.
//!
//! A HappyHorse task takes about three minutes. A fixed 5 s loop (the seed pages') costs 36
//! polls and notices a completion 2.5 s late on average; the client's default backoff (2 s
//! ×1.5 to 10 s) costs about 22 and notices up to 10 s late. With history the plan is:
//!
//! - one early poll (5 % of the shortest expected time, 2 to 10 s), so a quick failure (an
//!   unreachable image, a moderation refusal) is seen early;
//! - sparse polls (at most 3) until the shortest expected time (the 2nd percentile of the last
//!   [`HISTORY_PER_KIND`] tasks of the same provider, resolution and length);
//! - dense polls from there to the longest expected time (98th percentile), every twelfth of
//!   that window, 0.5 to 3.6 s apart;
//! - then the default backoff, up to 10 s apart, for the rare task slower than its history.
//!
//! A provider that reports `progress` (Apiframe) sharpens this: two readings give a rate, and
//! the next poll goes just before the extrapolated end, then once a second.
//!
//! Times here are on the batch's clock ([`super::BatchOptions::time_scale`]); without enough
//! history (fewer than [`MIN_HISTORY`] tasks of the kind) the default backoff applies.

use std::{
    collections::{HashMap, VecDeque},
    time::Duration,
};

use crate::{ledger::TaskTime, Provider};

/// How many recent task times of each kind the plan keeps.
pub const HISTORY_PER_KIND: usize = 200;
/// How many task times of a kind the plan needs before it uses them.
pub const MIN_HISTORY: usize = 8;

/// How a batch times its polls.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum PollStrategy {
    /// Every interval, whatever the history (the seed pages poll every 5 s).
    Fixed(Duration),
    /// The client's default: 2 s, then ×1.5 up to 10 s, ±10 % jitter.
    Backoff,
    /// From the history of past tasks and the provider's progress, falling back to
    /// [`PollStrategy::Backoff`] without history (the default).
    History,
}

/// A kind of task whose durations are comparable.
type Kind = (Provider, String, u32);

/// Recent task times per kind, shared by a batch's jobs.
#[derive(Debug, Default)]
pub(crate) struct History {
    times: HashMap<Kind, VecDeque<f64>>,
}

impl History {
    pub fn from_ledger(times: Vec<TaskTime>) -> History {
        let mut history = History::default();
        for time in times {
            history.record(
                time.provider,
                &time.resolution,
                time.video_seconds,
                time.seconds,
            );
        }
        history
    }

    pub fn record(&mut self, provider: Provider, resolution: &str, seconds: u32, took: f64) {
        if !took.is_finite() || took < 0.0 {
            return;
        }
        let times = self
            .times
            .entry((provider, resolution.to_owned(), seconds))
            .or_default();
        if times.len() >= HISTORY_PER_KIND {
            times.pop_front();
        }
        times.push_back(took);
    }

    /// The window completions fall in, for this kind, when the history is long enough.
    pub fn window(&self, provider: Provider, resolution: &str, seconds: u32) -> Option<Window> {
        let times = self
            .times
            .get(&(provider, resolution.to_owned(), seconds))?;
        if times.len() < MIN_HISTORY {
            return None;
        }
        let mut sorted: Vec<f64> = times.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let quantile = |q: f64| {
            let last = sorted.len().saturating_sub(1);
            // In range: q is in [0, 1] and `last` fits an f64 exactly for any realistic length.
            let at = ((last as f64) * q).round() as usize;
            sorted.get(at.min(last)).copied().unwrap_or(0.0)
        };
        Some(Window::new(quantile(0.02), quantile(0.98)))
    }
}

/// Where completions are expected, and how densely to poll there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Window {
    pub early: f64,
    pub lo: f64,
    pub hi: f64,
    pub step: f64,
}

impl Window {
    pub fn new(lo: f64, hi: f64) -> Window {
        let (lo, hi) = (lo.max(0.0), hi.max(lo.max(0.0)));
        Window {
            early: (lo * 0.05).clamp(2.0, 10.0),
            lo,
            hi,
            step: ((hi - lo) / 12.0).clamp(0.5, 3.6),
        }
    }
}

/// What a task's poll timing keeps between two polls (in the ledger, with the job: any worker
/// may make the next poll).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct PollerState {
    polls: u32,
    interval: f64,
    readings: [Option<(f64, f64)>; 2],
    /// The window (`lo`, `hi`) the plan has used so far, only ever widened. The history moves
    /// during a batch, and not fairly: its tasks end in the order of their length, so the
    /// history a run learns while its tasks are still out leans short. A plan that followed
    /// it would stop expecting the long ones just when they end; one that ignored it would
    /// miss how soon the short ones end. So the window takes in what the history says now
    /// and keeps what it said before.
    #[serde(default)]
    window: Option<(f64, f64)>,
}

/// The poll timing of one task.
#[derive(Debug)]
pub(crate) struct Poller {
    strategy: PollStrategy,
    window: Option<Window>,
    /// Polls made so far.
    polls: u32,
    /// The backoff interval last used.
    interval: f64,
    /// (time, progress) of the first and the latest reading between 1 and 99 %.
    readings: [Option<(f64, f64)>; 2],
}

const BACKOFF_FIRST: f64 = 2.0;
const BACKOFF_MAX: f64 = 10.0;
const BACKOFF_FACTOR: f64 = 1.5;

impl Poller {
    pub fn new(strategy: PollStrategy, window: Option<Window>) -> Poller {
        Poller {
            strategy,
            window: if strategy == PollStrategy::History {
                window
            } else {
                None
            },
            polls: 0,
            interval: 0.0,
            readings: [None, None],
        }
    }

    /// A poller that goes on from `state` (kept from the task's earlier polls), with the
    /// window it used so far widened by the one the history gives now.
    pub fn resume(strategy: PollStrategy, window: Option<Window>, state: PollerState) -> Poller {
        let window = match (state.window, window) {
            (Some((lo, hi)), Some(now)) => Some(Window::new(lo.min(now.lo), hi.max(now.hi))),
            (Some((lo, hi)), None) => Some(Window::new(lo, hi)),
            (None, now) => now,
        };
        let mut poller = Poller::new(strategy, window);
        poller.polls = state.polls;
        poller.interval = state.interval;
        poller.readings = state.readings;
        poller
    }

    /// What to keep until the next poll.
    pub fn state(&self) -> PollerState {
        PollerState {
            polls: self.polls,
            interval: self.interval,
            readings: self.readings,
            window: self.window.map(|w| (w.lo, w.hi)),
        }
    }

    /// After the first poll at `elapsed` seconds since the submit (the submit itself counts
    /// as a first look), how long to wait before the next.
    pub fn next_delay(&mut self, elapsed: f64, progress: Option<u8>) -> Duration {
        self.polls = self.polls.saturating_add(1);
        if let Some(p) = progress.filter(|p| (1..100).contains(p)) {
            let reading = (elapsed, f64::from(p));
            // The first reading and the latest: the widest baseline, so whole-percent
            // rounding matters least.
            match self.readings {
                [None, _] => self.readings[0] = Some(reading),
                [Some((_, first)), _] if first < reading.1 => self.readings[1] = Some(reading),
                _ => {}
            }
        }
        let seconds = match self.strategy {
            PollStrategy::Fixed(every) => every.as_secs_f64(),
            PollStrategy::Backoff => self.backoff(true),
            PollStrategy::History => {
                let planned = match self.window {
                    Some(window) => self.planned(window, elapsed),
                    None => self.backoff(false),
                };
                match self.progress_end(elapsed) {
                    Some(end) => planned.min(end),
                    None => planned,
                }
            }
        };
        Duration::try_from_secs_f64(seconds.clamp(0.05, 3600.0)).unwrap_or(Duration::from_secs(1))
    }

    fn backoff(&mut self, jitter: bool) -> f64 {
        self.interval = if self.interval <= 0.0 {
            BACKOFF_FIRST
        } else {
            (self.interval * BACKOFF_FACTOR).min(BACKOFF_MAX)
        };
        if jitter {
            self.interval * (0.9 + 0.2 * fastrand::f64())
        } else {
            self.interval
        }
    }

    fn planned(&mut self, window: Window, elapsed: f64) -> f64 {
        if self.polls == 1 && elapsed < window.early {
            return window.early - elapsed;
        }
        if elapsed < window.lo - window.step {
            let sparse = ((window.lo - window.early) / 3.0).max(window.step);
            return sparse.min(window.lo - elapsed);
        }
        if elapsed < window.hi {
            return window.step;
        }
        // Slower than its history: back off from the dense step to the default's ceiling.
        ((elapsed - window.hi) * 0.5).clamp(window.step, BACKOFF_MAX)
    }

    /// The delay to just before the end the progress readings point at.
    fn progress_end(&self, elapsed: f64) -> Option<f64> {
        let [Some((t0, p0)), Some((t1, p1))] = self.readings else {
            return None;
        };
        let rate = (p1 - p0) / (t1 - t0);
        if !rate.is_finite() || rate <= 0.0 {
            return None;
        }
        let end = t1 + (100.0 - p1) / rate;
        let until = end - elapsed;
        Some(if until > 1.0 {
            until - 0.5
        } else if until > -10.0 {
            1.0
        } else {
            // Well past the estimate: the estimate was wrong; leave it to the plan.
            return None;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls a task ending at `end` under `poller`: (polls, lag).
    fn simulate(mut poller: Poller, end: f64, progress: impl Fn(f64) -> Option<u8>) -> (u32, f64) {
        let mut t = 0.0;
        let mut polls = 0;
        loop {
            t += poller.next_delay(t, progress(t)).as_secs_f64();
            polls += 1;
            if t >= end {
                return (polls, t - end);
            }
        }
    }

    #[test]
    fn history_polls_sparsely_then_densely_around_the_expected_end() {
        let mut history = History::default();
        for i in 0..100 {
            history.record(Provider::HiApi, "1080p", 5, 160.0 + 0.4 * f64::from(i));
        }
        let window = history.window(Provider::HiApi, "1080p", 5).unwrap();
        let (mut polls, mut lags) = (Vec::new(), Vec::new());
        for i in 0..200 {
            let end = 160.0 + 0.2 * f64::from(i);
            let (n, lag) = simulate(
                Poller::new(PollStrategy::History, Some(window)),
                end,
                |_| None,
            );
            polls.push(n);
            lags.push(lag);
        }
        let mean_polls = f64::from(polls.iter().sum::<u32>()) / 200.0;
        lags.sort_by(f64::total_cmp);
        assert!(mean_polls <= 16.0, "{mean_polls}");
        assert!(lags[100] <= 2.0 && lags[180] <= 4.0, "{lags:?}");
        // The early poll still sees a quick failure early.
        let (n, lag) = simulate(
            Poller::new(PollStrategy::History, Some(window)),
            5.0,
            |_| None,
        );
        assert_eq!(n, 1);
        assert!(lag < 10.0, "{lag}");
    }

    #[test]
    fn progress_readings_aim_the_next_poll_at_the_extrapolated_end() {
        // Linear progress from 45 s to 180 s, no history.
        let progress = |t: f64| (t > 45.0).then(|| ((t - 45.0) / 135.0 * 100.0).min(99.0) as u8);
        let (polls, lag) = simulate(Poller::new(PollStrategy::History, None), 180.0, progress);
        let (fallback_polls, fallback_lag) =
            simulate(Poller::new(PollStrategy::History, None), 180.0, |_| None);
        // Without history the progress readings buy a prompt notice for a poll or two.
        assert!(lag <= 1.5 && lag < fallback_lag, "{lag} vs {fallback_lag}");
        assert!(polls <= fallback_polls + 2, "{polls} vs {fallback_polls}");
    }

    #[test]
    fn too_little_history_falls_back() {
        let mut history = History::default();
        for _ in 0..MIN_HISTORY - 1 {
            history.record(Provider::Reapi, "720p", 5, 180.0);
        }
        assert_eq!(history.window(Provider::Reapi, "720p", 5), None);
        history.record(Provider::Reapi, "720p", 5, f64::NAN);
        assert_eq!(history.window(Provider::Reapi, "720p", 5), None);
    }

    /// A task's plan keeps the window it used and takes in what the history learns meanwhile:
    /// early ends seen since (the history leaning short) bring the dense polls forward, and
    /// the long end it expected stays.
    #[test]
    fn a_resumed_plan_widens_its_window_with_the_history() {
        let mut first = Poller::new(PollStrategy::History, Some(Window::new(166.0, 206.0)));
        first.next_delay(5.0, None);
        let kept = first.state();
        let resumed = Poller::resume(PollStrategy::History, Some(Window::new(150.0, 190.0)), kept);
        let window = resumed.window.unwrap();
        assert_eq!((window.lo, window.hi), (150.0, 206.0));
        // And without history now, the kept window still holds.
        let alone = Poller::resume(PollStrategy::History, None, resumed.state());
        let window = alone.window.unwrap();
        assert_eq!((window.lo, window.hi), (150.0, 206.0));
    }
}
