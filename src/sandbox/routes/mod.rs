//! The sandbox's routes: the router, and what every endpoint does first (the key, the faults).
//!
//! - [`hiapi`], [`reapi`], [`apiframe`]: each provider's submit and poll endpoints and its task
//!   body;
//! - [`submit`]: the submit flow the three share (faults, body, task, callbacks);
//! - [`idempotency`]: `Idempotency-Key` bookkeeping (replay, 409 in flight, 422 mismatch);
//! - [`errors`]: each provider's error bodies;
//! - [`files`]: the output download, as a signed storage URL serves it;
//! - [`log`]: one log line per request served.

mod apiframe;
mod errors;
mod files;
mod hiapi;
mod idempotency;
mod log;
mod reapi;
mod submit;

use std::{sync::Arc, time::Instant};

use axum::{
    body::Bytes,
    extract::{FromRequestParts, Path, RawPathParams, Request, State as Extract},
    http::{header, request::Parts, HeaderMap, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post, MethodRouter},
    Json, Router,
};
use serde_json::Value;

use super::{
    faults::{self, Fault, REQUEST_FAULTS},
    sleep_unless_closing, FaultUse, Owner, Phase, State, Task,
};
use crate::{
    provider::{Auth, Facts},
    Provider,
};

type Shared = Arc<State>;

/// HiAPI: submit and list (`POST`, `GET`).
const HIAPI_TASKS: &str = "/v1/tasks";
/// HiAPI: poll.
const HIAPI_TASK: &str = "/v1/tasks/{id}";
/// reapi: submit.
const REAPI_GENERATIONS: &str = "/api/v1/videos/generations";
/// reapi: poll.
const REAPI_TASK: &str = "/api/v1/tasks/{id}";
/// Apiframe: submit.
const APIFRAME_GENERATE: &str = "/v2/videos/generate";
/// Apiframe: poll.
const APIFRAME_JOB: &str = "/v2/jobs/{id}";
/// The output files.
const FILES: &str = "/files/{id}/0.mp4";

/// Every provider route, with its provider: the router serves these, and a request that
/// matches none is told which one it probably meant (see [`log`]).
const PROVIDER_ROUTES: [(Provider, &str); 6] = [
    (Provider::HiApi, HIAPI_TASKS),
    (Provider::HiApi, HIAPI_TASK),
    (Provider::Reapi, REAPI_GENERATIONS),
    (Provider::Reapi, REAPI_TASK),
    (Provider::Apiframe, APIFRAME_GENERATE),
    (Provider::Apiframe, APIFRAME_JOB),
];

/// The path a provider's base URL ends in on the sandbox, as on the provider itself: `/v1`
/// (HiAPI), `/api/v1` (reapi), nothing (Apiframe).
pub(crate) fn base_path(provider: Provider) -> &'static str {
    match provider {
        Provider::HiApi => "/v1",
        Provider::Reapi => "/api/v1",
        Provider::Apiframe => "",
    }
}

/// The submit route of `provider`: the key, the faults, the body, then its own rules.
fn submit_route(provider: Provider) -> MethodRouter<Shared> {
    post(
        move |Extract(state): Extract<Shared>, headers: HeaderMap, bytes: Bytes| {
            submit::handle(state, provider, headers, bytes)
        },
    )
}

pub(crate) fn router(state: Shared) -> Router {
    let addr = state.addr;
    Router::new()
        .route(HIAPI_TASKS, submit_route(Provider::HiApi).get(hiapi::list))
        .route(HIAPI_TASK, get(hiapi::get))
        .route(REAPI_GENERATIONS, submit_route(Provider::Reapi))
        .route(REAPI_TASK, get(reapi::get))
        .route(APIFRAME_GENERATE, submit_route(Provider::Apiframe))
        .route(APIFRAME_JOB, get(apiframe::get))
        .route(FILES, get(files::output_file))
        .route(
            crate::sandbox::images::IMAGES,
            get(crate::sandbox::images::sample),
        )
        .fallback(log::no_route)
        .layer(middleware::from_fn_with_state(state.clone(), sweep))
        .layer(middleware::from_fn_with_state(addr, log::log))
        .with_state(state)
}

/// The task as its provider shows it when polled, and as its callbacks carry it, now.
pub(crate) fn task_body(state: &State, task: &Task) -> Value {
    let phase = state.phase(task);
    match task.provider {
        Provider::HiApi => hiapi::task(state, task, phase),
        Provider::Reapi => reapi::task(state, task, phase),
        Provider::Apiframe => apiframe::job(state, task, phase),
    }
}

/// Where a polled task is now, with the poll counted for [`crate::sandbox::Sandbox::stats`]
/// and [`crate::sandbox::Sandbox::observations`]: read once, so that what is counted is what
/// the answer shows.
fn polled(state: &State, task: &Task) -> Phase {
    let elapsed = task.started.elapsed();
    let phase = state.phase_after(task, elapsed);
    state.record_poll(task, elapsed, phase);
    phase
}

