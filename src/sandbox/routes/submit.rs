//! The submit flow the three providers share: the key and the faults, the provider's own
//! checks of the body, then the task (new, or replayed for an `Idempotency-Key`) and its
//! callback deliveries.

use std::sync::Arc;

use axum::{
    body::Bytes,
    http::{header, HeaderMap},
    response::Response,
};
use serde_json::Value;

use super::{
    apiframe, deliver_or_reset, errors, gate_submit, hiapi,
    idempotency::{Idempotency, InFlight},
    reapi, Shared,
};
use crate::{
    sandbox::{
        callbacks::{self, Target},
        faults::Fault,
        images, sleep_unless_closing, Failure, NewTask, Owner, Task,
    },
    webhook, Provider,
};

/// Who submits, as the provider's own handling needs it: the key's owner, the request's
/// headers and the faults it carries.
pub(super) struct Caller<'a> {
    pub owner: Owner,
    pub headers: &'a HeaderMap,
    pub faults: &'a [Fault],
}

/// A submit: the key, the faults, then the provider's own handling.
pub(super) async fn handle(
    state: Shared,
    provider: Provider,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    state.counters.submit(provider);
    let (owner, faults) = match gate_submit(&state, provider, &headers).await {
        Ok(gated) => gated,
        Err(answer) => return answer,
    };
    let caller = Caller {
        owner,
        headers: &headers,
        faults: &faults,
    };
    let answer = match (parse(&headers, &bytes), provider) {
        (Err(problems), _) => errors::invalid(provider, problems),
        (Ok(body), Provider::HiApi) => hiapi::submit(&state, &caller, body).await,
        (Ok(body), Provider::Reapi) => reapi::submit(&state, &caller, body).await,
        (Ok(body), Provider::Apiframe) => apiframe::submit(&state, &caller, body).await,
    };
    deliver_or_reset(answer, &faults)
}

/// The parsed body, or the problem with one that is not sent as JSON or is not JSON.
fn parse(headers: &HeaderMap, bytes: &Bytes) -> Result<Value, Vec<(String, String)>> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if !media_type.is_some_and(|m| m.eq_ignore_ascii_case("application/json")) {
        return Err(vec![(
            String::new(),
            "send the body as JSON, with Content-Type: application/json".to_owned(),
        )]);
    }
    serde_json::from_slice(bytes).map_err(|err| {
        vec![(
            String::new(),
            format!("request body is not valid JSON: {err}"),
        )]
    })
}

/// What a new task carries: its owner, a failure and callback faults (a `duplicate_callback`
/// fault draws here how many copies of the terminal event go, and which at once), the key hash
/// Apiframe signs with.
pub(super) fn new_task(
    provider: Provider,
    caller: &Caller<'_>,
    target: &Option<Target>,
) -> NewTask {
    let mut new = NewTask {
        owner: caller.owner,
        has_webhook: provider == Provider::Apiframe && target.is_some(),
        ..NewTask::default()
    };
    if let Some(key) = caller
        .headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
    {
        new.key_hash = webhook::apiframe_key_hash(key);
    }
    for fault in caller.faults {
        match fault {
            Fault::Fail { code, message } => {
                new.failure = Some(Failure {
                    code: code.clone().unwrap_or_else(|| "GENERATION_FAILED".into()),
                    message: message
                        .clone()
                        .unwrap_or_else(|| "the sandbox failed this task (fault injection)".into()),
                })
            }
            Fault::DuplicateCallback => {
                new.faults.duplicate_callback = Some(callbacks::Duplicates::draw())
            }
            Fault::Truncate => new.faults.truncate_first_download = true,
            Fault::DropCallback => new.faults.drop_callback = true,
            _ => {}
        }
    }
    new
}

/// Creates the task, or replays the key's task, waiting `submit_delay` as a real submit would,
/// and starts its deliveries when it has a callback. True when replayed.
pub(super) async fn create_or_replay(
    state: &Shared,
    provider: Provider,
    model: &str,
    body: Value,
    idempotency: Idempotency,
    (new, target): (NewTask, Option<Target>),
) -> (Arc<Task>, bool) {
    let in_flight = match idempotency {
        Idempotency::Replay(task) => return (task, true),
        Idempotency::First(key) => Some(InFlight::new(state, key)),
        Idempotency::None => None,
    };
    if !state.config.submit_delay.is_zero() {
        sleep_unless_closing(state.background.closing(), state.config.submit_delay).await;
    }
    let mut new = new;
    if new.failure.is_none() {
        // As a provider's worker fetches the images when it takes the task up.
        new.failure = images::failure(state, provider, &body).await;
    }
    let task = state.create(provider, model, body, new);
    if let Some(target) = target {
        state
            .background
            .spawn(callbacks::deliver(state.clone(), task.clone(), target));
    }
    if let Some(in_flight) = in_flight {
        in_flight.finish(&task);
    }
    (task, false)
}
