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

use super::{
    callbacks::{self, Target},
    faults::{self, Fault, DOWNLOAD_FAULTS, REQUEST_FAULTS, SUBMIT_FAULTS},
    output::{self, Wanted},
    unix_now, Failure, NewTask, Phase, Remembered, State, Task,
};
use crate::{issue::Issue, webhook, Provider};

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

/// The faults injected into this request: those its `X-Sandbox-Fault` header names, plus those
/// drawn at the configured rates among `names`.
fn injected(state: &State, headers: &HeaderMap, names: &[&str]) -> Result<Vec<Fault>, String> {
    let mut found = match headers.get(faults::FAULT_HEADER) {
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| "X-Sandbox-Fault must be ASCII".to_owned())?;
            let items =
                faults::parse_counted(text).map_err(|err| format!("X-Sandbox-Fault: {err}"))?;
            let mut uses = state.fault_uses.lock().unwrap_or_else(|p| p.into_inner());
            items
                .into_iter()
                .filter(|item| match &item.limit {
                    None => true,
                    Some((times, text)) => {
                        let used = uses.entry(text.clone()).or_insert(0);
                        *used += 1;
                        *used <= *times
                    }
                })
                .map(|item| item.fault)
                .collect()
        }
        None => Vec::new(),
    };
    found.extend(state.config.faults.draw(names));
    Ok(found)
}

/// Checks the key and applies the request's faults that answer in place of the endpoint:
/// `slow` waits, then 429, 503 or 500 replace the answer. Returns the faults for the endpoint to
/// honour (`reset`, `fail`, the callback faults).
async fn gate(
    state: &State,
    provider: Provider,
    headers: &HeaderMap,
    names: &[&str],
) -> Result<Vec<Fault>, Response> {
    if !authorized(state, provider, headers) {
        return Err(unauthorized(provider));
    }
    let faults = injected(state, headers, names)
        .map_err(|problem| invalid(provider, vec![(String::new(), problem)]))?;
    slow_down(state, &faults).await;
    for fault in &faults {
        if let Some(answer) = refusal(provider, fault) {
            return Err(answer);
        }
    }
    Ok(faults)
}

async fn slow_down(state: &State, faults: &[Fault]) {
    for fault in faults {
        if let Fault::Slow(delay) = fault {
            tokio::time::sleep(delay.unwrap_or(state.config.slow_delay)).await;
        }
    }
}

/// The provider's answer for a fault that refuses the request, if `fault` is one.
fn refusal(provider: Provider, fault: &Fault) -> Option<Response> {
    let (status, code, reapi_code, message) = match fault {
        Fault::EnvelopeError => {
            let message = "the sandbox refused this request (fault injection: envelope_error)";
            return Some(match provider {
                // HiAPI: HTTP 200 carrying the error, as its T2V page warns.
                Provider::HiApi => reply(
                    StatusCode::OK,
                    json!({"code": 400, "error_code": "INVALID_REQUEST", "message": message, "data": null}),
                ),
                _ => invalid(provider, vec![(String::new(), message.to_owned())]),
            });
        }
        Fault::RateLimit => (
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            50001,
            "rate limit exceeded; retry after the Retry-After seconds",
        ),
        Fault::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            50003,
            "service temporarily unavailable; retry with backoff",
        ),
        Fault::ModerationUnavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "nsfw_moderation_unavailable",
            50003,
            "nsfw_moderation_unavailable: the moderation service is temporarily unavailable; retry after a short backoff",
        ),
        Fault::ServerError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            50000,
            "internal error; retry with backoff",
        ),
        _ => return None,
    };
    let mut answer = match provider {
        Provider::HiApi => reply(
            status,
            json!({"code": status.as_u16(), "error_code": code, "message": message}),
        ),
        Provider::Reapi => reply(
            status,
            json!({"error": {"code": reapi_code, "message": message}}),
        ),
        Provider::Apiframe => reply(status, json!({"error": message})),
    };
    if status != StatusCode::INTERNAL_SERVER_ERROR {
        answer
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    Some(answer)
}

/// The answer, or, under a `reset` fault, the connection dropped before it is complete.
fn deliver_or_reset(answer: Response, faults: &[Fault]) -> Response {
    if !faults.contains(&Fault::Reset) {
        return answer;
    }
    let (mut parts, _) = answer.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let error = std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "sandbox fault: connection reset",
    );
    let body =
        axum::body::Body::from_stream(futures_util::stream::once(
            async move { Err::<Bytes, _>(error) },
        ));
    Response::from_parts(parts, body)
}

