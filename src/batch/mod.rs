//! Batches: many requests turned into MP4s over hours, on a durable [`ledger`](crate::ledger),
//! surviving restarts, within the provider's rate limit and the team's budget.
//!
//! [`parse_jobs`] checks a whole jobs file (one JSON object per line, with the `generate`
//! command's names) before anything is sent; [`Batch::plan`] records the jobs in the ledger
//! and counts what they will cost, refusing to go past a [`Budget`]; [`Batch::run`] works the
//! ledger until every job is settled: submit (the intent recorded first), wait (polls timed
//! from history, see [`PollStrategy`]), download at once (verified, SHA-256 recorded). Rerun
//! after a crash, and it resumes: every job ends with one provider task and one file.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use happyhorse::{
//!     batch::{parse_jobs, Batch},
//!     ledger::{JobState, SqliteLedger},
//!     sandbox::{Sandbox, SandboxConfig},
//!     Client, ClientConfig, Provider,
//! };
//!
//! let sandbox = Sandbox::start(SandboxConfig::default()).await?;
//! let client = Client::new(
//!     ClientConfig::new(Provider::HiApi)
//!         .with_api_key("sk-example")
//!         .with_base_url(sandbox.base_url(Provider::HiApi)),
//! )?;
//! let jobs = parse_jobs(
//!     r#"{"id": "beach", "prompt": "A golden retriever running on a beach"}
//! {"id": "city", "prompt": "A city street at night, rain", "resolution": "720p"}"#,
//!     Provider::HiApi,
//! )
//! .map_err(|problems| format!("{problems:?}"))?;
//! # let dir = tempfile::tempdir()?;
//! # let out = dir.path();
//! let ledger = SqliteLedger::open(out.join("happyhorse.db")).await?;
//! let batch = Batch::new(ledger, out).with_client(client);
//! let plan = batch.plan(&jobs).await?;
//! println!("{} s of video to make", plan.to_go.video_seconds());
//! let report = batch.run().await?;
//! assert_eq!(report.summary.count(JobState::Downloaded), 2);
//! # Ok(())
//! # }
//! ```

mod budget;
mod jobs;
mod outdir;
mod polls;
mod results;
mod retry;
mod run;

use std::{
    collections::HashMap,
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use tokio_util::sync::CancellationToken;

pub use budget::Budget;
pub use jobs::{
    parse_job_line, parse_jobs, BatchJob, DuplicateCheck, JobsReadError, JobsReader, LineProblem,
    LocalImageRef, LINE_FIELDS, MAX_ID_LEN, MAX_LINE_BYTES,
};
pub use polls::{PollStrategy, HISTORY_PER_KIND, MIN_HISTORY};
pub use results::{results_rows, write_results, ResultRow, RESULTS_FILE};
pub use retry::{RetryClass, UnknownRetryClass};

use crate::{
    ledger::{Committed, Enqueued, Job, JobState, Ledger, Summary},
    values::HttpUrl,
    Client, Error, Provider,
};

/// What to do with jobs whose reapi submit answer was lost ([`JobState::Uncertain`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Uncertain {
    /// Leave them and report them (the default).
    #[default]
    Report,
    /// Submit them again, accepting that the provider may bill a second task.
    Resubmit,
    /// Mark them skipped: a task may exist at the provider; its video is not fetched.
    Skip,
}

/// How a batch runs.
#[derive(Clone, Debug)]
pub struct BatchOptions {
    /// Steps in progress at once (submits, polls and saves being made); at least 1. A job
    /// waiting on its task takes no place: see [`BatchOptions::max_in_flight`].
    pub concurrency: usize,
    /// The most tasks kept running at the provider at once (jobs being submitted or
    /// submitted, counting every worker on the ledger); `None`: no limit (some accounts
    /// have one).
    pub max_in_flight: Option<u32>,
    /// How polls are timed.
    pub polls: PollStrategy,
    /// How much faster than real time the batch's clock runs: for simulations against a
    /// sandbox with the same `time_scale`. Poll timing and the wait limit run on this clock;
    /// rate limits, retries and leases on real time. 1.0 otherwise.
    pub time_scale: f64,
    /// How long (batch clock) a job is waited for before it is left for a later run.
    pub max_wait: Duration,
    /// How long a claim on a job lasts without renewal (renewed every third of it).
    pub lease: Duration,
    /// Caps on what the batch may commit.
    pub budget: Budget,
    /// What to do with uncertain jobs.
    pub uncertain: Uncertain,
    /// Download attempts per job per run (the partial file is kept between them).
    pub download_attempts: u32,
    /// Where a receiver (`happyhorse serve`, or `happyhorse::receiver`) takes callbacks: HiAPI
    /// and Apiframe jobs are submitted with `BASE/hiapi` or `BASE/apiframe` as their callback,
    /// and their waits listen to the ledger instead of polling; a job not heard from well past
    /// its expected end (the history's latest end, or 5 minutes without history) is polled,
    /// so a dropped callback is reconciled. reapi has no callbacks and is polled as before.
    pub callback_url: Option<HttpUrl>,
    /// The longest a worker with nothing due waits before it looks at the ledger again (a
    /// receiver in another process records callbacks it is not told of; one query for all
    /// the jobs).
    pub heard_every: Duration,
    /// How long the ledger keeps its event history (each run prunes older entries); `None`:
    /// for ever.
    pub event_retention: Option<Duration>,
    /// The clients talk to an emulator whose tasks end with its process (`batch --sandbox`):
    /// a task it does not know (an earlier process's) is submitted again, and a reapi submit
    /// whose answer was lost is sent again, since nothing was paid. Never set it for a real
    /// provider: there an unknown task is reported, and a lost answer is `uncertain`.
    pub emulated: bool,
    /// The failed jobs of the planned stream to try again, by class of failure (none when
    /// empty): see [`RetryClass`]. A job whose task may still be going is never tried again.
    pub retry_failed: Vec<RetryClass>,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            concurrency: 16,
            max_in_flight: None,
            polls: PollStrategy::History,
            time_scale: 1.0,
            max_wait: Duration::from_secs(30 * 60),
            lease: Duration::from_secs(60),
            budget: Budget::default(),
            uncertain: Uncertain::Report,
            download_attempts: 5,
            callback_url: None,
            heard_every: Duration::from_millis(250),
            event_retention: Some(Duration::from_secs(30 * 24 * 3600)),
            emulated: false,
            retry_failed: Vec::new(),
        }
    }
}

