//! `happyhorse jobs`: what a ledger holds, and one job's timeline.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::ExitCode,
};

use happyhorse::{
    batch::describe,
    ledger::{self, Event, Job, JobState, Summary},
};
use serde_json::json;

use super::{
    batch::ledger_location,
    session::{self, FAILED, UNUSABLE},
};

#[derive(Debug, clap::Args)]
pub struct JobsArgs {
    /// The ledger: a SQLite file, or postgres://USER@HOST/DB. Without it (and without --out),
    /// HAPPYHORSE_LEDGER, as `batch` and `serve` read it.
    #[arg(long, value_name = "PATH_OR_URL", conflicts_with = "out")]
    ledger: Option<String>,
    /// The output directory of a batch (its ledger is DIR/happyhorse.db).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// One job's timeline instead: its request, and every transition, poll and callback the
    /// ledger recorded for it, oldest first.
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// What to run next for a job that stands in `state`, if anything (the library's errors say
/// what happened; the command line says what to do).
pub(crate) fn next_step(state: JobState) -> Option<&'static str> {
    match state {
        JobState::Uncertain => Some("check the provider's task list, then rerun with --resubmit-uncertain (may pay twice) or --skip-uncertain"),
        JobState::Expired => Some("rerun with --retry-failed=expired to make it again (a new, billed task)"),
        JobState::Failed => Some("rerun with --retry-failed to try it again if a new task may help (--dry-run first shows the cost)"),
        _ => None,
    }
}

/// A ledger's counts, what it committed, and the jobs that need attention, as lines.
pub(crate) fn summary_lines(summary: &Summary) -> Vec<String> {
    let counts: Vec<String> = summary
        .states
        .iter()
        .map(|(state, n)| format!("{state} {n}"))
        .collect();
    let mut lines = vec![format!("jobs: {} ({})", summary.total(), counts.join(", "))];
    let callbacks = summary.callbacks;
    if callbacks.jobs > 0 {
        lines.push(format!(
            "callbacks: {} of {} jobs submitted with one ended by a callback, {} by a reconciling poll (a callback dropped or late)",
            callbacks.heard, callbacks.jobs, callbacks.reconciled
        ));
    }
    if !summary.committed.rows.is_empty() {
        lines.push("committed:".into());
        lines.extend(
            describe(&summary.committed)
                .into_iter()
                .map(|l| format!("  {l}")),
        );
    }
    for job in &summary.attention {
        lines.push(format!(
            "{} {} ({}{}): {}",
            job.state,
            job.id,
            job.provider,
            job.task_id
                .as_deref()
                .map(|t| format!(" task {t}"))
                .unwrap_or_default(),
            job.error.as_deref().unwrap_or("")
        ));
        if let Some(next) = next_step(job.state) {
            lines.push(format!("  next: {next}"));
        }
    }
    lines
}

pub fn jobs(args: JobsArgs) -> ExitCode {
    // An explicit --ledger or --out wins over the environment (as clap's `env` would not let
    // --out do: the two conflict).
    let from_env = std::env::var("HAPPYHORSE_LEDGER")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let ledger = args
        .ledger
        .clone()
        .or_else(|| args.out.is_none().then_some(from_env).flatten());
    let location = ledger_location(ledger.as_deref(), args.out.as_deref());
    if !location.contains("://") && !Path::new(&location).exists() {
        eprintln!("error: no ledger at {location}");
        eprintln!("hint: pass --out DIR of a batch, or --ledger PATH");
        return ExitCode::from(UNUSABLE);
    }
    let runtime = match session::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    if let Some(id) = &args.id {
        return runtime.block_on(timeline(&location, id, args.json));
    }
    runtime.block_on(async {
        let summary = match ledger::open(&location).await {
            Ok(ledger) => ledger.summary().await,
            Err(err) => Err(err),
        };
        match summary {
            Ok(summary) if args.json => {
                println!(
                    "{}",
                    json!({
                        "ledger": ledger::shown(&location),
                        "total": summary.total(),
                        "states": summary.states.iter().map(|(s, n)| (s.name(), n)).collect::<BTreeMap<_, _>>(),
                        "committed": summary.committed,
                        "attention": summary.attention,
                        "callbacks": summary.callbacks,
                    })
                );
                ExitCode::SUCCESS
            }
            Ok(summary) => {
                println!("ledger: {}", ledger::shown(&location));
                for line in summary_lines(&summary) {
                    println!("{line}");
                }
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::from(FAILED)
            }
        }
    })
}

