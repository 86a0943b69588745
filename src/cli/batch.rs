//! `happyhorse batch`: a jobs file in, a directory of MP4s and `results.jsonl` out,
//! resumable.

use std::{
    collections::BTreeMap,
    io::IsTerminal,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{Arc, Mutex},
    time::Duration,
};

use happyhorse::{
    batch::{
        describe, results_rows, write_results, Batch, BatchJob, BatchOptions, BatchReport, Budget,
        JobsReadError, JobsReader, Plan, RetryClass, Uncertain,
    },
    ledger::{self, JobState, Ledger, Summary},
    values::HttpUrl,
    Client, Error, Provider,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::{
    preflight,
    session::{self, Context, FAILED, INTERRUPTED, UNUSABLE},
    stage::{self, Stage, Staging},
};
use happyhorse::store::Destination;

/// The ledger's file name in the output directory.
pub(crate) const DEFAULT_LEDGER: &str = "happyhorse.db";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The jobs: one JSON object per line with generate's names (prompt, image, references,
    /// resolution, aspect_ratio, duration, seed, callback_url, provider) and optional `id`
    /// (a stable job id; derived from the line when absent) and `output` (file name in DIR).
    #[arg(value_name = "JOBS.jsonl")]
    jobs: PathBuf,
    /// Where the videos, results.jsonl and (by default) the ledger go: a directory, or an
    /// object store, s3://BUCKET/PREFIX (any S3-compatible store, with AWS_ENDPOINT_URL),
    /// gs://BUCKET/PREFIX or az://CONTAINER/PREFIX, credentials from the cloud's usual
    /// environment. With a store, --ledger is needed (the ledger is a database, not an object)
    /// and results.jsonl is written beside the ledger and beside the videos.
    #[arg(long, value_name = "DIR_OR_URL")]
    out: PathBuf,
    /// The ledger: a SQLite file (default DIR/happyhorse.db), or postgres://USER@HOST/DB to
    /// share the batch with workers on other machines (run the same command on each).
    #[arg(long, value_name = "PATH_OR_URL", env = "HAPPYHORSE_LEDGER")]
    ledger: Option<String>,
    /// Submit HiAPI and Apiframe jobs with callbacks to a receiver (`happyhorse serve`) at
    /// this base URL (BASE/hiapi, BASE/apiframe; HTTPS, or plain http to loopback) writing
    /// to the same ledger; their status is then polled only when a callback is overdue.
    #[arg(long, value_name = "BASE", env = "HAPPYHORSE_CALLBACK_URL")]
    callback_url: Option<String>,
    /// How long a worker's claim on a job lasts without its heartbeat (renewed every third of
    /// it): after a worker dies, its jobs go to another worker within this time.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(3..=3600))]
    lease: u64,
    /// How much faster than real time the batch's clock runs, to match a sandbox started with
    /// the same --time-scale (simulations only).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, hide = true)]
    time_scale: f64,
    /// Steps in progress at once (submits, polls and downloads being made); a job waiting on
    /// its task takes no place.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,
    /// The most tasks to keep running at the provider at once, counting every worker on the
    /// ledger (default: no limit; some accounts have one).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_in_flight: Option<u32>,
    /// How many days the ledger keeps each job's event history (`happyhorse jobs --id`);
    /// 0 keeps it for ever.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    history_days: u32,
    /// The provider of lines that name none: hiapi, reapi or apiframe.
    #[arg(long, short, env = "HAPPYHORSE_PROVIDER", default_value = "hiapi")]
    provider: Provider,
    /// Refuse to commit more than this many credits (counted where the price is documented:
    /// Apiframe).
    #[arg(long, value_name = "CREDITS")]
    max_credits: Option<u64>,
    /// Refuse to commit more than this many seconds of video.
    #[arg(long, value_name = "SECONDS")]
    max_video_seconds: Option<u64>,
    /// Submit again the jobs whose reapi submit answer was lost (the provider may bill twice).
    #[arg(long, conflicts_with = "skip_uncertain")]
    resubmit_uncertain: bool,
    /// Give up on the jobs whose reapi submit answer was lost (a task may exist).
    #[arg(long)]
    skip_uncertain: bool,
    /// Print one JSON object on stdout at the end instead of text, with no progress display.
    #[arg(long)]
    json: bool,
    /// Run against a local emulator started in this process (no key, no cost).
    #[arg(long)]
    sandbox: bool,
    /// Try again this file's failed jobs whose failure allows it, of the classes named (all
    /// when none is): refused (the provider refused the submit; nothing was billed),
    /// task-failed (the provider ended the task failed), expired (the video's URL expired
    /// before it was saved), download (the saved file was not a video: fetched again from the
    /// same task). Each new task is billed; the plan prints their cost before any submit, and
    /// the budget counts them. A job whose task may still be going is never tried again.
    #[arg(long, value_name = "CLASS", num_args = 0.., value_delimiter = ',', require_equals = true)]
    retry_failed: Option<Vec<RetryClass>>,
    /// Check, plan and price the batch, and stop: nothing is submitted, recorded or created
    /// (not the ledger, not the output directory).
    #[arg(long)]
    dry_run: bool,
    /// Send the images without fetching them first. By default, before anything is sent,
    /// every image of every job still to be submitted is fetched (its first bytes, once per
    /// URL) and checked against its provider's limits, and every problem is reported with its
    /// line number. Local images are read and checked either way.
    #[arg(long)]
    no_preflight: bool,
    /// Where the jobs' local images (`image`, `references` naming a file, relative to the jobs
    /// file's directory, or file://) are staged for the providers to fetch: s3://BUCKET/PREFIX
    /// (any S3-compatible store, with AWS_ENDPOINT_URL), gs://BUCKET/PREFIX or
    /// az://CONTAINER/PREFIX. Every image is checked first; each distinct file is stored once
    /// under its SHA-256 and sent as a presigned URL. Credentials come from the cloud's usual
    /// environment, never from a flag.
    #[arg(long, value_name = "URL", env = "HAPPYHORSE_STAGE")]
    stage: Option<String>,
    /// How long a staged image's presigned URL lasts, in seconds: 60 to 604800 (7 days, the
    /// most S3 signs). A job is never sent with a URL good for less than 10 minutes; a rerun
    /// signs again the staged URLs of a job not yet sent that expire within half of this (see
    /// the README).
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(60..=604_800))]
    stage_ttl: u64,
    /// Serve Prometheus metrics at http://ADDR/metrics while the batch runs (e.g.
    /// 127.0.0.1:9464; port 0 picks a free one, said on stderr): submits, polls, downloads,
    /// retries, the submit pace, jobs per state, task and save times. Not for the internet:
    /// keep it on loopback or a private network.
    #[arg(long, value_name = "ADDR", env = "HAPPYHORSE_METRICS_ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
}

