//! The sandbox's routes: each provider's submit and poll endpoints, and the output files.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, State as Extract},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

use super::{unix_now, Phase, Remembered, State, Task, SAMPLE_MP4};
use crate::{validate::Issue, Provider};

type Shared = Arc<State>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/v1/tasks", post(hiapi_create).get(hiapi_list))
        .route("/v1/tasks/{id}", get(hiapi_get))
        .route("/api/v1/videos/generations", post(reapi_create))
        .route("/api/v1/tasks/{id}", get(reapi_get))
        .route("/v2/videos/generate", post(apiframe_create))
        .route("/v2/jobs/{id}", get(apiframe_get))
        .route("/files/{id}/0.mp4", get(output_file))
        .with_state(state)
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// Whether the request carries an acceptable key for `provider`.
fn authorized(state: &State, provider: Provider, headers: &HeaderMap) -> bool {
    let header_value = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (key, prefix) = match provider {
        Provider::HiApi | Provider::Reapi => {
            let bearer = header_value(header::AUTHORIZATION)
                .and_then(|v| v.strip_prefix("Bearer ").map(str::to_owned));
            (
                bearer,
                if provider == Provider::HiApi {
                    "sk-"
                } else {
                    "rk_"
                },
            )
        }
        Provider::Apiframe => (
            header_value(header::HeaderName::from_static("x-api-key")),
            "afk_",
        ),
    };
    match (key, &state.config.api_key) {
        (Some(key), Some(pinned)) => &key == pinned,
        (Some(key), None) => key.starts_with(prefix) && key.len() > prefix.len(),
        (None, _) => false,
    }
}

fn unauthorized(provider: Provider) -> Response {
    match provider {
        Provider::HiApi => reply(
            StatusCode::UNAUTHORIZED,
            json!({"code": 401, "error_code": "permission_denied",
                   "message": "permission_denied: send Authorization: Bearer sk-..."}),
        ),
        Provider::Reapi => reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": {"code": 10001,
                   "message": "missing or invalid API key: send Authorization: Bearer rk_..."}}),
        ),
        Provider::Apiframe => reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Unauthorized: missing or invalid X-API-Key (afk_...)"}),
        ),
    }
}

/// The parsed body, or the problem with one that is not JSON.
fn parse(bytes: &Bytes) -> Result<Value, Vec<(String, String)>> {
    serde_json::from_slice(bytes).map_err(|err| {
        vec![(
            String::new(),
            format!("request body is not valid JSON: {err}"),
        )]
    })
}

/// The provider's 400 answer for these `(path, message)` problems.
fn invalid(provider: Provider, problems: Vec<(String, String)>) -> Response {
    match provider {
        Provider::HiApi => {
            let messages: Vec<String> = problems
                .into_iter()
                .map(|(path, message)| Issue::new(path, message).provider_message())
                .collect();
            reply(
                StatusCode::BAD_REQUEST,
                json!({"code": 400, "error_code": "INVALID_REQUEST", "message": messages.join("; ")}),
            )
        }
        Provider::Reapi => {
            let messages: Vec<String> = problems
                .into_iter()
                .map(|(path, message)| join(&path, &message))
                .collect();
            reply(
                StatusCode::BAD_REQUEST,
                json!({"error": {"code": 20002, "message": messages.join("; ")}}),
            )
        }
        Provider::Apiframe => {
            let mut details = serde_json::Map::new();
            for (path, message) in problems {
                let key = if path.is_empty() {
                    "body".to_owned()
                } else {
                    path
                };
                let entry = details.entry(key).or_insert_with(|| json!([]));
                if let Value::Array(list) = entry {
                    list.push(Value::from(message));
                }
            }
            reply(
                StatusCode::BAD_REQUEST,
                json!({"error": "Validation failed", "details": details}),
            )
        }
    }
}

/// How a submit stands with respect to its `Idempotency-Key`.
enum Idempotency {
    /// No key: create a task.
    None,
    /// A new key, now marked in flight: create a task, then [`finish`] it.
    First(String),
    /// The key's first request created this task: answer with it again.
    Replay(Arc<Task>),
}

