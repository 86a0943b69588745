//! The lifecycle client against the sandbox over real HTTP on loopback: submit, wait and
//! download on every provider, idempotency, failures, deadlines, cancellation, retries and
//! the download's safety checks.
#![cfg(feature = "sandbox")]

mod common;

use std::time::Duration;

use happyhorse::{
    client::{IdempotencyKey, Output, RetryPolicy, SubmitOptions, TaskHandle, TaskState, Wait},
    request::WireBody,
    sandbox::{FaultRates, Sandbox, SandboxConfig, SAMPLE_MP4},
    values::{AspectRatio, HttpUrl, References, VideoDuration as Seconds},
    Client, ClientConfig, Error, Prompt, Provider, VideoRequest,
};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn client(sandbox: &Sandbox, provider: Provider) -> Client {
    Client::new(config(sandbox, provider)).expect("a client for the sandbox")
}

/// A configuration for the sandbox with quick retries.
fn config(sandbox: &Sandbox, provider: Provider) -> ClientConfig {
    let retry = RetryPolicy {
        max_retry_after: Duration::from_millis(50),
        ..RetryPolicy::default().with_backoff(Duration::from_millis(10), Duration::from_millis(50))
    };
    ClientConfig::new(provider)
        .with_api_key(format!("{}test", provider.key_prefix()))
        .with_base_url(sandbox.base_url(provider))
        .with_retry(retry)
}

/// A wait that polls every 20–100 ms instead of seconds.
fn quick(wait: Wait<'_>) -> Wait<'_> {
    wait.schedule(Duration::from_millis(20), 1.5, Duration::from_millis(100))
}

fn t2v(prompt: &str) -> VideoRequest {
    VideoRequest::text_to_video(Prompt::new(prompt).unwrap())
}

#[tokio::test]
async fn every_provider_submits_waits_and_downloads_a_playable_mp4() {
    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(0.6))
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let image = HttpUrl::new("https://example.com/frame.jpg").unwrap();
    let refs = References::new(vec![
        HttpUrl::new("https://example.com/a.jpg").unwrap(),
        HttpUrl::new("https://example.com/b.jpg").unwrap(),
    ])
    .unwrap();
    let requests = [
        (
            Provider::HiApi,
            t2v("A golden retriever running on a beach"),
        ),
        (
            Provider::Reapi,
            VideoRequest::reference_to_video(
                Prompt::new("[Image 1] walks through [Image 2]").unwrap(),
                refs,
            ),
        ),
        (
            Provider::Apiframe,
            VideoRequest::image_to_video(image, Some(Prompt::new("slow push-in").unwrap())),
        ),
    ];
    for (provider, request) in requests {
        let client = client(&sandbox, provider);
        let submitted = client.submit(&request).await.unwrap();
        assert_eq!(submitted.provider, provider);
        let mut seen = Vec::new();
        let done = quick(client.wait(&submitted))
            .on_change(|snapshot| seen.push(snapshot.state))
            .await
            .unwrap();
        assert_eq!(done.snapshot().state, TaskState::Succeeded);
        assert_eq!(
            seen.first(),
            Some(&TaskState::Queued),
            "{provider}: {seen:?}"
        );
        assert!(seen.contains(&TaskState::Running), "{provider}: {seen:?}");
        assert_eq!(seen.last(), Some(&TaskState::Succeeded));
        let path = dir.join(format!("{provider}.mp4"));
        let saved = client.download(done.output(), &path).await.unwrap();
        assert_eq!(saved.bytes, SAMPLE_MP4.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), SAMPLE_MP4);
        assert!(!dir.join(format!(".{provider}.mp4.part")).exists());
    }
}