pub(crate) fn ledger_location(ledger: Option<&str>, out: Option<&Path>) -> String {
    match (ledger, out) {
        (Some(location), _) => location.to_owned(),
        (None, Some(dir)) => dir.join(DEFAULT_LEDGER).display().to_string(),
        (None, None) => DEFAULT_LEDGER.to_owned(),
    }
}

pub fn run(args: Args) -> ExitCode {
    let file = match std::fs::File::open(&args.jobs) {
        Ok(file) => file,
        Err(err) => {
            eprintln!("error: cannot read {}: {err}", args.jobs.display());
            return ExitCode::from(UNUSABLE);
        }
    };
    // A line at a time: the file is never held whole, nor is a line past MAX_LINE_BYTES, nor
    // are its jobs (the plan reads the file again, a chunk at a time, once it is all valid).
    let mut problems = Vec::new();
    for item in reader(&args.jobs, file, args.provider) {
        match item {
            Ok(_) => {}
            Err(JobsReadError::Line(found)) => {
                problems.extend(found);
            }
            Err(JobsReadError::Read { line, source }) => {
                let at = if line > 1 {
                    format!(" (at line {line})")
                } else {
                    String::new()
                };
                eprintln!("error: cannot read {}{at}: {source}", args.jobs.display());
                return ExitCode::from(UNUSABLE);
            }
            Err(other) => {
                eprintln!("error: cannot read {}: {other}", args.jobs.display());
                return ExitCode::from(UNUSABLE);
            }
        }
    }
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("{}:{problem}", args.jobs.display());
        }
        eprintln!(
            "error: {} problem{} in {}; nothing was submitted",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            args.jobs.display()
        );
        if args.json {
            let lines: Vec<_> = problems
                .iter()
                .map(|p| json!({"line": p.line, "message": p.message}))
                .collect();
            println!("{}", json!({"ok": false, "problems": lines}));
        }
        return ExitCode::from(UNUSABLE);
    }
    let runtime = match session::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(batch(&args))
}

