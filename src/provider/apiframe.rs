//! Apiframe's facts, from its seed page and OpenAPI excerpt (`shared/seeds/apiframe*`,
//! `shared/reference/`).

use super::{Auth, CreditsPerSecond, Facts, Statuses};

/// Apiframe: v2 jobs (`POST /v2/videos/generate`, `GET /v2/jobs/{id}`); the mode follows the
/// number of images. Priced per second of video: 24 credits at 720p, 31 at 1080p.
pub(super) const FACTS: Facts = Facts {
    name: "apiframe",
    base_url: "https://api.apiframe.ai",
    api_key_env: "APIFRAME_API_KEY",
    base_url_env: "APIFRAME_BASE_URL",
    key_prefix: "afk_",
    auth: Auth::Header("x-api-key"),
    models: &["happyhorse-1.1"],
    statuses: Statuses {
        queued: "QUEUED",
        also_queued: &[],
        running: "PROCESSING",
        succeeded: "COMPLETED",
        failed: "FAILED",
        cancelled: Some("CANCELLED"),
    },
    idempotency: true,
    callbacks: true,
    credits_per_second: Some(CreditsPerSecond {
        p720: 24,
        p1080: 31,
    }),
    default_resolution: "1080p",
    default_duration: None,
};
