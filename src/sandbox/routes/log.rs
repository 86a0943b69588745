//! One log line per request the sandbox serves (`tracing`, target
//! `happyhorse::sandbox::routes::log`): method, path, status, milliseconds to the answer's head,
//! and the provider whose API the path belongs to. `happyhorse sandbox -v` shows them.
//!
//! Never logged: the query string (a signed URL's parameters grant access) and any header (the
//! keys travel in them). A path that no route matches is a warning, whatever the level asked
//! for, with the base URLs the sandbox serves and the route the request probably meant: the
//! usual cause is a client's base URL without its `/v1` or `/api/v1`.

use std::{net::SocketAddr, time::Instant};

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
    Extension,
};

use super::{base_path, PROVIDER_ROUTES};
use crate::{sandbox::provider_of_task_id, Provider};

/// The longest path logged, in characters; a longer one is cut, with `…`.
const MAX_PATH_CHARS: usize = 200;

/// Marks the answer to a request that no route matched.
#[derive(Clone, Copy, Debug)]
pub(super) struct NoRoute;

/// The router's fallback: 404 with no body, as before, marked for [`log`].
pub(super) async fn no_route() -> Response {
    (StatusCode::NOT_FOUND, Extension(NoRoute)).into_response()
}

/// The middleware: serves the request, then logs it.
pub(super) async fn log(State(addr): State<SocketAddr>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // Only the path is kept: `Uri::path` never includes the query.
    let uri = request.uri().clone();
    let answer = next.run(request).await;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let status = answer.status().as_u16();
    // The fields are worked out only when the event is enabled.
    let path = || shown(uri.path());
    let provider = || provider_of(uri.path()).map_or("none", Provider::name);
    if answer.extensions().get::<NoRoute>().is_some() {
        tracing::warn!(
            %method, path = %path(), status, elapsed_ms, provider = %provider(),
            "no route matched: {}", hint(addr, uri.path())
        );
    } else if answer.status() == StatusCode::METHOD_NOT_ALLOWED {
        tracing::warn!(
            %method, path = %path(), status, elapsed_ms, provider = %provider(),
            "no route for this method on this path"
        );
    } else {
        tracing::info!(
            %method, path = %path(), status, elapsed_ms, provider = %provider(),
            "served"
        );
    }
    answer
}

/// The provider whose API `path` belongs to, by its base path (an output file's, by the id in
/// it: ids are not secret, the signature in the query is); `None` for a path under none of
/// them.
pub(super) fn provider_of(path: &str) -> Option<Provider> {
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if let Some(rest) = path.strip_prefix("/files/") {
        return rest.split('/').next().and_then(provider_of_task_id);
    }
    // Longest base path first: reapi's `/api/v1` before HiAPI's `/v1`; Apiframe's routes are
    // all under `/v2`.
    if under(base_path(Provider::Reapi)) {
        Some(Provider::Reapi)
    } else if under(base_path(Provider::HiApi)) {
        Some(Provider::HiApi)
    } else if under("/v2") {
        Some(Provider::Apiframe)
    } else {
        None
    }
}

/// `path` as logged: cut to [`MAX_PATH_CHARS`].
fn shown(path: &str) -> String {
    match path.char_indices().nth(MAX_PATH_CHARS) {
        Some((cut, _)) => format!("{}…", &path[..cut]),
        None => path.to_owned(),
    }
}

/// Whether `path` fits the route pattern `route` (`{name}` matches one non-empty segment).
fn matches(route: &str, path: &str) -> bool {
    let (mut want, mut got) = (route.split('/'), path.split('/'));
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w == g || (w.starts_with('{') && !g.is_empty()) => {}
            _ => return false,
        }
    }
}