/// The jobs of `file`, the jobs file at `path`, local images taken relative to its directory.
fn reader(
    path: &Path,
    file: std::fs::File,
    provider: Provider,
) -> JobsReader<std::io::BufReader<std::fs::File>> {
    // `jobs.jsonl`'s is the empty path: `a.png` stays `a.png`, read from the current directory.
    let dir = path.parent().unwrap_or(Path::new(""));
    JobsReader::new(std::io::BufReader::new(file), provider).with_local_images(dir)
}

/// The jobs of `path`, read again for the checks and the plan (which reads them twice), after
/// the whole file was found valid: a line that is no longer valid means the file changed
/// meanwhile. Local images are as `staging` says (none yet: stand-ins).
fn reread(
    path: &Path,
    provider: Provider,
    staging: Option<Arc<Staging>>,
) -> Box<dyn Iterator<Item = Result<BatchJob, Error>>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(source) => {
            return Box::new(std::iter::once(Err(Error::Io {
                path: path.to_path_buf(),
                source,
            })))
        }
    };
    let path_buf = path.to_path_buf();
    let path = path_buf.clone();
    Box::new(reader(&path_buf, file, provider).map(move |item| {
        item.map_err(|err| match err {
            JobsReadError::Read { source, .. } => Error::Io {
                path: path.clone(),
                source,
            },
            other => Error::Config {
                message: format!(
                    "{} changed while the batch was planned ({other}); nothing was submitted: run the command again",
                    path.display()
                ),
            },
        })
        .and_then(|job| match &staging {
            Some(staging) => staging.apply(job),
            None => Ok(job),
        })
    }))
}

/// Where the clients point: the environment, or a sandbox started here.
struct Clients {
    clients: Vec<Client>,
    #[cfg(feature = "sandbox")]
    _sandbox: Option<happyhorse::sandbox::Sandbox>,
}

async fn clients(sandbox: bool) -> Result<Clients, Error> {
    if sandbox {
        #[cfg(feature = "sandbox")]
        {
            let sandbox = session::embedded_sandbox().await?;
            let clients = Provider::ALL
                .into_iter()
                .map(|provider| session::sandbox_client(&sandbox, provider))
                .collect::<Result<_, _>>()?;
            return Ok(Clients {
                clients,
                _sandbox: Some(sandbox),
            });
        }
        #[cfg(not(feature = "sandbox"))]
        return Err(session::no_sandbox());
    }
    // A provider without a key gets no client; the batch says so if one of its jobs needs it.
    let clients = Provider::ALL
        .into_iter()
        .filter_map(|provider| Client::from_env(provider).ok())
        .collect();
    Ok(Clients {
        clients,
        #[cfg(feature = "sandbox")]
        _sandbox: None,
    })
}

/// A receiver's base URL: HTTPS, or plain http to a loopback host.
fn callback_base(text: &str) -> Result<HttpUrl, String> {
    let url: HttpUrl = text
        .parse()
        .map_err(|e: happyhorse::values::ValueError| e.to_string())?;
    if url.is_https() || url.is_loopback_http() {
        Ok(url)
    } else {
        Err(format!(
            "{url} is plain http to a host that is not loopback; providers call back over HTTPS (put the receiver behind TLS), or use http://127.0.0.1:PORT for a receiver on this machine"
        ))
    }
}

fn fail(err: &Error, json: bool, out: &Path) -> ExitCode {
    let context = Context {
        out_dir: Some(out.to_path_buf()),
        ..Context::default()
    };
    session::fail(err, json, &context)
}

