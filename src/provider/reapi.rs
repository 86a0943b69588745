//! reapi's facts, from its seed page (`shared/seeds/reapi*`).

use super::{Auth, Facts, Statuses};

/// reapi: one endpoint (`POST /videos/generations`, `GET /tasks/{id}`); the mode follows the media field sent. No
/// idempotency key, no callbacks.
pub(super) const FACTS: Facts = Facts {
    name: "reapi",
    base_url: "https://reapi.ai/api/v1",
    api_key_env: "REAPI_API_KEY",
    base_url_env: "REAPI_BASE_URL",
    key_prefix: "rk_",
    auth: Auth::Bearer,
    models: &["happyhorse-1-1"],
    statuses: Statuses {
        queued: "pending",
        also_queued: &["queued"],
        running: "processing",
        succeeded: "completed",
        failed: "failed",
        cancelled: None,
    },
    idempotency: false,
    callbacks: false,
    credits_per_second: None,
    default_resolution: "720p",
    default_duration: Some(5),
};