/// A job changed state: the job as now recorded, and where it came from.
#[derive(Debug)]
pub struct JobChange<'a> {
    /// The job, as recorded.
    pub job: &'a Job,
    /// Its state before.
    pub from: JobState,
}

type OnChange = Arc<dyn Fn(&JobChange<'_>) + Send + Sync>;

/// A batch over a ledger: see the [module docs](self).
pub struct Batch {
    ledger: Arc<dyn Ledger>,
    out_dir: PathBuf,
    clients: HashMap<Provider, Client>,
    options: BatchOptions,
    on_change: Option<OnChange>,
    cancel: CancellationToken,
    /// Where videos go instead of `out_dir`, when set.
    #[cfg(feature = "store")]
    store: Option<crate::store::Destination>,
    /// Where the run's counts and timings go, when set.
    metrics: Option<crate::metrics::Metrics>,
}

impl fmt::Debug for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("ledger", &self.ledger)
            .field("out_dir", &self.out_dir)
            .field("providers", &self.clients.keys().collect::<Vec<_>>())
            .field("options", &self.options)
            .finish()
    }
}

/// What [`Batch::plan`] found: the jobs recorded, what is left to pay for, what is paid for.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// What recording the jobs did.
    pub enqueued: Enqueued,
    /// Jobs not yet submitted (this file's and any earlier ones in the ledger), by provider
    /// and resolution.
    pub to_go: Committed,
    /// What the ledger already committed to.
    pub committed: Committed,
    /// The failed jobs tried again ([`BatchOptions::retry_failed`]).
    pub retries: Retries,
}

/// What a plan tries again of the failed jobs it was given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Retries {
    /// Jobs tried again, per class.
    pub classes: Vec<(RetryClass, u64)>,
    /// What their new tasks cost (a download again costs nothing), also counted in
    /// [`Plan::to_go`].
    pub cost: Committed,
    /// Failed (or expired) jobs left as they are: not of a class asked for, or their task may
    /// still be going (see [`RetryClass::of`]).
    pub left_failed: u64,
}