fn print_plan(plan: &Plan) {
    let (new, old) = (plan.enqueued.inserted, plan.enqueued.existing);
    eprintln!("jobs: {new} new, {old} already in the ledger");
    if plan.to_go.rows.is_empty() {
        eprintln!("to submit: nothing");
    } else {
        eprintln!("to submit:");
        for line in describe(&plan.to_go) {
            eprintln!("  {line}");
        }
        eprintln!(
            "  total: {} s of video{}",
            plan.to_go.video_seconds(),
            priced(plan.to_go.credits())
        );
    }
    let retries = &plan.retries;
    if retries.total() > 0 {
        let classes: Vec<String> = retries
            .classes
            .iter()
            .map(|(class, n)| format!("{class} {n}"))
            .collect();
        eprintln!(
            "tried again: {} failed job{} ({}){}",
            retries.total(),
            if retries.total() == 1 { "" } else { "s" },
            classes.join(", "),
            if retries.cost.rows.is_empty() {
                ", fetched again from their tasks (nothing new billed)".to_owned()
            } else {
                format!(
                    "; their new tasks: {} s of video{} (in the total above)",
                    retries.cost.video_seconds(),
                    priced(retries.cost.credits())
                )
            }
        );
    }
    if retries.left_failed > 0 {
        eprintln!(
            "failed, left as {}: {} (see `happyhorse jobs`)",
            if retries.left_failed == 1 {
                "it is"
            } else {
                "they are"
            },
            retries.left_failed
        );
    }
    if !plan.committed.rows.is_empty() {
        eprintln!(
            "committed earlier: {} s of video{}",
            plan.committed.video_seconds(),
            match plan.committed.credits() {
                0 => String::new(),
                credits => format!(", {credits} credits"),
            }
        );
    }
}

/// `, N credits where priced`, or nothing when no credits are counted.
fn priced(credits: u64) -> String {
    match credits {
        0 => String::new(),
        credits => format!(", {credits} credits where priced"),
    }
}

/// Counts per state, shown as a bar on a terminal and as lines otherwise.
struct Display {
    bar: Option<ProgressBar>,
    counts: Mutex<BTreeMap<JobState, u64>>,
    /// Jobs with a callback whose end this run saw: told by one, or found by a reconciling poll.
    ends: Mutex<(u64, u64)>,
}

/// How a job submitted with a callback ended, once it has: `Some(true)` told by its callback,
/// `Some(false)` found by a poll.
fn heard(job: &happyhorse::ledger::Job) -> Option<bool> {
    let ended = matches!(job.state, JobState::Succeeded | JobState::Failed);
    (ended && job.callback_url.is_some()).then_some(job.heard_at.is_some())
}