/// A submit: the key, the faults, then the provider's own handling.
async fn create(state: Shared, provider: Provider, headers: HeaderMap, bytes: Bytes) -> Response {
    let faults = match gate(&state, provider, &headers, &SUBMIT_FAULTS).await {
        Ok(faults) => faults,
        Err(answer) => return answer,
    };
    let answer = match provider {
        Provider::HiApi => hiapi_submit(&state, &headers, &bytes, &faults).await,
        Provider::Reapi => reapi_submit(&state, &headers, &bytes, &faults).await,
        Provider::Apiframe => apiframe_submit(&state, &headers, &bytes, &faults).await,
    };
    deliver_or_reset(answer, &faults)
}

/// What a new task carries: a failure and callback faults, the key hash Apiframe signs with.
fn new_task(
    provider: Provider,
    headers: &HeaderMap,
    faults: &[Fault],
    target: &Option<Target>,
) -> NewTask {
    let mut new = NewTask {
        has_webhook: provider == Provider::Apiframe && target.is_some(),
        ..NewTask::default()
    };
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        new.key_hash = webhook::apiframe_key_hash(key);
    }
    for fault in faults {
        match fault {
            Fault::Fail { code, message } => {
                new.failure = Some(Failure {
                    code: code.clone().unwrap_or_else(|| "GENERATION_FAILED".into()),
                    message: message
                        .clone()
                        .unwrap_or_else(|| "the sandbox failed this task (fault injection)".into()),
                })
            }
            Fault::DuplicateCallback => new.faults.duplicate_callback = true,
            Fault::Truncate => new.faults.truncate_first_download = true,
            Fault::DropCallback => new.faults.drop_callback = true,
            _ => {}
        }
    }
    new
}