/// What to tell about a path no route matched: the routes it probably meant (its path under
/// another base path), and the sandbox's base URLs.
fn hint(addr: SocketAddr, path: &str) -> String {
    let mut rests = vec![path];
    for prefix in ["/api/v1", "/v1", "/api"] {
        if let Some(rest) = path.strip_prefix(prefix).filter(|r| r.starts_with('/')) {
            rests.push(rest);
        }
    }
    let mut meant: Vec<String> = Vec::new();
    for (provider, route) in PROVIDER_ROUTES {
        for rest in &rests {
            let candidate = format!("{}{rest}", base_path(provider));
            let line = format!("{candidate} ({provider})");
            if candidate != path && matches(route, &candidate) && !meant.contains(&line) {
                meant.push(line);
            }
        }
    }
    let bases = Provider::ALL
        .iter()
        .map(|p| format!("{p} http://{addr}{}", base_path(*p)))
        .collect::<Vec<_>>()
        .join(", ");
    if meant.is_empty() {
        format!("is the client's base URL right? The sandbox serves {bases}")
    } else {
        format!(
            "did you mean {}? Check the client's base URL; the sandbox serves {bases}",
            meant.join(" or ")
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::{
        field::{Field, Visit},
        span, Event, Level, Metadata, Subscriber,
    };

    use super::*;
    use crate::sandbox::{Sandbox, SandboxConfig};

    #[test]
    fn paths_belong_to_the_provider_whose_base_path_they_are_under() {
        for (path, provider) in [
            ("/v1/tasks", Some(Provider::HiApi)),
            (
                "/v1/tasks/tk-sandbox-01KDVDNA00W2FJ8Q0V3ZT6M4XB",
                Some(Provider::HiApi),
            ),
            ("/v1", Some(Provider::HiApi)),
            ("/api/v1/videos/generations", Some(Provider::Reapi)),
            (
                "/api/v1/tasks/task_sandbox_5f0c2b9e7a1d4e3f8b6a0c9d2e7f1a3b",
                Some(Provider::Reapi),
            ),
            ("/v2/jobs/x", Some(Provider::Apiframe)),
            (
                "/files/tk-sandbox-01KDVDNA00W2FJ8Q0V3ZT6M4XB/0.mp4",
                Some(Provider::HiApi),
            ),
            (
                "/files/task_sandbox_5f0c2b9e7a1d4e3f8b6a0c9d2e7f1a3b/0.mp4",
                Some(Provider::Reapi),
            ),
            (
                "/files/9b2f6c1e-4a7d-4e0b-8c3f-2d5a7e9b1c04/0.mp4",
                Some(Provider::Apiframe),
            ),
            ("/files/nothing/0.mp4", None),
            ("/tasks", None),
            ("/v10/tasks", None),
            ("/api/v2/x", None),
            ("/", None),
        ] {
            assert_eq!(provider_of(path), provider, "{path}");
        }
    }

    #[test]
    fn long_paths_are_cut() {
        assert_eq!(shown("/v1/tasks"), "/v1/tasks");
        let long = format!("/{}", "é".repeat(300));
        let cut = shown(&long);
        assert_eq!(cut.chars().count(), MAX_PATH_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn an_unmatched_path_is_told_the_route_it_probably_meant() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 8787));
        let bases = "hiapi http://127.0.0.1:8787/v1, reapi http://127.0.0.1:8787/api/v1, \
                     apiframe http://127.0.0.1:8787";
        // HiAPI's base URL without `/v1`.
        assert_eq!(
            hint(addr, "/tasks"),
            format!(
                "did you mean /v1/tasks (hiapi)? Check the client's base URL; the sandbox serves {bases}"
            )
        );
        // reapi's with HiAPI's path.
        assert!(hint(addr, "/v1/videos/generations")
            .starts_with("did you mean /api/v1/videos/generations (reapi)?"));
        // A poll: either provider's.
        assert!(hint(addr, "/tasks/abc")
            .starts_with("did you mean /v1/tasks/abc (hiapi) or /api/v1/tasks/abc (reapi)?"));
        // Apiframe's base URL with a path it does not have.
        assert!(hint(addr, "/api/v1/v2/jobs/x").starts_with("did you mean /v2/jobs/x (apiframe)?"));
        assert_eq!(
            hint(addr, "/nothing/here"),
            format!("is the client's base URL right? The sandbox serves {bases}")
        );
        assert!(matches("/v1/tasks/{id}", "/v1/tasks/x"));
        assert!(!matches("/v1/tasks/{id}", "/v1/tasks/"));
        assert!(!matches("/v1/tasks/{id}", "/v1/tasks/x/y"));
        assert!(!matches("/v1/tasks", "/v1/tasks/x"));
    }

    /// Every event, as `LEVEL message field=value ...`.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<String>>>);

    struct Line(String);

    impl Visit for Line {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                self.0.push_str(&format!(" {value:?}"));
            } else {
                self.0.push_str(&format!(" {}={value:?}", field.name()));
            }
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
            span::Id::from_u64(1)
        }
        fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
        fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
        fn event(&self, event: &Event<'_>) {
            if !event.metadata().target().starts_with("happyhorse::sandbox") {
                return;
            }
            let mut line = Line(event.metadata().level().to_string());
            event.record(&mut line);
            self.0.lock().unwrap().push(line.0);
        }
        fn enter(&self, _: &span::Id) {}
        fn exit(&self, _: &span::Id) {}
    }

    // The sandbox runs on this test's one thread, where the capture is the default subscriber.
    #[tokio::test(flavor = "current_thread")]
    async fn every_request_is_logged_without_its_query_or_headers() {
        let capture = Capture::default();
        let _guard = tracing::subscriber::set_default(capture.clone());
        let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
        let base = format!("http://{}", sandbox.addr());
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::new();
        let listed = http
            .get(format!("{base}/v1/tasks?page=1&signature=s3cr3t-query"))
            .bearer_auth("sk-s3cr3t-key")
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status(), 200);
        let lost = http
            .post(format!("{base}/tasks"))
            .bearer_auth("sk-s3cr3t-key")
            .send()
            .await
            .unwrap();
        assert_eq!(lost.status(), 404);
        assert_eq!(lost.bytes().await.unwrap().len(), 0, "the 404 has no body");
        // A download by its signed URL: the signature is in the query, never logged.
        let created: serde_json::Value = http
            .post(format!("{base}/v1/tasks"))
            .bearer_auth("sk-s3cr3t-key")
            .json(&serde_json::json!({"model": "happyhorse-1.1/text-to-video",
                                      "input": {"prompt": "A horse"}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["data"]["taskId"].as_str().unwrap();
        let polled: serde_json::Value = http
            .get(format!("{base}/v1/tasks/{id}"))
            .bearer_auth("sk-s3cr3t-key")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let url = polled["data"]["output"][0]["url"].as_str().unwrap();
        let signature = url.rsplit_once("signature=").unwrap().1.to_owned();
        assert_eq!(http.get(url).send().await.unwrap().status(), 200);
        sandbox.shutdown().await;

        let lines = capture.0.lock().unwrap().clone();
        assert_eq!(lines.len(), 5, "{lines:#?}");
        let download = format!(" path=/files/{id}/0.mp4 status=200 ");
        assert!(
            lines[4].contains(&download) && lines[4].ends_with(" provider=hiapi"),
            "{}",
            lines[4]
        );
        assert!(
            lines[0].starts_with(&format!("{} served method=GET", Level::INFO))
                && lines[0].contains(" path=/v1/tasks status=200 elapsed_ms=")
                && lines[0].ends_with(" provider=hiapi"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with(&format!(
                "{} no route matched: did you mean /v1/tasks (hiapi)?",
                Level::WARN
            )) && lines[1].contains(" method=POST path=/tasks status=404 ")
                && lines[1].ends_with(" provider=none"),
            "{}",
            lines[1]
        );
        for line in &lines {
            assert!(!line.contains("s3cr3t"), "{line}");
            assert!(
                !line.contains(&signature) && !line.contains("expires="),
                "{line}"
            );
        }
    }
}