/// `jobs --id ID`: the job as recorded and its history, oldest first.
async fn timeline(location: &str, id: &str, json: bool) -> ExitCode {
    let ledger = match ledger::open(location).await {
        Ok(ledger) => ledger,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(FAILED);
        }
    };
    let (job, events) = match (ledger.job(id).await, ledger.events(id).await) {
        (Ok(Some(job)), Ok(events)) => (job, events),
        (Ok(None), _) => {
            eprintln!("error: no job {id:?} in {}", ledger::shown(location));
            eprintln!("hint: `happyhorse jobs` lists the jobs that need attention; results.jsonl lists them all");
            return ExitCode::from(UNUSABLE);
        }
        (Err(err), _) | (_, Err(err)) => {
            eprintln!("error: {err}");
            return ExitCode::from(FAILED);
        }
    };
    if json {
        println!(
            "{}",
            json!({ "ledger": ledger::shown(location), "job": job_json(&job), "events": events })
        );
        return ExitCode::SUCCESS;
    }
    for line in job_lines(&job) {
        println!("{line}");
    }
    for event in &events {
        println!("{}", event_line(event));
    }
    ExitCode::SUCCESS
}

/// A job as `jobs --id --json` shows it: no signed URL, no secret.
fn job_json(job: &Job) -> serde_json::Value {
    json!({
        "id": job.id,
        "line": job.line,
        "provider": job.provider,
        "state": job.state,
        "resolution": job.resolution,
        "video_seconds": job.video_seconds,
        "credits": job.credits,
        "request": job.redacted_body(),
        "attempts": job.attempts,
        "task_id": job.task_id,
        "status": job.status,
        "callback_url": job.callback_url.as_ref().map(ToString::to_string),
        "deliveries": job.deliveries,
        "file": job.file,
        "bytes": job.bytes,
        "sha256": job.sha256,
        "e_tag": job.e_tag,
        "object_version": job.object_version,
        "error": job.error,
        "next": next_step(job.state),
        "created_at": job.created_at,
        "submitted_at": job.submitted_at,
        "heard_at": job.heard_at,
    })
}

fn job_lines(job: &Job) -> Vec<String> {
    let mut lines = vec![format!(
        "job {} ({} {}, {} s{}): {}{}",
        job.id,
        job.provider,
        job.resolution,
        job.video_seconds,
        job.line.map(|l| format!(", line {l}")).unwrap_or_default(),
        job.state,
        job.task_id
            .as_deref()
            .map(|t| format!(", task {t}"))
            .unwrap_or_default()
    )];
    lines.push(format!("request: {}", job.redacted_body()));
    if let Some(file) = &job.file {
        lines.push(format!("file: {}", file.display()));
    }
    if let Some(error) = &job.error {
        lines.push(format!("error: {error}"));
    }
    if let Some(next) = next_step(job.state) {
        lines.push(format!("next: {next}"));
    }
    lines.push(format!(
        "{}  recorded (queued)",
        job.created_at.format(TIME)
    ));
    lines
}

const TIME: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

fn event_line(event: &Event) -> String {
    let mut line = format!(
        "{}  {:<18} {} -> {}",
        event.at.format(TIME),
        event.event,
        event.from.map_or("?", JobState::name),
        event.to
    );
    line.push_str(&match &event.worker {
        Some(worker) => format!("  by {worker}"),
        None => "  by a receiver or by request".into(),
    });
    if event.attempt > 0 {
        line.push_str(&format!("  attempt {}", event.attempt));
    }
    if let Some(status) = &event.status {
        line.push_str(&format!("  status {status}"));
    }
    if let Some(http) = event.http_status {
        line.push_str(&format!("  HTTP {http}"));
    }
    if event.deliveries > 0 {
        line.push_str(&format!("  deliveries {}", event.deliveries));
    }
    if let Some(error) = &event.error {
        line.push_str(&format!("  error: {error}"));
    }
    line
}
