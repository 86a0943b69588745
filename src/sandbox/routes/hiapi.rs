//! HiAPI (`/v1`): `POST /tasks` (callbacks, `Idempotency-Key`, one model id per mode),
//! `GET /tasks/{id}`, `GET /tasks` (paged), every answer in the `{code, message, data}`
//! envelope.

use axum::{
    extract::{rejection::QueryRejection, Query, State as Extract},
    http::{header, HeaderMap, StatusCode},
    response::Response,
};
use serde_json::{json, Value};

use super::{
    deliver_or_reset, errors, gate, idempotency, reply, status_route,
    submit::{create_or_replay, new_task, Caller},
    PathId, Shared,
};
use crate::{
    sandbox::{callbacks::Target, faults::REQUEST_FAULTS, Phase, State, Task},
    Provider,
};

const HIAPI: Provider = Provider::HiApi;

pub(super) async fn submit(state: &Shared, caller: &Caller<'_>, body: Value) -> Response {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let models = HIAPI.facts().models;
    if !models.contains(&model.as_str()) {
        // HiAPI answers some validation errors with HTTP 200 and a non-200 code (T2V page).
        let message = format!(
            "model: value must be one of {}",
            models
                .iter()
                .map(|m| format!("{m:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return errors::hiapi_envelope_error(&message);
    }
    let problems = state.schemas.problems(HIAPI, &body);
    if !problems.is_empty() {
        return errors::invalid(HIAPI, problems);
    }
    let idempotency = match idempotency::lookup(state, HIAPI, caller, &body) {
        Ok(idempotency) => idempotency,
        Err(answer) => return *answer,
    };
    let target = body
        .pointer("/callback/url")
        .and_then(Value::as_str)
        .map(|url| Target {
            url: url.to_owned(),
            progress: false,
            completed: true,
            failed: true,
        });
    let new = new_task(HIAPI, caller, &target);
    let (task, replayed) =
        create_or_replay(state, HIAPI, &model, body, idempotency, (new, target)).await;
    let status = state.phase(&task).status_name(HIAPI);
    let mut answer = reply(
        StatusCode::OK,
        json!({"code": 200, "message": "success", "data": {"taskId": task.id, "status": status}}),
    );
    if replayed {
        answer.headers_mut().insert(
            header::HeaderName::from_static("idempotent-replay"),
            header::HeaderValue::from_static("true"),
        );
    }
    answer
}

/// The task object in `phase`, as polled and as callbacks carry it.
pub(super) fn task(state: &State, task: &Task, phase: Phase) -> Value {
    let status = phase.status_name(HIAPI);
    let (completed, output, error) = match (phase, &task.failure) {
        (Phase::Succeeded, _) => (
            state.completed_unix(task),
            json!([{"type": "video", "url": state.output_url(task), "expireAt": state.expires_unix(task)}]),
            Value::Null,
        ),
        (Phase::Failed, Some(failure)) => (
            state.completed_unix(task),
            Value::Null,
            json!({"code": failure.code, "message": failure.message}),
        ),
        _ => (0, Value::Null, Value::Null),
    };
    json!({
        "taskId": task.id, "model": task.model, "status": status,
        "created": task.created_unix, "completed": completed,
        "storage": "temp", "route": null, "output": output, "error": error
    })
}

pub(super) async fn get(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Response {
    status_route(&state, HIAPI, &headers, &id, |_| None, |state, found, phase| {
        json!({"code": 200, "message": "success", "data": task(state, found, phase)})
    })
    .await
}

/// `GET /tasks?page=N&size=M`: the key's own tasks, newest first. Pages from 1 (a page past
/// the end is empty), 20 tasks by default, 1 to 100, as the document states them; anything
/// else (0, 101, an empty value, not decimal digits) is HiAPI's 400. A page number too large
/// for 64 bits counts as the largest.
pub(super) async fn list(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let (owner, faults) = match gate(&state, HIAPI, &headers, &REQUEST_FAULTS).await {
        Ok(gated) => gated,
        Err(answer) => return answer,
    };
    // HiAPI's 400 in JSON, not the framework's plain-text rejection.
    let Ok(Query(query)) = query else {
        let problem = (
            "query".to_owned(),
            "the query string is malformed".to_owned(),
        );
        return deliver_or_reset(errors::invalid(HIAPI, vec![problem]), &faults);
    };
    let (number, size) = match (
        whole_number(&query, "page", 1, u64::MAX),
        whole_number(&query, "size", 20, 100),
    ) {
        (Ok(number), Ok(size)) => (number, size),
        (Err(problem), _) | (_, Err(problem)) => {
            return deliver_or_reset(errors::invalid(HIAPI, vec![problem]), &faults)
        }
    };
    let mut tasks = state.tasks_of(HIAPI, owner);
    tasks.sort_by_key(|t| std::cmp::Reverse(t.started));
    let skip = usize::try_from(number.saturating_sub(1).saturating_mul(size)).unwrap_or(usize::MAX);
    let take = usize::try_from(size).unwrap_or(usize::MAX);
    let page: Vec<Value> = tasks
        .iter()
        .skip(skip)
        .take(take)
        .map(|t| task(&state, t, state.phase(t)))
        .collect();
    let answer = reply(
        StatusCode::OK,
        json!({"code": 200, "message": "success", "data": {"tasks": page, "total": tasks.len()}}),
    );
    deliver_or_reset(answer, &faults)
}

/// The query parameter `name` (its last value) as a whole number from 1 to `max`, `default`
/// when absent; the problem, as `(path, message)`, when it is anything else.
fn whole_number(
    query: &[(String, String)],
    name: &str,
    default: u64,
    max: u64,
) -> Result<u64, (String, String)> {
    let Some((_, text)) = query.iter().rev().find(|(key, _)| key == name) else {
        return Ok(default);
    };
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    // All digits: only too many of them fail to parse, and those count as the largest.
    let value = digits.then(|| text.parse().unwrap_or(u64::MAX));
    match value {
        Some(value @ 1..) if value <= max => Ok(value),
        _ => {
            let shown: String = text.chars().take(40).collect();
            let range = if max == u64::MAX {
                "from 1".to_owned()
            } else {
                format!("from 1 to {max}")
            };
            Err((
                name.to_owned(),
                format!("want a whole number {range}, got {shown:?}"),
            ))
        }
    }
}
