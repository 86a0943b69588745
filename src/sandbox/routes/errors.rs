//! Each provider's error bodies: 401 for a missing key, 400 for an invalid body, 404 for an
//! unknown task, the refusals fault injection asks for (429, 503, 500, HiAPI's 200 envelope
//! error) and the idempotency refusals (409, 422).

use axum::{
    http::{header, StatusCode},
    response::Response,
};
use serde_json::{json, Value};

use super::{reply, Fault};
use crate::{issue::Issue, Provider};

pub(super) fn unauthorized(provider: Provider) -> Response {
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

/// The provider's 400 answer for these `(path, message)` problems.
pub(super) fn invalid(provider: Provider, problems: Vec<(String, String)>) -> Response {
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

/// HiAPI's answer to an unknown model: HTTP 200 carrying a non-200 code, as its T2V page warns
/// it answers some validation errors.
pub(super) fn hiapi_envelope_error(message: &str) -> Response {
    reply(
        StatusCode::OK,
        json!({"code": 400, "error_code": "INVALID_REQUEST", "message": message, "data": null}),
    )
}

/// The provider's 404 for a task id it does not know.
pub(super) fn task_not_found(provider: Provider, id: &str) -> Response {
    match provider {
        Provider::HiApi => reply(
            StatusCode::NOT_FOUND,
            json!({"code": 404, "error_code": "NOT_FOUND", "message": format!("task {id} not found")}),
        ),
        Provider::Reapi => reply(
            StatusCode::NOT_FOUND,
            json!({"error": {"code": 40401, "message": format!("task {id} not found")}}),
        ),
        Provider::Apiframe => reply(StatusCode::NOT_FOUND, json!({"error": "Job not found"})),
    }
}

/// Apiframe's 400 for a job id that is not a UUID (its ids always are).
pub(super) fn apiframe_job_id_not_a_uuid(id: &str) -> Response {
    reply(
        StatusCode::BAD_REQUEST,
        json!({"error": format!("id {id:?} is not a valid UUID")}),
    )
}

/// The provider's answer for a fault that refuses the request, if `fault` is one.
pub(super) fn refusal(provider: Provider, fault: &Fault) -> Option<Response> {
    let (status, code, reapi_code, message) = match fault {
        Fault::EnvelopeError => {
            let message = "the sandbox refused this request (fault injection: envelope_error)";
            return Some(match provider {
                // HiAPI: HTTP 200 carrying the error, as its T2V page warns.
                Provider::HiApi => hiapi_envelope_error(message),
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

/// The provider's answer to a submit beyond the key's rate limit: the `rate_limit` fault's
/// answer, with `Retry-After` the whole seconds until the next token.
pub(super) fn rate_limited(provider: Provider, retry_after: u64) -> Response {
    let mut answer = refusal(provider, &Fault::RateLimit)
        .unwrap_or_else(|| reply(StatusCode::TOO_MANY_REQUESTS, serde_json::Value::Null));
    answer
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
    answer
}

/// A provider's error body for an idempotency refusal (409 or 422).
pub(super) fn idempotency_refusal(
    provider: Provider,
    status: StatusCode,
    code: &str,
    message: &str,
) -> Response {
    match provider {
        Provider::HiApi => reply(
            status,
            json!({"code": status.as_u16(), "error_code": code, "message": message}),
        ),
        _ => reply(status, json!({"error": format!("{code}: {message}")})),
    }
}

fn join(path: &str, message: &str) -> String {
    if path.is_empty() {
        message.to_owned()
    } else {
        format!("{path}: {message}")
    }
}