#[tokio::test]
async fn invalid_or_unservable_requests_make_no_network_call() {
    // Nothing listens here: any network call would fail with Error::Network.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let apiframe = Client::new(
        ClientConfig::new(Provider::Apiframe)
            .with_api_key("afk_test")
            .with_base_url(&base),
    )
    .unwrap();
    let wide = t2v("A dog").with_aspect_ratio(AspectRatio::Cinema21x9);
    let err = apiframe.submit(&wide).await.unwrap_err();
    assert!(matches!(err, Error::Unsupported(_)), "{err:?}");

    let hiapi = Client::new(
        ClientConfig::new(Provider::HiApi)
            .with_api_key("sk-test")
            .with_base_url(format!("{base}/v1")),
    )
    .unwrap();
    let body = WireBody::from_json(
        Provider::HiApi,
        json!({"model": "happyhorse-1.1/text-to-video", "input": {"prompt": "A dog", "duration": 20}}),
    )
    .unwrap();
    let err = hiapi
        .submit_body(body, &SubmitOptions::default())
        .await
        .unwrap_err();
    let Error::InvalidRequest { issues, .. } = &err else {
        panic!("want a local validation error, got {err:?}");
    };
    assert_eq!(issues[0].path, "input.duration", "{issues:?}");
}

#[test]
fn configuration_errors_say_what_to_set() {
    let err = Client::new(ClientConfig::new(Provider::Reapi)).unwrap_err();
    assert!(err.to_string().contains("REAPI_API_KEY"), "{err}");
    let err = Client::new(
        ClientConfig::new(Provider::HiApi)
            .with_api_key("sk-test")
            .with_base_url("http://api.hiapi.ai/v1"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("https://"), "{err}");
    let debug = format!(
        "{:?}",
        ClientConfig::new(Provider::HiApi).with_api_key("sk-secret-123")
    );
    assert!(!debug.contains("sk-secret-123"), "{debug}");
}

#[tokio::test]
async fn resubmitting_a_request_replays_its_task_where_the_provider_has_idempotency() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let request = t2v("A red kite over a green hill").with_duration(Seconds::new(4).unwrap());
    for provider in [Provider::HiApi, Provider::Apiframe] {
        let client = client(&sandbox, provider);
        let first = client.submit(&request).await.unwrap();
        let again = client.submit(&request).await.unwrap();
        assert_eq!(first.id, again.id, "{provider}");
        assert_eq!(first.idempotency_key, again.idempotency_key);
        assert!(first.idempotency_key.as_deref().unwrap().starts_with("hh-"));
        if provider == Provider::HiApi {
            assert!(!first.replayed && again.replayed);
        }
        // A fresh key asks for a second video.
        let fresh = SubmitOptions {
            idempotency_key: IdempotencyKey::Custom("second-take".into()),
        };
        let other = client.submit_with(&request, &fresh).await.unwrap();
        assert_ne!(other.id, first.id);
    }
    // reapi has no idempotency key: each submit is a new task.
    let reapi = client(&sandbox, Provider::Reapi);
    let (a, b) = (
        reapi.submit(&request).await.unwrap(),
        reapi.submit(&request).await.unwrap(),
    );
    assert_ne!(a.id, b.id);
    assert_eq!(a.idempotency_key, None);
}

#[tokio::test]
async fn a_failed_task_is_an_error_with_the_providers_code_and_message() {
    let always = FaultRates::none().with_spec("fail=1").unwrap();
    let sandbox = Sandbox::start(SandboxConfig::default().with_faults(always))
        .await
        .unwrap();
    for provider in Provider::ALL {
        let client = client(&sandbox, provider);
        let submitted = client.submit(&t2v("A dog")).await.unwrap();
        let err = quick(client.wait(&submitted)).await.unwrap_err();
        let Error::TaskFailed {
            status, message, ..
        } = &err
        else {
            panic!("{provider}: {err:?}");
        };
        assert!(["fail", "failed", "FAILED"].contains(&status.as_str()));
        assert!(message.contains("fault injection"), "{message}");
        assert!(err.to_string().contains(&submitted.id));
    }
}