/// Looks the request's `Idempotency-Key` up, or answers 400/409/422 as HiAPI and Apiframe do.
fn idempotency(
    state: &State,
    provider: Provider,
    headers: &HeaderMap,
    body: &Value,
) -> Result<Idempotency, Box<Response>> {
    let Some(raw) = headers.get("idempotency-key") else {
        return Ok(Idempotency::None);
    };
    let key = match raw.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= 255 => key.to_owned(),
        _ => {
            let problem = "Idempotency-Key must be 1 to 255 visible ASCII characters".to_owned();
            return Err(Box::new(invalid(provider, vec![(String::new(), problem)])));
        }
    };
    let mut keys = state.keys.lock().unwrap_or_else(|p| p.into_inner());
    let Some(seen) = keys.get(&(provider, key.clone())) else {
        keys.insert(
            (provider, key.clone()),
            Remembered {
                body: body.clone(),
                task: None,
            },
        );
        return Ok(Idempotency::First(key));
    };
    if seen.body != *body {
        let message = "Idempotency-Key was already used with a different body; use a new key";
        return Err(Box::new(refuse(
            provider,
            StatusCode::UNPROCESSABLE_ENTITY,
            "IDEMPOTENCY_KEY_MISMATCH",
            message,
        )));
    }
    match seen.task.as_deref().and_then(|id| state.task(provider, id)) {
        Some(task) => Ok(Idempotency::Replay(task)),
        None => {
            let message = "the first request with this Idempotency-Key is still in flight; retry after the Retry-After seconds";
            let mut answer = refuse(
                provider,
                StatusCode::CONFLICT,
                "IDEMPOTENCY_KEY_PROCESSING",
                message,
            );
            answer
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            Err(Box::new(answer))
        }
    }
}

/// Records the task a key's first request created.
fn finish(state: &State, provider: Provider, key: String, task: &Task) {
    let mut keys = state.keys.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(seen) = keys.get_mut(&(provider, key)) {
        seen.task = Some(task.id.clone());
    }
}

/// A provider's error body for an idempotency refusal.
fn refuse(provider: Provider, status: StatusCode, code: &str, message: &str) -> Response {
    match provider {
        Provider::HiApi => reply(
            status,
            json!({"code": status.as_u16(), "error_code": code, "message": message}),
        ),
        _ => reply(status, json!({"error": format!("{code}: {message}")})),
    }
}

/// Creates the task, or replays the key's task, waiting `submit_delay` as a real submit would.
async fn submit(
    state: &State,
    provider: Provider,
    model: &str,
    body: Value,
    idempotency: Idempotency,
) -> (Arc<Task>, bool) {
    let key = match idempotency {
        Idempotency::Replay(task) => return (task, true),
        Idempotency::First(key) => Some(InFlight {
            state,
            provider,
            key: Some(key),
        }),
        Idempotency::None => None,
    };
    if !state.config.submit_delay.is_zero() {
        tokio::time::sleep(state.config.submit_delay).await;
    }
    let task = state.create(provider, model, body);
    if let Some(mut in_flight) = key {
        if let Some(key) = in_flight.key.take() {
            finish(state, provider, key, &task);
        }
    }
    (task, false)
}

/// A key whose first request is in flight. If that request is abandoned (the client hung up
/// during `submit_delay`), dropping this forgets the key, so that a retry can succeed.
struct InFlight<'a> {
    state: &'a State,
    provider: Provider,
    key: Option<String>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut keys = self.state.keys.lock().unwrap_or_else(|p| p.into_inner());
            keys.remove(&(self.provider, key));
        }
    }
}

fn join(path: &str, message: &str) -> String {
    if path.is_empty() {
        message.to_owned()
    } else {
        format!("{path}: {message}")
    }
}