impl Retries {
    /// Jobs tried again, all classes.
    pub fn total(&self) -> u64 {
        self.classes.iter().map(|(_, n)| n).sum()
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchReport {
    /// The ledger afterwards.
    pub summary: Summary,
    /// Jobs this run left for a later one, and why (a wait that ran out, retries that ran
    /// out, a stop).
    pub deferred: Vec<(String, String)>,
    /// Why the run stopped submitting, if it did (credits, authentication, a cancel).
    pub stopped: Option<String>,
    /// Submits sent this run.
    pub submits: u64,
    /// Status polls this run.
    pub polls: u64,
    /// Jobs whose end this run learnt from a callback (recorded by a receiver).
    pub heard: u64,
    /// Jobs submitted with a callback whose end this run learnt from a poll instead: the
    /// callback was dropped, late, or never sent.
    pub reconciled: u64,
    /// Videos saved this run.
    pub downloads: u64,
}

impl BatchReport {
    /// Every job is downloaded.
    pub fn all_downloaded(&self) -> bool {
        self.summary.count(JobState::Downloaded) == self.summary.total()
    }
}

impl Batch {
    /// A batch over `ledger`, saving videos in `out_dir` (created if missing).
    pub fn new(ledger: impl Ledger + 'static, out_dir: impl AsRef<Path>) -> Batch {
        Batch::with_shared_ledger(Arc::new(ledger), out_dir)
    }

    /// A batch over a ledger shared with other code (e.g. one opened by [`crate::ledger::open`]).
    pub fn with_shared_ledger(ledger: Arc<dyn Ledger>, out_dir: impl AsRef<Path>) -> Batch {
        Batch {
            ledger,
            out_dir: out_dir.as_ref().to_path_buf(),
            clients: HashMap::new(),
            options: BatchOptions::default(),
            on_change: None,
            #[cfg(feature = "store")]
            store: None,
            cancel: CancellationToken::new(),
            metrics: None,
        }
    }

    /// Uses `client` for its provider's jobs (one per provider; a later one replaces).
    pub fn with_client(mut self, client: Client) -> Batch {
        self.clients.insert(client.provider(), client);
        self
    }

    /// Saves the videos into an object store (`s3://`, `gs://`, `az://`) instead of the
    /// output directory: each streamed from the provider as a multipart upload, confirmed by
    /// the store before the job is `downloaded`, its upload id kept in the ledger meanwhile so
    /// that a rerun after a crash aborts it instead of leaving it behind. `results.jsonl` stays
    /// in the output directory (the CLI also puts it beside the videos).
    #[cfg(feature = "store")]
    pub fn with_store(mut self, destination: crate::store::Destination) -> Batch {
        self.store = Some(destination);
        self
    }

    /// Counts the run's submits, polls, downloads and retries, and times its tasks and their
    /// saves, into `metrics` (see [`crate::metrics`]); its clients' submit pace is reported
    /// too. Serve them with [`crate::metrics::Metrics::encode`].
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Batch {
        self.metrics = Some(metrics);
        self
    }

    /// Sets every option.
    pub fn with_options(mut self, options: BatchOptions) -> Batch {
        self.options = options;
        self
    }

    /// The options.
    pub fn options(&self) -> &BatchOptions {
        &self.options
    }

    /// Calls `f` on every state change of a job (from the worker that made it; keep it quick).
    pub fn on_change(mut self, f: impl Fn(&JobChange<'_>) + Send + Sync + 'static) -> Batch {
        self.on_change = Some(Arc::new(f));
        self
    }

    /// Stops the run when `token` is cancelled: no new submit starts, waits and downloads stop
    /// (keeping partial files), and every job stays in the ledger for the next run.
    pub fn cancel_on(mut self, token: CancellationToken) -> Batch {
        self.cancel = token;
        self
    }

    /// The ledger.
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.ledger
    }

    /// The output directory.
    pub fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    /// Records `jobs` in the ledger (those already there are kept as they are) and counts
    /// what is left to pay for. Nothing is sent. Refuses, changing nothing: a job whose id is
    /// recorded with another request ([`Error::JobConflict`]), a new job whose output file
    /// already exists in the output directory, and a batch that would go past the budget
    /// ([`Error::OverBudget`]).
    pub async fn plan(&self, jobs: &[BatchJob]) -> Result<Plan, Error> {
        budget::plan(self, jobs).await
    }

    /// [`Batch::plan`] for more jobs than memory should hold at once (a jobs file of a
    /// million lines): `jobs` starts a stream of them and is called twice, once to check and
    /// count (the ledger read a chunk at a time, nothing written) and, once every check and the
    /// budget passed, once to record them (a transaction per chunk). An `Err` item stops the
    /// plan with that error; the second reading must yield what the first did.
    pub async fn plan_each<I, F>(&self, jobs: F) -> Result<Plan, Error>
    where
        F: Fn() -> I,
        I: Iterator<Item = Result<BatchJob, Error>>,
    {
        budget::plan_each(self, jobs).await
    }

    /// [`Batch::plan_each`]'s checks, budget and cost with nothing written: no job recorded,
    /// and the output directory looked at rather than created or probed (with a ledger opened
    /// by [`ledger::open_read_only`](crate::ledger::open_read_only), nothing at all). Refuses
    /// as the plan would, and also when a job left to submit has no client
    /// ([`Error::MissingApiKey`]), as [`Batch::run`] would. `enqueued` counts what recording
    /// would insert and find already there.
    pub async fn dry_run_each<I, F>(&self, jobs: F) -> Result<Plan, Error>
    where
        F: Fn() -> I,
        I: Iterator<Item = Result<BatchJob, Error>>,
    {
        budget::dry_run_each(self, jobs).await
    }

    /// Works the ledger until every job is settled or left for a later run; see
    /// [`BatchReport`]. Fails before any submit when a job's provider has no client, and
    /// when another process runs this ledger ([`Error::LedgerBusy`]).
    pub async fn run(&self) -> Result<BatchReport, Error> {
        run::run(self).await
    }
}

/// Seconds of video, credits and jobs of a plan, for one line of text per provider and
/// resolution (`hiapi 1080p: 3 jobs, 15 s of video`).
pub fn describe(committed: &Committed) -> Vec<String> {
    committed
        .rows
        .iter()
        .map(|row| {
            format!(
                "{} {}: {} job{}, {} s of video{}",
                row.provider,
                row.resolution,
                row.jobs,
                if row.jobs == 1 { "" } else { "s" },
                row.video_seconds,
                row.credits.map_or_else(
                    || format!(" (no documented price on {})", row.provider),
                    |c| format!(", {c} credits")
                )
            )
        })
        .collect()
}
