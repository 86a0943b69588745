//! The console's pages and JSON: the overview (and its live stream), a page of jobs, one
//! job, and the console's own metrics.

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{
    extract::{Path, Query, State},
    http::{header, StatusCode},
    response::{
        sse::{Event as SseEvent, KeepAlive, Sse},
        Html, IntoResponse, Response,
    },
    Json,
};
use chrono::Utc;
use futures_util::Stream;
use happyhorse::{
    ledger::{Job, JobFilter, JobState},
    Provider,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::Console;
use crate::cli::jobs::next_step;

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");

/// How far back the throughput is measured.
const RATE_WINDOW: Duration = Duration::from_secs(300);

/// How often the live stream looks for news (one cheap query: the newest event's number).
const STREAM_EVERY: Duration = Duration::from_millis(500);

pub(crate) async fn index() -> Html<&'static str> {
    Html(INDEX)
}

pub(crate) async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SCRIPT,
    )
        .into_response()
}

pub(crate) async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        STYLE,
    )
        .into_response()
}

fn failed(err: &happyhorse::Error) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"error": err.to_string()})),
    )
        .into_response()
}

/// How often at most the overview is made again while the ledger keeps changing.
const OVERVIEW_EVERY: Duration = Duration::from_secs(1);

/// An overview made, with the history's newest event number then and when it was made.
pub(crate) struct Cached {
    seq: i64,
    made: std::time::Instant,
    value: Value,
}

/// The overview as JSON, with the history's event number it was made at: made again only
/// when the ledger's history moved, and then at most once per [`OVERVIEW_EVERY`] (clients
/// share it), so it may be older than the history.
async fn overview_json(console: &Console) -> Result<(i64, Value), happyhorse::Error> {
    console.read(1);
    let seq = console.ledger.event_seq().await?;
    let mut cache = console.overview.lock().await;
    if let Some(cached) = cache.as_ref() {
        if cached.seq == seq || cached.made.elapsed() < OVERVIEW_EVERY {
            return Ok((cached.seq, cached.value.clone()));
        }
    }
    let value = make_overview(console, seq).await?;
    *cache = Some(Cached {
        seq,
        made: std::time::Instant::now(),
        value: value.clone(),
    });
    Ok((seq, value))
}

/// How long until the shared overview may be made again.
async fn remade_in(console: &Console) -> Duration {
    console
        .overview
        .lock()
        .await
        .as_ref()
        .map_or(Duration::ZERO, |cached| {
            OVERVIEW_EVERY.saturating_sub(cached.made.elapsed())
        })
}

async fn make_overview(console: &Console, event_seq: i64) -> Result<Value, happyhorse::Error> {
    let ledger = &console.ledger;
    console.read(5);
    let latest_event_at = ledger
        .events_after(event_seq.saturating_sub(1), 1, None)
        .await?
        .first()
        .map(|event| event.at);
    let summary = ledger.summary().await?;
    let errors = ledger.error_groups(20).await?;
    let progress = ledger.progress(Duration::from_secs(60)).await?;
    let (polls, tasks) = ledger.polls().await?;
    let total = summary.total();
    let states: Vec<Value> = JobState::ALL
        .iter()
        .map(|state| json!({"state": state, "jobs": summary.count(*state)}))
        .collect();
    let settled: u64 = JobState::ALL
        .iter()
        .filter(|s| s.is_settled())
        .map(|s| summary.count(*s))
        .sum();
    let since =
        Utc::now().timestamp_millis() - i64::try_from(RATE_WINDOW.as_millis()).unwrap_or(i64::MAX);
    let recent: u64 = progress
        .iter()
        .filter(|p| p.at_ms >= since && p.state.is_settled())
        .map(|p| p.jobs)
        .sum();
    let per_minute = recent as f64 / (RATE_WINDOW.as_secs_f64() / 60.0);
    let left = total.saturating_sub(settled);
    let eta_seconds = (per_minute > 0.0 && left > 0).then(|| left as f64 / per_minute * 60.0);
    let committed: Vec<Value> = summary
        .committed
        .rows
        .iter()
        .map(|row| {
            json!({"provider": row.provider, "resolution": row.resolution, "jobs": row.jobs,
                   "video_seconds": row.video_seconds, "credits": row.credits})
        })
        .collect();
    Ok(json!({
        "ledger": console.ledger_shown,
        "event_seq": event_seq,
        "latest_event_at": latest_event_at,
        "total": total,
        "settled": settled,
        "states": states,
        "committed": committed,
        "callbacks": summary.callbacks,
        "errors": errors,
        "progress": progress,
        "per_minute": per_minute,
        "polls": polls,
        "tasks": tasks,
        "eta_seconds": eta_seconds,
        "at": Utc::now(),
    }))
}

