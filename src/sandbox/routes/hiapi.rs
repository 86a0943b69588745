//! HiAPI (`/v1`): `POST /tasks` (callbacks, `Idempotency-Key`, one model id per mode),
//! `GET /tasks/{id}`, `GET /tasks` (paged), every answer in the `{code, message, data}`
//! envelope.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, Query, State as Extract},
    http::{header, HeaderMap, StatusCode},
    response::Response,
};
use serde_json::{json, Value};

use super::{
    deliver_or_reset, errors, gate, idempotency, reply,
    submit::{self, create_or_replay, for_validation, new_task, parse},
    Shared,
};
use crate::{
    sandbox::{
        callbacks::Target,
        faults::{Fault, REQUEST_FAULTS},
        Phase, State, Task,
    },
    Provider,
};

const HIAPI: Provider = Provider::HiApi;

pub(super) async fn create(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    submit::handle(state, HIAPI, headers, bytes).await
}

pub(super) async fn submit(
    state: &Shared,
    headers: &HeaderMap,
    bytes: &Bytes,
    faults: &[Fault],
) -> Response {
    let body = match parse(bytes) {
        Ok(body) => body,
        Err(problems) => return errors::invalid(HIAPI, problems),
    };
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
    let problems = state
        .schemas
        .problems(HIAPI, &for_validation(&body, "/callback/url"));
    if !problems.is_empty() {
        return errors::invalid(HIAPI, problems);
    }
    let idempotency = match idempotency::lookup(state, HIAPI, headers, &body) {
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
    let new = new_task(HIAPI, headers, faults, &target);
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

/// The task object, as polled and as callbacks carry it.
pub(super) fn task(state: &State, task: &Task) -> Value {
    let phase = state.phase(task);
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
    Path(id): Path<String>,
) -> Response {
    let faults = match gate(&state, HIAPI, &headers, &REQUEST_FAULTS).await {
        Ok(faults) => faults,
        Err(answer) => return answer,
    };
    let answer = match state.task(HIAPI, &id) {
        Some(found) => reply(
            StatusCode::OK,
            json!({"code": 200, "message": "success", "data": task(&state, &found)}),
        ),
        None => errors::task_not_found(HIAPI, &id),
    };
    deliver_or_reset(answer, &faults)
}

/// `GET /tasks?page=N&size=M`: pages from 1, 20 tasks by default, at most 100.
#[derive(serde::Deserialize)]
pub(super) struct Page {
    page: Option<usize>,
    size: Option<usize>,
}

pub(super) async fn list(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    Query(page): Query<Page>,
) -> Response {
    let faults = match gate(&state, HIAPI, &headers, &REQUEST_FAULTS).await {
        Ok(faults) => faults,
        Err(answer) => return answer,
    };
    let (number, size) = (
        page.page.unwrap_or(1).max(1),
        page.size.unwrap_or(20).clamp(1, 100),
    );
    let mut tasks: Vec<Arc<Task>> = state
        .tasks
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .values()
        .filter(|t| t.provider == HIAPI)
        .cloned()
        .collect();
    tasks.sort_by_key(|t| std::cmp::Reverse(t.started));
    let page: Vec<Value> = tasks
        .iter()
        .skip(number.saturating_sub(1).saturating_mul(size))
        .take(size)
        .map(|t| task(&state, t))
        .collect();
    let answer = reply(
        StatusCode::OK,
        json!({"code": 200, "message": "success", "data": {"tasks": page, "total": tasks.len()}}),
    );
    deliver_or_reset(answer, &faults)
}