#[tokio::test]
async fn a_wait_ends_at_its_deadline_or_on_cancel_and_names_the_task() {
    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(60.0))
        .await
        .unwrap();
    let client = client(&sandbox, Provider::HiApi);
    let submitted = client.submit(&t2v("A slow one")).await.unwrap();
    let err = quick(client.wait(&submitted))
        .max_wait(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DeadlineExceeded { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("may still finish"), "{text}");
    assert!(text.contains(&submitted.id), "{text}");
    // Commands to run are the CLI's business, not the library's.
    assert!(!text.contains("happyhorse"), "{text}");

    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    let err = quick(client.wait(&submitted))
        .cancel_on(token)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled { .. }), "{err:?}");
}

#[tokio::test]
async fn rate_limits_are_retried_then_reported_with_retry_after() {
    let always = FaultRates::none().with_spec("rate_limit=1").unwrap();
    let sandbox = Sandbox::start(SandboxConfig::default().with_faults(always))
        .await
        .unwrap();
    let err = client(&sandbox, Provider::Reapi)
        .submit(&t2v("A dog"))
        .await
        .unwrap_err();
    let Error::RateLimited { retry_after, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*retry_after, Some(Duration::from_secs(1)));
    let err = client(&sandbox, Provider::HiApi)
        .status(TaskHandle::new(Provider::HiApi, "tk-any"))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn unknown_tasks_are_not_found() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    for (provider, id) in [
        (Provider::HiApi, "tk-missing"),
        (Provider::Reapi, "task_missing"),
        (Provider::Apiframe, "b2c3d4e5-f6a7-8901-bcde-f23456789012"),
    ] {
        let err = client(&sandbox, provider)
            .status(TaskHandle::new(provider, id))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::NotFound { id: found, .. } if found == id),
            "{err:?}"
        );
    }
    let err = client(&sandbox, Provider::Apiframe)
        .status(TaskHandle::new(Provider::Apiframe, "not-a-uuid"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
}

async fn finished_output(sandbox: &Sandbox) -> (Client, Output) {
    let client = client(sandbox, Provider::HiApi);
    let submitted = client.submit(&t2v("Output for downloads")).await.unwrap();
    let done = quick(client.wait(&submitted)).await.unwrap();
    (client, done.output().clone())
}

#[tokio::test]
async fn downloads_stream_large_files_and_never_overwrite_unless_asked() {
    let size = 8 * 1024 * 1024;
    let sandbox = Sandbox::start(SandboxConfig::default().with_pad_to(size))
        .await
        .unwrap();
    let (client, output) = finished_output(&sandbox).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let path = dir.join("big.mp4");
    let mut reports = 0;
    let saved = client
        .download(&output, &path)
        .on_progress(|done, total| {
            reports += 1;
            assert_eq!(total, Some(size));
            assert!(done <= size);
        })
        .await
        .unwrap();
    assert_eq!(saved.bytes, size);
    assert!(reports > 1, "progress is reported as bytes arrive");
    let file = std::fs::read(&path).unwrap();
    assert_eq!(&file[..SAMPLE_MP4.len()], SAMPLE_MP4);

    std::fs::write(&path, b"keep me").unwrap();
    let err = client.download(&output, &path).await.unwrap_err();
    assert!(matches!(err, Error::FileExists { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
    client
        .download(&output, &path)
        .overwrite(true)
        .await
        .unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
}

#[tokio::test]
async fn a_partial_file_from_an_earlier_run_is_resumed_not_refetched() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.mp4");
    let (client, output, half) = cut_first_transfer(&sandbox, &path).await;
    // A later run picks up at the byte the cut one stopped at.
    let mut first_report = None;
    let saved = client
        .download(&output, &path)
        .on_progress(|done, _| {
            first_report.get_or_insert(done);
        })
        .await
        .unwrap();
    assert!(
        first_report.unwrap() > half,
        "started from the partial file"
    );
    assert_eq!(saved.resumes, 1, "{saved:?}");
    assert_eq!(saved.bytes, SAMPLE_MP4.len() as u64);
    assert_eq!(std::fs::read(&path).unwrap(), SAMPLE_MP4);
    // Nothing is left beside the file.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}");

    // A partial file nothing says belongs to this output is discarded and refetched.
    let path = dir.path().join("other.mp4");
    std::fs::write(dir.path().join(".other.mp4.part"), &SAMPLE_MP4[..10_000]).unwrap();
    let saved = client.download(&output, &path).await.unwrap();
    assert_eq!(saved.resumes, 0);
    assert_eq!(std::fs::read(&path).unwrap(), SAMPLE_MP4);
}

/// Submits a task whose first download is cut halfway (the `truncate` fault), and downloads it
/// once to `path`, leaving the partial file: (client, output, bytes in the partial file).
async fn cut_first_transfer(sandbox: &Sandbox, path: &std::path::Path) -> (Client, Output, u64) {
    let faulty = faulty(sandbox, Provider::HiApi, "truncate");
    let submitted = faulty.submit(&t2v("Cut short")).await.unwrap();
    let client = client(sandbox, Provider::HiApi);
    let done = quick(client.wait(&submitted)).await.unwrap();
    let err = client
        .download(done.output(), path)
        .max_attempts(1)
        .await
        .unwrap_err();
    let Error::Incomplete { received, .. } = err else {
        panic!("{err:?}");
    };
    assert!(received > 0);
    (client, done.output().clone(), received)
}

#[tokio::test]
async fn a_partial_file_is_never_resumed_by_another_output() {
    // Another task's download, cut short, left its partial file at the path: a download of a
    // different output to that path must start over, whether the partial file is exactly as
    // long as the new output (once taken for a finished file) or shorter (once spliced).
    let sample = SAMPLE_MP4.len() as u64;
    let plain = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let double = Sandbox::start(SandboxConfig::default().with_pad_to(2 * sample))
        .await
        .unwrap();
    for (first, second, second_len) in [(&double, &plain, sample), (&plain, &double, 2 * sample)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.mp4");
        cut_first_transfer(first, &path).await;
        let (client, output) = finished_output(second).await;
        let saved = client.download(&output, &path).await.unwrap();
        assert_eq!(saved.resumes, 0, "{saved:?}");
        let file = std::fs::read(&path).unwrap();
        assert_eq!(file.len() as u64, second_len);
        assert_eq!(&file[..SAMPLE_MP4.len()], SAMPLE_MP4);
        if second_len > sample {
            // The second output's padding, not the first's bytes, fills the rest.
            assert_eq!(&file[SAMPLE_MP4.len() + 4..SAMPLE_MP4.len() + 8], b"free");
        }
    }
}

#[tokio::test]
async fn expired_outputs_fail_clearly_before_any_request() {
    let sandbox = Sandbox::start(SandboxConfig::default().with_output_ttl(Duration::ZERO))
        .await
        .unwrap();
    let (client, output) = finished_output(&sandbox).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let err = client
        .download(&output, dir.join("late.mp4"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutputExpired {
                expired_at: Some(_)
            }
        ),
        "{err:?}"
    );
    // Without a known expiry, the server's 410 says the same.
    let unknown = Output {
        expires_at: None,
        ..output
    };
    let err = client
        .download(&unknown, dir.join("late.mp4"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::OutputExpired { expired_at: None }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_non_video_answer_is_refused() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client(&sandbox, Provider::HiApi);
    // A storage error page: an HTML body at the output URL.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/0.mp4", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/0.mp4",
        axum::routing::get(|| async {
            ([("content-type", "text/html")], "<html>AccessDenied</html>")
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let output = Output {
        url,
        expires_at: None,
        expired: false,
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let err = client
        .download(&output, dir.join("x.mp4"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotVideo { content_type } if content_type == "text/html"),
        "{err:?}"
    );
    assert!(!dir.join("x.mp4").exists());
}

/// A loopback receiver that runs every delivery through `inbox` and reports the outcome.
async fn inbox_receiver(
    inbox: std::sync::Arc<happyhorse::client::CallbackInbox>,
) -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<Result<happyhorse::client::Delivery, String>>,
) {
    use axum::{body::Bytes, http::HeaderMap, http::StatusCode};
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (inbox, tx) = (inbox.clone(), tx.clone());
            async move {
                let outcome = inbox.receive(&headers, &body).map_err(|e| e.to_string());
                let status = if outcome.is_ok() {
                    StatusCode::OK
                } else {
                    StatusCode::UNAUTHORIZED
                };
                let _ = tx.send(outcome);
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

async fn next_delivery(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Result<happyhorse::client::Delivery, String>>,
) -> Result<happyhorse::client::Delivery, String> {
    tokio::time::timeout(Duration::from_secs(15), rx.recv())
        .await
        .expect("a delivery within 15 s")
        .expect("the receiver runs")
}

#[tokio::test]
async fn the_callback_inbox_verifies_and_deduplicates_deliveries() {
    use happyhorse::client::{ApiKey, CallbackInbox, Delivery};
    let sandbox = Sandbox::start(
        SandboxConfig::default()
            .with_webhook_secret("whsec_inbox")
            .with_callback_retries(2, Duration::from_millis(10)),
    )
    .await
    .unwrap();
    let inbox = std::sync::Arc::new(CallbackInbox::hiapi(Some(ApiKey::new("whsec_inbox"))));
    let (hook, mut deliveries) = inbox_receiver(inbox).await;
    // The neutral request (rightly) refuses plain-http callbacks, so post the raw body.
    let raw = common::plain_http()
        .post(format!("{}/tasks", sandbox.base_url(Provider::HiApi)))
        .header("authorization", "Bearer sk-test")
        .header("x-sandbox-fault", "duplicate_callback")
        .json(
            &json!({"model": "happyhorse-1.1/text-to-video", "input": {"prompt": "A dog"},
                      "callback": {"url": hook}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    let first = next_delivery(&mut deliveries).await.unwrap();
    let second = next_delivery(&mut deliveries).await.unwrap();
    let Delivery::New(snapshot) = first else {
        panic!("{first:?}")
    };
    assert_eq!(snapshot.state, TaskState::Succeeded);
    assert_eq!(second, Delivery::Duplicate(snapshot.clone()));
    // Reconciliation: polling agrees with the callback.
    let polled = client(&sandbox, Provider::HiApi)
        .status(&snapshot)
        .await
        .unwrap();
    assert_eq!(polled.state, TaskState::Succeeded);

    // A receiver holding the wrong secret refuses the delivery, and the sandbox retries it.
    let wrong = std::sync::Arc::new(CallbackInbox::hiapi(Some(ApiKey::new("not it"))));
    let (hook, mut refused) = inbox_receiver(wrong).await;
    common::plain_http()
        .post(format!("{}/tasks", sandbox.base_url(Provider::HiApi)))
        .header("authorization", "Bearer sk-test")
        .json(
            &json!({"model": "happyhorse-1.1/text-to-video", "input": {"prompt": "A cat"},
                      "callback": {"url": hook}}),
        )
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        let outcome = next_delivery(&mut refused).await;
        assert!(outcome.unwrap_err().contains("does not match"));
    }
}

/// A client that sends `X-Sandbox-Fault: fault` with every API call.
fn faulty(sandbox: &Sandbox, provider: Provider, fault: &str) -> Client {
    Client::new(config(sandbox, provider).with_header("x-sandbox-fault", fault)).unwrap()
}

async fn task_count(sandbox: &Sandbox) -> u64 {
    common::hiapi_task_total(&sandbox.base_url(Provider::HiApi)).await
}

#[tokio::test]
async fn submits_retry_through_429_and_503_on_every_provider() {
    for provider in Provider::ALL {
        for fault in ["rate_limit*2", "moderation_unavailable*2"] {
            let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
            let client = faulty(&sandbox, provider, fault);
            let submitted = client.submit(&t2v("Retried")).await;
            assert!(submitted.is_ok(), "{provider} {fault}: {submitted:?}");
        }
    }
}

#[tokio::test]
async fn a_submit_that_could_bill_twice_is_not_retried_without_a_key() {
    // reapi has no idempotency key: a 500 may have come after the task was created.
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let err = faulty(&sandbox, Provider::Reapi, "server_error*1")
        .submit(&t2v("Once"))
        .await
        .unwrap_err();
    let Error::SubmitUncertain { last, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(matches!(**last, Error::Unavailable { .. }), "{err:?}");
    // A dropped connection after the task was created: the error says a task may exist, and
    // that resubmitting may bill twice.
    let err = faulty(&sandbox, Provider::Reapi, "reset*1")
        .submit(&t2v("Once more"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::SubmitUncertain {
                idempotency_key: None,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("may have created a task"), "{text}");
    assert!(text.contains("bill a second task"), "{text}");
}

#[tokio::test]
async fn a_lost_answer_is_reported_even_when_later_retries_end_on_429() {
    // A provider that drops the first connection after reading the request (the task may
    // exist), then answers 429 to every retry.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut first = true;
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = vec![0u8; 64 * 1024];
            let _ = socket.read(&mut request).await;
            if std::mem::take(&mut first) {
                drop(socket);
                continue;
            }
            let body = r#"{"code":429,"error_code":"RATE_LIMITED","message":"slow down"}"#;
            let answer = format!(
                "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    let client = Client::new(
        ClientConfig::new(Provider::HiApi)
            .with_api_key("sk-test")
            .with_base_url(&base)
            .with_retry(
                RetryPolicy::default()
                    .with_backoff(Duration::from_millis(5), Duration::from_millis(10)),
            ),
    )
    .unwrap();
    let err = client.submit(&t2v("Lost, then limited")).await.unwrap_err();
    let Error::SubmitUncertain {
        idempotency_key: Some(key),
        last,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!(matches!(**last, Error::RateLimited { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("may have created a task"), "{text}");
    assert!(text.contains(key.as_str()), "{text}");
    assert!(
        text.contains("returns that task instead of creating another"),
        "{text}"
    );
}

#[tokio::test]
async fn with_a_key_a_lost_answer_is_retried_and_replays_the_one_task() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = faulty(&sandbox, Provider::HiApi, "reset*1");
    let submitted = client.submit(&t2v("Exactly once")).await.unwrap();
    assert!(
        submitted.replayed,
        "the retry got the task the lost answer created"
    );
    assert_eq!(task_count(&sandbox).await, 1);
    let err = faulty(&sandbox, Provider::HiApi, "server_error*2")
        .submit(&t2v("Exactly once, again"))
        .await;
    assert!(err.is_ok(), "{err:?}");
    assert_eq!(task_count(&sandbox).await, 2);
}

#[tokio::test]
async fn hiapis_http_200_with_an_error_code_is_an_error() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let err = faulty(&sandbox, Provider::HiApi, "envelope_error")
        .submit(&t2v("Refused in a 200"))
        .await
        .unwrap_err();
    let Error::InvalidRequest { issues, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(issues[0].message.contains("envelope_error"), "{issues:?}");
}

#[tokio::test]
async fn a_wait_rides_out_transient_errors_and_a_cut_download_resumes() {
    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(0.3))
        .await
        .unwrap();
    // Every API call carries these: three 500s, two 429s, one reset, then clean answers; the
    // task's first download is cut halfway.
    let client = faulty(
        &sandbox,
        Provider::HiApi,
        "server_error*3,rate_limit*2,reset*1,truncate",
    );
    let submitted = client.submit(&t2v("Through the storm")).await.unwrap();
    let done = quick(client.wait(&submitted)).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let saved = client
        .download(done.output(), dir.join("storm.mp4"))
        .await
        .unwrap();
    assert_eq!(saved.resumes, 1, "{saved:?}");
    assert_eq!(std::fs::read(dir.join("storm.mp4")).unwrap(), SAMPLE_MP4);
}
