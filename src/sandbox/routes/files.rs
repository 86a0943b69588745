//! `GET /files/{id}/0.mp4?expires=…&signature=…`: a task's output, as a signed storage URL
//! serves it.

use std::sync::atomic::Ordering;

use axum::{
    extract::{rejection::QueryRejection, Query, State as Extract},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use super::{injected, slow_down, PathId, Shared};
use crate::sandbox::{
    faults::{Fault, DOWNLOAD_FAULTS},
    output::{self, Wanted},
    Phase, State,
};

/// The output file: no key needed, but the URL's signature (403 without a valid one, whatever
/// the id); then `Range` honoured (206, or 416 past the end), 410 once expired, 404 for a task
/// forgotten since.
pub(super) async fn output_file(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    PathId(id): PathId,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let faults = match injected(&state, &headers, &DOWNLOAD_FAULTS) {
        Ok(faults) => faults,
        Err(problem) => return (StatusCode::BAD_REQUEST, problem).into_response(),
    };
    slow_down(&state, &faults).await;
    let query = query.map(|Query(query)| query).unwrap_or_default();
    if !signed(&state, &id, &query) {
        // As object stores answer a signed URL whose signature does not hold.
        let refusal = "the URL's signature is missing or does not match; use the URL the task gave";
        return (StatusCode::FORBIDDEN, refusal).into_response();
    }
    let task = state.any_task(&id);
    let Some(task) = task.filter(|task| state.phase(task) == Phase::Succeeded) else {
        return (StatusCode::NOT_FOUND, "no such output").into_response();
    };
    if state.simulated_unix_now() > state.expires_unix(&task) {
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
    state.counters.download();
    let truncate =
        faults.contains(&Fault::Truncate) || task.truncate_pending.swap(false, Ordering::Relaxed);
    let closing = state.background.closing().clone();
    let mut answer = Response::new(file.body(range.clone(), truncate, closing));
    *answer.status_mut() = status;
    let headers = answer.headers_mut();
    let value = |text: String| HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // `wanted` returns non-empty ranges inside the file: `start < end <= len`.
    headers.insert(
        header::CONTENT_LENGTH,
        value(range.end.saturating_sub(range.start).to_string()),
    );
    headers.insert(header::ETAG, value(format!("\"{}-{len}\"", task.id)));
    if status == StatusCode::PARTIAL_CONTENT {
        headers.insert(
            header::CONTENT_RANGE,
            value(format!(
                "bytes {}-{}/{len}",
                range.start,
                range.end.saturating_sub(1)
            )),
        );
    }
    answer
}

/// Whether the query carries the `expires` and `signature` the sandbox gave the output of task
/// `id` (the last of each, when repeated).
fn signed(state: &State, id: &str, query: &[(String, String)]) -> bool {
    let last = |name: &str| {
        query
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let expires = last("expires").and_then(|text| text.parse::<u64>().ok());
    match (expires, last("signature")) {
        (Some(expires), Some(signature)) => state.signed_output(id, expires, signature),
        _ => false,
    }
}