/// A status route: the key and faults, then `refuse`'s answer for an id the provider rejects
/// as such, else the task as `render` shows it (counted as a poll), or the provider's 404: for
/// an id it does not know, and for another key's task alike.
async fn status_route(
    state: &State,
    provider: Provider,
    headers: &HeaderMap,
    id: &str,
    refuse: fn(&str) -> Option<Response>,
    render: fn(&State, &Task, Phase) -> Value,
) -> Response {
    let (owner, faults) = match gate(state, provider, headers, &REQUEST_FAULTS).await {
        Ok(gated) => gated,
        Err(answer) => return answer,
    };
    let answer = match (refuse(id), state.task(provider, id, owner)) {
        (Some(refused), _) => refused,
        (None, Some(task)) => {
            let phase = polled(state, &task);
            reply(StatusCode::OK, render(state, &task, phase))
        }
        (None, None) => errors::task_not_found(provider, id),
    };
    deliver_or_reset(answer, &faults)
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// The request's key for `provider`, if it is acceptable: where the provider's facts say it
/// goes, and either the pinned key or any key with the provider's prefix.
fn accepted_key<'h>(state: &State, provider: Provider, headers: &'h HeaderMap) -> Option<&'h str> {
    let Facts {
        auth, key_prefix, ..
    } = *provider.facts();
    let key = match auth {
        Auth::Bearer => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ")),
        Auth::Header(name) => headers.get(name).and_then(|v| v.to_str().ok()),
    };
    let accepted = match (key, &state.config.api_key) {
        (Some(key), Some(pinned)) => key == pinned,
        (Some(key), None) => key.starts_with(key_prefix) && key.len() > key_prefix.len(),
        (None, _) => false,
    };
    key.filter(|_| accepted)
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
            let now = Instant::now();
            items
                .into_iter()
                .filter(|item| match &item.limit {
                    None => true,
                    Some((times, text)) => {
                        let used = uses.entry(text.clone()).or_insert(FaultUse {
                            count: 0,
                            last: now,
                        });
                        // A counter idle longer than the sandbox remembers starts again.
                        if state.forgotten(used.last, now) {
                            used.count = 0;
                        }
                        used.count = used.count.saturating_add(1);
                        used.last = now;
                        used.count <= *times
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
/// `slow` waits, then 429, 503 or 500 replace the answer. Returns the key's [`Owner`] (the
/// only tasks the request may see) and the faults for the endpoint to honour (`reset`, `fail`,
/// the callback faults).
async fn gate(
    state: &State,
    provider: Provider,
    headers: &HeaderMap,
    names: &[&str],
) -> Result<(Owner, Vec<Fault>), Response> {
    let Some(key) = accepted_key(state, provider, headers) else {
        return Err(errors::unauthorized(provider));
    };
    let owner = Owner::of(key);
    Ok((owner, apply_faults(state, provider, headers, names).await?))
}

/// A submit's [`gate`]: the key, then the key's rate limit (see
/// [`crate::sandbox::SandboxConfig::rate_limit`]), then the faults.
async fn gate_submit(
    state: &State,
    provider: Provider,
    headers: &HeaderMap,
) -> Result<(Owner, Vec<Fault>), Response> {
    let Some(key) = accepted_key(state, provider, headers) else {
        return Err(errors::unauthorized(provider));
    };
    if let Some(limiter) = &state.limiter {
        if let Err(retry_after) = limiter.take(provider, key, Instant::now()) {
            state.counters.rate_limited(provider);
            return Err(errors::rate_limited(provider, retry_after));
        }
    }
    let owner = Owner::of(key);
    let faults = apply_faults(state, provider, headers, &faults::SUBMIT_FAULTS).await?;
    Ok((owner, faults))
}

/// Applies the request's faults that answer in place of the endpoint (see [`gate`]).
async fn apply_faults(
    state: &State,
    provider: Provider,
    headers: &HeaderMap,
    names: &[&str],
) -> Result<Vec<Fault>, Response> {
    let faults = injected(state, headers, names)
        .map_err(|problem| errors::invalid(provider, vec![(String::new(), problem)]))?;
    slow_down(state, &faults).await;
    for fault in &faults {
        if let Some(answer) = errors::refusal(provider, fault) {
            return Err(answer);
        }
    }
    Ok(faults)
}

/// Holds the answer as `slow` faults ask, unless the sandbox shuts down meanwhile.
async fn slow_down(state: &State, faults: &[Fault]) {
    for fault in faults {
        if let Fault::Slow(delay) = fault {
            let delay = delay.unwrap_or(state.config.slow_delay);
            sleep_unless_closing(state.background.closing(), delay).await;
        }
    }
}

/// The middleware that lets each request sweep what the sandbox no longer remembers, when a
/// sweep is due (see [`State::sweep_if_due`]).
async fn sweep(Extract(state): Extract<Shared>, request: Request, next: Next) -> Response {
    state.sweep_if_due();
    next.run(request).await
}

/// The `{id}` of a path, percent-decoded; one that does not decode (`%ff`, `%zz`) is kept as
/// sent. No task has such an id, so each provider answers as it does for any unknown one,
/// in its own JSON, instead of a framework's plain-text rejection no document describes.
pub(super) struct PathId(pub(super) String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(Path(id)) = Path::<String>::from_request_parts(parts, state).await {
            return Ok(PathId(id));
        }
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|params| {
                params
                    .iter()
                    .find(|(name, _)| *name == "id")
                    .map(|(_, value)| value.to_owned())
            });
        Ok(PathId(raw.unwrap_or_default()))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_are_the_paths_of_the_providers_base_urls() {
        for provider in Provider::ALL {
            let url = reqwest::Url::parse(provider.default_base_url()).unwrap();
            assert_eq!(
                base_path(provider),
                url.path().trim_end_matches('/'),
                "{provider}"
            );
        }
    }

    #[test]
    fn every_provider_route_lies_under_its_providers_base_path() {
        for (provider, route) in PROVIDER_ROUTES {
            let base = base_path(provider);
            assert!(route.starts_with(&format!("{base}/")), "{provider} {route}");
            for other in Provider::ALL.into_iter().filter(|p| *p != provider) {
                // No route could be mistaken for another provider's in the log.
                assert_ne!(log::provider_of(route), Some(other), "{route}");
            }
            assert_eq!(log::provider_of(route), Some(provider), "{route}");
        }
    }
}