impl Display {
    fn new(summary: &Summary, json: bool) -> Arc<Display> {
        let total = summary.total();
        let draw = !json && std::io::stderr().is_terminal();
        let bar = draw.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} settled  {per_sec}  eta {eta}  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        let display = Arc::new(Display {
            bar,
            counts: Mutex::new(summary.states.iter().copied().collect()),
            ends: Mutex::new((0, 0)),
        });
        display.redraw();
        display
    }

    fn change(&self, job: &happyhorse::ledger::Job, from: JobState) {
        {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = counts.get_mut(&from) {
                *n = n.saturating_sub(1);
            }
            *counts.entry(job.state).or_default() += 1;
            if job.state != from {
                let mut ends = self.ends.lock().unwrap_or_else(|p| p.into_inner());
                match heard(job) {
                    Some(true) => ends.0 += 1,
                    Some(false) => ends.1 += 1,
                    None => {}
                }
            }
        }
        match &self.bar {
            Some(bar) => {
                if job.state.is_settled() {
                    bar.inc(1);
                }
                if matches!(
                    job.state,
                    JobState::Failed | JobState::Expired | JobState::Uncertain
                ) {
                    bar.println(format!(
                        "{} {}: {}",
                        job.state,
                        job.id,
                        job.error.as_deref().unwrap_or("")
                    ));
                }
                self.redraw();
            }
            None => {
                if job.state.is_settled() || job.state == JobState::Submitted {
                    let detail = match job.state {
                        JobState::Downloaded => {
                            let file = job
                                .file
                                .as_ref()
                                .map(|f| format!(" -> {}", f.display()))
                                .unwrap_or_default();
                            let end = match (&job.callback_url, job.heard_at) {
                                (None, _) => "",
                                (Some(_), Some(_)) => " (ended by its callback)",
                                (Some(_), None) => " (ended by a reconciling poll)",
                            };
                            format!("{file}{end}")
                        }
                        JobState::Submitted => job
                            .task_id
                            .as_ref()
                            .map(|t| format!(" as {} task {t}", job.provider))
                            .unwrap_or_default(),
                        _ => format!(": {}", job.error.as_deref().unwrap_or("")),
                    };
                    eprintln!("{} {}{detail}", job.state, job.id);
                }
            }
        }
    }

    fn redraw(&self) {
        if let Some(bar) = &self.bar {
            let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            let mut text: Vec<String> = counts
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(state, n)| format!("{state} {n}"))
                .collect();
            let (told, polled) = *self.ends.lock().unwrap_or_else(|p| p.into_inner());
            if told + polled > 0 {
                text.push(format!("callbacks: {told} heard, {polled} reconciled"));
            }
            bar.set_message(text.join(", "));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `--out` as an object store's URL, when it is one.
fn store_url(out: &Path) -> Option<&str> {
    out.to_str().filter(|text| {
        ["s3://", "gs://", "az://"]
            .iter()
            .any(|s| text.starts_with(s))
    })
}

/// Where videos go: the local directory (for results.jsonl and, by default, the ledger), and
/// the object store when `--out` names one.
fn destination(args: &Args) -> Result<(PathBuf, Option<Destination>), ExitCode> {
    let Some(url) = store_url(&args.out) else {
        // file://DIR is the directory DIR.
        let text = args.out.to_str().unwrap_or_default();
        if let Some(dir) = text.strip_prefix("file://") {
            return Ok((PathBuf::from(dir), None));
        }
        return Ok((args.out.clone(), None));
    };
    let Some(ledger) = args.ledger.as_deref() else {
        eprintln!("error: --out {url} needs --ledger PATH_OR_URL: the ledger is a database, not an object");
        eprintln!("  next: add --ledger ./happyhorse.db (this machine) or --ledger postgres://USER@HOST/DB (workers on many machines)");
        return Err(ExitCode::from(UNUSABLE));
    };
    let local = if ledger.starts_with("postgres://") || ledger.starts_with("postgresql://") {
        PathBuf::from(".")
    } else {
        Path::new(ledger)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    match Destination::from_url(url) {
        Ok(destination) => Ok((local, Some(destination))),
        Err(err) => {
            eprintln!("error: --out: {err}");
            Err(ExitCode::from(UNUSABLE))
        }
    }
}

async fn batch(args: &Args) -> ExitCode {
    let (out_dir, store) = match destination(args) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let location = ledger_location(args.ledger.as_deref(), Some(&out_dir));
    let opened = if args.dry_run {
        ledger::open_read_only(&location).await
    } else {
        ledger::open(&location).await
    };
    let ledger: Arc<dyn Ledger> = match opened {
        Ok(ledger) => Arc::from(ledger),
        Err(err) => return fail(&err, args.json, &args.out),
    };
    let clients = match clients(args.sandbox).await {
        Ok(clients) => clients,
        Err(err) => return fail(&err, args.json, &args.out),
    };
    let callback_url = match args.callback_url.as_deref().map(callback_base).transpose() {
        Ok(url) => url,
        Err(why) => {
            eprintln!("error: --callback-url: {why}");
            return ExitCode::from(UNUSABLE);
        }
    };
    let options = BatchOptions {
        concurrency: usize::from(args.concurrency),
        max_in_flight: args.max_in_flight,
        event_retention: (args.history_days > 0)
            .then(|| Duration::from_secs(u64::from(args.history_days).saturating_mul(24 * 3600))),
        callback_url,
        lease: Duration::from_secs(args.lease),
        time_scale: args.time_scale,
        budget: Budget {
            max_credits: args.max_credits,
            max_video_seconds: args.max_video_seconds,
        },
        // The in-process emulator's tasks end with this process: a rerun submits them again.
        emulated: args.sandbox,
        retry_failed: match &args.retry_failed {
            None => Vec::new(),
            Some(classes) if classes.is_empty() => RetryClass::ALL.to_vec(),
            Some(classes) => classes.clone(),
        },
        uncertain: if args.resubmit_uncertain {
            Uncertain::Resubmit
        } else if args.skip_uncertain {
            Uncertain::Skip
        } else {
            Uncertain::Report
        },
        ..BatchOptions::default()
    };
    let staging = match check_images(args, &ledger).await {
        Ok(staging) => Arc::new(staging),
        Err(code) => return code,
    };
    let interrupted = tokio_util::sync::CancellationToken::new();
    let mut batch = Batch::with_shared_ledger(ledger.clone(), &out_dir)
        .with_options(options)
        .cancel_on(interrupted.clone());
    for client in &clients.clients {
        batch = batch.with_client(client.clone());
    }
    if let Some(store) = &store {
        batch = batch.with_store(store.clone());
    }
    let metrics = match (&args.metrics_addr, args.dry_run) {
        (Some(addr), false) => match super::serve::metrics_endpoint(*addr, ledger.clone()).await {
            Ok(metrics) => Some(metrics),
            Err(code) => return code,
        },
        _ => None,
    };
    if let Some(metrics) = &metrics {
        batch = batch.with_metrics(metrics.clone());
    }
    if args.dry_run {
        return match batch
            .dry_run_each(|| reread(&args.jobs, args.provider, Some(staging.clone())))
            .await
        {
            Ok(plan) => dry_run(&plan, args.json),
            Err(err) => fail(&err, args.json, &args.out),
        };
    }
    let plan = match batch
        .plan_each(|| reread(&args.jobs, args.provider, Some(staging.clone())))
        .await
    {
        Ok(plan) => plan,
        Err(err) => return fail(&err, args.json, &args.out),
    };
    if !args.json {
        print_plan(&plan);
    }
    let summary = match ledger.summary().await {
        Ok(summary) => summary,
        Err(err) => return fail(&err, args.json, &args.out),
    };
    let display = Display::new(&summary, args.json);
    let shown = display.clone();
    let batch = batch.on_change(move |change| shown.change(change.job, change.from));
    {
        let interrupted = interrupted.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("stopping: in-flight steps finish and are recorded (Ctrl-C again to force; the rerun resumes either way)");
                interrupted.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(i32::from(INTERRUPTED));
                }
            }
        });
    }
    let report = batch.run().await;
    display.finish();
    let report = match report {
        // Another process is running this ledger: its results are its own to write.
        Err(err @ Error::LedgerBusy { .. }) => return fail(&err, args.json, &args.out),
        report => report,
    };
    let results = match ledger.jobs().await {
        Ok(all) => {
            let mut rows = results_rows(&all, &out_dir);
            for row in &mut rows {
                row.next = super::jobs::next_step(row.state).map(str::to_owned);
            }
            match write_results(&rows, &out_dir).await {
                Ok(path) => match &store {
                    Some(store) => results_beside_the_videos(store, path).await,
                    None => Ok(path),
                },
                Err(err) => Err(err),
            }
        }
        Err(err) => Err(err),
    };
    let report = match report {
        Ok(report) => report,
        Err(err) => return fail(&err, args.json, &args.out),
    };
    let results = match results {
        Ok(path) => path,
        Err(err) => {
            // The run's own account first (what it saved, why it stopped), then the error.
            if !args.json {
                print_report(&report);
            }
            return fail(&err, args.json, &args.out);
        }
    };
    finish(args, &report, &results, interrupted.is_cancelled())
}

