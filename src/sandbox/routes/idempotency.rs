//! `Idempotency-Key` on submit, as HiAPI and Apiframe honour it: the same key and body replay
//! the first task; another body is refused (422); a key whose first request is still in flight
//! gets 409 with `Retry-After`; a first request abandoned mid-flight forgets its key.
//!
//! Keys are remembered per API key, as accounts scope them: another API key's submit with the
//! same `Idempotency-Key` is a first request of its own, whatever the first key's was.

use std::{sync::Arc, time::Instant};

use axum::{
    http::{header, StatusCode},
    response::Response,
};
use serde_json::Value;

use super::{errors, submit::Caller};
use crate::{
    sandbox::{Owner, Remembered, State, Task},
    Provider,
};

/// The longest key accepted, in bytes.
const MAX_KEY_LEN: usize = 255;

/// An `Idempotency-Key` as the sandbox remembers it: per provider and API key.
pub(super) type Scoped = (Provider, Owner, String);

/// How a submit stands with respect to its `Idempotency-Key`.
pub(super) enum Idempotency {
    /// No key: create a task.
    None,
    /// A new key, now marked in flight: create a task, then record it with [`InFlight`].
    First(Scoped),
    /// The key's first request created this task: answer with it again.
    Replay(Arc<Task>),
}

/// Looks the request's `Idempotency-Key` up, or answers 400/409/422 as HiAPI and Apiframe do.
pub(super) fn lookup(
    state: &State,
    provider: Provider,
    caller: &Caller<'_>,
    body: &Value,
) -> Result<Idempotency, Box<Response>> {
    let Some(raw) = caller.headers.get("idempotency-key") else {
        return Ok(Idempotency::None);
    };
    let key = match raw.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= MAX_KEY_LEN => {
            (provider, caller.owner, key.to_owned())
        }
        _ => {
            let problem = "Idempotency-Key must be 1 to 255 visible ASCII characters".to_owned();
            return Err(Box::new(errors::invalid(
                provider,
                vec![(String::new(), problem)],
            )));
        }
    };
    let mut keys = state.keys.lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    // A key seen longer ago than the sandbox remembers is new again (see `State::sweep`).
    let seen = keys.get(&key).filter(|seen| !state.forgotten(seen.at, now));
    let Some(seen) = seen else {
        keys.insert(
            key.clone(),
            Remembered {
                body: body.clone(),
                task: None,
                at: now,
            },
        );
        return Ok(Idempotency::First(key));
    };
    if seen.body != *body {
        let message = "Idempotency-Key was already used with a different body; use a new key";
        return Err(Box::new(errors::idempotency_refusal(
            provider,
            StatusCode::UNPROCESSABLE_ENTITY,
            "IDEMPOTENCY_KEY_MISMATCH",
            message,
        )));
    }
    let owned = |id: &str| state.task(provider, id, caller.owner);
    match seen.task.as_deref().and_then(owned) {
        Some(task) => Ok(Idempotency::Replay(task)),
        None => {
            let message = "the first request with this Idempotency-Key is still in flight; retry after the Retry-After seconds";
            let mut answer = errors::idempotency_refusal(
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

/// A key whose first request is in flight. [`InFlight::finish`] records the task it created;
/// if that request is abandoned instead (the client hung up during `submit_delay`), dropping
/// this forgets the key, so that a retry can succeed.
pub(super) struct InFlight<'a> {
    state: &'a State,
    key: Option<Scoped>,
}

impl<'a> InFlight<'a> {
    pub(super) fn new(state: &'a State, key: Scoped) -> Self {
        InFlight {
            state,
            key: Some(key),
        }
    }

    /// Records the task the key's first request created.
    pub(super) fn finish(mut self, task: &Task) {
        if let Some(key) = self.key.take() {
            let mut keys = self.state.keys.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(seen) = keys.get_mut(&key) {
                seen.task = Some(task.id.clone());
            }
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut keys = self.state.keys.lock().unwrap_or_else(|p| p.into_inner());
            keys.remove(&key);
        }
    }
}
