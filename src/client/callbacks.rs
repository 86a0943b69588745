//! Receiving callbacks (HiAPI) and webhooks (Apiframe): verified against the provider's
//! signature, parsed into a [`TaskSnapshot`], and deduplicated, since both providers deliver at
//! least once.
//!
//! A callback can also never come. Reconcile: for any task you have not heard about within
//! your worst-case generation time, ask [`Client::status`](super::Client::status).

use std::{
    collections::{HashSet, VecDeque},
    sync::Mutex,
};

use reqwest::header::HeaderMap;

use super::{ApiKey, TaskSnapshot};
use crate::{
    generated::{apiframe, hiapi},
    webhook::{self, SignatureError},
    Provider,
};

/// Why a delivery was not accepted. Answer it with a 4xx; act on nothing in it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The signature is missing, stale or wrong.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The body is not the provider's task object.
    #[error("the delivery is not a {provider} task object: {reason}")]
    Body {
        /// The provider.
        provider: Provider,
        /// What the parser found, with every quoted value left out (a value in a delivery can
        /// be a signed output URL).
        reason: String,
    },
}

impl CallbackError {
    fn body(provider: Provider, err: &serde_json::Error) -> CallbackError {
        CallbackError::Body {
            provider,
            reason: unquoted(&err.to_string()),
        }
    }
}

/// `text` with what stands between double quotes replaced by `…`: serde's messages quote the
/// offending value, which in a delivery may be a signed URL.
fn unquoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    let mut escaped = false;
    for c in text.chars() {
        if quoted {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => {
                    quoted = false;
                    out.push_str("…\"");
                }
                _ => escaped = false,
            }
        } else {
            out.push(c);
            quoted = c == '"';
        }
    }
    if quoted {
        out.push('…');
    }
    out
}

/// A verified delivery.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Delivery {
    /// First time this task was seen in this status (and progress): act on it.
    New(TaskSnapshot),
    /// Seen before (a redelivery or a replay): answer 2xx and do nothing else.
    Duplicate(TaskSnapshot),
}

/// Verifies and deduplicates one provider's deliveries. Share one per receiving endpoint.
#[derive(Debug)]
pub struct CallbackInbox {
    provider: Provider,
    /// HiAPI: the signing secret (None when signing is off); Apiframe: the API key.
    key: Option<ApiKey>,
    seen: Mutex<(HashSet<String>, VecDeque<String>)>,
    capacity: usize,
}

impl CallbackInbox {
    /// An inbox for HiAPI callbacks. With a secret (HiAPI console; `HIAPI_WEBHOOK_SECRET`),
    /// unsigned or wrongly signed deliveries are refused; without one, none is checked.
    pub fn hiapi(secret: Option<ApiKey>) -> Self {
        Self::new(Provider::HiApi, secret)
    }

    /// An inbox for Apiframe webhooks, verified with the API key the jobs were submitted with.
    pub fn apiframe(api_key: ApiKey) -> Self {
        Self::new(Provider::Apiframe, Some(api_key))
    }

    fn new(provider: Provider, key: Option<ApiKey>) -> Self {
        CallbackInbox {
            provider,
            key,
            seen: Mutex::new((HashSet::new(), VecDeque::new())),
            capacity: 100_000,
        }
    }

    /// The provider whose deliveries this inbox checks.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Checks one delivery: its raw body, exactly as received, and its headers; remembers it
    /// (in this process's memory) to tell a duplicate.
    pub fn receive(&self, headers: &HeaderMap, body: &[u8]) -> Result<Delivery, CallbackError> {
        let snapshot = self.verify(headers, body)?;
        Ok(self.dedupe(snapshot))
    }

    /// Checks one delivery's signature on the raw body, and parses it, without remembering it:
    /// for a receiver that deduplicates durably (a ledger).
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<TaskSnapshot, CallbackError> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let provider = self.provider;
        let snapshot = match provider {
            Provider::HiApi => {
                if let Some(secret) = &self.key {
                    let now = chrono::Utc::now().timestamp().max(0) as u64;
                    webhook::verify_hiapi(
                        secret.expose().as_bytes(),
                        header(webhook::HIAPI_TIMESTAMP_HEADER),
                        header(webhook::HIAPI_SIGNATURE_HEADER),
                        body,
                        now,
                    )?;
                }
                let task: hiapi::types::Task = serde_json::from_slice(body)
                    .map_err(|err| CallbackError::body(provider, &err))?;
                TaskSnapshot::from_hiapi(task)
            }
            // reapi has no callbacks; no constructor makes a reapi inbox.
            Provider::Apiframe | Provider::Reapi => {
                let key = self.key.as_ref().map_or("", |k| k.expose());
                webhook::verify_apiframe(key, header(webhook::APIFRAME_SIGNATURE_HEADER), body)?;
                let job: apiframe::types::Job = serde_json::from_slice(body)
                    .map_err(|err| CallbackError::body(provider, &err))?;
                TaskSnapshot::from_apiframe(job)
            }
        };
        Ok(snapshot)
    }

    fn dedupe(&self, snapshot: TaskSnapshot) -> Delivery {
        let identity = format!(
            "{}\n{}\n{}",
            snapshot.id,
            snapshot.status,
            snapshot.progress.map_or(-1, i16::from)
        );
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let (set, order) = &mut *seen;
        if !set.insert(identity.clone()) {
            return Delivery::Duplicate(snapshot);
        }
        order.push_back(identity);
        if order.len() > self.capacity {
            if let Some(oldest) = order.pop_front() {
                set.remove(&oldest);
            }
        }
        Delivery::New(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_body_never_repeats_its_values() {
        let secret_output = br#"{"taskId":"t","status":"success","output":["https://cdn.example/v.mp4?X-Amz-Signature=topsecret"]}"#;
        let inbox = CallbackInbox::hiapi(None);
        let err = inbox
            .verify(&HeaderMap::new(), secret_output)
            .expect_err("an output that is not an object is refused");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("topsecret"), "{shown}");
        assert!(shown.contains("invalid type"), "{shown}");
        assert_eq!(unquoted(r#"a "b\"c" d "e"#), r#"a "…" d "…"#);
    }
}