/// `results.jsonl`, written at `path`, put beside the videos in the store too.
async fn results_beside_the_videos(store: &Destination, path: PathBuf) -> Result<PathBuf, Error> {
    let bytes = tokio::fs::read(&path).await.map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    store.put("results.jsonl", bytes.into()).await?;
    Ok(path)
}

/// The images of the jobs still to be submitted, checked before anything is staged or sent
/// (remote URLs fetched unless `--no-preflight`; local files read either way): every problem
/// of every line reported, then the exit code to stop with. Then the local images staged
/// (each distinct file once; none on a dry run), and what each job's images are sent as.
async fn check_images(args: &Args, ledger: &Arc<dyn Ledger>) -> Result<Staging, ExitCode> {
    let started = std::time::Instant::now();
    let checked = match preflight::preflight(args.no_preflight) {
        Ok(preflight) => {
            let jobs = reread(&args.jobs, args.provider, None);
            let stage = Stage {
                url: args.stage.as_deref(),
                ttl: Duration::from_secs(args.stage_ttl),
                dry_run: args.dry_run,
            };
            stage::check_batch(&preflight, jobs, ledger, &args.jobs, &stage).await
        }
        Err(err) => Err(err),
    };
    let checked = match checked {
        Ok(checked) => checked,
        Err(err) => return Err(fail(&err, args.json, &args.out)),
    };
    if checked.files_read > 0 || checked.urls_fetched > 0 {
        eprintln!(
            "images checked: {} local file{} read, {} URL{} fetched, in {} ms",
            checked.files_read,
            if checked.files_read == 1 { "" } else { "s" },
            checked.urls_fetched,
            if checked.urls_fetched == 1 { "" } else { "s" },
            started.elapsed().as_millis()
        );
    }
    if checked.signed_again > 0 {
        eprintln!(
            "{} the staged images of {} queued job{}: their presigned URLs expire within half of --stage-ttl",
            if args.dry_run { "would sign again" } else { "signed again" },
            checked.signed_again,
            if checked.signed_again == 1 { "" } else { "s" },
        );
    }
    if checked.errors.is_empty() {
        let ttl = Duration::from_secs(args.stage_ttl);
        return stage::stage_batch(checked, args.stage.as_deref(), ttl, args.dry_run).await;
    }
    let problems: Vec<&String> = checked.errors.iter().map(|(_, text)| text).collect();
    for problem in &problems {
        eprintln!("{problem}");
    }
    eprintln!(
        "error: {} image problem{} in {}; nothing was staged or submitted",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        args.jobs.display()
    );
    if checked.needs_stage {
        eprintln!("  next: pass --stage s3://BUCKET/PREFIX (or gs://, az://; or set HAPPYHORSE_STAGE) to stage the local images there and send presigned URLs, or upload them yourself and give their URLs");
    } else {
        eprintln!("  {}", preflight::NEXT);
    }
    if args.json {
        println!("{}", json!({"ok": false, "image_problems": problems}));
    }
    Err(ExitCode::from(UNUSABLE))
}

