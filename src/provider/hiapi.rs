//! HiAPI's facts, from its seed pages and official SDKs (`shared/seeds/hiapi*`,
//! `shared/reference/provider-facts.md`).

use super::{Auth, Facts, Statuses};

/// HiAPI: unified async tasks (`POST /v1/tasks`, `GET /v1/tasks/{id}`), one model id per mode.
pub(super) const FACTS: Facts = Facts {
    name: "hiapi",
    base_url: "https://api.hiapi.ai/v1",
    api_key_env: "HIAPI_API_KEY",
    base_url_env: "HIAPI_BASE_URL",
    key_prefix: "sk-",
    auth: Auth::Bearer,
    models: &[
        "happyhorse-1.1/text-to-video",
        "happyhorse-1.1/image-to-video",
        "happyhorse-1.1/reference-to-video",
    ],
    statuses: Statuses {
        queued: "queued",
        also_queued: &[],
        running: "handling",
        succeeded: "success",
        failed: "fail",
        cancelled: None,
    },
    idempotency: true,
    callbacks: true,
    credits_per_second: None,
    default_resolution: "1080p",
    default_duration: Some(5),
};