async fn hiapi_create(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    if !authorized(&state, Provider::HiApi, &headers) {
        return unauthorized(Provider::HiApi);
    }
    let body = match parse(&bytes) {
        Ok(body) => body,
        Err(problems) => return invalid(Provider::HiApi, problems),
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !crate::validate::HIAPI_MODELS.contains(&model.as_str()) {
        // HiAPI answers some validation errors with HTTP 200 and a non-200 code (T2V page).
        let message = format!(
            "model: value must be one of {}",
            crate::validate::HIAPI_MODELS
                .map(|m| format!("{m:?}"))
                .join(", ")
        );
        return reply(
            StatusCode::OK,
            json!({"code": 400, "error_code": "INVALID_REQUEST", "message": message, "data": null}),
        );
    }
    let problems = state.schemas.problems(Provider::HiApi, &body);
    if !problems.is_empty() {
        return invalid(Provider::HiApi, problems);
    }
    let idempotency = match idempotency(&state, Provider::HiApi, &headers, &body) {
        Ok(idempotency) => idempotency,
        Err(answer) => return *answer,
    };
    let (task, replayed) = submit(&state, Provider::HiApi, &model, body, idempotency).await;
    let status = state.phase(&task).status_name(Provider::HiApi);
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

fn hiapi_task(state: &State, task: &Task) -> Value {
    let phase = state.phase(task);
    let status = phase.status_name(Provider::HiApi);
    let (completed, output) = match phase {
        Phase::Queued | Phase::Running { .. } => (0, Value::Null),
        Phase::Succeeded => (
            state.completed_unix(task),
            json!([{"type": "video", "url": state.output_url(task), "expireAt": state.expires_unix(task)}]),
        ),
    };
    json!({
        "taskId": task.id, "model": task.model, "status": status,
        "created": task.created_unix, "completed": completed,
        "storage": "temp", "route": null, "output": output, "error": null
    })
}

async fn hiapi_get(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&state, Provider::HiApi, &headers) {
        return unauthorized(Provider::HiApi);
    }
    match state.task(Provider::HiApi, &id) {
        Some(task) => reply(
            StatusCode::OK,
            json!({"code": 200, "message": "success", "data": hiapi_task(&state, &task)}),
        ),
        None => reply(
            StatusCode::NOT_FOUND,
            json!({"code": 404, "error_code": "NOT_FOUND", "message": format!("task {id} not found")}),
        ),
    }
}

#[derive(serde::Deserialize)]
struct Page {
    page: Option<usize>,
    size: Option<usize>,
}

async fn hiapi_list(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    axum::extract::Query(page): axum::extract::Query<Page>,
) -> Response {
    if !authorized(&state, Provider::HiApi, &headers) {
        return unauthorized(Provider::HiApi);
    }
    let (number, size) = (
        page.page.unwrap_or(1).max(1),
        page.size.unwrap_or(20).clamp(1, 100),
    );
    let mut tasks: Vec<Arc<Task>> = state
        .tasks
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .values()
        .filter(|t| t.provider == Provider::HiApi)
        .cloned()
        .collect();
    tasks.sort_by_key(|t| std::cmp::Reverse(t.started));
    let page: Vec<Value> = tasks
        .iter()
        .skip((number - 1) * size)
        .take(size)
        .map(|t| hiapi_task(&state, t))
        .collect();
    reply(
        StatusCode::OK,
        json!({"code": 200, "message": "success", "data": {"tasks": page, "total": tasks.len()}}),
    )
}

fn reapi_task(state: &State, task: &Task) -> Value {
    let phase = state.phase(task);
    let status = phase.status_name(Provider::Reapi);
    let output = match phase {
        Phase::Queued | Phase::Running { .. } => Value::Null,
        Phase::Succeeded => json!({"video_urls": [state.output_url(task)]}),
    };
    json!({"id": task.id, "model": task.model, "status": status, "output": output, "error": null})
}

async fn reapi_create(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    if !authorized(&state, Provider::Reapi, &headers) {
        return unauthorized(Provider::Reapi);
    }
    let body = match parse(&bytes) {
        Ok(body) => body,
        Err(problems) => return invalid(Provider::Reapi, problems),
    };
    let problems = state.schemas.problems(Provider::Reapi, &body);
    if !problems.is_empty() {
        return invalid(Provider::Reapi, problems);
    }
    // reapi documents no idempotency key: a repeated submit is a new task.
    let (task, _) = submit(
        &state,
        Provider::Reapi,
        crate::validate::REAPI_MODEL,
        body,
        Idempotency::None,
    )
    .await;
    reply(StatusCode::OK, reapi_task(&state, &task))
}

async fn reapi_get(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&state, Provider::Reapi, &headers) {
        return unauthorized(Provider::Reapi);
    }
    match state.task(Provider::Reapi, &id) {
        Some(task) => reply(StatusCode::OK, reapi_task(&state, &task)),
        None => reply(
            StatusCode::NOT_FOUND,
            json!({"error": {"code": 40401, "message": format!("task {id} not found")}}),
        ),
    }
}

