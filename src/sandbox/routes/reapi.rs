//! reapi (`/api/v1`): `POST /videos/generations` (one model id; the mode follows the media
//! field sent; no idempotency key, no callbacks) and `GET /tasks/{id}`, answering the task
//! object itself.

use axum::{
    extract::State as Extract,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde_json::{json, Value};

use super::{
    errors,
    idempotency::Idempotency,
    reply, status_route,
    submit::{create_or_replay, new_task, Caller},
    PathId, Shared,
};
use crate::{
    sandbox::{Failure, Phase, State, Task},
    Provider,
};

const REAPI: Provider = Provider::Reapi;

pub(super) async fn submit(state: &Shared, caller: &Caller<'_>, body: Value) -> Response {
    let problems = state.schemas.problems(REAPI, &body);
    if !problems.is_empty() {
        return errors::invalid(REAPI, problems);
    }
    // reapi documents no idempotency key and no callbacks: a repeated submit is a new task.
    let new = new_task(REAPI, caller, &None);
    let (task, _) = create_or_replay(
        state,
        REAPI,
        REAPI.facts().models[0],
        body,
        Idempotency::None,
        (new, None),
    )
    .await;
    reply(StatusCode::OK, self::task(state, &task, state.phase(&task)))
}

/// reapi's numeric code for a failure: the fault's code when it is a number, else 60001
/// (a sandbox choice; reapi documents no generation-failure code).
fn failure_code(failure: &Failure) -> Value {
    failure
        .code
        .parse::<i64>()
        .map_or(Value::from(60001), Value::from)
}

/// The task object in `phase`, as submits and polls answer it.
pub(super) fn task(state: &State, task: &Task, phase: Phase) -> Value {
    let status = phase.status_name(REAPI);
    let (output, error) = match (phase, &task.failure) {
        (Phase::Succeeded, _) => (json!({"video_urls": [state.output_url(task)]}), Value::Null),
        (Phase::Failed, Some(failure)) => (
            Value::Null,
            json!({"code": failure_code(failure), "message": format!("{}: {}", failure.code, failure.message)}),
        ),
        _ => (Value::Null, Value::Null),
    };
    json!({"id": task.id, "model": task.model, "status": status, "output": output, "error": error})
}

pub(super) async fn get(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Response {
    status_route(&state, REAPI, &headers, &id, |_| None, task).await
}