pub(crate) async fn overview(State(console): State<Arc<Console>>) -> Response {
    match overview_json(&console).await {
        Ok((_, value)) => Json(value).into_response(),
        Err(err) => failed(&err),
    }
}

/// The overview whenever the ledger's history moved (and once at the start). A shared
/// overview older than the history is sent once, and the newer one as soon as it is made:
/// the last change of a run always reaches the page.
pub(crate) async fn stream(
    State(console): State<Arc<Console>>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let updates =
        futures_util::stream::unfold((console, None::<i64>), |(console, sent)| async move {
            loop {
                console.read(1);
                let seq = console.ledger.event_seq().await.ok();
                if seq.is_some() && seq != sent {
                    match overview_json(&console).await {
                        Ok((made_at, value)) if Some(made_at) != sent => {
                            let event = SseEvent::default()
                                .event("overview")
                                .data(value.to_string());
                            return Some((Ok(event), (console, Some(made_at))));
                        }
                        // Sent already; a newer one is made once the shared one may be:
                        // look again then.
                        Ok(_) => {
                            let wait = remade_in(&console).await.min(STREAM_EVERY);
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        Err(err) => {
                            let event = SseEvent::default().event("problem").data(err.to_string());
                            return Some((Ok(event), (console, seq)));
                        }
                    }
                }
                tokio::time::sleep(STREAM_EVERY).await;
            }
        });
    Sse::new(updates).keep_alive(KeepAlive::default())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct JobsQuery {
    state: Option<String>,
    provider: Option<String>,
    error: Option<String>,
    q: Option<String>,
    after: Option<i64>,
    limit: Option<u32>,
    saved: Option<bool>,
}

/// A job's prompt, from its wire body.
fn prompt(job: &Job) -> Option<String> {
    job.body
        .get("prompt")
        .or_else(|| job.body.pointer("/input/prompt"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The request's parameters worth showing beside a video (its wire body less prompt and URLs).
fn parameters(job: &Job) -> Value {
    json!({
        "resolution": job.resolution,
        "video_seconds": job.video_seconds,
        "credits": job.credits,
        "request": job.redacted_body(),
    })
}

fn row(job: &Job) -> Value {
    json!({
        "id": job.id, "seq": job.seq, "line": job.line, "provider": job.provider,
        "state": job.state, "prompt": prompt(job), "resolution": job.resolution,
        "video_seconds": job.video_seconds, "attempts": job.attempts, "task_id": job.task_id,
        "error": job.error, "updated_at": job.updated_at, "polls": job.polls,
        "video": (job.state == JobState::Downloaded && job.file.is_some())
            .then(|| format!("/media/{}", job.id)),
        "parameters": parameters(job),
    })
}

pub(crate) async fn jobs(
    State(console): State<Arc<Console>>,
    Query(query): Query<JobsQuery>,
) -> Response {
    let bad = |message: String| {
        (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response()
    };
    let mut filter = JobFilter::default();
    if let Some(state) = query.state.as_deref().filter(|s| !s.is_empty()) {
        match state.parse::<JobState>() {
            Ok(state) => filter.state = Some(state),
            Err(_) => return bad(format!("no state '{state}'")),
        }
    }
    if let Some(provider) = query.provider.as_deref().filter(|s| !s.is_empty()) {
        match provider.parse::<Provider>() {
            Ok(provider) => filter.provider = Some(provider),
            Err(_) => return bad(format!("no provider '{provider}'")),
        }
    }
    filter.error = query.error.clone();
    filter.search = query.q.clone();
    filter.saved = query.saved.unwrap_or(false);
    let limit = query.limit.unwrap_or(50);
    console.read(1);
    match console.ledger.page(&filter, query.after, limit).await {
        Ok(page) => Json(json!({
            "jobs": page.jobs.iter().map(row).collect::<Vec<_>>(),
            "matching": page.matching,
            "next": page.next,
        }))
        .into_response(),
        Err(err) => failed(&err),
    }
}

/// The command that settles a job in `state`, where one is needed.
fn command(console: &Console, job: &Job) -> Option<String> {
    let ledger = &console.ledger_shown;
    let flag = match job.state {
        JobState::Uncertain => "--resubmit-uncertain",
        JobState::Expired => "--retry-failed=expired",
        JobState::Failed => "--retry-failed",
        _ => return None,
    };
    Some(format!(
        "happyhorse batch JOBS.jsonl --ledger {ledger} {flag}"
    ))
}

pub(crate) async fn job(State(console): State<Arc<Console>>, Path(id): Path<String>) -> Response {
    console.read(2);
    let job = match console.ledger.job(&id).await {
        Ok(Some(job)) => job,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({"error": format!("no job '{id}'")})),
            )
                .into_response()
        }
        Err(err) => return failed(&err),
    };
    let events = match console.ledger.events(&id).await {
        Ok(events) => events,
        Err(err) => return failed(&err),
    };
    let mut value = row(&job);
    if let Some(object) = value.as_object_mut() {
        object.insert("request".into(), job.redacted_body());
        object.insert("events".into(), json!(events));
        object.insert("next".into(), json!(next_step(job.state)));
        object.insert("command".into(), json!(command(&console, &job)));
        object.insert("bytes".into(), json!(job.bytes));
        object.insert("sha256".into(), json!(job.sha256));
        object.insert("deliveries".into(), json!(job.deliveries));
        object.insert("submitted_at".into(), json!(job.submitted_at));
        object.insert("created_at".into(), json!(job.created_at));
        object.insert("task_seconds".into(), json!(job.task_seconds));
    }
    Json(value).into_response()
}

/// The console's metrics in Prometheus' text format: the ledger's jobs per state (as every
/// process gives them), its committed video seconds, and the requests and ledger reads of
/// this console.
pub(crate) async fn metrics(State(console): State<Arc<Console>>) -> Response {
    console.read(2);
    let mut text = console.metrics.encode().await;
    let committed = match console.ledger.summary().await {
        Ok(summary) => summary.committed,
        Err(err) => return failed(&err),
    };
    text.push_str("# HELP happyhorse_committed_video_seconds Seconds of video the ledger's billed tasks make, by provider and resolution.\n# TYPE happyhorse_committed_video_seconds gauge\n");
    for row in &committed.rows {
        text.push_str(&format!(
            "happyhorse_committed_video_seconds{{provider=\"{}\",resolution=\"{}\"}} {}\n",
            row.provider, row.resolution, row.video_seconds
        ));
    }
    text.push_str(&format!(
        "# HELP happyhorse_console_ledger_reads_total Ledger reads this console made (each one to four statements).\n# TYPE happyhorse_console_ledger_reads_total counter\nhappyhorse_console_ledger_reads_total {}\n",
        console.reads.load(std::sync::atomic::Ordering::Relaxed)
    ));
    text.push_str(&format!(
        "# HELP happyhorse_console_requests_total Requests this console answered.\n# TYPE happyhorse_console_requests_total counter\nhappyhorse_console_requests_total {}\n",
        console.requests.load(std::sync::atomic::Ordering::Relaxed)
    ));
    (
        [(header::CONTENT_TYPE, happyhorse::metrics::CONTENT_TYPE)],
        text,
    )
        .into_response()
}