fn rfc3339(unix: u64) -> Value {
    chrono::DateTime::from_timestamp(unix as i64, 0).map_or(Value::Null, |t| {
        Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    })
}

/// Apiframe's price: 24 credits per second at 720p, 31 at 1080p (the default).
fn apiframe_credits(input: &Value) -> u64 {
    let params = &input["happyhorse11Params"];
    let per_second = if params["resolution"] == "720p" {
        24
    } else {
        31
    };
    per_second * params["duration"].as_u64().unwrap_or(5)
}

fn apiframe_job(state: &State, task: &Task) -> Value {
    let phase = state.phase(task);
    let status = phase.status_name(Provider::Apiframe);
    let progress = match phase {
        Phase::Queued => Value::Null,
        Phase::Running { progress } => Value::from(progress),
        Phase::Succeeded => Value::from(100),
    };
    let done = phase == Phase::Succeeded;
    json!({
        "id": task.id, "status": status, "model": task.model, "progress": progress,
        "error": null,
        "creditCost": if done { Value::from(apiframe_credits(&task.input)) } else { Value::Null },
        "webhookStatus": null,
        "createdAt": rfc3339(task.created_unix),
        "completedAt": if done { rfc3339(state.completed_unix(task)) } else { Value::Null },
        "expired": done && unix_now() > state.expires_unix(task),
        "result": if done { json!({"urls": [state.output_url(task)]}) } else { Value::Null },
        "input": task.input,
    })
}

async fn apiframe_create(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    if !authorized(&state, Provider::Apiframe, &headers) {
        return unauthorized(Provider::Apiframe);
    }
    let body = match parse(&bytes) {
        Ok(body) => body,
        Err(problems) => return invalid(Provider::Apiframe, problems),
    };
    let problems = state.schemas.problems(Provider::Apiframe, &body);
    if !problems.is_empty() {
        return invalid(Provider::Apiframe, problems);
    }
    let idempotency = match idempotency(&state, Provider::Apiframe, &headers, &body) {
        Ok(idempotency) => idempotency,
        Err(answer) => return *answer,
    };
    let (task, _) = submit(
        &state,
        Provider::Apiframe,
        crate::validate::APIFRAME_MODEL,
        body,
        idempotency,
    )
    .await;
    // Idempotent replays may return the original job's current status (Apiframe OpenAPI).
    let status = state.phase(&task).status_name(Provider::Apiframe);
    reply(
        StatusCode::ACCEPTED,
        json!({"jobId": task.id, "status": status}),
    )
}

async fn apiframe_get(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&state, Provider::Apiframe, &headers) {
        return unauthorized(Provider::Apiframe);
    }
    if uuid::Uuid::parse_str(&id).is_err() {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": format!("id {id:?} is not a valid UUID")}),
        );
    }
    match state.task(Provider::Apiframe, &id) {
        Some(task) => reply(StatusCode::OK, apiframe_job(&state, &task)),
        None => reply(StatusCode::NOT_FOUND, json!({"error": "Job not found"})),
    }
}

async fn output_file(Extract(state): Extract<Shared>, Path(id): Path<String>) -> Response {
    let task = state
        .tasks
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&id)
        .cloned();
    match task {
        Some(task) if state.phase(&task) == Phase::Succeeded => {
            if unix_now() > state.expires_unix(&task) {
                return (StatusCode::GONE, "this output URL has expired").into_response();
            }
            ([(header::CONTENT_TYPE, "video/mp4")], SAMPLE_MP4).into_response()
        }
        _ => (StatusCode::NOT_FOUND, "no such output").into_response(),
    }
}
