//! Apiframe (no base path): `POST /v2/videos/generate` (202 with a job id; webhooks with
//! `webhookEvents`; `Idempotency-Key`) and `GET /v2/jobs/{id}` (UUIDs only), the job carrying
//! its credit cost and webhook status.

use axum::{
    extract::State as Extract,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde_json::{json, Value};

use super::{
    errors, idempotency, reply, status_route,
    submit::{create_or_replay, new_task, Caller},
    PathId, Shared,
};
use crate::{
    sandbox::{callbacks::Target, Phase, State, Task},
    Provider,
};

const APIFRAME: Provider = Provider::Apiframe;

pub(super) async fn submit(state: &Shared, caller: &Caller<'_>, body: Value) -> Response {
    let problems = state.schemas.problems(APIFRAME, &body);
    if !problems.is_empty() {
        return errors::invalid(APIFRAME, problems);
    }
    let idempotency = match idempotency::lookup(state, APIFRAME, caller, &body) {
        Ok(idempotency) => idempotency,
        Err(answer) => return *answer,
    };
    let target = webhook_target(&body);
    let new = new_task(APIFRAME, caller, &target);
    let (task, _) = create_or_replay(
        state,
        APIFRAME,
        APIFRAME.facts().models[0],
        body,
        idempotency,
        (new, target),
    )
    .await;
    // Idempotent replays may return the original job's current status (Apiframe OpenAPI).
    let status = state.phase(&task).status_name(APIFRAME);
    reply(
        StatusCode::ACCEPTED,
        json!({"jobId": task.id, "status": status}),
    )
}

/// Apiframe's webhook target: `webhookUrl` with `webhookEvents`, which default to `completed`
/// and `failed` (assumed: Apiframe's document gives no default).
fn webhook_target(body: &Value) -> Option<Target> {
    let url = body.get("webhookUrl").and_then(Value::as_str)?;
    let events: Vec<&str> = body
        .get("webhookEvents")
        .and_then(Value::as_array)
        .map(|events| events.iter().filter_map(Value::as_str).collect())
        .unwrap_or_else(|| vec!["completed", "failed"]);
    Some(Target {
        url: url.to_owned(),
        progress: events.contains(&"progress"),
        completed: events.contains(&"completed"),
        failed: events.contains(&"failed"),
    })
}

fn rfc3339(unix: u64) -> Value {
    i64::try_from(unix)
        .ok()
        .and_then(|unix| chrono::DateTime::from_timestamp(unix, 0))
        .map_or(Value::Null, |t| {
            Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        })
}

/// Apiframe's price for a job: its resolution's rate (1080p by default) times its duration
/// (5 s when unset: the sandbox's choice, Apiframe documents no default).
fn credits(input: &Value) -> u64 {
    let params = &input["happyhorse11Params"];
    let Some(price) = APIFRAME.facts().credits_per_second else {
        return 0;
    };
    let per_second = match params["resolution"].as_str() {
        Some("720p") => price.p720,
        _ => price.p1080,
    };
    per_second.saturating_mul(params["duration"].as_u64().unwrap_or(5))
}

/// The job object in `phase`, as polled and as webhooks carry it.
pub(super) fn job(state: &State, task: &Task, phase: Phase) -> Value {
    let status = phase.status_name(APIFRAME);
    let progress = match phase {
        Phase::Queued => Value::Null,
        Phase::Running { progress } => Value::from(progress),
        Phase::Succeeded => Value::from(100),
        Phase::Failed => Value::Null,
    };
    let done = phase == Phase::Succeeded;
    let error = match (phase, &task.failure) {
        (Phase::Failed, Some(failure)) => {
            Value::from(format!("{}: {}", failure.code, failure.message))
        }
        _ => Value::Null,
    };
    json!({
        "id": task.id, "status": status, "model": task.model, "progress": progress,
        "error": error,
        "creditCost": if done { Value::from(credits(&task.input)) } else { Value::Null },
        "webhookStatus": task.webhook_status().name(),
        "createdAt": rfc3339(task.created_unix),
        "completedAt": if done { rfc3339(state.completed_unix(task)) } else { Value::Null },
        "expired": done && state.simulated_unix_now() > state.expires_unix(task),
        "result": if done { json!({"urls": [state.output_url(task)]}) } else { Value::Null },
        "input": task.input,
    })
}

pub(super) async fn get(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Response {
    let not_a_uuid = |id: &str| {
        uuid::Uuid::parse_str(id)
            .is_err()
            .then(|| errors::apiframe_job_id_not_a_uuid(id))
    };
    status_route(&state, APIFRAME, &headers, &id, not_a_uuid, job).await
}