/// The body as the schema should judge it: a plain-http callback URL to a loopback host is
/// the sandbox's one exception to the providers' HTTPS rule, so it is judged as HTTPS.
fn for_validation<'a>(body: &'a Value, pointer: &str) -> std::borrow::Cow<'a, Value> {
    match body.pointer(pointer).and_then(Value::as_str) {
        Some(url) if callbacks::is_loopback_http(url) => {
            let mut judged = body.clone();
            if let Some(slot) = judged.pointer_mut(pointer) {
                *slot = Value::from(url.replacen("http://", "https://", 1));
            }
            std::borrow::Cow::Owned(judged)
        }
        _ => std::borrow::Cow::Borrowed(body),
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

/// Creates the task, or replays the key's task, waiting `submit_delay` as a real submit would,
/// and starts its deliveries when it has a callback.
async fn submit(
    state: &Shared,
    provider: Provider,
    model: &str,
    body: Value,
    idempotency: Idempotency,
    (new, target): (NewTask, Option<Target>),
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
    let task = state.create(provider, model, body, new);
    if let Some(target) = target {
        tokio::spawn(callbacks::deliver(state.clone(), task.clone(), target));
    }
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
    create(state, Provider::HiApi, headers, bytes).await
}

async fn hiapi_submit(
    state: &Shared,
    headers: &HeaderMap,
    bytes: &Bytes,
    faults: &[Fault],
) -> Response {
    let body = match parse(bytes) {
        Ok(body) => body,
        Err(problems) => return invalid(Provider::HiApi, problems),
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !Provider::HiApi.facts().models.contains(&model.as_str()) {
        // HiAPI answers some validation errors with HTTP 200 and a non-200 code (T2V page).
        let message = format!(
            "model: value must be one of {}",
            Provider::HiApi
                .facts()
                .models
                .iter()
                .map(|m| format!("{m:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return reply(
            StatusCode::OK,
            json!({"code": 400, "error_code": "INVALID_REQUEST", "message": message, "data": null}),
        );
    }
    let problems = state
        .schemas
        .problems(Provider::HiApi, &for_validation(&body, "/callback/url"));
    if !problems.is_empty() {
        return invalid(Provider::HiApi, problems);
    }
    let idempotency = match idempotency(state, Provider::HiApi, headers, &body) {
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
    let new = new_task(Provider::HiApi, headers, faults, &target);
    let (task, replayed) = submit(
        state,
        Provider::HiApi,
        &model,
        body,
        idempotency,
        (new, target),
    )
    .await;
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

/// The task as `provider` shows it when polled, and as its callbacks carry it.
pub(crate) fn task_body(state: &State, task: &Task) -> Value {
    match task.provider {
        Provider::HiApi => hiapi_task(state, task),
        Provider::Reapi => reapi_task(state, task),
        Provider::Apiframe => apiframe_job(state, task),
    }
}

fn hiapi_task(state: &State, task: &Task) -> Value {
    let phase = state.phase(task);
    let status = phase.status_name(Provider::HiApi);
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

async fn hiapi_get(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let faults = match gate(&state, Provider::HiApi, &headers, &REQUEST_FAULTS).await {
        Ok(faults) => faults,
        Err(answer) => return answer,
    };
    let answer = match state.task(Provider::HiApi, &id) {
        Some(task) => reply(
            StatusCode::OK,
            json!({"code": 200, "message": "success", "data": hiapi_task(&state, &task)}),
        ),
        None => reply(
            StatusCode::NOT_FOUND,
            json!({"code": 404, "error_code": "NOT_FOUND", "message": format!("task {id} not found")}),
        ),
    };
    deliver_or_reset(answer, &faults)
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
    let faults = match gate(&state, Provider::HiApi, &headers, &REQUEST_FAULTS).await {
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
    let answer = reply(
        StatusCode::OK,
        json!({"code": 200, "message": "success", "data": {"tasks": page, "total": tasks.len()}}),
    );
    deliver_or_reset(answer, &faults)
}

/// reapi's numeric code for a failure: the fault's code when it is a number, else 60001
/// (a sandbox choice; reapi documents no generation-failure code).
fn reapi_failure_code(failure: &Failure) -> Value {
    failure
        .code
        .parse::<i64>()
        .map_or(Value::from(60001), Value::from)
}

fn reapi_task(state: &State, task: &Task) -> Value {
    let phase = state.phase(task);
    let status = phase.status_name(Provider::Reapi);
    let (output, error) = match (phase, &task.failure) {
        (Phase::Succeeded, _) => (json!({"video_urls": [state.output_url(task)]}), Value::Null),
        (Phase::Failed, Some(failure)) => (
            Value::Null,
            json!({"code": reapi_failure_code(failure), "message": format!("{}: {}", failure.code, failure.message)}),
        ),
        _ => (Value::Null, Value::Null),
    };
    json!({"id": task.id, "model": task.model, "status": status, "output": output, "error": error})
}

async fn reapi_create(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    create(state, Provider::Reapi, headers, bytes).await
}

async fn reapi_submit(
    state: &Shared,
    headers: &HeaderMap,
    bytes: &Bytes,
    faults: &[Fault],
) -> Response {
    let body = match parse(bytes) {
        Ok(body) => body,
        Err(problems) => return invalid(Provider::Reapi, problems),
    };
    let problems = state.schemas.problems(Provider::Reapi, &body);
    if !problems.is_empty() {
        return invalid(Provider::Reapi, problems);
    }
    // reapi documents no idempotency key and no callbacks: a repeated submit is a new task.
    let new = new_task(Provider::Reapi, headers, faults, &None);
    let (task, _) = submit(
        state,
        Provider::Reapi,
        Provider::Reapi.facts().models[0],
        body,
        Idempotency::None,
        (new, None),
    )
    .await;
    reply(StatusCode::OK, reapi_task(state, &task))
}

async fn reapi_get(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let faults = match gate(&state, Provider::Reapi, &headers, &REQUEST_FAULTS).await {
        Ok(faults) => faults,
        Err(answer) => return answer,
    };
    let answer = match state.task(Provider::Reapi, &id) {
        Some(task) => reply(StatusCode::OK, reapi_task(&state, &task)),
        None => reply(
            StatusCode::NOT_FOUND,
            json!({"error": {"code": 40401, "message": format!("task {id} not found")}}),
        ),
    };
    deliver_or_reset(answer, &faults)
}

fn rfc3339(unix: u64) -> Value {
    chrono::DateTime::from_timestamp(unix as i64, 0).map_or(Value::Null, |t| {
        Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    })
}

/// Apiframe's price for a job: its resolution's rate (1080p by default) times its duration
/// (5 s when unset: the sandbox's choice, Apiframe documents no default).
fn apiframe_credits(input: &Value) -> u64 {
    let params = &input["happyhorse11Params"];
    let Some(price) = Provider::Apiframe.facts().credits_per_second else {
        return 0;
    };
    let per_second = match params["resolution"].as_str() {
        Some("720p") => price.p720,
        _ => price.p1080,
    };
    per_second.saturating_mul(params["duration"].as_u64().unwrap_or(5))
}

fn apiframe_job(state: &State, task: &Task) -> Value {
    let phase = state.phase(task);
    let status = phase.status_name(Provider::Apiframe);
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
        "creditCost": if done { Value::from(apiframe_credits(&task.input)) } else { Value::Null },
        "webhookStatus": task.webhook_status().name(),
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
    create(state, Provider::Apiframe, headers, bytes).await
}

/// Apiframe's webhook target: `webhookUrl` with `webhookEvents`, which default to `completed`
/// and `failed` (assumed: Apiframe's document gives no default).
fn apiframe_target(body: &Value) -> Option<Target> {
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

async fn apiframe_submit(
    state: &Shared,
    headers: &HeaderMap,
    bytes: &Bytes,
    faults: &[Fault],
) -> Response {
    let body = match parse(bytes) {
        Ok(body) => body,
        Err(problems) => return invalid(Provider::Apiframe, problems),
    };
    let problems = state
        .schemas
        .problems(Provider::Apiframe, &for_validation(&body, "/webhookUrl"));
    if !problems.is_empty() {
        return invalid(Provider::Apiframe, problems);
    }
    let idempotency = match idempotency(state, Provider::Apiframe, headers, &body) {
        Ok(idempotency) => idempotency,
        Err(answer) => return *answer,
    };
    let target = apiframe_target(&body);
    let new = new_task(Provider::Apiframe, headers, faults, &target);
    let (task, _) = submit(
        state,
        Provider::Apiframe,
        Provider::Apiframe.facts().models[0],
        body,
        idempotency,
        (new, target),
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
    let faults = match gate(&state, Provider::Apiframe, &headers, &REQUEST_FAULTS).await {
        Ok(faults) => faults,
        Err(answer) => return answer,
    };
    let answer = if uuid::Uuid::parse_str(&id).is_err() {
        reply(
            StatusCode::BAD_REQUEST,
            json!({"error": format!("id {id:?} is not a valid UUID")}),
        )
    } else {
        match state.task(Provider::Apiframe, &id) {
            Some(task) => reply(StatusCode::OK, apiframe_job(&state, &task)),
            None => reply(StatusCode::NOT_FOUND, json!({"error": "Job not found"})),
        }
    };
    deliver_or_reset(answer, &faults)
}

/// The output file, as a signed storage URL serves it: no key needed, `Range` honoured (206,
/// or 416 past the end), 410 once expired, 404 for a task that has none.
async fn output_file(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let faults = match injected(&state, &headers, &DOWNLOAD_FAULTS) {
        Ok(faults) => faults,
        Err(problem) => return (StatusCode::BAD_REQUEST, problem).into_response(),
    };
    slow_down(&state, &faults).await;
    let task = state
        .tasks
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&id)
        .cloned();
    let Some(task) = task.filter(|task| state.phase(task) == Phase::Succeeded) else {
        return (StatusCode::NOT_FOUND, "no such output").into_response();
    };
    if unix_now() > state.expires_unix(&task) {
        return (StatusCode::GONE, "this output URL has expired").into_response();
    }
    let file = &state.output;
    let len = file.len();
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, range) = match output::wanted(range, len) {
        Wanted::All => (StatusCode::OK, 0..len),
        Wanted::Part(range) => (StatusCode::PARTIAL_CONTENT, range),
        Wanted::Unsatisfiable => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response()
        }
    };
    let truncate = faults.contains(&Fault::Truncate)
        || task
            .truncate_pending
            .swap(false, std::sync::atomic::Ordering::Relaxed);
    let mut answer = Response::new(file.body(range.clone(), truncate));
    *answer.status_mut() = status;
    let headers = answer.headers_mut();
    let value = |text: String| {
        header::HeaderValue::from_str(&text).unwrap_or(header::HeaderValue::from_static(""))
    };
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("video/mp4"),
    );
    headers.insert(
        header::ACCEPT_RANGES,
        header::HeaderValue::from_static("bytes"),
    );
    headers.insert(
        header::CONTENT_LENGTH,
        value((range.end - range.start).to_string()),
    );
    headers.insert(header::ETAG, value(format!("\"{}-{len}\"", task.id)));
    if status == StatusCode::PARTIAL_CONTENT {
        headers.insert(
            header::CONTENT_RANGE,
            value(format!("bytes {}-{}/{len}", range.start, range.end - 1)),
        );
    }
    answer
}