/// A dry run's plan, as text or one JSON object; nothing was written.
fn dry_run(plan: &Plan, json: bool) -> ExitCode {
    if json {
        println!(
            "{}",
            json!({
                "ok": true,
                "dry_run": true,
                "new": plan.enqueued.inserted,
                "existing": plan.enqueued.existing,
                "to_go": plan.to_go,
                "to_go_video_seconds": plan.to_go.video_seconds(),
                "to_go_credits": plan.to_go.credits(),
                "retried": plan.retries.classes.iter().map(|(c, n)| (c.name(), n)).collect::<BTreeMap<_, _>>(),
                "left_failed": plan.retries.left_failed,
                "committed": plan.committed,
            })
        );
    } else {
        print_plan(plan);
        eprintln!("dry run: every check passed; nothing was submitted, recorded or created (run it without --dry-run to do it)");
    }
    ExitCode::SUCCESS
}

/// What a run did and left, as text.
fn print_report(report: &BatchReport) {
    for line in super::jobs::summary_lines(&report.summary) {
        eprintln!("{line}");
    }
    for (id, why) in &report.deferred {
        eprintln!("left for a later run: {id}: {why}");
    }
    if let Some(why) = &report.stopped {
        eprintln!("stopped submitting: {why}");
    }
}

fn finish(args: &Args, report: &BatchReport, results: &Path, interrupted: bool) -> ExitCode {
    let summary = &report.summary;
    if args.json {
        println!(
            "{}",
            json!({
                "ok": report.all_downloaded(),
                "results": results,
                "states": summary.states.iter().map(|(s, n)| (s.name(), n)).collect::<BTreeMap<_, _>>(),
                "committed": summary.committed,
                "deferred": report.deferred.iter().map(|(id, why)| json!({"id": id, "why": why})).collect::<Vec<_>>(),
                "stopped": report.stopped,
                "submits": report.submits,
                "polls": report.polls,
                "downloads": report.downloads,
                "heard": report.heard,
                "reconciled": report.reconciled,
            })
        );
    } else {
        print_report(report);
        let uncertain = summary.count(JobState::Uncertain);
        if uncertain > 0 {
            eprintln!(
                "hint: {uncertain} job{} uncertain: a reapi submit's answer was lost, so a task may exist and be billed; check reapi's console, then rerun with --resubmit-uncertain (may pay twice) or --skip-uncertain",
                if uncertain == 1 { " is" } else { "s are" }
            );
        }
        if summary.count(JobState::Failed) + summary.count(JobState::Expired) > 0 {
            eprintln!("hint: to try the failed and expired jobs again (new tasks are billed; a job whose task may still be going is left), rerun with --retry-failed; add --dry-run first to see what it would cost");
        }
        if !report.all_downloaded() && (interrupted || !report.deferred.is_empty()) {
            eprintln!("hint: run the same command again to resume");
        }
        println!("{}", results.display());
    }
    if interrupted {
        ExitCode::from(INTERRUPTED)
    } else if report.all_downloaded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILED)
    }
}
